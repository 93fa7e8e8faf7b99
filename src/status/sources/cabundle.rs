//! CA bundles the API server trusts for the servers it calls: `caBundle`
//! of Validating/MutatingWebhookConfigurations (each webhook), APIServices
//! (`spec.caBundle`) and CRD conversion webhooks. A stale bundle breaks
//! admission, aggregation or conversion for the whole cluster, so each of
//! its certificates is a row judged like any other, and the bundle is
//! checked against what its server serves when that is reachable
//! ([`super::bundle_served`]).
//!
//! Cluster-scoped objects: read whatever `-n`/`-A` says. Each kind is
//! listed page by page; a page's bundles are checked (dialled at most
//! `concurrency` at once) and pushed, then dropped.
//!
//! Fetches and pushes rows; never renders, no clap.

use std::time::Duration;

use futures::{StreamExt, stream};
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use super::bundle_served::{self, Check, Target};
use super::pages::Pages;
use crate::context::Ctx;
use crate::error::Result;
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, Row, RowStatus, SourceKind};
use crate::status::served::{Served, ServedVerdict};

pub struct Options {
    pub page_size: u32,
    /// Per address dialled (`--server-timeout`).
    pub timeout: Duration,
    /// Bundles checked at once.
    pub concurrency: usize,
}

/// One `caBundle` and the server it must verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// `validatingwebhookconfiguration/<cfg>/<webhook>`, `apiservice/<name>`, ...: the row name.
    pub object: String,
    pub ca_bundle: Vec<u8>,
    pub target: Option<Target>,
}

/// CRDs per list request at most: a CRD carries its whole schema (hundreds of
/// KiB for some operators'), so a page of 500 could hold hundreds of MiB.
const CRD_PAGE: u32 = 50;

pub async fn collect(ctx: &Ctx, col: &mut Collector<'_>, opts: &Options) -> Result<()> {
    let client = ctx.client().await?;
    let page = opts.page_size;
    let validating = "validatingwebhookconfigurations.admissionregistration.k8s.io";
    each_kind(ctx, col, opts, page, Api::<ValidatingWebhookConfiguration>::all(client.clone()), validating, validating_bundles).await?;
    let mutating = "mutatingwebhookconfigurations.admissionregistration.k8s.io";
    each_kind(ctx, col, opts, page, Api::<MutatingWebhookConfiguration>::all(client.clone()), mutating, mutating_bundles).await?;
    let apiservices = "apiservices.apiregistration.k8s.io";
    each_kind(ctx, col, opts, page, Api::<APIService>::all(client.clone()), apiservices, apiservice_bundles).await?;
    let crds = "customresourcedefinitions.apiextensions.k8s.io";
    each_kind(ctx, col, opts, page.min(CRD_PAGE), Api::<CustomResourceDefinition>::all(client), crds, crd_bundles).await
}

/// Lists `api` page by page; checks and pushes the bundles of each page.
async fn each_kind<K: Clone + DeserializeOwned + std::fmt::Debug>(
    ctx: &Ctx,
    col: &mut Collector<'_>,
    opts: &Options,
    page_size: u32,
    api: Api<K>,
    resource: &'static str,
    bundles: fn(&K) -> Vec<Bundle>,
) -> Result<()> {
    let mut pages = Pages::new(api, ListParams::default(), page_size, resource);
    while let Some(page) = pages.next(ctx).await? {
        let found: Vec<Bundle> = page.iter().flat_map(bundles).collect();
        drop(page);
        let now = col.now;
        let checked: Vec<(Bundle, Option<Check>)> = stream::iter(found)
            .map(|b| async move {
                let check = match &b.target {
                    Some(target) => Some(bundle_served::check(ctx, target, &b.ca_bundle, opts.timeout, now).await),
                    None => None,
                };
                (b, check)
            })
            .buffered(opts.concurrency.max(1))
            .collect()
            .await;
        for (bundle, check) in &checked {
            push(col, bundle, check.as_ref());
        }
    }
    Ok(())
}

/// One row per certificate of the bundle, with the served check applied.
pub fn push(col: &mut Collector<'_>, bundle: &Bundle, check: Option<&Check>) {
    let mut ex = Extractor::new();
    let loc = Location { object: Some(bundle.object.clone()), ..Default::default() };
    ex.pem_field(&loc, &bundle.ca_bundle);
    let verdicts = judge::within_document(&ex.items);
    for (item, verdict) in ex.items.iter().zip(verdicts) {
        let mut row = col.item_row(SourceKind::Cabundle, &bundle.object, item, verdict);
        if let Some(check) = check {
            apply(&mut row, check);
        }
        col.emit(row);
    }
}

