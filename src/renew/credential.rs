//! The credential a kubeconfig context uses, found where it lives: the
//! kubeconfig file that defines the context's user (the first of
//! `$KUBECONFIG` to define it, as kubectl merges them), and whether its
//! client certificate and key are inline (`*-data`) or files it names.
//!
//! Reads files only; the private key is never read (the key type comes from
//! the certificate). No clap, no network.

use std::path::{Path, PathBuf};

use base64::Engine;
use kube::config::{AuthInfo, Kubeconfig, KubeconfigError};

use crate::certs::CertInfo;
use crate::error::{Error, Result};
use crate::issuer::KeyKind;

use super::identity::Identity;

/// Where a certificate or key is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `client-certificate-data` / `client-key-data` in the kubeconfig.
    Inline,
    /// A file the kubeconfig names (absolute, symlinks resolved).
    File(PathBuf),
}

/// The client certificate of a context's user, and where it lives.
#[derive(Debug, Clone)]
pub struct Credential {
    pub context: String,
    /// The kubeconfig's name of the user entry.
    pub user: String,
    /// The kubeconfig file that defines the user (symlinks resolved).
    pub file: PathBuf,
    /// That file's bytes as read (a change before the write is refused).
    pub original: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub cert: CertInfo,
    pub cert_at: Location,
    pub key_at: Location,
    /// `as:` in the user entry: the server sees someone else.
    pub impersonate: Option<String>,
}

/// The files kubectl reads: `--kubeconfig`, else each of `$KUBECONFIG`,
/// else `~/.kube/config`.
pub fn kubeconfig_files(explicit: Option<&Path>, env: Option<&std::ffi::OsStr>, home: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        return std::env::split_paths(v).filter(|p| !p.as_os_str().is_empty()).collect();
    }
    home.map(|h| vec![h.join(".kube").join("config")]).unwrap_or_default()
}

/// The user entry of `context` in the merged kubeconfig `kc`, found in
/// the first of `files` that defines it, with its client certificate.
pub fn find(kc: &Kubeconfig, context: &str, files: &[PathBuf]) -> Result<Credential> {
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| Error::Invalid(format!("context {context:?} not found in the kubeconfig")))?;
    let user = ctx
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::Invalid(format!("context {context:?} names no user: there is no client certificate to renew")))?;
    for path in files {
        if !path.exists() {
            continue;
        }
        let one = Kubeconfig::read_from(path).map_err(|e| Error::file(path, read_error(&e)))?;
        let Some(entry) = one.auth_infos.iter().find(|u| u.name == user) else { continue };
        let auth = entry.auth_info.clone().unwrap_or_default();
        let file = std::fs::canonicalize(path).map_err(|e| Error::io_at(path, e))?;
        let original = std::fs::read(&file).map_err(|e| Error::io_at(&file, e))?;
        return certificate(context, &user, file, original, &auth);
    }
    Err(Error::Invalid(format!("user {user:?} of context {context:?} is in none of the kubeconfig files")))
}

fn read_error(err: &KubeconfigError) -> String {
    match err {
        KubeconfigError::Parse(e) => {
            format!("not a valid kubeconfig: {}", crate::certs::kubeconfig::redact_yaml_error(e.as_ref()).trim_start_matches("error: "))
        }
        other => crate::error::flatten(other),
    }
}

