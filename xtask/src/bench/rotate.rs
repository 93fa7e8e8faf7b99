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
//! With `--rotate-live` (the default) each tenant's API runs for real
//! ([`e2e::TenantApi`]: a kube-apiserver from its secrets on the bench control
//! plane, restarted when they change), so rotate-ca's live check completes as
//! on a real cluster. With `--rotate-live=false` each live check ends `skipped`
//! once its endpoint stayed unreachable for 10 s, counted as waiting.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use e2e::cozystack::{SeedOptions, seed_tenant};
use e2e::kamaji::{self, Standin, StandinOptions, wait_ready};
use e2e::{Host, TenantApi, TenantApiOptions};
use serde_json::Value;

pub struct Options {
    pub tenants: usize,
    pub runs: usize,
    /// `--rotate-live`: run every tenant's API for real.
    pub live: bool,
}

/// What the tenant APIs did: kube-apiserver starts (the first and one per restart) and their
/// time to ready.
#[derive(Default)]
struct ApiStarts {
    apis: usize,
    ready_in: Vec<f64>,
}

/// One `rotate-ca` of one tenant.
struct Single {
    wall: Duration,
    seconds: f64,
    waited: f64,
    phases: Vec<(String, f64)>,
    /// `liveCheck.verdict`: passed, skipped, or failed.
    live_check: String,
}

pub struct Results {
    tenants: usize,
    singles: Vec<Single>,
    sequential: Duration,
    parallel: Duration,
    /// Per phase, the slowest tenant of the parallel run.
    parallel_phases: Vec<(String, f64)>,
    kamaji_restarts: (usize, usize),
    /// Live-check verdicts of every rotation, counted.
    live_checks: std::collections::BTreeMap<String, usize>,
    /// `--rotate-live`: every tenant's API ran (for the one-tenant runs and the N-tenant
    /// comparison alike; measured on 2 cores, the 10 idle kube-apiservers take ~7% of a core).
    live: bool,
    api_starts: ApiStarts,
}

