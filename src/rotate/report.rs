//! The machine-readable result of `rotate-ca` (`-o json|yaml`): the plan,
//! each phase with its duration, what was touched, and the verdicts. The
//! field names are a schema: keep them stable.

use serde::Serialize;

use super::live::LiveCheck;
use super::plan::Plan;
use super::state::Phase;
use super::verify::CaId;
use crate::pods::PodRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseStatus {
    Done,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    pub number: u8,
    pub name: &'static str,
    pub status: PhaseStatus,
    pub seconds: f64,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretResult {
    pub name: String,
    pub action: &'static str,
    /// `annotated`, `deleted`, or `skipped: <why>`.
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub secret: String,
    pub certificates: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: &'static str,
    pub dry_run: bool,
    /// `planned`, `rotated`, `failed`.
    pub result: &'static str,
    pub error: Option<String>,
    /// How to continue after a failure.
    pub resume_hint: Option<String>,
    pub plan: Plan,
    pub missing_permissions: Vec<String>,
    pub lock: String,
    pub lock_taken_over: Option<String>,
    pub phases: Vec<PhaseReport>,
    pub backup: Option<String>,
    pub old_ca: Option<CaId>,
    pub new_ca: Option<CaId>,
    pub secrets: Vec<SecretResult>,
    pub verified: Vec<Verified>,
    pub kamaji_pods_deleted: Vec<String>,
    /// The tenant whose Kamaji restart this run shared (a batch restarts
    /// the controller once for every tenant whose secrets changed before).
    pub kamaji_restart_joined: Option<String>,
    pub workloads_restarted: Vec<String>,
    pub workers_deleted: Vec<String>,
    pub workers: Vec<PodRow>,
    pub kubeconfig_written: Option<String>,
    /// The tenant API's served certificate (last phase): `passed`,
    /// `failed` or `skipped` with a reason; `null` when not reached.
    pub live_check: Option<LiveCheck>,
    pub seconds: f64,
    /// Of `seconds`, the time spent waiting for controllers (Kamaji, the
    /// rollouts, the workers, the tenant API); the rest is rotate-ca's own.
    pub waited_seconds: f64,
}

impl Report {
    pub fn new(plan: Plan, dry_run: bool, lock: String) -> Self {
        Report {
            kind: "RotateCaReport",
            dry_run,
            result: if dry_run { "planned" } else { "failed" },
            error: None,
            resume_hint: None,
            plan,
            missing_permissions: Vec::new(),
            lock,
            lock_taken_over: None,
            phases: Vec::new(),
            backup: None,
            old_ca: None,
            new_ca: None,
            secrets: Vec::new(),
            verified: Vec::new(),
            kamaji_pods_deleted: Vec::new(),
            kamaji_restart_joined: None,
            workloads_restarted: Vec::new(),
            workers_deleted: Vec::new(),
            workers: Vec::new(),
            kubeconfig_written: None,
            live_check: None,
            seconds: 0.0,
            waited_seconds: 0.0,
        }
    }

    pub fn phase(&mut self, phase: Phase, status: PhaseStatus, took: std::time::Duration, detail: impl Into<String>) {
        self.phases.push(PhaseReport {
            number: phase.number(),
            name: phase.name(),
            status,
            seconds: (took.as_secs_f64() * 10.0).round() / 10.0,
            detail: detail.into(),
        });
    }
}
