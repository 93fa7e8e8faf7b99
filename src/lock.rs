//! A per-tenant lock as a `coordination.k8s.io/v1` Lease, so two runs that
//! change one tenant cannot overlap. The holder renews it while it works.
//! A holder is judged alive as client-go's leader election judges it: by
//! seeing its renewals advance (observed here, on this clock), never by
//! comparing its renewTime with this machine's clock. One shortcut: a
//! holder that ran on this very machine and process namespace (same boot
//! id, same pid namespace) is dead at once when its process (pid and start
//! time) is gone. The Lease also carries the run's progress (annotations)
//! so an interrupted run resumes.
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
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::output::clean_cell;

/// Seconds a Lease stays valid without renewal.
pub const LEASE_SECONDS: i32 = 30;
/// How often the holder renews.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// A holder that could not renew for this long stops: others may take the
/// Lease once they saw no renewal for [`LEASE_SECONDS`].
const RENEW_DEADLINE: Duration = Duration::from_secs(20);
/// The annotation naming the holder's process (boot id, pid namespace,
/// pid, start time), for the same-machine shortcut.
pub const PROCESS_ANNOTATION: &str = "lock.kubectl-pki.io/process";

/// Who holds a Lease and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub identity: String,
    pub since: Option<Timestamp>,
    /// When it last renewed, by its own clock (shown, never compared).
    pub renewed: Option<Timestamp>,
    pub lease_seconds: i32,
}

/// Whether a Lease can be taken, as far as this machine can tell at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Free,
    /// Held by a process of this machine that is gone.
    Stale {
        holder: Holder,
        why: String,
    },
    /// Held by a process of this machine that runs.
    Held(Holder),
    /// Held by a process elsewhere: alive while its renewals advance.
    Remote(Holder),
}

/// A process as a lock holder records it: unique on a running system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub boot_id: String,
    pub pid_ns: String,
    pub pid: u32,
    /// Clock ticks after boot when the process started (`/proc/<pid>/stat` field 22).
    pub start: u64,
}

impl Process {
    /// This process; `None` without a Linux `/proc`.
    pub fn me() -> Option<Process> {
        let pid = std::process::id();
        Some(Process {
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_string(),
            pid_ns: std::fs::read_link("/proc/self/ns/pid").ok()?.to_string_lossy().into_owned(),
            pid,
            start: start_time(pid)?,
        })
    }

    fn annotation(&self) -> String {
        format!("{}/{}/{}/{}", self.boot_id, self.pid_ns, self.pid, self.start)
    }

    fn parse(text: &str) -> Option<Process> {
        let mut parts = text.rsplitn(3, '/');
        let start = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let (boot_id, pid_ns) = parts.next()?.split_once('/')?;
        Some(Process { boot_id: boot_id.into(), pid_ns: pid_ns.into(), pid, start })
    }

    /// Whether `self` and `other` see the same processes (same kernel boot, same pid namespace).
    fn same_space(&self, other: &Process) -> bool {
        self.boot_id == other.boot_id && self.pid_ns == other.pid_ns
    }
}

