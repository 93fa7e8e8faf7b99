//! The local backup taken before any change: a `v1` List of the Secrets,
//! as YAML (`kubectl create -f` reads it too), stripped of server-set
//! fields but keeping labels, annotations, ownerReferences, finalizers,
//! type and data. Written 0600 to a temporary file, fsynced, renamed into
//! place, and the directory fsynced: once `write` returns, the backup
//! survives a crash, so deleting the originals is safe.
//! Files only: no API calls, no clap types, no printing (restore reads it too).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `pki-backup-<ns>-<tenant>-<UTC timestamp>.yaml`.
pub fn file_name(namespace: &str, tenant: &str, at: Timestamp) -> String {
    format!("pki-backup-{namespace}-{tenant}-{}.yaml", at.strftime("%Y%m%dT%H%M%SZ"))
}

/// The Secret as it should be recreated: no uid, resourceVersion,
/// managedFields or timestamps.
pub fn strip(secret: &Secret) -> Secret {
    let m = &secret.metadata;
    Secret {
        metadata: ObjectMeta {
            name: m.name.clone(),
            namespace: m.namespace.clone(),
            labels: m.labels.clone(),
            annotations: m.annotations.clone(),
            owner_references: m.owner_references.clone(),
            finalizers: m.finalizers.clone(),
            ..Default::default()
        },
        type_: secret.type_.clone(),
        data: secret.data.clone(),
        immutable: secret.immutable,
        string_data: None,
    }
}

/// SHA-256 over the sorted keys and values: tells whether a secret still
/// holds what the backup holds (then it was not regenerated yet).
pub fn data_hash(secret: &Secret) -> String {
    let mut h = Sha256::new();
    for (k, v) in secret.data.iter().flatten() {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.0.len() as u64).to_be_bytes());
        h.update(&v.0);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The YAML document, with a header saying what it is and that it holds keys.
pub fn render(namespace: &str, tenant: &str, secrets: &[Secret], at: Timestamp) -> Result<String> {
    let items: Vec<Secret> = secrets.iter().map(strip).collect();
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": serde_json::to_value(&items).map_err(|e| Error::Invalid(format!("backup: {e}")))?,
    });
    let body = crate::output::to_yaml(&list)?;
    Ok(format!(
        "# kubectl-pki backup of tenant {namespace}/{tenant}: {} secret(s), taken {at} before rotate-ca or renew changed it.\n\
         # It holds PRIVATE KEYS: keep it as safe as the cluster's CA, delete it when no longer needed.\n\
         # Restore with: kubectl pki restore <this file>\n{body}",
        items.len()
    ))
}

/// Writes the backup into `dir` (created 0700 if missing) and returns its path.
pub fn write(dir: &Path, namespace: &str, tenant: &str, secrets: &[Secret], at: Timestamp) -> Result<PathBuf> {
    if !dir.exists() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| Error::file(dir, e))?;
    }
    let text = render(namespace, tenant, secrets, at)?;
    // A re-run within the same second (the first one cut off before it
    // recorded its backup) gets `-2`, `-3`...: never overwrite, never fail.
    let name = file_name(namespace, tenant, at);
    let mut path = dir.join(&name);
    let mut n = 1;
    loop {
        match write_atomic(&path, text.as_bytes(), false) {
            Err(Error::File { reason, .. }) if path.exists() && n < 100 && reason.contains("exists") => {
                n += 1;
                path = dir.join(format!("{}-{n}.yaml", name.trim_end_matches(".yaml")));
            }
            other => break other?,
        }
    }
    // Read it back: a backup that does not parse is no backup.
    let back = read(&path)?;
    if back.len() != secrets.len() || back.iter().zip(secrets).any(|(a, b)| data_hash(a) != data_hash(b)) {
        return Err(Error::file(&path, "backup verification failed: the file does not hold what was written"));
    }
    Ok(path)
}

#[derive(Deserialize)]
struct List {
    kind: Option<String>,
    #[serde(default)]
    items: Vec<serde_json::Value>,
}

/// Reads a backup file (or the one `pki-backup-*.yaml` in a directory).
pub fn read(path: &Path) -> Result<Vec<Secret>> {
    let path = resolve(path)?;
    let text = fs::read_to_string(&path).map_err(|e| Error::file(&path, e))?;
    let list: List =
        serde_saphyr::from_str(&text).map_err(|e| Error::file(&path, format!("not a backup (YAML): {}", first_line(&e.to_string()))))?;
    if list.kind.as_deref() != Some("List") {
        return Err(Error::file(&path, "not a backup: expected kind: List"));
    }
    list.items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if item.get("kind").and_then(|k| k.as_str()) != Some("Secret") {
                return Err(Error::file(&path, format!("item {i} is not a Secret")));
            }
            serde_json::from_value::<Secret>(item).map_err(|e| Error::file(&path, format!("item {i}: {}", first_line(&e.to_string()))))
        })
        .collect()
}

fn resolve(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let found: Vec<PathBuf> = fs::read_dir(path)
        .map_err(|e| Error::file(path, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("pki-backup-") && n.ends_with(".yaml")))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::file(path, "no pki-backup-*.yaml in this directory")),
        _ => Err(Error::file(path, format!("{} backups in this directory: name the file", found.len()))),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Writes `bytes` to `path` with mode 0600 so that a crash leaves either no
