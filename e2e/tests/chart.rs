//! The Helm chart `charts/kubectl-pki-exporter` and its alert rules, checked
//! with the real tools (helm, promtool and kubectl, built from their Go
//! modules by `e2e::binaries`) and the real local kube-apiserver:
//! - `helm lint --strict`, with the default values and with every option on;
//! - the rendered manifests applied with a server-side dry run (cluster
//!   mode; namespaced mode with ServiceMonitor, PrometheusRule and the node
//!   DaemonSet, against minimal monitoring.coreos.com CRDs);
//! - the RBAC: only get/list/watch, only on the resources the exporter
//!   reads, and, applied for real, what its ServiceAccount can and cannot do;
//! - the Deployment's and DaemonSet's security settings and arguments, and
//!   those arguments starting the real `kubectl-pki exporter`;
//! - `promtool check rules` and `promtool test rules` on files/alerts.yaml,
//!   every alert tested firing and not firing, and the PrometheusRule's
//!   spec being that file.
//!
//! A tool that cannot be built fails the test with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use e2e::ControlPlane;
use serde_json::{Value, json};

const RELEASE: &str = "kubectl-pki-exporter";
const PORT: u64 = 9793;
const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

fn chart_dir() -> PathBuf {
    e2e::repo_root().join("charts/kubectl-pki-exporter")
}

fn built(tool: &str, path: anyhow::Result<PathBuf>) -> PathBuf {
    path.unwrap_or_else(|e| panic!("{tool} could not be built, so this test cannot check anything: {e:#}"))
}

fn helm_bin() -> PathBuf {
    built("helm", e2e::binaries::helm())
}

fn promtool_bin() -> PathBuf {
    built("promtool", e2e::binaries::promtool())
}

fn kubectl_bin() -> PathBuf {
    built("kubectl", e2e::binaries::kubectl())
}

