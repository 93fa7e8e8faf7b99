//! `kubectl pki restore`: turns the flags into the domain's options and picks the output.

use crate::cli::RestoreArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub async fn run(args: RestoreArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::restore::run(args, ctx).await
}
