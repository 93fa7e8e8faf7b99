//! ownerReferences of restored secrets: one is kept only if that owner
//! (same UID) still exists, since a Secret owned by a deleted object would be
//! garbage-collected right after the restore. No clap types, no printing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DynamicObject, GroupVersionKind};
use kube::discovery::{self, Scope};

use crate::output::clean_cell;

/// Answers per owner, so each is asked once per run.
#[derive(Default)]
pub struct Owners {
    seen: BTreeMap<String, Option<bool>>,
}

impl Owners {
    /// Drops the references to owners that are gone (or cannot be checked)
    /// from `secret`, returning a note for each.
    pub async fn keep_existing(&mut self, client: &kube::Client, namespace: &str, secret: &mut Secret) -> Vec<String> {
        let mut notes = Vec::new();
        let mut kept = Vec::new();
        for r in secret.metadata.owner_references.take().unwrap_or_default() {
            let key = format!("{namespace}/{}/{}/{}", r.kind, r.name, r.uid);
            let exists = match self.seen.get(&key) {
                Some(v) => *v,
                None => {
                    let v = owner_exists(client, namespace, &r).await;
                    self.seen.insert(key, v);
                    v
                }
            };
            let (kind, name, uid) = (clean_cell(&r.kind).into_owned(), clean_cell(&r.name).into_owned(), clean_cell(&r.uid).into_owned());
            match exists {
                Some(true) => kept.push(r),
                Some(false) => notes.push(format!("ownerReference to {kind} {name} dropped: that owner (uid {uid}) no longer exists")),
                None => notes.push(format!("ownerReference to {kind} {name} dropped: could not check that it still exists")),
            }
        }
        secret.metadata.owner_references = (!kept.is_empty()).then_some(kept);
        notes
    }
}

/// Whether the owner still exists with the same UID; `None` if that cannot
/// be told (unknown kind, no permission).
async fn owner_exists(client: &kube::Client, namespace: &str, r: &OwnerReference) -> Option<bool> {
    let (group, version) = match r.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), r.api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &r.kind);
    let (ar, caps) = discovery::pinned_kind(client, &gvk).await.ok()?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => Api::namespaced_with(client.clone(), namespace, &ar),
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    };
    match api.get_opt(&r.name).await {
        Ok(Some(obj)) => Some(obj.metadata.uid.as_deref() == Some(r.uid.as_str())),
        Ok(None) => Some(false),
        Err(_) => None,
    }
}
