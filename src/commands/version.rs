//! `kubectl pki version`: turns the flags into the domain's options and picks the output.

use crate::cli::VersionArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub fn run(args: VersionArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::version::run(args, ctx)
}
