//! Hidden `kubectl pki k3s issue-leaf`: a client or serving certificate
//! from one of the generated CAs, so tests (and break-glass access) can
//! prove the CAs work with a real API server.
//!
//! Offline (local files only), no clap: [`Options`] holds the flags already parsed.

use std::net::IpAddr;
use std::path::PathBuf;

use jiff::SignedDuration;

use super::report::StageReport;
use crate::error::{Error, Result};
use crate::issuer::{Authority, CertSpec, KeyKind, PrivateKey, Staged, now, pem};

/// The leaf to issue.
#[derive(Debug, Clone)]
pub struct Options {
    /// The CA certificate (the first of the file) and its key (the first).
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub cn: String,
    /// Subject organizations (Kubernetes groups).
    pub orgs: Vec<String>,
    /// DNS names or IP addresses; any makes a serving certificate.
    pub sans: Vec<String>,
    pub ttl: SignedDuration,
    pub cert_out: PathBuf,
    /// Written 0600.
    pub key_out: PathBuf,
}

pub fn issue(args: &Options) -> Result<StageReport> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| Error::io_at(p, e));
    let ca_cert = pem::certificates(&read(&args.ca)?)
        .map_err(|e| Error::file(&args.ca, e))?
        .into_iter()
        .next()
        .ok_or_else(|| Error::file(&args.ca, "no PEM certificate found"))?;
    let ca_key = PrivateKey::first_from_pem(&read(&args.ca_key)?).map_err(|e| Error::file(&args.ca_key, e))?;
    let ca = Authority::load(ca_cert, ca_key).map_err(|e| Error::file(&args.ca, e))?;
    let ttl = args.ttl;

    let issued_at = now() - 60;
    let mut spec = CertSpec::client(Some(&args.cn), args.orgs.clone(), issued_at, ttl.as_secs() + 60);
    if !args.sans.is_empty() {
        spec.ext_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        spec.key_usages.push(rcgen::KeyUsagePurpose::KeyEncipherment);
        for san in &args.sans {
            match san.parse::<IpAddr>() {
                Ok(ip) => spec.ip_addresses.push(ip),
                Err(_) => spec.dns_names.push(san.clone()),
            }
        }
    }
    let key = PrivateKey::generate(KeyKind::EcdsaP256).map_err(Error::Invalid)?;
    let der = ca.issue(&spec, &key).map_err(Error::Invalid)?;

    let mut staged = Staged::new();
    staged.add(&args.cert_out, pem::encode("CERTIFICATE", &der), false);
    staged.add(&args.key_out, key.to_pem(), true);
    let files = super::generate_ca::describe_all(&staged);
    staged.commit()?;
    Ok(StageReport { files, ..Default::default() })
}
