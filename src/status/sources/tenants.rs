//! `--all-tenants`: every TenantControlPlane in scope (`-n` or `-A`), each
//! judged as `--tenant` judges one. The reads do not grow with the number
//! of tenants: one list of the TenantControlPlanes, paged lists of the
//! secrets labelled `kamaji.clastix.io/name` and `kamaji.clastix.io/managed-for`
//! (certificates kept, never a key), one list of Leases, one of the Kamaji controller pods; then the
//! tenant APIs are dialled, `--concurrency` at a time, each bounded by
//! `--server-timeout`. A tenant that cannot be judged is a row of the
//! listing with its error, never the end of it.
//!
//! Fetches and pushes rows; never renders, no clap.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams};

use super::secrets::each_secret;
use super::tenant::{Controller, controller_horizon};
use super::tenant_api::{self, Check, Dialled};
use crate::context::Ctx;
use crate::error::Result;
use crate::kamaji::{names, tcp};
use crate::status::row::{Collector, Row, TenantInfo};
use crate::status::tenant_judge::{self, TenantSecret};
use crate::status::tenant_summary::TenantSummary;

pub struct Options<'a> {
    pub all_namespaces: bool,
    pub page_size: u32,
    pub timeout: Duration,
    pub concurrency: usize,
    pub kamaji: Controller<'a>,
}

/// `(namespace, tcp)`.
type Key = (String, String);

pub async fn collect(ctx: &Ctx, col: &mut Collector<'_>, opts: &Options<'_>) -> Result<()> {
    let client = ctx.client().await?;
    let namespace = if opts.all_namespaces { None } else { Some(ctx.namespace().await?) };
    let (tcps, secrets, leases): (Api<DynamicObject>, Api<Secret>, Api<Lease>) = match &namespace {
        Some(ns) => (tcp::api(client.clone(), ns), Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns)),
        None => (Api::all_with(client.clone(), &tcp::api_resource()), Api::all(client.clone()), Api::all(client.clone())),
    };
    let listed = match tcps.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => return Err(ctx.api_error(e).await),
    };
    let kamaji = controller_horizon(&client, &opts.kamaji, col).await;

    let mut by_tenant: BTreeMap<Key, Vec<TenantSecret>> = BTreeMap::new();
    // The tenants' own secrets, then those KubeconfigGenerators wrote for them.
    for label in [names::LABEL_NAME, names::LABEL_MANAGED_FOR] {
        each_secret(ctx, &secrets, ListParams::default().labels(label), opts.page_size, |secret| {
            if let Some(s) = TenantSecret::of(secret) {
                by_tenant.entry((s.namespace.clone(), s.tcp.clone())).or_default().push(s);
            }
        })
        .await?;
    }
    let rotating = held_leases(&leases).await;

    // Dials first, bounded; judging is pure and runs in order after.
    let endpoints: Vec<(Key, Option<crate::kamaji::endpoint::Target>)> = listed
        .iter()
        .map(|obj| {
            let key = key_of(obj);
            let seen = tenant_judge::seen(by_tenant.get(&key).into_iter().flatten());
            (key, tenant_api::endpoint(&seen, control_plane_endpoint(obj)))
        })
        .collect();
    let dialled: BTreeMap<Key, Dialled> = futures::stream::iter(endpoints)
        .map(|(key, target)| async move { (key, tenant_api::dial(target, opts.timeout).await) })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;

    for obj in &listed {
        let key = key_of(obj);
        let secrets = by_tenant.remove(&key).unwrap_or_default();
        let mut info = TenantInfo {
            context: None,
            namespace: key.0.clone(),
            name: key.1.clone(),
            status: tcp::status(obj),
            version: tcp::version(obj),
            kamaji: Some(kamaji.clone()),
            pending_rotation: vec![],
            summary: None,
            error: None,
        };
        if secrets.is_empty() {
            info.error = Some(format!("no secrets labelled {}", names::selector(&key.1)));
        }
        let mut rows: Vec<Row> = Vec::new();
        let mut own = Collector::new(col.now, col.warn_within, &mut rows);
        let by_name = |suffix: &str| {
            let secret_name = names::secret_name(&key.1, suffix);
            let found = secrets.iter().find(|s| s.name == secret_name);
            tenant_judge::expected(found, &secret_name, if suffix == names::CA { names::KEY_CA_CRT } else { names::KEY_FRONT_PROXY_CA_CRT })
        };
        let ca = by_name(names::CA);
        let front_proxy_ca = by_name(names::FRONT_PROXY_CA);
        info.pending_rotation = tenant_judge::push_secrets(&mut own, &secrets, &ca, &front_proxy_ca);
        let seen = tenant_judge::seen(&secrets);
        let check = Check {
            namespace: &key.0,
            tcp: &key.1,
            control_plane_endpoint: control_plane_endpoint(obj),
            ca: &ca,
            timeout: opts.timeout,
            dial: None,
        };
        if let Some(d) = dialled.get(&key) {
            tenant_api::push(&mut own, &check, &seen, d);
        }
        drop(own);
        let mut summary = TenantSummary::new(&key.0, &key.1);
        summary.rotating = rotating.as_ref().map(|held| held.contains(&key));
        for row in rows {
            summary.fold(&row);
            col.emit(row);
        }
        if !info.pending_rotation.is_empty() {
            col.judge_outcome(crate::error::Outcome::Warning);
        }
        info.summary = Some(summary);
        col.tenants.push(info);
    }
    Ok(())
}

fn key_of(obj: &DynamicObject) -> Key {
    (obj.metadata.namespace.clone().unwrap_or_default(), obj.metadata.name.clone().unwrap_or_default())
}

fn control_plane_endpoint(obj: &DynamicObject) -> Option<&str> {
    obj.data.pointer("/status/controlPlaneEndpoint").and_then(|v| v.as_str())
}

/// Tenants whose `pki-rotate-<tcp>` Lease a run holds; `None` when Leases cannot be listed.
async fn held_leases(api: &Api<Lease>) -> Option<HashSet<Key>> {
    crate::kamaji::rotating::held(api).await.map_err(|e| tracing::debug!("cannot list Leases: {e}")).ok()
}
