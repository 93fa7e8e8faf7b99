//! The kubeconfig in use: the context's cluster CA and client certificate
//! (inline or by path), the client's identity in SUBJECT (CN [groups]).
//!
//! The kubeconfig Ctx parsed, never read again here; no network, no clap.

use crate::certs::kubeconfig::{self, ContextCerts};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// The selected context's certificates, from the kubeconfig the client is
/// built from and the context it resolved; also used by the server source.
pub fn context_certs(ctx: &Ctx) -> Result<ContextCerts> {
    let kc = ctx.kubeconfig()?;
    let context = ctx.context_name(kc);
    // Paths are already absolute (kube resolves them against the file).
    kubeconfig::for_context(kc, context.as_deref(), Some(std::path::Path::new(".")))
        .map_err(|reason| Error::Kubeconfig { path: ctx.kubeconfig_origin(), reason })
}

pub fn collect(certs: &ContextCerts, col: &mut Collector<'_>) -> Result<()> {
    let mut ex = Extractor::new();
    ex.kubeconfig_context(&Location::default(), certs);
    let verdicts = judge::within_document(&ex.items);
    col.push_items(SourceKind::Kubeconfig, &certs.context, &ex.items, verdicts);
    Ok(())
}
