//! `kubectl pki rotate-sa-key` flags.

use std::path::PathBuf;

use clap::Args;

/// Exit codes: 0 done (dry run: clean plan), 1 error or refusal (nothing changed when
/// refused), 3 dry run whose real run would refuse, 130 interrupted (the Lease is released;
/// re-run to continue).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  kubectl pki rotate-sa-key kubernetes-demo -n tenant-root\n  kubectl pki rotate-sa-key kubernetes-demo -n tenant-root --dry-run=false\n  kubectl pki rotate-sa-key kubernetes-demo -n tenant-root --finish --dry-run=false\n\nstage (the default) puts a new signing key first in <tenant>-sa-certificate's sa.pub and keeps every current key after it, so every token stays valid; --finish removes the old keys once the longest token lifetime has passed (--service-account-max-token-expiration of the tenant kube-apiserver, else 24h). Both replace the tenant control-plane pods one at a time and check the live tenant API. Re-running the same command after an interruption or a timeout continues."
)]
pub struct RotateSaKeyArgs {
    /// The TenantControlPlane (Cozystack: kubernetes-<cluster>; the cluster name alone works too).
    #[arg(value_name = "TENANT")]
    pub tenant: String,
    /// Print the plan only (default); --dry-run=false executes it.
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub dry_run: bool,
    /// Remove every public key but the signing one (after the minimum age since the stage).
    #[arg(long)]
    pub finish: bool,
    /// With --finish: do not wait for the minimum age (tokens of the old keys that were not refreshed break now).
    #[arg(long, requires = "finish")]
    pub force: bool,
    /// Limit of each wait (e.g. 10m, 1h).
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// Directory for the backup file (created 0700 if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub backup_dir: PathBuf,
    /// Take the tenant's lock even if another run holds it (only when that run is known to be gone).
    #[arg(long)]
    pub force_unlock: bool,
    #[command(flatten)]
    pub endpoint: super::TenantEndpoint,
}
