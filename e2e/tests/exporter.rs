//! `kubectl pki exporter` against the real local control plane: secrets
//! show up in `/metrics` within seconds of being written (the watch, not a
//! relist timer) and leave when deleted; a Kamaji tenant's served verdict
//! turns `mismatch` while its API serves a certificate of a replaced CA and
//! clears once it restarts; a killed API server leaves the last values
//! served, the failure counted, and the exporter catches up when it returns.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::cozystack::{SeedOptions, StandinTenant, standin_tenant};
use e2e::exporter::{Exporter, series, value};
use e2e::kamaji::names::*;
use e2e::{ApiServerOptions, ControlPlane, TenantApi, TenantApiOptions};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kubectl_pki_testkit::{ca, dated, in_days, kubeconfig_yaml, leaf_signed_by};

const WAIT: Duration = Duration::from_secs(90);

fn secret(name: &str, type_: &str, data: &[(&str, &str)]) -> Secret {
    let mut s = Secret {
        type_: Some(type_.into()),
        data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Secret::default()
    };
    s.metadata.name = Some(name.into());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_appear_and_leave_as_they_are_written_and_deleted() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("exporter").await;
    let secrets: Api<Secret> = Api::namespaced(cp.client().await, &ns.name);
    let root = ca("exporter-root");
    let leaf = leaf_signed_by("web.example", &root);
    secrets
        .create(&PostParams::default(), &secret("before", "kubernetes.io/tls", &[("tls.crt", &leaf.pem), ("tls.key", "k")]))
        .await
        .unwrap();

    let kc = cp.kubeconfig().to_path_buf();
    let namespace = ns.name.clone();
    let exporter = tokio::task::spawn_blocking(move || Exporter::start(&kc, &["-n", &namespace])).await.unwrap();
    let m = exporter.metrics();
    let before =
        series(&m, "x509_cert_not_after", &["secret_name=\"before\"", "subject_CN=\"web.example\"", "issuer_CN=\"exporter-root\""]);
    assert_eq!(before.len(), 1, "{m}");
    assert!(before[0].contains(&format!("secret_namespace=\"{}\"", ns.name)) && before[0].contains("secret_key=\"tls.crt\""));
    let serial = x509_parser::parse_x509_certificate(&leaf.der).unwrap().1.serial.to_string();
    assert!(before[0].contains(&format!("serial_number=\"{serial}\"")), "decimal serial {serial}: {}", before[0]);
    // Its CA is not in the secret: nothing to check it against.
    assert_eq!(series(&m, "kubectl_pki_cert_chain_verdict", &["secret_name=\"before\"", "verdict=\"not-checked\""]).len(), 1, "{m}");

    // Written after the exporter is ready: an expiring certificate, an expired one, a broken
    // one, and a kubeconfig inside an Opaque secret.
    let expiring = dated("soon.example", false, in_days(-300), in_days(5), Some(&root));
    let expired = dated("gone.example", false, in_days(-300), in_days(-1), Some(&root));
    let client = leaf_signed_by("admin", &root);
    let written = Instant::now();
    for s in [
        secret("expiring", "kubernetes.io/tls", &[("tls.crt", &expiring.pem), ("tls.key", "k"), ("ca.crt", &root.pem)]),
        secret("expired", "kubernetes.io/tls", &[("tls.crt", &expired.pem), ("tls.key", "k")]),
        secret(
            "broken",
            "kubernetes.io/tls",
            &[("tls.crt", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"), ("tls.key", "k")],
        ),
        secret("kubeconfig", "Opaque", &[("admin.conf", &kubeconfig_yaml(&root.pem, &client.pem))]),
    ] {
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
    let e = &exporter;
    tokio::task::block_in_place(|| {
        e.until("the four new secrets", || {
            let m = e.metrics();
            ["expiring", "expired", "kubeconfig"]
                .iter()
                .all(|n| !series(&m, "x509_cert_not_after", &[&format!("secret_name=\"{n}\"")]).is_empty())
                && series(&m, "x509_read_errors", &[]).first().is_some_and(|l| value(l) >= 1.0)
        })
    });
    let seen_after = written.elapsed();
    assert!(seen_after < Duration::from_secs(30), "a watch, not a relist timer: {seen_after:?}");
    let m = exporter.metrics();
    let soon = series(&m, "x509_cert_not_after", &["secret_name=\"expiring\"", "subject_CN=\"soon.example\""]);
    let days_left = (value(soon[0]) - jiff::Timestamp::now().as_second() as f64) / 86400.0;
    assert!((4.0..6.0).contains(&days_left), "{}", soon[0]);
    assert_eq!(
        series(&m, "kubectl_pki_cert_chain_verdict", &["secret_name=\"expiring\"", "subject_CN=\"soon.example\"", "verdict=\"verified\""])
            .len(),
        1
    );
    assert_eq!(value(series(&m, "x509_cert_expired", &["secret_name=\"expired\""])[0]), 1.0, "{m}");
    assert_eq!(value(series(&m, "x509_cert_expired", &["secret_name=\"expiring\"", "subject_CN=\"soon.example\""])[0]), 0.0);
    let embedded = series(&m, "x509_cert_not_after", &["secret_name=\"kubeconfig\"", "secret_key=\"admin.conf\""]);
    assert!(
        embedded.iter().any(|l| l.contains("embedded_kind=\"user\"")
            && l.contains("embedded_key=\"client-certificate-data\"")
            && l.contains("subject_CN=\"admin\"")),
        "{embedded:?}"
    );
    assert!(
        embedded.iter().any(|l| l.contains("embedded_kind=\"cluster\"") && l.contains("embedded_key=\"certificate-authority-data\"")),
        "{embedded:?}"
    );
    assert!(
        series(&m, "x509_cert_not_after", &["secret_name=\"broken\""]).is_empty(),
        "a broken certificate is a read error, not a series"
    );
    assert!(!m.contains("not base64"), "no secret content in the metrics");
    let source = format!("source_name=\"secrets/{}\"", ns.name);
    assert_eq!(value(series(&m, "x509_source_up", &[&source])[0]), 1.0, "{m}");
    e2e::promtool_check_metrics(&m);

    // `status -o prometheus` prints the same families for the same secrets, once.
    let out = Command::new(e2e::pki_bin())
        .arg("--kubeconfig")
        .arg(cp.kubeconfig())
        .args(["status", "--source", "secrets", "-n", &ns.name, "-o", "prometheus"])
        .output()
        .unwrap();
    let once = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(4), "status's exit code: an expired certificate\n{once}");
    e2e::promtool_check_metrics(&once);
    let families = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter(|l| l.starts_with("x509_cert") || l.contains("chain"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(families(&once), families(&m));
    for line in series(&m, "x509_cert_not_after", &[]) {
        assert!(once.contains(line), "the same series: {line}\n{once}");
    }

    // Deleted: its series leave.
    secrets.delete("expired", &DeleteParams::default()).await.unwrap();
    tokio::task::block_in_place(|| {
        e.until("the deleted secret to leave", || series(&e.metrics(), "x509_cert_not_after", &["secret_name=\"expired\""]).is_empty())
    });
    let code = tokio::task::block_in_place(|| exporter.stop());
    assert_eq!(code, Some(0), "SIGTERM: a clean exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_api_server_leaves_the_last_values_and_the_exporter_catches_up() {
    let cp = ControlPlane::shared();
    let pki = cp.pki();
    let port = e2e::process::free_port().expect("free port");
    let opts = ApiServerOptions::of_pki(pki, format!("/exporter-{}", e2e::controlplane::unique_suffix()), Some(port));
    let server = tokio::task::block_in_place(|| e2e::start_apiserver(opts.clone())).expect("extra kube-apiserver");
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    e2e::pki::write_private(&kc, &e2e::pki::kubeconfig(&server.url, &pki.ca_crt, &pki.admin_crt, &pki.admin_key, "default")).unwrap();
    let client = e2e::controlplane::client_for(&kc).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let root = ca("killed-root");
    secrets.create(&PostParams::default(), &secret("first", "Opaque", &[("ca.crt", &root.pem)])).await.unwrap();

    let k = kc.clone();
    let exporter = tokio::task::spawn_blocking(move || Exporter::start(&k, &["-n", "default"])).await.unwrap();
    let e = &exporter;
    assert_eq!(series(&e.metrics(), "x509_cert_not_after", &["secret_name=\"first\""]).len(), 1);

    drop(server);
    tokio::task::block_in_place(|| {
        e.until("the watch failure counted", || {
            let m = e.metrics();
            series(&m, "x509_source_up", &["source_name=\"secrets/default\""]).first().is_some_and(|l| value(l) == 0.0)
                && !series(&m, "x509_source_errors_total", &["source_name=\"secrets/default\""]).is_empty()
        })
    });
    let m = e.metrics();
    assert_eq!(series(&m, "x509_cert_not_after", &["secret_name=\"first\""]).len(), 1, "the last values stay served: {m}");
    assert!(value(series(&m, "kubectl_pki_exporter_watch_restarts_total", &["source_name=\"secrets/default\""])[0]) >= 1.0, "{m}");
    assert!(e.logs().contains("secret watch failed"), "logged: {}", e.logs());
    assert!(e.logs().lines().all(|l| l.starts_with('{')), "--log-format json: {}", e.logs());

    // Back on the same port and storage: the exporter resumes and sees what was written since.
    let _server = tokio::task::block_in_place(|| e2e::start_apiserver(opts)).expect("the kube-apiserver again");
    secrets.create(&PostParams::default(), &secret("second", "Opaque", &[("ca.crt", &ca("second-root").pem)])).await.unwrap();
    tokio::task::block_in_place(|| {
        e.until("the secret written after the restart", || {
            let m = e.metrics();
            !series(&m, "x509_cert_not_after", &["secret_name=\"second\""]).is_empty()
                && series(&m, "x509_source_up", &["source_name=\"secrets/default\""]).first().is_some_and(|l| value(l) == 1.0)
        })
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_served_on_a_replaced_ca_is_a_mismatch_until_its_api_restarts() {
    let port = e2e::process::free_port().expect("free port");
    let seed = SeedOptions { kamaji_version: "26.3.5-edge".into(), endpoint: Some(TenantApi::endpoint(port)), ..SeedOptions::default() };
    let StandinTenant { client, tenant, standin: _standin } =
        standin_tenant("exporter-served", "kubernetes-served", seed, WAIT).await.expect("a Ready tenant");
    let api =
        TenantApi::spawn(&client, &tenant.namespace, &tenant.name, TenantApiOptions { port: Some(port), ..TenantApiOptions::default() })
            .await
            .expect("tenant API");
    let kc = ControlPlane::shared().kubeconfig().to_path_buf();
    let ns = tenant.namespace.clone();
    let exporter =
        tokio::task::spawn_blocking(move || Exporter::start(&kc, &["-n", &ns, "--tenants", "--served-interval", "1s"])).await.unwrap();
    let e = &exporter;
    let labels = [format!("tenant_namespace=\"{}\"", tenant.namespace), format!("tenant=\"{}\"", tenant.name)];
    let verdict = |m: &str, v: &str| -> Option<f64> {
        let needle = format!("verdict=\"{v}\"");
        series(m, "kubectl_pki_tenant_served_verdict", &[&labels[0], &labels[1], &needle]).first().map(|l| value(l))
    };
    tokio::task::block_in_place(|| e.until("served ok", || verdict(&e.metrics(), "ok") == Some(1.0)));
    let m = e.metrics();
    assert_eq!(verdict(&m, "mismatch"), Some(0.0), "every verdict has a series: {m}");
    assert_eq!(series(&m, "kubectl_pki_tenant_ca_not_after_timestamp_seconds", &[&labels[0], &labels[1]]).len(), 1, "{m}");
    assert_eq!(series(&m, "kubectl_pki_tenant_earliest_leaf_not_after_timestamp_seconds", &[&labels[0], &labels[1]]).len(), 1, "{m}");
    assert_eq!(
        series(&m, "kubectl_pki_tenant_rotation_in_progress", &[&labels[0], &labels[1]]).first().map(|l| value(l)),
        Some(0.0),
        "{m}"
    );
    let api_secret = format!("secret_name=\"{}\"", tenant.secret(API_SERVER));
    assert_eq!(
        series(&m, "kubectl_pki_cert_chain_verdict", &[&api_secret, "verdict=\"verified\""]).len(),
        1,
        "the tenant's leaves chain to its CA: {m}"
    );
    e2e::promtool_check_metrics(&m);

    // Kamaji rotates the CA while the tenant API is held on its old certificate.
    api.pause();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &tenant.namespace);
    let patch = serde_json::json!({"metadata": {"annotations": {ANNOTATION_ROTATE: ""}}});
    secrets.patch(&tenant.secret(CA), &PatchParams::default(), &Patch::Merge(&patch)).await.expect("annotate the CA");
    tokio::task::block_in_place(|| e.until("served mismatch", || verdict(&e.metrics(), "mismatch") == Some(1.0)));
    assert_eq!(verdict(&e.metrics(), "ok"), Some(0.0));

    // The API restarts on the new certificates: ok again.
    api.resume();
    tokio::task::block_in_place(|| e.until("served ok after the restart", || verdict(&e.metrics(), "ok") == Some(1.0)));
}
