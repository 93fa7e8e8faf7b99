//! `status --tenant` against a LIVE tenant API (`e2e::TenantApi`: a real kube-apiserver run from
//! the tenant's secrets, restarted when its pods are replaced). The row `<ns>/<tcp>:served` shows the
//! certificate the process serves: `ok` when it is the secret's and chains to the current CA,
//! `pending-restart` (exit 3) while a renewed leaf waits for the rollout, `mismatch` (exit 4)
//! while the old process serves a certificate of the CA that was just replaced, and
//! `unreachable` (exit code unaffected) when nothing answers.

use std::time::{Duration, Instant};

use e2e::ControlPlane;
use e2e::cozystack::{SeedOptions, StandinTenant, Tenant, standin_tenant};
use e2e::kamaji;
use e2e::kamaji::names::*;
use e2e::kamaji::pki::{parse_kubeconfig, verifies};
use e2e::{TenantApi, TenantApiOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);
const RELEASE: &str = "kubernetes-served";

/// A Ready stand-in tenant whose kubeconfigs name `endpoint`.
struct Fixture {
    tenant: Tenant,
    secrets: Api<Secret>,
    _standin: e2e::kamaji::StandinTask,
}

async fn fixture(prefix: &str, endpoint: &str) -> Fixture {
    let seed = SeedOptions { kamaji_version: "26.3.5-edge".into(), endpoint: Some(endpoint.to_string()), ..SeedOptions::default() };
    let StandinTenant { client, tenant, standin } = standin_tenant(prefix, RELEASE, seed, WAIT).await.expect("a Ready tenant");
    Fixture { secrets: Api::namespaced(client, &tenant.namespace), tenant, _standin: standin }
}

impl Fixture {
    fn ns(&self) -> &str {
        &self.tenant.namespace
    }

    async fn value(&self, suffix: &str, key: &str) -> String {
        let s = self.secrets.get(&self.tenant.secret(suffix)).await.expect("get secret");
        s.data.and_then(|d| d.get(key).map(|v| String::from_utf8_lossy(&v.0).into_owned())).unwrap_or_default()
    }

    async fn annotate_rotate(&self, suffix: &str) {
        let patch = json!({"metadata": {"annotations": {ANNOTATION_ROTATE: ""}}});
        self.secrets.patch(&self.tenant.secret(suffix), &PatchParams::default(), &Patch::Merge(&patch)).await.expect("annotate");
    }

