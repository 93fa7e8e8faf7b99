//! A per-tenant lock as a `coordination.k8s.io/v1` Lease, so two runs that
//! change one tenant cannot overlap. The holder renews it while it works;
//! a holder that crashed is taken over once the Lease expires, or at once
//! when it ran on this machine and its process is gone. The Lease also
//! carries the run's progress (annotations) so an interrupted run resumes.
//! No clap types, no printing, nothing of rotate-ca: any command may lock with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::output::clean_cell;

/// Seconds a Lease stays valid without renewal.
pub const LEASE_SECONDS: i32 = 30;

/// Who holds a Lease and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub identity: String,
    pub since: Option<Timestamp>,
    pub expires: Option<Timestamp>,
}

/// Whether a Lease can be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Free,
    /// Held, but its holder is gone (expired, or a dead local process).
    Stale {
        holder: Holder,
        why: String,
    },
    Held(Holder),
}

/// `kubectl-pki@<host>/pid-<pid>`: enough to name the run in a refusal and
/// to tell whether a local holder still runs.
pub fn my_identity() -> String {
    format!("kubectl-pki@{}/pid-{}", hostname(), std::process::id())
}

/// This machine's name (recorded with backups and lock holders).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Judges a Lease at `now`. `alive` says whether a pid on this host runs
/// (`None`: cannot tell, e.g. no /proc).
pub fn availability(lease: &Lease, now: Timestamp, host: &str, alive: impl Fn(u32) -> Option<bool>) -> Availability {
    let Some(spec) = &lease.spec else { return Availability::Free };
    let Some(identity) = spec.holder_identity.clone().filter(|h| !h.is_empty()) else { return Availability::Free };
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()).map(|t| t.0);
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    let expires = renewed.and_then(|r| r.checked_add(jiff::SignedDuration::from_secs(seconds)).ok());
    let holder = Holder { identity: identity.clone(), since: spec.acquire_time.as_ref().map(|t| t.0), expires };
    if expires.is_none_or(|e| e <= now) {
        return Availability::Stale { holder, why: "its lease expired".into() };
    }
    if let Some((h, pid)) = parse_identity(&identity)
        && h == host
        && alive(pid) == Some(false)
    {
        return Availability::Stale { holder, why: format!("process {pid} on this host is gone") };
    }
    Availability::Held(holder)
}

fn parse_identity(identity: &str) -> Option<(&str, u32)> {
    let rest = identity.strip_prefix("kubectl-pki@")?;
    let (host, pid) = rest.rsplit_once("/pid-")?;
    Some((host, pid.parse().ok()?))
}

