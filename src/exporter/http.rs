//! The exporter's HTTP endpoints: `/metrics` (rendered from the store at
//! each scrape), `/healthz` (the process answers), `/readyz` (every source
//! has synced once). Stops accepting on shutdown and finishes open scrapes.
//!
//! No clap.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jiff::Timestamp;

use super::exposition::{CONTENT_TYPE, Exposition};
use super::store::Store;
use crate::error::{Error, Result};

pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(store)
}

/// Binds `listen` (an error names the address) and serves until `shutdown` resolves.
pub async fn serve(listen: SocketAddr, store: Arc<Store>, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| Error::Usage(format!("--listen {listen}: cannot listen: {e}")))?;
    let bound = listener.local_addr().unwrap_or(listen);
    tracing::info!(address = %bound, "serving /metrics, /healthz, /readyz");
    axum::serve(listener, router(store)).with_graceful_shutdown(shutdown).await.map_err(|e| Error::Usage(format!("--listen {listen}: {e}")))
}

/// Rendered on a blocking thread into a small channel: the answer leaves in
/// pieces while it is written, so memory does not hold a whole scrape.
async fn metrics(State(store): State<Arc<Store>>) -> impl IntoResponse {
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(4);
    tokio::task::spawn_blocking(move || {
        let mut e = Exposition::streaming(|piece| {
            // The client went away: the rest is not wanted.
            let _ = tx.blocking_send(piece);
        });
        store.render_to(Timestamp::now().as_second(), &mut e);
        e.finish();
    });
    let pieces = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (Ok::<_, std::convert::Infallible>(p), rx)) });
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], Body::from_stream(pieces))
}

async fn readyz(State(store): State<Arc<Store>>) -> impl IntoResponse {
    if store.ready() { (StatusCode::OK, "ok\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "initial sync not done\n") }
}

async fn index() -> impl IntoResponse {
    "kubectl-pki exporter: /metrics, /healthz, /readyz\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_only_after_every_source_synced() {
        let store = Arc::new(Store::default());
        store.register("kube-secret", "secrets/all", Some("secrets"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let s = store.clone();
        tokio::spawn(async move { axum::serve(listener, router(s)).await });
        let get = |path: &'static str| async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        };
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get("/readyz").await.starts_with("HTTP/1.1 503"));
        store.register("kube-secret", "secrets/forbidden", Some("secrets"));
        store.synced("secrets/all", 1);
        assert!(get("/readyz").await.starts_with("HTTP/1.1 503"), "one source has not tried yet");
        store.error("secrets/forbidden", "http_403", true);
        assert!(get("/readyz").await.starts_with("HTTP/1.1 200"), "a failed source is a metric, not unreadiness");
        let metrics = get("/metrics").await;
        assert!(metrics.contains("content-type: text/plain; version=0.0.4"), "{metrics}");
        assert!(metrics.contains("x509_source_up{source_kind=\"kube-secret\",source_name=\"secrets/all\"} 1"), "{metrics}");
    }
}
