//! A Kamaji tenant's API server, for real: a kube-apiserver process (the harness's binary)
//! run from the tenant's secrets the way the tenant Deployment's pods run it, on the address
//! the tenant's admin kubeconfig names. Like a pod, the process reads its files only when it
//! starts: it is restarted on the changed secrets only when the tenant Deployment's pods are
//! replaced (a new pod UID, e.g. a pod deleted and re-created) or its pod template changes (a
//! rollout). A secret that changes with neither (a write Kamaji keeps without re-issuing, so its
//! checksum and the template stay) is "pending restart" until then: the old process keeps
//! serving the old files. Without a tenant Deployment there are no pods to watch: any change of
//! the secrets restarts the process.
//! It runs on the test binary's shared control plane, or on any other the harness started
//! (`TenantApiOptions::host`: a detached one read back with `Host::read(dir)`).
//!
//! Files, from the secrets Kamaji mounts into the tenant pods:
//! `<tcp>-api-server-certificate` (apiserver.crt/.key: serving), `<tcp>-ca` (ca.crt: client CA),
//! `<tcp>-sa-certificate` (sa.pub: every public key whose tokens verify, sa.key: signing).
//! kube-apiserver reads every PEM block of a `--service-account-key-file`
//! (client-go `keyutil.ParsePublicKeysPEM`), so an sa.pub bundle of an old and a new key keeps
//! both keys' tokens valid with no splitting.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};

use crate::controlplane::{ApiServer, ApiServerOptions, Host, client_for, start_apiserver_on};
use crate::kamaji::names::{self, secret_name};

/// How the tenant API is run.
#[derive(Clone, Debug)]
pub struct TenantApiOptions {
    /// A fixed port on 127.0.0.1, or None for a free one.
    pub port: Option<u16>,
    /// A restart happens once the changed secrets have stayed the same this long (the time a
    /// rollout takes to start new pods); raise it to keep the pending-restart window open.
    pub restart_delay: Duration,
    /// How often the secrets are read.
    pub poll_interval: Duration,
    /// Limit of `spawn`'s waits (the kubeconfig naming the endpoint, the first start).
    pub timeout: Duration,
    /// The control plane the process joins (its etcd, binary, logs; the secrets are read
    /// with its admin kubeconfig); None: [`ControlPlane::shared`](crate::ControlPlane::shared).
    /// A detached one: `Host::read(dir)`.
    pub host: Option<Host>,
}

impl Default for TenantApiOptions {
    fn default() -> Self {
        TenantApiOptions {
            port: None,
            restart_delay: Duration::from_millis(500),
            poll_interval: Duration::from_millis(250),
            timeout: Duration::from_secs(90),
            host: None,
        }
    }
}

/// The files a tenant API server process is started with. Debug omits the private keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Files {
    pub tls_cert: String,
    tls_key: String,
    pub client_ca: String,
    pub sa_public: String,
    sa_key: String,
    /// The tenant Deployment's pod-template metadata (JSON): a changed template is a rollout.
    pub template: String,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("tls_cert", &self.tls_cert)
            .field("client_ca", &self.client_ca)
            .field("sa_public", &self.sa_public)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// The process currently serving.
#[derive(Clone, Debug)]
pub struct Served {
    /// 1 for the first process, +1 per restart.
    pub generation: u32,
    pub pid: u32,
    pub files: Files,
    /// From spawning the process to `/readyz` answering `ok`.
    pub ready_in: Duration,
}

/// What the supervisor knows.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// None before the first start and while a restart is in progress or failed.
    pub served: Option<Served>,
    /// The secrets or the Deployment template differ from what the process was started with.
    pub pending: bool,
    /// The secrets the next start would need but cannot read (deleted, incomplete).
    pub waiting_for: Option<String>,
    pub last_error: Option<String>,
    /// (generation, ready_in) of every start, for measurements.
    pub starts: Vec<(u32, Duration)>,
}

struct Shared {
    status: Mutex<Status>,
    stop: AtomicBool,
    paused: AtomicBool,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}

