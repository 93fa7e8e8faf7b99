//! Test harness for kubectl-pki: a real local Kubernetes control plane
//! (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)
//! built from Go modules and run on 127.0.0.1, for end-to-end tests.

pub mod binaries;
pub mod controlplane;
pub mod cozystack;
pub mod exporter;
pub mod fleet;
pub mod kamaji;
pub mod krew;
pub mod kubectl;
pub mod pki;
pub mod pods;
pub mod process;
pub mod promtool;
pub mod provided;
pub mod providers;
pub mod rotate_fixture;
pub mod served;
pub mod tenant_api;

use std::path::PathBuf;
use std::sync::Once;

pub use controlplane::{ApiServer, ApiServerOptions, ControlPlane, Host, TestNamespace, start_apiserver, start_apiserver_on};
pub use pki::Pki;
pub use promtool::check_metrics as promtool_check_metrics;
pub use tenant_api::{TenantApi, TenantApiOptions};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// The cargo target directory (`$CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

/// The `kubectl-pki` binary, built once per test binary so e2e tests never
/// run a stale one.
pub fn pki_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let status = krew::scrub_cargo_env(&mut std::process::Command::new(env!("CARGO")))
            .args(["build", "--quiet", "-p", "kubectl-pki", "--bins"])
            .current_dir(repo_root())
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p kubectl-pki failed");
    });
    target_dir().join("debug").join("kubectl-pki")
}
