//! The fixture of the `rotate-ca` e2e tests (`tests/rotate.rs`, `faults_rotate.rs`,
//! `rotate_live.rs`, `rotate_batch.rs`, `restore.rs`, `renew.rs`): a fresh namespace with a
//! Ready Cozystack-shaped tenant kept by the provider's Kamaji (the stand-in locally, the
//! real operator on kind: see [`crate::provided`]), `kubectl-pki` run in a temporary
//! directory (where backups land), and snapshots of what the tool may change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::ControlPlane;
use crate::cozystack::{SeedOptions, Tenant};
use crate::provided::{Keeper, ProvidedTenant, provide};
use crate::providers::{KamajiController, Profile};

/// One tenant and who keeps it. Fields drop in order: the keeper (stand-in) last.
pub struct Fixture {
    pub client: Client,
    pub tenant: Tenant,
    /// Where the tenant's kubeconfigs point ([`SeedOptions::endpoint`] locally, the
    /// TCP's NodePort on an operator), if known.
    pub endpoint: Option<String>,
    /// Whether a kube-apiserver answers at `endpoint`.
    pub live: bool,
    pub secrets: Api<Secret>,
    /// The working directory of every run.
    pub dir: tempfile::TempDir,
    /// How long waits for the tenant last (at least the profile's pod wait).
    pub wait: Duration,
    /// What differs between providers.
    pub profile: Profile,
    keeper: Keeper,
}

impl Fixture {
    /// A fresh namespace `<prefix>-...` with a Ready tenant `release` seeded by `seed`: locally
    /// its Kamaji controller Deployment in `<ns>-kamaji` and a stand-in playing that version;
    /// elsewhere a TCP of the provider's operator.
    pub async fn new(prefix: &str, release: &str, seed: SeedOptions, wait: Duration) -> Fixture {
        Fixture::provided(prefix, release, seed, wait, false).await
    }

    /// [`Fixture::new`] with a tenant API that answers (a kube-apiserver process locally).
    pub async fn live(prefix: &str, release: &str, seed: SeedOptions, wait: Duration) -> Fixture {
        Fixture::provided(prefix, release, seed, wait, true).await
    }

    async fn provided(prefix: &str, release: &str, seed: SeedOptions, wait: Duration, live: bool) -> Fixture {
        let profile = match Profile::from_env() {
            Ok(p) => p,
            Err(e) => panic!("{e:#}"),
        };
        let ProvidedTenant { client, tenant, endpoint, live, keeper } = match provide(&profile, prefix, release, seed, live).await {
            Ok(t) => t,
            Err(e) => panic!("a Ready tenant: {e:#}"),
        };
        let ns = tenant.namespace.clone();
        Fixture {
            secrets: Api::namespaced(client.clone(), &ns),
            client,
            tenant,
            endpoint,
            live,
            dir: tempfile::tempdir().expect("tempdir"),
            wait: wait.max(profile.pod_ready_timeout),
            profile,
            keeper,
        }
    }

    /// [`Fixture::new`], then every pod Ready, so restarts are judged against a settled tenant.
    pub async fn settled(prefix: &str, release: &str, seed: SeedOptions, wait: Duration) -> Fixture {
        let f = Fixture::new(prefix, release, seed, wait).await;
        for ns in [&f.tenant.namespace, &f.tenant.kamaji_namespace] {
            crate::pods::settle(&f.client, ns, f.wait).await.expect("settled");
        }
        f
    }

    /// The local tenant API process ([`Fixture::live`] on the local provider only): tests that
    /// look inside it (its files, its restarts, holding it back) need the stand-in.
    pub fn api_process(&self) -> &crate::TenantApi {
        match &self.keeper {
            Keeper::StandIn { api: Some(api), .. } => api,
            _ => panic!(
                "this test looks inside the local tenant API process: E2E_PROVIDER={} has none (run it with E2E_PROVIDER=local)",
                self.profile.provider.env_name()
            ),
        }
    }

