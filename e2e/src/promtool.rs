//! Prometheus's own linter on the exporter's output: `promtool check
//! metrics` reads a scrape on stdin and names every problem (names, units,
//! types, help), as Prometheus's maintainers define them.

use std::io::Write;
use std::process::{Command, Stdio};

/// Fails the test with promtool's words when it finds a problem.
pub fn check_metrics(text: &str) {
    let promtool = crate::binaries::promtool().expect("promtool, built from the Prometheus Go module");
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {}\n{said}", out.status);
}
