//! Whether a `caBundle` verifies the certificate its server really serves:
//! the webhook's `url`, or the ready addresses of the Service it names
//! (EndpointSlices `kubernetes.io/service-name`, the service port resolved
//! to the slice's port). The chain is judged as a TLS client does
//! ([`crate::certs::tls::check`]) with the name the API server dials
//! (`<svc>.<ns>.svc`, or the URL's host).
//!
//! Pod addresses are often not routable from a laptop: then nothing is
//! reachable and the bundle keeps its date verdict ([`Check::NotChecked`]),
//! which is not a failure. In a cluster (the exporter's pod) they are.
//!
//! Reads a Service and its EndpointSlices, dials; never renders, no clap.

use std::time::Duration;

use futures::future::join_all;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use rustls::pki_types::CertificateDer;

use crate::certs::info::CertInfo;
use crate::certs::parse::certificates_in;
use crate::certs::tls;
use crate::context::Ctx;
use crate::served::{self, Endpoint, NoChain};

/// Addresses of one Service dialled at most: a sample of its pods, each
/// within the timeout, so one webhook with many replicas stays quick.
pub const MAX_ADDRESSES: usize = 4;

/// Where the API server sends requests that the bundle must verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `clientConfig.url`.
    Url(String),
    /// `clientConfig.service` / `spec.service`: its port (default 443).
    Service { namespace: String, name: String, port: i32 },
}

impl Target {
    /// The name the API server checks the served leaf against (and sends as SNI).
    pub fn host(&self) -> Result<String, String> {
        match self {
            Target::Url(url) => Endpoint::parse(url).map(|e| e.host),
            Target::Service { namespace, name, .. } => Ok(format!("{name}.{namespace}.svc")),
        }
    }
}

/// What the served check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Every reachable address served a chain the bundle verifies.
    Verified { endpoint: String },
    /// An address served a chain the bundle does not verify.
    Mismatch { endpoint: String, message: String },
    /// Nothing was dialled or nothing answered: why.
    NotChecked(String),
}

/// Dials `target` (bounded by `timeout` per address) and judges what it
/// serves against `bundle` at `now`.
pub async fn check(ctx: &Ctx, target: &Target, bundle: &[u8], timeout: Duration, now: Timestamp) -> Check {
    let roots: Vec<Vec<u8>> = match certificates_in(bundle) {
        Ok(certs) if !certs.is_empty() => certs.iter().map(|c| c.as_ref().to_vec()).collect(),
        _ => return Check::NotChecked("the bundle holds no readable certificate".into()),
    };
    let host = match target.host() {
        Ok(host) => host,
        Err(why) => return Check::NotChecked(why),
    };
    let addresses = match target {
        Target::Url(url) => match Endpoint::parse(url) {
            Ok(e) if e.tls => vec![(e.host, e.port)],
            Ok(_) => return Check::NotChecked(format!("{url} is plain HTTP")),
            Err(why) => return Check::NotChecked(why),
        },
        Target::Service { namespace, name, port } => match addresses(ctx, namespace, name, *port).await {
            Ok(found) => found,
            Err(why) => return Check::NotChecked(why),
        },
    };
    let dialled = join_all(addresses.into_iter().take(MAX_ADDRESSES).map(|(ip, port)| {
        let sni = host.clone();
        async move {
            let endpoint = Endpoint { tls: true, host: ip, port };
            let url = url_of(&endpoint);
            (url, served::handshake(&endpoint, &sni, timeout).await)
        }
    }))
    .await;
    judge(&host, dialled, &roots, now)
}

/// The verdict on what each address served: a mismatch wins, then a
/// verified chain; none answering is not checked.
pub fn judge(
    host: &str,
    dialled: Vec<(String, Result<Vec<CertificateDer<'static>>, NoChain>)>,
    roots: &[Vec<u8>],
    now: Timestamp,
) -> Check {
    let mut verified = None;
    let mut failures = Vec::new();
    for (endpoint, result) in dialled {
        match result {
            Ok(chain) => match tls::check(&chain, roots, host, now) {
                Ok(_) => verified = verified.or(Some(endpoint)),
                Err(refusal) => {
                    let served = chain.first().and_then(|leaf| CertInfo::from_der(leaf).ok()).map_or_else(
                        || "an unreadable certificate".to_string(),
                        |i| format!("subject {}, issuer {}", i.subject_display(), i.issuer_display()),
                    );
                    let message = format!("the bundle does not verify what {endpoint} serves ({served}): {refusal}");
                    return Check::Mismatch { endpoint, message };
                }
            },
            Err(why) => failures.push(format!("{endpoint}: {why}")),
        }
    }
    match verified {
        Some(endpoint) => Check::Verified { endpoint },
        None if failures.is_empty() => Check::NotChecked("no address to dial".into()),
        None => Check::NotChecked(failures.join("; ")),
    }
}

fn url_of(e: &Endpoint) -> String {
    if e.host.contains(':') { format!("https://[{}]:{}", e.host, e.port) } else { format!("https://{}:{}", e.host, e.port) }
}

/// The ready addresses of Service `namespace/name` on the port its
/// `port` forwards to, or why there are none (a refused read included:
/// the check is skipped, not the run).
async fn addresses(ctx: &Ctx, namespace: &str, name: &str, port: i32) -> Result<Vec<(String, u16)>, String> {
    let client = ctx.client().await.map_err(|e| e.to_string())?;
    let svc = match Api::<Service>::namespaced(client.clone(), namespace).get(name).await {
        Ok(svc) => svc,
        Err(e) => return Err(format!("service {namespace}/{name}: {}", ctx.api_error(e).await)),
    };
    let spec = svc.spec.unwrap_or_default();
    if spec.type_.as_deref() == Some("ExternalName") {
        let host = spec.external_name.unwrap_or_default();
        let port = u16::try_from(port).map_err(|_| format!("port {port} out of range"))?;
        return Ok(vec![(host, port)]);
    }
    let Some(svc_port) = spec.ports.unwrap_or_default().into_iter().find(|p| p.port == port) else {
        return Err(format!("service {namespace}/{name} has no port {port}"));
    };
    let slices = Api::<EndpointSlice>::namespaced(client, namespace)
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await;
    let slices = match slices {
        Ok(list) => list.items,
        Err(e) => return Err(format!("endpointslices of {namespace}/{name}: {}", ctx.api_error(e).await)),
    };
    let mut found = Vec::new();
    let mut unresolved = None;
    for slice in &slices {
        let target = match target_port(slice, svc_port.name.as_deref(), svc_port.target_port.as_ref(), port) {
            Ok(p) => p,
            Err(why) => {
                unresolved = Some(why);
                continue;
            }
        };
        let ready = slice.endpoints.iter().flatten().filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false));
        found.extend(ready.flat_map(|e| e.addresses.iter().map(|a| (a.clone(), target))));
    }
    if found.is_empty() {
        return Err(unresolved.unwrap_or_else(|| format!("service {namespace}/{name} has no ready endpoints")));
    }
    Ok(found)
}

