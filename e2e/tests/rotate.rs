//! `kubectl pki rotate-ca` against the real local control plane and the Kamaji stand-in, on a
//! Cozystack-shaped tenant: the dry run changes nothing; a full rotation ends with a new CA,
//! every leaf and kubeconfig chained to it, every consumer restarted, and a backup that
//! `restore` puts back; missing RBAC refuses before any change; a run killed mid-way is
//! completed by re-running the same command.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use e2e::ControlPlane;
use e2e::cozystack::SeedOptions;
use e2e::kamaji::names::*;
use e2e::rotate_fixture::{Fixture, diff, text};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const RELEASE: &str = "kubernetes-demo";

/// A fresh namespace with a Ready tenant, its Kamaji controller Deployment (image tag =
/// `version`) in `<ns>-kamaji`, a stand-in playing that Kamaji version, and no tenant API:
/// its kubeconfigs point to a local port nothing listens on, so rotate-ca's live check finds
/// it unreachable.
async fn fixture(prefix: &str, version: &str) -> Fixture {
    // A port that was free a moment ago: nothing listens there.
    let endpoint = e2e::TenantApi::endpoint(e2e::process::free_port().expect("free port"));
    let seed = SeedOptions { kamaji_version: version.into(), endpoint: Some(endpoint), ..SeedOptions::default() };
    Fixture::settled(prefix, RELEASE, seed, WAIT).await
}

fn public_key(pem: &[u8]) -> Vec<u8> {
    let d = e2e::pki::cert_der(pem);
    let (_, c) = x509_parser::parse_x509_certificate(&d).unwrap();
    c.public_key().raw.to_vec()
}

/// (CA in the kubeconfig, client certificate) of a kubeconfig, as PEM.
fn kubeconfig_pems(yaml: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use base64::Engine;
    let kc: Value = serde_saphyr::from_slice(yaml).expect("kubeconfig YAML");
    let b64 = |v: &Value| base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
    (b64(&kc["clusters"][0]["cluster"]["certificate-authority-data"]), b64(&kc["users"][0]["user"]["client-certificate-data"]))
}