    /// Stops the local tenant API process by handing it to the caller (to drop it).
    pub fn take_api_process(&mut self) -> Option<crate::TenantApi> {
        match &mut self.keeper {
            Keeper::StandIn { api, .. } => api.take().map(|a| *a),
            Keeper::Operator => None,
        }
    }

    /// Whether the in-test stand-in keeps this tenant (else the provider's operator).
    pub fn standin(&self) -> bool {
        self.profile.kamaji == KamajiController::StandIn
    }

    pub fn ns(&self) -> &str {
        &self.tenant.namespace
    }

    /// `kubectl-pki --kubeconfig KUBECONFIG ARGS`, plus `-n NS --kamaji-namespace NS-kamaji`
    /// when `with_namespaces`, in the fixture's directory, without an inherited fault point.
    pub fn command(&self, kubeconfig: &Path, args: &[&str], with_namespaces: bool) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(crate::pki_bin());
        cmd.arg("--kubeconfig").arg(kubeconfig).args(args);
        if with_namespaces {
            cmd.args(["-n", self.ns(), "--kamaji-namespace", &self.tenant.kamaji_namespace]);
        }
        cmd.current_dir(self.dir.path()).env_remove("KUBECTL_PKI_FAULT_AFTER");
        cmd
    }

    /// `kubectl-pki --kubeconfig <admin> ARGS` (with the namespaces for `rotate-ca` and `renew`), with `env`.
    pub async fn pki(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        self.pki_as(ControlPlane::shared().kubeconfig(), args, env).await
    }

    /// Like [`Fixture::pki`], through another kubeconfig.
    pub async fn pki_as(&self, kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = self.command(kubeconfig, args, matches!(args.first(), Some(&"rotate-ca" | &"renew")));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().await.expect("run kubectl-pki")
    }

    /// `restore PATH --dry-run=false` until it completes, at most 3 runs; the runs' outputs.
    /// With Kamaji running, restoring a CA makes it re-issue the secrets that CA did not sign
    /// while restore writes them: restore leaves those (conflicts, not in its pre-restore
    /// backup) to the next run, which saves and replaces them. A run may fail on conflicts only.
    pub async fn restore_until_done(&self, path: &Path) -> Vec<std::process::Output> {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let out = self.pki(&["restore", &path.to_string_lossy(), "--dry-run=false"], &[]).await;
            let (stdout, stderr) = text(&out);
            let done = out.status.code() == Some(0);
            runs.push(out);
            if done {
                eprintln!("restore completed in {} run(s)", runs.len());
                return runs;
            }
            let failed: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  failed: ")).collect();
            assert!(
                !failed.is_empty() && failed.iter().all(|l| l.contains(": conflict: ")),
                "restore failed otherwise: {stdout}\n{stderr}"
            );
        }
        panic!("restore did not complete in 3 runs: {:?}", runs.iter().map(text).collect::<Vec<_>>());
    }

    /// The tenant's secret `<tenant>-<suffix>`.
    pub async fn secret(&self, suffix: &str) -> Secret {
        self.secrets.get(&self.tenant.secret(suffix)).await.expect("get secret")
    }

    /// One value of the tenant's secret `<tenant>-<suffix>` (empty if absent).
    pub async fn value(&self, suffix: &str, key: &str) -> Vec<u8> {
        self.secret(suffix).await.data.and_then(|d| d.get(key).map(|v| v.0.clone())).unwrap_or_default()
    }

    /// See [`snapshot`]: the tenant and Kamaji namespaces, with Deployments. An operator's
    /// namespace is shared and its leader election renews a Lease every few seconds: there
    /// only its pods and Deployments count.
    pub async fn snapshot(&self) -> BTreeMap<String, String> {
        if self.standin() {
            return snapshot(&self.client, &[self.ns(), &self.tenant.kamaji_namespace], true).await;
        }
        let mut all = snapshot(&self.client, &[self.ns()], true).await;
        let controller = snapshot(&self.client, &[&self.tenant.kamaji_namespace], true).await;
        all.extend(controller.into_iter().filter(|(k, _)| k.starts_with("pod/") || k.starts_with("deployment/")));
        all
    }

    /// A [`Fixture::snapshot`] once the tenant's Deployments have rolled out and two snapshots
    /// in a row are equal (see [`until_settled`]): a rollout the stand-in started may pause
    /// longer than the 1.5 s between two snapshots on a loaded machine.
    pub async fn settled_snapshot(&self) -> BTreeMap<String, String> {
        if let Err(e) = crate::pods::settle(&self.client, self.ns(), self.wait).await {
            eprintln!("settled_snapshot: {e:#}; comparing snapshots all the same");
        }
        until_settled(self.ns(), self.wait, || self.snapshot()).await
    }

    /// `--timeout` for a rotate-ca run meant to finish: the profile's, at least 3 minutes.
    pub fn rotation_timeout_arg(&self) -> String {
        format!("{}s", self.profile.rotation_timeout.as_secs().max(180))
    }

    /// The uids of the pods in `ns` matching `selector`, not being deleted.
    pub async fn pod_uids(&self, ns: &str, selector: &str) -> BTreeSet<String> {
        let pods = Api::<Pod>::namespaced(self.client.clone(), ns).list(&ListParams::default().labels(selector)).await.unwrap();
        pods.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).filter_map(|p| p.uid()).collect()
    }

    /// The backup files in the fixture's directory.
    pub fn backups(&self) -> Vec<PathBuf> {
        backups(self.dir.path())
    }
}

