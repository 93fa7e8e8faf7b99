//! `kubectl pki status` against the real local control plane: secrets
//! (tls, Opaque, embedded kubeconfigs, garbage, pagination, -A), the
//! kubeconfig in use, the API server's serving chain and a Kamaji tenant.
//! Certificates come from kubectl-pki-testkit, and one RSA from the openssl CLI.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use base64::Engine;
use e2e::ControlPlane;
use e2e::kamaji::{self, names, pki as kpki};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kubectl_pki_testkit::{FAR, PAST, dated, in_days};
use rcgen::KeyPair;
use serde_json::{Value, json};

fn secret(name: &str, type_: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> Secret {
    let mut s = Secret::default();
    s.metadata.name = Some(name.into());
    s.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    s.type_ = Some(type_.into());
    s.data = Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect::<BTreeMap<_, _>>());
    s
}

async fn create(api: &Api<Secret>, s: Secret) {
    api.create(&PostParams::default(), &s).await.expect("create secret");
}

fn pki_cmd(kubeconfig: &Path) -> Command {
    let mut cmd = Command::new(e2e::pki_bin());
    cmd.env_remove("KUBECONFIG").env("NO_COLOR", "1").arg("--kubeconfig").arg(kubeconfig).arg("status");
    cmd
}

/// Runs `status ... -o json`; returns the exit code, the document and stderr.
fn status_json(args: &[&str]) -> (i32, Value, String) {
    let out = pki_cmd(ControlPlane::shared().kubeconfig()).args(args).args(["-o", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}; stdout: {}; stderr: {stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), v, stderr)
}

/// name -> (status, chain verdict, message)
fn rows(v: &Value) -> BTreeMap<String, (String, String, String)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&i["name"]), (s(&i["status"]), s(&i["chain"]["verdict"]), s(&i["message"])))
        })
        .collect()
}

fn row<'a>(rows: &'a BTreeMap<String, (String, String, String)>, name: &str) -> (&'a str, &'a str, &'a str) {
    let (s, c, m) = rows.get(name).unwrap_or_else(|| panic!("no row {name} in {:#?}", rows.keys().collect::<Vec<_>>()));
    (s.as_str(), c.as_str(), m.as_str())
}

