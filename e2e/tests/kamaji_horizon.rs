//! Kamaji dates every certificate from its controller's process start (kubeadm's
//! `StartTimeUTC`): the stand-in models it, and kubectl-pki must leave a full year of
//! validity and show the controller's issuance horizon.

use std::time::Duration;

use e2e::cozystack::{KAMAJI_SELECTOR, SeedOptions, StandinTenant, standin_tenant};
use e2e::kamaji::names::*;
use e2e::rotate_fixture::{Fixture, text};
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

/// Deletes the controller pods and waits for their replacements Ready (a controller restart).
async fn restart_controller(client: &kube::Client, kamaji_ns: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), kamaji_ns);
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
    restart_controller(&t.client, &t.tenant.kamaji_namespace).await;
    let (_, serial) = not_after(&t, API_SERVER, "apiserver.crt").await;
    annotate_rotate(&t, API_SERVER).await;
    let after = reissued(&t, API_SERVER, "apiserver.crt", &serial).await;
    assert!(after - now >= 365 * DAY - 600, "leaf after a restart: {} days left", (after - now) / DAY);
    // The datastore certificate is Kamaji's own template: ten years, whatever the start.
    let (ds, _) = not_after(&t, DATASTORE_CERT, "server.crt").await;
    assert!(ds - now > 9 * 365 * DAY, "datastore certificate: {} days", (ds - now) / DAY);
}

/// Every leaf and kubeconfig client certificate of the tenant: (what, NotAfter in Unix seconds).
async fn leaves(f: &Fixture) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for (suffix, key) in [(API_SERVER, "apiserver.crt"), (API_SERVER_KUBELET_CLIENT, "apiserver-kubelet-client.crt")] {
        out.push((format!("{suffix}/{key}"), cert_not_after(&f.value(suffix, key).await)));
    }
    for (suffix, key) in [
        (ADMIN_KUBECONFIG, "admin.conf"),
        (ADMIN_KUBECONFIG, "super-admin.conf"),
        (CONTROLLER_MANAGER_KUBECONFIG, "controller-manager.conf"),
        (SCHEDULER_KUBECONFIG, "scheduler.conf"),
        (KONNECTIVITY_KUBECONFIG, "konnectivity-server.conf"),
    ] {
        let kc = e2e::kamaji::pki::parse_kubeconfig(&f.value(suffix, key).await).expect("kubeconfig");
        out.push((format!("{suffix}/{key}:client"), cert_not_after(kc.client.cert.as_bytes())));
    }
    out
}

fn cert_not_after(pem: &[u8]) -> i64 {
    let der = e2e::kamaji::pki::first_cert_der(pem).expect("pem");
    X509Certificate::from_der(&der).expect("der").1.validity().not_after.timestamp()
}

/// A settled tenant whose Kamaji controller pods look up for 300 days.
async fn old_controller(prefix: &str, seed: SeedOptions) -> Fixture {
    let f = Fixture::settled(prefix, "kubernetes-demo", seed, WAIT).await;
    e2e::kamaji::age_controller_pods(&f.client, &f.tenant.kamaji_namespace, KAMAJI_SELECTOR, 300).await.unwrap();
    f
}

async fn rotate_leaves_a_year(f: &Fixture, extra: &[&str]) -> serde_json::Value {
    let started = jiff::Timestamp::now().as_second();
    let plan = f.pki(&["rotate-ca", "kubernetes-demo"], &[]).await;
    let (stdout, stderr) = text(&plan);
    assert!(stdout.contains("The Kamaji controller has been running since"), "the plan names the horizon: {stdout}{stderr}");
    let mut args = vec!["rotate-ca", "kubernetes-demo", "--dry-run=false", "--restart-workers", "--timeout", "90s", "-o", "json"];
    args.extend_from_slice(extra);
    let out = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["result"], "rotated");
    assert!(!report["reissued"].as_array().unwrap().is_empty(), "the short leaves were re-issued: {report:#}");
    for (what, after) in leaves(f).await {
        assert!(after >= started + 365 * DAY - 3600, "{what} expires in {} days, less than a year", (after - started) / DAY);
    }
    report
}

