//! Running a plan, phase by phase. Safety rules enforced here, not just
//! promised by the plan:
//! - nothing is written before every permission is confirmed and the
//!   tenant's Lease is held;
//! - a secret is deleted only if the backup on disk holds exactly its
//!   current content (and with a uid/resourceVersion precondition), so a
//!   secret Kamaji already regenerated is never deleted again;
//! - progress is recorded in the Lease after each phase, and every step is
//!   idempotent, so re-running the same command after a kill or a timeout
//!   continues where the last run stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::backup::{self, data_hash};
use super::inventory::{self, lease_name};
use super::kamaji_restart::{KamajiRestarts, Restart};
use super::live::{self, LiveCheck, Next, Seen};
use super::plan::{Inventory, Method, Options, Plan, SecretAction, SecretStep, WorkloadAction};
use super::progress::{Display, PhaseLine};
use super::report::{PhaseStatus, Report, SecretResult, Verified};
use super::state::{Phase, RunState, local_backup_path};
use super::verify::{self, CaId};
use crate::certs::served;
use crate::error::{Error, Result};
use crate::kamaji::{names, tcp};
use crate::lock::{self, Lock};
use crate::pods::{self as restarts, Verdict};
use crate::rbac;
use crate::wait::{self, Poll};
use crate::workloads::{self, Rollout};

/// Flags of the real run.
pub struct Settings {
    pub opts: Options,
    pub timeout: Duration,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
    pub force_unlock: bool,
    /// Where phase lines go (a batch names the tenant on each).
    pub display: Display,
    /// Shared by the runs of a batch: one Kamaji restart serves many.
    pub kamaji: Arc<KamajiRestarts>,
}

/// `KUBECTL_PKI_FAULT_AFTER=<point>` ends the process right after that
/// point (a phase name, or `first-change`), as a crash would: no cleanup,
/// the Lease stays held. For the interruption tests, which run the debug
/// binary: a release build has no such exit.
#[cfg(debug_assertions)]
fn fault(point: &str) {
    if std::env::var("KUBECTL_PKI_FAULT_AFTER").is_ok_and(|v| v == point) {
        eprintln!("kubectl-pki: fault injected after {point} (KUBECTL_PKI_FAULT_AFTER)");
        std::process::exit(86);
    }
}

#[cfg(not(debug_assertions))]
fn fault(_point: &str) {}

/// Runs every phase, filling `report`. On failure the Lease is released but
/// the recorded progress stays for the re-run.
pub async fn execute(client: &kube::Client, inv: &Inventory, plan: &Plan, s: &Settings, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    // From now until its rotate phase ends, a Kamaji restart of the batch waits for this run.
    let rotating = s.kamaji.enter();
    let ns = plan.namespace.as_str();
    let lease = lease_name(&plan.tenant);

    let line = s.display.start(Phase::Lock, "checking permissions");
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
    let lock = match Lock::acquire(client, ns, &lease, s.force_unlock).await {
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
    let result = tokio::select! {
        r = run.phases() => r,
        signal = interrupted() => Err(Error::Interrupted(format!("{signal} during the rotation"))),
    };
    let waited = run.waited;
    report.seconds = tenths(started.elapsed());
    report.waited_seconds = tenths(waited);
    match result {
        Ok(()) => {
            report.result = "rotated";
            lock.release().await
        }
        Err(err) => {
            let _ = lock.release().await;
            let hint =
                format!("the rotation is not finished: re-run the same command to continue (progress is kept in Lease {ns}/{lease})");
            report.error = Some(err.to_string());
            report.resume_hint = Some(hint.clone());
            Err(match err {
                Error::Timeout { after, waiting_for } => Error::Timeout { after, waiting_for: format!("{waiting_for}; {hint}") },
                Error::Interrupted(what) => Error::Interrupted(format!("{what}; the Lease was released; {hint}")),
                other => {
                    s.display.println(&hint);
                    other
                }
            })
        }
    }
}

struct Run<'a> {
    client: kube::Client,
    plan: &'a Plan,
    inv: &'a Inventory,
    s: &'a Settings,
    report: &'a mut Report,
    lock: &'a Lock,
    previous: Option<RunState>,
    /// Time spent waiting for controllers (Kamaji, rollouts, workers, the tenant API).
    waited: Duration,
    /// When this run's rotate phase ended: a Kamaji restart must begin after it.
    rotated_at: Option<tokio::time::Instant>,
    rotating: Option<super::kamaji_restart::Rotating>,
}

