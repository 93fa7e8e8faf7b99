//! `rotate-sa-key` on a LIVE tenant API (`e2e::TenantApi`: a real kube-apiserver run from the
//! tenant's secrets, which, like a pod, re-reads them only when the tenant Deployment's pods are
//! replaced). The Kamaji stand-in keeps a multi-key `sa.pub` as Kamaji does and does not roll
//! the Deployment for a write it did not make (the checksum it recorded stays), so only the
//! tool's own pod replacement makes the new key live. Proven with tokens minted through the
//! admin kubeconfig and judged by the tenant API itself (`kubectl auth whoami` with the token).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use e2e::cozystack::SeedOptions;
use e2e::kamaji::names::*;
use e2e::kubectl::run_async as kubectl;
use e2e::rotate_fixture::{Fixture, text};
use e2e::{TenantApi, TenantApiOptions};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(120);
const RELEASE: &str = "kubernetes-sakey";

/// Fields drop in order: the tenant API first.
struct Live {
    api: TenantApi,
    base: Fixture,
}

impl std::ops::Deref for Live {
    type Target = Fixture;
    fn deref(&self) -> &Fixture {
        &self.base
    }
}

/// A Ready tenant whose API server runs, its kube-apiserver container declaring
/// `--service-account-max-token-expiration=48h` (the minimum age `--finish` must wait). With
/// `rsa`, its service-account key is RSA-2048 as kubeadm (and so Kamaji) makes it: RS256 tokens.
async fn live(prefix: &str, rsa: bool) -> Live {
    let port = e2e::process::free_port().expect("free port");
    let seed = SeedOptions { kamaji_version: "26.3.5-edge".into(), endpoint: Some(TenantApi::endpoint(port)), ..SeedOptions::default() };
    let base = Fixture::new(prefix, RELEASE, seed, WAIT).await;
    let deployments: Api<Deployment> = Api::namespaced(base.client.clone(), base.ns());
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "kube-apiserver", "args": ["--service-account-max-token-expiration=48h"]}
    ]}}}});
    deployments.patch(RELEASE, &PatchParams::default(), &Patch::Strategic(&patch)).await.expect("kube-apiserver args");
    if rsa {
        let file = base.dir.path().join("sa-rsa.key");
        let key = kubectl_pki_testkit::rsa_2048_pem(&file).expect("openssl genpkey");
        let out = std::process::Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&file).output().expect("openssl pkey");
        std::fs::remove_file(&file).unwrap();
        let mut secret = base.secret(SA).await;
        secret.data = Some(
            [("sa.pub", out.stdout), ("sa.key", key.into_bytes())]
                .into_iter()
                .map(|(k, v)| (k.to_string(), k8s_openapi::ByteString(v)))
                .collect(),
        );
        base.secrets.replace(&base.tenant.secret(SA), &Default::default(), &secret).await.expect("an RSA service-account key");
    }
    e2e::pods::settle(&base.client, base.ns(), WAIT).await.expect("tenant pods settled");
    let opts = TenantApiOptions { port: Some(port), ..TenantApiOptions::default() };
    let api = TenantApi::spawn(&base.client, base.ns(), &base.tenant.name, opts).await.expect("tenant API");
    Live { api, base }
}

impl Live {
    async fn value_text(&self, suffix: &str, key: &str) -> String {
        String::from_utf8_lossy(&self.value(suffix, key).await).into_owned()
    }

    async fn admin(&self) -> PathBuf {
        let path = self.dir.path().join("admin.kubeconfig");
        std::fs::write(&path, self.value_text(ADMIN_KUBECONFIG, "admin.conf").await).unwrap();
        path
    }

    /// `kubectl pki rotate-sa-key RELEASE -n NS ARGS`.
    async fn sakey(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String, Duration) {
        let mut all = vec!["rotate-sa-key", RELEASE, "-n", self.ns()];
        all.extend_from_slice(args);
        let started = Instant::now();
        let out = self.pki(&all, env).await;
        let took = started.elapsed();
        let (stdout, stderr) = text(&out);
        eprintln!("$ kubectl pki {} ({took:.1?})\n{stderr}", all.join(" "));
        (out.status.code(), stdout, stderr, took)
    }