/// Seeds the tenants on `kubeconfig`'s cluster and measures; the stand-in
/// runs on `rt` for the duration.
pub fn run(rt: &tokio::runtime::Runtime, kubeconfig: &Path, pki: &Path, opts: &Options) -> Result<Results> {
    ensure!(opts.tenants >= 2, "--rotate-tenants must be at least 2");
    let live = opts.live;
    // The bench control plane's etcd and binary, for the tenants' kube-apiservers.
    let host = if live { Some(Host::read(kubeconfig.parent().context("the bench kubeconfig's directory")?)?) } else { None };
    let client = rt.block_on(e2e::controlplane::client_for(kubeconfig))?;
    let ns = format!("bench-rotate-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs());
    let kamaji_ns = format!("{ns}-kamaji");
    let names: Vec<String> = (0..opts.tenants).map(|i| format!("kubernetes-t{i:02}")).collect();
    eprintln!("bench: rotation: {} tenants in {ns} (Kamaji stand-in 26.3.5-edge, 1 worker each)", names.len());
    rt.block_on(kamaji::install_crd(client.clone()))?;
    let standin = rt.spawn(Standin::run(client.clone(), StandinOptions::for_version("26.3.5-edge").in_namespace(&ns)));
    // Dropped (their kube-apiservers stopped) before the namespaces go.
    let mut apis: Vec<TenantApi> = Vec::new();
    let result = (|| {
        rt.block_on(async {
            e2e::cozystack::ensure_namespace(&client, &ns).await?;
            for name in &names {
                let port = e2e::process::free_port()?;
                let seed = SeedOptions {
                    kamaji_namespace: kamaji_ns.clone(),
                    endpoint: Some(TenantApi::endpoint(port)),
                    workers: 1,
                    other_tenant: false,
                    ..SeedOptions::default()
                };
                let tenant = seed_tenant(&client, &ns, name, &seed).await?;
                wait_ready(&client, &ns, &tenant.name, Duration::from_secs(120)).await?;
                if let Some(host) = &host {
                    let opts = TenantApiOptions { port: Some(port), host: Some(host.clone()), ..TenantApiOptions::default() };
                    let api = TenantApi::spawn(&client, &ns, &tenant.name, opts)
                        .await
                        .with_context(|| format!("tenant API of {}", tenant.name))?;
                    eprintln!("bench: rotation: {} serves on {} (log {})", tenant.name, api.url, api.log().display());
                    apis.push(api);
                }
            }
            anyhow::Ok(())
        })?;
        let dir = tempfile::tempdir()?;
        let rotate = |tenants: &[String], extra: &[&str]| -> Result<(Duration, Value)> {
            let mut cmd = Command::new(pki);
            cmd.arg("--kubeconfig").arg(kubeconfig).arg("rotate-ca").args(tenants);
            cmd.args([
                "-n",
                &ns,
                "--kamaji-namespace",
                &kamaji_ns,
                "--dry-run=false",
                "--restart-workers",
                "--timeout",
                "3m",
                "-o",
                "json",
            ]);
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
        let (sequential, sequential_list) = rotate(&names, &["--parallel", "1"])?;
        eprintln!("bench: rotation: {} tenants, --parallel {}", names.len(), names.len());
        let (parallel, list) = rotate(&names, &["--parallel", &names.len().to_string()])?;
        let items = list["items"].as_array().context("a report list")?;
        let performed = items.iter().filter(|r| r["kamajiPodsDeleted"].as_array().is_some_and(|a| !a.is_empty())).count();
        let per_tenant: Vec<Single> = items.iter().map(|r| single(parallel, r)).collect::<Result<_>>()?;
        let sequential_items = sequential_list["items"].as_array().context("a report list")?;
        let mut live_checks = std::collections::BTreeMap::new();
        for verdict in singles.iter().chain(&per_tenant).map(|s| s.live_check.clone()).chain(sequential_items.iter().map(live_verdict)) {
            *live_checks.entry(verdict).or_insert(0) += 1;
        }
        let parallel_phases = per_tenant
            .first()
            .map(|s| {
                s.phases
                    .iter()
                    .enumerate()
                    .map(|(i, (name, _))| {
                        (name.clone(), per_tenant.iter().filter_map(|t| t.phases.get(i)).map(|p| p.1).fold(0.0, f64::max))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Results {
            tenants: names.len(),
            singles,
            sequential,
            parallel,
            parallel_phases,
            kamaji_restarts: (performed, items.len()),
            live_checks,
            live,
            api_starts: ApiStarts::default(),
        })
    })();
    let api_starts =
        ApiStarts { apis: apis.len(), ready_in: apis.iter().flat_map(|a| a.status().starts).map(|(_, d)| d.as_secs_f64()).collect() };
    drop(apis);
    let result = result.map(|r| Results { api_starts, ..r });
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
        live_check: live_verdict(report),
    })
}

fn live_verdict(report: &Value) -> String {
    report["liveCheck"]["verdict"].as_str().unwrap_or("none").to_string()
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
        md.push_str(&format!(
            "\n| phase | one tenant (median) | slowest of {} with `--parallel {}` |\n|---|---:|---:|\n",
            r.tenants, r.tenants
        ));
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
    let verdicts: Vec<String> = r.live_checks.iter().map(|(v, n)| format!("{n} {v}")).collect();
    md.push_str(&format!("Live checks of all {} rotations: {}. ", r.live_checks.values().sum::<usize>(), verdicts.join(", ")));
    md.push_str(&live_note(r.live, &r.api_starts));
    md
}

fn live_note(live: bool, starts: &ApiStarts) -> String {
    if !live {
        return "(`--rotate-live=false`: no tenant API runs; each live check is skipped after its endpoint stayed unreachable for 10 s, counted as waiting.)\n".into();
    }
    let mut ready = starts.ready_in.clone();
    ready.sort_by(f64::total_cmp);
    let median = ready.get(ready.len() / 2).copied().unwrap_or(0.0);
    let max = ready.last().copied().unwrap_or(0.0);
    format!(
        "(Live tenant APIs: a kube-apiserver per tenant ({}) run from its secrets on the bench control plane and restarted when they change, like a rollout; \
         {} starts, ready {median:.1} s after each (median; slowest {max:.1} s); a live check that meets the old process or none retries, counted as waiting.)\n",
        starts.apis,
        ready.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_says_whether_tenant_apis_ran() {
        let off = live_note(false, &ApiStarts::default());
        assert!(off.contains("--rotate-live=false") && off.contains("skipped"), "{off}");
        let on = live_note(true, &ApiStarts { apis: 2, ready_in: vec![2.0, 9.0, 2.5] });
        assert!(on.contains("per tenant (2)") && on.contains("3 starts, ready 2.5 s") && on.contains("slowest 9.0 s"), "{on}");
    }
}
