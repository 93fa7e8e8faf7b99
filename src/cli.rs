//! The command line: clap structs only, no logic.

mod exporter;
mod kamaji;
mod rotate_sa_key;
pub use exporter::{ExporterArgs, LogFormat};
pub use kamaji::{KamajiController, TenantEndpoint};
pub use rotate_sa_key::RotateSaKeyArgs;

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::output::OutputFormat;

/// Certificates of Kubernetes clusters: expiry status, Kamaji tenant CA
/// rotation, offline Talos and k3s PKI.
#[derive(Debug, Parser)]
#[command(name = "kubectl pki", bin_name = "kubectl pki", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
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
    /// The kubeconfig context to use (status: repeatable, each context read at once).
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub context: Vec<String>,
    /// Namespace (default: the context's namespace, then "default").
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_parser = output_format(), default_value = "table")]
    pub output: OutputFormat,
    /// Limit of each single API request (e.g. 30s, 1m; a bare number is seconds; 0: no limit), as kubectl's.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,
    /// Log more to stderr (-v, -vv, -vvv).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `-o`: the names of [`OutputFormat`], parsed into it.
fn output_format() -> impl TypedValueParser<Value = OutputFormat> {
    PossibleValuesParser::new(OutputFormat::NAMES).map(|name| name.parse().unwrap_or_default())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every certificate the current context depends on, with expiry and chain verdicts.
    Status(StatusArgs),
    /// Serve certificate metrics for Prometheus, kept current by watches (runs until SIGTERM).
    Exporter(ExporterArgs),
    /// Print the version, commit and the Kubernetes API version it was built for.
    Version(VersionArgs),
    /// Print a shell completion script for `kubectl-pki` (see README: Install).
    Completion(CompletionArgs),
    /// Offline Talos PKI: talosconfig client certificates from the Talos OS CA.
    Talos(TalosArgs),
    /// Offline k3s PKI: custom CAs, cross-signed CA rotation, service-account keys.
    K3s(K3sArgs),
    /// Rotate the CA of a Kamaji/Cozystack tenant safely (dry run by default).
    #[command(name = "rotate-ca")]
    RotateCa(RotateCaArgs),
    /// Renew a Kamaji/Cozystack tenant's leaf certificates and kubeconfigs, never its CA (dry run by default).
    Renew(RenewArgs),
    /// Rotate a Kamaji/Cozystack tenant's service-account key without breaking a token: stage, then --finish (dry run by default).
    #[command(name = "rotate-sa-key")]
    RotateSaKey(RotateSaKeyArgs),
    /// Verify that pods restarted after a point in time and are Ready.
    Restarts(RestartsArgs),
    /// Put the Secrets of a rotate-ca backup back.
    Restore(RestoreArgs),
    /// The kubeconfig's own credentials: renew the client certificate.
    Kubeconfig(KubeconfigArgs),
}

#[derive(Debug, Clone, Args)]
pub struct KubeconfigArgs {
    #[command(subcommand)]
    pub command: KubeconfigCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KubeconfigCommand {
    /// Renew the current context's client certificate through a CertificateSigningRequest (dry run by default).
    Renew(KubeconfigRenewArgs),
}

/// The key type of the renewed certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenewKeyType {
    /// The type of the current certificate's key.
    Same,
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    Ed25519,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "rsa-3072")]
    Rsa3072,
    #[value(name = "rsa-4096")]
    Rsa4096,
}

