//! The rule table of a plan and its builder: how the CA is rotated, what
//! happens to each secret and why, which workloads restart. Pure: no I/O,
//! no clap, no printing; the prose of warnings and notes is [`super::advice`].

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;

use super::advice::Advice;
use super::backup::data_hash;
use super::plan::*;
use super::verify;
use crate::kamaji::horizon::Horizon;
use crate::kamaji::names;
use crate::kamaji::version::{self, Detected, KamajiVersion};
use crate::steps::RunStep;
use crate::workloads;

/// Every suffix Kamaji writes, in the runbook's order (CA first).
pub const SUFFIXES: [&str; 13] = [
    names::CA,
    names::SA,
    names::API_SERVER,
    names::API_SERVER_KUBELET_CLIENT,
    names::DATASTORE_CERT,
    names::FRONT_PROXY_CLIENT,
    names::KONNECTIVITY_CERT,
    names::ADMIN_KUBECONFIG,
    names::CONTROLLER_MANAGER_KUBECONFIG,
    names::KONNECTIVITY_KUBECONFIG,
    names::SCHEDULER_KUBECONFIG,
    names::FRONT_PROXY_CA,
    names::DATASTORE_CONFIG,
];

/// The Kamaji version: `--kamaji-version`, else the lowest one the
/// controller pods' images name.
pub fn kamaji_version(inv: &Inventory, opts: &Options) -> Detected {
    version::detect(&inv.kamaji_pods, opts.kamaji_version)
}

fn decide_method(choice: MethodChoice, detected: &Detected, blockers: &mut Vec<String>) -> (Method, String) {
    let supports = detected.version.map(KamajiVersion::supports_rotate_annotation);
    let version = detected.version.map_or_else(|| "unknown".to_string(), |v| v.to_string());
    match (choice, supports) {
        (MethodChoice::Annotate, Some(false)) => {
            blockers.push(format!(
                "--method annotate: Kamaji {version} ({}) predates the rotate annotation (edge-25.7.3) and would ignore it; use --method delete",
                detected.how
            ));
            (Method::Annotate, "--method annotate".into())
        }
        (MethodChoice::Annotate, _) => (Method::Annotate, "--method annotate".into()),
        (MethodChoice::Delete, _) => (Method::Delete, "--method delete (the runbook's way)".into()),
        (MethodChoice::Auto, Some(true)) => {
            (Method::Annotate, format!("Kamaji {version} supports certs.kamaji.clastix.io/rotate (edge-25.7.3 or later)"))
        }
        (MethodChoice::Auto, Some(false)) => {
            (Method::Delete, format!("Kamaji {version} predates the rotate annotation (edge-25.7.3): deleting, as the runbook does"))
        }
        (MethodChoice::Auto, None) => (
            Method::Delete,
            format!(
                "Kamaji version unknown ({}): deleting, which every Kamaji version handles; pass --kamaji-version or --method annotate if yours is edge-25.7.3 or later",
                detected.how
            ),
        ),
    }
}

/// What happens to one secret, and why.
fn secret_action(suffix: &str, method: Method, opts: &Options, kamaji: Option<KamajiVersion>) -> (SecretAction, String) {
    use SecretAction::*;
    let older = |fix: KamajiVersion| kamaji.is_none_or(|v| v < fix);
    match (suffix, method) {
        (names::DATASTORE_CONFIG, _) => {
            (Keep, "never deleted: Kamaji would generate a new datastore password and the tenant would lose its data".into())
        }
        (names::FRONT_PROXY_CA, _) => (Keep, "a separate CA (aggregation layer): not rotated; its client certificate stays valid".into()),
        (names::SA, _) if opts.keep_sa_key => {
            (Keep, "--keep-sa-key: the service-account key stays, so every issued token stays valid".into())
        }
        (names::SA, _) => (Delete, "--keep-sa-key=false: a new service-account key; every token issued so far becomes invalid".into()),
        (names::CA, Method::Annotate) => (Annotate, "certs.kamaji.clastix.io/rotate=\"\": Kamaji writes a new CA into this secret".into()),
        (names::CA, Method::Delete) => (Delete, "the tenant CA: Kamaji generates a new one".into()),
        (names::KONNECTIVITY_KUBECONFIG, Method::Annotate) if older(version::FIX_KONNECTIVITY_KUBECONFIG) => (
            Delete,
            format!(
                "Kamaji before {} keeps the old CA in it (kamaji#1152: exec/logs outage): deleted so it is regenerated",
                version::FIX_KONNECTIVITY_KUBECONFIG
            ),
        ),
        (names::KONNECTIVITY_CERT, Method::Annotate) if older(version::FIX_KONNECTIVITY_CERT) => (
            Delete,
            format!(
                "Kamaji before {} does not re-issue it on CA rotation (kamaji#976): deleted so it is regenerated",
                version::FIX_KONNECTIVITY_CERT
            ),
        ),
        (names::DATASTORE_CERT, Method::Annotate) => (Keep, "signed by the DataStore's CA, not the tenant CA: unaffected".into()),
        (names::FRONT_PROXY_CLIENT, Method::Annotate) => (Keep, "signed by the front-proxy CA, which is kept: unaffected".into()),
        (names::DATASTORE_CERT, Method::Delete) => (Delete, "in the runbook; signed by the DataStore's CA: regenerated from it".into()),
        (names::FRONT_PROXY_CLIENT, Method::Delete) => (Delete, "in the runbook; signed by the front-proxy CA: regenerated from it".into()),
        (_, Method::Annotate) => (Reissued, "signed by the tenant CA: Kamaji re-issues it in place".into()),
        (_, Method::Delete) => (Delete, "in the runbook; signed by the tenant CA: regenerated from the new one".into()),
    }
}

