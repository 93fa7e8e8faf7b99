//! Waiting on a tenant, for tests: every wait has a timeout and says what it waited for.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use super::names::{self, STATUS_READY, secret_name};

/// The TCP's `.status.kubernetesResources.version.status`.
pub fn phase(tcp: &DynamicObject) -> Option<&str> {
    tcp.data.pointer("/status/kubernetesResources/version/status").and_then(Value::as_str)
}

/// Waits until the TCP `ns/name` is `Ready` and all its secrets exist (13 with konnectivity).
pub async fn wait_ready(client: &kube::Client, ns: &str, name: &str, timeout: Duration) -> Result<DynamicObject> {
    let tcps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &super::api_resource());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + timeout;
    loop {
        let mut missing = Vec::new();
        // Errors count as "not yet": the CRD may still be on its way.
        let tcp = tcps.get_opt(name).await.unwrap_or_default();
        let konnectivity = tcp.as_ref().is_some_and(|t| t.data.pointer("/spec/addons/konnectivity").is_some());
        let suffixes = names::CORE.iter().chain(konnectivity.then_some(&names::KONNECTIVITY[..]).into_iter().flatten());
        for suffix in suffixes {
            let secret = secret_name(name, suffix);
            if secrets.get_opt(&secret).await?.is_none() {
                missing.push(secret);
            }
        }
        let status = tcp.as_ref().and_then(phase).unwrap_or("<none>").to_string();
        if let Some(tcp) = tcp.filter(|_| missing.is_empty() && status == STATUS_READY) {
            return Ok(tcp);
        }
        if Instant::now() > deadline {
            bail!("TCP {ns}/{name} not Ready with all secrets after {timeout:?}: status {status}, missing {missing:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
