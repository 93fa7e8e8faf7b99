//! `kubectl pki renew` against the real local control plane and the Kamaji stand-in, on
//! Cozystack-shaped tenants: the dry run changes nothing; a renewal on a live tenant API
//! restarts the Kamaji controller, has every leaf and kubeconfig re-issued for a year on the
//! unchanged CA, restarts the consumers of the admin kubeconfig, and ends with the tenant API
//! serving the renewed certificate, while the old admin kubeconfig keeps working and a second
//! tenant is left alone; a run killed after its first change is finished by re-running it; a
//! controller that was not restarted fails the verification, naming the leaves; an old Kamaji
//! renews by deletion; an unfinished rotation blocks a renewal; Ctrl-C releases the Lease; a
//! user who may only read is refused before any change, with every missing write.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use e2e::cozystack::{SeedOptions, seed_tenant};
use e2e::kamaji::names::*;
use e2e::kubectl::run_async as kubectl;
use e2e::rotate_fixture::{Fixture, diff, text};
use e2e::{ControlPlane, TenantApi, TenantApiOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::ListParams;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

const WAIT: Duration = Duration::from_secs(120);
const RELEASE: &str = "kubernetes-demo";
const DAY: i64 = 86_400;
/// The exit code of an injected fault.
const FAULT_EXIT: i32 = 86;

/// The leaf and kubeconfig secrets of a tenant: (suffix, key, is a kubeconfig).
const LEAVES: [(&str, &str, bool); 10] = [
    (API_SERVER, "apiserver.crt", false),
    (API_SERVER_KUBELET_CLIENT, "apiserver-kubelet-client.crt", false),
    (FRONT_PROXY_CLIENT, "front-proxy-client.crt", false),
    (DATASTORE_CERT, "server.crt", false),
    (KONNECTIVITY_CERT, "tls.crt", false),
    (ADMIN_KUBECONFIG, "admin.conf", true),
    (ADMIN_KUBECONFIG, "super-admin.svc", true),
    (CONTROLLER_MANAGER_KUBECONFIG, "controller-manager.conf", true),
    (SCHEDULER_KUBECONFIG, "scheduler.conf", true),
    (KONNECTIVITY_KUBECONFIG, "konnectivity-server.conf", true),
];

/// A fresh namespace with a settled tenant whose kubeconfigs point to a port nothing listens on.
async fn fixture(prefix: &str, version: &str) -> Fixture {
    let endpoint = TenantApi::endpoint(e2e::process::free_port().expect("free port"));
    let seed = SeedOptions { kamaji_version: version.into(), endpoint: Some(endpoint), ..SeedOptions::default() };
    Fixture::settled(prefix, RELEASE, seed, WAIT).await
}

/// `kubectl-pki renew ARGS -n NS --kamaji-namespace NS-kamaji` as the admin: (exit code, stdout, stderr).
async fn renew(f: &Fixture, args: &[&str], fault: Option<&str>) -> (Option<i32>, String, String) {
    let all: Vec<&str> = ["renew"].into_iter().chain(args.iter().copied()).collect();
    let mut cmd = f.command(ControlPlane::shared().kubeconfig(), &all, true);
    cmd.env("NO_COLOR", "1");
    if let Some(point) = fault {
        cmd.env("KUBECTL_PKI_FAULT_AFTER", point);
    }
    let out = cmd.output().await.expect("run kubectl-pki");
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

/// (serial, NotAfter in Unix seconds) of a PEM certificate.
fn serial_and_not_after(pem: &[u8]) -> (String, i64) {
    let der = e2e::kamaji::pki::first_cert_der(pem).expect("pem");
    let (_, cert) = X509Certificate::from_der(&der).expect("der");
    (cert.raw_serial_as_string(), cert.validity().not_after.timestamp())
}

/// Every leaf of the tenant: `suffix/key` → (serial, NotAfter).
async fn leaves(f: &Fixture) -> BTreeMap<String, (String, i64)> {
    let mut out = BTreeMap::new();
    for (suffix, key, kubeconfig) in LEAVES {
        let value = f.value(suffix, key).await;
        let pem = if kubeconfig { e2e::kamaji::pki::parse_kubeconfig(&value).expect("kubeconfig").client.cert.into_bytes() } else { value };
        out.insert(format!("{suffix}/{key}"), serial_and_not_after(&pem));
    }
    out
}

/// Every leaf got a new serial and lasts a year from `started` (an hour of tolerance).
fn assert_renewed(before: &BTreeMap<String, (String, i64)>, after: &BTreeMap<String, (String, i64)>, started: i64) {
    for (what, (serial, not_after)) in after {
        let (old_serial, old_not_after) = &before[what];
        assert_ne!(serial, old_serial, "{what} was not re-issued");
        assert!(not_after > old_not_after, "{what}: NotAfter did not move ({not_after} vs {old_not_after})");
        assert!(*not_after >= started + 365 * DAY - 3600, "{what} expires in {} days", (not_after - started) / DAY);
    }
}

/// resourceVersion of every secret of `tenant` in the fixture's namespace.
async fn versions_of(f: &Fixture, tenant: &str) -> BTreeMap<String, String> {
    let lp = ListParams::default().labels(&format!("{LABEL_NAME}={tenant}"));
    let items: Vec<Secret> = f.secrets.list(&lp).await.unwrap().items;
    items.into_iter().map(|s| (s.name_any(), s.resource_version().unwrap_or_default())).collect()
}

fn report(stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let f = fixture("renew-dry", "26.3.5-edge").await;
    let before = f.settled_snapshot().await;
    let (code, stdout, stderr) = renew(&f, &[RELEASE], None).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for expected in [
        "dry run: nothing is changed",
        "Mechanism: annotate",
        "26.3.5-edge",
        "The Kamaji controller has been running since",
        &format!("{RELEASE}-api-server-certificate"),
        &format!("{RELEASE}-admin-kubeconfig"),
        "the tenant CA: renew never touches it",
        "the service-account key: renew never touches it",
        &format!("{RELEASE}-kccm"),
        &format!("{RELEASE}-cluster-autoscaler"),
        &format!("{RELEASE}-kcsi-controller"),
        "--dry-run=false",
    ] {
        assert!(stdout.contains(expected), "plan lacks {expected:?}:\n{stdout}");
    }
    assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
    let (code, stdout, stderr) = renew(&f, &[RELEASE, "-o", "json", "--only", "kubeconfig"], None).await;
    assert_eq!(code, Some(0), "{stderr}");
    let r = report(&stdout, &stderr);
    assert_eq!((r["kind"].as_str(), r["dryRun"].as_bool(), r["result"].as_str()), (Some("RenewReport"), Some(true), Some("planned")));
    let renewing: Vec<&str> =
        r["plan"]["secrets"].as_array().unwrap().iter().filter(|s| s["action"] == "renew").filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(renewing.len(), 4, "the four kubeconfigs: {renewing:?}");
    assert!(renewing.iter().all(|n| n.ends_with("-kubeconfig")), "{renewing:?}");
    let admin = r["plan"]["secrets"].as_array().unwrap().iter().find(|s| s["name"] == format!("{RELEASE}-admin-kubeconfig")).unwrap();
    assert!(admin["notAfter"].is_string() && admin["certificates"][0]["serial"].is_string(), "{admin:#}");

    let after = f.snapshot().await;
    assert!(after == before, "the dry run changed something: {}", diff(&before, &after));
    assert!(f.backups().is_empty(), "the dry run wrote a backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_on_a_live_tenant_restarts_consumers_and_the_api_serves_the_renewed_certificate() {
    let port = e2e::process::free_port().expect("free port");
    let seed = SeedOptions { endpoint: Some(TenantApi::endpoint(port)), ..SeedOptions::default() };
    let f = Fixture::settled("renew-live", RELEASE, seed.clone(), WAIT).await;
    let api = TenantApi::spawn(&f.client, f.ns(), &f.tenant.name, TenantApiOptions { port: Some(port), ..TenantApiOptions::default() })
        .await
        .expect("tenant API");
    // A second tenant in the namespace: renew must leave it alone.
    let second = "kubernetes-second";
    let other = SeedOptions { kamaji_namespace: f.tenant.kamaji_namespace.clone(), other_tenant: false, endpoint: None, ..seed };
    seed_tenant(&f.client, f.ns(), second, &other).await.expect("second tenant");
    e2e::kamaji::wait_ready(&f.client, f.ns(), second, WAIT).await.expect("second tenant Ready");
    for ns in [f.ns(), f.tenant.kamaji_namespace.as_str()] {
        e2e::pods::settle(&f.client, ns, WAIT).await.expect("settled");
    }
    let second_before = versions_of(&f, second).await;

    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = (f.value(SA, "sa.key").await, f.value(SA, "sa.pub").await);
    let old_admin = f.dir.path().join("old-admin.kubeconfig");
    std::fs::write(&old_admin, f.value(ADMIN_KUBECONFIG, "admin.conf").await).unwrap();
    kubectl(&old_admin, &["get", "namespaces", "-o", "name"]).await.expect("the admin kubeconfig works before");
    let before = leaves(&f).await;
    let kamaji_before = f.pod_uids(&f.tenant.kamaji_namespace, e2e::cozystack::KAMAJI_SELECTOR).await;
    let mut consumers = Vec::new();
    for selector in [format!("app={RELEASE}-kcsi-driver"), format!("k8s-app={RELEASE}-kccm"), format!("app={RELEASE}-cluster-autoscaler")] {
        consumers.push((selector.clone(), f.pod_uids(f.ns(), &selector).await));
    }
    let generation = api.served().expect("serving").generation;

    let file = f.dir.path().join("renewed.kubeconfig");
    let started = jiff::Timestamp::now().as_second();
    let (code, stdout, stderr) =
        renew(&f, &[RELEASE, "--dry-run=false", "--timeout", "3m", "-o", "json", "--write-kubeconfig", file.to_str().unwrap()], None).await;
    assert_eq!(code, Some(0), "{stderr}");
    let r = report(&stdout, &stderr);
    assert_eq!(r["result"], "renewed", "{r:#}");
    assert_eq!(r["liveCheck"]["verdict"], "passed", "{:#}", r["liveCheck"]);
    assert_eq!(r["renewed"].as_array().unwrap().len(), 9, "every leaf and kubeconfig secret: {:#}", r["renewed"]);
    eprintln!("measured: renew took {}s ({}s waiting for controllers)", r["seconds"], r["waitedSeconds"]);
    for line in ["[1/7] rbac+lock", "[3/7] kamaji: done", "[5/7] verify: done", "[7/7] live-check: done"] {
        assert!(stderr.contains(line), "{line:?} not in:\n{stderr}");
    }

    // Every leaf re-issued for a year, on the unchanged CA; Kamaji's timestamp on the annotation.
    assert_renewed(&before, &leaves(&f).await, started);
    assert_eq!(f.value(CA, "ca.crt").await, old_ca, "the CA changed");
    assert_eq!((f.value(SA, "sa.key").await, f.value(SA, "sa.pub").await), old_sa, "the service-account key changed");
    for (suffix, key, _) in LEAVES {
        let secret = f.secret(suffix).await;
        let value = secret.annotations().get(ANNOTATION_ROTATE).cloned().unwrap_or_default();
        assert!(value.parse::<jiff::Timestamp>().is_ok(), "{suffix}: rotate annotation {value:?} is not an RFC 3339 time ({key})");
    }
    // The controller and every consumer of the admin kubeconfig were restarted.
    let kamaji_after = f.pod_uids(&f.tenant.kamaji_namespace, e2e::cozystack::KAMAJI_SELECTOR).await;
    assert!(kamaji_after.is_disjoint(&kamaji_before), "the Kamaji controller pods were not replaced");
    for (selector, uids) in &consumers {
        let now = f.pod_uids(f.ns(), selector).await;
        assert!(!now.is_empty() && now.is_disjoint(uids), "{selector}: not restarted");
    }
    // The tenant API serves the renewed certificate; the old and the new admin kubeconfig both log in.
    // (Its new process serves TLS before it reports Ready.)
    let served = api.wait_restarted(generation, WAIT).await.expect("the tenant API restarted on the renewed certificate");
    assert_eq!(served.files.tls_cert.as_bytes(), f.value(API_SERVER, "apiserver.crt").await.as_slice());
    kubectl(&old_admin, &["get", "namespaces", "-o", "name"]).await.expect("the old admin kubeconfig still works");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the written kubeconfig's mode");
    assert_eq!(std::fs::read(&file).unwrap(), f.value(ADMIN_KUBECONFIG, "admin.conf").await);
    kubectl(&file, &["get", "namespaces", "-o", "name"]).await.expect("the renewed admin kubeconfig works");
    // The second tenant was left alone.
    let second_after = versions_of(&f, second).await;
    assert!(second_after == second_before, "the second tenant changed: {}", diff(&second_before, &second_after));
    let backups = f.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(std::fs::metadata(&backups[0]).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_killed_after_its_first_change_is_finished_by_running_it_again() {
    let f = fixture("renew-resume", "26.3.5-edge").await;
    let before = leaves(&f).await;
    let started = jiff::Timestamp::now().as_second();
    let args = [RELEASE, "--dry-run=false", "--timeout", "2m"];
    let (code, _, stderr) = renew(&f, &args, Some("first-change")).await;
    assert_eq!(code, Some(FAULT_EXIT), "{stderr}");
    let lease = e2e::rotate_fixture::snapshot(&f.client, &[f.ns()], false).await;
    assert!(lease.keys().any(|k| k.ends_with(&format!("pki-rotate-{RELEASE}"))), "the Lease records the run: {lease:?}");
    let backup = std::fs::read(&f.backups()[0]).unwrap();

    // The dry run shows the interrupted renewal; the re-run finishes it from the same backup.
    let (code, stdout, _) = renew(&f, &[RELEASE], None).await;
    assert_eq!(code, Some(0), "the killed run's process is gone: its lock does not count: {stdout}");
    assert!(stdout.contains("Resuming: a renewal started"), "{stdout}");
    let (code, stdout, stderr) = renew(&f, &[&args[..], &["-o", "json"]].concat(), None).await;
    assert_eq!(code, Some(0), "{stderr}");
    let r = report(&stdout, &stderr);
    assert_eq!(r["result"], "renewed");
    assert!(stderr.contains("reusing the backup of the interrupted run"), "{stderr}");
    let kamaji = r["phases"].as_array().unwrap().iter().find(|p| p["name"] == "kamaji").unwrap();
    assert_eq!(kamaji["status"], "skipped", "the controller is not restarted twice: {kamaji:#}");
    let skipped = r["secrets"].as_array().unwrap().iter().filter(|s| s["result"].as_str().unwrap_or("").starts_with("skipped")).count();
    assert!(skipped >= 1, "the secret changed before the kill is not asked again: {:#}", r["secrets"]);
    assert_eq!(f.backups().len(), 1, "one backup");
    assert_eq!(std::fs::read(&f.backups()[0]).unwrap(), backup, "the backup is the first run's");
    assert_renewed(&before, &leaves(&f).await, started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_controller_restart_the_verification_fails_naming_the_leaves() {
    let f = fixture("renew-norestart", "26.3.5-edge").await;
    // A controller up for a month: it re-issues from that process start, so the renewed
    // leaves expire before the ones it issued at the fixture's start. (Left fresh, whether the
    // NotAfter moves would depend on whether its pods were running when it first issued.)
    let aged = e2e::kamaji::age_controller_pods(&f.client, &f.tenant.kamaji_namespace, e2e::cozystack::KAMAJI_SELECTOR, 30).await;
    assert!(aged.expect("aging the controller pods") > 0, "no controller pods to age");
    // The version given, as no controller pod tells it: the annotation, which this Kamaji
    // (never restarted) honours.
    let args = [RELEASE, "--dry-run=false", "--timeout", "90s", "--kamaji-selector", "app=nothing", "--kamaji-version", "26.3.5-edge"];
    let (code, _, stderr) = renew(&f, &args, None).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("[3/7] kamaji: skipped: no pods match app=nothing"), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(error.contains("verification failed: "), "{stderr}");
    assert!(error.contains("re-issued without a later NotAfter"), "{error}");
    assert!(error.contains(&format!("{}/apiserver.crt", f.tenant.secret(API_SERVER))), "{error}");
    assert!(error.contains(&format!("{}/admin.conf:client", f.tenant.secret(ADMIN_KUBECONFIG))), "{error}");
    assert!(error.contains("no Kamaji controller pods match app=nothing"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_kamaji_renews_by_deleting_the_leaf_secrets_only() {
    let f = fixture("renew-delete", "edge-25.4.1").await;
    let before = leaves(&f).await;
    let uids = |s: &Secret| s.uid().unwrap_or_default();
    let ca_uid = uids(&f.secret(CA).await);
    let sa_uid = uids(&f.secret(SA).await);
    let started = jiff::Timestamp::now().as_second();
    let (code, stdout, stderr) = renew(&f, &[RELEASE, "--dry-run=false", "--timeout", "2m", "-o", "json"], None).await;
    assert_eq!(code, Some(0), "{stderr}");
    let r = report(&stdout, &stderr);
    assert_eq!(r["plan"]["mechanism"], "delete");
    assert!(r["secrets"].as_array().unwrap().iter().all(|s| s["result"] == "deleted"), "{:#}", r["secrets"]);
    assert_renewed(&before, &leaves(&f).await, started);
    assert_eq!((uids(&f.secret(CA).await), uids(&f.secret(SA).await)), (ca_uid, sa_uid), "the CA or SA secret was deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_rotation_blocks_a_renewal() {
    let f = fixture("renew-blocked", "26.3.5-edge").await;
    let mut cmd = f.command(ControlPlane::shared().kubeconfig(), &["rotate-ca", RELEASE, "--dry-run=false"], true);
    let out = cmd.env("KUBECTL_PKI_FAULT_AFTER", "backup").output().await.unwrap();
    assert_eq!(out.status.code(), Some(FAULT_EXIT), "{}", text(&out).1);
    let before = f.settled_snapshot().await;
    let (code, _, stderr) = renew(&f, &[RELEASE, "--dry-run=false"], None).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("records an unfinished CA rotation (done: backup"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    let after = f.snapshot().await;
    assert!(after == before, "a refused renewal changed something: {}", diff(&before, &after));
}

/// The other way round: a CA rotation re-issues every leaf, so an interrupted renewal is
/// superseded: the plan says so, and the completed rotation clears the renewal's state, so a
/// later `renew` starts afresh instead of resuming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_supersedes_an_unfinished_renewal_and_clears_its_state() {
    let f = fixture("renew-superseded", "26.3.5-edge").await;
    let (code, _, stderr) = renew(&f, &[RELEASE, "--dry-run=false", "--timeout", "2m"], Some("first-change")).await;
    assert_eq!(code, Some(FAULT_EXIT), "{stderr}");
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> = kube::Api::namespaced(f.client.clone(), f.ns());
    let renew_keys = |l: &k8s_openapi::api::coordination::v1::Lease| -> Vec<String> {
        l.metadata.annotations.iter().flatten().map(|(k, _)| k.clone()).filter(|k| k.starts_with("renew.kubectl-pki.io/")).collect()
    };
    let lease_name = format!("pki-rotate-{RELEASE}");
    assert!(!renew_keys(&leases.get(&lease_name).await.unwrap()).is_empty(), "the interrupted renewal is recorded");

    let plan = f.pki(&["rotate-ca", RELEASE], &[]).await;
    let (stdout, stderr) = text(&plan);
    assert_eq!(plan.status.code(), Some(0), "a renewal does not block a rotation: {stdout}\n{stderr}");
    assert!(stdout.contains("unfinished renewal") && stdout.contains("supersedes it"), "{stdout}");
    let out = f.pki(&["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "2m"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let lease = leases.get(&lease_name).await.unwrap();
    assert_eq!(renew_keys(&lease), Vec::<String>::new(), "the superseded renewal's state is cleared");
    assert!(lease.metadata.annotations.unwrap_or_default().contains_key("rotate-ca.kubectl-pki.io/completed-at"));
    let (code, stdout, _) = renew(&f, &[RELEASE], None).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("Resuming"), "renew starts afresh: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_releases_the_lock_and_keeps_the_progress() {
    // A Kamaji that ignores the annotation (told it is a newer one) keeps the run waiting in its verification.
    let f = fixture("renew-sigint", "edge-25.4.1").await;
    let args = ["renew", RELEASE, "--dry-run=false", "--kamaji-version", "26.3.5-edge", "--timeout", "5m"];
    let cmd = f.command(ControlPlane::shared().kubeconfig(), &args, true);
    let run = e2e::process::interrupt_when(cmd, WAIT, |l| l.starts_with("[5/7] verify:") && l.contains("not re-issued yet")).await;
    let seen = run.stderr;
    assert_eq!(run.code, Some(130), "{seen}");
    let error_line = seen.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{seen}"));
    assert!(error_line.contains("interrupted: SIGINT during the renewal") && error_line.contains("Lease was released"), "{error_line}");
    assert!(error_line.contains("re-run the same command"), "{error_line}");
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> = kube::Api::namespaced(f.client.clone(), f.ns());
    let lease = leases.get(&format!("pki-rotate-{RELEASE}")).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_none(), "released at once");
    let annotations = lease.metadata.annotations.unwrap();
    assert_eq!(annotations.get("renew.kubectl-pki.io/done").map(String::as_str), Some("renew"));
    assert!(!annotations.contains_key("renew.kubectl-pki.io/completed-at"));
    assert_eq!(f.backups().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_is_refused_before_any_change_with_every_missing_write() {
    let f = fixture("renew-rbac", "26.3.5-edge").await;
    let cp = ControlPlane::shared();
    let user = format!("reader-{}", e2e::controlplane::unique_suffix());
    // A user (client certificate from the harness CA, no groups) that may read everything of both namespaces.
    let pki = cp.pki();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&pki.ca_crt, rcgen::KeyPair::from_pem(&pki.ca_key).unwrap()).unwrap();
    let (crt, key) = e2e::pki::client_cert(&issuer, &user, &[]).unwrap();
    let kubeconfig = f.dir.path().join("reader.kubeconfig");
    e2e::pki::write_private(&kubeconfig, &e2e::pki::kubeconfig(&cp.apiserver_url, &pki.ca_crt, &crt, &key, "reader")).unwrap();
    for ns in [f.ns(), f.tenant.kamaji_namespace.as_str()] {
        for (kind, body) in [
            (
                "Role",
                serde_json::json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]}),
            ),
            (
                "RoleBinding",
                serde_json::json!({"metadata": {"name": "reader"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
            ),
        ] {
            let ar = kube::api::ApiResource::from_gvk_with_plural(
                &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
                &format!("{}s", kind.to_lowercase()),
            );
            let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(f.client.clone(), ns, &ar);
            let mut body = body;
            body["apiVersion"] = "rbac.authorization.k8s.io/v1".into();
            body["kind"] = kind.into();
            let obj: kube::api::DynamicObject = serde_json::from_value(body).unwrap();
            api.create(&kube::api::PostParams::default(), &obj).await.unwrap();
        }
    }
    let before = f.settled_snapshot().await;
    let run = |args: &'static [&'static str]| {
        let mut cmd = f.command(&kubeconfig, &[&["renew", RELEASE][..], args].concat(), true);
        async move { cmd.output().await.unwrap() }
    };
    // The dry run says what is missing and exits 3.
    let out = run(&[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("Missing permissions (the real run refuses)"), "{stdout}");
    let out = run(&["--dry-run=false"]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let error_line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error_line.contains("renew needs") && error_line.contains("nothing was changed"), "{error_line}");
    for missing in [
        format!("create leases.coordination.k8s.io in {}", f.ns()),
        format!("patch secrets in {}", f.ns()),
        format!("delete pods in {}", f.tenant.kamaji_namespace),
        format!("patch deployments.apps in {}", f.ns()),
    ] {
        assert!(error_line.contains(&missing), "{missing} not in {error_line}");
    }
    let after = f.snapshot().await;
    assert!(after == before, "a refused renewal changed something: {}", diff(&before, &after));
    assert!(f.backups().is_empty());
}
