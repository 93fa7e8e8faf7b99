//! ConfigMaps that hold PEM certificates: every data key whose value holds
//! a certificate (`<ns>/<configmap>/<key>` rows), `kube-root-ca.crt`
//! compared with the kubeconfig's CA and folded ([`super::root_ca`]), and
//! `kube-system/extension-apiserver-authentication` (client-ca-file,
//! requestheader-client-ca-file: the CAs aggregated API servers trust for
//! the API server's proxy), read even when the scope is another namespace.
//!
//! Listing is paginated and each page processed and dropped, as for secrets.
//!
//! Fetches and pushes rows; never renders, no clap.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};

use super::pages::Pages;
use super::root_ca::{self, RootCa, Trusted};
use crate::context::Ctx;
use crate::error::{Reason, Result};
use crate::output;
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// The API server's authentication ConfigMap, in `kube-system`.
pub const AUTHENTICATION: &str = "extension-apiserver-authentication";
const KUBE_SYSTEM: &str = "kube-system";

pub struct Options {
    pub all_namespaces: bool,
    pub page_size: u32,
    /// What `kube-root-ca.crt` is compared with.
    pub trusted: Trusted,
}

pub async fn collect(ctx: &Ctx, col: &mut Collector<'_>, opts: &Options) -> Result<()> {
    let client = ctx.client().await?;
    let namespace = if opts.all_namespaces { None } else { Some(ctx.namespace().await?) };
    let api: Api<ConfigMap> = match &namespace {
        None => Api::all(client.clone()),
        Some(ns) => Api::namespaced(client.clone(), ns),
    };
    let mut root = RootCa::new(opts.trusted.clone());
    let bar = output::progress(None, "reading configmaps");
    let result: Result<()> = async {
        let mut pages = Pages::new(api, ListParams::default(), opts.page_size, "configmaps");
        while let Some(page) = pages.next(ctx).await? {
            for cm in &page {
                bar.inc(1);
                one(col, &mut root, cm);
            }
        }
        Ok(())
    }
    .await;
    bar.finish_and_clear();
    result?;
    root.finish(col);
    if namespace.is_none() || namespace.as_deref() == Some(KUBE_SYSTEM) {
        return Ok(());
    }
    // The scope is another namespace: one GET; a refusal is a warning only
    // (a namespaced user may not read kube-system).
    match Api::<ConfigMap>::namespaced(client, KUBE_SYSTEM).get_opt(AUTHENTICATION).await {
        Ok(Some(cm)) => data_rows(col, &cm),
        Ok(None) => tracing::debug!("no {KUBE_SYSTEM}/{AUTHENTICATION}"),
        Err(e) => {
            let err = ctx.api_error(e).await;
            if err.api_reason() != Some(&Reason::Forbidden) {
                return Err(err);
            }
            eprintln!("status: {KUBE_SYSTEM}/{AUTHENTICATION} not read: forbidden to get configmaps in {KUBE_SYSTEM}");
        }
    }
    Ok(())
}

/// One ConfigMap of the list: `kube-root-ca.crt` to the fold, any other to its rows.
fn one(col: &mut Collector<'_>, root: &mut RootCa, cm: &ConfigMap) {
    if cm.metadata.name.as_deref() == Some(root_ca::NAME) {
        let namespace = cm.metadata.namespace.as_deref().unwrap_or_default();
        let bundle = cm.data.as_ref().and_then(|d| d.get(root_ca::KEY)).map(String::as_bytes).unwrap_or_default();
        if !bundle.is_empty() {
            root.add(col, namespace, bundle);
        }
        return;
    }
    data_rows(col, cm);
}

/// The rows of every key of `data` and `binaryData` holding certificates.
fn data_rows(col: &mut Collector<'_>, cm: &ConfigMap) {
    let (prefix, ex) = items_of(cm);
    let verdicts = judge::within_document(&ex.items);
    col.push_items(SourceKind::Configmaps, &prefix, &ex.items, verdicts);
}

/// `namespace/name` and the certificate items of its keys.
pub fn items_of(cm: &ConfigMap) -> (String, Extractor) {
    let namespace = cm.metadata.namespace.clone().unwrap_or_default();
    let name = cm.metadata.name.clone().unwrap_or_default();
    let base = Location { namespace: Some(namespace.clone()), config_map: Some(name.clone()), ..Default::default() };
    let mut ex = Extractor::new();
    for (key, value) in cm.data.iter().flatten() {
        ex.secret_key(&base, key, value.as_bytes());
    }
    for (key, value) in cm.binary_data.iter().flatten() {
        ex.secret_key(&base, key, &value.0);
    }
    (format!("{namespace}/{name}"), ex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::ca;

    #[test]
    fn every_key_holding_certificates_is_read_and_the_rest_skipped() {
        let (client_ca, front) = (ca("kubernetes"), ca("front-proxy-ca"));
        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
            "metadata": {"namespace": "kube-system", "name": AUTHENTICATION},
            "data": {
                "client-ca-file": client_ca.pem,
                "requestheader-client-ca-file": front.pem,
                "requestheader-allowed-names": "[\"front-proxy-client\"]",
                "requestheader-group-headers": "[\"X-Remote-Group\"]"
            }
        }))
        .unwrap();
        let (prefix, ex) = items_of(&cm);
        let names: Vec<String> = ex.items.iter().map(|i| i.display_name(&prefix)).collect();
        assert_eq!(
            names,
            [
                "kube-system/extension-apiserver-authentication/client-ca-file",
                "kube-system/extension-apiserver-authentication/requestheader-client-ca-file"
            ]
        );
        assert_eq!(ex.items[0].location.config_map.as_deref(), Some(AUTHENTICATION));
        assert_eq!(ex.items[0].location.secret, None);
    }
}
