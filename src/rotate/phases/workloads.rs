//! Phase 6: rollout restart of the workloads that consume a changed
//! secret; wait for every rollout. No clap types; no printing except
//! through the phase line.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::{Outcome, Run, Skip};
use crate::error::{Error, Result};
use crate::rotate::plan::WorkloadAction;
use crate::rotate::progress::PhaseLine;
use crate::rotate::state::{Phase, RunState};
use crate::wait::Poll;
use crate::workloads::{self, Rollout};

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
    let what = format!("the rollouts of {}", names.join(", "));
    run.wait(&what, Duration::from_secs(1), line, || {
        let (api, names) = (api.clone(), names.clone());
        async move {
            let mut pending = Vec::new();
            for name in &names {
                let Some(d) = api.get_opt(name).await.map_err(Error::kube)? else { continue };
                match workloads::rollout(&d) {
                    Rollout::Done => {}
                    Rollout::Progressing(m) => pending.push(m),
                    Rollout::Failed(m) => return Err(Error::Invalid(format!("rollout failed: {m}"))),
                }
            }
            Ok(if pending.is_empty() { Poll::Done(()) } else { Poll::Waiting(pending.join("; ")) })
        }
    })
    .await?;
    run.record(state, Phase::Workloads).await?;
    Ok(Outcome::Done(format!("{} restarted, {} rollout(s) complete", run.report.workloads_restarted.len(), names.len())))
}
