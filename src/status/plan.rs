//! Which sources a `status` run reads, from `--source` and the flags given.

use crate::cli::{Source, StatusArgs};
use crate::error::{Error, Result};

use super::row::SourceKind;

/// Without `--source`: the cluster sources (kubeconfig, server, secrets),
/// plus tenant/file/k3s when their flags are given; but when only `--file`
/// or `--k3s-dir` is given, the cluster is not contacted at all.
/// With `--source`: exactly those, and each flag must match its source.
pub fn sources(args: &StatusArgs) -> Result<Vec<SourceKind>> {
    let has_tenant = args.tenant.is_some();
    let has_file = !args.file.is_empty();
    let has_k3s = args.k3s_dir.is_some();
    let mut out: Vec<SourceKind> = Vec::new();
    if args.source.is_empty() {
        if has_tenant || !(has_file || has_k3s) {
            out.extend([SourceKind::Kubeconfig, SourceKind::Server, SourceKind::Secrets]);
        }
        if has_tenant {
            out.push(SourceKind::Tenant);
        }
        if has_file {
            out.push(SourceKind::File);
        }
        if has_k3s {
            out.push(SourceKind::K3s);
        }
        return Ok(out);
    }
    for s in &args.source {
        let kind = kind(*s);
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    let check = |kind: SourceKind, given: bool, flag: &str| -> Result<()> {
        match (out.contains(&kind), given) {
            (true, false) => Err(Error::Invalid(format!("--source {} needs {flag}", kind.as_str()))),
            (false, true) => Err(Error::Invalid(format!("{flag} is given but --source does not include {}", kind.as_str()))),
            _ => Ok(()),
        }
    };
    check(SourceKind::Tenant, has_tenant, "--tenant")?;
    check(SourceKind::File, has_file, "--file")?;
    check(SourceKind::K3s, has_k3s, "--k3s-dir")?;
    // Report in a fixed order whatever order the flags came in.
    let order = [SourceKind::Kubeconfig, SourceKind::Server, SourceKind::Secrets, SourceKind::Tenant, SourceKind::File, SourceKind::K3s];
    Ok(order.into_iter().filter(|k| out.contains(k)).collect())
}

fn kind(s: Source) -> SourceKind {
    match s {
        Source::Kubeconfig => SourceKind::Kubeconfig,
        Source::Server => SourceKind::Server,
        Source::Secrets => SourceKind::Secrets,
        Source::Tenant => SourceKind::Tenant,
        Source::File => SourceKind::File,
        Source::K3s => SourceKind::K3s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<Vec<&'static str>> {
        let cli =
            crate::cli::Cli::try_parse_from(std::iter::once("kubectl-pki").chain(std::iter::once("status")).chain(args.iter().copied()))
                .map_err(|e| Error::Invalid(e.to_string()))?;
        let crate::cli::Command::Status(a) = cli.command else { unreachable!() };
        Ok(sources(&a)?.into_iter().map(SourceKind::as_str).collect())
    }

    #[test]
    fn defaults() {
        assert_eq!(plan(&[]).unwrap(), ["kubeconfig", "server", "secrets"]);
        assert_eq!(plan(&["--tenant", "t"]).unwrap(), ["kubeconfig", "server", "secrets", "tenant"]);
        assert_eq!(plan(&["--file", "a", "--k3s-dir", "d"]).unwrap(), ["file", "k3s"], "offline flags alone do not contact the cluster");
        assert_eq!(plan(&["--file", "a", "--tenant", "t"]).unwrap(), ["kubeconfig", "server", "secrets", "tenant", "file"]);
    }

    #[test]
    fn explicit_sources_must_match_flags() {
        assert_eq!(plan(&["--source", "secrets,kubeconfig"]).unwrap(), ["kubeconfig", "secrets"]);
        assert_eq!(plan(&["--source", "file", "--file", "a", "--source", "server"]).unwrap(), ["server", "file"]);
        assert!(plan(&["--source", "file"]).unwrap_err().to_string().contains("needs --file"));
        assert!(plan(&["--source", "secrets", "--k3s-dir", "d"]).unwrap_err().to_string().contains("--k3s-dir is given"));
        assert!(plan(&["--source", "tenant"]).is_err());
    }
}
