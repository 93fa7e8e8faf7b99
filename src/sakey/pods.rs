//! Replacing the tenant control-plane pods one at a time. A running kube-apiserver reads its
//! key files only when it starts, and Kamaji owns the tenant Deployment: it rewrites the pod
//! template, so a `kubectl rollout restart` annotation is gone seconds later. Deleting one pod
//! (with a UID precondition, while the Lease is held) and waiting until its replacement is
//! Ready and the Deployment has all its replicas Ready again, before the next, keeps the tenant
//! API up when it has more than one replica. No clap types; progress goes to `on_wait`.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::wait::{self, Poll};

/// The label selector of a Deployment's pods (`matchLabels`).
pub fn selector(d: &Deployment) -> Option<String> {
    let labels = d.spec.selector.match_labels.as_ref().filter(|l| !l.is_empty())?;
    Some(labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

/// The live pods of `selector` (not being deleted), by name, with their UIDs.
pub async fn live(api: &Api<Pod>, selector: &str) -> Result<Vec<(String, String)>> {
    let pods = api.list(&ListParams::default().labels(selector)).await.map_err(Error::kube)?;
    let mut out: Vec<(String, String)> = pods
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| Some((p.metadata.name?, p.metadata.uid?)))
        .collect();
    out.sort();
    Ok(out)
}

/// Replaces every pod of `selector` in `namespace`, one at a time; each replacement waits up
/// to `timeout`. Returns the pods deleted and the time waited.
pub async fn replace_one_by_one(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    replicas: usize,
    lock: &Lock,
    timeout: Duration,
    mut on_wait: impl FnMut(&str),
) -> Result<(Vec<String>, Duration)> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let before = live(&api, selector).await?;
    let old: BTreeSet<String> = before.iter().map(|(_, uid)| uid.clone()).collect();
    let want = replicas.max(1);
    let mut deleted = Vec::new();
    let mut waited = Duration::ZERO;
    for (i, (name, uid)) in before.iter().enumerate() {
        crate::kamaji::restart::delete_pod(lock, &api, name, uid).await?;
        on_wait(&format!("deleted pod {name} ({}/{})", i + 1, before.len()));
        deleted.push(name.clone());
        let what = format!("a Ready replacement of pod {name} ({selector} in {namespace})");
        let held = lock.held();
        let gone: BTreeSet<String> = before[..=i].iter().map(|(_, u)| u.clone()).collect();
        let ((), took) = wait::poll_timed(&what, timeout, Duration::from_secs(1), &mut on_wait, || {
            let (api, held, old, gone) = (api.clone(), held.clone(), old.clone(), gone.clone());
            async move {
                held.check()?;
                let pods = api.list(&ListParams::default().labels(selector)).await.map_err(Error::kube)?.items;
                let uid = |p: &Pod| p.metadata.uid.clone().unwrap_or_default();
                let deleted_left = pods.iter().filter(|p| gone.contains(&uid(p))).count();
                let ready = pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none() && crate::pods::is_ready(p)).count();
                let new_ready = pods
                    .iter()
                    .filter(|p| !old.contains(&uid(p)) && p.metadata.deletion_timestamp.is_none() && crate::pods::is_ready(p))
                    .count();
                Ok(if deleted_left == 0 && ready >= want && new_ready >= gone.len() {
                    Poll::Done(())
                } else {
                    Poll::Waiting(format!("{new_ready}/{} new pod(s) Ready, {ready}/{want} Ready in all", gone.len()))
                })
            }
        })
        .await?;
        waited += took;
    }
    Ok((deleted, waited))
}
