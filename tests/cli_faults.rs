//! Broken environments, without a cluster: a kubeconfig that does not parse
//! or is missing, a context that does not exist, a server where nothing
//! listens, one that hangs up, one that speaks plain HTTP. Every cluster
//! command must end with exit 1 and exactly one `error:` line, no panic.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The commands that contact a cluster, as a user types them.
const CLUSTER_COMMANDS: &[&[&str]] = &[
    &["status"],
    &["status", "-A", "--source", "secrets"],
    &["status", "--source", "server"],
    &["rotate-ca", "kubernetes-demo"],
    &["restarts", "--since", "2026-01-01T00:00:00Z"],
];

fn pki(kubeconfig: &Path, home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kubectl-pki").expect("kubectl-pki is built");
    cmd.env_remove("KUBECONFIG")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env("RUST_BACKTRACE", "1")
        .arg("--kubeconfig")
        .arg(kubeconfig);
    cmd
}

/// Asserts exit 1 and one `error:` line without panic or backtrace;
/// returns the line.
fn fails_with_one_line(out: &std::process::Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{what}: exit code; stderr: {err}");
    assert!(err.starts_with("error: "), "{what}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{what}: {err}");
    assert!(out.stdout.is_empty(), "{what}: nothing on stdout: {}", String::from_utf8_lossy(&out.stdout));
    err
}

fn run_all(kubeconfig: &Path, home: &Path, extra: &[&str]) -> Vec<(String, String)> {
    CLUSTER_COMMANDS
        .iter()
        .map(|args| {
            let out = pki(kubeconfig, home).args(extra).args(*args).timeout(std::time::Duration::from_secs(60)).output().unwrap();
            let what = format!("{extra:?} {args:?}");
            let line = fails_with_one_line(&out, &what);
            (what, line)
        })
        .collect()
}

/// A kubeconfig with a client certificate (any: nothing gets that far),
/// context `ctx`.
fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let cert = kubectl_pki_testkit::with_params(kubectl_pki_testkit::named("fault-test", false), None);
    let path = dir.join("kubeconfig");
    std::fs::write(&path, kubectl_pki_testkit::kubeconfig(server, &cert.pem, &cert.pem, &cert.key_pem, "ctx")).unwrap();
    path
}

/// A port on which nothing listens (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn kubeconfig_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    for (name, text) in [
        ("garbage", "{{{ this is not yaml: [".to_string()),
        ("wrong shape", "clusters: 42\nusers: nope\n".to_string()),
        ("binary", String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x30, 0x82]).into_owned()),
    ] {
        std::fs::write(&path, &text).unwrap();
        for (what, line) in run_all(&path, dir.path(), &[]) {
            assert!(line.contains("kubeconfig") && line.contains(&path.display().to_string()), "{name} {what}: {line}");
        }
    }
}

/// YAML errors quote the lines around the fault: a kubeconfig broken next
/// to its private key must not print the key.
#[test]
fn kubeconfig_parse_errors_never_quote_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    for text in [
        "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    client-key-data: SECRETKEYMATERIAL: [\n",
        "apiVersion: v1\nclusters: \"SECRETKEYMATERIAL\"\n",
        "users:\n- name: u\n  user: {client-key-data: SECRETKEYMATERIAL\n",
    ] {
        std::fs::write(&path, text).unwrap();
        for (what, line) in run_all(&path, dir.path(), &[]) {
            assert!(!line.contains("SECRETKEYMATERIAL"), "{what}: quotes the document: {line}");
            assert!(line.contains("line "), "{what}: says where: {line}");
        }
    }
    // Key material that is not base64 or not a key: named, never shown.
    for (field, value) in [("client-key-data", "SECRETKEYMATERIAL!!"), ("client-key-data", "U0VDUkVUS0VZTUFURVJJQUw=")] {
        let text = std::fs::read_to_string(kubeconfig(dir.path(), "https://127.0.0.1:1")).unwrap();
        let start = text.find(field).unwrap() + field.len() + 2;
        let end = start + text[start..].find('\n').unwrap();
        std::fs::write(&path, format!("{}{value}{}", &text[..start], &text[end..])).unwrap();
        for (what, line) in run_all(&path, dir.path(), &["--context", "ctx"]) {
            assert!(!line.contains("SECRETKEYMATERIAL") && !line.contains(value), "{what}: {line}");
        }
    }
}

#[test]
fn kubeconfig_that_is_missing_or_empty() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    for (what, line) in run_all(&missing, dir.path(), &[]) {
        assert!(line.contains(&missing.display().to_string()), "{what}: {line}");
    }
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    for (what, line) in run_all(&empty, dir.path(), &[]) {
        assert!(line.contains(&empty.display().to_string()), "{what}: {line}");
    }
}

#[test]
fn context_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig(dir.path(), &format!("https://127.0.0.1:{}", closed_port()));
    for (what, line) in run_all(&path, dir.path(), &["--context", "nope"]) {
        assert!(line.contains("\"nope\"") || line.contains(" nope"), "{what}: names the context: {line}");
        assert!(line.contains(&path.display().to_string()), "{what}: names the kubeconfig: {line}");
    }
}

#[test]
fn unreachable_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://127.0.0.1:{}", closed_port());
    let path = kubeconfig(dir.path(), &url);
    for (what, line) in run_all(&path, dir.path(), &[]) {
        assert!(line.contains("cannot reach") && line.contains(&url), "{what}: {line}");
    }
}

/// A TCP server that runs `serve` on every connection until the test ends.
fn fake_server(serve: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    url
}

#[test]
fn server_that_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake_server(drop);
    let path = kubeconfig(dir.path(), &url);
    for (what, line) in run_all(&path, dir.path(), &[]) {
        assert!(line.contains(&url), "{what}: names the server: {line}");
    }
}

#[test]
fn server_that_speaks_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake_server(|mut conn| {
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let path = kubeconfig(dir.path(), &url);
    for (what, line) in run_all(&path, dir.path(), &[]) {
        assert!(line.contains(&url), "{what}: names the server: {line}");
    }
}
