//! A test's tenant on whichever cluster `E2E_PROVIDER` names, so the rotate and status suites
//! are written once: locally a Kamaji stand-in runs in the test (one per test, its controller
//! Deployment in `<ns>-kamaji`, a tenant API process when asked for); on kind or an existing
//! cluster the real operator keeps a TenantControlPlane the test creates, and its API is
//! reached as the profile says. What differs is read from [`Profile`], never hard-coded.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::{Api, ListParams};

use crate::cozystack::{KAMAJI_SELECTOR, SeedOptions, StandinTenant, Tenant, seed_tenant, standin_tenant};
use crate::providers::{KamajiController, Profile, TenantApiAccess};
use crate::{ControlPlane, TenantApi, TenantApiOptions};

/// Who keeps the tenant, and what the test must hold on to while it runs.
pub enum Keeper {
    /// The in-test stand-in (stopped on drop), and the tenant API process if one was asked for.
    StandIn { api: Option<Box<TenantApi>>, _standin: crate::kamaji::StandinTask },
    /// The provider's Kamaji operator: nothing runs in the test.
    Operator,
}

/// A Ready tenant on the provider's cluster.
pub struct ProvidedTenant {
    pub client: Client,
    pub tenant: Tenant,
    /// Where the tenant's kubeconfigs point.
    pub endpoint: Option<String>,
    /// Whether a kube-apiserver answers at `endpoint` (asked for, or the operator's own).
    pub live: bool,
    pub keeper: Keeper,
}

impl ProvidedTenant {
    /// The tenant API process of the stand-in, if this tenant has one (the local provider only).
    pub fn api_process(&self) -> Option<&TenantApi> {
        match &self.keeper {
            Keeper::StandIn { api, .. } => api.as_deref(),
            Keeper::Operator => None,
        }
    }
}

/// A fresh namespace `<prefix>-…` with the Ready tenant `release`. `live`: a kube-apiserver
/// must answer at its kubeconfigs' server (locally a [`TenantApi`] process is started; an
/// operator's tenant always has one). `seed.kamaji_version` other than the default asks for
/// a stand-in playing that version, which only the local provider has.
pub async fn provide(profile: &Profile, prefix: &str, release: &str, seed: SeedOptions, live: bool) -> Result<ProvidedTenant> {
    match profile.kamaji {
        KamajiController::StandIn => standin(prefix, release, seed, live, profile.tenant_ready_timeout).await,
        KamajiController::Operator => operator(profile, prefix, release, seed).await,
        KamajiController::None => bail!("E2E_PROVIDER={} has no Kamaji: the tenant suites do not apply", profile.provider.env_name()),
    }
}

async fn standin(prefix: &str, release: &str, mut seed: SeedOptions, live: bool, timeout: Duration) -> Result<ProvidedTenant> {
    let port = if live { Some(crate::process::free_port()?) } else { None };
    if let Some(port) = port {
        seed.endpoint = Some(TenantApi::endpoint(port));
    }
    let endpoint = seed.endpoint.clone();
    let StandinTenant { client, tenant, standin } = standin_tenant(prefix, release, seed, timeout).await?;
    let api = match port {
        Some(port) => {
            let opts = TenantApiOptions { port: Some(port), ..TenantApiOptions::default() };
            Some(Box::new(TenantApi::spawn(&client, &tenant.namespace, &tenant.name, opts).await.context("tenant API")?))
        }
        None => None,
    };
    Ok(ProvidedTenant { client, tenant, endpoint, live, keeper: Keeper::StandIn { api, _standin: standin } })
}

async fn operator(profile: &Profile, prefix: &str, release: &str, seed: SeedOptions) -> Result<ProvidedTenant> {
    let default_version = SeedOptions::default().kamaji_version;
    if seed.kamaji_version != default_version {
        bail!(
            "this test needs a Kamaji stand-in playing {}; E2E_PROVIDER={} runs the real operator (run it with E2E_PROVIDER=local)",
            seed.kamaji_version,
            profile.provider.env_name()
        );
    }
    let Some(address) = profile.node_address.clone().filter(|_| profile.tenant_api == TenantApiAccess::NodeNetwork) else {
        bail!(
            "E2E_PROVIDER={}: the tenant suites reach a tenant API through the node network: set E2E_TENANT_API=node-network and E2E_NODE_IP",
            profile.provider.env_name()
        );
    };
    let cp = ControlPlane::shared();
    let client = cp.client().await;
    let ns = cp.namespace(prefix).await.name;
    let port = free_node_port(&client).await?;
    let seed = SeedOptions {
        kamaji_namespace: profile.kamaji_namespace.clone(),
        kamaji_version: controller_version(&client, profile).await?,
        endpoint: None,
        operator: true,
        pod_image: profile.pod_image.clone(),
        node_port: Some((address.clone(), port)),
        datastore: profile.datastore.clone(),
        ..seed
    };
    let tenant = seed_tenant(&client, &ns, release, &seed).await?;
    let timeout = profile.tenant_ready_timeout;
    crate::kamaji::wait_ready(&client, &ns, release, timeout).await?;
    // Ready is the TCP's status; the API answers once its pods have rolled out and started.
    crate::pods::wait_rolled_out(&client, &ns, release, timeout).await?;
    let host = if address.contains(':') { format!("[{address}]") } else { address };
    let endpoint = format!("https://{host}:{port}");
    crate::controlplane::wait_ready_anonymous(&endpoint, timeout).await.with_context(|| format!("the tenant API at {endpoint}"))?;
    Ok(ProvidedTenant { client, tenant, endpoint: Some(endpoint), live: true, keeper: Keeper::Operator })
}

/// The tag of the operator's image (what kubectl-pki reads too), e.g. `26.8.2-edge`.
async fn controller_version(client: &Client, profile: &Profile) -> Result<String> {
    let selector = if profile.kamaji_selector.is_empty() { KAMAJI_SELECTOR } else { &profile.kamaji_selector };
    let list = Api::<Deployment>::namespaced(client.clone(), &profile.kamaji_namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .with_context(|| format!("listing the Kamaji controller in {}", profile.kamaji_namespace))?;
    let image = list
        .items
        .iter()
        .filter_map(|d| d.spec.template.spec.as_ref()?.containers.first()?.image.clone())
        .find(|i| i.contains("kamaji"))
        .with_context(|| format!("no Kamaji controller Deployment ({selector}) in {}", profile.kamaji_namespace))?;
    Ok(image.rsplit_once(':').map(|(_, tag)| tag.to_string()).unwrap_or(image))
}

/// A port in the NodePort range that no Service uses and nothing listens on here, so the
/// operator's Service gets it and a local stand-in of the operator can serve on it. Tests of
/// one binary take different ports (a counter), from a start that differs per run.
async fn free_node_port(client: &Client) -> Result<u16> {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    const FIRST: u16 = 30000;
    const COUNT: u16 = 2767;
    let services = Api::<Service>::all(client.clone()).list(&ListParams::default()).await.context("listing Services")?;
    let used: std::collections::BTreeSet<i32> =
        services.items.iter().filter_map(|s| s.spec.as_ref()?.ports.as_ref()).flatten().filter_map(|p| p.node_port).collect();
    let start = (std::process::id() % u32::from(COUNT)) as u16;
    for _ in 0..COUNT {
        let port = FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed) % COUNT) % COUNT;
        if !used.contains(&i32::from(port)) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port in the NodePort range {FIRST}-{}", FIRST + COUNT - 1)
}
