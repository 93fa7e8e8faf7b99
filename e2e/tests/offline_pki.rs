//! Proof that the offline k3s PKI is real: a kube-apiserver runs on the
//! client CA, serving certificate and service-account keys that
//! `kubectl-pki k3s ...` made, and kubectl talks to it with client
//! certificates issued from those CAs. Rotations keep old credentials
//! working: service-account tokens signed by the old key after
//! `rotate-sa-key`, and old client certificates and CA bundles after
//! `cross-sign`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use e2e::kubectl::run as kubectl;
use e2e::{ApiServer, ApiServerOptions, start_apiserver};

fn pki(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(e2e::pki_bin()).args(args).current_dir(dir).output().expect("run kubectl-pki");
    assert!(
        out.status.success(),
        "kubectl-pki {args:?} exited {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// Issues a leaf with the hidden `k3s issue-leaf` from `ca` (a `.pem` and
/// `.key` pair) into `<name>.crt`/`<name>.key`.
fn issue(dir: &Path, ca: &str, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    let mut args = vec!["k3s", "issue-leaf", "--ca"];
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    args.extend([ca_pem.as_str(), "--ca-key", ca_key.as_str(), "--cert-out", crt.as_str(), "--key-out", key.as_str()]);
    args.extend(extra);
    pki(dir, &args);
    (dir.join(crt), dir.join(key))
}

/// A kubeconfig trusting `ca_bundle`, authenticating with a client cert.
fn kubeconfig(dir: &Path, name: &str, server: &ApiServer, ca_bundle: &Path, crt: &Path, key: &Path) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, e2e::pki::kubeconfig(&server.url, &read(ca_bundle), &read(crt), &read(key), "offline")).unwrap();
    path
}

/// Who the API server says the caller is: with the kubeconfig's client
/// certificate, or with only a bearer token (a certificate would win).
fn whoami(kubeconfig: &Path, token: Option<&str>) -> Result<String, String> {
    let args = ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"];
    let Some(token) = token else { return kubectl(kubeconfig, &args) };
    let text = read(kubeconfig);
    let server = text.lines().find_map(|l| l.trim().strip_prefix("server: ")).expect("server").to_string();
    let ca = text.lines().find_map(|l| l.trim().strip_prefix("certificate-authority-data: ")).expect("ca").to_string();
    let ca = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(ca).expect("base64 CA")).expect("PEM");
    let token_only = kubeconfig.with_extension("token");
    let yaml = kubectl_pki_testkit::token_kubeconfig(&server, &ca, token);
    std::fs::write(&token_only, yaml).unwrap();
    kubectl(&token_only, &args)
}

fn serve(dir: &Path, tls_chain: &[&Path], key: &Path, client_ca: &Path, sa_key: &Path, prefix: &str) -> ApiServer {
    let chain = dir.join(format!("serving-chain-{}.crt", e2e::controlplane::unique_suffix()));
    std::fs::write(&chain, tls_chain.iter().map(read).collect::<String>()).unwrap();
    start_apiserver(ApiServerOptions {
        tls_cert: chain,
        tls_key: key.to_path_buf(),
        client_ca: client_ca.to_path_buf(),
        sa_public_keys: vec![sa_key.to_path_buf()],
        sa_signing_key: sa_key.to_path_buf(),
        etcd_prefix: prefix.to_string(),
        port: None,
    })
    .expect("start kube-apiserver")
}