/// Runs `cmd` (with `stdin` if given); its output, whatever the exit code.
fn output(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    if let Some(text) = stdin {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

/// Runs `cmd`, asserts it succeeded, returns its stdout.
fn ok(cmd: &mut Command, stdin: Option<&str>) -> String {
    let out = output(cmd, stdin);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout.into_owned()
}

fn kubectl(cp: &ControlPlane) -> Command {
    let mut cmd = Command::new(kubectl_bin());
    cmd.env_remove("KUBECONFIG").arg("--kubeconfig").arg(cp.kubeconfig()).arg("--request-timeout=30s");
    cmd
}

/// Every option on: namespaced mode, tenants, both monitoring objects and
/// the node DaemonSet.
fn full_values(release_ns: &str, watched: &[&str], kamaji_ns: &str) -> Value {
    json!({
        "watchNamespaces": watched,
        "excludeNamespaces": ["kube-system", "kube-public"],
        "secretLabelSelector": "app.kubernetes.io/managed-by=kamaji",
        "warnWithin": "30d",
        "servedInterval": "2m",
        "tenants": {"enabled": true, "kamajiNamespace": kamaji_ns},
        "serviceMonitor": {"enabled": true, "labels": {"release": "kube-prometheus-stack"}},
        "prometheusRule": {"enabled": true, "namespace": release_ns, "labels": {"release": "kube-prometheus-stack"}},
        "hostPathsExporter": {
            "enabled": true,
            "files": ["/etc/kubernetes/pki/apiserver.crt", "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/admin.conf"],
            "k3sDir": "/var/lib/rancher/k3s",
        },
    })
}

/// `helm template RELEASE chart -n NAMESPACE [-f values]`: the text and its
/// documents.
fn render(namespace: &str, values: Option<&Value>) -> (String, Vec<Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(helm_bin());
    cmd.arg("template").arg(RELEASE).arg(chart_dir()).args(["--namespace", namespace]);
    if let Some(values) = values {
        // JSON is YAML: helm takes it as a values file.
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, serde_json::to_string_pretty(values).unwrap()).unwrap();
        cmd.arg("--values").arg(&file);
    }
    let text = ok(&mut cmd, None);
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("helm template output does not parse: {e}\n{text}"));
    (text, docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn of_kind<'a>(docs: &'a [Value], k: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

fn one<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    let found = of_kind(docs, k);
    assert_eq!(found.len(), 1, "expected one {k}, got {}", found.len());
    found[0]
}

/// `(kind, namespace, name)` of every document.
fn objects(docs: &[Value]) -> BTreeSet<(String, String, String)> {
    docs.iter()
        .map(|d| {
            let m = &d["metadata"];
            (kind(d).to_owned(), m["namespace"].as_str().unwrap_or_default().to_owned(), m["name"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// The line `kubectl apply` prints for `doc`: `kind[.group]/name`.
fn applied_line(doc: &Value, suffix: &str) -> String {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or_default();
    let resource = if group.is_empty() { kind(doc).to_lowercase() } else { format!("{}.{group}", kind(doc).to_lowercase()) };
    format!("{resource}/{} {suffix}", doc["metadata"]["name"].as_str().unwrap_or_default())
}

/// `kubectl apply --server-side --dry-run=server -f -` of `text`; asserts
/// every document was accepted and nothing was stored.
fn apply_dry_run(cp: &ControlPlane, text: &str, docs: &[Value]) {
    let out = ok(kubectl(cp).args(["apply", "--server-side", "--dry-run=server", "-f", "-"]), Some(text));
    for doc in docs {
        let line = applied_line(doc, "serverside-applied (server dry run)");
        assert!(out.lines().any(|l| l == line), "`{line}` missing from kubectl apply's output:\n{out}");
    }
    assert_eq!(out.lines().count(), docs.len(), "one line per object:\n{out}");
    for doc in docs.iter().filter(|d| kind(d) == "Deployment") {
        let ns = doc["metadata"]["namespace"].as_str().unwrap();
        let got = output(kubectl(cp).args(["get", "deployment", "-n", ns, doc["metadata"]["name"].as_str().unwrap()]), None);
        assert!(!got.status.success(), "a dry run stored the Deployment");
    }
}

/// The stand-in prometheus-operator CRDs, applied once per test binary (the
/// control plane is the test binary's own) and Established.
fn monitoring_crds(cp: &ControlPlane) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let file = e2e::repo_root().join("e2e/tests/chart_fixtures/monitoring-crds.yaml");
        ok(kubectl(cp).args(["apply", "--server-side", "-f"]).arg(&file), None);
        ok(
            kubectl(cp).args([
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/servicemonitors.monitoring.coreos.com",
                "crd/prometheusrules.monitoring.coreos.com",
            ]),
            None,
        );
    });
}

fn crate_version() -> String {
    let text = std::fs::read_to_string(e2e::repo_root().join("Cargo.toml")).expect("read Cargo.toml");
    let package = text.split("[package]").nth(1).expect("a [package] section");
    let line = package.lines().find(|l| l.trim_start().starts_with("version")).expect("a package version");
    line.split('"').nth(1).expect("a quoted version").to_owned()
}

fn chart_yaml() -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap()).expect("Chart.yaml parses")
}

fn args_of(workload: &Value) -> Vec<String> {
    strings(&workload["spec"]["template"]["spec"]["containers"][0]["args"])
}

#[test]
fn helm_lint_strict_passes_with_default_and_full_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("full.yaml");
    std::fs::write(&file, full_values("monitoring", &["tenant-root", "tenant-a"], "cozy-kamaji").to_string()).unwrap();
    for values in [None, Some(&file)] {
        let mut cmd = Command::new(helm_bin());
        cmd.args(["lint", "--strict", "--namespace", "monitoring"]).arg(chart_dir());
        if let Some(f) = values {
            cmd.arg("--values").arg(f);
        }
        let out = ok(&mut cmd, None);
        assert!(out.contains("1 chart(s) linted, 0 chart(s) failed"), "{out}");
        assert!(!out.contains("[WARNING]") && !out.contains("[ERROR]"), "{out}");
    }
}

#[test]
fn chart_versions_follow_the_crate() {
    let chart = chart_yaml();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["type"], "application");
    assert_eq!(chart["appVersion"].as_str(), Some(crate_version().as_str()), "appVersion is the crate version");
    let (_, docs) = render("monitoring", None);
    let deployment = one(&docs, "Deployment");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"].as_str(),
        Some(format!("ghcr.io/kubectl-pki/kubectl-pki:{}", crate_version()).as_str()),
        "the image tag defaults to appVersion"
    );
    let chart_label = format!("kubectl-pki-exporter-{}", chart["version"].as_str().unwrap());
    for doc in &docs {
        let labels = &doc["metadata"]["labels"];
        assert_eq!(labels["helm.sh/chart"].as_str(), Some(chart_label.as_str()), "{doc}");
        assert_eq!(labels["app.kubernetes.io/name"], "kubectl-pki-exporter", "{doc}");
        assert_eq!(labels["app.kubernetes.io/instance"], RELEASE, "{doc}");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm", "{doc}");
        assert_eq!(labels["app.kubernetes.io/version"].as_str(), Some(crate_version().as_str()), "{doc}");
    }
}

