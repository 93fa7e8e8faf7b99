//! Every metric family, written from one [`Document`]: the exporter's
//! `/metrics` and `status -o prometheus` both come through here, so their
//! names, labels and help texts cannot drift apart.
//!
//! No I/O, no clap.

use std::collections::BTreeMap;

use super::exposition::{Exposition, Kind};
use super::series::{CERT_LABELS, CertSeries, Verdict};
use crate::status::served::ServedVerdict;
use crate::status::tenant_summary::TenantSummary;

/// A family of one value per series: its name, help, and how to read the value.
type Family<T> = (&'static str, &'static str, fn(&T, i64) -> f64);
/// Extra labels and the value of a tenant's series, if it has one.
type TenantValue = Option<(Vec<(&'static str, String)>, f64)>;

const SERVED: [ServedVerdict; 4] = [ServedVerdict::Ok, ServedVerdict::PendingRestart, ServedVerdict::Mismatch, ServedVerdict::Unreachable];

/// One source of certificates, as x509-certificate-exporter's `x509_source_*` families see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceHealth {
    /// `kube-secret`, `file`, `kubeconfig`...
    pub kind: &'static str,
    pub name: String,
    /// First sync done and the last attempt succeeded.
    pub up: bool,
    pub bundles: usize,
    /// Errors by reason (`http_403`, `bad_pem`, `watch_failed`...), since start.
    pub errors: BTreeMap<String, u64>,
    pub last_sync: Option<i64>,
    /// The API resource a watch source follows (`secrets`, `tenantcontrolplanes`).
    pub resource: Option<&'static str>,
    pub watch_restarts: u64,
}

impl SourceHealth {
    /// Synced once, or failed at least once.
    pub fn attempted(&self) -> bool {
        self.last_sync.is_some() || !self.errors.is_empty()
    }
}

/// What one scrape (or one `status -o prometheus`) shows.
#[derive(Debug, Default)]
pub struct Document<'a> {
    pub now: i64,
    /// Each certificate with the chain verdict to show for it.
    pub certs: Vec<(&'a CertSeries, Verdict)>,
    /// Certificate slots that could not be read (x509-certificate-exporter's `x509_read_errors`).
    pub read_errors: u64,
    pub tenants: Vec<&'a TenantSummary>,
    /// The Kamaji controller's issuance horizon, by its namespace.
    pub horizons: Vec<(String, i64)>,
    pub sources: Vec<SourceHealth>,
    /// Only the long-running exporter has watches to report.
    pub exporter: bool,
}

pub fn write(doc: &Document<'_>) -> String {
    let mut e = Exposition::new();
    write_to(&mut e, doc);
    e.into_string()
}

/// Every family into `e` (which may stream, see [`Exposition::streaming`]).
pub fn write_to(e: &mut Exposition<'_>, doc: &Document<'_>) {
    certificates(e, doc);
    tenants(e, doc);
    health(e, doc);
}

fn certificates(e: &mut Exposition<'_>, doc: &Document<'_>) {
    let gauges: [Family<CertSeries>; 3] = [
        ("x509_cert_not_after", "Unix time of the certificate's NotAfter.", |s, _| s.not_after as f64),
        ("x509_cert_not_before", "Unix time of the certificate's NotBefore.", |s, _| s.not_before as f64),
        ("x509_cert_expired", "1 if the certificate has expired, 0 otherwise.", |s, now| f64::from(u8::from(s.not_after < now))),
    ];
    for (name, help, value) in gauges {
        e.family(name, Kind::Gauge, help);
        for (s, _) in &doc.certs {
            e.sample(name, &pairs(s, None), value(s, doc.now));
        }
    }
    let name = "kubectl_pki_cert_chain_verdict";
    e.family(
        name,
        Kind::Gauge,
        "1 with the certificate's chain verdict: verified (chains to its CA; for a Kamaji tenant, the tenant's current CA), unverified, self-signed, not-checked.",
    );
    for (s, verdict) in &doc.certs {
        e.sample(name, &pairs(s, Some(verdict.as_str())), 1.0);
    }
    e.family("x509_read_errors", Kind::Gauge, "Certificate slots that could not be read, and sources that failed, now.");
    let failed = doc.sources.iter().filter(|s| !s.up).count() as u64;
    e.sample("x509_read_errors", &[], (doc.read_errors + failed) as f64);
}

fn pairs<'a>(s: &'a CertSeries, verdict: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut labels: Vec<(&str, &str)> = CERT_LABELS.iter().copied().zip(s.label_values()).collect();
    if let Some(v) = verdict {
        labels.push(("verdict", v));
    }
    labels
}

