//! `cargo xtask bench exporter [--sizes 1000,10000] [--runs 5]`: the
//! long-running `kubectl-pki exporter -A` (release build) on the bench
//! control plane seeded with N TLS secrets ([`super::seed`]):
//!
//! - time to ready: from spawning it to `/readyz` answering 200 (polled
//!   every 20 ms), against the floor `kubectl get secrets -A -o json >
//!   /dev/null`, both `--runs` times, interleaved;
//! - memory: `VmHWM` (peak) and `VmRSS` from `/proc/<pid>/status` once
//!   ready, after [`SCRAPES`] scrapes and after the change probes. Not
//!   `wait4`: an exec'd program starts with a fresh `mm`, so its `VmHWM`
//!   is its own;
//! - `/metrics`: median duration of [`SCRAPES`] scrapes, the body's size,
//!   its `x509_cert_not_after` series (all, and those of the bench
//!   namespaces: two per secret, `tls.crt` and `ca.crt`);
//! - change latency: a new TLS secret (a fresh leaf) created in
//!   [`NAMESPACE`], timed from the create request to the end of the first
//!   scrape naming it, then its delete until a scrape no longer does;
//!   median of [`CHANGES`]. Scrapes run back to back (20 ms apart), so the
//!   resolution is one scrape.
//!
//! Every exporter is stopped with SIGTERM and must exit 0; its stderr is
//! kept in `target/bench/exporter-<N>-<run>.log`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kubectl_pki_testkit::{KeyType, TestCert, issue, kubeadm};

use super::Measure;

/// Where the change probes' secrets are made (not a seeded namespace: the
/// seed's counts stay exact).
pub const NAMESPACE: &str = "bench-exporter";
const SCRAPES: usize = 10;
const CHANGES: usize = 5;
const POLL: Duration = Duration::from_millis(20);
const READY_WITHIN: Duration = Duration::from_secs(300);
const CHANGE_WITHIN: Duration = Duration::from_secs(60);
const STOP_WITHIN: Duration = Duration::from_secs(30);
const SERIES: &str = "x509_cert_not_after{";

/// `VmHWM` and `VmRSS`, KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub hwm_kib: u64,
    pub rss_kib: u64,
}

pub struct SizeResult {
    pub n: usize,
    /// Secrets in the cluster (the control plane's own and other benches' too).
    pub listed: usize,
    pub floor: Measure,
    /// Every run's time to ready, sorted.
    pub ready_runs: Vec<Duration>,
    /// Largest `VmHWM` and `VmRSS` seen right after ready, over the runs.
    pub at_ready: Memory,
    /// The last run's.
    pub steady: Steady,
    /// "secrets synced" of the last run's log (its count of secrets with certificates).
    pub synced: Option<usize>,
    /// SIGTERM to exit, the slowest of the runs.
    pub stop: Duration,
}

/// One ready exporter, scraped and changed.
pub struct Steady {
    pub after_scrapes: Memory,
    pub after_changes: Memory,
    /// Scrapes answered by then.
    pub total_scrapes: usize,
    /// Sorted.
    pub scrapes: Vec<Duration>,
    pub body_bytes: usize,
    pub series: usize,
    pub bench_series: usize,
    /// Sorted.
    pub create_runs: Vec<Duration>,
    pub delete_runs: Vec<Duration>,
}

/// What [`run`] starts and where.
pub struct Tools<'a> {
    pub pki: &'a Path,
    pub kubectl: &'a Path,
    pub kubeconfig: &'a str,
    /// The seed's RSA key (PEM).
    pub rsa: &'a str,
}

