//! Which tenants a kubectl-pki run is rotating or renewing now: their
//! `pki-rotate-<tcp>` Lease has a holder. Read with one paged list (a
//! namespace's Leases, or every namespace's: node Leases too), keeping only
//! the held `pki-rotate-*` names, so one read serves every tenant and
//! memory does not grow with the nodes.

use std::collections::HashSet;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams};

/// The prefix of the Lease that locks a tenant ([`crate::rotate::inventory::lease_name`]).
const PREFIX: &str = "pki-rotate-";

/// Leases per list request.
const PAGE: u32 = 500;

/// `(namespace, tcp)` of every tenant whose Lease a run holds.
pub async fn held(api: &Api<Lease>) -> Result<HashSet<(String, String)>, kube::Error> {
    let mut held = HashSet::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api.list(&params).await?;
        held.extend(page.items.iter().filter_map(holder_of));
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(held),
        }
    }
}

/// The tenant a held `pki-rotate-<tcp>` Lease locks.
fn holder_of(lease: &Lease) -> Option<(String, String)> {
    let holder = lease.spec.as_ref()?.holder_identity.as_deref()?;
    if holder.is_empty() {
        return None;
    }
    let tcp = lease.metadata.name.as_deref()?.strip_prefix(PREFIX)?;
    Some((lease.metadata.namespace.clone().unwrap_or_default(), tcp.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(ns: &str, name: &str, holder: Option<&str>) -> Lease {
        serde_json::from_value(serde_json::json!({
            "metadata": {"namespace": ns, "name": name},
            "spec": {"holderIdentity": holder},
        }))
        .unwrap()
    }

    #[test]
    fn only_held_tenant_leases_count() {
        assert_eq!(holder_of(&lease("t", "pki-rotate-demo", Some("kubectl-pki@h/1"))), Some(("t".into(), "demo".into())));
        assert_eq!(holder_of(&lease("t", "pki-rotate-demo", Some(""))), None, "released");
        assert_eq!(holder_of(&lease("t", "pki-rotate-demo", None)), None);
        assert_eq!(holder_of(&lease("kube-node-lease", "node-1", Some("node-1"))), None, "a node's Lease");
        assert_eq!(PREFIX, crate::rotate::inventory::lease_name(""));
    }
}
