//! Classifying a certificate by time: ok, expiring (within the warning
//! window), expired, not yet valid; plus kubeadm-style residual times.

use std::fmt;

use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};
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

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Expiring => "expiring",
            Status::NotYetValid => "not-yet-valid",
            Status::Expired => "expired",
            Status::Invalid => "invalid",
        }
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

/// Parses `--warn-within`: `30d`, `12h`, `2w`, `1d12h`, `90m`, `0s`, or
/// ISO 8601 (`P30D`). Days are 24 hours; months and years are refused
/// because their length varies.
pub fn parse_duration(text: &str) -> Result<SignedDuration, String> {
    let trimmed = text.trim();
    let hint = "expected a duration like 30d, 12h, 2w or 1d12h";
    let span: Span = trimmed.parse().map_err(|_| format!("invalid duration {text:?}: {hint}"))?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(format!("invalid duration {text:?}: months and years vary in length, use days (e.g. 365d)"));
    }
    let d = span.to_duration(SpanRelativeTo::days_are_24_hours()).map_err(|e| format!("invalid duration {text:?}: {e}"))?;
    if d.is_negative() {
        return Err(format!("invalid duration {text:?}: must not be negative"));
    }
    Ok(d)
}

/// Time left, as kubeadm and kubectl print ages: `364d`, `23h`, `2y30d`;
/// `<invalid>` once expired (kubeadm's wording).
pub fn residual(not_after: Timestamp, now: Timestamp) -> String {
    human_duration(not_after.duration_since(now))
}

/// The rules of Kubernetes' `duration.HumanDuration`.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{dy}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
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
    fn durations_parse_strictly() {
        assert_eq!(parse_duration("30d").unwrap(), SignedDuration::from_hours(720));
        assert_eq!(parse_duration("12h").unwrap(), SignedDuration::from_hours(12));
        assert_eq!(parse_duration("2w").unwrap(), SignedDuration::from_hours(336));
        assert_eq!(parse_duration("1d12h").unwrap(), SignedDuration::from_hours(36));
        assert_eq!(parse_duration("0s").unwrap(), SignedDuration::ZERO);
        assert_eq!(parse_duration("P30D").unwrap(), SignedDuration::from_hours(720));
        for bad in ["", "30", "thirty days", "-5d", "1y", "2mo", "30x"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("1y").unwrap_err().contains("365d"));
    }

    #[test]
    fn residual_like_kubeadm() {
        let h = SignedDuration::from_hours;
        assert_eq!(human_duration(h(24 * 364) + SignedDuration::from_mins(59)), "364d");
        assert_eq!(human_duration(h(23)), "23h");
        assert_eq!(human_duration(h(24 * 5 + 3)), "5d3h");
        assert_eq!(human_duration(h(24 * 365 * 9 + 100)), "9y");
        assert_eq!(human_duration(h(24 * 365 * 3 + 24 * 30)), "3y30d");
        assert_eq!(human_duration(SignedDuration::from_secs(90)), "90s");
        assert_eq!(human_duration(SignedDuration::from_secs(5 * 60 + 7)), "5m7s");
        assert_eq!(human_duration(h(5) + SignedDuration::from_mins(30)), "5h30m");
        assert_eq!(human_duration(SignedDuration::from_secs(-1)), "0s");
        assert_eq!(human_duration(SignedDuration::from_secs(-2)), "<invalid>");
        assert_eq!(residual(ts("2026-01-02T00:00:00Z"), ts("2026-01-01T00:00:00Z")), "24h");
    }
}
