//! Putting a renewed client certificate where the old one was: inline in
//! the kubeconfig (`client-certificate-data`/`client-key-data`) or in the
//! files it names, whichever it used; or a new kubeconfig (`--out`).
//!
//! Every replaced file gets a 0600 backup beside it first; each new file is
//! written to a temporary file created 0600 (certificates 0644) and renamed
//! over the real path (symlinks were resolved when the credential was found,
//! so a link stays a link). No clap, no network.

use std::path::{Path, PathBuf};

use base64::Engine;
use kube::config::{AuthInfo, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::issuer::Staged;

use super::credential::{Credential, Location};

/// The renewed certificate and its key (PEM). Debug shows neither.
pub struct Issued {
    pub cert_pem: String,
    key_pem: String,
}

impl Issued {
    pub fn new(cert_pem: String, key_pem: String) -> Self {
        Issued { cert_pem, key_pem }
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("cert_pem", &crate::issuer::pem::Redacted(self.cert_pem.len()))
            .field("key_pem", &crate::issuer::pem::Redacted(self.key_pem.len()))
            .finish()
    }
}

/// Where the renewed credential goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Where the old one is.
    InPlace,
    /// A new kubeconfig with the context alone (`--out`), replacing an
    /// existing file only with `replace`.
    Out { path: PathBuf, replace: bool },
}

/// One file a run writes, and the backup of what it replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub path: PathBuf,
    /// `kubeconfig`, `client certificate`, `client key`.
    pub what: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
}

/// What a run will write, for the plan (nothing is touched).
pub fn plan(cred: &Credential, target: &Target, stamp: &str) -> Vec<Change> {
    let backup = |p: &Path| Some(backup_path(p, stamp));
    match target {
        Target::Out { path, .. } => {
            vec![Change { path: path.clone(), what: "kubeconfig", backup: None }]
        }
        Target::InPlace => {
            let mut out = Vec::new();
            if cred.cert_at == Location::Inline || cred.key_at == Location::Inline {
                out.push(Change { path: cred.file.clone(), what: "kubeconfig", backup: backup(&cred.file) });
            }
            if let Location::File(p) = &cred.cert_at {
                out.push(Change { path: p.clone(), what: "client certificate", backup: backup(p) });
            }
            if let Location::File(p) = &cred.key_at {
                out.push(Change { path: p.clone(), what: "client key", backup: backup(p) });
            }
            out
        }
    }
}

/// `<file>.bak-<stamp>`, beside it.
pub fn backup_path(path: &Path, stamp: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".bak-{stamp}"));
    path.with_file_name(name)
}

/// Where the new key waits while the CSR is pending, so a run that times
/// out (or is interrupted) can be finished by hand: beside the target.
pub fn pending_key_path(cred: &Credential, target: &Target, stamp: &str) -> PathBuf {
    let base = match target {
        Target::Out { path, .. } => path.clone(),
        Target::InPlace => cred.file.clone(),
    };
    let mut name = base.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".renew-{stamp}.key"));
    base.with_file_name(name)
}

/// Writes the pending key (0600, never replacing a file).
pub fn write_pending_key(path: &Path, issued_key_pem: &str) -> Result<()> {
    let mut staged = Staged::new();
    staged.add(path, issued_key_pem.as_bytes().to_vec(), true);
    staged.commit().map(|_| ())
}

/// The key PEM, for [`write_pending_key`] only.
pub fn key_pem(issued: &Issued) -> &str {
    &issued.key_pem
}

/// Writes the renewed credential; returns what was written. The
/// kubeconfig must still be as it was read (another writer is not overwritten).
pub fn write(cred: &Credential, merged: &Kubeconfig, target: &Target, stamp: &str, issued: &Issued) -> Result<Vec<Change>> {
    let changes = plan(cred, target, stamp);
    let mut staged = Staged::new();
    match target {
        Target::Out { path, replace } => {
            let text = standalone(cred, merged, issued)?;
            if *replace {
                staged.add_replacing(path, text.into_bytes(), true);
            } else {
                staged.add(path, text.into_bytes(), true);
            }
        }
        Target::InPlace => {
            let now = std::fs::read(&cred.file).map_err(|e| Error::io_at(&cred.file, e))?;
            if now != cred.original {
                return Err(Error::file(&cred.file, "changed while the certificate was renewed; not overwriting it"));
            }
            for c in &changes {
                let Some(backup) = &c.backup else { continue };
                let old = if c.path == cred.file { now.clone() } else { std::fs::read(&c.path).map_err(|e| Error::io_at(&c.path, e))? };
                staged.add(backup, old, true);
            }
            for c in &changes {
                match c.what {
                    "kubeconfig" => staged.add_replacing(&c.path, inline(cred, issued)?.into_bytes(), true),
                    "client certificate" => staged.add_replacing(&c.path, issued.cert_pem.as_bytes().to_vec(), false),
                    _ => staged.add_replacing(&c.path, issued.key_pem.as_bytes().to_vec(), true),
                }
            }
        }
    }
    staged.commit()?;
    Ok(changes)
}

