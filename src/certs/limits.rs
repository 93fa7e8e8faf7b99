//! Bounds on the work one input can cause: a crafted Secret or file must
//! not make `status` parse or verify without end. Beyond a bound the input
//! is one `invalid` row saying which bound, never a crash, and the other
//! rows are still reported.
//!
//! Reads files (the ones a user or a kubeconfig names); no network I/O.

use std::io::Read;
use std::path::Path;

/// Bytes read from one Secret data key or one file: the API server refuses
/// a Secret whose data is larger (`MaxSecretSize`, 1 MiB), and no
/// certificate bundle of a real cluster comes near it.
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// Certificates in one bundle (one data key, one file, one kubeconfig
/// field). The Mozilla root store is about 150; a bundle of more is not a
/// trust store a cluster uses.
pub const MAX_BUNDLE_CERTS: usize = 500;

/// Why an input was not read or not checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    /// At least this many bytes (a file is read one byte past the limit only).
    #[error("larger than the limit of {MAX_INPUT_BYTES} bytes (1 MiB, what a Secret may hold): not read")]
    Bytes(usize),
    #[error("a bundle of {0} certificates, over the limit of {MAX_BUNDLE_CERTS}: not checked")]
    Certificates(usize),
}

/// Whether `len` bytes are within [`MAX_INPUT_BYTES`].
pub fn check_bytes(len: usize) -> Result<(), Exceeded> {
    if len > MAX_INPUT_BYTES { Err(Exceeded::Bytes(len)) } else { Ok(()) }
}

/// Whether a bundle of `count` certificates is within [`MAX_BUNDLE_CERTS`].
pub fn check_bundle(count: usize) -> Result<(), Exceeded> {
    if count > MAX_BUNDLE_CERTS { Err(Exceeded::Certificates(count)) } else { Ok(()) }
}

/// The file's bytes, reading at most one byte more than [`MAX_INPUT_BYTES`]:
/// a larger file (or `/dev/zero`) is never read whole. The outer error is
/// the I/O error, the inner one the limit.
pub fn read_file(path: &Path) -> std::io::Result<Result<Vec<u8>, Exceeded>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_INPUT_BYTES as u64 + 1).read_to_end(&mut bytes)?;
    Ok(check_bytes(bytes.len()).map(|()| bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (small, big) = (dir.path().join("small"), dir.path().join("big"));
        std::fs::write(&small, vec![b'x'; MAX_INPUT_BYTES]).unwrap();
        std::fs::write(&big, vec![b'x'; 3 * MAX_INPUT_BYTES]).unwrap();
        assert_eq!(read_file(&small).unwrap().unwrap().len(), MAX_INPUT_BYTES);
        let err = read_file(&big).unwrap().unwrap_err();
        assert_eq!(err, Exceeded::Bytes(MAX_INPUT_BYTES + 1), "stops one byte past the limit");
        assert!(err.to_string().contains("larger than the limit of 1048576 bytes (1 MiB"), "{err}");
        assert!(read_file(&dir.path().join("missing")).is_err());
        assert_eq!(check_bundle(MAX_BUNDLE_CERTS), Ok(()));
        assert_eq!(check_bundle(MAX_BUNDLE_CERTS + 1), Err(Exceeded::Certificates(501)));
    }
}