/// Builds the plan from the inventory and the flags.
pub fn build(inv: &Inventory, opts: &Options) -> Plan {
    let mut blockers = Vec::new();
    let tenant = inv.tenant.as_str();

    let detected = kamaji_version(inv, opts);
    let (method, method_reason) = decide_method(opts.method, &detected, &mut blockers);
    let kamaji_v = detected.version;

    let by_name: BTreeMap<&str, &Secret> = inv.secrets.iter().filter_map(|s| Some((s.metadata.name.as_deref()?, s))).collect();
    let ca_secret = by_name.get(names::secret_name(tenant, names::CA).as_str()).copied();
    let current_ca = ca_secret.and_then(|s| verify::ca_of(s).ok()).map(|(_, id)| id);

    // Resuming: which secrets no longer hold the backed-up content.
    let resume = inv.previous.as_ref().filter(|p| p.is_unfinished()).map(|p| Resume {
        done: p.done.name().into(),
        started_at: p.started_at,
        old_ca: p.old_ca.clone(),
        backup: p.backup.clone(),
        backup_readable: inv.previous_backup.is_some(),
        ca_already_rotated: current_ca.as_ref().is_some_and(|c| c.is_rotated_from(&p.old_ca)),
    });
    let baseline: Option<BTreeMap<String, String>> =
        inv.previous_backup.as_ref().map(|b| b.iter().filter_map(|s| Some((s.metadata.name.clone()?, data_hash(s)))).collect());

    let mut secrets = Vec::new();
    for suffix in SUFFIXES {
        let name = names::secret_name(tenant, suffix);
        let (action, reason) = secret_action(suffix, method, opts, kamaji_v);
        let Some(secret) = by_name.get(name.as_str()) else {
            // Resuming: deleted by the interrupted run and not made again yet. It stays in the
            // plan (its step finds it gone and skips it; phase 5 waits for it to come back).
            let backed_up = inv.previous_backup.as_ref().and_then(|b| b.iter().find(|s| s.metadata.name.as_deref() == Some(name.as_str())));
            if let (Some(_), Some(backed)) = (&resume, backed_up) {
                secrets.push(SecretStep {
                    suffix: suffix.to_string(),
                    action,
                    reason: format!("{reason} (missing now: deleted by the interrupted run, Kamaji makes it again)"),
                    keys: backed.data.iter().flat_map(|d| d.keys().cloned()).collect(),
                    certificate_sha256: None,
                    backup: action != SecretAction::Keep,
                    verify: (action != SecretAction::Keep).then(|| verify::check_for(suffix)),
                    already_rotated: false,
                    name,
                });
            }
            continue;
        };
        let keys: Vec<String> = secret.data.iter().flat_map(|d| d.keys().cloned()).collect();
        let certificate_sha256 = first_certificate_sha256(secret);
        let already_rotated = match (&resume, &baseline) {
            (Some(_), Some(b)) => b.get(&name).is_some_and(|h| *h != data_hash(secret)),
            (Some(r), None) => r.ca_already_rotated && action != SecretAction::Keep,
            _ => false,
        };
        let verify = (action != SecretAction::Keep).then(|| verify::check_for(suffix));
        secrets.push(SecretStep {
            name,
            suffix: suffix.to_string(),
            action,
            reason,
            keys,
            certificate_sha256,
            backup: action != SecretAction::Keep,
            verify,
            already_rotated,
        });
    }
    if let Some(previous) = inv.previous.as_ref().filter(|p| p.is_unfinished()) {
        let lease = format!("{}/{}", inv.namespace, super::inventory::lease_name(tenant));
        blockers.extend(super::resume::blockers(
            previous,
            &super::resume::Now {
                lease: &lease,
                current_ca: current_ca.as_ref(),
                tenant_uid: inv.tenant_uid.as_deref(),
                at: inv.read_at,
                resume_stale: opts.resume_stale,
                backup_problem: inv.previous_backup_problem.as_deref(),
            },
        ));
    }
    let lease = || format!("{}/{}", inv.namespace, super::inventory::lease_name(tenant));
    if let Some(sa) = &inv.unfinished_sa_key {
        let mode = sa.mode.as_deref().unwrap_or("stage");
        let finish = if mode == "finish" { " --finish" } else { "" };
        blockers.push(format!(
            "Lease {} records an unfinished rotate-sa-key ({mode}, done: {}, started {}): finish it first (kubectl pki rotate-sa-key {tenant} -n {} --dry-run=false{finish}); a CA rotation would restart the tenant's pods in the middle of its key change",
            lease(),
            sa.done,
            sa.started_at,
            inv.namespace
        ));
    }
    if ca_secret.is_none() && resume.is_none() {
        blockers.push(format!(
            "secret {}/{} not found: nothing to rotate (is the tenant provisioned?)",
            inv.namespace,
            names::secret_name(tenant, names::CA)
        ));
    } else if ca_secret.is_some() && current_ca.is_none() {
        blockers.push(format!("secret {} holds no readable ca.crt", names::secret_name(tenant, names::CA)));
    }

    let horizon = Horizon::of_pods(&inv.kamaji_pods);
    let mut advice = Advice { warnings: Vec::new(), notes: Vec::new() };
    advice.secrets(tenant, |suffix| by_name.contains_key(names::secret_name(tenant, suffix).as_str()), opts, kamaji_v);

    // Workloads that consume a changing secret.
    let changing: BTreeSet<&str> = secrets.iter().filter(|s| s.action != SecretAction::Keep).map(|s| s.name.as_str()).collect();
    let workloads = plan_workloads(&inv.deployments, tenant, &changing);
    advice.workloads(tenant, &workloads);

    // Workers.
    let worker_names: Vec<String> = inv.workers.iter().filter_map(|p| p.metadata.name.clone()).collect();
    advice.workers(inv, opts, &worker_names);
    advice.state(inv, opts, resume.as_ref());
    advice.horizon(&horizon, inv.read_at);
    let Advice { warnings, notes } = advice;

    Plan {
        namespace: inv.namespace.clone(),
        tenant: tenant.to_string(),
        tcp_status: inv.tcp_status.clone(),
        method,
        method_reason,
        kamaji: KamajiStep {
            namespace: opts.kamaji_namespace.clone(),
            selector: opts.kamaji_selector.clone(),
            pods: inv.kamaji_pods.iter().filter_map(|p| p.metadata.name.clone()).collect(),
            version: detected.version.map(|v| v.to_string()),
            started_at: horizon.started_at,
            issues_until: horizon.issues_until,
            version_from: if detected.image.is_empty() {
                detected.how.clone()
            } else {
                format!("{} (image {})", detected.how, detected.image)
            },
        },
        current_ca,
        secrets,
        workloads,
        workers: WorkerStep {
            selector: opts.worker_selector.clone(),
            action: if opts.restart_workers { WorkerAction::Delete } else { WorkerAction::Wait },
            pods: worker_names,
        },
        warnings,
        notes,
        blockers,
        resume,
    }
}

