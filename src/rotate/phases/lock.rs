//! Phase 1: every permission the run needs is confirmed, the plan has no blockers, and the
//! tenant's Lease is held ([`crate::steps::lock::take`]); nothing is written before. The
//! rotation to continue is the one the plan saw, or the run stops.

use super::Settings;
use crate::error::Result;
use crate::lock::Lock;
use crate::rotate::inventory::{self, lease_name};
use crate::rotate::plan::Plan;
use crate::rotate::report::Report;
use crate::rotate::state::{Phase, RunState};
use crate::steps::lock::{Take, take};

/// The Lease held, and the unfinished run it records (if any).
pub struct Locked {
    pub lock: Lock,
    pub previous: Option<RunState>,
}

pub async fn run(client: &kube::Client, plan: &Plan, s: &Settings, report: &mut Report) -> Result<Locked> {
    let lease = lease_name(&plan.tenant);
    let needs = inventory::needs(plan, &s.opts);
    let t = Take {
        namespace: &plan.namespace,
        lease: &lease,
        needs: &needs,
        blockers: &plan.blockers,
        command: "rotate-ca",
        refusing: "rotate",
        force_unlock: s.force_unlock,
    };
    let (lock, previous) = take(client, &t, Phase::Lock, &s.display, report, |annotations| {
        let previous = RunState::from_annotations(annotations).filter(RunState::is_unfinished);
        if previous.as_ref().map(|p| p.started_at) == plan.resume.as_ref().map(|r| r.started_at) {
            Ok(previous)
        } else {
            Err("the tenant's rotation state changed while planning (another run started or finished); run the command again")
        }
    })
    .await?;
    Ok(Locked { lock, previous })
}
