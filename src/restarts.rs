//! `kubectl pki restarts`: did every matching pod restart after a point in
//! time, and is it Ready? The judge itself is [`crate::pods`].

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;

use crate::cli::RestartsArgs;
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::output::OutputFormat;
use crate::output::{self, Table};
use crate::pods::{PodRow, all_restarted, judge, pending_summary};
use crate::wait::{self, Poll};

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
            .map_err(|e| Error::Invalid(format!("--since {text:?}: {e}"))),
        Err(_) => Err(Error::Invalid(format!(
            "--since {text:?}: expected an RFC 3339 time (2026-11-27T10:00:00Z) or a duration back from now (10m, 2h)"
        ))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    since: Timestamp,
    selector: &'a str,
    all_restarted: bool,
    pods: &'a [PodRow],
}

pub async fn run(args: RestartsArgs, ctx: &Ctx) -> Result<Outcome> {
    let since = parse_since(&args.since, Timestamp::now())?;
    let timeout = parse_duration(&args.timeout).map_err(|e| Error::Invalid(format!("--timeout: {e}")))?;
    let timeout = Duration::try_from(timeout).map_err(|e| Error::Invalid(format!("--timeout: {e}")))?;
    let client = ctx.client().await?;
    let api: Api<Pod> = if args.all_namespaces { Api::all(client) } else { Api::namespaced(client, &ctx.namespace().await?) };
    let selector = args.selector.clone().unwrap_or_default();
    let list = |api: Api<Pod>, selector: String| async move {
        let pods = api.list(&ListParams::default().labels(&selector)).await;
        pods.map(|l| l.items.iter().map(|p| judge(p, since)).collect::<Vec<_>>())
    };
    let mut rows = match list(api.clone(), selector.clone()).await {
        Ok(rows) => rows,
        Err(e) => return Err(ctx.api_error(e).await),
    };
    if args.wait && !all_restarted(&rows) {
        let bar = output::progress(None, "waiting for pods to restart");
        let waited = wait::poll(
            "pods newer than --since and Ready",
            timeout,
            Duration::from_secs(1),
            |m| bar.set_message(m.to_string()),
            || {
                let (api, selector) = (api.clone(), selector.clone());
                async move {
                    let rows = list(api, selector).await.map_err(Error::kube)?;
                    Ok(if all_restarted(&rows) { Poll::Done(rows) } else { Poll::Waiting(pending_summary(&rows)) })
                }
            },
        )
        .await;
        bar.finish_and_clear();
        match waited {
            Ok(done) => rows = done,
            Err(Error::Timeout { after, waiting_for }) => {
                eprintln!("timed out after {after}: {waiting_for}");
                rows = list(api.clone(), selector.clone()).await.map_err(Error::kube)?;
            }
            Err(e) => return Err(e),
        }
    }
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let ok = all_restarted(&rows);
    match ctx.output() {
        OutputFormat::Json => output::print_json(&Report { since, selector: &selector, all_restarted: ok, pods: &rows })?,
        OutputFormat::Yaml => output::print_yaml(&Report { since, selector: &selector, all_restarted: ok, pods: &rows })?,
        format => {
            if rows.is_empty() {
                eprintln!("No pods match selector {selector:?}.");
            } else {
                table(&rows, args.all_namespaces, format == OutputFormat::Wide).print()?;
            }
        }
    }
    Ok(if ok { Outcome::Ok } else { Outcome::Critical })
}

fn table(rows: &[PodRow], namespaces: bool, wide: bool) -> Table {
    let mut headers = vec!["namespace", "name", "verdict", "ready", "restarts", "age", "detail"];
    if wide {
        headers.push("uid");
    }
    if !namespaces {
        headers.remove(0);
    }
    let mut t = Table::new(headers);
    let now = Timestamp::now();
    for r in rows {
        let age = r.created.map_or_else(|| "-".into(), |c| crate::duration::human_duration(now.duration_since(c)));
        let mut row = vec![
            r.namespace.clone(),
            r.name.clone(),
            r.verdict.word().into(),
            if r.ready { "true" } else { "false" }.into(),
            r.restarts.to_string(),
            age,
            r.detail.clone(),
        ];
        if wide {
            row.push(r.uid.clone());
        }
        if !namespaces {
            row.remove(0);
        }
        t.push(row);
    }
    t
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
