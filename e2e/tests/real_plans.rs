//! The scripts of `e2e/real/` run kubectl-pki against real Kamaji (kind),
//! real k3s (k3d) and real Talos (Docker) where Docker exists; nothing here
//! can run them. What is checked here instead:
//!
//! - every script passes `bash -n` and `shellcheck` (installed by `.ci/run`;
//!   a missing shellcheck fails the test, it does not skip it);
//! - each `--dry-run` runs nothing (every tool it would call is a stub on
//!   PATH that records calls; none is called, no artifact directory is
//!   made) and prints the plan this file asserts: the pinned versions, the
//!   cluster names the providers use, the comparisons with the real tools
//!   and the cargo test invocations with `E2E_PROVIDER`;
//! - the jq comparisons the real runs rely on, on kubectl-pki's real output:
//!   agreement passes, one date off fails naming the file;
//! - the helpers of `lib.sh` the real runs rely on: `status` exit 4 fails a
//!   run, a failed or empty comparison fails it, captured tokens are masked;
//! - `.github/workflows/e2e.yml` has its four jobs, triggers, artifacts on
//!   failure and pinned actions, and passes actionlint with shellcheck on
//!   its `run:` scripts;
//! - the README's "Testing against real clusters" names the same commands
//!   and versions as the scripts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::providers::{CLUSTER_NAME, Provider};
use serde_json::{Value, json};

const SCRIPTS: [&str; 3] = ["kamaji-kind.sh", "k3d-k3s.sh", "talos-docker.sh"];
/// Every external tool a script may call; in a dry run each is a stub that must not be called.
const TOOLS: [&str; 12] = ["docker", "kind", "k3d", "helm", "talosctl", "kubectl", "cargo", "go", "git", "openssl", "kubectl-pki", "jq"];

fn real_dir() -> PathBuf {
    e2e::repo_root().join("e2e/real")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn shellcheck() -> PathBuf {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|d| d.join("shellcheck")).find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("shellcheck is not on PATH: install it (`apt-get install shellcheck`, as .ci/run does); the scripts are NOT checked")
    })
}

/// `(test file, test name)` of every line of `e2e/real/operator-suite.txt`.
fn operator_suite() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(real_dir().join("operator-suite.txt")).expect("operator-suite.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, name) = l.split_once(' ').unwrap_or_else(|| panic!("not `<file> <name>`: {l:?}"));
            (file.to_string(), name.trim().to_string())
        })
        .collect()
}

