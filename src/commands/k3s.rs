//! `kubectl pki k3s`: turns the flags into the domain's options and picks the output.

use crate::cli::K3sArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub fn run(args: K3sArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::k3s::run(args, ctx)
}
