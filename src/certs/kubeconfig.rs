//! Certificates inside kubeconfigs: each cluster's CA and each user's
//! client certificate, inline (`*-data`, base64) or by file path. Client
//! keys are never read.
//!
//! No network I/O, no clap: the only files read are those a kubeconfig names.

use std::path::{Path, PathBuf};

use base64::Engine;
use kube::config::Kubeconfig;

/// Which certificate of a kubeconfig a [`Material`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `clusters[].cluster.certificate-authority(-data)`.
    ClusterCa { cluster: String },
    /// `users[].user.client-certificate(-data)`.
    ClientCert { user: String },
}

impl Role {
    /// Short label for row names: `ca` / `client`, with the entry's name when
    /// the kubeconfig has several.
    pub fn label(&self, qualify: bool) -> String {
        match (self, qualify) {
            (Role::ClusterCa { .. }, false) => "ca".into(),
            (Role::ClientCert { .. }, false) => "client".into(),
            (Role::ClusterCa { cluster }, true) => format!("ca/{cluster}"),
            (Role::ClientCert { user }, true) => format!("client/{user}"),
        }
    }
}

/// Where the bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Inline,
    File(PathBuf),
}

/// One certificate-bearing field of a kubeconfig, decoded (PEM bytes) or
/// the reason it could not be.
#[derive(Debug, Clone)]
pub struct Material {
    pub role: Role,
    pub origin: Origin,
    pub data: Result<Vec<u8>, String>,
}

/// Whether text looks like a kubeconfig (so a parse failure is reported,
/// not skipped): top-level `clusters:` with `users:` or `contexts:`, or a
/// JSON object with those keys (kubectl reads JSON kubeconfigs too).
pub fn looks_like_kubeconfig(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    if text.trim_start().starts_with('{') {
        let key = |k: &str| text.contains(&format!("\"{k}\""));
        return key("clusters") && (key("users") || key("contexts"));
    }
    let top = |key: &str| text.lines().any(|l| l.starts_with(key));
    top("clusters:") && (top("users:") || top("contexts:"))
}

/// Parses a kubeconfig. The error message never quotes the document (it
/// holds private keys): only what went wrong and where.
pub fn parse(bytes: &[u8]) -> Result<Kubeconfig, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "kubeconfig is not UTF-8".to_string())?;
    Kubeconfig::from_yaml(text).map_err(|e| format!("not a valid kubeconfig: {}", redact_yaml_error(&e)))
}

/// Keeps the first line of a YAML error and drops any quoted snippet.
pub fn redact_yaml_error(err: &dyn std::error::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    let mut deepest = err.to_string();
    while let Some(s) = source {
        deepest = s.to_string();
        source = s.source();
    }
    let first = deepest.lines().next().unwrap_or("parse error").to_string();
    let first = first.split(['`', '"', '\'']).next().unwrap_or_default().trim_end_matches([':', ' ']).to_string();
    if first.is_empty() { "parse error".into() } else { first }
}

/// Every cluster CA and client certificate. File paths are read relative to
/// `base_dir`; with `None` (a kubeconfig from a Secret) they are skipped,
/// since they name files on some other machine.
pub fn materials(kc: &Kubeconfig, base_dir: Option<&Path>) -> Vec<Material> {
    let mut out = Vec::new();
    for named in &kc.clusters {
        let Some(cluster) = &named.cluster else { continue };
        let role = Role::ClusterCa { cluster: named.name.clone() };
        out.extend(material(role, cluster.certificate_authority_data.as_deref(), cluster.certificate_authority.as_deref(), base_dir));
    }
    for named in &kc.auth_infos {
        let Some(user) = &named.auth_info else { continue };
        let role = Role::ClientCert { user: named.name.clone() };
        out.extend(material(role, user.client_certificate_data.as_deref(), user.client_certificate.as_deref(), base_dir));
    }
    out
}

/// The cluster CA and client certificate of one context (the current one
/// when `context` is `None`), plus the server URL and TLS server name.
pub struct ContextCerts {
    pub context: String,
    pub server: Option<String>,
    pub tls_server_name: Option<String>,
    pub insecure: bool,
    pub ca: Option<Material>,
    pub client: Option<Material>,
}

