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

fn go() -> Command {
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

/// Builds whatever is missing (one at a time: two Go links at once need
/// 4+ GiB), reporting progress on stderr, and returns the paths.
pub fn ensure() -> Result<Binaries> {
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    // Several test binaries may start at once: one builds, the others wait.
    let lock = File::create(dir.join(".lock")).context("create build lock")?;
    lock.lock().context("lock target/e2e-bin")?;

    let steps = steps();
    let missing: Vec<&Step> = steps.iter().filter(|s| !s.out.exists()).collect();
    if !missing.is_empty() {
        which_go()?;
        eprintln!(
            "e2e: building {} control-plane binar{} from Go modules into {} \
             (first run only; later runs reuse them)",
            missing.len(),
            if missing.len() == 1 { "y" } else { "ies" },
            dir.display()
        );
    }
    for (i, step) in missing.iter().enumerate() {
        if let Some(parent) = step.out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        eprintln!("e2e: [{}/{}] building {} (cold: {}) ...", i + 1, missing.len(), step.name, step.cold);
        let start = Instant::now();
        let tmp = step.out.with_extension("partial");
        let target = if step.name == "kwok" { step.out.clone() } else { tmp.clone() };
        let output = (step.build)(&target).stdin(Stdio::null()).output().with_context(|| format!("run go to build {}", step.name))?;
        if !output.status.success() {
            bail!("building {} failed ({}):\n{}", step.name, output.status, String::from_utf8_lossy(&output.stderr));
        }
        if target == tmp {
            std::fs::rename(&tmp, &step.out)?;
        }
        eprintln!("e2e: [{}/{}] {} built in {:.0?}", i + 1, missing.len(), step.name, start.elapsed());
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

/// Builds kubectl from the same Kubernetes module, for machines without
/// one (the tests drive kubectl's plugin discovery and completion).
pub fn kubectl() -> Result<PathBuf> {
    let out = cache_dir().join(format!("kubernetes-{KUBERNETES_VERSION}")).join("kubectl");
    if !out.exists() {
        which_go()?;
        std::fs::create_dir_all(out.parent().unwrap_or(&cache_dir()))?;
        eprintln!("e2e: building kubectl {KUBERNETES_VERSION} (cold: ~1 min) ...");
        let status = k8s_build("kubectl")(&out).stdin(Stdio::null()).status().context("run go build kubectl")?;
        if !status.success() {
            bail!("building kubectl failed ({status})");
        }
    }
    Ok(out)
}

/// Builds kubeadm from the same Kubernetes module, for the tests that read
/// a layout real kubeadm made (`kubeadm init phase certs|kubeconfig`).
pub fn kubeadm() -> Result<PathBuf> {
    let out = cache_dir().join(format!("kubernetes-{KUBERNETES_VERSION}")).join("kubeadm");
    if !out.exists() {
        which_go()?;
        std::fs::create_dir_all(out.parent().unwrap_or(&cache_dir()))?;
        eprintln!("e2e: building kubeadm {KUBERNETES_VERSION} (cold: ~1 min) ...");
        let partial = out.with_extension("partial");
        let output = k8s_build("kubeadm")(&partial).stdin(Stdio::null()).output().context("run go build kubeadm")?;
        if !output.status.success() {
            bail!("building kubeadm failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
        }
        std::fs::rename(&partial, &out)?;
    }
    Ok(out)
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
