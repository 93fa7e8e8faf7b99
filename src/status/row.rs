//! One output row per certificate (or unreadable certificate slot), and the
//! collector the sources push into. Field names are the JSON/YAML schema.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::certs::chain::ChainVerdict;
use crate::certs::info::CertInfo;
use crate::certs::status::{self, Status};
use crate::error::Outcome;

use super::item::{Item, Location};

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
    pub status: Status,
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
                    status: status::classify(info.not_before, info.not_after, self.now, self.warn_within),
                    certificate: Some(info),
                    chain,
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
                status: Status::Invalid,
                message: Some(reason),
            },
        };
        self.rows.push(row);
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
        assert_eq!(col.rows[0].status, Status::Expiring);
        assert_eq!(col.rows[0].residual.as_deref(), Some("10d"));
        assert_eq!(col.rows[1].status, Status::Invalid);
        assert!(col.rows[1].message.as_deref().unwrap().contains("truncated"));
        assert_eq!(col.outcome(), Outcome::Critical);
        let json = serde_json::to_value(&col.rows[1]).unwrap();
        assert_eq!(json["certificate"], serde_json::Value::Null);
        assert_eq!(json["status"], "invalid");
        assert_eq!(json["source"], "secrets");
    }
}