    /// The username the tenant API authenticates `token` as, or kubectl's error.
    async fn whoami(&self, token: &str) -> Result<String, String> {
        let ca = self.value_text(CA, "ca.crt").await;
        let path = self.dir.path().join(format!("token-{}.kubeconfig", e2e::controlplane::unique_suffix()));
        e2e::pki::write_private(&path, &kubectl_pki_testkit::token_kubeconfig(&self.api.url, &ca, token)).unwrap();
        kubectl(&path, &["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]).await
    }
}

/// The kids of every public key of an sa.pub (kube-apiserver's: base64url SHA-256 of the DER).
fn kids(sa_pub: &str) -> Vec<String> {
    sa_pub
        .split("-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .map(|block| {
            let body: String = block.split("-----END").next().unwrap_or_default().split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD.decode(body).expect("PEM body");
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der))
        })
        .collect()
}

/// The `kid` of a JWT's header.
fn token_kid(token: &str) -> String {
    let header = token.split('.').next().unwrap_or_default();
    let json: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    json["kid"].as_str().unwrap_or_default().to_string()
}

async fn mint(admin: &Path, team: &str) -> String {
    kubectl(admin, &["create", "token", "robot", "-n", team, "--duration=1h"]).await.expect("create token").trim().to_string()
}

/// A team namespace with a ServiceAccount `robot` in the tenant; returns the namespace.
async fn team(admin: &Path) -> String {
    let team = format!("team-{}", e2e::controlplane::unique_suffix());
    kubectl(admin, &["create", "namespace", &team]).await.expect("create namespace in the tenant");
    kubectl(admin, &["create", "serviceaccount", "robot", "-n", &team]).await.expect("create serviceaccount");
    team
}

