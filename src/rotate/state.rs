//! The progress of a rotation, kept as annotations on the tenant's lock
//! Lease: it lives with the cluster (not with one laptop), survives a
//! killed run, and tells a re-run which CA was the old one, where the
//! backup is and which phases are done, so the re-run continues instead of
//! rotating twice.
//! No API calls (the Lease is [`crate::lock`]), no clap types, no printing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::verify::CaId;
use crate::steps::{RunStep, display_by_name};

const PREFIX: &str = crate::lease_state::ROTATION;

/// The phases of a run, in order. A new phase goes into this enum, `ALL`,
/// a file of `phases/` and `execute::step`; progress labels count `ALL`.
/// A run is complete (`completed-at`) only after the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    #[serde(rename = "rbac+lock")]
    Lock,
    Backup,
    Rotate,
    Kamaji,
    Regenerated,
    Workloads,
    Workers,
    LiveCheck,
}

impl RunStep for Phase {
    const ALL: &'static [Phase] =
        &[Phase::Lock, Phase::Backup, Phase::Rotate, Phase::Kamaji, Phase::Regenerated, Phase::Workloads, Phase::Workers, Phase::LiveCheck];

    /// (With `--restart-workers`, the workers' line says so: [`super::phases::doing`].)
    fn doing(self) -> &'static str {
        match self {
            Phase::Lock => "checking permissions",
            Phase::Backup => "writing the backup",
            Phase::Rotate => "rotating",
            Phase::Kamaji => "restarting the Kamaji controller",
            Phase::Regenerated => "waiting for the new CA",
            Phase::Workloads => "restarting workloads",
            Phase::Workers => "waiting for the worker pods to be replaced",
            Phase::LiveCheck => "checking the certificate the tenant API serves",
        }
    }
}

display_by_name!(Phase);

/// What a run recorded. `done` is the last completed phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    pub done: Phase,
    /// When the rotation began (before the first change): restarts are
    /// judged against it.
    pub started_at: Timestamp,
    pub old_ca: CaId,
    /// `host:path` of the backup file.
    pub backup: Option<String>,
    pub method: String,
    /// UIDs of the worker pods when the rotation began: a worker counts as
    /// replaced once its UID is gone (no clock comparison between machines).
    pub worker_uids: Vec<String>,
    /// The TenantControlPlane's UID: a state is not resumed on a later tenant of the same name.
    pub tenant_uid: Option<String>,
    pub completed_at: Option<Timestamp>,
}

impl RunState {
    /// A run that stopped before the end.
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
        put("old-ca-sha256", Some(self.old_ca.sha256.clone()));
        put("old-ca-key-sha256", Some(self.old_ca.key_sha256.clone()));
        put("old-ca-subject", Some(self.old_ca.subject.clone()));
        put("old-ca-not-after", Some(self.old_ca.not_after.to_string()));
        put("backup", self.backup.clone());
        put("method", Some(self.method.clone()));
        put("worker-uids", Some(self.worker_uids.join(",")));
        put("tenant-uid", self.tenant_uid.clone());
        put("completed-at", self.completed_at.map(|t| t.to_string()));
        w.finish()
    }

    /// Reads a state back; `None` when there is none or it is incomplete.
    pub fn from_annotations(a: &BTreeMap<String, String>) -> Option<RunState> {
        let r = crate::lease_state::Reader::new(PREFIX, a);
        let get = |k: &str| r.get(k);
        Some(RunState {
            done: Phase::parse(&get("done")?)?,
            started_at: get("started-at")?.parse().ok()?,
            old_ca: CaId {
                sha256: get("old-ca-sha256")?,
                key_sha256: get("old-ca-key-sha256")?,
                subject: get("old-ca-subject").unwrap_or_default(),
                not_after: get("old-ca-not-after").and_then(|t| t.parse().ok()).unwrap_or_default(),
            },
            backup: get("backup"),
            method: get("method").unwrap_or_default(),
            worker_uids: get("worker-uids").map(|u| u.split(',').filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default(),
            tenant_uid: get("tenant-uid"),
            completed_at: get("completed-at").and_then(|t| t.parse().ok()),
        })
    }
}

/// Removes every key of a run's state from a Lease's `annotations` (as
/// [`crate::lock::Lock::set_annotations`] takes it): after `restore`, a
/// later rotate-ca starts clean instead of resuming a rotation that was undone.
pub fn cleared(annotations: &BTreeMap<String, String>) -> BTreeMap<String, Option<String>> {
    crate::lease_state::cleared(PREFIX, annotations)
}

/// `host:path` → the path, when the host is this one.
pub fn local_backup_path(backup: &str, host: &str) -> Option<std::path::PathBuf> {
    let (h, path) = backup.split_once(':')?;
    (h == host).then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RunState {
        RunState {
            done: Phase::Rotate,
            started_at: "2026-11-27T10:00:00Z".parse().unwrap(),
            old_ca: CaId {
                sha256: "AB:CD".into(),
                key_sha256: "ef01".into(),
                subject: "CN=kubernetes".into(),
                not_after: "2036-11-27T10:00:00Z".parse().unwrap(),
            },
            backup: Some("laptop:/tmp/pki-backup.yaml".into()),
            method: "annotate".into(),
            worker_uids: vec!["u1".into(), "u2".into()],
            tenant_uid: Some("tcp-uid".into()),
            completed_at: None,
        }
    }

    #[test]
    fn round_trips_through_annotations() {
        let s = state();
        let written: BTreeMap<String, String> = s.to_annotations().into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
        assert_eq!(written["rotate-ca.kubectl-pki.io/done"], "rotate");
        assert_eq!(RunState::from_annotations(&written), Some(s.clone()));
        assert!(s.is_unfinished());
        assert_eq!(RunState::from_annotations(&BTreeMap::new()), None);
    }

    #[test]
    fn phases_are_ordered_and_named() {
        assert!(Phase::Backup < Phase::Rotate && Phase::Workloads < Phase::Workers);
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.name()), Some(*p));
        }
        assert_eq!(Phase::Workers.number(), 7);
        assert_eq!(Phase::ALL.last().map(|p| (p.number(), p.name())), Some((8, "live-check")));
        assert_eq!(
            Phase::ALL.iter().map(|p| p.name()).collect::<Vec<_>>(),
            ["rbac+lock", "backup", "rotate", "kamaji", "regenerated", "workloads", "workers", "live-check"]
        );
    }

    #[test]
    fn backup_path_only_on_its_host() {
        assert_eq!(local_backup_path("laptop:/tmp/x.yaml", "laptop"), Some("/tmp/x.yaml".into()));
        assert_eq!(local_backup_path("other:/tmp/x.yaml", "laptop"), None);
    }
}
