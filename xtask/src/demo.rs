//! `cargo xtask demo`: the main job end to end on the local control plane:
//! a Cozystack-shaped Kamaji tenant (served by the Kamaji stand-in, which also runs the
//! tenant's kube-apiserver from its secrets, so the served certificate is checked for real),
//! then `kubectl pki status` found through kubectl's plugin discovery.

use std::path::Path;
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

    eprintln!("demo: [3/4] Kamaji stand-in, tenant {NAMESPACE}/{TENANT} and its API server");
    let standin = bin_dir.join("kamaji-standin");
    if !cluster::tracks("kamaji-standin") {
        let log = cluster::dir().join("logs").join("kamaji-standin.log");
        let mut cmd = Command::new(&standin);
        cmd.arg("--kubeconfig").arg(&kubeconfig).args(["--seed", &format!("{NAMESPACE}/{TENANT}")]);
        // Its kube-apiserver is the stand-in's child: `cluster down` stops both.
        cmd.arg("--tenant-api").arg(cluster::dir());
        let child = e2e::process::spawn(cmd, &log, e2e::process::Lifetime::Detached)?;
        cluster::track("kamaji-standin", child.id(), &standin)?;
    }
    wait_tenant_ready(&kubeconfig, Duration::from_secs(120))?;
    wait_tenant_api(&kubeconfig, Duration::from_secs(120))?;

    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())))?;
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

fn wait_tenant_ready(kubeconfig: &Path, timeout: Duration) -> Result<()> {
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
    bail!(
        "tenant {NAMESPACE}/{TENANT} not Ready after {timeout:?} (status {last:?}); see {}",
        cluster::dir().join("logs/kamaji-standin.log").display()
    )
}

/// The stand-in starts the tenant's API once the tenant is Ready; `status` would find it
/// `unreachable` before it answers.
fn wait_tenant_api(kubeconfig: &Path, timeout: Duration) -> Result<()> {
    use kube::api::{Api, DynamicObject};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let client = e2e::controlplane::client_for(kubeconfig).await?;
        let tcps: Api<DynamicObject> = Api::namespaced_with(client, NAMESPACE, &e2e::kamaji::api_resource());
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no endpoint annotation");
        loop {
            let tcp = tcps.get(TENANT).await.with_context(|| format!("reading TenantControlPlane {NAMESPACE}/{TENANT}"))?;
            let url = tcp.metadata.annotations.and_then(|a| a.get(e2e::kamaji::names::ANNOTATION_ENDPOINT).cloned());
            if let Some(url) = url {
                match e2e::controlplane::wait_ready_anonymous(&url, Duration::from_secs(2)).await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = format!("{url}: {e:#}"),
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "the API of tenant {NAMESPACE}/{TENANT} not ready after {timeout:?} ({last}); see {} \
                     (a stand-in started without --tenant-api: cargo xtask cluster down, then rerun)",
                    cluster::dir().join("logs/kamaji-standin.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}