#[tokio::test]
async fn default_render_applies_with_server_side_dry_run() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("chart-default").await.name;
    let (text, docs) = render(&ns, None);
    let got = objects(&docs);
    let want: BTreeSet<(String, String, String)> = [
        ("ServiceAccount", ns.as_str()),
        ("ClusterRole", ""),
        ("ClusterRoleBinding", ""),
        ("Service", ns.as_str()),
        ("Deployment", ns.as_str()),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), n.to_string(), RELEASE.to_owned()))
    .collect();
    assert_eq!(got, want, "the default values render the cluster-mode exporter and nothing else");
    apply_dry_run(cp, &text, &docs);
}

#[tokio::test]
async fn full_render_applies_with_server_side_dry_run_and_monitoring_crds() {
    let cp = ControlPlane::shared();
    let release_ns = cp.namespace("chart-mon").await.name;
    let (a, b, kamaji) =
        (cp.namespace("chart-ta").await.name, cp.namespace("chart-tb").await.name, cp.namespace("chart-kamaji").await.name);
    let (text, docs) = render(&release_ns, Some(&full_values(&release_ns, &[&a, &b], &kamaji)));
    let hostpaths = format!("{RELEASE}-hostpaths");
    let mut want: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (k, n, name) in [
        ("ServiceAccount", &release_ns, RELEASE),
        ("Service", &release_ns, RELEASE),
        ("Deployment", &release_ns, RELEASE),
        ("ServiceMonitor", &release_ns, RELEASE),
        ("PrometheusRule", &release_ns, RELEASE),
        ("DaemonSet", &release_ns, &hostpaths),
        ("Service", &release_ns, &hostpaths),
    ] {
        want.insert((k.into(), n.clone(), name.into()));
    }
    for ns in [&a, &b, &kamaji] {
        want.insert(("Role".into(), ns.clone(), RELEASE.into()));
        want.insert(("RoleBinding".into(), ns.clone(), RELEASE.into()));
    }
    assert_eq!(objects(&docs), want, "namespaced mode: a Role + RoleBinding per watched namespace and the Kamaji one, no ClusterRole");
    monitoring_crds(cp);
    apply_dry_run(cp, &text, &docs);
}

/// `(apiGroup, resource) -> verbs` of one Role or ClusterRole.
type Grants = BTreeMap<(String, String), Vec<String>>;

/// `(kind, namespace, grants)` of every Role/ClusterRole.
fn rules(docs: &[Value]) -> Vec<(String, String, Grants)> {
    docs.iter()
        .filter(|d| matches!(kind(d), "Role" | "ClusterRole"))
        .map(|d| {
            let mut by = BTreeMap::new();
            for rule in d["rules"].as_array().expect("rules") {
                let keys: BTreeSet<&str> = rule.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(keys, BTreeSet::from(["apiGroups", "resources", "verbs"]), "no resourceNames, nonResourceURLs: {rule}");
                for group in strings(&rule["apiGroups"]) {
                    for resource in strings(&rule["resources"]) {
                        by.entry((group.clone(), resource)).or_insert_with(Vec::new).extend(strings(&rule["verbs"]));
                    }
                }
            }
            (kind(d).to_owned(), d["metadata"]["namespace"].as_str().unwrap_or_default().to_owned(), by)
        })
        .collect()
}

fn resources(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(g, r)| (g.to_string(), r.to_string())).collect()
}

