//! Which cluster the e2e tests run against: the local control plane (the
//! default, and what CI runs) or, where Docker exists, kind, k3d, a k3s
//! container, or any existing cluster.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Local,
    Existing,
    Kind,
    K3d,
    K3sTestcontainers,
}

/// Cluster name used by the kind and k3d providers (see `kind-configs/`).
pub const CLUSTER_NAME: &str = "kubectl-pki-e2e";

impl Provider {
    /// `E2E_PROVIDER=local|existing|kind|k3d|k3s-testcontainers`.
    pub fn from_env() -> Result<Provider> {
        match std::env::var("E2E_PROVIDER").unwrap_or_default().as_str() {
            "" | "local" => Ok(Provider::Local),
            "existing" => Ok(Provider::Existing),
            "kind" => Ok(Provider::Kind),
            "k3d" => Ok(Provider::K3d),
            "k3s-testcontainers" => Ok(Provider::K3sTestcontainers),
            other => bail!("E2E_PROVIDER={other:?}: expected local, existing, kind, k3d or k3s-testcontainers"),
        }
    }

    pub fn needs_docker(self) -> bool {
        matches!(self, Provider::Kind | Provider::K3d | Provider::K3sTestcontainers)
    }
}

/// Whether a Docker engine answers; the error says why not.
pub fn docker_available() -> Result<()> {
    let out = Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output();
    match out {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => bail!("no Docker engine: {}", String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("")),
        Err(e) => bail!("no docker client: {e}"),
    }
}

/// Creates (or reuses) the provider's cluster and returns a kubeconfig.
pub fn external_kubeconfig(provider: Provider) -> Result<PathBuf> {
    if provider.needs_docker() {
        docker_available().with_context(|| format!("E2E_PROVIDER={provider:?} needs Docker"))?;
    }
    let dir = crate::target_dir().join("e2e").join(format!("{provider:?}").to_lowercase());
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    match provider {
        Provider::Local => bail!("the local provider has no external kubeconfig"),
        Provider::Existing => {
            let kc = std::env::var_os("KUBECONFIG").context("E2E_PROVIDER=existing needs KUBECONFIG")?;
            return Ok(PathBuf::from(kc));
        }
        Provider::Kind => {
            let config = crate::repo_root().join("kind-configs/kind.yaml");
            let clusters = output(Command::new("kind").args(["get", "clusters"]))?;
            if !clusters.lines().any(|l| l.trim() == CLUSTER_NAME) {
                let mut create = Command::new("kind");
                create.args(["create", "cluster", "--name", CLUSTER_NAME, "--config"]).arg(&config);
                output(&mut create)?;
            }
            std::fs::write(&kubeconfig, output(Command::new("kind").args(["get", "kubeconfig", "--name", CLUSTER_NAME]))?)?;
        }
        Provider::K3d => {
            let config = crate::repo_root().join("kind-configs/k3d.yaml");
            let clusters = output(Command::new("k3d").args(["cluster", "list", "--no-headers"]))?;
            if !clusters.lines().any(|l| l.split_whitespace().next() == Some(CLUSTER_NAME)) {
                let mut create = Command::new("k3d");
                create.args(["cluster", "create", "--kubeconfig-update-default=false", "--config"]).arg(&config);
                output(&mut create)?;
            }
            std::fs::write(&kubeconfig, output(Command::new("k3d").args(["kubeconfig", "get", CLUSTER_NAME]))?)?;
        }
        Provider::K3sTestcontainers => k3s_container(&dir, &kubeconfig)?,
    }
    Ok(kubeconfig)
}

/// Starts testcontainers-modules' K3s image and writes its kubeconfig,
/// pointed at the mapped port. The container lives as long as the test
/// binary (testcontainers' watchdog removes it on exit signals).
#[cfg(feature = "testcontainers")]
fn k3s_container(dir: &std::path::Path, kubeconfig: &std::path::Path) -> Result<()> {
    use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};
    use testcontainers_modules::testcontainers::{ImageExt, runners::SyncRunner};
    let conf = dir.join("k3s-conf");
    std::fs::create_dir_all(&conf)?;
    let container =
        K3s::default().with_conf_mount(&conf).with_privileged(true).with_userns_mode("host").start().context("start the K3s container")?;
    let port = container.get_host_port_ipv4(KUBE_SECURE_PORT).context("K3s API port")?;
    let yaml = container.image().read_kube_config().context("read the K3s kubeconfig")?;
    std::fs::write(kubeconfig, yaml.replace(":6443", &format!(":{port}")))?;
    // Keep it running for the rest of the test binary.
    std::mem::forget(container);
    Ok(())
}

#[cfg(not(feature = "testcontainers"))]
fn k3s_container(_dir: &std::path::Path, _kubeconfig: &std::path::Path) -> Result<()> {
    bail!("E2E_PROVIDER=k3s-testcontainers needs the e2e crate's `testcontainers` feature (cargo xtask test sets it)")
}

fn output(cmd: &mut Command) -> Result<String> {
    let line = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("run {line}"))?;
    if !out.status.success() {
        bail!("{line}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
