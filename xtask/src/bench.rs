//! `cargo xtask bench [--sizes 1000,10000] [--runs 3]`: `kubectl pki status`
//! against the two ways to get the same answer without it, on a control
//! plane of its own seeded with N TLS secrets ([`seed`]):
//!
//! - floor: `kubectl get secrets -A -o json > /dev/null` (the bytes must be
//!   listed whatever the tool);
//! - pipeline: that JSON piped through a script that runs
//!   `openssl x509 -enddate -noout` per certificate, as users write it;
//! - status: `kubectl-pki status -A -o json --source secrets` (release build).
//!
//! Each is run `--runs` times (the pipeline `--pipeline-runs`; `--skip-pipeline`: not at all), interleaved; the table shows the median wall
//! time and the peak RSS (`ru_maxrss` from `wait4`, i.e. the largest single
//! process of a pipeline). Then the crafted-bundle case ([`crafted`]; alone:
//! `cargo xtask bench crafted`) and the rotation benchmark ([`rotate`]; alone:
//! `cargo xtask bench rotate`). `cargo xtask bench down` stops the control plane.
//! `cargo xtask bench exporter` measures `kubectl-pki exporter -A` instead ([`exporter`]).
//! `cargo xtask bench tenants [--tenants 50,200]` measures `status --all-tenants -A` ([`tenants`]).

mod crafted;
mod exporter;
mod rotate;
mod seed;
mod tenants;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use e2e::controlplane::ControlPlane;
use e2e::process::{self, Lifetime};

use crate::{cargo, run_cmd};

/// The user's script: every certificate key of every secret, one openssl
/// process each (`openssl x509` reads the first certificate of a PEM).
const PIPELINE_PY: &str = r#"
import base64, json, subprocess, sys
doc = json.load(sys.stdin)
for s in doc["items"]:
    m = s["metadata"]
    for key, value in sorted((s.get("data") or {}).items()):
        if not key.endswith(".crt"):
            continue
        out = subprocess.run(["openssl", "x509", "-enddate", "-noout"],
                             input=base64.b64decode(value), capture_output=True)
        print(m["namespace"] + "/" + m["name"] + "/" + key, out.stdout.decode().strip())
"#;

const HELP_RUNS: usize = 20;

