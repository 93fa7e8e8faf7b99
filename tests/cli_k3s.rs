//! `kubectl-pki k3s ...` from the command line, on temporary data
//! directories. Chains are checked with `openssl verify`; a "default" k3s
//! data directory (self-signed EC CAs, SEC1 keys, PKCS#1 service key) is
//! made with the openssl CLI the way k3s lays it out.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command as Std;

use assert_cmd::Command;
use common::openssl;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use sha2::{Digest, Sha256};

const TYPES: [&str; 5] = ["client", "server", "request-header", "etcd/peer", "etcd/server"];

fn pki() -> Command {
    Command::cargo_bin("kubectl-pki").unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `openssl verify` of `cert` to the trust anchor `ca_file`, with
/// `untrusted` supplying intermediates.
fn verify(dir: &Path, ca_file: &str, untrusted: Option<&str>, cert: &str) {
    let mut args = vec!["verify", "-CAfile", ca_file];
    if let Some(u) = untrusted {
        args.extend(["-untrusted", u]);
    }
    args.push(cert);
    assert!(openssl(dir, &args).contains(": OK"), "{args:?}");
}

/// A k3s data dir as k3s makes it on first start: one self-signed EC CA per
/// type, SEC1 keys, an RSA service key, a token.
fn default_k3s(data: &Path) {
    let tls = data.join("server/tls");
    fs::create_dir_all(tls.join("etcd")).unwrap();
    for t in TYPES {
        let key = format!("{t}-ca.key");
        openssl(&tls, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &key]);
        let subj = format!("/CN=k3s-{}-ca@1700000000", t.replace('/', "-"));
        openssl(&tls, &["req", "-x509", "-new", "-key", &key, "-subj", &subj, "-days", "3650", "-out", &format!("{t}-ca.crt")]);
    }
    openssl(&tls, &["genrsa", "-traditional", "-out", "service.key", "2048"]);
    fs::write(data.join("server/token"), "K10oldhash::server:supersecret\n").unwrap();
    fs::write(data.join("server/agent-token"), "K10oldhash::node:agentsecret\n").unwrap();
}

#[test]
fn generate_ca_makes_the_custom_ca_layout() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s");
    pki().args(["k3s", "generate-ca", "--data-dir"]).arg(&data).assert().success().stdout(contains("server-ca.crt"));
    let tls = data.join("server/tls");
    for f in ["root-ca.pem", "root-ca.crt", "intermediate-ca.pem", "intermediate-ca.crt"] {
        assert_eq!(mode(&tls.join(f)), 0o644, "{f}");
    }
    for f in ["root-ca.key", "intermediate-ca.key", "service.key"] {
        assert_eq!(mode(&tls.join(f)), 0o600, "{f}");
    }
    let root = openssl(&tls, &["x509", "-in", "root-ca.pem", "-noout", "-text"]);
    assert!(root.contains("Public-Key: (4096 bit)") && root.contains("CN = k3s-root-ca@"), "{root}");
    openssl(&tls, &["rsa", "-in", "service.key", "-noout", "-check"]);
    assert!(fs::read_to_string(tls.join("service.key")).unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    for t in TYPES {
        assert_eq!(mode(&tls.join(format!("{t}-ca.key"))), 0o600);
        let text = openssl(&tls, &["x509", "-in", &format!("{t}-ca.pem"), "-noout", "-text"]);
        assert!(text.contains("prime256v1") && text.contains("CA:TRUE") && text.contains("Certificate Sign"), "{text}");
        openssl(&tls, &["ec", "-in", &format!("{t}-ca.key"), "-noout", "-check"]);
        verify(&tls, "root-ca.pem", Some("intermediate-ca.pem"), &format!("{t}-ca.pem"));
        // The .crt bundle alone carries the chain.
        verify(&tls, "root-ca.pem", Some(&format!("{t}-ca.crt")), &format!("{t}-ca.pem"));
    }
    pki().args(["k3s", "check", "--data-dir"]).arg(&data).assert().success().stdout(contains("FAIL").not());
}

#[test]
fn generate_ca_never_overwrites_ca_data_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s");
    default_k3s(&data);
    let before = fs::read(data.join("server/tls/server-ca.crt")).unwrap();
    pki().args(["k3s", "generate-ca", "--data-dir"]).arg(&data).assert().code(1).stderr(contains("--out").and(contains("client-ca.crt")));
    assert_eq!(fs::read(data.join("server/tls/server-ca.crt")).unwrap(), before);
    assert!(!data.join("server/tls/root-ca.pem").exists());
    // Staged elsewhere, with the key in use appended to the new service.key.
    let out = dir.path().join("staged");
    pki().args(["k3s", "generate-ca", "--data-dir"]).arg(&data).arg("--out").arg(&out).assert().success();
    let service = fs::read_to_string(out.join("tls/service.key")).unwrap();
    let old = fs::read_to_string(data.join("server/tls/service.key")).unwrap();
    assert!(service.ends_with(&old) && service.len() > old.len());
}

