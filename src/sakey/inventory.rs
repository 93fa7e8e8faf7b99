//! Reading what a `rotate-sa-key` plan is built from: the TenantControlPlane, its
//! `-sa-certificate` and admin kubeconfig, its Deployment (replicas, pods, the kube-apiserver's
//! flags), the tenant's Lease, and from the live tenant API the legacy token Secrets. And the
//! permissions a run needs. Reads only: no writes, no clap types, no printing.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::Api;

use super::keys::{PublicKey, SigningKey, public_keys};
use super::lifetime::{self, MinAge};
use super::state::SaKeyState;
use super::tenant_api::{self, LegacyToken, TenantApi};
use crate::error::{Error, Result};
use crate::kamaji::names;
use crate::kamaji::tenant::Resolved;
use crate::lease_state;
use crate::lock::Lock;
use crate::rbac::Need;
use crate::rotate::inventory::lease_name;

/// The keys of `-sa-certificate`, read.
#[derive(Debug)]
pub struct Keys {
    pub public: Vec<PublicKey>,
    pub signing: SigningKey,
    /// The secret as read (its resourceVersion guards the write).
    pub secret: Secret,
}

/// Everything the plan is built from.
#[derive(Debug)]
pub struct Inventory {
    pub namespace: String,
    pub tenant: String,
    pub tenant_uid: Option<String>,
    pub tcp_status: Option<String>,
    /// The keys, or why they cannot be used.
    pub keys: std::result::Result<Keys, String>,
    /// The tenant Deployment: (replicas, pod selector), or None when there is none.
    pub deployment: Option<(usize, Option<String>)>,
    pub pods: Vec<String>,
    pub min_age: MinAge,
    pub admin_conf: Option<Vec<u8>>,
    /// The legacy token Secrets of the tenant, or why they could not be listed.
    pub legacy_tokens: std::result::Result<Vec<LegacyToken>, String>,
    /// An unfinished rotate-ca or renew run in the Lease.
    pub other_run: Option<String>,
    /// The last rotate-sa-key state in the Lease, of this tenant (UID).
    pub previous: Option<SaKeyState>,
    pub read_at: jiff::Timestamp,
}

fn value(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret.data.as_ref()?.get(key).map(|v| v.0.clone())
}

fn read_keys(secret: Option<Secret>, name: &str) -> std::result::Result<Keys, String> {
    let secret = secret.ok_or_else(|| format!("secret {name} not found"))?;
    let public =
        public_keys(&value(&secret, "sa.pub").ok_or_else(|| format!("{name} has no sa.pub"))?).map_err(|e| format!("{name}: {e}"))?;
    let signing = SigningKey::read(&value(&secret, "sa.key").ok_or_else(|| format!("{name} has no sa.key"))?)
        .map_err(|e| format!("{name} sa.key: {e}"))?;
    Ok(Keys { public, signing, secret })
}

