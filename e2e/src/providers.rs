//! Which cluster the e2e tests run against: the local control plane (the
//! default, and what CI runs) or, where Docker exists, kind, k3d, a k3s
//! container, or any existing cluster.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

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
        Provider::from_name(&std::env::var("E2E_PROVIDER").unwrap_or_default())
    }

    /// The provider an `E2E_PROVIDER` value names (`""` is local).
    pub fn from_name(name: &str) -> Result<Provider> {
        match name {
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

/// Who plays the Kamaji controller on a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KamajiController {
    /// `e2e::kamaji::Standin`, run by the test itself (one per test, in
    /// `<test namespace>-kamaji`), playing the version the test seeds.
    StandIn,
    /// The real operator, installed by `e2e/real/kamaji-kind.sh` (Helm chart,
    /// namespace `kamaji-system`); its version is read from its image.
    Operator,
    /// No Kamaji on this provider (k3d, k3s): the tenant suites do not apply.
    None,
}

/// How a test reaches a tenant's kube-apiserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantApiAccess {
    /// A kube-apiserver process the test starts on `127.0.0.1:<free port>`
    /// (`e2e::TenantApi::spawn`), serving the tenant's secrets.
    LocalProcess,
    /// The tenant's Service as a NodePort on the kind node's address, which a
    /// Linux Docker host routes to (the TCP's `networkProfile.address`).
    NodeNetwork,
    /// `kubectl port-forward` to the tenant's Service (Docker Desktop, where
    /// node addresses are not routed); the kubeconfig's `server:` is rewritten.
    PortForward,
}

/// What differs between providers for the rotate/status suites: written
/// once, they read these instead of hard-coding the local stand-in's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub provider: Provider,
    pub kamaji: KamajiController,
    /// Namespace of the Kamaji controller when the suite does not make its
    /// own: Cozystack's `cozy-kamaji` locally (what `SeedOptions::default`
    /// seeds), the Helm chart's `kamaji-system` on kind.
    pub kamaji_namespace: String,
    /// Label selector of the controller's pods (Cozystack's and the chart's).
    pub kamaji_selector: String,
    /// `Some`: the version the suite tells kubectl-pki (`--kamaji-version`),
    /// because the stand-in plays it; `None`: read from the real image.
    pub kamaji_version: Option<String>,
    pub tenant_api: TenantApiAccess,
    /// A new TenantControlPlane reaching Ready (stand-in: seconds; the real
    /// operator pulls images and starts 3 containers per pod).
    pub tenant_ready_timeout: Duration,
    /// A pod replaced and Ready again (kwok: about a second; kind: image
    /// pulls, probes).
    pub pod_ready_timeout: Duration,
    /// The `--timeout` given to `rotate-ca`/`restore`/`renew` runs that are
    /// meant to finish (the suites' `WAIT`: 90 s to 120 s locally).
    pub rotation_timeout: Duration,
    /// The image of every pod a suite seeds (consumers, workers): `None` keeps
    /// the fixture names, which only kwok's fake node "runs"; a real node
    /// needs an image it can pull and start.
    pub pod_image: Option<String>,
    /// Where a tenant's NodePort is reached ([`TenantApiAccess::NodeNetwork`]):
    /// the kind node's address (`E2E_NODE_IP`).
    pub node_address: Option<String>,
    /// The DataStore new TenantControlPlanes use (`E2E_DATASTORE`); `None`:
    /// the operator's default.
    pub datastore: Option<String>,
}

/// Environment overrides of a profile (the scripts in `e2e/real/` set them).
pub const ENV_KAMAJI_NAMESPACE: &str = "E2E_KAMAJI_NAMESPACE";
pub const ENV_TENANT_API: &str = "E2E_TENANT_API";
pub const ENV_NODE_IP: &str = "E2E_NODE_IP";
pub const ENV_DATASTORE: &str = "E2E_DATASTORE";
/// What a real node runs for every seeded pod (kind-configs' node image has it).
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10";

impl Provider {
    /// The value of `E2E_PROVIDER` that selects this provider.
    pub fn env_name(self) -> &'static str {
        match self {
            Provider::Local => "local",
            Provider::Existing => "existing",
            Provider::Kind => "kind",
            Provider::K3d => "k3d",
            Provider::K3sTestcontainers => "k3s-testcontainers",
        }
    }

    /// The provider's properties, without environment overrides.
    pub fn profile(self) -> Profile {
        let selector = "app.kubernetes.io/name=kamaji".to_string();
        match self {
            // What the tests use today: the stand-in in cozy-kamaji playing
            // 26.3.5-edge, tenant APIs on 127.0.0.1, kwok pods.
            Provider::Local => Profile {
                provider: self,
                kamaji: KamajiController::StandIn,
                kamaji_namespace: "cozy-kamaji".into(),
                kamaji_selector: selector,
                kamaji_version: Some("26.3.5-edge".into()),
                tenant_api: TenantApiAccess::LocalProcess,
                tenant_ready_timeout: Duration::from_secs(120),
                pod_ready_timeout: Duration::from_secs(90),
                rotation_timeout: Duration::from_secs(120),
                pod_image: None,
                node_address: None,
                datastore: None,
            },
            Provider::Kind => Profile {
                provider: self,
                kamaji: KamajiController::Operator,
                kamaji_namespace: "kamaji-system".into(),
                kamaji_selector: selector,
                kamaji_version: None,
                tenant_api: TenantApiAccess::NodeNetwork,
                tenant_ready_timeout: Duration::from_secs(600),
                pod_ready_timeout: Duration::from_secs(300),
                rotation_timeout: Duration::from_secs(900),
                pod_image: Some(PAUSE_IMAGE.into()),
                node_address: None,
                datastore: None,
            },
            // An existing cluster is taken to be a Cozystack management
            // cluster: its controller in cozy-kamaji, reached as deployed.
            Provider::Existing => Profile {
                provider: self,
                kamaji: KamajiController::Operator,
                kamaji_namespace: "cozy-kamaji".into(),
                kamaji_selector: selector,
                kamaji_version: None,
                tenant_api: TenantApiAccess::PortForward,
                tenant_ready_timeout: Duration::from_secs(600),
                pod_ready_timeout: Duration::from_secs(600),
                rotation_timeout: Duration::from_secs(1800),
                pod_image: Some(PAUSE_IMAGE.into()),
                node_address: None,
                datastore: None,
            },
            Provider::K3d | Provider::K3sTestcontainers => Profile {
                provider: self,
                kamaji: KamajiController::None,
                kamaji_namespace: "kamaji-system".into(),
                kamaji_selector: selector,
                kamaji_version: None,
                tenant_api: TenantApiAccess::PortForward,
                tenant_ready_timeout: Duration::from_secs(600),
                pod_ready_timeout: Duration::from_secs(300),
                rotation_timeout: Duration::from_secs(900),
                pod_image: Some(PAUSE_IMAGE.into()),
                node_address: None,
                datastore: None,
            },
        }
    }
}

