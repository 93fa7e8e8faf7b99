//! `kubectl pki talos config new`: a talosconfig whose client certificate
//! is issued offline from the Talos OS CA, as `talosctl config new` would
//! have a node issue it: Ed25519, roles in O, ClientAuth.
//!
//! Offline (local files only), no clap: [`Options`] holds the flags already parsed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use jiff::SignedDuration;
use serde::Serialize;

use super::ca_source;
use crate::error::{Error, Result};
use crate::issuer::{CertSpec, KeyKind, PrivateKey, Staged, now, pem};
use crate::output::{self, OutputFormat, Table};

/// Where the Talos OS CA comes from.
#[derive(Debug, Clone)]
pub enum CaSource {
    /// A certificate and a key file (PEM).
    Files { cert: PathBuf, key: PathBuf },
    /// A secrets bundle (`talosctl gen secrets`: `certs.os`).
    Secrets(PathBuf),
    /// A control plane machine configuration (`.machine.ca`).
    MachineConfig(PathBuf),
}

/// The talosconfig to write, its values already checked.
#[derive(Debug, Clone)]
pub struct Options {
    pub path: PathBuf,
    pub ca: CaSource,
    /// Valid Talos roles, de-duplicated ([`super::roles::validate`]).
    pub roles: Vec<String>,
    /// The client certificate's lifetime, positive.
    pub crt_ttl: SignedDuration,
    pub endpoints: Vec<String>,
    pub nodes: Vec<String>,
    /// Not empty.
    pub context_name: String,
    /// Replace an existing file.
    pub force: bool,
}

/// The talosconfig file (pkg/machinery/client/config): `ca`, `crt` and
/// `key` are base64 of PEM.
#[derive(Debug, Serialize)]
struct TalosConfig {
    context: String,
    contexts: BTreeMap<String, TalosContext>,
}

#[derive(Serialize)]
struct TalosContext {
    endpoints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<String>,
    ca: String,
    crt: String,
    key: String,
}

/// What was written: the report row (never the key).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Written {
    pub path: PathBuf,
    pub context: String,
    pub roles: Vec<String>,
    pub endpoints: Vec<String>,
    pub not_after: String,
    pub issuer: String,
}

/// Everything is validated and generated before the file is written.
pub fn generate(args: &Options) -> Result<Written> {
    let path = args.path.clone();
    let roles = args.roles.clone();
    let ttl = args.crt_ttl;
    if !args.force && std::fs::symlink_metadata(&path).is_ok() {
        return Err(Error::file(&path, "already exists; refusing to overwrite (use --force)"));
    }

    let ca_pem = match &args.ca {
        CaSource::Files { cert, key } => ca_source::from_files(cert, key)?,
        CaSource::Secrets(secrets) => ca_source::from_secrets(secrets)?,
        CaSource::MachineConfig(config) => ca_source::from_machine_config(config)?,
    };
    let ca = ca_source::load_authority(&ca_pem)?;

    let issued_at = now();
    let key = PrivateKey::generate(KeyKind::Ed25519).map_err(Error::Invalid)?;
    let spec = CertSpec::client(None, roles.clone(), issued_at, ttl.as_secs());
    let crt = ca.issue(&spec, &key).map_err(Error::Invalid)?;
    if spec.not_after > ca.not_after() {
        eprintln!("warning: the client certificate outlives the Talos CA; it stops working when the CA expires");
    }

    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let config = TalosConfig {
        context: args.context_name.clone(),
        contexts: BTreeMap::from([(
            args.context_name.clone(),
            TalosContext {
                endpoints: args.endpoints.clone(),
                nodes: args.nodes.clone(),
                ca: b64(&ca.cert_pem()),
                crt: b64(&pem::encode("CERTIFICATE", &crt)),
                key: b64(&key.to_pem()),
            },
        )]),
    };
    // Plain one-line scalars, as talosctl writes them.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    let yaml = serde_saphyr::to_string_with_options(&config, options).map_err(|e| Error::Invalid(format!("talosconfig YAML: {e}")))?;

    let mut staged = Staged::new();
    if args.force {
        staged.add_replacing(&path, yaml, true);
    } else {
        staged.add(&path, yaml, true);
    }
    staged.commit()?;

    Ok(Written {
        path,
        context: args.context_name.clone(),
        roles,
        endpoints: args.endpoints.clone(),
        not_after: jiff::Timestamp::from_second(spec.not_after).map(|t| t.to_string()).unwrap_or_default(),
        issuer: ca.subject(),
    })
}

/// Prints what was written in `format`.
pub fn render(w: &Written, format: OutputFormat) -> Result<()> {
    output::emit(format, w, |_| {
        let mut table = Table::new(["path", "context", "roles", "endpoints", "expires"]);
        table.push(vec![
            w.path.display().to_string(),
            w.context.clone(),
            w.roles.join(","),
            if w.endpoints.is_empty() { "<none>".into() } else { w.endpoints.join(",") },
            w.not_after.clone(),
        ]);
        Some(table.render())
    })
}

/// The client key (base64 PEM) by length only.
impl std::fmt::Debug for TalosContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TalosContext")
            .field("endpoints", &self.endpoints)
            .field("nodes", &self.nodes)
            .field("ca", &self.ca)
            .field("crt", &self.crt)
            .field("key", &crate::issuer::pem::Redacted(self.key.len()))
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn context_debug_hides_the_client_key() {
        let ctx =
            TalosContext { endpoints: vec!["cp1".into()], nodes: vec![], ca: "CA".into(), crt: "CRT".into(), key: "S3CRETKEYB64".into() };
        let debug = format!("{ctx:?} {ctx:#?}");
        assert!(debug.contains("cp1") && debug.contains("[REDACTED 12 bytes]") && !debug.contains("S3CRETKEYB64"), "{debug}");
    }
}
