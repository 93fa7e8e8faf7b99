//! Which cluster a client talks to: the API server URL it was given and the
//! UID of the `kube-system` namespace. The URL may differ between two
//! clients of one cluster (a proxy, a load balancer, another DNS name); the
//! UID is set once when the cluster is created and survives restarts and
//! upgrades, so it is what tells clusters apart. Backups record both.
//! No clap types, no printing.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde::Serialize;

use crate::error::{Error, Result};

/// The namespace whose UID names the cluster.
pub const NAMESPACE: &str = "kube-system";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIdentity {
    /// The API server URL as this client was configured (shown, not compared).
    pub server: String,
    /// `metadata.uid` of the `kube-system` namespace.
    pub uid: String,
}

/// Reads the identity of the cluster `client` talks to at `server`.
pub async fn read(client: &kube::Client, server: &str) -> Result<ClusterIdentity> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = api.get(NAMESPACE).await.map_err(|e| Error::kube_at(e, Some(server)))?;
    let uid = ns.metadata.uid.filter(|u| !u.is_empty()).ok_or_else(|| Error::Client(format!("namespace {NAMESPACE} has no uid")))?;
    Ok(ClusterIdentity { server: server.to_string(), uid })
}
