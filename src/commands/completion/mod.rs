//! Shell completion, two ways:
//!
//! - `kubectl pki <TAB>`: kubectl 1.26+ runs `kubectl_complete-pki` with the
//!   words after `pki` and reads cobra's protocol (candidate lines, then
//!   `:directive`). [`protocol_main`] answers from the clap command tree, plus
//!   kubeconfig contexts and, with a short timeout, namespaces and tenants.
//! - `kubectl pki completion bash|zsh|fish|powershell`: a static clap_complete
//!   script for running the binary directly as `kubectl-pki`; kubectl's own
//!   completion script cannot be extended by another script, so `kubectl pki`
//!   itself is served by the first way.
//!
//! The command layer: it may use clap and the context, and never prints anything but candidates or a script.

pub mod engine;
pub mod protocol;
pub mod sources;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionArgs, Shell};
use crate::error::{Outcome, Result};

/// The name the static scripts complete: the executable kubectl runs.
pub const BIN_NAME: &str = "kubectl-pki";

/// `kubectl pki completion SHELL`: prints the script.
pub fn run(args: CompletionArgs) -> Result<Outcome> {
    crate::output::write_stdout(&script(args.shell))?;
    Ok(Outcome::Ok)
}

/// The static completion script for `shell`, with a header saying how to load it.
pub fn script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    let (generator, load) = match shell {
        Shell::Bash => (clap_complete::Shell::Bash, "source <(kubectl pki completion bash)   # in ~/.bashrc"),
        Shell::Zsh => (clap_complete::Shell::Zsh, "source <(kubectl pki completion zsh)   # in ~/.zshrc, after compinit"),
        Shell::Fish => (clap_complete::Shell::Fish, "kubectl pki completion fish > ~/.config/fish/completions/kubectl-pki.fish"),
        Shell::Powershell => (clap_complete::Shell::PowerShell, "kubectl pki completion powershell | Out-String | Invoke-Expression"),
    };
    clap_complete::generate(generator, &mut cmd, BIN_NAME, &mut buf);
    let header = format!(
        "# Completion for `{BIN_NAME}` (the plugin run directly). Load it with:\n\
         #   {load}\n\
         # `kubectl pki <TAB>` is completed by kubectl itself (1.26+) through the\n\
         # `kubectl_complete-pki` executable shipped next to `kubectl-pki`: keep it on PATH.\n"
    );
    header + &String::from_utf8_lossy(&buf)
}

/// The answer to one completion request: `words` are everything after
/// `kubectl pki`, the last one being completed.
pub async fn complete(words: &[String]) -> String {
    let mut root = Cli::command();
    root.build();
    let (want, given) = engine::analyze(&root, words);
    match want {
        engine::Want::Static { candidates, directive } => engine::render(&candidates, directive),
        engine::Want::Dynamic { source, keep, prefix } => {
            let found = sources::lookup(source, &given).await;
            engine::render(&engine::filter(found, &keep, &prefix), engine::directive::NO_FILE_COMP)
        }
    }
}

/// `main` of `kubectl_complete-pki`. Always exits 0 with a directive: a
/// failure means no candidates, never noise on the user's terminal.
pub fn protocol_main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let words: Vec<String> = args.into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let out = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(complete(&words)),
        Err(_) => engine::render(&[], engine::directive::NO_FILE_COMP),
    };
    let _ = crate::output::write_stdout(&out);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_names_the_binary_and_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            let s = script(shell);
            assert!(s.contains(BIN_NAME) && s.contains("status") && s.contains("kubeconfig"), "{shell:?}");
        }
    }

    #[tokio::test]
    async fn complete_renders_the_protocol() {
        let out = complete(&["ver".to_string()]).await;
        assert!(out.starts_with("version\t") && out.ends_with("\n:4\n"), "{out}");
    }
}
