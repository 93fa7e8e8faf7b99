//! The kubectl authentication paths besides client certificates, against
//! the real local control plane, probed with `kubectl pki status --source
//! secrets` in a namespace only the test's identity may list: an exec
//! credential plugin (a token, a client certificate), `tokenFile`,
//! `insecure-skip-tls-verify`, `tls-server-name` (dialling 127.0.0.1 on a
//! server whose certificate names only a DNS name) and the `oidc`
//! auth-provider. Each works as kubectl's does, or fails in one line.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use e2e::{ApiServerOptions, ControlPlane};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};
use kubectl_pki_testkit::b64;

/// A namespace, a ServiceAccount allowed to list its secrets (and nothing
/// else), and a token of it: a request that lists those secrets proves
/// the token reached the API server.
struct Identity {
    namespace: String,
    token: String,
}

async fn identity(cp: &ControlPlane) -> Identity {
    let ns = cp.namespace("auth").await.name;
    let client = cp.client().await;
    let meta = |name: &str| ObjectMeta { name: Some(name.into()), namespace: Some(ns.clone()), ..Default::default() };
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    sas.create(&PostParams::default(), &ServiceAccount { metadata: meta("reader"), ..Default::default() }).await.unwrap();
    let role = Role {
        metadata: meta("list-secrets"),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".into()]),
            verbs: vec!["list".into()],
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(client.clone(), &ns).create(&PostParams::default(), &role).await.unwrap();
    let binding = RoleBinding {
        metadata: meta("reader-lists-secrets"),
        role_ref: RoleRef { api_group: Some("rbac.authorization.k8s.io".into()), kind: "Role".into(), name: "list-secrets".into() },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "reader".into(),
            namespace: Some(ns.clone()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(client.clone(), &ns).create(&PostParams::default(), &binding).await.unwrap();
    let request =
        TokenRequest { spec: Some(TokenRequestSpec { expiration_seconds: Some(3600), ..Default::default() }), ..Default::default() };
    let token = sas.create_token_request("reader", &PostParams::default(), &request).await.unwrap();
    Identity { namespace: ns, token: token.status.and_then(|s| s.token).expect("a token") }
}

/// A kubeconfig of one context `auth` with the given cluster and user bodies (YAML, indented by 4).
fn kubeconfig(dir: &Path, name: &str, cluster: &str, user: &str) -> PathBuf {
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n{cluster}users:\n- name: u\n  user:\n{user}\
         contexts:\n- name: auth\n  context:\n    cluster: c\n    user: u\ncurrent-context: auth\n"
    );
    let path = dir.join(name);
    e2e::pki::write_private(&path, &yaml).unwrap();
    path
}

/// The cluster body: `server`, trusting the control plane's CA.
fn trusted(server: &str, ca_pem: &str) -> String {
    format!("    server: {server}\n    certificate-authority-data: {}\n", b64(ca_pem))
}

fn status(kubeconfig: &Path, namespace: &str) -> Output {
    std::process::Command::new(e2e::pki_bin())
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["status", "--source", "secrets", "-n", namespace, "-o", "json"])
        .output()
        .unwrap()
}

/// Exit 0 with a JSON document and nothing on stderr.
fn assert_ok(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
    assert!(doc["items"].is_array(), "{what}: {doc}");
    assert!(stderr.trim().is_empty(), "{what}: {stderr}");
}

/// Exit 1 and the single line of stderr.
fn one_line_error(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{what}: one line: {stderr}");
    stderr.trim_end().to_owned()
}

/// An executable script that writes a marker and prints `credential` (JSON).
fn plugin(dir: &Path, name: &str, credential: &serde_json::Value) -> (PathBuf, PathBuf) {
    let script = dir.join(name);
    let marker = dir.join(format!("{name}.ran"));
    let body = format!("#!/bin/sh\ntouch '{}'\ncat <<'EOF'\n{credential}\nEOF\n", marker.display());
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    (script, marker)
}

fn exec_user(script: &Path) -> String {
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        script.display()
    )
}

#[tokio::test]
async fn an_exec_plugin_token_authenticates() {
    let cp = ControlPlane::shared();
    let id = identity(cp).await;
    let dir = tempfile::tempdir().unwrap();
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": id.token}
    });
    let (script, marker) = plugin(dir.path(), "token-plugin", &credential);
    let kc = kubeconfig(dir.path(), "exec-token", &trusted(&cp.apiserver_url, &cp.pki().ca_crt), &exec_user(&script));
    assert_ok(&status(&kc, &id.namespace), "exec plugin token");
    assert!(marker.exists(), "the plugin ran");
    // The same plugin printing a token the API server rejects.
    let bad =
        serde_json::json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "not-a-token"}});
    let (script, _) = plugin(dir.path(), "bad-plugin", &bad);
    let kc = kubeconfig(dir.path(), "exec-bad", &trusted(&cp.apiserver_url, &cp.pki().ca_crt), &exec_user(&script));
    let line = one_line_error(&status(&kc, &id.namespace), "rejected token");
    assert!(line.starts_with("error: Kubernetes API: Unauthorized (401): the server refused the kubeconfig's credentials"), "{line}");
}

#[tokio::test]
async fn an_exec_plugin_client_certificate_authenticates() {
    let cp = ControlPlane::shared();
    let id = identity(cp).await;
    let dir = tempfile::tempdir().unwrap();
    let pki = cp.pki();
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
        "status": {"clientCertificateData": pki.admin_crt, "clientKeyData": pki.admin_key}
    });
    let (script, marker) = plugin(dir.path(), "cert-plugin", &credential);
    let kc = kubeconfig(dir.path(), "exec-cert", &trusted(&cp.apiserver_url, &pki.ca_crt), &exec_user(&script));
    assert_ok(&status(&kc, &id.namespace), "exec plugin client certificate");
    assert!(marker.exists(), "the plugin ran");
}

