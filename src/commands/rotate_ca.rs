//! `kubectl pki rotate-ca`: turns the flags into a [`rotate::Request`],
//! connects, and prints what the run shows through `-o`. The only rotate
//! code that sees clap; no rotation logic here.

use std::time::Duration;

use crate::cli::{RotateCaArgs, RotateMethod};
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::kamaji::version::KamajiVersion;
use crate::output;
use crate::rotate::plan::{MethodChoice, Options};
use crate::rotate::{self, Cluster, Request};

pub async fn run(args: RotateCaArgs, ctx: &Ctx) -> Result<Outcome> {
    let req = request(args)?;
    let ran = rotate::run(req, async || {
        let client = ctx.client().await?;
        let namespace = ctx.namespace().await?;
        let server = ctx.config().await?.cluster_url.to_string();
        Ok(Cluster { client, namespace, server })
    })
    .await?;
    output::emit(ctx.output(), &ran.doc, |_| ran.text)?;
    ran.result
}

/// The flags, parsed and checked (nothing is read from the cluster).
fn request(args: RotateCaArgs) -> Result<Request> {
    // An empty selector matches every pod: the restarts would delete them all.
    selects_some("--kamaji-selector", &args.kamaji.kamaji_selector)?;
    if let Some(s) = &args.worker_selector {
        selects_some("--worker-selector", s)?;
    }
    let timeout = parse_duration(&args.timeout).map_err(|e| Error::Invalid(format!("--timeout: {e}")))?;
    let timeout = Duration::try_from(timeout).map_err(|e| Error::Invalid(format!("--timeout: {e}")))?;
    let kamaji_version = match &args.kamaji_version {
        Some(v) => Some(KamajiVersion::parse_edge(v).ok_or_else(|| {
            Error::Invalid(format!("--kamaji-version {v:?}: expected a Kamaji edge release like 26.3.5-edge or edge-25.7.3"))
        })?),
        None => None,
    };
    Ok(Request {
        tenants: args.tenants,
        options: Options {
            method: match args.method {
                RotateMethod::Auto => MethodChoice::Auto,
                RotateMethod::Annotate => MethodChoice::Annotate,
                RotateMethod::Delete => MethodChoice::Delete,
            },
            keep_sa_key: args.keep_sa_key,
            restart_workers: args.restart_workers,
            kamaji_namespace: args.kamaji.kamaji_namespace,
            kamaji_selector: args.kamaji.kamaji_selector,
            kamaji_version,
            worker_selector: String::new(),
            write_kubeconfig: args.write_kubeconfig.is_some(),
            backup: args.backup,
            resume_stale: args.resume_stale,
            tenant_endpoint: super::tenant_endpoint(&args.endpoint)?,
        },
        worker_selector: args.worker_selector,
        timeout,
        backup_dir: args.backup_dir,
        write_kubeconfig: args.write_kubeconfig,
        replace_kubeconfig: args.force,
        force_unlock: args.force_unlock,
        parallel: usize::from(args.parallel),
        dry_run: args.dry_run,
    })
}

/// Refuses a selector that matches every pod (empty, or only spaces and commas).
pub(crate) fn selects_some(flag: &'static str, selector: &str) -> Result<()> {
    if selector.split(',').all(|term| term.trim().is_empty()) {
        return Err(Error::flag_value(flag, selector, "selects every pod in the namespace; give a label selector such as app=name"));
    }
    Ok(())
}
