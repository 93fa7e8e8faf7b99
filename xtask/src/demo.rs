//! `cargo xtask demo`: the main job end to end on the local control plane:
//! a Cozystack-shaped Kamaji tenant (served by the Kamaji stand-in), then
//! `kubectl pki status` found through kubectl's plugin discovery.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo, cluster, run_cmd};

const NAMESPACE: &str = "tenant-root";
const TENANT: &str = "kubernetes-demo";

pub fn run(_args: &[String]) -> Result<()> {
    eprintln!(
        "demo: [1/4] local control plane (the first run builds etcd, kube-apiserver, kube-controller-manager, \
         kube-scheduler and kwok from Go modules: ~8 min on 2 cores; later runs reuse target/e2e-bin)"
    );
    let kubeconfig = cluster::up()?;
    eprintln!("demo: [2/4] building kubectl-pki and the Kamaji stand-in");
    run_cmd(cargo().args(["build", "--quiet", "-p", "kubectl-pki", "-p", "e2e", "--bins"]))?;
    let bin_dir = e2e::target_dir().join("debug");

    eprintln!("demo: [3/4] Kamaji stand-in and tenant {NAMESPACE}/{TENANT}");
    let standin = bin_dir.join("kamaji-standin");
    if !cluster::tracks("kamaji-standin") {
        let log = cluster::dir().join("logs").join("kamaji-standin.log");
        let mut cmd = Command::new(&standin);
        cmd.arg("--kubeconfig").arg(&kubeconfig).args(["--seed", &format!("{NAMESPACE}/{TENANT}")]);
        let child = e2e::process::spawn(cmd, &log, e2e::process::Lifetime::Detached)?;
        cluster::track("kamaji-standin", child.id(), &standin)?;
    }
    wait_tenant_ready(&kubeconfig, Duration::from_secs(120))?;

    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    eprintln!("demo: [4/4] kubectl pki status --tenant {TENANT} -n {NAMESPACE} (via kubectl's plugin discovery)\n");
    let status = Command::new("kubectl")
        .args(["pki", "status", "--tenant", TENANT, "-n", NAMESPACE])
        .env("PATH", path)
        .env("KUBECONFIG", &kubeconfig)
        .status()
        .context("run kubectl pki status")?;
    // 3 and 4 are verdicts (expiring, expired), not failures of the demo.
    match status.code() {
        Some(0 | 3 | 4) => {}
        _ => bail!("kubectl pki status failed ({status})"),
    }
    eprintln!(
        "\ndemo: exit code {} (0 ok, 3 expiring, 4 expired/invalid). The cluster keeps running:\n  \
         KUBECONFIG={} kubectl pki status -A\n  cargo xtask cluster down   # stops everything",
        status.code().unwrap_or(-1),
        kubeconfig.display()
    );
    Ok(())
}

fn wait_tenant_ready(kubeconfig: &std::path::Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "tenantcontrolplanes.kamaji.clastix.io", TENANT, "-n", NAMESPACE])
            .args(["-o", "jsonpath={.status.kubernetesResources.version.status}"])
            .output()?;
        last = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if last == "Ready" {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("tenant {NAMESPACE}/{TENANT} not Ready after {timeout:?} (status {last:?}); see {}", cluster::dir().join("logs/kamaji-standin.log").display())
}
