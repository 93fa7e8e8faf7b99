//! One renewal of one tenant once its Lease is held: the flags of the real run and what
//! every step ([`super::execute`], [`super::ask`], [`super::wait_renewed`], [`super::live`])
//! reads and records. No clap types, no printing.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::plan::{Inventory, Options, Plan};
use super::report::Report;
use super::state::{RenewState, Step};
use crate::error::Result;
use crate::lock::Lock;
use crate::steps::Display;

/// Flags of the real run.
pub struct Settings {
    pub opts: Options,
    pub timeout: Duration,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
    /// `--force`: replace an existing `write_kubeconfig` file.
    pub replace_kubeconfig: bool,
    pub force_unlock: bool,
    pub display: Display,
}

/// One renewal of one tenant, from the moment its Lease is held.
pub struct Run<'a> {
    pub client: kube::Client,
    pub plan: &'a Plan,
    pub inv: &'a Inventory,
    pub s: &'a Settings,
    pub report: &'a mut Report,
    pub lock: &'a Lock,
    pub previous: Option<RenewState>,
    /// Time spent waiting for controllers.
    pub waited: Duration,
}

impl Run<'_> {
    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.plan.namespace)
    }

    pub fn already_done(&self, step: Step) -> bool {
        self.previous.as_ref().is_some_and(|p| p.done >= step)
    }

    /// Records in the Lease that `step` is done.
    pub async fn record(&self, state: &mut RenewState, step: Step) -> Result<()> {
        state.done = state.done.max(step);
        self.lock.set_annotations(&state.to_annotations()).await
    }
}
