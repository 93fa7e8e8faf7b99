//! The local backup taken before any change: a `v1` List of the Secrets,
//! as YAML (`kubectl create -f` reads it too), stripped of server-set
//! fields but keeping labels, annotations, ownerReferences, finalizers,
//! type and data. Written 0600 to a temporary file, fsynced, renamed into
//! place, and the directory fsynced: once `write` returns, the backup
//! survives a crash, so deleting the originals is safe.
//!
//! Where it comes from is recorded in the List's own `metadata.annotations`
//! (kubectl ignores a List's metadata when it applies the items), so that
//! `restore` puts it back only where it was taken:
//!
//! ```yaml
//! apiVersion: v1
//! kind: List
//! metadata:
//!   annotations:
//!     backup.kubectl-pki.io/namespace: tenant-root
//!     backup.kubectl-pki.io/tenant: kubernetes-demo
//!     backup.kubectl-pki.io/cluster-uid: 6f1c...   # uid of the kube-system namespace
//!     backup.kubectl-pki.io/cluster-server: https://10.0.0.1:6443
//!     backup.kubectl-pki.io/taken-at: 2026-11-27T10:00:00Z
//!     backup.kubectl-pki.io/taken-before: rotate-ca   # or restore
//! items: [...]
//! ```
//!
//! Backups written before this record only the tenant, in the header comment.
//! Files only: no API calls, no clap types, no printing (restore reads it too).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cluster_identity::ClusterIdentity;
use crate::error::{Error, Result};

/// The prefix of the List annotations that record where a backup comes from.
pub const ANNOTATION_PREFIX: &str = "backup.kubectl-pki.io/";

/// Where a backup was taken and by which command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub namespace: String,
    pub tenant: String,
    /// `None`: not recorded (a backup of an older version, or a cluster
    /// whose `kube-system` namespace could not be read).
    pub cluster: Option<ClusterIdentity>,
    /// The command the backup was taken before: `rotate-ca`, `restore`.
    pub taken_before: String,
}

impl Origin {
    fn annotations(&self, at: Timestamp) -> std::collections::BTreeMap<String, String> {
        let mut a = std::collections::BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            a.insert(format!("{ANNOTATION_PREFIX}{k}"), v.to_string());
        };
        put("namespace", &self.namespace);
        put("tenant", &self.tenant);
        if let Some(c) = &self.cluster {
            put("cluster-uid", &c.uid);
            put("cluster-server", &c.server);
        }
        put("taken-at", &at.to_string());
        put("taken-before", &self.taken_before);
        a
    }
}

/// A backup file as read, before any check of its items.
#[derive(Debug, Clone)]
pub struct Document {
    pub path: PathBuf,
    /// The tenant's namespace and name: the List's annotations, else the
    /// header comment of an older backup.
    pub namespace: Option<String>,
    pub tenant: Option<String>,
    /// The recorded cluster; `None` in a backup without it.
    pub cluster: Option<ClusterIdentity>,
    /// The items as written, for a strict check.
    pub items: Vec<serde_json::Value>,
}

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
pub fn render(origin: &Origin, secrets: &[Secret], at: Timestamp) -> Result<String> {
    let items: Vec<Secret> = secrets.iter().map(strip).collect();
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": { "annotations": origin.annotations(at) },
        "items": serde_json::to_value(&items).map_err(|e| Error::Invalid(format!("backup: {e}")))?,
    });
    let body = crate::output::to_yaml(&list)?;
    let (namespace, tenant) = (&origin.namespace, &origin.tenant);
    Ok(format!(
        "# kubectl-pki backup of tenant {namespace}/{tenant}: {} secret(s), taken {at} before {}.\n\
         # It holds PRIVATE KEYS: keep it as safe as the cluster's CA, delete it when no longer needed.\n\
         # Restore with: kubectl pki restore <this file> (a dry run; then --dry-run=false)\n{body}",
        items.len(),
        origin.taken_before
    ))
}

