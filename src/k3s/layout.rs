//! Where k3s keeps its CA files: `<data-dir>/server/tls`, and a staging
//! path for `k3s certificate rotate-ca --path=P` holds them in `P/tls`.
//!
//! Paths only, no clap.

use std::path::{Path, PathBuf};

/// The cluster CAs k3s bootstraps, in its own order (`etcd/...` live in
/// the `etcd` subdirectory).
pub const CA_TYPES: [&str; 5] = ["client", "server", "request-header", "etcd/peer", "etcd/server"];

/// The directory holding the CA files for a user-given path: a data dir
/// (`DIR/server/tls`), a rotate-ca path (`DIR/tls`), or the tls dir itself.
pub fn tls_dir(dir: &Path) -> PathBuf {
    for candidate in [dir.join("server").join("tls"), dir.join("tls")] {
        if candidate.is_dir() {
            return candidate;
        }
    }
    dir.to_path_buf()
}

/// `client` → `client-ca.crt`; `etcd/peer` → `etcd/peer-ca.crt`.
pub fn ca_file(tls: &Path, ca_type: &str, ext: &str) -> PathBuf {
    tls.join(format!("{ca_type}-ca.{ext}"))
}

/// `etcd/peer` → `etcd-peer`, as the CNs spell it.
pub fn dashed(ca_type: &str) -> String {
    ca_type.replace('/', "-")
}

/// Whether `tls` already holds any CA certificate or key k3s uses.
pub fn holds_ca_files(tls: &Path) -> Option<PathBuf> {
    CA_TYPES.iter().flat_map(|t| [ca_file(tls, t, "crt"), ca_file(tls, t, "key")]).find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_data_dir_rotate_path_and_tls_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(tls_dir(root), root);
        std::fs::create_dir_all(root.join("tls")).unwrap();
        assert_eq!(tls_dir(root), root.join("tls"));
        std::fs::create_dir_all(root.join("server/tls")).unwrap();
        assert_eq!(tls_dir(root), root.join("server/tls"));
    }

    #[test]
    fn names() {
        assert_eq!(ca_file(Path::new("/t"), "etcd/peer", "key"), PathBuf::from("/t/etcd/peer-ca.key"));
        assert_eq!(dashed("etcd/server"), "etcd-server");
    }
}
