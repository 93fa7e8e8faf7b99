//! `kubectl-pki talos config new` from the command line. The Talos CA is
//! made with the openssl CLI (Ed25519, O=talos, as Talos makes it); the
//! written client certificate is checked with openssl, not with our code.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use base64::Engine;
use common::openssl;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

fn pki() -> Command {
    Command::cargo_bin("kubectl-pki").unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An Ed25519 Talos OS CA (`ca.crt`, `ca.key`) in `dir`.
fn talos_ca(dir: &Path) {
    openssl(dir, &["genpkey", "-algorithm", "ed25519", "-out", "ca.key"]);
    openssl(dir, &["req", "-x509", "-new", "-key", "ca.key", "-subj", "/O=talos", "-days", "3650", "-out", "ca.crt"]);
}

struct Ctx {
    ca: String,
    crt: String,
    key: String,
    endpoints: Vec<String>,
    nodes: Vec<String>,
}

/// Reads a talosconfig and writes its decoded PEMs next to it.
fn read_talosconfig(path: &Path) -> (String, Ctx) {
    let doc: serde_json::Value = serde_saphyr::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let name = doc["context"].as_str().unwrap().to_string();
    let c = &doc["contexts"][&name];
    let dec = |k: &str| String::from_utf8(base64::engine::general_purpose::STANDARD.decode(c[k].as_str().unwrap()).unwrap()).unwrap();
    let list = |k: &str| c[k].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default();
    (name, Ctx { ca: dec("ca"), crt: dec("crt"), key: dec("key"), endpoints: list("endpoints"), nodes: list("nodes") })
}

/// The client certificate verifies against the CA, carries the roles and
/// the client usages, and the key is its key (all by openssl).
fn assert_client_cert(dir: &Path, ctx: &Ctx, roles: &[&str]) {
    fs::write(dir.join("client.crt"), &ctx.crt).unwrap();
    fs::write(dir.join("client.key"), &ctx.key).unwrap();
    fs::write(dir.join("embedded-ca.crt"), &ctx.ca).unwrap();
    assert!(openssl(dir, &["verify", "-CAfile", "embedded-ca.crt", "client.crt"]).contains("client.crt: OK"));
    let text = openssl(dir, &["x509", "-in", "client.crt", "-noout", "-text"]);
    let subject = openssl(dir, &["x509", "-in", "client.crt", "-noout", "-subject"]);
    for role in roles {
        assert!(subject.contains(&format!("O = {role}")), "{subject}");
    }
    assert!(text.contains("Public Key Algorithm: ED25519"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");
    let from_key = openssl(dir, &["pkey", "-in", "client.key", "-pubout"]);
    let from_cert = openssl(dir, &["x509", "-in", "client.crt", "-noout", "-pubkey"]);
    assert_eq!(from_key, from_cert);
}

#[test]
fn writes_a_talosconfig_from_ca_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    talos_ca(d);
    pki()
        .current_dir(d)
        .args(["talos", "config", "new", "--ca", "ca.crt", "--ca-key", "ca.key", "--roles", "os:reader,os:etcd:backup"])
        .args(["--crt-ttl", "24h", "--endpoints", "CP1,CP2", "--nodes", "10.5.0.2", "--context-name", "prod", "tc"])
        .assert()
        .success()
        .stdout(contains("prod").and(contains("os:reader,os:etcd:backup")));
    let path = d.join("tc");
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let (name, ctx) = read_talosconfig(&path);
    assert_eq!(name, "prod");
    assert_eq!(ctx.endpoints, vec!["CP1", "CP2"]);
    assert_eq!(ctx.nodes, vec!["10.5.0.2"]);
    assert_eq!(ctx.ca.trim(), fs::read_to_string(d.join("ca.crt")).unwrap().trim());
    assert_client_cert(d, &ctx, &["os:reader", "os:etcd:backup"]);
    // 24h: openssl's -checkend says it expires within 25h but not within 23h.
    let valid_for = |hours: u64| {
        let secs = (hours * 3600).to_string();
        let args = ["x509", "-in", "client.crt", "-noout", "-checkend", secs.as_str()];
        Std::new("openssl").current_dir(d).args(args).output().unwrap().status.success()
    };
    assert!(valid_for(23));
    assert!(!valid_for(25));
}

#[test]
fn reads_the_ca_from_a_secrets_bundle_and_json_output_has_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    talos_ca(d);
    let crt = fs::read(d.join("ca.crt")).unwrap();
    let key = fs::read(d.join("ca.key")).unwrap();
    let yaml = format!(
        "cluster:\n  id: x\n  secret: y\nsecrets:\n  bootstraptoken: abc.def\ntrustdinfo:\n  token: t\ncerts:\n  etcd:\n    crt: {e}\n    key: {e}\n  os:\n    crt: {}\n    key: {}\n",
        b64(&crt),
        b64(&key),
        e = b64(b"unused")
    );
    fs::write(d.join("secrets.yaml"), yaml).unwrap();
    let out = pki()
        .current_dir(d)
        .args(["-o", "json", "talos", "config", "new", "--from-secrets", "secrets.yaml", "--roles", "os:operator", "--out", "tc"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["roles"][0], "os:operator");
    assert!(!String::from_utf8_lossy(&out).contains("PRIVATE"));
    let (name, ctx) = read_talosconfig(&d.join("tc"));
    assert_eq!(name, "talos");
    assert_client_cert(d, &ctx, &["os:operator"]);
}

#[test]
fn reads_machine_ca_with_talos_key_label() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    talos_ca(d);
    let crt = fs::read(d.join("ca.crt")).unwrap();
    // Talos labels its PKCS#8 Ed25519 keys "ED25519 PRIVATE KEY".
    let key = fs::read_to_string(d.join("ca.key")).unwrap().replace("PRIVATE KEY", "ED25519 PRIVATE KEY");
    let yaml = format!(
        "version: v1alpha1\nmachine:\n  type: controlplane\n  token: abc\n  ca:\n    crt: {}\n    key: {}\ncluster:\n  clusterName: c\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n",
        b64(&crt),
        b64(key.as_bytes())
    );
    fs::write(d.join("controlplane.yaml"), yaml).unwrap();
    pki()
        .current_dir(d)
        .args(["talos", "config", "new", "--from-machine-config", "controlplane.yaml", "--endpoints", "CP1"])
        .assert()
        .success();
    let (_, ctx) = read_talosconfig(&d.join("talosconfig"));
    assert_client_cert(d, &ctx, &["os:admin"]);
}

#[test]
fn refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    talos_ca(d);
    fs::write(d.join("tc"), "keep me").unwrap();
    let args = ["talos", "config", "new", "--ca", "ca.crt", "--ca-key", "ca.key", "tc"];
    pki().current_dir(d).args(args).assert().code(1).stderr(contains("already exists"));
    assert_eq!(fs::read_to_string(d.join("tc")).unwrap(), "keep me");
    pki().current_dir(d).args(args).arg("--force").assert().success();
    let (_, ctx) = read_talosconfig(&d.join("tc"));
    assert_client_cert(d, &ctx, &["os:admin"]);
}