fn openssl_rsa_cert(cn: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "400", "-subj", &format!("/CN={cn}")])
        .args(["-keyout", "k.pem", "-out", "c.pem"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl req");
    std::fs::read_to_string(dir.path().join("c.pem")).unwrap()
}

#[tokio::test]
async fn secrets_source_reads_tls_opaque_kubeconfigs_and_reports_garbage() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("status-secrets").await.name;
    let api: Api<Secret> = Api::namespaced(cp.client().await, &ns);
    let root = dated("test-ca", true, PAST, FAR, None);
    let web = dated("web", false, PAST, FAR, Some(&root));
    let old = dated("old", false, PAST, (2021, 1, 1), Some(&root));
    let admin = kpki::new_leaf(
        &kpki::CertKey { cert: root.pem.clone(), key: root.key_pem.clone() },
        "kubernetes-admin",
        &["system:masters"],
        kpki::Usage::Client,
        &[],
    )
    .unwrap();
    let kubeconfig = kpki::kubeconfig("https://tenant.example:6443", &root.pem, "kubernetes-admin", &admin).unwrap();
    let rsa = openssl_rsa_cert("rsa-made-by-openssl");

    create(&api, secret("web-tls", "kubernetes.io/tls", &[], &[("tls.crt", &web.pem), ("tls.key", &web.key_pem), ("ca.crt", &root.pem)]))
        .await;
    create(&api, secret("tenant-admin-kubeconfig", "Opaque", &[], &[("admin.conf", &kubeconfig), ("super-admin.svc", &kubeconfig)])).await;
    create(
        &api,
        secret("broken", "Opaque", &[], &[("ca.crt", &root.pem[..root.pem.len() / 2]), ("server.crt", "garbage"), ("notes", "garbage")]),
    )
    .await;
    create(&api, secret("db", "Opaque", &[], &[("DB_PASSWORD", "hunter2hunter2hunter2"), ("DB_USER", "kamaji")])).await;
    create(&api, secret("legacy", "Opaque", &[], &[("old.pem", &old.pem), ("rsa.crt", &rsa)])).await;

    let (code, v, stderr) = status_json(&["--source", "secrets", "-n", &ns]);
    assert_eq!(code, 4, "expired and invalid rows: {stderr}");
    let r = rows(&v);
    let n = |s: &str| format!("{ns}/{s}");
    assert_eq!(row(&r, &n("web-tls/tls.crt")), ("ok", "verified", ""));
    assert_eq!(row(&r, &n("web-tls/ca.crt")), ("ok", "self-signed", ""));
    assert_eq!(row(&r, &n("tenant-admin-kubeconfig/admin.conf:ca")).1, "self-signed");
    assert_eq!(row(&r, &n("tenant-admin-kubeconfig/admin.conf:client")), ("ok", "verified", ""));
    assert_eq!(row(&r, &n("tenant-admin-kubeconfig/super-admin.svc:client")), ("ok", "verified", ""));
    let (status, _, message) = row(&r, &n("broken/ca.crt"));
    assert_eq!(status, "invalid");
    assert!(message.contains("truncated PEM"), "{message}");
    assert_eq!(row(&r, &n("broken/server.crt")), ("invalid", "not-checked", "no certificate found"));
    assert_eq!(row(&r, &n("legacy/old.pem")).0, "expired");
    assert_eq!(row(&r, &n("legacy/rsa.crt")).0, "ok");
    assert_eq!(r.len(), 10, "{:#?}", r.keys().collect::<Vec<_>>());
    assert!(!r.keys().any(|k| k.contains("/db/") || k.contains("/broken/notes") || k.ends_with(".key")));

    let items = v["items"].as_array().unwrap();
    let admin_row = items.iter().find(|i| i["name"] == n("tenant-admin-kubeconfig/admin.conf:client")).unwrap();
    assert_eq!(admin_row["certificate"]["organizations"], json!(["system:masters"]));
    let rsa_row = items.iter().find(|i| i["name"] == n("legacy/rsa.crt")).unwrap();
    assert_eq!(rsa_row["certificate"]["keyType"], "RSA-2048");

    // The table never shows key material, and a healthy namespace exits 0/3.
    let out = pki_cmd(cp.kubeconfig()).args(["--source", "secrets", "-n", &ns, "-o", "wide"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let key_line = web.key_pem.lines().nth(1).unwrap();
    assert!(!table.contains("PRIVATE KEY") && !table.contains(key_line), "{table}");
}

#[tokio::test]
async fn exit_codes_follow_the_worst_secret() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("status-exit").await.name;
    let api: Api<Secret> = Api::namespaced(cp.client().await, &ns);
    let root = dated("exit-ca", true, PAST, FAR, None);
    create(&api, secret("ok", "Opaque", &[], &[("ca.crt", &root.pem)])).await;
    let (code, _, _) = status_json(&["--source", "secrets", "-n", &ns]);
    assert_eq!(code, 0);
    let soon = dated("soon", false, PAST, in_days(10), Some(&root));
    create(&api, secret("soon", "kubernetes.io/tls", &[], &[("tls.crt", &soon.pem), ("tls.key", &soon.key_pem)])).await;
    let (code, v, _) = status_json(&["--source", "secrets", "-n", &ns]);
    assert_eq!(code, 3);
    assert_eq!(row(&rows(&v), &format!("{ns}/soon/tls.crt")).0, "expiring");
    let (code, _, _) = status_json(&["--source", "secrets", "-n", &ns, "--warn-within", "5d"]);
    assert_eq!(code, 0);
    let later = dated("later", false, in_days(3), FAR, Some(&root));
    create(&api, secret("later", "Opaque", &[], &[("later.crt", &later.pem)])).await;
    let (code, v, _) = status_json(&["--source", "secrets", "-n", &ns]);
    assert_eq!(code, 4);
    assert_eq!(row(&rows(&v), &format!("{ns}/later/later.crt")).0, "not-yet-valid");
}

#[tokio::test]
async fn pagination_reads_every_page() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("status-pages").await.name;
    let api: Api<Secret> = Api::namespaced(cp.client().await, &ns);
    let root = dated("page-ca", true, PAST, FAR, None);
    for i in 0..3 {
        create(&api, secret(&format!("s{i}"), "Opaque", &[], &[("ca.crt", &root.pem)])).await;
    }
    let (code, v, stderr) = status_json(&["--source", "secrets", "-n", &ns, "--page-size", "2", "-vv"]);
    assert_eq!(code, 0, "{stderr}");
    let names: Vec<String> = rows(&v).into_keys().collect();
    assert_eq!(names, [format!("{ns}/s0/ca.crt"), format!("{ns}/s1/ca.crt"), format!("{ns}/s2/ca.crt")]);
    let pages: Vec<&str> = stderr.lines().filter(|l| l.contains("secrets page")).collect();
    assert_eq!(pages.len(), 2, "two list requests of at most 2 secrets: {stderr}");
    assert!(pages[0].contains("count=2") && pages[1].contains("count=1"), "{pages:?}");
}

