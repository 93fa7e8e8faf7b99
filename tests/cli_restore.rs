//! `restore` as a user types it: a dry run by default, and a file that is
//! not the recorded tenant's Kamaji secrets refused with one line naming
//! the item, before any cluster is contacted (the kubeconfig points
//! nowhere), and without quoting the file's values (they are keys).

use assert_cmd::Command;

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
    assert!(!err.contains("PRIVATEKEY") && !err.contains("UFJJVkFURUtFWQ"), "no value of the file: {err}");
    err
}

const HEADER: &str = "apiVersion: v1\nkind: List\nmetadata:\n  annotations:\n    backup.kubectl-pki.io/namespace: tenant-root\n    \
                      backup.kubectl-pki.io/tenant: kubernetes-demo\n    backup.kubectl-pki.io/cluster-uid: 1234\n    \
                      backup.kubectl-pki.io/cluster-server: https://127.0.0.1:6443\nitems:\n";

fn item(name: &str, namespace: &str, type_: &str) -> String {
    format!(
        "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: {name}\n    namespace: {namespace}\n  type: {type_}\n  data:\n    ca.key: UFJJVkFURUtFWQ==\n"
    )
}

/// Runs `restore FILE ARGS` on a backup of `items`; the one error line.
fn refused(items: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pki-backup.yaml");
    std::fs::write(&file, format!("{HEADER}{items}")).unwrap();
    let out = pki().arg("restore").arg(&file).args(args).assert().code(1).get_output().clone();
    one_line_error(&out)
}

#[test]
fn help_says_dry_run_is_the_default_and_names_the_safety_flags() {
    let out = pki().args(["restore", "--help"]).assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for flag in ["--dry-run", "[default: true]", "--no-identity-check", "--backup-dir", "--force-unlock", "--dry-run=false"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    pki().args(["restore", "x.yaml", "--dry-run=maybe"]).assert().code(2);
}

#[test]
fn a_secret_of_another_name_is_refused_naming_it() {
    let ok = item("kubernetes-demo-ca", "tenant-root", "Opaque");
    for name in ["other-secret", "kubernetes-demo-extra", "kubernetes-other-ca"] {
        let err = refused(&format!("{ok}{}", item(name, "tenant-root", "Opaque")), &[]);
        assert!(err.contains(&format!("item 1 (\"{name}\"): not a secret of tenant kubernetes-demo")), "{err}");
        assert!(!err.contains("/nonexistent/kubeconfig"), "refused before the cluster: {err}");
    }
}

#[test]
fn a_secret_of_another_namespace_or_type_is_refused() {
    let err = refused(&item("kubernetes-demo-ca", "kube-system", "Opaque"), &[]);
    assert!(
        err.contains(
            "item 0 (\"kubernetes-demo-ca\"): in namespace \"kube-system\", but the backup is of tenant tenant-root/kubernetes-demo"
        ),
        "{err}"
    );
    let err = refused(&item("kubernetes-demo-ca", "tenant-root", "kubernetes.io/service-account-token"), &[]);
    assert!(err.contains("item 0 (\"kubernetes-demo-ca\"): type \"kubernetes.io/service-account-token\""), "{err}");
    let err = refused(
        &format!("{}- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x\n", item("kubernetes-demo-ca", "tenant-root", "Opaque")),
        &[],
    );
    assert!(err.contains("item 1 (\"x\"): unexpected field \"kind\"") || err.contains("item 1 (\"x\"): not a v1 Secret"), "{err}");
}

#[test]
fn an_explicit_namespace_must_be_the_backups() {
    let err = refused(&item("kubernetes-demo-ca", "tenant-root", "Opaque"), &["-n", "tenant-other"]);
    assert!(err.contains("not of namespace \"tenant-other\"") && err.contains("-n tenant-root"), "{err}");
    // The same namespace passes the file's checks and reaches for the cluster.
    let err = refused(&item("kubernetes-demo-ca", "tenant-root", "Opaque"), &["-n", "tenant-root"]);
    assert!(err.contains("/nonexistent/kubeconfig"), "{err}");
}

#[test]
fn a_file_without_its_tenant_or_with_bad_yaml_is_refused_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.yaml");
    std::fs::write(&file, format!("apiVersion: v1\nkind: List\nitems:\n{}", item("kubernetes-demo-ca", "tenant-root", "Opaque"))).unwrap();
    let out = pki().arg("restore").arg(&file).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("does not name its tenant"));
    std::fs::write(&file, format!("{HEADER}- data:\n    ca.key: PRIVATEKEY\n\t  bad: [\n")).unwrap();
    let out = pki().arg("restore").arg(&file).assert().code(1).get_output().clone();
    assert!(one_line_error(&out).contains("not a backup (YAML)"));
}
