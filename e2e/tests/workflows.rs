//! The GitHub Actions workflows pass actionlint (built from its Go module
//! by `e2e::binaries::actionlint`): syntax, expressions, action inputs,
//! job dependencies, and the shell of every `run:` through shellcheck
//! (`.ci/run` installs it from Debian's package; the test fails, never
//! skips, without it, so the result does not depend on what is on PATH).

use std::process::Command;

#[test]
fn actionlint_accepts_every_workflow() {
    let actionlint =
        e2e::binaries::actionlint().unwrap_or_else(|e| panic!("actionlint could not be built, so no workflow is checked: {e:#}"));
    let dir = e2e::repo_root().join(".github/workflows");
    let mut workflows: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    workflows.sort();
    let names: Vec<String> = workflows.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n == "release.yml"), "no release workflow among {names:?}");
    let shellcheck =
        which("shellcheck").unwrap_or_else(|| panic!("shellcheck is not on PATH: .ci/run installs it (apt-get install shellcheck)"));
    let out = Command::new(actionlint)
        .current_dir(e2e::repo_root())
        .args(["-no-color", "-pyflakes="])
        .arg(format!("-shellcheck={}", shellcheck.display()))
        .args(&workflows)
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "actionlint found problems in {names:?} ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}
