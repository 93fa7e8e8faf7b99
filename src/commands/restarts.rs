//! `kubectl pki restarts`: turns the flags into [`restarts::Options`]
//! (`--since` as a time, `--timeout` as a duration) and runs it.
//!
//! Parses and maps only: the domain does the work, no API call here.

use std::time::Duration;

use jiff::Timestamp;

use crate::cli::RestartsArgs;
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::restarts;

pub async fn run(args: RestartsArgs, ctx: &Ctx) -> Result<Outcome> {
    let since = parse_since(&args.since, Timestamp::now())?;
    let timeout = parse_duration(&args.timeout).map_err(|e| Error::flag("--timeout", e))?;
    let timeout = Duration::try_from(timeout).map_err(|e| Error::flag("--timeout", e.to_string()))?;
    let opts = restarts::Options {
        selector: args.selector,
        since,
        wait: args.wait,
        timeout,
        all_namespaces: args.all_namespaces,
        format: ctx.output(),
    };
    restarts::run(&opts, ctx).await
}

/// `--since`: RFC 3339 (`2026-11-27T10:00:00Z`) or a duration back from
/// now (`10m`, `1h30m`), rounded down to the second as Kubernetes times are.
pub fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp> {
    if let Ok(t) = text.trim().parse::<Timestamp>() {
        return Ok(t);
    }
    match parse_duration(text) {
        Ok(d) => now
            .checked_sub(d)
            .and_then(|t| Timestamp::from_second(t.as_second()))
            .map_err(|e| Error::flag_value("--since", text, e.to_string())),
        Err(_) => Err(Error::flag_value(
            "--since",
            text,
            "expected an RFC 3339 time (2026-11-27T10:00:00Z) or a duration back from now (10m, 2h)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SINCE: &str = "2026-11-27T10:00:00Z";

    fn since() -> Timestamp {
        SINCE.parse().unwrap()
    }

    #[test]
    fn since_accepts_rfc3339_and_relative_durations() {
        let now: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        assert_eq!(parse_since(SINCE, now).unwrap(), since());
        assert_eq!(parse_since("2026-11-27T11:00:00+01:00", now).unwrap(), since());
        assert_eq!(parse_since("2h", now).unwrap(), since());
        assert_eq!(parse_since("90m", now).unwrap(), "2026-11-27T10:30:00Z".parse::<Timestamp>().unwrap());
        // A relative --since is whole seconds, like the times it is compared with.
        let now_frac: Timestamp = "2026-11-27T12:00:00.700Z".parse().unwrap();
        assert_eq!(parse_since("2h", now_frac).unwrap(), since());
        let err = parse_since("yesterday", now).unwrap_err().to_string();
        assert!(err.contains("--since \"yesterday\""), "{err}");
    }
}