#[test]
fn rbac_grants_only_get_list_watch_on_what_the_exporter_reads() {
    let secrets = ("", "secrets");
    let tenant = [("kamaji.clastix.io", "tenantcontrolplanes"), ("coordination.k8s.io", "leases")];
    let pods = ("", "pods");

    let check_verbs = |all: &[(String, String, Grants)]| {
        for (k, ns, by) in all {
            for ((group, resource), verbs) in by {
                assert_eq!(verbs, &READ_VERBS, "{k} {ns}: {group}/{resource} must be get/list/watch only");
            }
        }
    };

    // Cluster mode, default: one ClusterRole, secrets only.
    let (_, docs) = render("monitoring", None);
    let all = rules(&docs);
    check_verbs(&all);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].0, "ClusterRole");
    assert_eq!(all[0].2.keys().cloned().collect::<BTreeSet<_>>(), resources(&[secrets]));
    let binding = one(&docs, "ClusterRoleBinding");
    assert_eq!(binding["roleRef"], json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": RELEASE}));
    assert_eq!(binding["subjects"], json!([{"kind": "ServiceAccount", "name": RELEASE, "namespace": "monitoring"}]));

    // Cluster mode with tenants: the four resources.
    let (_, docs) = render("monitoring", Some(&json!({"tenants": {"enabled": true}})));
    let all = rules(&docs);
    check_verbs(&all);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].2.keys().cloned().collect::<BTreeSet<_>>(), resources(&[secrets, tenant[0], tenant[1], pods]));

    // rbac.namespaced alone: a Role in the release namespace.
    let (_, docs) = render("monitoring", Some(&json!({"rbac": {"namespaced": true}})));
    let all = rules(&docs);
    check_verbs(&all);
    assert_eq!(all.iter().map(|(k, ns, _)| (k.as_str(), ns.as_str())).collect::<Vec<_>>(), [("Role", "monitoring")]);
    assert!(of_kind(&docs, "ClusterRole").is_empty() && of_kind(&docs, "ClusterRoleBinding").is_empty());

    // watchNamespaces with tenants: secrets, tenants and leases where watched,
    // pods only in the Kamaji namespace.
    let (_, docs) = render("monitoring", Some(&full_values("monitoring", &["tenant-root", "tenant-a"], "cozy-kamaji")));
    let all = rules(&docs);
    check_verbs(&all);
    let mut by_ns = BTreeMap::new();
    for (k, ns, by) in &all {
        assert_eq!(k, "Role", "namespaced mode makes no ClusterRole");
        by_ns.insert(ns.as_str(), by.keys().cloned().collect::<BTreeSet<_>>());
    }
    let watched = resources(&[secrets, tenant[0], tenant[1]]);
    assert_eq!(
        by_ns,
        BTreeMap::from([("tenant-root", watched.clone()), ("tenant-a", watched), ("cozy-kamaji", resources(&[pods]))]),
        "{all:?}"
    );
    for binding in of_kind(&docs, "RoleBinding") {
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(binding["subjects"], json!([{"kind": "ServiceAccount", "name": RELEASE, "namespace": "monitoring"}]));
    }
}

