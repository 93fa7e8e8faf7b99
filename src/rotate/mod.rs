//! `kubectl pki rotate-ca`: the Cozystack tenant CA runbook, made safe.
//! Dry run by default: reads the tenant, builds a [`plan::Plan`] and prints
//! it. `--dry-run=false` runs it in eight phases ([`execute`], [`phases`]):
//! RBAC and lock, backup, rotate, Kamaji restart, wait for the new CA,
//! restart consumers, workers, and a TLS check that the tenant API serves
//! the new CA ([`live`]). Several tenants at once: [`batch`].
//!
//! The domain: it takes a plain [`Request`] (the command layer,
//! `commands::rotate_ca`, turns the flags into one) and returns what to show
//! ([`Ran`]). No clap types, no `-o` switch; no printing except through
//! [`crate::steps::Display`].

pub mod advice;
pub mod backup;
pub mod batch;
pub mod execute;
pub mod inventory;
pub mod kamaji_restart;
pub mod lifetime;
pub mod live;
pub mod phases;
pub mod plan;
pub mod render;
pub mod report;
pub mod resume;
pub mod rules;
pub mod state;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::duration::human_duration;
use crate::error::{Error, Outcome, Result};
use crate::lock::Lock;
use crate::rbac;
use crate::steps::Display;
use kamaji_restart::KamajiRestarts;
use plan::{Inventory, Options, Plan};
use report::{Report, ReportList};

/// One `rotate-ca` invocation, its flags parsed.
#[derive(Debug, Clone)]
pub struct Request {
    /// The tenants as given (`demo` or `kubernetes-demo`), duplicates allowed.
    pub tenants: Vec<String>,
    /// The flags that shape each tenant's plan; its `worker_selector` and
    /// `write_kubeconfig` are filled per tenant from the two below.
    pub options: Options,
    /// `None`: the tenant's Cluster API worker labels.
    pub worker_selector: Option<String>,
    /// Limit of each wait.
    pub timeout: Duration,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
    /// `--force`: an existing `write_kubeconfig` file may be replaced.
    pub replace_kubeconfig: bool,
    pub force_unlock: bool,
    /// How many tenants rotate at once.
    pub parallel: usize,
    pub dry_run: bool,
}

/// Where the run goes: the client, the `-n` namespace, and the API server
/// (named in an error when it cannot be reached).
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
    pub server: String,
}

/// What a run shows and how it ended: `-o json|yaml` prints `doc`, a
/// table prints `text` (`None`: nothing, the error says it all).
pub struct Ran {
    pub doc: Doc,
    pub text: Option<String>,
    pub result: Result<Outcome>,
}

/// The machine-readable result: one tenant's report, or a batch's list.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Doc {
    One(Box<Report>),
    List(ReportList),
}

/// The flags every tenant of the run shares, checked before any request.
pub struct Common {
    pub namespace: String,
    pub timeout: Duration,
    pub timeout_text: String,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
    pub replace_kubeconfig: bool,
    pub force_unlock: bool,
    pub parallel: usize,
}

/// One tenant, resolved and planned (nothing written yet).
pub struct Prepared {
    pub tenant: String,
    pub opts: Options,
    pub inv: Inventory,
    pub plan: Plan,
}

impl Prepared {
    pub fn lease(&self) -> String {
        format!("{}/{}", self.plan.namespace, inventory::lease_name(&self.tenant))
    }

    /// The run's settings for this tenant.
    pub fn settings(&self, common: &Common, display: Display, kamaji: Arc<KamajiRestarts<crate::steps::Outcome>>) -> phases::Settings {
        phases::Settings {
            opts: self.opts.clone(),
            timeout: common.timeout,
            backup_dir: common.backup_dir.clone(),
            write_kubeconfig: common.write_kubeconfig.clone(),
            replace_kubeconfig: common.replace_kubeconfig,
            force_unlock: common.force_unlock,
            display,
            kamaji,
        }
    }
}

