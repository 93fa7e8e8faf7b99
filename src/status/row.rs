//! One output row per certificate (or unreadable certificate slot): its
//! status and source. Field names are the JSON/YAML schema. The collector
//! that judges and counts rows is [`super::collector`]. No I/O, no clap.

use serde::Serialize;

use crate::certs::chain::ChainVerdict;
use crate::certs::info::CertInfo;
use crate::certs::status::Status;
use crate::error::Outcome;
use crate::output::serde_name;

use super::item::Location;
use super::served::{Served, ServedVerdict};

pub use super::collector::{Collector, Counts, RowSink, Tally};
#[cfg(test)]
use jiff::{SignedDuration, Timestamp};

/// A row's status: the certificate's time status, or what the served
/// certificate check found when that is worse. The exit code is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    Ok,
    Expiring,
    Expired,
    NotYetValid,
    Invalid,
    PendingRestart,
    Mismatch,
    Unreachable,
}

impl RowStatus {
    pub const ALL: [RowStatus; 8] = [
        RowStatus::Ok,
        RowStatus::Expiring,
        RowStatus::Expired,
        RowStatus::NotYetValid,
        RowStatus::Invalid,
        RowStatus::PendingRestart,
        RowStatus::Mismatch,
        RowStatus::Unreachable,
    ];

    /// The word JSON, YAML and tables print.
    pub fn as_str(self) -> &'static str {
        serde_name(&self)
    }

    /// `pending-restart` warns (it ends with the rollout), `mismatch` is
    /// critical (users are locked out), `unreachable` was not checked.
    pub fn outcome(self) -> Outcome {
        match self {
            RowStatus::Ok | RowStatus::Unreachable => Outcome::Ok,
            RowStatus::Expiring | RowStatus::PendingRestart => Outcome::Warning,
            RowStatus::Expired | RowStatus::NotYetValid | RowStatus::Invalid | RowStatus::Mismatch => Outcome::Critical,
        }
    }

    /// The served verdict unless the time status is strictly worse.
    pub(super) fn with_served(time: Status, served: ServedVerdict) -> RowStatus {
        let served = match served {
            ServedVerdict::Ok => return time.into(),
            ServedVerdict::PendingRestart => RowStatus::PendingRestart,
            ServedVerdict::Mismatch => RowStatus::Mismatch,
            ServedVerdict::Unreachable => RowStatus::Unreachable,
        };
        let time: RowStatus = time.into();
        if time.outcome() > served.outcome() { time } else { served }
    }
}

impl From<Status> for RowStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Ok => RowStatus::Ok,
            Status::Expiring => RowStatus::Expiring,
            Status::Expired => RowStatus::Expired,
            Status::NotYetValid => RowStatus::NotYetValid,
            Status::Invalid => RowStatus::Invalid,
        }
    }
}

impl std::fmt::Display for RowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where rows come from, as `--source` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Kubeconfig,
    Server,
    Secrets,
    /// `caBundle` of webhook configurations, APIServices and CRD conversion webhooks.
    Cabundle,
    /// PEM certificates in ConfigMaps (`kube-root-ca.crt`, `extension-apiserver-authentication`, any key).
    Configmaps,
    Tenant,
    File,
    K3s,
    Kubeadm,
}

impl SourceKind {
    /// The word `--source` and the `source` field spell.
    pub fn as_str(self) -> &'static str {
        serde_name(&self)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The kubeconfig context it was read through, when several are (`--all-contexts`); else null.
    pub context: Option<String>,
    pub source: SourceKind,
    /// `namespace/secret/key[:entry][index]`, a path, a context or a URL.
    pub name: String,
    pub location: Location,
    /// `null` when the content could not be read (`status: invalid`).
    pub certificate: Option<CertInfo>,
    /// Time left, kubeadm style (`364d`, `<invalid>` once expired).
    pub residual: Option<String>,
    pub chain: ChainVerdict,
    /// The served-certificate check: a tenant API's (`--tenant`), or the
    /// webhook or APIService a `caBundle` must verify (`cabundle`); null elsewhere.
    pub served: Option<Served>,
    pub status: RowStatus,
    /// Why a row is invalid or unverified, or another remark.
    pub message: Option<String>,
}

