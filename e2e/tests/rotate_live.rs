//! CA rotation proven on a LIVE tenant API: the tenant of the Kamaji stand-in runs a real
//! kube-apiserver from its secrets (`e2e::TenantApi`), restarted when its pods are replaced. Users and
//! workloads see what they would see on Kamaji: the admin kubeconfig of before the rotation is
//! refused, the new one logs in, and service-account tokens survive as long as the
//! service-account key does. And rotate-ca ends by checking the live endpoint itself: it passes
//! only once the tenant API serves the new CA, and fails, saying so, while it serves the old one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::ControlPlane;
use e2e::TenantApi;
use e2e::cozystack::SeedOptions;
use e2e::kamaji::names::*;
use e2e::kamaji::pki::{fingerprint, parse_kubeconfig, verifies};
use e2e::kubectl::run_async as kubectl;
use e2e::rotate_fixture::{Fixture, text};
use e2e::tenant_api::Status;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);
const RELEASE: &str = "kubernetes-live";

/// A Ready tenant whose API server runs: locally a kube-apiserver process from its secrets
/// (`Fixture::api_process`), on an operator its own pods. `url()` is where users reach it.
struct Live {
    base: Fixture,
}

impl std::ops::Deref for Live {
    type Target = Fixture;
    fn deref(&self) -> &Fixture {
        &self.base
    }
}

async fn live(prefix: &str) -> Live {
    Live { base: Fixture::live(prefix, RELEASE, SeedOptions::default(), WAIT).await }
}

impl Live {
    /// The tenant API, as its kubeconfigs name it.
    fn url(&self) -> &str {
        self.endpoint.as_deref().expect("a live tenant has an endpoint")
    }

    /// The tenant API process (the local provider only).
    fn api(&self) -> &TenantApi {
        self.api_process()
    }

    /// Waits until the tenant API presents a certificate of `ca` and has no restart to come:
    /// locally the process serves every new file; on an operator, the handshake shows the CA
    /// and the tenant Deployment's rollout is complete. Returns the served certificate.
    async fn wait_presents(&self, ca: &str) -> String {
        if self.standin() {
            return self.wait_serving(ca).await.served.expect("serving").files.tls_cert;
        }
        let served = e2e::served::wait_signed_by(self.url(), ca, self.wait).await.expect("the tenant API serves the new CA");
        e2e::pods::wait_rolled_out(&self.client, self.ns(), &self.tenant.name, self.wait).await.expect("the tenant Deployment rolled out");
        served
    }

    /// One value of the tenant's secret `<tenant>-<suffix>`, as text.
    async fn value_text(&self, suffix: &str, key: &str) -> String {
        String::from_utf8_lossy(&self.value(suffix, key).await).into_owned()
    }

