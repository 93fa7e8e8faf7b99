//! `status --all-contexts` and `--context` repeated against the real local
//! control plane: two contexts of the same cluster in two namespaces (one
//! with a certificate expiring in 10 days, one with an expired one), a
//! context pointing at a dead server, and one at a server that accepts and
//! never answers. Every context's rows come into one document, each named
//! by its context; an unreadable context is a row with its error.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use e2e::ControlPlane;
use e2e::fleet::fleet_kubeconfig;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kubectl_pki_testkit::{PAST, dated, in_days};
use serde_json::Value;

/// A TLS secret whose certificate ends `days` from now (negative: already ended).
fn tls(name: &str, days: i64) -> Secret {
    let cert = dated(name, false, PAST, in_days(days), None);
    let mut s = Secret::default();
    s.metadata.name = Some(name.into());
    s.type_ = Some("kubernetes.io/tls".into());
    s.data = Some(BTreeMap::from([
        ("tls.crt".to_string(), ByteString(cert.pem.into_bytes())),
        ("tls.key".to_string(), ByteString(b"not read".to_vec())),
    ]));
    s
}

fn pki(kubeconfig: &Path) -> Command {
    let mut cmd = Command::new(e2e::pki_bin());
    cmd.env_remove("KUBECONFIG").env("NO_COLOR", "1").arg("--kubeconfig").arg(kubeconfig).arg("status");
    cmd
}

fn run_json(cmd: &mut Command) -> (i32, Value, String) {
    let out = cmd.args(["-o", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}; stdout: {}; stderr: {stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), v, stderr)
}

/// `(context, name) -> status` of every row.
fn rows(v: &Value) -> BTreeMap<(String, String), (String, String)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            ((s(&i["context"]), s(&i["name"])), (s(&i["status"]), s(&i["message"])))
        })
        .collect()
}

/// A port that accepts connections and never answers.
fn silent_server() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test]
async fn every_context_is_read_into_one_document_and_a_dead_one_is_a_row_with_its_error() {
    let cp = ControlPlane::shared();
    let (a, b) = (cp.namespace("fleet-a").await, cp.namespace("fleet-b").await);
    let client = cp.client().await;
    Api::<Secret>::namespaced(client.clone(), &a.name).create(&PostParams::default(), &tls("soon", 10)).await.unwrap();
    Api::<Secret>::namespaced(client, &b.name).create(&PostParams::default(), &tls("fine", 300)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("alpha", &a.name), ("beta", &b.name)], &[("gone", "https://127.0.0.1:1".into())]);

    let (code, v, stderr) = run_json(pki(&kc).arg("--all-contexts"));
    assert_eq!(code, 1, "a context that could not be read is an error: {stderr}");
    assert!(stderr.contains("error: 1 of 3 context(s) could not be read: gone"), "{stderr}");
    let rows = rows(&v);
    let get = |context: &str, name: &str| {
        rows.get(&(context.to_string(), name.to_string())).unwrap_or_else(|| panic!("no row {context} {name} in {:#?}", rows.keys()))
    };
    assert_eq!(get("alpha", &format!("{}/soon/tls.crt", a.name)).0, "expiring");
    assert_eq!(get("beta", &format!("{}/fine/tls.crt", b.name)).0, "ok");
    let (status, message) = get("gone", "context/gone");
    assert_eq!(status, "unreachable");
    assert!(message.contains("127.0.0.1:1"), "{message}");
    // Each namespace's secret only under its own context.
    assert!(!rows.keys().any(|(c, n)| c == "beta" && n.contains("/soon/")), "{:#?}", rows.keys());
    // Both contexts read the same served chain: a row each.
    assert_eq!(rows.keys().filter(|(_, n)| n.starts_with("https://")).count(), 2, "{:#?}", rows.keys());
    let contexts: Vec<(String, String)> = v["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["outcome"].as_str().unwrap_or("-").to_owned()))
        .collect();
    assert_eq!(contexts, [("alpha".into(), "warning".into()), ("beta".into(), "ok".into()), ("gone".into(), "-".into())]);
    assert!(v["contexts"][2]["error"].as_str().unwrap().contains("cannot reach"), "{}", v["contexts"][2]);
    assert!(v["contexts"][0]["server"].as_str().unwrap().starts_with("https://127.0.0.1:"));

    // The table: CONTEXT first, every context's rows, worst first.
    let out = pki(&kc).arg("--all-contexts").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header[..2], ["CONTEXT", "NAME"], "{text}");
    let first = lines.next().unwrap();
    assert!(first.starts_with("alpha ") && first.contains("/soon/tls.crt"), "the expiring row first:\n{text}");
    assert!(text.lines().any(|l| l.starts_with("gone ") && l.contains("unreachable")), "{text}");
}

