//! `cargo xtask bench tenants [--tenants 50,200] [--runs 5]`: `kubectl-pki
//! status --all-tenants -A` (release build) on the bench control plane
//! seeded with N Kamaji tenants, [`PER_NAMESPACE`] per namespace:
//!
//! - seeding: the TenantControlPlanes (Cozystack-shaped, konnectivity on)
//!   and the Kamaji stand-in writing their 13 labelled secrets each, one
//!   stand-in per namespace, stopped once every tenant is Ready; a Kamaji
//!   controller Deployment (2 kwok pods) in [`KAMAJI_NS`]. Every tenant's
//!   kubeconfigs and `.status.controlPlaneEndpoint` point at
//!   [`CLOSED_ENDPOINT`], where nothing listens, so each dial is refused at
//!   once. Idempotent: a ConfigMap marker records the seeded count, as
//!   [`super::seed`] does;
//! - wall time and peak RSS of `-o json` and of the table, `--runs` times,
//!   interleaved (median; RSS the largest);
//! - API requests: the bench kube-apiserver's own `apiserver_request_total`
//!   scraped before and after one `-o json` run, the difference summed by
//!   verb and resource. The control plane's controllers keep making requests
//!   meanwhile (leader-election Leases, node heartbeats), so the same
//!   difference over an idle interval of the same length is reported beside
//!   it as the background.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::{Measure, measure, median};
use e2e::kamaji::{self, Standin, StandinOptions, names};

pub const PER_NAMESPACE: usize = 10;
/// Where the seeded Kamaji controller pods run (`--kamaji-namespace`).
pub const KAMAJI_NS: &str = "bench-tenants-kamaji";
/// A port nothing listens on (binding it needs root): dials are refused.
pub const CLOSED_ENDPOINT: &str = "https://127.0.0.1:1";
const MARKER: &str = "kubectl-pki-bench-tenants";
const MARKER_NS: &str = "default";
const CONCURRENCY: usize = 16;
const READY_WITHIN: Duration = Duration::from_secs(600);
/// The resources `status --all-tenants` lists.
const LISTED: [&str; 4] = ["tenantcontrolplanes", "secrets", "leases", "pods"];

pub struct Options {
    pub sizes: Vec<usize>,
    pub runs: usize,
}

/// What the JSON of one run held.
struct Checked {
    /// Tenants in the JSON (every TCP in the cluster) and the seeded ones with rows.
    tenants_listed: usize,
    tenants_with_rows: usize,
    rows: usize,
    /// Seeded tenants whose API dial was refused (`served: unreachable`).
    refused: usize,
}

pub struct SizeResult {
    n: usize,
    checked: Checked,
    /// Every secret of the cluster (the other benches' too): the label-selected lists filter them.
    secrets_in_cluster: usize,
    json: Measure,
    table: Measure,
    /// (verb, resource) -> requests during one `-o json` run.
    requests: BTreeMap<(String, String), u64>,
    /// The same over an idle interval as long as that run.
    background: BTreeMap<(String, String), u64>,
    /// Wall time of the counted run.
    counted_wall: Duration,
}

pub fn namespace(i: usize) -> String {
    format!("bench-tenants-{i:02}")
}

fn tenant(j: usize) -> String {
    format!("kubernetes-c{j}")
}

