//! One line per phase on stderr: a spinner with the elapsed time on a
//! terminal, plain lines otherwise (logs, CI), so the run can be followed
//! and a stuck wait says what it is waiting for. Several tenants rotated at
//! once share one [`Display`]: each line names its tenant, and on a
//! terminal the spinners stack instead of overwriting each other.
//! The only printing of a run goes through here; no API calls, no clap types.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::PhaseStatus;
use super::step::RunStep;
use crate::output::{clean_line, stderr_is_tty};

/// How often a plain (non-terminal) line repeats an unchanged wait.
const PLAIN_EVERY: Duration = Duration::from_secs(15);

/// Where phase lines go: stderr, spinners only on a terminal.
#[derive(Clone, Default)]
pub struct Display {
    /// Set for a batch on a terminal: the spinners of every tenant.
    multi: Option<MultiProgress>,
    /// `namespace/tenant` in a batch; empty for a single tenant.
    tenant: String,
}

impl Display {
    /// The display of one tenant of a batch (`multi` shared by the batch).
    pub fn for_tenant(multi: Option<MultiProgress>, tenant: &str) -> Self {
        Display { multi, tenant: clean_line(tenant).into_owned() }
    }

    /// A shared spinner area when stderr is a terminal.
    pub fn batch_area() -> Option<MultiProgress> {
        stderr_is_tty().then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
    }

    /// A line that stays, above any spinner.
    /// Prints `line`, its cluster-supplied parts escaped ([`clean_line`]).
    pub fn println(&self, line: &str) {
        let line = &*clean_line(line);
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// The line of `step` (`[n/total] name: what`) while it runs.
    pub fn start<S: RunStep>(&self, step: S, what: &str) -> PhaseLine {
        let what = &*clean_line(what);
        let mut label = format!("[{}/{}] {}", step.number(), S::ALL.len(), step.name());
        if !self.tenant.is_empty() {
            label = format!("{} {label}", self.tenant);
        }
        let bar = stderr_is_tty().then(|| {
            let bar = ProgressBar::new_spinner();
            let bar = match &self.multi {
                Some(m) => m.add(bar),
                None => {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar
                }
            };
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {wide_msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.set_prefix(label.clone());
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            eprintln!("{label}: {what}");
        }
        PhaseLine { label, started: Instant::now(), bar, last_plain: None, display: self.clone() }
    }
}

pub struct PhaseLine {
    label: String,
    started: Instant,
    bar: Option<ProgressBar>,
    last_plain: Option<(Instant, String)>,
    display: Display,
}

impl PhaseLine {
    /// A new state of the wait (shown at once on a terminal; on plain
    /// stderr when it changes, or every 15 s).
    pub fn update(&mut self, msg: &str) {
        let msg = &*clean_line(msg);
        match &self.bar {
            Some(bar) => bar.set_message(msg.to_string()),
            None => {
                let due = match &self.last_plain {
                    Some((at, last)) => last != msg || at.elapsed() >= PLAIN_EVERY,
                    None => true,
                };
                if due {
                    eprintln!("{}: {msg}", self.label);
                    self.last_plain = Some((Instant::now(), msg.to_string()));
                }
            }
        }
    }

    /// A line that stays (a path, a decision) printed above the spinner.
    pub fn note(&self, msg: &str) {
        let msg = &*clean_line(msg);
        let indent = if self.display.tenant.is_empty() { "  ".to_string() } else { format!("  {}: ", self.display.tenant) };
        match &self.bar {
            Some(bar) => bar.println(format!("{indent}{msg}")),
            None => eprintln!("{indent}{msg}"),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn finish(self, mark: &str, word: &str, detail: &str) -> Duration {
        let took = self.started.elapsed();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            if let Some(m) = &self.display.multi {
                m.remove(bar);
            }
        }
        self.display.println(&finish_text(mark, &self.label, word, detail, took));
        took
    }

    pub fn done(self, detail: &str) -> Duration {
        self.finish("✓", PhaseStatus::Done.word(), detail)
    }

    pub fn skipped(self, why: &str) -> Duration {
        self.finish("-", PhaseStatus::Skipped.word(), why)
    }

    pub fn failed(self, why: &str) -> Duration {
        self.finish("✗", PhaseStatus::Failed.word(), why)
    }
}

/// The line a finished phase prints; `detail` may quote the cluster
/// (a served certificate's issuer), so it is escaped.
fn finish_text(mark: &str, label: &str, word: &str, detail: &str, took: Duration) -> String {
    let sep = if detail.is_empty() { "" } else { ": " };
    clean_line(&format!("{mark} {label}: {word}{sep}{detail} ({:.1}s)", took.as_secs_f64())).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIL: &str = "CN=\u{1b}[31mevil\u{202e}txt";

    #[test]
    fn phase_lines_escape_cluster_strings() {
        let line =
            finish_text("✗", "t [8/8] live-check", "failed", &format!("served certificate issued by {EVIL}"), Duration::from_millis(1500));
        assert_eq!(line, "✗ t [8/8] live-check: failed: served certificate issued by CN=\\u{1b}[31mevil\\u{202e}txt (1.5s)");
        assert!(!line.contains('\u{1b}') && !line.contains('\u{202e}'));
        let display = Display::for_tenant(None, EVIL);
        assert!(!display.tenant.contains('\u{1b}') && display.tenant.contains("\\u{202e}"), "{}", display.tenant);
        // The plain messages go through the same escaping.
        assert_eq!(clean_line(&format!("status {EVIL}")), "status CN=\\u{1b}[31mevil\\u{202e}txt");
    }
}