#[tokio::test]
async fn all_namespaces_lists_every_namespace() {
    let cp = ControlPlane::shared();
    let a = cp.namespace("status-all-a").await.name;
    let b = cp.namespace("status-all-b").await.name;
    let client = cp.client().await;
    let root = dated("all-ca", true, PAST, FAR, None);
    for ns in [&a, &b] {
        create(&Api::namespaced(client.clone(), ns), secret("x", "Opaque", &[], &[("ca.crt", &root.pem)])).await;
    }
    let (_, v, _) = status_json(&["--source", "secrets", "-A"]);
    let r = rows(&v);
    assert!(r.contains_key(&format!("{a}/x/ca.crt")) && r.contains_key(&format!("{b}/x/ca.crt")));
    let (_, v, _) = status_json(&["--source", "secrets", "-n", &a]);
    assert!(!rows(&v).contains_key(&format!("{b}/x/ca.crt")));
}

#[tokio::test]
async fn kubeconfig_source_shows_the_identity_in_use() {
    let (code, v, stderr) = status_json(&["--source", "kubeconfig"]);
    assert_eq!(code, 0, "{stderr}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "e2e:ca");
    assert_eq!(items[0]["certificate"]["commonName"], "e2e-kubernetes-ca");
    assert_eq!(items[0]["chain"]["verdict"], "self-signed");
    assert_eq!(items[1]["name"], "e2e:client");
    assert_eq!(items[1]["certificate"]["commonName"], "e2e-admin");
    assert_eq!(items[1]["certificate"]["organizations"], json!(["system:masters"]));
    assert_eq!(items[1]["chain"], json!({"verdict": "verified", "to": "e2e-kubernetes-ca"}));
    // The table shows the CN; `-o wide` the groups too.
    let out = pki_cmd(ControlPlane::shared().kubeconfig()).args(["--source", "kubeconfig"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("e2e-admin "));
    let out = pki_cmd(ControlPlane::shared().kubeconfig()).args(["--source", "kubeconfig", "-o", "wide"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("e2e-admin [system:masters]"));
}

#[tokio::test]
async fn server_source_verifies_the_serving_chain_against_the_kubeconfig_ca() {
    let cp = ControlPlane::shared();
    let (code, v, stderr) = status_json(&["--source", "server"]);
    assert_eq!(code, 0, "{stderr}");
    let leaf = &v["items"][0];
    assert_eq!(leaf["source"], "server");
    assert_eq!(leaf["certificate"]["commonName"], "kube-apiserver");
    assert!(leaf["certificate"]["sans"].as_array().unwrap().contains(&json!("127.0.0.1")));
    assert_eq!(leaf["chain"], json!({"verdict": "verified", "to": "e2e-kubernetes-ca"}));
    assert_eq!(leaf["message"], Value::Null);

    // The same server seen through a kubeconfig that trusts another CA.
    let dir = tempfile::tempdir().unwrap();
    let other = dated("not-the-cluster-ca", true, PAST, FAR, None);
    let text = std::fs::read_to_string(cp.kubeconfig()).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let swapped = text.replace(&b64(&cp.pki().ca_crt), &b64(&other.pem));
    assert_ne!(swapped, text, "the harness kubeconfig embeds its CA");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, swapped).unwrap();
    let out = pki_cmd(&path).args(["--source", "server", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "a served chain that does not verify is critical, like an expired certificate");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"][0]["chain"]["verdict"], "unverified");
    assert!(v["items"][0]["message"].as_str().unwrap().contains("not-the-cluster-ca"));
}

/// A tenant as Kamaji lays it out: CA, front-proxy CA, leaves, kubeconfigs,
/// datastore certificate with its own CA; the scheduler kubeconfig is stale
/// (issued by a previous CA with the same name).
async fn seed_tenant(client: &kube::Client, ns: &str, tcp: &str) {
    kamaji::install_crd(client.clone()).await.expect("CRD");
    let tcps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kamaji::api_resource());
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane",
        "metadata": {"name": tcp},
        "spec": {"kubernetes": {"version": "v1.33.0"}}
    }))
    .unwrap();
    tcps.create(&PostParams::default(), &obj).await.expect("create TCP");
    let status = json!({"status": {"kubernetesResources": {"version": {"status": "Ready", "version": "v1.33.0"}}}});
    tcps.patch_status(tcp, &PatchParams::default(), &Patch::Merge(&status)).await.expect("TCP status");

    let ca = kpki::new_ca("kubernetes").unwrap();
    let old_ca = kpki::new_ca("kubernetes").unwrap();
    let fp_ca = kpki::new_ca("front-proxy-ca").unwrap();
    let ds_ca = kpki::new_ca("datastore-ca").unwrap();
    let leaf = |issuer: &kpki::CertKey, cn: &str, usage| kpki::new_leaf(issuer, cn, &[], usage, &[]).unwrap();
    let apiserver = leaf(&ca, "kube-apiserver", kpki::Usage::Server);
    let fp_client = leaf(&fp_ca, "front-proxy-client", kpki::Usage::Client);
    let ds_server = leaf(&ds_ca, "tenant-datastore", kpki::Usage::ServerAndClient);
    let admin = kpki::new_leaf(&ca, "kubernetes-admin", &["system:masters"], kpki::Usage::Client, &[]).unwrap();
    let sched = leaf(&old_ca, "system:kube-scheduler", kpki::Usage::Client);
    let server = "https://tenant.example:6443";
    let admin_conf = kpki::kubeconfig(server, &ca.cert, "kubernetes-admin", &admin).unwrap();
    let sched_conf = kpki::kubeconfig(server, &old_ca.cert, "system:kube-scheduler", &sched).unwrap();
    let sa = KeyPair::generate().unwrap();

    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let labels = |suffix: &'static str| vec![(names::LABEL_PROJECT, "kamaji"), (names::LABEL_NAME, tcp), (names::LABEL_COMPONENT, suffix)];
    let name = |suffix| names::secret_name(tcp, suffix);
    let sa_pub = sa.public_key_pem();
    let sa_key = sa.serialize_pem();
    let secrets: Vec<(&'static str, Vec<(&str, &str)>)> = vec![
        (names::CA, vec![("ca.crt", &ca.cert), ("ca.key", &ca.key), ("tls.crt", &ca.cert), ("tls.key", &ca.key)]),
        (names::SA, vec![("sa.pub", &sa_pub), ("sa.key", &sa_key)]),
        (names::API_SERVER, vec![("apiserver.crt", &apiserver.cert), ("apiserver.key", &apiserver.key)]),
        (names::FRONT_PROXY_CA, vec![("front-proxy-ca.crt", &fp_ca.cert), ("front-proxy-ca.key", &fp_ca.key)]),
        (names::FRONT_PROXY_CLIENT, vec![("front-proxy-client.crt", &fp_client.cert), ("front-proxy-client.key", &fp_client.key)]),
        (names::DATASTORE_CERT, vec![("ca.crt", &ds_ca.cert), ("server.crt", &ds_server.cert), ("server.key", &ds_server.key)]),
        (names::DATASTORE_CONFIG, vec![("DB_CONNECTION_STRING", "etcd-0.etcd:2379"), ("DB_PASSWORD", "pw")]),
        (names::ADMIN_KUBECONFIG, vec![("admin.conf", &admin_conf), ("super-admin.svc", &admin_conf)]),
        (names::SCHEDULER_KUBECONFIG, vec![("scheduler.conf", &sched_conf)]),
    ];
    for (suffix, data) in secrets {
        create(&api, secret(&name(suffix), "Opaque", &labels(suffix), &data)).await;
    }
    // Not the tenant's: listed by the secrets source only.
    create(&api, secret("unrelated", "Opaque", &[], &[("ca.crt", &ca.cert)])).await;
}

