//! `kubectl pki restarts`: did every matching pod restart after a point in
//! time, and is it Ready? The judge itself is [`crate::pods`].
//!
//! No clap types: [`Options`] holds the flags already parsed (`crate::commands::restarts`).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{Error, Outcome, Result};
use crate::output::{self, OutputFormat, Table};
use crate::pods::{PodRow, all_restarted, judge, pending_summary};
use crate::wait::{self, Poll};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    since: Timestamp,
    selector: &'a str,
    all_restarted: bool,
    pods: &'a [PodRow],
}

/// A `restarts` run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Label selector of the pods (`None`: every pod).
    pub selector: Option<String>,
    /// Pods must have started after it.
    pub since: Timestamp,
    /// Wait until every pod restarted and is Ready, or `timeout`.
    pub wait: bool,
    pub timeout: Duration,
    /// Pods in all namespaces, not the context's.
    pub all_namespaces: bool,
    pub format: OutputFormat,
}

pub async fn run(args: &Options, ctx: &Ctx) -> Result<Outcome> {
    let (since, timeout) = (args.since, args.timeout);
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
    output::emit(args.format, &Report { since, selector: &selector, all_restarted: ok, pods: &rows }, |format| {
        if rows.is_empty() {
            eprintln!("No pods match selector {selector:?}.");
            return None;
        }
        Some(table(&rows, args.all_namespaces, format == OutputFormat::Wide).render())
    })?;
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
