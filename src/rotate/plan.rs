//! The plan of a rotation, built from what the cluster holds (an
//! [`Inventory`]) without I/O, so every decision is unit-tested: what
//! happens to each secret and why, which pods and workloads restart, and
//! what the Cozystack runbook misses. The types; the rules that fill them
//! are [`super::rules`], the prose of warnings and notes [`super::advice`].
//! Pure data: no I/O, no clap, no printing.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use serde::Serialize;

use super::state::RunState;
use super::verify::{CaId, Check};
use crate::kamaji::version::KamajiVersion;

pub use super::rules::{SUFFIXES, build, kamaji_version};

/// How the CA is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// `certs.kamaji.clastix.io/rotate=""` on `<tcp>-ca` (Kamaji >= edge-25.7.3).
    Annotate,
    /// Delete the runbook's secrets; Kamaji regenerates them.
    Delete,
}

impl Method {
    /// `annotate`, `delete`: serde's name.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    Auto,
    Annotate,
    Delete,
}

/// The flags that shape a plan.
#[derive(Debug, Clone)]
pub struct Options {
    pub method: MethodChoice,
    pub keep_sa_key: bool,
    pub restart_workers: bool,
    pub kamaji_namespace: String,
    pub kamaji_selector: String,
    /// `--kamaji-version`, overriding detection.
    pub kamaji_version: Option<KamajiVersion>,
    pub worker_selector: String,
    pub write_kubeconfig: bool,
    /// `--backup FILE`: the interrupted run's backup, when its recorded path is not readable here.
    pub backup: Option<std::path::PathBuf>,
    /// `--resume-stale`: continue an interrupted run older than [`super::resume::STALE_AFTER`].
    pub resume_stale: bool,
    /// `--tenant-endpoint`: where the live check dials the tenant API.
    pub tenant_endpoint: Option<crate::kamaji::endpoint::Dial>,
}

/// What the cluster holds, read once before planning.
#[derive(Clone, Default)]
pub struct Inventory {
    pub namespace: String,
    pub tenant: String,
    pub tcp_status: Option<String>,
    pub tenant_uid: Option<String>,
    /// The tenant's secrets (`<tcp>-<known suffix>`).
    pub secrets: Vec<Secret>,
    /// Deployments in the tenant namespace.
    pub deployments: Vec<Deployment>,
    /// Pods in the tenant namespace matching the worker selector.
    pub workers: Vec<Pod>,
    /// Names of pods matching the runbook's `virt-launcher-<tcp>-*` glob.
    pub glob_pods: Vec<String>,
    pub kamaji_pods: Vec<Pod>,
    /// An unfinished earlier run (from the Lease).
    pub previous: Option<RunState>,
    /// The earlier run's backup, when readable here.
    pub previous_backup: Option<Vec<Secret>>,
    /// Why the earlier run's backup cannot be used, when it cannot.
    pub previous_backup_problem: Option<String>,
    /// An unfinished `renew` recorded in the same Lease: superseded (a rotation re-issues every
    /// leaf), its state cleared when the rotation completes.
    pub unfinished_renewal: Option<crate::lease_state::Unfinished>,
    /// An unfinished `rotate-sa-key` recorded in the same Lease: it must finish first.
    pub unfinished_sa_key: Option<crate::lease_state::Unfinished>,
    /// When it was read: the plan judges the Kamaji controller's issuance horizon from it.
    pub read_at: Timestamp,
}

/// Names, never secret data: the tenant's secrets hold its CA and keys.
impl std::fmt::Debug for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pods = |pods: &[Pod]| pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>();
        f.debug_struct("Inventory")
            .field("namespace", &self.namespace)
            .field("tenant", &self.tenant)
            .field("tcp_status", &self.tcp_status)
            .field("tenant_uid", &self.tenant_uid)
            .field("secrets", &secrets_debug(&self.secrets))
            .field("deployments", &self.deployments.iter().map(|d| d.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>())
            .field("workers", &pods(&self.workers))
            .field("glob_pods", &self.glob_pods)
            .field("kamaji_pods", &pods(&self.kamaji_pods))
            .field("previous", &self.previous)
            .field("previous_backup", &self.previous_backup.as_deref().map(secrets_debug))
            .field("previous_backup_problem", &self.previous_backup_problem)
            .field("unfinished_renewal", &self.unfinished_renewal)
            .field("unfinished_sa_key", &self.unfinished_sa_key)
            .field("read_at", &self.read_at)
            .finish()
    }
}