fn report(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The whole rotation: a token minted before `stage` works after it and after a Kamaji
/// reconcile; a token minted after is signed by the new key; `--finish` before the minimum age
/// is refused; after it the old token is Unauthorized and the new one works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_keeps_every_token_and_finish_retires_the_old_key() {
    let f = live("sakey", false).await;
    let ns = f.ns().to_string();
    let admin = f.admin().await;
    let team = team(&admin).await;
    let robot = format!("system:serviceaccount:{team}:robot");
    let old_token = mint(&admin, &team).await;
    let old_pub = f.value_text(SA, "sa.pub").await;
    let old_kids = kids(&old_pub);
    assert_eq!(token_kid(&old_token), old_kids[0]);
    assert_eq!(f.whoami(&old_token).await.as_deref(), Ok(robot.as_str()));

    // The dry run: the plan, nothing written.
    let before = f.secret(SA).await.metadata.resource_version;
    let (code, plan, _, _) = f.sakey(&[], &[]).await;
    assert_eq!(code, Some(0), "{plan}");
    eprintln!("{plan}");
    for part in [
        "Plan: stage a new service-account signing key",
        "(dry run: nothing is changed)",
        &old_kids[0],
        "--service-account-max-token-expiration=48h",
        "legacy token Secrets (never refreshed): none in the tenant",
        "80% of their lifetime",
        "replace the tenant control-plane pods one at a time",
    ] {
        assert!(plan.contains(part), "{part:?} not in:\n{plan}");
    }
    assert_eq!(f.secret(SA).await.metadata.resource_version, before, "a dry run writes nothing");

    // Stage.
    let generation = f.api.served().expect("serving").generation;
    let (code, stdout, stderr, took) = f.sakey(&["--dry-run=false", "-o", "json"], &[]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    eprintln!("measured: rotate-sa-key stage {took:.1?}");
    let r = report(&stdout);
    assert_eq!(r["result"], json!("staged"), "{r:#}");
    let staged_pub = f.value_text(SA, "sa.pub").await;
    let staged_kids = kids(&staged_pub);
    assert_eq!(staged_kids.len(), 2, "{staged_pub}");
    assert_eq!(staged_kids[1], old_kids[0], "the old key is kept after the new one");
    let new_kid = staged_kids[0].clone();
    assert_ne!(new_kid, old_kids[0]);
    assert_eq!(r["newSigningKid"], json!(new_kid));
    assert_eq!(r["verification"]["tokenBefore"]["verdict"], json!("authenticated"), "{r:#}");
    assert_eq!(r["verification"]["tokenAfterSignedBySigningKey"], json!(true));
    assert_eq!(r["podsReplaced"].as_array().map_or(0, Vec::len), 2, "two replicas, one at a time: {r:#}");
    // The tool saw the new process answer; the harness records it once /readyz says ok.
    let served = f.api.wait_restarted(generation, WAIT).await.expect("the tenant API restarted because its pods were replaced");
    assert_eq!(served.files.sa_public, staged_pub);
    let backup = r["backup"].as_str().expect("backup path");
    let mode = std::fs::metadata(backup).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);

    // The token of before still works; a token minted now is signed by the new key.
    assert_eq!(f.whoami(&old_token).await.as_deref(), Ok(robot.as_str()), "a token of before the stage");
    let new_token = mint(&admin, &team).await;
    assert_eq!(token_kid(&new_token), new_kid, "a new token is signed by the new key");
    assert_eq!(f.whoami(&new_token).await.as_deref(), Ok(robot.as_str()));

    // A Kamaji reconcile (the TCP changed) keeps the multi-key secret; the old token still works.
    let tcps: Api<DynamicObject> = Api::namespaced_with(f.client.clone(), &ns, &e2e::kamaji::api_resource());
    let poke = json!({"metadata": {"annotations": {"e2e.kubectl-pki/poke": "after-stage"}}});
    tcps.patch(RELEASE, &PatchParams::default(), &Patch::Merge(&poke)).await.unwrap();
    e2e::rotate_fixture::settled_snapshot(&f.client, &[&ns], true, WAIT).await;
    assert_eq!(f.value_text(SA, "sa.pub").await, staged_pub, "Kamaji kept the multi-key sa.pub");
    assert_eq!(f.whoami(&old_token).await.as_deref(), Ok(robot.as_str()), "after a Kamaji reconcile");

    // --finish before the minimum age (48h from the kube-apiserver flag) is refused.
    let (code, stdout, stderr, _) = f.sakey(&["--finish", "--dry-run=false"], &[]).await;
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("refused: the stage is") && stderr.contains("48h"), "{stderr}");
    assert_eq!(f.value_text(SA, "sa.pub").await, staged_pub, "nothing written");

    // Two days later (the recorded stage time moved back past the minimum age).
    let leases: Api<Lease> = Api::namespaced(f.client.clone(), &ns);
    let lease = format!("pki-rotate-{RELEASE}");
    let staged_at: jiff::Timestamp =
        leases.get(&lease).await.unwrap().metadata.annotations.unwrap()["sa-key.kubectl-pki.io/staged-at"].parse().unwrap();
    let earlier = staged_at - jiff::SignedDuration::from_hours(49);
    let back = json!({"metadata": {"annotations": {"sa-key.kubectl-pki.io/staged-at": earlier.to_string()}}});
    leases.patch(&lease, &PatchParams::default(), &Patch::Merge(&back)).await.unwrap();
    let (code, stdout, stderr, took) = f.sakey(&["--finish", "--dry-run=false", "-o", "json"], &[]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    eprintln!("measured: rotate-sa-key --finish {took:.1?}");
    let r = report(&stdout);
    assert_eq!(r["result"], json!("finished"), "{r:#}");
    assert_eq!(kids(&f.value_text(SA, "sa.pub").await), vec![new_kid.clone()]);
    assert_eq!(r["verification"]["verifyingKids"], json!([new_kid]));

    let refused = f.whoami(&old_token).await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("Unauthorized")), "the old token after --finish: {refused:?}");
    assert_eq!(f.whoami(&new_token).await.as_deref(), Ok(robot.as_str()), "the new token after --finish");

    // Again: nothing to finish.
    let (code, stdout, _, _) = f.sakey(&["--finish", "--dry-run=false"], &[]).await;
    assert_eq!((code, stdout.contains("Nothing to finish")), (Some(0), true), "{stdout}");
}

