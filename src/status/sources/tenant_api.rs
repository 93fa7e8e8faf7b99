//! The certificate a tenant's API server serves right now (`--tenant`):
//! one row `<ns>/<tcp>:served`, source `tenant`. The URL is the `server:`
//! of `<tcp>-admin-kubeconfig`'s `admin.conf` (what users dial, so what
//! locks them out), else `https://<status.controlPlaneEndpoint>`. The
//! handshake is the server source's; verdicts are [`crate::status::served`].
//! An endpoint this machine cannot reach is an `unreachable` row, never an
//! error and never a pass.
//!
//! Never renders, no clap.

use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::certs::chain::ChainVerdict;
use crate::certs::info::CertInfo;
use crate::kamaji::names;
use crate::status::item::Location;
use crate::status::row::Collector;
use crate::status::served::{self, Served, ServedVerdict};

use super::server::served_chain;
use crate::status::tenant_judge::{Expected, Seen};

const KEY_ADMIN_CONF: &str = "admin.conf";

/// The outcome of one dial of the tenant API.
#[derive(Debug, Clone)]
pub enum Dialled {
    /// Neither `admin.conf` nor the TenantControlPlane names an endpoint.
    NoEndpoint,
    Failed {
        target: served::Target,
        reason: String,
    },
    Chain {
        target: served::Target,
        chain: Vec<CertificateDer<'static>>,
    },
}

/// Where users dial the tenant: `admin.conf`'s server, else `https://<controlPlaneEndpoint>`.
pub fn endpoint(seen: &Seen, control_plane_endpoint: Option<&str>) -> Option<served::Target> {
    seen.admin_target.clone().or_else(|| served::target(None, control_plane_endpoint))
}

/// One TLS handshake with the tenant API, bounded by `timeout`.
pub async fn dial(endpoint: Option<served::Target>, timeout: Duration) -> Dialled {
    let Some(target) = endpoint else { return Dialled::NoEndpoint };
    tracing::debug!(url = %target.url, "dialling the tenant API");
    match served_chain(&target.url, target.tls_server_name.as_deref(), timeout).await {
        Ok(chain) => Dialled::Chain { target, chain },
        Err(reason) => Dialled::Failed { target, reason },
    }
}

/// The tenant and what its served chain is checked against.
pub struct Check<'a> {
    pub namespace: &'a str,
    pub tcp: &'a str,
    /// `.status.controlPlaneEndpoint` (`host:port`).
    pub control_plane_endpoint: Option<&'a str>,
    /// `<tcp>-ca` `ca.crt`, or why it is unknown.
    pub ca: &'a Expected,
    pub timeout: Duration,
    /// `--tenant-endpoint`: dialled there instead.
    pub dial: Option<&'a crate::kamaji::endpoint::Dial>,
}

/// Dials the tenant API and pushes its row.
pub async fn collect(col: &mut Collector<'_>, check: &Check<'_>, seen: &Seen) {
    let dialled = dial(endpoint(seen, check.control_plane_endpoint).map(|t| t.dialled_at(check.dial)), check.timeout).await;
    push(col, check, seen, &dialled);
}

/// The served row of a dial made earlier (the exporter dials on its own clock).
pub fn push(col: &mut Collector<'_>, check: &Check<'_>, seen: &Seen, dialled: &Dialled) {
    let name = format!("{}/{}:served", check.namespace, check.tcp);
    let secret_name = names::secret_name(check.tcp, names::API_SERVER);
    let secret_leaf: Result<&[u8], String> = match &seen.apiserver_leaf {
        Some(Ok(der)) => Ok(der),
        Some(Err(why)) => Err(why.clone()),
        None => Err("not found".into()),
    };
    let secret_sha256 = secret_leaf.as_ref().ok().and_then(|d| CertInfo::from_der(d).ok()).map(|i| i.sha256);
    let target = match dialled {
        Dialled::NoEndpoint => {
            let served = Served { endpoint: None, endpoint_from: None, verdict: ServedVerdict::Unreachable, secret_sha256 };
            let why = format!(
                "unreachable: no endpoint ({} has no {KEY_ADMIN_CONF} server, the TenantControlPlane no status.controlPlaneEndpoint); not checked",
                names::secret_name(check.tcp, names::ADMIN_KUBECONFIG)
            );
            let location = Location { namespace: Some(check.namespace.to_owned()), entry: Some("served".into()), ..Default::default() };
            return col.push_served(name, location, None, ChainVerdict::NotChecked, served, Some(why));
        }
        Dialled::Failed { target, .. } | Dialled::Chain { target, .. } => target,
    };
    let location = Location {
        namespace: Some(check.namespace.to_owned()),
        path: Some(target.url.clone()),
        entry: Some("served".into()),
        ..Default::default()
    };
    let served =
        Served { endpoint: Some(target.url.clone()), endpoint_from: Some(target.from), verdict: ServedVerdict::Unreachable, secret_sha256 };
    match dialled {
        Dialled::Chain { chain, .. } => {
            let roots = check.ca.as_ref().map(Vec::as_slice).map_err(Clone::clone);
            let host = target.host();
            let expected = served::Expected { secret_name: &secret_name, secret_leaf, roots, host: &host, now: col.now };
            let j = served::judge(chain, &expected);
            let served = Served { verdict: j.verdict, ..served };
            col.push_served(name, location, chain.first().map(|c| c.as_ref()), j.chain, served, j.message);
        }
        Dialled::Failed { reason, .. } => {
            let why = format!("unreachable: {reason}; not checked");
            col.push_served(name, location, None, ChainVerdict::NotChecked, served, Some(why));
        }
        Dialled::NoEndpoint => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::ca;

    #[tokio::test]
    async fn no_endpoint_and_a_closed_port_are_unreachable_rows() {
        let root = ca("kubernetes");
        let ca_ok: Expected = Ok(vec![root.der.clone()]);
        let mut rows = Vec::new();
        let mut col = Collector::new(jiff::Timestamp::now(), jiff::SignedDuration::ZERO, &mut rows);
        let check =
            Check { namespace: "ns", tcp: "k8s", control_plane_endpoint: None, ca: &ca_ok, timeout: Duration::from_secs(3), dial: None };
        collect(&mut col, &check, &Seen::default()).await;
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let endpoint = format!("127.0.0.1:{port}");
        let check = Check { control_plane_endpoint: Some(&endpoint), ..check };
        collect(&mut col, &check, &Seen::default()).await;
        assert_eq!(col.finish().outcome, crate::error::Outcome::Ok);
        for row in &rows {
            assert_eq!((row.name.as_str(), row.status.as_str(), row.chain.word()), ("ns/k8s:served", "unreachable", "-"));
            assert!(row.message.as_deref().unwrap().starts_with("unreachable: "), "{:?}", row.message);
        }
        assert!(rows[0].message.as_deref().unwrap().contains("no endpoint"));
        let served = rows[1].served.as_ref().unwrap();
        assert_eq!(served.endpoint.as_deref(), Some(format!("https://{endpoint}").as_str()));
        assert_eq!(served.endpoint_from, Some(served::EndpointFrom::ControlPlaneEndpoint));
    }
}
