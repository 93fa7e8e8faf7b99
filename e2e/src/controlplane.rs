//! A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and kwok (a fake node on which
//! pods become Running and Ready), started as local processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, Node, ServiceAccount};
use kube::api::{Api, PostParams};
use serde::{Deserialize, Serialize};

use crate::binaries::{self, Binaries};
use crate::pki::{self, Pki};
use crate::process::{self, Lifetime};
use crate::providers::{self, Provider};

/// Name of the kwok node pods land on.
pub const NODE_NAME: &str = "kwok-node-0";
/// The kubeconfig context name of the admin kubeconfig.
pub const CONTEXT: &str = "e2e";

/// A running control plane. Processes tied to the test binary die with it.
pub struct ControlPlane {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    /// The PKI and binaries exist only for the local provider.
    pki: Option<Pki>,
    pub etcd_url: String,
    pub apiserver_url: String,
    bins: Option<Binaries>,
    /// (component, pid, executable), in start order.
    pub processes: Vec<(String, u32, PathBuf)>,
    children: Mutex<Vec<Child>>,
}

static SHARED: OnceLock<ControlPlane> = OnceLock::new();

impl ControlPlane {
    /// One control plane per test binary, started on first use. Its
    /// processes are spawned from a thread that lives as long as the test
    /// binary, so PR_SET_PDEATHSIG kills them when the binary exits.
    pub fn shared() -> &'static ControlPlane {
        SHARED.get_or_init(|| {
            let provider = match Provider::from_env() {
                Ok(p) => p,
                Err(e) => panic!("{e:#}"),
            };
            if provider != Provider::Local {
                return match ControlPlane::external(provider) {
                    Ok(cp) => cp,
                    Err(e) => panic!("e2e cluster ({provider:?}) unavailable: {e:#}"),
                };
            }
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("e2e-control-plane".into())
                .spawn(move || {
                    let dir = crate::target_dir().join("e2e").join(format!("run-{}", std::process::id()));
                    let _ = tx.send(ControlPlane::start(&dir, Lifetime::TiedToParent));
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawn the control-plane thread");
            match rx.recv() {
                Ok(Ok(cp)) => cp,
                Ok(Err(e)) => panic!("e2e control plane failed to start: {e:#}"),
                Err(e) => panic!("e2e control plane thread died: {e}"),
            }
        })
    }

    /// A cluster made by another provider (kind, k3d, existing).
    fn external(provider: Provider) -> Result<ControlPlane> {
        let kubeconfig = providers::external_kubeconfig(provider)?;
        let dir = kubeconfig.parent().map(Path::to_path_buf).unwrap_or_default();
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
        let server = kc.clusters.first().and_then(|c| c.cluster.as_ref()).and_then(|c| c.server.clone()).unwrap_or_default();
        Ok(ControlPlane {
            dir,
            kubeconfig,
            pki: None,
            etcd_url: String::new(),
            apiserver_url: server,
            bins: None,
            processes: Vec::new(),
            children: Mutex::new(Vec::new()),
        })
    }

    /// Builds (if needed) and starts every component in `dir`, waiting
    /// until the API is ready and the fake node is Ready.
    pub fn start(dir: &Path, lifetime: Lifetime) -> Result<ControlPlane> {
        let started = Instant::now();
        clean_stale_runs();
        let bins = binaries::ensure()?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clean {}", dir.display()))?;
        }
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let pki = Pki::generate(&dir.join("pki"))?;

        let etcd_port = process::free_port()?;
        let peer_port = process::free_port()?;
        let api_port = process::free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let apiserver_url = format!("https://127.0.0.1:{api_port}");
        let kubeconfig = dir.join("kubeconfig");
        pki::write_private(&kubeconfig, &pki::kubeconfig(&apiserver_url, &pki.ca_crt, &pki.admin_crt, &pki.admin_key, CONTEXT))?;

        Host {
            kubeconfig: kubeconfig.clone(),
            etcd_url: etcd_url.clone(),
            kube_apiserver: bins.kube_apiserver.clone(),
            logs: logs.clone(),
        }
        .write(dir)?;
        let mut cp = ControlPlane {
            dir: dir.to_path_buf(),
            kubeconfig: kubeconfig.clone(),
            pki: Some(pki),
            etcd_url: etcd_url.clone(),
            apiserver_url: apiserver_url.clone(),
            bins: Some(bins.clone()),
            processes: Vec::new(),
            children: Mutex::new(Vec::new()),
        };
        let peer = format!("http://127.0.0.1:{peer_port}");
        let mut etcd = Command::new(&bins.etcd);
        etcd.arg("--data-dir")
            .arg(dir.join("etcd"))
            .args(["--listen-client-urls", &etcd_url, "--advertise-client-urls", &etcd_url])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("default={peer}"), "--unsafe-no-fsync", "--log-level", "warn"]);
        cp.spawn("etcd", etcd, &logs, lifetime)?;
        wait_tcp(etcd_port, Duration::from_secs(30)).context("etcd did not listen")?;

        let pki_dir = cp.pki().dir.clone();
        let p = |f: &str| pki_dir.join(f).display().to_string();
        let mut api = Command::new(&bins.kube_apiserver);
        api.args(apiserver_args(
            &ApiServerOptions {
                tls_cert: pki_dir.join("apiserver.crt"),
                tls_key: pki_dir.join("apiserver.key"),
                client_ca: pki_dir.join("ca.crt"),
                sa_public_keys: vec![pki_dir.join("sa.pub")],
                sa_signing_key: pki_dir.join("sa.key"),
                etcd_prefix: "/registry".into(),
                port: Some(api_port),
            },
            &etcd_url,
        ));
        cp.spawn("kube-apiserver", api, &logs, lifetime)?;

        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(wait_ready(&cp.kubeconfig, Duration::from_secs(90)))
            .with_context(|| format!("kube-apiserver not ready; see {}", logs.join("kube-apiserver.log").display()))?;

        let kc = kubeconfig.display().to_string();
        let mut cm = Command::new(&bins.kube_controller_manager);
        cm.args(["--kubeconfig", &kc, "--service-account-private-key-file", &p("sa.key")])
            .args(["--root-ca-file", &p("ca.crt"), "--use-service-account-credentials"])
            .args(["--controllers=*", "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"])
            .args(["--cluster-signing-cert-file", &p("ca.crt"), "--cluster-signing-key-file", &p("ca.key")]);
        cp.spawn("kube-controller-manager", cm, &logs, lifetime)?;

        let mut sched = Command::new(&bins.kube_scheduler);
        sched.args(["--kubeconfig", &kc, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"]);
        cp.spawn("kube-scheduler", sched, &logs, lifetime)?;

        let mut kwok = Command::new(&bins.kwok);
        kwok.args(["--kubeconfig", &kc, "--manage-all-nodes=false"])
            .args(["--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake"])
            .args(["--node-lease-duration-seconds", "40"]);
        for stage in &bins.kwok_stages {
            kwok.arg("-c").arg(stage);
        }
        cp.spawn("kwok", kwok, &logs, lifetime)?;

        rt.block_on(cp.add_node()).context("fake node did not become Ready")?;
        eprintln!("e2e: control plane ready in {:.1?} ({})", started.elapsed(), cp.kubeconfig.display());
        Ok(cp)
    }

    fn spawn(&mut self, name: &str, cmd: Command, logs: &Path, lifetime: Lifetime) -> Result<()> {
        let exe = PathBuf::from(cmd.get_program());
        let child = process::spawn(cmd, &logs.join(format!("{name}.log")), lifetime)?;
        self.processes.push((name.to_string(), child.id(), exe));
        self.children.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(child);
        Ok(())
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The local control plane's PKI (files and PEMs).
    pub fn pki(&self) -> &Pki {
        self.pki.as_ref().expect("this test needs the local provider's PKI (E2E_PROVIDER=local)")
    }

    /// The built binaries (local provider only).
    pub fn bins(&self) -> &Binaries {
        self.bins.as_ref().expect("this test needs the local provider's binaries (E2E_PROVIDER=local)")
    }

    /// What extra kube-apiservers on this control plane need (local provider only).
    pub fn host(&self) -> Host {
        Host {
            kubeconfig: self.kubeconfig.clone(),
            etcd_url: self.etcd_url.clone(),
            kube_apiserver: self.bins().kube_apiserver.clone(),
            logs: self.dir.join("logs"),
        }
    }

    /// A new client (each `#[tokio::test]` has its own runtime, so clients
    /// are not shared between tests).
    pub async fn client(&self) -> kube::Client {
        client_for(&self.kubeconfig).await.expect("client for the e2e control plane")
    }

    /// A fresh namespace with a unique name, once its default
    /// ServiceAccount exists (pods cannot be created before).
    pub async fn namespace(&self, prefix: &str) -> TestNamespace {
        let client = self.client().await;
        let name = format!("{prefix}-{}", unique_suffix());
        let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).expect("namespace object");
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("create namespace");
        let sas: Api<ServiceAccount> = Api::namespaced(client, &name);
        let deadline = Instant::now() + Duration::from_secs(30);
        while sas.get_opt("default").await.ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "default ServiceAccount never appeared in {name}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        TestNamespace { name }
    }

    async fn add_node(&self) -> Result<()> {
        let client = client_for(&self.kubeconfig).await?;
        let nodes: Api<Node> = Api::all(client);
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "type": "kwok"}
            }
        }))?;
        nodes.create(&PostParams::default(), &node).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let n = nodes.get(NODE_NAME).await?;
            let ready = n.status.and_then(|s| s.conditions).unwrap_or_default().iter().any(|c| c.type_ == "Ready" && c.status == "True");
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("node {NODE_NAME} not Ready after 60 s; see {}", self.dir.join("logs/kwok.log").display());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops every component in reverse start order, each by its own PID.
    pub fn stop(&self) {
        if let Ok(mut children) = self.children.lock() {
            for child in children.iter_mut().rev() {
                let _ = child.kill();
                let _ = child.wait();
            }
            children.clear();
        }
    }
}

