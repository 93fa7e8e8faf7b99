//! Kamaji tenants, every `--served-interval`: the TenantControlPlanes are
//! listed, each tenant's secrets (held by the secret watch) are judged
//! against its current CA, its API is dialled, whether its `pki-rotate-<tcp>`
//! Lease is held (one Lease list per pass); and the Kamaji controller's issuance horizon is read
//! from its pods. One tenant that fails is its own row of errors; the pass
//! goes on.
//!
//! Fetches and judges; no clap.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams};

use super::series::Verdict;
use super::store::Store;
use crate::kamaji::horizon::Horizon;
use crate::kamaji::{names, tcp};
use crate::status::row::{Collector, Row};
use crate::status::sources::tenant_api::{self, Check};
use crate::status::tenant_judge::{self, TenantSecret};
use crate::status::tenant_summary::TenantSummary;

/// The source name of the tenant pass in `x509_source_*`.
pub const SOURCE: &str = "tenants";

pub struct Tenants {
    /// The source name in `x509_source_*` (`tenants`, `tenants/<namespace>`).
    pub source: String,
    pub client: kube::Client,
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub interval: Duration,
    pub server_timeout: Duration,
    pub concurrency: usize,
    pub kamaji_namespace: String,
    pub kamaji_selector: String,
}

pub async fn run(t: Tenants, store: Arc<Store>) {
    // A tenant is judged from the secrets the watch holds: not before it has them.
    while !store.attempted_kind("kube-secret") {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut tick = tokio::time::interval(t.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        pass(&t, &store).await;
    }
}

/// One pass over every tenant.
pub async fn pass(t: &Tenants, store: &Store) {
    horizon(t, store).await;
    let api: Api<DynamicObject> = match &t.namespace {
        Some(ns) => tcp::api(t.client.clone(), ns),
        None => Api::all_with(t.client.clone(), &tcp::api_resource()),
    };
    let tcps = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            let reason = match &e {
                kube::Error::Api(s) => format!("http_{}", s.code),
                _ => "unreachable".into(),
            };
            tracing::warn!(reason = %reason, "cannot list TenantControlPlanes: {}", crate::output::clean_line(&e.to_string()));
            store.error(&t.source, &reason, false);
            return;
        }
    };
    // Boxed: the spawned pass must be Send for every lifetime of the borrow.
    type Judged<'a> = std::pin::Pin<Box<dyn Future<Output = super::store::Judged> + Send + 'a>>;
    let mut by_tenant = secrets_by_tenant(store);
    // One list of Leases for the pass, not a GET per tenant.
    let leases: Api<Lease> = match &t.namespace {
        Some(ns) => Api::namespaced(t.client.clone(), ns),
        None => Api::all(t.client.clone()),
    };
    let held = crate::kamaji::rotating::held(&leases)
        .await
        .map_err(|e| tracing::debug!("cannot list Leases: {}", crate::output::clean_line(&e.to_string())))
        .ok();
    let each: Vec<Judged<'_>> = tcps
        .iter()
        .map(|obj| {
            let key = (obj.metadata.namespace.clone().unwrap_or_default(), obj.metadata.name.clone().unwrap_or_default());
            let rotating = held.as_ref().map(|h| h.contains(&key));
            let secrets = by_tenant.remove(&key).unwrap_or_default();
            Box::pin(tenant(t, obj, secrets, rotating)) as Judged<'_>
        })
        .collect();
    let judged: Vec<_> = futures::stream::iter(each).buffer_unordered(t.concurrency.max(1)).collect().await;
    let tenants: BTreeMap<_, _> = judged.into_iter().map(|(m, v)| ((m.namespace.clone(), m.name.clone()), (m, v))).collect();
    tracing::debug!(tenants = tenants.len(), "tenants judged");
    let mut state = store.lock();
    state.tenants.retain(|(ns, _), _| t.namespace.as_ref().is_some_and(|mine| mine != ns));
    state.tenants.extend(tenants);
    drop(state);
    store.synced(&t.source, Timestamp::now().as_second());
}

/// `rotating`: its Lease is held; `None` when Leases could not be listed.
async fn tenant(t: &Tenants, obj: &DynamicObject, secrets: Vec<TenantSecret>, rotating: Option<bool>) -> super::store::Judged {
    let namespace = obj.metadata.namespace.clone().unwrap_or_default();
    let name = obj.metadata.name.clone().unwrap_or_default();
    let seen = tenant_judge::seen(&secrets);
    let cpe = obj.data.pointer("/status/controlPlaneEndpoint").and_then(|v| v.as_str());
    let started = Instant::now();
    let dialled = tenant_api::dial(tenant_api::endpoint(&seen, cpe), t.server_timeout).await;
    let dial_seconds = started.elapsed().as_secs_f64();

    let by_name = |suffix: &str| {
        let secret_name = names::secret_name(&name, suffix);
        let found = secrets.iter().find(|s| s.name == secret_name);
        (secret_name, found)
    };
    let (ca_name, ca_secret) = by_name(names::CA);
    let ca = tenant_judge::expected(ca_secret, &ca_name, names::KEY_CA_CRT);
    let (fp_name, fp_secret) = by_name(names::FRONT_PROXY_CA);
    let front_proxy_ca = tenant_judge::expected(fp_secret, &fp_name, names::KEY_FRONT_PROXY_CA_CRT);
    let mut rows: Vec<Row> = Vec::new();
    let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO, &mut rows);
    tenant_judge::push_secrets(&mut col, &secrets, &ca, &front_proxy_ca);
    let check = Check { namespace: &namespace, tcp: &name, control_plane_endpoint: cpe, ca: &ca, timeout: t.server_timeout, dial: None };
    tenant_api::push(&mut col, &check, &seen, &dialled);
    drop(col);

    let mut metrics = TenantSummary::new(&namespace, &name);
    let mut verdicts = HashMap::new();
    for row in &rows {
        metrics.fold(row);
        if row.served.is_none() {
            verdicts.insert(row.name.as_str().into(), Verdict::of(&row.chain));
        }
    }
    metrics.rotating = rotating;
    metrics.dial_seconds = Some(dial_seconds);
    (metrics, Arc::new(verdicts))
}

/// Every tenant's secrets as the watch holds them, grouped in one pass over the store.
fn secrets_by_tenant(store: &Store) -> HashMap<(String, String), Vec<TenantSecret>> {
    let state = store.lock();
    let mut by_tenant: HashMap<(String, String), Vec<TenantSecret>> = HashMap::new();
    for s in state.bundles.values().flat_map(|m| m.values()).filter_map(|b| b.tenant.as_ref()) {
        by_tenant.entry((s.namespace.clone(), s.tcp.clone())).or_default().push(s.clone());
    }
    for list in by_tenant.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    by_tenant
}

/// The Kamaji controller's issuance horizon; not being able to list its pods is logged, not fatal.
async fn horizon(t: &Tenants, store: &Store) {
    let pods: Api<Pod> = Api::namespaced(t.client.clone(), &t.kamaji_namespace);
    match pods.list(&ListParams::default().labels(&t.kamaji_selector)).await {
        Ok(list) => {
            let h = Horizon::of_pods(&list.items);
            let mut state = store.lock();
            match h.issues_until {
                Some(until) => state.horizons.insert(t.kamaji_namespace.clone(), until.as_second()),
                None => state.horizons.remove(&t.kamaji_namespace),
            };
        }
        Err(e) => tracing::debug!(namespace = %t.kamaji_namespace, "cannot list the Kamaji controller pods: {e}"),
    }
}