    /// Waits until `done()` holds; `what` names the wait in the failure.
    async fn until<F: std::future::Future<Output = bool>>(&self, what: &str, done: impl Fn() -> F) {
        let deadline = Instant::now() + WAIT;
        while !done().await {
            assert!(Instant::now() < deadline, "{}: no {what} after {WAIT:?}", self.ns());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `kubectl-pki status --source tenant --tenant TCP -n NS ARGS`: (exit code, stdout, stderr).
    async fn status(&self, args: &[&str]) -> (i32, String, String) {
        let out = tokio::process::Command::new(e2e::pki_bin())
            .arg("--kubeconfig")
            .arg(ControlPlane::shared().kubeconfig())
            .args(["status", "--source", "tenant", "--tenant", &self.tenant.name, "-n", self.ns()])
            .args(args)
            .output()
            .await
            .expect("run kubectl-pki");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    }

    /// `status -o json`: (exit code, the served row, every other row that is not ok).
    async fn served(&self) -> (i32, Value, Vec<Value>) {
        let (code, stdout, stderr) = self.status(&["-o", "json"]).await;
        let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
        let items = doc["items"].as_array().cloned().unwrap_or_default();
        let name = format!("{}/{}:served", self.ns(), self.tenant.name);
        let (served, others): (Vec<Value>, Vec<Value>) = items.into_iter().partition(|i| i["name"] == json!(name));
        assert_eq!(served.len(), 1, "one served row named {name}: {stdout}");
        let not_ok = others.into_iter().filter(|i| i["status"] != "ok" || i["chain"]["verdict"] == "unverified").collect();
        (code, served.into_iter().next().unwrap_or_default(), not_ok)
    }
}

/// The served row's (status, chain verdict, served verdict, message).
fn words(row: &Value) -> (&str, &str, &str, &str) {
    fn s(v: &Value) -> &str {
        v.as_str().unwrap_or_default()
    }
    (s(&row["status"]), s(&row["chain"]["verdict"]), s(&row["served"]["verdict"]), s(&row["message"]))
}

fn fingerprints(row: &Value) -> (String, String) {
    (row["certificate"]["sha256"].as_str().unwrap_or("-").to_string(), row["served"]["secretSha256"].as_str().unwrap_or("?").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_certificate_through_a_leaf_renewal_and_a_ca_rotation() {
    let port = e2e::process::free_port().expect("free port");
    let f = fixture("served-live", &TenantApi::endpoint(port)).await;
    let client = ControlPlane::shared().client().await;
    let opts = TenantApiOptions { port: Some(port), ..TenantApiOptions::default() };
    let api = TenantApi::spawn(&client, f.ns(), &f.tenant.name, opts).await.expect("tenant API");

    // Before: the process serves the secret's certificate, which chains to the CA.
    let (code, row, not_ok) = f.served().await;
    assert_eq!(words(&row), ("ok", "verified", "ok", ""), "{row:#}");
    assert_eq!(row["served"]["endpoint"], json!(api.url));
    assert_eq!(row["served"]["endpointFrom"], "admin-kubeconfig");
    let (served, secret) = fingerprints(&row);
    assert_eq!(served, secret, "served = secret");
    assert_eq!((code, not_ok.len()), (0, 0), "{not_ok:#?}");

    // A leaf-only renewal with the rollout held: the secret holds a new certificate of the same
    // CA, the old process still serves the old one. A warning: it ends with the rollout.
    api.pause();
    let generation = api.served().expect("serving").generation;
    let old_leaf = f.value(API_SERVER, "apiserver.crt").await;
    f.annotate_rotate(API_SERVER).await;
    f.until("renewed apiserver.crt", || async { f.value(API_SERVER, "apiserver.crt").await != old_leaf }).await;
    api.wait_for("pending restart", WAIT, |s| s.pending).await.expect("pending");
    let (code, row, not_ok) = f.served().await;
    let (status, chain, verdict, message) = words(&row);
    assert_eq!((status, chain, verdict), ("pending-restart", "verified", "pending-restart"), "{row:#}");
    assert!(message.contains("has not restarted since the secret changed"), "{message}");
    let (served, secret) = fingerprints(&row);
    assert_ne!(served, secret, "the served leaf is not the secret's");
    assert_eq!((code, not_ok.len()), (3, 0), "{not_ok:#?}");
    let (_, table, _) = f.status(&[]).await;
    let line = table.lines().find(|l| l.starts_with("served ")).unwrap_or_default();
    assert!(line.contains("pending-restart") && line.contains("has not restarted"), "{table}");

    // The rollout: the new process serves the secret's certificate.
    api.resume();
    api.wait_restarted(generation, WAIT).await.expect("restart");
    let (code, row, _) = f.served().await;
    assert_eq!((code, words(&row)), (0, ("ok", "verified", "ok", "")), "{row:#}");

    // A CA rotation with the rollout held: every secret is re-issued and chains to the NEW CA,
    // but the old process serves a certificate of the OLD CA. Users who download the new
    // kubeconfig are refused: mismatch, more severe than pending-restart, exit 4.
    api.pause();
    let generation = api.served().expect("serving").generation;
    let old_ca = f.value(CA, "ca.crt").await;
    f.annotate_rotate(CA).await;
    f.until("new CA in the secrets", || async {
        let ca = f.value(CA, "ca.crt").await;
        let admin_ca = parse_kubeconfig(f.value(ADMIN_KUBECONFIG, "admin.conf").await.as_bytes()).map(|k| k.ca).unwrap_or_default();
        ca != old_ca && admin_ca == ca.as_bytes() && verifies(f.value(API_SERVER, "apiserver.crt").await.as_bytes(), ca.as_bytes())
    })
    .await;
    api.wait_for("pending restart", WAIT, |s| s.pending).await.expect("pending");
    let (code, row, not_ok) = f.served().await;
    let (status, chain, verdict, message) = words(&row);
    assert_eq!((status, chain, verdict), ("mismatch", "unverified", "mismatch"), "{row:#}");
    assert!(message.contains("does not chain to the current CA"), "{message}");
    assert!(message.contains(&format!("has not restarted since {} changed", f.tenant.secret(API_SERVER))), "{message}");
    assert_eq!(not_ok.len(), 0, "every secret chains to the new CA; only the served row is wrong: {not_ok:#?}");
    assert_eq!(code, 4);

    // The rollout on the new CA: ok again.
    api.resume();
    let new_ca = f.value(CA, "ca.crt").await;
    api.wait_for("process serving the new CA", WAIT, |s| {
        !s.pending && s.served.as_ref().is_some_and(|x| x.generation > generation && x.files.client_ca == new_ca)
    })
    .await
    .expect("restart on the new CA");
    let (code, row, not_ok) = f.served().await;
    assert_eq!((code, words(&row), not_ok.len()), (0, ("ok", "verified", "ok", ""), 0), "{row:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_tenant_api_is_a_row_that_does_not_fail_the_command() {
    // Nothing listens on the port the kubeconfigs name (the tenant API runs where this machine
    // cannot reach it).
    let closed = e2e::process::free_port().expect("free port");
    let f = fixture("served-unreachable", &TenantApi::endpoint(closed)).await;
    let (code, row, not_ok) = f.served().await;
    let (status, chain, verdict, message) = words(&row);
    assert_eq!((status, chain, verdict), ("unreachable", "not-checked", "unreachable"), "{row:#}");
    assert!(message.starts_with("unreachable: ") && message.ends_with("not checked"), "{message}");
    assert_eq!(row["certificate"], Value::Null);
    assert_eq!(row["served"]["endpoint"], json!(TenantApi::endpoint(closed)));
    assert_eq!((code, not_ok.len()), (0, 0), "exit code unaffected: {not_ok:#?}");
    let (code, table, stderr) = f.status(&[]).await;
    let line = table.lines().find(|l| l.starts_with("served ")).unwrap_or_default();
    assert!(line.contains("unreachable") && line.contains("not checked"), "{table}\n{stderr}");
    assert_eq!(code, 0);

    // An endpoint that accepts connections and never answers: bounded by --server-timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = silent.local_addr().expect("addr").port();
    let tcps: Api<kube::api::DynamicObject> = Api::namespaced_with(ControlPlane::shared().client().await, f.ns(), &kamaji::api_resource());
    let url = TenantApi::endpoint(port);
    let patch = json!({"metadata": {"annotations": {ANNOTATION_ENDPOINT: url}}});
    tcps.patch(&f.tenant.name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("move the endpoint");
    f.until("admin kubeconfig naming the silent endpoint", || async {
        parse_kubeconfig(f.value(ADMIN_KUBECONFIG, "admin.conf").await.as_bytes()).is_ok_and(|k| k.server == url)
    })
    .await;
    let (code, stdout, stderr) = f.status(&["-o", "json", "--server-timeout", "1s"]).await;
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let row = doc["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["name"].as_str().is_some_and(|n| n.ends_with(":served")))
        .cloned()
        .unwrap_or_default();
    let (status, _, _, message) = words(&row);
    assert_eq!(status, "unreachable", "{row:#}");
    assert!(message.contains("no TLS handshake within 1s"), "{message}");
    assert_eq!(code, 0, "{stdout}");
    drop(silent);
}

/// Written once for every provider (listed in `e2e/real/operator-suite.txt`): `status --tenant`
/// on a tenant the provider's Kamaji keeps (the stand-in here, the real operator on kind), its
/// API answering: every secret chains to the current CA, the served certificate is the
/// secret's, and the controller's version and issuance horizon are read from its pods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_tenant_on_the_providers_kamaji_is_all_ok_and_sees_the_served_certificate() {
    let f = e2e::rotate_fixture::Fixture::live("served-provider", RELEASE, SeedOptions::default(), WAIT).await;
    let args = ["status", "--source", "tenant", "--tenant", RELEASE, "-n", f.ns(), "--kamaji-namespace", &f.tenant.kamaji_namespace];
    let out = f.pki(&[&args[..], &["-o", "json"]].concat(), &[]).await;
    let (stdout, stderr) = e2e::rotate_fixture::text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let t = &doc["tenants"][0];
    assert_eq!((&t["name"], &t["status"]), (&json!(RELEASE), &json!("Ready")), "{t:#}");
    assert_eq!(t["kamaji"]["status"], "ok", "the controller's issuance horizon is judged: {t:#}");
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    let served_name = format!("{}/{RELEASE}:served", f.ns());
    let served: Vec<&Value> = items.iter().filter(|i| i["name"] == json!(served_name)).collect();
    assert_eq!(served.len(), 1, "{stdout}");
    let row = served[0];
    assert_eq!((words(row).0, words(row).2), ("ok", "ok"), "{row:#}");
    assert_eq!(row["served"]["endpoint"], json!(f.endpoint), "{row:#}");
    let (sha, secret_sha) = fingerprints(row);
    assert_eq!(sha, secret_sha, "the API serves the secret's certificate: {row:#}");
    let not_ok: Vec<&Value> = items.iter().filter(|i| i["status"] != "ok").collect();
    assert!(not_ok.is_empty(), "every row ok on a fresh tenant: {not_ok:#?}");
    assert!(items.len() >= 14, "every certificate and kubeconfig of the tenant: {}", items.len());

    // The table a person reads names the TCP, its status and the served row.
    let out = f.pki(&args, &[]).await;
    let (table, _) = e2e::rotate_fixture::text(&out);
    assert!(table.starts_with(&format!("TenantControlPlane {}/{RELEASE}: Ready", f.ns())), "{table}");
    assert!(table.contains(":served") || table.contains("served"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_endpoint_reaches_an_api_its_kubeconfig_address_does_not() {
    // The tenant API answers at one port (what `kubectl port-forward` or a tunnel gives); then
    // the TCP moves its kubeconfigs to a port where nothing listens (a node port not routed
    // from here).
    let port = e2e::process::free_port().expect("free port");
    let f = fixture("served-dial", &TenantApi::endpoint(port)).await;
    let client = ControlPlane::shared().client().await;
    let opts = TenantApiOptions { port: Some(port), ..TenantApiOptions::default() };
    let api = TenantApi::spawn(&client, f.ns(), &f.tenant.name, opts).await.expect("tenant API");
    let generation = api.served().expect("serving").generation;
    let closed = std::iter::repeat_with(|| e2e::process::free_port().expect("free port")).find(|p| *p != port).expect("a port");
    let tcps: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), f.ns(), &kamaji::api_resource());
    let unroutable = TenantApi::endpoint(closed);
    let patch = json!({"metadata": {"annotations": {ANNOTATION_ENDPOINT: unroutable}}});
    tcps.patch(&f.tenant.name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("move the endpoint");
    f.until("admin kubeconfig naming the closed port", || async {
        parse_kubeconfig(f.value(ADMIN_KUBECONFIG, "admin.conf").await.as_bytes()).is_ok_and(|k| k.server == unroutable)
    })
    .await;
    // The kubeconfigs' change rolls the tenant's Deployment: its API restarts once.
    api.wait_restarted(generation, WAIT).await.expect("the tenant API restarted");
    api.wait_for("nothing pending", WAIT, |s| !s.pending && s.served.is_some()).await.expect("serving");
    let (_, row, _) = f.served().await;
    assert_eq!(words(&row).0, "unreachable", "without the flag: {row:#}");

    // Dialled there, checked against the kubeconfig's host: the secret's certificate, verified.
    let (code, stdout, stderr) = f.status(&["--tenant-endpoint", &api.url, "-o", "json"]).await;
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let name = format!("{}/{}:served", f.ns(), f.tenant.name);
    let row = doc["items"].as_array().into_iter().flatten().find(|i| i["name"] == json!(name)).cloned().unwrap_or_default();
    assert_eq!(words(&row), ("ok", "verified", "ok", ""), "{row:#}");
    assert_eq!((row["served"]["endpoint"].clone(), row["served"]["endpointFrom"].clone()), (json!(api.url), json!("tenant-endpoint")));
    let (served, secret) = fingerprints(&row);
    assert_eq!((served, code), (secret, 0));

    // rotate-sa-key's dry run mints nothing but lists the tenant API's legacy tokens: through
    // the endpoint it reaches the API, and its plan says where it dials.
    let sa_key = |extra: &'static [&'static str]| {
        let mut cmd = tokio::process::Command::new(e2e::pki_bin());
        cmd.arg("--kubeconfig").arg(ControlPlane::shared().kubeconfig());
        cmd.args(["rotate-sa-key", &f.tenant.name, "-n", f.ns()]).args(extra);
        cmd
    };
    let out = sa_key(&["-o", "json"]).output().await.expect("run kubectl-pki");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert!(report["plan"]["legacyTokensError"].is_string(), "the kubeconfig's address is closed: {report:#}");
    let out = sa_key(&[]).arg("--tenant-endpoint").arg(&api.url).arg("-o").arg("json").output().await.expect("run kubectl-pki");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert!(report["plan"]["legacyTokensError"].is_null(), "reached through --tenant-endpoint: {report:#}");
    let out = sa_key(&[]).arg("--tenant-endpoint").arg(&api.url).output().await.expect("run kubectl-pki");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("(through the admin kubeconfig) at {} (--tenant-endpoint)", api.url)), "{text}");

    // The live checks of rotate-ca and renew dial it too: the plans say so, and a real renewal
    // passes its live check there (the kubeconfig's address would skip it: not reachable).
    let pki = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(e2e::pki_bin());
        cmd.arg("--kubeconfig").arg(ControlPlane::shared().kubeconfig()).args(args);
        cmd.args(["-n", f.ns(), "--kamaji-namespace", &f.tenant.kamaji_namespace, "--tenant-endpoint", &api.url]);
        cmd
    };
    let out = pki(&["rotate-ca", &f.tenant.name]).output().await.expect("run kubectl-pki");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("status.controlPlaneEndpoint) at {} (--tenant-endpoint) must show", api.url)), "{text}");
    let out = pki(&["renew", &f.tenant.name, "--dry-run=false", "--timeout", "2m", "-o", "json"]).output().await.expect("run kubectl-pki");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    let live = &report["liveCheck"];
    assert_eq!((live["verdict"].as_str(), live["endpointFrom"].as_str()), (Some("passed"), Some("tenant-endpoint")), "{live:#}");
    assert_eq!(live["endpoint"], json!(api.url));

    // Given without --tenant, or not https: refused before anything is read.
    let out = tokio::process::Command::new(e2e::pki_bin())
        .args(["--kubeconfig", "/nonexistent", "status", "--tenant-endpoint", &api.url])
        .output()
        .await
        .expect("run kubectl-pki");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tenant-endpoint: dials one tenant's API: give --tenant NAME"), "{out:?}");
}