/// Checks the request, then connects (`connect`) and plans every tenant;
/// a dry run shows the plans, a real run executes them.
pub async fn run(req: Request, connect: impl AsyncFnOnce() -> Result<Cluster>) -> Result<Ran> {
    let names = distinct(&req.tenants);
    if names.len() > 1 {
        let flags = [
            ("--write-kubeconfig", req.write_kubeconfig.is_some()),
            ("--worker-selector", req.worker_selector.is_some()),
            ("--tenant-endpoint", req.options.tenant_endpoint.is_some()),
        ];
        for (flag, set) in flags {
            if set {
                return Err(Error::Invalid(format!("{flag} applies to one tenant; rotate the tenants one by one to use it")));
            }
        }
    }
    if let Some(file) = &req.write_kubeconfig {
        kubeconfig_target(file, req.replace_kubeconfig)?;
    }
    let Cluster { client, namespace, server } = connect().await?;
    let opts = Options { worker_selector: String::new(), write_kubeconfig: req.write_kubeconfig.is_some(), ..req.options.clone() };

    // Reading is checked first: without it no plan can be built, and the
    // refusal lists what the whole run would need.
    let reads = inventory::read_needs(&namespace, &opts);
    let missing = rbac::missing(&client, &reads).await.map_err(|e| Error::kube_at(e, Some(&server)))?;
    if !missing.is_empty() {
        let all = rbac::missing(&client, &inventory::needs_from_flags(&namespace, &opts)).await.map_err(Error::kube)?;
        return Err(rbac::refusal(&all, "rotate-ca"));
    }
    let mut prepared: Vec<Prepared> = Vec::new();
    for name in names {
        let found = crate::kamaji::tenant::resolve(&client, &namespace, &name).await?;
        let tenant = found.name.clone();
        // `demo` and `kubernetes-demo` name the same tenant.
        if prepared.iter().any(|p| p.tenant == tenant) {
            continue;
        }
        let mut opts = opts.clone();
        opts.worker_selector =
            req.worker_selector.clone().unwrap_or_else(|| format!("cluster.x-k8s.io/cluster-name={tenant},cluster.x-k8s.io/role=worker"));
        let inv = inventory::gather(&client, &namespace, &found, &opts).await?;
        let plan = plan::build(&inv, &opts);
        prepared.push(Prepared { tenant, opts, inv, plan });
    }
    let common = Common {
        namespace,
        timeout: req.timeout,
        timeout_text: human_duration(jiff::SignedDuration::try_from(req.timeout).unwrap_or_default()),
        backup_dir: req.backup_dir,
        write_kubeconfig: req.write_kubeconfig,
        replace_kubeconfig: req.replace_kubeconfig,
        force_unlock: req.force_unlock,
        parallel: req.parallel,
    };
    match prepared.as_slice() {
        [one] if req.dry_run => single_dry_run(&client, one, &common).await,
        [one] => single(&client, one, &common).await,
        _ if req.dry_run => batch::dry_run(&client, &prepared, &common).await,
        _ => batch::run(&client, prepared, &common).await,
    }
}

/// Refuses, before the CA rotates, a `--write-kubeconfig` file that could
/// not be written or would be replaced unasked: a directory, an existing
/// file or symlink without `replace` (`--force`), a missing parent or one
/// that is not a directory.
pub fn kubeconfig_target(file: &Path, replace: bool) -> Result<()> {
    if file.is_dir() {
        return Err(Error::file(file, "--write-kubeconfig names a directory; give a file path"));
    }
    if std::fs::symlink_metadata(file).is_ok() && !replace {
        return Err(Error::file(file, "--write-kubeconfig names an existing file; pass --force to replace it"));
    }
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(parent) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::file(file, format!("--write-kubeconfig: {} is not a directory", parent.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::file(file, format!("--write-kubeconfig: directory {} does not exist", parent.display())))
        }
        Err(e) => Err(Error::file(file, format!("--write-kubeconfig: {}: {e}", parent.display()))),
    }
}

