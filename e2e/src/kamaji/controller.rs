//! The reconcile loop: one pass over the tenant's secrets per TCP or owned-object change,
//! then the status and, when a mounted secret changed, a rollout of the tenant Deployment.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::names::*;
use super::secrets::{Pass, data_of, release_finalizer};
use super::{Endpoint, StandinOptions, crd};

/// The stand-in operator. `run` blocks until the watch ends; `spawn` runs it as a task
/// (abort the handle to stop it, as if the Kamaji pods were gone).
pub struct Standin;

struct Ctx {
    client: Client,
    opts: StandinOptions,
}

/// anyhow's error as a `std::error::Error`, which kube-runtime requires of reconcilers.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct ReconcileError(anyhow::Error);

impl From<anyhow::Error> for ReconcileError {
    fn from(e: anyhow::Error) -> Self {
        ReconcileError(e)
    }
}

impl Standin {
    /// Installs the CRD, then reconciles TenantControlPlanes until the watch stream ends.
    pub async fn run(client: Client, opts: StandinOptions) -> Result<()> {
        crd::install_crd(client.clone()).await?;
        let ar = crd::api_resource();
        let (tcps, secrets, deployments) = match &opts.namespace {
            Some(ns) => (
                Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar),
                Api::<Secret>::namespaced(client.clone(), ns),
                Api::<Deployment>::namespaced(client.clone(), ns),
            ),
            None => (
                Api::<DynamicObject>::all_with(client.clone(), &ar),
                Api::<Secret>::all(client.clone()),
                Api::<Deployment>::all(client.clone()),
            ),
        };
        eprintln!(
            "kamaji-standin: Kamaji {} (rotate annotation {}), namespace {}",
            opts.version,
            if opts.supports_rotate_annotation { "honoured" } else { "ignored" },
            opts.namespace.as_deref().unwrap_or("<all>")
        );
        let ctx = Arc::new(Ctx { client, opts });
        Controller::new_with(tcps, watcher::Config::default(), ar)
            .owns(secrets, watcher::Config::default().labels(&format!("{LABEL_PROJECT}=kamaji")))
            .owns(deployments, watcher::Config::default())
            .run(reconcile, error_policy, ctx)
            .for_each(|result| async move {
                if let Err(ControllerError::ReconcilerFailed(e, obj)) = result {
                    eprintln!("kamaji-standin: {}/{}: {e}", obj.namespace.unwrap_or_default(), obj.name);
                }
            })
            .await;
        Ok(())
    }

    pub fn spawn(client: Client, opts: StandinOptions) -> tokio::task::JoinHandle<Result<()>> {
        tokio::spawn(Self::run(client, opts))
    }

    /// [`Standin::spawn`], stopped when the returned value is dropped (a test's fixture).
    pub fn start(client: Client, opts: StandinOptions) -> StandinTask {
        StandinTask(Self::spawn(client, opts))
    }
}

/// A running stand-in, aborted on drop.
pub struct StandinTask(tokio::task::JoinHandle<Result<()>>);

