//! Kamaji's issuance horizon. Kamaji issues tenant certificates through kubeadm's library,
//! which dates every certificate from `StartTimeUTC()`, set once when the controller PROCESS
//! starts: NotAfter = process start + 365 d for leaves and kubeconfig client certificates,
//! whenever they are issued. A controller up for 300 days issues leaves that expire in 65; one
//! up for over a year issues expired ones. Pure: callers list the controller pods.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

/// kubeadm's leaf lifetime, counted from the process start.
pub const LEAF_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 365);

/// Slack for clock skew between this machine and the controller's node.
pub const TOLERANCE: SignedDuration = SignedDuration::from_hours(1);

/// What the Kamaji controller pods would issue now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Horizon {
    /// Controller pods found, not being deleted.
    pub pods: usize,
    /// Their oldest process start (the leader may be any of them: the oldest is the worst case).
    pub started_at: Option<Timestamp>,
    /// `started_at + 365 d`: the NotAfter of every leaf the controller issues now.
    pub issues_until: Option<Timestamp>,
}

impl Horizon {
    /// The horizon of `pods` (the controller's, by `--kamaji-selector`).
    pub fn of_pods(pods: &[Pod]) -> Horizon {
        let live: Vec<&Pod> = pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        let started_at = live.iter().filter_map(|p| started(p)).min();
        Horizon { pods: live.len(), started_at, issues_until: started_at.and_then(|t| t.checked_add(LEAF_LIFETIME).ok()) }
    }

    /// Whether leaves issued now would fall short of a full year from `from` (beyond the
    /// tolerance): the controller must restart before it issues them.
    pub fn is_short_from(&self, from: Timestamp) -> bool {
        self.issues_until.is_some_and(|until| until < full_year_from(from))
    }
}

/// The earliest NotAfter a leaf issued at `from` by a freshly started controller has
/// (whole seconds, as certificates keep them).
pub fn full_year_from(from: Timestamp) -> Timestamp {
    let floor = from.checked_add(LEAF_LIFETIME - TOLERANCE).unwrap_or(from);
    Timestamp::from_second(floor.as_second()).unwrap_or(floor)
}

/// A pod's process start: its first running container's `startedAt`, else the pod's `startTime`.
fn started(pod: &Pod) -> Option<Timestamp> {
    let status = pod.status.as_ref()?;
    let running =
        status.container_statuses.as_ref().and_then(|c| c.iter().find_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref()));
    running.or(status.start_time.as_ref()).map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(started: &str, deleting: bool) -> Pod {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "kamaji-x"},
            "status": {"startTime": "2020-01-01T00:00:00Z", "containerStatuses": [
                {"name": "manager", "image": "k", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": started}}}
            ]}
        }))
        .unwrap();
        if deleting {
            p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(started.parse().unwrap()));
        }
        p
    }

    #[test]
    fn the_oldest_running_container_dates_what_the_controller_issues() {
        let h =
            Horizon::of_pods(&[pod("2026-03-01T00:00:00Z", false), pod("2026-02-01T00:00:00Z", false), pod("2025-01-01T00:00:00Z", true)]);
        assert_eq!(h.pods, 2, "a pod being deleted does not count");
        assert_eq!(h.started_at, Some("2026-02-01T00:00:00Z".parse().unwrap()));
        assert_eq!(h.issues_until, Some("2027-02-01T00:00:00Z".parse().unwrap()));
        assert!(h.is_short_from("2026-12-01T00:00:00Z".parse().unwrap()), "up for 300 days: 62 days left");
        assert!(!h.is_short_from("2026-02-01T00:30:00Z".parse().unwrap()), "within the tolerance");
        assert_eq!(Horizon::of_pods(&[]), Horizon { pods: 0, started_at: None, issues_until: None });
        assert!(!Horizon::of_pods(&[]).is_short_from(Timestamp::now()), "unknown is not short");
    }

    #[test]
    fn without_container_statuses_the_pod_start_counts() {
        let mut p = pod("2026-03-01T00:00:00Z", false);
        p.status.as_mut().unwrap().container_statuses = None;
        assert_eq!(Horizon::of_pods(&[p]).started_at, Some("2020-01-01T00:00:00Z".parse().unwrap()));
    }
}
