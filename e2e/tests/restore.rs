//! `kubectl pki restore` against the real local control plane and the Kamaji stand-in. The
//! backup is a real one: rotate-ca killed right after its backup phase (which also leaves its
//! resume state in the tenant's Lease). Then the cluster is made to differ from it: the CA
//! secret gets an extra annotation (same data), the API server's kubelet client certificate is deleted
//! and re-issued by the stand-in (other data).
//! - the dry run (the default) shows the plan with fingerprints and changes nothing;
//! - a real restore saves the current versions first, puts the backup's back, and clears
//!   rotate-ca's state from the Lease; restoring a renewal's backup clears renew's, and the
//!   next renew plans afresh;
//! - a backup of another cluster (a forged kube-system UID) is refused, one without an
//!   identity needs --no-identity-check;
//! - a foreign secret name or namespace in the file is refused, nothing written;
//! - a Lease held by a live run refuses;
//! - a secret that cannot be written (made immutable) fails the run with its name listed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::ControlPlane;
use e2e::cozystack::SeedOptions;
use e2e::kamaji::names::*;
use e2e::rotate_fixture::{Fixture, diff, text};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const RELEASE: &str = "kubernetes-demo";
/// The exit code of an injected fault.
const FAULT_EXIT: i32 = 86;
const TOUCHED: &str = "e2e.kubectl-pki.io/touched";

async fn fixture(prefix: &str) -> Fixture {
    let endpoint = e2e::TenantApi::endpoint(e2e::process::free_port().expect("free port"));
    let seed = SeedOptions { endpoint: Some(endpoint), ..SeedOptions::default() };
    Fixture::new(prefix, RELEASE, seed, WAIT).await
}

/// A real backup: rotate-ca killed after its backup phase. Returns its path.
async fn backup(f: &Fixture) -> PathBuf {
    let out = f.pki(&["rotate-ca", RELEASE, "--dry-run=false"], &[("KUBECTL_PKI_FAULT_AFTER", "backup")]).await;
    assert_eq!(out.status.code(), Some(FAULT_EXIT), "{:?}", text(&out));
    let backups = f.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    backups[0].clone()
}

async fn kube_system_uid(f: &Fixture) -> String {
    Api::<Namespace>::all(f.client.clone()).get("kube-system").await.unwrap().metadata.uid.unwrap()
}

fn read_yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).expect("a backup parses")
}

/// A copy of the backup at `path` with `edit` applied, 0600, next to it.
fn edited(path: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut doc = read_yaml(path);
    edit(&mut doc);
    let out = path.with_file_name(name);
    std::fs::write(&out, serde_saphyr::to_string(&doc).unwrap()).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    out
}