/// A running tenant API; stopping it (drop) kills the process.
pub struct TenantApi {
    pub namespace: String,
    pub tcp: String,
    pub port: u16,
    pub url: String,
    host: Host,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TenantApi {
    /// Points the TCP at `https://127.0.0.1:<port>` (annotation `e2e.kubectl-pki/endpoint`,
    /// so the stand-in writes that address into the kubeconfigs; seeding with
    /// `SeedOptions::endpoint` set to [`TenantApi::endpoint`] avoids a re-issue), waits until
    /// the admin kubeconfig names it, then starts the process and waits until it is ready.
    pub async fn spawn(client: &Client, ns: &str, tcp: &str, opts: TenantApiOptions) -> Result<TenantApi> {
        let port = match opts.port {
            Some(p) => p,
            None => crate::process::free_port()?,
        };
        let url = endpoint(port);
        let host = opts.host.clone().unwrap_or_else(Host::shared);
        let tcps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &crate::kamaji::api_resource());
        let patch = serde_json::json!({"metadata": {"annotations": {names::ANNOTATION_ENDPOINT: url}}});
        tcps.patch(tcp, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| format!("annotating TenantControlPlane {ns}/{tcp} with its endpoint"))?;
        wait_admin_kubeconfig_names(client, ns, tcp, &url, opts.timeout).await?;

        let dir = tempfile::Builder::new().prefix("tenant-api-").tempdir()?;
        let shared =
            Arc::new(Shared { status: Mutex::new(Status::default()), stop: AtomicBool::new(false), paused: AtomicBool::new(false) });
        let supervisor = Supervisor {
            ns: ns.to_string(),
            tcp: tcp.to_string(),
            port,
            host: host.clone(),
            dir: dir.path().to_path_buf(),
            opts: opts.clone(),
            shared: shared.clone(),
        };
        // A thread of its own: the process is tied to it (PR_SET_PDEATHSIG), and it needs no
        // test runtime to keep running.
        let thread = std::thread::Builder::new()
            .name(format!("tenant-api-{tcp}"))
            .spawn(move || supervisor.run())
            .context("spawning the tenant API supervisor")?;
        let api = TenantApi { namespace: ns.to_string(), tcp: tcp.to_string(), port, url, host, shared, thread: Some(thread), _dir: dir };
        api.wait_for("the first start", opts.timeout, |s| s.served.is_some()).await?;
        Ok(api)
    }

    /// `https://127.0.0.1:<port>`: what to seed the TCP's endpoint with.
    pub fn endpoint(port: u16) -> String {
        endpoint(port)
    }