/// A stage killed right after its write: the new key is in the secret, but no pod was replaced,
/// so the tenant API still runs on the old files (pending restart). The same command resumes:
/// it finds its own key in the cluster (no second key), replaces the pods and verifies. On an
/// RSA-2048 key, as kubeadm and Kamaji make them: the new key is RSA-2048 too (RS256 tokens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rsa_stage_resumes_without_a_second_key() {
    let f = live("sakey-resume", true).await;
    let admin = f.admin().await;
    let team = team(&admin).await;
    let robot = format!("system:serviceaccount:{team}:robot");
    let old_token = mint(&admin, &team).await;
    let old_kid = kids(&f.value_text(SA, "sa.pub").await)[0].clone();
    let generation = f.api.served().expect("serving").generation;

    let (code, _, stderr, _) = f.sakey(&["--dry-run=false"], &[("KUBECTL_PKI_FAULT_AFTER", "write")]).await;
    assert_eq!(code, Some(86), "{stderr}");
    let written = f.value_text(SA, "sa.pub").await;
    let written_key = f.value_text(SA, "sa.key").await;
    assert_eq!(kids(&written).len(), 2);
    f.api.wait_for("pending restart", WAIT, |s| s.pending).await.expect("the written secret is seen");
    let held = f.api.status();
    assert_eq!(held.served.as_ref().map(|s| s.generation), Some(generation), "no pod replaced: the old process serves on");
    let stale = mint(&admin, &team).await;
    assert_eq!(token_kid(&stale), old_kid, "the running tenant API still signs with the old key");

    let (code, stdout, stderr, took) = f.sakey(&["--dry-run=false", "-o", "json"], &[]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    eprintln!("measured: resumed stage {took:.1?}");
    let r = report(&stdout);
    assert_eq!(r["result"], json!("staged"), "{r:#}");
    assert!(r["plan"]["resume"].is_object(), "resumed: {r:#}");
    assert_eq!(r["plan"]["keyType"], json!("RSA-2048"), "{r:#}");
    assert!(written_key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8, as the key it replaced");
    let phase = |name: &str| r["phases"].as_array().unwrap().iter().find(|p| p["name"] == json!(name)).map(|p| p["status"].clone());
    assert_eq!(phase("write"), Some(json!("skipped")), "{r:#}");
    assert_eq!(phase("probe"), Some(json!("skipped")), "{r:#}");
    assert_eq!(f.value_text(SA, "sa.pub").await, written, "no second key");
    assert_eq!(f.value_text(SA, "sa.key").await, written_key);
    f.api.wait_restarted(generation, WAIT).await.expect("restarted once the pods were replaced");
    assert_eq!(f.whoami(&old_token).await.as_deref(), Ok(robot.as_str()));
    assert_eq!(f.whoami(&stale).await.as_deref(), Ok(robot.as_str()));
    let new_token = mint(&admin, &team).await;
    assert_eq!(token_kid(&new_token), kids(&written)[0]);
    assert_eq!(token_alg(&new_token), "RS256");
}

fn token_alg(token: &str) -> String {
    let header = token.split('.').next().unwrap_or_default();
    let json: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    json["alg"].as_str().unwrap_or_default().to_string()
}

/// Ctrl-C while the verification waits (the tenant API's restart is held, so it still verifies
/// with the old key alone): exit 130, the Lease released at once with the progress kept; once
/// the tenant API restarts, the same command finishes the stage without writing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_releases_the_lock_and_a_rerun_finishes_the_stage() {
    let f = live("sakey-sigint", false).await;
    f.api.pause();
    let args = ["rotate-sa-key", RELEASE, "-n", f.ns(), "--dry-run=false", "--timeout", "5m"];
    let cmd = f.command(e2e::ControlPlane::shared().kubeconfig(), &args, false);
    let run =
        e2e::process::interrupt_when(cmd, WAIT, |l| l.starts_with("[6/6] verify:") && l.contains("its pods have not all restarted")).await;
    let seen = run.stderr;
    assert_eq!(run.code, Some(130), "{seen}");
    let error_line = seen.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{seen}"));
    assert!(error_line.contains("interrupted: SIGINT during rotate-sa-key") && error_line.contains("Lease was released"), "{error_line}");
    let leases: Api<Lease> = Api::namespaced(f.client.clone(), f.ns());
    let lease = leases.get(&format!("pki-rotate-{RELEASE}")).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_none(), "released at once");
    let annotations = lease.metadata.annotations.unwrap();
    assert_eq!(annotations.get("sa-key.kubectl-pki.io/done").map(String::as_str), Some("pods"));
    assert!(!annotations.contains_key("sa-key.kubectl-pki.io/completed-at"));
    let written = f.value_text(SA, "sa.pub").await;

    f.api.resume();
    let (code, stdout, stderr, _) = f.sakey(&["--dry-run=false", "-o", "json"], &[]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let r = report(&stdout);
    assert_eq!(r["result"], json!("staged"), "{r:#}");
    let phase = |name: &str| r["phases"].as_array().unwrap().iter().find(|p| p["name"] == json!(name)).map(|p| p["status"].clone());
    assert_eq!((phase("write"), phase("pods")), (Some(json!("skipped")), Some(json!("skipped"))), "{r:#}");
    assert_eq!(f.value_text(SA, "sa.pub").await, written, "nothing written again");
    assert_eq!(r["verification"]["verifyingKids"].as_array().map(Vec::len), Some(2), "{r:#}");
}

