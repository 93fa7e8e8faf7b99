//! Which TenantControlPlane a name given on the command line means: the
//! name itself, else Cozystack's `kubernetes-<cluster>`. Every command that
//! takes a tenant resolves it here, so `demo` works wherever
//! `kubernetes-demo` does.

use super::names;
use crate::error::{Error, Result};

/// A TenantControlPlane found by [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    /// `.status.kubernetesResources.version.status`.
    pub status: Option<String>,
    /// Tells a tenant from a later one of the same name.
    pub uid: Option<String>,
}

/// The TenantControlPlane named `name`, else `kubernetes-<name>` (a
/// Cozystack cluster name), with its status.
pub async fn resolve(client: &kube::Client, namespace: &str, name: &str) -> Result<Resolved> {
    let api = super::tcp::api(client.clone(), namespace);
    let candidates =
        if name.starts_with("kubernetes-") { vec![name.to_string()] } else { vec![name.to_string(), format!("kubernetes-{name}")] };
    for candidate in &candidates {
        match api.get_opt(candidate).await {
            Ok(Some(obj)) => {
                if candidate != name {
                    eprintln!("note: no TenantControlPlane {name}; using {candidate} (Cozystack's name for cluster {name})");
                }
                return Ok(Resolved { name: candidate.clone(), status: super::tcp::status(&obj), uid: obj.metadata.uid.clone() });
            }
            Ok(None) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Err(Error::NotFound {
                    what: "TenantControlPlane resource type",
                    name: format!("{} (is Kamaji installed?): {}", names::PLURAL, s.message),
                });
            }
            Err(e) => return Err(Error::kube(e)),
        }
    }
    Err(Error::NotFound { what: "TenantControlPlane", name: format!("{namespace}/{}", candidates.join(" or ")) })
}
