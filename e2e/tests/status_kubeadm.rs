//! `status --kubeadm-dir` against a layout real kubeadm made: kubeadm
//! v1.36.3, built from the Kubernetes module like the control plane, runs
//! `kubeadm init phase certs all` and `kubeadm init phase kubeconfig all`
//! into a temporary directory. The API server certificate is then aged by
//! re-signing it with the directory's CA to expire in 10 days (openssl),
//! and kubelet.conf is pointed at a client certificate file, as it is
//! after kubelet's bootstrap. Every file is named as `kubeadm certs
//! check-expiration` names it and every chain verifies against the
//! directory's CAs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// A kubeadm control-plane directory, as kubeadm itself writes it.
fn kubeadm_layout(dir: &Path) {
    let kubeadm = e2e::binaries::kubeadm().expect("kubeadm built from its Go module");
    let version = e2e::binaries::KUBERNETES_VERSION;
    let common = ["--kubernetes-version", version, "--control-plane-endpoint", "10.96.0.1:6443"];
    run(
        Command::new(&kubeadm)
            .args(["init", "phase", "certs", "all", "--cert-dir"])
            .arg(dir.join("pki"))
            .args(common)
            .args(["--apiserver-advertise-address", "10.96.0.1"]),
        "kubeadm init phase certs all",
    );
    run(
        Command::new(&kubeadm)
            .args(["init", "phase", "kubeconfig", "all", "--cert-dir"])
            .arg(dir.join("pki"))
            .arg("--kubeconfig-dir")
            .arg(dir)
            .args(common)
            .args(["--apiserver-advertise-address", "10.96.0.1", "--node-name", "cp-1"]),
        "kubeadm init phase kubeconfig all",
    );
}

/// Re-signs `pki/apiserver.crt` with the directory's CA to expire in `days`.
fn age_apiserver(dir: &Path, days: u32) {
    let pki = dir.join("pki");
    let (request, resigned) = (pki.join("apiserver.csr"), pki.join("apiserver.resigned"));
    // The certificate back into a request (same subject, key and extensions), then signed anew.
    run(
        Command::new("openssl")
            .args(["x509", "-x509toreq", "-copy_extensions", "copyall", "-in"])
            .arg(pki.join("apiserver.crt"))
            .arg("-signkey")
            .arg(pki.join("apiserver.key"))
            .arg("-out")
            .arg(&request),
        "openssl x509 -x509toreq",
    );
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-copy_extensions", "copyall", "-in"])
            .arg(&request)
            .arg("-CA")
            .arg(pki.join("ca.crt"))
            .arg("-CAkey")
            .arg(pki.join("ca.key"))
            .args(["-days", &days.to_string(), "-out"])
            .arg(&resigned),
        "openssl x509 -req",
    );
    std::fs::rename(&resigned, pki.join("apiserver.crt")).unwrap();
}

/// kubelet.conf with its client certificate in a file, as after bootstrap.
fn kubelet_client_in_a_file(dir: &Path) {
    let path = dir.join("kubelet.conf");
    let mut kc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let user = &mut kc["users"][0]["user"];
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
    };
    let pem = [b64(&user["client-certificate-data"]), b64(&user["client-key-data"])].concat();
    let file = dir.join("kubelet-client-current.pem");
    e2e::pki::write_private(&file, &String::from_utf8(pem).unwrap()).unwrap();
    let obj = user.as_object_mut().unwrap();
    obj.remove("client-certificate-data");
    obj.remove("client-key-data");
    obj.insert("client-certificate".into(), file.display().to_string().into());
    obj.insert("client-key".into(), file.display().to_string().into());
    e2e::pki::write_private(&path, &serde_saphyr::to_string(&kc).unwrap()).unwrap();
}

#[test]
fn a_layout_made_by_real_kubeadm_is_named_and_checked_as_kubeadm_does() {
    let dir = tempfile::tempdir().unwrap();
    kubeadm_layout(dir.path());
    age_apiserver(dir.path(), 10);
    kubelet_client_in_a_file(dir.path());

    let out = Command::new(e2e::pki_bin())
        .args(["status", "--kubeadm-dir"])
        .arg(dir.path())
        .args(["-o", "json"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run kubectl-pki");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "the aged API server certificate is expiring: {stdout}\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    let items = doc["items"].as_array().expect("items");
    assert!(items.iter().all(|i| i["source"] == "kubeadm"), "{stdout}");
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    let base = |n: &str| n.split(':').next().unwrap_or(n).to_string();
    let mut seen: Vec<String> = names.iter().map(|n| base(n)).collect();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "admin.conf",
            "super-admin.conf",
            "controller-manager.conf",
            "scheduler.conf",
            "kubelet.conf",
            "apiserver",
            "apiserver-etcd-client",
            "apiserver-kubelet-client",
            "ca",
            "front-proxy-ca",
            "front-proxy-client",
            "etcd-ca",
            "etcd-healthcheck-client",
            "etcd-peer",
            "etcd-server",
        ],
        "{names:?}"
    );
    for item in items {
        // The CAs are the roots the others verify against.
        let want = if item["certificate"]["isCa"] == true { "self-signed" } else { "verified" };
        assert_eq!(item["chain"]["verdict"], want, "every chain verifies against the directory's CAs: {item}");
    }
    let by = |n: &str| items.iter().find(|i| i["name"].as_str() == Some(n)).unwrap_or_else(|| panic!("no row {n}: {names:?}"));
    let apiserver = by("apiserver");
    assert_eq!(apiserver["status"], "expiring", "{apiserver}");
    assert!(apiserver["residual"].as_str().is_some_and(|r| r == "9d" || r == "10d"), "{apiserver}");
    assert_eq!(by("ca")["status"], "ok");
    let kubelet: Vec<&Value> = items.iter().filter(|i| base(i["name"].as_str().unwrap()) == "kubelet.conf").collect();
    let from_file = kubelet.iter().any(|i| i["location"]["path"].as_str().is_some_and(|p| p.ends_with("kubelet-client-current.pem")));
    assert!(from_file, "kubelet.conf's client certificate is read from the file it names: {kubelet:?}");
}
