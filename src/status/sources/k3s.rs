//! `--k3s-dir`: a k3s data directory (or its `server/tls`), like
//! `k3s certificate check`: every `*.crt` under `server/tls` (and
//! subdirectories such as `etcd/`), plus `agent/*.crt` when present. Each
//! file lists its leaf and its CA; chains are checked against the CAs
//! found in the directory.
//!
//! Local files only: no cluster, no clap.

use std::path::{Path, PathBuf};

use crate::certs::limits;
use crate::error::{Error, Result};
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

pub fn collect(dir: &Path, col: &mut Collector<'_>) -> Result<()> {
    let files = crt_files(dir)?;
    let mut ex = Extractor::new();
    let mut spans = Vec::new();
    for path in &files {
        let bytes = limits::read_file(path).map_err(|e| Error::io_at(path, e))?;
        let start = ex.items.len();
        ex.read_file(&Location::default(), path, bytes.as_deref().map_err(Clone::clone));
        spans.push((path, start..ex.items.len()));
    }
    let verdicts = judge::within_pool(&ex.items);
    for (path, range) in spans {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        col.push_items(SourceKind::K3s, &name, &ex.items[range.clone()], verdicts[range].to_vec());
    }
    Ok(())
}

/// `*.crt` files in the layout, sorted; an error when there are none.
pub fn crt_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::file(dir, "not a directory"));
    }
    let tls = dir.join("server").join("tls");
    let mut files = Vec::new();
    if tls.is_dir() {
        walk(&tls, &mut files).map_err(|e| Error::file(&tls, e))?;
        let agent = dir.join("agent");
        if agent.is_dir() {
            files.extend(crt_in(&agent).map_err(|e| Error::file(&agent, e))?);
        }
    } else {
        walk(dir, &mut files).map_err(|e| Error::file(dir, e))?;
    }
    if files.is_empty() {
        return Err(Error::file(dir, "no *.crt files (expected a k3s data directory or its server/tls)"));
    }
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    out.extend(crt_in(dir)?);
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        }
    }
    Ok(())
}

fn crt_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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
    fn finds_crt_files_in_the_data_dir_layout() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("server/tls");
        std::fs::create_dir_all(tls.join("etcd")).unwrap();
        std::fs::create_dir_all(dir.path().join("agent")).unwrap();
        for f in ["server/tls/server-ca.crt", "server/tls/server-ca.key", "server/tls/etcd/peer-ca.crt", "agent/client-kubelet.crt"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let names: Vec<String> =
            crt_files(dir.path()).unwrap().iter().map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        assert_eq!(names, ["agent/client-kubelet.crt", "server/tls/etcd/peer-ca.crt", "server/tls/server-ca.crt"]);
        assert_eq!(crt_files(&tls).unwrap().len(), 2);
        let empty = tempfile::tempdir().unwrap();
        assert!(crt_files(empty.path()).unwrap_err().to_string().contains("no *.crt"));
    }
}
