//! `kubectl pki status`: every certificate the current context depends on,
//! with expiry, chain verdict and a status per row; the exit code is the
//! worst status (0 ok, 3 expiring, 4 expired/invalid/not-yet-valid).
//!
//! Sources push rows into a [`row::Collector`]; [`render`] prints them.

pub mod item;
pub mod judge;
pub mod plan;
pub mod render;
pub mod row;
pub mod sources;

use jiff::Timestamp;

use crate::certs::status::parse_duration;
use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::error::{Error, Outcome, Result};
use crate::output;
use row::{Collector, SourceKind};

pub async fn run(args: StatusArgs, ctx: &Ctx) -> Result<Outcome> {
    let warn_within = parse_duration(&args.warn_within).map_err(|e| Error::Invalid(format!("--warn-within: {e}")))?;
    let sources = plan::sources(&args)?;
    let mut col = Collector::new(Timestamp::now(), warn_within);
    for source in &sources {
        match source {
            SourceKind::Kubeconfig => sources::kubeconfig::collect(ctx, &mut col)?,
            SourceKind::Server => sources::server::collect(ctx, &mut col).await?,
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
                sources::tenant::collect(ctx, &mut col, name, args.page_size).await?
            }
            SourceKind::File => sources::files::collect(&args.file, &mut col)?,
            SourceKind::K3s => {
                if let Some(dir) = &args.k3s_dir {
                    sources::k3s::collect(dir, &mut col)?
                }
            }
        }
    }
    output::write_stdout(&render::render(&col, ctx.output(), args.summary)?)?;
    Ok(col.outcome())
}
