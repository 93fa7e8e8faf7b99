//! `kubectl pki exporter` as the tests run it: a process on a free port,
//! scraped over plain HTTP, stopped with SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(90);

/// The exporter process, stopped with SIGTERM when dropped.
pub struct Exporter {
    child: Child,
    pub port: u16,
    log: tempfile::NamedTempFile,
}

impl Exporter {
    pub fn start(kubeconfig: &Path, args: &[&str]) -> Exporter {
        let port = crate::process::free_port().expect("free port");
        let mut cmd = Command::new(crate::pki_bin());
        cmd.arg("--kubeconfig").arg(kubeconfig);
        cmd.args(["exporter", "--listen", &format!("127.0.0.1:{port}"), "--log-format", "json"]).args(args);
        Exporter::launch(cmd, port)
    }

    /// Starts `cmd` (a `kubectl-pki exporter` listening on 127.0.0.1:`port`) and waits
    /// until it is ready; one that exits first fails the test with its log.
    pub fn launch(mut cmd: Command, port: u16) -> Exporter {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log.reopen().expect("log")).spawn().expect("start the exporter");
        let mut e = Exporter { child, port, log };
        let deadline = Instant::now() + WAIT;
        while e.get("/readyz").is_none_or(|(code, _)| code != 200) {
            if let Ok(Some(status)) = e.child.try_wait() {
                panic!("the exporter {cmd:?} exited ({status}) before it was ready:\n{}", e.logs());
            }
            assert!(Instant::now() < deadline, "not ready after {WAIT:?}; exporter log:\n{}", e.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
        e
    }

    /// `(status code, body)`, or `None` when nothing answers.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let code = out.split(' ').nth(1)?.parse().ok()?;
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        let chunked = head.lines().any(|l| l.eq_ignore_ascii_case("transfer-encoding: chunked"));
        Some((code, if chunked { dechunk(body)? } else { body.to_owned() }))
    }

    pub fn metrics(&self) -> String {
        match self.get("/metrics") {
            Some((200, body)) => body,
            other => panic!("scrape failed: {other:?}\n{}", self.logs()),
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    pub fn until(&self, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done() {
            assert!(Instant::now() < deadline, "no {what} after {WAIT:?}; exporter log:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops it as Kubernetes does and returns its exit code.
    pub fn stop(mut self) -> Option<i32> {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP/1.1 chunked body (how a streamed scrape arrives), decoded.
fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// The lines of family `name` whose labels contain every `needle`.
pub fn series<'a>(metrics: &'a str, name: &str, needles: &[&str]) -> Vec<&'a str> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .collect()
}

pub fn value(line: &str) -> f64 {
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}
