//! `kubectl pki restore BACKUP`: puts the Secrets of a backup (rotate-ca's,
//! or restore's own pre-restore one) back. A dry run by default: the plan
//! shows each secret as unchanged / would create / would replace, with
//! fingerprints of the backup's and the cluster's data. Refused before any
//! request that writes when the file holds anything but the recorded
//! tenant's Kamaji secrets ([`validate`]), when the backup was taken on
//! another cluster ([`identity`]), or when permissions are missing. A real
//! run holds the tenant's Lease (the one rotate-ca takes), first saves the
//! current version of every secret it replaces to a new backup (so the
//! restore can be undone), writes each secret once ([`apply`]), and removes
//! every command's resume state from the Lease (rotate-ca, renew, rotate-sa-key),
//! so none resumes what the restore undid.
//!
//! No clap types: the command layer (`crate::commands::restore`) passes the
//! plain values and renders the [`Report`] ([`render`]).

pub mod apply;
pub mod identity;
pub mod owners;
pub mod plan;
pub mod render;
pub mod validate;

use std::path::PathBuf;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

pub use plan::{Action, Report, Row, decide, strip_pending_rotation};

use crate::cluster_identity;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::lease_state;
use crate::lock::{Availability, Lock};
use crate::output::clean_cell;
use crate::rbac::{self, Need};
use crate::rotate::backup::{self, Origin};
use crate::rotate::inventory::lease_name;
use crate::rotate::state::RunState;

/// A `restore` run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A backup file, or a directory holding one.
    pub backup: PathBuf,
    /// Show the plan, change nothing.
    pub dry_run: bool,
    /// `-n` when given: it must be the backup's namespace.
    pub namespace: Option<String>,
    /// Where the pre-restore backup goes.
    pub backup_dir: PathBuf,
    /// Accept a backup that records no cluster identity (with a warning).
    pub no_identity_check: bool,
    /// Take the tenant's Lease even from a live holder.
    pub force_unlock: bool,
}

/// Reads, checks and plans the restore; with `dry_run` off, executes it.
/// `notify` gets progress lines (waiting for the Lease, the pre-restore
/// backup's path). A run whose writes partly failed still returns its
/// [`Report`]; the caller turns [`Report::failed`] into the error.
pub async fn run(opts: &Options, ctx: &Ctx, mut notify: impl FnMut(&str)) -> Result<Report> {
    // The file first: nothing of a refused file reaches the cluster.
    let doc = backup::read_document(&opts.backup)?;
    let path = doc.path.clone();
    if doc.items.is_empty() {
        return Err(Error::file(&path, "the backup holds no secrets"));
    }
    let target = validate::target(&doc, opts.namespace.as_deref()).map_err(|e| Error::file(&path, e))?;
    let recorded = doc.cluster.clone();
    let secrets = validate::items(&target, doc.items).map_err(|e| Error::file(&path, e))?;
    let (ns, tenant) = (target.namespace.as_str(), target.tenant.as_str());

    let client = ctx.client().await?;
    let server = ctx.config().await?.cluster_url.to_string();
    let missing =
        rbac::missing(&client, &needs(ns, opts.dry_run, !opts.no_identity_check)).await.map_err(|e| Error::kube_at(e, Some(&server)))?;
    if !missing.is_empty() {
        return Err(rbac::refusal(&missing, "restore"));
    }
    let actual = cluster_identity::read(&client, &server).await;
    let unreadable = actual.as_ref().err().map(ToString::to_string);
    let this = match (&actual, &unreadable) {
        (Ok(id), _) => Ok(id),
        (Err(_), why) => Err(why.as_deref().unwrap_or_default()),
    };
    let warnings =
        identity::check(recorded.as_ref(), this, opts.no_identity_check).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    let cluster = actual.ok();

    let mut report = Report {
        backup: path.display().to_string(),
        dry_run: opts.dry_run,
        namespace: ns.to_string(),
        tenant: tenant.to_string(),
        recorded_cluster: recorded,
        cluster,
        pre_restore_backup: None,
        lease: Vec::new(),
        rotate_state_cleared: false,
        states_cleared: Vec::new(),
        warnings,
        secrets: Vec::new(),
        result: "planned",
    };
    let lease = lease_name(tenant);
    if opts.dry_run {
        report.lease = describe_lease(&client, ns, &lease).await;
        plan(&client, ns, secrets, &mut report).await?;
        return Ok(report);
    }

    let lock = Lock::acquire(&client, ns, &lease, opts.force_unlock, &mut notify).await?;
    if let Some(t) = &lock.took_over {
        report.lease.push(format!("took the Lease {ns}/{lease} over from {t}"));
    }
    let done = execute(&client, &lock, opts, secrets, &mut report, &mut notify).await;
    // The Lease is given up whatever happened; its run states are cleared only after writes were tried.
    let released = lock.release().await;
    done?;
    if let Err(e) = released {
        report.warnings.push(format!("could not release the Lease {ns}/{lease}: {e}"));
    }
    report.result = if report.failed().is_empty() { "restored" } else { "incomplete" };
    Ok(report)
}

