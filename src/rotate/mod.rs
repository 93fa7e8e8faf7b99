//! `kubectl pki rotate-ca`: the Cozystack tenant CA runbook, made safe.
//! Dry run by default: reads the tenant, builds a [`plan::Plan`] and prints
//! it. `--dry-run=false` runs it in eight phases ([`execute`]): RBAC and
//! lock, backup, rotate, Kamaji restart, wait for the new CA, restart
//! consumers, workers, and a TLS check that the tenant API serves the new
//! CA ([`live`]). Several tenants at once: [`batch`].

pub mod backup;
pub mod batch;
pub mod execute;
pub mod fault;
pub mod inventory;
pub mod kamaji_restart;
pub mod live;
pub mod phases;
pub mod plan;
pub mod progress;
pub mod render;
pub mod report;
pub mod state;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{RotateCaArgs, RotateMethod};
use crate::context::Ctx;
use crate::duration::{human_duration, parse_duration};
use crate::error::{Error, Outcome, Result};
use crate::kamaji::version::KamajiVersion;
use crate::lock::{Availability, Lock};
use crate::output;
use crate::output::OutputFormat;
use crate::rbac;
use kamaji_restart::KamajiRestarts;
use plan::{Inventory, MethodChoice, Options, Plan};
use progress::Display;
use report::Report;

/// The flags every tenant of the run shares, checked before any request.
pub struct Common {
    pub namespace: String,
    pub timeout: Duration,
    pub timeout_text: String,
    pub backup_dir: PathBuf,
    pub write_kubeconfig: Option<PathBuf>,
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
    pub fn settings(&self, common: &Common, display: Display, kamaji: Arc<KamajiRestarts<phases::Outcome>>) -> execute::Settings {
        execute::Settings {
            opts: self.opts.clone(),
            timeout: common.timeout,
            backup_dir: common.backup_dir.clone(),
            write_kubeconfig: common.write_kubeconfig.clone(),
            force_unlock: common.force_unlock,
            display,
            kamaji,
        }
    }
}

