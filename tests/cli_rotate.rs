//! `rotate-ca`, `restarts` and `restore` as a user types them: help that
//! says what is dangerous, and bad arguments refused with one line before
//! any cluster is contacted (the kubeconfig points nowhere).

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
    err
}

#[test]
fn rotate_ca_help_names_the_safety_flags() {
    let out = pki().args(["rotate-ca", "--help"]).assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for flag in [
        "--dry-run",
        "--method",
        "--keep-sa-key",
        "--kamaji-namespace",
        "--kamaji-selector",
        "--restart-workers",
        "--backup-dir",
        "--timeout",
        "--write-kubeconfig",
        "--force",
        "--force-unlock",
        "cozy-kamaji",
        "app.kubernetes.io/name=kamaji",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("[default: true]"), "dry run is the default:\n{help}");
    assert!(help.contains("re-run") || help.contains("Re-running"), "help says how to resume:\n{help}");
}

#[test]
fn restarts_and_restore_help() {
    let out = pki().args(["restarts", "--help"]).assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for flag in ["--since", "--selector", "--wait", "--timeout", "--all-namespaces", "RFC 3339"] {
        assert!(help.contains(flag), "{flag}:\n{help}");
    }
    let out = pki().args(["restore", "--help"]).assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    assert!(help.contains("BACKUP") && help.contains("--dry-run"), "{help}");
}

#[test]
fn rotate_ca_needs_a_tenant_and_valid_flags() {
    pki().args(["rotate-ca"]).assert().failure().stderr(predicate::str::contains("TENANT"));
    // `--dry-run false` (with a space) would be ambiguous with the tenant: only `=` is accepted.
    pki().args(["rotate-ca", "t", "--dry-run=maybe"]).assert().failure().stderr(predicate::str::contains("--dry-run"));
    pki().args(["rotate-ca", "t", "--method", "yolo"]).assert().failure().stderr(predicate::str::contains("annotate"));
    let out = pki().args(["rotate-ca", "t", "--timeout", "soon"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("--timeout"));
    let out = pki().args(["rotate-ca", "t", "--kamaji-version", "latest"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("--kamaji-version \"latest\""));
}

#[test]
fn several_tenants_refuse_the_one_tenant_flags_and_a_bad_parallel() {
    for flag in [["--write-kubeconfig", "k.conf"], ["--worker-selector", "app=w"]] {
        let out = pki().args(["rotate-ca", "a", "b"]).args(flag).assert().code(1).get_output().clone();
        let err = one_line_error(&out);
        assert!(err.contains(flag[0]) && err.contains("one tenant"), "{err}");
    }
    for bad in ["0", "many", "65"] {
        pki().args(["rotate-ca", "a", "b", "--parallel", bad]).assert().code(2).stderr(predicate::str::contains("--parallel"));
    }
    // The same tenant twice is one tenant: the flags of a single rotation stay allowed.
    let out = pki().args(["rotate-ca", "a", "a", "--write-kubeconfig", "k.conf", "-n", "x"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("/nonexistent/kubeconfig"));
    let help = String::from_utf8(pki().args(["rotate-ca", "--help"]).assert().success().get_output().stdout.clone()).unwrap();
    assert!(help.contains("--parallel") && help.contains("<TENANT>..."), "{help}");
}

#[test]
fn rotate_ca_without_a_cluster_fails_with_one_line() {
    let out = pki().args(["rotate-ca", "t", "-n", "x"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("/nonexistent/kubeconfig"));
}

#[test]
fn restarts_rejects_a_bad_since() {
    pki().args(["restarts", "-l", "app=x"]).assert().failure().stderr(predicate::str::contains("--since"));
    let out = pki().args(["restarts", "--since", "yesterday"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("--since \"yesterday\""));
    let out = pki().args(["restarts", "--since", "10m", "--timeout", "x"]).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("--timeout"));
}

#[test]
fn restore_refuses_what_is_not_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let out = pki().args(["restore"]).arg(dir.path().join("missing.yaml")).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("missing.yaml"));
    let pod = dir.path().join("pod.yaml");
    std::fs::write(&pod, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n").unwrap();
    let out = pki().args(["restore"]).arg(&pod).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("not a backup"));
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "apiVersion: v1\nkind: List\nitems: []\n").unwrap();
    let out = pki().args(["restore"]).arg(&empty).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("holds no secrets"));
}

#[test]
fn rotate_ca_refuses_selectors_that_match_every_pod() {
    for flag in ["--worker-selector", "--kamaji-selector"] {
        for value in ["", " ", ",", " , ,"] {
            let out = pki()
                .args(["rotate-ca", "t", "-n", "x", "--restart-workers", "--dry-run=false", flag, value])
                .assert()
                .code(1)
                .get_output()
                .clone();
            let err = one_line_error(&out);
            assert!(err.contains(&format!("{flag} {value:?}")) && err.contains("every pod"), "{err}");
            // Refused before the kubeconfig is read.
            assert!(!err.contains("/nonexistent/kubeconfig"), "{err}");
        }
    }
    // A real selector goes on to the cluster (here: the missing kubeconfig).
    let out = pki()
        .args(["rotate-ca", "t", "-n", "x", "--worker-selector", "app=w", "--kamaji-selector", "app=k"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(one_line_error(&out).contains("/nonexistent/kubeconfig"));
}

#[test]
fn rotate_ca_refuses_a_write_kubeconfig_target_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing.conf");
    std::fs::write(&existing, "old").unwrap();
    let link = dir.path().join("link.conf");
    std::os::unix::fs::symlink(&existing, &link).unwrap();
    let dangling = dir.path().join("dangling.conf");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let file_parent = existing.join("k.conf");
    let missing_parent = dir.path().join("missing").join("k.conf");
    let cases = [
        (&existing, "existing file; pass --force"),
        (&link, "existing file; pass --force"),
        (&dangling, "existing file; pass --force"),
        (&file_parent, "is not a directory"),
        (&missing_parent, "does not exist"),
    ];
    for (file, reason) in cases {
        let out = pki()
            .args(["rotate-ca", "t", "-n", "x", "--dry-run=false", "--write-kubeconfig"])
            .arg(file)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let err = one_line_error(&out);
        assert!(err.contains(&file.display().to_string()) && err.contains(reason), "{err}");
        assert!(!err.contains("/nonexistent/kubeconfig"), "refused before connecting: {err}");
    }
    // --force replaces an existing file or symlink, not a bad parent.
    for file in [&existing, &link] {
        let out =
            pki().args(["rotate-ca", "t", "-n", "x", "--force", "--write-kubeconfig"]).arg(file).assert().code(1).get_output().clone();
        assert!(one_line_error(&out).contains("/nonexistent/kubeconfig"));
    }
    let out = pki()
        .args(["rotate-ca", "t", "-n", "x", "--force", "--write-kubeconfig"])
        .arg(&missing_parent)
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(one_line_error(&out).contains("does not exist"));
    // Nothing was written.
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "old");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
}
