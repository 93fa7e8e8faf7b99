//! `kubeconfig renew` as a user types it, without a cluster: help that
//! says it is a dry run by default, bad flags refused with one line, and
//! contexts with nothing to renew refused before any connection (the
//! servers in these kubeconfigs do not exist).

use assert_cmd::Command;
use predicates::prelude::*;

fn pki(kubeconfig: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("kubectl-pki").expect("kubectl-pki is built");
    cmd.env_remove("KUBECONFIG").arg("--kubeconfig").arg(kubeconfig).args(["kubeconfig", "renew"]);
    cmd
}

fn one_line_error(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn help_names_the_flags_and_the_dry_run_default() {
    let out = pki("/nonexistent".as_ref()).arg("--help").assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for want in
        ["--dry-run", "--approve", "--duration", "--key-type", "--timeout", "--out", "--force", "kubectl certificate approve", "ed25519"]
    {
        assert!(help.contains(want), "{want} missing from:\n{help}");
    }
    assert!(help.contains("Print the plan only (default)"), "{help}");
}

#[test]
fn bad_flags_are_refused_with_one_line_before_reading_the_kubeconfig() {
    let none = std::path::Path::new("/nonexistent/kubeconfig");
    let out = pki(none).args(["--duration", "5m"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(one_line_error(&out), "error: --duration \"5m\": the CSR API's minimum is 10m (expirationSeconds 600)\n");
    let out = pki(none).args(["--duration", "1y"]).output().unwrap();
    assert!(one_line_error(&out).contains("--duration: invalid duration \"1y\""));
    let out = pki(none).args(["--timeout", "0s"]).output().unwrap();
    assert!(one_line_error(&out).starts_with("error: --timeout \"0s\""));
    pki(none).args(["--force"]).assert().code(2).stderr(predicate::str::contains("--out"));
    pki(none).args(["--key-type", "dsa"]).assert().code(2).stderr(predicate::str::contains("ecdsa-p256"));
    let out = pki(none).output().unwrap();
    assert!(one_line_error(&out).starts_with("error: kubeconfig /nonexistent/kubeconfig: "));
}

fn kubeconfig(dir: &std::path::Path, user: &str) -> std::path::PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://192.0.2.1:6443\n\
         users:\n- name: u\n  user:\n{user}contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
    );
    let path = dir.join("config");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn contexts_without_a_client_certificate_have_nothing_to_renew() {
    let dir = tempfile::tempdir().unwrap();
    for (user, says) in [
        ("    token: s3cr3t-token\n", "authenticates with a bearer token"),
        (
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
            "authenticates with an exec plugin (\"aws\")",
        ),
        ("    username: admin\n    password: s3cr3t-token\n", "authenticates with a username and password"),
    ] {
        let path = kubeconfig(dir.path(), user);
        let before = std::fs::read(&path).unwrap();
        for args in [&[][..], &["--dry-run=false", "--approve"][..]] {
            let out = pki(&path).args(args).output().unwrap();
            assert_eq!(out.status.code(), Some(1));
            let err = one_line_error(&out);
            assert!(err.contains(says) && err.ends_with("there is no client certificate to renew\n"), "{err}");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written beside it");
    }
    let out = pki(&kubeconfig(dir.path(), "    client-certificate-data: '%%%'\n    client-key-data: a2V5\n")).output().unwrap();
    assert!(one_line_error(&out).contains("client-certificate-data is not valid base64"));
}
