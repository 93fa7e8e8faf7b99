//! `kubectl pki restore`: turns the flags into [`restore::Options`] and runs it.
//!
//! Maps only: the domain does the work, no API call here.

use crate::cli::RestoreArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};
use crate::restore;

pub async fn run(args: RestoreArgs, ctx: &Ctx) -> Result<Outcome> {
    restore::run(&restore::Options { backup: args.backup, dry_run: args.dry_run, format: ctx.output() }, ctx).await
}
