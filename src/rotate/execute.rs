//! Running a plan, phase by phase ([`phases`]). Safety rules enforced here,
//! not just promised by the plan:
//! - nothing is written before every permission is confirmed and the
//!   tenant's Lease is held;
//! - a secret is deleted only if the backup on disk holds exactly its
//!   current content (and with a uid/resourceVersion precondition), so a
//!   secret Kamaji already regenerated is never deleted again;
//! - progress is recorded in the Lease after each phase, and every step is
//!   idempotent, so re-running the same command after a kill or a timeout
//!   continues where the last run stopped.
//!
//! No clap types; no printing except through [`crate::steps::Display`].

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;

use super::inventory::lease_name;
use super::phases::{self, Run, Settings};
use super::plan::{Inventory, Plan};
use super::report::{Report, RunResult};
use super::state::{Phase, RunState};
use crate::error::{Error, Result};
use crate::steps::{self, Outcome, PhaseLine, PhaseStatus, RunStep, fault};

/// Runs every phase, filling `report`. On failure the Lease is released but
/// the recorded progress stays for the re-run.
pub async fn execute(client: &kube::Client, inv: &Inventory, plan: &Plan, s: &Settings, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    // From now until its rotate phase ends, a Kamaji restart of the batch waits for this run.
    let rotating = s.kamaji.enter();
    let ns = plan.namespace.as_str();
    let lease = lease_name(&plan.tenant);
    let phases::lock::Locked { lock, previous } = phases::lock::run(client, plan, s, report).await?;

    let mut run = Run {
        client: client.clone(),
        plan,
        inv,
        s,
        report,
        lock: &lock,
        previous,
        waited: Duration::ZERO,
        rotated_at: None,
        rotating: Some(rotating),
    };
    // Ctrl-C or SIGTERM ends the phase at its next step, like a crash would,
    // but the Lease is released and the resume hint printed.
    let result = steps::interruptible(all_phases(&mut run), "the rotation").await;
    // `rotated` only when this process verified the new CA itself, whatever the Lease records.
    let verified_here = run.report.phases.iter().any(|p| p.name == Phase::Regenerated.name() && p.status == PhaseStatus::Done);
    let result = match result {
        Ok(()) if !verified_here => Err(Error::Verification("the new CA was not verified by this run".into())),
        other => other,
    };
    // An unfinished stop withdraws a rotate request still pending (see `withdraw_pending`).
    let withdrawn = match &result {
        Err(Error::LockLost { .. }) | Ok(()) => None,
        Err(_) => match phases::rotate::withdraw_pending(&run).await {
            Ok(note) => note,
            Err(e) => Some(format!("could not withdraw the pending rotate request: {e}")),
        },
    };
    let waited = run.waited;
    if let Some(note) = &withdrawn {
        s.display.println(note);
    }
    report.withdrawn = withdrawn;
    if result.is_ok() {
        report.result = RunResult::Rotated;
    }
    let hint = format!("the rotation is not finished: re-run the same command to continue (progress is kept in Lease {ns}/{lease})");
    steps::conclude(result, lock, started, waited, hint, &s.display, report).await
}

/// The phases after the lock, in order, each a fault point when it ends.
async fn all_phases(run: &mut Run<'_>) -> Result<()> {
    run.lock.check()?;
    let line = run.s.display.start(Phase::Backup, phases::doing(Phase::Backup, false));
    let backed = phases::backup::run(run, &line).await;
    let outcome = backed.as_ref().map(phases::backup::Backed::outcome);
    steps::finish(Phase::Backup, line, outcome.as_ref().map_err(|e| *e), run.report);
    let phases::backup::Backed { mut state, baseline } = backed?;
    fault::after(Phase::Backup.name());

    for phase in Phase::ALL.iter().copied().filter(|p| *p > Phase::Backup) {
        run.lock.check()?;
        let mut line = run.s.display.start(phase, phases::doing(phase, run.s.opts.restart_workers));
        let outcome = step(run, phase, &mut state, &baseline, &mut line).await;
        steps::finish(phase, line, outcome.as_ref(), run.report);
        outcome?;
        fault::after(phase.name());
    }
    Ok(())
}

/// One phase after the backup.
async fn step(run: &mut Run<'_>, phase: Phase, state: &mut RunState, baseline: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    match phase {
        Phase::Rotate => phases::rotate::run(run, state, baseline, line).await,
        Phase::Kamaji => phases::kamaji::run(run, state, baseline, line).await,
        Phase::Regenerated => phases::regenerated::run(run, state, baseline, line).await,
        Phase::Workloads => phases::workloads::run(run, state, baseline, line).await,
        Phase::Workers => phases::workers::run(run, state, baseline, line).await,
        Phase::LiveCheck => phases::live_check::run(run, state, baseline, line).await,
        Phase::Lock | Phase::Backup => Err(Error::Invalid(format!("phase {phase} runs before the others"))),
    }
}
