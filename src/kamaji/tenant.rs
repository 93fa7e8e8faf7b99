//! Which TenantControlPlane a name given on the command line means: the
//! name itself, else Cozystack's `kubernetes-<cluster>`. Every command that
//! takes a tenant resolves it here, so `demo` works wherever
//! `kubernetes-demo` does.

use super::names;
use crate::error::{Error, Result};

/// The TenantControlPlane named `name`, else `kubernetes-<name>` (a
/// Cozystack cluster name), with its status.
pub async fn resolve(client: &kube::Client, namespace: &str, name: &str) -> Result<(String, Option<String>)> {
    let api = super::tcp::api(client.clone(), namespace);
    let candidates =
        if name.starts_with("kubernetes-") { vec![name.to_string()] } else { vec![name.to_string(), format!("kubernetes-{name}")] };
    for candidate in &candidates {
        match api.get_opt(candidate).await {
            Ok(Some(obj)) => {
                if candidate != name {
                    eprintln!("note: no TenantControlPlane {name}; using {candidate} (Cozystack's name for cluster {name})");
                }
                return Ok((candidate.clone(), super::tcp::status(&obj)));
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