/// `kubectl auth can-i VERB RESOURCE [-n NS | -A] --as SA`: true for yes.
fn can_i(cp: &ControlPlane, sa: &str, verb: &str, resource: &str, ns: Option<&str>) -> bool {
    let mut cmd = kubectl(cp);
    cmd.args(["auth", "can-i", verb, resource, "--as", sa]);
    match ns {
        Some(ns) => cmd.args(["-n", ns]),
        None => cmd.arg("--all-namespaces"),
    };
    let out = output(&mut cmd, None);
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(answer == "yes" || answer == "no", "kubectl auth can-i: {answer:?} {}", String::from_utf8_lossy(&out.stderr));
    answer == "yes"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_rbac_applied_lets_the_exporter_read_only_its_namespaces() {
    let cp = ControlPlane::shared();
    let release_ns = cp.namespace("chart-rbac").await.name;
    let (a, b, kamaji) = (cp.namespace("chart-ra").await.name, cp.namespace("chart-rb").await.name, cp.namespace("chart-rk").await.name);
    let (_, docs) = render(&release_ns, Some(&full_values(&release_ns, &[&a, &b], &kamaji)));
    let rbac: Vec<&Value> = docs.iter().filter(|d| matches!(kind(d), "ServiceAccount" | "Role" | "RoleBinding")).collect();
    let text: String = rbac.iter().map(|d| format!("---\n{}\n", serde_json::to_string(d).unwrap())).collect();
    ok(kubectl(cp).args(["apply", "--server-side", "-f", "-"]), Some(&text));
    let sa = format!("system:serviceaccount:{release_ns}:{RELEASE}");
    // Kamaji's CRD, so kubectl resolves tenantcontrolplanes as on a Kamaji cluster.
    e2e::kamaji::install_crd(cp.client().await).await.expect("install the TenantControlPlane CRD");

    // The authorizer sees new RBAC objects through its informers: wait for the first grant.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !can_i(cp, &sa, "list", "secrets", Some(&a)) {
        assert!(Instant::now() < deadline, "the Role in {a} never took effect");
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut wrong = Vec::new();
    let mut expect = |verb: &str, resource: &str, ns: Option<&str>, want: bool| {
        if can_i(cp, &sa, verb, resource, ns) != want {
            wrong.push(format!(
                "can-i {verb} {resource} in {}: expected {}",
                ns.unwrap_or("all namespaces"),
                if want { "yes" } else { "no" }
            ));
        }
    };
    for ns in [&a, &b] {
        for verb in READ_VERBS {
            expect(verb, "secrets", Some(ns), true);
            expect(verb, "tenantcontrolplanes.kamaji.clastix.io", Some(ns), true);
            expect(verb, "leases.coordination.k8s.io", Some(ns), true);
        }
        for verb in ["create", "update", "patch", "delete", "deletecollection"] {
            expect(verb, "secrets", Some(ns), false);
            expect(verb, "leases.coordination.k8s.io", Some(ns), false);
            expect(verb, "tenantcontrolplanes.kamaji.clastix.io", Some(ns), false);
        }
        expect("list", "pods", Some(ns), false);
        expect("list", "configmaps", Some(ns), false);
    }
    for verb in READ_VERBS {
        expect(verb, "pods", Some(&kamaji), true);
    }
    expect("delete", "pods", Some(&kamaji), false);
    expect("list", "secrets", Some(&kamaji), false);
    expect("list", "secrets", Some(&release_ns), false);
    expect("list", "secrets", None, false);
    expect("list", "tenantcontrolplanes.kamaji.clastix.io", None, false);
    assert!(wrong.is_empty(), "the exporter's ServiceAccount:\n{}", wrong.join("\n"));

    // The real exporter, with the rendered Deployment's arguments and a token of the chart's
    // own ServiceAccount: what the chart grants is enough, and a namespace it does not grant
    // is a failed source (a metric), never a crash and never read.
    let client = cp.client().await;
    let secrets = |ns: &str| kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), ns);
    let root = kubectl_pki_testkit::ca("chart-rbac-root");
    for ns in [&a, &b, &kamaji] {
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
            "metadata": {"name": format!("in-{ns}"), "labels": {"app.kubernetes.io/managed-by": "kamaji"}},
            "type": "Opaque",
            "stringData": {"ca.crt": root.pem},
        }))
        .unwrap();
        secrets(ns).create(&Default::default(), &secret).await.expect("create a secret");
    }
    let token = ok(kubectl(cp).args(["create", "token", RELEASE, "-n", &release_ns, "--duration", "1h"]), None);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("sa-kubeconfig");
    std::fs::write(&kc, kubectl_pki_testkit::token_kubeconfig(&cp.apiserver_url, &cp.pki().ca_crt, token.trim())).unwrap();
    let deployment = docs.iter().find(|d| kind(d) == "Deployment").expect("a Deployment");
    let rendered: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let mut args = Vec::new();
    let mut it = rendered.iter().skip_while(|a| *a != "exporter").skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            // The harness listens on a free port and logs JSON itself; tenants are judged every second.
            "--listen" | "--log-format" | "--served-interval" => {
                it.next();
            }
            other => args.push(other.to_owned()),
        }
    }
    args.extend(["--watch-namespace".into(), kamaji.clone(), "--served-interval".into(), "1s".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let exporter = tokio::task::block_in_place(|| e2e::exporter::Exporter::start(&kc, &args));
    let (fa, fb, fk) = (format!("secrets/{a}"), format!("secrets/{b}"), format!("secrets/{kamaji}"));
    tokio::task::block_in_place(|| {
        exporter.until("the forbidden namespace counted as a failed source", || {
            let m = exporter.metrics();
            !e2e::exporter::series(&m, "x509_source_errors_total", &[&format!("source_name=\"{fk}\""), "reason=\"http_403\""]).is_empty()
        })
    });
    let m = exporter.metrics();
    for (source, up) in [(&fa, 1.0), (&fb, 1.0), (&fk, 0.0)] {
        let line = e2e::exporter::series(&m, "x509_source_up", &[&format!("source_name=\"{source}\"")]);
        assert_eq!(line.first().map(|l| e2e::exporter::value(l)), Some(up), "{source}: {m}");
    }
    for ns in [&a, &b] {
        assert_eq!(e2e::exporter::series(&m, "x509_cert_not_after", &[&format!("secret_name=\"in-{ns}\"")]).len(), 1, "{m}");
    }
    assert!(e2e::exporter::series(&m, "x509_cert_not_after", &[&format!("secret_name=\"in-{kamaji}\"")]).is_empty(), "{m}");
    assert!(exporter.logs().contains("secret watch failed"), "{}", exporter.logs());
    assert_eq!(tokio::task::block_in_place(|| exporter.stop()), Some(0));
}

fn assert_hardened_container(what: &str, container: &Value, non_root: bool) {
    let sc = &container["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}: {sc}");
    assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}: {sc}");
    assert_eq!(sc["capabilities"], json!({"drop": ["ALL"]}), "{what}: drop ALL, add nothing: {sc}");
    assert_eq!(sc["seccompProfile"], json!({"type": "RuntimeDefault"}), "{what}: {sc}");
    assert!(sc.get("privileged").is_none_or(|p| p == false), "{what}: {sc}");
    if non_root {
        assert_eq!(sc["runAsNonRoot"], true, "{what}: {sc}");
        assert_eq!(sc["runAsUser"], 65532, "{what}: {sc}");
    }
    let ports = &container["ports"];
    assert_eq!(ports, &json!([{"name": "metrics", "containerPort": PORT, "protocol": "TCP"}]), "{what}");
    assert_eq!(container["livenessProbe"]["httpGet"], json!({"path": "/healthz", "port": "metrics"}), "{what}");
    assert_eq!(container["readinessProbe"]["httpGet"], json!({"path": "/readyz", "port": "metrics"}), "{what}");
    let resources = &container["resources"];
    assert_eq!(resources["requests"], json!({"cpu": "10m", "memory": "32Mi"}), "{what}");
    assert_eq!(resources["limits"], json!({"memory": "128Mi"}), "{what}");
}

