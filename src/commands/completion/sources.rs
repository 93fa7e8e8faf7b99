//! Values only the kubeconfig or the cluster know. Completion must stay
//! quiet and quick: every failure yields no candidates, API calls give up
//! after [`API_TIMEOUT`].
//!
//! The only completion code that reads a kubeconfig or calls the API.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

use super::engine::{Candidate, Dynamic, Given};
use crate::context::{Ctx, Settings};

/// A TAB press should not hang on an unreachable cluster.
pub const API_TIMEOUT: Duration = Duration::from_secs(2);

/// Looks up `source` with the kubeconfig, context and namespace typed so far.
pub async fn lookup(source: Dynamic, given: &Given) -> Vec<Candidate> {
    let ctx = Ctx::new(Settings {
        kubeconfig: given.get("kubeconfig").map(Into::into),
        context: given.get("context").map(Into::into),
        namespace: given.get("namespace").map(Into::into),
        ..Settings::default()
    });
    match source {
        Dynamic::Contexts => contexts(&ctx),
        Dynamic::Namespaces => with_timeout(namespaces(&ctx)).await,
        Dynamic::Tenants => with_timeout(tenants(&ctx)).await,
    }
}

async fn with_timeout(f: impl Future<Output = Option<Vec<Candidate>>>) -> Vec<Candidate> {
    tokio::time::timeout(API_TIMEOUT, f).await.ok().flatten().unwrap_or_default()
}

/// Context names, the current one marked.
pub fn contexts(ctx: &Ctx) -> Vec<Candidate> {
    let Ok(kc) = ctx.kubeconfig() else { return Vec::new() };
    let current = kc.current_context.clone();
    kc.contexts
        .iter()
        .map(|c| {
            let cluster = c.context.as_ref().map(|x| x.cluster.clone()).unwrap_or_default();
            let mark = if current.as_deref() == Some(c.name.as_str()) { "current, " } else { "" };
            Candidate::new(&c.name, Some(format!("{mark}cluster {cluster}")))
        })
        .collect()
}

async fn namespaces(ctx: &Ctx) -> Option<Vec<Candidate>> {
    let api: Api<Namespace> = Api::all(ctx.client().await.ok()?);
    let list = api.list_metadata(&ListParams::default()).await.ok()?;
    Some(list.items.into_iter().filter_map(|n| n.metadata.name).map(|n| Candidate::new(n, None)).collect())
}

async fn tenants(ctx: &Ctx) -> Option<Vec<Candidate>> {
    let client = ctx.client().await.ok()?;
    let ns = ctx.namespace().await.ok()?;
    let gvk = GroupVersionKind::gvk("kamaji.clastix.io", "v1alpha1", "TenantControlPlane");
    let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &ApiResource::from_gvk(&gvk));
    let list = api.list_metadata(&ListParams::default()).await.ok()?;
    Some(list.items.into_iter().filter_map(|t| t.metadata.name).map(|n| Candidate::new(n, None)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_come_from_the_given_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters: []\nusers: []\n\
             contexts:\n- name: a\n  context: {cluster: ca, user: u}\n- name: b\n  context: {cluster: cb, user: u}\n",
        )
        .unwrap();
        let ctx = Ctx::new(Settings { kubeconfig: Some(path), ..Settings::default() });
        let got = contexts(&ctx);
        assert_eq!(got.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(got[1].help.as_deref(), Some("current, cluster cb"));
    }

    #[test]
    fn a_missing_kubeconfig_gives_no_contexts() {
        let ctx = Ctx::new(Settings { kubeconfig: Some("/nonexistent/kubeconfig".into()), ..Settings::default() });
        assert!(contexts(&ctx).is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_cluster_gives_no_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        // Port 1 on localhost refuses at once; nothing is listening there.
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: x\nusers: [{name: u, user: {token: t}}]\n\
             clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n\
             contexts: [{name: x, context: {cluster: c, user: u}}]\n",
        )
        .unwrap();
        let given = Given { values: [("kubeconfig".to_string(), path.display().to_string())].into() };
        assert!(lookup(Dynamic::Namespaces, &given).await.is_empty());
    }
}