#[tokio::test]
async fn tenant_source_checks_every_secret_against_the_current_ca() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("status-tenant").await.name;
    let client = cp.client().await;
    seed_tenant(&client, &ns, "k8s").await;

    let (code, v, stderr) = status_json(&["--source", "tenant", "--tenant", "k8s", "-n", &ns]);
    assert_eq!(code, 4, "the stale scheduler kubeconfig does not chain: {stderr}");
    let t = &v["tenants"][0];
    assert_eq!((&t["namespace"], &t["name"], &t["status"], &t["version"]), (&json!(ns), &json!("k8s"), &json!("Ready"), &json!("v1.33.0")));
    assert_eq!(v["tenants"].as_array().unwrap().len(), 1);
    // No Kamaji controller in cozy-kamaji here: its issuance horizon is unknown, not judged.
    assert_eq!(t["kamaji"]["status"], "unknown", "{t:#}");
    assert_eq!(t["kamaji"]["pods"], 0);
    let r = rows(&v);
    let n = |s: &str| format!("{ns}/k8s-{s}");
    for name in [
        "ca/ca.crt",
        "ca/tls.crt",
        "api-server-certificate/apiserver.crt",
        "admin-kubeconfig/admin.conf:ca",
        "admin-kubeconfig/admin.conf:client",
        "admin-kubeconfig/super-admin.svc:client",
        "front-proxy-ca-certificate/front-proxy-ca.crt",
        "front-proxy-client-certificate/front-proxy-client.crt",
        "datastore-certificate/server.crt",
    ] {
        assert_eq!(row(&r, &n(name)).1, "verified", "{name}");
    }
    assert_eq!(row(&r, &n("datastore-certificate/ca.crt")).1, "self-signed");
    let (_, chain, message) = row(&r, &n("scheduler-kubeconfig/scheduler.conf:client"));
    assert_eq!(chain, "unverified");
    assert!(message.contains("another key"), "{message}");
    // A kubeconfig embedding another CA than the tenant's: a stale copy, named.
    let (status, chain, message) = row(&r, &n("scheduler-kubeconfig/scheduler.conf:ca"));
    assert_eq!((status, chain), ("mismatch", "unverified"));
    assert!(message.starts_with("stale CA: k8s-scheduler-kubeconfig/scheduler.conf embeds a CA"), "{message}");
    // The tenant API named by admin.conf (tenant.example) cannot be reached: a row, not an error.
    let (status, chain, message) = row(&r, &format!("{ns}/k8s:served"));
    assert_eq!((status, chain), ("unreachable", "not-checked"));
    assert!(message.starts_with("unreachable: ") && message.ends_with("not checked"), "{message}");
    assert_eq!(r.len(), 14, "sa.pub, keys and datastore-config are not rows: {:#?}", r.keys().collect::<Vec<_>>());
    assert!(v["items"].as_array().unwrap().iter().all(|i| i["source"] == "tenant"));

    // The table names the TCP and its status.
    let out = pki_cmd(cp.kubeconfig()).args(["--source", "tenant", "--tenant", "k8s", "-n", &ns]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("TenantControlPlane {ns}/k8s: Ready (version v1.33.0)")), "{text}");

    // Default sources with --tenant: the tenant's secrets appear once, under `tenant`.
    let (_, v, stderr) = status_json(&["--tenant", "k8s", "-n", &ns]);
    let items = v["items"].as_array().unwrap_or_else(|| panic!("{stderr}"));
    let by_source = |s: &str| items.iter().filter(|i| i["source"] == s).count();
    assert_eq!(by_source("tenant"), 14);
    assert_eq!(by_source("kubeconfig"), 2);
    assert!(by_source("server") >= 1);
    let secret_rows: Vec<&str> = items.iter().filter(|i| i["source"] == "secrets").map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(secret_rows, [format!("{ns}/unrelated/ca.crt")]);
}

#[tokio::test]
async fn a_cozystack_cluster_name_finds_its_tenant() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("status-cozy").await.name;
    seed_tenant(&cp.client().await, &ns, "kubernetes-demo").await;
    let out = pki_cmd(cp.kubeconfig()).args(["--source", "tenant", "--tenant", "demo", "-n", &ns, "-o", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(v["tenants"][0]["name"], "kubernetes-demo", "{stderr}");
    assert!(stderr.contains("no TenantControlPlane demo; using kubernetes-demo"), "{stderr}");
    assert!(v["items"].as_array().unwrap().iter().any(|i| i["name"] == format!("{ns}/kubernetes-demo-ca/ca.crt")));
}

#[tokio::test]
async fn a_missing_tenant_is_a_one_line_error() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("status-notenant").await.name;
    kamaji::install_crd(cp.client().await).await.expect("CRD");
    let out = pki_cmd(cp.kubeconfig()).args(["--source", "tenant", "--tenant", "nope", "-n", &ns]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end(), format!("error: TenantControlPlane not found: {ns}/nope"));
    assert!(out.stdout.is_empty());
}
