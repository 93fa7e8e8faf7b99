//! Builds the control-plane binaries from their Go modules (no release
//! binary can be fetched here) and caches them under `target/e2e-bin/`,
//! keyed by version, so only the first run pays for the build.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

pub const KUBERNETES_VERSION: &str = "v1.36.3";
pub const ETCD_VERSION: &str = "v3.6.13";
pub const KWOK_VERSION: &str = "v0.8.0";

/// Paths of the built control-plane binaries.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    pub kube_scheduler: PathBuf,
    pub kwok: PathBuf,
    /// kwok's stage definitions, read from its module source.
    pub kwok_stages: Vec<PathBuf>,
}

struct Step {
    name: &'static str,
    out: PathBuf,
    /// What a cold build costs on a 2-core machine, to set expectations.
    cold: &'static str,
    build: fn(&Path) -> Command,
}

/// The cache directory: `<repo>/target/e2e-bin`.
pub fn cache_dir() -> PathBuf {
    crate::target_dir().join("e2e-bin")
}

pub(crate) fn go() -> Command {
    let mut cmd = Command::new("go");
    cmd.env("GOTOOLCHAIN", "local").env("GOFLAGS", "-mod=mod");
    cmd
}

fn k8s_build(cmd_name: &'static str) -> impl Fn(&Path) -> Command {
    move |out: &Path| {
        let mut cmd = go();
        cmd.current_dir(crate::repo_root().join("e2e/controlplane")).args([
            "build",
            "-trimpath",
            "-ldflags",
            &format!("-s -w -X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}"),
            "-o",
        ]);
        cmd.arg(out).arg(format!("k8s.io/kubernetes/cmd/{cmd_name}"));
        cmd
    }
}

fn steps() -> Vec<Step> {
    let dir = cache_dir();
    let k8s = dir.join(format!("kubernetes-{KUBERNETES_VERSION}"));
    vec![
        Step { name: "kube-apiserver", out: k8s.join("kube-apiserver"), cold: "~4 min", build: |o| k8s_build("kube-apiserver")(o) },
        Step {
            name: "kube-controller-manager",
            out: k8s.join("kube-controller-manager"),
            cold: "~1.5 min",
            build: |o| k8s_build("kube-controller-manager")(o),
        },
        Step { name: "kube-scheduler", out: k8s.join("kube-scheduler"), cold: "~10 s", build: |o| k8s_build("kube-scheduler")(o) },
        Step {
            name: "etcd",
            out: dir.join(format!("etcd-{ETCD_VERSION}")).join("etcd"),
            cold: "~40 s",
            build: |o| {
                let mut cmd = go();
                cmd.current_dir(crate::repo_root().join("e2e/etcd"))
                    .args(["build", "-trimpath", "-ldflags", "-s -w", "-o"])
                    .arg(o)
                    .arg(".");
                cmd
            },
        },
        Step {
            name: "kwok",
            out: dir.join(format!("kwok-{KWOK_VERSION}")).join("kwok"),
            cold: "~2 min",
            build: |o| {
                let mut cmd = go();
                // `go install` puts the binary in GOBIN, named after the command.
                cmd.env("GOBIN", o.parent().unwrap_or(o)).args(["install", &format!("sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}")]);
                cmd
            },
        },
    ]
}

/// Builds whatever is missing, reporting progress on stderr, and returns
/// the paths.
pub fn ensure() -> Result<Binaries> {
    let steps = steps();
    for step in &steps {
        build_once(&step.out, step.name, step.cold, step.build)?;
    }
    let kwok_dir = kwok_module_dir()?;
    let stages = [
        "kustomize/stage/node/fast/node-initialize.yaml",
        "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
        "kustomize/stage/pod/fast/pod-ready.yaml",
        "kustomize/stage/pod/fast/pod-complete.yaml",
        "kustomize/stage/pod/fast/pod-delete.yaml",
    ]
    .iter()
    .map(|s| kwok_dir.join(s))
    .collect();
    let by_name = |n: &str| steps.iter().find(|s| s.name == n).map(|s| s.out.clone()).unwrap_or_default();
    Ok(Binaries {
        etcd: by_name("etcd"),
        kube_apiserver: by_name("kube-apiserver"),
        kube_controller_manager: by_name("kube-controller-manager"),
        kube_scheduler: by_name("kube-scheduler"),
        kwok: by_name("kwok"),
        kwok_stages: stages,
    })
}

