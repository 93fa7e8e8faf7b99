//! `cargo xtask <task>`: the project's build, test, demo, bench and dist
//! tasks, in Rust so they run wherever cargo does.

mod bench;
mod cluster;
mod demo;
mod dist;
mod operator_suite;
#[cfg(test)]
mod pins;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [args]

tasks:
  test [-- <cargo test args>]   build the control plane (first run only), run unit, CLI and e2e tests
  demo                          start the control plane, seed a Kamaji-style tenant, run `kubectl pki status`
  cluster up|down|status        a long-lived local control plane for manual use
  dist [--debug] [--target T]   release archive for this platform + its sha256 + target/dist/pki.yaml (krew)
  dist manifest --from DIR      render the release krew manifest from the archives' sha256
  bench [--sizes 1000,10000]    kubectl pki status vs kubectl get (+ openssl) on N seeded secrets; bench down stops its cluster
        [--rotate-live=BOOL]    bench rotate: run each tenant's API for real (default true; false: live checks skip after 10 s)
  bench crafted                 kubectl pki status on one 1 MiB secret of same-named certificates (the bundle limits' worst case)
  bench tenants                 kubectl pki status --all-tenants -A on --tenants 50,200 seeded Kamaji tenants: wall, peak RSS, API requests
  operator-suite                the provider suite (e2e/real/operator-suite.txt) against kamaji-standin --operator, as E2E_PROVIDER=existing
  tools                         build every Go tool the e2e tests run into target/e2e-bin (`test` does it in the background)
  kubectl                       build kubectl from its Go module and link it into /usr/local/bin (CI on a machine without one)
        [--link-only]           only the link: `test` builds kubectl with its other Go tools, while cargo runs
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((t, r)) => (t.as_str(), r),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match task {
        "test" => test::run(rest),
        "demo" => demo::run(rest),
        "cluster" => cluster::run(rest),
        "dist" => dist::run(rest),
        "operator-suite" => operator_suite::run(),
        "bench" => bench::run(rest),
        "tools" => test::tools(),
        "kubectl" => install_kubectl(rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(anyhow::anyhow!("unknown task {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn install_kubectl(args: &[String]) -> anyhow::Result<()> {
    let built = match args {
        [] => e2e::binaries::kubectl()?,
        [flag] if flag == "--link-only" => e2e::binaries::kubectl_path(),
        other => anyhow::bail!("kubectl: unexpected arguments {other:?} (only --link-only)"),
    };
    let link = std::path::Path::new("/usr/local/bin/kubectl");
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(&built, link)?;
    eprintln!("kubectl: {} -> {}", link.display(), built.display());
    Ok(())
}

/// Runs a command, failing with its command line when it fails.
pub fn run_cmd(cmd: &mut std::process::Command) -> anyhow::Result<()> {
    let line = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| anyhow::anyhow!("{line}: {e}"))?;
    anyhow::ensure!(status.success(), "{line} failed ({status})");
    Ok(())
}

/// `cargo` as invoked by cargo itself.
pub fn cargo() -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(e2e::repo_root());
    // Without cargo's per-crate variables ring's build script would re-run.
    e2e::krew::scrub_cargo_env(&mut cmd);
    cmd
}
