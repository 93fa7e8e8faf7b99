//! The command line: clap structs only, no logic.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Certificates of Kubernetes clusters: expiry status, Kamaji tenant CA
/// rotation, offline Talos and k3s PKI.
#[derive(Debug, Parser)]
#[command(name = "kubectl pki", bin_name = "kubectl pki", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand shares, spelled as kubectl spells them.
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace, then "default").
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Log more to stderr (-v, -vv, -vvv).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every certificate the current context depends on, with expiry and chain verdicts.
    Status(StatusArgs),
    /// Print the version, commit and the Kubernetes API version it was built for.
    Version(VersionArgs),
    /// Print a shell completion script for `kubectl-pki` (see README: Install).
    Completion(CompletionArgs),
}

/// Which inventories `status` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    Kubeconfig,
    Server,
    Secrets,
    Tenant,
    File,
    K3s,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Read Secrets in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Limit the sources (repeatable, comma-separated); default: all that apply.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub source: Vec<Source>,
    /// Group and verify a Kamaji TenantControlPlane's secrets.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// A local certificate, bundle, kubeconfig or talosconfig (repeatable).
    #[arg(long, value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// A k3s data directory (its server/tls layout), like `k3s certificate check`.
    #[arg(long, value_name = "DIR")]
    pub k3s_dir: Option<PathBuf>,
    /// Certificates expiring within this duration are `expiring` (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub warn_within: String,
    /// Print counts per status instead of rows.
    #[arg(long)]
    pub summary: bool,
    /// Secrets per list request (pagination); hidden, for tests.
    #[arg(long, hide = true, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
}

#[derive(Debug, Clone, Args)]
pub struct VersionArgs {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// The shell to print the script for.
    #[arg(value_enum)]
    pub shell: Shell,
}
