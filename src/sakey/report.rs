//! The machine-readable result of `rotate-sa-key` (`-o json|yaml`), shaped like rotate-ca's
//! and renew's: the plan, each step with its duration, the keys before and after, and what the
//! live tenant API showed. The field names are a schema: keep them stable. Types only.

use jiff::Timestamp;
use serde::Serialize;

use super::plan::Plan;
use super::tenant_api::Review;
use crate::steps::{PhaseReport, run_report_fields};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// A dry run.
    Planned,
    /// `stage` done: the new key signs, every old key still verifies.
    Staged,
    /// `finish` done: only the signing key verifies.
    Finished,
    /// `finish` with one key left: nothing was changed.
    NothingToDo,
    Failed,
}

/// What the live tenant API showed after the change.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The tenant API checked.
    pub endpoint: Option<String>,
    /// The kids of its JWKS: the keys it verifies tokens with.
    pub verifying_kids: Vec<String>,
    /// A token minted before the change: its TokenReview after it (None: not minted by this
    /// process, e.g. a resumed run; the JWKS stands for it).
    pub token_before: Option<Review>,
    /// A token minted after the change: its kid, whether its signature verifies with the
    /// signing key, and its TokenReview.
    pub token_after_kid: Option<String>,
    pub token_after_signed_by_signing_key: Option<bool>,
    pub token_after: Option<Review>,
    /// The Kamaji reconcile kept the secret (its signing key is the one written).
    pub secret_kept: Option<bool>,
    pub tcp_status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: &'static str,
    pub dry_run: bool,
    pub lease: String,
    pub plan: Plan,
    pub result: RunResult,
    pub phases: Vec<PhaseReport>,
    pub old_signing_kid: Option<String>,
    pub new_signing_kid: Option<String>,
    pub kids_before: Vec<String>,
    pub kids_after: Vec<String>,
    pub staged_at: Option<Timestamp>,
    pub pods_replaced: Vec<String>,
    pub verification: Verification,
    pub backup: Option<String>,
    pub missing_permissions: Vec<String>,
    pub lock_taken_over: Option<String>,
    pub error: Option<String>,
    pub resume_hint: Option<String>,
    pub seconds: f64,
    pub waited_seconds: f64,
}

impl Report {
    pub fn new(plan: Plan, dry_run: bool, lease: String) -> Self {
        Report {
            kind: "RotateSaKeyReport",
            dry_run,
            lease,
            result: if dry_run { RunResult::Planned } else { RunResult::Failed },
            kids_before: plan.keys.iter().map(|k| k.kid.clone()).collect(),
            plan,
            phases: Vec::new(),
            old_signing_kid: None,
            new_signing_kid: None,
            kids_after: Vec::new(),
            staged_at: None,
            pods_replaced: Vec::new(),
            verification: Verification::default(),
            backup: None,
            missing_permissions: Vec::new(),
            lock_taken_over: None,
            error: None,
            resume_hint: None,
            seconds: 0.0,
            waited_seconds: 0.0,
        }
    }
}

run_report_fields!(Report);