#[tokio::test]
async fn a_token_file_authenticates() {
    let cp = ControlPlane::shared();
    let id = identity(cp).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    e2e::pki::write_private(&file, &format!("{}\n", id.token)).unwrap();
    let kc = kubeconfig(
        dir.path(),
        "token-file",
        &trusted(&cp.apiserver_url, &cp.pki().ca_crt),
        &format!("    tokenFile: {}\n", file.display()),
    );
    assert_ok(&status(&kc, &id.namespace), "tokenFile");
}

#[tokio::test]
async fn insecure_skip_tls_verify_connects_without_a_ca() {
    let cp = ControlPlane::shared();
    let id = identity(cp).await;
    let dir = tempfile::tempdir().unwrap();
    let user = format!("    token: {}\n", id.token);
    let insecure = format!("    server: {}\n    insecure-skip-tls-verify: true\n", cp.apiserver_url);
    assert_ok(&status(&kubeconfig(dir.path(), "insecure", &insecure, &user), &id.namespace), "insecure-skip-tls-verify");
    // Without it, and without the CA, the server's certificate is refused, as by kubectl.
    let (other_ca, _) = e2e::pki::new_ca("not-the-cluster-ca").unwrap();
    let wrong = kubeconfig(dir.path(), "wrong-ca", &trusted(&cp.apiserver_url, &other_ca), &user);
    let line = one_line_error(&status(&wrong, &id.namespace), "wrong CA");
    assert!(line.contains(&cp.apiserver_url) && line.to_lowercase().contains("certificate"), "{line}");
}

/// Not a tokio test: starting an API server blocks on a runtime of its own.
#[test]
fn tls_server_name_checks_the_certificate_against_that_name() {
    let cp = ControlPlane::shared();
    let id = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(identity(cp));
    let pki = cp.pki();
    let dir = tempfile::tempdir().unwrap();
    // A second API server whose certificate names only api.auth.e2e, not 127.0.0.1.
    let issuer = rcgen::Issuer::from_ca_cert_pem(&pki.ca_crt, rcgen::KeyPair::from_pem(&pki.ca_key).unwrap()).unwrap();
    let (crt, key) = e2e::pki::serving_cert(&issuer, "kube-apiserver", &["api.auth.e2e"]).unwrap();
    let (crt_path, key_path) = (dir.path().join("named.crt"), dir.path().join("named.key"));
    e2e::pki::write_private(&crt_path, &crt).unwrap();
    e2e::pki::write_private(&key_path, &key).unwrap();
    let opts = ApiServerOptions {
        tls_cert: crt_path,
        tls_key: key_path,
        client_ca: pki.path("ca.crt"),
        sa_public_keys: vec![pki.path("sa.pub")],
        sa_signing_key: pki.path("sa.key"),
        etcd_prefix: "/registry".into(),
        port: None,
    };
    // Tied to this (the test's) thread; it stops when `server` drops.
    let server = e2e::start_apiserver(opts).expect("a second kube-apiserver");
    let user = format!("    token: {}\n", id.token);
    let named = format!("{}    tls-server-name: api.auth.e2e\n", trusted(&server.url, &pki.ca_crt));
    assert_ok(&status(&kubeconfig(dir.path(), "named", &named, &user), &id.namespace), "tls-server-name");
    // Dialling 127.0.0.1 without it: the certificate does not name that address.
    let unnamed = kubeconfig(dir.path(), "unnamed", &trusted(&server.url, &pki.ca_crt), &user);
    let line = one_line_error(&status(&unnamed, &id.namespace), "no tls-server-name");
    assert!(line.contains(&server.url) && line.contains(r#"certificate not valid for name "127.0.0.1""#), "{line}");
    drop(server);
}

#[tokio::test]
async fn the_oidc_auth_provider_sends_its_id_token_and_says_what_to_use_without_one() {
    let cp = ControlPlane::shared();
    let id = identity(cp).await;
    let dir = tempfile::tempdir().unwrap();
    let cluster = trusted(&cp.apiserver_url, &cp.pki().ca_crt);
    // A valid id-token (the API server takes the JWT as a bearer token), as kubectl sends it.
    let oidc = |id_token: Option<&str>| {
        let mut user = String::from(
            "    auth-provider:\n      name: oidc\n      config:\n        client-id: kubectl\n        idp-issuer-url: https://issuer.invalid\n",
        );
        if let Some(t) = id_token {
            user.push_str(&format!("        id-token: {t}\n"));
        }
        user
    };
    assert_ok(&status(&kubeconfig(dir.path(), "oidc", &cluster, &oidc(Some(&id.token))), &id.namespace), "oidc id-token");
    // No id-token: one line naming the context and what to use instead.
    let none = kubeconfig(dir.path(), "oidc-none", &cluster, &oidc(None));
    let line = one_line_error(&status(&none, &id.namespace), "oidc without id-token");
    assert_eq!(
        line,
        format!(
            "error: kubeconfig {}: context \"auth\": the oidc auth-provider has no id-token, and kubectl-pki does not refresh OIDC tokens: \
             run any kubectl command with this context first (kubectl refreshes it into the kubeconfig), or use an exec credential plugin \
             such as kubelogin (kubectl oidc-login)",
            none.display()
        )
    );
}