pub fn run(rt: &tokio::runtime::Runtime, client: &Client, pki: &Path, kubeconfig: &str, opts: &Options) -> Result<Vec<SizeResult>> {
    let mut results = Vec::new();
    for &n in &opts.sizes {
        eprintln!("bench: tenants: N={n}: seeding");
        rt.block_on(ensure(client, n))?;
        let secrets_in_cluster = rt.block_on(count_secrets(client))?;
        let checked = check(pki, kubeconfig, n)?;
        let cmd = |output: Option<&str>| {
            let mut c = Command::new(pki);
            c.args(["--kubeconfig", kubeconfig, "status", "--all-tenants", "-A", "--kamaji-namespace", KAMAJI_NS]);
            if let Some(o) = output {
                c.args(["-o", o]);
            }
            c.env("NO_COLOR", "1");
            c
        };
        let (mut json_runs, mut table_runs) = (Vec::new(), Vec::new());
        for run in 1..=opts.runs {
            eprintln!("bench: tenants: N={n} run {run}/{}", opts.runs);
            // 3 and 4 are verdicts (the refused tenant APIs are critical), not failures.
            json_runs.push(measure(&mut cmd(Some("json")), &[0, 3, 4])?);
            table_runs.push(measure(&mut cmd(None), &[0, 3, 4])?);
        }
        eprintln!("bench: tenants: N={n}: counting API requests");
        let before = rt.block_on(scrape(client))?;
        let counted = measure(&mut cmd(Some("json")), &[0, 3, 4])?;
        let after = rt.block_on(scrape(client))?;
        let requests = difference(&before, &after);
        let idle_before = rt.block_on(scrape(client))?;
        std::thread::sleep(counted.wall);
        let idle_after = rt.block_on(scrape(client))?;
        let background = difference(&idle_before, &idle_after);
        results.push(SizeResult {
            n,
            checked,
            secrets_in_cluster,
            json: median(&json_runs),
            table: median(&table_runs),
            requests,
            background,
            counted_wall: counted.wall,
        });
    }
    Ok(results)
}

/// One run outside the timings: every seeded tenant is in the JSON, with rows.
fn check(pki: &Path, kubeconfig: &str, n: usize) -> Result<Checked> {
    let out = Command::new(pki)
        .args(["--kubeconfig", kubeconfig, "status", "--all-tenants", "-A", "-o", "json", "--kamaji-namespace", KAMAJI_NS])
        .env("NO_COLOR", "1")
        .output()
        .context("run kubectl-pki status --all-tenants")?;
    ensure!(
        matches!(out.status.code(), Some(0 | 3 | 4)),
        "status --all-tenants failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).context("status --all-tenants -o json is not JSON")?;
    let tenants = doc["tenants"].as_array().context("no tenants array in the JSON")?;
    let items = doc["items"].as_array().map_or(&[][..], Vec::as_slice);
    let ours = |ns: &str| ns.starts_with("bench-tenants-") && ns != KAMAJI_NS;
    let seeded: Vec<&Value> = tenants.iter().filter(|t| ours(t["namespace"].as_str().unwrap_or_default())).collect();
    ensure!(seeded.len() == n, "status listed {} bench tenants, expected {n}", seeded.len());
    // A tenant's rows are counted by status in its summary; the tenant API row is `served`.
    let rows_of = |t: &Value| t["summary"]["counts"].as_object().map_or(0, |c| c.values().filter_map(Value::as_u64).sum::<u64>()) as usize;
    let with_rows = seeded.iter().filter(|t| rows_of(t) > 0 && t["summary"]["served"].is_string()).count();
    if with_rows < n {
        let sample = seeded.iter().find(|t| rows_of(t) == 0).map(|t| t.to_string()).unwrap_or_default();
        bail!("only {with_rows} of {n} bench tenants have rows and a served verdict in the JSON (e.g. {sample})");
    }
    let counted: usize = tenants.iter().map(rows_of).sum();
    ensure!(counted == items.len(), "the tenants' summaries count {counted} rows, the JSON has {}", items.len());
    let refused = seeded.iter().filter(|t| t["summary"]["served"] == "unreachable").count();
    eprintln!(
        "bench: tenants: {} tenants listed ({n} seeded here, all with rows; {refused} dials refused), {} rows",
        tenants.len(),
        items.len()
    );
    Ok(Checked { tenants_listed: tenants.len(), tenants_with_rows: with_rows, rows: items.len(), refused })
}

// --- seeding ----------------------------------------------------------------

/// Makes the cluster hold exactly `n` bench tenants.
async fn ensure(client: &Client, n: usize) -> Result<()> {
    ensure!(n > 0 && n.is_multiple_of(PER_NAMESPACE), "--tenants {n}: must be a positive multiple of {PER_NAMESPACE}");
    kamaji::install_crd(client.clone()).await?;
    kamaji_controller(client).await?;
    let have = seeded(client).await?;
    if have == n {
        eprintln!("bench: tenants: {n} already seeded (marker {MARKER_NS}/{MARKER})");
        return Ok(());
    }
    let started = Instant::now();
    if have > n {
        shrink(client, n / PER_NAMESPACE, have / PER_NAMESPACE).await?;
    } else {
        grow(client, have / PER_NAMESPACE, n / PER_NAMESPACE).await?;
    }
    mark(client, n).await?;
    eprintln!("bench: tenants: seeded {n} (had {have}) in {:.1?}", started.elapsed());
    Ok(())
}

async fn seeded(client: &Client) -> Result<usize> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), MARKER_NS);
    let cm = cms.get_opt(MARKER).await.context("read the tenants marker")?;
    Ok(cm.and_then(|c| c.data).and_then(|d| d.get("tenants").and_then(|v| v.parse().ok())).unwrap_or(0))
}

