//! Running a renewal plan, step by step ([`Step`]). Safety rules enforced here:
//! - nothing is written before every permission is confirmed and the tenant's Lease (the
//!   one rotate-ca takes) is held, and never while that Lease records an unfinished rotation;
//! - a 0600 backup of every secret to renew is on disk before the first change;
//! - every write checks the Lease first, and waits stop as soon as it is lost;
//! - progress is recorded in the Lease after each step and every step is idempotent, so
//!   re-running the same command after a kill, a timeout or Ctrl-C continues.
//!
//! No clap types; no printing except through [`crate::steps::Display`].

use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::plan::{Inventory, Plan};
use super::report::{Report, RunResult};
use super::run::{Run, Settings};
use super::state::{RenewState, Step};
use crate::error::{Error, Result};
use crate::kamaji::restart::{self, Restarted};
use crate::lock::{self, Lock};
use crate::rotate::inventory::lease_name;
use crate::rotate::plan::WorkloadAction;
use crate::rotate::state::{RunState, local_backup_path};
use crate::steps::lock::{Take, take};
use crate::steps::{self, Outcome, PhaseLine, RunStep, Skip, fault};

/// What the steps after the backup start from.
pub struct Backed {
    pub state: RenewState,
    /// The secrets to renew as backed up: their certificates before, and what a deletion requires.
    pub baseline: Vec<Secret>,
}

/// Runs every step, filling `report`. On failure the Lease is released but the recorded
/// progress stays for the re-run.
pub async fn execute(client: &kube::Client, inv: &Inventory, plan: &Plan, s: &Settings, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    let ns = plan.namespace.as_str();
    let lease = lease_name(&plan.tenant);
    let (lock, previous) = lock_step(client, plan, s, report).await?;
    let mut run = Run { client: client.clone(), plan, inv, s, report, lock: &lock, previous, waited: Duration::ZERO };
    // Ctrl-C or SIGTERM ends the step at its next await, the Lease is released and the resume hint printed.
    let result = steps::interruptible(all_steps(&mut run), "the renewal").await;
    let waited = run.waited;
    if result.is_ok() {
        report.result = RunResult::Renewed;
    }
    let hint = format!("the renewal is not finished: re-run the same command to continue (progress is kept in Lease {ns}/{lease})");
    steps::conclude(result, lock, started, waited, hint, &s.display, report).await
}

fn start(s: &Settings, step: Step) -> PhaseLine {
    s.display.start(step, step.doing())
}

/// Step 1: permissions, blockers, the Lease; nothing is written before. Never while the
/// Lease records an unfinished rotation.
async fn lock_step(client: &kube::Client, plan: &Plan, s: &Settings, report: &mut Report) -> Result<(Lock, Option<RenewState>)> {
    let lease = lease_name(&plan.tenant);
    let needs = super::inventory::needs(plan, &s.opts);
    let t = Take {
        namespace: &plan.namespace,
        lease: &lease,
        needs: &needs,
        blockers: &plan.blockers,
        command: "renew",
        refusing: "renew",
        force_unlock: s.force_unlock,
    };
    take(client, &t, Step::Lock, &s.display, report, |annotations| {
        let rotation = RunState::from_annotations(annotations).filter(RunState::is_unfinished);
        let previous = RenewState::from_annotations(annotations).filter(RenewState::is_unfinished);
        if rotation.is_none() && previous.as_ref().map(|p| p.started_at) == plan.resume.as_ref().map(|r| r.started_at) {
            Ok(previous)
        } else {
            Err("the tenant's Lease changed while planning (a rotation or another renewal started or finished); run the command again")
        }
    })
    .await
}

/// The steps after the lock, in order, each a fault point when it ends.
async fn all_steps(run: &mut Run<'_>) -> Result<()> {
    run.lock.check()?;
    let line = start(run.s, Step::Backup);
    let backed = backup_step(run, &line).await;
    let outcome = backed.as_ref().map(|b| Outcome::Done(format!("{} secret(s) backed up", b.baseline.len())));
    steps::finish(Step::Backup, line, outcome.as_ref().map_err(|e| *e), run.report);
    let Backed { mut state, baseline } = backed?;
    fault::after(Step::Backup.name());
    for step in [Step::Kamaji, Step::Renew, Step::Verify, Step::Workloads, Step::LiveCheck] {
        run.lock.check()?;
        let mut line = start(run.s, step);
        let outcome = match step {
            Step::Kamaji => kamaji_step(run, &mut state, &mut line).await,
            Step::Renew => super::ask::run(run, &mut state, &baseline, &mut line).await,
            Step::Verify => super::wait_renewed::run(run, &mut state, &baseline, &mut line).await,
            Step::Workloads => workloads_step(run, &mut state, &mut line).await,
            _ => super::live::run(run, &mut state, &mut line).await,
        };
        steps::finish(step, line, outcome.as_ref(), run.report);
        outcome?;
        fault::after(step.name());
    }
    Ok(())
}

