//! `kubectl pki status`: turns the flags into the domain's options and picks the output.

use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub async fn run(args: StatusArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::status::run(args, ctx).await
}