async fn mark(client: &Client, n: usize) -> Result<()> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), MARKER_NS);
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": MARKER}, "data": {"tenants": n.to_string()}}))?;
    let pp = PatchParams::apply("xtask-bench").force();
    cms.patch(MARKER, &pp, &Patch::Apply(&cm)).await.context("write the tenants marker")?;
    Ok(())
}

/// The Kamaji chart's controller Deployment (as `e2e::cozystack` seeds it), 2 kwok pods.
async fn kamaji_controller(client: &Client) -> Result<()> {
    e2e::cozystack::ensure_namespace(client, KAMAJI_NS).await?;
    let labels = json!({
        "app.kubernetes.io/name": "kamaji",
        "app.kubernetes.io/instance": "kamaji",
        "app.kubernetes.io/component": "controller-manager",
    });
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "kamaji", "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "manager", "image": "ghcr.io/clastix/kamaji:26.3.5-edge", "args": ["manager", "--leader-elect"]}],
                    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }))?;
    match Api::<Deployment>::namespaced(client.clone(), KAMAJI_NS).create(&PostParams::default(), &d).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e).context("create the Kamaji controller Deployment"),
    }
}

/// Namespaces `from..to`: their TCPs, a stand-in each until all are Ready.
async fn grow(client: &Client, from: usize, to: usize) -> Result<()> {
    for i in from..to {
        e2e::cozystack::ensure_namespace(client, &namespace(i)).await?;
    }
    // Kamaji's finalizers would make a later shrink wait for a stand-in.
    let standins: Vec<_> = (from..to)
        .map(|i| {
            let opts = StandinOptions { finalizers: false, ..StandinOptions::for_version("26.3.5-edge") }.in_namespace(&namespace(i));
            Standin::start(client.clone(), opts)
        })
        .collect();
    let work: Vec<(String, String)> = (from..to).flat_map(|i| (0..PER_NAMESPACE).map(move |j| (namespace(i), tenant(j)))).collect();
    futures::stream::iter(work.clone())
        .map(|(ns, name)| async move { create_tcp(client, &ns, &name).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await?;
    let total = work.len();
    for (k, (ns, name)) in work.iter().enumerate() {
        kamaji::wait_ready(client, ns, name, READY_WITHIN).await?;
        if (k + 1) % 50 == 0 {
            eprintln!("bench: tenants: {}/{total} Ready", k + 1);
        }
    }
    drop(standins);
    Ok(())
}

/// A Cozystack-shaped TCP (as `e2e::cozystack` creates it) pointing at [`CLOSED_ENDPOINT`].
async fn create_tcp(client: &Client, ns: &str, name: &str) -> Result<()> {
    let tcp: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{}/{}", kamaji::GROUP, kamaji::VERSION),
        "kind": kamaji::KIND,
        "metadata": {"name": name, "namespace": ns, "annotations": {
            "kamaji.clastix.io/kubeconfig-secret-key": "super-admin.svc",
            names::ANNOTATION_ENDPOINT: CLOSED_ENDPOINT,
        }},
        "spec": {
            "dataStore": ns,
            "controlPlane": {"deployment": {"replicas": 2}, "service": {"serviceType": "ClusterIP"}},
            "kubernetes": {"version": "v1.33.3", "kubelet": {"cgroupfs": "systemd"}},
            "networkProfile": {"port": 6443},
            "addons": {"coreDNS": {}, "kubeProxy": {}, "konnectivity": {"server": {"port": 8132}, "agent": {}}},
        },
    }))?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kamaji::api_resource());
    match api.create(&PostParams::default(), &tcp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("create TenantControlPlane {ns}/{name}")),
    }
}

