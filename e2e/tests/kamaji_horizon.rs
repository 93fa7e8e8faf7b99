//! Kamaji dates every certificate from its controller's process start (kubeadm's
//! `StartTimeUTC`): the stand-in models it, and kubectl-pki must leave a full year of
//! validity and show the controller's issuance horizon.

use std::time::Duration;

use e2e::cozystack::{KAMAJI_SELECTOR, SeedOptions, StandinTenant, standin_tenant};
use e2e::kamaji::names::*;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use x509_parser::prelude::{FromDer, X509Certificate};

const WAIT: Duration = Duration::from_secs(60);
const DAY: i64 = 86_400;

async fn tenant(prefix: &str) -> StandinTenant {
    standin_tenant(prefix, "kubernetes-demo", SeedOptions::default(), WAIT).await.expect("tenant Ready")
}

/// Unix seconds of the NotAfter of the first certificate under `key` of `<tcp>-<suffix>`.
async fn not_after(t: &StandinTenant, suffix: &str, key: &str) -> (i64, String) {
    let secrets: Api<Secret> = Api::namespaced(t.client.clone(), &t.tenant.namespace);
    let s = secrets.get(&t.tenant.secret(suffix)).await.expect("secret");
    let pem = s.data.as_ref().and_then(|d| d.get(key)).expect("key").0.clone();
    let der = e2e::kamaji::pki::first_cert_der(&pem).expect("pem");
    let (_, cert) = X509Certificate::from_der(&der).expect("der");
    (cert.validity().not_after.timestamp(), cert.raw_serial_as_string())
}

async fn annotate_rotate(t: &StandinTenant, suffix: &str) {
    let secrets: Api<Secret> = Api::namespaced(t.client.clone(), &t.tenant.namespace);
    let patch = serde_json::json!({"metadata": {"annotations": {ANNOTATION_ROTATE: ""}}});
    secrets.patch(&t.tenant.secret(suffix), &PatchParams::default(), &Patch::Merge(&patch)).await.expect("annotate");
}

/// Waits until `<tcp>-<suffix>` holds a certificate with another serial; returns its NotAfter.
async fn reissued(t: &StandinTenant, suffix: &str, key: &str, old_serial: &str) -> i64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (after, serial) = not_after(t, suffix, key).await;
        if serial != old_serial {
            return after;
        }
        assert!(tokio::time::Instant::now() < deadline, "{suffix} was not re-issued");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn kamaji_pods(t: &StandinTenant) -> Api<Pod> {
    Api::namespaced(t.client.clone(), &t.tenant.kamaji_namespace)
}

/// Deletes the controller pods and waits for their replacements Ready (a controller restart).
async fn restart_controller(t: &StandinTenant) {
    let api = kamaji_pods(t).await;
    let lp = ListParams::default().labels(KAMAJI_SELECTOR);
    let old: Vec<String> = api.list(&lp).await.unwrap().items.iter().filter_map(|p| p.metadata.uid.clone()).collect();
    api.delete_collection(&DeleteParams::default(), &lp).await.expect("delete pods");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let pods = api.list(&lp).await.unwrap().items;
        let fresh = pods.iter().filter(|p| p.metadata.uid.as_ref().is_some_and(|u| !old.contains(u)) && e2e::pods::is_ready(p)).count();
        if fresh >= old.len() && pods.iter().all(|p| p.metadata.uid.as_ref().is_some_and(|u| !old.contains(u))) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the controller pods did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_standin_dates_leaves_from_its_controller_start_as_kamaji_does() {
    let t = tenant("horizon-standin").await;
    let aged = e2e::kamaji::age_controller_pods(&t.client, &t.tenant.kamaji_namespace, KAMAJI_SELECTOR, 300).await.unwrap();
    assert_eq!(aged, 2, "two controller replicas");
    let now = jiff::Timestamp::now().as_second();

    // Up for 300 days: a renewed leaf gets a new serial and only 65 days.
    let (_, serial) = not_after(&t, API_SERVER, "apiserver.crt").await;
    annotate_rotate(&t, API_SERVER).await;
    let after = reissued(&t, API_SERVER, "apiserver.crt", &serial).await;
    let left = after - now;
    assert!((64 * DAY..=66 * DAY).contains(&left), "leaf of a 300-day-old controller: {} days left", left / DAY);

    // After a restart the same annotation gives a full year.
    restart_controller(&t).await;
    let (_, serial) = not_after(&t, API_SERVER, "apiserver.crt").await;
    annotate_rotate(&t, API_SERVER).await;
    let after = reissued(&t, API_SERVER, "apiserver.crt", &serial).await;
    assert!(after - now >= 365 * DAY - 600, "leaf after a restart: {} days left", (after - now) / DAY);
    // The datastore certificate is Kamaji's own template: ten years, whatever the start.
    let (ds, _) = not_after(&t, DATASTORE_CERT, "server.crt").await;
    assert!(ds - now > 9 * 365 * DAY, "datastore certificate: {} days", (ds - now) / DAY);
}