/// Makes the cluster differ from the backup: an annotation on the CA secret (same data), and
/// the kubelet client certificate re-issued by the stand-in (other data). Returns the
/// re-issued data.
async fn touch(f: &Fixture) -> Vec<u8> {
    let ca = f.tenant.secret(CA);
    let patch = json!({"metadata": {"annotations": {TOUCHED: "1"}}});
    f.secrets.patch(&ca, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let name = f.tenant.secret(API_SERVER_KUBELET_CLIENT);
    let before = f.secrets.get(&name).await.unwrap();
    f.secrets.delete(&name, &Default::default()).await.unwrap();
    let deadline = Instant::now() + f.wait;
    loop {
        if let Some(s) = f.secrets.get_opt(&name).await.unwrap()
            && s.metadata.uid != before.metadata.uid
            && s.data.is_some()
        {
            assert_ne!(s.data, before.data, "the stand-in re-issued other data");
            return data(&s);
        }
        assert!(Instant::now() < deadline, "the stand-in did not re-issue {name}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The secret's data as one byte string (sorted keys), to compare versions.
fn data(s: &Secret) -> Vec<u8> {
    s.data.iter().flatten().flat_map(|(k, v)| [k.as_bytes().to_vec(), v.0.clone()]).flatten().collect()
}

fn lease_api(f: &Fixture) -> Api<Lease> {
    Api::namespaced(f.client.clone(), f.ns())
}

fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["secrets"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no row {name}: {report}"))
}

fn error_line(stderr: &str) -> &str {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    errors[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_plan_with_fingerprints_and_changes_nothing() {
    let f = fixture("restore-dry").await;
    let path = backup(&f).await;
    touch(&f).await;
    let before = f.settled_snapshot().await;

    let out = f.pki(&["restore", path.to_str().unwrap(), "-o", "json"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["result"], "planned");
    assert_eq!((report["namespace"].as_str(), report["tenant"].as_str()), (Some(f.ns()), Some(RELEASE)));
    assert_eq!(report["cluster"]["uid"], report["recordedCluster"]["uid"], "{report}");
    let ca = row(&report, &f.tenant.secret(CA));
    assert_eq!((ca["action"].as_str(), ca["result"].as_str()), (Some("replace"), Some("would replace")), "{ca}");
    assert_eq!(ca["backupSha256"], ca["clusterSha256"], "only an annotation differs: {ca}");
    let kcc = row(&report, &f.tenant.secret(API_SERVER_KUBELET_CLIENT));
    assert_eq!(kcc["action"], "replace");
    assert!(kcc["backupSha256"].as_str().unwrap().starts_with("sha256:") && kcc["backupSha256"] != kcc["clusterSha256"], "{kcc}");
    let unchanged = report["secrets"].as_array().unwrap().iter().filter(|r| r["action"] == "unchanged").count();
    assert!(unchanged >= 5, "the rest is unchanged: {report}");
    let lease = report["lease"].to_string();
    assert!(lease.contains("records a rotate-ca run") && lease.contains("a real run clears it"), "{lease}");

    // The table says the same to a person.
    let out = f.pki(&["restore", path.to_str().unwrap()], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("would replace") && stdout.contains("sha256:") && stdout.contains("unchanged"), "{stdout}");
    assert!(stderr.contains("dry run: nothing is changed") && stderr.contains("--dry-run=false"), "{stderr}");

    assert_eq!(f.settled_snapshot().await, before, "the dry run changed: {}", diff(&before, &f.snapshot().await));
    assert_eq!(f.backups().len(), 1, "no pre-restore backup in a dry run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_saves_the_current_versions_first_and_clears_the_rotate_state() {
    let f = fixture("restore-real").await;
    let path = backup(&f).await;
    let backed_up = read_yaml(&path);
    let reissued = touch(&f).await;
    let lease_name = format!("pki-rotate-{RELEASE}");
    let annotations = lease_api(&f).get(&lease_name).await.unwrap().metadata.annotations.unwrap_or_default();
    assert!(annotations.keys().any(|k| k.starts_with("rotate-ca.kubectl-pki.io/")), "rotate-ca left its state: {annotations:?}");

    let out = f.pki(&["restore", path.to_str().unwrap(), "--dry-run=false", "-o", "json"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "restored", "{report}");
    assert_eq!(row(&report, &f.tenant.secret(CA))["result"], "replaced");
    assert_eq!(row(&report, &f.tenant.secret(API_SERVER_KUBELET_CLIENT))["result"], "replaced");
    assert_eq!(report["rotateStateCleared"], true);
    assert!(stderr.contains("took the Lease") || report["lease"].to_string().contains("took the Lease"), "{stderr}\n{report}");

    // The backup's versions are back.
    let ca = f.secret(CA).await;
    assert!(!ca.metadata.annotations.unwrap_or_default().contains_key(TOUCHED), "the CA secret's annotations are the backup's");
    let kcc_item =
        backed_up["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == f.tenant.secret(API_SERVER_KUBELET_CLIENT));
    let kcc_backup: Secret = serde_json::from_value(kcc_item.unwrap().clone()).unwrap();
    assert_eq!(data(&f.secret(API_SERVER_KUBELET_CLIENT).await), data(&kcc_backup), "the backup's kubelet client certificate is back");

    // What it replaced was saved first: 0600, this cluster's identity, the versions it overwrote.
    let saved = PathBuf::from(report["preRestoreBackup"].as_str().expect("a pre-restore backup"));
    assert!(stderr.contains(&format!("pre-restore backup: {}", saved.display())), "{stderr}");
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    let doc = read_yaml(&saved);
    let a = &doc["metadata"]["annotations"];
    assert_eq!(a["backup.kubectl-pki.io/taken-before"], "restore");
    assert_eq!(a["backup.kubectl-pki.io/cluster-uid"], kube_system_uid(&f).await.as_str());
    assert_eq!((a["backup.kubectl-pki.io/namespace"].as_str(), a["backup.kubectl-pki.io/tenant"].as_str()), (Some(f.ns()), Some(RELEASE)));
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the two replaced secrets: {items:?}");
    let saved_kcc = items.iter().find(|i| i["metadata"]["name"] == f.tenant.secret(API_SERVER_KUBELET_CLIENT)).unwrap();
    assert_eq!(data(&serde_json::from_value(saved_kcc.clone()).unwrap()), reissued, "the overwritten version is in it");
    // Still a List kubectl reads.
    let applied =
        e2e::kubectl::run_async(ControlPlane::shared().kubeconfig(), &["apply", "--dry-run=server", "-f", saved.to_str().unwrap()])
            .await
            .expect("kubectl reads the backup");
    assert!(applied.contains(&f.tenant.secret(CA)), "{applied}");

    // The Lease is free and holds no rotate-ca state: a later rotate-ca starts clean.
    let lease = lease_api(&f).get(&lease_name).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_none());
    let left: Vec<String> =
        lease.metadata.annotations.unwrap_or_default().into_keys().filter(|k| k.starts_with("rotate-ca.kubectl-pki.io/")).collect();
    assert!(left.is_empty(), "{left:?}");

    // Again: nothing to replace, nothing saved, the summary counts all.
    let out = f.pki(&["restore", path.to_str().unwrap(), "--dry-run=false"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("Restored ") && stderr.contains("0 replaced"), "{stderr}");
    assert_eq!(f.backups().len(), 2, "no third backup: {:?}", f.backups());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_a_renewals_backup_clears_its_state_and_the_next_renewal_starts_afresh() {
    let f = fixture("restore-renewal").await;
    // A real renewal killed right after its backup: the backup and renew's state in the Lease.
    let out = f.pki(&["renew", RELEASE, "--dry-run=false"], &[("KUBECTL_PKI_FAULT_AFTER", "backup")]).await;
    assert_eq!(out.status.code(), Some(FAULT_EXIT), "{:?}", text(&out));
    let (stdout, _) = text(&f.pki(&["renew", RELEASE], &[]).await);
    assert!(stdout.contains("Resuming: a renewal started"), "the dry run sees the interrupted renewal: {stdout}");
    let backups = f.backups();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(read_yaml(&backups[0])["metadata"]["annotations"]["backup.kubectl-pki.io/taken-before"], "renew");

    let path = backups[0].to_str().unwrap();
    let (stdout, _) = text(&f.pki(&["restore", path, "-o", "json"], &[]).await);
    let lease = serde_json::from_str::<Value>(&stdout).expect("JSON report")["lease"].to_string();
    assert!(lease.contains("records a renew run (unfinished, done: backup") && lease.contains("a real run clears it"), "{lease}");
    let out = f.pki(&["restore", path, "--dry-run=false", "-o", "json"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!((report["statesCleared"].clone(), report["rotateStateCleared"].clone()), (json!(["renew"]), json!(false)), "{report}");
    let annotations = lease_api(&f).get(&format!("pki-rotate-{RELEASE}")).await.unwrap().metadata.annotations.unwrap_or_default();
    let left: Vec<&String> = annotations.keys().filter(|k| k.starts_with("renew.kubectl-pki.io/")).collect();
    assert!(left.is_empty(), "renew's state is gone: {left:?}");
    let (stdout, _) = text(&f.pki(&["renew", RELEASE], &[]).await);
    assert!(stdout.contains("Plan:") && !stdout.contains("Resuming"), "the next renewal plans afresh: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_another_cluster_is_refused_and_one_without_identity_needs_the_flag() {
    let f = fixture("restore-identity").await;
    let path = backup(&f).await;
    let recorded = read_yaml(&path);
    assert_eq!(recorded["metadata"]["annotations"]["backup.kubectl-pki.io/cluster-uid"], kube_system_uid(&f).await.as_str());
    assert!(
        recorded["metadata"]["annotations"]["backup.kubectl-pki.io/cluster-server"].as_str().is_some_and(|s| s.starts_with("https://"))
    );
    touch(&f).await;
    let before = f.settled_snapshot().await;

    let forged = edited(&path, "forged.yaml", |d| d["metadata"]["annotations"]["backup.kubectl-pki.io/cluster-uid"] = json!("forged-uid"));
    let out = f.pki(&["restore", forged.to_str().unwrap(), "--dry-run=false"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let err = error_line(&stderr);
    assert!(err.contains("another cluster") && err.contains("forged-uid"), "{err}");
    // Not even with the flag for old backups.
    let out = f.pki(&["restore", forged.to_str().unwrap(), "--dry-run=false", "--no-identity-check"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));

    let unrecorded = edited(&path, "old.yaml", |d| {
        let a = d["metadata"]["annotations"].as_object_mut().unwrap();
        a.remove("backup.kubectl-pki.io/cluster-uid");
        a.remove("backup.kubectl-pki.io/cluster-server");
    });
    let out = f.pki(&["restore", unrecorded.to_str().unwrap(), "--dry-run=false"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(error_line(&stderr).contains("records no cluster identity") && stderr.contains("--no-identity-check"), "{stderr}");
    assert_eq!(f.settled_snapshot().await, before, "a refused restore changed: {}", diff(&before, &f.snapshot().await));

    let out = f.pki(&["restore", unrecorded.to_str().unwrap(), "--no-identity-check"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("warning: --no-identity-check") && stdout.contains("would replace"), "{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_secret_name_or_namespace_in_the_file_is_refused() {
    let f = fixture("restore-foreign").await;
    let path = backup(&f).await;
    let victim = Secret {
        metadata: kube::api::ObjectMeta { name: Some("victim".into()), ..Default::default() },
        string_data: Some([("token".to_string(), "mine".to_string())].into()),
        ..Default::default()
    };
    f.secrets.create(&PostParams::default(), &victim).await.unwrap();
    touch(&f).await;
    let before = f.settled_snapshot().await;

    let renamed = edited(&path, "renamed.yaml", |d| {
        let mut extra = d["items"][0].clone();
        extra["metadata"]["name"] = json!("victim");
        d["items"].as_array_mut().unwrap().push(extra);
    });
    let moved = edited(&path, "moved.yaml", |d| d["items"][1]["metadata"]["namespace"] = json!(f.tenant.kamaji_namespace));
    let n = read_yaml(&path)["items"].as_array().unwrap().len();
    for (file, expected) in [
        (&renamed, format!("item {n} (\"victim\"): not a secret of tenant {RELEASE}")),
        (&moved, format!("in namespace \"{}\", but the backup is of tenant {}/{RELEASE}", f.tenant.kamaji_namespace, f.ns())),
    ] {
        let out = f.pki(&["restore", file.to_str().unwrap(), "--dry-run=false"], &[]).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(error_line(&stderr).contains(&expected), "{expected}: {stderr}");
    }
    let out = f.pki(&["restore", path.to_str().unwrap(), "--dry-run=false", "-n", &f.tenant.kamaji_namespace], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(error_line(&stderr).contains(&format!("-n {}", f.ns())), "{stderr}");

    assert_eq!(f.settled_snapshot().await, before, "a refused restore changed: {}", diff(&before, &f.snapshot().await));
    assert_eq!(f.backups().len(), 1, "nothing saved: nothing was to be written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_by_a_live_run_refuses() {
    let f = fixture("restore-locked").await;
    let path = backup(&f).await;
    touch(&f).await;
    let leases = lease_api(&f);
    let name = format!("pki-rotate-{RELEASE}");
    // Another run, elsewhere, renewing every second.
    let mut lease = leases.get(&name).await.unwrap();
    let spec = lease.spec.get_or_insert_with(Default::default);
    spec.holder_identity = Some("kubectl-pki@elsewhere/pid-1/feed".into());
    spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
    spec.lease_duration_seconds = Some(30);
    lease.metadata.annotations.get_or_insert_with(Default::default).remove("lock.kubectl-pki.io/process");
    leases.replace(&name, &PostParams::default(), &lease).await.unwrap();
    let renewer = {
        let (leases, name) = (leases.clone(), name.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(700)).await;
                let patch = json!({"spec": {"renewTime": MicroTime(jiff::Timestamp::now())}});
                let _ = leases.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await;
            }
        })
    };

    let dry = f.pki(&["restore", path.to_str().unwrap()], &[]).await;
    let (_, stderr) = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("is held by kubectl-pki@elsewhere/pid-1/feed"), "the dry run says so: {stderr}");

    let out = f.pki(&["restore", path.to_str().unwrap(), "--dry-run=false"], &[]).await;
    renewer.abort();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let err = error_line(&stderr);
    assert!(err.contains("tenant is locked") && err.contains("kubectl-pki@elsewhere/pid-1/feed"), "{err}");
    assert!(f.secret(CA).await.metadata.annotations.unwrap_or_default().contains_key(TOUCHED), "nothing was restored");
    assert_eq!(f.backups().len(), 1, "nothing saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_that_cannot_be_written_fails_the_run_listing_it() {
    let f = fixture("restore-partial").await;
    let path = backup(&f).await;
    touch(&f).await;
    // Immutable, and different from the backup (an annotation): replacing it is refused.
    let stuck = f.tenant.secret(ADMIN_KUBECONFIG);
    let patch = json!({"immutable": true, "metadata": {"annotations": {TOUCHED: "1"}}});
    f.secrets.patch(&stuck, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();

    let out = f.pki(&["restore", path.to_str().unwrap(), "--dry-run=false"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let err = error_line(&stderr);
    assert!(err.contains("restore incomplete: 1 of") && err.contains(&stuck), "{err}");
    assert!(stderr.contains(&format!("  failed: {stuck}: ")), "the failed secret is listed with why: {stderr}");
    assert!(!stderr.contains("Restored "), "{stderr}");
    assert!(stdout.contains("failed:") && stdout.contains("replaced"), "{stdout}");
    // The others were restored.
    assert!(!f.secret(CA).await.metadata.annotations.unwrap_or_default().contains_key(TOUCHED));
    assert!(f.secret(ADMIN_KUBECONFIG).await.metadata.annotations.unwrap_or_default().contains_key(TOUCHED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_permissions_refuse_before_any_write_naming_the_lease_verbs() {
    let f = fixture("restore-rbac").await;
    let path = backup(&f).await;
    touch(&f).await;
    let cp = ControlPlane::shared();
    let ns = f.ns().to_string();
    // A user that may read and write secrets, nothing else.
    let user = format!("restorer-{}", e2e::controlplane::unique_suffix());
    let pki = cp.pki();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&pki.ca_crt, rcgen::KeyPair::from_pem(&pki.ca_key).unwrap()).unwrap();
    let (crt, key) = e2e::pki::client_cert(&issuer, &user, &[]).unwrap();
    let kubeconfig = f.dir.path().join("limited.kubeconfig");
    e2e::pki::write_private(&kubeconfig, &e2e::pki::kubeconfig(&cp.apiserver_url, &pki.ca_crt, &crt, &key, "limited")).unwrap();
    for (kind, body) in [
        (
            "Role",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "secrets-writer"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create", "update"]}]}),
        ),
        (
            "RoleBinding",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "secrets-writer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secrets-writer"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
        ),
    ] {
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
            &format!("{}s", kind.to_lowercase()),
        );
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(f.client.clone(), &ns, &ar);
        api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
    }
    let before = f.settled_snapshot().await;

    let out = f.pki_as(&kubeconfig, &["restore", path.to_str().unwrap(), "--dry-run=false"], &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let err = error_line(&stderr);
    assert!(err.contains("nothing was changed"), "{err}");
    for missing in [
        "get namespaces kube-system".to_string(),
        format!("get leases.coordination.k8s.io in {ns}"),
        format!("create leases.coordination.k8s.io in {ns}"),
        format!("update leases.coordination.k8s.io in {ns}"),
    ] {
        assert!(err.contains(&missing), "{missing:?} not in: {err}");
    }
    assert!(!err.contains(&format!("update secrets in {ns}")), "granted permissions are not listed: {err}");
    assert!(stderr.contains("kubectl auth can-i"), "{stderr}");
    assert_eq!(f.settled_snapshot().await, before, "a refused restore changed: {}", diff(&before, &f.snapshot().await));
    assert_eq!(f.backups().len(), 1, "nothing saved");
}
