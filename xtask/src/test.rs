//! `cargo xtask test`: everything a fresh machine needs, then every test.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use e2e::binaries::Tool;
use e2e::providers::{self, Provider};

use crate::{cargo, run_cmd};

pub fn run(args: &[String]) -> Result<()> {
    let started = Instant::now();
    let provider = Provider::from_env()?;
    let mut test: Vec<&str> = vec!["test", "--workspace", "--no-fail-fast"];
    let e2e = match provider {
        Provider::Local => true,
        p if p.needs_docker() && providers::docker_available().is_err() => {
            let why = providers::docker_available().err().map(|e| e.to_string()).unwrap_or_default();
            eprintln!("xtask test: E2E_PROVIDER={p:?} needs Docker ({why}): e2e tests are NOT run, only unit and CLI tests");
            test.extend(["--exclude", "e2e"]);
            false
        }
        p => {
            eprintln!("xtask test: e2e tests run against E2E_PROVIDER={p:?}");
            if p == Provider::K3sTestcontainers {
                test.extend(["--features", "e2e/testcontainers"]);
            }
            true
        }
    };
    // Cold, the Go tools take longer than the Rust build: they start first.
    let go_tools = e2e.then(|| build_go_tools(provider == Provider::Local));
    // The style gate first: it fails in seconds where the suite takes minutes.
    eprintln!("xtask test: [1/4] cargo fmt --check and cargo clippy -D warnings");
    run_cmd(cargo().args(["fmt", "--all", "--check"]))?;
    run_cmd(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    eprintln!("xtask test: [2/4] building the workspace");
    run_cmd(cargo().args(["build", "--workspace", "--bins"]))?;
    if let Some(go) = &go_tools {
        // The test binaries need no Go tool to compile: while the Go builds go on (cold).
        if !go.handle.is_finished() {
            eprintln!("xtask test: compiling the tests while the Go tools build");
            run_cmd(cargo().args(&test).arg("--no-run"))?;
        }
        eprintln!("xtask test: waiting for the control plane and kubectl (the other Go tools go on building during the tests)");
        go.ready.recv().map_err(|_| anyhow!("the Go tools' build thread ended early"))??;
    }
    eprintln!("xtask test: [3/4] unit, CLI and e2e tests (each e2e test binary starts its own control plane)");
    let filter = args.iter().position(|a| a == "--").map_or(&[][..], |pos| &args[pos..]);
    let tests = run_cmd(cargo().args(&test).args(filter));
    // A tool the tests did not build themselves: its build's failure is reported here.
    if let Some(go) = go_tools {
        go.handle.join().map_err(|_| anyhow!("the Go tools' build thread panicked"))??;
    }
    tests?;
    // The provider suite once more, against an operator the tests do not start (what
    // E2E_PROVIDER=kind meets); not when the run was narrowed with `-- <filter>`.
    if provider == Provider::Local && !args.iter().any(|a| a == "--") {
        eprintln!("xtask test: [4/4] the provider suite against a separate operator (E2E_PROVIDER=existing, kamaji-standin --operator)");
        crate::operator_suite::run()?;
    }
    eprintln!("xtask test: all passed in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo xtask tools`: what `test` builds in the background, in the foreground.
pub fn tools() -> Result<()> {
    build_go_tools(true).handle.join().map_err(|_| anyhow!("the Go tools' build thread panicked"))?
}

/// The Go tools' build thread: `ready` says once every tool the tests need first is built
/// (or the first failure), `handle` ends with the last tool.
struct GoTools {
    ready: std::sync::mpsc::Receiver<Result<()>>,
    handle: JoinHandle<Result<()>>,
}

/// Builds every Go tool the e2e tests run (the control plane's too when
/// `control_plane`), one after the other, in a thread: cold they take tens
/// of minutes, now spent while fmt, clippy and the Rust build run. Go keeps
/// its own parallelism: it is the longer of the two, and cargo fills the
/// cores it leaves idle (downloads, links). The tests find them in the same
/// cache, and still build any that is missing when run alone.
fn build_go_tools(control_plane: bool) -> GoTools {
    let tools = e2e::binaries::tools(control_plane);
    let (cached, missing): (Vec<&Tool>, Vec<&Tool>) = tools.iter().partition(|t| t.cached);
    let names = |ts: &[&Tool]| ts.iter().map(|t| t.name).collect::<Vec<_>>().join(", ");
    match missing.is_empty() {
        true => eprintln!("xtask test: Go tools: all {} reused from target/e2e-bin", tools.len()),
        false if cached.is_empty() => eprintln!("xtask test: building Go tools in a thread while cargo runs: {}", names(&missing)),
        false => eprintln!("xtask test: building Go tools in a thread while cargo runs: {} (reused: {})", names(&missing), names(&cached)),
    }
    let (tx, ready) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut tx = Some(tx);
        for tool in tools {
            if !tool.before_tests
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(Ok(()));
            }
            let start = Instant::now();
            if let Err(e) = (tool.build)() {
                eprintln!("xtask test: {e:#}");
                let failed = || anyhow!("building the Go tool {} failed (its output is above)", tool.name);
                if let Some(tx) = tx.take() {
                    let _ = tx.send(Err(failed()));
                }
                return Err(failed());
            }
            if !tool.cached {
                eprintln!("xtask test: {} built in {}", tool.name, minutes(start.elapsed()));
            }
        }
        if let Some(tx) = tx.take() {
            let _ = tx.send(Ok(()));
        }
        Ok(())
    });
    GoTools { ready, handle }
}

/// `6m12s`, or `40s` under a minute.
fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 { format!("{s}s") } else { format!("{}m{:02}s", s / 60, s % 60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(minutes(Duration::from_secs(40)), "40s");
        assert_eq!(minutes(Duration::from_secs(372)), "6m12s");
        assert_eq!(minutes(Duration::from_secs(3605)), "60m05s");
    }
}
