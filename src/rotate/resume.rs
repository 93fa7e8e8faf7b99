//! Whether an interrupted run may be continued: its record in the Lease is
//! checked against the cluster and against its backup, never trusted as
//! it is (anyone who may update Leases in the namespace can write it).
//! Pure: no API calls, no clap types, no printing.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Secret;

use super::backup;
use super::state::{Phase, RunState, local_backup_path};
use super::verify::{self, CaId};
use crate::kamaji::names;

/// An interrupted run older than this is resumed only with `--resume-stale`.
pub const STALE_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// The interrupted run's backup, read and checked, or why it cannot be
/// used: it must be a backup of `tenant` whose `-ca` secret holds the
/// recorded old CA. `given` (`--backup FILE`) is read instead of the
/// recorded path.
pub fn read_backup(state: &RunState, tenant: &str, given: Option<&Path>, host: &str) -> Result<Vec<Secret>, String> {
    let path = match (given, state.backup.as_deref()) {
        (Some(p), _) => p.to_path_buf(),
        (None, None) => return Err("the Lease records no backup".into()),
        (None, Some(recorded)) => match local_backup_path(recorded, host) {
            Some(p) => p,
            None => {
                let on = recorded.split_once(':').map_or(recorded, |(h, _)| h);
                return Err(format!("it was written on host {on}, not this one ({host})"));
            }
        },
    };
    let secrets = backup::read(&path).map_err(|e| e.to_string())?;
    let ca_name = names::secret_name(tenant, names::CA);
    let ca = secrets
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(ca_name.as_str()))
        .ok_or_else(|| format!("{} holds no secret {ca_name}", path.display()))?;
    let (_, id) = verify::ca_of(ca).map_err(|e| format!("{}: {e}", path.display()))?;
    if id.sha256 != state.old_ca.sha256 {
        return Err(format!(
            "{} holds CA sha256 {}, not the old CA the run recorded (sha256 {})",
            path.display(),
            id.short(),
            state.old_ca.short()
        ));
    }
    Ok(secrets)
}

/// What the cluster shows now, to judge a record against.
pub struct Now<'a> {
    pub lease: &'a str,
    /// The CA in `<tenant>-ca`, if readable.
    pub current_ca: Option<&'a CaId>,
    pub tenant_uid: Option<&'a str>,
    pub at: Timestamp,
    pub resume_stale: bool,
    /// Why the backup cannot be used, when it cannot.
    pub backup_problem: Option<&'a str>,
}

/// Reasons the record must not be resumed (the run refuses; nothing is changed).
pub fn blockers(state: &RunState, now: &Now<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let lease = now.lease;
    let age = now.at.duration_since(state.started_at);
    if age > STALE_AFTER && !now.resume_stale {
        out.push(format!(
            "the interrupted rotation recorded in Lease {lease} started at {} ({} ago, over {}): check the tenant, then pass --resume-stale to continue it",
            state.started_at,
            crate::duration::human_duration(age),
            crate::duration::human_duration(STALE_AFTER),
        ));
    }
    if let (Some(recorded), Some(uid)) = (state.tenant_uid.as_deref(), now.tenant_uid)
        && recorded != uid
    {
        out.push(format!(
            "Lease {lease} records a rotation of an earlier tenant of this name (uid {recorded}, now {uid}): delete the Lease to start over"
        ));
    }
    if state.done >= Phase::Regenerated && now.current_ca.is_some_and(|c| !c.is_rotated_from(&state.old_ca)) {
        out.push(format!(
            "Lease {lease} records the new CA as verified, but the tenant holds the old CA (sha256 {}) again (restored by hand?): delete the Lease to start over",
            state.old_ca.short()
        ));
    }
    if state.done < Phase::Rotate
        && let Some(why) = now.backup_problem
    {
        out.push(format!(
            "the interrupted run's backup cannot be used: {why}; its deletions may be unfinished, and a secret is deleted only while the first backup holds it: pass --backup FILE (the backup it wrote, with the old CA sha256 {})",
            state.old_ca.short()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(done: Phase, started: &str) -> RunState {
        RunState {
            done,
            started_at: started.parse().unwrap(),
            old_ca: CaId {
                sha256: "AB:CD".into(),
                key_sha256: "k-old".into(),
                subject: "CN=kubernetes".into(),
                not_after: Timestamp::UNIX_EPOCH,
            },
            backup: Some("laptop:/tmp/b.yaml".into()),
            method: "delete".into(),
            worker_uids: vec![],
            tenant_uid: Some("uid-1".into()),
            completed_at: None,
        }
    }

    fn now<'a>(ca: Option<&'a CaId>, problem: Option<&'a str>) -> Now<'a> {
        Now {
            lease: "ns/pki-rotate-t",
            current_ca: ca,
            tenant_uid: Some("uid-1"),
            at: "2026-11-27T12:00:00Z".parse().unwrap(),
            resume_stale: false,
            backup_problem: problem,
        }
    }

    #[test]
    fn a_fresh_consistent_record_resumes() {
        let s = state(Phase::Kamaji, "2026-11-27T11:00:00Z");
        let new = CaId { sha256: "EF".into(), key_sha256: "k-new".into(), ..s.old_ca.clone() };
        assert!(blockers(&s, &now(Some(&new), None)).is_empty());
        assert!(blockers(&s, &now(Some(&s.old_ca), None)).is_empty(), "Kamaji may not have acted yet");
        // Past the deletions, the backup is not needed any more.
        assert!(blockers(&s, &now(Some(&new), Some("gone"))).is_empty());
    }

    #[test]
    fn an_old_record_needs_resume_stale() {
        let s = state(Phase::Backup, "2026-11-20T11:00:00Z");
        let b = blockers(&s, &now(Some(&s.old_ca), None));
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].contains("--resume-stale") && b[0].contains("7d"), "{}", b[0]);
        let mut n = now(Some(&s.old_ca), None);
        n.resume_stale = true;
        assert!(blockers(&s, &n).is_empty());
    }

    #[test]
    fn a_record_the_cluster_contradicts_is_refused() {
        let s = state(Phase::Workloads, "2026-11-27T11:00:00Z");
        let b = blockers(&s, &now(Some(&s.old_ca), None));
        assert!(b.len() == 1 && b[0].contains("holds the old CA"), "{b:?}");
        let mut n = now(None, None);
        n.tenant_uid = Some("uid-2");
        let b = blockers(&s, &n);
        assert!(b.len() == 1 && b[0].contains("earlier tenant"), "{b:?}");
    }

    #[test]
    fn unfinished_deletions_need_the_first_backup() {
        let s = state(Phase::Backup, "2026-11-27T11:00:00Z");
        let b = blockers(&s, &now(Some(&s.old_ca), Some("it was written on host laptop, not this one (ci)")));
        assert!(b.len() == 1 && b[0].contains("--backup FILE") && b[0].contains("host laptop"), "{b:?}");
    }

    #[test]
    fn the_backup_must_hold_the_recorded_old_ca() {
        let s = state(Phase::Backup, "2026-11-27T11:00:00Z");
        assert!(read_backup(&s, "t", None, "ci").unwrap_err().contains("written on host laptop, not this one (ci)"));
        let missing = read_backup(&s, "t", Some(Path::new("/nonexistent/b.yaml")), "ci").unwrap_err();
        assert!(missing.contains("/nonexistent/b.yaml"), "{missing}");
        let mut none = s.clone();
        none.backup = None;
        assert_eq!(read_backup(&none, "t", None, "ci").unwrap_err(), "the Lease records no backup");
    }
}