impl Drop for StandinTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn error_policy(_: Arc<DynamicObject>, _: &ReconcileError, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(cached: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let ns = cached.namespace().unwrap_or_default();
    let tcps: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &crd::api_resource());
    // The cache may lag behind our own status writes: work from the stored object.
    let Some(mut tcp) = tcps.get_opt(&cached.name_any()).await.context("reading the TCP")? else {
        return Ok(Action::await_change());
    };
    if tcp.metadata.deletion_timestamp.is_some() {
        finalize(&ctx.client, &tcps, &tcp).await?;
        return Ok(Action::await_change());
    }
    if ctx.opts.finalizers && !tcp.finalizers().iter().any(|f| f == FINALIZER_TCP) {
        let mut list = tcp.finalizers().to_vec();
        list.push(FINALIZER_TCP.into());
        let patch = json!({"metadata": {"finalizers": list, "resourceVersion": tcp.resource_version()}});
        tcps.patch(&tcp.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await.context("adding the TCP finalizer")?;
    }
    let phase = tcp.data.pointer("/status/kubernetesResources/version/status").and_then(Value::as_str).map(String::from);
    if phase.is_none() {
        set_phase(&tcps, &tcp, STATUS_PROVISIONING).await?;
    }
    // The test's annotation wins; else, as Kamaji does, `networkProfile.address:port`.
    let endpoint = tcp
        .annotations()
        .get(ANNOTATION_ENDPOINT)
        .and_then(|url| Endpoint::parse(url))
        .or_else(|| network_profile_endpoint(&tcp.data))
        .unwrap_or_default();
    let konnectivity = tcp.data.pointer("/spec/addons/konnectivity").is_some_and(|v| !v.is_null());

    let dating = super::dating::dating(&ctx.client, &ctx.opts).await?;
    let mut pass = Pass::new(ctx.client.clone(), &tcp, &ctx.opts, endpoint.clone(), dating);
    let (ca, ca_changed) = pass.ensure_ca().await?;
    let was_provisioned = phase.as_deref().is_some_and(|p| p != STATUS_PROVISIONING);
    let rotating = (ca_changed && was_provisioned) || phase.as_deref() == Some(STATUS_ROTATING);
    if rotating {
        set_phase(&tcps, &tcp, STATUS_ROTATING).await?;
        tokio::time::sleep(ctx.opts.rotation_delay).await;
    }
    pass.ensure_rest(&ca, konnectivity).await?;
    let current = std::mem::take(&mut pass.current);
    drop(pass);
    if ctx.opts.makes_deployments {
        ensure_tenant_deployment(&ctx.client, &ns, &tcp).await?;
    }
    roll_tenant_deployment(&ctx.client, &ns, &tcp.name_any(), &current).await?;
    if rotating {
        tcp.data["status"]["kubernetesResources"]["version"]["status"] = json!(STATUS_ROTATING);
    }
    write_status(&tcps, &tcp, &current, &endpoint).await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn set_phase(tcps: &Api<DynamicObject>, tcp: &DynamicObject, phase: &str) -> Result<()> {
    let patch = json!({"status": {"kubernetesResources": {"version": {"status": phase}}}});
    tcps.patch_status(&tcp.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("setting the TCP status to {phase}"))?;
    Ok(())
}

/// Records every secret (name, checksum, lastUpdate when the checksum changed), the endpoint
/// and `Ready`; writes only when something differs, so a pass does not trigger itself forever.
async fn write_status(tcps: &Api<DynamicObject>, tcp: &DynamicObject, current: &BTreeMap<&str, Secret>, endpoint: &Endpoint) -> Result<()> {
    let old = tcp.data.get("status").cloned().unwrap_or_else(|| json!({}));
    let now = jiff::Timestamp::now().round(jiff::Unit::Second)?.to_string();
    let mut status = json!({
        "controlPlaneEndpoint": endpoint.host_port(),
        "kubernetesResources": {"version": {
            "status": STATUS_READY,
            "version": tcp.data.pointer("/spec/kubernetes/version").cloned().unwrap_or(Value::Null),
        }},
        "storage": {"driver": "etcd", "dataStoreName": tcp.namespace()},
    });
    for (suffix, secret) in current {
        let path = status_path(suffix);
        let checksum = secret.annotations().get(ANNOTATION_CHECKSUM).cloned().unwrap_or_default();
        let previous = old.pointer(path);
        let last_update = match previous {
            Some(p) if p.get("checksum").and_then(Value::as_str) == Some(checksum.as_str()) => {
                p.get("lastUpdate").cloned().unwrap_or_else(|| json!(now))
            }
            _ => json!(now),
        };
        let entry = json!({"secretName": secret.name_any(), "checksum": checksum, "lastUpdate": last_update});
        set_pointer(&mut status, path, entry);
    }
    let mut merged = old.clone();
    merge(&mut merged, &status);
    if merged != old {
        tcps.patch_status(&tcp.name_any(), &PatchParams::default(), &Patch::Merge(&json!({"status": status})))
            .await
            .context("writing the TCP status")?;
    }
    Ok(())
}

/// Like Kamaji, puts the checksum of each secret the control plane mounts into a pod-template
/// label of the tenant Deployment `<tcp>` (`component.kamaji.clastix.io/<component>`): the
/// checksum Kamaji RECORDED in the secret's `kamaji.clastix.io/checksum` annotation, so a secret
/// Kamaji re-issues rolls the pods and one changed by anyone else (and kept) does not. And like
/// Kamaji, which owns the template, removes every pod-template annotation but its own
/// (`storage.kamaji.clastix.io/*`): a `kubectl rollout restart` annotation is gone at once.
/// The TCP's Deployment, created when missing ([`StandinOptions::makes_deployments`]).
async fn ensure_tenant_deployment(client: &Client, ns: &str, tcp: &DynamicObject) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    if api.get_opt(&tcp.name_any()).await.context("reading the tenant Deployment")?.is_some() {
        return Ok(());
    }
    let d: Deployment = serde_json::from_value(crate::cozystack::tenant_deployment(&tcp.name_any(), tcp))?;
    match api.create(&Default::default(), &d).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating the tenant Deployment {ns}/{}", tcp.name_any())),
    }
}

