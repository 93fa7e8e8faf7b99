//! One output row per certificate (or unreadable certificate slot), and the
//! collector the sources push into. Field names are the JSON/YAML schema.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::certs::chain::ChainVerdict;
use crate::certs::info::CertInfo;
use crate::certs::status::{self, Status};
use crate::error::Outcome;

use super::item::{Item, Location};
use super::served::{Served, ServedVerdict};

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

    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::Expiring => "expiring",
            RowStatus::Expired => "expired",
            RowStatus::NotYetValid => "not-yet-valid",
            RowStatus::Invalid => "invalid",
            RowStatus::PendingRestart => "pending-restart",
            RowStatus::Mismatch => "mismatch",
            RowStatus::Unreachable => "unreachable",
        }
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
    fn with_served(time: Status, served: ServedVerdict) -> RowStatus {
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
    Tenant,
    File,
    K3s,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Kubeconfig => "kubeconfig",
            SourceKind::Server => "server",
            SourceKind::Secrets => "secrets",
            SourceKind::Tenant => "tenant",
            SourceKind::File => "file",
            SourceKind::K3s => "k3s",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub source: SourceKind,
    /// `namespace/secret/key[:entry][index]`, a path, a context or a URL.
    pub name: String,
    pub location: Location,
    /// `null` when the content could not be read (`status: invalid`).
    pub certificate: Option<CertInfo>,
    /// Time left, kubeadm style (`364d`, `<invalid>` once expired).
    pub residual: Option<String>,
    pub chain: ChainVerdict,
    /// The tenant API's served-certificate check (`--tenant`); null elsewhere.
    pub served: Option<Served>,
    pub status: RowStatus,
    /// Why a row is invalid or unverified, or another remark.
    pub message: Option<String>,
}

/// The TenantControlPlane a `--tenant` run looked at.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub namespace: String,
    pub name: String,
    /// `.status.kubernetesResources.version.status`.
    pub status: Option<String>,
    pub version: Option<String>,
}

/// Rows from every source, judged against one clock and warning window.
#[derive(Debug)]
pub struct Collector {
    pub now: Timestamp,
    pub warn_within: SignedDuration,
    pub rows: Vec<Row>,
    pub tenants: Vec<TenantInfo>,
}

impl Collector {
    pub fn new(now: Timestamp, warn_within: SignedDuration) -> Self {
        Collector { now, warn_within, rows: Vec::new(), tenants: Vec::new() }
    }

    /// Adds one row per item, named by `prefix` (see [`Item::display_name`]).
    pub fn push_items(&mut self, source: SourceKind, prefix: &str, items: &[Item], verdicts: Vec<ChainVerdict>) {
        for (item, verdict) in items.iter().zip(verdicts) {
            let name = item.display_name(prefix);
            self.push(source, name, item.location.clone(), item.der().ok_or_else(|| err_of(item)), verdict);
        }
    }

    /// Adds one row for DER bytes or the reason there are none.
    pub fn push(&mut self, source: SourceKind, name: String, location: Location, der: Result<&[u8], String>, chain: ChainVerdict) {
        let info = der.and_then(|d| CertInfo::from_der(d).map_err(|e| e.to_string()));
        let row = match info {
            Ok(info) => {
                let message = match &chain {
                    ChainVerdict::Unverified { reason } => Some(reason.clone()),
                    _ => None,
                };
                Row {
                    source,
                    name,
                    location,
                    residual: Some(status::residual(info.not_after, self.now)),
                    status: status::classify(info.not_before, info.not_after, self.now, self.warn_within).into(),
                    certificate: Some(info),
                    chain,
                    served: None,
                    message,
                }
            }
            Err(reason) => Row {
                source,
                name,
                location,
                certificate: None,
                residual: None,
                chain: ChainVerdict::NotChecked,
                served: None,
                status: RowStatus::Invalid,
                message: Some(reason),
            },
        };
        self.rows.push(row);
    }

