//! Faults against the real local control plane: a client certificate that
//! expired or comes from another CA, a kubeconfig CA that does not match
//! the server, and an API server killed while `status` pages through its
//! secrets. Each must end with exit 1 and one `error:` line, no panic; an
//! expired client certificate is also reported by `status --source
//! kubeconfig` (exit 4), which needs no server.

mod faults_relay;

use std::path::{Path, PathBuf};

use e2e::{ApiServerOptions, ControlPlane};
use faults_relay::KillingRelay;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use kubectl_pki_testkit::{issue, kubeadm};
use rcgen::{Issuer, KeyPair};
use serde_json::Value;

fn run_pki(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(e2e::pki_bin())
        .env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("run kubectl-pki")
}

/// Exit 1, one `error:` line, no panic or backtrace; returns the line.
fn one_line_error(out: &std::process::Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{what}: exit code; stderr: {err}");
    assert!(err.starts_with("error: "), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{what}: {err}");
    eprintln!("{what}: {}", err.trim_end());
    err
}

/// A client certificate for the admin identity, signed by `issuer`, valid
/// from `from` to `to` (seconds relative to now).
fn client_cert(issuer: &Issuer<'_, KeyPair>, from: i64, to: i64) -> (String, String) {
    let mut p = kubeadm::client("e2e-admin", &["system:masters"]);
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now + time::Duration::seconds(from);
    p.not_after = now + time::Duration::seconds(to);
    let cert = issue(p, KeyPair::generate().unwrap(), Some(issuer)).unwrap();
    (cert.pem, cert.key_pem)
}

fn harness_issuer() -> Issuer<'static, KeyPair> {
    let pki = ControlPlane::shared().pki();
    Issuer::from_ca_cert_pem(&pki.ca_crt, KeyPair::from_pem(&pki.ca_key).unwrap()).unwrap()
}

fn write_kubeconfig(dir: &Path, server: &str, ca: &str, (cert, key): &(String, String)) -> PathBuf {
    let path = dir.join("kubeconfig");
    e2e::pki::write_private(&path, &e2e::pki::kubeconfig(server, ca, cert, key, "faults")).unwrap();
    path
}

const DAY: i64 = 86_400;

#[test]
fn expired_client_certificate() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().unwrap();
    let kc = write_kubeconfig(dir.path(), &cp.apiserver_url, &cp.pki().ca_crt, &client_cert(&harness_issuer(), -2 * DAY, -DAY));

    let line = one_line_error(&run_pki(&kc, &["status", "-A", "--source", "secrets"]), "secrets with an expired client cert");
    assert!(line.contains("Unauthorized") && line.contains("--source kubeconfig"), "says unauthorized and what to check: {line}");
    one_line_error(&run_pki(&kc, &["rotate-ca", "kubernetes-demo", "-n", "default"]), "rotate-ca with an expired client cert");

    // The kubeconfig source reads the certificate itself: expired, exit 4.
    let out = run_pki(&kc, &["status", "--source", "kubeconfig", "-o", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let client = v["items"].as_array().unwrap().iter().find(|i| i["name"] == "faults:client").expect("client row");
    assert_eq!(client["status"], "expired", "{client}");
    assert_eq!(client["chain"]["verdict"], "verified", "{client}");
}

#[test]
fn client_certificate_from_another_ca() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, ca_key) = e2e::pki::new_ca("some-other-ca").unwrap();
    let other = Issuer::from_ca_cert_pem(&ca_pem, KeyPair::from_pem(&ca_key).unwrap()).unwrap();
    let kc = write_kubeconfig(dir.path(), &cp.apiserver_url, &cp.pki().ca_crt, &client_cert(&other, -60, DAY));

    let line = one_line_error(&run_pki(&kc, &["status", "-A", "--source", "secrets"]), "client cert of another CA");
    assert!(line.contains("Unauthorized"), "{line}");
    // Offline, the certificate itself is fine: valid dates, not verifiable
    // against the kubeconfig's cluster CA.
    let out = run_pki(&kc, &["status", "--source", "kubeconfig", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let client = v["items"].as_array().unwrap().iter().find(|i| i["name"] == "faults:client").expect("client row");
    assert_ne!(client["chain"]["verdict"], "verified", "{client}");
}

#[test]
fn kubeconfig_ca_that_does_not_match_the_server() {
    let cp = ControlPlane::shared();
    let dir = tempfile::tempdir().unwrap();
    let (wrong_ca, _) = e2e::pki::new_ca("not-the-cluster-ca").unwrap();
    let kc = write_kubeconfig(dir.path(), &cp.apiserver_url, &wrong_ca, &client_cert(&harness_issuer(), -60, DAY));
    let line = one_line_error(&run_pki(&kc, &["status", "-A", "--source", "secrets"]), "wrong cluster CA");
    assert!(line.contains(&cp.apiserver_url), "names the server: {line}");
    assert!(line.to_lowercase().contains("certificate"), "says why: {line}");
}

#[test]
fn api_server_killed_while_paging() {
    let cp = ControlPlane::shared();
    let pki = cp.pki();
    let opts = ApiServerOptions::of_pki(pki, format!("/faults-{}", e2e::controlplane::unique_suffix()), None);
    // Dies with the thread that starts it: this test's thread.
    let server = e2e::start_apiserver(opts).expect("extra kube-apiserver");
    let dir = tempfile::tempdir().unwrap();
    let admin = (pki.admin_crt.clone(), pki.admin_key.clone());
    let direct = write_kubeconfig(dir.path(), &server.url, &pki.ca_crt, &admin);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(seed_secrets(&direct, pki));
    // All of it is readable while the server lives (60 rows)...
    let out = run_pki(&direct, &["status", "-n", "faults", "--source", "secrets", "--page-size", "5", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["items"].as_array().unwrap().len(), 60);

    // ...and the server dies after ~2 pages of a 12-page run.
    let upstream = server.port;
    let relay = KillingRelay::start(upstream, Box::new(|served| served >= 70 * 1024), Box::new(move || drop(server)));
    let via_relay = relay.url();
    let kc = dir.path().join("relay");
    e2e::pki::write_private(&kc, &e2e::pki::kubeconfig(&via_relay, &pki.ca_crt, &admin.0, &admin.1, "faults")).unwrap();
    let out = run_pki(&kc, &["status", "-n", "faults", "--source", "secrets", "--page-size", "5", "-o", "json"]);
    assert!(relay.killed(), "the server was killed during the run");
    let line = one_line_error(&out, "server killed mid-run");
    assert!(line.contains(&via_relay), "names the server: {line}");
    assert!(out.stdout.is_empty(), "no partial document on stdout");
}

/// 60 secrets of ~6 KiB in namespace `faults`: pages of 5 are ~30 KiB.
async fn seed_secrets(kubeconfig: &Path, pki: &e2e::Pki) {
    let client = e2e::controlplane::client_for(kubeconfig).await.unwrap();
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "faults"}})).unwrap();
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client, "faults");
    let data = [
        ("tls.crt", pki.apiserver_crt.as_str()),
        ("tls.key", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"),
        ("padding", &"x".repeat(5000)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
    .collect();
    let mut s = Secret { type_: Some("kubernetes.io/tls".into()), data: Some(data), ..Default::default() };
    for i in 0..60 {
        s.metadata.name = Some(format!("s{i:02}"));
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
}