struct Options {
    sizes: Vec<usize>,
    runs: usize,
    /// The pipeline takes minutes at 10,000 secrets: fewer runs by default.
    pipeline_runs: usize,
    /// Tenants of the rotation benchmark (0: no rotation benchmark).
    rotate_tenants: usize,
    rotate_runs: usize,
    /// Run each bench tenant's API for real (live checks pass instead of skipping after 10 s).
    rotate_live: bool,
    /// `bench rotate`: the rotation benchmark only.
    rotate_only: bool,
    /// `bench crafted`: the crafted-bundle case only ([`crafted`]).
    crafted_only: bool,
    /// `bench exporter`: the exporter benchmark only ([`exporter`]).
    exporter_only: bool,
    /// `bench tenants`: the `status --all-tenants` benchmark only ([`tenants`]), at these sizes.
    tenants_only: bool,
    tenants: Vec<usize>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut opts = Options {
            sizes: vec![1000, 10000],
            runs: 5,
            pipeline_runs: 1,
            rotate_tenants: 10,
            rotate_runs: 3,
            rotate_live: true,
            rotate_only: false,
            crafted_only: false,
            exporter_only: false,
            tenants_only: false,
            tenants: vec![50, 200],
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--sizes" => {
                    opts.sizes = value()?
                        .split(',')
                        .map(|s| s.trim().parse().with_context(|| format!("--sizes: {s:?} is not a number")))
                        .collect::<Result<_>>()?
                }
                "--runs" => opts.runs = value()?.parse().context("--runs: not a number")?,
                "--pipeline-runs" => opts.pipeline_runs = value()?.parse().context("--pipeline-runs: not a number")?,
                "--rotate-tenants" => opts.rotate_tenants = value()?.parse().context("--rotate-tenants: not a number")?,
                "--rotate-runs" => opts.rotate_runs = value()?.parse().context("--rotate-runs: not a number")?,
                "rotate" => opts.rotate_only = true,
                "crafted" => opts.crafted_only = true,
                "exporter" => opts.exporter_only = true,
                "tenants" => opts.tenants_only = true,
                "--tenants" => {
                    opts.tenants = value()?
                        .split(',')
                        .map(|s| s.trim().parse().with_context(|| format!("--tenants: {s:?} is not a number")))
                        .collect::<Result<_>>()?
                }
                "--rotate-live" | "--rotate-live=true" => opts.rotate_live = true,
                "--rotate-live=false" => opts.rotate_live = false,
                // Minutes at 10,000 secrets; 0 runs leave it out of the report.
                "--skip-pipeline" => opts.pipeline_runs = 0,
                other => bail!(
                    "bench: unknown argument {other:?}; usage: cargo xtask bench [rotate | crafted | exporter | tenants] [--sizes 1000,10000] [--tenants 50,200] [--runs 5] [--pipeline-runs 1 | --skip-pipeline] [--rotate-tenants 10] [--rotate-runs 3] [--rotate-live=false] | down"
                ),
            }
        }
        ensure!(opts.runs > 0 && opts.rotate_runs > 0, "--runs and --rotate-runs must be at least 1");
        ensure!(!opts.rotate_only || opts.rotate_tenants >= 2, "bench rotate needs --rotate-tenants of at least 2");
        opts.sizes.sort_unstable();
        opts.sizes.dedup();
        opts.tenants.sort_unstable();
        opts.tenants.dedup();
        Ok(opts)
    }
}

/// One measured command: median wall time and the largest peak RSS seen.
#[derive(Debug, Clone, Copy)]
struct Measure {
    wall: Duration,
    rss_kib: u64,
}

struct SizeResult {
    n: usize,
    listed: usize,
    rows: usize,
    floor: Measure,
    status: Measure,
    /// None with `--skip-pipeline`.
    pipeline: Option<Measure>,
}

pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("down") => return down(),
        Some(MEASURE) => return measure_child(&args[1..]),
        _ => {}
    }
    let opts = Options::parse(args)?;
    let out_dir = e2e::target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;
    // `measure` re-runs this program; a copy survives a rebuild of xtask during the bench.
    let copy = out_dir.join("xtask-measure");
    std::fs::copy(std::env::current_exe()?, &copy).context("copy xtask for the measurements")?;
    let _ = MEASURER.set(copy);

    eprintln!("bench: [1/4] control plane of its own ({})", dir().display());
    let kubeconfig = control_plane()?;
    eprintln!("bench: [2/4] building kubectl-pki --release, kubectl, an RSA-2048 key");
    run_cmd(cargo().args(["build", "--quiet", "--release", "-p", "kubectl-pki", "--bin", "kubectl-pki"]))?;
    let pki = e2e::target_dir().join("release").join("kubectl-pki");
    let kubectl = e2e::binaries::kubectl()?;
    let rsa = rsa_key(&out_dir)?;
    let python = python()?;
    let script = out_dir.join("openssl-pipeline.py");
    std::fs::write(&script, PIPELINE_PY)?;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if opts.rotate_only {
        let results = rotate::run(
            &rt,
            &kubeconfig,
            &pki,
            &rotate::Options { tenants: opts.rotate_tenants, runs: opts.rotate_runs, live: opts.rotate_live },
        )?;
        let report = format!("Machine: {}; load average {}.\n{}", machine(), loadavg(), rotate::render(&results));
        std::fs::write(out_dir.join("rotate.md"), &report)?;
        println!("{report}");
        return Ok(());
    }
    let client = rt.block_on(e2e::controlplane::client_for(&kubeconfig))?;
    let kc = kubeconfig.display().to_string();
    if opts.crafted_only {
        let r = crafted::run(&rt, &client, &pki, &kc, opts.runs)?;
        let report = format!("Machine: {}; load average {}.\n{}", machine(), loadavg(), crafted::render(&r, opts.runs));
        std::fs::write(out_dir.join("crafted.md"), &report)?;
        println!("{report}");
        return Ok(());
    }
    if opts.tenants_only {
        let load_before = loadavg();
        let r = tenants::run(&rt, &client, &pki, &kc, &tenants::Options { sizes: opts.tenants.clone(), runs: opts.runs })?;
        let report =
            format!("Machine: {}; load average {load_before} before, {} after.\n{}", machine(), loadavg(), tenants::render(&r, opts.runs));
        std::fs::write(out_dir.join("tenants.md"), &report)?;
        println!("{report}");
        return Ok(());
    }
    if opts.exporter_only {
        let tools = exporter::Tools { pki: &pki, kubectl: &kubectl, kubeconfig: &kc, rsa: &rsa };
        let load_before = loadavg();
        let r = exporter::run(&rt, &client, &tools, &opts.sizes, opts.runs)?;
        let report = format!("Machine: {}; load average {load_before} before, {} after.\n{}", machine(), loadavg(), exporter::render(&r));
        std::fs::write(out_dir.join("exporter.md"), &report)?;
        println!("{report}");
        return Ok(());
    }
    let mut results = Vec::new();
    let load_before = loadavg();
    for &n in &opts.sizes {
        eprintln!("bench: [3/4] N={n}: seeding");
        rt.block_on(seed::ensure(&client, n, &rsa))?;
        let listed = rt.block_on(count_secrets(&client))?;
        let rows = check_status(&pki, &kc, n)?;

        let floor_cmd = || {
            let mut c = Command::new(&kubectl);
            c.args(["--kubeconfig", &kc, "get", "secrets", "-A", "-o", "json"]);
            c
        };
        let status_cmd = || {
            let mut c = Command::new(&pki);
            c.args(["--kubeconfig", &kc, "status", "-A", "-o", "json", "--source", "secrets"]);
            c
        };
        let pipeline_cmd = || {
            let mut c = Command::new("bash");
            let line = format!(
                "set -o pipefail; {} --kubeconfig {} get secrets -A -o json | {} {}",
                shell_quote(&kubectl),
                shell_quote(&kubeconfig),
                shell_quote(&python),
                shell_quote(&script)
            );
            c.args(["-c", &line]);
            c
        };
        let (mut floor, mut status, mut pipeline) = (Vec::new(), Vec::new(), Vec::new());
        for run in 1..=opts.runs.max(opts.pipeline_runs) {
            eprintln!("bench: N={n} run {run}/{}", opts.runs.max(opts.pipeline_runs));
            if run <= opts.runs {
                floor.push(measure(&mut floor_cmd(), &[0])?);
                // 3 and 4 are verdicts about the certificates, not failures.
                status.push(measure(&mut status_cmd(), &[0, 3, 4])?);
            }
            if run <= opts.pipeline_runs {
                pipeline.push(measure(&mut pipeline_cmd(), &[0])?);
            }
        }
        results.push(SizeResult {
            n,
            listed,
            rows,
            floor: median(&floor),
            status: median(&status),
            pipeline: (!pipeline.is_empty()).then(|| median(&pipeline)),
        });
    }

    eprintln!("bench: crafted bundle");
    let crafted = crafted::run(&rt, &client, &pki, &kc, opts.runs)?;

    eprintln!("bench: [4/4] --help ({HELP_RUNS} runs each)");
    let help_direct = median(&repeat(HELP_RUNS, || {
        let mut c = Command::new(&pki);
        c.arg("--help");
        c
    })?);
    let path = std::env::join_paths(
        std::iter::once(pki.parent().map(Path::to_path_buf).unwrap_or_default())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    let help_kubectl = median(&repeat(HELP_RUNS, || {
        let mut c = Command::new(&kubectl);
        c.args(["pki", "--help"]).env("PATH", &path);
        c
    })?);

    let rotation = if opts.rotate_tenants >= 2 {
        eprintln!("bench: rotation ({} tenants)", opts.rotate_tenants);
        Some(rotate::run(
            &rt,
            &kubeconfig,
            &pki,
            &rotate::Options { tenants: opts.rotate_tenants, runs: opts.rotate_runs, live: opts.rotate_live },
        )?)
    } else {
        None
    };
    let load = (load_before, loadavg());
    let mut report = render(&results, help_direct, help_kubectl, &opts, load);
    report.push_str(&crafted::render(&crafted, opts.runs));
    if let Some(r) = &rotation {
        report.push_str(&rotate::render(r));
    }
    let file = out_dir.join("results.md");
    std::fs::write(&file, &report)?;
    println!("{report}");
    eprintln!("bench: written to {}; the control plane keeps running (cargo xtask bench down)", file.display());
    Ok(())
}