#[test]
fn generate_ca_appends_an_existing_service_key_before_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("server/tls");
    fs::create_dir_all(&tls).unwrap();
    openssl(&tls, &["genrsa", "-traditional", "-out", "service.key", "2048"]);
    let old = fs::read_to_string(tls.join("service.key")).unwrap();
    pki().args(["k3s", "generate-ca", "--data-dir"]).arg(dir.path()).assert().success();
    let new = fs::read_to_string(tls.join("service.key")).unwrap();
    assert_eq!(new.matches("BEGIN RSA PRIVATE KEY").count(), 2);
    assert!(new.ends_with(&old));
    assert_eq!(mode(&tls.join("service.key")), 0o600);
}

#[test]
fn generate_ca_uses_a_given_root_or_intermediate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(d, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "corp-root.key"]);
    openssl(
        d,
        &["req", "-x509", "-new", "-key", "corp-root.key", "-subj", "/O=Corp/CN=Corp Root", "-days", "3650", "-out", "corp-root.pem"],
    );
    pki()
        .args(["k3s", "generate-ca", "--data-dir", "a", "--root-ca", "corp-root.pem", "--root-key", "corp-root.key"])
        .current_dir(d)
        .assert()
        .success();
    let tls = d.join("a/server/tls");
    assert!(!tls.join("root-ca.key").exists(), "a given root key is not copied");
    assert!(tls.join("intermediate-ca.key").exists());
    verify(&tls, "../../../corp-root.pem", Some("server-ca.crt"), "server-ca.pem");

    // Root cert only, existing intermediate: no key is generated or copied.
    pki()
        .args(["k3s", "generate-ca", "--data-dir", "b", "--root-ca", "corp-root.pem"])
        .args(["--intermediate-ca", "a/server/tls/intermediate-ca.pem", "--intermediate-key", "a/server/tls/intermediate-ca.key"])
        .current_dir(d)
        .assert()
        .success();
    let tls_b = d.join("b/server/tls");
    assert!(!tls_b.join("root-ca.key").exists() && !tls_b.join("intermediate-ca.key").exists());
    verify(&tls_b, "root-ca.pem", Some("etcd/peer-ca.crt"), "etcd/peer-ca.pem");

    // A root without its key and without an intermediate cannot sign anything.
    pki()
        .args(["k3s", "generate-ca", "--data-dir", "c", "--root-ca", "corp-root.pem"])
        .current_dir(d)
        .assert()
        .code(1)
        .stderr(contains("--root-key"));
    assert!(!d.join("c").exists());
    // A key that is not the root's.
    openssl(d, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "wrong.key"]);
    pki()
        .args(["k3s", "generate-ca", "--data-dir", "e", "--root-ca", "corp-root.pem", "--root-key", "wrong.key"])
        .current_dir(d)
        .assert()
        .code(1)
        .stderr(contains("does not match"));
    assert!(!d.join("e").exists());
}

/// Cross-signing a default k3s data dir gives bundles that both openssl
/// and the k3s checks accept, and the token hash k3s computes.
#[test]
fn cross_sign_default_cas() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s");
    default_k3s(&data);
    let out = dir.path().join("rotate");
    let stdout = pki()
        .args(["k3s", "cross-sign", "--show-token", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("k3s certificate rotate-ca --path="))
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8(stdout).unwrap();
    let tls = out.join("tls");
    let old = data.join("server/tls");
    for t in TYPES {
        let bundle = fs::read_to_string(tls.join(format!("{t}-ca.crt"))).unwrap();
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 4, "{t}: intermediate, root, cross-signed root, old CA");
        assert!(bundle.ends_with(&fs::read_to_string(old.join(format!("{t}-ca.crt"))).unwrap()));
        assert_eq!(mode(&tls.join(format!("{t}-ca.key"))), 0o600);
        let new_ca = format!("{}/{t}-ca.pem", tls.display());
        // Old trust anchor, through the cross-signed root (openssl stops at
        // the untrusted self-signed root if offered the whole bundle, so
        // it gets the cross-signed copy alone; Go, as k3s uses it, backtracks).
        let xsigned = format!("{}/{t}-root-xsigned.pem", tls.display());
        verify(dir.path(), &format!("{}/{t}-ca.crt", old.display()), Some(&xsigned), &new_ca);
        // New trust anchor.
        verify(dir.path(), &format!("{}/{t}-root-ssigned.pem", tls.display()), None, &new_ca);
        verify(dir.path(), &format!("{}/{t}-ca.crt", old.display()), None, &format!("{}/{t}-root-xsigned.pem", tls.display()));
    }
    // k3s hashes the DER of the root the server CA chains to.
    let der =
        Std::new("openssl").args(["x509", "-in", "server-root-ssigned.pem", "-outform", "DER"]).current_dir(&tls).output().unwrap().stdout;
    let hash: String = Sha256::digest(&der).iter().map(|b| format!("{b:02x}")).collect();
    assert!(stdout.contains(&format!("K10{hash}::server:supersecret")), "{stdout}");
    assert!(stdout.contains(&format!("K10{hash}::node:agentsecret")), "{stdout}");

    let service = fs::read_to_string(tls.join("service.key")).unwrap();
    assert!(service.ends_with(&fs::read_to_string(old.join("service.key")).unwrap()));
    pki().args(["k3s", "check", "--data-dir"]).arg(&out).arg("--current").arg(&data).assert().success().stdout(contains("FAIL").not());
    // Nothing already staged is overwritten.
    pki().args(["k3s", "cross-sign", "--data-dir"]).arg(&data).arg("--out").arg(&out).assert().code(1).stderr(contains("already exists"));
}

