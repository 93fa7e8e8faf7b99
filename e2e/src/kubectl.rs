//! kubectl (built from its Go module, [`crate::binaries::kubectl`]) as the
//! e2e tests run it: one kubeconfig, a 30 s request timeout, stdout on
//! success and stderr on failure.

use std::path::Path;
use std::process::{Command, Output};

fn command(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(crate::binaries::kubectl().expect("kubectl"));
    cmd.arg("--kubeconfig").arg(kubeconfig).arg("--request-timeout=30s").args(args);
    cmd
}

fn result(out: Output) -> Result<String, String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `kubectl --kubeconfig KUBECONFIG ARGS`: stdout, or stderr if it failed.
pub fn run(kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    result(command(kubeconfig, args).output().expect("run kubectl"))
}

/// [`run`] without blocking the runtime.
pub async fn run_async(kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    result(tokio::process::Command::from(command(kubeconfig, args)).output().await.expect("run kubectl"))
}