/// [`write_recorded`] without the cluster's identity, for callers that do
/// not read it: `restore` then accepts the backup only with
/// `--no-identity-check`. Prefer [`write_recorded`] with
/// [`crate::cluster_identity::read`].
pub fn write(dir: &Path, namespace: &str, tenant: &str, secrets: &[Secret], at: Timestamp) -> Result<PathBuf> {
    let origin = Origin { namespace: namespace.into(), tenant: tenant.into(), cluster: None, taken_before: "a change".into() };
    write_recorded(dir, &origin, secrets, at)
}

/// Writes the backup, recording `origin`, into `dir` (created 0700 if
/// missing) and returns its path.
pub fn write_recorded(dir: &Path, origin: &Origin, secrets: &[Secret], at: Timestamp) -> Result<PathBuf> {
    if !dir.exists() {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| Error::file(dir, e))?;
    }
    let (namespace, tenant) = (origin.namespace.as_str(), origin.tenant.as_str());
    let text = render(origin, secrets, at)?;
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
    metadata: Option<ListMeta>,
    #[serde(default)]
    items: Vec<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// Reads a backup file (or the one `pki-backup-*.yaml` in a directory).
pub fn read(path: &Path) -> Result<Vec<Secret>> {
    let doc = read_document(path)?;
    let path = doc.path;
    doc.items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if item.get("kind").and_then(|k| k.as_str()) != Some("Secret") {
                return Err(Error::file(&path, format!("item {i} is not a Secret")));
            }
            secret_of(item).map_err(|e| Error::file(&path, format!("item {i}: {e}")))
        })
        .collect()
}

/// A backup item as a Secret. The reason never quotes the item: its values are keys.
pub fn secret_of(item: serde_json::Value) -> std::result::Result<Secret, String> {
    serde_json::from_value::<Secret>(item).map_err(|e| format!("not a valid Secret ({})", crate::certs::kubeconfig::redact_yaml_error(&e)))
}

/// Reads a backup file (or the one `pki-backup-*.yaml` in a directory):
/// its recorded origin and its items, unchecked. A YAML error keeps its
/// position and reason only, never the lines around it (they hold keys).
pub fn read_document(path: &Path) -> Result<Document> {
    let path = resolve(path)?;
    let text = fs::read_to_string(&path).map_err(|e| Error::file(&path, e))?;
    let list: List = serde_saphyr::from_str(&text)
        .map_err(|e| Error::file(&path, format!("not a backup (YAML): {}", crate::certs::kubeconfig::redact_yaml_error(&e))))?;
    if list.kind.as_deref() != Some("List") {
        return Err(Error::file(&path, "not a backup: expected kind: List"));
    }
    let annotations = list.metadata.unwrap_or_default().annotations;
    let get = |k: &str| annotations.get(&format!("{ANNOTATION_PREFIX}{k}")).filter(|v| !v.is_empty()).cloned();
    let legacy = legacy_header(&text);
    let cluster = match (get("cluster-uid"), get("cluster-server")) {
        (Some(uid), server) => Some(ClusterIdentity { uid, server: server.unwrap_or_default() }),
        (None, _) => None,
    };
    Ok(Document {
        namespace: get("namespace").or_else(|| legacy.as_ref().map(|l| l.0.clone())),
        tenant: get("tenant").or_else(|| legacy.map(|l| l.1)),
        cluster,
        items: list.items,
        path,
    })
}