/// The start time of `pid` in this pid namespace, `None` when it does not run.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// `kubectl-pki@<host>/pid-<pid>/<random>`: names the run in a refusal;
/// the random part keeps two runs apart even on hosts of one name.
pub fn new_identity() -> String {
    let mut bytes = [0u8; 6];
    let random = match getrandom::fill(&mut bytes) {
        Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Err(_) => format!("{:x}", Timestamp::now().as_nanosecond()),
    };
    format!("kubectl-pki@{}/pid-{}/{random}", hostname(), std::process::id())
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

/// Judges a Lease from what this machine can see now: `me` is this
/// process (`None`: no /proc), `started(pid)` the start time of a local pid.
pub fn availability(lease: &Lease, me: Option<&Process>, started: impl Fn(u32) -> Option<u64>) -> Availability {
    let Some(spec) = &lease.spec else { return Availability::Free };
    let Some(identity) = spec.holder_identity.clone().filter(|h| !h.is_empty()) else { return Availability::Free };
    let holder = Holder {
        identity,
        since: spec.acquire_time.as_ref().map(|t| t.0),
        renewed: spec.renew_time.as_ref().or(spec.acquire_time.as_ref()).map(|t| t.0),
        lease_seconds: spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS),
    };
    let theirs = lease.metadata.annotations.as_ref().and_then(|a| a.get(PROCESS_ANNOTATION)).and_then(|p| Process::parse(p));
    match (me, theirs) {
        (Some(me), Some(theirs)) if me.same_space(&theirs) => {
            if started(theirs.pid) == Some(theirs.start) {
                Availability::Held(holder)
            } else {
                Availability::Stale { holder, why: format!("process {} on this machine is gone", theirs.pid) }
            }
        }
        _ => Availability::Remote(holder),
    }
}

/// Whether a Lease's holder looks alive to a plan or a dry run, which
/// must not wait: a local holder as [`availability`] says; a remote one
/// while its last renewal is recent by this clock, with five minutes of
/// skew allowed (a hint only: taking the Lease watches its renewals).
pub fn looks_held(lease: &Lease) -> Option<Holder> {
    match Lock::judge(lease) {
        Availability::Held(h) => Some(h),
        Availability::Remote(h) => {
            let fresh = jiff::SignedDuration::from_secs(i64::from(h.lease_seconds) + 300);
            h.renewed.is_some_and(|r| Timestamp::now().duration_since(r) < fresh).then_some(h)
        }
        Availability::Free | Availability::Stale { .. } => None,
    }
}

/// A held Lease, renewed in the background until released or dropped.
pub struct Lock {
    api: Api<Lease>,
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// The Lease as this process last wrote it: every write replaces it
    /// with its resourceVersion, so a write after another holder's fails.
    current: Arc<Mutex<Lease>>,
    lost: Arc<AtomicBool>,
    /// When the Lease was last written (renewed) by this process.
    renewed: Arc<std::sync::Mutex<Instant>>,
    renewer: tokio::task::JoinHandle<()>,
    /// Set when a holder was replaced, for the report.
    pub took_over: Option<String>,
}

impl Lock {
    /// The Lease as it is, without taking it (for dry runs and plans).
    pub async fn peek(client: &kube::Client, namespace: &str, name: &str) -> Result<Option<Lease>> {
        Api::<Lease>::namespaced(client.clone(), namespace).get_opt(name).await.map_err(Error::kube)
    }

    /// Judges a Lease as seen from this process, without waiting.
    pub fn judge(lease: &Lease) -> Availability {
        availability(lease, Process::me().as_ref(), start_time)
    }