/// A mismatch is the row's status unless its dates are already critical;
/// a check that could not be made is said and changes nothing.
fn apply(row: &mut Row, check: &Check) {
    let served =
        |endpoint: &str, verdict| Served { endpoint: Some(endpoint.to_owned()), endpoint_from: None, verdict, secret_sha256: None };
    let note = match check {
        Check::Verified { endpoint } => {
            row.served = Some(served(endpoint, ServedVerdict::Ok));
            None
        }
        Check::Mismatch { endpoint, message } => {
            row.served = Some(served(endpoint, ServedVerdict::Mismatch));
            if row.certificate.is_some() && !matches!(row.status, RowStatus::Expired | RowStatus::NotYetValid) {
                row.status = RowStatus::Mismatch;
            }
            Some(message.clone())
        }
        Check::NotChecked(why) => Some(format!("served certificate not checked: {why}")),
    };
    if let Some(note) = note {
        row.message = Some(match row.message.take() {
            Some(m) => format!("{m}; {note}"),
            None => note,
        });
    }
}

fn bytes(b: Option<&k8s_openapi::ByteString>) -> Vec<u8> {
    b.map(|b| b.0.clone()).unwrap_or_default()
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

/// A webhook's bundle; none when it has no `caBundle` (the API server then
/// uses its system roots: nothing of the cluster's to check).
fn webhook_bundle(object: String, cfg: &k8s_openapi::api::admissionregistration::v1::WebhookClientConfig) -> Option<Bundle> {
    let ca_bundle = bytes(cfg.ca_bundle.as_ref());
    if ca_bundle.is_empty() {
        return None;
    }
    let target = match (&cfg.url, &cfg.service) {
        (Some(url), _) => Some(Target::Url(url.clone())),
        (None, Some(s)) => Some(Target::Service { namespace: s.namespace.clone(), name: s.name.clone(), port: s.port.unwrap_or(443) }),
        (None, None) => None,
    };
    Some(Bundle { object, ca_bundle, target })
}

fn validating_bundles(cfg: &ValidatingWebhookConfiguration) -> Vec<Bundle> {
    let name = name_of(&cfg.metadata);
    let hooks = cfg.webhooks.iter().flatten();
    hooks.filter_map(|w| webhook_bundle(format!("validatingwebhookconfiguration/{name}/{}", w.name), &w.client_config)).collect()
}

fn mutating_bundles(cfg: &MutatingWebhookConfiguration) -> Vec<Bundle> {
    let name = name_of(&cfg.metadata);
    let hooks = cfg.webhooks.iter().flatten();
    hooks.filter_map(|w| webhook_bundle(format!("mutatingwebhookconfiguration/{name}/{}", w.name), &w.client_config)).collect()
}

/// Local APIServices (no service) have no bundle; one that skips TLS
/// verification does not use its bundle: skipped with a warning.
fn apiservice_bundles(svc: &APIService) -> Vec<Bundle> {
    let name = name_of(&svc.metadata);
    let Some(spec) = &svc.spec else { return Vec::new() };
    let Some(service) = &spec.service else { return Vec::new() };
    if spec.insecure_skip_tls_verify == Some(true) {
        tracing::warn!("apiservice/{} sets insecureSkipTLSVerify: its caBundle is not used, not checked", crate::output::clean_cell(name));
        return Vec::new();
    }
    let ca_bundle = bytes(spec.ca_bundle.as_ref());
    if ca_bundle.is_empty() {
        return Vec::new();
    }
    let target = match (&service.namespace, &service.name) {
        (Some(namespace), Some(n)) => {
            Some(Target::Service { namespace: namespace.clone(), name: n.clone(), port: service.port.unwrap_or(443) })
        }
        _ => None,
    };
    vec![Bundle { object: format!("apiservice/{name}"), ca_bundle, target }]
}

fn crd_bundles(crd: &CustomResourceDefinition) -> Vec<Bundle> {
    let name = name_of(&crd.metadata);
    let Some(cfg) = crd.spec.conversion.as_ref().and_then(|c| c.webhook.as_ref()).and_then(|w| w.client_config.as_ref()) else {
        return Vec::new();
    };
    let ca_bundle = bytes(cfg.ca_bundle.as_ref());
    if ca_bundle.is_empty() {
        return Vec::new();
    }
    let target = match (&cfg.url, &cfg.service) {
        (Some(url), _) => Some(Target::Url(url.clone())),
        (None, Some(s)) => Some(Target::Service { namespace: s.namespace.clone(), name: s.name.clone(), port: s.port.unwrap_or(443) }),
        (None, None) => None,
    };
    vec![Bundle { object: format!("customresourcedefinition/{name}"), ca_bundle, target }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::{SignedDuration, Timestamp};
    use kubectl_pki_testkit::{PAST, ca, dated, in_days};

    fn rows_of(bundle: &Bundle, check: Option<&Check>) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO, &mut rows);
        push(&mut col, bundle, check);
        drop(col);
        rows
    }

    #[test]
    fn each_webhook_of_a_configuration_is_a_bundle_named_after_it() {
        let root = ca("hook-ca");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, root.pem.as_bytes());
        let cfg: ValidatingWebhookConfiguration = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "policy"},
            "webhooks": [
                {"name": "a.example.com", "clientConfig": {"url": "https://hooks.example/a", "caBundle": b64},
                 "sideEffects": "None", "admissionReviewVersions": ["v1"]},
                {"name": "b.example.com", "clientConfig": {"service": {"namespace": "ns", "name": "hook"}, "caBundle": b64},
                 "sideEffects": "None", "admissionReviewVersions": ["v1"]},
                {"name": "system-roots.example.com", "clientConfig": {"url": "https://public.example"},
                 "sideEffects": "None", "admissionReviewVersions": ["v1"]}
            ]
        }))
        .unwrap();
        let bundles = validating_bundles(&cfg);
        assert_eq!(bundles.len(), 2, "a webhook without caBundle uses system roots: {bundles:?}");
        assert_eq!(bundles[0].object, "validatingwebhookconfiguration/policy/a.example.com");
        assert_eq!(bundles[0].target, Some(Target::Url("https://hooks.example/a".into())));
        assert_eq!(bundles[1].target, Some(Target::Service { namespace: "ns".into(), name: "hook".into(), port: 443 }));
        let rows = rows_of(&bundles[0], None);
        assert_eq!(
            (rows.len(), rows[0].name.as_str(), rows[0].source),
            (1, "validatingwebhookconfiguration/policy/a.example.com", SourceKind::Cabundle)
        );
        let json = serde_json::to_value(&rows[0]).unwrap();
        assert_eq!(json["location"]["object"], "validatingwebhookconfiguration/policy/a.example.com");
    }

    #[test]
    fn local_and_insecure_apiservices_have_no_bundle() {
        let local: APIService = serde_json::from_value(serde_json::json!({"metadata": {"name": "v1.apps"},
            "spec": {"group": "apps", "version": "v1", "groupPriorityMinimum": 1, "versionPriority": 1}}))
        .unwrap();
        assert!(apiservice_bundles(&local).is_empty());
        let insecure: APIService = serde_json::from_value(serde_json::json!({"metadata": {"name": "v1beta1.metrics.k8s.io"},
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 1, "versionPriority": 1,
                     "insecureSkipTLSVerify": true, "service": {"namespace": "kube-system", "name": "metrics-server"}}}))
        .unwrap();
        assert!(apiservice_bundles(&insecure).is_empty());
    }

    #[test]
    fn a_mismatch_is_the_status_unless_the_dates_are_already_critical() {
        let fresh = ca("hook-ca");
        let bundle = |pem: &str| Bundle { object: "apiservice/v1.x".into(), ca_bundle: pem.as_bytes().to_vec(), target: None };
        let mismatch = Check::Mismatch { endpoint: "https://10.0.0.1:443".into(), message: "the bundle does not verify".into() };
        let rows = rows_of(&bundle(&fresh.pem), Some(&mismatch));
        assert_eq!((rows[0].status, rows[0].message.as_deref()), (RowStatus::Mismatch, Some("the bundle does not verify")));
        assert_eq!(rows[0].served.as_ref().map(|s| s.verdict), Some(ServedVerdict::Mismatch));
        let expired = dated("old-ca", true, PAST, in_days(-1), None);
        assert_eq!(rows_of(&bundle(&expired.pem), Some(&mismatch))[0].status, RowStatus::Expired);
        let unchecked = rows_of(&bundle(&fresh.pem), Some(&Check::NotChecked("no route to host".into())));
        assert_eq!((unchecked[0].status, unchecked[0].served.is_none()), (RowStatus::Ok, true));
        assert_eq!(unchecked[0].message.as_deref(), Some("served certificate not checked: no route to host"));
        let garbage = rows_of(&bundle("not pem"), None);
        assert_eq!(garbage[0].status, RowStatus::Invalid);
    }
}
