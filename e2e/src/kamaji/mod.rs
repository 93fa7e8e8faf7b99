//! A test stand-in for the Kamaji operator: the `TenantControlPlane` CRD and a small
//! kube-runtime controller that keeps a tenant's secrets the way Kamaji does (names, data
//! keys, labels, owner references, in-place CA rotation on `certs.kamaji.clastix.io/rotate=""`).
//! It is a fixture for testing kubectl-pki against a real API server, not a Kamaji clone:
//! no tenant control plane runs, and keys are ECDSA P-256 instead of RSA (see `pki`).

mod controller;
mod crd;
mod dating;
pub mod names;
pub mod pki;
mod secrets;
mod wait;

pub use controller::{Standin, StandinTask};
pub use crd::{CRD_NAME, GROUP, KIND, PLURAL, VERSION, api_resource, definition, install_crd};
pub use dating::{age_controller_pods, process_start};
pub use names::secret_name;
pub use wait::{phase, wait_ready};

use std::time::Duration;

/// How the stand-in behaves; `Default` is a current Kamaji watching every namespace.
#[derive(Clone, Debug)]
pub struct StandinOptions {
    /// Watch only this namespace (lets tests run their own stand-ins side by side).
    pub namespace: Option<String>,
    /// Kamaji edge-25.7.3 and later honour `certs.kamaji.clastix.io/rotate=""`; older ones ignore it.
    pub supports_rotate_annotation: bool,
    /// The Kamaji version this stand-in plays (logged; the tool reads it from the controller image).
    pub version: String,
    /// Pause between writing a new CA and re-issuing the leaves, so tests can observe (or
    /// interrupt) the `CertificateAuthorityRotating` state that is too brief to see on Kamaji.
    pub rotation_delay: Duration,
    /// Put Kamaji's finalizers on the TCP and `-datastore-config` (deletions then need the stand-in running).
    pub finalizers: bool,
    /// The Kamaji controller pods (namespace, label selector) whose process this stand-in
    /// plays: kubeadm-issued certificates are dated from their oldest container start, as
    /// Kamaji dates them from its process start (see `pki::Dating`). `None`: from now.
    pub controller_pods: Option<(String, String)>,
    /// Make a TCP's Deployment when it has none, as Kamaji does (tests seed their own; the
    /// `kamaji-standin --operator` process plays an operator that nobody seeds for).
    pub makes_deployments: bool,
}

impl Default for StandinOptions {
    fn default() -> Self {
        StandinOptions::for_version("26.3.5-edge")
    }
}

impl StandinOptions {
    /// Options for a Kamaji version tag (`edge-25.4.1`, `26.3.5-edge`): the rotate annotation
    /// exists from `edge-25.7.3` on.
    pub fn for_version(version: &str) -> Self {
        StandinOptions {
            namespace: None,
            supports_rotate_annotation: parse_version(version).is_some_and(|v| v >= (25, 7, 3)),
            version: version.to_string(),
            rotation_delay: Duration::ZERO,
            finalizers: true,
            controller_pods: None,
            makes_deployments: false,
        }
    }

    pub fn in_namespace(mut self, ns: &str) -> Self {
        self.namespace = Some(ns.to_string());
        self
    }

    /// Dates certificates from the start of the controller pods `selector` in `namespace`.
    pub fn playing_pods(mut self, namespace: &str, selector: &str) -> Self {
        self.controller_pods = Some((namespace.to_string(), selector.to_string()));
        self
    }
}

/// `edge-25.4.1` or `26.3.5-edge` → (25, 4, 1) / (26, 3, 5).
pub fn parse_version(tag: &str) -> Option<(u32, u32, u32)> {
    let core = tag.trim_start_matches('v').trim_start_matches("edge-").trim_end_matches("-edge");
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// Where a tenant's API is reached: from the TCP annotation `e2e.kubectl-pki/endpoint`,
/// else `https://127.0.0.1:6443`.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Option<Endpoint> {
        let rest = url.strip_prefix("https://")?.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !h.ends_with(':') => (h, p.parse().ok()?),
            _ => (rest, 443),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Some(Endpoint { url: format!("https://{rest}"), host, port })
    }

    /// `host:port`, as Kamaji writes `.status.controlPlaneEndpoint`.
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint { url: "https://127.0.0.1:6443".into(), host: "127.0.0.1".into(), port: 6443 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_with_and_without_the_rotate_annotation() {
        assert!(!StandinOptions::for_version("edge-25.4.1").supports_rotate_annotation);
        assert!(StandinOptions::for_version("edge-25.7.3").supports_rotate_annotation);
        assert!(StandinOptions::for_version("26.3.5-edge").supports_rotate_annotation);
        assert!(!StandinOptions::for_version("latest").supports_rotate_annotation);
    }

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("https://127.0.0.1:34567").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.host_port().as_str()), ("127.0.0.1", 34567, "127.0.0.1:34567"));
        assert_eq!(Endpoint::parse("https://k8s.example.org").unwrap().port, 443);
        assert_eq!(Endpoint::parse("http://x:1"), None);
    }
}
