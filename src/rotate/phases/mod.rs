//! The phases of a real run, one file each, named as [`Phase`] names them.
//! Each returns a typed [`crate::steps::Outcome`] (or, for the first two, what later
//! phases need); the runner ([`super::execute`]) shows and reports it.
//! No clap types; no printing except through [`super::progress`]; no
//! decision by the text of an error or of an outcome.

pub mod backup;
pub mod full_year;
pub mod kamaji;
pub mod live_check;
pub mod lock;
pub mod regenerated;
pub mod rotate;
pub mod workers;
pub mod workloads;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::kamaji_restart::{KamajiRestarts, Rotating};
use super::plan::{Inventory, Options, Plan};
use super::report::Report;
use super::state::{Phase, RunState};
use crate::error::Result;
use crate::lock::Lock;
use crate::steps::{Display, Outcome, PhaseLine, RunStep};
use crate::wait::{self, Poll};

/// What the phase line says while `phase` runs: with `--restart-workers`, the workers'
/// phase replaces them itself.
pub fn doing(phase: Phase, restart_workers: bool) -> &'static str {
    match phase {
        Phase::Workers if restart_workers => "replacing the worker pods",
        other => other.doing(),
    }
}

/// Flags of the real run.
pub struct Settings {
    pub opts: Options,
    pub timeout: Duration,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
    /// `--force`: replace an existing `write_kubeconfig` file.
    pub replace_kubeconfig: bool,
    pub force_unlock: bool,
    /// Where phase lines go (a batch names the tenant on each).
    pub display: Display,
    /// Shared by the runs of a batch: one Kamaji restart serves many.
    pub kamaji: Arc<KamajiRestarts<Outcome>>,
}

/// One run of one tenant, from the moment its Lease is held.
pub struct Run<'a> {
    pub client: kube::Client,
    pub plan: &'a Plan,
    pub inv: &'a Inventory,
    pub s: &'a Settings,
    pub report: &'a mut Report,
    pub lock: &'a Lock,
    pub previous: Option<RunState>,
    /// Time spent waiting for controllers (Kamaji, rollouts, workers, the tenant API).
    pub waited: Duration,
    /// When this run's rotate phase ended: a Kamaji restart must begin after it.
    pub rotated_at: Option<tokio::time::Instant>,
    pub rotating: Option<Rotating>,
}

impl Run<'_> {
    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.plan.namespace)
    }

    pub fn already_done(&self, phase: Phase) -> bool {
        self.previous.as_ref().is_some_and(|p| p.done >= phase)
    }

    /// Waits for a controller as [`wait::poll_timed`] does, with `--timeout`,
    /// stopping as soon as the Lease is lost; the time counts as waited.
    pub async fn wait<T, F, Fut>(&mut self, what: &str, every: Duration, line: &mut PhaseLine, mut step: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>>>,
    {
        let held = self.lock.held();
        let (found, took) = wait::poll_timed(
            what,
            self.s.timeout,
            every,
            |m| line.update(m),
            || {
                let (held, next) = (held.clone(), step());
                async move {
                    held.check()?;
                    next.await
                }
            },
        )
        .await?;
        self.waited += took;
        Ok(found)
    }

    /// Records in the Lease that `phase` is done.
    pub async fn record(&self, state: &mut RunState, phase: Phase) -> Result<()> {
        state.done = state.done.max(phase);
        self.lock.set_annotations(&state.to_annotations()).await
    }
}

pub(crate) use crate::kamaji::restart::delete_pod;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_says_what_it_does() {
        assert_eq!(doing(Phase::Workers, true), "replacing the worker pods");
        assert_eq!(doing(Phase::Workers, false), "waiting for the worker pods to be replaced");
        assert_eq!(doing(Phase::Lock, false), "checking permissions");
    }
}