    /// Takes the Lease `namespace/name`. A holder on this machine whose
    /// process runs is refused at once; a remote one is watched for up to
    /// its lease duration (at most 5 min; `on_wait` says so) and refused
    /// if it renews meanwhile. `force` takes it from any holder.
    pub async fn acquire(client: &kube::Client, namespace: &str, name: &str, force: bool, mut on_wait: impl FnMut(&str)) -> Result<Lock> {
        let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
        let identity = new_identity();
        let me = Process::me();
        // The remote holder being watched: its resourceVersion and since when it stood still.
        let mut watched: Option<(String, Instant, String)> = None;
        let (written, took_over) = loop {
            let Some(lease) = api.get_opt(name).await.map_err(Error::kube)? else {
                let lease = Lease {
                    metadata: ObjectMeta { name: Some(name.to_string()), ..Default::default() },
                    spec: Some(LeaseSpec { lease_transitions: Some(0), ..Default::default() }),
                };
                let lease = held_by(lease, &identity, me.as_ref());
                break (api.create(&PostParams::default(), &lease).await.map_err(|e| conflict_or(e, namespace, name))?, None);
            };
            let took_over = match availability(&lease, me.as_ref(), start_time) {
                Availability::Free => None,
                Availability::Stale { holder, why } => Some(format!("{} ({why})", clean_cell(&holder.identity))),
                Availability::Held(holder) | Availability::Remote(holder) if force => {
                    Some(format!("{} (forced with --force-unlock)", clean_cell(&holder.identity)))
                }
                Availability::Held(holder) => return Err(held_error(namespace, name, &holder, "its process runs on this machine")),
                Availability::Remote(holder) => {
                    let version = lease.metadata.resource_version.clone().unwrap_or_default();
                    let limit = Duration::from_secs(u64::try_from(holder.lease_seconds.clamp(1, 300)).unwrap_or(30));
                    match &watched {
                        Some((seen, since, who)) if *seen == version && *who == holder.identity => {
                            if since.elapsed() < limit {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                continue;
                            }
                            Some(format!("{} (no renewal seen for {}s)", clean_cell(&holder.identity), limit.as_secs()))
                        }
                        Some((_, _, who)) if *who == holder.identity => {
                            return Err(held_error(namespace, name, &holder, "it renewed the Lease while this run watched"));
                        }
                        _ => {
                            on_wait(&format!(
                                "Lease {namespace}/{name} is held by {}: watching up to {}s whether it still renews it",
                                clean_cell(&holder.identity),
                                limit.as_secs()
                            ));
                            watched = Some((version, Instant::now(), holder.identity));
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    }
                }
            };
            let mut lease = held_by(lease, &identity, me.as_ref());
            if let Some(spec) = lease.spec.as_mut() {
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
            // The resourceVersion makes this a compare-and-swap: a racing taker gets 409.
            break (api.replace(name, &PostParams::default(), &lease).await.map_err(|e| conflict_or(e, namespace, name))?, took_over);
        };
        let current = Arc::new(Mutex::new(written));
        let lost = Arc::new(AtomicBool::new(false));
        let renewed = Arc::new(std::sync::Mutex::new(Instant::now()));
        let renewer =
            tokio::spawn(renew_loop(api.clone(), name.to_string(), identity.clone(), current.clone(), lost.clone(), renewed.clone()));
        Ok(Lock { api, namespace: namespace.to_string(), name: name.to_string(), identity, current, lost, renewed, renewer, took_over })
    }

    /// Whether the run must stop: another holder took the Lease, or it
    /// could not be renewed for [`RENEW_DEADLINE`] (others may take it soon).
    pub fn is_lost(&self) -> bool {
        self.held().check().is_err()
    }

    /// Call before every write to the cluster: an error once the Lease is lost.
    pub fn check(&self) -> Result<()> {
        self.held().check()
    }

    /// A handle that checks the Lease is still held, for waits that run
    /// apart from the lock (in a poll's steps).
    pub fn held(&self) -> Held {
        Held { lease: format!("{}/{}", self.namespace, self.name), lost: self.lost.clone(), renewed: self.renewed.clone() }
    }

    /// The Lease's annotations (the run state lives there), as last written.
    pub async fn annotations(&self) -> Result<BTreeMap<String, String>> {
        Ok(self.current.lock().await.metadata.annotations.clone().unwrap_or_default())
    }

    /// Sets (or with `None` removes) annotations.
    pub async fn set_annotations(&self, changes: &BTreeMap<String, Option<String>>) -> Result<()> {
        self.check()?;
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

    /// Gives the Lease up (the run's annotations stay), so the next run
    /// need not wait. A Lease already lost is left to its new holder.
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        if self.lost.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.update(|lease| {
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
                spec.renew_time = Some(MicroTime(Timestamp::now()));
            }
            if let Some(a) = lease.metadata.annotations.as_mut() {
                a.remove(PROCESS_ANNOTATION);
            }
        })
        .await
    }

    /// Replaces the Lease with `modify` applied to the last written copy;
    /// on a conflict, re-reads it and goes on only while it is still ours.
    async fn update(&self, modify: impl Fn(&mut Lease)) -> Result<()> {
        let mut current = self.current.lock().await;
        for _ in 0..5 {
            let mut next = current.clone();
            modify(&mut next);
            match self.api.replace(&self.name, &PostParams::default(), &next).await {
                Ok(written) => {
                    *current = written;
                    if let Ok(mut t) = self.renewed.lock() {
                        *t = Instant::now();
                    }
                    return Ok(());
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    let fresh = self.api.get(&self.name).await.map_err(Error::kube)?;
                    if holder_of(&fresh) != Some(self.identity.as_str()) {
                        self.lost.store(true, Ordering::SeqCst);
                        return self.check();
                    }
                    *current = fresh;
                }
                Err(e) => return Err(Error::kube(e)),
            }
        }
        Err(Error::Client(format!("Lease {}/{} kept changing under us (5 conflicts)", self.namespace, self.name)))
    }
}

/// Whether a [`Lock`] is still held, as its renewals tell.
#[derive(Clone)]
pub struct Held {
    lease: String,
    lost: Arc<AtomicBool>,
    renewed: Arc<std::sync::Mutex<Instant>>,
}

impl Held {
    pub fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::LockLost { lease: self.lease.clone(), why: "another holder took it".into() });
        }
        if self.renewed.lock().map(|t| t.elapsed() > RENEW_DEADLINE).unwrap_or(true) {
            return Err(Error::LockLost {
                lease: self.lease.clone(),
                why: format!("it could not be renewed for {}s", RENEW_DEADLINE.as_secs()),
            });
        }
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// `lease` as held by `identity` from now, naming this process.
fn held_by(mut lease: Lease, identity: &str, me: Option<&Process>) -> Lease {
    let now = MicroTime(Timestamp::now());
    let spec = lease.spec.get_or_insert_with(Default::default);
    spec.holder_identity = Some(identity.to_string());
    spec.acquire_time = Some(now.clone());
    spec.renew_time = Some(now);
    spec.lease_duration_seconds = Some(LEASE_SECONDS);
    let annotations = lease.metadata.annotations.get_or_insert_with(Default::default);
    match me {
        Some(p) => annotations.insert(PROCESS_ANNOTATION.into(), p.annotation()),
        None => annotations.remove(PROCESS_ANNOTATION),
    };
    lease
}

