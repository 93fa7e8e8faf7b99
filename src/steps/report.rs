//! A step's entry in a run's report (`phases` in `-o json`: the field names are a schema),
//! and what the shared parts of a run write into a command's report.

use std::time::Duration;

use serde::Serialize;

use super::step::RunStep;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseStatus {
    Done,
    Skipped,
    Failed,
}

impl PhaseStatus {
    /// `done`, `skipped`, `failed`: serde's name, as the step lines say it too.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    pub number: u8,
    pub name: &'static str,
    pub status: PhaseStatus,
    pub seconds: f64,
    pub detail: String,
}

impl PhaseReport {
    pub fn new(step: impl RunStep, status: PhaseStatus, took: Duration, detail: impl Into<String>) -> Self {
        PhaseReport { number: step.number(), name: step.name(), status, seconds: tenths(took), detail: detail.into() }
    }
}

/// The report of a command run step by step: what [`super::lock::take`], [`super::finish`]
/// and [`super::conclude`] fill in.
pub trait RunReport {
    /// The entries of the finished steps.
    fn phases(&mut self) -> &mut Vec<PhaseReport>;
    /// The permissions refused at the first step.
    fn missing_permissions(&mut self) -> &mut Vec<String>;
    /// Whose expired or dead lock the run took over.
    fn lock_taken_over(&mut self) -> &mut Option<String>;
    /// The run's time, and of it the time spent waiting for controllers.
    fn timed(&mut self, seconds: f64, waited_seconds: f64);
    /// The run stopped: why, and how to continue.
    fn unfinished(&mut self, error: String, resume_hint: String);
}

/// `impl RunReport` for a report that has the fields of the schema every run shares:
/// `phases`, `missingPermissions`, `lockTakenOver`, `seconds`, `waitedSeconds`, `error`
/// and `resumeHint`.
macro_rules! run_report_fields {
    ($report:ty) => {
        impl $crate::steps::RunReport for $report {
            fn phases(&mut self) -> &mut Vec<$crate::steps::PhaseReport> {
                &mut self.phases
            }
            fn missing_permissions(&mut self) -> &mut Vec<String> {
                &mut self.missing_permissions
            }
            fn lock_taken_over(&mut self) -> &mut Option<String> {
                &mut self.lock_taken_over
            }
            fn timed(&mut self, seconds: f64, waited_seconds: f64) {
                (self.seconds, self.waited_seconds) = (seconds, waited_seconds);
            }
            fn unfinished(&mut self, error: String, resume_hint: String) {
                (self.error, self.resume_hint) = (Some(error), Some(resume_hint));
            }
        }
    };
}
pub(crate) use run_report_fields;

/// Seconds with one decimal, as reports show them.
pub fn tenths(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_the_lines_say_them_and_seconds_keep_one_decimal() {
        assert_eq!([PhaseStatus::Done, PhaseStatus::Skipped, PhaseStatus::Failed].map(PhaseStatus::word), ["done", "skipped", "failed"]);
        assert!((tenths(Duration::from_millis(1_549)) - 1.5).abs() < f64::EPSILON);
    }
}
