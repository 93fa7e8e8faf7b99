//! The rotation part of `cargo xtask bench` (alone: `cargo xtask bench rotate`):
//! Cozystack-shaped tenants served by the Kamaji stand-in on the bench control
//! plane, then
//!
//! - one tenant rotated `--runs` times: wall time, the time rotate-ca spent
//!   waiting for controllers (`waitedSeconds` of its report: Kamaji, the
//!   rollouts, kube-controller-manager and kwok replacing pods, the tenant
//!   API) and the rest, rotate-ca's own overhead; per phase too;
//! - all tenants in one command, `--parallel 1` and then `--parallel N`.
//!
//! No tenant API runs here: each live check ends `skipped` once its endpoint
//! stayed unreachable for 10 s, and that wait is counted as waiting.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use e2e::cozystack::{SeedOptions, seed_tenant};
use e2e::kamaji::{self, Standin, StandinOptions, wait_ready};
use serde_json::Value;

pub struct Options {
    pub tenants: usize,
    pub runs: usize,
}

/// One `rotate-ca` of one tenant.
struct Single {
    wall: Duration,
    seconds: f64,
    waited: f64,
    phases: Vec<(String, f64)>,
}

pub struct Results {
    tenants: usize,
    singles: Vec<Single>,
    sequential: Duration,
    parallel: Duration,
    /// Per phase, the slowest tenant of the parallel run.
    parallel_phases: Vec<(String, f64)>,
    kamaji_restarts: (usize, usize),
}

