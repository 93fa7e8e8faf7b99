//! The API server's serving chain, read by a TLS handshake that accepts any
//! certificate and records it; the chain is then judged by us against the
//! kubeconfig's CA (so a wrong CA is reported, not a failed connection).
//! [`served_chain`] is the same handshake for any URL (a tenant's API).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::certs::chain::ChainVerdict;
use crate::certs::parse::certificates_in;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::status::item::{Item, Kind, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// `timeout` bounds connecting plus the TLS handshake (`--server-timeout`).
pub async fn collect(ctx: &Ctx, col: &mut Collector, timeout: Duration) -> Result<()> {
    let certs = super::kubeconfig::context_certs(ctx)?;
    let Some(server) = certs.server.clone() else {
        return Err(Error::Kubeconfig { path: ctx.kubeconfig_origin(), reason: format!("context {} has no server", certs.context) });
    };
    let endpoint = Endpoint::parse(&server).map_err(|reason| Error::Kubeconfig { path: ctx.kubeconfig_origin(), reason })?;
    if !endpoint.tls {
        tracing::warn!("{server} is plain HTTP: no serving certificate to check");
        return Ok(());
    }
    let sni = certs.tls_server_name.clone().unwrap_or_else(|| endpoint.host.clone());
    let chain = handshake(&endpoint, &sni, timeout).await.map_err(|reason| Error::Unreachable { server: server.clone(), reason })?;

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
    let verdicts = if roots.is_empty() {
        items.iter().map(|_| ChainVerdict::NotChecked).collect()
    } else {
        judge::against(&items, &roots)
    };
    let start = col.rows.len();
    col.push_items(SourceKind::Server, &server, &items, verdicts);
    if let Some(leaf) = col.rows.get_mut(start)
        && let Some(info) = &leaf.certificate
        && !covers(&info.sans, &sni)
    {
        let remark = format!("SANs do not cover {sni}");
        leaf.message = Some(leaf.message.take().map_or(remark.clone(), |m| format!("{m}; {remark}")));
    }
    Ok(())
}

/// The chain served at `url` (leaf first), with `tls_server_name` (else
/// the URL's host) as SNI; the error says why there is none (bad or plain
/// HTTP URL, refused, no handshake within `timeout`).
pub async fn served_chain(url: &str, tls_server_name: Option<&str>, timeout: Duration) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let endpoint = Endpoint::parse(url)?;
    if !endpoint.tls {
        return Err(format!("{url} is plain HTTP: no serving certificate"));
    }
    let sni = tls_server_name.map_or_else(|| endpoint.host.clone(), str::to_owned);
    handshake(&endpoint, &sni, timeout).await
}

/// Host, port and scheme of a kubeconfig `server:` URL.
#[derive(Debug, PartialEq, Eq)]
struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
}

impl Endpoint {
    fn parse(url: &str) -> std::result::Result<Endpoint, String> {
        let bad = || format!("server URL {url:?} is not https://host[:port]");
        let (tls, rest) = match url.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            _ => return Err(bad()),
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = after.strip_prefix(':').map(str::parse).transpose().map_err(|_| bad())?;
            (host.to_owned(), port.unwrap_or(default_port))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Endpoint { tls, host, port })
    }
}

/// Whether the SANs name `host` (one-label wildcards allowed).
fn covers(sans: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    sans.iter().any(|san| {
        let san = san.to_ascii_lowercase();
        san == host
            || san.strip_prefix("*.").is_some_and(|suffix| host.split_once('.').is_some_and(|(_, rest)| rest == suffix))
    })
}

async fn handshake(endpoint: &Endpoint, sni: &str, timeout: Duration) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder { chain: Mutex::default(), provider: provider.clone() });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_owned()).map_err(|e| format!("TLS server name {sni:?}: {e}"))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await.map_err(|e| e.to_string())?;
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| format!("TLS handshake: {e}"))
    };
    match tokio::time::timeout(timeout, connect).await {
        Err(_) => return Err(format!("no TLS handshake within {timeout:?}")),
        Ok(result) => drop(result?),
    }
    let chain = recorder.chain.lock().map_err(|_| "TLS recorder poisoned".to_string())?.clone();
    if chain.is_empty() { Err("the server sent no certificate".into()) } else { Ok(chain) }
}

/// Accepts any server certificate and keeps the chain; handshake
/// signatures are still verified, so the peer holds the leaf's key.
#[derive(Debug)]
struct Recorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().map_err(|_| rustls::Error::General("recorder poisoned".into()))?;
        *chain = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_urls() {
        let e = |tls, host: &str, port| Endpoint { tls, host: host.into(), port };
        assert_eq!(Endpoint::parse("https://10.0.0.1:6443").unwrap(), e(true, "10.0.0.1", 6443));
        assert_eq!(Endpoint::parse("https://api.example.com/prefix").unwrap(), e(true, "api.example.com", 443));
        assert_eq!(Endpoint::parse("https://[::1]:6443").unwrap(), e(true, "::1", 6443));
        assert_eq!(Endpoint::parse("http://localhost:8080").unwrap(), e(false, "localhost", 8080));
        assert!(Endpoint::parse("10.0.0.1:6443").is_err());
        assert!(Endpoint::parse("https://host:port").is_err());
    }

    #[test]
    fn san_coverage() {
        let sans = vec!["kubernetes.default".to_string(), "*.example.com".into(), "10.0.0.1".into()];
        assert!(covers(&sans, "10.0.0.1"));
        assert!(covers(&sans, "API.example.com"));
        assert!(!covers(&sans, "a.b.example.com"));
        assert!(!covers(&sans, "example.com"));
    }
}
