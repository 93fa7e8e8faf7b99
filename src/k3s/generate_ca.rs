//! `kubectl pki k3s generate-ca`: the files k3s's
//! generate-custom-ca-certs.sh makes. Root and intermediate CAs are
//! RSA-4096 unless given, the five leaf CAs EC P-256 (3700 days), and
//! `service.key` RSA-2048 with any existing key appended so tokens signed
//! by it stay valid.
//!
//! Offline (local files only), no clap: [`Options`] holds the flags.

use std::path::{Path, PathBuf};

use super::layout::{self, CA_TYPES};
use super::report::{self, StageReport};
use crate::error::{Error, Result};
use crate::issuer::{Authority, CertSpec, KeyKind, PrivateKey, Staged, now, pem};

const ROOT_DAYS: i64 = 7300;
const CA_DAYS: i64 = 3700;

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The k3s data directory; files go to `DIR/server/tls`.
    pub data_dir: PathBuf,
    /// Stage into `OUT/tls` instead.
    pub out: Option<PathBuf>,
    /// An existing root CA certificate (else an RSA-4096 root is generated).
    pub root_ca: Option<PathBuf>,
    /// The root CA's key, to sign a new intermediate.
    pub root_key: Option<PathBuf>,
    /// An existing intermediate CA certificate signed by the root.
    pub intermediate_ca: Option<PathBuf>,
    pub intermediate_key: Option<PathBuf>,
    /// Product name in the CAs' common names (k3s, rke2).
    pub product: String,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io_at(path, e))
}

fn first_cert(path: &Path) -> Result<Vec<u8>> {
    pem::certificates(&read(path)?)
        .map_err(|e| Error::file(path, e))?
        .into_iter()
        .next()
        .ok_or_else(|| Error::file(path, "no PEM certificate found"))
}

fn load_ca(cert: &Path, key: &Path) -> Result<Authority> {
    let key_pem = read(key)?;
    let key = PrivateKey::first_from_pem(&key_pem).map_err(|e| Error::file(key, e))?;
    Authority::load(first_cert(cert)?, key).map_err(|e| Error::file(cert, e))
}

fn rsa(bits: usize) -> Result<PrivateKey> {
    PrivateKey::generate(KeyKind::Rsa(bits)).map_err(Error::Invalid)
}

pub fn generate(args: &Options) -> Result<StageReport> {
    let in_use = args.data_dir.join("server").join("tls");
    let (tls, rotate_path): (PathBuf, Option<PathBuf>) = match &args.out {
        Some(out) => (out.join("tls"), Some(out.clone())),
        None => (in_use.clone(), None),
    };
    if let Some(existing) = layout::holds_ca_files(&tls) {
        return Err(Error::file(
            existing,
            "already exists: never overwriting CA data k3s may be using; stage into a separate directory with --out",
        ));
    }
    let ts = now();
    let product = &args.product;
    let mut staged = Staged::new();

    // Root and intermediate, given or generated; keys are written only
    // when generated here (the owner of given keys already has them).
    let (root_der, root_ca) = match (&args.root_ca, &args.root_key) {
        (Some(cert), Some(key)) => {
            let ca = load_ca(cert, key)?;
            (ca.cert_der().to_vec(), Some(ca))
        }
        (Some(cert), None) => (first_cert(cert)?, None),
        (None, _) => {
            let key = rsa(4096)?;
            staged.add(tls.join("root-ca.key"), key.to_pem(), true);
            let ca =
                Authority::self_signed(&CertSpec::ca(&format!("{product}-root-ca@{ts}"), ts, ROOT_DAYS), key).map_err(Error::Invalid)?;
            (ca.cert_der().to_vec(), Some(ca))
        }
    };
    let root_pem = pem::encode("CERTIFICATE", &root_der);
    let intermediate = match (&args.intermediate_ca, &args.intermediate_key, &root_ca) {
        (Some(cert), Some(key), _) => {
            let ca = load_ca(cert, key)?;
            if !super::chain::signed_by(ca.cert_der(), &root_der) {
                return Err(Error::file(cert, "the intermediate CA is not signed by the root CA given with --root-ca"));
            }
            ca
        }
        (_, _, Some(root)) => {
            let key = rsa(4096)?;
            staged.add(tls.join("intermediate-ca.key"), key.to_pem(), true);
            let der = root.issue(&CertSpec::ca(&format!("{product}-intermediate-ca@{ts}"), ts, CA_DAYS), &key).map_err(Error::Invalid)?;
            Authority::load(der, key).map_err(Error::Invalid)?
        }
        (_, _, None) => {
            return Err(Error::Usage(
                "--root-ca without its key: give --root-key to sign a new intermediate, or --intermediate-ca and --intermediate-key".into(),
            ));
        }
    };
    staged.add(tls.join("root-ca.pem"), root_pem.clone(), false);
    staged.add(tls.join("root-ca.crt"), root_pem.clone(), false);
    let int_pem = intermediate.cert_pem();
    staged.add(tls.join("intermediate-ca.pem"), int_pem.clone(), false);
    staged.add(tls.join("intermediate-ca.crt"), format!("{int_pem}{root_pem}"), false);

    for ca_type in CA_TYPES {
        let key = PrivateKey::generate(KeyKind::EcdsaP256).map_err(Error::Invalid)?;
        let cn = format!("{product}-{}-ca@{ts}", layout::dashed(ca_type));
        let der = intermediate.issue(&CertSpec::ca(&cn, ts, CA_DAYS), &key).map_err(Error::Invalid)?;
        let cert_pem = pem::encode("CERTIFICATE", &der);
        staged.add(layout::ca_file(&tls, ca_type, "pem"), cert_pem.clone(), false);
        staged.add(layout::ca_file(&tls, ca_type, "crt"), format!("{cert_pem}{int_pem}{root_pem}"), false);
        staged.add(layout::ca_file(&tls, ca_type, "key"), key.to_pem(), true);
    }

    // service.key: new first (k3s signs with the first key), then the
    // key(s) in use, so existing service-account tokens keep verifying.
    let mut service = rsa(2048)?.to_pem();
    let current_service = in_use.join("service.key");
    let replacing_in_place = args.out.is_none() && current_service.exists();
    if current_service.exists() {
        let old = read(&current_service)?;
        PrivateKey::first_from_pem(&old).map_err(|e| Error::file(&current_service, e))?;
        service.push_str(&String::from_utf8_lossy(&old));
        if !service.ends_with('\n') {
            service.push('\n');
        }
    }
    if replacing_in_place {
        staged.add_replacing(tls.join("service.key"), service, true);
    } else {
        staged.add(tls.join("service.key"), service, true);
    }

    let rows = describe_all(&staged);
    staged.commit()?;
    if args.intermediate_ca.is_none() {
        eprintln!("Keep the root and intermediate CA keys offline: copy them somewhere safe and remove them from {}", tls.display());
    }
    Ok(StageReport { files: rows, rotate_ca_path: rotate_path, ..Default::default() })
}

/// Rows for every staged file, read from the plan (before writing).
pub fn describe_all(staged: &Staged) -> Vec<report::FileRow> {
    staged.entries().map(|(path, contents)| report::describe(path, contents)).collect()
}
