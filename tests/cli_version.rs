//! `kubectl pki version` as a user runs it.

use assert_cmd::Command;

fn pki() -> Command {
    Command::cargo_bin("kubectl-pki").expect("kubectl-pki is built")
}

#[test]
fn text_names_version_commit_and_kubernetes_api() {
    let out = pki().arg("version").assert().success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert!(out.contains(&format!("Version:         {version}\n")), "{out}");
    let commit = out.lines().find_map(|l| l.strip_prefix("Git commit:")).map(str::trim).unwrap_or_default();
    assert!(!commit.is_empty(), "{out}");
    let api = out.lines().find_map(|l| l.strip_prefix("Kubernetes API:")).map(str::trim).unwrap_or_default();
    assert!(api.starts_with("v1.") && api.contains("(k8s-openapi 0."), "{out}");
}

#[test]
fn json_is_one_object_with_the_same_facts() {
    let out = pki().args(["version", "-o", "json"]).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(v["version"], format!("v{}", env!("CARGO_PKG_VERSION")));
    assert!(v["commit"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    assert!(v["kubernetesApi"].as_str().is_some_and(|a| a.starts_with("v1.")), "{v}");
    assert!(v["platform"].as_str().is_some_and(|p| p.contains('/')), "{v}");
}

#[test]
fn yaml_has_the_same_keys() {
    let out = pki().args(["version", "-o", "yaml"]).assert().success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    for key in ["version:", "commit:", "kubernetesApi:", "k8sOpenapi:", "platform:"] {
        assert!(out.lines().any(|l| l.starts_with(key)), "{key} in {out}");
    }
}

#[test]
fn version_needs_no_kubeconfig() {
    pki().args(["version", "--kubeconfig", "/nonexistent/kubeconfig"]).env("KUBECONFIG", "/nonexistent/too").assert().success();
}

/// The commit comes from `build.rs` (the same run serves the binary and
/// this test): git's short hash of HEAD in a checkout, unless the build was
/// given `KUBECTL_PKI_COMMIT`.
#[test]
fn commit_is_the_one_build_rs_resolved() {
    let out = pki().args(["version", "-o", "json"]).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let commit = v["commit"].as_str().unwrap_or_default();
    assert_eq!(commit, env!("KUBECTL_PKI_COMMIT"));
    if std::env::var_os("KUBECTL_PKI_COMMIT").is_none() {
        assert!(commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit}");
    }
}