/// Reads everything the plan is built from; `request_timeout` bounds the tenant API's requests.
pub async fn gather(
    client: &kube::Client,
    namespace: &str,
    tcp: &Resolved,
    request_timeout: Option<std::time::Duration>,
    dial: Option<&crate::kamaji::endpoint::Dial>,
) -> Result<Inventory> {
    let tenant = tcp.name.as_str();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let sa_name = names::secret_name(tenant, names::SA);
    let keys = read_keys(secrets.get_opt(&sa_name).await.map_err(Error::kube)?, &sa_name);
    let admin_conf = secrets
        .get_opt(&names::secret_name(tenant, names::ADMIN_KUBECONFIG))
        .await
        .map_err(Error::kube)?
        .and_then(|s| value(&s, "admin.conf"));
    let deployment = Api::<Deployment>::namespaced(client.clone(), namespace).get_opt(tenant).await.map_err(Error::kube)?;
    let min_age = match &deployment {
        Some(d) => {
            let containers = d.spec.template.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default();
            let apiserver = containers.iter().find(|c| c.name == "kube-apiserver");
            let args: Vec<String> = apiserver
                .map(|c| c.command.clone().unwrap_or_default().into_iter().chain(c.args.clone().unwrap_or_default()).collect())
                .unwrap_or_default();
            lifetime::from_args(&args)
        }
        None => MinAge::Default {
            seconds: lifetime::DEFAULT_MIN_AGE.as_secs(),
            why: format!("no Deployment {namespace}/{tenant} to read the flag from"),
        },
    };
    let selector = deployment.as_ref().and_then(super::pods::selector);
    let pods = match &selector {
        Some(sel) => {
            super::pods::live(&Api::<Pod>::namespaced(client.clone(), namespace), sel).await?.into_iter().map(|(n, _)| n).collect()
        }
        None => Vec::new(),
    };
    let deployment = deployment.map(|d| (usize::try_from(d.spec.replicas.unwrap_or(1)).unwrap_or(1), selector));

    let annotations = Lock::peek(client, namespace, &lease_name(tenant)).await?.and_then(|l| l.metadata.annotations).unwrap_or_default();
    // Read as rotate-sa-key's own first step reads them (`lease_state`), not through their types.
    let other_run = lease_state::COMMANDS
        .into_iter()
        .filter(|(command, _)| *command != "rotate-sa-key")
        .find(|(_, prefix)| lease_state::unfinished(prefix, &annotations).is_some())
        .map(|(command, _)| format!("an unfinished {command}"));
    let previous = SaKeyState::from_annotations(&annotations).filter(|p| p.tenant_uid.is_none() || p.tenant_uid == tcp.uid);
    let legacy_tokens = match &admin_conf {
        None => Err(format!("{} has no admin.conf", names::secret_name(tenant, names::ADMIN_KUBECONFIG))),
        Some(conf) => match tenant_api::connect(conf, request_timeout.or(Some(std::time::Duration::from_secs(10))), dial).await {
            Ok(api) => legacy(&api).await,
            Err(e) => Err(e.to_string()),
        },
    };
    Ok(Inventory {
        namespace: namespace.to_string(),
        tenant: tenant.to_string(),
        tenant_uid: tcp.uid.clone(),
        tcp_status: tcp.status.clone(),
        keys,
        deployment,
        pods,
        min_age,
        admin_conf,
        legacy_tokens,
        other_run,
        previous,
        read_at: jiff::Timestamp::now(),
    })
}

async fn legacy(api: &TenantApi) -> std::result::Result<Vec<LegacyToken>, String> {
    api.legacy_tokens().await.map_err(|e| format!("listing them in the tenant at {}: {e}", api.url))
}

/// What reading the inventory takes.
pub fn read_needs(namespace: &str) -> Vec<Need> {
    vec![
        Need::new("get", names::GROUP, names::PLURAL, namespace, "read the TenantControlPlane"),
        Need::new("get", "", "secrets", namespace, "read the service-account key and the admin kubeconfig"),
        Need::new("get", "apps", "deployments", namespace, "read the tenant Deployment (replicas, kube-apiserver flags)"),
        Need::new("list", "", "pods", namespace, "find the tenant control-plane pods"),
        Need::new("get", "coordination.k8s.io", "leases", namespace, "read the tenant's lock and recorded progress"),
    ]
}

/// What a real run takes, beyond reading.
pub fn needs(namespace: &str) -> Vec<Need> {
    let mut all = read_needs(namespace);
    all.extend([
        Need::new("update", "", "secrets", namespace, "write sa.pub and sa.key"),
        Need::new("delete", "", "pods", namespace, "replace the tenant control-plane pods one at a time"),
        Need::new("create", "coordination.k8s.io", "leases", namespace, "take the tenant's lock"),
        Need::new("update", "coordination.k8s.io", "leases", namespace, "hold the lock and record progress"),
    ]);
    crate::rbac::dedup(all)
}
