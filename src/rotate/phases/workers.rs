//! Phase 7: the worker pods, replaced (new UID, or every container
//! restarted after the rotation began) and Ready; deleted first with
//! `--restart-workers`. No clap types; no printing except through the
//! phase line; the pod judge is [`crate::pods`].

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};

use super::{Run, delete_pod};
use crate::error::{Error, Result};
use crate::pods::{self, PodRow, Verdict};
use crate::rotate::state::{Phase, RunState};
use crate::steps::PhaseLine;
use crate::steps::{Outcome, Skip};
use crate::wait::Poll;

pub async fn run(run: &mut Run<'_>, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    let opts = &run.s.opts;
    let api: Api<Pod> = Api::namespaced(run.client.clone(), &run.plan.namespace);
    let params = ListParams::default().labels(&opts.worker_selector);
    let original: BTreeSet<String> = state.worker_uids.iter().cloned().collect();
    if original.is_empty() {
        run.record(state, Phase::Workers).await?;
        return Ok(Outcome::Skipped(Skip::NoWorkers { selector: opts.worker_selector.clone() }));
    }
    if opts.restart_workers {
        for p in api.list(&params).await.map_err(Error::kube)?.items {
            let (Some(name), Some(uid)) = (p.metadata.name.clone(), p.metadata.uid.clone()) else { continue };
            if original.contains(&uid)
                && p.metadata.deletion_timestamp.is_none()
                && pods::judge(&p, state.started_at).verdict != Verdict::Restarted
            {
                delete_pod(run.lock, &api, &name, &uid).await?;
                line.update(&format!("deleted worker pod {name}"));
                run.report.workers_deleted.push(name);
            }
        }
    }
    let since = state.started_at;
    let want = original.len();
    let hint =
        if opts.restart_workers { "" } else { " (nothing replaces them on its own on Cozystack v1.x: re-run with --restart-workers)" };
    let what = format!("the worker pods ({}) to be replaced and Ready{hint}", opts.worker_selector);
    let rows = run
        .wait(&what, Duration::from_secs(2), line, || {
            let (api, params, original) = (api.clone(), params.clone(), original.clone());
            async move {
                let pods = api.list(&params).await.map_err(Error::kube)?.items;
                let rows: Vec<PodRow> = pods.iter().map(|p| worker_row(p, since, &original)).collect();
                let ok = rows.len() >= want && pods::all_restarted(&rows);
                Ok(match (ok, rows.len() < want) {
                    (true, _) => Poll::Done(rows),
                    (false, true) => {
                        Poll::Waiting(format!("{} of {want} worker pod(s) exist; {}", rows.len(), pods::pending_summary(&rows)))
                    }
                    (false, false) => Poll::Waiting(pods::pending_summary(&rows)),
                })
            }
        })
        .await?;
    let n = rows.len();
    run.report.workers = rows;
    run.record(state, Phase::Workers).await?;
    Ok(Outcome::Done(format!("{n} worker pod(s) replaced and Ready")))
}

/// A worker's verdict: a new UID is a replacement whatever the clocks say;
/// an original pod counts only when all its containers restarted.
fn worker_row(pod: &Pod, since: Timestamp, original: &BTreeSet<String>) -> PodRow {
    let mut row = pods::judge(pod, since);
    let is_original = original.contains(&row.uid);
    if row.verdict == Verdict::Terminating {
        return row;
    }
    if !is_original && row.verdict == Verdict::NotRestarted {
        row.verdict = if row.ready { Verdict::Restarted } else { Verdict::NotReady };
        row.detail = "replacement (new UID)".into();
    } else if is_original && row.created.is_some_and(|c| c >= since) {
        // Judged by its creation time (clock skew): the same UID is not a replacement.
        row.verdict = Verdict::NotRestarted;
        row.detail = "not replaced yet (same UID)".into();
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(uid: &str, created: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("w-{uid}"), "uid": uid, "creationTimestamp": created},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
        }))
        .unwrap()
    }

    #[test]
    fn workers_are_judged_by_uid_not_by_clocks() {
        let since: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let original: BTreeSet<String> = ["old".to_string()].into();
        // A replacement whose creation time looks older (clock skew) still counts.
        let r = worker_row(&pod("new", "2026-11-27T09:59:00Z", true), since, &original);
        assert_eq!(r.verdict, Verdict::Restarted);
        assert_eq!(worker_row(&pod("new", "2026-11-27T09:59:00Z", false), since, &original).verdict, Verdict::NotReady);
        // An original pod never counts by its creation time.
        let r = worker_row(&pod("old", "2026-11-27T10:01:00Z", true), since, &original);
        assert_eq!(r.verdict, Verdict::NotRestarted);
        assert_eq!(worker_row(&pod("old", "2026-11-27T09:00:00Z", true), since, &original).verdict, Verdict::NotRestarted);
    }
}
