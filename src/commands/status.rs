//! `kubectl pki status`: turns the flags into [`status::Options`] (typed
//! durations, the sources to read) and runs it.
//!
//! Parses and maps only: the domain does the work, no API call here.

use std::time::Duration;

use crate::cli::{Source, StatusArgs};
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::status::{self, fleet::Contexts, plan, row::SourceKind};

/// `contexts`: every `--context` given (the global flag; status alone takes several).
pub async fn run(args: StatusArgs, ctx: &Ctx, contexts: Vec<String>) -> Result<Outcome> {
    status::run(&options(args, ctx, contexts)?, ctx).await
}

fn options(args: StatusArgs, ctx: &Ctx, contexts: Vec<String>) -> Result<status::Options> {
    let warn_within = parse_duration(&args.warn_within).map_err(|e| Error::flag("--warn-within", e))?;
    let server_timeout = server_timeout(&args.server_timeout)?;
    let context_timeout = positive_duration("--context-timeout", &args.context_timeout)?;
    let contexts = fleet_contexts(&args, contexts, ctx.output())?;
    let sources = sources(&args)?;
    if args.endpoint.tenant_endpoint.is_some() && args.tenant.is_none() {
        return Err(Error::flag("--tenant-endpoint", "dials one tenant's API: give --tenant NAME".to_owned()));
    }
    let tenant_endpoint = super::tenant_endpoint(&args.endpoint)?;
    Ok(status::Options {
        sources,
        sources_chosen: !args.source.is_empty(),
        all_namespaces: args.all_namespaces,
        tenant: args.tenant,
        all_tenants: args.all_tenants,
        concurrency: usize::from(args.concurrency),
        contexts,
        context_timeout,
        sort_by: match args.sort_by {
            crate::cli::SortBy::Expiry => status::table::SortBy::Expiry,
            crate::cli::SortBy::Name => status::table::SortBy::Name,
        },
        files: args.files.file,
        k3s_dir: args.files.k3s_dir,
        kubeadm_dir: args.files.kubeadm_dir,
        warn_within,
        server_timeout,
        summary: args.summary,
        page_size: args.page_size,
        format: ctx.output(),
        kamaji_namespace: args.kamaji.kamaji_namespace,
        kamaji_selector: args.kamaji.kamaji_selector,
        tenant_endpoint,
    })
}

/// `--source` and the flags that feed a source, planned.
fn sources(args: &StatusArgs) -> Result<Vec<SourceKind>> {
    let requested: Vec<SourceKind> = args.source.iter().map(|&s| kind(s)).collect();
    if args.all_tenants {
        // The tenants and nothing else: the table is one row per tenant.
        return match requested.iter().find(|&&k| k != SourceKind::Tenant) {
            Some(other) => Err(Error::Usage(format!("--all-tenants reads the tenant source only, not --source {}", other.as_str()))),
            None if !args.files.file.is_empty() || args.files.k3s_dir.is_some() || args.files.kubeadm_dir.is_some() => {
                Err(Error::Usage("--all-tenants reads the tenant source only: --file, --k3s-dir and --kubeadm-dir do not apply".into()))
            }
            None => Ok(vec![SourceKind::Tenant]),
        };
    }
    let given = plan::Given {
        tenant: args.tenant.is_some(),
        file: !args.files.file.is_empty(),
        k3s_dir: args.files.k3s_dir.is_some(),
        kubeadm_dir: args.files.kubeadm_dir.is_some(),
    };
    plan::sources(&requested, given)
}

fn kind(s: Source) -> SourceKind {
    match s {
        Source::Kubeconfig => SourceKind::Kubeconfig,
        Source::Server => SourceKind::Server,
        Source::Secrets => SourceKind::Secrets,
        Source::Cabundle => SourceKind::Cabundle,
        Source::Configmaps => SourceKind::Configmaps,
        Source::Tenant => SourceKind::Tenant,
        Source::File => SourceKind::File,
        Source::K3s => SourceKind::K3s,
        Source::Kubeadm => SourceKind::Kubeadm,
    }
}

