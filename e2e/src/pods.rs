//! Waiting for a namespace's workloads the way the e2e tests judge them:
//! every Deployment rolled out and every pod Ready, none terminating (under
//! load the ReplicaSet controller creates pods late, so "all pods Ready"
//! alone is not enough).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

/// A pod whose `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// A Deployment whose every wanted replica is updated and available, with no extra one.
pub fn rolled_out(d: &Deployment) -> bool {
    let want = d.spec.replicas.unwrap_or(1);
    d.status.as_ref().is_some_and(|s| {
        s.observed_generation >= d.metadata.generation
            && s.updated_replicas == Some(want)
            && s.available_replicas == Some(want)
            && s.replicas == Some(want)
    })
}

/// Waits until `ns` has Deployments, all rolled out, and every pod is Ready and not terminating.
pub async fn settle(client: &kube::Client, ns: &str, timeout: Duration) -> Result<()> {
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let deadline = Instant::now() + timeout;
    loop {
        let ds = deployments.list(&ListParams::default()).await?.items;
        let ps = pods.list(&ListParams::default()).await?.items;
        if !ds.is_empty() && ds.iter().all(rolled_out) && ps.iter().all(|p| is_ready(p) && p.metadata.deletion_timestamp.is_none()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("Deployments in {ns} not settled after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until the Deployment `ns/name` is [`rolled_out`] and its pods are Ready, none
/// terminating: no restart of it is still to come.
pub async fn wait_rolled_out(client: &kube::Client, ns: &str, name: &str, timeout: Duration) -> Result<()> {
    let deployments = Api::<Deployment>::namespaced(client.clone(), ns);
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(d) = deployments.get_opt(name).await?
            && rolled_out(&d)
        {
            let selector = d.spec.selector.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let ps = pods.list(&ListParams::default().labels(&selector)).await?.items;
            if ps.iter().all(|p| is_ready(p) && p.metadata.deletion_timestamp.is_none()) {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!("Deployment {ns}/{name} not rolled out after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
