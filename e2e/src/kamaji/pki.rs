//! Certificates and kubeconfigs for the stand-in, made with rcgen and checked with x509-parser.
//!
//! Difference from Kamaji: every key here is ECDSA P-256, where kubeadm (and so Kamaji) makes
//! RSA-2048 keys. ring, rcgen's backend in this workspace, cannot generate RSA keys, and P-256
//! keeps the tests fast. Validities follow kubeadm: CAs 10 years, leaves 1 year, both dated
//! from the controller's process start ([`Dating`]); the datastore and konnectivity
//! certificates follow Kamaji's own template (now + 10 years).

use std::net::IpAddr;

use anyhow::{Context, Result, bail};
use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertKey {
    pub cert: String,
    pub key: String,
}

/// What a leaf certificate is for.
#[derive(Clone, Copy, Debug)]
pub enum Usage {
    Server,
    Client,
    /// Datastore and konnectivity certificates serve and authenticate.
    ServerAndClient,
}

/// Below this remaining lifetime a certificate counts as expiring and is re-issued
/// (Kamaji's `--certificate-expiration-deadline` default).
const EXPIRY_DEADLINE: Duration = Duration::hours(24);

/// When a certificate's validity starts. kubeadm (and so Kamaji, which issues through it)
/// dates every certificate from `StartTimeUTC()`, set once when the PROCESS starts: NotBefore
/// = start − 5 min, NotAfter = start + 1 year (CAs 10 years), whenever it is issued. A
/// controller up for 300 days issues leaves that expire in 65 days.
#[derive(Clone, Copy, Debug)]
pub enum Dating {
    /// kubeadm's: from the controller's process start.
    ProcessStart(OffsetDateTime),
    /// Kamaji's `crypto.NewCertificateTemplate` (datastore, konnectivity): now, 10 years.
    NowTenYears,
}

/// A new self-signed CA dated from now.
pub fn new_ca(common_name: &str) -> Result<CertKey> {
    new_ca_dated(common_name, Dating::ProcessStart(OffsetDateTime::now_utc()))
}

/// A new self-signed CA.
pub fn new_ca_dated(common_name: &str, dating: Dating) -> Result<CertKey> {
    let key = KeyPair::generate()?;
    let mut params = base_params(common_name, &[], dating, 10)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign];
    let cert = params.self_signed(&key)?;
    Ok(CertKey { cert: cert.pem(), key: key.serialize_pem() })
}

/// A new leaf signed by `ca`, valid one year from now. `sans` may hold DNS names and IP addresses.
pub fn new_leaf(ca: &CertKey, common_name: &str, orgs: &[&str], usage: Usage, sans: &[String]) -> Result<CertKey> {
    new_leaf_dated(ca, common_name, orgs, usage, sans, Dating::ProcessStart(OffsetDateTime::now_utc()))
}

/// [`new_leaf`], dated by `dating`.
pub fn new_leaf_dated(ca: &CertKey, common_name: &str, orgs: &[&str], usage: Usage, sans: &[String], dating: Dating) -> Result<CertKey> {
    let ca_key = KeyPair::from_pem(&ca.key).context("CA key")?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key).context("CA certificate")?;
    let key = KeyPair::generate()?;
    let mut params = base_params(common_name, orgs, dating, 1)?;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = match usage {
        Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        Usage::ServerAndClient => vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
    };
    for san in sans {
        params.subject_alt_names.push(match san.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(san.as_str().try_into()?),
        });
    }
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertKey { cert: cert.pem(), key: key.serialize_pem() })
}

/// A new service-account signing key: (public PEM, private PEM).
pub fn new_sa_key() -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    // ECDSA P-256 (rcgen's default): kube-apiserver signs ES256 tokens with it.
    Ok((key.public_key_pem(), key.serialize_pem()))
}

/// Whether the FIRST public key of `public_pem` is the public half of `key_pem`, as Kamaji's
/// `crypto.CheckPublicAndPrivateKeyValidity` checks it (internal/resources/sa_certificate.go):
/// the keys after it (an old key kept so that its tokens still verify) are not looked at, so a
/// multi-key `sa.pub` is kept.
pub fn sa_pair_is_valid(public_pem: &[u8], key_pem: &[u8]) -> bool {
    let (Ok(key_pem), Ok(public_pem)) = (std::str::from_utf8(key_pem), std::str::from_utf8(public_pem)) else {
        return false;
    };
    let Some(first) = first_pem_block(public_pem) else {
        return false;
    };
    // Compared as keys (the DER), as Go does, not as text: line endings and wrapping differ
    // between PEM writers.
    KeyPair::from_pem(key_pem).is_ok_and(|key| pem_body(&key.public_key_pem()).is_some_and(|own| pem_body(first) == Some(own)))
}

