//! Where the Kamaji controller runs: one pair of flags for every command
//! that reads it (its issuance horizon) or restarts it (rotate-ca, renew);
//! and where a tenant's API is dialled when its own address is not reachable.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct KamajiController {
    /// Namespace of the Kamaji controller (its pods: restarted by rotate-ca and renew, their start is the issuance horizon).
    #[arg(long, value_name = "NAMESPACE", default_value = "cozy-kamaji")]
    pub kamaji_namespace: String,
    /// Label selector of the Kamaji controller pods.
    #[arg(long, value_name = "SELECTOR", default_value = "app.kubernetes.io/name=kamaji")]
    pub kamaji_selector: String,
}

#[derive(Debug, Clone, Args)]
pub struct TenantEndpoint {
    /// Dial the tenant API at URL (https://host:port: a kubectl port-forward, a tunnel) instead of the server of
    /// its admin kubeconfig; its certificate is still checked against that server's host name.
    #[arg(long, value_name = "URL")]
    pub tenant_endpoint: Option<String>,
}
