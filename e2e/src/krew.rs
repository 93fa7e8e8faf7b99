//! krew and its manifest checker, built from the `sigs.k8s.io/krew` Go
//! module (no release binary can be fetched here) into `target/e2e-bin/`,
//! only when missing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

pub const KREW_VERSION: &str = "v0.4.3";

const COMMANDS: [&str; 2] = ["krew", "validate-krew-manifest"];

/// `(krew, validate-krew-manifest)`, building whichever is missing.
pub fn krew_bins() -> Result<(PathBuf, PathBuf)> {
    let [krew, validate] = COMMANDS.map(|cmd| crate::binaries::cache_dir().join(cmd));
    for (bin, cmd) in [(&krew, COMMANDS[0]), (&validate, COMMANDS[1])] {
        crate::binaries::build_once(bin, &format!("{cmd} {KREW_VERSION}"), "~10 s", |built| {
            let mut go = crate::binaries::go();
            go.env("GOBIN", built.parent().unwrap_or(built))
                .args(["install", &format!("sigs.k8s.io/krew/cmd/{cmd}@{KREW_VERSION}")])
                .current_dir(std::env::temp_dir());
            go
        })?;
    }
    Ok((krew, validate))
}

/// Both krew binaries are built already.
pub(crate) fn cached() -> bool {
    COMMANDS.iter().all(|cmd| crate::binaries::cache_dir().join(cmd).exists())
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