/// The first PEM block of `text` (BEGIN line to END line), trimmed.
fn first_pem_block(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")?;
    let end_marker = text[start..].find("-----END ")? + start;
    let close = text[end_marker + 9..].find("-----")? + end_marker + 9 + 5;
    Some(text[start..close].trim())
}

/// The DER of a PEM block.
fn pem_body(block: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = block.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().chars()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// 32 hex characters of fresh randomness (for the datastore password).
pub fn random_hex() -> Result<String> {
    let key = KeyPair::generate()?;
    Ok(hex(&Sha256::digest(key.serialized_der())[..16]))
}

fn base_params(common_name: &str, orgs: &[&str], dating: Dating, years: i64) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    for org in orgs {
        dn.push(DnType::OrganizationName, *org);
    }
    params.distinguished_name = dn;
    let (start, years) = match dating {
        Dating::ProcessStart(start) => (start, years),
        Dating::NowTenYears => (OffsetDateTime::now_utc(), 10),
    };
    params.not_before = start - Duration::minutes(5);
    params.not_after = start + Duration::days(365 * years);
    Ok(params)
}

/// The DER of the first certificate in `pem`.
pub fn first_cert_der(pem: &[u8]) -> Result<Vec<u8>> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| anyhow::anyhow!("no PEM certificate: {e}"))?;
    if pem.label != "CERTIFICATE" {
        bail!("PEM block is {}, not CERTIFICATE", pem.label);
    }
    Ok(pem.contents)
}

fn with_cert<T>(pem: &[u8], f: impl FnOnce(&X509Certificate<'_>) -> T) -> Result<T> {
    let der = first_cert_der(pem)?;
    let (_, cert) = X509Certificate::from_der(&der).map_err(|e| anyhow::anyhow!("bad certificate: {e}"))?;
    Ok(f(&cert))
}

/// Lowercase hex SHA-256 of the certificate's DER: the fingerprint kubectl-pki shows.
pub fn fingerprint(cert_pem: &[u8]) -> Result<String> {
    Ok(hex(&Sha256::digest(first_cert_der(cert_pem)?)))
}

/// Kamaji's pair check: the certificate parses, is in its validity window and not about to
/// expire, and the key is the certificate's key.
pub fn pair_is_valid(cert_pem: &[u8], key_pem: &[u8]) -> bool {
    let Ok(key_pem) = std::str::from_utf8(key_pem) else {
        return false;
    };
    let Ok(key) = KeyPair::from_pem(key_pem) else {
        return false;
    };
    with_cert(cert_pem, |cert| in_window(cert) && cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw())
        .unwrap_or(false)
}

/// Whether `cert_pem` is signed by the CA in `ca_pem` and currently valid (Kamaji's `VerifyCertificate`).
pub fn verifies(cert_pem: &[u8], ca_pem: &[u8]) -> bool {
    let Ok(ca_der) = first_cert_der(ca_pem) else {
        return false;
    };
    let Ok((_, ca)) = X509Certificate::from_der(&ca_der) else {
        return false;
    };
    with_cert(cert_pem, |cert| in_window(cert) && cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok())
        .unwrap_or(false)
}

/// Whether every name in `names` is among the certificate's DNS or IP SANs.
pub fn sans_cover(cert_pem: &[u8], names: &[String]) -> bool {
    with_cert(cert_pem, |cert| {
        let mut have = Vec::new();
        for ext in cert.extensions() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => have.push(d.to_string()),
                        GeneralName::IPAddress(b) => have.extend(ip_from_bytes(b).map(|ip| ip.to_string())),
                        _ => {}
                    }
                }
            }
        }
        names.iter().all(|n| have.contains(n))
    })
    .unwrap_or(false)
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

fn in_window(cert: &X509Certificate<'_>) -> bool {
    cert.validity().is_valid() && cert.validity().time_to_expiration().is_some_and(|left| left > EXPIRY_DEADLINE)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Kamaji-style checksum of a secret's data: a hash over the values sorted by key.
/// Kamaji uses MD5; this uses the first 128 bits of SHA-256 (same length, no extra crate).
pub fn checksum<'a>(data: impl IntoIterator<Item = (&'a String, &'a [u8])>) -> String {
    let mut entries: Vec<_> = data.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut hasher = Sha256::new();
    for (_, value) in entries {
        hasher.update(value);
    }
    hex(&hasher.finalize()[..16])
}

