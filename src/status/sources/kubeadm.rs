//! `--kubeadm-dir`: a kubeadm control-plane directory (`/etc/kubernetes`),
//! named as `kubeadm certs check-expiration` names them: the kubeconfigs
//! `admin.conf`, `super-admin.conf`, `controller-manager.conf`,
//! `scheduler.conf` and `kubelet.conf` (a client certificate given as a
//! file path, as kubelet's is after bootstrap, is followed), then
//! `pki/<name>.crt` as `<name>` and `pki/etcd/<name>.crt` as
//! `etcd-<name>` (`ca`, `etcd-ca`, `front-proxy-ca` are the CAs). Each
//! leaf's chain is checked against the CAs of the directory.
//!
//! Local files only: no cluster, no clap.

use std::path::{Path, PathBuf};

use crate::certs::limits;
use crate::error::{Error, Result};
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// The kubeconfigs kubeadm writes, in its order.
pub const KUBECONFIGS: [&str; 5] = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"];

pub fn collect(dir: &Path, col: &mut Collector<'_>) -> Result<()> {
    let files = files(dir)?;
    let mut ex = Extractor::new();
    let mut spans = Vec::new();
    for (name, path) in &files {
        let bytes = limits::read_file(path).map_err(|e| Error::io_at(path, e))?;
        let start = ex.items.len();
        ex.read_file(&Location::default(), path, bytes.as_deref().map_err(Clone::clone));
        spans.push((name, start..ex.items.len()));
    }
    let verdicts = judge::within_pool(&ex.items);
    for (name, range) in spans {
        col.push_items(SourceKind::Kubeadm, name, &ex.items[range.clone()], verdicts[range].to_vec());
    }
    Ok(())
}

/// `(kubeadm's name, path)` of every file of the layout present; an
/// error when the directory holds none of them.
pub fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    if !dir.is_dir() {
        return Err(Error::file(dir, "not a directory"));
    }
    let mut out: Vec<(String, PathBuf)> = KUBECONFIGS.iter().map(|n| (n.to_string(), dir.join(n))).filter(|(_, p)| p.is_file()).collect();
    for (sub, prefix) in [("pki", ""), ("pki/etcd", "etcd-")] {
        let certs = crt_files(&dir.join(sub)).map_err(|e| Error::file(dir.join(sub), e))?;
        let mut named: Vec<(String, PathBuf)> = certs
            .into_iter()
            .map(|path| (format!("{prefix}{}", path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()), path))
            .collect();
        // By name, as kubeadm lists them (`apiserver` before `apiserver-etcd-client`).
        named.sort();
        out.extend(named);
    }
    if out.is_empty() {
        return Err(Error::file(dir, "no kubeconfigs and no pki/*.crt (expected a kubeadm directory such as /etc/kubernetes)"));
    }
    Ok(out)
}

/// The `*.crt` files directly in `dir` (none when it does not exist).
fn crt_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "crt") {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_as_kubeadm_does() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pki/etcd")).unwrap();
        for f in [
            "admin.conf",
            "kubelet.conf",
            "pki/ca.crt",
            "pki/apiserver-etcd-client.crt",
            "pki/apiserver.crt",
            "pki/apiserver.key",
            "pki/etcd/server.crt",
            "pki/sa.pub",
        ] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let names: Vec<String> = files(dir.path()).unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["admin.conf", "kubelet.conf", "apiserver", "apiserver-etcd-client", "ca", "etcd-server"]);
        let empty = tempfile::tempdir().unwrap();
        let err = files(empty.path()).unwrap_err().to_string();
        assert!(err.contains("expected a kubeadm directory"), "{err}");
        assert!(files(&dir.path().join("nope")).unwrap_err().to_string().contains("not a directory"));
    }
}
