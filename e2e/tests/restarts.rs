//! `kubectl pki restarts` against real pods (kwok makes them Ready locally; on kind a real
//! node runs the profile's image, within its pod wait): after a rollout restart
//! every pod is `restarted` (exit 0, also with `--wait`); pods older than `--since` are
//! `not-restarted` (exit 4); no matching pod is not success either.

use std::time::{Duration, Instant};

use e2e::ControlPlane;
use e2e::providers::Profile;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn pki(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(e2e::pki_bin())
        .arg("--kubeconfig")
        .arg(ControlPlane::shared().kubeconfig())
        .args(args)
        .output()
        .await
        .expect("run kubectl-pki")
}
fn profile() -> Profile {
    Profile::from_env().unwrap_or_else(|e| panic!("{e:#}"))
}

/// A Deployment `web` with 2 Ready pods in a fresh namespace.
async fn web(prefix: &str) -> (String, Api<Deployment>, Api<Pod>) {
    let image = profile().pod_image.unwrap_or_else(|| "registry.invalid/web:1".into());
    let cp = ControlPlane::shared();
    let ns = cp.namespace(prefix).await.name;
    let client = cp.client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}], "terminationGracePeriodSeconds": 0}
            }
        }
    }))
    .unwrap();
    deployments.create(&PostParams::default(), &d).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    wait_ready_pods(&pods, 2, None).await;
    (ns, deployments, pods)
}

/// Waits for exactly `n` Ready pods (none terminating), none of them in `not`.
async fn wait_ready_pods(pods: &Api<Pod>, n: usize, not: Option<&[String]>) {
    let deadline = Instant::now() + profile().pod_ready_timeout;
    loop {
        let list = pods.list(&ListParams::default().labels("app=web")).await.unwrap().items;
        let fresh = list.iter().all(|p| not.is_none_or(|old| !old.contains(&p.metadata.uid.clone().unwrap_or_default())));
        if list.len() == n && fresh && list.iter().all(|p| e2e::pods::is_ready(p) && p.metadata.deletion_timestamp.is_none()) {
            return;
        }
        assert!(Instant::now() < deadline, "pods of web not settled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_older_than_since_are_not_restarted_until_a_rollout_replaces_them() {
    let (ns, deployments, pods) = web("restarts").await;
    // Creation timestamps have 1 s resolution: `since` strictly after them.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Truncated, never rounded up: the rollout below must land in a later
    // second than `since` (creation timestamps have 1 s resolution).
    let since = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let out = pki(&["restarts", "-n", &ns, "-l", "app=web", "--since", &since]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert_eq!(stdout.matches("not-restarted").count(), 2, "{stdout}");
    assert!(stdout.starts_with("NAME") && stdout.contains("VERDICT"), "{stdout}");

    let old: Vec<String> =
        pods.list(&ListParams::default().labels("app=web")).await.unwrap().items.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": since}}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();

    // --wait follows the rollout until every pod is new and Ready.
    let timeout = format!("{}s", profile().pod_ready_timeout.as_secs());
    let out = pki(&["restarts", "-n", &ns, "-l", "app=web", "--since", &since, "--wait", "--timeout", &timeout, "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["allRestarted"], json!(true));
    let rows = report["pods"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert_eq!(row["verdict"], json!("restarted"));
        assert!(!old.contains(&row["uid"].as_str().unwrap().to_string()), "an old pod was counted: {row}");
    }

    // A relative --since older than the new pods: still all restarted.
    wait_ready_pods(&pods, 2, Some(&old)).await;
    let out = pki(&["restarts", "-n", &ns, "-l", "app=web", "--since", "10m"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_matching_pod_and_a_wait_that_times_out_are_failures() {
    let (ns, _, _) = web("restarts-none").await;
    let out = pki(&["restarts", "-n", &ns, "-l", "app=nothing", "--since", "1h"]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No pods match"));

    let since = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600)).to_string();
    let out = pki(&["restarts", "-n", &ns, "-l", "app=web", "--since", &since, "--wait", "--timeout", "2s"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("timed out after 2s") && stderr.contains("not-restarted"), "{stderr}");
}