/// Rotating twice: the second rotation signs with the first rotation's
/// root (kept second in the key file), as rotate-default-ca-certs.sh does.
#[test]
fn cross_sign_custom_cas_and_rotate_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki().args(["k3s", "generate-ca", "--data-dir", "k3s"]).current_dir(d).assert().success();
    pki()
        .args(["-o", "json", "k3s", "cross-sign", "--show-token", "--data-dir", "k3s", "--out", "r1", "--token", "plainsecret"])
        .current_dir(d)
        .assert()
        .success()
        .stdout(contains("\"serverCaHash\"").and(contains("::server:plainsecret")));
    pki().args(["k3s", "check", "--data-dir", "r1", "--current", "k3s"]).current_dir(d).assert().success();
    // New intermediate -> cross-signed root -> old leaf CA -> old intermediate -> old root.
    let path = [
        fs::read_to_string(d.join("r1/tls/client-root-xsigned.pem")).unwrap(),
        fs::read_to_string(d.join("k3s/server/tls/client-ca.crt")).unwrap(),
    ]
    .concat();
    fs::write(d.join("r1-client-path.pem"), path).unwrap();
    verify(d, "k3s/server/tls/root-ca.pem", Some("r1-client-path.pem"), "r1/tls/client-ca.pem");

    // Make r1 the data in use and rotate again.
    fs::create_dir_all(d.join("k3s2/server")).unwrap();
    fs::rename(d.join("r1/tls"), d.join("k3s2/server/tls")).unwrap();
    pki().args(["k3s", "cross-sign", "--data-dir", "k3s2", "--out", "r2"]).current_dir(d).assert().success();
    let bundle = fs::read_to_string(d.join("r2/tls/server-ca.crt")).unwrap();
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 4, "signed by the previous self-signed root");
    pki().args(["k3s", "check", "--data-dir", "r2", "--current", "k3s2"]).current_dir(d).assert().success();
    verify(d, "k3s2/server/tls/server-root-ssigned.pem", Some("r2/tls/server-root-xsigned.pem"), "r2/tls/server-ca.pem");
}