    /// The tenant's admin kubeconfig as users download it, saved to `name`.
    async fn save_admin_kubeconfig(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, self.value_text(ADMIN_KUBECONFIG, "admin.conf").await).unwrap();
        path
    }

    /// A namespace and a ServiceAccount in the tenant, and a token minted for it (TokenRequest).
    async fn mint_token(&self, admin: &Path, team: &str) -> String {
        kubectl(admin, &["create", "namespace", team]).await.expect("create namespace in the tenant");
        kubectl(admin, &["create", "serviceaccount", "robot", "-n", team]).await.expect("create serviceaccount");
        kubectl(admin, &["create", "token", "robot", "-n", team, "--duration=1h"]).await.expect("create token").trim().to_string()
    }

    /// Waits until `ca.crt` of `-ca` differs from `old`, then until the admin kubeconfig embeds
    /// the new CA; returns the new CA.
    async fn wait_new_ca(&self, old: &str) -> String {
        let deadline = Instant::now() + self.wait;
        loop {
            let ca = self.value_text(CA, "ca.crt").await;
            let admin = self.value_text(ADMIN_KUBECONFIG, "admin.conf").await;
            let admin_ca = parse_kubeconfig(admin.as_bytes()).map(|k| k.ca).unwrap_or_default();
            if !ca.is_empty() && ca != old && admin_ca == ca.as_bytes() {
                return ca;
            }
            assert!(Instant::now() < deadline, "no new CA in {}/{} and its admin kubeconfig", self.ns(), self.tenant.secret(CA));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the tenant API serves a certificate of `ca`, with `ca` as client CA, and no
    /// restart is pending.
    async fn wait_serving(&self, ca: &str) -> Status {
        let what = "process serving the new CA";
        self.api()
            .wait_for(what, self.wait, |s| {
                !s.pending
                    && s.served.as_ref().is_some_and(|x| x.files.client_ca == ca && verifies(x.files.tls_cert.as_bytes(), ca.as_bytes()))
            })
            .await
            .expect("tenant API restarted on the new CA")
    }
}

/// A kubeconfig with only a bearer token (a client certificate would win over it), trusting `ca`.
fn token_kubeconfig(dir: &Path, name: &str, server: &str, ca: &str, token: &str) -> PathBuf {
    let path = dir.join(name);
    e2e::pki::write_private(&path, &kubectl_pki_testkit::token_kubeconfig(server, ca, token)).unwrap();
    path
}

/// `kubectl auth whoami` with only `token`: the username the tenant API authenticates.
async fn whoami(dir: &Path, server: &str, ca: &str, token: &str) -> Result<String, String> {
    let kc = token_kubeconfig(dir, &format!("token-{}.kubeconfig", e2e::controlplane::unique_suffix()), server, ca, token);
    kubectl(&kc, &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).await
}

fn names_of(kubectl_output: &str) -> Vec<&str> {
    kubectl_output.lines().map(|l| l.trim().trim_start_matches("namespace/")).collect()
}

/// The state every test starts from: the admin kubeconfig lists the tenant's namespaces (its own
/// storage: the management cluster has no such namespace) and a token authenticates.
/// Returns (admin kubeconfig file, team namespace, token).
async fn before_rotation(f: &Live) -> (PathBuf, String, String) {
    let admin = f.save_admin_kubeconfig("before.kubeconfig").await;
    let team = format!("team-{}", e2e::controlplane::unique_suffix());
    let token = f.mint_token(&admin, &team).await;
    let listed = kubectl(&admin, &["get", "namespaces", "-o", "name"]).await.expect("admin kubeconfig lists namespaces");
    for ns in ["default", "kube-system", team.as_str()] {
        assert!(names_of(&listed).contains(&ns), "{ns} not in {listed}");
    }
    let management: Api<Namespace> = Api::all(f.client.clone());
    assert!(management.get_opt(&team).await.unwrap().is_none(), "{team} leaked into the management cluster");
    let ca = f.value_text(CA, "ca.crt").await;
    let me = whoami(f.dir.path(), f.url(), &ca, &token).await;
    assert_eq!(me.as_deref(), Ok(format!("system:serviceaccount:{team}:robot").as_str()));
    (admin, team, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kamaji_ca_rotation_restarts_the_tenant_api_and_keeps_tokens() {
    let f = live("live-kamaji").await;
    let first = f.api().served().expect("serving");
    assert_eq!(first.generation, 1);
    for key in ["apiserver.key", "sa.key"] {
        let mode = std::fs::metadata(f.api().files_dir(1).join(key)).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600, "{key}");
    }
    let (old_admin, team, token) = before_rotation(&f).await;
    let old_ca = f.value_text(CA, "ca.crt").await;
    let old_client = parse_kubeconfig(f.value_text(ADMIN_KUBECONFIG, "admin.conf").await.as_bytes()).unwrap().client;
    let old_sa = f.value_text(SA, "sa.pub").await;

    // Kamaji's in-place rotation, with the rollout held: the new secrets exist, the old
    // process still serves the old certificate (pending restart), and old clients still work.
    f.api().pause();
    let patch = json!({"metadata": {"annotations": {ANNOTATION_ROTATE: ""}}});
    f.secrets.patch(&f.tenant.secret(CA), &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let new_ca = f.wait_new_ca(&old_ca).await;
    let pending = f.api().wait_for("pending restart", WAIT, |s| s.pending).await.unwrap();
    let held = pending.served.expect("the old process still serves");
    assert_eq!((held.generation, held.files.client_ca.as_str()), (first.generation, old_ca.as_str()));
    let still = kubectl(&old_admin, &["get", "namespace", &team, "-o", "name"]).await;
    assert_eq!(still.as_deref().map(str::trim), Ok(format!("namespace/{team}").as_str()), "old kubeconfig before the restart");
    f.api().resume();
    let status = f.wait_serving(&new_ca).await;
    let served = status.served.unwrap();
    assert!(served.generation > first.generation && served.pid != first.pid, "the process was not restarted");
    assert_eq!(served.files.sa_public, old_sa, "the service-account key was kept");

    // The kubeconfig of before: the server's certificate is now from an unknown authority.
    let refused = kubectl(&old_admin, &["get", "namespaces"]).await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("certificate signed by unknown authority")), "{refused:?}");
    // And its client certificate, even with the new CA trusted, no longer authenticates.
    let old_cert = f.dir.path().join("old-cert.kubeconfig");
    std::fs::write(&old_cert, e2e::pki::kubeconfig(f.url(), &new_ca, &old_client.cert, &old_client.key, "old")).unwrap();
    let unauthorized = kubectl(&old_cert, &["get", "namespaces"]).await;
    assert!(unauthorized.as_ref().is_err_and(|e| e.contains("Unauthorized")), "{unauthorized:?}");
    // The new admin kubeconfig logs in and sees the same tenant (storage survived the restart).
    let new_admin = f.save_admin_kubeconfig("after.kubeconfig").await;
    let listed = kubectl(&new_admin, &["get", "namespaces", "-o", "name"]).await.expect("new admin kubeconfig");
    assert!(names_of(&listed).contains(&team.as_str()), "{listed}");
    // The token of before still authenticates: same service-account key.
    let me = whoami(f.dir.path(), f.url(), &new_ca, &token).await;
    assert_eq!(me.as_deref(), Ok(format!("system:serviceaccount:{team}:robot").as_str()));
    eprintln!("measured: tenant API starts {:?}", f.api().status().starts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_service_account_key_rejects_every_old_token() {
    let f = live("live-sa").await;
    let (admin, team, token) = before_rotation(&f).await;
    let ca = f.value_text(CA, "ca.crt").await;
    let old_sa = f.value_text(SA, "sa.pub").await;
    let generation = f.api().served().unwrap().generation;

    // The runbook's hazard: deleting -sa-certificate makes Kamaji generate a new key.
    f.secrets.delete(&f.tenant.secret(SA), &DeleteParams::default()).await.unwrap();
    let served = f.api().wait_restarted(generation, WAIT).await.expect("restart on the new key");
    let new_sa = f.value_text(SA, "sa.pub").await;
    assert_ne!(new_sa, old_sa);
    assert_eq!(served.files.sa_public, new_sa);

    let rejected = whoami(f.dir.path(), f.url(), &ca, &token).await;
    assert!(rejected.as_ref().is_err_and(|e| e.contains("Unauthorized")), "{rejected:?}");
    // The CA did not change: the admin kubeconfig still works, and new tokens authenticate.
    let fresh = kubectl(&admin, &["create", "token", "robot", "-n", &team]).await.expect("new token");
    let me = whoami(f.dir.path(), f.url(), &ca, fresh.trim()).await;
    assert_eq!(me.as_deref(), Ok(format!("system:serviceaccount:{team}:robot").as_str()));

    // Dropping the supervisor stops the process.
    let mut f = f;
    let api = f.base.take_api_process().expect("the tenant API process");
    let pid = api.served().unwrap().pid;
    drop(api);
    assert!(!e2e::process::runs(pid, &ControlPlane::shared().bins().kube_apiserver), "kube-apiserver {pid} still runs");
}

/// `rotate-ca --dry-run=false ... --write-kubeconfig FILE -o json` on the live tenant, then
/// the tenant API serving the new CA. Returns (FILE, new CA, JSON report).
async fn rotate(f: &Live, extra: &[&str]) -> (PathBuf, String, Value) {
    let old_ca = f.value_text(CA, "ca.crt").await;
    let file = f.dir.path().join("downloaded.kubeconfig");
    let file_arg = file.to_str().unwrap();
    let timeout = f.rotation_timeout_arg();
    let mut args = vec![
        "rotate-ca",
        RELEASE,
        "--dry-run=false",
        "--restart-workers",
        "--timeout",
        &timeout,
        "-o",
        "json",
        "--write-kubeconfig",
        file_arg,
    ];
    args.extend_from_slice(extra);
    let out = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], json!("rotated"), "{report}");
    let new_ca = f.wait_new_ca(&old_ca).await;
    assert_eq!(parse_kubeconfig(&std::fs::read(&file).unwrap()).unwrap().ca, new_ca.as_bytes(), "FILE holds the new CA");
    let served = f.wait_presents(&new_ca).await;
    // The run ended with its own live check: a handshake showed the new CA's certificate.
    let live = &report["liveCheck"];
    assert_eq!(
        (&live["verdict"], &live["endpoint"], &live["endpointFrom"]),
        (&json!("passed"), &json!(f.url()), &json!("admin-kubeconfig")),
        "{live}"
    );
    assert_eq!(same_fingerprint(live["servedSha256"].as_str().unwrap_or_default()), fingerprint(served.as_bytes()).unwrap(), "{live}");
    assert_eq!(
        report["phases"].as_array().and_then(|p| p.last()).map(|p| (&p["name"], &p["status"])),
        Some((&json!("live-check"), &json!("done")))
    );
    (file, new_ca, report)
}

/// `AB:CD:...` (kubectl-pki) as lowercase hex without colons (the harness's fingerprints).
fn same_fingerprint(colons: &str) -> String {
    colons.replace(':', "").to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_ca_writes_a_kubeconfig_that_logs_in_and_old_tokens_keep_working() {
    let f = live("live-rotate").await;
    let (old_admin, team, token) = before_rotation(&f).await;
    let (file, new_ca, _) = rotate(&f, &[]).await;

    let listed = kubectl(&file, &["get", "namespaces", "-o", "name"]).await.expect("--write-kubeconfig FILE logs in");
    assert!(names_of(&listed).contains(&team.as_str()), "FILE lists the tenant's namespaces: {listed}");
    let refused = kubectl(&old_admin, &["get", "namespaces"]).await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("certificate signed by unknown authority")), "{refused:?}");
    let me = whoami(f.dir.path(), f.url(), &new_ca, &token).await;
    assert_eq!(me.as_deref(), Ok(format!("system:serviceaccount:{team}:robot").as_str()), "--keep-sa-key (default) keeps old tokens valid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_ca_without_keeping_the_sa_key_rejects_old_tokens_as_the_plan_warns() {
    let f = live("live-nokeep").await;
    let (_, team, token) = before_rotation(&f).await;
    let old_sa = f.value_text(SA, "sa.pub").await;

    let dry = f.pki(&["rotate-ca", RELEASE, "--keep-sa-key=false", "-o", "json"], &[]).await;
    let (stdout, stderr) = text(&dry);
    let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let warnings = plan["plan"]["warnings"].as_array().cloned().unwrap_or_default();
    let sa = f.tenant.secret(SA);
    assert!(
        warnings.iter().filter_map(Value::as_str).any(|w| w.contains(&sa) && w.contains("token") && w.contains("invalid")),
        "the dry run does not warn that tokens become invalid: {warnings:?}"
    );

    let (file, new_ca, _) = rotate(&f, &["--keep-sa-key=false"]).await;
    let new_sa = f.value_text(SA, "sa.pub").await;
    assert_ne!(new_sa, old_sa, "--keep-sa-key=false made a new key");
    let rejected = whoami(f.dir.path(), f.url(), &new_ca, &token).await;
    assert!(rejected.as_ref().is_err_and(|e| e.contains("Unauthorized")), "{rejected:?}");
    // The downloaded kubeconfig works, and tokens minted now authenticate.
    let fresh = kubectl(&file, &["create", "token", "robot", "-n", &team]).await.expect("new token");
    let me = whoami(f.dir.path(), f.url(), &new_ca, fresh.trim()).await;
    assert_eq!(me.as_deref(), Ok(format!("system:serviceaccount:{team}:robot").as_str()));
}

/// What users see: the plan names the live check, and the run (table output) ends with it,
/// passed, against the tenant API that was restarted on the new CA. Prints the run's output
/// (README's proof).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_ca_ends_by_showing_that_the_tenant_api_serves_the_new_ca() {
    let f = live("live-check").await;
    let old_ca = f.value_text(CA, "ca.crt").await;
    let first_leaf = e2e::served::leaf_pem(f.url()).await.expect("the tenant API answers");

    let dry = f.pki(&["rotate-ca", RELEASE], &[]).await;
    let (plan, stderr) = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{plan}\n{stderr}");
    assert!(
        plan.contains(&format!("  8. live check: a TLS handshake with the tenant API (the server of the new {RELEASE}-admin-kubeconfig")),
        "{plan}"
    );

    let file = f.dir.path().join("demo.kubeconfig");
    let timeout = f.rotation_timeout_arg();
    let args =
        ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", &timeout, "--write-kubeconfig", file.to_str().unwrap()];
    let out = f.pki(&args, &[]).await;
    let (stdout, stderr) = text(&out);
    eprintln!("$ kubectl pki {}\n{stderr}{stdout}", args.join(" "));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let new_ca = f.wait_new_ca(&old_ca).await;
    let served = f.wait_presents(&new_ca).await;
    assert!(!verifies(first_leaf.as_bytes(), new_ca.as_bytes()), "the certificate of before is not of the new CA");
    let sha = fingerprint(served.as_bytes()).unwrap();
    let short: String =
        sha[..8].to_uppercase().as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":");
    let passed = format!("{} serves a certificate (sha256 {short}) that chains to the new CA", f.url());
    assert!(stderr.contains(&format!("✓ [8/8] live-check: done: {passed}")), "{stderr}");
    assert!(stdout.contains(&format!("  live check: passed: {passed}")), "{stdout}");
    let listed = kubectl(&file, &["get", "namespaces", "-o", "name"]).await.expect("--write-kubeconfig FILE logs in");
    assert!(names_of(&listed).contains(&"kube-system"), "{listed}");
}

