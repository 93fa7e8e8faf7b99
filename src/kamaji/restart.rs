//! Restarting the Kamaji controller: its pods are deleted (each with a
//! precondition on its UID, while the caller's Lease is held) and new ones
//! (new UIDs) are waited for, Ready. Kamaji dates every certificate from its
//! process start ([`super::horizon`]): `rotate-ca` restarts it before the
//! leaves are re-issued, `renew` before it asks for them.
//! No clap types, no printing: progress goes to the caller's `on_wait`.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Preconditions};

use crate::error::{ApiError, Error, Result};
use crate::lock::Lock;
use crate::pods;
use crate::wait::{self, Poll};

/// What a restart did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restarted {
    /// No controller pod matches the selector: nothing was restarted.
    NoPods,
    /// These pods were deleted and as many new ones are Ready.
    Replaced { pods: Vec<String> },
}

/// Deletes the pods `selector` in `namespace` and waits up to `timeout` for as many
/// new ones Ready (stopping as soon as the Lease is lost). Returns what it did and
/// how long it waited for the controller.
pub async fn restart(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    lock: &Lock,
    timeout: Duration,
    mut on_wait: impl FnMut(&str),
) -> Result<(Restarted, Duration)> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(selector);
    let pods: Vec<Pod> =
        api.list(&params).await.map_err(Error::kube)?.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
    if pods.is_empty() {
        return Ok((Restarted::NoPods, Duration::ZERO));
    }
    let mut old = BTreeSet::new();
    let mut deleted = Vec::new();
    for p in &pods {
        let (Some(name), Some(uid)) = (p.metadata.name.clone(), p.metadata.uid.clone()) else { continue };
        delete_pod(lock, &api, &name, &uid).await?;
        on_wait(&format!("deleted pod {name}"));
        deleted.push(name);
        old.insert(uid);
    }
    let want = old.len();
    let what = format!("the Kamaji controller pods ({selector} in {namespace}) to come back Ready");
    let held = lock.held();
    let ((), took) = wait::poll_timed(&what, timeout, Duration::from_secs(1), on_wait, || {
        let (api, params, old, held) = (api.clone(), params.clone(), old.clone(), held.clone());
        async move {
            held.check()?;
            let pods = api.list(&params).await.map_err(Error::kube)?.items;
            let left = pods.iter().filter(|p| p.metadata.uid.as_ref().is_some_and(|u| old.contains(u))).count();
            let ready = pods
                .iter()
                .filter(|p| {
                    p.metadata.uid.as_ref().is_some_and(|u| !old.contains(u))
                        && p.metadata.deletion_timestamp.is_none()
                        && pods::is_ready(p)
                })
                .count();
            Ok(if ready >= want && left == 0 {
                Poll::Done(())
            } else {
                Poll::Waiting(format!("{ready}/{want} new pod(s) Ready, {left} old pod(s) still present"))
            })
        }
    })
    .await?;
    Ok((Restarted::Replaced { pods: deleted }, took))
}

/// Deletes a pod with a precondition on its UID, while the Lease is held;
/// gone or replaced already is fine.
pub async fn delete_pod(lock: &Lock, api: &Api<Pod>, name: &str, uid: &str) -> Result<()> {
    lock.check()?;
    let dp =
        DeleteParams { preconditions: Some(Preconditions { uid: Some(uid.to_string()), resource_version: None }), ..Default::default() };
    match api.delete(name, &dp).await.map_err(Error::kube) {
        Ok(_) | Err(Error::Api(ApiError { code: 404 | 409, .. })) => Ok(()),
        Err(e) => Err(e),
    }
}
