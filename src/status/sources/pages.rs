//! Paged listing for the cluster sources: `limit` + `continue`, one page
//! held at a time, so memory stays flat however many objects there are
//! (the pattern of [`super::secrets::each_secret`], for any kind).
//!
//! One list request per page; never renders, no clap.

use std::fmt::Debug;

use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use crate::context::Ctx;
use crate::error::Result;

/// The pages of one list, fetched on demand.
pub struct Pages<K> {
    api: Api<K>,
    params: ListParams,
    /// `<plural>.<group>`, named when the list is refused (403).
    resource: &'static str,
    done: bool,
}

impl<K: Clone + DeserializeOwned + Debug> Pages<K> {
    pub fn new(api: Api<K>, base: ListParams, page_size: u32, resource: &'static str) -> Self {
        Pages { api, params: base.limit(page_size), resource, done: false }
    }

    /// The next page, `None` after the last. A 403 is [`crate::error::Error::Denied`].
    pub async fn next(&mut self, ctx: &Ctx) -> Result<Option<Vec<K>>> {
        if self.done {
            return Ok(None);
        }
        let page = match self.api.list(&self.params).await {
            Ok(page) => page,
            Err(e) => return Err(ctx.api_error(e).await.denied("list", self.resource)),
        };
        tracing::debug!(count = page.items.len(), resource = self.resource, "page");
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(token) => self.params = self.params.clone().continue_token(&token),
            None => self.done = true,
        }
        Ok(Some(page.items))
    }
}
