//! `kubectl pki status`: every certificate the current context depends on,
//! with expiry, chain verdict and a status per row; the exit code is the
//! worst status (0 ok, 3 expiring or pending-restart, 4 expired/invalid/
//! not-yet-valid/mismatch or an unverified chain).
//!
//! Sources push rows into a [`row::Collector`], which hands each to the
//! [`render::Output`] of the chosen format as it is judged; the document
//! is printed once every source has succeeded.

pub mod item;
pub mod judge;
pub mod plan;
pub mod render;
pub mod row;
pub mod served;
pub mod sources;

use jiff::Timestamp;

use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use row::{Collector, SourceKind};

pub async fn run(args: StatusArgs, ctx: &Ctx) -> Result<Outcome> {
    let warn_within = parse_duration(&args.warn_within).map_err(|e| Error::Invalid(format!("--warn-within: {e}")))?;
    let server_timeout = server_timeout(&args.server_timeout)?;
    let sources = plan::sources(&args)?;
    let mut output = render::Output::new(ctx.output(), args.summary);
    let mut col = Collector::new(Timestamp::now(), warn_within, &mut output);
    for source in &sources {
        match source {
            SourceKind::Kubeconfig => sources::kubeconfig::collect(ctx, &mut col)?,
            SourceKind::Server => sources::server::collect(ctx, &mut col, server_timeout).await?,
            SourceKind::Secrets => {
                let tenant = match (&args.tenant, sources.contains(&SourceKind::Tenant)) {
                    (Some(t), true) => Some((ctx.namespace().await?, t.clone())),
                    _ => None,
                };
                let opts = sources::secrets::Options { all_namespaces: args.all_namespaces, page_size: args.page_size, tenant };
                sources::secrets::collect(ctx, &mut col, &opts).await?
            }
            SourceKind::Tenant => {
                let name = args.tenant.as_deref().unwrap_or_default();
                sources::tenant::collect(ctx, &mut col, name, args.page_size, server_timeout).await?
            }
            SourceKind::File => sources::files::collect(&args.file, &mut col)?,
            SourceKind::K3s => {
                if let Some(dir) = &args.k3s_dir {
                    sources::k3s::collect(dir, &mut col)?
                }
            }
        }
    }
    let tally = col.finish();
    output.print(&tally)?;
    Ok(tally.outcome)
}

/// `--server-timeout`: a positive duration (`3s`, `500ms`).
fn server_timeout(text: &str) -> Result<std::time::Duration> {
    parse_duration(text)
        .ok()
        .and_then(|d| std::time::Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::Invalid(format!("--server-timeout: invalid duration {text:?}: expected more than 0, like 3s or 500ms")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timeout_is_a_positive_duration() {
        assert_eq!(server_timeout("3s").unwrap(), std::time::Duration::from_secs(3));
        assert_eq!(server_timeout("500ms").unwrap(), std::time::Duration::from_millis(500));
        for bad in ["0s", "-1s", "soon", ""] {
            assert!(server_timeout(bad).unwrap_err().to_string().starts_with("--server-timeout: "), "{bad}");
        }
    }
}
