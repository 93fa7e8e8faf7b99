//! Secrets of one namespace (or all): every certificate in
//! `kubernetes.io/tls` and Opaque secrets, embedded kubeconfigs included.
//! Listing is paginated (`limit` + `continue`) and each page is processed
//! and dropped, so memory stays flat however many secrets there are.
//!
//! Fetches and pushes rows; never renders, no clap.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};

use crate::context::Ctx;
use crate::error::Result;
use crate::kamaji::names as kamaji;
use crate::output;
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// Secret types that never hold certificates but can be large.
const SKIPPED_TYPES: [&str; 1] = ["helm.sh/release.v1"];

pub struct Options {
    pub all_namespaces: bool,
    pub page_size: u32,
    /// `(namespace, tcp)`: secrets of this tenant are left to the tenant source.
    pub tenant: Option<(String, String)>,
}

pub async fn collect(ctx: &Ctx, col: &mut Collector<'_>, opts: &Options) -> Result<()> {
    let client = ctx.client().await?;
    let api: Api<Secret> = if opts.all_namespaces { Api::all(client) } else { Api::namespaced(client, &ctx.namespace().await?) };
    let bar = output::progress(None, "reading secrets");
    let result = each_secret(ctx, &api, ListParams::default(), opts.page_size, |secret| {
        bar.inc(1);
        if belongs_to_tenant(secret, opts.tenant.as_ref()) {
            return;
        }
        let (prefix, ex) = items_of(secret);
        let verdicts = judge::within_document(&ex.items);
        col.push_items(SourceKind::Secrets, &prefix, &ex.items, verdicts);
    })
    .await;
    bar.finish_and_clear();
    result
}

/// Lists page by page and hands each secret to `f`; pages are not kept.
pub async fn each_secret(ctx: &Ctx, api: &Api<Secret>, base: ListParams, page_size: u32, mut f: impl FnMut(&Secret)) -> Result<()> {
    let mut params = base.limit(page_size);
    loop {
        let page = match api.list(&params).await {
            Ok(page) => page,
            Err(e) => return Err(ctx.api_error(e).await),
        };
        tracing::debug!(count = page.items.len(), "secrets page");
        for secret in &page.items {
            f(secret);
        }
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// `namespace/name` and the certificate items of every data key.
pub fn items_of(secret: &Secret) -> (String, Extractor) {
    let namespace = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let mut ex = Extractor::new();
    if secret.type_.as_deref().is_some_and(|t| SKIPPED_TYPES.contains(&t)) {
        return (format!("{namespace}/{name}"), ex);
    }
    let base = Location { namespace: Some(namespace.clone()), secret: Some(name.clone()), ..Default::default() };
    for (key, value) in secret.data.iter().flatten() {
        ex.secret_key(&base, key, &value.0);
    }
    for (key, value) in secret.string_data.iter().flatten() {
        ex.secret_key(&base, key, value.as_bytes());
    }
    (format!("{namespace}/{name}"), ex)
}

fn belongs_to_tenant(secret: &Secret, tenant: Option<&(String, String)>) -> bool {
    let Some((ns, tcp)) = tenant else { return false };
    let label = |key: &str| secret.metadata.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str) == Some(tcp.as_str());
    secret.metadata.namespace.as_deref() == Some(ns.as_str()) && (label(kamaji::LABEL_NAME) || label(kamaji::LABEL_MANAGED_FOR))
}