    /// The served-certificate row of a tenant: the served leaf judged by
    /// time and by `served.verdict`, or (unreachable) a row without a
    /// certificate that does not change the exit code.
    pub fn push_served(&mut self, name: String, location: Location, leaf: Option<&[u8]>, chain: ChainVerdict, served: Served, message: Option<String>) {
        let verdict = served.verdict;
        match leaf {
            Some(der) if verdict != ServedVerdict::Unreachable => {
                self.push(SourceKind::Tenant, name, location, Ok(der), chain);
                if let Some(row) = self.rows.last_mut() {
                    if let Some(info) = &row.certificate {
                        let time = status::classify(info.not_before, info.not_after, self.now, self.warn_within);
                        row.status = RowStatus::with_served(time, verdict);
                    }
                    // An unreadable served leaf keeps its parse error first.
                    row.message = match (row.certificate.is_none(), row.message.take(), message) {
                        (true, Some(parse), Some(m)) => Some(format!("{parse}; {m}")),
                        (true, parse, None) => parse,
                        (_, _, m) => m,
                    };
                    row.served = Some(served);
                }
            }
            _ => self.rows.push(Row {
                source: SourceKind::Tenant,
                name,
                location,
                certificate: None,
                residual: None,
                chain: ChainVerdict::NotChecked,
                served: Some(Served { verdict: ServedVerdict::Unreachable, ..served }),
                status: RowStatus::Unreachable,
                message,
            }),
        }
    }

    /// Worst verdict over all rows. A chain that does not verify is as
    /// critical as an expired certificate: clients fail the same way.
    pub fn outcome(&self) -> Outcome {
        self.rows
            .iter()
            .map(|r| match r.chain {
                ChainVerdict::Unverified { .. } => Outcome::Critical,
                _ => r.status.outcome(),
            })
            .max()
            .unwrap_or(Outcome::Ok)
    }
}

fn err_of(item: &Item) -> String {
    item.content.as_ref().err().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::testutil::{ca, params_for, with_params};
    use crate::status::item::Extractor;

    #[test]
    fn rows_carry_status_residual_and_invalid_reasons() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut col = Collector::new(now, SignedDuration::from_hours(24 * 30));
        let mut p = params_for("soon", false);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2026, 6, 11);
        let soon = with_params(p, Some(&ca("root")));
        let mut ex = Extractor::new();
        ex.secret_key(&Location::default(), "tls.crt", soon.pem.as_bytes());
        ex.secret_key(&Location::default(), "ca.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n");
        let verdicts = vec![ChainVerdict::NotChecked; ex.items.len()];
        col.push_items(SourceKind::Secrets, "ns/s/x", &ex.items, verdicts);
        assert_eq!(col.rows[0].status, RowStatus::Expiring);
        assert_eq!(col.rows[0].residual.as_deref(), Some("10d"));
        assert_eq!(col.rows[1].status, RowStatus::Invalid);
        assert!(col.rows[1].message.as_deref().unwrap().contains("truncated"));
        assert_eq!(col.outcome(), Outcome::Critical);
        let json = serde_json::to_value(&col.rows[1]).unwrap();
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
            let mut col = Collector::new(now, SignedDuration::from_hours(24 * warn_days));
            col.push_served("ns/k8s:served".into(), Location::default(), Some(&leaf.der), verified.clone(), served(verdict), Some("why".into()));
            assert_eq!((col.rows[0].status, col.outcome()), (status, outcome), "{verdict:?} warn {warn_days}d");
            assert_eq!(col.rows[0].served.as_ref().map(|s| s.verdict), Some(verdict));
            assert_eq!(col.rows[0].message.as_deref(), Some("why"));
        }
        let mut p = params_for("kube-apiserver", false);
        p.not_before = rcgen::date_time_ymd(2025, 1, 1);
        p.not_after = rcgen::date_time_ymd(2026, 1, 1);
        let expired = with_params(p, Some(&ca("kubernetes")));
        let mut col = Collector::new(now, SignedDuration::ZERO);
        col.push_served("x".into(), Location::default(), Some(&expired.der), verified, served(ServedVerdict::PendingRestart), None);
        assert_eq!(col.rows[0].status, RowStatus::Expired, "a worse time status wins");
    }

    #[test]
    fn an_unreachable_tenant_api_is_a_row_that_does_not_change_the_exit_code() {
        let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO);
        let msg = Some("unreachable: connection refused (not checked)".to_string());
        col.push_served("ns/k8s:served".into(), Location::default(), None, ChainVerdict::NotChecked, served(ServedVerdict::Unreachable), msg);
        let row = &col.rows[0];
        assert_eq!((row.status, row.chain.word(), row.certificate.is_none()), (RowStatus::Unreachable, "-", true));
        assert_eq!(col.outcome(), Outcome::Ok);
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(json["status"], "unreachable");
        assert_eq!(json["served"]["verdict"], "unreachable");
        assert_eq!(json["chain"]["verdict"], "not-checked");
    }
}
