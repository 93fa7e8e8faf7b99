//! Workloads that consume a Secret, and restarting them the way
//! `kubectl rollout restart` does: found by scanning pod templates (volumes,
//! projected volumes, env), not from a fixed list, because whatever mounts
//! a tenant's kubeconfig keeps the old CA until its pods restart.
//! No clap types, no printing; knows Deployments and pod templates, not rotate-ca or Kamaji.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::PodSpec;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::error::{Error, Result};

/// kubectl's restart annotation (kube's `Api::restart` uses another key;
/// users know this one from `kubectl rollout restart`).
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// How a pod spec refers to a secret: `volume <name>` or `env <container>`.
pub fn secret_references(spec: &PodSpec, secret: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for v in spec.volumes.iter().flatten() {
        if v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some(secret) {
            refs.push(format!("volume {}", v.name));
        }
        let projected = v.projected.as_ref().and_then(|p| p.sources.as_ref()).into_iter().flatten();
        if projected.filter_map(|s| s.secret.as_ref()).any(|s| s.name == secret) {
            refs.push(format!("projected volume {}", v.name));
        }
    }
    let containers = spec.init_containers.iter().flatten().chain(spec.containers.iter());
    for c in containers {
        let from = c.env_from.iter().flatten().any(|e| e.secret_ref.as_ref().is_some_and(|s| s.name == secret));
        let env =
            c.env.iter().flatten().any(|e| e.value_from.as_ref().and_then(|v| v.secret_key_ref.as_ref()).is_some_and(|s| s.name == secret));
        if from || env {
            refs.push(format!("env of container {}", c.name));
        }
    }
    refs
}

/// Whether a Deployment is controlled by an owner of `kind` named `name`.
pub fn owned_by(deployment: &Deployment, kind: &str, name: &str) -> bool {
    deployment.metadata.owner_references.iter().flatten().any(|o| o.kind == kind && o.name == name)
}

/// Pod-template labels of a Deployment.
pub fn template_labels(deployment: &Deployment) -> std::collections::BTreeMap<String, String> {
    deployment.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default()
}

/// `kubectl rollout restart`: stamps the pod template, which rolls new pods.
pub async fn restart(api: &Api<Deployment>, name: &str, at: Timestamp) -> Result<()> {
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at.to_string()}}}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::kube)?;
    Ok(())
}

/// Waits up to `timeout` until the rollouts of the Deployments `names` are complete (a
/// Deployment gone is not waited for), stopping as soon as `held` says the caller's Lease
/// is lost; returns how long it waited. A rollout past its progress deadline fails.
pub async fn wait_rollouts(
    api: &Api<Deployment>,
    names: &[String],
    timeout: std::time::Duration,
    held: &crate::lock::Held,
    on_wait: impl FnMut(&str),
) -> Result<std::time::Duration> {
    let what = format!("the rollouts of {}", names.join(", "));
    let ((), took) = crate::wait::poll_timed(&what, timeout, std::time::Duration::from_secs(1), on_wait, || {
        let (api, names, held) = (api.clone(), names.to_vec(), held.clone());
        async move {
            held.check()?;
            let mut pending = Vec::new();
            for name in &names {
                let Some(d) = api.get_opt(name).await.map_err(Error::kube)? else { continue };
                match rollout(&d) {
                    Rollout::Done => {}
                    Rollout::Progressing(m) => pending.push(m),
                    Rollout::Failed(m) => return Err(Error::Invalid(format!("rollout failed: {m}"))),
                }
            }
            Ok(if pending.is_empty() { crate::wait::Poll::Done(()) } else { crate::wait::Poll::Waiting(pending.join("; ")) })
        }
    })
    .await?;
    Ok(took)
}

/// Where a rollout stands, with kubectl's rules (`rollout status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Done,
    Progressing(String),
    Failed(String),
}

pub fn rollout(d: &Deployment) -> Rollout {
    let name = d.metadata.name.as_deref().unwrap_or("?");
    let Some(status) = &d.status else { return Rollout::Progressing(format!("{name}: no status yet")) };
    let generation = d.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Rollout::Progressing(format!("{name}: waiting for the controller to see the new spec"));
    }
    let failed = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing") && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    if let Some(c) = failed {
        return Rollout::Failed(format!("{name}: {}", c.message.as_deref().unwrap_or("progress deadline exceeded")));
    }
    let wanted = d.spec.replicas.unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        Rollout::Progressing(format!("{name}: {updated} of {wanted} new replicas updated"))
    } else if total > updated {
        Rollout::Progressing(format!("{name}: {} old replicas pending termination", total - updated))
    } else if available < updated {
        Rollout::Progressing(format!("{name}: {available} of {updated} updated replicas available"))
    } else {
        Rollout::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn finds_secret_references_in_volumes_projected_and_env() {
        let d = deployment(json!({
            "metadata": {"name": "kccm"},
            "spec": {"selector": {}, "template": {"spec": {
                "volumes": [
                    {"name": "kubeconfig", "secret": {"secretName": "t-admin-kubeconfig"}},
                    {"name": "bundle", "projected": {"sources": [{"secret": {"name": "t-admin-kubeconfig"}}]}},
                    {"name": "other", "secret": {"secretName": "t-admin-kubeconfig-not"}}
                ],
                "containers": [{"name": "c", "image": "x", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "t-admin-kubeconfig", "key": "admin.conf"}}}]}],
                "initContainers": [{"name": "init", "image": "x", "envFrom": [{"secretRef": {"name": "t-ca"}}]}]
            }}}
        }));
        let spec = d.spec.template.spec.unwrap();
        assert_eq!(
            secret_references(&spec, "t-admin-kubeconfig"),
            vec!["volume kubeconfig", "projected volume bundle", "env of container c"]
        );
        assert_eq!(secret_references(&spec, "t-ca"), vec!["env of container init"]);
        assert!(secret_references(&spec, "t-sa-certificate").is_empty());
    }

    #[test]
    fn rollout_follows_kubectl_rules() {
        let d = |generation: i64, observed: i64, updated: i32, total: i32, available: i32| {
            deployment(json!({
                "metadata": {"name": "d", "generation": generation},
                "spec": {"replicas": 2, "selector": {}, "template": {}},
                "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total, "availableReplicas": available}
            }))
        };
        assert!(matches!(rollout(&d(3, 2, 2, 2, 2)), Rollout::Progressing(m) if m.contains("new spec")));
        assert!(matches!(rollout(&d(3, 3, 1, 3, 2)), Rollout::Progressing(m) if m.contains("1 of 2 new")));
        assert!(matches!(rollout(&d(3, 3, 2, 3, 2)), Rollout::Progressing(m) if m.contains("1 old")));
        assert!(matches!(rollout(&d(3, 3, 2, 2, 1)), Rollout::Progressing(m) if m.contains("1 of 2 updated")));
        assert_eq!(rollout(&d(3, 3, 2, 2, 2)), Rollout::Done);
        let failed = deployment(json!({
            "metadata": {"name": "d", "generation": 1},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]}
        }));
        assert_eq!(rollout(&failed), Rollout::Failed("d: too slow".into()));
    }
}
