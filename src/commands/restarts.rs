//! `kubectl pki restarts`: turns the flags into the domain's options and picks the output.

use crate::cli::RestartsArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub async fn run(args: RestartsArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::restarts::run(args, ctx).await
}
