//! Phase 4: a restart of the Kamaji controller that began after this run's
//! change: its own, or one a parallel run began later
//! ([`KamajiRestarts`](crate::rotate::kamaji_restart::KamajiRestarts)).
//! No clap types; no printing except through the phase line.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};

use super::{Outcome, Run, Skip, delete_pod};
use crate::error::{Error, Result};
use crate::pods;
use crate::rotate::kamaji_restart::Restart;
use crate::rotate::progress::PhaseLine;
use crate::rotate::state::{Phase, RunState};
use crate::wait::Poll;

pub async fn run(run: &mut Run<'_>, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    if run.already_done(Phase::Kamaji) {
        return Ok(Outcome::Skipped(Skip::DoneBefore));
    }
    let changed_at = run.rotated_at.unwrap_or_else(tokio::time::Instant::now);
    let tenant = format!("{}/{}", run.plan.namespace, run.plan.tenant);
    let others = run.s.kamaji.changing();
    if others > 0 {
        line.update(&format!("waiting for {others} other tenant(s) of this run to finish rotating: one Kamaji restart serves all"));
    }
    let shared = run.s.kamaji.clone();
    let restart = shared.after(changed_at, &tenant, || restart_kamaji(run, line)).await?;
    run.record(state, Phase::Kamaji).await?;
    Ok(match restart {
        Restart::Performed(outcome) => outcome,
        Restart::Joined { by, detail } => {
            run.report.kamaji_restart_joined = Some(by.clone());
            Outcome::Done(format!("shared the restart done for {by}: {detail}"))
        }
    })
}

/// Deletes the controller pods; waits for new ones (new UIDs) Ready.
async fn restart_kamaji(run: &mut Run<'_>, line: &mut PhaseLine) -> Result<Outcome> {
    let opts = &run.s.opts;
    let api: Api<Pod> = Api::namespaced(run.client.clone(), &opts.kamaji_namespace);
    let params = ListParams::default().labels(&opts.kamaji_selector);
    let pods: Vec<Pod> =
        api.list(&params).await.map_err(Error::kube)?.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
    if pods.is_empty() {
        return Ok(Outcome::Skipped(Skip::NoKamajiPods {
            selector: opts.kamaji_selector.clone(),
            namespace: opts.kamaji_namespace.clone(),
        }));
    }
    let mut old = BTreeSet::new();
    for p in &pods {
        let (Some(name), Some(uid)) = (p.metadata.name.clone(), p.metadata.uid.clone()) else { continue };
        delete_pod(run.lock, &api, &name, &uid).await?;
        line.update(&format!("deleted pod {name}"));
        run.report.kamaji_pods_deleted.push(name);
        old.insert(uid);
    }
    let want = old.len();
    let what = format!("the Kamaji controller pods ({} in {}) to come back Ready", opts.kamaji_selector, opts.kamaji_namespace);
    run.wait(&what, Duration::from_secs(1), line, || {
        let (api, params, old) = (api.clone(), params.clone(), old.clone());
        async move {
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
    Ok(Outcome::Done(format!("{want} pod(s) replaced and Ready")))
}