/// The kubeconfig with the user's inline fields replaced; everything else
/// kept (as kubectl rewrites a kubeconfig: comments are not kept).
fn inline(cred: &Credential, issued: &Issued) -> Result<String> {
    let text = std::str::from_utf8(&cred.original).map_err(|_| Error::file(&cred.file, "not UTF-8"))?;
    let mut doc: Value = serde_saphyr::from_str(text)
        .map_err(|e| Error::file(&cred.file, format!("not a valid kubeconfig: {}", crate::certs::kubeconfig::redact_yaml_error(&e))))?;
    let b64 = |s: &str| Value::String(base64::engine::general_purpose::STANDARD.encode(s));
    let user = doc
        .get_mut("users")
        .and_then(Value::as_array_mut)
        .and_then(|users| users.iter_mut().find(|u| u.get("name").and_then(Value::as_str) == Some(cred.user.as_str())))
        .and_then(|u| u.get_mut("user"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::file(&cred.file, format!("user {:?} not found when writing", cred.user)))?;
    if cred.cert_at == Location::Inline {
        user.insert("client-certificate-data".into(), b64(&issued.cert_pem));
    }
    if cred.key_at == Location::Inline {
        user.insert("client-key-data".into(), b64(&issued.key_pem));
    }
    crate::output::to_yaml(&doc)
}

/// A kubeconfig with the context alone, everything inline (as
/// `kubectl config view --minify --flatten`).
fn standalone(cred: &Credential, merged: &Kubeconfig, issued: &Issued) -> Result<String> {
    let context = merged
        .contexts
        .iter()
        .find(|c| c.name == cred.context)
        .cloned()
        .ok_or_else(|| Error::Invalid(format!("context {:?} not found", cred.context)))?;
    let cluster_name = context.context.as_ref().map(|c| c.cluster.clone()).unwrap_or_default();
    let mut cluster = merged
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .cloned()
        .unwrap_or_else(|| NamedCluster { name: cluster_name.clone(), ..Default::default() });
    if let Some(c) = cluster.cluster.as_mut()
        && let Some(path) = c.certificate_authority.take()
    {
        let pem = std::fs::read(&path).map_err(|e| Error::io_at(&path, e))?;
        c.certificate_authority_data = Some(base64::engine::general_purpose::STANDARD.encode(pem));
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let user = NamedAuthInfo {
        name: cred.user.clone(),
        auth_info: Some(AuthInfo {
            client_certificate_data: Some(b64(&issued.cert_pem)),
            client_key_data: Some(b64(&issued.key_pem).into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let kc = Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        clusters: vec![cluster],
        auth_infos: vec![user],
        contexts: vec![NamedContext { ..context }],
        current_context: Some(cred.context.clone()),
        ..Default::default()
    };
    crate::output::to_yaml(&kc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::renew::credential::find;
    use kubectl_pki_testkit::{b64, ca, leaf_signed_by};
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn inline_kubeconfig(dir: &Path) -> (PathBuf, Kubeconfig, Credential) {
        let root = ca("kubernetes");
        let admin = leaf_signed_by("kubernetes-admin", &root);
        let yaml = format!(
            "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: tenant\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: {}\n\
             contexts:\n- name: admin@tenant\n  context:\n    cluster: tenant\n    user: admin\n    namespace: kube-system\ncurrent-context: admin@tenant\n\
             users:\n- name: other\n  user:\n    token: keep-me\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(&root.pem),
            b64(&admin.pem),
            b64(&admin.key_pem)
        );
        let path = dir.join("config");
        std::fs::write(&path, yaml).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let kc = Kubeconfig::read_from(&link).unwrap();
        let cred = find(&kc, "admin@tenant", std::slice::from_ref(&link)).unwrap();
        (path, kc, cred)
    }

    fn issued() -> Issued {
        let root = ca("kubernetes");
        let new = leaf_signed_by("kubernetes-admin", &root);
        Issued::new(new.pem, new.key_pem)
    }

    #[test]
    fn inline_credentials_are_replaced_in_the_kubeconfig_with_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let (path, kc, cred) = inline_kubeconfig(dir.path());
        let old = std::fs::read(&path).unwrap();
        let new = issued();
        let changes = write(&cred, &kc, &Target::InPlace, "20260101T000000Z", &new).unwrap();
        let real = std::fs::canonicalize(&path).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, real);
        let backup = changes[0].backup.clone().unwrap();
        assert_eq!(backup, real.with_file_name("config.bak-20260101T000000Z"));
        assert_eq!(std::fs::read(&backup).unwrap(), old);
        assert_eq!((mode(&backup), mode(&path)), (0o600, 0o600));
        assert!(std::fs::symlink_metadata(dir.path().join("link")).unwrap().file_type().is_symlink(), "the link stays a link");

        let back = Kubeconfig::read_from(&path).unwrap();
        let again = find(&back, "admin@tenant", std::slice::from_ref(&path)).unwrap();
        assert_eq!(again.cert_pem, new.cert_pem.as_bytes());
        let other = back.auth_infos.iter().find(|u| u.name == "other").unwrap().auth_info.as_ref().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(other.token.as_ref().unwrap().expose_secret(), "keep-me", "other users kept");
        let ctx = back.contexts[0].context.as_ref().unwrap();
        assert_eq!(ctx.namespace.as_deref(), Some("kube-system"));
        assert_eq!(back.current_context.as_deref(), Some("admin@tenant"));
        // A second run in the same second would not clobber the backup.
        let cred = find(&back, "admin@tenant", std::slice::from_ref(&path)).unwrap();
        assert!(write(&cred, &back, &Target::InPlace, "20260101T000000Z", &new).unwrap_err().to_string().contains("already exists"));
    }

    #[test]
    fn a_kubeconfig_changed_meanwhile_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (path, kc, cred) = inline_kubeconfig(dir.path());
        std::fs::write(&path, "changed").unwrap();
        let err = write(&cred, &kc, &Target::InPlace, "s", &issued()).unwrap_err().to_string();
        assert!(err.contains("changed while"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "changed");
    }

    #[test]
    fn files_the_kubeconfig_names_are_replaced_and_the_kubeconfig_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = ca("kubernetes");
        let u = leaf_signed_by("u", &root);
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(dir.path().join("real/u.crt"), &u.pem).unwrap();
        std::fs::write(dir.path().join("real/u.key"), &u.key_pem).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real/u.crt"), dir.path().join("u.crt")).unwrap();
        let yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: {}\n\
             users:\n- name: u\n  user:\n    client-certificate: u.crt\n    client-key: real/u.key\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n",
            b64(&root.pem)
        );
        let path = dir.path().join("config");
        std::fs::write(&path, &yaml).unwrap();
        let kc = Kubeconfig::read_from(&path).unwrap();
        let cred = find(&kc, "c", std::slice::from_ref(&path)).unwrap();
        let new = issued();
        let changes = write(&cred, &kc, &Target::InPlace, "S", &new).unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap().join("real");
        assert_eq!(
            changes.iter().map(|c| (c.what, c.path.clone())).collect::<Vec<_>>(),
            [("client certificate", real.join("u.crt")), ("client key", real.join("u.key"))]
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), yaml, "kubeconfig untouched");
        assert_eq!(std::fs::read_to_string(dir.path().join("u.crt")).unwrap(), new.cert_pem, "through the link");
        assert!(std::fs::symlink_metadata(dir.path().join("u.crt")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(real.join("u.key")).unwrap(), new.key_pem);
        assert_eq!(mode(&real.join("u.key")), 0o600);
        assert_eq!(std::fs::read_to_string(real.join("u.key.bak-S")).unwrap(), u.key_pem);
        assert_eq!(std::fs::read_to_string(real.join("u.crt.bak-S")).unwrap(), u.pem);
        assert_eq!((mode(&real.join("u.key.bak-S")), mode(&real.join("u.crt.bak-S"))), (0o600, 0o600));
    }

    #[test]
    fn out_writes_a_standalone_kubeconfig_and_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let (path, kc, cred) = inline_kubeconfig(dir.path());
        let old = std::fs::read(&path).unwrap();
        let out = dir.path().join("new.kubeconfig");
        let new = issued();
        let target = Target::Out { path: out.clone(), replace: false };
        assert_eq!(plan(&cred, &target, "S"), [Change { path: out.clone(), what: "kubeconfig", backup: None }]);
        write(&cred, &kc, &target, "S", &new).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), old);
        assert_eq!(mode(&out), 0o600);
        let back = Kubeconfig::read_from(&out).unwrap();
        assert_eq!((back.clusters.len(), back.auth_infos.len(), back.contexts.len()), (1, 1, 1));
        assert_eq!(back.current_context.as_deref(), Some("admin@tenant"));
        assert_eq!(find(&back, "admin@tenant", std::slice::from_ref(&out)).unwrap().cert_pem, new.cert_pem.as_bytes());
        assert!(write(&cred, &kc, &target, "S", &new).unwrap_err().to_string().contains("already exists"));
        write(&cred, &kc, &Target::Out { path: out, replace: true }, "S", &new).unwrap();
    }

    #[test]
    fn the_pending_key_is_private_and_debug_shows_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _, cred) = inline_kubeconfig(dir.path());
        let new = issued();
        let p = pending_key_path(&cred, &Target::InPlace, "S");
        assert_eq!(p.file_name().unwrap(), "config.renew-S.key");
        write_pending_key(&p, key_pem(&new)).unwrap();
        assert_eq!(mode(&p), 0o600);
        let debug = format!("{new:?}");
        assert!(!debug.contains("PRIVATE") && !debug.contains("CERTIFICATE"), "{debug}");
    }
}
