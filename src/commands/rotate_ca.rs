//! `kubectl pki rotate-ca`: turns the flags into the domain's options and picks the output.

use crate::cli::RotateCaArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub async fn run(args: RotateCaArgs, ctx: &Ctx) -> Result<Outcome> {
    crate::rotate::run(args, ctx).await
}
