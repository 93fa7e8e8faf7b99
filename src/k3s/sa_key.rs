//! `kubectl pki k3s rotate-sa-key`: a new service-account signing key
//! (RSA-2048, first, so it signs new tokens) with the current keys
//! appended (so tokens they signed keep verifying).
//!
//! Offline (local files only), no clap.

use std::path::{Path, PathBuf};

use super::layout;
use super::report::StageReport;
use crate::error::{Error, Result};
use crate::issuer::{KeyKind, PrivateKey, Staged};

/// Stages `OUT/tls/service.key`: a new key, then those of `data_dir`.
pub fn stage(data_dir: &Path, out: PathBuf) -> Result<StageReport> {
    let current = layout::tls_dir(data_dir).join("service.key");
    let target = out.join("tls").join("service.key");
    let mut staged = Staged::new();
    staged.add(&target, rotated(&current)?, true);
    let files = super::generate_ca::describe_all(&staged);
    staged.commit()?;
    Ok(StageReport { files, rotate_ca_path: Some(out), ..Default::default() })
}

/// New key + the current file, which must hold at least one key.
pub fn rotated(current: &Path) -> Result<String> {
    let old = std::fs::read(current).map_err(|e| Error::io_at(current, e))?;
    let keys = PrivateKey::all_from_pem(&old).map_err(|e| Error::file(current, e))?;
    if keys.is_empty() {
        return Err(Error::file(current, "no private key found"));
    }
    let mut text = PrivateKey::generate(KeyKind::Rsa(2048)).map_err(Error::Invalid)?.to_pem();
    text.push_str(&String::from_utf8_lossy(&old));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_key_first_old_keys_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.key");
        let old = PrivateKey::generate(KeyKind::Rsa(2048)).unwrap();
        std::fs::write(&path, old.to_pem()).unwrap();
        let text = rotated(&path).unwrap();
        let keys = PrivateKey::all_from_pem(text.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0].public_key_raw(), old.public_key_raw());
        assert_eq!(keys[1].public_key_raw(), old.public_key_raw());
    }

    #[test]
    fn missing_or_empty_current_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.key");
        assert!(rotated(&path).is_err());
        std::fs::write(&path, "").unwrap();
        assert!(rotated(&path).unwrap_err().to_string().contains("no private key"));
    }
}