/// `# kubectl-pki backup of tenant NS/TENANT: ...`, the first line of every backup.
fn legacy_header(text: &str) -> Option<(String, String)> {
    let rest = text.lines().next()?.strip_prefix("# kubectl-pki backup of tenant ")?;
    let (ns, rest) = rest.split_once('/')?;
    let (tenant, _) = rest.split_once(':')?;
    (!ns.is_empty() && !tenant.is_empty()).then(|| (ns.to_string(), tenant.to_string()))
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

    fn origin(namespace: &str, tenant: &str) -> Origin {
        Origin {
            namespace: namespace.into(),
            tenant: tenant.into(),
            cluster: Some(ClusterIdentity { server: "https://10.0.0.1:6443".into(), uid: "kube-system-uid".into() }),
            taken_before: "rotate-ca".into(),
        }
    }

    #[test]
    fn the_origin_is_recorded_in_the_lists_annotations_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let path = write_recorded(dir.path(), &origin("tenant-a", "k8s"), &[secret("k8s-ca", "ca.crt", b"x")], at).unwrap();
        let doc = read_document(&path).unwrap();
        assert_eq!((doc.namespace.as_deref(), doc.tenant.as_deref()), (Some("tenant-a"), Some("k8s")));
        assert_eq!(doc.cluster, origin("x", "y").cluster);
        assert_eq!(doc.items.len(), 1);
        // Still a plain v1 List: the annotations sit in the List's metadata, not on the items.
        let value: serde_json::Value = serde_saphyr::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(value["kind"], "List");
        assert_eq!(value["metadata"]["annotations"]["backup.kubectl-pki.io/cluster-uid"], "kube-system-uid");
        assert_eq!(value["metadata"]["annotations"]["backup.kubectl-pki.io/taken-before"], "rotate-ca");
        assert!(value["items"][0]["metadata"]["annotations"].get("backup.kubectl-pki.io/tenant").is_none());
    }

    #[test]
    fn a_backup_written_without_the_identity_records_the_tenant_only() {
        let dir = tempfile::tempdir().unwrap();
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let path = write(dir.path(), "ns", "t", &[secret("t-ca", "ca.crt", b"x")], at).unwrap();
        let doc = read_document(&path).unwrap();
        assert_eq!((doc.namespace.as_deref(), doc.tenant.as_deref(), doc.cluster), (Some("ns"), Some("t"), None));
    }

    #[test]
    fn an_older_backup_has_its_tenant_in_the_header_and_no_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.yaml");
        fs::write(
            &p,
            "# kubectl-pki backup of tenant tenant-root/kubernetes-demo: 1 secret(s), taken 2026-11-27T10:00:00Z before rotate-ca.\n\
             apiVersion: v1\nkind: List\nitems: []\n",
        )
        .unwrap();
        let doc = read_document(&p).unwrap();
        assert_eq!((doc.namespace.as_deref(), doc.tenant.as_deref()), (Some("tenant-root"), Some("kubernetes-demo")));
        assert!(doc.cluster.is_none());
    }

    #[test]
    fn a_yaml_error_never_quotes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.yaml");
        fs::write(&p, "apiVersion: v1\nkind: List\nitems:\n- data:\n    ca.key: SECRETKEYMATERIAL\n\t  bad: [\n").unwrap();
        let err = read_document(&p).unwrap_err().to_string();
        assert!(err.contains("not a backup (YAML)") && !err.contains("SECRETKEYMATERIAL") && !err.contains('\n'), "{err}");
        fs::write(&p, "apiVersion: v1\nkind: List\nitems:\n- kind: Secret\n  data:\n    ca.key: [SECRETKEYMATERIAL]\n").unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(err.contains("item 0: not a valid Secret") && !err.contains("SECRETKEYMATERIAL"), "{err}");
    }

    #[test]
    fn round_trip_keeps_what_restore_needs_and_drops_server_fields() {
        let dir = tempfile::tempdir().unwrap();
        let at: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let secrets = vec![
            secret("k8s-ca", "ca.key", b"-----BEGIN PRIVATE KEY-----\nxx\n"),
            secret("k8s-sa-certificate", "sa.pub", b"\x00\x01binary"),
        ];
        let path = write_recorded(&dir.path().join("backups"), &origin("tenant-a", "k8s"), &secrets, at).unwrap();
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
        let first = write_recorded(dir.path(), &origin("ns", "t"), &[secret("k8s-ca", "ca.crt", b"x")], at).unwrap();
        let before = fs::read(&first).unwrap();
        // A second backup in the same second gets a name of its own.
        let second = write_recorded(dir.path(), &origin("ns", "t"), &[secret("k8s-ca", "ca.crt", b"y")], at).unwrap();
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
