//! Phase 6: rollout restart of the workloads that consume a changed
//! secret; wait for every rollout. No clap types; no printing except
//! through the phase line.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::Run;
use crate::error::Result;
use crate::rotate::plan::WorkloadAction;
use crate::rotate::state::{Phase, RunState};
use crate::steps::PhaseLine;
use crate::steps::{Outcome, Skip};
use crate::workloads;

pub async fn run(run: &mut Run<'_>, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    if run.plan.workloads.is_empty() {
        run.record(state, Phase::Workloads).await?;
        return Ok(Outcome::Skipped(Skip::NoWorkloads));
    }
    let api: Api<Deployment> = Api::namespaced(run.client.clone(), &run.plan.namespace);
    if !run.already_done(Phase::Workloads) {
        let at = Timestamp::now();
        for w in run.plan.workloads.iter().filter(|w| w.action == WorkloadAction::Restart) {
            run.lock.check()?;
            match workloads::restart(&api, &w.name, at).await {
                Ok(()) => {
                    line.update(&format!("restarted {}", w.name));
                    run.report.workloads_restarted.push(w.name.clone());
                }
                Err(e) if e.is_not_found() => line.note(&format!("Deployment {} is gone: skipped", w.name)),
                Err(e) => return Err(e),
            }
        }
    }
    let names: Vec<String> = run.plan.workloads.iter().map(|w| w.name.clone()).collect();
    run.waited += workloads::wait_rollouts(&api, &names, run.s.timeout, &run.lock.held(), |m| line.update(m)).await?;
    run.record(state, Phase::Workloads).await?;
    Ok(Outcome::Done(format!("{} restarted, {} rollout(s) complete", run.report.workloads_restarted.len(), names.len())))
}
