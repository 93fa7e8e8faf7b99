//! The restart judge: did a pod restart after a point in time, and is it
//! Ready? Pure (no API calls), shared by `restarts` and `rotate-ca` (the
//! Kamaji controller and the tenant's workers). A pod counts as restarted
//! when it was created after `since` (a replacement, new UID) or when
//! every one of its containers was (re)started after it.
//! No API calls, no clap types, no printing: a command lists the pods and renders the rows.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

/// A pod is Ready when its `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Newer than `--since` and Ready.
    Restarted,
    /// Older than `--since`, containers not restarted since.
    NotRestarted,
    /// Newer than `--since`, not Ready (yet).
    NotReady,
    /// Being deleted: an old pod on its way out, its replacement not counted yet.
    Terminating,
}

impl Verdict {
    /// `restarted`, `not-restarted`, `not-ready`, `terminating`: serde's name.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

/// One pod and its verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub created: Option<Timestamp>,
    pub ready: bool,
    pub restarts: i32,
    pub verdict: Verdict,
    pub detail: String,
}

/// The verdict of one pod relative to `since`. Kubernetes keeps whole
/// seconds: a time of exactly `since` counts as after it (the real instant
/// is not earlier), one in the same second as a fractional `since` does not.
pub fn judge(pod: &Pod, since: Timestamp) -> PodRow {
    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let ready = is_ready(pod);
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    let restarts = statuses.iter().map(|c| c.restart_count).sum();
    let started: Vec<Option<Timestamp>> = statuses
        .iter()
        .map(|c| c.state.as_ref().and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.as_ref()).map(|t| t.0))
        .collect();
    let containers_restarted = restarts > 0 && !started.is_empty() && started.iter().all(|s| s.is_some_and(|t| t >= since));
    let (verdict, detail) = if pod.metadata.deletion_timestamp.is_some() {
        (Verdict::Terminating, "being deleted".to_string())
    } else if created.is_some_and(|c| c >= since) || containers_restarted {
        let how = if created.is_some_and(|c| c >= since) { "created after --since" } else { "containers restarted after --since" };
        if ready { (Verdict::Restarted, how.to_string()) } else { (Verdict::NotReady, format!("{how}, not Ready")) }
    } else {
        let when = created.map_or_else(|| "at an unknown time".into(), |c| format!("at {c}"));
        (Verdict::NotRestarted, format!("created {when}, before --since"))
    };
    PodRow {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        created,
        ready,
        restarts,
        verdict,
        detail,
    }
}

/// All good: at least one pod and every one restarted.
pub fn all_restarted(rows: &[PodRow]) -> bool {
    !rows.is_empty() && rows.iter().all(|r| r.verdict == Verdict::Restarted)
}

/// A one-line summary of what is still pending, for progress and timeouts.
pub fn pending_summary(rows: &[PodRow]) -> String {
    if rows.is_empty() {
        return "no pods match".into();
    }
    let pending: Vec<String> =
        rows.iter().filter(|r| r.verdict != Verdict::Restarted).map(|r| format!("{} {}", r.name, r.verdict.word())).collect();
    if pending.is_empty() {
        format!("{} pod(s) restarted", rows.len())
    } else {
        format!("{} of {} pod(s) pending: {}", pending.len(), rows.len(), pending.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verdict_words_are_serdes_names() {
        let words = [Verdict::Restarted, Verdict::NotRestarted, Verdict::NotReady, Verdict::Terminating].map(Verdict::word);
        assert_eq!(words, ["restarted", "not-restarted", "not-ready", "terminating"]);
    }

    const SINCE: &str = "2026-11-27T10:00:00Z";

    fn pod(created: &str, ready: bool, containers: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "creationTimestamp": created},
            "status": {
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": containers
            }
        }))
        .unwrap()
    }

    fn running(started: &str, restarts: i32) -> serde_json::Value {
        json!({"name": "c", "image": "x", "imageID": "", "ready": true, "restartCount": restarts, "state": {"running": {"startedAt": started}}})
    }

    fn since() -> Timestamp {
        SINCE.parse().unwrap()
    }

    #[test]
    fn a_new_ready_pod_is_restarted() {
        let r = judge(&pod("2026-11-27T10:05:00Z", true, json!([running("2026-11-27T10:05:01Z", 0)])), since());
        assert_eq!(r.verdict, Verdict::Restarted);
        assert!(r.detail.contains("created after"));
    }

    #[test]
    fn the_same_second_counts_only_when_since_is_a_whole_second() {
        // Created in the second of --since: its real instant is not before it.
        assert_eq!(judge(&pod(SINCE, true, json!([])), since()).verdict, Verdict::Restarted);
        // A fractional --since in the same second: it may be before, so it does not count.
        let fractional: Timestamp = "2026-11-27T10:00:00.5Z".parse().unwrap();
        assert_eq!(judge(&pod(SINCE, true, json!([])), fractional).verdict, Verdict::NotRestarted);
    }

    #[test]
    fn a_new_pod_that_is_not_ready() {
        let r = judge(&pod("2026-11-27T10:05:00Z", false, json!([])), since());
        assert_eq!(r.verdict, Verdict::NotReady);
    }

    #[test]
    fn an_old_pod_counts_only_if_every_container_restarted_after() {
        let old = "2026-11-27T09:00:00Z";
        let none = judge(&pod(old, true, json!([running("2026-11-27T09:00:01Z", 0)])), since());
        assert_eq!(none.verdict, Verdict::NotRestarted);
        let all = judge(&pod(old, true, json!([running("2026-11-27T10:01:00Z", 1)])), since());
        assert_eq!(all.verdict, Verdict::Restarted);
        assert!(all.detail.contains("containers restarted"));
        let one_of_two = judge(
            &pod(
                old,
                true,
                json!([running("2026-11-27T10:01:00Z", 1), {"name": "d", "image": "x", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-11-27T09:00:01Z"}}}]),
            ),
            since(),
        );
        assert_eq!(one_of_two.verdict, Verdict::NotRestarted);
        let restarted_not_ready = judge(&pod(old, false, json!([running("2026-11-27T10:01:00Z", 2)])), since());
        assert_eq!(restarted_not_ready.verdict, Verdict::NotReady);
    }

    #[test]
    fn terminating_pods_are_pending() {
        let mut p = pod("2026-11-27T10:05:00Z", true, json!([]));
        p.metadata.deletion_timestamp = p.metadata.creation_timestamp.clone();
        let r = judge(&p, since());
        assert_eq!(r.verdict, Verdict::Terminating);
        assert!(!all_restarted(&[r]));
    }

    #[test]
    fn empty_is_not_all_restarted() {
        assert!(!all_restarted(&[]));
        assert_eq!(pending_summary(&[]), "no pods match");
    }
}
