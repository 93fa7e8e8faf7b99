//! Reading what a plan needs, and the permissions a run needs. Reads only
//! the tenant's own secrets (by name), never the namespace's others.
//! Reads only: no writes, no clap types, no printing.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};

use super::plan::{Inventory, Options, Plan, SUFFIXES, SecretAction, WorkloadAction};
use super::resume;
use super::state::RunState;
use crate::error::{Error, Result};
use crate::kamaji::names;
use crate::kamaji::tenant::Resolved;
use crate::lease_state;
use crate::lock::{self, Lock};
use crate::rbac::Need;

/// The Lease that locks a tenant and carries its rotation state.
pub fn lease_name(tenant: &str) -> String {
    format!("pki-rotate-{tenant}")
}

/// Reads everything the plan is built from.
pub async fn gather(client: &kube::Client, namespace: &str, tcp: &Resolved, opts: &Options) -> Result<Inventory> {
    let tenant = tcp.name.as_str();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let gets = SUFFIXES.iter().map(|s| {
        let secrets = secrets.clone();
        let name = names::secret_name(tenant, s);
        async move { secrets.get_opt(&name).await }
    });
    let found: Vec<Secret> = futures::future::try_join_all(gets).await.map_err(Error::kube)?.into_iter().flatten().collect();

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployments = deployments.list(&ListParams::default()).await.map_err(Error::kube)?.items;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let workers = pods.list(&ListParams::default().labels(&opts.worker_selector)).await.map_err(Error::kube)?.items;
    let glob = format!("virt-launcher-{tenant}-");
    let glob_pods = pods
        .list_metadata(&ListParams::default())
        .await
        .map_err(Error::kube)?
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .filter(|n| n.starts_with(&glob))
        .collect();
    let kamaji: Api<Pod> = Api::namespaced(client.clone(), &opts.kamaji_namespace);
    let kamaji_pods = kamaji.list(&ListParams::default().labels(&opts.kamaji_selector)).await.map_err(Error::kube)?.items;

    let lease = Lock::peek(client, namespace, &lease_name(tenant)).await?;
    let annotations = lease.as_ref().and_then(|l| l.metadata.annotations.as_ref());
    let previous = annotations.and_then(RunState::from_annotations).filter(RunState::is_unfinished);
    let unfinished_renewal = annotations.and_then(|a| lease_state::unfinished(lease_state::RENEWAL, a));
    let unfinished_sa_key = annotations.and_then(|a| lease_state::unfinished(lease_state::SA_KEY, a));
    let backup = previous.as_ref().map(|p| resume::read_backup(p, tenant, opts.backup.as_deref(), &lock::hostname()));
    let (previous_backup, previous_backup_problem) = match backup {
        Some(Ok(secrets)) => (Some(secrets), None),
        Some(Err(why)) => (None, Some(why)),
        None => (None, None),
    };

    Ok(Inventory {
        namespace: namespace.to_string(),
        tenant: tenant.to_string(),
        tcp_status: tcp.status.clone(),
        tenant_uid: tcp.uid.clone(),
        secrets: found,
        deployments,
        workers,
        glob_pods,
        kamaji_pods,
        previous,
        previous_backup,
        previous_backup_problem,
        unfinished_renewal,
        unfinished_sa_key,
        read_at: jiff::Timestamp::now(),
    })
}

/// What reading the inventory takes.
pub fn read_needs(namespace: &str, opts: &Options) -> Vec<Need> {
    vec![
        Need::new("get", names::GROUP, names::PLURAL, namespace, "read the TenantControlPlane"),
        Need::new("get", "", "secrets", namespace, "read the tenant's secrets"),
        Need::new("list", "apps", "deployments", namespace, "find workloads that mount the tenant's secrets"),
        Need::new("list", "", "pods", namespace, "find the tenant's worker pods"),
        Need::new("list", "", "pods", &opts.kamaji_namespace, "find the Kamaji controller pods"),
        Need::new("get", "coordination.k8s.io", "leases", namespace, "read the rotation lock and state"),
    ]
}

fn lock_needs(namespace: &str) -> [Need; 2] {
    [
        Need::new("create", "coordination.k8s.io", "leases", namespace, "take the rotation lock"),
        Need::new("update", "coordination.k8s.io", "leases", namespace, "renew the lock, record progress"),
    ]
}

/// Everything a run of `plan` uses.
pub fn needs(plan: &Plan, opts: &Options) -> Vec<Need> {
    let ns = plan.namespace.as_str();
    let mut needs = read_needs(ns, opts);
    needs.extend(lock_needs(ns));
    if plan.secrets.iter().any(|s| s.action == SecretAction::Annotate) {
        needs.push(Need::new("patch", "", "secrets", ns, "annotate the CA secret"));
    }
    if plan.secrets.iter().any(|s| s.action == SecretAction::Delete) {
        needs.push(Need::new("delete", "", "secrets", ns, "delete secrets for Kamaji to regenerate"));
    }
    if !plan.kamaji.pods.is_empty() {
        needs.push(Need::new("delete", "", "pods", &opts.kamaji_namespace, "restart the Kamaji controller"));
    }
    if !plan.workloads.is_empty() {
        needs.push(Need::new("get", "apps", "deployments", ns, "wait for rollouts"));
    }
    if plan.workloads.iter().any(|w| w.action == WorkloadAction::Restart) {
        needs.push(Need::new("patch", "apps", "deployments", ns, "rollout restart"));
    }
    if opts.restart_workers && !plan.workers.pods.is_empty() {
        needs.push(Need::new("delete", "", "pods", ns, "--restart-workers"));
    }
    crate::rbac::dedup(needs)
}

/// The writes a run may need, judged from the flags alone (when reading is
/// already refused and no plan can be built).
pub fn needs_from_flags(namespace: &str, opts: &Options) -> Vec<Need> {
    use super::plan::MethodChoice;
    let mut needs = read_needs(namespace, opts);
    needs.extend(lock_needs(namespace));
    if opts.method != MethodChoice::Delete {
        needs.push(Need::new("patch", "", "secrets", namespace, "annotate the CA secret"));
    }
    needs.push(Need::new("delete", "", "secrets", namespace, "delete secrets for Kamaji to regenerate"));
    needs.push(Need::new("delete", "", "pods", &opts.kamaji_namespace, "restart the Kamaji controller"));
    needs.push(Need::new("get", "apps", "deployments", namespace, "wait for rollouts"));
    needs.push(Need::new("patch", "apps", "deployments", namespace, "rollout restart"));
    if opts.restart_workers {
        needs.push(Need::new("delete", "", "pods", namespace, "--restart-workers"));
    }
    crate::rbac::dedup(needs)
}