#[tokio::test]
async fn rotate_ca_leaves_every_leaf_a_year_although_the_controller_is_300_days_old() {
    let f = old_controller("horizon-annotate", SeedOptions::default()).await;
    let report = rotate_leaves_a_year(&f, &[]).await;
    assert_eq!(report["plan"]["method"], "annotate");
    assert!(report["plan"]["kamaji"]["issuesUntil"].is_string(), "{:#}", report["plan"]["kamaji"]);
}

#[tokio::test]
async fn rotate_ca_by_deletion_leaves_every_leaf_a_year_on_an_old_kamaji() {
    // Kamaji edge-25.4.1 has no rotate annotation: the runbook's deletions, then the short
    // leaves deleted again for the restarted controller to make.
    let seed = SeedOptions { kamaji_version: "edge-25.4.1".into(), ..SeedOptions::default() };
    let f = old_controller("horizon-delete", seed).await;
    let report = rotate_leaves_a_year(&f, &[]).await;
    assert_eq!(report["plan"]["method"], "delete");
}

#[tokio::test]
async fn without_a_controller_restart_the_verification_fails_naming_the_short_leaves() {
    let f = old_controller("horizon-norestart", SeedOptions::default()).await;
    let out =
        f.pki(&["rotate-ca", "kubernetes-demo", "--dry-run=false", "--timeout", "60s", "--kamaji-selector", "app=nothing"], &[]).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(error.contains("verification failed: "), "{stderr}");
    assert!(error.contains("left by the rotation expire before"), "{error}");
    assert!(error.contains(&format!("{}/apiserver.crt", f.tenant.secret(API_SERVER))), "{error}");
    assert!(error.contains("no Kamaji controller pods match app=nothing"), "{error}");
    assert!(error.contains("re-run the same command"), "{error}");
}

#[tokio::test]
async fn status_shows_the_controller_issuance_horizon() {
    let f = old_controller("horizon-status", SeedOptions::default()).await;
    let kamaji_ns = f.tenant.kamaji_namespace.clone();
    let args = ["status", "--source", "tenant", "--tenant", "kubernetes-demo", "-n", f.ns(), "--kamaji-namespace", &kamaji_ns];
    // Up for 300 days: leaves it issues expire in 65 days, within a 90-day window.
    let out = f.pki(&[&args[..], &["--warn-within", "90d", "-o", "json"]].concat(), &[]).await;
    let (stdout, stderr) = text(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let k = &v["tenants"][0]["kamaji"];
    assert_eq!(k["status"], "expiring", "{k:#}");
    assert_eq!(k["pods"], 2);
    let until = k["issuesUntil"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap().as_second();
    let left = until - jiff::Timestamp::now().as_second();
    assert!((64 * DAY..=66 * DAY).contains(&left), "{} days", left / DAY);
    assert!(k["message"].as_str().unwrap().contains("restart the controller"), "{k:#}");
    assert_eq!(out.status.code(), Some(3), "an expiring horizon warns: {stderr}");

    // The table says it under the tenant's heading; with the default 30 days it is ok.
    let out = f.pki(&args, &[]).await;
    let (stdout, _) = text(&out);
    let line = stdout.lines().nth(1).unwrap_or_default();
    assert!(line.starts_with("  Kamaji controller (2 pod(s) app.kubernetes.io/name=kamaji in "), "{stdout}");
    assert!(line.contains("leaves it issues now expire on") && line.ends_with(": ok"), "{line}");

    // A restart moves the horizon a year out.
    restart_controller(&f.client, &f.tenant.kamaji_namespace).await;
    let out = f.pki(&[&args[..], &["--warn-within", "90d", "-o", "json"]].concat(), &[]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tenants"][0]["kamaji"]["status"], "ok");
}
