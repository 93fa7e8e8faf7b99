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

use k8s_openapi::api::core::v1::Secret;

use crate::certs::chain::ChainVerdict;
use crate::certs::info::CertInfo;
use crate::certs::parse::certificates_in;
use crate::kamaji::names;
use crate::status::item::Location;
use crate::status::row::Collector;
use crate::status::served::{self, Served, ServedVerdict};

use super::server::served_chain;
use super::tenant::Expected;

const KEY_ADMIN_CONF: &str = "admin.conf";
const KEY_APISERVER_CRT: &str = "apiserver.crt";

/// What the tenant's secrets say, noted while they are listed.
#[derive(Debug, Default)]
pub struct Seen {
    admin_conf: Option<Vec<u8>>,
    /// The first certificate of `apiserver.crt`, or why there is none.
    apiserver_leaf: Option<Result<Vec<u8>, String>>,
}

impl Seen {
    /// Keeps `admin.conf` and the `apiserver.crt` leaf; other secrets are ignored.
    pub fn note(&mut self, suffix: Option<&str>, secret: &Secret) {
        let value = |key: &str| secret.data.as_ref().and_then(|d| d.get(key)).map(|v| v.0.clone());
        match suffix {
            Some(names::ADMIN_KUBECONFIG) => self.admin_conf = value(KEY_ADMIN_CONF),
            Some(names::API_SERVER) => {
                let leaf = match value(KEY_APISERVER_CRT) {
                    None => Err(format!("no {KEY_APISERVER_CRT}")),
                    Some(pem) => match certificates_in(&pem) {
                        Ok(certs) => certs
                            .into_iter()
                            .next()
                            .map(|c| c.as_ref().to_vec())
                            .ok_or_else(|| format!("{KEY_APISERVER_CRT} holds no certificate")),
                        Err(e) => Err(format!("{KEY_APISERVER_CRT}: {e}")),
                    },
                };
                self.apiserver_leaf = Some(leaf);
            }
            _ => {}
        }
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
}

/// Dials the tenant API and pushes its row.
pub async fn collect(col: &mut Collector<'_>, check: &Check<'_>, seen: &Seen) {
    let name = format!("{}/{}:served", check.namespace, check.tcp);
    let secret_name = names::secret_name(check.tcp, names::API_SERVER);
    let secret_leaf: Result<&[u8], String> = match &seen.apiserver_leaf {
        Some(Ok(der)) => Ok(der),
        Some(Err(why)) => Err(why.clone()),
        None => Err("not found".into()),
    };
    let secret_sha256 = secret_leaf.as_ref().ok().and_then(|d| CertInfo::from_der(d).ok()).map(|i| i.sha256);
    let Some(target) = served::target(seen.admin_conf.as_deref(), check.control_plane_endpoint) else {
        let served = Served { endpoint: None, endpoint_from: None, verdict: ServedVerdict::Unreachable, secret_sha256 };
        let why = format!(
            "unreachable: no endpoint ({} has no {KEY_ADMIN_CONF} server, the TenantControlPlane no status.controlPlaneEndpoint); not checked",
            names::secret_name(check.tcp, names::ADMIN_KUBECONFIG)
        );
        let location = Location { namespace: Some(check.namespace.to_owned()), entry: Some("served".into()), ..Default::default() };
        return col.push_served(name, location, None, ChainVerdict::NotChecked, served, Some(why));
    };
    let location = Location {
        namespace: Some(check.namespace.to_owned()),
        path: Some(target.url.clone()),
        entry: Some("served".into()),
        ..Default::default()
    };
    let served =
        Served { endpoint: Some(target.url.clone()), endpoint_from: Some(target.from), verdict: ServedVerdict::Unreachable, secret_sha256 };
    tracing::debug!(url = %target.url, "dialling the tenant API");
    match served_chain(&target.url, target.tls_server_name.as_deref(), check.timeout).await {
        Err(reason) => {
            let why = format!("unreachable: {reason}; not checked");
            col.push_served(name, location, None, ChainVerdict::NotChecked, served, Some(why));
        }
        Ok(chain) => {
            let roots = check.ca.as_ref().map(Vec::as_slice).map_err(Clone::clone);
            let host = target.host();
            let expected = served::Expected { secret_name: &secret_name, secret_leaf, roots, host: &host, now: col.now };
            let j = served::judge(&chain, &expected);
            let served = Served { verdict: j.verdict, ..served };
            col.push_served(name, location, chain.first().map(|c| c.as_ref()), j.chain, served, j.message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kubectl_pki_testkit::{ca, leaf_signed_by};

    fn secret(data: &[(&str, &str)]) -> Secret {
        Secret { data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()), ..Secret::default() }
    }

    #[test]
    fn notes_the_admin_kubeconfig_and_the_apiserver_leaf_only() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("kube-apiserver", &root);
        let mut seen = Seen::default();
        seen.note(Some(names::API_SERVER), &secret(&[("apiserver.crt", &format!("{}{}", leaf.pem, root.pem)), ("apiserver.key", "k")]));
        seen.note(Some(names::ADMIN_KUBECONFIG), &secret(&[("admin.conf", "conf"), ("super-admin.svc", "other")]));
        seen.note(Some(names::CA), &secret(&[("admin.conf", "not this one")]));
        assert_eq!(seen.apiserver_leaf, Some(Ok(leaf.der.clone())));
        assert_eq!(seen.admin_conf.as_deref(), Some(&b"conf"[..]));
        seen.note(Some(names::API_SERVER), &secret(&[("tls.crt", &leaf.pem)]));
        assert_eq!(seen.apiserver_leaf, Some(Err("no apiserver.crt".into())));
    }

    #[tokio::test]
    async fn no_endpoint_and_a_closed_port_are_unreachable_rows() {
        let root = ca("kubernetes");
        let ca_ok: Expected = Ok(vec![root.der.clone()]);
        let mut rows = Vec::new();
        let mut col = Collector::new(jiff::Timestamp::now(), jiff::SignedDuration::ZERO, &mut rows);
        let check = Check { namespace: "ns", tcp: "k8s", control_plane_endpoint: None, ca: &ca_ok, timeout: Duration::from_secs(3) };
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
