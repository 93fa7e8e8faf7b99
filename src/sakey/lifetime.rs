//! How old a stage must be before `--finish` removes the old public keys: the longest lifetime
//! a token of the tenant API can have, so that every token signed by an old key has expired or
//! been refreshed (projected tokens refresh at 80% of their lifetime). kube-apiserver caps a
//! requested lifetime at `--service-account-max-token-expiration`; without the flag there is no
//! cap the tool can read, so 24 h (the flag's usual setting, and the kubelet's default token
//! lifetime is 1 h) stands for it. No I/O.

use std::time::Duration;

use jiff::SignedDuration;
use serde::Serialize;

/// The default when the flag is not set.
pub const DEFAULT_MIN_AGE: SignedDuration = SignedDuration::from_hours(24);

/// Where the minimum age came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "from")]
pub enum MinAge {
    /// `--service-account-max-token-expiration` of the tenant kube-apiserver.
    Flag { value: String, seconds: i64 },
    /// The flag is not set (or the tenant Deployment could not be read).
    Default { seconds: i64, why: String },
    /// `--min-age` given.
    Given { seconds: i64 },
}

impl MinAge {
    pub fn duration(&self) -> SignedDuration {
        let (MinAge::Flag { seconds, .. } | MinAge::Default { seconds, .. } | MinAge::Given { seconds }) = self;
        SignedDuration::from_secs(*seconds)
    }

    pub fn describe(&self) -> String {
        let human = crate::duration::human_duration(self.duration());
        match self {
            MinAge::Flag { value, .. } => format!("{human} (--service-account-max-token-expiration={value} of the tenant kube-apiserver)"),
            MinAge::Default { why, .. } => format!("{human} (default: {why})"),
            MinAge::Given { .. } => format!("{human} (--min-age)"),
        }
    }
}

/// The minimum age from the tenant kube-apiserver's arguments (`args`, then `command`).
pub fn from_args(args: &[String]) -> MinAge {
    const FLAG: &str = "--service-account-max-token-expiration";
    let mut found = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix(FLAG).and_then(|rest| rest.strip_prefix('=')) {
            found = Some(v.to_string());
        } else if a == FLAG {
            found = it.next().cloned();
        }
    }
    let default = |why: String| MinAge::Default { seconds: DEFAULT_MIN_AGE.as_secs(), why };
    match found {
        None => default(format!("{FLAG} is not set on the tenant kube-apiserver")),
        Some(v) => match go_duration(&v) {
            Some(d) if !d.is_zero() => MinAge::Flag { seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX), value: v },
            _ => default(format!("{FLAG}={v:?} is not a duration this tool reads")),
        },
    }
}

/// A Go `time.ParseDuration` string as kube-apiserver's flags take it: `48h`, `1h30m`,
/// `720h0m0s`, `90s`, `1.5h`. Units h, m, s, ms, us, µs, ns.
pub fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("48h"), Some(Duration::from_secs(48 * 3600)));
        assert_eq!(go_duration("720h0m0s"), Some(Duration::from_secs(720 * 3600)));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "10", "1d", "h", "-1h"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_flag_sets_the_minimum_age_else_24h() {
        let a = from_args(&args(&["kube-apiserver", "--service-account-max-token-expiration=48h"]));
        assert_eq!(a, MinAge::Flag { value: "48h".into(), seconds: 48 * 3600 });
        assert!(a.describe().contains("--service-account-max-token-expiration=48h"), "{}", a.describe());
        let b = from_args(&args(&["--service-account-max-token-expiration", "2h"]));
        assert_eq!(b.duration(), SignedDuration::from_hours(2));
        let c = from_args(&args(&["--secure-port=6443"]));
        assert_eq!(c.duration(), DEFAULT_MIN_AGE);
        assert!(c.describe().contains("not set"), "{}", c.describe());
        let d = from_args(&args(&["--service-account-max-token-expiration=forever"]));
        assert_eq!(d.duration(), DEFAULT_MIN_AGE);
    }
}