#[test]
fn deployment_and_daemonset_are_hardened() {
    let (_, docs) = render("monitoring", Some(&full_values("monitoring", &["tenant-root"], "cozy-kamaji")));

    let deployment = one(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{}", pod["securityContext"]);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(pod["securityContext"]["seccompProfile"], json!({"type": "RuntimeDefault"}));
    assert_eq!(pod["serviceAccountName"], RELEASE);
    assert!(pod.get("hostNetwork").is_none() && pod.get("volumes").is_none(), "{pod}");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert_hardened_container("Deployment", &containers[0], true);

    let service = of_kind(&docs, "Service").into_iter().find(|s| s["metadata"]["name"] == RELEASE).expect("the Service");
    assert_eq!(service["spec"]["ports"], json!([{"name": "metrics", "port": PORT, "targetPort": "metrics", "protocol": "TCP"}]));
    assert_eq!(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"], "the Service selects the Deployment's pods");

    // The DaemonSet reads node files only: no API token, read-only hostPaths.
    let daemonset = one(&docs, "DaemonSet");
    let pod = &daemonset["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false, "{pod}");
    assert!(pod.get("serviceAccountName").is_none(), "{pod}");
    assert!(pod.get("hostNetwork").is_none() && pod.get("hostPID").is_none(), "{pod}");
    assert_eq!(pod["securityContext"]["seccompProfile"], json!({"type": "RuntimeDefault"}));
    let container = &pod["containers"][0];
    assert_hardened_container("DaemonSet", container, false);
    let mounts = container["volumeMounts"].as_array().unwrap();
    let volumes = pod["volumes"].as_array().unwrap();
    assert_eq!(mounts.len(), volumes.len());
    let mut paths = BTreeSet::new();
    for (mount, volume) in mounts.iter().zip(volumes) {
        assert_eq!(mount["readOnly"], true, "{mount}");
        assert_eq!(mount["name"], volume["name"]);
        assert_eq!(volume["hostPath"]["type"], "Directory", "{volume}");
        assert_eq!(mount["mountPath"], volume["hostPath"]["path"], "mounted at the host's path, so --file paths hold");
        paths.insert(mount["mountPath"].as_str().unwrap().to_owned());
    }
    // /etc/kubernetes/pki is seen through /etc/kubernetes.
    assert_eq!(paths, BTreeSet::from(["/etc/kubernetes".to_owned(), "/var/lib/rancher/k3s".to_owned()]));
}

#[test]
fn exporter_arguments_follow_the_values() {
    let (_, docs) = render("monitoring", None);
    assert_eq!(args_of(one(&docs, "Deployment")), ["exporter", "--listen", ":9793", "-A", "--warn-within", "28d", "--log-format", "json"]);

    let (_, docs) = render("monitoring", Some(&full_values("monitoring", &["tenant-root", "tenant-a", "tenant-b"], "cozy-kamaji")));
    assert_eq!(
        args_of(one(&docs, "Deployment")),
        [
            "exporter",
            "--listen",
            ":9793",
            "-n",
            "tenant-root",
            "--watch-namespace",
            "tenant-a,tenant-b",
            "--tenants",
            "--served-interval",
            "2m",
            "--kamaji-namespace",
            "cozy-kamaji",
            "--kamaji-selector",
            "app.kubernetes.io/name=kamaji",
            "--warn-within",
            "30d",
            "--exclude-namespaces",
            "kube-system",
            "--exclude-namespaces",
            "kube-public",
            "--secret-label-selector",
            "app.kubernetes.io/managed-by=kamaji",
            "--log-format",
            "json",
        ]
    );
    assert_eq!(
        args_of(one(&docs, "DaemonSet")),
        [
            "exporter",
            "--listen",
            ":9793",
            "--no-secrets",
            "--file",
            "/etc/kubernetes/pki/apiserver.crt",
            "--file",
            "/etc/kubernetes/pki/ca.crt",
            "--file",
            "/etc/kubernetes/admin.conf",
            "--k3s-dir",
            "/var/lib/rancher/k3s",
            "--files-interval",
            "1m",
            "--warn-within",
            "30d",
            "--log-format",
            "json",
        ]
    );

    // rbac.namespaced without watchNamespaces: the release namespace.
    let (_, docs) = render("monitoring", Some(&json!({"rbac": {"namespaced": true}})));
    let args = args_of(one(&docs, "Deployment"));
    assert_eq!(args[3..5], ["-n", "monitoring"], "{args:?}");
    assert!(!args.iter().any(|a| a == "-A" || a == "--watch-namespace"), "{args:?}");

    // The DaemonSet without anything to read is refused at render time.
    let out = output(
        Command::new(helm_bin()).arg("template").arg(RELEASE).arg(chart_dir()).args(["--set", "hostPathsExporter.enabled=true"]),
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hostPathsExporter.enabled needs"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn promtool(args: &[&str]) -> String {
    ok(Command::new(promtool_bin()).current_dir(chart_dir()).args(args), None)
}

fn alerts_yaml() -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("files/alerts.yaml")).unwrap()).expect("alerts.yaml parses")
}

fn alert_names(rules_file: &Value) -> Vec<String> {
    rules_file["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["alert"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let alerts = alerts_yaml();
    let names = alert_names(&alerts);
    assert!(names.len() >= 10, "{names:?}");
    for rule in alerts["groups"].as_array().unwrap().iter().flat_map(|g| g["rules"].as_array().unwrap()) {
        let name = rule["alert"].as_str().expect("alerting rules only");
        assert!(name.starts_with("KubectlPki"), "{name}: one prefix for every alert");
        assert!(matches!(rule["labels"]["severity"].as_str(), Some("warning" | "critical")), "{name}");
        for key in ["summary", "description"] {
            assert!(rule["annotations"][key].as_str().is_some_and(|s| !s.is_empty()), "{name}: no {key}");
        }
    }

    let out = promtool(&["check", "rules", "files/alerts.yaml"]);
    assert!(out.contains(&format!("SUCCESS: {} rules found", names.len())), "{out}");

    // Every alert has a firing case and a not-firing case.
    let tests: Value = serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("tests/alerts_test.yaml")).unwrap()).unwrap();
    let (mut firing, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for case in tests["tests"].as_array().unwrap().iter().flat_map(|t| t["alert_rule_test"].as_array().unwrap()) {
        let name = case["alertname"].as_str().unwrap().to_owned();
        if case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()) {
            firing.insert(name)
        } else {
            silent.insert(name)
        };
    }
    let all: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(all.difference(&firing).collect::<Vec<_>>(), Vec::<&String>::new(), "alerts never tested firing");
    assert_eq!(all.difference(&silent).collect::<Vec<_>>(), Vec::<&String>::new(), "alerts never tested not firing");
    assert!(firing.is_subset(&all) && silent.is_subset(&all), "tests of alerts that do not exist: {firing:?} {silent:?}");

    let out = promtool(&["test", "rules", "tests/alerts_test.yaml"]);
    assert!(out.contains("SUCCESS") && !out.contains("FAILED"), "{out}");
}

