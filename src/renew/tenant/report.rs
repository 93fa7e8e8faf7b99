//! The machine-readable result of `renew` (`-o json|yaml`), shaped like rotate-ca's: the
//! plan, each step with its duration, what was touched, and the verdicts. The field names
//! are a schema: keep them stable. Types only: no I/O, no clap.

use std::fmt;

use serde::Serialize;

use super::plan::Plan;
use super::verify::Change;
use crate::rotate::live::LiveCheck;
use crate::steps::{PhaseReport, run_report_fields};

/// How a tenant's renewal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// A dry run.
    Planned,
    Renewed,
    Failed,
    /// An earlier tenant of the command failed first.
    NotStarted,
}

/// What the renew step did to one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOutcome {
    Annotated,
    Deleted,
    Skipped(SecretSkip),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSkip {
    /// Renewed after the run began already (a resumed run).
    AlreadyRenewed,
    /// It carries `certs.kamaji.clastix.io/rotate=""` already: Kamaji has it queued.
    AlreadyRequested,
    /// Gone: Kamaji makes it again.
    Missing,
    /// Delete: its content differs from the backup (Kamaji re-made it since).
    ChangedSinceBackup,
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
            SecretOutcome::Skipped(SecretSkip::AlreadyRenewed) => "already renewed",
            SecretOutcome::Skipped(SecretSkip::AlreadyRequested) => "renewal already requested",
            SecretOutcome::Skipped(SecretSkip::Missing) => "missing (Kamaji makes it again)",
            SecretOutcome::Skipped(SecretSkip::ChangedSinceBackup) => "changed since the backup (re-made)",
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
pub struct SecretResult {
    pub name: String,
    pub result: SecretOutcome,
}

/// A secret renewed and verified: each certificate's serial and NotAfter before and after.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Renewed {
    pub secret: String,
    pub certificates: Vec<Change>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: &'static str,
    pub dry_run: bool,
    pub result: RunResult,
    pub error: Option<String>,
    pub resume_hint: Option<String>,
    pub plan: Plan,
    pub missing_permissions: Vec<String>,
    pub lock: String,
    pub lock_taken_over: Option<String>,
    pub phases: Vec<PhaseReport>,
    pub backup: Option<String>,
    /// When the renewal began (resumed runs keep the first run's): the year is counted from it.
    pub started_at: Option<jiff::Timestamp>,
    pub secrets: Vec<SecretResult>,
    pub renewed: Vec<Renewed>,
    pub kamaji_pods_deleted: Vec<String>,
    pub workloads_restarted: Vec<String>,
    pub kubeconfig_written: Option<String>,
    pub live_check: Option<LiveCheck>,
    pub seconds: f64,
    /// Of `seconds`, the time spent waiting for controllers.
    pub waited_seconds: f64,
}

/// Several tenants' reports, in the order given.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportList {
    pub kind: &'static str,
    pub items: Vec<Report>,
}

impl Report {
    pub fn new(plan: Plan, dry_run: bool, lock: String) -> Self {
        Report {
            kind: "RenewReport",
            dry_run,
            result: if dry_run { RunResult::Planned } else { RunResult::Failed },
            error: None,
            resume_hint: None,
            plan,
            missing_permissions: Vec::new(),
            lock,
            lock_taken_over: None,
            phases: Vec::new(),
            backup: None,
            started_at: None,
            secrets: Vec::new(),
            renewed: Vec::new(),
            kamaji_pods_deleted: Vec::new(),
            workloads_restarted: Vec::new(),
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
    fn outcomes_serialize_as_lines() {
        assert_eq!(serde_json::to_value(SecretOutcome::Annotated).unwrap(), "annotated");
        assert_eq!(serde_json::to_value(SecretOutcome::Skipped(SecretSkip::AlreadyRenewed)).unwrap(), "skipped: already renewed");
        assert!(SecretOutcome::Deleted.changed() && !SecretOutcome::Skipped(SecretSkip::Missing).changed());
        assert_eq!(crate::output::serde_name(&RunResult::NotStarted), "not-started");
    }
}