#[test]
fn k3s_pki_runs_a_real_apiserver_through_both_rotations() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let prefix = format!("/offline-pki-{}", e2e::controlplane::unique_suffix());
    pki(d, &["k3s", "generate-ca", "--data-dir", "k3s"]);
    let tls = d.join("k3s/server/tls");

    let (srv_crt, srv_key) = issue(d, "k3s/server/tls/server-ca", "apiserver", &["--cn", "kube-apiserver", "--san", "127.0.0.1,localhost"]);
    let (admin_crt, admin_key) = issue(d, "k3s/server/tls/client-ca", "admin", &["--cn", "admin", "--org", "system:masters"]);
    let (nobody_crt, nobody_key) = issue(d, "k3s/server/tls/client-ca", "nobody", &["--cn", "nobody"]);

    // 1. The generated CAs and service key run an API server.
    let first = serve(d, &[&srv_crt, &tls.join("server-ca.pem")], &srv_key, &tls.join("client-ca.crt"), &tls.join("service.key"), &prefix);
    let admin = kubeconfig(d, "admin.kubeconfig", &first, &tls.join("server-ca.crt"), &admin_crt, &admin_key);
    let me = whoami(&admin, None).expect("admin whoami");
    assert!(me.starts_with("admin ") && me.contains("system:masters"), "{me}");
    assert_eq!(kubectl(&admin, &["get", "namespace", "default", "-o", "name"]).unwrap().trim(), "namespace/default");
    // Authenticated but not authorized: the client CA really maps identities.
    let nobody =
        kubectl(&kubeconfig(d, "nobody.kubeconfig", &first, &tls.join("server-ca.crt"), &nobody_crt, &nobody_key), &["get", "namespaces"]);
    assert!(nobody.as_ref().is_err_and(|e| e.contains("User \"nobody\" cannot list")), "{nobody:?}");
    // A certificate from a CA the server does not trust is refused.
    let (stranger_crt, stranger_key) =
        issue(d, "k3s/server/tls/request-header-ca", "stranger", &["--cn", "admin", "--org", "system:masters"]);
    let stranger = kubectl(
        &kubeconfig(d, "stranger.kubeconfig", &first, &tls.join("server-ca.crt"), &stranger_crt, &stranger_key),
        &["get", "namespaces"],
    );
    assert!(stranger.as_ref().is_err_and(|e| e.contains("Unauthorized")), "{stranger:?}");

    kubectl(&admin, &["create", "serviceaccount", "robot", "-n", "default"]).expect("create serviceaccount");
    let old_token = kubectl(&admin, &["create", "token", "robot", "-n", "default", "--duration=1h"]).expect("token").trim().to_string();
    assert_eq!(whoami(&admin, Some(&old_token)).unwrap().split(' ').next(), Some("system:serviceaccount:default:robot"));
    drop(first);

    // 2. rotate-sa-key: the new key signs, tokens of the old key still verify.
    pki(d, &["k3s", "rotate-sa-key", "--data-dir", "k3s", "--out", "sa"]);
    pki(d, &["k3s", "check", "--data-dir", "sa", "--current", "k3s"]);
    let sa_key = d.join("sa/tls/service.key");
    let second = serve(d, &[&srv_crt, &tls.join("server-ca.pem")], &srv_key, &tls.join("client-ca.crt"), &sa_key, &prefix);
    let admin = kubeconfig(d, "admin2.kubeconfig", &second, &tls.join("server-ca.crt"), &admin_crt, &admin_key);
    assert!(whoami(&admin, Some(&old_token)).unwrap().starts_with("system:serviceaccount:default:robot"));
    let new_token = kubectl(&admin, &["create", "token", "robot", "-n", "default", "--duration=1h"]).expect("token").trim().to_string();
    assert!(whoami(&admin, Some(&new_token)).unwrap().starts_with("system:serviceaccount:default:robot"));
    drop(second);
    // Control: with the new key alone, the old token is rejected, so the
    // appended key is what kept it valid.
    let first_key_only: String = {
        let text = read(&sa_key);
        let end = "-----END RSA PRIVATE KEY-----\n";
        text[..text.find(end).expect("first key") + end.len()].to_string()
    };
    std::fs::write(d.join("new-only.key"), first_key_only).unwrap();
    let third = serve(d, &[&srv_crt, &tls.join("server-ca.pem")], &srv_key, &tls.join("client-ca.crt"), &d.join("new-only.key"), &prefix);
    let admin = kubeconfig(d, "admin3.kubeconfig", &third, &tls.join("server-ca.crt"), &admin_crt, &admin_key);
    assert!(whoami(&admin, Some(&old_token)).is_err_and(|e| e.contains("Unauthorized")));
    assert!(whoami(&admin, Some(&new_token)).is_ok());
    drop(third);

    // 3. cross-sign: the server moves to the new CAs; old client
    // certificates and old CA bundles keep working, new ones work too.
    pki(d, &["k3s", "cross-sign", "--data-dir", "k3s", "--out", "rotate"]);
    pki(d, &["k3s", "check", "--data-dir", "rotate", "--current", "k3s"]);
    let new = d.join("rotate/tls");
    let (srv2_crt, srv2_key) = issue(d, "rotate/tls/server-ca", "apiserver2", &["--cn", "kube-apiserver", "--san", "127.0.0.1"]);
    let (admin2_crt, admin2_key) = issue(d, "rotate/tls/client-ca", "admin-new", &["--cn", "admin-new", "--org", "system:masters"]);
    // Served chain: leaf, new intermediate, the cross-signed root (for old clients).
    let fourth = serve(
        d,
        &[&srv2_crt, &new.join("server-ca.pem"), &new.join("server-root-xsigned.pem")],
        &srv2_key,
        &new.join("client-ca.crt"),
        &new.join("service.key"),
        &prefix,
    );
    let old_view = kubeconfig(d, "old-client.kubeconfig", &fourth, &tls.join("server-ca.crt"), &admin_crt, &admin_key);
    assert!(whoami(&old_view, None).expect("old CA bundle and old client cert").starts_with("admin "));
    let new_view = kubeconfig(d, "new-client.kubeconfig", &fourth, &new.join("server-ca.crt"), &admin2_crt, &admin2_key);
    assert!(whoami(&new_view, None).expect("new CA bundle and new client cert").starts_with("admin-new "));
    // Service-account tokens from before both rotations still verify.
    assert!(whoami(&new_view, Some(&old_token)).unwrap().starts_with("system:serviceaccount:default:robot"));
}
