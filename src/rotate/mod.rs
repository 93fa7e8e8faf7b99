//! `kubectl pki rotate-ca`: the Cozystack tenant CA runbook, made safe.
//! Dry run by default: reads the tenant, builds a [`plan::Plan`] and prints
//! it. `--dry-run=false` runs it in eight phases ([`execute`]): RBAC and
//! lock, backup, rotate, Kamaji restart, wait for the new CA, restart
//! consumers, workers, and a TLS check that the tenant API serves the new
//! CA ([`live`]).

pub mod backup;
pub mod execute;
pub mod inventory;
pub mod live;
pub mod plan;
pub mod progress;
pub mod render;
pub mod report;
pub mod state;
pub mod verify;

use std::time::Duration;

use crate::certs::status::{human_duration, parse_duration};
use crate::cli::{OutputFormat, RotateCaArgs, RotateMethod};
use crate::context::Ctx;
use crate::error::{Error, Outcome, Result};
use crate::kamaji::version::KamajiVersion;
use crate::lock::{Availability, Lock};
use crate::output;
use crate::rbac;
use plan::{MethodChoice, Options};
use report::Report;

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
    if let Some(file) = &args.write_kubeconfig
        && file.is_dir()
    {
        return Err(Error::file(file, "--write-kubeconfig names a directory; give a file path"));
    }
    let client = ctx.client().await?;
    let namespace = ctx.namespace().await?;
    let mut opts = Options {
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
    let (tenant, tcp_status) = inventory::resolve_tenant(&client, &namespace, &args.tenant).await?;
    opts.worker_selector = args
        .worker_selector
        .clone()
        .unwrap_or_else(|| format!("cluster.x-k8s.io/cluster-name={tenant},cluster.x-k8s.io/role=worker"));
    let inv = inventory::gather(&client, &namespace, &tenant, tcp_status, &opts).await?;
    let plan = plan::build(&inv, &opts);
    let lease = format!("{namespace}/{}", inventory::lease_name(&tenant));

    if args.dry_run {
        let needs = inventory::needs(&plan, &opts);
        let missing = rbac::missing(&client, &needs).await.map_err(Error::kube)?;
        let holder = Lock::peek(&client, &namespace, &inventory::lease_name(&tenant)).await?.and_then(|l| match Lock::judge(&l) {
            Availability::Held(h) => Some(format!("{} since {}", h.identity, h.since.map_or_else(|| "?".into(), |t| t.to_string()))),
            _ => None,
        });
        let clean = missing.is_empty() && holder.is_none() && plan.blockers.is_empty();
        match ctx.output() {
            OutputFormat::Json | OutputFormat::Yaml => {
                let mut report = Report::new(plan, true, lease);
                report.missing_permissions = missing.iter().map(ToString::to_string).collect();
                if ctx.output() == OutputFormat::Json { output::print_json(&report)? } else { output::print_yaml(&report)? }
            }
            _ => {
                let text = render::plan_text(&plan, &render::Context {
                    dry_run: true,
                    backup_target: args.backup_dir.join(format!("pki-backup-{namespace}-{tenant}-<time>.yaml")).display().to_string(),
                    lease,
                    timeout: timeout_text,
                    missing: &missing,
                    needs: needs.len(),
                    lock_holder: holder,
                    write_kubeconfig: args.write_kubeconfig.as_ref().map(|f| f.display().to_string()),
                });
                output::write_stdout(&text)?;
            }
        }
        return Ok(if clean { Outcome::Ok } else { Outcome::Warning });
    }

    let settings = execute::Settings {
        opts,
        timeout,
        backup_dir: args.backup_dir.clone(),
        write_kubeconfig: args.write_kubeconfig.clone(),
        force_unlock: args.force_unlock,
    };
    eprintln!(
        "Rotating the CA of tenant {namespace}/{tenant}: method {}, {} secret(s) to back up, timeout {timeout_text} per wait.",
        plan.method.word(),
        plan.secrets.iter().filter(|s| s.backup).count()
    );
    let mut report = Report::new(plan.clone(), false, lease);
    let result = execute::execute(&client, &inv, &plan, &settings, &mut report).await;
    match ctx.output() {
        OutputFormat::Json => output::print_json(&report)?,
        OutputFormat::Yaml => output::print_yaml(&report)?,
        _ if result.is_ok() => output::write_stdout(&execute::summary(&report))?,
        _ => {}
    }
    result.map(|()| Outcome::Ok)
}
