//! The test control plane's PKI, from kubectl-pki-testkit's kubeadm
//! profiles: a CA, the API server's serving certificate, an admin client
//! certificate and a service-account key pair. They double as test data for
//! `kubectl pki status`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
pub use kubectl_pki_testkit::{cert_der, kubeconfig, signed_by};
use kubectl_pki_testkit::{issue, kubeadm};
use rcgen::{Issuer, KeyPair};

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

/// A self-signed CA (ECDSA P-256), returned as (cert PEM, key PEM).
pub fn new_ca(cn: &str) -> Result<(String, String)> {
    let ca = issue(kubeadm::ca(cn), KeyPair::generate()?, None)?;
    Ok((ca.pem, ca.key_pem))
}

/// A TLS server certificate for the given DNS names and IPs.
pub fn serving_cert(issuer: &Issuer<'_, KeyPair>, cn: &str, sans: &[&str]) -> Result<(String, String)> {
    let cert = issue(kubeadm::serving(cn, sans)?, KeyPair::generate()?, Some(issuer))?;
    Ok((cert.pem, cert.key_pem))
}

/// A client certificate: CN is the user, O the groups.
pub fn client_cert(issuer: &Issuer<'_, KeyPair>, cn: &str, groups: &[&str]) -> Result<(String, String)> {
    let cert = issue(kubeadm::client(cn, groups), KeyPair::generate()?, Some(issuer))?;
    Ok((cert.pem, cert.key_pem))
}