/// Every test the kind run and `xtask test`'s operator suite run exists, is a tokio test,
/// and uses nothing only the in-test stand-in has: a typo would otherwise select no test,
/// and a stand-in detail would fail only where Docker runs.
#[test]
fn the_operator_suite_names_provider_neutral_tests() {
    let listed = operator_suite();
    assert!(listed.len() >= 10, "{listed:?}");
    for (file, name) in &listed {
        let path = e2e::repo_root().join("e2e/tests").join(format!("{file}.rs"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let start = source.find(&format!("async fn {name}()")).unwrap_or_else(|| panic!("no test {name} in {}", path.display()));
        let before = &source[..start];
        assert!(
            before.trim_end().ends_with(")]") && before[before.len().saturating_sub(80)..].contains("#[tokio::test"),
            "{name} is not a test"
        );
        let body = &source[start..];
        let body = &body[..body[1..].find("\n#[tokio::test").map_or(body.len(), |e| e + 1)];
        for stand_in_only in ["api_process", ".api()", "standin_tenant", "StandinOptions", "TenantApi::spawn", "edge-25."] {
            assert!(!body.contains(stand_in_only), "{file} {name} uses {stand_in_only}, which only the local stand-in has");
        }
    }
}

#[test]
fn every_script_passes_bash_n_and_shellcheck() {
    let shellcheck = shellcheck();
    for name in SCRIPTS.iter().chain(&["lib.sh"]) {
        let path = real_dir().join(name);
        if *name != "lib.sh" {
            let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
            assert!(mode & 0o111 != 0, "{name} is not executable (the workflow runs it directly)");
        }
        let out = Command::new("bash").arg("-n").arg(&path).output().expect("run bash -n");
        assert!(out.status.success(), "bash -n {name}: {}", text(&out));
        // From the repository root, so `# shellcheck source=e2e/real/lib.sh` resolves and lib.sh is checked with each script.
        let out = Command::new(&shellcheck)
            .current_dir(e2e::repo_root())
            .args(["-x", "--severity=style", "--shell=bash"])
            .arg(format!("e2e/real/{name}"))
            .output()
            .expect("run shellcheck");
        assert!(out.status.success(), "shellcheck e2e/real/{name} ({}):\n{}", out.status, text(&out));
    }
}

/// A dry run's output, its `+ ` command lines, and the script's pinned `NAME=value` lines.
struct Plan {
    stdout: String,
    commands: Vec<String>,
    pins: BTreeMap<String, String>,
}

impl Plan {
    fn has(&self, needle: &str) -> bool {
        self.commands.iter().any(|c| c.contains(needle))
    }

    fn assert_has(&self, needle: &str) {
        assert!(self.has(needle), "the plan has no command with {needle:?}:\n{}", self.stdout);
    }

    /// Index of the first command containing every needle.
    fn position(&self, needles: &[&str]) -> usize {
        self.commands
            .iter()
            .position(|c| needles.iter().all(|n| c.contains(n)))
            .unwrap_or_else(|| panic!("the plan has no command with all of {needles:?}:\n{}", self.stdout))
    }

    fn assert_before(&self, first: &[&str], then: &[&str]) {
        assert!(self.position(first) < self.position(then), "{first:?} must come before {then:?}:\n{}", self.stdout);
    }

    fn pin(&self, name: &str) -> &str {
        self.pins.get(name).unwrap_or_else(|| panic!("the script pins no {name}: {:?}", self.pins))
    }

    /// The comparison NAME is saved and then required to pass.
    fn assert_compares(&self, name: &str, program: &str) {
        let saved = self.position(&["jq -n -L", &format!("jq/{program}"), &format!("compare-{name}.json")]);
        let judged = self.position(&["jq -e '.ok and .compared > 0'", &format!("compare-{name}.json")]);
        assert!(saved < judged, "compare-{name}: judged before it is computed:\n{}", self.stdout);
    }
}

/// Runs `script --dry-run [extra]` with every tool a stub that records its
/// calls, and asserts that none was called and nothing was written.
fn dry_run(script: &str, extra: &[&str]) -> Plan {
    let tmp = tempfile::tempdir().unwrap();
    let stubs = tmp.path().join("stubs");
    std::fs::create_dir(&stubs).unwrap();
    let calls = tmp.path().join("calls.log");
    for tool in TOOLS {
        let stub = stubs.join(tool);
        std::fs::write(&stub, format!("#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexit 97\n", calls.display())).unwrap();
        let mut perm = std::fs::metadata(&stub).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&stub, perm).unwrap();
    }
    let artifacts = tmp.path().join("artifacts");
    let work = tmp.path().join("work");
    let out = Command::new("bash")
        .arg(real_dir().join(script))
        .arg("--dry-run")
        .args(["--artifacts"])
        .arg(&artifacts)
        .args(extra)
        // Only the stubs and the shell's basics: a real docker, kind... cannot be reached.
        .env("PATH", format!("{}:/usr/bin:/bin", stubs.display()))
        .env("WORK", &work)
        .env("TOOLS_BIN", tmp.path().join("tools"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run the script");
    assert!(out.status.success(), "{script} --dry-run failed ({}):\n{}", out.status, text(&out));
    let called = std::fs::read_to_string(&calls).unwrap_or_default();
    assert!(called.is_empty(), "{script} --dry-run ran commands:\n{called}");
    assert!(!artifacts.exists() && !work.exists() && !tmp.path().join("tools").exists(), "{script} --dry-run wrote files");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let commands: Vec<String> = stdout.lines().filter_map(|l| l.strip_prefix("+ ")).map(str::to_owned).collect();
    assert!(commands.len() > 20, "{script}: a plan of {} commands:\n{stdout}", commands.len());

    let source = std::fs::read_to_string(real_dir().join(script)).unwrap();
    let pins: BTreeMap<String, String> = source
        .lines()
        .take_while(|l| !l.starts_with("source "))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    let plan = Plan { stdout, commands, pins };
    // Every pinned version is a real pin, and is what the plan uses.
    for (name, value) in plan.pins.iter().filter(|(k, _)| k.ends_with("_VERSION") || k.ends_with("_IMAGE")) {
        assert!(
            !value.is_empty() && !value.contains("latest") && !value.contains("edge-latest"),
            "{script}: {name}={value:?} is not a pin"
        );
        let shown = value.replace("$TALOS_VERSION", plan.pins.get("TALOS_VERSION").map(String::as_str).unwrap_or(""));
        assert!(plan.stdout.contains(&shown), "{script}: the pinned {name}={shown} appears nowhere in the plan:\n{}", plan.stdout);
    }
    // Each tool built from its Go module at a pinned version, never downloaded.
    for c in &plan.commands {
        assert!(!c.contains("curl ") && !c.contains("wget ") && !c.contains("@latest"), "{script}: {c}");
        if let Some(spec) = c.split_whitespace().find(|w| w.contains('@') && c.contains("go install")) {
            assert!(spec.rsplit_once('@').is_some_and(|(_, v)| v.starts_with('v')), "{script}: go install {spec} is not pinned");
        }
    }
    plan
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn kamaji_kind_plan() {
    let plan = dry_run("kamaji-kind.sh", &[]);
    let kind = Provider::Kind.profile();
    // Pinned tools and charts.
    plan.assert_has(&format!("go install sigs.k8s.io/kind@{}", plan.pin("KIND_VERSION")));
    plan.assert_has(&format!("helm.sh/helm/v3/cmd/helm@{}", plan.pin("HELM_VERSION")));
    plan.assert_has(&format!("jetstack/cert-manager --version {}", plan.pin("CERT_MANAGER_VERSION")));
    let kamaji = plan.pin("KAMAJI_VERSION");
    plan.assert_has(&format!("git clone --depth 1 --branch {kamaji} https://github.com/clastix/kamaji"));
    plan.assert_has(&format!("--set image.tag={kamaji}"));
    // The cluster the kind provider reuses, from kind-configs/kind.yaml, whose node image is the pinned one.
    plan.assert_has(&format!("kind create cluster --name {CLUSTER_NAME} --config kind-configs/kind.yaml"));
    let config = yaml(&e2e::repo_root().join("kind-configs/kind.yaml"));
    assert_eq!(config["name"], json!(CLUSTER_NAME));
    for node in config["nodes"].as_array().unwrap() {
        assert_eq!(node["image"], json!(plan.pin("KIND_NODE_IMAGE")), "kind.yaml's node image is the pinned one");
    }
    // The controller where the kind profile looks for it, and the Cozystack-shaped tenant.
    assert_eq!(plan.pin("KAMAJI_NS"), kind.kamaji_namespace);
    plan.assert_has("helm upgrade --install kamaji ");
    plan.assert_has(&format!("--namespace {} --create-namespace --set image.tag", kind.kamaji_namespace));
    plan.assert_has("wait tcp/kubernetes-demo tcp/kubernetes-other");
    plan.assert_has("kubectl apply -f ");
    plan.assert_has("e2e/real/manifests/consumers.yaml");
    plan.assert_has(&format!("status --tenant kubernetes-demo -n tenant-root --kamaji-namespace {} -o json", kind.kamaji_namespace));
    // rotate-ca: the dry run first (and nothing changed), then the real run, restarts, judgement, restore.
    plan.assert_before(
        &["secrets-before-plan.json"],
        &["rotate-ca kubernetes-demo -n tenant-root --kamaji-namespace kamaji-system -o json"],
    );
    plan.assert_before(
        &["rotate-ca kubernetes-demo -n tenant-root --kamaji-namespace kamaji-system -o json"],
        &["secrets-after-plan.json"],
    );
    plan.assert_compares("dry-run-unchanged", "unchanged.jq");
    let real = plan.position(&["rotate-ca kubernetes-demo", "--dry-run=false", "--restart-workers", "--write-kubeconfig", "-o json"]);
    assert!(plan.position(&["rotate-ca-plan.json"]) < real, "the dry run comes first");
    for selector in [
        "cluster.x-k8s.io/cluster-name=kubernetes-demo --since",
        "app=kubernetes-demo-kcsi-driver",
        "k8s-app=kubernetes-demo-kccm",
        "app=kubernetes-demo-cluster-autoscaler",
    ] {
        assert!(plan.position(&["restarts -n tenant-root -l", selector, "--wait"]) > real, "restarts of {selector} after the rotation");
    }
    plan.assert_has(
        "restarts -n tenant-root -l cluster.x-k8s.io/cluster-name=kubernetes-other --since 2026-01-01T00:00:00Z  # must exit 4",
    );
    plan.assert_compares("kamaji-rotated", "kamaji-rotated.jq");
    plan.assert_has("--arg caSecret kubernetes-demo-ca --arg opensslSha256");
    plan.assert_has("auth whoami");
    assert!(plan.stdout.contains("# check: the token made before the rotation"), "the old token is judged");
    plan.assert_has("tenant-demo.kubeconfig --request-timeout=20s get namespaces  # must fail");
    // The provider suite, with the kind provider's properties: every test of operator-suite.txt.
    let suites = plan.position(&[
        "env E2E_PROVIDER=kind",
        "E2E_KAMAJI_NAMESPACE=kamaji-system",
        "E2E_TENANT_API=node-network",
        "E2E_NODE_IP=172.18.0.2",
        "E2E_DATASTORE=default",
        "cargo test -p e2e",
        "-- --exact --test-threads=1",
    ]);
    let listed = operator_suite();
    for (file, name) in &listed {
        let command = &plan.commands[suites];
        assert!(
            command.contains(&format!("--test {file} ")) && command.contains(&format!(" {name}")),
            "the suites run {file} {name}: {command}"
        );
    }
    assert!(suites > real);
    let restore = plan.position(&["restore", "--dry-run=false"]);
    assert!(restore > real && plan.position(&["restore", "restore-plan.json"]) < restore);
    plan.assert_compares("kamaji-restored", "kamaji-restored.jq");
    plan.assert_has(&format!("kind delete cluster --name {CLUSTER_NAME}"));

    // --keep leaves the cluster; --no-suites skips cargo test.
    let kept = dry_run("kamaji-kind.sh", &["--keep", "--no-suites"]);
    assert!(!kept.has("kind delete cluster"), "--keep deletes nothing:\n{}", kept.stdout);
    assert!(!kept.has("cargo test"), "--no-suites runs no suite:\n{}", kept.stdout);
}

#[test]
fn k3d_k3s_plan() {
    let plan = dry_run("k3d-k3s.sh", &[]);
    plan.assert_has(&format!("github.com/k3d-io/k3d/v5@{}", plan.pin("K3D_VERSION")));
    let image = plan.pin("K3S_IMAGE");
    let config = yaml(&e2e::repo_root().join("kind-configs/k3d.yaml"));
    assert_eq!(config["image"], json!(image), "kind-configs/k3d.yaml runs the pinned k3s image");
    assert_eq!(config["metadata"]["name"], json!(CLUSTER_NAME), "the k3d provider's cluster name");
    plan.assert_has("k3d cluster create --config kind-configs/k3d.yaml");
    let server = format!("k3d-{CLUSTER_NAME}-server-0");
    // status --k3s-dir on the server's copied files = k3s certificate check in the container.
    plan.assert_before(&["docker cp", &format!("{server}:/var/lib/rancher/k3s/server/tls")], &["status --k3s-dir"]);
    plan.assert_has(&format!("docker exec {server} k3s certificate check -o json"));
    plan.assert_compares("k3s-check", "k3s-check.jq");
    // The staged rotation, checked by kubectl-pki, accepted by k3s without --force, then the restart.
    plan.assert_before(&["k3s cross-sign"], &["k3s rotate-sa-key"]);
    plan.assert_before(&["k3s rotate-sa-key"], &["k3s check --data-dir"]);
    let rotate = plan.position(&[&format!("docker exec {server} k3s certificate rotate-ca --path=/var/lib/rancher/k3s/server/rotate-ca")]);
    assert!(!plan.commands[rotate].contains("--force"), "k3s must accept the staged files by its own checks");
    plan.assert_before(&["docker cp", "rotate-ca", &format!("{server}:")], &["k3s certificate rotate-ca"]);
    plan.assert_before(&["k3s certificate rotate-ca"], &["docker restart", &server]);
    plan.assert_before(&["docker restart", &server], &["docker restart", &format!("k3d-{CLUSTER_NAME}-agent-0")]);
    plan.assert_compares("served-new-ca", "served-by-ca.jq");
    assert!(plan.position(&["create token pki-probe --duration=24h"]) < rotate, "the old token is made before the rotation");
    assert!(plan.stdout.contains("# check: the token made before the rotation"), "the old token is judged");
    let suites = plan.position(&["env E2E_PROVIDER=k3d", "cargo test -p e2e"]);
    assert!(suites > rotate);
    // A cluster from generate-ca output placed before its first start.
    plan.assert_before(&["k3s generate-ca --data-dir"], &["k3d cluster create kubectl-pki-custom-ca"]);
    plan.assert_has(&format!("k3d cluster create kubectl-pki-custom-ca --image {image}"));
    plan.assert_has("/custom/server/tls:/var/lib/rancher/k3s/server/tls@server:0");
    plan.assert_compares("served-generated-ca", "served-by-ca.jq");
    plan.assert_compares("k3s-check-custom", "k3s-check.jq");
    plan.assert_has(&format!("k3d cluster delete {CLUSTER_NAME}"));
    plan.assert_has("k3d cluster delete kubectl-pki-custom-ca");
}

#[test]
fn talos_docker_plan() {
    let plan = dry_run("talos-docker.sh", &[]);
    let version = plan.pin("TALOS_VERSION");
    // talosctl from e2e/real/talosctl/go.mod (Talos's replace directives refuse `go install`), at the pinned version.
    let gomod = std::fs::read_to_string(real_dir().join("talosctl/go.mod")).unwrap();
    for module in ["github.com/siderolabs/talos", "github.com/siderolabs/talos/pkg/machinery"] {
        assert!(gomod.contains(&format!("\t{module} {version}\n")), "talosctl/go.mod requires {module} {version}:\n{gomod}");
    }
    plan.assert_has(&format!("-X github.com/siderolabs/talos/pkg/machinery/version.Tag={version}"));
    plan.assert_has("e2e/real/talosctl GOWORK=off GOTOOLCHAIN=local GOFLAGS=-mod=mod go build");
    plan.assert_has("github.com/siderolabs/talos/cmd/talosctl");
    // The cluster, then its machine config and secrets bundle as the node holds them.
    let create =
        plan.position(&[&format!("talosctl cluster create docker --name kubectl-pki-talos --image ghcr.io/siderolabs/talos:{version}")]);
    assert!(plan.commands[create].contains(&format!("--kubernetes-version {}", plan.pin("TALOS_K8S_VERSION"))));
    plan.assert_before(&["cluster create docker"], &["get machineconfig v1alpha1"]);
    plan.assert_before(&["get machineconfig v1alpha1", "/controlplane.yaml"], &["talosctl gen secrets --from-controlplane-config"]);
    // The new talosconfigs, from the machine config and from the secrets bundle the cluster was made from.
    plan.assert_before(&["talosctl gen secrets"], &["talos config new --from-secrets"]);
    plan.assert_has("talos config new --from-machine-config");
    for tc in ["tc-machine-config", "tc-secrets", "tc-reader"] {
        assert!(plan.position(&["talosctl --talosconfig", &format!("/{tc} version")]) > plan.position(&["cluster create docker"]));
        plan.assert_compares(&format!("talosconfig-{}", tc.trim_start_matches("tc-")), "talos-config-info.jq");
        plan.assert_has(&format!("/{tc} config info"));
    }
    plan.assert_has("--from-secrets");
    plan.assert_has("--roles os:reader");
    plan.assert_has("tc-reader reset --graceful=false --reboot --wait=false  # must be refused: PermissionDenied");
    // status against the cluster's kubeconfig = KubernetesDynamicCerts.
    plan.assert_has("get KubernetesDynamicCerts -o yaml");
    plan.assert_has("--kubeconfig");
    plan.assert_compares("dynamic-certs", "talos-dynamic-certs.jq");
    plan.assert_has("talosctl cluster destroy --name kubectl-pki-talos");
}

/// Runs one of e2e/real/jq's comparisons like `compare` does.
fn jq(program: &str, args: &[&str]) -> Value {
    let dir = real_dir().join("jq");
    let out = Command::new("jq")
        .args(["-n", "-L"])
        .arg(&dir)
        .arg("-f")
        .arg(dir.join(program))
        .args(args)
        .output()
        .expect("jq is on PATH (.ci/run installs it)");
    assert!(out.status.success(), "jq -f {program}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn k3s_comparison_judges_kubectl_pki_output() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("k3s");
    // Small EC root and intermediate from openssl, so generate-ca makes no RSA-4096 keys (slow in a debug build).
    let cas = r#"set -euo pipefail
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" -keyout "$1.key" "${@:2}" 2>/dev/null; }
ec test-root -x509 -days 3650 -out test-root.crt -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ec test-intermediate -out test-intermediate.csr
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > ext
openssl x509 -req -in test-intermediate.csr -CA test-root.crt -CAkey test-root.key -CAcreateserial -days 3650 -out test-intermediate.crt -extfile ext 2>/dev/null"#;
    let openssl = Command::new("bash").arg("-c").arg(cas).current_dir(tmp.path()).output().unwrap();
    assert!(openssl.status.success(), "openssl: {}", text(&openssl));
    let made = Command::new(e2e::pki_bin())
        .args(["k3s", "generate-ca", "--data-dir"])
        .arg(&data)
        .args(["--root-ca", "test-root.crt", "--root-key", "test-root.key", "--intermediate-ca", "test-intermediate.crt"])
        .args(["--intermediate-key", "test-intermediate.key"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let status = Command::new(e2e::pki_bin()).args(["status", "--k3s-dir"]).arg(&data).args(["-o", "json"]).output().unwrap();
    let pki: Value = serde_json::from_slice(&status.stdout).unwrap();
    let pki_file = tmp.path().join("pki.json");
    std::fs::write(&pki_file, &status.stdout).unwrap();
    // What `k3s certificate check -o json` prints for the same files: its paths, Go's time format.
    let certs: Vec<Value> = pki["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["source"] == "k3s")
        .map(|i| {
            let rel = i["location"]["path"].as_str().unwrap().strip_prefix(data.to_str().unwrap()).unwrap().to_owned();
            let not_after = i["certificate"]["notAfter"].as_str().unwrap().replace('Z', ".000000000+00:00");
            json!({"Filename": format!("/var/lib/rancher/k3s{rel}"), "Subject": i["certificate"]["subject"], "ExpiryTime": not_after, "Status": "OK"})
        })
        .collect();
    assert!(certs.len() >= 5, "generate-ca wrote CAs: {certs:?}");
    let check = |k3s: &Value| {
        let file = tmp.path().join("k3s.json");
        std::fs::write(&file, k3s.to_string()).unwrap();
        let (f, p) = (file.to_str().unwrap().to_owned(), pki_file.to_str().unwrap().to_owned());
        jq(
            "k3s-check.jq",
            &[
                "--slurpfile",
                "k3s",
                &f,
                "--slurpfile",
                "pki",
                &p,
                "--arg",
                "k3sroot",
                "/var/lib/rancher/k3s",
                "--arg",
                "pkiroot",
                data.to_str().unwrap(),
            ],
        )
    };
    let agree = check(&json!({"Certificates": certs}));
    assert_eq!(agree["ok"], json!(true), "{agree}");
    assert!(agree["compared"].as_u64().unwrap() >= 3, "{agree}");
    // One notAfter a year off: the comparison fails and names the file.
    let mut off = certs.clone();
    let first = off[0]["ExpiryTime"].as_str().unwrap().to_owned();
    let year: u32 = first[..4].parse().unwrap();
    let bumped = format!("{}{}", year + 1, &first[4..]);
    off[0]["ExpiryTime"] = json!(bumped);
    let disagree = check(&json!({"Certificates": off}));
    assert_eq!(disagree["ok"], json!(false), "{disagree}");
    let named = off[0]["Filename"].as_str().unwrap().trim_start_matches("/var/lib/rancher/k3s/");
    assert_eq!(disagree["mismatches"][0]["file"], json!(named), "{disagree}");
    // The agent's files are not in the copied server/tls, and k3s's listing of them is not compared.
    let mut with_agent = certs.clone();
    with_agent.push(json!({"Filename": "/var/lib/rancher/k3s/agent/client-kubelet.crt", "ExpiryTime": "2027-01-01T00:00:00Z"}));
    assert_eq!(check(&json!({"Certificates": with_agent}))["ok"], json!(true));
    // Nothing compared is not agreement: `compare` requires compared > 0.
    assert_eq!(check(&json!({"Certificates": []}))["compared"], json!(0));
}

#[test]
fn unchanged_and_restored_comparisons() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, v: Value| {
        let p = tmp.path().join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let secrets = |v: &[(&str, &str)]| json!({"items": v.iter().map(|(n, rv)| json!({"metadata": {"name": n, "resourceVersion": rv}})).collect::<Vec<_>>()});
    let before = write("before.json", secrets(&[("t-ca", "1"), ("t-admin-kubeconfig", "2")]));
    let same = write("same.json", secrets(&[("t-admin-kubeconfig", "2"), ("t-ca", "1")]));
    let changed = write("changed.json", secrets(&[("t-ca", "5"), ("t-admin-kubeconfig", "2"), ("t-new", "6")]));
    assert_eq!(jq("unchanged.jq", &["--slurpfile", "before", &before, "--slurpfile", "after", &same])["ok"], json!(true));
    let diff = jq("unchanged.jq", &["--slurpfile", "before", &before, "--slurpfile", "after", &changed]);
    assert_eq!(diff["ok"], json!(false));
    let names: Vec<&str> = diff["mismatches"].as_array().unwrap().iter().map(|m| m["secret"].as_str().unwrap()).collect();
    assert_eq!(names, ["t-ca", "t-new"]);

    let status = |sha: &str| json!({"items": [{"source": "tenant", "location": {"secret": "t-ca", "key": "ca.crt"}, "certificate": {"sha256": sha}}]});
    let (a, b) = (write("a.json", status("AA")), write("b.json", status("BB")));
    let restored =
        |r: &str| jq("kamaji-restored.jq", &["--slurpfile", "before", &a, "--slurpfile", "restored", r, "--arg", "caSecret", "t-ca"]);
    assert_eq!(restored(&a)["ok"], json!(true));
    assert_eq!(restored(&b)["ok"], json!(false));
}

#[test]
fn e2e_workflow_runs_each_real_system_and_keeps_outputs() {
    let path = e2e::repo_root().join(".github/workflows/e2e.yml");
    let wf = yaml(&path);
    let on = &wf["on"];
    assert!(on.get("pull_request").is_some(), "runs on pull requests: {on}");
    assert!(on["schedule"][0]["cron"].is_string(), "runs nightly: {on}");
    let jobs = wf["jobs"].as_object().unwrap();
    assert_eq!(jobs.keys().map(String::as_str).collect::<Vec<_>>(), ["k3d-k3s", "kind-kamaji", "local", "talos"]);
    let runs = |job: &str| -> Vec<String> {
        jobs[job]["steps"].as_array().unwrap().iter().filter_map(|s| s["run"].as_str()).map(str::to_owned).collect()
    };
    assert!(runs("local").iter().any(|r| r.contains(".ci/run")), "the local suite stays its own job");
    for (job, script) in [("kind-kamaji", "kamaji-kind.sh"), ("k3d-k3s", "k3d-k3s.sh"), ("talos", "talos-docker.sh")] {
        assert!(runs(job).iter().any(|r| r.contains(&format!("e2e/real/{script} --artifacts"))), "{job} runs {script}");
        let steps = jobs[job]["steps"].as_array().unwrap();
        let upload = steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/upload-artifact@")));
        let upload = upload.unwrap_or_else(|| panic!("{job} uploads no artifact"));
        assert_eq!(upload["if"], json!("failure()"), "{job}: outputs uploaded on failure");
        assert!(upload["with"]["path"].as_str().unwrap().contains("artifacts"), "{job}: the script's --artifacts directory");
    }
    // Actions pinned to a release (dtolnay/rust-toolchain is pinned by its channel branch, as in release.yml).
    for (name, job) in jobs {
        for s in job["steps"].as_array().unwrap() {
            if let Some(uses) = s["uses"].as_str() {
                let (action, rev) = uses.split_once('@').unwrap_or_else(|| panic!("{name}: {uses} is not pinned"));
                let release = rev.starts_with('v') && rev.matches('.').count() == 2;
                assert!(release || (action == "dtolnay/rust-toolchain" && rev == "stable"), "{name}: {uses} is not pinned to a release");
            }
        }
    }
    // actionlint, with shellcheck on the run: scripts (workflows.rs checks every workflow without it).
    let actionlint = e2e::binaries::actionlint().unwrap_or_else(|e| panic!("actionlint could not be built: {e:#}"));
    let sc = shellcheck();
    let out = Command::new(actionlint)
        .current_dir(e2e::repo_root())
        .args(["-no-color", "-pyflakes="])
        .arg(format!("-shellcheck={}", sc.display()))
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "actionlint e2e.yml:\n{}", text(&out));
}

#[test]
fn readme_names_the_commands_and_pinned_versions() {
    let readme = std::fs::read_to_string(e2e::repo_root().join("README.md")).unwrap();
    let start = readme.find("### Testing against real clusters").expect("README has \"Testing against real clusters\"");
    let section = &readme[start..];
    let end = ["\n## ", "\n### "].iter().filter_map(|h| section[4..].find(h)).min().map_or(section.len(), |i| i + 4);
    let section = &section[..end];
    for script in SCRIPTS {
        assert!(section.contains(&format!("e2e/real/{script}")), "the README section names e2e/real/{script}");
        let source = std::fs::read_to_string(real_dir().join(script)).unwrap();
        for line in source.lines().take_while(|l| !l.starts_with("source ")) {
            if let Some((k, v)) = line.split_once('=')
                && (k.ends_with("_VERSION") || k.ends_with("_IMAGE"))
                && !v.contains('$')
            {
                let v = v.trim_matches('"');
                assert!(section.contains(v), "the README section names {k}={v} of {script}");
            }
        }
    }
}

/// Runs bash with e2e/real/lib.sh sourced (not in a dry run) and `body` after it.
fn lib(body: &str) -> (bool, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let script = format!(
        "set -euo pipefail\nsource {}\nparse_args lib-test --artifacts {}\nmkdir -p \"$ARTIFACTS\"\n{body}\n",
        real_dir().join("lib.sh").display(),
        tmp.path().join("a").display()
    );
    let out = Command::new("bash").arg("-c").arg(script).env("WORK", tmp.path().join("w")).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn lib_judges_exit_codes_comparisons_and_masks_tokens() {
    // status's verdicts: 0 and 3 (expiring) are accepted, 4 (expired, not chaining) fails the script.
    assert!(lib("save_status s.json bash -c 'exit 3'").0);
    let (ok, _, err) = lib("save_status s.json bash -c 'exit 4'; echo after");
    assert!(!ok && err.contains("exited 4"), "{err}");
    // expect_exit / expect_refused: the refusal must happen, and be the right one.
    assert!(lib("expect_exit 4 bash -c 'exit 4'").0);
    assert!(!lib("expect_exit 4 bash -c 'exit 0'").0);
    assert!(!lib("expect_refused true").0);
    assert!(!lib("equal what a b").0);
    // compare: ok false, or nothing compared, fails; ok with something compared passes.
    let cmp = |before: &str, after: &str| {
        lib(&format!(
            "echo '{before}' > \"$ARTIFACTS/b.json\"; echo '{after}' > \"$ARTIFACTS/a.json\"\n\
             compare t unchanged.jq --slurpfile before \"$ARTIFACTS/b.json\" --slurpfile after \"$ARTIFACTS/a.json\""
        ))
        .0
    };
    let one = r#"{"items":[{"metadata":{"name":"x","resourceVersion":"1"}}]}"#;
    assert!(cmp(one, one));
    assert!(!cmp(one, r#"{"items":[{"metadata":{"name":"x","resourceVersion":"2"}}]}"#));
    assert!(!cmp(r#"{"items":[]}"#, r#"{"items":[]}"#), "nothing compared is not agreement");
    // A captured token never appears in a printed command line.
    let (ok, out, err) = lib("mint() { echo s3cret-token; }\ncapture PROBE_TOKEN t mint\nrun true --token \"$PROBE_TOKEN\"");
    assert!(ok, "{err}");
    assert!(out.contains("+ true --token '***'") && !out.contains("s3cret-token"), "{out}");
}

/// The EXIT trap every script sets: a failed run collects logs, then the clusters go unless
/// --keep; a passing run only deletes; the failure's exit code is kept.
#[test]
fn on_exit_collects_logs_on_failure_and_keeps_clusters_with_keep() {
    let trap =
        "collect_logs() { echo collected; }\ndelete_clusters() { echo deleted; }\ntrap 'on_exit_with collect_logs delete_clusters' EXIT\n";
    let (ok, out, err) = lib(&format!("{trap}false"));
    assert!(!ok && out.contains("collected") && out.contains("deleted"), "{out}{err}");
    assert!(err.contains("lib-test: FAILED (1): logs in "), "{err}");
    let (ok, out, _) = lib(&format!("{trap}true"));
    assert!(ok && !out.contains("collected") && out.contains("deleted"), "{out}");
    let (ok, out, _) = lib(&format!("KEEP=1\n{trap}false"));
    assert!(!ok && out.contains("collected") && !out.contains("deleted"), "--keep deletes nothing: {out}");
}

#[test]
fn talosconfig_comparison_judges_kubectl_pki_output() {
    let tmp = tempfile::tempdir().unwrap();
    // A Talos-shaped OS CA (Ed25519, O=talos) from openssl, and a talosconfig from it with os:reader.
    let ca = "set -euo pipefail
openssl genpkey -algorithm ed25519 -out talos.key 2>/dev/null
openssl req -x509 -key talos.key -subj /O=talos -days 3650 -out talos.crt \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,digitalSignature 2>/dev/null";
    let openssl = Command::new("bash").arg("-c").arg(ca).current_dir(tmp.path()).output().unwrap();
    assert!(openssl.status.success(), "openssl: {}", text(&openssl));
    let made = Command::new(e2e::pki_bin())
        .args(["talos", "config", "new", "--ca", "talos.crt", "--ca-key", "talos.key", "--roles", "os:reader"])
        .args(["--endpoints", "10.5.0.2", "--nodes", "10.5.0.2", "tc"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let status = Command::new(e2e::pki_bin()).args(["status", "--file", "tc", "-o", "json"]).current_dir(tmp.path()).output().unwrap();
    let pki: Value = serde_json::from_slice(&status.stdout).unwrap();
    let client =
        pki["items"].as_array().unwrap().iter().find(|i| i["certificate"]["isCa"] == json!(false)).expect("the client certificate");
    let date = &client["certificate"]["notAfter"].as_str().unwrap()[..10];
    let pki_file = tmp.path().join("pki.json");
    std::fs::write(&pki_file, &status.stdout).unwrap();
    let judge = |info: &str, roles: &str| {
        let file = tmp.path().join("info.txt");
        std::fs::write(&file, info).unwrap();
        jq(
            "talos-config-info.jq",
            &["--slurpfile", "pki", pki_file.to_str().unwrap(), "--rawfile", "info", file.to_str().unwrap(), "--arg", "roles", roles],
        )
    };
    // What `talosctl config info` prints.
    let info = |expires: &str| {
        format!(
            "Current context:     talos\nNodes:               10.5.0.2\nEndpoints:           10.5.0.2\nRoles:               os:reader\nCertificate expires: 1 year from now ({expires})\n"
        )
    };
    let agree = judge(&info(date), "os:reader");
    assert_eq!((agree["ok"].clone(), agree["compared"].clone()), (json!(true), json!(1)), "{agree}");
    assert_eq!(judge(&info("2000-01-01"), "os:reader")["ok"], json!(false), "another date");
    assert_eq!(judge(&info(date), "os:admin")["ok"], json!(false), "another role");
    assert_eq!(judge("Current context: talos\n", "os:reader")["ok"], json!(false), "no date printed");
}
