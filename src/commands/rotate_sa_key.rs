//! `kubectl pki rotate-sa-key TENANT`: turns the flags into a [`sakey::Request`], connects,
//! and prints what the run shows through `-o`. The only rotate-sa-key code that sees clap.

use std::time::Duration;

use crate::cli::RotateSaKeyArgs;
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::output;
use crate::sakey::{self, Cluster, Request, state::Mode};

pub async fn run(args: RotateSaKeyArgs, ctx: &Ctx) -> Result<Outcome> {
    let req = request(args, ctx.settings.request_timeout)?;
    let ran = sakey::run(req, async || {
        let client = ctx.client().await?;
        let namespace = ctx.namespace().await?;
        let server = ctx.config().await?.cluster_url.to_string();
        Ok(Cluster { client, namespace, server })
    })
    .await?;
    output::emit(ctx.output(), &ran.report, |_| ran.text)?;
    ran.result
}

/// The flags, parsed and checked (nothing is read from the cluster).
fn request(args: RotateSaKeyArgs, request_timeout: Option<Duration>) -> Result<Request> {
    let timeout = parse_duration(&args.timeout)
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::flag_value("--timeout", &args.timeout, "expected a duration above 0, like 10m or 1h"))?;
    Ok(Request {
        tenant: args.tenant,
        mode: if args.finish { Mode::Finish } else { Mode::Stage },
        force: args.force,
        timeout,
        request_timeout,
        backup_dir: args.backup_dir,
        force_unlock: args.force_unlock,
        tenant_endpoint: super::tenant_endpoint(&args.endpoint)?,
        dry_run: args.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Request> {
        let cli = crate::cli::Cli::try_parse_from(["kubectl-pki", "rotate-sa-key"].into_iter().chain(args.iter().copied()))
            .map_err(|e| Error::Usage(e.to_string()))?;
        let crate::cli::Command::RotateSaKey(a) = cli.command else { unreachable!() };
        request(a, None)
    }

    #[test]
    fn defaults_are_a_dry_run_of_a_stage() {
        let r = parse(&["demo"]).unwrap();
        assert!(r.dry_run && !r.force && r.mode == Mode::Stage);
        assert_eq!(r.timeout, Duration::from_secs(600));
        let r = parse(&["demo", "--finish", "--force", "--dry-run=false", "--timeout", "1h"]).unwrap();
        assert!(!r.dry_run && r.force && r.mode == Mode::Finish);
    }

    #[test]
    fn bad_flags_are_refused_before_anything_is_read() {
        assert!(parse(&["demo", "--timeout", "0s"]).unwrap_err().to_string().starts_with("--timeout \"0s\""));
        assert!(parse(&["demo", "--force"]).is_err(), "--force needs --finish");
        assert!(parse(&[]).is_err(), "a tenant is required");
    }
}
