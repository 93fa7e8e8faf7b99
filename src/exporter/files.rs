//! Certificate files on the node (`--file`, `--k3s-dir`, `--kubeadm-dir`):
//! read as `status` reads them, again every `--files-interval`, one bundle
//! per path. For a hostPath DaemonSet; no API access needed.
//!
//! Reads files; no clap.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::store::{Bundle, BundleKey, Store};
use crate::status::row::{Collector, Row};
use crate::status::sources;

/// The source name of node files in `x509_source_*`.
pub const SOURCE: &str = "files";

#[derive(Debug, Clone, Default)]
pub struct Files {
    pub files: Vec<PathBuf>,
    pub k3s_dir: Option<PathBuf>,
    pub kubeadm_dir: Option<PathBuf>,
    pub interval: Duration,
}

impl Files {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.k3s_dir.is_none() && self.kubeadm_dir.is_none()
    }
}

pub async fn run(files: Files, store: Arc<Store>) {
    let mut tick = tokio::time::interval(files.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let f = files.clone();
        match tokio::task::spawn_blocking(move || read(&f)).await {
            Ok(Ok(bundles)) => {
                store.lock().bundles.insert(SOURCE.into(), bundles);
                store.synced(SOURCE, Timestamp::now().as_second());
            }
            Ok(Err(e)) => {
                tracing::warn!("cannot read the node files: {}", crate::output::clean_line(&e.to_string()));
                store.error(SOURCE, "read_failed", false);
            }
            Err(e) => tracing::error!("reading the node files stopped: {e}"),
        }
    }
}

/// One bundle per path; a path that cannot be read is a read error, not a failure.
pub fn read(files: &Files) -> crate::error::Result<HashMap<BundleKey, Bundle>> {
    let mut rows: Vec<Row> = Vec::new();
    let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO, &mut rows);
    sources::files::collect(&files.files, &mut col)?;
    if let Some(dir) = &files.k3s_dir {
        sources::k3s::collect(dir, &mut col)?;
    }
    if let Some(dir) = &files.kubeadm_dir {
        sources::kubeadm::collect(dir, &mut col)?;
    }
    drop(col);
    let mut by_path: HashMap<String, Vec<Row>> = HashMap::new();
    for row in rows {
        by_path.entry(row.location.path.clone().unwrap_or_else(|| row.name.clone())).or_default().push(row);
    }
    Ok(by_path
        .into_iter()
        .map(|(path, rows)| {
            let read_errors = rows.iter().filter(|r| r.certificate.is_none()).count() as u32;
            let key: BundleKey = ("".into(), path.into());
            (key, Bundle { series: super::series::bundle(&rows).into(), read_errors, tenant: None })
        })
        .collect())
}
