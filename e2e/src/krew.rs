//! krew and its manifest checker, built from the `sigs.k8s.io/krew` Go
//! module (no release binary can be fetched here) into `target/e2e-bin/`,
//! only when missing.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

pub const KREW_VERSION: &str = "v0.4.3";

/// `(krew, validate-krew-manifest)`, building whichever is missing.
pub fn krew_bins() -> Result<(PathBuf, PathBuf)> {
    let dir = crate::binaries::cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let (krew, validate) = (dir.join("krew"), dir.join("validate-krew-manifest"));
    if krew.exists() && validate.exists() {
        return Ok((krew, validate));
    }
    // One Go build at a time across test binaries (same lock as the control plane).
    let lock = File::create(dir.join(".lock")).context("create build lock")?;
    lock.lock().context("lock target/e2e-bin")?;
    for (bin, cmd) in [(&krew, "krew"), (&validate, "validate-krew-manifest")] {
        if bin.exists() {
            continue;
        }
        eprintln!("e2e: building {cmd} {KREW_VERSION} from its Go module into {} (cold: ~10 s)", dir.display());
        let out = Command::new("go")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .env("GOBIN", &dir)
            .args(["install", &format!("sigs.k8s.io/krew/cmd/{cmd}@{KREW_VERSION}")])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("run go install for {cmd} (is Go on PATH?)"))?;
        if !out.status.success() || !bin.exists() {
            bail!(
                "go install sigs.k8s.io/krew/cmd/{cmd}@{KREW_VERSION} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok((krew, validate))
}

/// Removes what cargo sets for the crate being run or tested
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...) before a nested `cargo`:
/// ring's build script tracks those variables, so inheriting them rebuilds
/// ring, rustls, kube and everything above them on every nested call, and
/// again on the next plain `cargo build`.
pub fn scrub_cargo_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let per_crate = key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_BIN_")
            || matches!(&*key, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR");
        if per_crate {
            cmd.env_remove(&*key);
        }
    }
    cmd
}
