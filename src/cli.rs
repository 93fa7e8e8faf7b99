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
    /// Offline Talos PKI: talosconfig client certificates from the Talos OS CA.
    Talos(TalosArgs),
    /// Offline k3s PKI: custom CAs, cross-signed CA rotation, service-account keys.
    K3s(K3sArgs),
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

#[derive(Debug, Clone, Args)]
pub struct TalosArgs {
    #[command(subcommand)]
    pub command: TalosCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TalosCommand {
    /// talosconfig files.
    Config(TalosConfigArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TalosConfigArgs {
    #[command(subcommand)]
    pub command: TalosConfigCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TalosConfigCommand {
    /// Write a new talosconfig with a client certificate signed by the Talos OS CA (like `talosctl config new`, offline).
    New(TalosConfigNewArgs),
}

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("ca_source").required(true).args(["ca", "from_secrets", "from_machine_config"]))]
pub struct TalosConfigNewArgs {
    /// Where to write the talosconfig.
    #[arg(value_name = "PATH", default_value = "talosconfig", conflicts_with = "out")]
    pub path: PathBuf,
    /// Where to write the talosconfig (same as PATH).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// The Talos OS CA certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca: Option<PathBuf>,
    /// The Talos OS CA private key (PEM).
    #[arg(long, value_name = "FILE", requires = "ca")]
    pub ca_key: Option<PathBuf>,
    /// Read the CA from a secrets bundle (`talosctl gen secrets`: certs.os).
    #[arg(long, value_name = "FILE")]
    pub from_secrets: Option<PathBuf>,
    /// Read the CA from a control plane machine configuration (.machine.ca).
    #[arg(long, value_name = "FILE")]
    pub from_machine_config: Option<PathBuf>,
    /// Roles placed in the certificate's Organization.
    #[arg(long, value_delimiter = ',', default_value = "os:admin")]
    pub roles: Vec<String>,
    /// Client certificate lifetime (e.g. 24h, 8760h, 30d).
    #[arg(long, value_name = "DURATION", default_value = "8760h")]
    pub crt_ttl: String,
    /// Talos API endpoints (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// Default target nodes (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub nodes: Vec<String>,
    /// Name of the context in the talosconfig.
    #[arg(long, value_name = "NAME", default_value = "talos")]
    pub context_name: String,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct K3sArgs {
    #[command(subcommand)]
    pub command: K3sCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum K3sCommand {
    /// Create custom CA certificates and keys like k3s's generate-custom-ca-certs.sh.
    GenerateCa(K3sGenerateCaArgs),
    /// Stage new CAs cross-signed by the current ones (non-disruptive rotation), like rotate-default-ca-certs.sh.
    CrossSign(K3sCrossSignArgs),
    /// Stage a new service-account signing key with the current keys appended.
    RotateSaKey(K3sRotateSaKeyArgs),
    /// Check a staged directory the way `k3s certificate rotate-ca` does before accepting it.
    Check(K3sCheckArgs),
    /// Issue a leaf certificate from a CA (for tests and break-glass access).
    #[command(hide = true)]
    IssueLeaf(K3sIssueLeafArgs),
}

#[derive(Debug, Clone, Args)]
pub struct K3sGenerateCaArgs {
    /// The k3s data directory; files go to DIR/server/tls.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/rancher/k3s")]
    pub data_dir: PathBuf,
    /// Stage into OUT/tls instead (then: k3s certificate rotate-ca --path=OUT).
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// An existing root CA certificate (otherwise an RSA-4096 root is generated).
    #[arg(long, value_name = "FILE")]
    pub root_ca: Option<PathBuf>,
    /// The root CA's key, to sign a new intermediate.
    #[arg(long, value_name = "FILE", requires = "root_ca")]
    pub root_key: Option<PathBuf>,
    /// An existing intermediate CA certificate signed by the root.
    #[arg(long, value_name = "FILE", requires_all = ["root_ca", "intermediate_key"])]
    pub intermediate_ca: Option<PathBuf>,
    /// The intermediate CA's key.
    #[arg(long, value_name = "FILE", requires = "intermediate_ca")]
    pub intermediate_key: Option<PathBuf>,
    /// Product name in the CAs' common names (k3s, rke2).
    #[arg(long, default_value = "k3s")]
    pub product: String,
}

#[derive(Debug, Clone, Args)]
pub struct K3sCrossSignArgs {
    /// The current k3s data directory (reads DIR/server/tls).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/rancher/k3s")]
    pub data_dir: PathBuf,
    /// Where to stage (files in OUT/tls); default DIR/server/rotate-ca.
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,
    /// A token (K10...::user:secret or the bare secret) to print updated; default: DIR/server/token and agent-token.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Product name in the CAs' common names (k3s, rke2).
    #[arg(long, default_value = "k3s")]
    pub product: String,
}

#[derive(Debug, Clone, Args)]
pub struct K3sRotateSaKeyArgs {
    /// The current k3s data directory (reads DIR/server/tls/service.key).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/rancher/k3s")]
    pub data_dir: PathBuf,
    /// Where to stage (writes OUT/tls/service.key).
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct K3sCheckArgs {
    /// The staged data to check: a rotate-ca path (with tls/), a data dir (with server/tls) or the tls directory itself.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The data in use now, to check the new CAs chain to it and the old service key is kept.
    #[arg(long, value_name = "DIR")]
    pub current: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct K3sIssueLeafArgs {
    /// CA certificate (the first certificate of the file is the issuer).
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,
    /// CA private key (the first key of the file).
    #[arg(long, value_name = "FILE")]
    pub ca_key: PathBuf,
    /// Subject common name.
    #[arg(long)]
    pub cn: String,
    /// Subject organizations (Kubernetes groups).
    #[arg(long = "org", value_name = "O")]
    pub orgs: Vec<String>,
    /// Subject alternative names (DNS names or IP addresses); makes a serving certificate.
    #[arg(long = "san", value_delimiter = ',')]
    pub sans: Vec<String>,
    /// Lifetime (e.g. 24h, 365d).
    #[arg(long, default_value = "24h")]
    pub ttl: String,
    /// Output certificate path.
    #[arg(long, value_name = "FILE")]
    pub cert_out: PathBuf,
    /// Output private key path (0600).
    #[arg(long, value_name = "FILE")]
    pub key_out: PathBuf,
}