#[test]
fn prometheus_rule_is_alerts_yaml_and_passes_promtool() {
    let (_, docs) = render("monitoring", Some(&json!({"prometheusRule": {"enabled": true}})));
    let rule = one(&docs, "PrometheusRule");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["spec"], alerts_yaml(), "the PrometheusRule's spec is files/alerts.yaml, unchanged");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered-rules.yaml");
    std::fs::write(&file, serde_json::to_string_pretty(&rule["spec"]).unwrap()).unwrap();
    let out = ok(Command::new(promtool_bin()).args(["check", "rules"]).arg(&file), None);
    assert!(out.contains(&format!("SUCCESS: {} rules found", alert_names(&alerts_yaml()).len())), "{out}");

    // Off by default, and the chart installs no CRD.
    let (_, docs) = render("monitoring", None);
    assert!(of_kind(&docs, "PrometheusRule").is_empty() && of_kind(&docs, "ServiceMonitor").is_empty());
    let (_, docs) = render("monitoring", Some(&full_values("monitoring", &["a"], "k")));
    assert!(of_kind(&docs, "CustomResourceDefinition").is_empty());
    let monitor = one(&docs, "ServiceMonitor");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["jobLabel"], "app.kubernetes.io/name", "job=kubectl-pki-exporter, as KubectlPkiExporterDown expects");
    assert_eq!(monitor["metadata"]["labels"]["release"], "kube-prometheus-stack");
}

