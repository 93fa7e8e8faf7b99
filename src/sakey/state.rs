//! The steps of `rotate-sa-key` and what a run keeps in the tenant's lock Lease (the one
//! rotate-ca and renew take, so none of them overlap): which mode and step it reached, the
//! key it is about to write (its kid, recorded BEFORE the write, so a re-run can tell from the
//! cluster whether the write happened) and when the stage wrote the new key (`--finish`
//! measures the minimum age from it). No API calls, no clap types, no printing.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

use crate::steps::{RunStep, display_by_name};

const PREFIX: &str = crate::lease_state::SA_KEY;

/// `stage` (a new signing key beside the old ones) or `finish` (the old ones removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Stage,
    Finish,
}

impl Mode {
    pub fn name(self) -> &'static str {
        crate::output::serde_name(&self)
    }

    fn parse(text: &str) -> Option<Mode> {
        [Mode::Stage, Mode::Finish].into_iter().find(|m| m.name() == text)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The steps of a real run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    #[serde(rename = "rbac+lock")]
    Lock,
    Backup,
    /// A token minted before the change, to prove afterwards that it still authenticates.
    Probe,
    /// `sa.pub` and `sa.key` written.
    Write,
    /// The tenant control-plane pods replaced one at a time (a running kube-apiserver reads
    /// its key files only at start, and Kamaji reverts a rollout-restart annotation).
    Pods,
    /// The live tenant API checked.
    Verify,
}

impl RunStep for Step {
    const ALL: &'static [Step] = &[Step::Lock, Step::Backup, Step::Probe, Step::Write, Step::Pods, Step::Verify];

    fn doing(self) -> &'static str {
        match self {
            Step::Lock => "checking permissions",
            Step::Backup => "writing the backup",
            Step::Probe => "minting a token before the change",
            Step::Write => "writing the service-account keys",
            Step::Pods => "replacing the tenant control-plane pods one at a time",
            Step::Verify => "checking the live tenant API",
        }
    }
}

display_by_name!(Step);

/// What a run recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaKeyState {
    pub mode: Mode,
    /// The last completed step.
    pub done: Step,
    pub started_at: Timestamp,
    /// The signing key's kid before the run.
    pub old_kid: String,
    /// The signing key's kid the run writes (recorded before the write).
    pub new_kid: String,
    /// When the stage wrote the new key: `--finish` waits the minimum age from here.
    pub staged_at: Option<Timestamp>,
    /// `host:path` of the run's backup.
    pub backup: Option<String>,
    /// The TenantControlPlane's UID: a state is not resumed on a later tenant of the same name.
    pub tenant_uid: Option<String>,
    pub completed_at: Option<Timestamp>,
}

impl SaKeyState {
    pub fn is_unfinished(&self) -> bool {
        self.completed_at.is_none()
    }

    /// Annotations to write; `None` removes a stale key.
    pub fn to_annotations(&self) -> BTreeMap<String, Option<String>> {
        let mut w = crate::lease_state::Writer::new(PREFIX);
        let mut put = |k: &str, v: Option<String>| {
            w.put(k, v);
        };
        put("mode", Some(self.mode.name().into()));
        put("done", Some(self.done.name().into()));
        put("started-at", Some(self.started_at.to_string()));
        put("old-kid", Some(self.old_kid.clone()));
        put("new-kid", Some(self.new_kid.clone()));
        put("staged-at", self.staged_at.map(|t| t.to_string()));
        put("backup", self.backup.clone());
        put("tenant-uid", self.tenant_uid.clone());
        put("completed-at", self.completed_at.map(|t| t.to_string()));
        w.finish()
    }

    /// Reads a state back; `None` when there is none or it is incomplete.
    pub fn from_annotations(a: &BTreeMap<String, String>) -> Option<SaKeyState> {
        let r = crate::lease_state::Reader::new(PREFIX, a);
        let get = |k: &str| r.get(k);
        Some(SaKeyState {
            mode: Mode::parse(&get("mode")?)?,
            done: Step::parse(&get("done")?)?,
            started_at: get("started-at")?.parse().ok()?,
            old_kid: get("old-kid")?,
            new_kid: get("new-kid")?,
            staged_at: get("staged-at").and_then(|t| t.parse().ok()),
            backup: get("backup"),
            tenant_uid: get("tenant-uid"),
            completed_at: get("completed-at").and_then(|t| t.parse().ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_annotations_beside_other_states() {
        let s = SaKeyState {
            mode: Mode::Stage,
            done: Step::Write,
            started_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            old_kid: "old".into(),
            new_kid: "new".into(),
            staged_at: Some("2026-12-01T10:00:05Z".parse().unwrap()),
            backup: Some("laptop:/tmp/b.yaml".into()),
            tenant_uid: Some("uid".into()),
            completed_at: None,
        };
        let mut written: BTreeMap<String, String> = s.to_annotations().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        assert_eq!(written["sa-key.kubectl-pki.io/done"], "write");
        written.insert("renew.kubectl-pki.io/done".into(), "backup".into());
        assert_eq!(SaKeyState::from_annotations(&written), Some(s.clone()));
        assert!(s.is_unfinished());
        assert_eq!(SaKeyState::from_annotations(&BTreeMap::new()), None);
    }

    #[test]
    fn steps_are_ordered_and_named() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["rbac+lock", "backup", "probe", "write", "pods", "verify"]);
        for s in Step::ALL.iter().copied() {
            assert_eq!(Step::parse(s.name()), Some(s));
        }
        assert_eq!((Mode::Stage.name(), Mode::Finish.name()), ("stage", "finish"));
    }
}