/// A user who may only read the tenant's namespace: the dry run lists what is missing (exit 3),
/// the real run refuses before any change, naming every missing write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_is_refused_before_any_change() {
    let f = live("sakey-rbac", false).await;
    let cp = e2e::ControlPlane::shared();
    let user = format!("reader-{}", e2e::controlplane::unique_suffix());
    let pki = cp.pki();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&pki.ca_crt, rcgen::KeyPair::from_pem(&pki.ca_key).unwrap()).unwrap();
    let (crt, key) = e2e::pki::client_cert(&issuer, &user, &[]).unwrap();
    let kubeconfig = f.dir.path().join("reader.kubeconfig");
    e2e::pki::write_private(&kubeconfig, &e2e::pki::kubeconfig(&cp.apiserver_url, &pki.ca_crt, &crt, &key, "reader")).unwrap();
    for (kind, mut body) in [
        ("Role", json!({"metadata": {"name": "reader"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]})),
        (
            "RoleBinding",
            json!({"metadata": {"name": "reader"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
        ),
    ] {
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
            &format!("{}s", kind.to_lowercase()),
        );
        let api: Api<DynamicObject> = Api::namespaced_with(f.client.clone(), f.ns(), &ar);
        body["apiVersion"] = "rbac.authorization.k8s.io/v1".into();
        body["kind"] = kind.into();
        api.create(&kube::api::PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
    }
    let before = f.secret(SA).await.metadata.resource_version;
    let run = |extra: &'static [&'static str]| {
        let mut cmd = f.command(&kubeconfig, &[&["rotate-sa-key", RELEASE, "-n", f.ns()][..], extra].concat(), false);
        async move { cmd.output().await.unwrap() }
    };
    let out = run(&[]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("Missing permissions (the real run refuses)"), "{stdout}");
    let out = run(&["--dry-run=false"]).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let error_line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error_line.contains("rotate-sa-key needs") && error_line.contains("nothing was changed"), "{error_line}");
    for missing in [
        format!("update secrets in {}", f.ns()),
        format!("delete pods in {}", f.ns()),
        format!("create leases.coordination.k8s.io in {}", f.ns()),
    ] {
        assert!(error_line.contains(&missing), "{missing} not in {error_line}");
    }
    assert_eq!(f.secret(SA).await.metadata.resource_version, before, "nothing written");
    assert!(f.backups().is_empty(), "no backup: nothing was started");
}
