//! Secrets, watched: a paged initial list, then a watch that resumes from
//! its last resourceVersion (bookmarks on), relisting only when the API
//! says the version is gone. Each secret becomes its series at once and
//! the secret is dropped; a relist is staged and swapped in whole when it
//! completes, so a scrape never sees a half-read cluster and a failed
//! relist keeps the last values.
//!
//! Fetches through kube-runtime's watcher; no clap.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::store::{Bundle, BundleKey, Store};
use crate::status::judge;
use crate::status::row::{Collector, Row, SourceKind};
use crate::status::sources::secrets::items_of;
use crate::status::tenant_judge::TenantSecret;

/// Secret types that never hold certificates but can be large (Helm keeps
/// every release in one); the API server filters them out.
const SKIPPED_TYPE: &str = "helm.sh/release.v1";

/// One watch: a namespace, or every namespace.
pub struct Watch {
    pub source: String,
    pub api: Api<Secret>,
    pub exclude_namespaces: Vec<String>,
    pub label_selector: Option<String>,
    pub page_size: u32,
    /// Keep what a tenant's judgement needs of Kamaji secrets.
    pub tenants: bool,
}

impl Watch {
    fn config(&self) -> watcher::Config {
        let mut fields = vec![format!("type!={SKIPPED_TYPE}")];
        fields.extend(self.exclude_namespaces.iter().map(|ns| format!("metadata.namespace!={ns}")));
        let mut config = watcher::Config::default().page_size(self.page_size).fields(&fields.join(","));
        if let Some(selector) = &self.label_selector {
            config = config.labels(selector);
        }
        config
    }
}

/// Runs until the process stops; errors are counted, logged and retried with backoff.
pub async fn run(watch: Watch, store: Arc<Store>) {
    let stream = watcher::watcher(watch.api.clone(), watch.config()).default_backoff();
    futures::pin_mut!(stream);
    let mut staging: Option<HashMap<BundleKey, Bundle>> = None;
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => staging = Some(HashMap::new()),
            Ok(Event::InitApply(secret)) => {
                if let (Some(map), Some(key)) = (staging.as_mut(), key_of(&secret)) {
                    let bundle = bundle_of(&secret, watch.tenants);
                    if !bundle.is_empty() {
                        map.insert(key, bundle);
                    }
                }
            }
            Ok(Event::InitDone) => {
                let fresh = staging.take().unwrap_or_default();
                tracing::info!(source = %watch.source, secrets = fresh.len(), "secrets synced");
                store.lock().bundles.insert(watch.source.clone(), fresh);
                store.synced(&watch.source, Timestamp::now().as_second());
            }
            Ok(Event::Apply(secret)) => {
                if let Some(key) = key_of(&secret) {
                    let bundle = bundle_of(&secret, watch.tenants);
                    let mut state = store.lock();
                    let map = state.bundles.entry(watch.source.clone()).or_default();
                    // A secret without certificates is not kept: memory follows certificates, not secrets.
                    if bundle.is_empty() {
                        map.remove(&key);
                    } else {
                        map.insert(key, bundle);
                    }
                    drop(state);
                    store.synced(&watch.source, Timestamp::now().as_second());
                }
            }
            Ok(Event::Delete(secret)) => {
                if let Some(key) = key_of(&secret) {
                    if let Some(map) = store.lock().bundles.get_mut(&watch.source) {
                        map.remove(&key);
                    }
                    store.synced(&watch.source, Timestamp::now().as_second());
                }
            }
            Err(e) => {
                let reason = reason(&e);
                tracing::warn!(source = %watch.source, reason = %reason, "secret watch failed, retrying: {}", crate::output::clean_line(&describe(&e)));
                store.error(&watch.source, &reason, true);
            }
        }
    }
}

fn key_of(secret: &Secret) -> Option<BundleKey> {
    let m = &secret.metadata;
    Some((m.namespace.as_deref().unwrap_or_default().into(), m.name.as_deref()?.into()))
}

/// The series of one secret, judged within itself; a Kamaji tenant's secret
/// also keeps its certificates for the tenant's judgement.
pub fn bundle_of(secret: &Secret, tenants: bool) -> Bundle {
    let (prefix, ex) = items_of(secret);
    let mut rows: Vec<Row> = Vec::new();
    let mut col = Collector::new(Timestamp::now(), jiff::SignedDuration::ZERO, &mut rows);
    col.push_items(SourceKind::Secrets, &prefix, &ex.items, judge::within_document(&ex.items));
    drop(col);
    let read_errors = rows.iter().filter(|r| r.certificate.is_none()).count() as u32;
    let tenant = if tenants { TenantSecret::of(secret) } else { None };
    Bundle { series: super::series::bundle(&rows).into(), read_errors, tenant }
}

/// One line: the API's own message for an API answer (not kube's debug dump of it).
fn describe(e: &watcher::Error) -> String {
    let (what, client) = match e {
        watcher::Error::InitialListFailed(c) => ("list", c),
        watcher::Error::WatchStartFailed(c) | watcher::Error::WatchFailed(c) => ("watch", c),
        watcher::Error::WatchError(status) => return format!("watch: {} ({})", status.message, status.code),
        watcher::Error::NoResourceVersion => return e.to_string(),
    };
    match client {
        kube::Error::Api(status) => format!("{what}: {} ({})", status.message, status.code),
        other => format!("{what}: {}", crate::error::flatten(other)),
    }
}

/// x509-certificate-exporter's reason codes: `http_<code>` for an API answer.
fn reason(e: &watcher::Error) -> String {
    let client = match e {
        watcher::Error::InitialListFailed(c) | watcher::Error::WatchStartFailed(c) | watcher::Error::WatchFailed(c) => c,
        watcher::Error::WatchError(status) => return format!("http_{}", status.code),
        watcher::Error::NoResourceVersion => return "no_resource_version".into(),
    };
    match client {
        kube::Error::Api(status) => format!("http_{}", status.code),
        _ => "unreachable".into(),
    }
}
