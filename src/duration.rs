//! Durations as flags spell them (`30d`, `10m`, `P30D`) and as Kubernetes
//! prints them (`364d`, `5m7s`): one home for every command, so `--timeout`,
//! `--warn-within` and `--since` accept and print the same forms.

use jiff::{SignedDuration, Span, SpanRelativeTo};

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
    }
}