/// Removes namespaces `from..to` (the stand-in's datastore-config finalizers released first)
/// and waits until they are gone.
async fn shrink(client: &Client, from: usize, to: usize) -> Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for i in from..to {
        let ns = namespace(i);
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let lp = ListParams::default().labels(&format!("{}={}", names::LABEL_COMPONENT, names::DATASTORE_CONFIG));
        for s in secrets.list_metadata(&lp).await?.items {
            let name = s.metadata.name.unwrap_or_default();
            let patch = json!({"metadata": {"finalizers": null}});
            secrets.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        }
        match namespaces.delete(&ns, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e).with_context(|| format!("delete namespace {ns}")),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    for i in from..to {
        while namespaces.get_opt(&namespace(i)).await?.is_some() {
            ensure!(Instant::now() < deadline, "namespace {} still terminating after 5 minutes", namespace(i));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

async fn count_secrets(client: &Client) -> Result<usize> {
    let api: Api<Secret> = Api::all(client.clone());
    let page = api.list_metadata(&ListParams::default().limit(1)).await?;
    Ok(page.items.len() + page.metadata.remaining_item_count.unwrap_or(0) as usize)
}

// --- the API server's request counts ----------------------------------------

type Counts = BTreeMap<(String, String), u64>;

/// `apiserver_request_total` of the bench kube-apiserver, summed by (verb, resource).
async fn scrape(client: &Client) -> Result<Counts> {
    // kube's request builder makes the `GET /metrics` (a non-resource URL).
    let req = kube::core::Request::new("").get("metrics", &Default::default())?;
    let body = client.request_text(req).await.context("GET /metrics of the bench kube-apiserver")?;
    Ok(parse_requests(&body))
}

fn parse_requests(body: &str) -> Counts {
    let mut counts = Counts::new();
    for line in body.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else { continue };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        let label = |key: &str| {
            labels.split(',').find_map(|kv| kv.strip_prefix(key)?.strip_prefix("=\"")?.strip_suffix('"')).unwrap_or("").to_string()
        };
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        let resource = label("resource");
        let resource = if resource.is_empty() { "(non-resource URL)".to_string() } else { resource };
        let subresource = label("subresource");
        let resource = if subresource.is_empty() { resource } else { format!("{resource}/{subresource}") };
        *counts.entry((label("verb"), resource)).or_default() += value as u64;
    }
    counts
}

fn difference(before: &Counts, after: &Counts) -> Counts {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

// --- the report -------------------------------------------------------------

pub fn render(results: &[SizeResult], runs: usize) -> String {
    let mut md =
        String::from("\n`kubectl pki status --all-tenants -A` (every tenant API refused at once: nothing listens on its endpoint):\n\n");
    md.push_str(&format!("Median of {runs} runs, interleaved; peak RSS is the largest `ru_maxrss`.\n\n"));
    md.push_str("| tenants | secrets in the cluster | output | median wall | peak RSS |\n|---:|---:|---|---:|---:|\n");
    for r in results {
        for (output, m) in [("`-o json`", r.json), ("table", r.table)] {
            md.push_str(&format!(
                "| {} | {} | {output} | {:.2} s | {:.1} MiB |\n",
                r.n,
                r.secrets_in_cluster,
                m.wall.as_secs_f64(),
                m.rss_kib as f64 / 1024.0
            ));
        }
    }
    md.push_str("\nAPI requests of one `-o json` run, from the kube-apiserver's `apiserver_request_total` (before and after; background: the same over an idle interval as long):\n\n");
    let header: Vec<String> = results.iter().map(|r| format!("{} tenants (background)", r.n)).collect();
    md.push_str(&format!("| verb | resource | {} |\n|---|---|{}\n", header.join(" | "), "---:|".repeat(results.len())));
    let mut keys: Vec<(String, String)> = results.iter().flat_map(|r| r.requests.keys().chain(r.background.keys()).cloned()).collect();
    for resource in LISTED {
        keys.push(("LIST".into(), resource.into()));
    }
    keys.sort_by(|a, b| (a.0 != "LIST", &a.0, &a.1).cmp(&(b.0 != "LIST", &b.0, &b.1)));
    keys.dedup();
    for key in &keys {
        let cells: Vec<String> = results
            .iter()
            .map(|r| format!("{} ({})", r.requests.get(key).copied().unwrap_or(0), r.background.get(key).copied().unwrap_or(0)))
            .collect();
        md.push_str(&format!("| {} | {} | {} |\n", key.0, key.1, cells.join(" | ")));
    }
    let totals: Vec<String> =
        results.iter().map(|r| format!("{} ({})", r.requests.values().sum::<u64>(), r.background.values().sum::<u64>())).collect();
    md.push_str(&format!("| **all** | | {} |\n", totals.join(" | ")));
    let lists: Vec<String> = results
        .iter()
        .map(|r| {
            let per: Vec<String> = LISTED
                .iter()
                .map(|res| format!("{res} {}", r.requests.get(&("LIST".to_string(), res.to_string())).copied().unwrap_or(0)))
                .collect();
            format!("{} tenants: {}", r.n, per.join(", "))
        })
        .collect();
    md.push_str(&format!("\nLIST calls by resource: {}.\n", lists.join("; ")));
    let walls: Vec<String> = results.iter().map(|r| format!("{:.2} s at {}", r.counted_wall.as_secs_f64(), r.n)).collect();
    md.push_str(&format!("(The counted runs took {}.)\n", walls.join(", ")));
    let listed: Vec<String> = results
        .iter()
        .map(|r| {
            let c = &r.checked;
            format!(
                "N={}: {} tenants in the JSON, the {} seeded all with rows, {} of their dials refused; {} rows",
                r.n, c.tenants_listed, c.tenants_with_rows, c.refused, c.rows
            )
        })
        .collect();
    md.push_str(&format!("({}.)\n", listed.join("; ")));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_counts_sum_by_verb_and_resource() {
        let body = "# HELP apiserver_request_total x\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"secrets\",scope=\"cluster\",subresource=\"\",verb=\"LIST\",version=\"v1\"} 3\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"secrets\",scope=\"namespace\",subresource=\"\",verb=\"LIST\",version=\"v1\"} 2\n\
            apiserver_request_total{code=\"200\",component=\"\",dry_run=\"\",group=\"\",resource=\"\",scope=\"\",subresource=\"\",verb=\"GET\",version=\"\"} 7\n\
            apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"pods\",scope=\"namespace\",subresource=\"status\",verb=\"PATCH\",version=\"v1\"} 1e+00\n";
        let c = parse_requests(body);
        assert_eq!(c[&("LIST".into(), "secrets".into())], 5);
        assert_eq!(c[&("GET".into(), "(non-resource URL)".into())], 7);
        assert_eq!(c[&("PATCH".into(), "pods/status".into())], 1);
        let mut after = c.clone();
        *after.get_mut(&("LIST".into(), "secrets".into())).unwrap() += 4;
        assert_eq!(difference(&c, &after), Counts::from([(("LIST".into(), "secrets".into()), 4)]));
    }
}
