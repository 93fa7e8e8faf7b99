//! Where a tenant's API server is dialled: the URL users get in the
//! admin kubeconfig, else the TCP's `status.controlPlaneEndpoint`. Shared
//! by `status --tenant` (served certificate), `rotate-ca` and `renew` (live check).

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde::Serialize;

use super::{names, tcp};
use crate::certs::kubeconfig;
use crate::error::{Error, Result};

/// Where the dialled URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointFrom {
    /// `server:` of `<tcp>-admin-kubeconfig`'s `admin.conf`: the URL users dial.
    AdminKubeconfig,
    /// The TCP's `status.controlPlaneEndpoint` (`host:port`), when there is no admin kubeconfig.
    ControlPlaneEndpoint,
    /// `--tenant-endpoint`: dialled there, checked against the host name of one of the above.
    TenantEndpoint,
}

/// `--tenant-endpoint`: where to dial the tenant API instead of the address its kubeconfig
/// names (a `kubectl port-forward`, a bastion's tunnel, a node port not routed from here).
/// Only the address changes: the served certificate is still checked against the host name
/// users dial ([`Target::dialled_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial(String);

impl Dial {
    /// `https://host:port` (the port may be left out: 443).
    pub fn parse(url: &str) -> std::result::Result<Dial, String> {
        let url = url.trim();
        if !url.starts_with("https://") {
            return Err(format!("--tenant-endpoint {url:?} is not https://host[:port]"));
        }
        crate::served::Endpoint::parse(url).map_err(|e| format!("--tenant-endpoint: {e}"))?;
        Ok(Dial(url.trim_end_matches('/').to_owned()))
    }

    pub fn url(&self) -> &str {
        &self.0
    }
}

/// The URL to dial and the TLS server name to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub tls_server_name: Option<String>,
    pub from: EndpointFrom,
}

impl Target {
    /// The host a TLS client checks the served leaf's names against: the
    /// TLS server name, else the URL's host.
    pub fn host(&self) -> String {
        match &self.tls_server_name {
            Some(name) if !name.is_empty() => name.clone(),
            _ => crate::served::Endpoint::parse(&self.url).map(|e| e.host).unwrap_or_default(),
        }
    }
}

/// The admin kubeconfig's server (its current context, else its first
/// cluster), else `https://<status.controlPlaneEndpoint>`.
pub fn target(admin_conf: Option<&[u8]>, control_plane_endpoint: Option<&str>) -> Option<Target> {
    let from_kubeconfig = admin_conf.and_then(|bytes| kubeconfig::parse(bytes).ok()).and_then(|kc| {
        let (server, sni) = match kubeconfig::for_context(&kc, None, None) {
            Ok(c) => (c.server, c.tls_server_name),
            Err(_) => kc.clusters.iter().find_map(|c| c.cluster.as_ref()).map(|c| (c.server.clone(), c.tls_server_name.clone()))?,
        };
        let url = server.filter(|s| !s.trim().is_empty())?;
        Some(Target { url, tls_server_name: sni, from: EndpointFrom::AdminKubeconfig })
    });
    from_kubeconfig.or_else(|| {
        let ep = control_plane_endpoint.map(str::trim).filter(|e| !e.is_empty())?;
        let url = if ep.contains("://") { ep.to_owned() } else { format!("https://{ep}") };
        Some(Target { url, tls_server_name: None, from: EndpointFrom::ControlPlaneEndpoint })
    })
}

/// [`target`] of `ns/tenant` as the cluster has it now (its admin kubeconfig, its TCP),
/// dialled at `dial` when given.
pub async fn of_tenant(client: &kube::Client, ns: &str, tenant: &str, dial: Option<&Dial>) -> Result<Option<Target>> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let admin = names::secret_name(tenant, names::ADMIN_KUBECONFIG);
    let admin_conf = secrets.get_opt(&admin).await.map_err(Error::kube)?.and_then(|s| s.data?.remove("admin.conf")).map(|b| b.0);
    let tcp = tcp::api(client.clone(), ns).get_opt(tenant).await.map_err(Error::kube)?;
    let endpoint = tcp.as_ref().and_then(|t| t.data.pointer("/status/controlPlaneEndpoint")?.as_str());
    Ok(target(admin_conf.as_deref(), endpoint).map(|t| t.dialled_at(dial)))
}

impl Target {
    /// The same target dialled at `dial` when given: its host name is kept as the TLS server
    /// name, so the certificate is judged as users see it.
    pub fn dialled_at(self, dial: Option<&Dial>) -> Target {
        match dial {
            None => self,
            Some(d) => Target { tls_server_name: Some(self.host()), url: d.0.clone(), from: EndpointFrom::TenantEndpoint },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    #[test]
    fn the_host_checked_is_the_tls_server_name_else_the_urls() {
        let t = |url: &str, sni: Option<&str>| Target {
            url: url.into(),
            tls_server_name: sni.map(Into::into),
            from: EndpointFrom::AdminKubeconfig,
        };
        assert_eq!(t("https://10.0.0.1:6443", None).host(), "10.0.0.1");
        assert_eq!(t("https://[::1]:6443", None).host(), "::1");
        assert_eq!(t("https://10.0.0.1:6443", Some("k8s.tenant.svc")).host(), "k8s.tenant.svc");
    }

    #[test]
    fn a_tenant_endpoint_changes_the_address_dialled_not_the_name_checked() {
        let dial = Dial::parse("https://127.0.0.1:16443/").unwrap();
        let kubeconfig = Target {
            url: "https://kubernetes-demo.tenant-root.example:6443".into(),
            tls_server_name: None,
            from: EndpointFrom::AdminKubeconfig,
        };
        let t = kubeconfig.clone().dialled_at(Some(&dial));
        assert_eq!(
            (t.url.as_str(), t.host(), t.from),
            ("https://127.0.0.1:16443", "kubernetes-demo.tenant-root.example".to_string(), EndpointFrom::TenantEndpoint)
        );
        assert_eq!(kubeconfig.clone().dialled_at(None), kubeconfig);
        let sni = Target { tls_server_name: Some("kube.internal".into()), ..kubeconfig };
        assert_eq!(sni.dialled_at(Some(&dial)).host(), "kube.internal");
        assert!(Dial::parse("http://127.0.0.1:6443").unwrap_err().contains("is not https://host[:port]"));
        assert!(Dial::parse("https://:6443").is_err() && Dial::parse("127.0.0.1:6443").is_err());
    }

    #[test]
    fn endpoint_from_admin_kubeconfig_else_control_plane_endpoint() {
        let root = ca("kubernetes");
        let conf = kubeconfig_yaml(&root.pem, &leaf_signed_by("admin", &root).pem);
        let t = target(Some(conf.as_bytes()), Some("10.9.9.9:6443")).unwrap();
        assert_eq!((t.url.as_str(), t.from), ("https://10.0.0.1:6443", EndpointFrom::AdminKubeconfig));
        let t = target(None, Some("10.9.9.9:6443")).unwrap();
        assert_eq!((t.url.as_str(), t.from), ("https://10.9.9.9:6443", EndpointFrom::ControlPlaneEndpoint));
        assert_eq!(target(Some(b"not: [a kubeconfig"), Some("h:443")).unwrap().url, "https://h:443");
        assert_eq!(target(None, Some(" ")), None);
        let no_context = conf.replace("current-context: admin@tenant", "");
        assert_eq!(target(Some(no_context.as_bytes()), None).unwrap().url, "https://10.0.0.1:6443");
    }
}
