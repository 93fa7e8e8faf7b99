//! `kubectl pki renew TENANT...`: renews a Kamaji tenant's leaf certificates and
//! kubeconfigs, never its CA or service-account key. Dry run by default: reads the tenant,
//! builds a [`plan::Plan`] and prints it. `--dry-run=false` runs it ([`execute`]): RBAC and
//! the tenant's Lease (rotate-ca's: a renewal and a rotation never overlap), a backup, a
//! Kamaji controller restart (Kamaji dates what it issues from its process start), the
//! rotate annotation or a deletion on each selected secret, a wait until each holds
//! certificates renewed for a year ([`verify`]), the consumers restarted, and a live check
//! that the tenant API serves the renewed certificate ([`live`]).
//!
//! - [`leaves`]: the certificates a secret holds; [`plan`]: what is renewed and why;
//!   [`inventory`]: what is read and which permissions a run needs; [`state`]: the steps and
//!   the progress kept in the Lease; [`ask`], [`wait_renewed`], [`live`]: the steps that
//!   are not [`execute`]'s own; [`report`], [`render`]: what is shown.
//!
//! The domain: a plain [`Request`] in (the command layer turns the flags into one), what to
//! show out ([`Ran`]). No clap types; no printing except through the phase lines.

pub mod ask;
pub mod execute;
pub mod inventory;
pub mod leaves;
pub mod live;
pub mod plan;
pub mod render;
pub mod report;
pub mod run;
pub mod state;
pub mod verify;
pub mod wait_renewed;

use std::path::PathBuf;
use std::time::Duration;

use jiff::SignedDuration;
use serde::Serialize;

use crate::duration::human_duration;
use crate::error::{Error, Outcome, Result};
use crate::kamaji::version::KamajiVersion;
use crate::lock::Lock;
use crate::rbac;
use crate::rotate::inventory::lease_name;
use crate::steps::Display;
use leaves::Kind;
use plan::{Inventory, Options, Plan};
use report::{Report, ReportList, RunResult};

/// One `renew` invocation, its flags parsed.
#[derive(Debug, Clone)]
pub struct Request {
    /// The tenants as given (`demo` or `kubernetes-demo`).
    pub tenants: Vec<String>,
    pub only: Option<Kind>,
    pub expiring_within: Option<SignedDuration>,
    pub kamaji_namespace: String,
    pub kamaji_selector: String,
    pub kamaji_version: Option<KamajiVersion>,
    /// Limit of each wait.
    pub timeout: Duration,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
    /// `--force`: an existing `write_kubeconfig` file may be replaced.
    pub replace_kubeconfig: bool,
    pub force_unlock: bool,
    /// `--tenant-endpoint`: one tenant's API, dialled there by the live check.
    pub tenant_endpoint: Option<crate::kamaji::endpoint::Dial>,
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
    pub doc: Doc,
    pub text: Option<String>,
    pub result: Result<Outcome>,
}

/// The machine-readable result: one tenant's report, or several.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Doc {
    One(Box<Report>),
    List(ReportList),
}

/// One tenant, resolved and planned (nothing written yet).
struct Prepared {
    opts: Options,
    inv: Inventory,
    plan: Plan,
}

