//! The prose of a plan: the warnings (hazards, what the Cozystack runbook
//! misses) and the notes (why things are done the way they are), in the
//! order the plan shows them. Pure text from the inventory and the
//! decisions already made: no I/O, no clap, no decisions of its own.

use super::plan::{Inventory, Options, Resume, WorkloadAction, WorkloadStep};
use crate::kamaji::horizon::{self, Horizon};
use crate::kamaji::names;
use crate::kamaji::version::{self, KamajiVersion};

/// The warnings and notes of a plan, filled in the plan's order.
pub struct Advice {
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

impl Advice {
    /// What the runbook misses about the secrets (`present`: the tenant has a secret of that suffix).
    pub fn secrets(&mut self, tenant: &str, present: impl Fn(&str) -> bool, opts: &Options, kamaji_v: Option<KamajiVersion>) {
        let (warnings, notes) = (&mut self.warnings, &mut self.notes);
        if present(names::DATASTORE_CONFIG) {
            notes.push(format!(
                "{} is never deleted: it holds the datastore credentials.",
                names::secret_name(tenant, names::DATASTORE_CONFIG)
            ));
        }
        match present(names::SA) {
            true if opts.keep_sa_key => notes.push(format!(
                "{} is kept (--keep-sa-key): the runbook deletes it, which makes every service-account token of the tenant invalid (kamaji#1325: CoreDNS and konnectivity agents down).",
                names::secret_name(tenant, names::SA)
            )),
            true => warnings.push(format!(
                "--keep-sa-key=false: {} gets a new key, so EVERY service-account token in the tenant becomes invalid at once (kamaji#1325); pods inside the tenant must get new tokens (restart them) before they work again. The safe path: keep the key here and rotate it on its own with `kubectl pki rotate-sa-key {tenant}` (a new signing key beside the old one, every token still valid; `--finish` removes the old key once every token has been refreshed).",
                names::secret_name(tenant, names::SA)
            )),
            false => {}
        }
        if present(names::FRONT_PROXY_CA) {
            notes.push(format!(
                "{} is a separate CA (API aggregation) and is kept; the front-proxy client certificate stays valid.",
                names::secret_name(tenant, names::FRONT_PROXY_CA)
            ));
        }
        if present(names::KONNECTIVITY_KUBECONFIG) {
            warnings.push("konnectivity agents inside the tenant do not reload the CA (apiserver-network-proxy#801): restart them in the tenant after the rotation (kubectl -n kube-system rollout restart ds/konnectivity-agent, with the new kubeconfig).".into());
        }
        if kamaji_v.is_none_or(|v| v < version::FIX_SOOT_MANAGER) {
            notes.push(format!(
                "The Kamaji controller pods are restarted: before {} its soot manager keeps the old tenant kubeconfig (kamaji#1191).",
                version::FIX_SOOT_MANAGER
            ));
        }
    }

    /// Deployments beyond the runbook's kcsi driver that mount the admin kubeconfig.
    pub fn workloads(&mut self, tenant: &str, workloads: &[WorkloadStep]) {
        let warnings = &mut self.warnings;
        let admin = names::secret_name(tenant, names::ADMIN_KUBECONFIG);
        let kcsi = format!("{tenant}-kcsi-controller");
        let beyond_runbook: Vec<&str> = workloads
            .iter()
            .filter(|w| w.action == WorkloadAction::Restart && w.name != kcsi && w.reasons.iter().any(|r| r.contains(&admin)))
            .map(|w| w.name.as_str())
            .collect();
        if !beyond_runbook.is_empty() {
            warnings.push(format!(
                "The runbook restarts only the kcsi driver; {} more Deployment(s) mount {admin} and would keep the old CA: {} (restarted too).",
                beyond_runbook.len(),
                beyond_runbook.join(", ")
            ));
        }
    }