/// What a run asks of RBAC before anything: reading the secrets (and the
/// cluster's identity, unless `identity` is off), and for a real run
/// writing them and holding the tenant's Lease.
pub fn needs(namespace: &str, dry_run: bool, identity: bool) -> Vec<Need> {
    let mut needs = vec![Need::new("get", "", "secrets", namespace, "compare with the backup")];
    if identity {
        needs.push(Need::cluster("get", "", "namespaces", "the cluster's identity").named(cluster_identity::NAMESPACE));
    }
    if !dry_run {
        needs.push(Need::new("create", "", "secrets", namespace, "recreate deleted secrets"));
        needs.push(Need::new("update", "", "secrets", namespace, "replace changed secrets"));
        needs.push(Need::new("get", "coordination.k8s.io", "leases", namespace, "read the tenant's lock"));
        needs.push(Need::new("create", "coordination.k8s.io", "leases", namespace, "take the tenant's lock"));
        needs.push(Need::new("update", "coordination.k8s.io", "leases", namespace, "renew the lock, clear rotate-ca's state"));
    }
    rbac::dedup(needs)
}

/// The plan's rows: each secret prepared as it would be written, and what the cluster holds.
async fn plan(client: &kube::Client, ns: &str, secrets: Vec<Secret>, report: &mut Report) -> Result<Vec<(Secret, Option<Secret>)>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut owners = owners::Owners::default();
    let mut prepared = Vec::new();
    for mut secret in secrets {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let mut notes: Vec<String> = strip_pending_rotation(&mut secret).into_iter().collect();
        notes.extend(owners.keep_existing(client, ns, &mut secret).await);
        let current = api.get_opt(&name).await.map_err(Error::kube)?;
        let action = decide(&secret, current.as_ref());
        report.secrets.push(Row {
            name,
            action,
            backup_sha256: plan::fingerprint(&secret),
            cluster_sha256: current.as_ref().map(plan::fingerprint),
            result: plan::planned(action).into(),
            error: None,
            notes,
        });
        prepared.push((secret, current));
    }
    Ok(prepared)
}

