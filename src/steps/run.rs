//! The frame of a run after its Lease is held: every step ends on its line and in the report
//! ([`finish`]); Ctrl-C or SIGTERM stops the steps at their next await, as a crash would,
//! except that the Lease is released ([`interruptible`]); and the end releases the Lease and,
//! after a failure, keeps the recorded progress and says how to continue ([`conclude`]).

use std::future::Future;
use std::time::{Duration, Instant};

use super::outcome::Outcome;
use super::progress::{Display, PhaseLine};
use super::report::{PhaseReport, PhaseStatus, RunReport, tenths};
use super::step::RunStep;
use crate::error::{Error, Result};
use crate::lock::Lock;

/// Ends `step`'s line with its outcome (an error as it reads) and enters it in `report`.
pub fn finish(step: impl RunStep, line: PhaseLine, outcome: std::result::Result<&Outcome, &Error>, report: &mut impl RunReport) {
    let (status, detail) = match outcome {
        Ok(Outcome::Done(detail)) => (PhaseStatus::Done, detail.clone()),
        Ok(Outcome::Skipped(why)) => (PhaseStatus::Skipped, why.to_string()),
        Err(e) => (PhaseStatus::Failed, e.to_string()),
    };
    let took = match status {
        PhaseStatus::Done => line.done(&detail),
        PhaseStatus::Skipped => line.skipped(&detail),
        PhaseStatus::Failed => line.failed(&detail),
    };
    report.phases().push(PhaseReport::new(step, status, took, detail));
}

/// `steps` until they end or the first Ctrl-C/SIGTERM, which fails them as
/// "`<signal>` during `<what>`".
pub async fn interruptible(steps: impl Future<Output = Result<()>>, what: &str) -> Result<()> {
    tokio::select! {
        r = steps => r,
        signal = crate::interrupt::first() => Err(Error::Interrupted(format!("{signal} during {what}"))),
    }
}

/// The end of a run begun at `started`: its times in `report`, the Lease released. After a
/// failure the progress recorded in the Lease stays; the report holds the error and `hint`
/// (how to continue), which is printed unless the error says it already.
pub async fn conclude(
    result: Result<()>,
    lock: Lock,
    started: Instant,
    waited: Duration,
    hint: String,
    display: &Display,
    report: &mut impl RunReport,
) -> Result<()> {
    report.timed(tenths(started.elapsed()), tenths(waited));
    match result {
        Ok(()) => lock.release().await,
        Err(err) => {
            let _ = lock.release().await;
            report.unfinished(err.to_string(), hint.clone());
            let (err, said) = err.with_resume_hint(&hint);
            if !said {
                display.println(&hint);
            }
            Err(err)
        }
    }
}
