//! `cargo xtask cluster up|down|status`: the e2e control plane as
//! long-lived detached processes, tracked by PID in a state file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::controlplane::ControlPlane;
use e2e::process::{self, Lifetime};

/// Where `cluster up` keeps its state, logs and kubeconfig.
pub fn dir() -> PathBuf {
    e2e::target_dir().join("e2e").join("cluster")
}

fn state_file() -> PathBuf {
    dir().join("processes")
}

pub fn kubeconfig() -> PathBuf {
    dir().join("kubeconfig")
}

pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("up") => {
            let kc = up()?;
            println!("{}", kc.display());
            eprintln!("use it with: kubectl --kubeconfig {} get ns", kc.display());
            Ok(())
        }
        Some("down") => down(),
        Some("status") => {
            let procs = read_state();
            if procs.is_empty() {
                println!("stopped");
            }
            for (name, pid, exe) in procs {
                let state = if process::runs(pid, &exe) { "running" } else { "gone" };
                println!("{name}\t{pid}\t{state}");
            }
            Ok(())
        }
        _ => bail!("usage: cargo xtask cluster up|down|status"),
    }
}

/// Starts the control plane unless it already runs; returns the kubeconfig.
pub fn up() -> Result<PathBuf> {
    let procs = read_state();
    let core: Vec<_> = procs.iter().filter(|(n, _, _)| n != "kamaji-standin").collect();
    if !core.is_empty() && core.iter().all(|(_, pid, exe)| process::runs(*pid, exe)) {
        eprintln!("cluster: already running ({} processes)", procs.len());
        return Ok(kubeconfig());
    }
    if !procs.is_empty() {
        eprintln!("cluster: some processes are gone; restarting");
        down()?;
    }
    let cp = ControlPlane::start(&dir(), Lifetime::Detached)?;
    let lines: Vec<String> = cp.processes.iter().map(|(n, pid, exe)| format!("{n}\t{pid}\t{}", exe.display())).collect();
    std::fs::write(state_file(), lines.join("\n") + "\n").context("write cluster state")?;
    Ok(cp.kubeconfig.clone())
}

/// Records an extra detached process (e.g. the Kamaji stand-in) so that
/// `down` stops it first.
pub fn track(name: &str, pid: u32, exe: &Path) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(state_file()).context("open cluster state")?;
    writeln!(f, "{name}\t{pid}\t{}", exe.display())?;
    Ok(())
}

/// Whether a process of that name is tracked and still running.
pub fn tracks(name: &str) -> bool {
    read_state().iter().any(|(n, pid, exe)| n == name && process::runs(*pid, exe))
}

/// Stops every tracked process, newest first, each by its own PID.
pub fn down() -> Result<()> {
    let procs = read_state();
    for (name, pid, exe) in procs.iter().rev() {
        if process::stop_pid(*pid, exe, Duration::from_secs(10)) {
            eprintln!("cluster: stopped {name} (pid {pid})");
        }
    }
    let _ = std::fs::remove_file(state_file());
    if procs.is_empty() {
        eprintln!("cluster: not running");
    }
    Ok(())
}

fn read_state() -> Vec<(String, u32, PathBuf)> {
    let text = std::fs::read_to_string(state_file()).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let name = parts.next()?.to_string();
            let pid = parts.next()?.parse().ok()?;
            let exe = PathBuf::from(parts.next()?);
            Some((name, pid, exe))
        })
        .collect()
}
