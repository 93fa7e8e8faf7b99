//! Build hygiene: a second release build of an unchanged tree compiles
//! nothing. `build.rs` watches git's HEAD files in release builds; a watched
//! path that does not exist (`.git/packed-refs` in most checkouts) makes
//! cargo treat the build script as always stale, and every release build
//! then recompiled the crate (minutes on 2 cores).
//!
//! The check runs `cargo check --release`: the build script and its run are
//! the same units for `check` and `build` of one profile (PROFILE=release,
//! the same fingerprint and `target/release/build` output), so a stale build
//! script shows the same way, at a fraction of a release build's cost
//! (cold, about 5 minutes on 2 cores against 15 for `cargo build --release`;
//! warm, a second).

use std::process::Command;

/// `cargo check --release -p kubectl-pki` in the repository; returns stderr.
fn check_release() -> String {
    let out = e2e::krew::scrub_cargo_env(&mut Command::new(env!("CARGO")))
        .args(["check", "--release", "-p", "kubectl-pki", "--bin", "kubectl-pki"])
        .env_remove("CARGO_LOG")
        .env("CARGO_TERM_COLOR", "never")
        .current_dir(e2e::repo_root())
        .output()
        .expect("run cargo check --release");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "cargo check --release failed:\n{stderr}");
    stderr
}

#[test]
fn a_second_release_build_compiles_nothing() {
    check_release();
    let second = check_release();
    let work: Vec<&str> =
        second.lines().map(str::trim_start).filter(|l| l.starts_with("Compiling ") || l.starts_with("Checking ")).collect();
    assert!(work.is_empty(), "the second release build did work again (a rerun-if-changed path that does not exist?):\n{second}");
}