impl Run<'_> {
    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.plan.namespace)
    }

    fn already_done(&self, phase: Phase) -> bool {
        self.previous.as_ref().is_some_and(|p| p.done >= phase)
    }

    async fn record(&self, state: &mut RunState, phase: Phase) -> Result<()> {
        state.done = state.done.max(phase);
        self.lock.set_annotations(&state.to_annotations()).await
    }

    /// Runs a phase body, reporting its line and outcome.
    fn finish(&mut self, phase: Phase, line: PhaseLine, outcome: &Result<String>) {
        match outcome {
            Ok(detail) if detail.starts_with("skipped: ") => {
                let why = detail.trim_start_matches("skipped: ");
                let took = line.skipped(why);
                self.report.phase(phase, PhaseStatus::Skipped, took, why);
            }
            Ok(detail) => {
                let took = line.done(detail);
                self.report.phase(phase, PhaseStatus::Done, took, detail.clone());
            }
            Err(e) => {
                let took = line.failed(&e.to_string());
                self.report.phase(phase, PhaseStatus::Failed, took, e.to_string());
            }
        }
    }

    async fn phases(&mut self) -> Result<()> {
        self.lock.check()?;
        let line = self.s.display.start(Phase::Backup, "writing the backup");
        let r = self.backup(&line).await;
        let (mut state, baseline) = match r {
            Ok(v) => {
                self.finish(Phase::Backup, line, &Ok(format!("{} secret(s) backed up", v.1.len())));
                v
            }
            Err(e) => {
                self.finish(Phase::Backup, line, &Err(Error::Invalid(e.to_string())));
                return Err(e);
            }
        };
        fault("backup");

        macro_rules! phase {
            ($phase:expr, $what:expr, $body:ident) => {{
                self.lock.check()?;
                let mut line = self.s.display.start($phase, $what);
                let r = self.$body(&mut state, &baseline, &mut line).await;
                let shown = match &r {
                    Ok(d) => Ok(d.clone()),
                    Err(e) => Err(Error::Invalid(e.to_string())),
                };
                self.finish($phase, line, &shown);
                r?;
                fault($phase.name());
            }};
        }
        phase!(Phase::Rotate, "rotating", rotate);
        phase!(Phase::Kamaji, "restarting the Kamaji controller", kamaji);
        phase!(Phase::Regenerated, "waiting for the new CA", regenerated);
        phase!(Phase::Workloads, "restarting workloads", workloads);
        let seventh = if self.s.opts.restart_workers { "replacing the worker pods" } else { "waiting for the worker pods to be replaced" };
        phase!(Phase::Workers, seventh, workers);
        phase!(Phase::LiveCheck, "checking the certificate the tenant API serves", live_check);
        Ok(())
    }

    /// Phase 2: the backup (or the interrupted run's, when readable here).
    async fn backup(&mut self, line: &PhaseLine) -> Result<(RunState, Vec<Secret>)> {
        let plan = self.plan;
        let host = lock::hostname();
        let reused = self.previous.as_ref().and_then(|p| {
            let path = local_backup_path(p.backup.as_deref()?, &host)?;
            Some((path, self.inv.previous_backup.clone()?))
        });
        let (path, baseline) = match reused {
            Some((path, secrets)) => {
                line.note(&format!("reusing the backup of the interrupted run: {}", path.display()));
                (path, secrets)
            }
            None => {
                let api = self.secrets();
                let mut current = Vec::new();
                for step in plan.secrets.iter().filter(|s| s.backup) {
                    if let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? {
                        current.push(secret);
                    }
                }
                let path = backup::write(&self.s.backup_dir, &plan.namespace, &plan.tenant, &current, Timestamp::now())?;
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
        let old_ca = match (&self.previous, &plan.current_ca) {
            (Some(p), _) => p.old_ca.clone(),
            (None, Some(ca)) => ca.clone(),
            (None, None) => return Err(Error::Invalid("no readable CA in the tenant's -ca secret".into())),
        };
        let mut state = RunState {
            done: Phase::Backup,
            started_at: self.previous.as_ref().map_or_else(Timestamp::now, |p| p.started_at),
            old_ca: old_ca.clone(),
            backup: Some(format!("{host}:{}", path.display())),
            method: plan.method.word().into(),
            worker_uids: match &self.previous {
                Some(p) => p.worker_uids.clone(),
                None => self.inv.workers.iter().filter_map(|p| p.metadata.uid.clone()).collect(),
            },
            completed_at: None,
        };
        if let Some(p) = &self.previous {
            state.done = p.done.max(Phase::Backup);
        }
        self.record(&mut state, Phase::Backup).await?;
        self.report.backup = Some(path.display().to_string());
        self.report.old_ca = Some(old_ca);
        Ok((state, baseline))
    }

    /// Phase 3: annotate the CA, or delete what the plan deletes, each only
    /// while it still holds the backed-up content.
    async fn rotate(&mut self, state: &mut RunState, baseline: &[Secret], line: &mut PhaseLine) -> Result<String> {
        let api = self.secrets();
        let backed: BTreeMap<String, String> = baseline.iter().filter_map(|s| Some((s.metadata.name.clone()?, data_hash(s)))).collect();
        let mut changed = 0;
        for step in self.plan.secrets.iter().filter(|s| s.action == SecretAction::Annotate) {
            let result = annotate_ca(&api, step, &state.old_ca).await?;
            changed += usize::from(result == "annotated");
            line.update(&format!("{}: {result}", step.name));
            self.report.secrets.push(SecretResult { name: step.name.clone(), action: step.action.word(), result: result.clone() });
            if result == "annotated" {
                fault("first-change");
            }
        }
        let deletes: Vec<&SecretStep> = self.plan.secrets.iter().filter(|s| s.action == SecretAction::Delete).collect();
        if self.plan.method == Method::Annotate && !deletes.is_empty() {
            // Deleted too early, Kamaji would regenerate them from the old CA.
            line.update("waiting for Kamaji to write the new CA before deleting the stale-prone secrets");
            let old = state.old_ca.clone();
            self.wait_new_ca(&old, line).await?;
        }
        for step in deletes {
            let result = delete_if_backed_up(&api, step, &backed).await?;
            changed += usize::from(result == "deleted");
            line.update(&format!("{}: {result}", step.name));
            self.report.secrets.push(SecretResult { name: step.name.clone(), action: step.action.word(), result: result.clone() });
            if result == "deleted" {
                fault("first-change");
            }
        }
        self.record(state, Phase::Rotate).await?;
        self.rotated_at = Some(tokio::time::Instant::now());
        self.rotating = None;
        let skipped = self.report.secrets.len() - changed;
        Ok(format!("{changed} secret(s) changed{}", if skipped > 0 { format!(", {skipped} already done") } else { String::new() }))
    }

    async fn wait_new_ca(&mut self, old: &CaId, line: &mut PhaseLine) -> Result<(Vec<u8>, CaId)> {
        let api = self.secrets();
        let name = names::secret_name(&self.plan.tenant, names::CA);
        let waited = wait::poll_timed(
            &format!("a new CA in {name}"),
            self.s.timeout,
            Duration::from_secs(1),
            |m| line.update(m),
            || {
                let (api, name, old) = (api.clone(), name.clone(), old.clone());
                async move {
                    Ok(match api.get_opt(&name).await.map_err(Error::kube)? {
                        None => Poll::Waiting(format!("{name} is missing (Kamaji regenerates it)")),
                        Some(secret) => match verify::ca_of(&secret) {
                            Err(e) => Poll::Waiting(e),
                            Ok((_, id)) if !id.is_rotated_from(&old) => {
                                Poll::Waiting(format!("{name} still holds the old CA (sha256 {})", old.short()))
                            }
                            Ok(v) => Poll::Done(v),
                        },
                    })
                }
            },
        )
        .await;
        // Only a timeout deserves the hint: it is the one way an ignored annotation shows.
        let waited = waited.map(|(v, took)| {
            self.waited += took;
            v
        });
        waited.map_err(|e| match e {
            Error::Timeout { after, waiting_for } => {
                Error::Timeout { after, waiting_for: format!("{waiting_for}{}", self.annotate_hint()) }
            }
            other => other,
        })
    }

    fn annotate_hint(&self) -> String {
        if self.plan.method == Method::Annotate {
            " (a Kamaji older than edge-25.7.3 ignores the rotate annotation: then use --method delete)".into()
        } else {
            String::new()
        }
    }

    /// Phase 4: a restart of the Kamaji controller that began after this
    /// run's change: its own, or one a parallel run began later ([`KamajiRestarts`]).
    async fn kamaji(&mut self, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<String> {
        if self.already_done(Phase::Kamaji) {
            return Ok("skipped: done by the interrupted run".into());
        }
        let changed_at = self.rotated_at.unwrap_or_else(tokio::time::Instant::now);
        let tenant = format!("{}/{}", self.plan.namespace, self.plan.tenant);
        let others = self.s.kamaji.changing();
        if others > 0 {
            line.update(&format!("waiting for {others} other tenant(s) of this run to finish rotating: one Kamaji restart serves all"));
        }
        let shared = self.s.kamaji.clone();
        let restart = shared.after(changed_at, &tenant, || self.restart_kamaji(line)).await?;
        self.record(state, Phase::Kamaji).await?;
        Ok(match restart {
            Restart::Performed(detail) => detail,
            Restart::Joined { by, detail } => {
                self.report.kamaji_restart_joined = Some(by.clone());
                format!("shared the restart done for {by}: {detail}")
            }
        })
    }

    /// Deletes the controller pods; waits for new ones (new UIDs) Ready.
    async fn restart_kamaji(&mut self, line: &mut PhaseLine) -> Result<String> {
        let opts = &self.s.opts;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &opts.kamaji_namespace);
        let params = ListParams::default().labels(&opts.kamaji_selector);
        let pods: Vec<Pod> =
            api.list(&params).await.map_err(Error::kube)?.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        if pods.is_empty() {
            return Ok(format!("skipped: no pods match {} in {}", opts.kamaji_selector, opts.kamaji_namespace));
        }
        let mut old = BTreeSet::new();
        for p in &pods {
            let (Some(name), Some(uid)) = (p.metadata.name.clone(), p.metadata.uid.clone()) else { continue };
            delete_pod(&api, &name, &uid).await?;
            line.update(&format!("deleted pod {name}"));
            self.report.kamaji_pods_deleted.push(name);
            old.insert(uid);
        }
        let want = old.len();
        let what = format!("the Kamaji controller pods ({} in {}) to come back Ready", opts.kamaji_selector, opts.kamaji_namespace);
        let ((), took) = wait::poll_timed(
            &what,
            self.s.timeout,
            Duration::from_secs(1),
            |m| line.update(m),
            || {
                let (api, params, old) = (api.clone(), params.clone(), old.clone());
                async move {
                    let pods = api.list(&params).await.map_err(Error::kube)?.items;
                    let left = pods.iter().filter(|p| p.metadata.uid.as_ref().is_some_and(|u| old.contains(u))).count();
                    let ready = pods
                        .iter()
                        .filter(|p| {
                            p.metadata.uid.as_ref().is_some_and(|u| !old.contains(u))
                                && p.metadata.deletion_timestamp.is_none()
                                && restarts::is_ready(p)
                        })
                        .count();
                    Ok(if ready >= want && left == 0 {
                        Poll::Done(())
                    } else {
                        Poll::Waiting(format!("{ready}/{want} new pod(s) Ready, {left} old pod(s) still present"))
                    })
                }
            },
        )
        .await?;
        self.waited += took;
        Ok(format!("{want} pod(s) replaced and Ready"))
    }

    /// Phase 5: a new CA, and every secret the plan checks chains to it.
    async fn regenerated(&mut self, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<String> {
        let api = self.secrets();
        let old_ca = state.old_ca.clone();
        let (_, ca_id) = self.wait_new_ca(&old_ca, line).await?;
        let checks: Vec<(String, verify::Check)> = self.plan.secrets.iter().filter_map(|s| Some((s.name.clone(), s.verify?))).collect();
        let total = checks.len();
        let what = format!("the tenant's secrets to be regenerated on the new CA (sha256 {})", ca_id.short());
        let ca_name = names::secret_name(&self.plan.tenant, names::CA);
        let old = state.old_ca.clone();
        let ((new_ca, verified), took) = wait::poll_timed(
            &what,
            self.s.timeout,
            Duration::from_secs(2),
            |m| line.update(m),
            || {
                let (api, checks, ca_name, old) = (api.clone(), checks.clone(), ca_name.clone(), old.clone());
                async move {
                    let Some(ca) = api.get_opt(&ca_name).await.map_err(Error::kube)? else {
                        return Ok(Poll::Waiting(format!("{ca_name} is missing")));
                    };
                    let (der, id) = match verify::ca_of(&ca) {
                        Ok(v) if v.1.is_rotated_from(&old) => v,
                        Ok(_) => return Ok(Poll::Waiting(format!("{ca_name} holds the old CA again"))),
                        Err(e) => return Ok(Poll::Waiting(e)),
                    };
                    let mut pending = Vec::new();
                    let mut verified = Vec::new();
                    for (name, how) in &checks {
                        match api.get_opt(name).await.map_err(Error::kube)? {
                            None => pending.push(format!("{name} is missing")),
                            Some(secret) => match verify::check(&secret, *how, &der) {
                                Ok(n) => verified.push(Verified { secret: name.clone(), certificates: n }),
                                Err(e) => pending.push(e),
                            },
                        }
                    }
                    Ok(if pending.is_empty() {
                        Poll::Done((id, verified))
                    } else {
                        Poll::Waiting(format!("{}/{total} secret(s) on the new CA; first pending: {}", verified.len(), pending[0]))
                    })
                }
            },
        )
        .await?;
        self.waited += took;
        let certificates: usize = verified.iter().map(|v| v.certificates).sum();
        self.report.verified = verified;
        self.report.new_ca = Some(new_ca.clone());
        if let Some(file) = &self.s.write_kubeconfig {
            let admin = names::secret_name(&self.plan.tenant, names::ADMIN_KUBECONFIG);
            let secret = api.get(&admin).await.map_err(Error::kube)?;
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get("admin.conf"))
                .ok_or_else(|| Error::Invalid(format!("{admin} has no admin.conf key")))?;
            backup::write_atomic(file, &bytes.0, true)?;
            line.note(&format!("new admin kubeconfig (admin.conf) written to {} (mode 0600)", file.display()));
            self.report.kubeconfig_written = Some(file.display().to_string());
        }
        self.record(state, Phase::Regenerated).await?;
        Ok(format!(
            "new CA sha256 {} (old {}); {total} secret(s), {certificates} certificate(s) chain to it",
            new_ca.short(),
            state.old_ca.short()
        ))
    }

    /// Phase 6: rollout restart of consumers; wait for every rollout.
    async fn workloads(&mut self, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<String> {
        if self.plan.workloads.is_empty() {
            self.record(state, Phase::Workloads).await?;
            return Ok("skipped: no workload uses the tenant's changed secrets".into());
        }
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &self.plan.namespace);
        if !self.already_done(Phase::Workloads) {
            let at = Timestamp::now();
            for w in self.plan.workloads.iter().filter(|w| w.action == WorkloadAction::Restart) {
                match workloads::restart(&api, &w.name, at).await {
                    Ok(()) => {
                        line.update(&format!("restarted {}", w.name));
                        self.report.workloads_restarted.push(w.name.clone());
                    }
                    Err(e) if e.is_not_found() => line.note(&format!("Deployment {} is gone: skipped", w.name)),
                    Err(e) => return Err(e),
                }
            }
        }
        let names: Vec<String> = self.plan.workloads.iter().map(|w| w.name.clone()).collect();
        let what = format!("the rollouts of {}", names.join(", "));
        let ((), took) = wait::poll_timed(
            &what,
            self.s.timeout,
            Duration::from_secs(1),
            |m| line.update(m),
            || {
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
            },
        )
        .await?;
        self.waited += took;
        self.record(state, Phase::Workloads).await?;
        Ok(format!("{} restarted, {} rollout(s) complete", self.report.workloads_restarted.len(), names.len()))
    }

    /// Phase 7: the worker pods, replaced (new UID, or every container
    /// restarted after the rotation began) and Ready.
    async fn workers(&mut self, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<String> {
        let opts = &self.s.opts;
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.plan.namespace);
        let params = ListParams::default().labels(&opts.worker_selector);
        let original: BTreeSet<String> = state.worker_uids.iter().cloned().collect();
        if original.is_empty() {
            self.record(state, Phase::Workers).await?;
            return Ok(format!("skipped: no worker pods matched {} when the rotation began", opts.worker_selector));
        }
        if opts.restart_workers {
            for p in api.list(&params).await.map_err(Error::kube)?.items {
                let (Some(name), Some(uid)) = (p.metadata.name.clone(), p.metadata.uid.clone()) else { continue };
                if original.contains(&uid)
                    && p.metadata.deletion_timestamp.is_none()
                    && restarts::judge(&p, state.started_at).verdict != Verdict::Restarted
                {
                    delete_pod(&api, &name, &uid).await?;
                    line.update(&format!("deleted worker pod {name}"));
                    self.report.workers_deleted.push(name);
                }
            }
        }
        let since = state.started_at;
        let want = original.len();
        let hint =
            if opts.restart_workers { "" } else { " (nothing replaces them on its own on Cozystack v1.x: re-run with --restart-workers)" };
        let what = format!("the worker pods ({}) to be replaced and Ready{hint}", opts.worker_selector);
        let (rows, took) = wait::poll_timed(
            &what,
            self.s.timeout,
            Duration::from_secs(2),
            |m| line.update(m),
            || {
                let (api, params, original) = (api.clone(), params.clone(), original.clone());
                async move {
                    let pods = api.list(&params).await.map_err(Error::kube)?.items;
                    let rows: Vec<restarts::PodRow> = pods.iter().map(|p| worker_row(p, since, &original)).collect();
                    let ok = rows.len() >= want && restarts::all_restarted(&rows);
                    Ok(match (ok, rows.len() < want) {
                        (true, _) => Poll::Done(rows),
                        (false, true) => {
                            Poll::Waiting(format!("{} of {want} worker pod(s) exist; {}", rows.len(), restarts::pending_summary(&rows)))
                        }
                        (false, false) => Poll::Waiting(restarts::pending_summary(&rows)),
                    })
                }
            },
        )
        .await?;
        self.waited += took;
        let n = rows.len();
        self.report.workers = rows;
        self.record(state, Phase::Workers).await?;
        Ok(format!("{n} worker pod(s) replaced and Ready"))
    }

    /// Phase 8: a TLS handshake with the tenant API must show a certificate
    /// of the new CA ([`live`]). Passed or skipped completes the run; a
    /// failure leaves it unfinished, so the same command checks again.
    async fn live_check(&mut self, state: &mut RunState, baseline: &[Secret], line: &mut PhaseLine) -> Result<String> {
        let api = self.secrets();
        let (ns, tenant) = (self.plan.namespace.as_str(), self.plan.tenant.as_str());
        let ca_name = names::secret_name(tenant, names::CA);
        let (new_ca, _) = verify::ca_of(&api.get(&ca_name).await.map_err(Error::kube)?).map_err(Error::Invalid)?;
        // The backup's CA, unless it was taken after the CA changed (a resumed run).
        let old_ca = baseline
            .iter()
            .filter(|s| s.metadata.name.as_deref() == Some(ca_name.as_str()))
            .find_map(|s| verify::ca_of(s).ok())
            .filter(|(_, id)| !id.is_rotated_from(&state.old_ca))
            .map(|(der, _)| der);
        let admin_name = names::secret_name(tenant, names::ADMIN_KUBECONFIG);
        let admin_conf = api.get_opt(&admin_name).await.map_err(Error::kube)?.and_then(|s| s.data?.remove("admin.conf")).map(|b| b.0);
        let tcp = tcp::api(self.client.clone(), ns).get_opt(tenant).await.map_err(Error::kube)?;
        let endpoint = tcp.as_ref().and_then(|t| t.data.pointer("/status/controlPlaneEndpoint")?.as_str());
        let Some(target) = live::target(admin_conf.as_deref(), endpoint) else {
            let reason = format!(
                "no endpoint to check ({admin_name} names no server, the TenantControlPlane has no status.controlPlaneEndpoint): not checked"
            );
            self.report.live_check = Some(LiveCheck {
                verdict: live::Verdict::Skipped,
                reason: reason.clone(),
                endpoint: None,
                endpoint_from: None,
                served_sha256: None,
                attempts: 0,
            });
            self.complete(state).await?;
            return Ok(format!("skipped: {reason}"));
        };
        let check_with = format!("kubectl pki status --tenant {tenant} -n {ns}");
        let mut watch = live::Watch::new(&target.url, &check_with, live::REACH_BUDGET, self.s.timeout);
        line.update(&format!("TLS handshake with {}", target.url));
        let started = Instant::now();
        let (verdict, reason) = loop {
            let attempt = ATTEMPT.min(self.s.timeout.saturating_sub(started.elapsed())).max(Duration::from_millis(500));
            let seen = match served::served_chain(&target.url, target.tls_server_name.as_deref(), attempt).await {
                Ok(chain) => live::classify(&chain, &new_ca, old_ca.as_deref()),
                Err(e) => Seen::NoChain(e),
            };
            match watch.observe(seen, started.elapsed()) {
                Next::Wait(msg) => {
                    line.update(&msg);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Next::Done(verdict, reason) => break (verdict, reason),
            }
        };
        self.waited += started.elapsed();
        match verdict {
            live::Verdict::Failed => {
                let err = Error::Timeout {
                    after: crate::duration::human_duration(jiff::SignedDuration::try_from(self.s.timeout).unwrap_or_default()),
                    waiting_for: reason,
                };
                self.report.live_check = Some(watch.report(verdict, err.to_string(), target.from));
                Err(err)
            }
            live::Verdict::Skipped => {
                self.report.live_check = Some(watch.report(verdict, reason.clone(), target.from));
                self.complete(state).await?;
                Ok(format!("skipped: {reason}"))
            }
            live::Verdict::Passed => {
                self.report.live_check = Some(watch.report(verdict, reason.clone(), target.from));
                self.complete(state).await?;
                Ok(reason)
            }
        }
    }

    /// The last phase is over: the run is complete (a re-run starts a new rotation).
    async fn complete(&self, state: &mut RunState) -> Result<()> {
        state.completed_at = Some(Timestamp::now());
        self.record(state, Phase::LiveCheck).await
    }
}

/// Resolves on the first SIGINT or SIGTERM (named); pending forever when
/// the handlers cannot be installed, so the run goes on as before.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// Seconds with one decimal, as the report shows them.
fn tenths(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

/// One TLS handshake attempt at most this long (less when the timeout is near).
const ATTEMPT: Duration = Duration::from_secs(3);

/// A worker's verdict: a new UID is a replacement whatever the clocks say;
/// an original pod counts only when all its containers restarted.
fn worker_row(pod: &Pod, since: Timestamp, original: &BTreeSet<String>) -> restarts::PodRow {
    let mut row = restarts::judge(pod, since);
    let is_original = original.contains(&row.uid);
    if row.verdict == Verdict::Terminating {
        return row;
    }
    if !is_original && row.verdict == Verdict::NotRestarted {
        row.verdict = if row.ready { Verdict::Restarted } else { Verdict::NotReady };
        row.detail = "replacement (new UID)".into();
    } else if is_original && row.detail.starts_with("created after") {
        row.verdict = Verdict::NotRestarted;
        row.detail = "not replaced yet (same UID)".into();
    }
    row
}

async fn annotate_ca(api: &Api<Secret>, step: &SecretStep, old: &CaId) -> Result<String> {
    let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? else {
        return Ok("skipped: missing (Kamaji regenerates it)".into());
    };
    if verify::ca_of(&secret).is_ok_and(|(_, id)| id.is_rotated_from(old)) {
        return Ok("skipped: already holds a new CA".into());
    }
    if secret.metadata.annotations.as_ref().and_then(|a| a.get(names::ANNOTATION_ROTATE)).is_some_and(|v| v.is_empty()) {
        return Ok("skipped: rotation already requested".into());
    }
    let patch = json!({"metadata": {"annotations": {names::ANNOTATION_ROTATE: ""}}});
    api.patch(&step.name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::kube)?;
    Ok("annotated".into())
}

/// Deletes a secret only if the backup holds exactly its current content,
/// with a precondition on that very object.
async fn delete_if_backed_up(api: &Api<Secret>, step: &SecretStep, backed: &BTreeMap<String, String>) -> Result<String> {
    let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? else {
        return Ok("skipped: already deleted".into());
    };
    match backed.get(&step.name) {
        None => return Ok("skipped: not in the backup (created after it), so not deleted".into()),
        Some(h) if *h != data_hash(&secret) => return Ok("skipped: already regenerated".into()),
        Some(_) => {}
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions { uid: secret.metadata.uid.clone(), resource_version: secret.metadata.resource_version.clone() }),
        ..Default::default()
    };
    match api.delete(&step.name, &dp).await {
        Ok(_) => Ok("deleted".into()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok("skipped: already deleted".into()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok("skipped: changed since the backup (regenerated)".into()),
        Err(e) => Err(Error::kube(e)),
    }
}

async fn delete_pod(api: &Api<Pod>, name: &str, uid: &str) -> Result<()> {
    let dp =
        DeleteParams { preconditions: Some(Preconditions { uid: Some(uid.to_string()), resource_version: None }), ..Default::default() };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(Error::kube(e)),
    }
}

/// Human summary of a finished run (stdout, table output).
pub fn summary(report: &Report) -> String {
    let mut out = format!(
        "Rotated the CA of tenant {}/{} in {}.\n",
        report.plan.namespace,
        report.plan.tenant,
        crate::duration::human_duration(jiff::SignedDuration::from_secs_f64(report.seconds))
    );
    if let (Some(old), Some(new)) = (&report.old_ca, &report.new_ca) {
        out.push_str(&format!("  old CA sha256 {}\n  new CA sha256 {} (expires {})\n", old.sha256, new.sha256, new.not_after));
    }
    let chained: usize = report.verified.iter().map(|v| v.certificates).sum();
    out.push_str(&format!("  {} secret(s) verified, {chained} certificate(s) chain to the new CA\n", report.verified.len()));
    out.push_str(&format!(
        "  restarted: {} Kamaji pod(s), {} workload(s) ({}), {} worker pod(s) replaced\n",
        report.kamaji_pods_deleted.len(),
        report.workloads_restarted.len(),
        if report.workloads_restarted.is_empty() { "-".into() } else { report.workloads_restarted.join(", ") },
        report.workers.len()
    ));
    if let Some(b) = &report.backup {
        out.push_str(&format!("  backup: {b} (holds the OLD private keys: keep it safe, delete it when no longer needed)\n"));
    }
    if let Some(live) = &report.live_check {
        let word = match live.verdict {
            live::Verdict::Skipped => "skipped (NOT verified)",
            v => v.word(),
        };
        out.push_str(&format!("  live check: {word}: {}\n", live.reason));
    }
    match &report.kubeconfig_written {
        Some(f) => out.push_str(&format!("  new admin kubeconfig: {f}\n")),
        None => out.push_str(&format!(
            "  fetch the new kubeconfig: kubectl -n {} get secret {} -o go-template='{{{{index .data \"admin.conf\" | base64decode}}}}'\n",
            report.plan.namespace,
            names::secret_name(&report.plan.tenant, names::ADMIN_KUBECONFIG)
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str, created: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("w-{uid}"), "uid": uid, "creationTimestamp": created},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        }))
        .unwrap()
    }

    #[test]
    fn workers_are_judged_by_uid_not_by_clocks() {
        let since: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let original: BTreeSet<String> = ["old".to_string()].into();
        // A replacement whose creation time looks older (clock skew) still counts.
        let r = worker_row(&pod("new", "2026-11-27T09:59:00Z", true), since, &original);
        assert_eq!(r.verdict, Verdict::Restarted);
        assert_eq!(worker_row(&pod("new", "2026-11-27T09:59:00Z", false), since, &original).verdict, Verdict::NotReady);
        // An original pod never counts by its creation time.
        let r = worker_row(&pod("old", "2026-11-27T10:01:00Z", true), since, &original);
        assert_eq!(r.verdict, Verdict::NotRestarted);
        assert_eq!(worker_row(&pod("old", "2026-11-27T09:00:00Z", true), since, &original).verdict, Verdict::NotRestarted);
    }
}