pub async fn run(args: RotateCaArgs, ctx: &Ctx) -> Result<Outcome> {
    let timeout = parse_duration(&args.timeout).map_err(|e| Error::Invalid(format!("--timeout: {e}")))?;
    let timeout_text = human_duration(timeout);
    let timeout = Duration::try_from(timeout).map_err(|e| Error::Invalid(format!("--timeout: {e}")))?;
    let kamaji_version = match &args.kamaji_version {
        Some(v) => Some(KamajiVersion::parse_edge(v).ok_or_else(|| {
            Error::Invalid(format!("--kamaji-version {v:?}: expected a Kamaji edge release like 26.3.5-edge or edge-25.7.3"))
        })?),
        None => None,
    };
    let names = distinct(&args.tenants);
    if names.len() > 1 {
        for (flag, set) in [("--write-kubeconfig", args.write_kubeconfig.is_some()), ("--worker-selector", args.worker_selector.is_some())]
        {
            if set {
                return Err(Error::Invalid(format!("{flag} applies to one tenant; rotate the tenants one by one to use it")));
            }
        }
    }
    if let Some(file) = &args.write_kubeconfig
        && file.is_dir()
    {
        return Err(Error::file(file, "--write-kubeconfig names a directory; give a file path"));
    }
    let client = ctx.client().await?;
    let namespace = ctx.namespace().await?;
    let opts = Options {
        method: match args.method {
            RotateMethod::Auto => MethodChoice::Auto,
            RotateMethod::Annotate => MethodChoice::Annotate,
            RotateMethod::Delete => MethodChoice::Delete,
        },
        keep_sa_key: args.keep_sa_key,
        restart_workers: args.restart_workers,
        kamaji_namespace: args.kamaji_namespace.clone(),
        kamaji_selector: args.kamaji_selector.clone(),
        kamaji_version,
        worker_selector: String::new(),
        write_kubeconfig: args.write_kubeconfig.is_some(),
    };

    // Reading is checked first: without it no plan can be built, and the
    // refusal lists what the whole run would need.
    let reads = inventory::read_needs(&namespace, &opts);
    let missing = match rbac::missing(&client, &reads).await {
        Ok(m) => m,
        Err(e) => return Err(ctx.api_error(e).await),
    };
    if !missing.is_empty() {
        let all = rbac::missing(&client, &inventory::needs_from_flags(&namespace, &opts)).await.map_err(Error::kube)?;
        return Err(rbac::refusal(&all, "rotate-ca"));
    }
    let mut prepared: Vec<Prepared> = Vec::new();
    for name in names {
        let (tenant, tcp_status) = crate::kamaji::tenant::resolve(&client, &namespace, &name).await?;
        // `demo` and `kubernetes-demo` name the same tenant.
        if prepared.iter().any(|p| p.tenant == tenant) {
            continue;
        }
        let mut opts = opts.clone();
        opts.worker_selector =
            args.worker_selector.clone().unwrap_or_else(|| format!("cluster.x-k8s.io/cluster-name={tenant},cluster.x-k8s.io/role=worker"));
        let inv = inventory::gather(&client, &namespace, &tenant, tcp_status, &opts).await?;
        let plan = plan::build(&inv, &opts);
        prepared.push(Prepared { tenant, opts, inv, plan });
    }
    let common = Common {
        namespace,
        timeout,
        timeout_text,
        backup_dir: args.backup_dir.clone(),
        write_kubeconfig: args.write_kubeconfig.clone(),
        force_unlock: args.force_unlock,
        parallel: usize::from(args.parallel),
    };
    match prepared.as_slice() {
        [one] if args.dry_run => single_dry_run(&client, one, &common, ctx.output()).await,
        [one] => single(&client, one, &common, ctx.output()).await,
        _ if args.dry_run => batch::dry_run(&client, &prepared, &common, ctx.output()).await,
        _ => batch::run(&client, prepared, &common, ctx.output()).await,
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
    let holder = Lock::peek(client, &common.namespace, &inventory::lease_name(&p.tenant)).await?.and_then(|l| match Lock::judge(&l) {
        Availability::Held(h) => Some(format!("{} since {}", h.identity, h.since.map_or_else(|| "?".into(), |t| t.to_string()))),
        _ => None,
    });
    Ok(Readiness { needs: needs.len(), missing, holder })
}

pub async fn dry_run(client: &kube::Client, p: &Prepared, common: &Common) -> Result<DryRun> {
    let Readiness { needs, missing, holder } = readiness(client, p, common).await?;
    let clean = missing.is_empty() && holder.is_none() && p.plan.blockers.is_empty();
    let text = render::plan_text(
        &p.plan,
        &render::Context {
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
        },
    );
    let mut report = Report::new(p.plan.clone(), true, p.lease());
    report.missing_permissions = missing.iter().map(ToString::to_string).collect();
    Ok(DryRun { clean, report, text })
}

async fn single_dry_run(client: &kube::Client, p: &Prepared, common: &Common, format: OutputFormat) -> Result<Outcome> {
    let dry = dry_run(client, p, common).await?;
    match format {
        OutputFormat::Json => output::print_json(&dry.report)?,
        OutputFormat::Yaml => output::print_yaml(&dry.report)?,
        _ => output::write_stdout(&dry.text)?,
    }
    Ok(if dry.clean { Outcome::Ok } else { Outcome::Warning })
}

async fn single(client: &kube::Client, p: &Prepared, common: &Common, format: OutputFormat) -> Result<Outcome> {
    let settings = p.settings(common, Display::default(), Arc::default());
    eprintln!(
        "Rotating the CA of tenant {}/{}: method {}, {} secret(s) to back up, timeout {} per wait.",
        common.namespace,
        p.tenant,
        p.plan.method.word(),
        p.plan.secrets.iter().filter(|s| s.backup).count(),
        common.timeout_text
    );
    let mut report = Report::new(p.plan.clone(), false, p.lease());
    let result = execute::execute(client, &p.inv, &p.plan, &settings, &mut report).await;
    match format {
        OutputFormat::Json => output::print_json(&report)?,
        OutputFormat::Yaml => output::print_yaml(&report)?,
        _ if result.is_ok() => output::write_stdout(&render::summary(&report))?,
        _ => {}
    }
    result.map(|()| Outcome::Ok)
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