/// Runs a failing command and checks it wrote nothing.
fn fails_writing_nothing(d: &Path, args: &[&str], message: &str) {
    pki().current_dir(d).args(args).arg("out-tc").assert().code(1).stderr(contains("error: ").and(contains(message)));
    assert!(!d.join("out-tc").exists(), "{args:?} wrote a file");
    let leftovers: Vec<PathBuf> =
        fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().contains("out-tc")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn bad_inputs_are_explained_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    talos_ca(d);
    // A key from another CA.
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "other.key"]);
    fails_writing_nothing(d, &["talos", "config", "new", "--ca", "ca.crt", "--ca-key", "other.key"], "does not match");
    // An RSA CA (e.g. the Kubernetes CA of an old cluster) and an ECDSA one.
    openssl(d, &["genrsa", "-out", "rsa.key", "2048"]);
    openssl(d, &["req", "-x509", "-new", "-key", "rsa.key", "-subj", "/O=kubernetes", "-days", "30", "-out", "rsa.crt"]);
    fails_writing_nothing(
        d,
        &["talos", "config", "new", "--ca", "rsa.crt", "--ca-key", "rsa.key"],
        "must be Ed25519, this is an RSA-2048 key",
    );
    openssl(d, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key"]);
    openssl(d, &["req", "-x509", "-new", "-key", "ec.key", "-subj", "/O=etcd", "-days", "30", "-out", "ec.crt"]);
    fails_writing_nothing(
        d,
        &["talos", "config", "new", "--ca", "ec.crt", "--ca-key", "ec.key"],
        "must be Ed25519, this is an ECDSA P-256 key",
    );
    // Missing file, unreadable YAML, no CA in it, unknown role, bad TTL.
    fails_writing_nothing(d, &["talos", "config", "new", "--ca", "nope.crt", "--ca-key", "ca.key"], "nope.crt");
    fs::write(d.join("broken.yaml"), "certs: {os: [unclosed\n").unwrap();
    fails_writing_nothing(d, &["talos", "config", "new", "--from-secrets", "broken.yaml"], "cannot parse YAML");
    fs::write(d.join("empty.yaml"), "cluster:\n  id: x\n").unwrap();
    fails_writing_nothing(d, &["talos", "config", "new", "--from-secrets", "empty.yaml"], "certs.os is missing");
    fails_writing_nothing(d, &["talos", "config", "new", "--from-machine-config", "empty.yaml"], ".machine.ca is missing");
    fails_writing_nothing(
        d,
        &["talos", "config", "new", "--ca", "ca.crt", "--ca-key", "ca.key", "--roles", "os:root"],
        "unknown Talos role",
    );
    fails_writing_nothing(d, &["talos", "config", "new", "--ca", "ca.crt", "--ca-key", "ca.key", "--crt-ttl", "soon"], "--crt-ttl");
}

