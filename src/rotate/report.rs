//! The machine-readable result of `rotate-ca` (`-o json|yaml`): the plan,
//! each phase with its duration, what was touched, and the verdicts. The
//! field names are a schema: keep them stable. Types only: no I/O, no clap.

use std::fmt;

use serde::Serialize;

use super::live::LiveCheck;
use super::plan::{Plan, SecretAction};
use super::verify::CaId;
use crate::pods::PodRow;
use crate::steps::{PhaseReport, run_report_fields};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretResult {
    pub name: String,
    pub action: SecretAction,
    /// `annotated`, `deleted`, or `skipped: <why>`.
    pub result: SecretOutcome,
}

/// How a tenant's run ended (a real run is `failed` until it succeeds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// A dry run.
    Planned,
    Rotated,
    Failed,
    /// A batch stopped before this tenant's turn.
    NotStarted,
}

impl RunResult {
    /// `planned`, `rotated`, `failed`, `not-started`: serde's name.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

/// What the rotate phase did to one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOutcome {
    Annotated,
    Deleted,
    Skipped(SecretSkip),
}

/// Why the rotate phase left a secret alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSkip {
    /// Annotate: the secret is gone.
    Missing,
    /// Annotate: it holds a CA other than the old one.
    HoldsNewCa,
    /// Annotate: it carries the rotate annotation already.
    AlreadyRequested,
    /// Delete: it is gone.
    AlreadyDeleted,
    /// Delete: created after the backup.
    NotInBackup,
    /// Delete: its content differs from the backup.
    AlreadyRegenerated,
    /// Delete: the precondition failed (it changed since it was read).
    ChangedSinceBackup,
    /// Delete: it holds no certificate of the old CA any more.
    NotFromOldCa,
}

impl SecretOutcome {
    pub fn changed(self) -> bool {
        !matches!(self, SecretOutcome::Skipped(_))
    }
}

impl fmt::Display for SecretOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self {
            SecretOutcome::Annotated => return f.write_str("annotated"),
            SecretOutcome::Deleted => return f.write_str("deleted"),
            SecretOutcome::Skipped(why) => match why {
                SecretSkip::Missing => "missing (Kamaji regenerates it)",
                SecretSkip::HoldsNewCa => "already holds a new CA",
                SecretSkip::AlreadyRequested => "rotation already requested",
                SecretSkip::AlreadyDeleted => "already deleted",
                SecretSkip::NotInBackup => "not in the backup (created after it), so not deleted",
                SecretSkip::AlreadyRegenerated => "already regenerated",
                SecretSkip::ChangedSinceBackup => "changed since the backup (regenerated)",
                SecretSkip::NotFromOldCa => "holds nothing of the old CA (regenerated)",
            },
        };
        write!(f, "skipped: {why}")
    }
}

/// The report's schema keeps the line as text.
impl Serialize for SecretOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
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
    /// `planned`, `rotated`, `failed`, `not-started`.
    pub result: RunResult,
    pub error: Option<String>,
    /// How to continue after a failure.
    pub resume_hint: Option<String>,
    /// A failed run's rotate request it withdrew (still pending on the old CA).
    pub withdrawn: Option<String>,
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
    /// Secrets whose leaves would have expired within a year of the run (issued by a
    /// controller up since before it), re-issued by the restarted Kamaji controller.
    pub reissued: Vec<String>,
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

/// A batch's reports, one per tenant in the order given.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportList {
    pub kind: &'static str,
    pub items: Vec<Report>,
}

impl ReportList {
    pub fn new(items: Vec<Report>) -> Self {
        ReportList { kind: "RotateCaReportList", items }
    }
}

impl Report {
    pub fn new(plan: Plan, dry_run: bool, lock: String) -> Self {
        Report {
            kind: "RotateCaReport",
            dry_run,
            result: if dry_run { RunResult::Planned } else { RunResult::Failed },
            error: None,
            resume_hint: None,
            plan,
            missing_permissions: Vec::new(),
            lock,
            lock_taken_over: None,
            withdrawn: None,
            phases: Vec::new(),
            backup: None,
            old_ca: None,
            new_ca: None,
            secrets: Vec::new(),
            verified: Vec::new(),
            reissued: Vec::new(),
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
}

run_report_fields!(Report);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_outcomes_serialize_as_the_schema_spells_them() {
        let json = |o: SecretOutcome| serde_json::to_value(o).unwrap();
        assert_eq!(json(SecretOutcome::Annotated), "annotated");
        assert_eq!(json(SecretOutcome::Deleted), "deleted");
        assert_eq!(json(SecretOutcome::Skipped(SecretSkip::AlreadyRegenerated)), "skipped: already regenerated");
        assert_eq!(SecretOutcome::Skipped(SecretSkip::Missing).to_string(), "skipped: missing (Kamaji regenerates it)");
        let results = [RunResult::Planned, RunResult::Rotated, RunResult::Failed, RunResult::NotStarted].map(RunResult::word);
        assert_eq!(results, ["planned", "rotated", "failed", "not-started"]);
        assert!(SecretOutcome::Deleted.changed() && !SecretOutcome::Skipped(SecretSkip::AlreadyDeleted).changed());
        let r = SecretResult { name: "k8s-ca".into(), action: SecretAction::Annotate, result: SecretOutcome::Annotated };
        assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!({"name": "k8s-ca", "action": "annotate", "result": "annotated"}));
    }
}
