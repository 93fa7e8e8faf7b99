//! `kubectl pki talos`: turns the flags into the domain's options and picks the output.

use crate::cli::TalosArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub fn run(args: TalosArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::talos::run(args, ctx)
}