/// The certificate credential of one user entry, or why there is none to renew.
fn certificate(context: &str, user: &str, file: PathBuf, original: Vec<u8>, auth: &AuthInfo) -> Result<Credential> {
    let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let cert_data = auth.client_certificate_data.as_deref().filter(|s| !s.trim().is_empty());
    if cert_data.is_none() && !has(&auth.client_certificate) {
        return Err(Error::Invalid(nothing_to_renew(context, user, auth)));
    }
    let key_data = auth.client_key_data.as_ref().map(secrecy_is_set).unwrap_or(false);
    if !key_data && !has(&auth.client_key) {
        return Err(Error::Invalid(format!(
            "user {user:?} of context {context:?} has a client certificate but no client-key or client-key-data"
        )));
    }
    let (cert_pem, cert_at) = match cert_data {
        Some(b64) => {
            let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            let pem = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map_err(|_| Error::file(&file, format!("user {user:?}: client-certificate-data is not valid base64")))?;
            (pem, Location::Inline)
        }
        None => {
            let path = resolved(auth.client_certificate.as_deref().unwrap_or_default())?;
            (std::fs::read(&path).map_err(|e| Error::io_at(&path, e))?, Location::File(path))
        }
    };
    let key_at = if key_data { Location::Inline } else { Location::File(resolved(auth.client_key.as_deref().unwrap_or_default())?) };
    if let (Location::File(c), Location::File(k)) = (&cert_at, &key_at)
        && c == k
    {
        return Err(Error::file(c, "client-certificate and client-key name the same file: renew it by hand"));
    }
    let der = crate::certs::certificates_in(&cert_pem)
        .map_err(|e| Error::file(&file, format!("user {user:?}: client certificate: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| Error::file(&file, format!("user {user:?}: no client certificate")))?;
    let cert = CertInfo::from_der(&der).map_err(|e| Error::file(&file, format!("user {user:?}: client certificate: {e}")))?;
    Ok(Credential {
        context: context.into(),
        user: user.into(),
        file,
        original,
        cert_pem,
        cert,
        cert_at,
        key_at,
        impersonate: auth.impersonate.clone().filter(|s| !s.is_empty()),
    })
}

fn secrecy_is_set(s: &secrecy::SecretString) -> bool {
    use secrecy::ExposeSecret;
    !s.expose_secret().trim().is_empty()
}

/// An absolute path (kube made it so) with symlinks resolved.
fn resolved(path: &str) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| Error::io_at(path, e))
}

/// Why a user entry without a client certificate has nothing to renew.
fn nothing_to_renew(context: &str, user: &str, auth: &AuthInfo) -> String {
    let how = if auth.token.is_some() || auth.token_file.is_some() {
        "a bearer token; tokens are renewed by whoever issues them".to_string()
    } else if let Some(exec) = &auth.exec {
        format!("an exec plugin ({:?}), which issues its own credentials", exec.command.as_deref().unwrap_or_default())
    } else if let Some(p) = &auth.auth_provider {
        format!("the auth provider {:?}, which issues its own credentials", p.name)
    } else if auth.username.is_some() {
        "a username and password".to_string()
    } else {
        "no credentials at all".to_string()
    };
    format!("context {context:?} (user {user:?}) authenticates with {how}: there is no client certificate to renew")
}

/// The key type of the current certificate, to generate the same.
pub fn key_kind(cert: &CertInfo) -> Result<KeyKind> {
    match cert.key_type.as_str() {
        "Ed25519" => Ok(KeyKind::Ed25519),
        "ECDSA-P256" => Ok(KeyKind::EcdsaP256),
        "ECDSA-P384" => Ok(KeyKind::EcdsaP384),
        t => match t.strip_prefix("RSA-").and_then(|b| b.parse::<usize>().ok()) {
            Some(bits) if (2048..=8192).contains(&bits) => Ok(KeyKind::Rsa(bits)),
            _ => {
                Err(Error::Invalid(format!("the current certificate's key type {t:?} cannot be renewed as is; choose one with --key-type")))
            }
        },
    }
}

/// The identity the certificate names: CN is the user, O the groups.
pub fn cert_identity(cert: &CertInfo) -> Identity {
    Identity::new(cert.common_name.clone().unwrap_or_default(), cert.organizations.iter().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{b64, ca, kubeconfig_yaml, leaf_signed_by, token_kubeconfig};

    fn merged(path: &Path) -> Kubeconfig {
        Kubeconfig::read_from(path).unwrap()
    }

    #[test]
    fn kubeconfig_files_follow_kubectl() {
        let home = Path::new("/home/u");
        assert_eq!(kubeconfig_files(Some(Path::new("/k")), Some("/a:/b".as_ref()), Some(home)), [PathBuf::from("/k")]);
        assert_eq!(kubeconfig_files(None, Some("/a::/b".as_ref()), Some(home)), [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(kubeconfig_files(None, Some("".as_ref()), Some(home)), [PathBuf::from("/home/u/.kube/config")]);
    }

    #[test]
    fn inline_credentials_are_found_with_their_subject() {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("kubernetes");
        let admin = leaf_signed_by("kubernetes-admin", &root);
        let path = dir.path().join("config");
        std::fs::write(&path, kubeconfig_yaml(&root.pem, &admin.pem)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let c = find(&merged(&link), "admin@tenant", std::slice::from_ref(&link)).unwrap();
        assert_eq!((c.user.as_str(), c.cert_at.clone(), c.key_at.clone()), ("admin", Location::Inline, Location::Inline));
        assert_eq!(c.file, std::fs::canonicalize(&path).unwrap(), "symlink resolved");
        assert_eq!(cert_identity(&c.cert).user, "kubernetes-admin");
        assert_eq!(key_kind(&c.cert).unwrap(), KeyKind::EcdsaP256);
        assert_eq!(c.original, std::fs::read(&path).unwrap());
    }

    #[test]
    fn file_credentials_resolve_relative_to_the_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("kubernetes");
        let u = leaf_signed_by("u", &root);
        std::fs::write(dir.path().join("u.crt"), &u.pem).unwrap();
        std::fs::write(dir.path().join("u.key"), &u.key_pem).unwrap();
        let yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: {}\n\
             users:\n- name: u\n  user:\n    client-certificate: u.crt\n    client-key: u.key\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n",
            b64(&root.pem)
        );
        let path = dir.path().join("config");
        std::fs::write(&path, yaml).unwrap();
        let c = find(&merged(&path), "c", std::slice::from_ref(&path)).unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(c.cert_at, Location::File(real.join("u.crt")));
        assert_eq!(c.key_at, Location::File(real.join("u.key")));
        assert_eq!(c.cert_pem, u.pem.as_bytes());
    }

    #[test]
    fn the_first_file_defining_the_user_is_the_one_renewed() {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("kubernetes");
        let a = leaf_signed_by("first", &root);
        let b = leaf_signed_by("second", &root);
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        std::fs::write(&one, "apiVersion: v1\nkind: Config\n").unwrap();
        std::fs::write(&two, kubeconfig_yaml(&root.pem, &a.pem)).unwrap();
        let three = dir.path().join("three");
        std::fs::write(&three, kubeconfig_yaml(&root.pem, &b.pem)).unwrap();
        let files = vec![one, dir.path().join("missing"), two.clone(), three];
        let c = find(&merged(&two), "admin@tenant", &files).unwrap();
        assert_eq!(c.file, std::fs::canonicalize(&two).unwrap());
        assert_eq!(c.cert.common_name.as_deref(), Some("first"));
    }

    #[test]
    fn tokens_exec_plugins_and_missing_keys_say_there_is_nothing_to_renew() {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("kubernetes");
        let path = dir.path().join("config");
        std::fs::write(&path, token_kubeconfig("https://x", &root.pem, "abc.def")).unwrap();
        let err = find(&merged(&path), "c", std::slice::from_ref(&path)).unwrap_err().to_string();
        assert_eq!(
            err,
            "context \"c\" (user \"u\") authenticates with a bearer token; tokens are renewed by whoever issues them: there is no client certificate to renew"
        );
        assert!(!err.contains("abc.def"));
        let exec = "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n";
        std::fs::write(&path, exec).unwrap();
        let err = find(&merged(&path), "c", std::slice::from_ref(&path)).unwrap_err().to_string();
        assert!(err.contains("an exec plugin (\"aws\")") && err.contains("no client certificate to renew"), "{err}");
        let admin = leaf_signed_by("a", &root);
        let no_key = kubeconfig_yaml(&root.pem, &admin.pem).replace("    client-key-data: c2VjcmV0LWtleQ==\n", "");
        std::fs::write(&path, no_key).unwrap();
        let err = find(&merged(&path), "admin@tenant", std::slice::from_ref(&path)).unwrap_err().to_string();
        assert!(err.contains("no client-key"), "{err}");
        assert!(find(&merged(&path), "nope", std::slice::from_ref(&path)).unwrap_err().to_string().contains("not found"));
    }

    #[test]
    fn rsa_and_unknown_key_types() {
        let mut info = CertInfo::from_der(&leaf_signed_by("x", &ca("r")).der).unwrap();
        info.key_type = "RSA-3072".into();
        assert_eq!(key_kind(&info).unwrap(), KeyKind::Rsa(3072));
        info.key_type = "ECDSA-P521".into();
        assert!(key_kind(&info).unwrap_err().to_string().contains("--key-type"));
    }
}
