//! The chain a TLS server presents, recorded by a handshake that accepts
//! any certificate: the chain is then judged by the caller (`status`
//! against a kubeconfig's CA, `rotate-ca` against the tenant's new CA), so
//! a wrong CA is a finding, not a failed connection. Handshake signatures
//! are still verified: the peer holds the leaf's key.
//!
//! Failures say whether a TCP connection was made: "not reachable from
//! here" and "reachable but not (yet) serving TLS" lead to different
//! verdicts.
//!
//! One TLS handshake per call: no Kubernetes API, no clap. Kept out of `certs`,
//! which does no network I/O.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Why no chain was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoChain {
    /// The URL is not `https://host[:port]` (or is plain HTTP), or the TLS
    /// server name is invalid.
    Url(String),
    /// No TCP connection: refused, unknown host, no route, or none within the timeout.
    Connect(String),
    /// Connected, but no certificate: a TLS error, or no handshake within the timeout.
    Handshake(String),
}

impl NoChain {
    /// A TCP connection was made (the endpoint is reachable from here).
    pub fn connected(&self) -> bool {
        matches!(self, NoChain::Handshake(_))
    }
}

impl fmt::Display for NoChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoChain::Url(m) | NoChain::Connect(m) | NoChain::Handshake(m) => f.write_str(m),
        }
    }
}

/// The chain served at `url` (leaf first), with `tls_server_name` (else
/// the URL's host) as SNI. `timeout` bounds connecting plus the handshake.
pub async fn served_chain(url: &str, tls_server_name: Option<&str>, timeout: Duration) -> Result<Vec<CertificateDer<'static>>, NoChain> {
    let endpoint = Endpoint::parse(url).map_err(NoChain::Url)?;
    if !endpoint.tls {
        return Err(NoChain::Url(format!("{url} is plain HTTP: no serving certificate")));
    }
    let sni = tls_server_name.map_or_else(|| endpoint.host.clone(), str::to_owned);
    handshake(&endpoint, &sni, timeout).await
}

/// Host, port and scheme of a kubeconfig `server:` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
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

/// One TLS handshake with `endpoint`, sending `sni`; the recorded chain.
pub async fn handshake(endpoint: &Endpoint, sni: &str, timeout: Duration) -> Result<Vec<CertificateDer<'static>>, NoChain> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder { chain: Mutex::default(), provider: provider.clone() });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NoChain::Url(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_owned()).map_err(|e| NoChain::Url(format!("TLS server name {sni:?}: {e}")))?;
    let deadline = tokio::time::Instant::now() + timeout;
    let tcp = match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))).await {
        Err(_) => return Err(NoChain::Connect(format!("no TCP connection within {timeout:?}"))),
        Ok(Err(e)) => return Err(NoChain::Connect(e.to_string())),
        Ok(Ok(tcp)) => tcp,
    };
    match tokio::time::timeout_at(deadline, tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp)).await {
        Err(_) => return Err(NoChain::Handshake(format!("no TLS handshake within {timeout:?}"))),
        Ok(Err(e)) => return Err(NoChain::Handshake(format!("TLS handshake: {e}"))),
        Ok(Ok(stream)) => drop(stream),
    }
    let chain = recorder.chain.lock().map_err(|_| NoChain::Handshake("TLS recorder poisoned".into()))?.clone();
    if chain.is_empty() { Err(NoChain::Handshake("the server sent no certificate".into())) } else { Ok(chain) }
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
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().map_err(|_| rustls::Error::General("recorder poisoned".into()))?;
        *chain = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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

    #[tokio::test]
    async fn refused_is_not_connected_silent_is_connected() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = served_chain(&format!("https://127.0.0.1:{port}"), None, Duration::from_secs(2)).await.unwrap_err();
        assert!(matches!(refused, NoChain::Connect(_)) && !refused.connected(), "{refused:?}");
        // Accepts connections, never answers: reachable, no handshake.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://127.0.0.1:{}", silent.local_addr().unwrap().port());
        let e = served_chain(&url, None, Duration::from_millis(300)).await.unwrap_err();
        assert_eq!(e, NoChain::Handshake("no TLS handshake within 300ms".into()));
        assert!(e.connected());
        let plain = served_chain("http://127.0.0.1:1", None, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(plain, NoChain::Url(ref m) if m.contains("plain HTTP")), "{plain:?}");
    }

    #[tokio::test]
    async fn records_the_served_chain_whatever_its_ca() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["tenant.example".into()]).unwrap().self_signed(&key).unwrap();
        let der = CertificateDer::from(cert.der().to_vec());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der.clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = tokio_rustls::TlsAcceptor::from(Arc::new(config)).accept(tcp).await;
        });
        let chain = served_chain(&url, Some("tenant.example"), Duration::from_secs(5)).await.unwrap();
        assert_eq!(chain, vec![der]);
        server.await.unwrap();
    }
}