/// A context of a fleet run (`--all-contexts`, `--context` repeated): what it
/// held, or why it could not be read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextInfo {
    pub name: String,
    /// The API server URL, once its client was built.
    pub server: Option<String>,
    /// Rows read through it (an unreadable context has one, its error).
    pub rows: usize,
    /// What its rows come to (`ok`, `warning`, `critical`: exit 0, 3, 4); `null` when it could not be read.
    pub outcome: Option<Outcome>,
    pub error: Option<String>,
}

/// The TenantControlPlane a `--tenant` run looked at.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    /// The kubeconfig context it was read through, when several are (`--all-contexts`); else null.
    pub context: Option<String>,
    pub namespace: String,
    pub name: String,
    /// `.status.kubernetesResources.version.status`.
    pub status: Option<String>,
    pub version: Option<String>,
    /// What the Kamaji controller issues now ([`ControllerHorizon`]).
    pub kamaji: Option<ControllerHorizon>,
    /// Secrets carrying a pending `certs.kamaji.clastix.io/rotate=""`: Kamaji
    /// rotates them whenever it acts on it (one that ignores it today may
    /// after an upgrade), so it is a warning (exit 3).
    pub pending_rotation: Vec<String>,
    /// What its rows come to (CA, earliest leaf, served verdict, counts, worst status).
    pub summary: Option<super::tenant_summary::TenantSummary>,
    /// Why the tenant could not be judged (`--all-tenants` lists it anyway).
    pub error: Option<String>,
}

/// The Kamaji controller's issuance horizon: every leaf it issues now (a renewal, a
/// rotation, a new tenant) expires at `issuesUntil`, its process start + 365 d
/// ([`crate::kamaji::horizon`]). `expiring` within `--warn-within`, `expired` once past:
/// its leaves are already expired when issued.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControllerHorizon {
    pub namespace: String,
    pub selector: String,
    pub pods: usize,
    pub started_at: Option<jiff::Timestamp>,
    pub issues_until: Option<jiff::Timestamp>,
    /// `ok`, `expiring`, `expired`, or `unknown` (no pods found, or not readable).
    pub status: HorizonStatus,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HorizonStatus {
    Ok,
    Expiring,
    Expired,
    Unknown,
}

