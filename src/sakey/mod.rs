//! `kubectl pki rotate-sa-key TENANT`: rotates a Kamaji tenant's service-account key without
//! breaking a single token (kamaji#1325). kube-apiserver verifies tokens with every key of
//! `--service-account-key-file` and signs new ones with `--service-account-signing-key-file`;
//! Kamaji keeps an `sa.pub` that holds several public keys as long as the first is `sa.key`'s.
//! So the rotation is two runs:
//!
//! - `stage`: a new signing key first in `sa.pub`, every current key after it; the tenant
//!   control-plane pods replaced one at a time (a kube-apiserver reads its key files only when
//!   it starts, and Kamaji reverts a rollout-restart annotation); the live tenant API checked.
//! - `--finish`, once every token signed by an old key has expired or been refreshed (the
//!   minimum age, [`lifetime`]): the old public keys removed, the pods replaced again, checked.
//!
//! Dry run by default. The safety of rotate-ca and renew: RBAC first, the tenant's Lease,
//! a 0600 backup, progress in the Lease (a re-run continues, re-checking the cluster), Ctrl-C,
//! a timeout on every wait.
//!
//! [`keys`]: sa.pub and sa.key, kids; [`token`]: JWT kid and signature; [`lifetime`]: the
//! minimum age; [`state`]: steps and the Lease record; [`inventory`], [`plan`]: what is read
//! and decided; [`tenant_api`]: the live tenant API; [`pods`]: one-at-a-time replacement;
//! [`execute`]: the steps; [`report`], [`render`]: what is shown. No clap types here.

pub mod execute;
pub mod inventory;
pub mod keys;
pub mod lifetime;
pub mod plan;
pub mod pods;
pub mod render;
pub mod report;
pub mod state;
pub mod tenant_api;
pub mod token;

use std::path::PathBuf;
use std::time::Duration;

use jiff::SignedDuration;

use crate::duration::human_duration;
use crate::error::{Error, Outcome, Result};
use crate::lock::Lock;
use crate::rbac;
use crate::rotate::inventory::lease_name;
use crate::steps::Display;
use plan::Options;
use report::{Report, RunResult};
use state::Mode;

/// One `rotate-sa-key` invocation, its flags parsed.
#[derive(Debug, Clone)]
pub struct Request {
    pub tenant: String,
    pub mode: Mode,
    pub force: bool,
    pub timeout: Duration,
    pub request_timeout: Option<Duration>,
    /// `--tenant-endpoint`.
    pub tenant_endpoint: Option<crate::kamaji::endpoint::Dial>,
    pub backup_dir: PathBuf,
    pub force_unlock: bool,
    pub dry_run: bool,
}

/// Where the run goes.
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
    pub server: String,
}

/// What a run shows and how it ended.
pub struct Ran {
    pub report: Report,
    pub text: Option<String>,
    pub result: Result<Outcome>,
}

pub async fn run(req: Request, connect: impl AsyncFnOnce() -> Result<Cluster>) -> Result<Ran> {
    let Cluster { client, namespace, server } = connect().await?;
    let missing = rbac::missing(&client, &inventory::read_needs(&namespace)).await.map_err(|e| Error::kube_at(e, Some(&server)))?;
    if !missing.is_empty() {
        return Err(rbac::refusal(&missing, "rotate-sa-key"));
    }
    let found = crate::kamaji::tenant::resolve(&client, &namespace, &req.tenant).await?;
    let inv = inventory::gather(&client, &namespace, &found, req.request_timeout, req.tenant_endpoint.as_ref()).await?;
    let opts = Options { mode: req.mode, force: req.force };
    let plan = plan::build(&inv, &opts, jiff::Timestamp::now());
    let lease = format!("{}/{}", plan.namespace, lease_name(&plan.tenant));
    let timeout = human_duration(SignedDuration::try_from(req.timeout).unwrap_or_default());
    if req.dry_run {
        let needs = inventory::needs(&namespace);
        let missing = rbac::missing(&client, &needs).await.map_err(Error::kube)?;
        let holder = Lock::peek(&client, &plan.namespace, &lease_name(&plan.tenant))
            .await?
            .and_then(|l| crate::lock::looks_held(&l))
            .map(|h| format!("{} since {}", h.identity, h.since.map_or_else(|| "?".into(), |t| t.to_string())));
        let clean = missing.is_empty() && holder.is_none() && plan.blockers.is_empty();
        let text = render::plan_text(
            &plan,
            &crate::steps::plan_text::PlanContext {
                dry_run: true,
                backup_target: req
                    .backup_dir
                    .join(format!("pki-backup-{}-{}-<time>.yaml", plan.namespace, plan.tenant))
                    .display()
                    .to_string(),
                lease: lease.clone(),
                timeout,
                missing: &missing,
                needs: needs.len(),
                lock_holder: holder,
                write_kubeconfig: None,
                tenant_endpoint: req.tenant_endpoint.as_ref().map(|d| d.url().to_owned()),
            },
        );
        let mut report = Report::new(plan, true, lease);
        report.missing_permissions = missing.iter().map(ToString::to_string).collect();
        return Ok(Ran { report, text: Some(text), result: Ok(if clean { Outcome::Ok } else { Outcome::Warning }) });
    }
    let mut report = Report::new(plan.clone(), false, lease);
    if plan.nothing_to_do {
        report.result = RunResult::NothingToDo;
        let text = format!("Nothing to finish in tenant {}/{}: sa.pub holds the signing key alone.\n", plan.namespace, plan.tenant);
        return Ok(Ran { report, text: Some(text), result: Ok(Outcome::Ok) });
    }
    let display = Display::default();
    display.println(&format!("rotate-sa-key {} of tenant {}/{}: timeout {timeout} per wait.", plan.mode, plan.namespace, plan.tenant));
    let settings = execute::Settings {
        opts,
        timeout: req.timeout,
        request_timeout: req.request_timeout,
        tenant_endpoint: req.tenant_endpoint.clone(),
        backup_dir: req.backup_dir.clone(),
        force_unlock: req.force_unlock,
        display,
    };
    let result = execute::execute(&client, &inv, &plan, &settings, &mut report).await;
    let text = result.is_ok().then(|| render::summary(&report));
    Ok(Ran { report, text, result: result.map(|()| Outcome::Ok) })
}
