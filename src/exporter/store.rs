//! What the exporter holds between scrapes: per source, the series of each
//! secret or file (never their data), the tenants with their last dial, and
//! each source's health. Watches write it, scrapes read it.
//!
//! No I/O, no clap.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::families::{Document, SourceHealth};
use super::series::{CertSeries, Verdict};
use crate::status::tenant_judge::TenantSecret;
use crate::status::tenant_summary::TenantSummary;

/// What one secret or file contributes.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    /// Shared with scrapes in flight, which render without holding the lock.
    pub series: Arc<[CertSeries]>,
    /// Certificate slots that could not be read.
    pub read_errors: u32,
    /// Set for a Kamaji tenant's secret: its certificates, to judge the tenant.
    pub tenant: Option<TenantSecret>,
}

impl Bundle {
    /// Nothing to show or judge: not worth keeping.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.read_errors == 0 && self.tenant.is_none()
    }
}

/// `(namespace, name)` of a secret, or `("", path)` of a file.
pub type BundleKey = (Box<str>, Box<str>);

/// A bundle as a scrape renders it: its series, read errors, and its tenant's verdicts.
type Snapshot = (Arc<[CertSeries]>, u32, Option<Arc<HashMap<Box<str>, Verdict>>>);

/// A tenant's metrics and the chain verdicts of its certificates, by row name.
pub type Judged = (TenantSummary, Arc<HashMap<Box<str>, Verdict>>);

#[derive(Debug, Default)]
pub struct State {
    /// By source name (`secrets/<namespace>`, `secrets/all`, `files`).
    pub bundles: BTreeMap<String, HashMap<BundleKey, Bundle>>,
    pub sources: BTreeMap<String, SourceHealth>,
    /// By `(namespace, tcp)`: the last judgement of each tenant, with the
    /// chain verdicts of its certificates by row name.
    pub tenants: BTreeMap<(String, String), Judged>,
    /// The Kamaji controller's issuance horizon, by its namespace.
    pub horizons: BTreeMap<String, i64>,
}

#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<State>,
}

impl Store {
    /// The state; a writer that panicked leaves it usable (each update is whole).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a source before its first sync, so `/readyz` waits for it.
    pub fn register(&self, kind: &'static str, name: &str, resource: Option<&'static str>) {
        let mut s = self.lock();
        s.sources.insert(name.to_owned(), SourceHealth { kind, name: name.to_owned(), resource, ..SourceHealth::default() });
    }

    /// Every registered source has tried once: synced, or failed (a forbidden namespace is
    /// a metric, and must not keep the pod out of its Service forever).
    pub fn ready(&self) -> bool {
        self.lock().sources.values().all(SourceHealth::attempted)
    }

    /// Every source of `kind` has tried once (synced or failed).
    pub fn attempted_kind(&self, kind: &str) -> bool {
        self.lock().sources.values().filter(|s| s.kind == kind).all(SourceHealth::attempted)
    }

    /// The metrics text of this moment, whole (tests, small stores).
    pub fn render(&self, now: i64) -> String {
        let mut e = super::exposition::Exposition::new();
        self.render_to(now, &mut e);
        e.into_string()
    }

    /// The metrics text of this moment into `e`, which may stream it out in
    /// pieces. The lock is held only to take a snapshot (shared series, small
    /// copies); rendering and sending happen without it, so a slow scraper
    /// never holds up the watches.
    pub fn render_to(&self, now: i64, e: &mut super::exposition::Exposition<'_>) {
        let (bundles, tenants, horizons, sources) = {
            let s = self.lock();
            let bundles: Vec<Snapshot> = s
                .bundles
                .values()
                .flat_map(|m| m.values())
                .map(|b| {
                    let judged = b.tenant.as_ref().and_then(|t| s.tenants.get(&(t.namespace.clone(), t.tcp.clone())));
                    (b.series.clone(), b.read_errors, judged.map(|(_, v)| v.clone()))
                })
                .collect();
            let tenants: Vec<TenantSummary> = s.tenants.values().map(|(t, _)| t.clone()).collect();
            let horizons: Vec<(String, i64)> = s.horizons.iter().map(|(k, v)| (k.clone(), *v)).collect();
            let mut sources: Vec<SourceHealth> = s.sources.values().cloned().collect();
            for source in &mut sources {
                source.bundles = s.bundles.get(&source.name).map_or(0, HashMap::len);
            }
            (bundles, tenants, horizons, sources)
        };
        let mut doc = Document { now, exporter: true, horizons, sources, ..Document::default() };
        for (series, read_errors, judged) in &bundles {
            doc.read_errors += u64::from(*read_errors);
            for s in series.iter() {
                let verdict = judged.as_ref().and_then(|v| v.get(&s.name)).copied().unwrap_or(s.verdict);
                doc.certs.push((s, verdict));
            }
        }
        doc.tenants = tenants.iter().collect();
        super::families::write_to(e, &doc);
    }

    /// Notes an error of a source: counted by reason, and the source is down until it syncs again.
    pub fn error(&self, source: &str, reason: &str, restarted: bool) {
        let mut s = self.lock();
        if let Some(h) = s.sources.get_mut(source) {
            *h.errors.entry(reason.to_owned()).or_default() += 1;
            h.up = false;
            h.watch_restarts += u64::from(restarted);
        }
    }

    /// Notes a successful sync at `now`.
    pub fn synced(&self, source: &str, now: i64) {
        let mut s = self.lock();
        if let Some(h) = s.sources.get_mut(source) {
            h.up = true;
            h.last_sync = Some(now);
        }
    }
}
