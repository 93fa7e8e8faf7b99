//! Did Kamaji renew a secret? Every certificate it holds must have been re-issued (a new
//! serial), by the same, unchanged CA, and must expire later than before and no earlier
//! than a year from the run's start (less [`crate::kamaji::horizon::TOLERANCE`]). Kamaji
//! dates what it issues from its controller's process start, so a controller that was not
//! restarted re-issues with a new serial and the SAME NotAfter: that is not a renewal.
//! Pure: no API calls, no clap types, no printing.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use serde::Serialize;

use super::leaves::{Kind, Leaf, leaves_of};
use crate::certs::chain::{ChainVerdict, chains_to};

/// One certificate before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub key: String,
    /// `None` when the run has no record of it (a resumed run without its backup).
    pub old_serial: Option<String>,
    pub new_serial: String,
    pub old_not_after: Option<Timestamp>,
    pub new_not_after: Timestamp,
}

/// What a secret shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Every certificate renewed.
    Renewed(Vec<Change>),
    /// Not (yet) re-issued, or by another CA: what is still pending.
    Pending(String),
    /// Re-issued, but a NotAfter did not move to a year from the run: what and until when.
    Short(Vec<String>),
}

/// The index of the CA among `cas` (DER) that `leaf` chains to.
pub fn issuer_of(leaf: &[u8], cas: &[Vec<u8>]) -> Option<usize> {
    const NONE: &[&[u8]] = &[];
    cas.iter().position(|ca| matches!(chains_to(leaf, NONE, &[ca.as_slice()]), ChainVerdict::Verified { .. }))
}

/// Judges `now` (the secret as it is, `None`: missing) against its certificates `before`
/// the renewal. `cas` are the CAs of the run's start (tenant, front-proxy, the secret's own
/// `ca.crt`): a renewed certificate chains to the one its predecessor chained to (any of
/// them when there is no predecessor on record). `floor`: the earliest NotAfter accepted.
pub fn judge(name: &str, now: Option<&Secret>, kind: Kind, before: &[Leaf], cas: &[Vec<u8>], floor: Timestamp) -> Judged {
    let Some(secret) = now else { return Judged::Pending(format!("{name} is missing (Kamaji regenerates it)")) };
    let current = match leaves_of(secret, kind) {
        Ok(l) => l,
        Err(why) => return Judged::Pending(why),
    };
    let mut changes = Vec::new();
    let mut short = Vec::new();
    for leaf in &current {
        let old = before.iter().find(|o| o.key == leaf.key);
        if let Some(old) = old
            && old.serial == leaf.serial
        {
            return Judged::Pending(format!("{name}/{} not re-issued yet (serial {})", leaf.key, leaf.serial));
        }
        let expected = old.and_then(|o| issuer_of(&o.der, cas));
        let chained = match expected {
            Some(i) => issuer_of(&leaf.der, &cas[i..=i]).is_some(),
            None => issuer_of(&leaf.der, cas).is_some(),
        };
        if !chained {
            return Judged::Pending(format!("{name}/{} does not chain to the tenant's unchanged CA", leaf.key));
        }
        let moved = old.is_none_or(|o| leaf.not_after > o.not_after);
        if !moved || leaf.not_after < floor {
            let was = old.map_or_else(String::new, |o| format!(", was {}", o.not_after));
            short.push(format!("{name}/{} (expires {}{was})", leaf.key, leaf.not_after));
        }
        changes.push(Change {
            key: leaf.key.clone(),
            old_serial: old.map(|o| o.serial.clone()),
            new_serial: leaf.serial.clone(),
            old_not_after: old.map(|o| o.not_after),
            new_not_after: leaf.not_after,
        });
    }
    if before.iter().any(|o| !current.iter().any(|c| c.key == o.key)) {
        return Judged::Pending(format!("{name} does not hold all its certificates yet"));
    }
    if short.is_empty() { Judged::Renewed(changes) } else { Judged::Short(short) }
}

