//! Phase 1: every permission the run needs is confirmed, the plan has no
//! blockers, and the tenant's Lease is held; nothing is written before.
//! It reports itself (its line and its report differ in wording). No clap
//! types; no printing except through [`Display`](crate::rotate::progress::Display).

use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::rbac;
use crate::rotate::execute::Settings;
use crate::rotate::inventory::{self, lease_name};
use crate::rotate::plan::Plan;
use crate::rotate::report::{PhaseStatus, Report};
use crate::rotate::state::{Phase, RunState};

/// The Lease held, and the unfinished run it records (if any).
pub struct Locked {
    pub lock: Lock,
    pub previous: Option<RunState>,
}

pub async fn run(client: &kube::Client, plan: &Plan, s: &Settings, report: &mut Report) -> Result<Locked> {
    let ns = plan.namespace.as_str();
    let lease = lease_name(&plan.tenant);
    let line = s.display.start(Phase::Lock, super::doing(Phase::Lock, false));
    let needs = inventory::needs(plan, &s.opts);
    let missing = rbac::missing(client, &needs).await.map_err(Error::kube)?;
    if !missing.is_empty() {
        report.missing_permissions = missing.iter().map(ToString::to_string).collect();
        let took = line.failed(&format!("{} permission(s) missing", missing.len()));
        report.phase(Phase::Lock, PhaseStatus::Failed, took, "missing permissions");
        return Err(rbac::refusal(&missing, "rotate-ca"));
    }
    if !plan.blockers.is_empty() {
        let took = line.failed("the plan has blockers");
        report.phase(Phase::Lock, PhaseStatus::Failed, took, plan.blockers.join("; "));
        return Err(Error::Invalid(format!("refusing to rotate, nothing was changed: {}", plan.blockers.join("; "))));
    }
    let mut line = line;
    line.update(&format!("taking Lease {ns}/{lease}"));
    let lock = match Lock::acquire(client, ns, &lease, s.force_unlock, |m| line.update(m)).await {
        Ok(lock) => lock,
        Err(e) => {
            let took = line.failed("the tenant is locked");
            report.phase(Phase::Lock, PhaseStatus::Failed, took, e.to_string());
            return Err(e);
        }
    };
    if let Some(t) = &lock.took_over {
        line.note(&format!("took the lock over from {t}"));
        report.lock_taken_over = Some(t.clone());
    }
    let previous = RunState::from_annotations(&lock.annotations().await?).filter(RunState::is_unfinished);
    if previous.as_ref().map(|p| p.started_at) != plan.resume.as_ref().map(|r| r.started_at) {
        let _ = lock.release().await;
        let took = line.failed("state changed");
        report.phase(Phase::Lock, PhaseStatus::Failed, took, "state changed while planning");
        return Err(Error::Invalid(
            "the tenant's rotation state changed while planning (another run started or finished); run the command again".into(),
        ));
    }
    let took = line.done(&format!("{} permission(s) granted; Lease {ns}/{lease} held", needs.len()));
    report.phase(Phase::Lock, PhaseStatus::Done, took, format!("{} permissions, lock held", needs.len()));
    Ok(Locked { lock, previous })
}
