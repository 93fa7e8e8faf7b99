//! The Kamaji stand-in as a process: installs the TenantControlPlane CRD and reconciles
//! tenants until SIGTERM or Ctrl-C (for `cargo xtask demo` and `cluster up`).
//!
//! usage: kamaji-standin [--kubeconfig FILE] [--namespace NS] [--kamaji-version TAG]
//!                       [--rotation-delay SECONDS] [--seed NAMESPACE/RELEASE [--tenant-api DIR]]
//!                       [--operator DIR]
//!
//! `--seed` also creates a Cozystack-shaped tenant (TCP, Deployments, worker pods) and waits
//! until it is Ready, then keeps reconciling. `--tenant-api DIR` also serves that tenant's API
//! for real ([`e2e::TenantApi`]: a kube-apiserver from its secrets, restarted when they change)
//! on the control plane started in DIR (its `host.json`); the process is this one's child and
//! dies with it.
//!
//! `--operator DIR` plays an operator nobody seeds for (`E2E_PROVIDER=existing` against the
//! local control plane in DIR): it makes each TCP's Deployment and serves the API of every
//! Ready TCP whose `networkProfile.address` is 127.0.0.1, on its `networkProfile.port`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::cozystack::{SeedOptions, ensure_namespace, seed_tenant};
use e2e::kamaji::{Standin, StandinOptions, wait_ready};
use e2e::{Host, TenantApi, TenantApiOptions};
use tokio::signal::unix::{SignalKind, signal};

