//! `kubectl pki exporter` flags.

use super::KamajiController;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ExporterArgs {
    /// Address to serve /metrics, /healthz and /readyz on.
    #[arg(long, value_name = "ADDRESS", default_value = ":9793")]
    pub listen: String,
    /// Watch Secrets (and tenants) in all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// More namespaces to watch besides -n (repeatable, comma-separated).
    #[arg(long, value_name = "NAMESPACE", value_delimiter = ',')]
    pub watch_namespace: Vec<String>,
    /// Judge every Kamaji TenantControlPlane it can see and dial its API (the `:served` check).
    #[arg(long)]
    pub tenants: bool,
    /// Do not use the Kubernetes API: node files only (--file, --k3s-dir, --kubeadm-dir).
    #[arg(long)]
    pub no_secrets: bool,
    /// Node files, read again every --files-interval.
    #[command(flatten)]
    pub files: super::NodeFiles,
    /// Accepted for the chart and for `status` parity; alerts decide what is expiring.
    #[arg(long, value_name = "DURATION", default_value = "28d")]
    pub warn_within: String,
    /// How often tenant APIs are dialled and tenants judged.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub served_interval: String,
    /// How often node files are read again.
    #[arg(long, value_name = "DURATION", default_value = "1m")]
    pub files_interval: String,
    /// Limit of one TLS handshake with a tenant API.
    #[arg(long, value_name = "DURATION", default_value = "3s")]
    pub server_timeout: String,
    /// Namespaces whose Secrets are not read (repeatable, comma-separated).
    #[arg(long, value_name = "NAMESPACE", value_delimiter = ',')]
    pub exclude_namespaces: Vec<String>,
    /// Only Secrets matching this label selector.
    #[arg(long, value_name = "SELECTOR")]
    pub secret_label_selector: Option<String>,
    /// Tenants judged and dialled at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Log lines as text or as JSON objects (stderr).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub kamaji: KamajiController,
    /// Secrets per list request (pagination).
    #[arg(long, hide = true, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
}
