//! Phase 4: a restart of the Kamaji controller that began after this run's
//! change: its own, or one a parallel run began later
//! ([`KamajiRestarts`](crate::rotate::kamaji_restart::KamajiRestarts)).
//! No clap types; no printing except through the phase line.

use k8s_openapi::api::core::v1::Secret;

use super::Run;
use crate::error::Result;
use crate::kamaji::restart::{self, Restarted};
use crate::rotate::kamaji_restart::Restart;
use crate::rotate::state::{Phase, RunState};
use crate::steps::PhaseLine;
use crate::steps::{Outcome, Skip};

pub async fn run(run: &mut Run<'_>, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    if run.already_done(Phase::Kamaji) {
        return Ok(Outcome::Skipped(Skip::DoneBefore));
    }
    let changed_at = run.rotated_at.unwrap_or_else(tokio::time::Instant::now);
    let tenant = format!("{}/{}", run.plan.namespace, run.plan.tenant);
    let others = run.s.kamaji.changing();
    if others > 0 {
        line.update(&format!("waiting for {others} other tenant(s) of this run to finish rotating: one Kamaji restart serves all"));
    }
    let shared = run.s.kamaji.clone();
    let restart = shared.after(changed_at, &tenant, || restart_kamaji(run, line)).await?;
    run.record(state, Phase::Kamaji).await?;
    Ok(match restart {
        Restart::Performed(outcome) => outcome,
        Restart::Joined { by, detail } => {
            run.report.kamaji_restart_joined = Some(by.clone());
            Outcome::Done(format!("shared the restart done for {by}: {detail}"))
        }
    })
}

/// Deletes the controller pods; waits for new ones (new UIDs) Ready ([`crate::kamaji::restart`]).
async fn restart_kamaji(run: &mut Run<'_>, line: &mut PhaseLine) -> Result<Outcome> {
    let opts = &run.s.opts;
    let (restarted, took) =
        restart::restart(&run.client, &opts.kamaji_namespace, &opts.kamaji_selector, run.lock, run.s.timeout, |m| line.update(m)).await?;
    run.waited += took;
    Ok(match restarted {
        Restarted::NoPods => {
            Outcome::Skipped(Skip::NoKamajiPods { selector: opts.kamaji_selector.clone(), namespace: opts.kamaji_namespace.clone() })
        }
        Restarted::Replaced { pods } => {
            let n = pods.len();
            run.report.kamaji_pods_deleted.extend(pods);
            Outcome::Done(format!("{n} pod(s) replaced and Ready"))
        }
    })
}