/// Exit codes: 0 renewed (dry run: clean plan), 1 error or refusal (no CSR
/// created when refused), 3 dry run whose real run would refuse.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  kubectl pki kubeconfig renew\n  kubectl pki kubeconfig renew --dry-run=false --approve --duration 720h\n  kubectl pki kubeconfig renew --dry-run=false --out renewed.kubeconfig\n\nThe new certificate has the current subject (CN = user, O = groups) and comes from the signer kubernetes.io/kube-apiserver-client. Without --approve (or without the right to approve) it prints the `kubectl certificate approve NAME` line for an administrator and waits."
)]
pub struct KubeconfigRenewArgs {
    /// Print the plan only (default); --dry-run=false creates the CSR and updates the kubeconfig.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub dry_run: bool,
    /// Approve the CSR yourself when RBAC allows it (update certificatesigningrequests/approval, approve on the signer).
    #[arg(long)]
    pub approve: bool,
    /// Lifetime asked of the signer (expirationSeconds, at least 10m; e.g. 720h, 90d); default: the signer's.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Key type of the new certificate.
    #[arg(long, value_enum, default_value_t = RenewKeyType::Same)]
    pub key_type: RenewKeyType,
    /// Limit of the wait for approval and the certificate (e.g. 10m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// Write a new kubeconfig (the context alone, inline, mode 0600) to FILE instead of updating the current one.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing --out FILE.
    #[arg(long, requires = "out")]
    pub force: bool,
}

/// How `rotate-ca` triggers the new CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotateMethod {
    /// `annotate` when the Kamaji controller is edge-25.7.3 or later, else `delete`.
    Auto,
    /// `certs.kamaji.clastix.io/rotate=""` on `<tenant>-ca` (Kamaji edge-25.7.3+).
    Annotate,
    /// Delete the runbook's secrets (never -datastore-config; -sa-certificate only with --keep-sa-key=false).
    Delete,
}

/// Exit codes: 0 done (dry run: clean plan), 1 error or refusal (nothing
/// changed when refused), 3 dry run whose real run would refuse, 130
/// interrupted (the Lease is released; re-run to continue).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  kubectl pki rotate-ca kubernetes-demo -n tenant-root\n  kubectl pki rotate-ca kubernetes-demo -n tenant-root --dry-run=false --restart-workers --write-kubeconfig demo.kubeconfig\n  kubectl pki rotate-ca kubernetes-a kubernetes-b kubernetes-c -n tenant-root --dry-run=false --parallel 3\n\nRe-running the same command after an interruption or a timeout continues the rotation."
)]
pub struct RotateCaArgs {
    /// The TenantControlPlane(s) (Cozystack: kubernetes-<cluster>; the cluster name alone works too).
    #[arg(value_name = "TENANT", required = true, num_args = 1..)]
    pub tenants: Vec<String>,
    /// Rotate up to N of the given tenants at once (one Kamaji restart serves those whose secrets changed before it).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Print the plan only (default); --dry-run=false executes it.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub dry_run: bool,
    /// How to trigger the new CA.
    #[arg(long, value_enum, default_value_t = RotateMethod::Auto)]
    pub method: RotateMethod,
    /// Keep the service-account key so every token stays valid (--keep-sa-key=false rotates it: all tokens break).
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub keep_sa_key: bool,
    #[command(flatten)]
    pub kamaji: KamajiController,
    #[command(flatten)]
    pub endpoint: TenantEndpoint,
    /// The Kamaji version (e.g. 26.3.5-edge), instead of reading it from the controller image.
    #[arg(long, value_name = "VERSION")]
    pub kamaji_version: Option<String>,
    /// Label selector of the tenant's worker pods (default: cluster.x-k8s.io/cluster-name=<tenant>,cluster.x-k8s.io/role=worker).
    #[arg(long, value_name = "SELECTOR")]
    pub worker_selector: Option<String>,
    /// Delete the worker (virt-launcher) pods and wait for replacements, instead of waiting for them to be replaced.
    #[arg(long)]
    pub restart_workers: bool,
    /// Directory for the backup file (created 0700 if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub backup_dir: PathBuf,
    /// Limit of each wait (e.g. 10m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// Write the new admin kubeconfig (admin.conf) to FILE (mode 0600); an existing FILE is refused without --force.
    #[arg(long, value_name = "FILE")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Replace an existing --write-kubeconfig FILE (a symlink there is replaced, not followed).
    #[arg(long)]
    pub force: bool,
    /// Resuming: the interrupted run's backup file, when the path it recorded is not readable here (another host).
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    /// Resuming: continue an interrupted rotation that started more than 24h ago.
    #[arg(long)]
    pub resume_stale: bool,
    /// Take the tenant's lock even if another run holds it. Risky: if that run is alive, both change the
    /// tenant at once (it stops at its next write); use it only when that run is known to be gone.
    #[arg(long)]
    pub force_unlock: bool,
}

