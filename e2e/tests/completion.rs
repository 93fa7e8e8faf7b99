//! Completion values that only the cluster knows, from the real local
//! control plane: namespaces for `-n` and Kamaji tenants for `--tenant`,
//! asked of `kubectl_complete-pki` directly and through `kubectl __complete`.

use std::path::PathBuf;
use std::process::{Command, Output};

use e2e::ControlPlane;
use e2e::kamaji;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;

fn completer() -> PathBuf {
    e2e::pki_bin().with_file_name("kubectl_complete-pki")
}

/// Candidate values of cobra's protocol output, the directive checked.
fn values(out: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some(":4"), "no file completion for cluster values: {text}");
    lines.iter().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn namespaces_come_from_the_api() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("complete-ns").await;
    let kubeconfig = cp.kubeconfig().display().to_string();
    let prefix = &ns.name[..ns.name.len() - 2];

    let out =
        Command::new(completer()).args(["--kubeconfig", &kubeconfig, "status", "-n", prefix]).env_remove("KUBECONFIG").output().unwrap();
    let got = values(&out);
    assert!(got.contains(&ns.name), "{} in {got:?}", ns.name);
    assert!(got.iter().all(|n| n.starts_with(prefix)), "filtered by the typed prefix: {got:?}");

    let all = values(&Command::new(completer()).args(["--kubeconfig", &kubeconfig, "-n", ""]).output().unwrap());
    assert!(all.iter().any(|n| n == "kube-system") && all.contains(&ns.name), "{all:?}");
}

#[tokio::test]
async fn namespaces_through_kubectl_plugin_completion() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("complete-kubectl").await;
    let bin_dir = completer().parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    // kubectl hands its environment to the completer: KUBECONFIG picks the cluster.
    let out = Command::new("kubectl")
        .args(["__complete", "pki", "status", "--namespace", "complete-kub"])
        .env("PATH", path)
        .env("KUBECONFIG", cp.kubeconfig())
        .output()
        .unwrap();
    assert!(values(&out).contains(&ns.name), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test]
async fn tenants_come_from_the_namespace_given() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("complete-tcp").await;
    let client = cp.client().await;
    kamaji::install_crd(client.clone()).await.expect("CRD");
    let tcps: Api<DynamicObject> = Api::namespaced_with(client, &ns.name, &kamaji::api_resource());
    for name in ["alpha", "beta"] {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane",
            "metadata": {"name": name}, "spec": {"kubernetes": {"version": "v1.33.0"}}
        }))
        .unwrap();
        tcps.create(&PostParams::default(), &obj).await.expect("create TCP");
    }
    let kubeconfig = cp.kubeconfig().display().to_string();
    let ask = |word: &str| {
        Command::new(completer()).args(["--kubeconfig", &kubeconfig, "status", "-n", &ns.name, "--tenant", word]).output().unwrap()
    };
    assert_eq!(values(&ask("")), ["alpha", "beta"]);
    assert_eq!(values(&ask("b")), ["beta"]);
    // Another namespace has none.
    let other =
        values(&Command::new(completer()).args(["--kubeconfig", &kubeconfig, "-n", "default", "status", "--tenant", ""]).output().unwrap());
    assert!(other.is_empty(), "{other:?}");
}