fn holder_of(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref())
}

async fn renew_loop(
    api: Api<Lease>,
    name: String,
    identity: String,
    current: Arc<Mutex<Lease>>,
    lost: Arc<AtomicBool>,
    renewed: Arc<std::sync::Mutex<Instant>>,
) {
    let mut pause = RENEW_EVERY;
    loop {
        tokio::time::sleep(pause).await;
        pause = RENEW_EVERY;
        let mut held = current.lock().await;
        let mut next = held.clone();
        if let Some(spec) = next.spec.as_mut() {
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        match api.replace(&name, &PostParams::default(), &next).await {
            Ok(written) => {
                *held = written;
                if let Ok(mut t) = renewed.lock() {
                    *t = Instant::now();
                }
            }
            Err(kube::Error::Api(s)) if s.code == 409 => match api.get(&name).await {
                Ok(fresh) if holder_of(&fresh) == Some(identity.as_str()) => {
                    *held = fresh;
                    pause = Duration::from_millis(100);
                }
                Ok(_) => {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                // Retried next period; `Lock::check` stops the run past the deadline.
                Err(_) => {}
            },
            Err(_) => {}
        }
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

fn held_error(namespace: &str, name: &str, holder: &Holder, alive: &str) -> Error {
    let since = holder.since.map_or_else(|| "an unknown time".into(), |t| t.to_string());
    Error::Invalid(format!(
        "tenant is locked: Lease {namespace}/{name} is held by {} since {since} ({alive}); wait for that run, or pass --force-unlock if it is gone",
        clean_cell(&holder.identity)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Process {
        Process { boot_id: "boot-a".into(), pid_ns: "pid:[4026531836]".into(), pid: 100, start: 5000 }
    }

    fn lease(holder: Option<&str>, process: Option<&Process>) -> Lease {
        let t: Timestamp = "2026-11-27T09:59:50Z".parse().unwrap();
        let annotations = process.map(|p| BTreeMap::from([(PROCESS_ANNOTATION.to_string(), p.annotation())]));
        Lease {
            metadata: ObjectMeta { annotations, ..Default::default() },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                acquire_time: Some(MicroTime(t)),
                renew_time: Some(MicroTime(t)),
                lease_duration_seconds: Some(30),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn no_holder_is_free() {
        assert_eq!(availability(&lease(None, Some(&me())), Some(&me()), |_| Some(5000)), Availability::Free);
        assert_eq!(availability(&Lease::default(), Some(&me()), |_| Some(5000)), Availability::Free);
    }

    #[test]
    fn a_holder_on_this_machine_is_judged_by_its_process() {
        let theirs = Process { pid: 4242, start: 777, ..me() };
        let l = lease(Some("kubectl-pki@laptop/pid-4242/ab"), Some(&theirs));
        assert!(matches!(availability(&l, Some(&me()), |pid| (pid == 4242).then_some(777)), Availability::Held(_)));
        let Availability::Stale { why, .. } = availability(&l, Some(&me()), |_| None) else { panic!("gone") };
        assert!(why.contains("4242"), "{why}");
        // The pid was reused by another process: the holder is gone.
        assert!(matches!(availability(&l, Some(&me()), |_| Some(778)), Availability::Stale { .. }));
    }

    #[test]
    fn a_holder_elsewhere_is_never_judged_dead_at_once() {
        // Same host name, another container (pid namespace) or machine (boot): its pid says nothing here.
        let other_ns = Process { pid_ns: "pid:[4026532999]".into(), ..me() };
        let other_boot = Process { boot_id: "boot-b".into(), ..me() };
        for theirs in [Some(&other_ns), Some(&other_boot), None] {
            let l = lease(Some("kubectl-pki@laptop/pid-100/cd"), theirs);
            assert!(matches!(availability(&l, Some(&me()), |_| None), Availability::Remote(_)), "{theirs:?}");
        }
        // No /proc here: nothing is local.
        let l = lease(Some("kubectl-pki@laptop/pid-100/cd"), Some(&me()));
        assert!(matches!(availability(&l, None, |_| None), Availability::Remote(_)));
    }

    #[test]
    fn this_process_reads_itself() {
        let p = Process::me().expect("Linux /proc");
        assert_eq!(p.pid, std::process::id());
        assert_eq!(Process::parse(&p.annotation()), Some(p.clone()));
        assert_eq!(start_time(p.pid), Some(p.start));
        let l = lease(Some("x"), Some(&p));
        assert!(matches!(Lock::judge(&l), Availability::Held(_)), "this process runs");
    }

    #[test]
    fn every_run_has_its_own_identity() {
        let (a, b) = (new_identity(), new_identity());
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("kubectl-pki@{}/pid-{}/", hostname(), std::process::id())), "{a}");
    }

    #[test]
    fn held_error_names_holder_and_time_escaped() {
        let h = Holder {
            identity: "x\u{1b}[31my".into(),
            since: Some("2026-11-27T10:00:00Z".parse().unwrap()),
            renewed: None,
            lease_seconds: 30,
        };
        let e = held_error("ns", "pki-rotate-t", &h, "it renewed the Lease while this run watched").to_string();
        assert!(e.contains("held by x\\u{1b}[31my since 2026-11-27T10:00:00Z (it renewed the Lease while this run watched)"), "{e}");
        assert!(e.contains("--force-unlock") && !e.contains('\u{1b}'), "{e}");
    }
}