fn k8s_out(cmd_name: &str) -> PathBuf {
    cache_dir().join(format!("kubernetes-{KUBERNETES_VERSION}")).join(cmd_name)
}

/// Where [`kubectl`] builds kubectl, built or not.
pub fn kubectl_path() -> PathBuf {
    k8s_out("kubectl")
}

/// Builds kubectl from the same Kubernetes module, for machines without
/// one (the tests drive kubectl's plugin discovery and completion).
pub fn kubectl() -> Result<PathBuf> {
    build_once(&kubectl_path(), "kubectl", "~1 min", |o| k8s_build("kubectl")(o))
}

/// Builds kubeadm from the same Kubernetes module, for the tests that read
/// a layout real kubeadm made (`kubeadm init phase certs|kubeconfig`).
pub fn kubeadm() -> Result<PathBuf> {
    build_once(&k8s_out("kubeadm"), "kubeadm", "~1 min", |o| k8s_build("kubeadm")(o))
}

/// Builds `out` unless it exists: one Go build at a time across test
/// binaries and `cargo xtask test` (two Go links at once need 4+ GiB), into
/// a scratch directory whose binary is renamed into place when done, so a
/// killed build never leaves a binary that looks finished. `build` gets the
/// file to write; `go install` writes into its parent (GOBIN), named after
/// the command, which is `out`'s file name.
pub(crate) fn build_once(out: &Path, name: &str, cold: &str, build: impl FnOnce(&Path) -> Command) -> Result<PathBuf> {
    if out.exists() {
        return Ok(out.to_path_buf());
    }
    let dir = out.parent().with_context(|| format!("{} has no parent directory", out.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let lock = File::create(cache_dir().join(".lock")).context("create build lock")?;
    lock.lock().context("lock target/e2e-bin")?;
    if out.exists() {
        return Ok(out.to_path_buf()); // built by another process while this one waited
    }
    which_go()?;
    let file = out.file_name().with_context(|| format!("{} has no file name", out.display()))?;
    let scratch = dir.join(format!(".partial-{}", file.to_string_lossy()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("clean {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch).with_context(|| format!("create {}", scratch.display()))?;
    eprintln!("e2e: building {name} into {} (first run only; cold: {cold}) ...", dir.display());
    let start = Instant::now();
    let built = scratch.join(file);
    let output = build(&built).stdin(Stdio::null()).output().with_context(|| format!("run go to build {name}"))?;
    if !output.status.success() || !built.exists() {
        bail!("building {name} failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    std::fs::rename(&built, out).with_context(|| format!("move {name} into {}", dir.display()))?;
    let _ = std::fs::remove_dir(&scratch);
    eprintln!("e2e: {name} built in {:.0?}", start.elapsed());
    Ok(out.to_path_buf())
}

fn which_go() -> Result<()> {
    match Command::new("go").arg("version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => bail!("the e2e control plane is built from Go modules: install Go 1.26+ (`go` not found on PATH)"),
    }
}

/// kwok's module source (its stage YAMLs), downloaded into the Go module
/// cache if needed.
fn kwok_module_dir() -> Result<PathBuf> {
    let out = go()
        .args(["mod", "download", "-json", &format!("sigs.k8s.io/kwok@{KWOK_VERSION}")])
        .current_dir(std::env::temp_dir())
        .output()
        .context("go mod download kwok")?;
    if !out.status.success() {
        bail!("go mod download kwok: {}", String::from_utf8_lossy(&out.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("parse go mod download output")?;
    let dir = v["Dir"].as_str().context("no Dir in go mod download output")?;
    Ok(PathBuf::from(dir))
}

pub const PROMETHEUS_VERSION: &str = "v0.316.0";
pub const HELM_VERSION: &str = "v3.22.0";
pub const ACTIONLINT_VERSION: &str = "v1.7.12";

/// One command of a Go module, built with `go install PKG@VERSION` (the
/// module's own go.mod, no wrapper module needed).
struct GoTool {
    /// Binary name, as `go install` names it.
    name: &'static str,
    package: &'static str,
    version: &'static str,
    tags: &'static str,
    ldflags: &'static str,
    /// What a cold build costs on a 2-core machine, to set expectations.
    cold: &'static str,
}

impl GoTool {
    /// `target/e2e-bin/<name>-<version>/<name>`.
    fn out(&self) -> PathBuf {
        cache_dir().join(format!("{}-{}", self.name, self.version)).join(self.name)
    }
}

/// Builds `tool` into [`GoTool::out`] if missing.
fn go_tool(tool: &GoTool) -> Result<PathBuf> {
    build_once(&tool.out(), &format!("{} {}", tool.name, tool.version), tool.cold, |built| {
        let mut cmd = go();
        cmd.env("GOBIN", built.parent().unwrap_or(built)).args(["install", "-trimpath", "-ldflags", tool.ldflags]);
        if !tool.tags.is_empty() {
            cmd.args(["-tags", tool.tags]);
        }
        cmd.arg(format!("{}@{}", tool.package, tool.version)).current_dir(std::env::temp_dir());
        cmd
    })
}

/// promtool, from the Prometheus module (`promtool check rules|metrics`,
/// `promtool test rules`). Built with `remove_all_sd`: no command used
/// here discovers targets, and leaving out the cloud SDKs cuts the cold
/// build by a quarter or more (6m51 instead of 9m12 on a loaded 2-core
/// machine, its ~1 GB of module downloads included).
pub fn promtool() -> Result<PathBuf> {
    go_tool(&PROMTOOL)
}

const PROMTOOL: GoTool = GoTool {
    name: "promtool",
    package: "github.com/prometheus/prometheus/cmd/promtool",
    version: PROMETHEUS_VERSION,
    tags: "remove_all_sd",
    // Prometheus v0.316.0 is Prometheus 3.16.0.
    ldflags: "-s -w -X github.com/prometheus/common/version.Version=3.16.0",
    cold: "~7 min",
};

/// Helm 3, with the version stamps its release build sets (without them
/// `helm version` says v3.22 and lint/template assume Kubernetes 1.20).
pub fn helm() -> Result<PathBuf> {
    go_tool(&HELM)
}

const HELM: GoTool = GoTool {
    name: "helm",
    package: "helm.sh/helm/v3/cmd/helm",
    version: HELM_VERSION,
    tags: "",
    ldflags: "-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0 -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
              -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37 \
              -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37",
    cold: "~6 min",
};

/// actionlint, the GitHub Actions workflow checker (it runs shellcheck on
/// `run:` scripts only if shellcheck is on PATH).
pub fn actionlint() -> Result<PathBuf> {
    go_tool(&ACTIONLINT)
}

const ACTIONLINT: GoTool = GoTool {
    name: "actionlint",
    package: "github.com/rhysd/actionlint/cmd/actionlint",
    version: ACTIONLINT_VERSION,
    tags: "",
    ldflags: "-s -w -X github.com/rhysd/actionlint.version=v1.7.12",
    cold: "~1 min",
};

/// One Go tool of the e2e suite, for `cargo xtask test` to build before the
/// tests start; the tests build whichever is missing themselves, the same way.
pub struct Tool {
    pub name: &'static str,
    /// Already in the cache: `build` only returns.
    pub cached: bool,
    /// Needed before any e2e test starts (the control plane, kubectl); the others are used
    /// by a few tests, which wait on the build lock for them if they come first.
    pub before_tests: bool,
    /// Builds it if missing.
    pub build: Box<dyn FnOnce() -> Result<()> + Send>,
}

/// Every Go tool the e2e tests run, in build order: what every test needs first (the local
/// control plane when `control_plane`, and kubectl), then the tools of a few tests.
pub fn tools(control_plane: bool) -> Vec<Tool> {
    let mut tools = Vec::new();
    if control_plane {
        for step in steps() {
            let cached = step.out.exists();
            tools.push(Tool {
                name: step.name,
                cached,
                before_tests: true,
                build: Box::new(move || build_once(&step.out, step.name, step.cold, step.build).map(drop)),
            });
        }
    }
    tools.push(Tool { name: "kubectl", cached: kubectl_path().exists(), before_tests: true, build: Box::new(|| kubectl().map(drop)) });
    for tool in [&PROMTOOL, &HELM, &ACTIONLINT] {
        tools.push(Tool {
            name: tool.name,
            cached: tool.out().exists(),
            before_tests: false,
            build: Box::new(move || go_tool(tool).map(drop)),
        });
    }
    tools.push(Tool { name: "kubeadm", cached: k8s_out("kubeadm").exists(), before_tests: false, build: Box::new(|| kubeadm().map(drop)) });
    tools.push(Tool {
        name: "krew",
        cached: crate::krew::cached(),
        before_tests: false,
        build: Box::new(|| crate::krew::krew_bins().map(drop)),
    });
    tools
}
