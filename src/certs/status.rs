//! Classifying a certificate by time: ok, expiring (within the warning
//! window), expired, not yet valid; plus kubeadm-style residual times.
//!
//! No I/O, no clap.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::error::Outcome;

/// Status of one row; the exit code is the worst of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Expiring,
    NotYetValid,
    Expired,
    /// Content that should be a certificate but cannot be read.
    Invalid,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Ok, Status::Expiring, Status::Expired, Status::NotYetValid, Status::Invalid];

    /// The word JSON, YAML and tables print.
    pub fn as_str(self) -> &'static str {
        crate::output::serde_name(&self)
    }

    /// What monitoring gets: 3 for expiring, 4 for anything broken now.
    pub fn outcome(self) -> Outcome {
        match self {
            Status::Ok => Outcome::Ok,
            Status::Expiring => Outcome::Warning,
            Status::NotYetValid | Status::Expired | Status::Invalid => Outcome::Critical,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Validity is inclusive of both ends (RFC 5280 4.1.2.5); a certificate
/// whose remaining time is at most `warn_within` is `expiring`.
pub fn classify(not_before: Timestamp, not_after: Timestamp, now: Timestamp, warn_within: SignedDuration) -> Status {
    if now > not_after {
        Status::Expired
    } else if now < not_before {
        Status::NotYetValid
    } else if not_after.duration_since(now) <= warn_within {
        Status::Expiring
    } else {
        Status::Ok
    }
}

/// Time left, as kubeadm and kubectl print ages: `364d`, `23h`, `2y30d`;
/// `<invalid>` once expired (kubeadm's wording).
pub fn residual(not_after: Timestamp, now: Timestamp) -> String {
    crate::duration::human_duration(not_after.duration_since(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn classification_boundaries() {
        let nb = ts("2026-01-01T00:00:00Z");
        let na = ts("2026-12-31T00:00:00Z");
        let warn = SignedDuration::from_hours(24 * 30);
        assert_eq!(classify(nb, na, ts("2025-12-31T23:59:59Z"), warn), Status::NotYetValid);
        assert_eq!(classify(nb, na, nb, warn), Status::Ok);
        assert_eq!(classify(nb, na, ts("2026-12-01T00:00:00Z"), warn), Status::Expiring, "exactly 30d left");
        assert_eq!(classify(nb, na, ts("2026-11-30T23:59:59Z"), warn), Status::Ok, "30d and 1s left");
        assert_eq!(classify(nb, na, na, warn), Status::Expiring, "the last valid second");
        assert_eq!(classify(nb, na, ts("2026-12-31T00:00:01Z"), warn), Status::Expired);
        assert_eq!(classify(nb, na, ts("2026-12-30T00:00:00Z"), SignedDuration::ZERO), Status::Ok);
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(Status::Ok.outcome(), Outcome::Ok);
        assert_eq!(Status::Expiring.outcome(), Outcome::Warning);
        for s in [Status::Expired, Status::NotYetValid, Status::Invalid] {
            assert_eq!(s.outcome(), Outcome::Critical);
        }
        assert_eq!(serde_json::to_value(Status::NotYetValid).unwrap(), "not-yet-valid");
    }

    #[test]
    fn residual_like_kubeadm() {
        assert_eq!(residual(ts("2026-01-02T00:00:00Z"), ts("2026-01-01T00:00:00Z")), "24h");
    }
}
