//! Proves the harness is a real cluster: a Deployment's pod, once deleted,
//! is replaced by the ReplicaSet controller with a new pod (new UID) that
//! the scheduler binds and kwok makes Ready.

use std::time::{Duration, Instant};

use e2e::ControlPlane;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
async fn ready_pods(pods: &Api<Pod>, timeout: Duration) -> Vec<Pod> {
    let deadline = Instant::now() + timeout;
    loop {
        let list = pods.list(&ListParams::default().labels("app=web")).await.expect("list pods");
        let ready: Vec<Pod> =
            list.items.into_iter().filter(|p| e2e::pods::is_ready(p) && p.metadata.deletion_timestamp.is_none()).collect();
        if !ready.is_empty() {
            return ready;
        }
        assert!(Instant::now() < deadline, "no Ready pod for app=web within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn deleted_pod_is_replaced_by_a_new_ready_pod() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("harness").await;
    let client = cp.client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let deployment: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}
            }
        }
    }))
    .expect("deployment");
    deployments.create(&PostParams::default(), &deployment).await.expect("create deployment");

    let pods: Api<Pod> = Api::namespaced(client, &ns.name);
    let first = ready_pods(&pods, Duration::from_secs(60)).await;
    let old_uid = first[0].metadata.uid.clone().expect("uid");
    let old_name = first[0].metadata.name.clone().expect("name");
    assert_eq!(first[0].spec.as_ref().and_then(|s| s.node_name.as_deref()), Some(e2e::controlplane::NODE_NAME));

    pods.delete(&old_name, &DeleteParams::default()).await.expect("delete pod");

    let deadline = Instant::now() + Duration::from_secs(60);
    let replacement = loop {
        let ready = ready_pods(&pods, Duration::from_secs(60)).await;
        if let Some(p) = ready.into_iter().find(|p| p.metadata.uid.as_deref() != Some(old_uid.as_str())) {
            break p;
        }
        assert!(Instant::now() < deadline, "deleted pod was not replaced");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(replacement.metadata.uid.as_deref(), Some(old_uid.as_str()));
    assert!(e2e::pods::is_ready(&replacement));
    // The old pod is really gone, not just terminating.
    let deadline = Instant::now() + Duration::from_secs(60);
    while pods.get_opt(&old_name).await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "old pod {old_name} never went away");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn admin_kubeconfig_works_with_kubectl() {
    let cp = ControlPlane::shared();
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(cp.kubeconfig())
        .args(["get", "ns", "-o", "name"])
        .output()
        .expect("run kubectl");
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/kube-system"));
}