pub fn for_context(kc: &Kubeconfig, context: Option<&str>, base_dir: Option<&Path>) -> Result<ContextCerts, String> {
    let name = context.map(str::to_owned).or_else(|| kc.current_context.clone()).ok_or_else(|| "no current context".to_string())?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| format!("context {name:?} not found"))?;
    let cluster = kc.clusters.iter().find(|c| c.name == ctx.cluster).and_then(|c| c.cluster.as_ref());
    let user_name = ctx.user.clone().unwrap_or_default();
    let user = kc.auth_infos.iter().find(|u| u.name == user_name).and_then(|u| u.auth_info.as_ref());
    Ok(ContextCerts {
        context: name,
        server: cluster.and_then(|c| c.server.clone()),
        tls_server_name: cluster.and_then(|c| c.tls_server_name.clone()),
        insecure: cluster.and_then(|c| c.insecure_skip_tls_verify).unwrap_or(false),
        ca: cluster.and_then(|c| {
            material(
                Role::ClusterCa { cluster: ctx.cluster.clone() },
                c.certificate_authority_data.as_deref(),
                c.certificate_authority.as_deref(),
                base_dir,
            )
        }),
        client: user.and_then(|u| {
            material(
                Role::ClientCert { user: user_name.clone() },
                u.client_certificate_data.as_deref(),
                u.client_certificate.as_deref(),
                base_dir,
            )
        }),
    })
}

fn material(role: Role, data: Option<&str>, path: Option<&str>, base_dir: Option<&Path>) -> Option<Material> {
    if let Some(b64) = data.filter(|d| !d.trim().is_empty()) {
        let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        let data =
            base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| "the *-data field is not valid base64".to_string());
        return Some(Material { role, origin: Origin::Inline, data });
    }
    let path = Path::new(path.filter(|p| !p.is_empty())?);
    let path = match base_dir {
        Some(dir) if path.is_relative() => dir.join(path),
        Some(_) => path.to_path_buf(),
        None => return None,
    };
    let data = match super::limits::read_file(&path) {
        Ok(read) => read.map_err(|e| format!("{}: {e}", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    };
    Some(Material { role, origin: Origin::File(path), data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    #[test]
    fn a_json_kubeconfig_is_one() {
        assert!(looks_like_kubeconfig(br#"{"apiVersion": "v1", "clusters": [], "users": []}"#));
        assert!(!looks_like_kubeconfig(br#"{"clusters": []}"#));
        assert!(looks_like_kubeconfig(b"clusters: []\nusers: []\n"));
    }

    #[test]
    fn extracts_inline_ca_and_client_certificate() {
        let root = ca("kubernetes");
        let admin = leaf_signed_by("kubernetes-admin", &root);
        let yaml = kubeconfig_yaml(&root.pem, &admin.pem);
        assert!(looks_like_kubeconfig(yaml.as_bytes()));
        let kc = parse(yaml.as_bytes()).unwrap();
        let m = materials(&kc, None);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].role, Role::ClusterCa { cluster: "tenant".into() });
        assert_eq!(m[0].data.as_deref().unwrap(), root.pem.as_bytes());
        assert_eq!(m[1].role, Role::ClientCert { user: "admin".into() });
        assert_eq!(m[1].data.as_deref().unwrap(), admin.pem.as_bytes());
        let c = for_context(&kc, None, None).unwrap();
        assert_eq!(c.context, "admin@tenant");
        assert_eq!(c.server.as_deref(), Some("https://10.0.0.1:6443"));
        assert!(c.ca.is_some() && c.client.is_some());
        assert!(for_context(&kc, Some("nope"), None).is_err());
    }

    #[test]
    fn reads_file_paths_relative_to_the_kubeconfig_only_when_local() {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("kubernetes");
        std::fs::write(dir.path().join("ca.crt"), &root.pem).unwrap();
        let yaml = "clusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority: ca.crt\nusers:\n- name: u\n  user:\n    client-certificate: missing.crt\n";
        let kc = parse(yaml.as_bytes()).unwrap();
        let m = materials(&kc, Some(dir.path()));
        assert_eq!(m[0].origin, Origin::File(dir.path().join("ca.crt")));
        assert_eq!(m[0].data.as_deref().unwrap(), root.pem.as_bytes());
        assert!(m[1].data.as_ref().unwrap_err().contains("missing.crt"));
        assert!(materials(&kc, None).is_empty());
    }

    #[test]
    fn broken_kubeconfig_error_does_not_quote_the_document() {
        let yaml = "clusters:\n- name: c\n  cluster: [\nusers:\n- name: u\n  user:\n    client-key-data: SECRETKEYMATERIAL\n";
        assert!(looks_like_kubeconfig(yaml.as_bytes()));
        let err = parse(yaml.as_bytes()).unwrap_err();
        assert!(!err.contains("SECRETKEYMATERIAL"), "{err}");
        assert!(err.starts_with("not a valid kubeconfig"), "{err}");
        assert!(!looks_like_kubeconfig(b"DB_PASSWORD: x\n"));
    }

    #[test]
    fn bad_base64_is_reported_per_field() {
        let yaml = "clusters:\n- name: c\n  cluster:\n    certificate-authority-data: '%%%'\nusers: []\n";
        let kc = parse(yaml.as_bytes()).unwrap();
        assert!(materials(&kc, None)[0].data.is_err());
    }
}
