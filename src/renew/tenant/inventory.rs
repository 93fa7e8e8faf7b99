//! Reading what a renewal plan needs, and the permissions a run needs. Reads the tenant's
//! own secrets (by its `kamaji.clastix.io/name` label), the Deployments of the namespace
//! (their volumes), the Kamaji controller pods and the tenant's Lease.
//! Reads only: no writes, no clap types, no printing.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};

use super::plan::{Inventory, Mechanism, Options, Plan};
use super::state::RenewState;
use crate::error::{Error, Result};
use crate::kamaji::names;
use crate::kamaji::tenant::Resolved;
use crate::lock::{self, Lock};
use crate::rbac::Need;
use crate::rotate::inventory::lease_name;
use crate::rotate::state::{RunState, local_backup_path};

/// Reads everything the plan is built from.
pub async fn gather(client: &kube::Client, namespace: &str, tcp: &Resolved, opts: &Options) -> Result<Inventory> {
    let tenant = tcp.name.as_str();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = secrets.list(&ListParams::default().labels(&names::selector(tenant))).await.map_err(Error::kube)?.items;
    let deployments =
        Api::<Deployment>::namespaced(client.clone(), namespace).list(&ListParams::default()).await.map_err(Error::kube)?.items;
    let kamaji: Api<Pod> = Api::namespaced(client.clone(), &opts.kamaji_namespace);
    let kamaji_pods = kamaji.list(&ListParams::default().labels(&opts.kamaji_selector)).await.map_err(Error::kube)?.items;

    let annotations = Lock::peek(client, namespace, &lease_name(tenant)).await?.and_then(|l| l.metadata.annotations).unwrap_or_default();
    let rotation = RunState::from_annotations(&annotations).filter(RunState::is_unfinished);
    // A renewal of an earlier tenant of this name is not resumed: this one starts afresh.
    let previous = RenewState::from_annotations(&annotations)
        .filter(RenewState::is_unfinished)
        .filter(|p| p.tenant_uid.is_none() || p.tenant_uid == tcp.uid);
    let previous_backup = previous
        .as_ref()
        .and_then(|p| local_backup_path(p.backup.as_deref()?, &lock::hostname()))
        .and_then(|path| crate::rotate::backup::read(&path).ok());
    Ok(Inventory {
        namespace: namespace.to_string(),
        tenant: tenant.to_string(),
        tcp_status: tcp.status.clone(),
        tenant_uid: tcp.uid.clone(),
        secrets: found,
        deployments,
        kamaji_pods,
        rotation,
        previous,
        previous_backup,
        read_at: jiff::Timestamp::now(),
    })
}

/// What reading the inventory takes.
pub fn read_needs(namespace: &str, opts: &Options) -> Vec<Need> {
    vec![
        Need::new("get", names::GROUP, names::PLURAL, namespace, "read the TenantControlPlane"),
        Need::new("list", "", "secrets", namespace, "read the tenant's secrets"),
        Need::new("list", "apps", "deployments", namespace, "find workloads that mount the tenant's secrets"),
        Need::new("list", "", "pods", &opts.kamaji_namespace, "find the Kamaji controller pods"),
        Need::new("get", "coordination.k8s.io", "leases", namespace, "read the tenant's lock and state"),
    ]
}

/// Everything a run of `plan` uses.
pub fn needs(plan: &Plan, opts: &Options) -> Vec<Need> {
    let ns = plan.namespace.as_str();
    let mut needs = read_needs(ns, opts);
    needs.push(Need::new("get", "", "secrets", ns, "wait for the renewed secrets"));
    needs.push(Need::new("create", "coordination.k8s.io", "leases", ns, "take the tenant's lock"));
    needs.push(Need::new("update", "coordination.k8s.io", "leases", ns, "renew the lock, record progress"));
    if plan.renewing().next().is_some() {
        needs.push(match plan.mechanism {
            Mechanism::Annotate => Need::new("patch", "", "secrets", ns, "annotate the leaf secrets (certs.kamaji.clastix.io/rotate)"),
            Mechanism::Delete => Need::new("delete", "", "secrets", ns, "delete the leaf secrets for Kamaji to make again"),
        });
    }
    if !plan.kamaji.pods.is_empty() {
        needs.push(Need::new("delete", "", "pods", &opts.kamaji_namespace, "restart the Kamaji controller"));
    }
    if !plan.workloads.is_empty() {
        needs.push(Need::new("get", "apps", "deployments", ns, "wait for rollouts"));
    }
    if plan.workloads.iter().any(|w| w.action == crate::rotate::plan::WorkloadAction::Restart) {
        needs.push(Need::new("patch", "apps", "deployments", ns, "rollout restart"));
    }
    crate::rbac::dedup(needs)
}
