//! `kubectl pki talos`: turns the flags into [`config_new::Options`]
//! (roles checked, the lifetime parsed), writes the talosconfig offline and
//! prints what was written in `-o`'s format.
//!
//! Parses and maps only: the domain does the work.

use crate::cli::{TalosArgs, TalosCommand, TalosConfigCommand, TalosConfigNewArgs};
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::talos::config_new::{self, CaSource};
use crate::talos::roles;

pub fn run(args: TalosArgs, ctx: &Ctx) -> Result<Outcome> {
    match args.command {
        TalosCommand::Config(config) => match config.command {
            TalosConfigCommand::New(new) => {
                let written = config_new::generate(&config_new_options(new)?)?;
                config_new::render(&written, ctx.output())?;
                Ok(Outcome::Ok)
            }
        },
    }
}

fn config_new_options(a: TalosConfigNewArgs) -> Result<config_new::Options> {
    let roles = roles::validate(&a.roles).map_err(Error::Invalid)?;
    let crt_ttl = parse_duration(&a.crt_ttl).map_err(|e| Error::flag("--crt-ttl", e))?;
    if crt_ttl.as_secs() <= 0 {
        return Err(Error::flag("--crt-ttl", "must be positive"));
    }
    if a.context_name.trim().is_empty() {
        return Err(Error::Usage("--context-name must not be empty".into()));
    }
    let ca = match (a.ca, a.ca_key, a.from_secrets, a.from_machine_config) {
        (Some(cert), Some(key), _, _) => CaSource::Files { cert, key },
        (_, _, Some(secrets), _) => CaSource::Secrets(secrets),
        (_, _, _, Some(config)) => CaSource::MachineConfig(config),
        _ => return Err(Error::Usage("give --ca and --ca-key, --from-secrets or --from-machine-config".into())),
    };
    Ok(config_new::Options {
        path: a.out.unwrap_or(a.path),
        ca,
        roles,
        crt_ttl,
        endpoints: a.endpoints,
        nodes: a.nodes,
        context_name: a.context_name,
        force: a.force,
    })
}
