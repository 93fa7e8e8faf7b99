//! The stand-in's process start: kubeadm dates every certificate it issues from
//! `StartTimeUTC()`, set once when the Kamaji process starts, so the certificates a
//! controller issues expire one year after IT started, not one year after they were issued.
//! The stand-in runs in the test process, so it plays the Kamaji controller pods of the
//! fixture: their containers' start time is its process start; replacing the pods (what
//! `rotate-ca` does) restarts it. Tests age those pods to show a controller up for months.

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use time::OffsetDateTime;

use super::StandinOptions;
use super::pki::Dating;

/// When the controller pods' process started: the oldest container start among the pods not
/// being deleted (the leader may be any of them: the oldest is the worst case); now when
/// none runs or the stand-in plays no pods.
pub async fn process_start(client: &Client, opts: &StandinOptions) -> Result<OffsetDateTime> {
    let Some((ns, selector)) = &opts.controller_pods else {
        return Ok(OffsetDateTime::now_utc());
    };
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(selector))
        .await
        .context("listing the controller pods")?;
    let oldest = pods.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).filter_map(started).min();
    Ok(oldest.and_then(|t| OffsetDateTime::from_unix_timestamp(t.as_second()).ok()).unwrap_or_else(OffsetDateTime::now_utc))
}

/// How a pass dates what kubeadm issues.
pub async fn dating(client: &Client, opts: &StandinOptions) -> Result<Dating> {
    Ok(Dating::ProcessStart(process_start(client, opts).await?))
}

/// A pod's process start: its first running container's `startedAt`, else the pod's `startTime`.
fn started(pod: &Pod) -> Option<jiff::Timestamp> {
    let status = pod.status.as_ref()?;
    let container =
        status.container_statuses.as_ref().and_then(|c| c.iter().find_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref()));
    container.or(status.start_time.as_ref()).map(|t| t.0)
}

/// Makes the controller pods `selector` in `ns` look started `days` ago (their containers'
/// `startedAt` and the pods' `startTime`), as a controller that has run for months. Waits
/// first (up to a minute) until they run: the pods of a fresh fixture may not exist or run
/// yet, and a container that starts after the aging would start the controller anew.
/// Returns how many pods it aged.
pub async fn age_controller_pods(client: &Client, ns: &str, selector: &str, days: i64) -> Result<usize> {
    let api = Api::<Pod>::namespaced(client.clone(), ns);
    let then = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24 * days))?.round(jiff::Unit::Second)?.to_string();
    let pods = running_pods(&api, ns, selector).await?;
    for pod in &pods {
        let mut statuses = pod.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
        for c in &mut statuses {
            if let Some(running) = c.state.as_mut().and_then(|s| s.running.as_mut()) {
                running.started_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(then.parse()?));
            }
        }
        let patch = json!({"status": {"startTime": then, "containerStatuses": statuses}});
        api.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| format!("aging pod {ns}/{}", pod.name_any()))?;
    }
    Ok(pods.len())
}

/// The pods `selector` once there are as many as the Deployments `selector` want (at least
/// one) and every one not being deleted has its containers running.
async fn running_pods(api: &Api<Pod>, ns: &str, selector: &str) -> Result<Vec<Pod>> {
    let deployments = Api::<Deployment>::namespaced(api.clone().into_client(), ns);
    let lp = ListParams::default().labels(selector);
    let wanted = deployments.list(&lp).await.context("listing the controller Deployments")?.items;
    let wanted = wanted.iter().map(|d| d.spec.replicas.unwrap_or(1)).sum::<i32>().max(1);
    let wanted = usize::try_from(wanted).unwrap_or(1);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let pods: Vec<Pod> = api
            .list(&ListParams::default().labels(selector))
            .await
            .context("listing the controller pods")?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let running = |p: &Pod| {
            let statuses = p.status.as_ref().and_then(|s| s.container_statuses.as_ref());
            statuses.is_some_and(|c| !c.is_empty() && c.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some())))
        };
        if pods.len() >= wanted && pods.iter().all(running) {
            return Ok(pods);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("the controller pods {selector} in {ns} were not running after a minute ({} of {wanted} found)", pods.len());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