/// A namespace made for one test.
#[derive(Debug, Clone)]
pub struct TestNamespace {
    pub name: String,
}

/// How to run one kube-apiserver.
#[derive(Debug, Clone)]
pub struct ApiServerOptions {
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub client_ca: PathBuf,
    /// Every public key whose tokens are accepted (old and new keys).
    pub sa_public_keys: Vec<PathBuf>,
    pub sa_signing_key: PathBuf,
    /// etcd key prefix, so several API servers share one etcd.
    pub etcd_prefix: String,
    /// A fixed port, or None for a free one.
    pub port: Option<u16>,
}

impl ApiServerOptions {
    /// Another kube-apiserver of the harness's own PKI (same CA, certificates and
    /// service-account keys) on the storage under `etcd_prefix`.
    pub fn of_pki(pki: &crate::Pki, etcd_prefix: String, port: Option<u16>) -> ApiServerOptions {
        ApiServerOptions {
            tls_cert: pki.path("apiserver.crt"),
            tls_key: pki.path("apiserver.key"),
            client_ca: pki.path("ca.crt"),
            sa_public_keys: vec![pki.path("sa.pub")],
            sa_signing_key: pki.path("sa.key"),
            etcd_prefix,
            port,
        }
    }
}

fn apiserver_args(o: &ApiServerOptions, etcd_url: &str) -> Vec<String> {
    let mut args = vec![
        format!("--etcd-servers={etcd_url}"),
        format!("--etcd-prefix={}", o.etcd_prefix),
        format!("--secure-port={}", o.port.unwrap_or(0)),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--tls-cert-file={}", o.tls_cert.display()),
        format!("--tls-private-key-file={}", o.tls_key.display()),
        format!("--client-ca-file={}", o.client_ca.display()),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-signing-key-file={}", o.sa_signing_key.display()),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        "--authorization-mode=RBAC,Node".into(),
        "--allow-privileged=true".into(),
        "--endpoint-reconciler-type=none".into(),
    ];
    for key in &o.sa_public_keys {
        args.push(format!("--service-account-key-file={}", key.display()));
    }
    args
}

