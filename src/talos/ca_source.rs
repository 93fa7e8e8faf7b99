//! Where the Talos OS CA comes from: PEM files, a secrets bundle
//! (`talosctl gen secrets`: `certs.os`), or a control plane machine
//! configuration (`.machine.ca`). Each yields PEM text to validate.
//!
//! Local files only, no clap.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::issuer::pem::Redacted;
use crate::issuer::{Authority, KeyKind, PrivateKey, pem};

/// The CA's PEM texts and a name for each, for messages.
pub struct CaPem {
    pub cert: Vec<u8>,
    pub cert_origin: String,
    pub key: Vec<u8>,
    pub key_origin: String,
}

#[derive(Deserialize)]
struct Pair {
    crt: Option<String>,
    key: Option<String>,
}

/// Origins and lengths: `key` is the CA's private key.
impl std::fmt::Debug for CaPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaPem")
            .field("cert", &Redacted(self.cert.len()))
            .field("cert_origin", &self.cert_origin)
            .field("key", &Redacted(self.key.len()))
            .field("key_origin", &self.key_origin)
            .finish()
    }
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = |v: &Option<String>| v.as_ref().map(|v| Redacted(v.len()));
        f.debug_struct("Pair").field("crt", &len(&self.crt)).field("key", &len(&self.key)).finish()
    }
}

#[derive(Debug, Deserialize)]
struct SecretsBundle {
    certs: Option<SecretsCerts>,
}

#[derive(Debug, Deserialize)]
struct SecretsCerts {
    os: Option<Pair>,
}

#[derive(Debug, Deserialize)]
struct MachineDoc {
    machine: Option<Machine>,
}

#[derive(Debug, Deserialize)]
struct Machine {
    ca: Option<Pair>,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io_at(path, e))
}

pub fn from_files(cert: &Path, key: &Path) -> Result<CaPem> {
    Ok(CaPem { cert: read(cert)?, cert_origin: cert.display().to_string(), key: read(key)?, key_origin: key.display().to_string() })
}

pub fn from_secrets(path: &Path) -> Result<CaPem> {
    let text = String::from_utf8(read(path)?).map_err(|_| Error::file(path, "not UTF-8 text"))?;
    let bundle: SecretsBundle = serde_saphyr::from_str(&text).map_err(|e| yaml_error(path, &e))?;
    let pair = bundle.certs.and_then(|c| c.os).ok_or_else(|| Error::file(path, "not a Talos secrets bundle: certs.os is missing"))?;
    decode_pair(path, pair, "certs.os")
}

pub fn from_machine_config(path: &Path) -> Result<CaPem> {
    let text = String::from_utf8(read(path)?).map_err(|_| Error::file(path, "not UTF-8 text"))?;
    // Talos 1.5+ configs are multi-document; the v1alpha1 one has `machine`.
    let docs: Vec<MachineDoc> = serde_saphyr::from_multiple(&text).map_err(|e| yaml_error(path, &e))?;
    let pair = docs
        .into_iter()
        .find_map(|d| d.machine.and_then(|m| m.ca))
        .ok_or_else(|| Error::file(path, "not a Talos machine configuration: .machine.ca is missing"))?;
    if pair.key.as_deref().is_none_or(|k| k.trim().is_empty()) {
        return Err(Error::file(path, ".machine.ca.key is empty (worker configurations hold only the certificate; use controlplane.yaml)"));
    }
    decode_pair(path, pair, ".machine.ca")
}

/// The parser's message quotes the lines around the error, and these files
/// hold the cluster's secrets: keep the position and the reason only.
fn yaml_error(path: &Path, err: &serde_saphyr::Error) -> Error {
    let reason = crate::certs::kubeconfig::redact_yaml_error(err);
    Error::file(path, format!("cannot parse YAML: {}", reason.trim_start_matches("error: ")))
}

