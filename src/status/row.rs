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

/// Where finished rows go: the output being written ([`super::render::Output`]),
/// or a `Vec` in tests. Rows are not kept by the collector, so memory
/// does not grow with the number of certificates.
pub trait RowSink {
    fn row(&mut self, row: Row);
}

impl RowSink for Vec<Row> {
    fn row(&mut self, row: Row) {
        self.push(row);
    }
}

/// Rows per status, every status present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([usize; RowStatus::ALL.len()]);

impl Counts {
    pub fn add(&mut self, status: RowStatus) {
        self.0[status as usize] += 1;
    }

    pub fn get(&self, status: RowStatus) -> usize {
        self.0[status as usize]
    }

    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
}

/// What is left of a run once its rows are out: what `--summary`, the
/// tenant headings and the exit code need.
#[derive(Debug, Clone)]
pub struct Tally {
    pub counts: Counts,
    pub tenants: Vec<TenantInfo>,
    pub outcome: Outcome,
}

/// Judges certificates against one clock and warning window and hands
/// each finished row to a [`RowSink`]; keeps only the counts, the worst
/// outcome and the tenants.
pub struct Collector<'s> {
    pub now: Timestamp,
    pub warn_within: SignedDuration,
    pub tenants: Vec<TenantInfo>,
    counts: Counts,
    outcome: Outcome,
    sink: &'s mut (dyn RowSink + Send),
}

impl<'s> Collector<'s> {
    pub fn new(now: Timestamp, warn_within: SignedDuration, sink: &'s mut (dyn RowSink + Send)) -> Self {
        Collector { now, warn_within, tenants: Vec::new(), counts: Counts::default(), outcome: Outcome::Ok, sink }
    }

    /// Adds one row per item, named by `prefix` (see [`Item::display_name`]).
    pub fn push_items(&mut self, source: SourceKind, prefix: &str, items: &[Item], verdicts: Vec<ChainVerdict>) {
        for (item, verdict) in items.iter().zip(verdicts) {
            let row = self.item_row(source, prefix, item, verdict);
            self.emit(row);
        }
    }

    /// The row of one item, judged but not emitted yet.
    pub fn item_row(&self, source: SourceKind, prefix: &str, item: &Item, chain: ChainVerdict) -> Row {
        self.row(source, item.display_name(prefix), item.location.clone(), item.der().ok_or_else(|| err_of(item)), chain)
    }

    /// Adds one row for DER bytes or the reason there are none.
    pub fn push(&mut self, source: SourceKind, name: String, location: Location, der: Result<&[u8], String>, chain: ChainVerdict) {
        let row = self.row(source, name, location, der, chain);
        self.emit(row);
    }

    /// The row for DER bytes or the reason there are none, not emitted yet.
    pub fn row(&self, source: SourceKind, name: String, location: Location, der: Result<&[u8], String>, chain: ChainVerdict) -> Row {
        let info = der.and_then(|d| CertInfo::from_der(d).map_err(|e| e.to_string()));
        match info {
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
        }
    }

    /// The served-certificate row of a tenant: the served leaf judged by
    /// time and by `served.verdict`, or (unreachable) a row without a
    /// certificate that does not change the exit code.
    pub fn push_served(
        &mut self,
        name: String,
        location: Location,
        leaf: Option<&[u8]>,
        chain: ChainVerdict,
        served: Served,
        message: Option<String>,
    ) {
        let verdict = served.verdict;
        let row = match leaf {
            Some(der) if verdict != ServedVerdict::Unreachable => {
                let mut row = self.row(SourceKind::Tenant, name, location, Ok(der), chain);
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
                row
            }
            _ => Row {
                source: SourceKind::Tenant,
                name,
                location,
                certificate: None,
                residual: None,
                chain: ChainVerdict::NotChecked,
                served: Some(Served { verdict: ServedVerdict::Unreachable, ..served }),
                status: RowStatus::Unreachable,
                message,
            },
        };
        self.emit(row);
    }

    /// Counts a finished row and hands it to the sink. A chain that does
    /// not verify is as critical as an expired certificate: clients fail
    /// the same way.
    pub fn emit(&mut self, row: Row) {
        let outcome = match row.chain {
            ChainVerdict::Unverified { .. } => Outcome::Critical,
            _ => row.status.outcome(),
        };
        self.outcome = self.outcome.max(outcome);
        self.counts.add(row.status);
        self.sink.row(row);
    }

    /// Worst verdict over all rows so far.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Ends collecting, releasing the sink.
    pub fn finish(self) -> Tally {
        Tally { counts: self.counts, tenants: self.tenants, outcome: self.outcome }
    }
}

fn err_of(item: &Item) -> String {
    item.content.as_ref().err().cloned().unwrap_or_default()
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