fn local_pid_alive(pid: u32) -> Option<bool> {
    if !std::path::Path::new("/proc/self").exists() {
        return None;
    }
    Some(std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// A held Lease, renewed in the background until released or dropped.
pub struct Lock {
    api: Api<Lease>,
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// Serializes renewals and annotation writes of this process.
    write: Arc<Mutex<()>>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    /// Set when a stale holder was replaced, for the report.
    pub took_over: Option<String>,
}

impl Lock {
    /// The Lease as it is, without taking it (for dry runs and plans).
    pub async fn peek(client: &kube::Client, namespace: &str, name: &str) -> Result<Option<Lease>> {
        Api::<Lease>::namespaced(client.clone(), namespace).get_opt(name).await.map_err(Error::kube)
    }

    /// Judges a Lease as seen from this process.
    pub fn judge(lease: &Lease) -> Availability {
        availability(lease, Timestamp::now(), &hostname(), local_pid_alive)
    }

    /// Takes the Lease `namespace/name`. A live holder is refused (naming it
    /// and since when) unless `force`.
    pub async fn acquire(client: &kube::Client, namespace: &str, name: &str, force: bool) -> Result<Lock> {
        let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
        let identity = my_identity();
        let now = MicroTime(Timestamp::now());
        let mut took_over = None;
        let existing = api.get_opt(name).await.map_err(Error::kube)?;
        match existing {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta { name: Some(name.to_string()), ..Default::default() },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(identity.clone()),
                        acquire_time: Some(now.clone()),
                        renew_time: Some(now),
                        lease_duration_seconds: Some(LEASE_SECONDS),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                api.create(&PostParams::default(), &lease).await.map_err(|e| conflict_or(e, namespace, name))?;
            }
            Some(mut lease) => {
                match Self::judge(&lease) {
                    Availability::Held(holder) if !force => return Err(held_error(namespace, name, &holder)),
                    Availability::Held(holder) => {
                        took_over = Some(format!("{} (forced with --force-unlock)", clean_cell(&holder.identity)))
                    }
                    Availability::Stale { holder, why } => {
                        took_over = Some(clean_cell(&format!("{} ({why})", holder.identity)).into_owned())
                    }
                    Availability::Free => {}
                }
                let spec = lease.spec.get_or_insert_with(Default::default);
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                spec.holder_identity = Some(identity.clone());
                spec.acquire_time = Some(now.clone());
                spec.renew_time = Some(now);
                spec.lease_duration_seconds = Some(LEASE_SECONDS);
                // The resourceVersion makes this a compare-and-swap: a racing taker gets 409.
                api.replace(name, &PostParams::default(), &lease).await.map_err(|e| conflict_or(e, namespace, name))?;
            }
        }
        let write = Arc::new(Mutex::new(()));
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew_loop(api.clone(), name.to_string(), identity.clone(), write.clone(), lost.clone()));
        Ok(Lock { api, namespace: namespace.to_string(), name: name.to_string(), identity, write, lost, renewer, took_over })
    }

    /// Whether another holder took the Lease (then the run must stop).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    pub fn check(&self) -> Result<()> {
        if self.is_lost() {
            return Err(Error::Invalid(format!(
                "lost the lock Lease {}/{} to another holder; stopped between phases",
                self.namespace, self.name
            )));
        }
        Ok(())
    }

    /// The Lease's annotations (the run state lives there).
    pub async fn annotations(&self) -> Result<BTreeMap<String, String>> {
        let lease = self.api.get(&self.name).await.map_err(Error::kube)?;
        Ok(lease.metadata.annotations.unwrap_or_default())
    }

    /// Sets (or with `None` removes) annotations, retrying on conflicts.
    pub async fn set_annotations(&self, changes: &BTreeMap<String, Option<String>>) -> Result<()> {
        let _guard = self.write.lock().await;
        self.update(|lease| {
            let annotations = lease.metadata.annotations.get_or_insert_with(Default::default);
            for (k, v) in changes {
                match v {
                    Some(v) => annotations.insert(k.clone(), v.clone()),
                    None => annotations.remove(k),
                };
            }
        })
        .await
    }

    /// Gives the Lease up (annotations stay), so the next run need not wait.
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        let _guard = self.write.lock().await;
        self.update(|lease| {
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
                spec.renew_time = Some(MicroTime(Timestamp::now()));
            }
        })
        .await
    }

    /// get → check we hold it → modify → replace, retried on 409.
    async fn update(&self, modify: impl Fn(&mut Lease)) -> Result<()> {
        for _ in 0..5 {
            let mut lease = self.api.get(&self.name).await.map_err(Error::kube)?;
            if lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) != Some(self.identity.as_str()) {
                self.lost.store(true, Ordering::SeqCst);
                return self.check();
            }
            modify(&mut lease);
            match self.api.replace(&self.name, &PostParams::default(), &lease).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => return Err(Error::kube(e)),
            }
        }
        Err(Error::Client(format!("Lease {}/{} kept changing under us (5 conflicts)", self.namespace, self.name)))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

async fn renew_loop(api: Api<Lease>, name: String, identity: String, write: Arc<Mutex<()>>, lost: Arc<AtomicBool>) {
    let period = Duration::from_secs(u64::try_from(LEASE_SECONDS / 3).unwrap_or(10));
    loop {
        tokio::time::sleep(period).await;
        let _guard = write.lock().await;
        let Ok(mut lease) = api.get(&name).await else { continue };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(identity.as_str()) {
            lost.store(true, Ordering::SeqCst);
            return;
        }
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        // A failed renewal is retried next period; the Lease outlives two misses.
        let _ = api.replace(&name, &PostParams::default(), &lease).await;
    }
}

