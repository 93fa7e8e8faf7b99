//! Writing generated files all-or-nothing: every destination is checked
//! before the first byte is written, each file lands atomically (temporary
//! file, then a link that fails if the name exists), keys are 0600, and a
//! failure removes what this run already created.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

struct Planned {
    path: PathBuf,
    contents: Vec<u8>,
    secret: bool,
    replace: bool,
}

/// Files to write together.
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<Planned>,
}

/// Paths and flags, the contents only by length: they are keys and talosconfigs.
impl std::fmt::Debug for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planned")
            .field("path", &self.path)
            .field("contents", &crate::issuer::pem::Redacted(self.contents.len()))
            .field("secret", &self.secret)
            .field("replace", &self.replace)
            .finish()
    }
}

impl Staged {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new file; `secret` files (keys, talosconfigs) get mode 0600.
    pub fn add(&mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>, secret: bool) {
        self.files.push(Planned { path: path.into(), contents: contents.into(), secret, replace: false });
    }

    /// A file that may replace an existing one (`--force`).
    pub fn add_replacing(&mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>, secret: bool) {
        self.files.push(Planned { path: path.into(), contents: contents.into(), secret, replace: true });
    }

    /// Each planned file and its contents, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|f| (f.path.as_path(), f.contents.as_slice()))
    }

    /// Fails on the first destination that exists and may not be replaced.
    pub fn check(&self) -> Result<()> {
        for f in &self.files {
            if !f.replace && fs::symlink_metadata(&f.path).is_ok() {
                return Err(Error::file(&f.path, "already exists; refusing to overwrite"));
            }
        }
        Ok(())
    }

    /// Writes everything, or nothing if any write fails.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        self.check()?;
        let mut created: Vec<PathBuf> = Vec::new();
        let mut dirs: Vec<PathBuf> = Vec::new();
        for f in &self.files {
            if let Err(e) = write_one(f, &mut dirs) {
                for path in created.iter().rev() {
                    let _ = fs::remove_file(path);
                }
                for dir in dirs.iter().rev() {
                    let _ = fs::remove_dir(dir);
                }
                return Err(e);
            }
            if !f.replace {
                created.push(f.path.clone());
            }
        }
        Ok(self.files.into_iter().map(|f| f.path).collect())
    }
}

fn write_one(f: &Planned, dirs: &mut Vec<PathBuf>) -> Result<()> {
    let parent = match f.path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dirs(&parent, dirs)?;
    let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(if f.secret { 0o600 } else { 0o644 }).open(&tmp)?;
        file.write_all(&f.contents)?;
        file.sync_all()?;
        if f.replace {
            fs::rename(&tmp, &f.path)
        } else {
            // link(2) refuses an existing name: no window to clobber a file
            // that appeared after `check`.
            let linked = fs::hard_link(&tmp, &f.path);
            let _ = fs::remove_file(&tmp);
            linked
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::file(&f.path, e))
}

/// Creates missing directories (0700: they hold keys), remembering which,
/// so a failed run can remove them again.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        fs::DirBuilder::new().mode(0o700).create(&d).map_err(|e| Error::file(&d, e))?;
        created.push(d);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_paths_not_contents() {
        let mut staged = Staged::new();
        staged.add("/x/ca.key", "-----BEGIN PRIVATE KEY-----\nS3CRETKEY\n", true);
        let debug = format!("{staged:?} {staged:#?}");
        assert!(debug.contains("ca.key") && debug.contains("[REDACTED 38 bytes]"), "{debug}");
        assert!(!debug.contains("S3CRETKEY") && !debug.contains("83, 51"), "{debug}");
    }
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_keys_0600_and_certs_0644_creating_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Staged::new();
        s.add(dir.path().join("a/b/ca.key"), "key", true);
        s.add(dir.path().join("a/b/ca.crt"), "crt", false);
        s.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("a/b/ca.key")).unwrap(), "key");
        assert_eq!(mode(&dir.path().join("a/b/ca.key")), 0o600);
        assert_eq!(mode(&dir.path().join("a/b/ca.crt")), 0o644);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a/b")).unwrap().collect();
        assert_eq!(leftovers.len(), 2);
    }

    #[test]
    fn refuses_to_overwrite_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("exists"), "old").unwrap();
        let mut s = Staged::new();
        s.add(dir.path().join("new"), "x", false);
        s.add(dir.path().join("exists"), "new", true);
        let err = s.commit().unwrap_err().to_string();
        assert!(err.contains("refusing to overwrite"), "{err}");
        assert!(!dir.path().join("new").exists());
        assert_eq!(fs::read_to_string(dir.path().join("exists")).unwrap(), "old");
    }

    #[test]
    fn replacing_is_allowed_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("talosconfig");
        fs::write(&path, "old").unwrap();
        let mut s = Staged::new();
        s.add_replacing(&path, "new", true);
        s.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_failed_write_removes_earlier_files() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where a directory is needed makes the second write fail.
        fs::write(dir.path().join("blocker"), "").unwrap();
        let mut s = Staged::new();
        s.add(dir.path().join("first"), "x", false);
        s.add(dir.path().join("blocker/second"), "y", false);
        assert!(s.commit().is_err());
        assert!(!dir.path().join("first").exists());
    }
}