struct Args {
    kubeconfig: Option<PathBuf>,
    opts: StandinOptions,
    seed: Option<(String, String)>,
    /// The control plane dir the seeded tenant's API joins.
    tenant_api: Option<PathBuf>,
    /// The control plane dir every served tenant API joins (`--operator`).
    operator: Option<PathBuf>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args> {
    let mut args = Args { kubeconfig: None, opts: StandinOptions::default(), seed: None, tenant_api: None, operator: None };
    let mut namespace = None;
    let mut delay = Duration::ZERO;
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kubeconfig" => args.kubeconfig = Some(value()?.into()),
            "--namespace" | "-n" => namespace = Some(value()?),
            "--kamaji-version" => args.opts = StandinOptions::for_version(&value()?),
            "--rotation-delay" => {
                let v = value()?;
                delay = Duration::from_secs_f64(v.parse().with_context(|| format!("--rotation-delay {v:?}: not a number of seconds"))?);
            }
            "--seed" => {
                let v = value()?;
                let (ns, release) = v.split_once('/').with_context(|| format!("--seed {v:?}: expected NAMESPACE/RELEASE"))?;
                args.seed = Some((ns.to_string(), release.to_string()));
            }
            "--tenant-api" => args.tenant_api = Some(value()?.into()),
            "--operator" => args.operator = Some(value()?.into()),
            "-h" | "--help" => {
                println!(
                    "usage: kamaji-standin [--kubeconfig FILE] [--namespace NS] [--kamaji-version TAG] [--rotation-delay SECONDS] [--seed NAMESPACE/RELEASE [--tenant-api DIR]] [--operator DIR]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if args.tenant_api.is_some() && args.seed.is_none() {
        bail!("--tenant-api serves the seeded tenant: it needs --seed NAMESPACE/RELEASE");
    }
    args.opts.namespace = namespace;
    args.opts.rotation_delay = delay;
    args.opts.makes_deployments = args.operator.is_some();
    Ok(args)
}

async fn client(kubeconfig: Option<&PathBuf>) -> Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("kamaji-standin: error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let args = parse(std::env::args().skip(1))?;
    // Handle SIGTERM from the start: a stop during seeding is a clean stop too.
    let mut term = signal(SignalKind::terminate())?;
    let client = client(args.kubeconfig.as_ref()).await?;
    let version = args.opts.version.clone();
    let watched = args.opts.namespace.clone();
    let controller = Standin::spawn(client.clone(), args.opts);
    let host = args.tenant_api.as_deref().map(Host::read).transpose()?;
    let operator_host = args.operator.as_deref().map(Host::read).transpose()?;
    if let Some(host) = operator_host {
        e2e::kamaji::install_crd(client.clone()).await?;
        tokio::spawn(serve_tenant_apis(client.clone(), watched, host));
        eprintln!("kamaji-standin: operator: serving the API of every Ready TCP on 127.0.0.1");
    }
    let work = async {
        // Held until the end: dropping it stops the tenant's kube-apiserver.
        let mut _tenant_api = None;
        if let Some((ns, release)) = &args.seed {
            e2e::kamaji::install_crd(client.clone()).await?;
            ensure_namespace(&client, ns).await?;
            let port = match host {
                Some(_) => Some(e2e::process::free_port()?),
                None => None,
            };
            let opts = SeedOptions { kamaji_version: version, endpoint: port.map(TenantApi::endpoint), ..SeedOptions::default() };
            let tcps: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(client.clone(), ns, &e2e::kamaji::api_resource());
            if tcps.get_opt(release).await?.is_none() {
                seed_tenant(&client, ns, release, &opts).await?;
            }
            wait_ready(&client, ns, release, Duration::from_secs(60)).await?;
            eprintln!("kamaji-standin: tenant {ns}/{release} is Ready");
            if let (Some(host), Some(port)) = (host, port) {
                let opts = TenantApiOptions { port: Some(port), host: Some(host), ..TenantApiOptions::default() };
                let api = TenantApi::spawn(&client, ns, release, opts).await.context("tenant API")?;
                eprintln!("kamaji-standin: tenant {ns}/{release} API serving on {} (log {})", api.url, api.log().display());
                _tenant_api = Some(api);
            }
        }
        controller.await.context("controller task")?
    };
    tokio::select! {
        result = work => result?,
        _ = term.recv() => eprintln!("kamaji-standin: SIGTERM, stopping"),
        _ = tokio::signal::ctrl_c() => eprintln!("kamaji-standin: interrupted, stopping"),
    }
    Ok(())
}

/// Every second: a tenant API for each Ready TCP on 127.0.0.1 that has none yet; dropped
/// (the process stopped) when its TCP is gone.
async fn serve_tenant_apis(client: kube::Client, namespace: Option<String>, host: Host) {
    use std::collections::BTreeMap;
    let tcps: kube::Api<kube::api::DynamicObject> = match &namespace {
        Some(ns) => kube::Api::namespaced_with(client.clone(), ns, &e2e::kamaji::api_resource()),
        None => kube::Api::all_with(client.clone(), &e2e::kamaji::api_resource()),
    };
    let mut served: BTreeMap<(String, String), TenantApi> = BTreeMap::new();
    let mut starting: BTreeMap<(String, String), tokio::task::JoinHandle<Result<TenantApi>>> = BTreeMap::new();
    loop {
        let list = tcps.list(&Default::default()).await.map(|l| l.items).unwrap_or_default();
        let mut present = std::collections::BTreeSet::new();
        for tcp in &list {
            let (Some(ns), Some(name)) = (tcp.metadata.namespace.clone(), tcp.metadata.name.clone()) else { continue };
            let key = (ns.clone(), name.clone());
            present.insert(key.clone());
            let local = tcp.data.pointer("/spec/networkProfile/address").and_then(serde_json::Value::as_str) == Some("127.0.0.1");
            let port =
                tcp.data.pointer("/spec/networkProfile/port").and_then(serde_json::Value::as_u64).and_then(|p| u16::try_from(p).ok());
            let ready = e2e::kamaji::phase(tcp) == Some("Ready");
            let (Some(port), true, true) = (port, local, ready) else { continue };
            if served.contains_key(&key) || starting.contains_key(&key) {
                continue;
            }
            let opts = TenantApiOptions { port: Some(port), host: Some(host.clone()), ..TenantApiOptions::default() };
            let client = client.clone();
            starting.insert(key, tokio::spawn(async move { TenantApi::spawn(&client, &ns, &name, opts).await }));
        }
        let finished: Vec<_> = starting.iter().filter(|(_, h)| h.is_finished()).map(|(k, _)| k.clone()).collect();
        for key in finished {
            let Some(handle) = starting.remove(&key) else { continue };
            match handle.await {
                Ok(Ok(api)) => {
                    eprintln!("kamaji-standin: tenant {}/{} API serving on {}", key.0, key.1, api.url);
                    served.insert(key, api);
                }
                Ok(Err(e)) => eprintln!("kamaji-standin: tenant {}/{} API: {e:#} (retrying)", key.0, key.1),
                Err(e) => eprintln!("kamaji-standin: tenant {}/{} API task: {e}", key.0, key.1),
            }
        }
        served.retain(|key, _| present.contains(key));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args> {
        parse(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn tenant_api_serves_the_seeded_tenant() {
        let a = args(&["--seed", "tenant-root/kubernetes-demo", "--tenant-api", "target/e2e/cluster"]).expect("parse");
        assert_eq!(a.seed, Some(("tenant-root".into(), "kubernetes-demo".into())));
        assert_eq!(a.tenant_api, Some(PathBuf::from("target/e2e/cluster")));
        let err = args(&["--tenant-api", "target/e2e/cluster"]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("needs --seed"), "{err}");
        assert!(args(&["--seed", "x/y", "--tenant-api"]).is_err());
    }
}
