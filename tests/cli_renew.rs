//! `renew TENANT...` as a user types it: help that says what is renewed and what never is,
//! and bad arguments refused with one line before any cluster is contacted (the kubeconfig
//! points nowhere).

use assert_cmd::Command;
use predicates::prelude::*;

fn pki() -> Command {
    let mut cmd = Command::cargo_bin("kubectl-pki").expect("kubectl-pki is built");
    // Any contact with a cluster would fail loudly with this.
    cmd.args(["--kubeconfig", "/nonexistent/kubeconfig"]);
    cmd
}

fn one_line_error(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("/nonexistent/kubeconfig"), "refused before the kubeconfig is read: {err}");
    err
}

#[test]
fn renew_help_names_its_flags_and_what_it_never_touches() {
    let out = pki().args(["renew", "--help"]).assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for flag in [
        "<TENANT>...",
        "--dry-run",
        "--only",
        "x509",
        "kubeconfig",
        "--expiring-within",
        "--timeout",
        "--kamaji-namespace",
        "--kamaji-selector",
        "--write-kubeconfig",
        "--force",
        "--backup-dir",
        "--force-unlock",
        "cozy-kamaji",
        "app.kubernetes.io/name=kamaji",
        "never touched",
        "Re-running",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("[default: true]"), "dry run is the default:\n{help}");
}

#[test]
fn renew_needs_a_tenant_and_known_choices() {
    pki().args(["renew"]).assert().code(2).stderr(predicate::str::contains("TENANT"));
    pki().args(["renew", "t", "--only", "ca"]).assert().code(2).stderr(predicate::str::contains("x509"));
    pki().args(["renew", "t", "--dry-run=maybe"]).assert().code(2).stderr(predicate::str::contains("--dry-run"));
    pki().args(["renew", "t", "--force"]).assert().code(2).stderr(predicate::str::contains("--write-kubeconfig"));
}

#[test]
fn renew_refuses_bad_values_with_one_line() {
    for (args, expected) in [
        (&["--timeout", "soon"][..], "--timeout \"soon\""),
        (&["--timeout", "0s"][..], "--timeout \"0s\""),
        (&["--expiring-within", "later"][..], "--expiring-within \"later\""),
        (&["--kamaji-version", "latest"][..], "--kamaji-version \"latest\""),
        (&["--kamaji-selector", " , "][..], "every pod"),
        (&["--only", "x509", "--write-kubeconfig", "k.conf"][..], "--only x509"),
    ] {
        let out = pki().args(["renew", "t", "-n", "x"]).args(args).assert().code(1).get_output().clone();
        let err = one_line_error(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = pki().args(["renew", "a", "b", "--write-kubeconfig", "k.conf"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("one tenant"));
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken.conf");
    std::fs::write(&taken, "x").unwrap();
    let out = pki().args(["renew", "t", "--write-kubeconfig"]).arg(&taken).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("--force"));
}

#[test]
fn renew_without_a_cluster_fails_with_one_line() {
    let out = pki().args(["renew", "t", "-n", "x"]).assert().code(1).get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("error: ") && err.contains("/nonexistent/kubeconfig"), "{err}");
}