#[test]
fn readme_documents_every_value() {
    let values: Value = serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap()).unwrap();
    let readme = std::fs::read_to_string(chart_dir().join("README.md")).unwrap();
    // Maps whose keys are values of their own; any other map (resources,
    // nodeSelector, ...) is one value.
    let sections = ["image", "serviceAccount", "rbac", "tenants", "service", "serviceMonitor", "prometheusRule", "hostPathsExporter"];
    let mut missing = Vec::new();
    for (key, value) in values.as_object().unwrap() {
        match value.as_object() {
            Some(inner) if sections.contains(&key.as_str()) => {
                for sub in inner.keys() {
                    let path = format!("`{key}.{sub}`");
                    if !readme.contains(&path) {
                        missing.push(path);
                    }
                }
            }
            _ if !readme.contains(&format!("`{key}`")) => missing.push(format!("`{key}`")),
            _ => {}
        }
    }
    assert!(missing.is_empty(), "values missing from the chart README's table: {missing:?}");
    assert!(readme.contains("helm install kubectl-pki-exporter charts/kubectl-pki-exporter -n monitoring"), "the install command");
    for name in alert_names(&alerts_yaml()) {
        assert!(readme.contains(&format!("| {name} |")), "alert {name} missing from the README's table");
    }
}

/// Starts kubectl-pki with `rendered` (a chart's `exporter ...` arguments) on a free port.
fn run_rendered(mut cmd: Command, rendered: &[String]) -> e2e::exporter::Exporter {
    let port = e2e::process::free_port().expect("free port");
    let mut args = rendered.to_vec();
    let at = args.iter().position(|a| a == "--listen").expect("--listen in the rendered args");
    args[at + 1] = format!("127.0.0.1:{port}");
    cmd.args(&args);
    e2e::exporter::Exporter::launch(cmd, port)
}

fn pki_command(kubeconfig: Option<&Path>, home: &Path) -> Command {
    let mut cmd = Command::new(e2e::pki_bin());
    cmd.env_remove("KUBECONFIG").env("HOME", home);
    if let Some(kc) = kubeconfig {
        cmd.arg("--kubeconfig").arg(kc);
    }
    cmd
}

#[tokio::test]
async fn rendered_arguments_start_the_real_exporter() {
    let cp = ControlPlane::shared();
    let release_ns = cp.namespace("chart-run").await.name;
    let (a, b, kamaji) =
        (cp.namespace("chart-runa").await.name, cp.namespace("chart-runb").await.name, cp.namespace("chart-runk").await.name);
    e2e::kamaji::install_crd(cp.client().await).await.expect("install the TenantControlPlane CRD");
    let ca = cp.pki().dir.join("ca.crt");
    let mut values = full_values(&release_ns, &[&a, &b], &kamaji);
    values["hostPathsExporter"] = json!({"enabled": true, "files": [ca.display().to_string()]});
    let (_, docs) = render(&release_ns, Some(&values));
    let (deployment, daemonset) = (args_of(one(&docs, "Deployment")), args_of(one(&docs, "DaemonSet")));
    let kubeconfig = cp.kubeconfig().to_path_buf();
    let version = crate_version();

    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        // The Deployment's arguments: namespaced, tenants, JSON logs.
        let exporter = run_rendered(pki_command(Some(&kubeconfig), home.path()), &deployment);
        let metrics = exporter.metrics();
        let build_info = format!("kubectl_pki_build_info{{version=\"{version}\"}} 1");
        assert!(metrics.lines().any(|l| l == build_info), "no `{build_info}` in:\n{metrics}");
        let logs = exporter.logs();
        let first = logs.lines().next().unwrap_or_else(|| panic!("no log line"));
        serde_json::from_str::<Value>(first).unwrap_or_else(|e| panic!("--log-format json, but {first:?}: {e}"));
        drop(exporter);

        // The DaemonSet's arguments, with no kubeconfig at all: node files only.
        let node = run_rendered(pki_command(None, home.path()), &daemonset);
        let metrics = node.metrics();
        let filepath = format!("filepath=\"{}\"", ca.display());
        assert!(
            metrics.lines().any(|l| l.starts_with("x509_cert_not_after{") && l.contains(&filepath)),
            "no x509_cert_not_after for {} in:\n{metrics}",
            ca.display()
        );
    })
    .await
    .unwrap();
}