fn mid(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

pub struct Results {
    pub runs: usize,
    pub sizes: Vec<SizeResult>,
}

pub fn run(rt: &tokio::runtime::Runtime, client: &Client, tools: &Tools<'_>, sizes: &[usize], runs: usize) -> Result<Results> {
    let Tools { pki, kubectl, kubeconfig, rsa } = *tools;
    let out_dir = e2e::target_dir().join("bench");
    let probe_ca = rt.block_on(prepare(client))?;
    let mut results = Vec::new();
    for &n in sizes {
        eprintln!("bench: exporter: N={n}: seeding");
        rt.block_on(super::seed::ensure(client, n, rsa))?;
        let listed = rt.block_on(super::count_secrets(client))?;
        let floor_cmd = || {
            let mut c = Command::new(kubectl);
            c.args(["--kubeconfig", kubeconfig, "get", "secrets", "-A", "-o", "json"]);
            c
        };
        let (mut floor, mut ready_runs, mut at_ready, mut stop) = (Vec::new(), Vec::new(), Memory::default(), Duration::ZERO);
        let mut last = None;
        for run in 1..=runs {
            eprintln!("bench: exporter: N={n} run {run}/{runs}");
            floor.push(super::measure(&mut floor_cmd(), &[0])?);
            let log = out_dir.join(format!("exporter-{n}-{run}.log"));
            let mut exporter = Exporter::start(pki, kubeconfig, &log)?;
            let ready = exporter.wait_ready()?;
            let mem = exporter.memory()?;
            eprintln!("bench: exporter: ready in {:.2?}, VmHWM {}", ready, super::mib(mem.hwm_kib));
            ready_runs.push(ready);
            at_ready.hwm_kib = at_ready.hwm_kib.max(mem.hwm_kib);
            at_ready.rss_kib = at_ready.rss_kib.max(mem.rss_kib);
            if run == runs {
                last = Some(steady(rt, client, &exporter, &probe_ca)?);
            }
            stop = stop.max(exporter.stop()?);
        }
        let steady = last.context("no run")?;
        let synced = synced_count(&out_dir.join(format!("exporter-{n}-{runs}.log")));
        ready_runs.sort_unstable();
        if steady.bench_series != 2 * n {
            eprintln!("bench: exporter: N={n}: {} bench series, expected {}", steady.bench_series, 2 * n);
        }
        let r = SizeResult { n, listed, floor: super::median(&floor), ready_runs, at_ready, steady, synced, stop };
        results.push(r);
    }
    Ok(Results { runs, sizes: results })
}

/// Scrapes, memory and change latency of one ready exporter.
fn steady(rt: &tokio::runtime::Runtime, client: &Client, exporter: &Exporter, ca: &TestCert) -> Result<Steady> {
    let mut durations = Vec::new();
    let mut shape = None;
    for _ in 0..SCRAPES {
        let (took, body) = exporter.scrape()?;
        durations.push(took);
        let counts = (body.len(), count_series(&body));
        if let Some(previous) = shape
            && previous != counts
        {
            eprintln!("bench: exporter: scrapes differ: {previous:?} then {counts:?} (bytes, (series, bench series))");
        }
        shape = Some(counts);
    }
    durations.sort_unstable();
    let (body_bytes, (series, bench_series)) = shape.context("no scrape")?;
    let after_scrapes = exporter.memory()?;

    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let (mut create_runs, mut delete_runs) = (Vec::new(), Vec::new());
    for i in 0..CHANGES {
        let name = format!("exporter-probe-{i}");
        let secret = probe_secret(&name, ca)?;
        let needle = format!("secret_name=\"{name}\"");
        let started = Instant::now();
        rt.block_on(secrets.create(&PostParams::default(), &secret)).with_context(|| format!("create {NAMESPACE}/{name}"))?;
        create_runs.push(exporter.until(started, |body| body.contains(&needle)).with_context(|| format!("{NAMESPACE}/{name} created"))?);
        let started = Instant::now();
        rt.block_on(secrets.delete(&name, &DeleteParams::default())).with_context(|| format!("delete {NAMESPACE}/{name}"))?;
        delete_runs.push(exporter.until(started, |body| !body.contains(&needle)).with_context(|| format!("{NAMESPACE}/{name} deleted"))?);
    }
    create_runs.sort_unstable();
    delete_runs.sort_unstable();
    Ok(Steady {
        after_scrapes,
        after_changes: exporter.memory()?,
        total_scrapes: exporter.scrapes.get(),
        scrapes: durations,
        body_bytes,
        series,
        bench_series,
        create_runs,
        delete_runs,
    })
}

/// The probes' namespace, emptied of probes an interrupted run left; the CA that signs them.
async fn prepare(client: &Client) -> Result<TestCert> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(NAMESPACE).await?.is_none() {
        let ns = Namespace { metadata: ObjectMeta { name: Some(NAMESPACE.into()), ..Default::default() }, ..Default::default() };
        namespaces.create(&PostParams::default(), &ns).await.context("create the exporter probes' namespace")?;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    secrets.delete_collection(&DeleteParams::default(), &Default::default()).await.context("remove old probes")?;
    Ok(issue(kubeadm::ca("exporter-probe-ca"), KeyType::EcdsaP256.generate()?, None)?)
}

/// A `kubernetes.io/tls` secret with a fresh ECDSA leaf signed by `ca`.
fn probe_secret(name: &str, ca: &TestCert) -> Result<Secret> {
    let leaf = issue(kubeadm::serving(name, &[&format!("{name}.{NAMESPACE}.svc")])?, KeyType::EcdsaP256.generate()?, Some(&ca.issuer))?;
    let data = [("tls.crt", leaf.pem), ("tls.key", leaf.key_pem), ("ca.crt", ca.pem.clone())]
        .into_iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
        .collect();
    Ok(Secret {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        type_: Some("kubernetes.io/tls".into()),
        data: Some(data),
        ..Default::default()
    })
}

/// `x509_cert_not_after` series: all, and those of the seeded namespaces (`bench-<digits>`).
fn count_series(body: &str) -> (usize, usize) {
    let lines = body.lines().filter(|l| l.starts_with(SERIES));
    let (mut all, mut bench) = (0, 0);
    for line in lines {
        all += 1;
        let ns = line.split("secret_namespace=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
        if ns.strip_prefix("bench-").is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
            bench += 1;
        }
    }
    (all, bench)
}

/// The `secrets=` of the last "secrets synced" line of a log.
fn synced_count(log: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| l.contains("secrets synced"))?
        .split("secrets=")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// One running `kubectl-pki exporter -A`.
struct Exporter {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    started: Instant,
    /// `/metrics` answers so far.
    scrapes: std::cell::Cell<usize>,
}

impl Exporter {
    fn start(pki: &Path, kubeconfig: &str, log: &Path) -> Result<Exporter> {
        let addr = free_port()?;
        let stderr = std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let started = Instant::now();
        let child = Command::new(pki)
            .args(["--kubeconfig", kubeconfig, "exporter", "-A", "--listen", &addr.to_string()])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("start kubectl-pki exporter")?;
        Ok(Exporter { child, addr, log: log.to_path_buf(), started, scrapes: Default::default() })
    }

    /// Since the spawn, until `/readyz` answers 200.
    fn wait_ready(&mut self) -> Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the exporter exited ({status}) before it was ready; its log ({}):\n{}", self.log.display(), self.log_tail());
            }
            if let Ok((200, _)) = get(self.addr, "/readyz") {
                return Ok(self.started.elapsed());
            }
            if self.started.elapsed() > READY_WITHIN {
                bail!("/readyz not 200 after {READY_WITHIN:?}; log ({}):\n{}", self.log.display(), self.log_tail());
            }
            std::thread::sleep(POLL);
        }
    }

    fn scrape(&self) -> Result<(Duration, String)> {
        let started = Instant::now();
        let (code, body) = get(self.addr, "/metrics")?;
        let took = started.elapsed();
        ensure!(code == 200, "/metrics answered {code}");
        self.scrapes.set(self.scrapes.get() + 1);
        Ok((took, String::from_utf8(body).context("/metrics is not UTF-8")?))
    }

    /// From `started` to the end of the first scrape whose body satisfies `seen`.
    fn until(&self, started: Instant, seen: impl Fn(&str) -> bool) -> Result<Duration> {
        loop {
            let (_, body) = self.scrape()?;
            if seen(&body) {
                return Ok(started.elapsed());
            }
            ensure!(started.elapsed() < CHANGE_WITHIN, "not seen by a scrape within {CHANGE_WITHIN:?}; log:\n{}", self.log_tail());
            std::thread::sleep(POLL);
        }
    }

    fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).context("read the exporter's /proc status")?;
        let field = |name: &str| -> Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name)?.split_whitespace().next()?.parse().ok())
                .with_context(|| format!("no {name} in /proc/{}/status", self.child.id()))
        };
        Ok(Memory { hwm_kib: field("VmHWM:")?, rss_kib: field("VmRSS:")? })
    }

    /// SIGTERM; it must exit 0. How long it took.
    fn stop(mut self) -> Result<Duration> {
        let started = Instant::now();
        // SAFETY: kill(2) on our own child, which has not been reaped.
        ensure!(unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) } == 0, "SIGTERM: {}", std::io::Error::last_os_error());
        loop {
            if let Some(status) = self.child.try_wait()? {
                ensure!(
                    status.code() == Some(0),
                    "the exporter exited with {status} after SIGTERM; log ({}):\n{}",
                    self.log.display(),
                    self.log_tail()
                );
                return Ok(started.elapsed());
            }
            if started.elapsed() > STOP_WITHIN {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("the exporter did not exit within {STOP_WITHIN:?} of SIGTERM (killed); log:\n{}", self.log_tail());
            }
            std::thread::sleep(POLL);
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// A port nobody listens on now (the exporter binds it right after).
fn free_port() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?)
}