#[test]
fn a_ca_source_is_required() {
    let dir = tempfile::tempdir().unwrap();
    pki().current_dir(dir.path()).args(["talos", "config", "new"]).assert().code(2);
}

/// A YAML syntax error next to secret values: stderr says which file, where
/// and why, and repeats no line of the input.
#[test]
fn yaml_errors_quote_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = "c2VjcmV0Ym94ZW5jcnlwdGlvbnNlY3JldHZhbHVl";
    let token = "abcdef.0123456789abcdef";
    let bundle = format!(
        "cluster:\n    id: x\n    secret: {secret}\nsecrets:\n    secretboxencryptionsecret: {secret}\ntrustdinfo:\n    token: {token}\n\ttoken2: {token}\ncerts:\n    os:\n        crt: AAAA\n        key: {secret}\n"
    );
    let machine = format!(
        "version: v1alpha1\nmachine:\n    token: {token}\n    ca:\n        crt: AAAA\n        key: {secret}\n    x: 1\n\tcluster: {secret}\n"
    );
    fs::write(d.join("secrets.yaml"), &bundle).unwrap();
    fs::write(d.join("controlplane.yaml"), &machine).unwrap();
    for (flag, file, input, at) in [
        ("--from-secrets", "secrets.yaml", &bundle, "line 7 column 12"),
        ("--from-machine-config", "controlplane.yaml", &machine, "line 7 column 8"),
    ] {
        let out = pki().current_dir(d).args(["talos", "config", "new", flag, file, "tc"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(file) && stderr.contains(at) && stderr.contains("found a tab"), "{stderr}");
        assert!(!stderr.contains(secret) && !stderr.contains(token), "{stderr}");
        for line in input.lines().map(str::trim).filter(|l| l.len() > 3) {
            assert!(!stderr.contains(line), "input line {line:?} on stderr: {stderr}");
        }
        assert!(!d.join("tc").exists());
    }
}