fn tenants(e: &mut Exposition<'_>, doc: &Document<'_>) {
    let base = |t: &'_ TenantSummary| [("tenant_namespace", t.namespace.clone()), ("tenant", t.name.clone())];
    let gauge = |e: &mut Exposition<'_>, name: &str, help: &str, value: &dyn Fn(&TenantSummary) -> TenantValue| {
        e.family(name, Kind::Gauge, help);
        for t in &doc.tenants {
            if let Some((extra, v)) = value(t) {
                let owned: Vec<(&str, String)> = base(t).into_iter().chain(extra).collect();
                let labels: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
                e.sample(name, &labels, v);
            }
        }
    };
    gauge(e, "kubectl_pki_tenant_ca_not_after_timestamp_seconds", "NotAfter of the tenant's current CA (<tcp>-ca ca.crt).", &|t| {
        t.ca_not_after.map(|v| (vec![], v.as_second() as f64))
    });
    gauge(
        e,
        "kubectl_pki_tenant_earliest_leaf_not_after_timestamp_seconds",
        "NotAfter of the tenant's leaf certificate that expires first, with its secret and key.",
        &|t| {
            t.earliest_leaf
                .as_ref()
                .map(|l| (vec![("secret_name", l.secret.clone()), ("secret_key", l.key.clone())], l.not_after.as_second() as f64))
        },
    );
    e.family(
        "kubectl_pki_tenant_served_verdict",
        Kind::Gauge,
        "1 for the verdict on the certificate the tenant API serves now (ok, pending-restart, mismatch, unreachable), 0 for the others.",
    );
    for t in &doc.tenants {
        let Some(current) = t.served else { continue };
        for v in SERVED {
            let labels = [("tenant_namespace", t.namespace.as_str()), ("tenant", t.name.as_str()), ("verdict", v.as_str())];
            e.sample("kubectl_pki_tenant_served_verdict", &labels, f64::from(u8::from(v == current)));
        }
    }
    gauge(e, "kubectl_pki_tenant_served_not_after_timestamp_seconds", "NotAfter of the leaf the tenant API serves now.", &|t| {
        t.served_not_after.map(|v| (vec![], v.as_second() as f64))
    });
    gauge(
        e,
        "kubectl_pki_tenant_rotation_in_progress",
        "1 while a kubectl-pki rotation or renewal holds the tenant's pki-rotate Lease.",
        &|t| t.rotating.map(|r| (vec![], f64::from(u8::from(r)))),
    );
    gauge(e, "kubectl_pki_tenant_dial_duration_seconds", "How long the last TLS dial of the tenant API took.", &|t| {
        t.dial_seconds.map(|d| (vec![], d))
    });
    e.family(
        "kubectl_pki_kamaji_issue_horizon_timestamp_seconds",
        Kind::Gauge,
        "When every leaf the Kamaji controller issues now expires: its oldest pod's start + 365 days.",
    );
    for (namespace, t) in &doc.horizons {
        e.sample("kubectl_pki_kamaji_issue_horizon_timestamp_seconds", &[("kamaji_namespace", namespace)], *t as f64);
    }
}

fn health(e: &mut Exposition<'_>, doc: &Document<'_>) {
    e.family("kubectl_pki_build_info", Kind::Gauge, "1, labelled with the kubectl-pki version.");
    e.sample("kubectl_pki_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    let per_source: [Family<SourceHealth>; 2] = [
        ("x509_source_up", "1 once the source has synced and its last attempt succeeded, 0 after an error.", |s, _| {
            f64::from(u8::from(s.up))
        }),
        ("x509_source_bundles", "Bundles (secrets, files) the source holds now.", |s, _| s.bundles as f64),
    ];
    for (name, help, value) in per_source {
        e.family(name, Kind::Gauge, help);
        for s in &doc.sources {
            e.sample(name, &[("source_kind", s.kind), ("source_name", &s.name)], value(s, doc.now));
        }
    }
    e.family("x509_source_errors_total", Kind::Counter, "Errors of a source since start, by reason.");
    for s in &doc.sources {
        for (reason, n) in &s.errors {
            e.sample("x509_source_errors_total", &[("source_kind", s.kind), ("source_name", &s.name), ("reason", reason)], *n as f64);
        }
    }
    if !doc.exporter {
        return;
    }
    e.family("kubectl_pki_exporter_watch_restarts_total", Kind::Counter, "Times a watch failed and was restarted, by resource and source.");
    for s in doc.sources.iter().filter_map(|s| s.resource.map(|r| (r, s))) {
        let (resource, s) = s;
        e.sample("kubectl_pki_exporter_watch_restarts_total", &[("resource", resource), ("source_name", &s.name)], s.watch_restarts as f64);
    }
    e.family("kubectl_pki_exporter_last_sync_timestamp_seconds", Kind::Gauge, "Unix time of the last successful sync of a source.");
    for s in &doc.sources {
        if let Some(t) = s.last_sync {
            e.sample("kubectl_pki_exporter_last_sync_timestamp_seconds", &[("source_kind", s.kind), ("source_name", &s.name)], t as f64);
        }
    }
}