/// Step 2: the backup of every secret to renew (or the interrupted run's, when readable
/// here), and the run's state recorded in the Lease.
async fn backup_step(run: &mut Run<'_>, line: &PhaseLine) -> Result<Backed> {
    let plan = run.plan;
    let host = lock::hostname();
    let reused =
        run.previous.as_ref().and_then(|p| Some((local_backup_path(p.backup.as_deref()?, &host)?, run.inv.previous_backup.clone()?)));
    let (path, baseline) = match reused {
        Some((path, secrets)) => {
            line.note(&format!("reusing the backup of the interrupted run: {}", path.display()));
            (path, secrets)
        }
        None => {
            let api = run.secrets();
            let mut current = Vec::new();
            for step in plan.renewing() {
                if let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? {
                    current.push(secret);
                }
            }
            let origin = crate::rotate::backup::Origin {
                namespace: plan.namespace.clone(),
                tenant: plan.tenant.clone(),
                cluster: crate::rotate::phases::backup::recorded_identity(&run.client, line).await,
                taken_before: "renew".into(),
            };
            let path = crate::rotate::backup::write_recorded(&run.s.backup_dir, &origin, &current, Timestamp::now())?;
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
    let mut state = RenewState {
        done: Step::Backup,
        started_at: run.previous.as_ref().map_or_else(Timestamp::now, |p| p.started_at),
        backup: match &run.previous {
            Some(p) if p.backup.is_some() => p.backup.clone(),
            _ => Some(format!("{host}:{}", path.display())),
        },
        tenant_uid: run.inv.tenant_uid.clone(),
        completed_at: None,
    };
    if let Some(p) = &run.previous {
        state.done = p.done.max(Step::Backup);
    }
    run.record(&mut state, Step::Backup).await?;
    run.report.backup = Some(path.display().to_string());
    run.report.started_at = Some(state.started_at);
    Ok(Backed { state, baseline })
}

/// Step 3: the Kamaji controller restarted, so that what it issues next lasts a year.
async fn kamaji_step(run: &mut Run<'_>, state: &mut RenewState, line: &mut PhaseLine) -> Result<Outcome> {
    if run.already_done(Step::Kamaji) {
        return Ok(Outcome::Skipped(Skip::DoneBefore));
    }
    let opts = &run.s.opts;
    let (restarted, took) =
        restart::restart(&run.client, &opts.kamaji_namespace, &opts.kamaji_selector, run.lock, run.s.timeout, |m| line.update(m)).await?;
    run.waited += took;
    Ok(match restarted {
        // Not recorded: a re-run with the right --kamaji-selector restarts it.
        Restarted::NoPods => {
            Outcome::Skipped(Skip::NoKamajiPods { selector: opts.kamaji_selector.clone(), namespace: opts.kamaji_namespace.clone() })
        }
        Restarted::Replaced { pods } => {
            run.record(state, Step::Kamaji).await?;
            let n = pods.len();
            run.report.kamaji_pods_deleted.extend(pods);
            Outcome::Done(format!("{n} pod(s) replaced and Ready"))
        }
    })
}

/// Step 6: rollout restart of the consumers of renewed secrets; every rollout waited for.
async fn workloads_step(run: &mut Run<'_>, state: &mut RenewState, line: &mut PhaseLine) -> Result<Outcome> {
    if run.plan.workloads.is_empty() {
        run.record(state, Step::Workloads).await?;
        return Ok(Outcome::Skipped(Skip::NoWorkloads));
    }
    let api: Api<Deployment> = Api::namespaced(run.client.clone(), &run.plan.namespace);
    if !run.already_done(Step::Workloads) {
        let at = Timestamp::now();
        for w in run.plan.workloads.iter().filter(|w| w.action == WorkloadAction::Restart) {
            run.lock.check()?;
            match crate::workloads::restart(&api, &w.name, at).await {
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
    run.waited += crate::workloads::wait_rollouts(&api, &names, run.s.timeout, &run.lock.held(), |m| line.update(m)).await?;
    run.record(state, Step::Workloads).await?;
    Ok(Outcome::Done(format!("{} restarted, {} rollout(s) complete", run.report.workloads_restarted.len(), names.len())))
}
