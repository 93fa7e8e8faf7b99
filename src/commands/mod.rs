//! The command layer: one file per subcommand, the only code besides
//! `cli.rs` and `main.rs`/`lib.rs` that sees clap types. Each turns its
//! `*Args` into the plain options of a domain module, calls it, and picks
//! the output; the domain modules know nothing of the command line.

pub mod completion;
pub mod k3s;
pub mod kubeconfig;
pub mod restarts;
pub mod restore;
pub mod rotate_ca;
pub mod status;
pub mod talos;
pub mod version;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::context::{Ctx, Settings};
use crate::error::{Outcome, Result};

/// Dispatches one parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Ctx::new(settings(cli.global));
    match cli.command {
        Command::Status(args) => status::run(args, &ctx).await,
        Command::Version(args) => version::run(args, &ctx),
        Command::Completion(args) => completion::run(args),
        Command::Talos(args) => talos::run(args, &ctx),
        Command::K3s(args) => k3s::run(args, &ctx),
        Command::RotateCa(args) => rotate_ca::run(args, &ctx).await,
        Command::Restarts(args) => restarts::run(args, &ctx).await,
        Command::Restore(args) => restore::run(args, &ctx).await,
        Command::Kubeconfig(args) => kubeconfig::run(args, &ctx).await,
    }
}

/// The global flags as the run context holds them.
pub fn settings(global: GlobalArgs) -> Settings {
    Settings { kubeconfig: global.kubeconfig, context: global.context, namespace: global.namespace, output: global.output }
}
