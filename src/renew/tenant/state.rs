//! The steps of a renewal and its progress, kept as annotations on the tenant's lock Lease
//! (the one `rotate-ca` takes, so a renewal and a rotation never overlap): when the run
//! began (renewed leaves must last a year from then), where its backup is and which steps
//! are done. A re-run continues from there. No API calls (the Lease is [`crate::lock`]),
//! no clap types, no printing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::steps::{RunStep, display_by_name};

const PREFIX: &str = crate::lease_state::RENEWAL;

/// The steps of a real run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    #[serde(rename = "rbac+lock")]
    Lock,
    Backup,
    /// Restart the Kamaji controller, so what it issues lasts a year.
    Kamaji,
    /// The rotate annotation (or the deletion) on each selected secret.
    Renew,
    /// Every selected secret renewed; the admin kubeconfig written when asked.
    Verify,
    Workloads,
    LiveCheck,
}

impl RunStep for Step {
    const ALL: &'static [Step] = &[Step::Lock, Step::Backup, Step::Kamaji, Step::Renew, Step::Verify, Step::Workloads, Step::LiveCheck];

    fn doing(self) -> &'static str {
        match self {
            Step::Lock => "checking permissions",
            Step::Backup => "writing the backup",
            Step::Kamaji => "restarting the Kamaji controller",
            Step::Renew => "asking Kamaji to renew",
            Step::Verify => "waiting for the renewed certificates",
            Step::Workloads => "restarting the consumers of renewed kubeconfigs",
            Step::LiveCheck => "checking the certificate the tenant API serves",
        }
    }
}

display_by_name!(Step);

/// What a run recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewState {
    /// The last completed step.
    pub done: Step,
    /// When the renewal began: renewed leaves must last a year from then.
    pub started_at: Timestamp,
    /// `host:path` of the backup file.
    pub backup: Option<String>,
    /// The TenantControlPlane's UID: a state is not resumed on a later tenant of the same name.
    pub tenant_uid: Option<String>,
    pub completed_at: Option<Timestamp>,
}

impl RenewState {
    pub fn is_unfinished(&self) -> bool {
        self.completed_at.is_none()
    }

    /// Annotations to write; `None` removes a stale key.
    pub fn to_annotations(&self) -> BTreeMap<String, Option<String>> {
        let mut w = crate::lease_state::Writer::new(PREFIX);
        let mut put = |k: &str, v: Option<String>| {
            w.put(k, v);
        };
        put("done", Some(self.done.name().into()));
        put("started-at", Some(self.started_at.to_string()));
        put("backup", self.backup.clone());
        put("tenant-uid", self.tenant_uid.clone());
        put("completed-at", self.completed_at.map(|t| t.to_string()));
        w.finish()
    }

    /// Reads a state back; `None` when there is none or it is incomplete.
    pub fn from_annotations(a: &BTreeMap<String, String>) -> Option<RenewState> {
        let r = crate::lease_state::Reader::new(PREFIX, a);
        let get = |k: &str| r.get(k);
        Some(RenewState {
            done: Step::parse(&get("done")?)?,
            started_at: get("started-at")?.parse().ok()?,
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
    fn round_trips_through_annotations_beside_a_rotation_state() {
        let s = RenewState {
            done: Step::Renew,
            started_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            backup: Some("laptop:/tmp/b.yaml".into()),
            tenant_uid: Some("uid".into()),
            completed_at: None,
        };
        let mut written: BTreeMap<String, String> = s.to_annotations().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        assert_eq!(written["renew.kubectl-pki.io/done"], "renew");
        written.insert("rotate-ca.kubectl-pki.io/done".into(), "backup".into());
        assert_eq!(RenewState::from_annotations(&written), Some(s.clone()));
        assert!(s.is_unfinished());
        assert_eq!(RenewState::from_annotations(&BTreeMap::new()), None);
    }

    #[test]
    fn steps_are_ordered_and_named() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["rbac+lock", "backup", "kamaji", "renew", "verify", "workloads", "live-check"]);
        for s in Step::ALL.iter().copied() {
            assert_eq!(Step::parse(s.name()), Some(s));
            assert!(!s.doing().is_empty());
        }
        assert_eq!(Step::LiveCheck.number(), 7);
    }
}
