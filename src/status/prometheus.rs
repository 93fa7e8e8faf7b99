//! `status -o prometheus`: the rows as the exporter's metric families,
//! printed once (node_exporter's textfile collector, cron jobs). Rows
//! become the same [`CertSeries`] and [`TenantSummary`] the exporter
//! keeps, and [`families::write`] prints them, so both outputs agree.
//!
//! Rendering only: never fetches, no clap.

use std::io::{self, Write};

use jiff::Timestamp;

use super::row::{Row, SourceKind, Tally};
use super::tenant_summary::TenantSummary;
use crate::exporter::families::{self, Document};
use crate::exporter::series::{self, CertSeries};

/// Source, namespace, secret, path, ConfigMap and object: rows of one bundle share them.
type BundleKey = (SourceKind, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);

/// Rows grouped into bundles as they arrive (a bundle is one prefix: a secret, a file).
#[derive(Debug, Default)]
pub struct Sink {
    bundle: Vec<Row>,
    bundle_key: Option<BundleKey>,
    series: Vec<CertSeries>,
    read_errors: u64,
    /// A tenant's rows (a few dozen), folded once its name is known.
    tenant_rows: Vec<Row>,
}

impl Sink {
    pub fn row(&mut self, row: Row) {
        if row.certificate.is_none() && row.served.is_none() {
            self.read_errors += 1;
        }
        if row.source == SourceKind::Tenant {
            self.tenant_rows.push(row.clone());
        }
        let loc = &row.location;
        let key = (row.source, loc.namespace.clone(), loc.secret.clone(), loc.path.clone(), loc.config_map.clone(), loc.object.clone());
        if self.bundle_key.as_ref() != Some(&key) {
            self.flush();
            self.bundle_key = Some(key);
        }
        self.bundle.push(row);
    }

    fn flush(&mut self) {
        self.series.extend(series::bundle(&self.bundle));
        self.bundle.clear();
    }

    pub fn write_to(mut self, tally: &Tally, out: &mut dyn Write) -> io::Result<()> {
        self.flush();
        let tenants: Vec<TenantSummary> = tally
            .tenants
            .iter()
            .map(|info| {
                let mut t = TenantSummary::new(&info.namespace, &info.name);
                for row in self.tenant_rows.iter().filter(|r| r.location.namespace.as_deref() == Some(info.namespace.as_str())) {
                    t.fold(row);
                }
                t
            })
            .collect();
        let doc = Document {
            now: Timestamp::now().as_second(),
            certs: self.series.iter().map(|s| (s, s.verdict)).collect(),
            read_errors: self.read_errors,
            tenants: tenants.iter().collect(),
            horizons: tally
                .tenants
                .iter()
                .filter_map(|t| t.kamaji.as_ref())
                .filter_map(|k| k.issues_until.map(|u| (k.namespace.clone(), u.as_second())))
                .collect(),
            sources: vec![],
            exporter: false,
        };
        out.write_all(families::write(&doc).as_bytes())
    }
}
