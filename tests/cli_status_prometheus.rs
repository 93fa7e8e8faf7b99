//! `kubectl-pki status -o prometheus`: the exporter's metric families,
//! printed once from files (the textfile-collector use), with the same
//! exit code as every other output. No cluster.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kubectl_pki_testkit::{FAR, PAST, dated, in_days, kubeconfig_yaml};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn pki(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kubectl-pki").unwrap();
    cmd.env("KUBECONFIG", dir.join("no-such-kubeconfig")).env("HOME", dir).env("NO_COLOR", "1");
    cmd
}

fn lines<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))).collect()
}

#[test]
fn files_as_metric_families_with_x509_certificate_exporter_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = dated("files-root", true, PAST, FAR, None);
    let leaf = dated("files-leaf", false, PAST, FAR, Some(&root));
    let expired = dated("files-expired", false, PAST, in_days(-1), Some(&root));
    let bundle = write(dir.path(), "bundle.pem", &format!("{}{}", leaf.pem, root.pem));
    let old = write(dir.path(), "old.crt", &expired.pem);
    let garbage = write(dir.path(), "garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
    let kc = write(dir.path(), "admin.conf", &kubeconfig_yaml(&root.pem, &leaf.pem));
    let out = pki(dir.path())
        .args(["status", "-o", "prometheus"])
        .args(["--file".as_ref(), bundle.as_os_str(), "--file".as_ref(), old.as_os_str()])
        .args(["--file".as_ref(), garbage.as_os_str(), "--file".as_ref(), kc.as_os_str()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(4), "the exit code of status: an expired certificate\n{text}");

    let not_after = lines(&text, "x509_cert_not_after");
    let in_bundle: Vec<_> = not_after.iter().filter(|l| l.contains(&format!("filepath=\"{}\"", bundle.display()))).collect();
    assert_eq!(in_bundle.len(), 2, "{text}");
    assert!(in_bundle.iter().all(|l| l.contains("filename=\"bundle.pem\"") && l.contains("secret_name=\"\"")), "{in_bundle:?}");
    let embedded: Vec<_> = not_after.iter().filter(|l| l.contains("filename=\"admin.conf\"")).collect();
    assert!(embedded.iter().any(|l| l.contains("embedded_kind=\"user\"") && l.contains("subject_CN=\"files-leaf\"")), "{embedded:?}");
    let expired_line = lines(&text, "x509_cert_expired").into_iter().find(|l| l.contains("subject_CN=\"files-expired\"")).unwrap();
    assert!(expired_line.ends_with(" 1"), "{expired_line}");
    let verdicts = lines(&text, "kubectl_pki_cert_chain_verdict");
    assert!(
        verdicts.iter().any(|l| l.contains("subject_CN=\"files-leaf\"")
            && l.contains("filename=\"bundle.pem\"")
            && l.contains("verdict=\"verified\""))
    );
    assert!(verdicts.iter().any(|l| l.contains("subject_CN=\"files-root\"") && l.contains("verdict=\"self-signed\"")));
    assert_eq!(lines(&text, "x509_read_errors"), ["x509_read_errors 1"], "the garbage file");
    assert!(!text.contains("not base64"), "no file content in the output");
    // Each family once, HELP and TYPE before its samples.
    for family in
        ["x509_cert_not_after", "x509_cert_not_before", "x509_cert_expired", "kubectl_pki_cert_chain_verdict", "kubectl_pki_build_info"]
    {
        assert_eq!(text.matches(&format!("# TYPE {family} gauge\n")).count(), 1, "{family}");
    }
}

#[test]
fn prometheus_is_an_output_of_status_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = pki(dir.path()).args(["restarts", "-o", "prometheus", "--since", "1h", "-l", "app=x"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("prometheus is an output of status only") && err.lines().count() == 1, "{err}");
}

#[test]
fn exporter_flags_are_checked_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["exporter", "--no-secrets"][..], "give --file, --k3s-dir or --kubeadm-dir"),
        (&["exporter", "--no-secrets", "--tenants", "--file", "x"], "--tenants and -A need the API"),
        (&["exporter", "--no-secrets", "--file", "x", "--listen", "9793"], "expected HOST:PORT or :PORT"),
        (&["exporter", "--no-secrets", "--file", "x", "--served-interval", "0s"], "--served-interval"),
    ] {
        let out = pki(dir.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(err.contains(says) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
}
