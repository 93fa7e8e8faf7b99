//! The first step of every run: each permission it needs confirmed, the plan free of
//! blockers, and the tenant's Lease held; nothing is written before. The run then reads
//! from the Lease the progress it continues, and gives up (releasing the Lease) when that
//! changed since it planned.

use std::collections::BTreeMap;

use super::progress::Display;
use super::report::{PhaseReport, PhaseStatus, RunReport};
use super::step::RunStep;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::rbac::{self, Need};

/// What the first step checks and takes.
pub struct Take<'a> {
    pub namespace: &'a str,
    /// The tenant's lock Lease (`pki-rotate-<tenant>`, shared by every command).
    pub lease: &'a str,
    pub needs: &'a [Need],
    pub blockers: &'a [String],
    /// The command, as a refusal names it: `rotate-ca`.
    pub command: &'static str,
    /// What a blocked plan refuses: "refusing to {refusing}, nothing was changed".
    pub refusing: &'static str,
    /// `--force-unlock`: take over a Lease whose holder is gone.
    pub force_unlock: bool,
}

/// Step `step` (the first): refuses with every missing permission or the plan's blockers,
/// takes the Lease, then asks `resumed` what the Lease's annotations say: the run to
/// continue, or why the state changed since planning (the Lease is released then).
pub async fn take<S: RunStep, P>(
    client: &kube::Client,
    t: &Take<'_>,
    step: S,
    display: &Display,
    report: &mut impl RunReport,
    resumed: impl FnOnce(&BTreeMap<String, String>) -> std::result::Result<P, &'static str>,
) -> Result<(Lock, P)> {
    let (ns, lease) = (t.namespace, t.lease);
    let mut line = display.start(step, step.doing());
    let missing = rbac::missing(client, t.needs).await.map_err(Error::kube)?;
    if !missing.is_empty() {
        *report.missing_permissions() = missing.iter().map(ToString::to_string).collect();
        let took = line.failed(&format!("{} permission(s) missing", missing.len()));
        enter(report, step, PhaseStatus::Failed, took, "missing permissions".into());
        return Err(rbac::refusal(&missing, t.command));
    }
    if !t.blockers.is_empty() {
        let took = line.failed("the plan has blockers");
        enter(report, step, PhaseStatus::Failed, took, t.blockers.join("; "));
        return Err(Error::Invalid(format!("refusing to {}, nothing was changed: {}", t.refusing, t.blockers.join("; "))));
    }
    line.update(&format!("taking Lease {ns}/{lease}"));
    let lock = match Lock::acquire(client, ns, lease, t.force_unlock, |m| line.update(m)).await {
        Ok(lock) => lock,
        Err(e) => {
            let took = line.failed("the tenant is locked");
            enter(report, step, PhaseStatus::Failed, took, e.to_string());
            return Err(e);
        }
    };
    if let Some(from) = &lock.took_over {
        line.note(&format!("took the lock over from {from}"));
        *report.lock_taken_over() = Some(from.clone());
    }
    let previous = match resumed(&lock.annotations().await?) {
        Ok(previous) => previous,
        Err(changed) => {
            let _ = lock.release().await;
            let took = line.failed("state changed");
            enter(report, step, PhaseStatus::Failed, took, "state changed while planning".into());
            return Err(Error::Invalid(changed.into()));
        }
    };
    let took = line.done(&format!("{} permission(s) granted; Lease {ns}/{lease} held", t.needs.len()));
    enter(report, step, PhaseStatus::Done, took, format!("{} permissions, lock held", t.needs.len()));
    Ok((lock, previous))
}

fn enter(report: &mut impl RunReport, step: impl RunStep, status: PhaseStatus, took: std::time::Duration, detail: String) {
    report.phases().push(PhaseReport::new(step, status, took, detail));
}