/// The names in the order given, each once.
fn distinct(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names.iter().filter(|n| seen.insert(n.as_str())).cloned().collect()
}

/// A dry run of one tenant: the report (with missing permissions) and the
/// plan text; `clean` when the real run would start.
pub struct DryRun {
    pub clean: bool,
    pub report: Report,
    pub text: String,
}

/// What would stop the real run of one tenant, besides its plan's blockers.
pub struct Readiness {
    /// How many permissions the run needs.
    pub needs: usize,
    pub missing: Vec<rbac::Need>,
    /// Who holds the tenant's Lease, and since when.
    pub holder: Option<String>,
}

impl Readiness {
    pub fn clean(&self, p: &Prepared) -> bool {
        self.missing.is_empty() && self.holder.is_none() && p.plan.blockers.is_empty()
    }
}

pub async fn readiness(client: &kube::Client, p: &Prepared, common: &Common) -> Result<Readiness> {
    let needs = inventory::needs(&p.plan, &p.opts);
    let missing = rbac::missing(client, &needs).await.map_err(Error::kube)?;
    let holder = Lock::peek(client, &common.namespace, &inventory::lease_name(&p.tenant))
        .await?
        .and_then(|l| crate::lock::looks_held(&l))
        .map(|h| format!("{} since {}", h.identity, h.since.map_or_else(|| "?".into(), |t| t.to_string())));
    Ok(Readiness { needs: needs.len(), missing, holder })
}

pub async fn dry_run(client: &kube::Client, p: &Prepared, common: &Common) -> Result<DryRun> {
    let Readiness { needs, missing, holder } = readiness(client, p, common).await?;
    let clean = missing.is_empty() && holder.is_none() && p.plan.blockers.is_empty();
    let text = render::plan_text(
        &p.plan,
        &crate::steps::plan_text::PlanContext {
            dry_run: true,
            backup_target: common
                .backup_dir
                .join(format!("pki-backup-{}-{}-<time>.yaml", common.namespace, p.tenant))
                .display()
                .to_string(),
            lease: p.lease(),
            timeout: common.timeout_text.clone(),
            missing: &missing,
            needs,
            lock_holder: holder,
            write_kubeconfig: common.write_kubeconfig.as_ref().map(|f| f.display().to_string()),
            tenant_endpoint: p.opts.tenant_endpoint.as_ref().map(|d| d.url().to_owned()),
        },
    );
    let mut report = Report::new(p.plan.clone(), true, p.lease());
    report.missing_permissions = missing.iter().map(ToString::to_string).collect();
    Ok(DryRun { clean, report, text })
}

async fn single_dry_run(client: &kube::Client, p: &Prepared, common: &Common) -> Result<Ran> {
    let dry = dry_run(client, p, common).await?;
    let outcome = if dry.clean { Outcome::Ok } else { Outcome::Warning };
    Ok(Ran { doc: Doc::One(Box::new(dry.report)), text: Some(dry.text), result: Ok(outcome) })
}

async fn single(client: &kube::Client, p: &Prepared, common: &Common) -> Result<Ran> {
    let display = Display::default();
    display.println(&format!(
        "Rotating the CA of tenant {}/{}: method {}, {} secret(s) to back up, timeout {} per wait.",
        common.namespace,
        p.tenant,
        p.plan.method.word(),
        p.plan.secrets.iter().filter(|s| s.backup).count(),
        common.timeout_text
    ));
    let settings = p.settings(common, display, Arc::default());
    let mut report = Report::new(p.plan.clone(), false, p.lease());
    let result = execute::execute(client, &p.inv, &p.plan, &settings, &mut report).await;
    let text = result.is_ok().then(|| render::summary(&report));
    Ok(Ran { doc: Doc::One(Box::new(report)), text, result: result.map(|()| Outcome::Ok) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_taken_once_in_the_order_given() {
        let names: Vec<String> = ["b", "a", "b", "c", "a"].map(String::from).to_vec();
        assert_eq!(distinct(&names), ["b", "a", "c"]);
    }
}