    pub fn status(&self) -> Status {
        self.shared.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The process serving now, if any.
    pub fn served(&self) -> Option<Served> {
        self.status().served
    }

    /// Holds restarts (changes are still seen: `pending` turns true) until `resume`.
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Where generation N's files are (`gen-N/apiserver.crt`, ...).
    pub fn files_dir(&self, generation: u32) -> PathBuf {
        self._dir.path().join(format!("gen-{generation}"))
    }

    /// The kube-apiserver log (all generations append to it).
    pub fn log(&self) -> PathBuf {
        self.host.log(self.port)
    }

    /// Waits until `done(status)`; the error names `what`, the last status and the log.
    pub async fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&Status) -> bool) -> Result<Status> {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.status();
            if done(&s) {
                return Ok(s);
            }
            if Instant::now() > deadline || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                bail!(
                    "tenant API {}/{}: no {what} after {timeout:?} (generation {:?}, pending {}, waiting for {:?}, last error {:?}); see {}",
                    self.namespace,
                    self.tcp,
                    s.served.as_ref().map(|s| s.generation),
                    s.pending,
                    s.waiting_for,
                    s.last_error,
                    self.log().display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until a process newer than `generation` serves and nothing is pending.
    pub async fn wait_restarted(&self, generation: u32, timeout: Duration) -> Result<Served> {
        let s = self
            .wait_for(&format!("restart after generation {generation}"), timeout, |s| {
                !s.pending && s.served.as_ref().is_some_and(|x| x.generation > generation)
            })
            .await?;
        s.served.context("served vanished")
    }
}

impl Drop for TenantApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn endpoint(port: u16) -> String {
    format!("https://127.0.0.1:{port}")
}

async fn wait_admin_kubeconfig_names(client: &Client, ns: &str, tcp: &str, url: &str, timeout: Duration) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let name = secret_name(tcp, names::ADMIN_KUBECONFIG);
    let deadline = Instant::now() + timeout;
    loop {
        let secret = secrets.get_opt(&name).await.with_context(|| format!("reading {ns}/{name}"))?;
        let server = secret
            .as_ref()
            .and_then(|s| value(s, "admin.conf"))
            .and_then(|kc| crate::kamaji::pki::parse_kubeconfig(kc.as_bytes()).ok())
            .map(|kc| kc.server);
        if server.as_deref() == Some(url) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{ns}/{name} admin.conf names {server:?}, not {url}, after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn value(secret: &Secret, key: &str) -> Option<String> {
    let v = secret.data.as_ref()?.get(key)?;
    String::from_utf8(v.0.clone()).ok().filter(|s| !s.is_empty())
}

/// The files for the next start, or what is missing.
enum Desired {
    /// The files, and the UIDs of the tenant Deployment's pods (None: no Deployment).
    Complete(Files, Option<BTreeSet<String>>),
    Missing(String),
}

async fn read_desired(client: &Client, ns: &str, tcp: &str) -> Result<Desired> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let mut got = Vec::new();
    let mut missing = Vec::new();
    for (suffix, key) in [
        (names::API_SERVER, "apiserver.crt"),
        (names::API_SERVER, "apiserver.key"),
        (names::CA, "ca.crt"),
        (names::SA, "sa.pub"),
        (names::SA, "sa.key"),
    ] {
        let name = secret_name(tcp, suffix);
        let secret = secrets.get_opt(&name).await.with_context(|| format!("reading {ns}/{name}"))?;
        match secret.as_ref().and_then(|s| value(s, key)) {
            Some(v) => got.push(v),
            None => missing.push(format!("{name}/{key}")),
        }
    }
    if !missing.is_empty() {
        return Ok(Desired::Missing(missing.join(", ")));
    }
    let deployment = Api::<Deployment>::namespaced(client.clone(), ns).get_opt(tcp).await.context("reading the tenant Deployment")?;
    let pods = match deployment.as_ref().and_then(|d| d.spec.selector.match_labels.clone()) {
        Some(labels) => {
            let selector = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
            let list = Api::<Pod>::namespaced(client.clone(), ns)
                .list(&ListParams::default().labels(&selector))
                .await
                .context("listing the tenant Deployment's pods")?;
            Some(list.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).filter_map(|p| p.metadata.uid.clone()).collect())
        }
        None => None,
    };
    let template = deployment
        .and_then(|d| d.spec.template.metadata)
        .map(|m| serde_json::json!({"labels": m.labels, "annotations": m.annotations}).to_string())
        .unwrap_or_default();
    let mut it = got.into_iter();
    let mut next = || it.next().unwrap_or_default();
    let files = Files { tls_cert: next(), tls_key: next(), client_ca: next(), sa_public: next(), sa_key: next(), template };
    Ok(Desired::Complete(files, pods))
}

struct Supervisor {
    ns: String,
    tcp: String,
    port: u16,
    host: Host,
    dir: PathBuf,
    opts: TenantApiOptions,
    shared: Arc<Shared>,
}