/// Which of a tenant's secrets `renew` renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenewOnly {
    /// Leaf certificates (label certificate_lifecycle_controller=x509).
    X509,
    /// Kubeconfigs (label certificate_lifecycle_controller=kubeconfig).
    Kubeconfig,
}

/// Exit codes: 0 renewed (dry run: clean plan), 1 error or refusal (nothing
/// changed when refused), 3 dry run whose real run would refuse, 130
/// interrupted (the Lease is released; re-run to continue).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  kubectl pki renew kubernetes-demo -n tenant-root\n  kubectl pki renew kubernetes-demo -n tenant-root --dry-run=false --write-kubeconfig demo.kubeconfig\n  kubectl pki renew kubernetes-demo -n tenant-root --dry-run=false --only kubeconfig --expiring-within 30d\n\nThe CA and the service-account key are never touched. The Kamaji controller is restarted first: it dates every certificate from its process start. Re-running the same command after an interruption or a timeout continues the renewal."
)]
pub struct RenewArgs {
    /// The TenantControlPlane(s) (Cozystack: kubernetes-<cluster>; the cluster name alone works too).
    #[arg(value_name = "TENANT", required = true, num_args = 1..)]
    pub tenants: Vec<String>,
    /// Print the plan only (default); --dry-run=false renews.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub dry_run: bool,
    /// Renew only the leaf certificates (x509) or only the kubeconfigs.
    #[arg(long, value_enum)]
    pub only: Option<RenewOnly>,
    /// Renew only what expires within this duration (e.g. 30d); default: every leaf.
    #[arg(long, value_name = "DURATION")]
    pub expiring_within: Option<String>,
    /// Limit of each wait (e.g. 10m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    #[command(flatten)]
    pub kamaji: KamajiController,
    #[command(flatten)]
    pub endpoint: TenantEndpoint,
    /// The Kamaji version (e.g. 26.3.5-edge), instead of reading it from the controller image.
    #[arg(long, value_name = "VERSION")]
    pub kamaji_version: Option<String>,
    /// Write the renewed admin kubeconfig (admin.conf) to FILE (mode 0600); an existing FILE is refused without --force.
    #[arg(long, value_name = "FILE")]
    pub write_kubeconfig: Option<PathBuf>,
    /// Replace an existing --write-kubeconfig FILE (a symlink there is replaced, not followed).
    #[arg(long, requires = "write_kubeconfig")]
    pub force: bool,
    /// Directory for the backup file (created 0700 if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub backup_dir: PathBuf,
    /// Take the tenant's lock even if another run holds it (only when that run is known to be gone).
    #[arg(long)]
    pub force_unlock: bool,
}

/// Exit codes: 0 every matching pod restarted and Ready, 4 otherwise (or none match), 1 error.
#[derive(Debug, Clone, Args)]
pub struct RestartsArgs {
    /// Label selector of the pods.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// RFC 3339 time (2026-11-27T10:00:00Z) or a duration back from now (10m).
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// Wait until every pod restarted and is Ready, or --timeout.
    #[arg(long)]
    pub wait: bool,
    /// Limit of --wait.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    /// Pods in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

/// Exit codes: 0 restored (dry run: planned), 1 error, refusal (nothing
/// changed) or an incomplete restore (the failed secrets are listed).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  kubectl pki restore ./pki-backup-tenant-root-kubernetes-demo-20261127T100000Z.yaml\n  kubectl pki restore ./pki-backup-tenant-root-kubernetes-demo-20261127T100000Z.yaml --dry-run=false\n\nOnly the recorded tenant's Kamaji secrets are restored, only on the cluster and into the namespace the backup was taken from. Before replacing a secret, its current version is saved to a new backup (undo with: kubectl pki restore <that file> --dry-run=false)."
)]
pub struct RestoreArgs {
    /// A backup file written by rotate-ca or restore (or a directory holding one).
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,
    /// Print the plan only (default); --dry-run=false restores.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub dry_run: bool,
    /// Directory for the pre-restore backup of the secrets it replaces (created 0700 if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub backup_dir: PathBuf,
    /// Restore a backup that records no cluster identity (written by an older version): check yourself it is this cluster's.
    #[arg(long)]
    pub no_identity_check: bool,
    /// Take the tenant's lock even if another run holds it. Risky: if that run is alive, both change the
    /// tenant at once; use it only when that run is known to be gone.
    #[arg(long)]
    pub force_unlock: bool,
}

