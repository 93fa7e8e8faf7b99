//! `kubectl pki talos`: Talos PKI without talosctl or a running node.

pub mod ca_source;
pub mod config_new;
pub mod roles;

use crate::cli::{TalosArgs, TalosCommand, TalosConfigCommand};
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub fn run(args: TalosArgs, ctx: &Ctx) -> Result<Outcome> {
    match args.command {
        TalosCommand::Config(config) => match config.command {
            TalosConfigCommand::New(new) => config_new::run(new, ctx),
        },
    }
}