/// An extra kube-apiserver (e.g. a tenant's, or one serving certificates
/// made by kubectl-pki), killed when dropped.
pub struct ApiServer {
    pub port: u16,
    pub url: String,
    pub log: PathBuf,
    child: Child,
}

impl ApiServer {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running control plane as another process sees it: enough to add kube-apiservers to it
/// (a tenant's, on the same etcd under its own prefix) and to read its objects.
/// `ControlPlane::start` writes it to `<dir>/host.json`, so the detached control planes
/// (`cargo xtask cluster up`, the bench's) can be joined from another process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Host {
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
    pub etcd_url: String,
    pub kube_apiserver: PathBuf,
    /// Where the extra kube-apiservers' logs go (`kube-apiserver-<port>.log`).
    pub logs: PathBuf,
}

impl Host {
    const FILE: &str = "host.json";

    /// The test binary's shared control plane (started on first use).
    pub fn shared() -> Host {
        ControlPlane::shared().host()
    }

    /// The control plane started in `dir` by `ControlPlane::start` (maybe by another process).
    pub fn read(dir: &Path) -> Result<Host> {
        let path = dir.join(Self::FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no control plane description at {} (started before host.json existed? restart it)", path.display())
        })?;
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
    }

    fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(Self::FILE);
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n").with_context(|| format!("write {}", path.display()))
    }

    /// The log file of the extra kube-apiserver on `port`.
    pub fn log(&self, port: u16) -> PathBuf {
        self.logs.join(format!("kube-apiserver-{port}.log"))
    }

    fn apiserver_command(&self, opts: &ApiServerOptions) -> Command {
        let mut cmd = Command::new(&self.kube_apiserver);
        cmd.args(apiserver_args(opts, &self.etcd_url));
        cmd
    }
}

