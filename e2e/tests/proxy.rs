//! Cluster commands through proxies as kubectl picks them, against the
//! real local control plane: a CONNECT proxy in the test counts tunnels.
//! The cluster's `proxy-url` is always used; `HTTPS_PROXY` is not used
//! for a loopback server (as Go's `httpproxy` decides, kubectl too) nor
//! for one `NO_PROXY` covers, and being set no longer breaks the client.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use e2e::ControlPlane;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CONNECT proxy on 127.0.0.1 that tunnels to 127.0.0.1 only; it stops
/// when the runtime drops with the test.
struct Proxy {
    rt: tokio::runtime::Runtime,
    port: u16,
    tunnels: Arc<AtomicUsize>,
}

impl Proxy {
    fn start() -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let seen = tunnels.clone();
        rt.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(tunnel(conn, seen.clone()));
            }
        });
        Proxy { rt, port, tunnels }
    }

    fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Nothing outlives the test: the accept loop and the tunnels end here.
        let rt = std::mem::replace(&mut self.rt, tokio::runtime::Builder::new_current_thread().build().unwrap());
        rt.shutdown_background();
    }
}

async fn tunnel(mut client: TcpStream, seen: Arc<AtomicUsize>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(n) if n > 0 && head.len() + n <= 8192 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let Some(target) = head.strip_prefix("CONNECT ").and_then(|r| r.split(' ').next()).filter(|t| t.starts_with("127.0.0.1:")) else {
        let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    seen.fetch_add(1, Ordering::SeqCst);
    if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// `status --source secrets -n kube-system` with `env`; asserts it succeeds.
fn status(kubeconfig: &Path, env: &[(&str, String)]) {
    let mut cmd = std::process::Command::new(e2e::pki_bin());
    cmd.env_remove("KUBECONFIG").env("NO_COLOR", "1");
    for var in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = cmd
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["status", "--source", "secrets", "-n", "kube-system", "-o", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "env {env:?}: {stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn the_kubeconfig_proxy_url_is_used_even_when_no_proxy_names_the_server() {
    let cp = ControlPlane::shared();
    let proxy = Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(cp.kubeconfig()).unwrap();
    let server_line = original.lines().find(|l| l.trim_start().starts_with("server: ")).expect("a server line");
    let indent = &server_line[..server_line.len() - server_line.trim_start().len()];
    let with_proxy = original.replacen(server_line, &format!("{server_line}\n{indent}proxy-url: http://127.0.0.1:{}", proxy.port), 1);
    let kubeconfig = dir.path().join("proxied.kubeconfig");
    e2e::pki::write_private(&kubeconfig, &with_proxy).unwrap();

    status(&kubeconfig, &[]);
    let first = proxy.tunnels();
    assert!(first >= 1, "proxy-url saw no CONNECT");
    // kubectl applies NO_PROXY to the environment's proxy only.
    status(&kubeconfig, &[("NO_PROXY", "127.0.0.1".into())]);
    assert!(proxy.tunnels() > first, "proxy-url is used whatever NO_PROXY says");
}

#[test]
fn https_proxy_is_honoured_as_kubectl_does_and_breaks_nothing() {
    let cp = ControlPlane::shared();
    let proxy = Proxy::start();
    let url = format!("http://127.0.0.1:{}", proxy.port);
    // A loopback API server is reached directly, as kubectl reaches it.
    status(cp.kubeconfig(), &[("HTTPS_PROXY", url.clone())]);
    status(cp.kubeconfig(), &[("https_proxy", url.clone())]);
    // NO_PROXY naming the server: direct too.
    status(cp.kubeconfig(), &[("HTTPS_PROXY", url.clone()), ("NO_PROXY", "127.0.0.1".into())]);
    // A proxy that would fail every request is not used either.
    status(cp.kubeconfig(), &[("HTTPS_PROXY", "http://127.0.0.1:9".into()), ("NO_PROXY", "example.com".into())]);
    assert_eq!(proxy.tunnels(), 0, "the environment's proxy is not used for a loopback server");
}
