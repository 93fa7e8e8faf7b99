//! `kubectl pki version`.

use crate::cli::VersionArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub fn run(_args: VersionArgs, _ctx: &Ctx) -> Result<Outcome> {
    crate::output::write_stdout(&format!("kubectl-pki {}\n", env!("CARGO_PKG_VERSION")))?;
    Ok(Outcome::Ok)
}
