//! The feature pins of `xtask/Cargo.toml` stay in step with the workspace.
//! `cargo xtask test` builds xtask alone, then the workspace, then the e2e
//! harness runs `cargo build -p kubectl-pki`: a dependency whose features
//! differ between those builds compiles again, with every crate above it
//! (kube, hyper, rustls...), minutes on a cold 2-core machine.

use std::collections::BTreeSet;

/// What `cargo build ARGS` compiles, as `name vX.Y.Z [features]` lines
/// (normal and build edges; dev-dependencies are the test build's own).
fn tree(args: &[&str]) -> BTreeSet<String> {
    let out = crate::cargo()
        .args(["tree", "--edges", "normal,build", "--prefix", "none", "--format", "{p} [{f}]"])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim_end_matches(" (*)").to_string()).collect()
}

/// `name vX.Y.Z` of a [`tree`] line.
fn package(line: &str) -> &str {
    line.split(" [").next().unwrap_or(line)
}

/// The dependency names between the `feature pins` markers of xtask's manifest.
fn pins() -> Vec<String> {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).expect("read xtask/Cargo.toml");
    let section = manifest
        .split_once("# feature pins: begin")
        .and_then(|(_, rest)| rest.split_once("# feature pins: end"))
        .map(|(pins, _)| pins)
        .expect("xtask/Cargo.toml has a `# feature pins: begin` ... `# feature pins: end` section");
    section.lines().filter_map(|l| l.split_once('=')).map(|(name, _)| name.trim().to_string()).collect()
}

#[test]
fn alone_xtask_and_kubectl_pki_build_their_dependencies_as_the_workspace_does() {
    let workspace = tree(&["--workspace"]);
    let mut differ = Vec::new();
    for member in ["xtask", "kubectl-pki"] {
        for line in tree(&["-p", member]).difference(&workspace) {
            let there: Vec<&str> = workspace.iter().filter(|w| package(w) == package(line)).map(String::as_str).collect();
            differ.push(format!("cargo build -p {member}: {line}\n    cargo build --workspace: {}", there.join(" | ")));
        }
    }
    assert!(
        differ.is_empty(),
        "these compile twice on a cold machine; add the workspace's features to the feature pins of xtask/Cargo.toml:\n{}",
        differ.join("\n")
    );
}

#[test]
fn every_feature_pin_is_a_package_the_other_members_build() {
    // Depth 1: the version each pin resolves to, not another one deeper in the tree.
    let direct = tree(&["-p", "xtask", "--depth", "1"]);
    let others = tree(&["--workspace", "--exclude", "xtask"]);
    let others: BTreeSet<&str> = others.iter().map(|l| package(l)).collect();
    let pins = pins();
    assert!(!pins.is_empty(), "no feature pins found in xtask/Cargo.toml");
    for pin in pins {
        let resolved: Vec<&str> = direct.iter().map(|l| package(l)).filter(|p| p.split(' ').next() == Some(&*pin)).collect();
        assert!(!resolved.is_empty(), "feature pin {pin}: not in xtask's dependency tree");
        assert!(
            resolved.iter().any(|p| others.contains(p)),
            "feature pin {pin} ({resolved:?}): no other member builds this version any more; drop or update the pin"
        );
    }
}
