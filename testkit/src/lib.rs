//! The certificate factory of kubectl-pki's tests and bench, made with rcgen
//! (ECDSA P-256 unless a test asks for another key): unit tests, the CLI
//! tests, the e2e harness and tests, and the bench's seeding all take their
//! CAs, intermediates and leaves from here.
//!
//! Three families, by what the caller needs:
//! - [`ca`], [`intermediate_signed_by`], [`leaf_signed_by`], [`with_params`]:
//!   unit tests; `<cn>.example` as SAN, an authority key identifier, rcgen's
//!   default validity (1975 to 4096), panics on failure.
//! - [`dated`]: fixed dates (CLI and e2e tests of expiry), no authority key
//!   identifier, panics on failure.
//! - [`kubeadm`]: kubeadm's profiles (CA 10 years, serving and client leaves
//!   1 year, backdated an hour), fallible, for the e2e control plane and the
//!   bench.
//!
//! The Kamaji stand-in (`e2e/src/kamaji/pki.rs`) keeps its own issuance on
//! purpose: a fixture must not share a bug with the code under test.

use std::path::Path;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

pub mod kubeadm;

pub use rcgen;

/// A certificate with its key; `issuer` signs further certificates with it.
pub struct TestCert {
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pem: String,
    pub issuer: Issuer<'static, KeyPair>,
}

/// The key types tests and the bench generate (RSA: [`rsa_2048_pem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    EcdsaP256,
    Ed25519,
}

impl KeyType {
    pub fn generate(self) -> Result<KeyPair, rcgen::Error> {
        match self {
            KeyType::EcdsaP256 => KeyPair::generate(),
            KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        }
    }
}

/// Signs `params` with `key`: self-signed, or by `issuer`.
pub fn sign(params: &CertificateParams, key: &KeyPair, issuer: Option<&Issuer<'_, KeyPair>>) -> Result<rcgen::Certificate, rcgen::Error> {
    match issuer {
        Some(i) => params.signed_by(key, i),
        None => params.self_signed(key),
    }
}

/// Signs `params` with `key` (self-signed, or by `issuer`) and keeps both.
pub fn issue(params: CertificateParams, key: KeyPair, issuer: Option<&Issuer<'_, KeyPair>>) -> Result<TestCert, rcgen::Error> {
    let cert = sign(&params, &key, issuer)?;
    Ok(TestCert { der: cert.der().to_vec(), pem: cert.pem(), key_pem: key.serialize_pem(), issuer: Issuer::new(params, key) })
}

/// `<cn>.example` as SAN, CN=`cn`, an unconstrained CA if `is_ca`; rcgen's
/// default validity.
pub fn named(cn: &str, is_ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(vec![format!("{cn}.example")]).expect("static SAN");
    p.distinguished_name.push(DnType::CommonName, cn);
    if is_ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    p
}

/// [`named`] with an authority key identifier: the unit tests' parameters,
/// for tests that tweak validity or names.
pub fn params_for(cn: &str, is_ca: bool) -> CertificateParams {
    let mut p = named(cn, is_ca);
    p.use_authority_key_identifier_extension = true;
    p
}

/// Any parameters, self-signed or signed by `issuer`, with a P-256 key.
pub fn with_params(p: CertificateParams, issuer: Option<&TestCert>) -> TestCert {
    let key = KeyPair::generate().expect("keygen");
    issue(p, key, issuer.map(|i| &i.issuer)).expect("sign")
}

/// A self-signed CA.
pub fn ca(cn: &str) -> TestCert {
    with_params(params_for(cn, true), None)
}

/// An intermediate CA signed by `issuer`.
pub fn intermediate_signed_by(cn: &str, issuer: &TestCert) -> TestCert {
    with_params(params_for(cn, true), Some(issuer))
}

/// A leaf signed by `issuer`.
pub fn leaf_signed_by(cn: &str, issuer: &TestCert) -> TestCert {
    with_params(params_for(cn, false), Some(issuer))
}

/// A calendar day, as [`rcgen::date_time_ymd`] takes it.
pub type Ymd = (i32, u8, u8);

/// Long before any test runs.
pub const PAST: Ymd = (2020, 1, 1);
/// Long after any test runs.
pub const FAR: Ymd = (2090, 1, 1);

