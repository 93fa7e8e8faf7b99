//! Phase 2: the backup of every secret the plan changes (or the
//! interrupted run's, when readable here), and the run's state recorded in
//! the Lease. No clap types; no printing except through the phase line.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;

use super::Run;
use crate::error::{Error, Result};
use crate::lock;
use crate::rotate::backup;
use crate::rotate::state::{Phase, RunState, local_backup_path};
use crate::steps::Outcome;
use crate::steps::PhaseLine;

/// What the later phases start from.
pub struct Backed {
    pub state: RunState,
    /// The secrets as backed up: a secret is deleted only while it still holds this.
    pub baseline: Vec<Secret>,
}

impl Backed {
    pub fn outcome(&self) -> Outcome {
        Outcome::Done(format!("{} secret(s) backed up", self.baseline.len()))
    }
}

pub async fn run(run: &mut Run<'_>, line: &PhaseLine) -> Result<Backed> {
    let plan = run.plan;
    let host = lock::hostname();
    // The interrupted run's backup, checked by the inventory (it holds the recorded old CA).
    let reused = run.previous.as_ref().and_then(|p| {
        let path = match &run.s.opts.backup {
            Some(given) => given.clone(),
            None => local_backup_path(p.backup.as_deref()?, &host)?,
        };
        Some((path, run.inv.previous_backup.clone()?))
    });
    let (path, baseline) = match reused {
        Some((path, secrets)) => {
            line.note(&format!("reusing the backup of the interrupted run: {}", path.display()));
            (path, secrets)
        }
        None => {
            let api = run.secrets();
            let mut current = Vec::new();
            for step in plan.secrets.iter().filter(|s| s.backup) {
                if let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? {
                    current.push(secret);
                }
            }
            if let (Some(p), Some(why)) = (&run.previous, &run.inv.previous_backup_problem) {
                // Only past the deletions (resume::blockers refuses before): nothing is deleted from this backup.
                line.note(&format!(
                    "the interrupted run's backup cannot be used ({why}); its deletions are done ({} recorded): continuing from a new backup of the current secrets; the old CA is only in {}",
                    p.done,
                    p.backup.as_deref().unwrap_or("the first backup")
                ));
            }
            let origin = backup::Origin {
                namespace: plan.namespace.clone(),
                tenant: plan.tenant.clone(),
                cluster: recorded_identity(&run.client, line).await,
                taken_before: "rotate-ca".into(),
            };
            let path = backup::write_recorded(&run.s.backup_dir, &origin, &current, Timestamp::now())?;
            let path = std::path::absolute(&path).unwrap_or(path);
            line.note(&format!(
                "backup: {} ({} secret(s), mode 0600, holds private keys); restore with: kubectl pki restore {}",
                path.display(),
                current.len(),
                path.display()
            ));
            (path, current)
        }
    };
    let old_ca = match (&run.previous, &plan.current_ca) {
        (Some(p), _) => p.old_ca.clone(),
        (None, Some(ca)) => ca.clone(),
        (None, None) => return Err(Error::Invalid("no readable CA in the tenant's -ca secret".into())),
    };
    let mut state = RunState {
        done: Phase::Backup,
        started_at: run.previous.as_ref().map_or_else(Timestamp::now, |p| p.started_at),
        old_ca: old_ca.clone(),
        // A resumed run keeps the first backup's location: it alone holds the old CA.
        backup: match &run.previous {
            Some(p) if p.backup.is_some() => p.backup.clone(),
            _ => Some(format!("{host}:{}", path.display())),
        },
        method: plan.method.word().into(),
        worker_uids: match &run.previous {
            Some(p) => p.worker_uids.clone(),
            None => run.inv.workers.iter().filter_map(|p| p.metadata.uid.clone()).collect(),
        },
        tenant_uid: run.previous.as_ref().and_then(|p| p.tenant_uid.clone()).or_else(|| run.inv.tenant_uid.clone()),
        completed_at: None,
    };
    if let Some(p) = &run.previous {
        state.done = p.done.max(Phase::Backup);
    }
    run.record(&mut state, Phase::Backup).await?;
    run.report.backup = Some(path.display().to_string());
    run.report.old_ca = Some(old_ca);
    Ok(Backed { state, baseline })
}

/// The cluster's identity for the backup, so that `restore` refuses it on
/// another cluster. Not readable (no `get namespaces kube-system`): the
/// backup goes without it, as the note says.
pub async fn recorded_identity(client: &kube::Client, line: &PhaseLine) -> Option<crate::cluster_identity::ClusterIdentity> {
    let server = crate::context::server_url().unwrap_or_default();
    match crate::cluster_identity::read(client, &server).await {
        Ok(identity) => Some(identity),
        Err(e) => {
            line.note(&format!(
                "the backup does not record the cluster's identity (cannot read namespace {}: {e}); restore will need --no-identity-check",
                crate::cluster_identity::NAMESPACE
            ));
            None
        }
    }
}
