//! What a step did: done (with the detail its line and the report show) or skipped, and
//! why, as a type (a resumed run, a selector that matched nothing) rather than a string.

use std::fmt;

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the detail the step's line and the report show.
    Done(String),
    /// Nothing to do, and why.
    Skipped(Skip),
}

/// Why a step had nothing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The interrupted run got through this step.
    DoneBefore,
    /// The interrupted run wrote the change and the cluster holds it.
    WrittenBefore,
    /// The change is in the cluster already (a resumed rotate-sa-key): no token to mint
    /// before it; the tenant API's JWKS is checked instead.
    ChangeInCluster,
    /// No Kamaji controller pods to restart.
    NoKamajiPods { selector: String, namespace: String },
    /// No workload consumes a changed secret.
    NoWorkloads,
    /// No worker pods when the rotation began.
    NoWorkers { selector: String },
    /// The live check could not be made (no endpoint, not reachable from here).
    NotChecked(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::DoneBefore => f.write_str("done by the interrupted run"),
            Skip::WrittenBefore => f.write_str("written by the interrupted run (the cluster holds it)"),
            Skip::ChangeInCluster => {
                f.write_str("the change is in the cluster already (a resumed run): the tenant API's JWKS is checked instead")
            }
            Skip::NoKamajiPods { selector, namespace } => write!(f, "no pods match {selector} in {namespace}"),
            Skip::NoWorkloads => f.write_str("no workload uses the tenant's changed secrets"),
            Skip::NoWorkers { selector } => write!(f, "no worker pods matched {selector} when the rotation began"),
            Skip::NotChecked(reason) => f.write_str(reason),
        }
    }
}

/// The outcome in one line: the detail, or `skipped: <why>` (how a run that joined another
/// tenant's Kamaji restart quotes it).
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done(detail) => f.write_str(detail),
            Outcome::Skipped(why) => write!(f, "skipped: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_read_as_the_step_lines_and_reports_show_them() {
        let kamaji = Skip::NoKamajiPods { selector: "app=kamaji".into(), namespace: "cozy-kamaji".into() };
        assert_eq!(kamaji.to_string(), "no pods match app=kamaji in cozy-kamaji");
        assert_eq!(Skip::DoneBefore.to_string(), "done by the interrupted run");
        assert_eq!(
            Skip::NoWorkers { selector: "role=worker".into() }.to_string(),
            "no worker pods matched role=worker when the rotation began"
        );
        // A run that joined another tenant's restart quotes its outcome.
        assert_eq!(Outcome::Skipped(kamaji).to_string(), "skipped: no pods match app=kamaji in cozy-kamaji");
        assert_eq!(Outcome::Done("1 pod(s) replaced and Ready".into()).to_string(), "1 pod(s) replaced and Ready");
    }
}