async fn roll_tenant_deployment(client: &Client, ns: &str, tcp: &str, current: &BTreeMap<&str, Secret>) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let Some(deployment) = api.get_opt(tcp).await.context("reading the tenant Deployment")? else {
        return Ok(());
    };
    let meta = deployment.spec.template.metadata.as_ref();
    let have = meta.and_then(|m| m.labels.clone()).unwrap_or_default();
    let mut want = BTreeMap::new();
    for (label, suffix) in ROLLOUT_LABELS {
        if let Some(secret) = current.get(suffix) {
            let recorded = secret.annotations().get(ANNOTATION_CHECKSUM).cloned();
            let checksum = recorded.unwrap_or_else(|| {
                let data = data_of(secret);
                super::pki::checksum(data.iter().map(|(k, v)| (k, v.as_slice())))
            });
            want.insert(format!("component.kamaji.clastix.io/{label}"), checksum);
        }
    }
    let foreign: BTreeMap<String, Value> = meta
        .and_then(|m| m.annotations.as_ref())
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with("storage.kamaji.clastix.io/"))
        .map(|(k, _)| (k.clone(), Value::Null))
        .collect();
    if want.iter().all(|(k, v)| have.get(k) == Some(v)) && foreign.is_empty() {
        return Ok(());
    }
    let mut template = json!({"labels": want});
    if !foreign.is_empty() {
        template["annotations"] = json!(foreign);
        eprintln!("kamaji-standin: {ns}/{tcp}: removed pod-template annotation(s) {:?}", foreign.keys().collect::<Vec<_>>());
    }
    let patch = json!({"spec": {"template": {"metadata": template}}});
    api.patch(tcp, &PatchParams::default(), &Patch::Merge(&patch)).await.context("rolling the tenant Deployment")?;
    eprintln!("kamaji-standin: {ns}/{tcp}: wrote Deployment {tcp}'s pod template");
    Ok(())
}

/// On TCP deletion: release the datastore secret, then the TCP itself.
async fn finalize(client: &Client, tcps: &Api<DynamicObject>, tcp: &DynamicObject) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &tcp.namespace().unwrap_or_default());
    if let Some(secret) = secrets.get_opt(&secret_name(&tcp.name_any(), DATASTORE_CONFIG)).await? {
        release_finalizer(&secrets, &secret, FINALIZER_DATASTORE_SECRET).await?;
    }
    if tcp.finalizers().iter().any(|f| f == FINALIZER_TCP) {
        let rest: Vec<&String> = tcp.finalizers().iter().filter(|f| *f != FINALIZER_TCP).collect();
        let patch = json!({"metadata": {"finalizers": rest}});
        tcps.patch(&tcp.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    Ok(())
}

fn set_pointer(root: &mut Value, path: &str, value: Value) {
    let mut node = root;
    for part in path.trim_start_matches('/').split('/') {
        if !node.is_object() {
            *node = json!({});
        }
        node = node.as_object_mut().expect("made an object above").entry(part).or_insert(Value::Null);
    }
    *node = value;
}

/// JSON merge patch semantics (RFC 7386) without deletions.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// `https://<networkProfile.address>:<networkProfile.port>` when the TCP sets an address.
fn network_profile_endpoint(data: &Value) -> Option<Endpoint> {
    let address = data.pointer("/spec/networkProfile/address").and_then(Value::as_str).filter(|a| !a.is_empty())?;
    let port = data.pointer("/spec/networkProfile/port").and_then(Value::as_u64).unwrap_or(6443);
    let host = if address.contains(':') { format!("[{address}]") } else { address.to_string() };
    Endpoint::parse(&format!("https://{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_detects_no_change() {
        let old = json!({"a": {"b": 1, "c": 2}, "d": 3});
        let mut merged = old.clone();
        merge(&mut merged, &json!({"a": {"b": 1}}));
        assert_eq!(merged, old);
        merge(&mut merged, &json!({"a": {"b": 5}}));
        assert_ne!(merged, old);
    }

    #[test]
    fn set_pointer_builds_objects() {
        let mut v = json!({});
        set_pointer(&mut v, "/certificates/ca", json!({"secretName": "x-ca"}));
        assert_eq!(v.pointer("/certificates/ca/secretName"), Some(&json!("x-ca")));
    }

    #[test]
    fn kubeconfigs_point_at_the_network_profile_without_the_annotation() {
        let tcp = json!({"spec": {"networkProfile": {"address": "172.18.0.2", "port": 31443}}});
        assert_eq!(network_profile_endpoint(&tcp).map(|e| e.url), Some("https://172.18.0.2:31443".to_string()));
        assert!(network_profile_endpoint(&json!({"spec": {"networkProfile": {"port": 6443}}})).is_none());
    }
}
