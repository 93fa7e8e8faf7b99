//! The `cabundle` and `configmaps` sources of `status` on a real kube-apiserver.
//!
//! The apiserver is an extra one on the harness's etcd, under its own prefix, with no
//! kube-controller-manager: nothing publishes or rewrites `kube-root-ca.crt` there, so the
//! test writes it per namespace (as the root-CA publisher would) and one drifted copy stays
//! drifted; and `status -A` sees exactly this test's webhooks, APIServices and CRDs.
//!
//! The served check dials TLS servers the test runs: webhooks by URL on 127.0.0.1, Services
//! through an EndpointSlice that points at this machine's non-loopback address (validation
//! refuses loopback endpoints) with servers bound on 0.0.0.0.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use e2e::{ApiServerOptions, ControlPlane};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kubectl_pki_testkit::{PAST, TestCert, dated, in_days, issue, kubeadm};
use serde_json::{Value, json};

/// A CA made by the testkit's kubeadm profile.
fn new_ca(cn: &str) -> TestCert {
    issue(kubeadm::ca(cn), rcgen::KeyPair::generate().expect("key"), None).expect("CA")
}

/// A serving certificate of `ca` for `sans`.
fn serving(ca: &TestCert, cn: &str, sans: &[&str]) -> TestCert {
    issue(kubeadm::serving(cn, sans).expect("params"), rcgen::KeyPair::generate().expect("key"), Some(&ca.issuer)).expect("cert")
}

fn b64(pem: &str) -> String {
    kubectl_pki_testkit::b64(pem)
}

/// A TLS server on `bind` (port 0: a free one) serving `cert` until the test ends; its port.
async fn tls_server(bind: &str, cert: &TestCert) -> u16 {
    let key = rcgen::KeyPair::from_pem(&cert.key_pem).expect("key");
    let der = rustls::pki_types::CertificateDer::from(cert.der.clone());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![der], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}

/// This machine's address on its default route (an EndpointSlice may not name loopback).
fn host_ip() -> String {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
    socket.connect("192.0.2.254:9").or_else(|_| socket.connect("10.255.255.254:9")).expect("a route");
    socket.local_addr().expect("addr").ip().to_string()
}

/// `kubectl-pki --kubeconfig KC status ARGS`: (exit code, stdout, stderr).
async fn run_status(kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(e2e::pki_bin())
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("status")
        .args(args)
        .output()
        .await
        .expect("run kubectl-pki");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// `status -o json ARGS`: (exit code, rows by name, stderr).
async fn rows(kubeconfig: &Path, args: &[&str]) -> (i32, BTreeMap<String, Value>, String) {
    let args: Vec<&str> = args.iter().copied().chain(["-o", "json"]).collect();
    let (code, stdout, stderr) = run_status(kubeconfig, &args).await;
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    let by_name = items.into_iter().map(|i| (i["name"].as_str().unwrap_or_default().to_string(), i)).collect();
    (code, by_name, stderr)
}

/// (status, served verdict or "-", message) of a row.
fn words(row: &Value) -> (&str, &str, &str) {
    (row["status"].as_str().unwrap_or("?"), row["served"]["verdict"].as_str().unwrap_or("-"), row["message"].as_str().unwrap_or(""))
}

fn names(rows: &BTreeMap<String, Value>) -> Vec<&str> {
    rows.keys().map(String::as_str).collect()
}

async fn create<K>(api: &Api<K>, object: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).expect("object");
    api.create(&PostParams::default(), &object).await.unwrap_or_else(|e| panic!("create {object:?}: {e}"))
}

async fn dynamic(client: &kube::Client, gvk: (&str, &str, &str), plural: &str, object: Value) {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(gvk.0, gvk.1, gvk.2), plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    create(&api, object).await;
}

