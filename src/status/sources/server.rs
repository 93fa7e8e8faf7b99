//! The API server's serving chain, read by a TLS handshake that accepts any
//! certificate and records it; the chain is then judged by us against the
//! kubeconfig's CA (so a wrong CA is reported, not a failed connection).
//! The handshake is [`crate::served`]; [`served_chain`] is it for any URL (a tenant's API).
//!
//! One handshake, no Kubernetes API call; never renders, no clap.

use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::certs::chain::ChainVerdict;
use crate::certs::kubeconfig::ContextCerts;
use crate::certs::parse::certificates_in;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::served::{self, Endpoint};
use crate::status::item::{Item, Kind, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// `timeout` bounds connecting plus the TLS handshake (`--server-timeout`).
/// `certs` are the context's ([`super::kubeconfig::context_certs`]).
pub async fn collect(ctx: &Ctx, certs: &ContextCerts, col: &mut Collector<'_>, timeout: Duration) -> Result<()> {
    let Some(server) = certs.server.clone() else {
        return Err(Error::Kubeconfig { path: ctx.kubeconfig_origin(), reason: format!("context {} has no server", certs.context) });
    };
    let endpoint = Endpoint::parse(&server).map_err(|reason| Error::Kubeconfig { path: ctx.kubeconfig_origin(), reason })?;
    if !endpoint.tls {
        tracing::warn!("{server} is plain HTTP: no serving certificate to check");
        return Ok(());
    }
    let sni = certs.tls_server_name.clone().unwrap_or_else(|| endpoint.host.clone());
    let chain = served::handshake(&endpoint, &sni, timeout)
        .await
        .map_err(|e| Error::Unreachable { server: server.clone(), reason: e.to_string() })?;

    let roots: Vec<Vec<u8>> = certs
        .ca
        .as_ref()
        .and_then(|m| m.data.as_ref().ok())
        .and_then(|pem| certificates_in(pem).ok())
        .map(|c| c.into_iter().map(|c| c.as_ref().to_vec()).collect())
        .unwrap_or_default();
    let items: Vec<Item> = chain
        .iter()
        .enumerate()
        .map(|(index, der)| Item {
            location: Location { path: Some(server.clone()), index, ..Default::default() },
            bundle_len: chain.len(),
            group: 1,
            doc: None,
            kind: Kind::Plain,
            content: Ok(der.clone()),
        })
        .collect();
    let verdicts = if roots.is_empty() { items.iter().map(|_| ChainVerdict::NotChecked).collect() } else { judge::against(&items, &roots) };
    for (index, (item, verdict)) in items.iter().zip(verdicts).enumerate() {
        let mut row = col.item_row(SourceKind::Server, &server, item, verdict);
        // The leaf (served first) must name the host clients ask for.
        if index == 0
            && let Some(info) = &row.certificate
            && !covers(&info.sans, &sni)
        {
            let remark = format!("SANs do not cover {sni}");
            row.message = Some(row.message.take().map_or(remark.clone(), |m| format!("{m}; {remark}")));
        }
        col.emit(row);
    }
    Ok(())
}

/// The chain served at `url` (leaf first), with `tls_server_name` (else
/// the URL's host) as SNI; the error says why there is none (bad or plain
/// HTTP URL, refused, no handshake within `timeout`).
pub async fn served_chain(
    url: &str,
    tls_server_name: Option<&str>,
    timeout: Duration,
) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    served::served_chain(url, tls_server_name, timeout).await.map_err(|e| e.to_string())
}

/// Whether the SANs name `host` (one-label wildcards allowed).
fn covers(sans: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    sans.iter().any(|san| {
        let san = san.to_ascii_lowercase();
        san == host || san.strip_prefix("*.").is_some_and(|suffix| host.split_once('.').is_some_and(|(_, rest)| rest == suffix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn san_coverage() {
        let sans = vec!["kubernetes.default".to_string(), "*.example.com".into(), "10.0.0.1".into()];
        assert!(covers(&sans, "10.0.0.1"));
        assert!(covers(&sans, "API.example.com"));
        assert!(!covers(&sans, "a.b.example.com"));
        assert!(!covers(&sans, "example.com"));
    }
}