/// Deployments in the namespace that consume a changing secret, plus the
/// runbook's kcsi driver; those the TCP owns are rolled by Kamaji (`renew`
/// plans its restarts with it too).
pub fn plan_workloads(deployments: &[Deployment], tenant: &str, changing: &BTreeSet<&str>) -> Vec<WorkloadStep> {
    let kcsi_label = format!("{tenant}-kcsi-driver");
    let mut out = Vec::new();
    for d in deployments {
        let Some(name) = d.metadata.name.clone() else { continue };
        let Some(spec) = d.spec.template.spec.as_ref() else { continue };
        let mut reasons: Vec<String> = Vec::new();
        for secret in changing {
            for how in workloads::secret_references(spec, secret) {
                reasons.push(format!("uses {secret} ({how})"));
            }
        }
        if workloads::template_labels(d).get("app") == Some(&kcsi_label) {
            reasons.push(format!("the runbook's kcsi driver (app={kcsi_label})"));
        }
        if reasons.is_empty() {
            continue;
        }
        let owned = workloads::owned_by(d, names::KIND, tenant);
        if owned {
            reasons.push("owned by the TenantControlPlane: Kamaji rolls it".into());
        }
        out.push(WorkloadStep {
            kind: "Deployment",
            name,
            action: if owned { WorkloadAction::Wait } else { WorkloadAction::Restart },
            reasons,
        });
    }
    out.sort_by(|a, b| (a.action == WorkloadAction::Wait, &a.name).cmp(&(b.action == WorkloadAction::Wait, &b.name)));
    out
}

fn first_certificate_sha256(secret: &Secret) -> Option<String> {
    let data = secret.data.as_ref()?;
    data.iter()
        .filter(|(k, _)| k.ends_with(".crt"))
        .find_map(|(_, v)| crate::certs::parse::certificates_in(&v.0).ok()?.into_iter().next())
        .and_then(|der| crate::certs::info::CertInfo::from_der(der.as_ref()).ok())
        .map(|i| i.sha256)
}