/// `--all-contexts` or `--context` more than once: a fleet run, whose
/// sources are the cluster's (a tenant name or a node file is one cluster's).
fn fleet_contexts(args: &StatusArgs, given: Vec<String>, ctx_format: crate::output::OutputFormat) -> Result<Contexts> {
    let contexts = match (args.all_contexts, given.len()) {
        (true, 0) => Contexts::All,
        (true, _) => return Err(Error::Usage("--all-contexts reads every context: do not also give --context".into())),
        (false, 0 | 1) => return Ok(Contexts::Current),
        (false, _) => Contexts::Named(given),
    };
    if ctx_format == crate::output::OutputFormat::Prometheus {
        return Err(Error::Usage(
            "-o prometheus is one cluster's series (a context's would collide with another's): give one --context".into(),
        ));
    }
    if args.tenant.is_some() {
        return Err(Error::Usage("--tenant names a tenant of one cluster: give one --context with it (or --all-tenants)".into()));
    }
    if !args.files.file.is_empty() || args.files.k3s_dir.is_some() || args.files.kubeadm_dir.is_some() {
        return Err(Error::Usage(
            "--file, --k3s-dir and --kubeadm-dir are read on this machine, not per context: run them without several contexts".into(),
        ));
    }
    Ok(contexts)
}

/// `--server-timeout`: a positive duration (`3s`, `500ms`).
fn server_timeout(text: &str) -> Result<Duration> {
    positive_duration("--server-timeout", text)
}

fn positive_duration(flag: &'static str, text: &str) -> Result<Duration> {
    parse_duration(text)
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::flag(flag, format!("invalid duration {text:?}: expected more than 0, like 3s or 500ms")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<Vec<&'static str>> {
        let cli =
            crate::cli::Cli::try_parse_from(std::iter::once("kubectl-pki").chain(std::iter::once("status")).chain(args.iter().copied()))
                .map_err(|e| Error::Usage(e.to_string()))?;
        let crate::cli::Command::Status(a) = cli.command else { unreachable!() };
        Ok(sources(&a)?.into_iter().map(SourceKind::as_str).collect())
    }

    #[test]
    fn defaults() {
        let cluster = ["kubeconfig", "server", "secrets", "cabundle", "configmaps"];
        assert_eq!(plan(&[]).unwrap(), cluster);
        assert_eq!(plan(&["--tenant", "t"]).unwrap(), [&cluster[..], &["tenant"]].concat());
        assert_eq!(plan(&["--file", "a", "--k3s-dir", "d"]).unwrap(), ["file", "k3s"], "offline flags alone do not contact the cluster");
        assert_eq!(plan(&["--file", "a", "--tenant", "t"]).unwrap(), [&cluster[..], &["tenant", "file"]].concat());
    }

    #[test]
    fn explicit_sources_must_match_flags() {
        assert_eq!(plan(&["--source", "secrets,kubeconfig"]).unwrap(), ["kubeconfig", "secrets"]);
        assert_eq!(plan(&["--source", "configmaps,cabundle"]).unwrap(), ["cabundle", "configmaps"]);
        assert_eq!(plan(&["--source", "file", "--file", "a", "--source", "server"]).unwrap(), ["server", "file"]);
        assert!(plan(&["--source", "file"]).unwrap_err().to_string().contains("needs --file"));
        assert!(plan(&["--source", "secrets", "--k3s-dir", "d"]).unwrap_err().to_string().contains("--k3s-dir is given"));
        assert!(plan(&["--source", "tenant"]).is_err());
    }

    #[test]
    fn every_source_flag_has_its_kind() {
        use clap::ValueEnum;
        for s in Source::value_variants() {
            let name = s.to_possible_value().unwrap();
            assert_eq!(kind(*s).as_str(), name.get_name());
        }
    }

    #[test]
    fn server_timeout_is_a_positive_duration() {
        assert_eq!(server_timeout("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(server_timeout("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["0s", "-1s", "soon", ""] {
            assert!(server_timeout(bad).unwrap_err().to_string().starts_with("--server-timeout: "), "{bad}");
        }
    }
}