/// Today (UTC) plus `days`.
pub fn in_days(days: i64) -> Ymd {
    let d = (time::OffsetDateTime::now_utc() + time::Duration::days(days)).date();
    (d.year(), u8::from(d.month()), d.day())
}

/// `params` valid from midnight UTC of `from` to midnight of `to`.
pub fn between(mut params: CertificateParams, from: Ymd, to: Ymd) -> CertificateParams {
    params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    params
}

/// [`named`] valid from `from` to `to`, self-signed or signed by `issuer`.
pub fn dated(cn: &str, is_ca: bool, from: Ymd, to: Ymd, issuer: Option<&TestCert>) -> TestCert {
    with_params(between(named(cn, is_ca), from, to), issuer)
}

/// A kubeconfig with inline CA and client certificate (and a fake key),
/// context `admin@tenant` on `https://10.0.0.1:6443`.
pub fn kubeconfig_yaml(ca_pem: &str, client_pem: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: tenant\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: {}\n\
         contexts:\n- name: admin@tenant\n  context:\n    cluster: tenant\n    user: admin\ncurrent-context: admin@tenant\n\
         users:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: c2VjcmV0LWtleQ==\n",
        b64(ca_pem),
        b64(client_pem)
    )
}

/// A kubeconfig with inline certificate data, as kubeadm writes them: the
/// cluster, user and context are all named `context`, namespace `default`.
pub fn kubeconfig(server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str, context: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: {context}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\ncurrent-context: {context}\n",
        b64(ca_pem),
        b64(cert_pem),
        b64(key_pem)
    )
}

/// A kubeconfig with only a bearer token (a client certificate would win
/// over it), trusting `ca_pem`: cluster `c`, user `u`, context `c`.
pub fn token_kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = b64(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
    )
}

/// Standard base64 of `s`, as kubeconfigs embed data.
pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The DER of the first PEM block of `pem` (test assertions: panics on garbage).
pub fn cert_der(pem: &[u8]) -> Vec<u8> {
    x509_parser::pem::Pem::iter_from_buffer(pem).next().expect("a PEM block").expect("valid PEM").contents
}

/// Whether the first certificate of `leaf_pem` verifies with the key of the
/// first of `ca_pem`: the tests' own check, independent of kubectl-pki's code.
pub fn signed_by(leaf_pem: &[u8], ca_pem: &[u8]) -> bool {
    let (leaf, ca) = (cert_der(leaf_pem), cert_der(ca_pem));
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).expect("a certificate");
    let (_, ca) = x509_parser::parse_x509_certificate(&ca).expect("a CA certificate");
    leaf.verify_signature(Some(ca.public_key())).is_ok()
}

/// An RSA-2048 private key (PKCS#8 PEM), made once with the openssl CLI into
/// `file` and read from there afterwards (ring, rcgen's backend, cannot
/// generate RSA keys).
pub fn rsa_2048_pem(file: &Path) -> std::io::Result<String> {
    if !file.exists() {
        let status = std::process::Command::new("openssl")
            .args(["genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
            .arg(file)
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(format!("openssl genpkey: {status}")));
        }
    }
    std::fs::read_to_string(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_and_key_types() {
        let root = ca("root");
        let mid = intermediate_signed_by("mid", &root);
        let leaf = leaf_signed_by("leaf", &mid);
        assert!(signed_by(mid.pem.as_bytes(), root.pem.as_bytes()));
        assert!(signed_by(leaf.pem.as_bytes(), mid.pem.as_bytes()));
        assert!(!signed_by(leaf.pem.as_bytes(), root.pem.as_bytes()));
        assert_eq!(cert_der(leaf.pem.as_bytes()), leaf.der);
        let ed = issue(named("ed", false), KeyType::Ed25519.generate().unwrap(), Some(&root.issuer)).unwrap();
        assert!(ed.key_pem.contains("PRIVATE KEY") && signed_by(ed.pem.as_bytes(), root.pem.as_bytes()));
    }

    #[test]
    fn dates() {
        let c = dated("x", true, PAST, FAR, None);
        let (_, parsed) = x509_parser::parse_x509_certificate(&c.der).unwrap();
        assert_eq!(parsed.validity().not_after.to_datetime().year(), 2090);
        assert!(in_days(1) > in_days(0));
    }
}
