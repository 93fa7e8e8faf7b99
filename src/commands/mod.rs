//! The command layer: one file per subcommand, the only code besides
//! `cli.rs` and `main.rs`/`lib.rs` that sees clap types. Each turns its
//! `*Args` into the plain options of a domain module, calls it, and picks
//! the output; the domain modules know nothing of the command line.

pub mod completion;
pub mod exporter;
pub mod k3s;
pub mod kubeconfig;
pub mod renew;
pub mod restarts;
pub mod restore;
pub mod rotate_ca;
pub mod rotate_sa_key;
pub mod status;
pub mod talos;
pub mod version;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::context::{Ctx, Settings};
use crate::error::{Outcome, Result};

/// `--tenant-endpoint`, checked before anything is read.
pub(crate) fn tenant_endpoint(args: &crate::cli::TenantEndpoint) -> Result<Option<crate::kamaji::endpoint::Dial>> {
    let Some(url) = &args.tenant_endpoint else { return Ok(None) };
    let dial = crate::kamaji::endpoint::Dial::parse(url).map_err(|why| crate::error::Error::flag_value("--tenant-endpoint", url, why))?;
    Ok(Some(dial))
}

/// Dispatches one parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let contexts = cli.global.context.clone();
    if contexts.len() > 1 && !matches!(cli.command, Command::Status(_)) {
        return Err(crate::error::Error::flag("--context", format!("given {} times: only status reads several contexts", contexts.len())));
    }
    let ctx = Ctx::new(settings(cli.global)?);
    if ctx.output() == crate::output::OutputFormat::Prometheus && !matches!(cli.command, Command::Status(_)) {
        return Err(crate::error::Error::flag("-o", "prometheus is an output of status only".to_owned()));
    }
    match cli.command {
        Command::Status(args) => status::run(args, &ctx, contexts).await,
        Command::Exporter(args) => exporter::run(args, &ctx).await,
        Command::Version(args) => version::run(args, &ctx),
        Command::Completion(args) => completion::run(args),
        Command::Talos(args) => talos::run(args, &ctx),
        Command::K3s(args) => k3s::run(args, &ctx),
        Command::RotateCa(args) => rotate_ca::run(args, &ctx).await,
        Command::Renew(args) => renew::run(args, &ctx).await,
        Command::RotateSaKey(args) => rotate_sa_key::run(args, &ctx).await,
        Command::Restarts(args) => restarts::run(args, &ctx).await,
        Command::Restore(args) => restore::run(args, &ctx).await,
        Command::Kubeconfig(args) => kubeconfig::run(args, &ctx).await,
    }
}

/// The global flags as the run context holds them.
pub fn settings(global: GlobalArgs) -> Result<Settings> {
    Ok(Settings {
        kubeconfig: global.kubeconfig,
        context: global.context.into_iter().next(),
        namespace: global.namespace,
        output: global.output,
        request_timeout: request_timeout(&global.request_timeout)?,
    })
}

/// `--request-timeout` as kubectl reads it: a duration, a bare number of
/// seconds, `0` for none.
fn request_timeout(text: &str) -> Result<Option<std::time::Duration>> {
    let trimmed = text.trim();
    let d = match trimmed.parse::<u64>() {
        Ok(seconds) => std::time::Duration::from_secs(seconds),
        Err(_) => crate::duration::parse_duration(trimmed).ok().and_then(|d| std::time::Duration::try_from(d).ok()).ok_or_else(|| {
            crate::error::Error::flag("--request-timeout", format!("invalid duration {text:?}: expected 30s, 1m, 0 (no limit) or seconds"))
        })?,
    };
    Ok((!d.is_zero()).then_some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn request_timeout_reads_as_kubectl_does() {
        assert_eq!(request_timeout("30s").unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(request_timeout("45").unwrap(), Some(Duration::from_secs(45)));
        assert_eq!(request_timeout("1m").unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(request_timeout("0").unwrap(), None);
        assert_eq!(request_timeout("0s").unwrap(), None);
        let err = request_timeout("soon").unwrap_err().to_string();
        assert!(err.contains("--request-timeout") && err.contains("soon"), "{err}");
    }
}
