//! Shell completion as shells and kubectl use it: the static scripts of
//! `kubectl pki completion SHELL`, and the cobra protocol spoken by
//! `kubectl_complete-pki` (what kubectl 1.26+ runs on `kubectl pki <TAB>`).

use assert_cmd::Command;

fn pki() -> Command {
    Command::cargo_bin("kubectl-pki").expect("kubectl-pki is built")
}

/// `kubectl_complete-pki WORDS...` -> (candidate values, directive).
fn complete(words: &[&str], kubeconfig_env: Option<&std::path::Path>) -> (Vec<String>, String) {
    let mut cmd = Command::cargo_bin("kubectl_complete-pki").expect("kubectl_complete-pki is built");
    cmd.args(words);
    match kubeconfig_env {
        Some(p) => cmd.env("KUBECONFIG", p),
        None => cmd.env_remove("KUBECONFIG"),
    };
    let out = cmd.assert().success().get_output().clone();
    assert!(out.stderr.is_empty(), "completion must keep the terminal clean: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let directive = lines.pop().unwrap_or_default().to_string();
    assert!(directive.starts_with(':'), "last line is the directive: {text}");
    let values = lines.iter().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect();
    (values, directive)
}

#[test]
fn scripts_for_each_shell_complete_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = pki().args(["completion", shell]).assert().success().get_output().stdout.clone();
        let script = String::from_utf8(out).unwrap();
        assert!(script.len() > 500, "{shell}: {script}");
        assert!(script.contains("kubectl-pki") && script.contains("status") && script.contains("kubeconfig"), "{shell}");
        assert!(script.contains("kubectl_complete-pki"), "{shell}: the header says how `kubectl pki` completes");
    }
}

#[test]
fn unknown_shell_is_refused() {
    pki().args(["completion", "tcsh"]).assert().failure().code(2);
}

/// The bash script, sourced into a real bash, registers a function for
/// `kubectl-pki` that fills COMPREPLY.
#[test]
fn bash_script_completes_when_sourced() {
    let out = pki().args(["completion", "bash"]).assert().success().get_output().stdout.clone();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kubectl-pki.bash");
    std::fs::write(&script, out).unwrap();
    let probe = format!(
        "source '{}'\nCOMP_WORDS=(kubectl-pki st)\nCOMP_CWORD=1\nCOMP_LINE='kubectl-pki st'\nCOMP_POINT=${{#COMP_LINE}}\n\
         fn=$(complete -p kubectl-pki | sed -E 's/.*-F ([^ ]+).*/\\1/')\n\
         \"$fn\" kubectl-pki st kubectl-pki\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display()
    );
    let out = std::process::Command::new("bash").args(["--norc", "-c", &probe]).output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.lines().any(|l| l.trim() == "status"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn empty_word_offers_subcommands_and_no_files() {
    let (values, directive) = complete(&[""], None);
    for sub in ["status", "version", "completion"] {
        assert!(values.iter().any(|v| v == sub), "{sub} in {values:?}");
    }
    assert!(values.iter().all(|v| !v.starts_with('-')), "flags only after '-': {values:?}");
    assert_eq!(directive, ":4");
}

#[test]
fn a_prefix_narrows_the_subcommands() {
    assert_eq!(complete(&["st"], None), (vec!["status".to_string()], ":4".to_string()));
}

#[test]
fn flags_of_status_by_prefix() {
    assert_eq!(complete(&["status", "--sou"], None), (vec!["--source".to_string()], ":4".to_string()));
    let (values, _) = complete(&["status", "--"], None);
    for flag in ["--all-namespaces", "--tenant", "--kubeconfig", "--context", "--output", "--warn-within"] {
        assert!(values.iter().any(|v| v == flag), "{flag} in {values:?}");
    }
}

#[test]
fn output_values_after_dash_o() {
    let (values, directive) = complete(&["status", "-o", ""], None);
    assert_eq!(values, ["table", "wide", "json", "yaml", "prometheus"]);
    assert_eq!(directive, ":4");
    assert_eq!(complete(&["status", "--output=y"], None).0, ["yaml"]);
}

#[test]
fn paths_are_left_to_the_shell() {
    assert_eq!(complete(&["status", "--kubeconfig", ""], None), (vec![], ":0".to_string()));
    assert_eq!(complete(&["status", "--file", ""], None).1, ":0");
}

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: prod\n\
    clusters: [{name: c1, cluster: {server: 'https://127.0.0.1:1'}}]\n\
    users: [{name: u1, user: {token: t}}]\n\
    contexts:\n- {name: prod, context: {cluster: c1, user: u1}}\n- {name: staging, context: {cluster: c1, user: u1}}\n";

#[test]
fn contexts_come_from_the_kubeconfig_flag_or_env() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(&kc, KUBECONFIG).unwrap();
    let kc_arg = kc.display().to_string();

    let (values, directive) = complete(&["--kubeconfig", &kc_arg, "status", "--context", ""], None);
    assert_eq!(values, ["prod", "staging"]);
    assert_eq!(directive, ":4");
    assert_eq!(complete(&["status", "--context", "st"], Some(&kc)).0, ["staging"]);
    assert_eq!(complete(&["status", "--context=p"], Some(&kc)).0, ["prod"]);
}

#[test]
fn no_kubeconfig_means_no_contexts_and_no_noise() {
    let (values, directive) = complete(&["--context", ""], Some(std::path::Path::new("/nonexistent/kubeconfig")));
    assert!(values.is_empty());
    assert_eq!(directive, ":4");
}

/// Namespaces need the API; an unreachable one yields nothing, quickly and quietly.
#[test]
fn unreachable_api_means_no_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(&kc, KUBECONFIG).unwrap();
    let (values, directive) = complete(&["status", "-n", ""], Some(&kc));
    assert!(values.is_empty(), "{values:?}");
    assert_eq!(directive, ":4");
}
