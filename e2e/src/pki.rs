//! The test control plane's PKI, made with rcgen: a CA, the API server's
//! serving certificate, an admin client certificate and a service-account
//! key pair. They double as test data for `kubectl pki status`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

/// Files written by [`Pki::generate`], with their PEM contents.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca_crt: String,
    pub ca_key: String,
    pub apiserver_crt: String,
    pub apiserver_key: String,
    pub admin_crt: String,
    pub admin_key: String,
    pub sa_pub: String,
    pub sa_key: String,
}

impl Pki {
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Generates a fresh PKI into `dir` (ca.crt, ca.key, apiserver.crt,
    /// apiserver.key, admin.crt, admin.key, sa.pub, sa.key).
    pub fn generate(dir: &Path) -> Result<Pki> {
        std::fs::create_dir_all(dir)?;
        let (ca_crt, ca_key) = new_ca("e2e-kubernetes-ca")?;
        let issuer = Issuer::from_ca_cert_pem(&ca_crt, KeyPair::from_pem(&ca_key)?)?;
        let (apiserver_crt, apiserver_key) =
            serving_cert(&issuer, "kube-apiserver", &["127.0.0.1", "localhost", "10.0.0.1", "kubernetes.default.svc", "kubernetes"])?;
        let (admin_crt, admin_key) = client_cert(&issuer, "e2e-admin", &["system:masters"])?;
        let sa = KeyPair::generate()?;
        let pki = Pki {
            dir: dir.to_path_buf(),
            ca_crt,
            ca_key,
            apiserver_crt,
            apiserver_key,
            admin_crt,
            admin_key,
            sa_pub: sa.public_key_pem(),
            sa_key: sa.serialize_pem(),
        };
        for (name, pem) in [
            ("ca.crt", &pki.ca_crt),
            ("ca.key", &pki.ca_key),
            ("apiserver.crt", &pki.apiserver_crt),
            ("apiserver.key", &pki.apiserver_key),
            ("admin.crt", &pki.admin_crt),
            ("admin.key", &pki.admin_key),
            ("sa.pub", &pki.sa_pub),
            ("sa.key", &pki.sa_key),
        ] {
            write_private(&dir.join(name), pem)?;
        }
        Ok(pki)
    }
}

/// Writes a file readable by the owner only (keys and certs alike: simpler).
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("write {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// kubeadm's validity: CAs 10 years, leaves 1 year, backdated by an hour
/// for clock skew (rcgen's default, year 4096, would hide expiry logic).
fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

fn dn(cn: &str, orgs: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

/// A self-signed CA (ECDSA P-256), returned as (cert PEM, key PEM).
pub fn new_ca(cn: &str) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, &[]);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    validity(&mut params, 3650);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A TLS server certificate for the given DNS names and IPs.
pub fn serving_cert(issuer: &Issuer<'_, KeyPair>, cn: &str, sans: &[&str]) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, &[]);
    params.subject_alt_names = sans
        .iter()
        .map(|s| match s.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName((*s).try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, 365);
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A client certificate: CN is the user, O the groups.
pub fn client_cert(issuer: &Issuer<'_, KeyPair>, cn: &str, groups: &[&str]) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, groups);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params, 365);
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A kubeconfig with inline certificate data, as kubeadm writes them.
pub fn kubeconfig(server: &str, ca_pem: &str, cert_pem: &str, key_pem: &str, context: &str) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: {context}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\ncurrent-context: {context}\n",
        b64(ca_pem),
        b64(cert_pem),
        b64(key_pem)
    )
}

/// The DER of the first PEM block of `pem` (test assertions: panics on garbage).
pub fn cert_der(pem: &[u8]) -> Vec<u8> {
    x509_parser::pem::Pem::iter_from_buffer(pem).next().expect("a PEM block").expect("valid PEM").contents
}

/// Whether the first certificate of `leaf_pem` verifies with the key of the first of
/// `ca_pem`: the tests' own check, independent of kubectl-pki's code.
pub fn signed_by(leaf_pem: &[u8], ca_pem: &[u8]) -> bool {
    let (leaf, ca) = (cert_der(leaf_pem), cert_der(ca_pem));
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).expect("a certificate");
    let (_, ca) = x509_parser::parse_x509_certificate(&ca).expect("a CA certificate");
    leaf.verify_signature(Some(ca.public_key())).is_ok()
}