/// Starts a kube-apiserver on the shared control plane's etcd and waits
/// until `/readyz` answers (anonymously, which kube-apiserver allows).
pub fn start_apiserver(opts: ApiServerOptions) -> Result<ApiServer> {
    start_apiserver_on(&Host::shared(), opts)
}

/// [`start_apiserver`] on any control plane. The process is tied to the calling thread
/// (PR_SET_PDEATHSIG): it dies with the thread, the test or the detached process that asked.
pub fn start_apiserver_on(host: &Host, opts: ApiServerOptions) -> Result<ApiServer> {
    let port = match opts.port {
        Some(p) => p,
        None => process::free_port()?,
    };
    let opts = ApiServerOptions { port: Some(port), ..opts };
    let log = host.log(port);
    let child = process::spawn(host.apiserver_command(&opts), &log, Lifetime::TiedToParent)?;
    let server = ApiServer { port, url: format!("https://127.0.0.1:{port}"), log: log.clone(), child };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let url = server.url.clone();
    std::thread::scope(|s| s.spawn(|| rt.block_on(wait_ready_anonymous(&url, Duration::from_secs(60)))).join())
        .map_err(|_| anyhow::anyhow!("readiness thread panicked"))?
        .with_context(|| format!("kube-apiserver on port {port} not ready; see {}", log.display()))?;
    Ok(server)
}

/// A client from a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(kube::Client::try_from(cfg)?)
}

async fn wait_ready(kubeconfig: &Path, timeout: Duration) -> Result<()> {
    let client = client_for(kubeconfig).await?;
    poll_readyz(&client, timeout).await
}

/// Waits until the kube-apiserver at `url` answers `/readyz` with `ok`, without credentials
/// and without verifying its certificate (any CA: a tenant's too).
pub async fn wait_ready_anonymous(url: &str, timeout: Duration) -> Result<()> {
    let mut cfg = kube::Config::new(url.parse()?);
    cfg.accept_invalid_certs = true;
    let client = kube::Client::try_from(cfg)?;
    poll_readyz(&client, timeout).await
}

async fn poll_readyz(client: &kube::Client, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        let req = http::Request::get("/readyz").body(Vec::new())?;
        match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return Ok(()),
            Ok(body) => last = body,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("not ready after {timeout:?}: {last}")
}

fn wait_tcp(port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("port {port} closed after {timeout:?}")
}

/// Removes run directories of test binaries that are no longer running.
fn clean_stale_runs() {
    let Ok(entries) = std::fs::read_dir(crate::target_dir().join("e2e")) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("run-").and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Unique enough for names within one control plane.
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{:x}{}", nanos & 0xfffff, N.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(dir: &Path) -> Host {
        Host {
            kubeconfig: dir.join("kubeconfig"),
            etcd_url: "http://127.0.0.1:23790".into(),
            kube_apiserver: PathBuf::from("/bin/kube-apiserver"),
            logs: dir.join("logs"),
        }
    }

    #[test]
    fn host_is_read_back_from_the_control_plane_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = host(dir.path());
        written.write(dir.path()).expect("write");
        assert_eq!(Host::read(dir.path()).expect("read"), written);
        assert_eq!(written.log(4443), dir.path().join("logs/kube-apiserver-4443.log"));
    }

    #[test]
    fn host_missing_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = format!("{:#}", Host::read(dir.path()).expect_err("no host.json"));
        assert!(err.contains(&dir.path().join("host.json").display().to_string()), "{err}");
    }

    #[test]
    fn extra_apiserver_runs_the_hosts_binary_on_its_etcd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let h = host(dir.path());
        let opts = ApiServerOptions {
            tls_cert: "t.crt".into(),
            tls_key: "t.key".into(),
            client_ca: "ca.crt".into(),
            sa_public_keys: vec!["old.pub".into(), "new.pub".into()],
            sa_signing_key: "sa.key".into(),
            etcd_prefix: "/tenants/ns/tcp".into(),
            port: Some(4443),
        };
        let cmd = h.apiserver_command(&opts);
        assert_eq!(cmd.get_program(), Path::new("/bin/kube-apiserver"));
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        for want in [
            "--etcd-servers=http://127.0.0.1:23790",
            "--etcd-prefix=/tenants/ns/tcp",
            "--secure-port=4443",
            "--service-account-key-file=old.pub",
            "--service-account-key-file=new.pub",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} missing from {args:?}");
        }
    }
}