/// The port of a slice that serves the service port named `name`: the
/// slice's own port of that name (how a named `targetPort` is resolved),
/// else a numeric `targetPort`, else the service port itself.
fn target_port(slice: &EndpointSlice, name: Option<&str>, target: Option<&IntOrString>, port: i32) -> Result<u16, String> {
    let by_name = slice.ports.iter().flatten().find(|p| p.name.as_deref().unwrap_or_default() == name.unwrap_or_default());
    let number = match (by_name.and_then(|p| p.port), target) {
        (Some(p), _) => p,
        (None, Some(IntOrString::Int(n))) => *n,
        (None, None) => port,
        (None, Some(IntOrString::String(named))) => {
            return Err(format!(
                "the named targetPort {named:?} is not in the EndpointSlice {}",
                slice.metadata.name.as_deref().unwrap_or("")
            ));
        }
    };
    u16::try_from(number).map_err(|_| format!("port {number} out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, leaf_signed_by};

    fn der(c: &kubectl_pki_testkit::TestCert) -> CertificateDer<'static> {
        CertificateDer::from(c.der.clone())
    }

    #[test]
    fn a_chain_the_bundle_verifies_is_verified_and_another_ca_is_mismatch() {
        let (good, other) = (ca("webhook-ca"), ca("other-ca"));
        let leaf = leaf_signed_by("webhook", &good);
        let roots = vec![good.der.clone()];
        let now = Timestamp::now();
        let ok = judge("webhook.example", vec![("https://10.0.0.1:443".into(), Ok(vec![der(&leaf)]))], &roots, now);
        assert_eq!(ok, Check::Verified { endpoint: "https://10.0.0.1:443".into() });
        let stranger = leaf_signed_by("webhook", &other);
        let dialled =
            vec![("https://10.0.0.1:443".into(), Ok(vec![der(&leaf)])), ("https://10.0.0.2:443".into(), Ok(vec![der(&stranger)]))];
        let Check::Mismatch { endpoint, message } = judge("webhook.example", dialled, &roots, now) else { panic!("mismatch expected") };
        assert_eq!(endpoint, "https://10.0.0.2:443");
        assert!(message.contains("serves (subject webhook, issuer other-ca)"), "{message}");
    }

    #[test]
    fn the_host_must_be_a_san_and_nothing_reachable_is_not_checked() {
        let good = ca("webhook-ca");
        let leaf = leaf_signed_by("webhook", &good);
        let roots = vec![good.der.clone()];
        let now = Timestamp::now();
        let wrong = judge("svc.ns.svc", vec![("https://10.0.0.1:443".into(), Ok(vec![der(&leaf)]))], &roots, now);
        assert!(matches!(&wrong, Check::Mismatch { message, .. } if message.contains("not for svc.ns.svc")), "{wrong:?}");
        let refused = vec![("https://10.0.0.1:443".into(), Err(NoChain::Connect("no route to host".into())))];
        assert_eq!(judge("h", refused, &roots, now), Check::NotChecked("https://10.0.0.1:443: no route to host".into()));
    }

    #[test]
    fn a_service_is_dialled_by_its_dns_name() {
        let t = Target::Service { namespace: "ns".into(), name: "hook".into(), port: 443 };
        assert_eq!(t.host().unwrap(), "hook.ns.svc");
        assert_eq!(Target::Url("https://hooks.example:8443/validate".into()).host().unwrap(), "hooks.example");
    }

    #[test]
    fn a_named_target_port_is_the_slices_port_of_that_name() {
        let slice: EndpointSlice = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "hook-abc"}, "addressType": "IPv4", "endpoints": [],
            "ports": [{"name": "https", "port": 8443}]
        }))
        .unwrap();
        assert_eq!(target_port(&slice, Some("https"), Some(&IntOrString::String("web".into())), 443), Ok(8443));
        assert_eq!(target_port(&slice, Some("other"), Some(&IntOrString::Int(9443)), 443), Ok(9443));
        assert!(target_port(&slice, Some("other"), Some(&IntOrString::String("web".into())), 443).unwrap_err().contains("\"web\""));
    }
}