impl HorizonStatus {
    pub fn as_str(self) -> &'static str {
        crate::output::serde_name(&self)
    }

    /// Expiring warns (exit 3), expired is critical (exit 4), unknown is not judged.
    pub fn outcome(self) -> crate::error::Outcome {
        match self {
            HorizonStatus::Ok | HorizonStatus::Unknown => crate::error::Outcome::Ok,
            HorizonStatus::Expiring => crate::error::Outcome::Warning,
            HorizonStatus::Expired => crate::error::Outcome::Critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::item::Extractor;
    use kubectl_pki_testkit::{ca, params_for, with_params};

    #[test]
    fn rows_carry_status_residual_and_invalid_reasons() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut rows = Vec::new();
        let mut col = Collector::new(now, SignedDuration::from_hours(24 * 30), &mut rows);
        let mut p = params_for("soon", false);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2026, 6, 11);
        let soon = with_params(p, Some(&ca("root")));
        let mut ex = Extractor::new();
        ex.secret_key(&Location::default(), "tls.crt", soon.pem.as_bytes());
        ex.secret_key(&Location::default(), "ca.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n");
        let verdicts = vec![ChainVerdict::NotChecked; ex.items.len()];
        col.push_items(SourceKind::Secrets, "ns/s/x", &ex.items, verdicts);
        let tally = col.finish();
        assert_eq!(tally.outcome, Outcome::Critical);
        assert_eq!((tally.counts.get(RowStatus::Expiring), tally.counts.get(RowStatus::Invalid), tally.counts.total()), (1, 1, 2));
        assert_eq!(rows[0].status, RowStatus::Expiring);
        assert_eq!(rows[0].residual.as_deref(), Some("10d"));
        assert_eq!(rows[1].status, RowStatus::Invalid);
        assert!(rows[1].message.as_deref().unwrap().contains("truncated"));
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert_eq!(json["certificate"], serde_json::Value::Null);
        assert_eq!(json["status"], "invalid");
        assert_eq!(json["source"], "secrets");
    }

    fn served(verdict: ServedVerdict) -> Served {
        Served { endpoint: Some("https://127.0.0.1:6443".into()), endpoint_from: None, verdict, secret_sha256: None }
    }

    #[test]
    fn served_rows_take_the_worse_of_time_and_served_verdicts() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut p = params_for("kube-apiserver", false);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2027, 1, 1);
        let leaf = with_params(p, Some(&ca("kubernetes")));
        let verified = ChainVerdict::Verified { to: "kubernetes".into() };
        let cases = [
            (ServedVerdict::Ok, 0, RowStatus::Ok, Outcome::Ok),
            (ServedVerdict::PendingRestart, 0, RowStatus::PendingRestart, Outcome::Warning),
            (ServedVerdict::PendingRestart, 300, RowStatus::PendingRestart, Outcome::Warning),
            (ServedVerdict::Mismatch, 300, RowStatus::Mismatch, Outcome::Critical),
            (ServedVerdict::Ok, 300, RowStatus::Expiring, Outcome::Warning),
        ];
        for (verdict, warn_days, status, outcome) in cases {
            let mut rows = Vec::new();
            let mut col = Collector::new(now, SignedDuration::from_hours(24 * warn_days), &mut rows);
            col.push_served(
                "ns/k8s:served".into(),
                Location::default(),
                Some(&leaf.der),
                verified.clone(),
                served(verdict),
                Some("why".into()),
            );
            let worst = col.outcome();
            assert_eq!((rows[0].status, worst), (status, outcome), "{verdict:?} warn {warn_days}d");
            assert_eq!(rows[0].served.as_ref().map(|s| s.verdict), Some(verdict));
            assert_eq!(rows[0].message.as_deref(), Some("why"));
        }
        let mut p = params_for("kube-apiserver", false);
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2026, 1, 1);
        let expired = with_params(p, Some(&ca("kubernetes")));
        let mut rows = Vec::new();
        let mut col = Collector::new(now, SignedDuration::ZERO, &mut rows);
        col.push_served("x".into(), Location::default(), Some(&expired.der), verified, served(ServedVerdict::PendingRestart), None);
        assert_eq!(rows[0].status, RowStatus::Expired, "a worse time status wins");
    }

    #[test]
    fn an_unreachable_tenant_api_is_a_row_that_does_not_change_the_exit_code() {
        let mut rows = Vec::new();
        let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO, &mut rows);
        let msg = Some("unreachable: connection refused (not checked)".to_string());
        col.push_served(
            "ns/k8s:served".into(),
            Location::default(),
            None,
            ChainVerdict::NotChecked,
            served(ServedVerdict::Unreachable),
            msg,
        );
        assert_eq!(col.outcome(), Outcome::Ok);
        let row = &rows[0];
        assert_eq!((row.status, row.chain.word(), row.certificate.is_none()), (RowStatus::Unreachable, "-", true));
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(json["status"], "unreachable");
        assert_eq!(json["served"]["verdict"], "unreachable");
        assert_eq!(json["chain"]["verdict"], "not-checked");
    }

    #[test]
    fn an_unverified_chain_is_critical_whatever_the_time_status() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut p = params_for("leaf", false);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let leaf = with_params(p, Some(&ca("root")));
        let mut rows = Vec::new();
        let mut col = Collector::new(now, SignedDuration::ZERO, &mut rows);
        col.push(SourceKind::File, "a".into(), Location::default(), Ok(&leaf.der), ChainVerdict::NotChecked);
        assert_eq!(col.outcome(), Outcome::Ok);
        col.push(SourceKind::File, "b".into(), Location::default(), Ok(&leaf.der), ChainVerdict::Unverified { reason: "other CA".into() });
        let tally = col.finish();
        assert_eq!((tally.outcome, tally.counts.get(RowStatus::Ok)), (Outcome::Critical, 2));
        assert_eq!(rows[1].message.as_deref(), Some("other CA"));
    }

    #[test]
    fn counts_index_follows_the_order_of_all() {
        for (i, status) in RowStatus::ALL.into_iter().enumerate() {
            assert_eq!(status as usize, i);
            let mut c = Counts::default();
            c.add(status);
            assert_eq!((c.get(status), c.total()), (1, 1));
        }
    }
}
