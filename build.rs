//! Build-time facts for `kubectl pki version`: the git commit and the
//! Kubernetes API version k8s-openapi was compiled for.
//!
//! - `KUBECTL_PKI_COMMIT` (env, wins when set: release builds from a tarball
//!   or inside a `cross` container have no usable `.git`), else
//!   `git rev-parse --short HEAD`, else `unknown`.
//! - k8s-openapi publishes its enabled version as build-script metadata
//!   (`links = "k8s-openapi-<ver>"`, key `version`, encoded `0x00MMmm00`), which
//!   Cargo hands to direct dependents as `DEP_K8S_OPENAPI_<ver>_VERSION`.
//!
//! Release builds re-run when HEAD moves. Debug builds re-run only when the
//! sources change: re-running on every commit would rebuild the crate for
//! everyone sharing a checkout, for a hash nobody ships.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=KUBECTL_PKI_COMMIT");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=Cargo.toml");
    println!("cargo::rerun-if-changed=src");

    let commit = std::env::var("KUBECTL_PKI_COMMIT")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=KUBECTL_PKI_COMMIT={commit}");

    if std::env::var("PROFILE").as_deref() == Ok("release") {
        for path in git_head_files() {
            println!("cargo::rerun-if-changed={path}");
        }
    }

    let (api, openapi) = k8s_openapi_version();
    println!("cargo::rustc-env=KUBECTL_PKI_K8S_API={api}");
    println!("cargo::rustc-env=KUBECTL_PKI_K8S_OPENAPI={openapi}");
}

fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git").args(args).current_dir(Path::new(&dir)).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn git_commit() -> Option<String> {
    git(&["rev-parse", "--short", "HEAD"])
}

/// The files whose change means HEAD points elsewhere, each named only if it
/// exists: cargo treats a missing `rerun-if-changed` path as always stale,
/// so naming one (`packed-refs` in most checkouts) recompiled the crate on
/// every release build. Paths come from `git rev-parse --git-path`, so linked
/// worktrees (where `.git` is a file) work.
///
/// - `HEAD`: a checkout, or a commit on a detached HEAD.
/// - The branch's loose ref: a commit rewrites it. While the branch lives in
///   `packed-refs` only (after `git gc`), the directory the next commit
///   creates it in (watched recursively by cargo) instead.
/// - `packed-refs` if it exists: `git pack-refs` rewrites it, and deletes
///   the loose ref, which cargo sees as a change too; the re-run then names
///   what exists at that point.
/// - `reftable/tables.list` in repositories using the reftable backend.
fn git_head_files() -> Vec<String> {
    let git_path = |p: &str| git(&["rev-parse", "--path-format=absolute", "--git-path", p]).map(std::path::PathBuf::from);
    let mut files = Vec::new();
    for p in ["HEAD", "packed-refs", "reftable/tables.list"] {
        files.extend(git_path(p).filter(|path| path.exists()));
    }
    if let Some(loose) = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|reference| git_path(&reference)) {
        // The ref file, else its nearest existing ancestor directory.
        files.extend(loose.ancestors().find(|path| path.exists()).map(Path::to_path_buf));
    }
    files.into_iter().map(|path| path.display().to_string()).collect()
}

/// `("v1.37", "0.29.0")` from k8s-openapi's build metadata.
fn k8s_openapi_version() -> (String, String) {
    for (key, value) in std::env::vars() {
        let Some(rest) = key.strip_prefix("DEP_K8S_OPENAPI_") else { continue };
        let Some(crate_version) = rest.strip_suffix("_VERSION") else { continue };
        if let Ok(encoded) = value.parse::<u32>() {
            let (major, minor) = ((encoded >> 16) & 0xff, (encoded >> 8) & 0xff);
            return (format!("v{major}.{minor}"), crate_version.replace('_', "."));
        }
    }
    ("unknown".into(), "unknown".into())
}
