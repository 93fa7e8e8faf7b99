//! `kubectl pki completion SHELL`: prints a static completion script.

use crate::cli::CompletionArgs;
use crate::error::{Outcome, Result};

pub fn run(args: CompletionArgs) -> Result<Outcome> {
    crate::completion::run(args)
}