/// A Service without selector on port 443 (named `https`, targetPort `target`) and its
/// EndpointSlice: `ip:port`, ready.
async fn service(client: &kube::Client, ns: &str, name: &str, target: Value, ip: &str, port: u16) {
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    create(&services, json!({"metadata": {"name": name}, "spec": {"ports": [{"name": "https", "port": 443, "targetPort": target}]}})).await;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    create(
        &slices,
        json!({
            "metadata": {"name": format!("{name}-1"), "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]
        }),
    )
    .await;
}

fn webhook(name: &str, url: &str, ca_pem: &str) -> Value {
    json!({
        "name": name,
        "clientConfig": {"url": url, "caBundle": b64(ca_pem)},
        // Nothing creates these: the webhooks never take part in a request.
        "rules": [{"apiGroups": ["srcs.example.com"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["gadgets"]}],
        "failurePolicy": "Ignore", "sideEffects": "None", "admissionReviewVersions": ["v1"]
    })
}

fn apiservice(group: &str, ns: &str, svc: &str, ca_pem: &str) -> Value {
    json!({
        "metadata": {"name": format!("v1alpha1.{group}")},
        "spec": {"group": group, "version": "v1alpha1", "groupPriorityMinimum": 100, "versionPriority": 10,
                 "service": {"namespace": ns, "name": svc, "port": 443}, "caBundle": b64(ca_pem)}
    })
}

struct Isolated {
    _api: e2e::ApiServer,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    client: kube::Client,
    url: String,
}

/// A kube-apiserver of the harness's PKI with its own storage and no controllers.
async fn isolated() -> Isolated {
    let cp = ControlPlane::shared();
    let prefix = format!("/status-sources-{}", e2e::controlplane::unique_suffix());
    let api = tokio::task::block_in_place(|| e2e::start_apiserver(ApiServerOptions::of_pki(cp.pki(), prefix, None)))
        .expect("extra kube-apiserver");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let pki = cp.pki();
    e2e::pki::write_private(&kubeconfig, &e2e::pki::kubeconfig(&api.url, &pki.ca_crt, &pki.admin_crt, &pki.admin_key, "isolated"))
        .expect("kubeconfig");
    let client = e2e::controlplane::client_for(&kubeconfig).await.expect("client");
    Isolated { url: api.url.clone(), _api: api, _dir: dir, kubeconfig, client }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cabundles_and_configmaps_on_a_real_api_server() {
    let iso = isolated().await;
    let client = &iso.client;
    let cluster_ca = ControlPlane::shared().pki().ca_crt.clone();
    let (ca_a, ca_b) = (new_ca("srcs-ca-a"), new_ca("srcs-ca-b"));
    let expired = dated("srcs-expired-ca", true, PAST, in_days(-1), None);
    let ip = host_ip();

    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in ["srcs-a", "srcs-b", "srcs-drift", "srcs-hooks"] {
        create(&namespaces, json!({"metadata": {"name": ns}})).await;
    }

    // Webhooks by URL: one server whose certificate the bundle verifies, one it does not.
    let served_a = serving(&ca_a, "srcs-served-a", &["127.0.0.1"]);
    let port_a = tls_server("127.0.0.1:0", &served_a).await;
    let port_other = tls_server("127.0.0.1:0", &serving(&ca_b, "srcs-served-b", &["127.0.0.1"])).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (url_a, url_other, url_closed) = (
        format!("https://127.0.0.1:{port_a}/validate"),
        format!("https://127.0.0.1:{port_other}/validate"),
        format!("https://127.0.0.1:{closed}/"),
    );
    let admission = ("admissionregistration.k8s.io", "v1");
    dynamic(
        client,
        (admission.0, admission.1, "ValidatingWebhookConfiguration"),
        "validatingwebhookconfigurations",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "srcs-validating"},
               "webhooks": [webhook("ok.srcs.example.com", &url_a, &ca_a.pem), webhook("mismatch.srcs.example.com", &url_other, &ca_a.pem)]}),
    )
    .await;
    dynamic(
        client,
        (admission.0, admission.1, "MutatingWebhookConfiguration"),
        "mutatingwebhookconfigurations",
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "srcs-mutating"},
               "webhooks": [webhook("expired.srcs.example.com", &url_closed, &expired.pem)]}),
    )
    .await;

    // APIServices behind Services: the EndpointSlices point at this machine.
    let ok_port = tls_server("0.0.0.0:0", &serving(&ca_a, "srcs-api", &["srcs-api.srcs-hooks.svc"])).await;
    service(client, "srcs-hooks", "srcs-api", json!(ok_port), &ip, ok_port).await;
    let bad_port = tls_server("0.0.0.0:0", &serving(&ca_b, "srcs-stale", &["srcs-stale.srcs-hooks.svc"])).await;
    // A named targetPort: resolved through the slice's port of the same name.
    service(client, "srcs-hooks", "srcs-stale", json!("https"), &ip, bad_port).await;
    let registration = ("apiregistration.k8s.io", "v1", "APIService");
    for (group, svc) in [("test.example.com", "srcs-api"), ("stale.example.com", "srcs-stale")] {
        let mut object = apiservice(group, "srcs-hooks", svc, &ca_a.pem);
        object["apiVersion"] = json!("apiregistration.k8s.io/v1");
        object["kind"] = json!("APIService");
        dynamic(client, registration, "apiservices", object).await;
    }

    // A CRD whose conversion webhook is the verified URL server.
    dynamic(
        client,
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.srcs.example.com"},
               "spec": {"group": "srcs.example.com", "scope": "Namespaced",
                        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                        "versions": [
                            {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
                            {"name": "v2", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}],
                        "conversion": {"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"],
                                       "clientConfig": {"url": format!("https://127.0.0.1:{port_a}/convert"), "caBundle": b64(&ca_a.pem)}}}}}),
    )
    .await;

    // kube-root-ca.crt as the publisher writes it, and one namespace's copy overwritten.
    for (ns, pem) in [("srcs-a", cluster_ca.as_str()), ("srcs-b", cluster_ca.as_str()), ("srcs-drift", ca_b.pem.as_str())] {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        create(&cms, json!({"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": pem}})).await;
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "srcs-a");
    create(&cms, json!({"metadata": {"name": "app-trust"}, "data": {"bundle.pem": ca_a.pem, "note": "not a certificate"}})).await;

    // cabundle: one row set per webhook, APIService and CRD, judged by date and by what is
    // served; one object per page (the built-in APIServices span many pages).
    let (code, r, stderr) = rows(&iso.kubeconfig, &["-A", "--source", "cabundle", "--page-size", "1"]).await;
    let ok_hook = "validatingwebhookconfiguration/srcs-validating/ok.srcs.example.com";
    let bad_hook = "validatingwebhookconfiguration/srcs-validating/mismatch.srcs.example.com";
    let expired_hook = "mutatingwebhookconfiguration/srcs-mutating/expired.srcs.example.com";
    let (ok_api, stale_api) = ("apiservice/v1alpha1.test.example.com", "apiservice/v1alpha1.stale.example.com");
    let crd = "customresourcedefinition/widgets.srcs.example.com";
    let mut want = vec![ok_hook, bad_hook, expired_hook, ok_api, stale_api, crd];
    want.sort();
    assert_eq!(names(&r), want, "{stderr}");
    assert_eq!(code, 4, "a mismatch and an expired bundle: {stderr}");
    assert_eq!(words(&r[ok_hook]), ("ok", "ok", ""), "{:#}", r[ok_hook]);
    assert_eq!(r[ok_hook]["served"]["endpoint"], json!(format!("https://127.0.0.1:{port_a}")));
    assert_eq!(r[ok_hook]["location"]["object"], json!(ok_hook));
    let (status, served, message) = words(&r[bad_hook]);
    assert_eq!((status, served), ("mismatch", "mismatch"), "{:#}", r[bad_hook]);
    assert!(
        message.starts_with(&format!(
            "the bundle does not verify what https://127.0.0.1:{port_other} serves (subject srcs-served-b, issuer srcs-ca-b)"
        )),
        "{message}"
    );
    let (status, served, message) = words(&r[expired_hook]);
    assert_eq!((status, served), ("expired", "-"), "{:#}", r[expired_hook]);
    assert!(message.starts_with(&format!("served certificate not checked: https://127.0.0.1:{closed}: ")), "{message}");
    assert_eq!(words(&r[ok_api]), ("ok", "ok", ""), "{:#}", r[ok_api]);
    assert_eq!(r[ok_api]["served"]["endpoint"], json!(format!("https://{ip}:{ok_port}")));
    let (status, served, message) = words(&r[stale_api]);
    assert_eq!((status, served), ("mismatch", "mismatch"), "{:#}", r[stale_api]);
    assert!(message.contains(&format!("https://{ip}:{bad_port} serves (subject srcs-stale, issuer srcs-ca-b)")), "{message}");
    assert_eq!(words(&r[crd]), ("ok", "ok", ""), "{:#}", r[crd]);

    // configmaps, one item per page: kube-root-ca.crt folded where it holds the cluster CA,
    // the drifted namespace on its own; any key holding PEM; the API server's own ConfigMap.
    let (code, r, stderr) = rows(&iso.kubeconfig, &["-A", "--source", "configmaps", "--page-size", "1"]).await;
    let auth = "kube-system/extension-apiserver-authentication/client-ca-file";
    let (drift, folded, app) = ("srcs-drift/kube-root-ca.crt/ca.crt", "*/kube-root-ca.crt/ca.crt", "srcs-a/app-trust/bundle.pem");
    let others: Vec<&str> = names(&r).into_iter().filter(|n| !n.starts_with("kube-system/extension-apiserver-authentication/")).collect();
    let mut want = vec![drift, folded, app];
    want.sort();
    assert_eq!(others, want, "{stderr}");
    assert_eq!(code, 4, "the drifted namespace: {stderr}");
    let (status, _, message) = words(&r[drift]);
    assert_eq!(status, "mismatch", "{:#}", r[drift]);
    assert!(
        message.starts_with("kube-root-ca.crt in srcs-drift does not hold the CA the kubeconfig trusts (e2e-kubernetes-ca, sha256 "),
        "{message}"
    );
    assert_eq!(words(&r[folded]), ("ok", "-", "in 2 namespaces"), "{:#}", r[folded]);
    assert_eq!(r[folded]["location"]["configMap"], "kube-root-ca.crt");
    assert_eq!(r[folded]["certificate"]["commonName"], "e2e-kubernetes-ca");
    assert_eq!(words(&r[app]).0, "ok");
    assert_eq!(r[auth]["certificate"]["commonName"], "e2e-kubernetes-ca", "{:#?}", names(&r));

    // Default sources in one namespace: every source, kube-system's ConfigMap read by a GET.
    let (code, r, stderr) = rows(&iso.kubeconfig, &["-n", "srcs-a"]).await;
    assert_eq!(code, 4, "{stderr}");
    let sources: std::collections::BTreeSet<&str> = r.values().filter_map(|i| i["source"].as_str()).collect();
    assert_eq!(sources.into_iter().collect::<Vec<_>>(), ["cabundle", "configmaps", "kubeconfig", "server"], "{:#?}", names(&r));
    for name in [ok_hook, bad_hook, crd, app, auth, "srcs-a/kube-root-ca.crt/ca.crt"] {
        assert!(r.contains_key(name), "{name} missing: {:#?}", names(&r));
    }
    assert_eq!(words(&r["srcs-a/kube-root-ca.crt/ca.crt"]), ("ok", "-", ""));
    assert!(!r.contains_key(drift), "another namespace's ConfigMaps are not read");

    // -o prometheus: the rows are series like any other, the object as their path.
    let (_, metrics, stderr) = run_status(&iso.kubeconfig, &["-A", "--source", "cabundle,configmaps", "-o", "prometheus"]).await;
    for path in [
        format!("filepath=\"{ok_api}\""),
        format!("filepath=\"{bad_hook}\""),
        "filepath=\"configmaps/srcs-drift/kube-root-ca.crt/ca.crt\"".into(),
    ] {
        assert!(metrics.contains(&path), "{path} missing: {metrics}\n{stderr}");
    }

    // A namespaced user: the cluster-scoped lists are refused. Read by default, that is a
    // warning and the exit code follows the other rows; chosen with --source, an error.
    let token = namespaced_token(client, "srcs-a").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("viewer");
    e2e::pki::write_private(&kc, &kubectl_pki_testkit::token_kubeconfig(&iso.url, &cluster_ca, &token)).expect("kubeconfig");
    let (code, r, stderr) = rows(&kc, &["-n", "srcs-a"]).await;
    assert!(
        stderr.contains(
            "status: cabundle not read: forbidden to list validatingwebhookconfigurations.admissionregistration.k8s.io (choose sources with --source)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("status: kube-system/extension-apiserver-authentication not read: forbidden"), "{stderr}");
    assert_eq!(code, 0, "every row read is ok: {:#?}\n{stderr}", names(&r));
    assert!(r.contains_key(app) && r.contains_key("srcs-a/kube-root-ca.crt/ca.crt"), "{:#?}", names(&r));
    assert!(!r.values().any(|i| i["source"] == "cabundle"));
    let (code, _, stderr) = run_status(&kc, &["-n", "srcs-a", "--source", "cabundle"]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("(Forbidden)") && stderr.contains("validatingwebhookconfigurations"), "{stderr}");
}

/// A token of a ServiceAccount that may list secrets and configmaps in `ns` only.
async fn namespaced_token(client: &kube::Client, ns: &str) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    create(&sas, json!({"metadata": {"name": "viewer"}})).await;
    let roles: Api<Role> = Api::namespaced(client.clone(), ns);
    create(
        &roles,
        json!({"metadata": {"name": "viewer"}, "rules": [{"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["list"]}]}),
    )
    .await;
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), ns);
    create(
        &bindings,
        json!({"metadata": {"name": "viewer"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
               "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": ns}]}),
    )
    .await;
    let request: k8s_openapi::api::authentication::v1::TokenRequest =
        serde_json::from_value(json!({"spec": {"expirationSeconds": 3600}})).expect("request");
    let token = sas.create_token_request("viewer", &PostParams::default(), &request).await.expect("token");
    token.status.and_then(|s| s.token).expect("a token")
}

/// On the harness's control plane kube-controller-manager publishes `kube-root-ca.crt` in
/// every namespace with the CA the kubeconfig trusts: one folded row set, no drift.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_kube_root_ca_folds_into_one_row_on_a_cluster_with_controllers() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("srcs-published").await.name;
    let client = cp.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while cms.get_opt("kube-root-ca.crt").await.expect("get").is_none() {
        assert!(std::time::Instant::now() < deadline, "kube-root-ca.crt never published in {ns}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let all: Api<ConfigMap> = Api::all(client);
    let published = all.list(&kube::api::ListParams::default().fields("metadata.name=kube-root-ca.crt")).await.expect("list").items.len();
    let (code, r, stderr) = rows(cp.kubeconfig(), &["-A", "--source", "configmaps"]).await;
    let root: Vec<&str> = names(&r).into_iter().filter(|n| n.ends_with("/kube-root-ca.crt/ca.crt")).collect();
    assert_eq!(root, ["*/kube-root-ca.crt/ca.crt"], "{stderr}");
    let folded = &r["*/kube-root-ca.crt/ca.crt"];
    assert_eq!(words(folded), ("ok", "-", format!("in {published} namespaces").as_str()), "{folded:#}");
    assert_eq!(folded["certificate"]["commonName"], "e2e-kubernetes-ca");
    assert_eq!(code, 0, "{:#?}\n{stderr}", names(&r));

    // The table: the folded row and the API server's client CA, escaped and aligned as every table.
    let (code, table, stderr) = run_status(cp.kubeconfig(), &["-A", "--source", "configmaps"]).await;
    assert_eq!(code, 0, "{stderr}");
    let line = table.lines().find(|l| l.starts_with("*/kube-root-ca.crt/ca.crt")).unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("ok") && line.contains(&format!("in {published} namespaces")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("kube-system/extension-apiserver-authentication/client-ca-file")), "{table}");
}