/// Every tenant-CA-signed certificate and kubeconfig chains to `ca`.
async fn assert_all_chain_to(f: &Fixture, ca: &[u8]) {
    for (suffix, key) in
        [(API_SERVER, "apiserver.crt"), (API_SERVER_KUBELET_CLIENT, "apiserver-kubelet-client.crt"), (KONNECTIVITY_CERT, "tls.crt")]
    {
        assert!(e2e::pki::signed_by(&f.value(suffix, key).await, ca), "{suffix}/{key} does not chain to the new CA");
    }
    for (suffix, key) in [
        (ADMIN_KUBECONFIG, "admin.conf"),
        (ADMIN_KUBECONFIG, "super-admin.svc"),
        (CONTROLLER_MANAGER_KUBECONFIG, "controller-manager.conf"),
        (SCHEDULER_KUBECONFIG, "scheduler.conf"),
        (KONNECTIVITY_KUBECONFIG, "konnectivity-server.conf"),
    ] {
        let (kc_ca, client) = kubeconfig_pems(&f.value(suffix, key).await);
        assert_eq!(e2e::pki::cert_der(&kc_ca), e2e::pki::cert_der(ca), "{suffix}/{key} embeds another CA");
        assert!(e2e::pki::signed_by(&client, ca), "{suffix}/{key} client certificate does not chain to the new CA");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let f = fixture("rotate-dry", "26.3.5-edge").await;
    let before = f.settled_snapshot().await;
    let out = f.pki(&["rotate-ca", RELEASE], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let mut expected_lines = vec![
        "dry run: nothing is changed".to_string(),
        "Method: annotate".into(),
        f.tenant.kamaji_version.clone(),
        format!("{RELEASE}-ca"),
        format!("{RELEASE}-datastore-config"),
        "never deleted".into(),
        "kamaji#1325".into(),
    ];
    // Kamaji before 26.5.4 keeps the old CA in the konnectivity kubeconfig: the plan deletes it.
    if e2e::kamaji::parse_version(&f.tenant.kamaji_version).is_some_and(|v| v < (26, 5, 4)) {
        expected_lines.push("kamaji#1152".into());
    }
    for expected in expected_lines.iter().map(String::as_str).chain([
        &format!("{RELEASE}-kccm"),
        &format!("{RELEASE}-cluster-autoscaler"),
        &format!("{RELEASE}-kcsi-controller"),
        "only the kcsi driver",
        &format!("virt-launcher-{RELEASE}-other"),
        "--dry-run=false",
    ]) {
        assert!(stdout.contains(expected), "plan lacks {expected:?}:\n{stdout}");
    }
    assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
    let json_out = f.pki(&["rotate-ca", RELEASE, "-o", "json"], &[]).await;
    let report: Value = serde_json::from_slice(&json_out.stdout).expect("JSON plan");
    assert_eq!(report["dryRun"], json!(true));
    assert_eq!(report["plan"]["method"], json!("annotate"));
    let ca_step = report["plan"]["secrets"].as_array().unwrap().iter().find(|s| s["suffix"] == "ca").unwrap().clone();
    assert_eq!(ca_step["action"], json!("annotate"));
    assert_eq!(report["plan"]["workers"]["pods"].as_array().unwrap().len(), 2, "this tenant's workers only");

    let after = f.snapshot().await;
    assert!(after == before, "the dry run changed something: {}", diff(&before, &after));
    assert!(f.backups().is_empty(), "the dry run wrote a backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_rotation_restarts_everything_and_the_backup_restores_the_old_ca() {
    let f = fixture("rotate-full", "26.3.5-edge").await;
    let ns = f.ns().to_string();
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let old_datastore = f.secret(DATASTORE_CONFIG).await.data;
    let kamaji_before = f.pod_uids(&f.tenant.kamaji_namespace, "app.kubernetes.io/name=kamaji").await;
    let workers_before = f.pod_uids(&ns, &f.tenant.worker_selector()).await;
    let other = f.tenant.other_release.clone().expect("a second tenant's workers");
    let others_before = f.pod_uids(&ns, &format!("cluster.x-k8s.io/cluster-name={other}")).await;
    let consumers: Vec<(String, BTreeSet<String>)> = {
        let mut v = Vec::new();
        for (name, selector) in [
            (format!("{RELEASE}-kcsi-controller"), format!("app={RELEASE}-kcsi-driver")),
            (format!("{RELEASE}-kccm"), format!("k8s-app={RELEASE}-kccm")),
            (format!("{RELEASE}-cluster-autoscaler"), format!("app={RELEASE}-cluster-autoscaler")),
        ] {
            v.push((name, f.pod_uids(&ns, &selector).await));
        }
        v
    };
    let kubeconfig_file = f.dir.path().join("new-admin.kubeconfig");
    let timeout = f.rotation_timeout_arg();

    let out = f
        .pki(
            &[
                "rotate-ca",
                RELEASE,
                "--dry-run=false",
                "--restart-workers",
                "--timeout",
                &timeout,
                "-o",
                "json",
                "--write-kubeconfig",
                kubeconfig_file.to_str().unwrap(),
            ],
            &[],
        )
        .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], json!("rotated"));
    let phases = report["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 8, "{phases:?}");
    assert!(phases[..7].iter().all(|p| p["status"] == "done"), "{phases:?}");
    for progress in [
        "[1/8] rbac+lock",
        "[2/8] backup",
        "[3/8] rotate",
        "[4/8] kamaji",
        "[5/8] regenerated",
        "[6/8] workloads",
        "[7/8] workers",
        "[8/8] live-check",
    ] {
        assert!(stderr.contains(progress), "no progress line {progress}:\n{stderr}");
    }
    let live = &report["liveCheck"];
    if f.live {
        // The operator's tenant API answers: the run ends with a handshake showing the new CA.
        assert_eq!((&phases[7]["name"], &phases[7]["status"]), (&json!("live-check"), &json!("done")), "{phases:?}");
        assert_eq!(
            (&live["verdict"], &live["endpoint"], &live["endpointFrom"]),
            (&json!("passed"), &json!(f.endpoint), &json!("admin-kubeconfig")),
            "{live}"
        );
    } else {
        // No tenant API runs: the live check says so and is skipped, never passed; the run succeeds.
        assert_eq!((&phases[7]["name"], &phases[7]["status"]), (&json!("live-check"), &json!("skipped")), "{phases:?}");
        assert_eq!(
            (&live["verdict"], &live["endpoint"], &live["endpointFrom"]),
            (&json!("skipped"), &json!(f.endpoint), &json!("admin-kubeconfig")),
            "{live}"
        );
        let reason = live["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("is not reachable from this machine") && reason.contains("not checked"), "{reason}");
        assert!(reason.contains(&format!("kubectl pki status --tenant {RELEASE} -n {ns}")), "{reason}");
        assert!(stderr.contains("- [8/8] live-check: skipped: "), "{stderr}");
    }
    assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));

    // A new CA (new key), and everything it signs chains to it.
    let new_ca = f.value(CA, "ca.crt").await;
    assert_ne!(public_key(&new_ca), public_key(&old_ca), "the CA key did not change");
    assert_eq!(report["newCa"]["sha256"].as_str().map(str::len), Some(95));
    assert_ne!(report["newCa"]["sha256"], report["oldCa"]["sha256"]);
    assert_all_chain_to(&f, &new_ca).await;
    // Kept: the service-account key and the datastore credentials.
    assert_eq!(f.value(SA, "sa.key").await, old_sa, "--keep-sa-key is the default");
    assert_eq!(f.secret(DATASTORE_CONFIG).await.data, old_datastore);

    // Restarted: Kamaji controller, every admin-kubeconfig consumer, this tenant's workers only.
    let kamaji_after = f.pod_uids(&f.tenant.kamaji_namespace, "app.kubernetes.io/name=kamaji").await;
    assert!(kamaji_after.is_disjoint(&kamaji_before) && kamaji_after.len() == kamaji_before.len(), "{kamaji_before:?} -> {kamaji_after:?}");
    let deployments: Api<Deployment> = Api::namespaced(f.client.clone(), &ns);
    for (name, before) in &consumers {
        let d = deployments.get(name).await.unwrap();
        let annotations = d.spec.template.metadata.and_then(|m| m.annotations).unwrap_or_default();
        assert!(annotations.contains_key("kubectl.kubernetes.io/restartedAt"), "{name} not restarted");
        let selector = d.spec.selector.match_labels.unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        let after = f.pod_uids(&ns, &selector).await;
        assert!(!after.is_empty() && after.is_disjoint(before), "{name}: pods not replaced");
    }
    let workers_after = f.pod_uids(&ns, &f.tenant.worker_selector()).await;
    assert!(
        workers_after.is_disjoint(&workers_before) && workers_after.len() == workers_before.len(),
        "workers {workers_before:?} -> {workers_after:?}; report: {}",
        report["workers"]
    );
    assert_eq!(
        f.pod_uids(&ns, &format!("cluster.x-k8s.io/cluster-name={other}")).await,
        others_before,
        "another cluster's workers were touched"
    );

    // The new admin kubeconfig, 0600.
    let written = std::fs::read(&kubeconfig_file).expect("--write-kubeconfig file");
    assert_eq!(written, f.value(ADMIN_KUBECONFIG, "admin.conf").await);
    assert_eq!(std::fs::metadata(&kubeconfig_file).unwrap().permissions().mode() & 0o777, 0o600);

    // The Lease is free again and records a completed run.
    let lease = Api::<Lease>::namespaced(f.client.clone(), &ns).get(&format!("pki-rotate-{RELEASE}")).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_none());
    assert!(lease.metadata.annotations.unwrap().contains_key("rotate-ca.kubectl-pki.io/completed-at"));

    // The backup: 0600, holds the old CA, and restore brings it back.
    let backups = f.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(Path::new(report["backup"].as_str().unwrap()).canonicalize().unwrap(), backups[0].canonicalize().unwrap());
    assert_eq!(std::fs::metadata(&backups[0]).unwrap().permissions().mode() & 0o777, 0o600);
    let dry = f.pki(&["restore", backups[0].to_str().unwrap(), "--dry-run", "-n", &ns], &[]).await;
    assert_eq!(dry.status.code(), Some(0), "{:?}", text(&dry));
    assert!(text(&dry).0.contains("would replace"));
    assert_eq!(public_key(&f.value(CA, "ca.crt").await), public_key(&new_ca), "restore --dry-run changed the CA");
    let runs = f.restore_until_done(&backups[0]).await;
    let (rout, _) = text(&runs[0]);
    assert!(rout.lines().any(|l| l.starts_with(&format!("{RELEASE}-ca ")) && l.contains("replaced")), "{rout}");
    assert_eq!(e2e::pki::cert_der(&f.value(CA, "ca.crt").await), e2e::pki::cert_der(&old_ca), "restore did not bring the old CA back");
    assert!(e2e::pki::signed_by(&f.value(API_SERVER, "apiserver.crt").await, &old_ca));
    // Owner references survive (the TCP still exists), so Kamaji keeps owning them.
    assert!(f.secret(CA).await.metadata.owner_references.is_some_and(|o| o.iter().any(|r| r.kind == "TenantControlPlane")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_kamaji_is_rotated_by_deletion_keeping_sa_and_datastore_config() {
    let f = fixture("rotate-old", "edge-25.4.1").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.secret(SA).await;
    let old_datastore = f.secret(DATASTORE_CONFIG).await;
    let out = f.pki(&["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "3m", "-o", "json"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["plan"]["method"], json!("delete"));
    let deleted: Vec<&str> =
        report["secrets"].as_array().unwrap().iter().filter(|s| s["result"] == "deleted").map(|s| s["name"].as_str().unwrap()).collect();
    assert!(
        deleted.contains(&format!("{RELEASE}-ca").as_str()) && deleted.contains(&format!("{RELEASE}-admin-kubeconfig").as_str()),
        "{deleted:?}"
    );
    assert!(
        !deleted
            .iter()
            .any(|d| d.ends_with("-sa-certificate") || d.ends_with("-datastore-config") || d.ends_with("-front-proxy-ca-certificate"))
    );
    let new_ca = f.value(CA, "ca.crt").await;
    assert_ne!(public_key(&new_ca), public_key(&old_ca));
    assert_all_chain_to(&f, &new_ca).await;
    // Same objects (never deleted), same content.
    let sa = f.secret(SA).await;
    assert_eq!((sa.uid(), sa.data), (old_sa.uid(), old_sa.data));
    let ds = f.secret(DATASTORE_CONFIG).await;
    assert_eq!((ds.uid(), ds.data), (old_datastore.uid(), old_datastore.data));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_rbac_refuses_before_any_change() {
    let f = fixture("rotate-rbac", "26.3.5-edge").await;
    let cp = ControlPlane::shared();
    let ns = f.ns().to_string();
    let user = format!("rotator-{}", e2e::controlplane::unique_suffix());
    // A user (client certificate from the harness CA, no groups) that may only read secrets.
    let pki = cp.pki();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&pki.ca_crt, rcgen::KeyPair::from_pem(&pki.ca_key).unwrap()).unwrap();
    let (crt, key) = e2e::pki::client_cert(&issuer, &user, &[]).unwrap();
    let kubeconfig = f.dir.path().join("limited.kubeconfig");
    e2e::pki::write_private(&kubeconfig, &e2e::pki::kubeconfig(&cp.apiserver_url, &pki.ca_crt, &crt, &key, "limited")).unwrap();
    let rbac = |kind: &str, body: Value| {
        let client = f.client.clone();
        let (ns, kind) = (ns.clone(), kind.to_string());
        async move {
            let ar = kube::api::ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", &kind),
                &format!("{}s", kind.to_lowercase()),
            );
            let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client, &ns, &ar);
            let obj: kube::api::DynamicObject = serde_json::from_value(body).unwrap();
            api.create(&PostParams::default(), &obj).await.unwrap();
        }
    };
    rbac(
        "Role",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "secrets-reader"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}),
    )
    .await;
    rbac(
        "RoleBinding",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "secrets-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secrets-reader"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
    )
    .await;

    let before = f.settled_snapshot().await;
    let out = f.pki_as(&kubeconfig, &["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let error_line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error_line.contains("nothing was changed"), "{error_line}");
    for missing in [
        &format!("get tenantcontrolplanes.kamaji.clastix.io in {ns}"),
        &format!("list deployments.apps in {ns}"),
        &format!("delete pods in {}", f.tenant.kamaji_namespace),
        &format!("create leases.coordination.k8s.io in {ns}"),
        &format!("delete secrets in {ns}"),
        &format!("patch deployments.apps in {ns}"),
        &format!("delete pods in {ns}"),
    ] {
        assert!(error_line.contains(missing.as_str()), "{missing:?} not in: {error_line}");
    }
    assert!(!error_line.contains(&format!("get secrets in {ns}")), "granted permissions are not listed: {error_line}");
    assert!(stderr.contains("kubectl auth can-i"), "{stderr}");
    let after = f.snapshot().await;
    assert!(after == before, "a refused run changed something: {}", diff(&before, &after));
    assert!(f.backups().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_its_first_deletion_is_completed_by_running_it_again() {
    let f = fixture("rotate-kill", "26.3.5-edge").await;
    let ns = f.ns().to_string();
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--method", "delete", "--restart-workers", "--timeout", "3m", "-o", "json"];
    let killed = f.pki(&args, &[("KUBECTL_PKI_FAULT_AFTER", "first-change")]).await;
    let (_, stderr) = text(&killed);
    assert_eq!(killed.status.code(), Some(86), "{stderr}");
    assert!(stderr.contains("fault injected after first-change"), "{stderr}");
    // The backup was on disk before the deletion; the Lease is still held by the dead run.
    let backups = f.backups();
    assert_eq!(backups.len(), 1);
    let backup = std::fs::read_to_string(&backups[0]).unwrap();
    assert!(backup.contains(&format!("name: {RELEASE}-ca")));
    let lease = Api::<Lease>::namespaced(f.client.clone(), &ns).get(&format!("pki-rotate-{RELEASE}")).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_some_and(|h| h.starts_with("kubectl-pki@")));

    // The same command again: takes the dead run's lock over and finishes.
    let again = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["result"], json!("rotated"));
    assert!(report["lockTakenOver"].as_str().is_some_and(|t| t.contains("is gone")), "{}", report["lockTakenOver"]);
    assert!(report["plan"]["resume"].is_object(), "the re-run resumed");
    assert_eq!(f.backups(), backups, "the interrupted run's backup is reused, not replaced");
    assert_eq!(Path::new(report["backup"].as_str().unwrap()).canonicalize().unwrap(), backups[0].canonicalize().unwrap());
    // Nothing deleted twice: the CA the first run deleted (and Kamaji regenerated) was skipped.
    let ca_result = report["secrets"].as_array().unwrap().iter().find(|s| s["name"] == format!("{RELEASE}-ca")).unwrap()["result"].clone();
    assert!(ca_result.as_str().unwrap().starts_with("skipped"), "{ca_result}");

    // Nothing lost: every secret exists, on the new CA; SA key kept; the old CA is restorable.
    for suffix in CORE.iter().chain(KONNECTIVITY.iter()) {
        f.secret(suffix).await;
    }
    let new_ca = f.value(CA, "ca.crt").await;
    assert_ne!(public_key(&new_ca), public_key(&old_ca));
    assert_all_chain_to(&f, &new_ca).await;
    assert_eq!(f.value(SA, "sa.key").await, old_sa);
    assert!(
        backup.contains(&{
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(&old_ca)
        }),
        "the backup holds the old CA"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_says_what_it_waited_for_and_how_to_resume() {
    // Kamaji edge-25.4.1 ignores the rotate annotation; the version override makes the tool try it.
    let f = fixture("rotate-timeout", "edge-25.4.1").await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--method", "annotate", "--kamaji-version", "26.3.5-edge", "--timeout", "5s"];
    let out = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let error_line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error_line.contains("timed out after 5s"), "{error_line}");
    assert!(error_line.contains(&format!("{RELEASE}-ca still holds the old CA")), "{error_line}");
    assert!(error_line.contains("--method delete"), "{error_line}");
    assert!(error_line.contains("re-run the same command"), "{error_line}");
    // The lock is released; the state keeps the backup for the re-run (the wait for the new
    // CA happens inside the rotate phase, before the stale-prone konnectivity kubeconfig goes).
    let lease = Api::<Lease>::namespaced(f.client.clone(), f.ns()).get(&format!("pki-rotate-{RELEASE}")).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_none());
    let annotations = lease.metadata.annotations.unwrap();
    assert_eq!(annotations.get("rotate-ca.kubectl-pki.io/done").map(String::as_str), Some("backup"));
    assert!(annotations.get("rotate-ca.kubectl-pki.io/backup").is_some_and(|b| b.contains("pki-backup-")));
    assert_eq!(f.backups().len(), 1);
    assert_no_pending_rotation(&f, &stderr).await;
}

/// The run stopped unfinished: the rotate request it left on `<tenant>-ca`
/// (ignored by this Kamaji) was withdrawn, and said so, so that a later
/// Kamaji upgrade does not rotate the CA unannounced.
async fn assert_no_pending_rotation(f: &Fixture, stderr: &str) {
    let ca = f.secret(CA).await;
    let pending = ca.metadata.annotations.unwrap_or_default().get("certs.kamaji.clastix.io/rotate").cloned();
    assert_eq!(pending, None, "the pending rotate annotation is withdrawn");
    assert!(stderr.contains("withdrew the pending certs.kamaji.clastix.io/rotate"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_releases_the_lock_and_says_how_to_resume() {
    // The ignored annotation keeps the run waiting for a new CA: interrupted there.
    let f = fixture("rotate-sigint", "edge-25.4.1").await;
    let mut cmd = tokio::process::Command::new(e2e::pki_bin());
    cmd.arg("--kubeconfig").arg(ControlPlane::shared().kubeconfig());
    cmd.args(["rotate-ca", RELEASE, "--dry-run=false", "--method", "annotate", "--kamaji-version", "26.3.5-edge", "--timeout", "5m"]);
    cmd.args(["-n", f.ns(), "--kamaji-namespace", &f.tenant.kamaji_namespace]);
    cmd.current_dir(f.dir.path()).env_remove("KUBECTL_PKI_FAULT_AFTER");
    // Wait for the rotate phase's wait for the new CA (stderr is not a terminal: plain lines).
    let run = e2e::process::interrupt_when(cmd, WAIT, |l| l.contains("[3/8] rotate") && l.contains("waiting for Kamaji")).await;
    let seen = run.stderr;
    assert_eq!(run.code, Some(130), "{seen}");
    let error_line = seen.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{seen}"));
    assert!(error_line.contains("interrupted: SIGINT") && error_line.contains("Lease was released"), "{error_line}");
    assert!(error_line.contains("re-run the same command"), "{error_line}");
    // Released at once (no 30 s expiry to wait for), with the progress kept for the re-run.
    let lease = Api::<Lease>::namespaced(f.client.clone(), f.ns()).get(&format!("pki-rotate-{RELEASE}")).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_none());
    let annotations = lease.metadata.annotations.unwrap();
    assert_eq!(annotations.get("rotate-ca.kubectl-pki.io/done").map(String::as_str), Some("backup"));
    assert_eq!(f.backups().len(), 1);
    assert_no_pending_rotation(&f, &seen).await;
}

/// A Lease holder that claims this very host name (and a pid that does
/// not run here) but runs elsewhere, as a container of the same host name
/// would: its process annotation names another machine. While it renews
/// it is alive, whatever its pid: refused, nothing changed. Once its
/// renewals stop, the run watches the Lease for its duration (6 s here),
/// takes it over and rotates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_of_the_same_host_name_elsewhere_is_alive_while_it_renews() {
    let f = fixture("rotate-lock", "26.3.5-edge").await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let leases = Api::<Lease>::namespaced(f.client.clone(), f.ns());
    let name = format!("pki-rotate-{RELEASE}");
    let now = || jiff::Timestamp::now().to_string();
    let forged: Lease = serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": {"lock.kubectl-pki.io/process": "another-machine/pid:[4026531836]/999999/1"}},
        "spec": {"holderIdentity": format!("kubectl-pki@{host}/pid-999999/forged"), "leaseDurationSeconds": 6,
                 "acquireTime": now(), "renewTime": now()},
    }))
    .unwrap();
    leases.create(&PostParams::default(), &forged).await.expect("a held Lease");
    let renewing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let renewer = {
        let (leases, name, renewing) = (leases.clone(), name.clone(), renewing.clone());
        tokio::spawn(async move {
            while renewing.load(std::sync::atomic::Ordering::SeqCst) {
                let mut lease = leases.get(&name).await.unwrap();
                lease.spec.as_mut().unwrap().renew_time =
                    Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(jiff::Timestamp::now()));
                leases.replace(&name, &PostParams::default(), &lease).await.unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let before = f.snapshot().await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "3m", "-o", "json"];
    let out = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains("renewed the Lease while this run watched") && error.contains("forged"), "{error}");
    assert!(stderr.contains("watching up to 6s whether it still renews it"), "{stderr}");
    // The forged holder's renewals change its Lease; nothing else may change.
    let not_lease = |m: std::collections::BTreeMap<String, String>| -> std::collections::BTreeMap<String, String> {
        m.into_iter().filter(|(k, _)| !k.starts_with("lease/")).collect()
    };
    let (before, after) = (not_lease(before), not_lease(f.snapshot().await));
    assert!(diff(&before, &after).is_empty(), "nothing changed: {}", diff(&before, &after));
    assert!(f.backups().is_empty(), "no backup: refused before it");

    renewing.store(false, std::sync::atomic::Ordering::SeqCst);
    renewer.await.unwrap();
    let out = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    let took = report["lockTakenOver"].as_str().unwrap_or_default();
    assert!(took.contains("forged") && took.contains("no renewal seen for 6s"), "{report}");
}