/// Which inventories `status` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    Kubeconfig,
    Server,
    Secrets,
    Cabundle,
    Configmaps,
    Tenant,
    File,
    K3s,
    Kubeadm,
}

/// Certificates on this machine's disk: `status` and the exporter read them alike.
#[derive(Debug, Clone, Args)]
pub struct NodeFiles {
    /// A local certificate, bundle, kubeconfig or talosconfig (repeatable).
    #[arg(long, value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// A k3s data directory (its server/tls layout), like `k3s certificate check`.
    #[arg(long, value_name = "DIR")]
    pub k3s_dir: Option<PathBuf>,
    /// A kubeadm directory (default /etc/kubernetes), like `kubeadm certs check-expiration`.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "/etc/kubernetes")]
    pub kubeadm_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    Expiry,
    Name,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Read Secrets and ConfigMaps in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Limit the sources (repeatable, comma-separated); default: all that apply.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub source: Vec<Source>,
    /// Group and verify a Kamaji TenantControlPlane's secrets.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Every TenantControlPlane in the namespace (-A: in all): one row per tenant.
    #[arg(long, conflicts_with = "tenant")]
    pub all_tenants: bool,
    #[command(flatten)]
    pub endpoint: TenantEndpoint,
    /// The order of table rows: what needs attention first, then by expiry; or by name.
    #[arg(long, value_enum, default_value_t = SortBy::Expiry)]
    pub sort_by: SortBy,
    /// Every context of the kubeconfig, read at once: the table gains a CONTEXT column.
    #[arg(long)]
    pub all_contexts: bool,
    /// Limit of reading one context (--all-contexts, several --context): a slower one is a row with the error.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub context_timeout: String,
    /// Contexts read at once (--all-contexts); tenant APIs (--all-tenants) or caBundle servers dialled at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    #[command(flatten)]
    pub files: NodeFiles,
    /// Certificates expiring within this duration are `expiring` (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub warn_within: String,
    /// Limit of a TLS handshake to read a served certificate (the API server, a tenant's API, a webhook).
    #[arg(long, value_name = "DURATION", default_value = "3s")]
    pub server_timeout: String,
    /// Print counts per status instead of rows.
    #[arg(long)]
    pub summary: bool,
    #[command(flatten)]
    pub kamaji: KamajiController,
    /// Objects per list request (pagination); hidden, for tests.
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

#[derive(Clone, Args)]
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
    /// Print the updated tokens in full (default: the secret part is masked as ****).
    #[arg(long)]
    pub show_token: bool,
    /// Product name in the CAs' common names (k3s, rke2).
    #[arg(long, default_value = "k3s")]
    pub product: String,
}

/// The `--token` value is shown masked: it is the cluster's join secret.
impl std::fmt::Debug for K3sCrossSignArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K3sCrossSignArgs")
            .field("data_dir", &self.data_dir)
            .field("out", &self.out)
            .field("token", &self.token.as_deref().map(crate::k3s::token::masked))
            .field("show_token", &self.show_token)
            .field("product", &self.product)
            .finish()
    }
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

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn cross_sign_args_debug_masks_the_token() {
        let a =
            K3sCrossSignArgs { data_dir: "/d".into(), out: None, token: Some("s3cret".into()), show_token: false, product: "k3s".into() };
        let debug = format!("{a:?}");
        assert!(debug.contains("server:****") && !debug.contains("s3cret"), "{debug}");
    }
}
