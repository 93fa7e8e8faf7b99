//! kubectl-pki: the certificate lifecycle of Kubernetes clusters.
//!
//! The binary is a thin edge (`main.rs`); each subcommand lives in its own
//! module with `run(args, ctx) -> Result<Outcome>`, collecting first and
//! rendering through [`output`].

pub mod certs;
pub mod cli;
pub mod completion;
pub mod context;
pub mod error;
pub mod issuer;
pub mod k3s;
pub mod kamaji;
pub mod lock;
pub mod logging;
pub mod output;
pub mod rbac;
pub mod restarts;
pub mod restore;
pub mod rotate;
pub mod status;
pub mod talos;
pub mod version;
pub mod workloads;

use cli::{Cli, Command};
use context::Ctx;
pub use error::{Error, Outcome, Result};

/// Dispatches one parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Ctx::new(cli.global);
    match cli.command {
        Command::Status(args) => status::run(args, &ctx).await,
        Command::Version(args) => version::run(args, &ctx),
        Command::Completion(args) => completion::run(args),
        Command::Talos(args) => talos::run(args, &ctx),
        Command::K3s(args) => k3s::run(args, &ctx),
        Command::RotateCa(args) => rotate::run(args, &ctx).await,
        Command::Restarts(args) => restarts::run(args, &ctx).await,
        Command::Restore(args) => restore::run(args, &ctx).await,
    }
}