/// Checks the request, connects, plans every tenant; a dry run shows the plans, a real run
/// renews the tenants one after the other, stopping at the first failure.
pub async fn run(req: Request, connect: impl AsyncFnOnce() -> Result<Cluster>) -> Result<Ran> {
    let mut seen = std::collections::BTreeSet::new();
    let names: Vec<String> = req.tenants.iter().filter(|n| seen.insert(n.as_str())).cloned().collect();
    for (flag, set) in [("--write-kubeconfig", req.write_kubeconfig.is_some()), ("--tenant-endpoint", req.tenant_endpoint.is_some())] {
        if names.len() > 1 && set {
            return Err(Error::Usage(format!("{flag} applies to one tenant; renew the tenants one by one to use it")));
        }
    }
    if let Some(file) = &req.write_kubeconfig {
        crate::rotate::kubeconfig_target(file, req.replace_kubeconfig)?;
    }
    let Cluster { client, namespace, server } = connect().await?;
    let opts = Options {
        only: req.only,
        expiring_within: req.expiring_within,
        kamaji_namespace: req.kamaji_namespace.clone(),
        kamaji_selector: req.kamaji_selector.clone(),
        kamaji_version: req.kamaji_version,
        tenant_endpoint: req.tenant_endpoint.clone(),
    };
    let reads = inventory::read_needs(&namespace, &opts);
    let missing = rbac::missing(&client, &reads).await.map_err(|e| Error::kube_at(e, Some(&server)))?;
    if !missing.is_empty() {
        return Err(rbac::refusal(&missing, "renew"));
    }
    let mut prepared: Vec<Prepared> = Vec::new();
    for name in names {
        let found = crate::kamaji::tenant::resolve(&client, &namespace, &name).await?;
        if prepared.iter().any(|p| p.plan.tenant == found.name) {
            continue;
        }
        let inv = inventory::gather(&client, &namespace, &found, &opts).await?;
        let plan = plan::build(&inv, &opts);
        prepared.push(Prepared { opts: opts.clone(), inv, plan });
    }
    let timeout_text = human_duration(SignedDuration::try_from(req.timeout).unwrap_or_default());
    let mut reports = Vec::new();
    let mut texts = Vec::new();
    let mut result: Result<Outcome> = Ok(Outcome::Ok);
    for p in &prepared {
        let lease = format!("{}/{}", p.plan.namespace, lease_name(&p.plan.tenant));
        if result.is_err() {
            let mut report = Report::new(p.plan.clone(), req.dry_run, lease);
            report.result = RunResult::NotStarted;
            reports.push(report);
            continue;
        }
        if req.dry_run {
            let (report, text, clean) = dry_run(&client, p, &req, &timeout_text).await?;
            if !clean {
                result = result.map(|o| o.max(Outcome::Warning));
            }
            reports.push(report);
            texts.push(text);
            continue;
        }
        let mut report = Report::new(p.plan.clone(), false, lease);
        if p.plan.renewing().next().is_none() && p.plan.blockers.is_empty() {
            report.result = RunResult::Renewed;
            texts.push(format!("Nothing to renew in tenant {}/{}: no secret matches the selection.\n", p.plan.namespace, p.plan.tenant));
            reports.push(report);
            continue;
        }
        let display = Display::default();
        display.println(&format!(
            "Renewing tenant {}/{}: {} secret(s) by {}, timeout {timeout_text} per wait.",
            p.plan.namespace,
            p.plan.tenant,
            p.plan.renewing().count(),
            p.plan.mechanism.word()
        ));
        let settings = run::Settings {
            opts: p.opts.clone(),
            timeout: req.timeout,
            backup_dir: req.backup_dir.clone(),
            write_kubeconfig: req.write_kubeconfig.clone(),
            replace_kubeconfig: req.replace_kubeconfig,
            force_unlock: req.force_unlock,
            display,
        };
        match execute::execute(&client, &p.inv, &p.plan, &settings, &mut report).await {
            Ok(()) => texts.push(render::summary(&report)),
            Err(e) => result = Err(e),
        }
        reports.push(report);
    }
    let text = if result.is_ok() || req.dry_run { Some(texts.join("\n")) } else { None };
    let doc = if reports.len() == 1 {
        Doc::One(Box::new(reports.remove(0)))
    } else {
        Doc::List(ReportList { kind: "RenewReportList", items: reports })
    };
    Ok(Ran { doc, text, result })
}

/// The report and the plan text of one tenant's dry run; `clean` when the real run would start.
async fn dry_run(client: &kube::Client, p: &Prepared, req: &Request, timeout: &str) -> Result<(Report, String, bool)> {
    let needs = inventory::needs(&p.plan, &p.opts);
    let missing = rbac::missing(client, &needs).await.map_err(Error::kube)?;
    let holder = Lock::peek(client, &p.plan.namespace, &lease_name(&p.plan.tenant))
        .await?
        .and_then(|l| crate::lock::looks_held(&l))
        .map(|h| format!("{} since {}", h.identity, h.since.map_or_else(|| "?".into(), |t| t.to_string())));
    let clean = missing.is_empty() && holder.is_none() && p.plan.blockers.is_empty();
    let lease = format!("{}/{}", p.plan.namespace, lease_name(&p.plan.tenant));
    let text = render::plan_text(
        &p.plan,
        &crate::steps::plan_text::PlanContext {
            dry_run: true,
            backup_target: req
                .backup_dir
                .join(format!("pki-backup-{}-{}-<time>.yaml", p.plan.namespace, p.plan.tenant))
                .display()
                .to_string(),
            lease: lease.clone(),
            timeout: timeout.to_string(),
            missing: &missing,
            needs: needs.len(),
            lock_holder: holder,
            write_kubeconfig: req.write_kubeconfig.as_ref().map(|f| f.display().to_string()),
            tenant_endpoint: req.tenant_endpoint.as_ref().map(|d| d.url().to_owned()),
        },
    );
    let mut report = Report::new(p.plan.clone(), true, lease);
    report.missing_permissions = missing.iter().map(ToString::to_string).collect();
    Ok((report, text, clean))
}
