//! The collector the sources push into: judges each certificate against
//! one clock and warning window, hands the finished row to a [`RowSink`]
//! and keeps only the counts, the worst outcome and the tenants. No I/O:
//! rendering is the sink's.

use jiff::{SignedDuration, Timestamp};

use crate::certs::chain::ChainVerdict;
use crate::certs::info::CertInfo;
use crate::certs::status;
use crate::error::Outcome;

use super::item::{Item, Location};
use super::row::{ContextInfo, Row, RowStatus, SourceKind, TenantInfo};
use super::served::{Served, ServedVerdict};

/// Where finished rows go: the output being written ([`super::render::Output`]),
/// or a `Vec` in tests. Rows are not kept by the collector, so memory
/// does not grow with the number of certificates.
pub trait RowSink {
    fn row(&mut self, row: Row);
}

impl RowSink for Vec<Row> {
    fn row(&mut self, row: Row) {
        self.push(row);
    }
}

/// Rows per status, every status present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([usize; RowStatus::ALL.len()]);

impl Counts {
    pub fn add(&mut self, status: RowStatus) {
        self.0[status as usize] += 1;
    }

    pub fn get(&self, status: RowStatus) -> usize {
        self.0[status as usize]
    }

    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
}

/// What is left of a run once its rows are out: what `--summary`, the
/// tenant headings and the exit code need.
#[derive(Debug, Clone)]
pub struct Tally {
    pub counts: Counts,
    pub tenants: Vec<TenantInfo>,
    pub outcome: Outcome,
    /// The contexts of a fleet run; empty for one context.
    pub contexts: Vec<ContextInfo>,
}

impl Tally {
    /// Nothing yet: the start of a fleet run's sum.
    pub fn empty() -> Tally {
        Tally { counts: Counts::default(), tenants: Vec::new(), outcome: Outcome::Ok, contexts: Vec::new() }
    }

    /// Adds another context's rows, tenants and outcome.
    pub fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.counts.0.iter_mut().zip(other.counts.0) {
            *mine += theirs;
        }
        self.tenants.extend(other.tenants);
        self.outcome = self.outcome.max(other.outcome);
        self.contexts.extend(other.contexts);
    }
}

/// Judges certificates against one clock and warning window and hands
/// each finished row to a [`RowSink`]; keeps only the counts, the worst
/// outcome and the tenants.
pub struct Collector<'s> {
    pub now: Timestamp,
    pub warn_within: SignedDuration,
    pub tenants: Vec<TenantInfo>,
    counts: Counts,
    outcome: Outcome,
    sink: &'s mut (dyn RowSink + Send),
}

impl<'s> Collector<'s> {
    pub fn new(now: Timestamp, warn_within: SignedDuration, sink: &'s mut (dyn RowSink + Send)) -> Self {
        Collector { now, warn_within, tenants: Vec::new(), counts: Counts::default(), outcome: Outcome::Ok, sink }
    }

    /// Counts a verdict that is not a row (a tenant's Kamaji issuance horizon) in the exit code.
    pub fn judge_outcome(&mut self, outcome: Outcome) {
        self.outcome = self.outcome.max(outcome);
    }

    /// Adds one row per item, named by `prefix` (see [`Item::display_name`]).
    pub fn push_items(&mut self, source: SourceKind, prefix: &str, items: &[Item], verdicts: Vec<ChainVerdict>) {
        for (item, verdict) in items.iter().zip(verdicts) {
            let row = self.item_row(source, prefix, item, verdict);
            self.emit(row);
        }
    }

    /// The row of one item, judged but not emitted yet.
    pub fn item_row(&self, source: SourceKind, prefix: &str, item: &Item, chain: ChainVerdict) -> Row {
        self.row(source, item.display_name(prefix), item.location.clone(), item.der().ok_or_else(|| err_of(item)), chain)
    }

    /// Adds one row for DER bytes or the reason there are none.
    pub fn push(&mut self, source: SourceKind, name: String, location: Location, der: Result<&[u8], String>, chain: ChainVerdict) {
        let row = self.row(source, name, location, der, chain);
        self.emit(row);
    }

    /// The row for DER bytes or the reason there are none, not emitted yet.
    pub fn row(&self, source: SourceKind, name: String, location: Location, der: Result<&[u8], String>, chain: ChainVerdict) -> Row {
        let info = der.and_then(|d| CertInfo::from_der(d).map_err(|e| e.to_string()));
        match info {
            Ok(info) => {
                let message = match &chain {
                    ChainVerdict::Unverified { reason } => Some(reason.clone()),
                    _ => None,
                };
                Row {
                    context: None,
                    source,
                    name,
                    location,
                    residual: Some(status::residual(info.not_after, self.now)),
                    status: status::classify(info.not_before, info.not_after, self.now, self.warn_within).into(),
                    certificate: Some(info),
                    chain,
                    served: None,
                    message,
                }
            }
            Err(reason) => Row {
                context: None,
                source,
                name,
                location,
                certificate: None,
                residual: None,
                chain: ChainVerdict::NotChecked,
                served: None,
                status: RowStatus::Invalid,
                message: Some(reason),
            },
        }
    }

    /// The served-certificate row of a tenant: the served leaf judged by
    /// time and by `served.verdict`, or (unreachable) a row without a
    /// certificate that does not change the exit code.
    pub fn push_served(
        &mut self,
        name: String,
        location: Location,
        leaf: Option<&[u8]>,
        chain: ChainVerdict,
        served: Served,
        message: Option<String>,
    ) {
        let verdict = served.verdict;
        let row = match leaf {
            Some(der) if verdict != ServedVerdict::Unreachable => {
                let mut row = self.row(SourceKind::Tenant, name, location, Ok(der), chain);
                if let Some(info) = &row.certificate {
                    let time = status::classify(info.not_before, info.not_after, self.now, self.warn_within);
                    row.status = RowStatus::with_served(time, verdict);
                }
                // An unreadable served leaf keeps its parse error first.
                row.message = match (row.certificate.is_none(), row.message.take(), message) {
                    (true, Some(parse), Some(m)) => Some(format!("{parse}; {m}")),
                    (true, parse, None) => parse,
                    (_, _, m) => m,
                };
                row.served = Some(served);
                row
            }
            _ => Row {
                context: None,
                source: SourceKind::Tenant,
                name,
                location,
                certificate: None,
                residual: None,
                chain: ChainVerdict::NotChecked,
                served: Some(Served { verdict: ServedVerdict::Unreachable, ..served }),
                status: RowStatus::Unreachable,
                message,
            },
        };
        self.emit(row);
    }

    /// Counts a finished row and hands it to the sink. A chain that does
    /// not verify is as critical as an expired certificate: clients fail
    /// the same way.
    pub fn emit(&mut self, row: Row) {
        let outcome = match row.chain {
            ChainVerdict::Unverified { .. } => Outcome::Critical,
            _ => row.status.outcome(),
        };
        self.outcome = self.outcome.max(outcome);
        self.counts.add(row.status);
        self.sink.row(row);
    }

    /// Worst verdict over all rows so far.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Ends collecting, releasing the sink.
    pub fn finish(self) -> Tally {
        Tally { counts: self.counts, tenants: self.tenants, outcome: self.outcome, contexts: Vec::new() }
    }
}

fn err_of(item: &Item) -> String {
    item.content.as_ref().err().cloned().unwrap_or_default()
}
