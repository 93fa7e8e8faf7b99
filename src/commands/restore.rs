//! `kubectl pki restore`: turns the flags into [`restore::Options`], runs it
//! and renders its report; a run where any secret failed ends in
//! [`Error::RestoreIncomplete`] (exit 1), after the table.
//!
//! Maps only: the domain does the work, no API call here.

use crate::cli::RestoreArgs;
use crate::context::Ctx;
use crate::error::{Error, FailedItem, Outcome, Result};
use crate::output::{self, OutputFormat, clean_line};
use crate::restore::{self, render};

pub async fn run(args: RestoreArgs, ctx: &Ctx) -> Result<Outcome> {
    let opts = restore::Options {
        backup: args.backup,
        dry_run: args.dry_run,
        namespace: ctx.settings.namespace.clone(),
        backup_dir: args.backup_dir,
        no_identity_check: args.no_identity_check,
        force_unlock: args.force_unlock,
    };
    let format = ctx.output();
    let report = restore::run(&opts, ctx, |line| eprintln!("{}", clean_line(line))).await?;
    let human = !matches!(format, OutputFormat::Json | OutputFormat::Yaml);
    if human {
        for line in render::header(&report) {
            eprintln!("{line}");
        }
    } else {
        // Warnings reach the operator whatever the format.
        for w in &report.warnings {
            eprintln!("warning: {}", clean_line(w));
        }
    }
    output::emit(format, &report, |_| Some(render::table(&report)))?;
    if human {
        eprintln!("{}", render::summary(&report));
    }
    let failed = report.failed();
    if !failed.is_empty() {
        return Err(Error::RestoreIncomplete {
            total: report.secrets.len(),
            failed: failed.iter().map(|r| FailedItem { name: r.name.clone(), reason: r.error.clone().unwrap_or_default() }).collect(),
        });
    }
    Ok(Outcome::Ok)
}