/// Each secret's name and its data keys with their lengths.
fn secrets_debug(secrets: &[Secret]) -> Vec<String> {
    secrets
        .iter()
        .map(|s| {
            let keys: Vec<String> = s
                .data
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}: [REDACTED {} bytes]", v.0.len()))
                .chain(s.string_data.iter().flatten().map(|(k, v)| format!("{k}: [REDACTED {} bytes]", v.len())))
                .collect();
            format!("{} {{{}}}", s.metadata.name.as_deref().unwrap_or("?"), keys.join(", "))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretAction {
    /// Gets the rotate annotation.
    Annotate,
    /// Deleted, then regenerated by Kamaji.
    Delete,
    /// Re-issued in place by Kamaji once the CA changed.
    Reissued,
    /// Not touched.
    Keep,
}

impl SecretAction {
    /// `annotate`, `delete`, `reissued`, `keep`: serde's name.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretStep {
    pub name: String,
    pub suffix: String,
    pub action: SecretAction,
    pub reason: String,
    /// Data keys (names only, never values).
    pub keys: Vec<String>,
    /// SHA-256 of the first certificate it holds, if any.
    pub certificate_sha256: Option<String>,
    /// Written to the backup before any change.
    pub backup: bool,
    /// How phase 5 checks it after the rotation (`None`: not checked).
    pub verify: Option<Check>,
    /// Resuming: the secret no longer holds the backed-up content.
    pub already_rotated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadAction {
    /// `kubectl rollout restart`, then wait for the rollout.
    Restart,
    /// Rolled by Kamaji itself; only waited for.
    Wait,
}

impl WorkloadAction {
    /// `restart`, `wait`: serde's name.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStep {
    pub kind: &'static str,
    pub name: String,
    pub action: WorkloadAction,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KamajiStep {
    pub namespace: String,
    pub selector: String,
    pub pods: Vec<String>,
    pub version: Option<String>,
    pub version_from: String,
    /// The controller pods' oldest process start, and the NotAfter of every leaf they issue
    /// before their restart ([`crate::kamaji::horizon`]).
    pub started_at: Option<Timestamp>,
    pub issues_until: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStep {
    pub selector: String,
    /// `delete` with `--restart-workers`, else `wait`.
    pub action: WorkerAction,
    pub pods: Vec<String>,
}

/// What phase 7 does to the worker pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerAction {
    /// `--restart-workers`: delete them, then wait for replacements.
    Delete,
    /// Wait for something else (the cluster's machine health checks) to replace them.
    Wait,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resume {
    pub done: String,
    pub started_at: Timestamp,
    pub old_ca: CaId,
    pub backup: Option<String>,
    pub backup_readable: bool,
    pub ca_already_rotated: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub namespace: String,
    pub tenant: String,
    pub tcp_status: Option<String>,
    pub method: Method,
    pub method_reason: String,
    pub kamaji: KamajiStep,
    /// The CA in `<tcp>-ca` now.
    pub current_ca: Option<CaId>,
    pub secrets: Vec<SecretStep>,
    pub workloads: Vec<WorkloadStep>,
    pub workers: WorkerStep,
    /// Hazards and what the runbook misses.
    pub warnings: Vec<String>,
    /// Why things are done the way they are.
    pub notes: Vec<String>,
    /// Reasons the real run refuses (nothing is changed).
    pub blockers: Vec<String>,
    pub resume: Option<Resume>,
}

impl Plan {
    pub fn step(&self, suffix: &str) -> Option<&SecretStep> {
        self.secrets.iter().find(|s| s.suffix == suffix)
    }

    /// Secrets that change (annotated, deleted or re-issued): backed up,
    /// and what consumers must pick up.
    pub fn changing(&self) -> impl Iterator<Item = &SecretStep> {
        self.secrets.iter().filter(|s| s.action != SecretAction::Keep)
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
