//! `kubectl pki version`: prints [`VersionInfo`] in `-o`'s format.
//!
//! No logic beyond printing.

use crate::cli::VersionArgs;
use crate::context::Ctx;
use crate::error::{Outcome, Result};
use crate::output;
use crate::version::VersionInfo;

pub fn run(_args: VersionArgs, ctx: &Ctx) -> Result<Outcome> {
    let info = VersionInfo::current();
    output::emit(ctx.output(), &info, |_| Some(info.render_text()))?;
    Ok(Outcome::Ok)
}