/// Without --show-token the join tokens' secrets are printed nowhere, in
/// the table nor in JSON; the new CA hash and the token users are.
#[test]
fn cross_sign_masks_token_secrets_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s");
    default_k3s(&data);
    for (format, out) in [("table", "r-table"), ("json", "r-json")] {
        let output = pki()
            .args(["-o", format, "k3s", "cross-sign", "--data-dir"])
            .arg(&data)
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(!all.contains("supersecret") && !all.contains("agentsecret"), "{all}");
        let hash = token_hash(&dir.path().join(out).join("tls"));
        assert!(all.contains(&format!("K10{hash}::server:****")), "{all}");
        assert!(all.contains(&format!("K10{hash}::node:****")), "{all}");
    }
    let output = pki()
        .args(["-o", "json", "k3s", "cross-sign", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("r-given"))
        .args(["--token", "K10oldhash::server:givensecret"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("givensecret") && stdout.contains("::server:****"), "{stdout}");
}

/// The hash k3s computes from a staged server CA: the DER of its root.
fn token_hash(tls: &Path) -> String {
    let der =
        Std::new("openssl").args(["x509", "-in", "server-root-ssigned.pem", "-outform", "DER"]).current_dir(tls).output().unwrap().stdout;
    Sha256::digest(&der).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn rotate_sa_key_keeps_old_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s");
    default_k3s(&data);
    let out = dir.path().join("sa");
    pki().args(["k3s", "rotate-sa-key", "--data-dir"]).arg(&data).arg("--out").arg(&out).assert().success();
    let new = fs::read_to_string(out.join("tls/service.key")).unwrap();
    let old = fs::read_to_string(data.join("server/tls/service.key")).unwrap();
    assert_eq!(new.matches("PRIVATE KEY-----\n").count() / 2, 2);
    assert!(new.ends_with(&old));
    assert_eq!(mode(&out.join("tls/service.key")), 0o600);
    // openssl reads the first (new) key.
    openssl(&out.join("tls"), &["rsa", "-in", "service.key", "-noout", "-check"]);
    // k3s would fill in the unstaged CAs from the current (single, self-signed)
    // ones and reject them; `check` says so rather than hiding it.
    pki()
        .args(["k3s", "check", "--data-dir"])
        .arg(&out)
        .arg("--current")
        .arg(&data)
        .assert()
        .code(4)
        .stdout(contains("including the current signing key").and(contains("not staged: k3s keeps the current file")));
    pki()
        .args(["k3s", "rotate-sa-key", "--data-dir"])
        .arg(dir.path().join("missing"))
        .arg("--out")
        .arg(dir.path().join("x"))
        .assert()
        .code(1);
    assert!(!dir.path().join("x").exists());
}

#[test]
fn check_fails_on_what_k3s_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current");
    default_k3s(&current);
    // A fresh self-signed set, not cross-signed, with an unrelated service key.
    let staged = dir.path().join("staged");
    default_k3s(&staged);
    // And one key that does not match its certificate.
    fs::copy(current.join("server/tls/client-ca.key"), staged.join("server/tls/client-ca.key")).unwrap();
    let out = pki()
        .args(["-o", "json", "k3s", "check", "--data-dir"])
        .arg(&staged)
        .arg("--current")
        .arg(&current)
        .assert()
        .code(4)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["passed"], false);
    let fails: Vec<(String, String)> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "fail")
        .map(|c| (c["check"].as_str().unwrap().to_string(), c["file"].as_str().unwrap().to_string()))
        .collect();
    assert!(fails.contains(&("bundle".into(), "server-ca.crt".into())), "{fails:?}");
    assert!(fails.contains(&("chain".into(), "server-ca.crt".into())), "{fails:?}");
    assert!(fails.contains(&("key pair".into(), "client-ca.key".into())), "{fails:?}");
    assert!(!fails.contains(&("key pair".into(), "server-ca.key".into())), "{fails:?}");
    assert!(fails.contains(&("service key".into(), "service.key".into())), "{fails:?}");
}

#[test]
fn cross_sign_bad_inputs_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("k3s");
    default_k3s(&data);
    // The server CA key replaced by an unrelated one.
    openssl(&data.join("server/tls"), &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server-ca.key"]);
    let out = dir.path().join("rotate");
    pki()
        .args(["k3s", "cross-sign", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(contains("server-ca.key").and(contains("no key here matches")));
    assert!(!out.exists());
    pki()
        .args(["k3s", "cross-sign", "--data-dir"])
        .arg(dir.path().join("nothing"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(contains("does not exist"));
    assert!(!out.exists());
}

#[test]
fn issue_leaf_makes_client_and_serving_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pki().args(["k3s", "generate-ca", "--data-dir", "k3s"]).current_dir(d).assert().success();
    let tls = "k3s/server/tls";
    pki()
        .args(["k3s", "issue-leaf", "--ca", &format!("{tls}/client-ca.pem"), "--ca-key", &format!("{tls}/client-ca.key")])
        .args(["--cn", "admin", "--org", "system:masters", "--org", "ops", "--cert-out", "admin.crt", "--key-out", "admin.key"])
        .current_dir(d)
        .assert()
        .success();
    verify(d, &format!("{tls}/root-ca.pem"), Some(&format!("{tls}/client-ca.crt")), "admin.crt");
    let subject = openssl(d, &["x509", "-in", "admin.crt", "-noout", "-subject"]);
    assert!(subject.contains("O = system:masters, O = ops, CN = admin"), "{subject}");
    assert_eq!(mode(&d.join("admin.key")), 0o600);
    pki()
        .args(["k3s", "issue-leaf", "--ca", &format!("{tls}/server-ca.pem"), "--ca-key", &format!("{tls}/server-ca.key")])
        .args(["--cn", "kube-apiserver", "--san", "127.0.0.1,localhost", "--cert-out", "srv.crt", "--key-out", "srv.key"])
        .current_dir(d)
        .assert()
        .success();
    let out = openssl(
        d,
        &[
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            &format!("{tls}/root-ca.pem"),
            "-untrusted",
            &format!("{tls}/server-ca.crt"),
            "srv.crt",
        ],
    );
    assert!(out.contains("OK"));
    assert!(openssl(d, &["x509", "-in", "srv.crt", "-noout", "-ext", "subjectAltName"]).contains("IP Address:127.0.0.1"));
}