fn decode_pair(path: &Path, pair: Pair, at: &str) -> Result<CaPem> {
    let decode = |field: &str, value: Option<String>| -> Result<Vec<u8>> {
        let value = value.filter(|v| !v.trim().is_empty()).ok_or_else(|| Error::file(path, format!("{at}.{field} is missing")))?;
        let compact: String = value.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD.decode(compact).map_err(|e| Error::file(path, format!("{at}.{field} is not base64: {e}")))
    };
    Ok(CaPem {
        cert: decode("crt", pair.crt)?,
        cert_origin: format!("{} ({at}.crt)", path.display()),
        key: decode("key", pair.key)?,
        key_origin: format!("{} ({at}.key)", path.display()),
    })
}

/// Validates the PEM as a Talos OS CA: one CA certificate, an Ed25519 key
/// (client certificates follow the CA's key type, and Talos's OS CA is
/// Ed25519), and a key that belongs to the certificate.
pub fn load_authority(ca: &CaPem) -> Result<Authority> {
    let invalid = |origin: &str, reason: String| Error::File { path: PathBuf::from(origin), reason };
    let certs = pem::certificates(&ca.cert).map_err(|e| invalid(&ca.cert_origin, e))?;
    let cert = certs.into_iter().next().ok_or_else(|| invalid(&ca.cert_origin, "no PEM certificate found".into()))?;
    let key = PrivateKey::first_from_pem(&ca.key).map_err(|e| invalid(&ca.key_origin, e))?;
    if key.kind() != KeyKind::Ed25519 {
        return Err(invalid(
            &ca.key_origin,
            format!(
                "the Talos OS CA must be Ed25519, this is an {} key (is this the Kubernetes or etcd CA? use certs.os of secrets.yaml or .machine.ca of controlplane.yaml)",
                key.kind()
            ),
        ));
    }
    Authority::load(cert, key).map_err(|e| invalid(&ca.cert_origin, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::{CertSpec, now};

    fn ca(kind: KeyKind) -> (String, String) {
        let key = PrivateKey::generate(kind).unwrap();
        let key_pem = key.to_pem();
        let mut spec = CertSpec::ca("x", now(), 1);
        spec.common_name = None;
        spec.organizations = vec!["talos".into()];
        let ca = Authority::self_signed(&spec, key).unwrap();
        (ca.cert_pem(), key_pem)
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn reads_certs_os_from_a_secrets_bundle() {
        let (crt, key) = ca(KeyKind::Ed25519);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.yaml");
        let yaml = format!(
            "cluster:\n  id: abc\ncerts:\n  etcd:\n    crt: {e}\n    key: {e}\n  os:\n    crt: {}\n    key: {}\n",
            b64(&crt),
            b64(&key),
            e = b64("x")
        );
        std::fs::write(&path, yaml).unwrap();
        let pem = from_secrets(&path).unwrap();
        assert_eq!(pem.cert, crt.as_bytes());
        assert!(load_authority(&pem).is_ok());
    }

    #[test]
    fn reads_machine_ca_from_a_multi_document_config() {
        let (crt, key) = ca(KeyKind::Ed25519);
        let key = key.replace("PRIVATE KEY", "ED25519 PRIVATE KEY");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("controlplane.yaml");
        let yaml = format!(
            "version: v1alpha1\nmachine:\n  type: controlplane\n  ca:\n    crt: {}\n    key: {}\ncluster:\n  id: x\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n",
            b64(&crt),
            b64(&key)
        );
        std::fs::write(&path, yaml).unwrap();
        let pem = from_machine_config(&path).unwrap();
        assert!(load_authority(&pem).is_ok());
    }

    #[test]
    fn worker_config_without_key_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.yaml");
        std::fs::write(&path, format!("machine:\n  ca:\n    crt: {}\n    key: \"\"\n", b64("x"))).unwrap();
        let err = from_machine_config(&path).unwrap_err().to_string();
        assert!(err.contains("controlplane.yaml"), "{err}");
    }

    #[test]
    fn unreadable_yaml_and_missing_section_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.yaml");
        std::fs::write(&path, "certs: [unclosed\n").unwrap();
        assert!(from_secrets(&path).unwrap_err().to_string().contains("cannot parse YAML"));
        std::fs::write(&path, "cluster: {}\n").unwrap();
        assert!(from_secrets(&path).unwrap_err().to_string().contains("certs.os is missing"));
    }

    #[test]
    fn ecdsa_ca_is_refused_with_a_reason() {
        let (crt, key) = ca(KeyKind::EcdsaP256);
        let pem = CaPem { cert: crt.into(), cert_origin: "ca.crt".into(), key: key.into(), key_origin: "ca.key".into() };
        let err = load_authority(&pem).unwrap_err().to_string();
        assert!(err.contains("must be Ed25519") && err.contains("ECDSA P-256"), "{err}");
    }

    #[test]
    fn mismatched_key_is_refused() {
        let (crt, _) = ca(KeyKind::Ed25519);
        let (_, other_key) = ca(KeyKind::Ed25519);
        let pem = CaPem { cert: crt.into(), cert_origin: "ca.crt".into(), key: other_key.into(), key_origin: "ca.key".into() };
        assert!(load_authority(&pem).unwrap_err().to_string().contains("does not match"));
    }
}

#[cfg(test)]
mod leak_tests {
    use super::*;

    const SECRET: &str = "c2VjcmV0Ym94ZW5jcnlwdGlvbnNlY3JldHZhbHVl";
    const TOKEN: &str = "abcdef.0123456789abcdef";

    fn bundle_with_tab() -> String {
        format!(
            "cluster:\n    id: x\n    secret: {SECRET}\nsecrets:\n    secretboxencryptionsecret: {SECRET}\ntrustdinfo:\n    token: {TOKEN}\n\ttoken2: {TOKEN}\ncerts:\n    os:\n        crt: AAAA\n        key: BBBB\n"
        )
    }

    fn assert_redacted(err: &Error, input: &str, at: &str) {
        let msg = err.to_string();
        assert!(!msg.contains(SECRET) && !msg.contains(TOKEN), "{msg}");
        for line in input.lines().map(str::trim).filter(|l| l.len() > 3) {
            assert!(!msg.contains(line), "input line {line:?} in {msg}");
        }
        assert!(msg.contains(at) && msg.contains("tab"), "{msg}");
    }

    #[test]
    fn secrets_bundle_yaml_error_shows_no_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.yaml");
        let input = bundle_with_tab();
        std::fs::write(&path, &input).unwrap();
        let err = from_secrets(&path).unwrap_err();
        assert!(err.to_string().contains("secrets.yaml"));
        assert_redacted(&err, &input, "line 7 column 12");
    }

    #[test]
    fn machine_config_yaml_error_shows_no_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("controlplane.yaml");
        let input = format!(
            "version: v1alpha1\nmachine:\n    token: {TOKEN}\n    ca:\n        crt: AAAA\n        key: {SECRET}\n    x: 1\n\tcluster: {SECRET}\n"
        );
        std::fs::write(&path, &input).unwrap();
        let err = from_machine_config(&path).unwrap_err();
        assert!(err.to_string().contains("controlplane.yaml"));
        assert_redacted(&err, &input, "line 7 column 8");
    }

    #[test]
    fn debug_shows_no_key_material() {
        let pem = CaPem { cert: b"CERTBYTES".to_vec(), cert_origin: "ca.crt".into(), key: SECRET.into(), key_origin: "ca.key".into() };
        let debug = format!("{pem:?} {pem:#?}");
        assert!(debug.contains("ca.key") && debug.contains("[REDACTED 40 bytes]") && debug.contains("[REDACTED 9 bytes]"), "{debug}");
        assert!(!debug.contains(SECRET) && !debug.contains("CERTBYTES") && !debug.contains("99, 50"), "{debug}");
        let pair = Pair { crt: Some("AAAA".into()), key: Some(SECRET.into()) };
        let debug = format!("{pair:?}");
        assert!(debug.contains("[REDACTED 40 bytes]") && !debug.contains(SECRET), "{debug}");
    }
}
