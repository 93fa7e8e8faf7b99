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

/// The files whose change means HEAD points elsewhere: HEAD itself, the ref
/// it names, and packed-refs (worktree-aware through `--git-path`).
fn git_head_files() -> Vec<String> {
    let mut files = Vec::new();
    let mut push = |p: &str| {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", p]) {
            files.push(path);
        }
    };
    push("HEAD");
    push("packed-refs");
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
        push(&reference);
    }
    files
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
