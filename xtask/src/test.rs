//! `cargo xtask test`: everything a fresh machine needs, then every test.

use anyhow::Result;

use crate::{cargo, run_cmd};

pub fn run(args: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    eprintln!("xtask test: [1/3] control-plane binaries (built from Go modules on the first run, then reused)");
    e2e::binaries::ensure()?;
    eprintln!("xtask test: [2/3] building the workspace");
    run_cmd(cargo().args(["build", "--workspace", "--bins"]))?;
    eprintln!("xtask test: [3/3] unit, CLI and e2e tests (each e2e test binary starts its own control plane)");
    let mut test = cargo();
    test.args(["test", "--workspace", "--no-fail-fast"]);
    if let Some(pos) = args.iter().position(|a| a == "--") {
        test.args(&args[pos..]);
    }
    run_cmd(&mut test)?;
    eprintln!("xtask test: all passed in {:.0?}", started.elapsed());
    Ok(())
}