    /// Pods the runbook's glob would hit by mistake; workers that will not be replaced on their own.
    pub fn workers(&mut self, inv: &Inventory, opts: &Options, worker_names: &[String]) {
        let (warnings, notes) = (&mut self.warnings, &mut self.notes);
        let tenant = inv.tenant.as_str();
        let strangers: Vec<&String> = inv.glob_pods.iter().filter(|n| !worker_names.contains(n)).collect();
        if !strangers.is_empty() {
            notes.push(format!(
                "{} pod(s) match the runbook's glob virt-launcher-{tenant}-* but belong to other clusters (not {}): not touched: {}.",
                strangers.len(),
                opts.worker_selector,
                strangers.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if worker_names.is_empty() {
            notes.push(format!("No worker pods match {}: phase 7 has nothing to wait for.", opts.worker_selector));
        } else if !opts.restart_workers {
            warnings.push(format!(
            "Worker kubelets trust the old CA until their VMs are replaced. Cozystack v1.x MachineHealthChecks do not replace workers when all fail at once (maxUnhealthy), so waiting may time out: pass --restart-workers to delete the {} worker pod(s) and wait for replacements.",
            worker_names.len()
        ));
        }
    }

    /// The tenant's state: not Ready, no Kamaji pods, kubeconfigs to fetch again, a resumed run.
    /// A controller up since long ago issues leaves that expire early (Kamaji dates them
    /// from its process start).
    pub fn horizon(&mut self, controller: &Horizon, now: jiff::Timestamp) {
        if let (true, Some(started), Some(until)) = (controller.is_short_from(now), controller.started_at, controller.issues_until) {
            self.notes.push(format!(
                "The Kamaji controller has been running since {started}: leaves it issues now would expire on {until} (Kamaji dates certificates from its process start); rotate-ca restarts it (phase 4) and has any leaf that would expire before {} re-issued by the restarted controller (phase 5).",
                horizon::full_year_from(now)
            ));
        }
    }

    pub fn state(&mut self, inv: &Inventory, opts: &Options, resume: Option<&Resume>) {
        let (warnings, notes) = (&mut self.warnings, &mut self.notes);
        match inv.tcp_status.as_deref() {
            Some("Ready") => {}
            status if resume.is_none() => warnings.push(format!(
                "The TenantControlPlane is {} (not Ready): find out why before rotating, or the rotation adds to an outage.",
                status.unwrap_or("of unknown status")
            )),
            _ => {}
        }
        if inv.kamaji_pods.is_empty() {
            warnings.push(format!(
            "No Kamaji controller pods in {} match {}: nothing to restart in phase 4, and nothing will regenerate the secrets if the operator runs elsewhere and is stuck (check --kamaji-namespace/--kamaji-selector).",
            opts.kamaji_namespace, opts.kamaji_selector
        ));
        }
        warnings.push(format!(
            "Every kubeconfig of this tenant downloaded before the rotation stops working; fetch the new one afterwards ({}).",
            if opts.write_kubeconfig { "--write-kubeconfig writes it" } else { "or pass --write-kubeconfig FILE" }
        ));
        if let Some(renewal) = &inv.unfinished_renewal {
            notes.push(format!(
                "The Lease records an unfinished renewal (done: {}, started {}): this rotation re-issues every leaf, so it supersedes it; its state is cleared when the rotation completes.",
                renewal.done, renewal.started_at
            ));
        }
        if let Some(r) = &resume {
            notes.push(format!(
                "Resuming an unfinished run (started {}, done up to phase {}){}.",
                r.started_at,
                r.done,
                if r.ca_already_rotated { "; the CA was already rotated: the rotate phase only finishes what is left" } else { "" }
            ));
            if !r.backup_readable {
                warnings.push(format!(
                    "The backup of the interrupted run ({}) is not readable here: a new backup of the current secrets is taken.",
                    r.backup.as_deref().unwrap_or("not recorded")
                ));
            }
        }
    }
}
