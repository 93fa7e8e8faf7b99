//! Certificates inside a talosconfig: per context the Talos OS CA (`ca`)
//! and the client certificate (`crt`, its O values are the Talos roles),
//! both base64 of PEM. The `key` field is never deserialized.
//!
//! No I/O, no clap.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Raw {
    context: Option<String>,
    #[serde(default)]
    contexts: BTreeMap<String, RawContext>,
}

#[derive(Debug, Deserialize)]
struct RawContext {
    #[serde(default)]
    endpoints: Vec<String>,
    #[serde(default)]
    nodes: Vec<String>,
    ca: Option<String>,
    crt: Option<String>,
}

/// One talosconfig context with its decoded certificates (PEM bytes, or
/// why they could not be decoded).
#[derive(Debug, Clone)]
pub struct TalosContext {
    pub name: String,
    pub current: bool,
    pub endpoints: Vec<String>,
    pub nodes: Vec<String>,
    pub ca: Option<Result<Vec<u8>, String>>,
    pub crt: Option<Result<Vec<u8>, String>>,
}

/// A top-level `contexts:` map and no kubeconfig `clusters:`.
pub fn looks_like_talosconfig(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    top("contexts:") && !top("clusters:") && text.lines().any(|l| l.trim_start().starts_with("crt:") || l.trim_start().starts_with("ca:"))
}

/// Parses a talosconfig; errors never quote the document.
pub fn parse(bytes: &[u8]) -> Result<Vec<TalosContext>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "talosconfig is not UTF-8".to_string())?;
    let raw: Raw = serde_saphyr::from_str(text).map_err(|e| {
        let msg = e.to_string();
        let first = msg.lines().next().unwrap_or("parse error").split(['`', '"', '\'']).next().unwrap_or_default().to_string();
        format!("not a valid talosconfig: {}", first.trim_end_matches([':', ' ']))
    })?;
    Ok(raw
        .contexts
        .into_iter()
        .map(|(name, c)| TalosContext {
            current: raw.context.as_deref() == Some(name.as_str()),
            name,
            endpoints: c.endpoints,
            nodes: c.nodes,
            ca: c.ca.as_deref().map(|v| decode(v, "ca")),
            crt: c.crt.as_deref().map(|v| decode(v, "crt")),
        })
        .collect())
}

fn decode(value: &str, field: &str) -> Result<Vec<u8>, String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| format!("`{field}` is not valid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::info::CertInfo;
    use crate::certs::parse::certificates_in;
    use kubectl_pki_testkit::params_for;

    #[test]
    fn reads_ca_and_client_certificate_with_roles() {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut ca_params = params_for("talos", true);
        ca_params.distinguished_name.push(rcgen::DnType::OrganizationName, "talos");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut p = params_for("admin", false);
        p.distinguished_name.push(rcgen::DnType::OrganizationName, "os:admin");
        let crt = p.signed_by(&key, &issuer).unwrap();
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        let yaml = format!(
            "context: prod\ncontexts:\n  prod:\n    endpoints: [10.0.0.2]\n    nodes: [10.0.0.3]\n    ca: {}\n    crt: {}\n    key: {}\n  old:\n    ca: '!!'\n",
            b64(ca_cert.pem()),
            b64(crt.pem()),
            b64("PRIVATE".into())
        );
        assert!(looks_like_talosconfig(yaml.as_bytes()));
        let contexts = parse(yaml.as_bytes()).unwrap();
        assert_eq!(contexts.len(), 2);
        let old = &contexts[0];
        assert_eq!(old.name, "old");
        assert!(old.ca.as_ref().unwrap().is_err() && old.crt.is_none());
        let prod = &contexts[1];
        assert!(prod.current);
        assert_eq!(prod.endpoints, vec!["10.0.0.2".to_string()]);
        let der = certificates_in(prod.crt.as_ref().unwrap().as_ref().unwrap()).unwrap().remove(0);
        let info = CertInfo::from_der(&der).unwrap();
        assert_eq!(info.organizations, vec!["os:admin".to_string()]);
        assert_eq!(info.key_type, "Ed25519");
        let ca_der = certificates_in(prod.ca.as_ref().unwrap().as_ref().unwrap()).unwrap().remove(0);
        assert!(crate::certs::chain::verify_signed_by(&der, &ca_der));
    }

    #[test]
    fn a_kubeconfig_is_not_a_talosconfig() {
        let kc = kubectl_pki_testkit::kubeconfig_yaml("x", "y");
        assert!(!looks_like_talosconfig(kc.as_bytes()));
    }
}