impl Supervisor {
    fn run(self) {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return self.shared.update(|s| s.last_error = Some(format!("runtime: {e}"))),
        };
        let client = match rt.block_on(client_for(&self.host.kubeconfig)) {
            Ok(c) => c,
            Err(e) => return self.shared.update(|s| s.last_error = Some(format!("client: {e:#}"))),
        };
        let mut server: Option<ApiServer> = None;
        let mut served: Option<Files> = None;
        let mut generation = 0;
        // The desired files last seen differing from `served`, and since when they are stable.
        let mut candidate: Option<(Files, Instant)> = None;
        // The tenant pods that run what `served` holds: a pod not among them is a new pod.
        let mut served_pods: BTreeSet<String> = BTreeSet::new();
        while !self.shared.stop.load(Ordering::SeqCst) {
            match rt.block_on(read_desired(&client, &self.ns, &self.tcp)) {
                Err(e) => self.shared.update(|s| s.last_error = Some(format!("{e:#}"))),
                Ok(Desired::Missing(what)) => {
                    // A new pod could not mount them; the running one keeps serving.
                    self.shared.update(|s| {
                        s.pending = served.is_some();
                        s.waiting_for = Some(what);
                    });
                    candidate = None;
                }
                Ok(Desired::Complete(files, pods)) => {
                    let differs = served.as_ref() != Some(&files);
                    self.shared.update(|s| {
                        s.pending = differs && served.is_some();
                        s.waiting_for = None;
                    });
                    // What makes a pod re-read its files: a new pod, or a new template (a
                    // rollout); without a Deployment, any change.
                    let replaced = match &pods {
                        None => true,
                        Some(now) => {
                            now.iter().any(|uid| !served_pods.contains(uid))
                                || served.as_ref().is_some_and(|f| f.template != files.template)
                        }
                    };
                    if !differs {
                        candidate = None;
                        // Pods replaced on the same files run what is served.
                        served_pods = pods.unwrap_or_default();
                    } else if generation > 0 && !replaced {
                        // A secret changed under running pods: they keep their files.
                        candidate = None;
                    } else {
                        let since = match &candidate {
                            Some((f, since)) if *f == files => *since,
                            _ => Instant::now(),
                        };
                        candidate = Some((files.clone(), since));
                        let due = generation == 0 || since.elapsed() >= self.opts.restart_delay;
                        if due && !self.shared.paused.load(Ordering::SeqCst) {
                            generation += 1;
                            // The rollout: the old pod goes, the new one starts on the same address.
                            drop(server.take());
                            self.shared.update(|s| s.served = None);
                            match self.start(&files, generation) {
                                Ok((api, ready_in)) => {
                                    eprintln!(
                                        "tenant-api {}/{}: generation {generation} serving on {} (pid {}, ready in {ready_in:.1?})",
                                        self.ns,
                                        self.tcp,
                                        api.url,
                                        api.pid()
                                    );
                                    let pid = api.pid();
                                    server = Some(api);
                                    served = Some(files.clone());
                                    served_pods = pods.unwrap_or_default();
                                    candidate = None;
                                    self.shared.update(|s| {
                                        s.served = Some(Served { generation, pid, files, ready_in });
                                        s.pending = false;
                                        s.last_error = None;
                                        s.starts.push((generation, ready_in));
                                    });
                                }
                                Err(e) => {
                                    eprintln!("tenant-api {}/{}: start {generation} failed: {e:#}", self.ns, self.tcp);
                                    served = None;
                                    // Retry after another restart delay.
                                    candidate = Some((files, Instant::now()));
                                    self.shared.update(|s| s.last_error = Some(format!("{e:#}")));
                                }
                            }
                            continue;
                        }
                    }
                }
            }
            std::thread::park_timeout(self.opts.poll_interval);
        }
        drop(server);
    }

    /// Writes the files of `generation` (0600, in a directory of their own so a running
    /// process never sees them change) and starts kube-apiserver on them.
    fn start(&self, files: &Files, generation: u32) -> Result<(ApiServer, Duration)> {
        let dir = self.dir.join(format!("gen-{generation}"));
        std::fs::create_dir_all(&dir)?;
        let path = |name: &str| dir.join(name);
        for (name, content) in [
            ("apiserver.crt", &files.tls_cert),
            ("apiserver.key", &files.tls_key),
            ("ca.crt", &files.client_ca),
            ("sa.pub", &files.sa_public),
            ("sa.key", &files.sa_key),
        ] {
            crate::pki::write_private(&path(name), content)?;
        }
        let started = Instant::now();
        let api = start_apiserver_on(
            &self.host,
            ApiServerOptions {
                tls_cert: path("apiserver.crt"),
                tls_key: path("apiserver.key"),
                client_ca: path("ca.crt"),
                sa_public_keys: vec![path("sa.pub")],
                sa_signing_key: path("sa.key"),
                etcd_prefix: etcd_prefix(&self.ns, &self.tcp),
                port: Some(self.port),
            },
        )?;
        Ok((api, started.elapsed()))
    }
}

/// Where a tenant's objects live in the harness's etcd.
pub fn etcd_prefix(ns: &str, tcp: &str) -> String {
    format!("/tenants/{ns}/{tcp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_private_keys() {
        let files = Files {
            tls_cert: "CERT".into(),
            tls_key: "-----BEGIN PRIVATE KEY-----".into(),
            client_ca: "CA".into(),
            sa_public: "PUB".into(),
            sa_key: "-----BEGIN EC PRIVATE KEY-----".into(),
            template: "{}".into(),
        };
        let text = format!("{files:?}");
        assert!(text.contains("CERT") && text.contains("PUB"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    #[test]
    fn endpoint_and_prefix() {
        assert_eq!(TenantApi::endpoint(34567), "https://127.0.0.1:34567");
        assert_eq!(etcd_prefix("tenant-a", "kubernetes-a"), "/tenants/tenant-a/kubernetes-a");
    }
}
