//! `kubectl pki status`.

use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub async fn run(_args: StatusArgs, _ctx: &Ctx) -> Result<Outcome> {
    Ok(Outcome::Ok)
}
