//! `kubectl pki exporter`: the certificates `status` reads, served as
//! Prometheus metrics and kept current by watches. Secrets are watched
//! (one watch per namespace, or one for all), Kamaji tenants judged and
//! dialled every `--served-interval`, node files re-read every
//! `--files-interval`. A source that fails is a metric and a log line; the
//! others keep being served.
//!
//! No clap types: [`Options`] holds the flags already parsed (`crate::commands::exporter`).

pub mod exposition;
pub mod families;
pub mod files;
pub mod http;
pub mod secrets;
pub mod series;
pub mod store;
pub mod tenants;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use crate::context::Ctx;
use crate::error::{Outcome, Result};
use store::Store;

/// Which namespaces' secrets and tenants are watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// `-n`, or the context's namespace.
    Namespaces(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    /// `None`: no API access at all (node files only).
    pub scope: Option<Scope>,
    pub tenants: bool,
    pub files: files::Files,
    pub served_interval: Duration,
    pub server_timeout: Duration,
    pub exclude_namespaces: Vec<String>,
    pub secret_label_selector: Option<String>,
    pub page_size: u32,
    /// Tenants judged and dialled at once.
    pub concurrency: usize,
    pub kamaji_namespace: String,
    pub kamaji_selector: String,
}

/// Serves until SIGTERM or Ctrl-C, then finishes open scrapes and returns.
pub async fn run(opts: &Options, ctx: &Ctx) -> Result<Outcome> {
    let store = Arc::new(Store::default());
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(scope) = &opts.scope {
        let client = ctx.client().await?;
        let namespaces = match scope {
            Scope::All => vec![None],
            Scope::Namespaces(list) => list.iter().cloned().map(Some).collect(),
        };
        for ns in &namespaces {
            let (source, api) = match ns {
                None => ("secrets/all".to_owned(), Api::<Secret>::all(client.clone())),
                Some(ns) => (format!("secrets/{ns}"), Api::<Secret>::namespaced(client.clone(), ns)),
            };
            store.register("kube-secret", &source, Some("secrets"));
            let watch = secrets::Watch {
                source,
                api,
                exclude_namespaces: opts.exclude_namespaces.clone(),
                label_selector: opts.secret_label_selector.clone(),
                page_size: opts.page_size,
                tenants: opts.tenants,
            };
            tasks.spawn(secrets::run(watch, store.clone()));
            if opts.tenants {
                let source = match ns {
                    None => tenants::SOURCE.to_owned(),
                    Some(ns) => format!("{}/{ns}", tenants::SOURCE),
                };
                store.register("kube-tenant", &source, None);
                let t = tenants::Tenants {
                    source,
                    client: client.clone(),
                    namespace: ns.clone(),
                    interval: opts.served_interval,
                    server_timeout: opts.server_timeout,
                    concurrency: opts.concurrency,
                    kamaji_namespace: opts.kamaji_namespace.clone(),
                    kamaji_selector: opts.kamaji_selector.clone(),
                };
                tasks.spawn(tenants::run(t, store.clone()));
            }
        }
    }
    if !opts.files.is_empty() {
        store.register("file", files::SOURCE, None);
        tasks.spawn(files::run(opts.files.clone(), store.clone()));
    }
    let served = http::serve(opts.listen, store, shutdown()).await;
    tasks.shutdown().await;
    served.map(|()| Outcome::Ok)
}

/// SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot watch SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping: finishing open scrapes");
}