/// Whether `secret` was renewed after the run began already (a resumed run skips it):
/// every certificate new since `before` (any, without a record) and lasting until `floor`.
pub fn already_renewed(secret: &Secret, kind: Kind, before: &[Leaf], cas: &[Vec<u8>], floor: Timestamp) -> bool {
    let name = secret.metadata.name.clone().unwrap_or_default();
    matches!(judge(&name, Some(secret), kind, before, cas, floor), Judged::Renewed(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::renew::tenant::leaves::tests::secret;
    use kubectl_pki_testkit::{TestCert, ca, params_for, with_params};

    fn leaf_until(cn: &str, not_after: (i32, u8, u8), issuer: &TestCert) -> TestCert {
        let mut p = params_for(cn, false);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        with_params(p, Some(issuer))
    }

    fn api(cert: &TestCert) -> Secret {
        secret("t-api-server-certificate", &[("apiserver.crt", &cert.pem), ("apiserver.key", "k")])
    }

    #[test]
    fn a_new_serial_from_the_same_ca_lasting_a_year_is_a_renewal() {
        let (root, front) = (ca("kubernetes"), ca("front-proxy-ca"));
        let cas = vec![root.der.clone(), front.der.clone()];
        let floor: Timestamp = "2027-11-30T00:00:00Z".parse().unwrap();
        let before = api(&leaf_until("apiserver", (2027, 2, 1), &root));
        let old = leaves_of(&before, Kind::X509).unwrap();
        let new = api(&leaf_until("apiserver", (2027, 12, 1), &root));
        let Judged::Renewed(changes) = judge("t-api-server-certificate", Some(&new), Kind::X509, &old, &cas, floor) else { panic!() };
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].old_serial.as_deref(), Some(old[0].serial.as_str()));
        assert!(changes[0].new_not_after > changes[0].old_not_after.unwrap());
        assert!(already_renewed(&new, Kind::X509, &old, &cas, floor));
        // Unchanged: still pending.
        let unchanged = judge("t", Some(&before), Kind::X509, &old, &cas, floor);
        assert!(matches!(&unchanged, Judged::Pending(m) if m.contains("not re-issued yet")), "{unchanged:?}");
        assert!(!already_renewed(&before, Kind::X509, &old, &cas, floor));
        assert!(matches!(judge("t", None, Kind::X509, &old, &cas, floor), Judged::Pending(m) if m.contains("missing")));
    }

    #[test]
    fn a_reissue_with_the_same_not_after_is_short_and_named() {
        let root = ca("kubernetes");
        let cas = vec![root.der.clone()];
        let floor: Timestamp = "2027-11-30T00:00:00Z".parse().unwrap();
        let old = leaves_of(&api(&leaf_until("apiserver", (2027, 12, 1), &root)), Kind::X509).unwrap();
        // New serial, same NotAfter: a controller that was not restarted.
        let again = api(&leaf_until("apiserver", (2027, 12, 1), &root));
        let Judged::Short(what) = judge("t-api-server-certificate", Some(&again), Kind::X509, &old, &cas, floor) else { panic!() };
        assert_eq!(what, ["t-api-server-certificate/apiserver.crt (expires 2027-12-01T00:00:00Z, was 2027-12-01T00:00:00Z)"]);
        // Later, but short of a year from the run.
        let old = leaves_of(&api(&leaf_until("apiserver", (2027, 1, 1), &root)), Kind::X509).unwrap();
        let later = api(&leaf_until("apiserver", (2027, 2, 1), &root));
        assert!(matches!(judge("t", Some(&later), Kind::X509, &old, &cas, floor), Judged::Short(_)));
    }

    #[test]
    fn a_certificate_of_another_ca_is_not_a_renewal() {
        let (root, other) = (ca("kubernetes"), ca("kubernetes"));
        let floor: Timestamp = "2027-11-30T00:00:00Z".parse().unwrap();
        let old = leaves_of(&api(&leaf_until("apiserver", (2027, 2, 1), &root)), Kind::X509).unwrap();
        let foreign = api(&leaf_until("apiserver", (2027, 12, 1), &other));
        let cas = vec![root.der.clone(), other.der.clone()];
        // It chains to a CA of the run, but not to its predecessor's.
        assert!(matches!(judge("t", Some(&foreign), Kind::X509, &old, &cas, floor), Judged::Pending(m) if m.contains("unchanged CA")));
        assert_eq!(issuer_of(&old[0].der, &cas), Some(0));
    }
}