/// A tenant API that does not restart (the rollout is held) keeps serving the old CA: the live
/// check fails at `--timeout` with one line that says so and how to check and resume, the run
/// stays unfinished, and once the API restarts the same command completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_api_still_serving_the_old_ca_fails_the_live_check_until_it_restarts() {
    let f = live("live-stale").await;
    let ns = f.ns().to_string();
    let old_ca = f.value_text(CA, "ca.crt").await;
    let before = f.api().served().expect("serving");
    f.api().pause();

    // Phases 1-7 with time to spare, then the process ends as a crash would.
    let long = ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "3m", "-o", "json"];
    let killed = f.pki(&long, &[("KUBECTL_PKI_FAULT_AFTER", "workers")]).await;
    let (_, stderr) = text(&killed);
    assert_eq!(killed.status.code(), Some(86), "{stderr}");
    let new_ca = f.wait_new_ca(&old_ca).await;
    f.api().wait_for("pending restart", WAIT, |s| s.pending).await.expect("the new secrets are seen");

    // The same command with a short --timeout: only the live check is left, and it fails.
    let short = ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "15s", "-o", "json"];
    let out = f.pki(&short, &[]).await;
    let (stdout, stderr) = text(&out);
    eprintln!("$ kubectl pki {}\n{stderr}", short.join(" "));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let error = errors[0];
    for part in [
        format!("error: timed out after 15s: the tenant API at {} still serves a certificate from the old CA", f.url()),
        format!("check it with `kubectl pki status --tenant {RELEASE} -n {ns}`"),
        "re-run the same command to continue".to_string(),
    ] {
        assert!(error.contains(&part), "{part:?} not in: {error}");
    }
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["result"], json!("failed"));
    let live = &report["liveCheck"];
    assert_eq!((&live["verdict"], &live["endpoint"]), (&json!("failed"), &json!(f.url())), "{live}");
    assert_eq!(
        same_fingerprint(live["servedSha256"].as_str().unwrap_or_default()),
        fingerprint(before.files.tls_cert.as_bytes()).unwrap(),
        "{live}"
    );
    assert!(live["attempts"].as_u64().is_some_and(|n| n > 1), "retried: {live}");
    assert_eq!(
        report["phases"].as_array().and_then(|p| p.last()).map(|p| (&p["name"], &p["status"])),
        Some((&json!("live-check"), &json!("failed")))
    );
    let held = f.api().status();
    assert!(
        held.pending && held.served.as_ref().is_some_and(|s| s.generation == before.generation),
        "the old process still serves: {held:?}"
    );
    // What users would see meanwhile: the new kubeconfig is refused by the old certificate.
    let new_admin = f.save_admin_kubeconfig("new.kubeconfig").await;
    let refused = kubectl(&new_admin, &["get", "namespaces"]).await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("certificate signed by unknown authority")), "{refused:?}");

    // The rollout goes on; the same command finishes the run with the check passed.
    f.api().resume();
    let again = f.pki(&long, &[]).await;
    let (stdout, stderr) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!((&report["result"], &report["liveCheck"]["verdict"]), (&json!("rotated"), &json!("passed")), "{report}");
    assert!(report["plan"]["resume"].is_object(), "the re-run resumed the same rotation");
    let served = f.wait_serving(&new_ca).await.served.expect("serving");
    assert_eq!(
        same_fingerprint(report["liveCheck"]["servedSha256"].as_str().unwrap_or_default()),
        fingerprint(served.files.tls_cert.as_bytes()).unwrap()
    );
    kubectl(&new_admin, &["get", "namespaces"]).await.expect("the new kubeconfig logs in");
}