/// A kubeconfig with one cluster, one user and one context, all named after `user`,
/// embedding the CA and the client certificate (like kubeadm's).
pub fn kubeconfig(server: &str, ca_pem: &str, user: &str, client: &CertKey) -> Result<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let cluster = "kubernetes";
    let context = format!("{user}@{cluster}");
    let value = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(&client.cert), "client-key-data": b64(&client.key)}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
        "preferences": {},
    });
    Ok(serde_saphyr::to_string(&value)?)
}

/// What the stand-in checks in a kubeconfig: server URL, embedded CA, client cert and key (PEM).
pub struct KubeconfigParts {
    pub server: String,
    pub ca: Vec<u8>,
    pub client: CertKey,
}

pub fn parse_kubeconfig(yaml: &[u8]) -> Result<KubeconfigParts> {
    let kc: serde_json::Value = serde_saphyr::from_slice(yaml).context("kubeconfig YAML")?;
    let field =
        |path: &str| -> Result<&str> { kc.pointer(path).and_then(|v| v.as_str()).with_context(|| format!("kubeconfig has no {path}")) };
    let decode = |path: &str| -> Result<Vec<u8>> { Ok(base64::engine::general_purpose::STANDARD.decode(field(path)?)?) };
    Ok(KubeconfigParts {
        server: field("/clusters/0/cluster/server")?.to_string(),
        ca: decode("/clusters/0/cluster/certificate-authority-data")?,
        client: CertKey {
            cert: String::from_utf8(decode("/users/0/user/client-certificate-data")?)?,
            key: String::from_utf8(decode("/users/0/user/client-key-data")?)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_key_sa_pub_is_valid_when_its_first_key_signs() {
        let (new_pub, new_key) = new_sa_key().unwrap();
        let (old_pub, old_key) = new_sa_key().unwrap();
        let bundle = format!("{new_pub}{old_pub}");
        assert!(sa_pair_is_valid(bundle.as_bytes(), new_key.as_bytes()));
        assert!(sa_pair_is_valid(new_pub.as_bytes(), new_key.as_bytes()));
        assert!(!sa_pair_is_valid(bundle.as_bytes(), old_key.as_bytes()), "only the first key is checked");
        assert!(!sa_pair_is_valid(b"", new_key.as_bytes()));
        let rewrapped = format!("{}{old_pub}", new_pub.replace('\n', "\r\n"));
        assert!(sa_pair_is_valid(rewrapped.as_bytes(), new_key.as_bytes()), "compared as keys, not as text");
    }

    #[test]
    fn leaf_verifies_against_its_ca_only() {
        let ca = new_ca("kubernetes").unwrap();
        let other = new_ca("kubernetes").unwrap();
        let sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let leaf = new_leaf(&ca, "kube-apiserver", &[], Usage::Server, &sans).unwrap();
        assert!(verifies(leaf.cert.as_bytes(), ca.cert.as_bytes()));
        assert!(!verifies(leaf.cert.as_bytes(), other.cert.as_bytes()));
        assert!(pair_is_valid(leaf.cert.as_bytes(), leaf.key.as_bytes()));
        assert!(!pair_is_valid(leaf.cert.as_bytes(), ca.key.as_bytes()));
        assert!(sans_cover(leaf.cert.as_bytes(), &sans));
        assert!(!sans_cover(leaf.cert.as_bytes(), &["10.0.0.9".to_string()]));
        assert_ne!(fingerprint(ca.cert.as_bytes()).unwrap(), fingerprint(other.cert.as_bytes()).unwrap());
    }

    #[test]
    fn kubeconfig_round_trips() {
        let ca = new_ca("kubernetes").unwrap();
        let admin = new_leaf(&ca, "kubernetes-admin", &["system:masters"], Usage::Client, &[]).unwrap();
        let yaml = kubeconfig("https://127.0.0.1:6443", &ca.cert, "kubernetes-admin", &admin).unwrap();
        let parts = parse_kubeconfig(yaml.as_bytes()).unwrap();
        assert_eq!(parts.server, "https://127.0.0.1:6443");
        assert_eq!(parts.ca, ca.cert.as_bytes());
        assert!(verifies(parts.client.cert.as_bytes(), &parts.ca));
        assert!(pair_is_valid(parts.client.cert.as_bytes(), parts.client.key.as_bytes()));
    }

    #[test]
    fn checksum_ignores_key_order() {
        let (a, b) = ("a".to_string(), "b".to_string());
        let one = checksum([(&a, &b"1"[..]), (&b, &b"2"[..])]);
        let two = checksum([(&b, &b"2"[..]), (&a, &b"1"[..])]);
        assert_eq!(one, two);
        assert_eq!(one.len(), 32);
    }
}