#[tokio::test]
async fn contexts_given_by_name_exit_with_the_worst_and_critical_beats_an_unreadable_one() {
    let cp = ControlPlane::shared();
    let (a, b) = (cp.namespace("fleet-c").await, cp.namespace("fleet-d").await);
    let client = cp.client().await;
    Api::<Secret>::namespaced(client.clone(), &a.name).create(&PostParams::default(), &tls("soon", 10)).await.unwrap();
    Api::<Secret>::namespaced(client, &b.name).create(&PostParams::default(), &tls("over", -2)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("alpha", &a.name), ("beta", &b.name)], &[("gone", "https://127.0.0.1:1".into())]);

    // Only the contexts asked for, in the order asked.
    let (code, v, stderr) = run_json(pki(&kc).args(["--context", "beta", "--context", "alpha"]));
    assert_eq!(code, 4, "an expired certificate in beta: {stderr}");
    let names: Vec<&str> = v["contexts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["beta", "alpha"]);
    let rows = rows(&v);
    assert_eq!(rows[&("beta".to_string(), format!("{}/over/tls.crt", b.name))].0, "expired");

    // An expired certificate says more than a context that could not be read: exit 4, and the error is on the table.
    let (code, v, stderr) = run_json(pki(&kc).args(["--context", "beta", "--context", "gone"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(rows_of(&v).contains(&("gone".into(), "unreachable".into())), "{v}");

    // A name the kubeconfig does not have is that context's row, not the end of the run.
    let (code, v, _) = run_json(pki(&kc).args(["--context", "alpha", "--context", "nowhere"]));
    assert_eq!(code, 1);
    let nowhere = &v["contexts"][1];
    assert_eq!(nowhere["name"], "nowhere");
    assert!(nowhere["error"].as_str().unwrap().contains("nowhere"), "{nowhere}");
}

fn rows_of(v: &Value) -> Vec<(String, String)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["context"].as_str().unwrap().to_owned(), i["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_server_that_never_answers_ends_at_its_context_deadline_and_the_others_are_printed() {
    let cp = ControlPlane::shared();
    let a = cp.namespace("fleet-e").await;
    Api::<Secret>::namespaced(cp.client().await, &a.name).create(&PostParams::default(), &tls("fine", 300)).await.unwrap();
    let (_listener, url) = silent_server();
    let dir = tempfile::tempdir().unwrap();
    let kc = fleet_kubeconfig(dir.path(), &[("alpha", &a.name)], &[("stalled", url)]);
    // No request limit: only the context's own deadline ends it.
    let (code, v, stderr) = run_json(pki(&kc).args(["--all-contexts", "--request-timeout", "0", "--context-timeout", "2s"]));
    assert_eq!(code, 1, "{stderr}");
    let rows = rows(&v);
    let (status, message) = &rows[&("stalled".to_string(), "context/stalled".to_string())];
    assert_eq!(status, "unreachable");
    assert_eq!(message, "not read within 2s (--context-timeout)");
    assert_eq!(rows[&("alpha".to_string(), format!("{}/fine/tls.crt", a.name))].0, "ok");
}
