//! The Kamaji stand-in as a process: installs the TenantControlPlane CRD and reconciles
//! tenants until SIGTERM or Ctrl-C (for `cargo xtask demo` and `cluster up`).
//!
//! usage: kamaji-standin [--kubeconfig FILE] [--namespace NS] [--kamaji-version TAG]
//!                       [--rotation-delay SECONDS] [--seed NAMESPACE/RELEASE]
//!
//! `--seed` also creates a Cozystack-shaped tenant (TCP, Deployments, worker pods) and waits
//! until it is Ready, then keeps reconciling.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::cozystack::{SeedOptions, ensure_namespace, seed_tenant};
use e2e::kamaji::{Standin, StandinOptions, wait_ready};
use tokio::signal::unix::{SignalKind, signal};

struct Args {
    kubeconfig: Option<PathBuf>,
    opts: StandinOptions,
    seed: Option<(String, String)>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args> {
    let mut args = Args {
        kubeconfig: None,
        opts: StandinOptions::default(),
        seed: None,
    };
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
                delay =
                    Duration::from_secs_f64(v.parse().with_context(|| {
                        format!("--rotation-delay {v:?}: not a number of seconds")
                    })?);
            }
            "--seed" => {
                let v = value()?;
                let (ns, release) = v
                    .split_once('/')
                    .with_context(|| format!("--seed {v:?}: expected NAMESPACE/RELEASE"))?;
                args.seed = Some((ns.to_string(), release.to_string()));
            }
            "-h" | "--help" => {
                println!(
                    "usage: kamaji-standin [--kubeconfig FILE] [--namespace NS] [--kamaji-version TAG] [--rotation-delay SECONDS] [--seed NAMESPACE/RELEASE]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    args.opts.namespace = namespace;
    args.opts.rotation_delay = delay;
    Ok(args)
}

async fn client(kubeconfig: Option<&PathBuf>) -> Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
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
    let work = async {
        if let Some((ns, release)) = &args.seed {
            e2e::kamaji::install_crd(client.clone()).await?;
            ensure_namespace(&client, ns).await?;
            let opts = SeedOptions {
                kamaji_version: version,
                ..SeedOptions::default()
            };
            let tcps: kube::Api<kube::api::DynamicObject> =
                kube::Api::namespaced_with(client.clone(), ns, &e2e::kamaji::api_resource());
            if tcps.get_opt(release).await?.is_none() {
                seed_tenant(&client, ns, release, &opts).await?;
            }
            wait_ready(&client, ns, release, Duration::from_secs(60)).await?;
            eprintln!("kamaji-standin: tenant {ns}/{release} is Ready");
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
