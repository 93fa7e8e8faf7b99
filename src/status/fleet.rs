//! `status` over several contexts (`--all-contexts`, `--context` repeated):
//! each context is read at once (up to `--concurrency`), each within its own
//! `--context-timeout`, into one document; tables gain a CONTEXT column.
//! A context that cannot be read is a row with its error, never the end of
//! the listing.
//!
//! Rows stream from every context through one channel into the output as
//! they are judged (the output spills them), so memory does not grow with
//! the fleet. Exit: the worst of every context; a context that could not be
//! read makes it an error (exit 1) unless some certificate is critical
//! (exit 4 says more than "could not look").

use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::certs::chain::ChainVerdict;
use crate::context::Ctx;
use crate::error::{Error, Outcome, Result, flatten};

use super::item::Location;
use super::row::{Collector, ContextInfo, Row, RowSink, RowStatus, SourceKind, Tally};
use super::{Options, collect, output_of};

/// The contexts a `status` run reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Contexts {
    /// `--context` once, or not at all: the kubeconfig's current context.
    #[default]
    Current,
    /// `--context` given more than once, in the order given.
    Named(Vec<String>),
    /// `--all-contexts`: every context of the kubeconfig.
    All,
}

pub async fn run(opts: &Options, ctx: &Ctx) -> Result<Outcome> {
    let names = match &opts.contexts {
        Contexts::Current => return Err(Error::Invalid("a fleet run needs contexts".into())),
        Contexts::Named(names) => {
            // Parsed once here, shared by every context (and a broken file is one line, at once).
            ctx.kubeconfig()?;
            names.clone()
        }
        Contexts::All => ctx.context_names()?,
    };
    if names.is_empty() {
        return Err(Error::Kubeconfig { path: ctx.kubeconfig_origin(), reason: "it has no contexts".into() });
    }
    let mut output = output_of(opts).with_contexts();
    let now = Timestamp::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<Row>();
    let reads: Vec<_> = names
        .iter()
        .map(|name| {
            let sink = Tagged { context: name.clone(), tx: tx.clone() };
            read(opts, ctx.for_context(name), sink, now)
        })
        .collect();
    // The reads hold the only senders left: the drain ends with the last read.
    drop(tx);
    let reads = futures::stream::iter(reads).buffer_unordered(opts.concurrency.max(1)).collect::<Vec<(Tally, Option<Row>)>>();
    let drain = async {
        while let Some(row) = rx.recv().await {
            output.row(row);
        }
    };
    let (reads, ()) = tokio::join!(reads, drain);

    let mut tally = Tally::empty();
    let mut failed = Vec::new();
    for (context_tally, error_row) in reads {
        if let Some(row) = error_row {
            failed.push(row.context.clone().unwrap_or_default());
            tally.counts.add(row.status);
            output.row(row);
        }
        tally.merge(context_tally);
    }
    // The order of the kubeconfig (or of the flags), whichever finished first.
    tally.contexts.sort_by_key(|c| names.iter().position(|n| *n == c.name));
    output.print(&tally)?;
    match (failed.is_empty(), tally.outcome) {
        (true, outcome) | (false, outcome @ Outcome::Critical) => Ok(outcome),
        (false, _) => Err(Error::ContextsFailed { total: names.len(), failed }),
    }
}

/// Reads one context within the deadline: its tally (with its [`ContextInfo`])
/// and, when it could not be read, the row that says why.
async fn read(opts: &Options, ctx: Ctx, mut sink: Tagged, now: Timestamp) -> (Tally, Option<Row>) {
    let name = sink.context.clone();
    let mut col = Collector::new(now, opts.warn_within, &mut sink);
    let result = match tokio::time::timeout(opts.context_timeout, collect(opts, &ctx, &mut col)).await {
        Ok(result) => result.map_err(|e| flatten(&e)),
        Err(_) => Err(format!("not read within {} (--context-timeout)", show(opts.context_timeout))),
    };
    let mut tally = col.finish();
    for tenant in &mut tally.tenants {
        tenant.context = Some(name.clone());
    }
    let server = ctx.server();
    let rows = tally.counts.total();
    let (info, row) = match result {
        Ok(()) => (ContextInfo { name, server, rows, outcome: Some(tally.outcome), error: None }, None),
        Err(error) => {
            let row = error_row(&name, &error);
            (ContextInfo { name, server, rows: rows + 1, outcome: None, error: Some(error) }, Some(row))
        }
    };
    tally.contexts.push(info);
    (tally, row)
}

/// The row of a context that could not be read: no certificate, its error.
fn error_row(context: &str, error: &str) -> Row {
    Row {
        context: Some(context.to_string()),
        source: SourceKind::Kubeconfig,
        name: format!("context/{context}"),
        location: Location::default(),
        certificate: None,
        residual: None,
        chain: ChainVerdict::NotChecked,
        served: None,
        status: RowStatus::Unreachable,
        message: Some(error.to_string()),
    }
}

fn show(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s > 0 && d.subsec_millis() == 0 => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

/// Rows of one context, named by it, on their way to the one output.
struct Tagged {
    context: String,
    tx: mpsc::UnboundedSender<Row>,
}

impl RowSink for Tagged {
    fn row(&mut self, mut row: Row) {
        row.context = Some(self.context.clone());
        // The receiver lives until every read has ended.
        let _ = self.tx.send(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_context_is_a_row_that_says_why() {
        let row = error_row("prod", "cannot reach the Kubernetes API at https://10.0.0.1:6443: connection refused");
        assert_eq!(row.status, RowStatus::Unreachable);
        assert_eq!(row.name, "context/prod");
        assert!(row.certificate.is_none());
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["context"], "prod");
        assert!(json["message"].as_str().unwrap().contains("connection refused"));
    }

    #[test]
    fn deadlines_are_said_as_given() {
        assert_eq!(show(Duration::from_secs(120)), "2m");
        assert_eq!(show(Duration::from_secs(45)), "45s");
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn rows_carry_their_context() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut sink = Tagged { context: "staging".into(), tx };
        sink.row(error_row("x", "e"));
        assert_eq!(rx.try_recv().unwrap().context.as_deref(), Some("staging"));
    }
}