/// Runs `cmd` with stdout discarded and returns its wall time and
/// `ru_maxrss`, failing unless it exits with one of `ok`.
///
/// Linux carries a process's RSS high-water mark across `exec` into the
/// new program, so a child spawned by this (large, long-lived) process
/// would report at least our own peak. `cmd` is therefore started by a
/// fresh, small copy of xtask ([`measure_child`]) that reports back.
fn measure(cmd: &mut Command, ok: &[i32]) -> Result<Measure> {
    let line = format!("{cmd:?}");
    let report = tempfile::NamedTempFile::new()?;
    let mut wrapper = Command::new(match MEASURER.get() {
        Some(copy) => copy.clone(),
        None => std::env::current_exe()?,
    });
    wrapper.args(["bench", MEASURE]).arg(report.path()).arg(cmd.get_program()).args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapper.env(key, v),
            None => wrapper.env_remove(key),
        };
    }
    let out =
        wrapper.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output().with_context(|| format!("start {line}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "measuring {line} failed: {}", stderr.trim());
    let text = std::fs::read_to_string(report.path())?;
    let fields: Vec<i64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let [wall_ns, rss_kib, code] = fields[..] else { bail!("measuring {line}: bad report {text:?}") };
    ensure!(ok.contains(&(code as i32)), "{line} exited with {code}: {}", stderr.trim());
    Ok(Measure { wall: Duration::from_nanos(wall_ns as u64), rss_kib: rss_kib as u64 })
}

const MEASURE: &str = "__measure";

/// The copy of xtask that [`measure`] runs.
static MEASURER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// `xtask bench __measure REPORT PROGRAM ARGS...`: runs PROGRAM (stdio
/// inherited) and writes `wall_ns maxrss_kib exit_code` to REPORT.
fn measure_child(args: &[String]) -> Result<()> {
    let [report, program, rest @ ..] = args else { bail!("usage: bench {MEASURE} REPORT PROGRAM [ARGS...]") };
    let started = Instant::now();
    let child = Command::new(program).args(rest).spawn().with_context(|| format!("start {program}"))?;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    ensure!(pid > 0, "wait for {program}: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    std::fs::write(report, format!("{} {} {code}\n", wall.as_nanos(), usage.ru_maxrss))?;
    Ok(())
}

fn repeat(runs: usize, cmd: impl Fn() -> Command) -> Result<Vec<Measure>> {
    (0..runs).map(|_| measure(&mut cmd(), &[0])).collect()
}

/// Median wall time; peak RSS is the maximum over the runs.
fn median(samples: &[Measure]) -> Measure {
    let mut walls: Vec<Duration> = samples.iter().map(|m| m.wall).collect();
    walls.sort_unstable();
    Measure { wall: walls[walls.len() / 2], rss_kib: samples.iter().map(|m| m.rss_kib).max().unwrap_or(0) }
}

/// One run outside the timings: the JSON holds a row per certificate (two
/// per bench secret), and no list page exceeds 500 secrets.
fn check_status(pki: &Path, kubeconfig: &str, n: usize) -> Result<usize> {
    let out = Command::new(pki)
        .args(["--kubeconfig", kubeconfig, "status", "-A", "-o", "json", "--source", "secrets"])
        .env("RUST_LOG", "kubectl_pki::status=debug")
        .env("NO_COLOR", "1")
        .output()
        .context("run kubectl-pki status")?;
    ensure!(matches!(out.status.code(), Some(0 | 3 | 4)), "status failed: {}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).context("status -o json is not JSON")?;
    let rows = doc["items"].as_array().map_or(0, Vec::len);
    ensure!(rows >= 2 * n, "status listed {rows} certificates, expected at least {}", 2 * n);
    let pages: Vec<usize> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("secrets page"))
        .filter_map(|l| l.split("count=").nth(1)?.split_whitespace().next()?.parse().ok())
        .collect();
    ensure!(!pages.is_empty(), "no page sizes in status's debug log");
    let largest = pages.iter().copied().max().unwrap_or(0);
    ensure!(largest <= 500, "status read a page of {largest} secrets (limit 500)");
    eprintln!("bench: status: {rows} certificates in {} pages of at most {largest} secrets", pages.len());
    Ok(rows)
}

async fn count_secrets(client: &kube::Client) -> Result<usize> {
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::all(client.clone());
    let page = api.list_metadata(&kube::api::ListParams::default().limit(1)).await?;
    Ok(page.items.len() + page.metadata.remaining_item_count.unwrap_or(0) as usize)
}

/// An RSA-2048 key made once with openssl and reused (PKCS#8 PEM).
fn rsa_key(out_dir: &Path) -> Result<String> {
    kubectl_pki_testkit::rsa_2048_pem(&out_dir.join("rsa-2048.key")).context("make the bench's RSA key with openssl")
}

/// The real python3 executable (pyenv shims are shell scripts whose start-up
/// would be charged to the pipeline).
fn python() -> Result<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .context("python3 is needed for the openssl pipeline")?;
    ensure!(out.status.success(), "python3 failed");
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

// --- the control plane ------------------------------------------------------

fn dir() -> PathBuf {
    e2e::target_dir().join("e2e").join("bench")
}

/// Starts the bench control plane unless it runs; seeded secrets survive
/// between runs only while it does.
fn control_plane() -> Result<PathBuf> {
    let procs = read_state();
    if !procs.is_empty() && procs.iter().all(|(_, pid, exe)| process::runs(*pid, exe)) {
        eprintln!("bench: reusing the running control plane");
        return Ok(dir().join("kubeconfig"));
    }
    down()?;
    let cp = ControlPlane::start(&dir(), Lifetime::Detached)?;
    let lines: Vec<String> = cp.processes.iter().map(|(n, pid, exe)| format!("{n}\t{pid}\t{}\n", exe.display())).collect();
    std::fs::write(dir().join("processes"), lines.concat())?;
    Ok(cp.kubeconfig.clone())
}

fn down() -> Result<()> {
    for (name, pid, exe) in read_state().iter().rev() {
        if process::stop_pid(*pid, exe, Duration::from_secs(10)) {
            eprintln!("bench: stopped {name} (pid {pid})");
        }
    }
    let _ = std::fs::remove_file(dir().join("processes"));
    Ok(())
}

fn read_state() -> Vec<(String, u32, PathBuf)> {
    let text = std::fs::read_to_string(dir().join("processes")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some((parts.next()?.to_string(), parts.next()?.parse().ok()?, PathBuf::from(parts.next()?)))
        })
        .collect()
}

// --- the report -------------------------------------------------------------

fn render(results: &[SizeResult], help: Measure, help_kubectl: Measure, opts: &Options, load: (String, String)) -> String {
    let mut md = String::new();
    md.push_str(&format!("Machine: {}; load average {} before the measurements, {} after.\n\n", machine(), load.0, load.1));
    md.push_str(&format!(
        "Median of {} runs ({} for the pipeline), interleaved; peak RSS is the largest process's `ru_maxrss`. \
         Floor: `kubectl get secrets -A -o json > /dev/null`. Pipeline: the same piped through \
         python3 running `openssl x509 -enddate -noout` per certificate (tls.crt and ca.crt).\n\n",
        opts.runs, opts.pipeline_runs
    ));
    md.push_str("| N secrets | tool | median wall | peak RSS | vs floor | vs pipeline |\n");
    md.push_str("|---:|---|---:|---:|---:|---:|\n");
    for r in results {
        for (tool, m) in [
            ("`kubectl get` (floor)", Some(r.floor)),
            ("`kubectl get` + openssl per cert", r.pipeline),
            ("`kubectl pki status -A -o json`", Some(r.status)),
        ] {
            let Some(m) = m else { continue };
            md.push_str(&format!(
                "| {} | {tool} | {} | {} | {:.2}x | {} |\n",
                r.n,
                secs(m.wall),
                mib(m.rss_kib),
                ratio(m.wall, r.floor.wall),
                r.pipeline.map_or_else(|| "-".into(), |p| format!("{:.3}x", ratio(m.wall, p.wall)))
            ));
        }
    }
    md.push_str(&format!(
        "\n`kubectl-pki --help`: {} median of {HELP_RUNS} runs ({} peak RSS); through kubectl's plugin \
         discovery (`kubectl pki --help`): {}.\n",
        ms(help.wall),
        mib(help.rss_kib),
        ms(help_kubectl.wall)
    ));
    md.push_str("\nGoals (issue 7):\n");
    if let Some(big) = results.iter().max_by_key(|r| r.n) {
        let vs_floor = ratio(big.status.wall, big.floor.wall);
        md.push_str(&format!("- status at N={} within 1.5x of the floor: {:.2}x: {}\n", big.n, vs_floor, verdict(vs_floor <= 1.5)));
        match big.pipeline {
            Some(p) => {
                let speedup = ratio(p.wall, big.status.wall);
                md.push_str(&format!("- status at least 10x faster than the pipeline: {speedup:.1}x: {}\n", verdict(speedup >= 10.0)));
            }
            None => md.push_str("- status at least 10x faster than the pipeline: not measured (--skip-pipeline)\n"),
        }
        let rss = big.status.rss_kib as f64 / 1024.0;
        md.push_str(&format!("- status peak RSS under 64 MiB at N={}: {rss:.1} MiB: {}\n", big.n, verdict(rss < 64.0)));
    }
    let rss: Vec<String> = results.iter().map(|r| format!("{} at {}", mib(r.status.rss_kib), r.n)).collect();
    md.push_str(&format!("- status peak RSS by N: {}\n", rss.join(", ")));
    md.push_str(&format!("- `--help` under 20 ms: {}: {}\n", ms(help.wall), verdict(help.wall < Duration::from_millis(20))));
    let counts: Vec<String> =
        results.iter().map(|r| format!("N={}: {} secrets listed, {} certificate rows", r.n, r.listed, r.rows)).collect();
    md.push_str(&format!("\n({}; the few extra secrets are the control plane's own.)\n", counts.join("; ")));
    md
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The 1-minute load average: the machine may be shared.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(String::from)).unwrap_or_else(|| "?".into())
}

/// `nproc`, memory and CPU model, from /proc.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_string()));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:")?.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    format!(
        "{cpus} CPUs ({}), {:.1} GiB RAM, {} {}",
        model.unwrap_or_else(|| "unknown CPU".into()),
        mem_kib as f64 / 1024.0 / 1024.0,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