/// file or the whole file: temporary file, fsync, rename (or link when not
/// replacing, which refuses an existing name), fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if replace {
            fs::rename(&tmp, path)?;
        } else {
            fs::hard_link(&tmp, path)?;
            fs::remove_file(&tmp)?;
        }
        fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::file(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::os::unix::fs::PermissionsExt;

    fn secret(name: &str, key: &str, value: &[u8]) -> Secret {
        serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name, "namespace": "tenant-a", "uid": "1234", "resourceVersion": "99",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "managedFields": [{"manager": "kamaji", "operation": "Update"}],
                "labels": {"kamaji.clastix.io/name": "k8s"},
                "annotations": {"kamaji.clastix.io/checksum": "abc"},
                "ownerReferences": [{"apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane", "name": "k8s", "uid": "tcp-uid"}]
            },
            "type": "Opaque",
        }))
        .map(|mut s: Secret| {
            s.data = Some([(key.to_string(), ByteString(value.to_vec()))].into());
            s
        })
        .unwrap()
    }

    #[test]
    fn round_trip_keeps_what_restore_needs_and_drops_server_fields() {
        let dir = tempfile::tempdir().unwrap();
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let secrets = vec![
            secret("k8s-ca", "ca.key", b"-----BEGIN PRIVATE KEY-----\nxx\n"),
            secret("k8s-sa-certificate", "sa.pub", b"\x00\x01binary"),
        ];
        let path = write(&dir.path().join("backups"), "tenant-a", "k8s", &secrets, at).unwrap();
        assert_eq!(path.file_name().unwrap(), "pki-backup-tenant-a-k8s-20261127T100000Z.yaml");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(dir.path().join("backups")).unwrap().permissions().mode() & 0o777, 0o700);
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].metadata.name.as_deref(), Some("k8s-ca"));
        assert_eq!(back[1].data.as_ref().unwrap()["sa.pub"].0, b"\x00\x01binary");
        assert_eq!(back[0].metadata.labels.as_ref().unwrap()["kamaji.clastix.io/name"], "k8s");
        assert_eq!(back[0].metadata.annotations.as_ref().unwrap()["kamaji.clastix.io/checksum"], "abc");
        assert_eq!(back[0].metadata.owner_references.as_ref().unwrap()[0].uid, "tcp-uid");
        assert_eq!(back[0].type_.as_deref(), Some("Opaque"));
        assert!(back[0].metadata.uid.is_none() && back[0].metadata.resource_version.is_none());
        assert!(back[0].metadata.managed_fields.is_none() && back[0].metadata.creation_timestamp.is_none());
        assert_eq!(data_hash(&back[0]), data_hash(&secrets[0]));
        // The directory form finds the single backup in it.
        assert_eq!(read(&dir.path().join("backups")).unwrap().len(), 2);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# kubectl-pki backup of tenant tenant-a/k8s: 2 secret(s)"));
        assert!(text.contains("kind: List"));
        // No temporary file left behind.
        assert_eq!(fs::read_dir(dir.path().join("backups")).unwrap().count(), 1);
    }

    #[test]
    fn never_overwrites_an_existing_backup() {
        let dir = tempfile::tempdir().unwrap();
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let first = write(dir.path(), "ns", "t", &[secret("k8s-ca", "ca.crt", b"x")], at).unwrap();
        let before = fs::read(&first).unwrap();
        // A second backup in the same second gets a name of its own.
        let second = write(dir.path(), "ns", "t", &[secret("k8s-ca", "ca.crt", b"y")], at).unwrap();
        assert_eq!(second.file_name().unwrap(), "pki-backup-ns-t-20261127T100000Z-2.yaml");
        assert_eq!(fs::read(&first).unwrap(), before, "the first backup is untouched");
        assert_eq!(read(&second).unwrap()[0].data.as_ref().unwrap()["ca.crt"].0, b"y");
    }

    #[test]
    fn data_hash_tells_content_apart() {
        let a = secret("x", "k", b"1");
        assert_eq!(data_hash(&a), data_hash(&secret("y", "k", b"1")));
        assert_ne!(data_hash(&a), data_hash(&secret("x", "k", b"2")));
        assert_ne!(data_hash(&a), data_hash(&secret("x", "k2", b"1")));
    }

    #[test]
    fn rejects_files_that_are_not_backups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.yaml");
        fs::write(&p, "kind: Pod\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("expected kind: List"));
        fs::write(&p, "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n").unwrap();
        assert!(read(&p).unwrap_err().to_string().contains("item 0 is not a Secret"));
        assert!(read(&dir.path().join("missing.yaml")).is_err());
    }

    #[test]
    fn write_atomic_replaces_a_symlink_without_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "kept").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // Without `replace` an existing name (even a symlink) is refused.
        assert!(write_atomic(&link, b"new", false).is_err());
        write_atomic(&link, b"new", true).unwrap();
        assert!(!fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&link).unwrap(), "new");
        assert_eq!(fs::read_to_string(&target).unwrap(), "kept");
        assert_eq!(fs::metadata(&link).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
