//! What the exporter says of one Kamaji tenant, folded from the rows its
//! `status --tenant` judgement gives: the CA's NotAfter, the earliest leaf,
//! the served verdict and the served certificate's NotAfter.
//!
//! No I/O, no clap.

use crate::kamaji::names;
use crate::status::row::Row;
use crate::status::served::ServedVerdict;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantMetrics {
    pub namespace: String,
    pub name: String,
    /// `<tcp>-ca` `ca.crt`.
    pub ca_not_after: Option<i64>,
    /// The leaf (not a CA) that expires first: `(secret, key, notAfter)`.
    pub earliest_leaf: Option<(String, String, i64)>,
    pub served: Option<ServedVerdict>,
    pub served_not_after: Option<i64>,
    /// A `pki-rotate-<tcp>` Lease exists; `None` when not looked up.
    pub rotating: Option<bool>,
    /// How long the last dial of the tenant API took.
    pub dial_seconds: Option<f64>,
}

impl TenantMetrics {
    pub fn new(namespace: &str, name: &str) -> TenantMetrics {
        TenantMetrics { namespace: namespace.to_owned(), name: name.to_owned(), ..TenantMetrics::default() }
    }

    /// Takes one row of the tenant's judgement into account.
    pub fn fold(&mut self, row: &Row) {
        if let Some(served) = &row.served {
            self.served = Some(served.verdict);
            self.served_not_after = row.certificate.as_ref().map(|c| c.not_after.as_second());
            return;
        }
        let Some(info) = &row.certificate else { return };
        let loc = &row.location;
        let ca_secret = names::secret_name(&self.name, names::CA);
        if loc.secret.as_deref() == Some(ca_secret.as_str()) && loc.key.as_deref() == Some(names::KEY_CA_CRT) {
            let t = info.not_after.as_second();
            self.ca_not_after = Some(self.ca_not_after.map_or(t, |c| c.min(t)));
            return;
        }
        if info.is_ca {
            return;
        }
        let t = info.not_after.as_second();
        if self.earliest_leaf.as_ref().is_none_or(|(_, _, e)| t < *e) {
            let secret = loc.secret.clone().unwrap_or_default();
            self.earliest_leaf = Some((secret, loc.key.clone().unwrap_or_default(), t));
        }
    }
}