/// `GET path` over HTTP/1.1 with `Connection: close`: status code and body.
fn get(addr: SocketAddr, path: &str) -> Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").context("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).context("no status code")?;
    let body = raw.split_off(end + 4);
    if head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked")) {
        return Ok((code, dechunk(&body)?));
    }
    Ok((code, body))
}

fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n").context("bad chunk")?;
        let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..eol]).split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        let data = raw.get(eol + 2..eol + 2 + size).context("short chunk")?;
        out.extend_from_slice(data);
        raw = raw.get(eol + 4 + size..).context("short chunk")?;
    }
}

// --- the report -------------------------------------------------------------

pub fn render(r: &Results) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "\nExporter: `kubectl-pki exporter -A` (release), {} runs per N, interleaved with the floor \
         `kubectl get secrets -A -o json > /dev/null`. Time to ready: spawn to `/readyz` 200 (polled every {} ms). \
         Memory: `VmHWM` / `VmRSS` of /proc/<pid>/status. Scrapes: {SCRAPES} of `/metrics` (the last run). \
         Changes: a new TLS secret, then its delete, until a scrape shows it (median of {CHANGES}, scrapes back to back).\n\n",
        r.runs,
        POLL.as_millis()
    ));
    md.push_str(
        "| N secrets | time to ready (median) | floor | vs floor | VmHWM at ready | VmHWM / VmRSS after scrapes | after changes |\n",
    );
    md.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in &r.sizes {
        md.push_str(&format!(
            "| {} | {} | {} | {:.2}x | {} | {} / {} | {} / {} |\n",
            s.n,
            super::secs(mid(&s.ready_runs)),
            super::secs(s.floor.wall),
            super::ratio(mid(&s.ready_runs), s.floor.wall),
            super::mib(s.at_ready.hwm_kib),
            super::mib(s.steady.after_scrapes.hwm_kib),
            super::mib(s.steady.after_scrapes.rss_kib),
            super::mib(s.steady.after_changes.hwm_kib),
            super::mib(s.steady.after_changes.rss_kib),
        ));
    }
    md.push_str(
        "\n| N secrets | scrape (median / max) | /metrics size | `x509_cert_not_after` series (bench) | create seen | delete seen |\n",
    );
    md.push_str("|---:|---:|---:|---:|---:|---:|\n");
    for s in &r.sizes {
        let t = &s.steady;
        md.push_str(&format!(
            "| {} | {} / {} | {:.1} MiB | {} ({}) | {} | {} |\n",
            s.n,
            super::ms(mid(&t.scrapes)),
            super::ms(t.scrapes[t.scrapes.len() - 1]),
            t.body_bytes as f64 / 1024.0 / 1024.0,
            t.series,
            t.bench_series,
            super::ms(mid(&t.create_runs)),
            super::ms(mid(&t.delete_runs)),
        ));
    }
    md.push('\n');
    for s in &r.sizes {
        let list = |v: &[Duration]| v.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0)).collect::<Vec<_>>().join(", ");
        md.push_str(&format!(
            "- N={}: {} secrets listed, the exporter synced {} with certificates; {} bench series, expected {}: {}; \
             ready runs (s): {}; create (ms): {}; delete (ms): {}; {} scrapes in all before the last memory reading; SIGTERM to exit 0: at most {}\n",
            s.n,
            s.listed,
            s.synced.map_or_else(|| "?".into(), |c| c.to_string()),
            s.steady.bench_series,
            2 * s.n,
            super::verdict(s.steady.bench_series == 2 * s.n),
            s.ready_runs.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(", "),
            list(&s.steady.create_runs),
            list(&s.steady.delete_runs),
            s.steady.total_scrapes,
            super::ms(s.stop),
        ));
    }
    if let Some(big) = r.sizes.iter().max_by_key(|s| s.n) {
        let peak = big.at_ready.hwm_kib.max(big.steady.after_scrapes.hwm_kib).max(big.steady.after_changes.hwm_kib);
        md.push_str(&format!(
            "\nGoal (issue 16): exporter peak RSS under 64 MiB at N={}: {}: {}\n",
            big.n,
            super::mib(peak),
            super::verdict((peak as f64 / 1024.0) < 64.0)
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_series_of_seeded_namespaces_only() {
        let body = "# TYPE x509_cert_not_after gauge\n\
            x509_cert_not_after{secret_namespace=\"bench-00001\",secret_name=\"tls-0\"} 1\n\
            x509_cert_not_after{secret_namespace=\"bench-crafted\",secret_name=\"crafted\"} 1\n\
            x509_cert_not_after{secret_namespace=\"kube-system\",secret_name=\"x\"} 1\n\
            x509_cert_not_before{secret_namespace=\"bench-00001\",secret_name=\"tls-0\"} 1\n";
        assert_eq!(count_series(body), (3, 1));
    }

    #[test]
    fn dechunks_bodies() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(), b"abcde");
    }
}