fn conflict_or(err: kube::Error, namespace: &str, name: &str) -> Error {
    match err {
        kube::Error::Api(s) if s.code == 409 => {
            Error::Invalid(format!("another run took the lock Lease {namespace}/{name} at the same moment; try again"))
        }
        other => Error::kube(other),
    }
}

fn held_error(namespace: &str, name: &str, holder: &Holder) -> Error {
    let since = holder.since.map_or_else(|| "an unknown time".into(), |t| t.to_string());
    let expires = holder.expires.map_or_else(String::new, |t| format!(", lease valid until {t}"));
    Error::Invalid(format!(
        "tenant is locked: Lease {namespace}/{name} is held by {} since {since}{expires}; wait for that run, or pass --force-unlock if it is gone",
        clean_cell(&holder.identity)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_error_escapes_the_holder() {
        let holder = Holder { identity: "x\u{1b}[31my\u{202e}z".into(), since: None, expires: None };
        let msg = held_error("ns", "l", &holder).to_string();
        assert!(msg.contains("held by x\\u{1b}[31my\\u{202e}z since") && !msg.contains('\u{1b}') && !msg.contains('\u{202e}'), "{msg}");
    }

    fn lease(holder: Option<&str>, renewed: &str, seconds: i32) -> Lease {
        let t: Timestamp = renewed.parse().unwrap();
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                acquire_time: Some(MicroTime(t)),
                renew_time: Some(MicroTime(t)),
                lease_duration_seconds: Some(seconds),
                ..Default::default()
            }),
        }
    }

    const NOW: &str = "2026-11-27T10:00:00Z";

    fn judge(l: &Lease, alive: Option<bool>) -> Availability {
        availability(l, NOW.parse().unwrap(), "laptop", |_| alive)
    }

    #[test]
    fn no_holder_is_free() {
        assert_eq!(judge(&lease(None, "2026-11-27T09:59:50Z", 30), Some(true)), Availability::Free);
        assert_eq!(judge(&Lease::default(), Some(true)), Availability::Free);
    }

    #[test]
    fn a_live_holder_is_refused_until_expiry() {
        let l = lease(Some("kubectl-pki@other/pid-7"), "2026-11-27T09:59:50Z", 30);
        let Availability::Held(h) = judge(&l, Some(false)) else { panic!("other host: pid not checked") };
        assert_eq!(h.expires, Some("2026-11-27T10:00:20Z".parse().unwrap()));
        let expired = lease(Some("kubectl-pki@other/pid-7"), "2026-11-27T09:59:00Z", 30);
        assert!(matches!(judge(&expired, Some(true)), Availability::Stale { .. }));
    }

    #[test]
    fn a_dead_local_holder_is_taken_over_at_once() {
        let l = lease(Some("kubectl-pki@laptop/pid-4242"), "2026-11-27T09:59:55Z", 30);
        let Availability::Stale { why, .. } = judge(&l, Some(false)) else { panic!() };
        assert!(why.contains("4242"), "{why}");
        assert!(matches!(judge(&l, Some(true)), Availability::Held(_)));
        assert!(matches!(judge(&l, None), Availability::Held(_)), "unknown liveness is not dead");
        let foreign = lease(Some("someone-else"), "2026-11-27T09:59:55Z", 30);
        assert!(matches!(judge(&foreign, Some(false)), Availability::Held(_)));
    }

    #[test]
    fn identity_round_trips() {
        let id = my_identity();
        let (host, pid) = parse_identity(&id).unwrap();
        assert_eq!(pid, std::process::id());
        assert!(!host.is_empty());
        assert_eq!(parse_identity("kubectl-pki@a/b/pid-12"), Some(("a/b", 12)));
    }

    #[test]
    fn held_error_names_holder_and_time() {
        let h = Holder { identity: "kubectl-pki@x/pid-1".into(), since: Some(NOW.parse().unwrap()), expires: None };
        let e = held_error("ns", "pki-rotate-t", &h).to_string();
        assert!(e.contains("held by kubectl-pki@x/pid-1 since 2026-11-27T10:00:00Z"), "{e}");
        assert!(e.contains("--force-unlock"));
    }
}
