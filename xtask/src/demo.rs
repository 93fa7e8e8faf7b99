//! `cargo xtask demo`: the main job end to end on the local control plane.

use anyhow::Result;

use crate::{cargo, cluster, run_cmd};

pub fn run(_args: &[String]) -> Result<()> {
    eprintln!("demo: [1/3] control plane (the first run builds it from Go modules: several minutes; later runs reuse it)");
    let kubeconfig = cluster::up()?;
    eprintln!("demo: [2/3] building kubectl-pki");
    run_cmd(cargo().args(["build", "--quiet", "-p", "kubectl-pki", "--bins"]))?;
    let bin_dir = e2e::target_dir().join("debug");
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )?;
    eprintln!("demo: [3/3] kubectl pki status (found by kubectl's plugin discovery)");
    run_cmd(
        std::process::Command::new("kubectl")
            .args(["pki", "status", "-A"])
            .env("PATH", path)
            .env("KUBECONFIG", &kubeconfig),
    )?;
    eprintln!("demo: the control plane keeps running; stop it with `cargo xtask cluster down`");
    Ok(())
}