/// Seeds the tenants on `kubeconfig`'s cluster and measures; the stand-in
/// runs on `rt` for the duration.
pub fn run(rt: &tokio::runtime::Runtime, kubeconfig: &Path, pki: &Path, opts: &Options) -> Result<Results> {
    ensure!(opts.tenants >= 2, "--rotate-tenants must be at least 2");
    let client = rt.block_on(e2e::controlplane::client_for(kubeconfig))?;
    let ns = format!("bench-rotate-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs());
    let kamaji_ns = format!("{ns}-kamaji");
    let names: Vec<String> = (0..opts.tenants).map(|i| format!("kubernetes-t{i:02}")).collect();
    eprintln!("bench: rotation: {} tenants in {ns} (Kamaji stand-in 26.3.5-edge, 1 worker each)", names.len());
    rt.block_on(kamaji::install_crd(client.clone()))?;
    let standin = rt.spawn(Standin::run(client.clone(), StandinOptions::for_version("26.3.5-edge").in_namespace(&ns)));
    let result = (|| {
        rt.block_on(async {
            e2e::cozystack::ensure_namespace(&client, &ns).await?;
            for name in &names {
                let seed = SeedOptions {
                    kamaji_namespace: kamaji_ns.clone(),
                    endpoint: Some(e2e::TenantApi::endpoint(e2e::process::free_port()?)),
                    workers: 1,
                    other_tenant: false,
                    ..SeedOptions::default()
                };
                let tenant = seed_tenant(&client, &ns, name, &seed).await?;
                wait_ready(&client, &ns, &tenant.name, Duration::from_secs(120)).await?;
            }
            anyhow::Ok(())
        })?;
        let dir = tempfile::tempdir()?;
        let rotate = |tenants: &[String], extra: &[&str]| -> Result<(Duration, Value)> {
            let mut cmd = Command::new(pki);
            cmd.arg("--kubeconfig").arg(kubeconfig).arg("rotate-ca").args(tenants);
            cmd.args(["-n", &ns, "--kamaji-namespace", &kamaji_ns, "--dry-run=false", "--restart-workers", "--timeout", "3m", "-o", "json"]);
            cmd.args(extra).current_dir(dir.path());
            let started = Instant::now();
            let out = cmd.output().context("run kubectl-pki rotate-ca")?;
            let wall = started.elapsed();
            ensure!(out.status.success(), "rotate-ca {tenants:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            Ok((wall, serde_json::from_slice(&out.stdout).context("rotate-ca -o json")?))
        };
        let mut singles = Vec::new();
        for run in 1..=opts.runs {
            eprintln!("bench: rotation: one tenant, run {run}/{}", opts.runs);
            let (wall, report) = rotate(&names[..1], &[])?;
            singles.push(single(wall, &report)?);
        }
        eprintln!("bench: rotation: {} tenants, --parallel 1", names.len());
        let (sequential, _) = rotate(&names, &["--parallel", "1"])?;
        eprintln!("bench: rotation: {} tenants, --parallel {}", names.len(), names.len());
        let (parallel, list) = rotate(&names, &["--parallel", &names.len().to_string()])?;
        let items = list["items"].as_array().context("a report list")?;
        let performed = items.iter().filter(|r| r["kamajiPodsDeleted"].as_array().is_some_and(|a| !a.is_empty())).count();
        let per_tenant: Vec<Single> = items.iter().map(|r| single(parallel, r)).collect::<Result<_>>()?;
        let parallel_phases = per_tenant
            .first()
            .map(|s| s.phases.iter().enumerate().map(|(i, (name, _))| (name.clone(), per_tenant.iter().filter_map(|t| t.phases.get(i)).map(|p| p.1).fold(0.0, f64::max))).collect())
            .unwrap_or_default();
        Ok(Results { tenants: names.len(), singles, sequential, parallel, parallel_phases, kamaji_restarts: (performed, items.len()) })
    })();
    // Best effort: the namespaces go while the stand-in still runs (it holds finalizers).
    rt.block_on(async {
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
        for n in [&ns, &kamaji_ns] {
            let _ = api.delete(n, &Default::default()).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    standin.abort();
    result
}

fn single(wall: Duration, report: &Value) -> Result<Single> {
    ensure!(report["result"] == "rotated", "rotate-ca did not rotate: {report}");
    let phases = report["phases"]
        .as_array()
        .context("phases")?
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or("?").to_string(), p["seconds"].as_f64().unwrap_or(0.0)))
        .collect();
    Ok(Single {
        wall,
        seconds: report["seconds"].as_f64().context("seconds")?,
        waited: report["waitedSeconds"].as_f64().context("waitedSeconds")?,
        phases,
    })
}

/// Markdown for results.md and README.
pub fn render(r: &Results) -> String {
    let mut md = String::from("\nRotation (`rotate-ca --dry-run=false --restart-workers`, Kamaji stand-in, kwok pods):\n\n");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let wall = median(r.singles.iter().map(|s| s.wall.as_secs_f64()).collect());
    let total = median(r.singles.iter().map(|s| s.seconds).collect());
    let waited = median(r.singles.iter().map(|s| s.waited).collect());
    let own = median(r.singles.iter().map(|s| s.seconds - s.waited).collect());
    md.push_str("| one tenant (median of runs) | seconds |\n|---|---:|\n");
    md.push_str(&format!("| wall time of the command (process start to exit) | {wall:.1} |\n"));
    md.push_str(&format!("| rotation (lock to live check) | {total:.1} |\n"));
    md.push_str(&format!("| waiting for controllers (Kamaji, rollouts, pod replacement, tenant API) | {waited:.1} |\n"));
    md.push_str(&format!("| rotate-ca's own time in the rotation (requests, backup, checks) | {own:.1} |\n"));
    md.push_str(&format!("| rotate-ca's start-up and planning (kubeconfig, inventory, RBAC) | {:.1} |\n", (wall - total).max(0.0)));
    md.push_str(&format!("| **overhead beyond the controllers** | **{:.1}** |\n", own + (wall - total).max(0.0)));
    if let Some(first) = r.singles.first() {
        md.push_str(&format!("\n| phase | one tenant (median) | slowest of {} with `--parallel {}` |\n|---|---:|---:|\n", r.tenants, r.tenants));
        for (i, (name, _)) in first.phases.iter().enumerate() {
            let secs = median(r.singles.iter().filter_map(|s| s.phases.get(i).map(|p| p.1)).collect());
            let par = r.parallel_phases.get(i).map_or_else(|| "-".into(), |p| format!("{:.1}", p.1));
            md.push_str(&format!("| {name} | {secs:.1} | {par} |\n"));
        }
    }
    md.push_str(&format!(
        "\n{} tenants in one command: `--parallel 1` {:.1} s, `--parallel {}` {:.1} s ({:.1}x); the parallel run restarted the Kamaji controller {} time(s) for {} tenants.\n",
        r.tenants,
        r.sequential.as_secs_f64(),
        r.tenants,
        r.parallel.as_secs_f64(),
        r.sequential.as_secs_f64() / r.parallel.as_secs_f64().max(1e-9),
        r.kamaji_restarts.0,
        r.kamaji_restarts.1
    ));
    md.push_str("(No tenant API runs on the bench cluster: each live check is skipped after its endpoint stayed unreachable for 10 s, counted as waiting.)\n");
    md
}
