//! The Kamaji stand-in as a process: installs the TenantControlPlane CRD and reconciles
//! tenants until SIGTERM or Ctrl-C (for `cargo xtask demo` and `cluster up`).
//!
//! usage: kamaji-standin [--kubeconfig FILE] [--namespace NS] [--kamaji-version TAG]
//!                       [--rotation-delay SECONDS] [--seed NAMESPACE/RELEASE [--tenant-api DIR]]
//!
//! `--seed` also creates a Cozystack-shaped tenant (TCP, Deployments, worker pods) and waits
//! until it is Ready, then keeps reconciling. `--tenant-api DIR` also serves that tenant's API
//! for real ([`e2e::TenantApi`]: a kube-apiserver from its secrets, restarted when they change)
//! on the control plane started in DIR (its `host.json`); the process is this one's child and
//! dies with it.

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
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args> {
    let mut args = Args { kubeconfig: None, opts: StandinOptions::default(), seed: None, tenant_api: None };
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
            "-h" | "--help" => {
                println!(
                    "usage: kamaji-standin [--kubeconfig FILE] [--namespace NS] [--kamaji-version TAG] [--rotation-delay SECONDS] [--seed NAMESPACE/RELEASE [--tenant-api DIR]]"
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
    let controller = Standin::spawn(client.clone(), args.opts);
    let host = args.tenant_api.as_deref().map(Host::read).transpose()?;
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
