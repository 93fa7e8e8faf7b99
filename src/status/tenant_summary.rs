//! What one Kamaji tenant comes to, folded from the rows of its judgement
//! ([`super::tenant_judge`]): its CA's NotAfter, the leaf that expires
//! first, the served verdict and the served certificate's NotAfter, the
//! counts per status and the worst. The `--all-tenants` table is one of
//! these per tenant; the exporter's tenant metrics are made from it.
//!
//! No I/O, no clap.

use jiff::Timestamp;
use serde::Serialize;

use super::row::{Row, RowStatus};
use super::served::ServedVerdict;
use crate::certs::ChainVerdict;
use crate::kamaji::names;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSummary {
    #[serde(skip)]
    pub namespace: String,
    #[serde(skip)]
    pub name: String,
    /// `<tcp>-ca` `ca.crt`.
    pub ca_not_after: Option<Timestamp>,
    /// The leaf (not a CA) that expires first.
    pub earliest_leaf: Option<EarliestLeaf>,
    pub served: Option<ServedVerdict>,
    pub served_not_after: Option<Timestamp>,
    /// A kubectl-pki run holds the tenant's `pki-rotate-<tcp>` Lease; `null` when not looked up.
    pub rotating: Option<bool>,
    /// How long the last dial of the tenant API took.
    #[serde(skip)]
    pub dial_seconds: Option<f64>,
    /// Rows per status, zeros left out.
    pub counts: std::collections::BTreeMap<&'static str, usize>,
    /// The worst status of its rows (`ok` without rows); an unverified chain counts as `mismatch`-grade critical.
    pub status: Option<RowStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EarliestLeaf {
    /// The row's name (`<ns>/<secret>/<key>[:entry]`).
    pub name: String,
    pub secret: String,
    pub key: String,
    pub not_after: Timestamp,
}

impl TenantSummary {
    pub fn new(namespace: &str, name: &str) -> TenantSummary {
        TenantSummary { namespace: namespace.to_owned(), name: name.to_owned(), ..TenantSummary::default() }
    }

    /// Takes one row of the tenant's judgement into account.
    pub fn fold(&mut self, row: &Row) {
        *self.counts.entry(row.status.as_str()).or_default() += 1;
        // An API that could not be dialled is shown in `served`, not as the tenant's status.
        let rank = |s: RowStatus| (s.outcome(), !matches!(s, RowStatus::Ok | RowStatus::Unreachable));
        let mut status = row.status;
        if matches!(row.chain, ChainVerdict::Unverified { .. }) && status.outcome() < crate::error::Outcome::Critical {
            status = RowStatus::Mismatch;
        }
        if status == RowStatus::Unreachable {
            self.status.get_or_insert(RowStatus::Ok);
        } else if self.status.is_none_or(|worst| rank(status) > rank(worst)) {
            self.status = Some(status);
        }
        if let Some(served) = &row.served {
            self.served = Some(served.verdict);
            self.served_not_after = row.certificate.as_ref().map(|c| c.not_after);
            return;
        }
        let Some(info) = &row.certificate else { return };
        let loc = &row.location;
        let ca_secret = names::secret_name(&self.name, names::CA);
        if loc.secret.as_deref() == Some(ca_secret.as_str()) && loc.key.as_deref() == Some(names::KEY_CA_CRT) {
            self.ca_not_after = Some(self.ca_not_after.map_or(info.not_after, |c| c.min(info.not_after)));
            return;
        }
        if info.is_ca {
            return;
        }
        if self.earliest_leaf.as_ref().is_none_or(|e| info.not_after < e.not_after) {
            self.earliest_leaf = Some(EarliestLeaf {
                name: row.name.clone(),
                secret: loc.secret.clone().unwrap_or_default(),
                key: loc.key.clone().unwrap_or_default(),
                not_after: info.not_after,
            });
        }
    }
}