impl Profile {
    /// `E2E_PROVIDER`'s profile with the overrides `E2E_KAMAJI_NAMESPACE`
    /// (e.g. `cozy-kamaji` on a Cozystack-shaped kind install) and
    /// `E2E_TENANT_API=node-network|port-forward`.
    pub fn from_env() -> Result<Profile> {
        let mut profile = Provider::from_env()?.profile();
        if let Ok(ns) = std::env::var(ENV_KAMAJI_NAMESPACE)
            && !ns.is_empty()
        {
            profile.kamaji_namespace = ns;
        }
        for (var, field) in [(ENV_NODE_IP, &mut profile.node_address), (ENV_DATASTORE, &mut profile.datastore)] {
            if let Ok(v) = std::env::var(var)
                && !v.is_empty()
            {
                *field = Some(v);
            }
        }
        match std::env::var(ENV_TENANT_API).unwrap_or_default().as_str() {
            "" => {}
            "node-network" => profile.tenant_api = TenantApiAccess::NodeNetwork,
            "port-forward" => profile.tenant_api = TenantApiAccess::PortForward,
            "local-process" if profile.provider == Provider::Local => profile.tenant_api = TenantApiAccess::LocalProcess,
            other => {
                bail!("{ENV_TENANT_API}={other:?}: expected node-network or port-forward (local-process only with E2E_PROVIDER=local)")
            }
        }
        Ok(profile)
    }

    /// Whether the tenant suites (rotate, status --tenant, restore, renew)
    /// can run here at all.
    pub fn has_kamaji(&self) -> bool {
        self.kamaji != KamajiController::None
    }

    /// The `rotate-ca`/`status` arguments that select this profile's
    /// controller: `--kamaji-namespace NS` and, for the stand-in,
    /// `--kamaji-version V`.
    pub fn kamaji_args(&self) -> Vec<String> {
        let mut args = vec!["--kamaji-namespace".to_string(), self.kamaji_namespace.clone()];
        if let Some(v) = &self.kamaji_version {
            args.extend(["--kamaji-version".to_string(), v.clone()]);
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_profile_keeps_what_the_suites_use_today() {
        let p = Provider::Local.profile();
        // SeedOptions::default: Kamaji 26.3.5-edge in cozy-kamaji.
        assert_eq!(p.kamaji, KamajiController::StandIn);
        assert_eq!(p.kamaji_namespace, "cozy-kamaji");
        assert_eq!(p.kamaji_version.as_deref(), Some("26.3.5-edge"));
        assert_eq!(p.tenant_api, TenantApiAccess::LocalProcess);
        // rotate_live/status_live/renew/rotate_batch: WAIT = 120 s; rotate/restore/restarts: 90 s.
        assert_eq!(p.rotation_timeout, Duration::from_secs(120));
        assert_eq!(p.pod_ready_timeout, Duration::from_secs(90));
        assert_eq!(p.kamaji_args(), ["--kamaji-namespace", "cozy-kamaji", "--kamaji-version", "26.3.5-edge"]);
    }

    #[test]
    fn kind_profile_meets_the_real_operator() {
        let p = Provider::Kind.profile();
        assert_eq!(p.kamaji, KamajiController::Operator);
        assert_eq!(p.kamaji_namespace, "kamaji-system");
        assert_eq!(p.kamaji_version, None, "the real operator's version is read from its image");
        assert_eq!(p.tenant_api, TenantApiAccess::NodeNetwork);
        assert!(p.pod_ready_timeout > Provider::Local.profile().pod_ready_timeout);
        assert_eq!(p.kamaji_args(), ["--kamaji-namespace", "kamaji-system"]);
        assert!(!Provider::K3d.profile().has_kamaji());
    }

    #[test]
    fn env_names_round_trip() {
        for p in [Provider::Local, Provider::Existing, Provider::Kind, Provider::K3d, Provider::K3sTestcontainers] {
            assert_eq!(Provider::from_name(p.env_name()).unwrap(), p);
        }
        assert_eq!(Provider::from_name("").unwrap(), Provider::Local);
        assert!(Provider::from_name("minikube").is_err());
    }
}