/// The `pki-backup-*` files in `dir`.
pub fn backups(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("pki-backup-"))
        .collect()
}

/// resourceVersion of every Secret and Lease, uid of every Pod and, `with_deployments`, the
/// generation of every Deployment in `namespaces`.
pub async fn snapshot(client: &Client, namespaces: &[&str], with_deployments: bool) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for ns in namespaces {
        let lp = ListParams::default();
        for s in Api::<Secret>::namespaced(client.clone(), ns).list(&lp).await.unwrap().items {
            all.insert(format!("secret/{ns}/{}", s.name_any()), s.resource_version().unwrap_or_default());
        }
        if with_deployments {
            for d in Api::<Deployment>::namespaced(client.clone(), ns).list(&lp).await.unwrap().items {
                all.insert(format!("deployment/{ns}/{}", d.name_any()), format!("gen {:?}", d.metadata.generation));
            }
        }
        for p in Api::<Pod>::namespaced(client.clone(), ns).list(&lp).await.unwrap().items {
            all.insert(format!("pod/{ns}/{}", p.name_any()), p.uid().unwrap_or_default());
        }
        for l in Api::<Lease>::namespaced(client.clone(), ns).list(&lp).await.unwrap().items {
            all.insert(format!("lease/{ns}/{}", l.name_any()), l.resource_version().unwrap_or_default());
        }
    }
    all
}

/// A [`snapshot`] once the stand-in and controllers have settled (two equal in a row, 1.5 s
/// apart, within `wait`), so a later difference is the tool's doing.
pub async fn settled_snapshot(client: &Client, namespaces: &[&str], with_deployments: bool, wait: Duration) -> BTreeMap<String, String> {
    until_settled(&format!("{namespaces:?}"), wait, || snapshot(client, namespaces, with_deployments)).await
}

/// `take()` once two snapshots in a row (1.5 s apart, within `wait`) are equal.
async fn until_settled<F: std::future::Future<Output = BTreeMap<String, String>>>(
    what: &str,
    wait: Duration,
    take: impl Fn() -> F,
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + wait;
    let mut last = take().await;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = take().await;
        if now == last {
            return now;
        }
        assert!(Instant::now() < deadline, "{what} never settled: {}", diff(&last, &now));
        last = now;
    }
}

/// What changed between two snapshots, for assertion messages.
pub fn diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", a.get(k), b.get(k)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// (stdout, stderr) of a run, as text.
pub fn text(out: &std::process::Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}
