//! The restore's plan and report: for each backed-up secret, what the
//! cluster holds (fingerprints of both), what will be done, and after a
//! real run what was done. Pure: no API calls, no clap types, no printing.

use k8s_openapi::api::core::v1::Secret;
use serde::Serialize;

use crate::cluster_identity::ClusterIdentity;
use crate::kamaji::names;
use crate::rotate::backup::data_hash;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Replace,
    Unchanged,
}

/// One backed-up secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub name: String,
    pub action: Action,
    /// Short SHA-256 of the backup's data ([`fingerprint`]).
    pub backup_sha256: String,
    /// The same of the cluster's data; `None`: the secret does not exist.
    pub cluster_sha256: Option<String>,
    /// `would create`, `would replace`, `unchanged` (dry run); `created`,
    /// `replaced`, `unchanged`, `failed` (real run).
    pub result: String,
    /// Why it failed (escaped), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub notes: Vec<String>,
}

impl Row {
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// What a run planned and did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub backup: String,
    pub dry_run: bool,
    pub namespace: String,
    pub tenant: String,
    /// The cluster as the backup records it.
    pub recorded_cluster: Option<ClusterIdentity>,
    /// The cluster this run talks to (`None`: not readable).
    pub cluster: Option<ClusterIdentity>,
    /// Where the current state of every replaced secret was saved first.
    pub pre_restore_backup: Option<String>,
    /// The tenant's Lease: who holds it, which commands' run states it records.
    pub lease: Vec<String>,
    /// Whether the rotate-ca state in the Lease was removed (real run).
    pub rotate_state_cleared: bool,
    /// The commands whose run state was removed from the Lease (real run): `rotate-ca`,
    /// `renew`, `rotate-sa-key`. A restore undoes what they did: none resumes it.
    pub states_cleared: Vec<&'static str>,
    pub warnings: Vec<String>,
    pub secrets: Vec<Row>,
    /// `planned`, `restored`, `incomplete`.
    pub result: &'static str,
}

impl Report {
    pub fn failed(&self) -> Vec<&Row> {
        self.secrets.iter().filter(|r| r.failed()).collect()
    }

    pub fn count(&self, action: Action) -> usize {
        self.secrets.iter().filter(|r| r.action == action && !r.failed()).count()
    }
}

/// What to do with one backed-up secret given what the cluster holds.
pub fn decide(backup: &Secret, current: Option<&Secret>) -> Action {
    match current {
        None => Action::Create,
        Some(c)
            if data_hash(c) == data_hash(backup)
                && c.type_.as_deref().unwrap_or("Opaque") == backup.type_.as_deref().unwrap_or("Opaque")
                && c.immutable.unwrap_or(false) == backup.immutable.unwrap_or(false)
                && c.metadata.labels.clone().unwrap_or_default() == backup.metadata.labels.clone().unwrap_or_default()
                && c.metadata.annotations.clone().unwrap_or_default() == backup.metadata.annotations.clone().unwrap_or_default() =>
        {
            Action::Unchanged
        }
        Some(_) => Action::Replace,
    }
}

/// `sha256:` and the first 12 hex digits of [`data_hash`]: enough to tell
/// two versions apart at a glance; nothing of the data itself.
pub fn fingerprint(secret: &Secret) -> String {
    format!("sha256:{}", &data_hash(secret)[..12])
}

/// The dry run's word for an action.
pub fn planned(action: Action) -> &'static str {
    match action {
        Action::Create => "would create",
        Action::Replace => "would replace",
        Action::Unchanged => "unchanged",
    }
}

/// Drops a pending rotate request (`certs.kamaji.clastix.io/rotate=""`):
/// restoring it would rotate the CA again at once.
pub fn strip_pending_rotation(secret: &mut Secret) -> Option<String> {
    let annotations = secret.metadata.annotations.as_mut()?;
    if annotations.get(names::ANNOTATION_ROTATE).is_some_and(|v| v.is_empty()) {
        annotations.remove(names::ANNOTATION_ROTATE);
        return Some(format!("dropped the pending {}=\"\" annotation", names::ANNOTATION_ROTATE));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn secret(value: &[u8], annotations: &[(&str, &str)]) -> Secret {
        let mut s = Secret::default();
        s.metadata.name = Some("t-ca".into());
        s.data = Some([("ca.crt".to_string(), ByteString(value.to_vec()))].into());
        if !annotations.is_empty() {
            s.metadata.annotations = Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        }
        s
    }

    #[test]
    fn decides_create_replace_unchanged() {
        let b = secret(b"old", &[]);
        assert_eq!(decide(&b, None), Action::Create);
        assert_eq!(decide(&b, Some(&secret(b"new", &[]))), Action::Replace);
        assert_eq!(decide(&b, Some(&secret(b"old", &[]))), Action::Unchanged);
        assert_eq!(decide(&b, Some(&secret(b"old", &[("x", "y")]))), Action::Replace);
    }

    #[test]
    fn defaults_are_not_differences_but_immutability_is() {
        let b = secret(b"old", &[]);
        let mut c = secret(b"old", &[]);
        c.type_ = Some("Opaque".into());
        c.metadata.labels = Some(Default::default());
        c.immutable = Some(false);
        assert_eq!(decide(&b, Some(&c)), Action::Unchanged);
        c.immutable = Some(true);
        assert_eq!(decide(&b, Some(&c)), Action::Replace);
        c.immutable = None;
        c.type_ = Some("kubernetes.io/tls".into());
        assert_eq!(decide(&b, Some(&c)), Action::Replace);
    }

    #[test]
    fn fingerprints_are_short_and_tell_data_apart() {
        let f = fingerprint(&secret(b"old", &[]));
        assert!(f.starts_with("sha256:") && f.len() == 19, "{f}");
        assert_eq!(f, fingerprint(&secret(b"old", &[("x", "y")])));
        assert_ne!(f, fingerprint(&secret(b"new", &[])));
    }

    #[test]
    fn a_pending_rotation_is_not_restored() {
        let mut s = secret(b"x", &[(names::ANNOTATION_ROTATE, ""), ("keep", "me")]);
        assert!(strip_pending_rotation(&mut s).is_some());
        let a = s.metadata.annotations.unwrap();
        assert!(!a.contains_key(names::ANNOTATION_ROTATE) && a.contains_key("keep"));
        let mut done = secret(b"x", &[(names::ANNOTATION_ROTATE, "2026-11-27T10:00:00Z")]);
        assert!(strip_pending_rotation(&mut done).is_none());
        assert!(done.metadata.annotations.unwrap().contains_key(names::ANNOTATION_ROTATE));
    }
}
