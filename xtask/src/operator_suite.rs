//! The provider suite (`e2e/real/operator-suite.txt`) against an operator the tests do not
//! start: a control plane of its own and `kamaji-standin --operator` as a separate process,
//! reached as `E2E_PROVIDER=existing` reaches a Cozystack or kind cluster. This is the code
//! path `e2e/real/kamaji-kind.sh` runs against the real Kamaji, checked on every `xtask test`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e2e::controlplane::ControlPlane;
use e2e::process::Lifetime;

use crate::cargo;

/// Where the operator's Deployment lives, as the Kamaji chart installs it.
const KAMAJI_NAMESPACE: &str = "kamaji-system";
/// The version the operator plays (its controller image's tag).
const KAMAJI_VERSION: &str = "26.3.5-edge";

/// One `<test file> <test name>` per line of `e2e/real/operator-suite.txt`.
pub fn list(root: &Path) -> Result<Vec<(String, String)>> {
    let path = root.join("e2e/real/operator-suite.txt");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let mut tests = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [file, name] => tests.push((file.to_string(), name.to_string())),
            _ => bail!("{}:{}: expected `<test file> <test name>`, got {line:?}", path.display(), n + 1),
        }
    }
    Ok(tests)
}

pub fn run() -> Result<()> {
    let root = e2e::repo_root();
    let tests = list(&root)?;
    // The operator process is the harness's own binary (already built by `xtask test`).
    crate::run_cmd(cargo().args(["build", "--quiet", "-p", "e2e", "--bin", "kamaji-standin"]))?;
    let dir = e2e::target_dir().join("e2e").join("operator-suite");
    let cp = ControlPlane::start(&dir, Lifetime::TiedToParent).context("the operator suite's control plane")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let client = cp.client().await;
        e2e::cozystack::ensure_namespace(&client, KAMAJI_NAMESPACE).await?;
        e2e::cozystack::create_kamaji_controller(&client, KAMAJI_NAMESPACE, KAMAJI_VERSION).await?;
        e2e::pods::settle(&client, KAMAJI_NAMESPACE, Duration::from_secs(60)).await
    })?;
    let standin = e2e::target_dir().join("debug").join("kamaji-standin");
    let mut cmd = Command::new(&standin);
    cmd.arg("--kubeconfig").arg(&cp.kubeconfig).args(["--kamaji-version", KAMAJI_VERSION, "--operator"]).arg(&dir);
    let log = dir.join("logs").join("kamaji-standin.log");
    let mut operator = e2e::process::spawn(cmd, &log, Lifetime::TiedToParent)?;

    // `--workspace`, as the main run: `-p e2e` would resolve other features and compile
    // the test binaries again (a minute cold).
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    let files: std::collections::BTreeSet<&str> = tests.iter().map(|(f, _)| f.as_str()).collect();
    for file in files {
        test.args(["--test", file]);
    }
    test.args(["--", "--exact", "--test-threads=1"]).args(tests.iter().map(|(_, n)| n));
    test.env("E2E_PROVIDER", "existing")
        .env("KUBECONFIG", &cp.kubeconfig)
        .env("E2E_KAMAJI_NAMESPACE", KAMAJI_NAMESPACE)
        .env("E2E_TENANT_API", "node-network")
        .env("E2E_NODE_IP", "127.0.0.1");
    let passed = run_counting(&mut test);
    let _ = operator.kill();
    let _ = operator.wait();
    let passed = passed.with_context(|| format!("the operator suite (operator log: {})", log.display()))?;
    if passed != tests.len() {
        bail!("the operator suite ran {passed} of the {} tests e2e/real/operator-suite.txt lists", tests.len());
    }
    eprintln!("xtask test: operator suite: {passed} tests passed against kamaji-standin --operator");
    Ok(())
}

/// Runs `cmd`, its stdout passed through, and adds up the `N passed` of its result lines.
fn run_counting(cmd: &mut Command) -> Result<usize> {
    let mut child = cmd.stdout(Stdio::piped()).spawn().context("run cargo test")?;
    let mut passed = 0;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += rest
                    .split("; ")
                    .find_map(|p| p.strip_suffix(" passed"))
                    .and_then(|n| n.trim_start_matches("ok. ").trim_start_matches("FAILED. ").parse::<usize>().ok())
                    .unwrap_or(0);
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(passed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_listed_suite_parses() {
        let tests = super::list(&e2e::repo_root()).expect("operator-suite.txt");
        assert!(tests.iter().any(|(f, _)| f == "rotate"), "{tests:?}");
    }
}
