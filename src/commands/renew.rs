//! `kubectl pki renew TENANT...`: turns the flags into a [`tenant::Request`], connects,
//! and prints what the run shows through `-o`. The only renew code that sees clap; no
//! renewal logic here.

use std::time::Duration;

use crate::cli::{RenewArgs, RenewOnly};
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::kamaji::version::KamajiVersion;
use crate::output;
use crate::renew::tenant::{self, Cluster, Request, leaves::Kind};

pub async fn run(args: RenewArgs, ctx: &Ctx) -> Result<Outcome> {
    let req = request(args)?;
    let ran = tenant::run(req, async || {
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
fn request(args: RenewArgs) -> Result<Request> {
    super::rotate_ca::selects_some("--kamaji-selector", &args.kamaji.kamaji_selector)?;
    let timeout = parse_duration(&args.timeout)
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::flag_value("--timeout", &args.timeout, "expected a duration above 0, like 10m or 1h"))?;
    let expiring_within = match &args.expiring_within {
        Some(text) => Some(
            parse_duration(text)
                .ok()
                .filter(|d| d.is_positive())
                .ok_or_else(|| Error::flag_value("--expiring-within", text, "expected a duration above 0, like 30d or 720h"))?,
        ),
        None => None,
    };
    let kamaji_version =
        match &args.kamaji_version {
            Some(v) => Some(KamajiVersion::parse_edge(v).ok_or_else(|| {
                Error::flag_value("--kamaji-version", v, "expected a Kamaji edge release like 26.3.5-edge or edge-25.7.3")
            })?),
            None => None,
        };
    let only = args.only.map(|o| match o {
        RenewOnly::X509 => Kind::X509,
        RenewOnly::Kubeconfig => Kind::Kubeconfig,
    });
    if only == Some(Kind::X509) && args.write_kubeconfig.is_some() {
        return Err(Error::Usage("--write-kubeconfig writes the renewed admin kubeconfig, which --only x509 does not renew".into()));
    }
    Ok(Request {
        tenants: args.tenants,
        only,
        expiring_within,
        kamaji_namespace: args.kamaji.kamaji_namespace,
        kamaji_selector: args.kamaji.kamaji_selector,
        kamaji_version,
        timeout,
        backup_dir: args.backup_dir,
        write_kubeconfig: args.write_kubeconfig,
        replace_kubeconfig: args.force,
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
        let cli = crate::cli::Cli::try_parse_from(["kubectl-pki", "renew"].into_iter().chain(args.iter().copied()))
            .map_err(|e| Error::Usage(e.to_string()))?;
        let crate::cli::Command::Renew(a) = cli.command else { unreachable!() };
        request(a)
    }

    #[test]
    fn defaults_are_a_dry_run_of_every_leaf() {
        let r = parse(&["demo"]).unwrap();
        assert!(r.dry_run && r.only.is_none() && r.expiring_within.is_none());
        assert_eq!(r.timeout, Duration::from_secs(600));
        assert_eq!((r.kamaji_namespace.as_str(), r.kamaji_selector.as_str()), ("cozy-kamaji", "app.kubernetes.io/name=kamaji"));
        let r =
            parse(&["demo", "--dry-run=false", "--only", "kubeconfig", "--expiring-within", "30d", "--write-kubeconfig", "f", "--force"])
                .unwrap();
        assert!(!r.dry_run && r.replace_kubeconfig);
        assert_eq!(r.only, Some(Kind::Kubeconfig));
        assert_eq!(r.expiring_within, Some(jiff::SignedDuration::from_hours(24 * 30)));
    }

    #[test]
    fn bad_flags_are_refused_before_anything_is_read() {
        assert!(parse(&["demo", "--timeout", "0s"]).unwrap_err().to_string().starts_with("--timeout \"0s\""));
        assert!(parse(&["demo", "--expiring-within", "soon"]).unwrap_err().to_string().starts_with("--expiring-within \"soon\""));
        assert!(parse(&["demo", "--kamaji-selector", " , "]).unwrap_err().to_string().contains("selects every pod"));
        assert!(parse(&["demo", "--kamaji-version", "latest"]).unwrap_err().to_string().contains("--kamaji-version"));
        assert!(parse(&["demo", "--only", "x509", "--write-kubeconfig", "f"]).unwrap_err().to_string().contains("--only x509"));
        assert!(parse(&["demo", "--force"]).is_err(), "--force needs --write-kubeconfig");
        assert!(parse(&["demo", "--only", "ca"]).is_err());
        assert!(parse(&[]).is_err(), "a tenant is required");
    }
}