/// Plans under the Lease, saves what will be replaced, writes, clears rotate-ca's state.
async fn execute(
    client: &kube::Client,
    lock: &Lock,
    opts: &Options,
    secrets: Vec<Secret>,
    report: &mut Report,
    notify: &mut impl FnMut(&str),
) -> Result<()> {
    let ns = report.namespace.clone();
    let prepared = plan(client, &ns, secrets, report).await?;
    let replaced: Vec<Secret> =
        prepared.iter().zip(&report.secrets).filter(|(_, r)| r.action == Action::Replace).filter_map(|((_, c), _)| c.clone()).collect();
    if !replaced.is_empty() {
        let origin = Origin {
            namespace: ns.clone(),
            tenant: report.tenant.clone(),
            cluster: report.cluster.clone(),
            taken_before: "restore".into(),
        };
        let path = backup::write_recorded(&opts.backup_dir, &origin, &replaced, Timestamp::now())?;
        let path = std::path::absolute(&path).unwrap_or(path);
        notify(&format!(
            "pre-restore backup: {} ({} secret(s), mode 0600, holds private keys); undo this restore with: kubectl pki restore {} --dry-run=false",
            path.display(),
            replaced.len(),
            path.display()
        ));
        report.pre_restore_backup = Some(path.display().to_string());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for ((secret, current), row) in prepared.into_iter().zip(report.secrets.iter_mut()) {
        if row.action == Action::Unchanged {
            continue;
        }
        match apply::write(&api, lock, &row.name, secret, current.as_ref()).await {
            Ok(written) => row.result = written.word().into(),
            // Lost the Lease: stop before the next write.
            Err(e @ Error::LockLost { .. }) => return Err(e),
            Err(e) => {
                row.result = "failed".into();
                row.error = Some(clean_cell(&e.to_string()).into_owned());
            }
        }
    }
    // Every command's run state goes: a restore undoes what they did, so none resumes it.
    let annotations = lock.annotations().await?;
    let mut changes = std::collections::BTreeMap::new();
    for (command, prefix) in lease_state::COMMANDS {
        let cleared = lease_state::cleared(prefix, &annotations);
        if !cleared.is_empty() {
            changes.extend(cleared);
            report.states_cleared.push(command);
        }
    }
    if !changes.is_empty() {
        lock.set_annotations(&changes).await?;
    }
    report.rotate_state_cleared = report.states_cleared.contains(&"rotate-ca");
    Ok(())
}

/// The dry run's view of the tenant's Lease: a holder (a real run would
/// wait for it or refuse) and a recorded rotate-ca state (a real run clears it).
async fn describe_lease(client: &kube::Client, ns: &str, name: &str) -> Vec<String> {
    let api: Api<Lease> = Api::namespaced(client.clone(), ns);
    let lease = match api.get_opt(name).await {
        Ok(Some(l)) => l,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("cannot read the Lease {ns}/{name}: {}", clean_cell(&Error::kube(e).to_string()))],
    };
    let mut lines = Vec::new();
    match Lock::judge(&lease) {
        Availability::Free | Availability::Stale { .. } => {}
        Availability::Held(h) | Availability::Remote(h) => lines.push(format!(
            "the Lease {ns}/{name} is held by {}: a real run waits for it to stop renewing, else refuses (--force-unlock takes it)",
            clean_cell(&h.identity)
        )),
    }
    let annotations = lease.metadata.annotations.unwrap_or_default();
    for (command, prefix) in lease_state::COMMANDS {
        if let Some(run) = lease_state::unfinished(prefix, &annotations) {
            let (done, started) = (clean_cell(&run.done), run.started_at);
            lines.push(format!("the Lease records a {command} run (unfinished, done: {done}, started {started}): a real run clears it"));
        } else if prefix == lease_state::ROTATION
            && let Some(s) = RunState::from_annotations(&annotations)
        {
            lines.push(format!("the Lease records a rotate-ca run (completed, started {}): a real run clears it", s.started_at));
        } else if !lease_state::cleared(prefix, &annotations).is_empty() {
            lines.push(format!("the Lease holds {command} state: a real run clears it"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_run_needs_the_secret_writes_and_the_lease_verbs() {
        let names = |n: Vec<Need>| {
            n.iter().map(ToString::to_string).map(|s| s.split(" (").next().unwrap_or_default().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(needs("t", true, false)), ["get secrets in t"]);
        let real = names(needs("t", false, true));
        for need in [
            "get secrets in t",
            "get namespaces kube-system",
            "create secrets in t",
            "update secrets in t",
            "get leases.coordination.k8s.io in t",
            "create leases.coordination.k8s.io in t",
            "update leases.coordination.k8s.io in t",
        ] {
            assert!(real.contains(&need.to_string()), "{need}: {real:?}");
        }
    }
}
