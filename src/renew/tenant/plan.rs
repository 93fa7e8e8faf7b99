//! The plan of a renewal, built from what the cluster holds (an [`Inventory`]) without
//! I/O: which of the tenant's secrets are renewed and why (their current NotAfter), which
//! are never touched (the CA, the service-account key, the front-proxy CA, the datastore
//! config), how Kamaji is asked (annotation or deletion), the Kamaji controller's issuance
//! horizon, and which consumers restart. Pure data and rules: no I/O, no clap, no printing.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use serde::Serialize;

use super::leaves::{self, Kind, Leaf};
use super::state::RenewState;
use super::verify;
use crate::duration::human_duration;
use crate::kamaji::horizon::{self, Horizon};
use crate::kamaji::names;
use crate::kamaji::version::{self, KamajiVersion};
use crate::rotate::plan::{KamajiStep, WorkloadStep};
use crate::rotate::state::RunState;
use crate::steps::RunStep;

/// The flags that shape a plan.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--only`: one kind of secret.
    pub only: Option<Kind>,
    /// `--expiring-within`: only what expires within it (`None`: every leaf).
    pub expiring_within: Option<SignedDuration>,
    pub kamaji_namespace: String,
    pub kamaji_selector: String,
    /// `--kamaji-version`, overriding what the controller image says.
    pub kamaji_version: Option<KamajiVersion>,
    /// `--tenant-endpoint`: where the live check dials the tenant API.
    pub tenant_endpoint: Option<crate::kamaji::endpoint::Dial>,
}

/// What the cluster holds, read once before planning.
#[derive(Clone, Default)]
pub struct Inventory {
    pub namespace: String,
    pub tenant: String,
    pub tcp_status: Option<String>,
    pub tenant_uid: Option<String>,
    /// The tenant's secrets (label `kamaji.clastix.io/name=<tenant>`).
    pub secrets: Vec<Secret>,
    pub deployments: Vec<Deployment>,
    pub kamaji_pods: Vec<Pod>,
    /// An unfinished CA rotation recorded in the tenant's Lease.
    pub rotation: Option<RunState>,
    /// An unfinished renewal of this tenant (from the Lease).
    pub previous: Option<RenewState>,
    /// Its backup, when readable here.
    pub previous_backup: Option<Vec<Secret>>,
    pub read_at: Timestamp,
}

/// Names and data keys, never secret data: the tenant's secrets hold its keys.
impl std::fmt::Debug for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |s: &[Secret]| s.iter().map(|s| s.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>();
        f.debug_struct("Inventory")
            .field("namespace", &self.namespace)
            .field("tenant", &self.tenant)
            .field("tcp_status", &self.tcp_status)
            .field("secrets", &names(&self.secrets))
            .field("kamaji_pods", &self.kamaji_pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect::<Vec<_>>())
            .field("rotation", &self.rotation)
            .field("previous", &self.previous)
            .field("previous_backup", &self.previous_backup.as_deref().map(names))
            .field("read_at", &self.read_at)
            .finish_non_exhaustive()
    }
}

/// How Kamaji is asked to renew a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// `certs.kamaji.clastix.io/rotate=""` (Kamaji edge-25.7.3 and later).
    Annotate,
    /// Delete the leaf secret (uid and resourceVersion precondition); Kamaji makes it again.
    Delete,
}

impl Mechanism {
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

/// What happens to one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Renew,
    /// Not touched.
    Keep,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretStep {
    pub name: String,
    /// Its `certificate_lifecycle_controller` label.
    pub kind: Option<Kind>,
    pub action: Action,
    pub reason: String,
    /// The certificates it holds now (serial, NotAfter, fingerprint).
    pub certificates: Vec<Leaf>,
    /// The earliest NotAfter among them.
    pub not_after: Option<Timestamp>,
    /// Resuming: renewed by the interrupted run already.
    pub already_renewed: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resume {
    pub done: String,
    pub started_at: Timestamp,
    pub backup: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub namespace: String,
    pub tenant: String,
    pub tcp_status: Option<String>,
    pub mechanism: Mechanism,
    pub mechanism_reason: String,
    pub kamaji: KamajiStep,
    /// About when renewed leaves expire: a year after the controller's restart.
    pub renewed_until: Option<Timestamp>,
    pub secrets: Vec<SecretStep>,
    /// Consumers of the renewed secrets: restarted (or, owned by the TCP, waited for).
    pub workloads: Vec<WorkloadStep>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Reasons the real run refuses (nothing is changed).
    pub blockers: Vec<String>,
    pub resume: Option<Resume>,
}

impl Plan {
    pub fn renewing(&self) -> impl Iterator<Item = &SecretStep> {
        self.secrets.iter().filter(|s| s.action == Action::Renew)
    }
}

/// Suffixes renew never touches, whatever their labels say.
const NEVER: [&str; 4] = [names::CA, names::SA, names::FRONT_PROXY_CA, names::DATASTORE_CONFIG];

/// The CAs a tenant's leaves chain to: its CA, its front-proxy CA and, for a secret that
/// carries one (the datastore certificate), its own `ca.crt`.
pub fn cas_for(secrets: &[Secret], tenant: &str, own: Option<&Secret>) -> Vec<Vec<u8>> {
    let by_name = |suffix: &str| secrets.iter().find(|s| s.metadata.name.as_deref() == Some(names::secret_name(tenant, suffix).as_str()));
    let first = |s: Option<&Secret>, key: &str| -> Option<Vec<u8>> {
        let pem = s?.data.as_ref()?.get(key)?;
        Some(crate::certs::parse::certificates_in(&pem.0).ok()?.first()?.as_ref().to_vec())
    };
    [
        first(by_name(names::CA), names::KEY_CA_CRT),
        first(by_name(names::FRONT_PROXY_CA), names::KEY_FRONT_PROXY_CA_CRT),
        first(own, "ca.crt"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The secret of `name` in `secrets`.
pub fn find<'a>(secrets: &'a [Secret], name: &str) -> Option<&'a Secret> {
    secrets.iter().find(|s| s.metadata.name.as_deref() == Some(name))
}

/// The mechanism: the annotation where Kamaji honours it, else deletion (every version handles it).
fn mechanism(detected: &version::Detected) -> (Mechanism, String) {
    match detected.version {
        Some(v) if v.supports_rotate_annotation() => {
            (Mechanism::Annotate, format!("Kamaji {v} ({}) honours certs.kamaji.clastix.io/rotate on leaf secrets", detected.how))
        }
        Some(v) => (
            Mechanism::Delete,
            format!(
                "Kamaji {v} ({}) predates the rotate annotation (edge-25.7.3): the leaf secrets are deleted and Kamaji makes them again",
                detected.how
            ),
        ),
        None => (
            Mechanism::Delete,
            format!(
                "Kamaji version unknown ({}): deleting the leaf secrets, which every Kamaji handles; pass --kamaji-version if yours is edge-25.7.3 or later",
                detected.how
            ),
        ),
    }
}

/// What happens to one secret, and why.
fn secret_step(inv: &Inventory, secret: &Secret, opts: &Options, floor: Option<Timestamp>) -> SecretStep {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let suffix = names::suffix_of(&inv.tenant, &name).unwrap_or_default().to_string();
    let suffix = suffix.as_str();
    let kind = secret.metadata.labels.as_ref().and_then(|l| l.get(names::LABEL_LIFECYCLE)).and_then(|v| Kind::from_label(v));
    let certificates = kind.and_then(|k| leaves::leaves_of(secret, k).ok()).unwrap_or_default();
    let not_after = leaves::earliest(&certificates);
    let mut step = SecretStep { name, kind, action: Action::Keep, reason: String::new(), certificates, not_after, already_renewed: false };
    let keep = |mut step: SecretStep, why: String| {
        step.reason = why;
        step
    };
    if NEVER.contains(&suffix) {
        let why = match suffix {
            names::CA => "the tenant CA: renew never touches it (rotate-ca rotates it)",
            names::SA => "the service-account key: renew never touches it (every token stays valid)",
            names::FRONT_PROXY_CA => "the front-proxy CA: renew never touches it",
            _ => "the datastore credentials: renew never touches them",
        };
        return keep(step, why.to_string());
    }
    let Some(kind) = kind else {
        return keep(step, format!("no {} label: not a leaf Kamaji renews", names::LABEL_LIFECYCLE));
    };
    if opts.only.is_some_and(|o| o != kind) {
        return keep(step, format!("--only {}", opts.only.map(Kind::word).unwrap_or_default()));
    }
    // Resuming: what the interrupted run renewed is verified, not asked for again.
    if let (Some(previous), Some(floor)) = (&inv.previous, floor) {
        let backed = inv.previous_backup.as_deref().and_then(|b| find(b, &step.name));
        let before = backed.and_then(|s| leaves::leaves_of(s, kind).ok());
        // The CAs as they are (renew never changes them); the backup holds only the leaves.
        let cas = cas_for(&inv.secrets, &inv.tenant, backed.or(Some(secret)));
        if verify::already_renewed(secret, kind, before.as_deref().unwrap_or_default(), &cas, floor) {
            step.already_renewed = true;
            step.action = Action::Renew;
            step.reason = format!("renewed by the interrupted run of {}", previous.started_at);
            return step;
        }
    }
    let left = |t: Timestamp| human_duration(t.duration_since(inv.read_at));
    match (opts.expiring_within, step.not_after) {
        (Some(within), Some(t)) if t.duration_since(inv.read_at) >= within => {
            let why = format!("expires {t} ({} left): not within --expiring-within {}", left(t), human_duration(within));
            keep(step, why)
        }
        (Some(within), Some(t)) => {
            step.action = Action::Renew;
            step.reason = format!("expires {t} ({} left), within {}", left(t), human_duration(within));
            step
        }
        (_, None) => {
            step.action = Action::Renew;
            step.reason = format!("holds no readable {kind} certificate: Kamaji re-issues it");
            step
        }
        (None, Some(t)) => {
            step.action = Action::Renew;
            step.reason = format!("expires {t} ({} left)", left(t));
            step
        }
    }
}

/// Builds the plan from the inventory and the flags.
pub fn build(inv: &Inventory, opts: &Options) -> Plan {
    let tenant = inv.tenant.as_str();
    let lease = format!("{}/{}", inv.namespace, crate::rotate::inventory::lease_name(tenant));
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let detected = version::detect(&inv.kamaji_pods, opts.kamaji_version);
    let (mechanism, mechanism_reason) = mechanism(&detected);
    let floor = inv.previous.as_ref().map(|p| horizon::full_year_from(p.started_at));

    let mut sorted: Vec<&Secret> = inv.secrets.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let secrets: Vec<SecretStep> = sorted.into_iter().map(|s| secret_step(inv, s, opts, floor)).collect();

    if let Some(r) = &inv.rotation {
        blockers.push(format!(
            "Lease {lease} records an unfinished CA rotation (done: {}, started {}): finish it first (kubectl pki rotate-ca {tenant} -n {} --dry-run=false), which renews every leaf too",
            r.done, r.started_at, inv.namespace
        ));
    }
    if inv.tcp_status.as_deref() == Some("CertificateAuthorityRotating") {
        blockers.push("the TenantControlPlane is CertificateAuthorityRotating: wait until it is Ready".into());
    }
    let ca_name = names::secret_name(tenant, names::CA);
    match find(&inv.secrets, &ca_name).map(crate::rotate::verify::ca_of) {
        None => blockers.push(format!("secret {}/{ca_name} not found: is the tenant provisioned?", inv.namespace)),
        Some(Err(e)) => blockers.push(format!("the tenant CA cannot be read: {e}")),
        Some(Ok(_)) => {}
    }

    let controller = Horizon::of_pods(&inv.kamaji_pods);
    let renewed_until = (controller.pods > 0)
        .then(|| inv.read_at.checked_add(horizon::LEAF_LIFETIME).ok().and_then(|t| t.round(jiff::Unit::Second).ok()))
        .flatten();
    match (controller.pods, controller.started_at, controller.issues_until) {
        (0, _, _) => warnings.push(format!(
            "No Kamaji controller pods match {} in {}: none is restarted, so leaves re-issued now keep the controller's horizon (Kamaji dates them from its process start), and the run fails its verification when a NotAfter does not move (check --kamaji-namespace/--kamaji-selector).",
            opts.kamaji_selector, opts.kamaji_namespace
        )),
        (_, Some(started), Some(until)) => notes.push(format!(
            "The Kamaji controller has been running since {started}: leaves it issues now would expire on {until}; renew restarts it first, so the renewed leaves expire about {}.",
            renewed_until.map_or_else(|| "?".into(), |t| t.to_string())
        )),
        _ => {}
    }
    if mechanism == Mechanism::Delete {
        notes.push(
            "Each secret is deleted only while it still holds what the backup holds, with a precondition on that very object.".into(),
        );
    }
    if inv.tcp_status.as_deref().is_some_and(|s| s != "Ready") && inv.previous.is_none() {
        warnings.push(format!(
            "The TenantControlPlane is {} (not Ready): find out why before renewing.",
            inv.tcp_status.as_deref().unwrap_or("?")
        ));
    }

    let renewing: BTreeSet<&str> = secrets.iter().filter(|s| s.action == Action::Renew).map(|s| s.name.as_str()).collect();
    let workloads = consumers(&inv.deployments, tenant, &renewing);
    let resume = inv.previous.as_ref().map(|p| Resume { done: p.done.name().into(), started_at: p.started_at, backup: p.backup.clone() });
    if let Some(r) = &resume {
        notes.push(format!(
            "Resuming the renewal that began {} (done: {}): renewed leaves must last until {}.",
            r.started_at,
            r.done,
            horizon::full_year_from(r.started_at)
        ));
    }
    Plan {
        namespace: inv.namespace.clone(),
        tenant: tenant.to_string(),
        tcp_status: inv.tcp_status.clone(),
        mechanism,
        mechanism_reason,
        kamaji: KamajiStep {
            namespace: opts.kamaji_namespace.clone(),
            selector: opts.kamaji_selector.clone(),
            pods: inv.kamaji_pods.iter().filter_map(|p| p.metadata.name.clone()).collect(),
            version: detected.version.map(|v| v.to_string()),
            version_from: if detected.image.is_empty() {
                detected.how.clone()
            } else {
                format!("{} (image {})", detected.how, detected.image)
            },
            started_at: controller.started_at,
            issues_until: controller.issues_until,
        },
        renewed_until,
        secrets,
        workloads,
        warnings,
        notes,
        blockers,
        resume,
    }
}

/// The Deployments that use a renewed secret (rotate-ca's volume scan, without its
/// runbook-only kcsi rule): restarted, or waited for when Kamaji rolls them.
fn consumers(deployments: &[Deployment], tenant: &str, renewing: &BTreeSet<&str>) -> Vec<WorkloadStep> {
    let using: BTreeMap<String, bool> = deployments
        .iter()
        .filter_map(|d| {
            let spec = d.spec.template.spec.as_ref()?;
            let uses = renewing.iter().any(|s| !crate::workloads::secret_references(spec, s).is_empty());
            Some((d.metadata.name.clone()?, uses))
        })
        .collect();
    let mut steps = crate::rotate::rules::plan_workloads(deployments, tenant, renewing);
    steps.retain(|w| using.get(&w.name).copied().unwrap_or(false));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::renew::tenant::leaves::tests::secret;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    fn labelled(mut s: Secret, lifecycle: Option<&str>) -> Secret {
        let mut labels = BTreeMap::from([(names::LABEL_NAME.to_string(), "t".to_string())]);
        if let Some(v) = lifecycle {
            labels.insert(names::LABEL_LIFECYCLE.into(), v.into());
        }
        s.metadata.labels = Some(labels);
        s
    }

    fn inventory() -> Inventory {
        let root = ca("kubernetes");
        let api = leaf_signed_by("apiserver", &root);
        let kc = kubeconfig_yaml(&root.pem, &leaf_signed_by("admin", &root).pem);
        Inventory {
            namespace: "ns".into(),
            tenant: "t".into(),
            tcp_status: Some("Ready".into()),
            secrets: vec![
                labelled(secret("t-ca", &[("ca.crt", &root.pem), ("ca.key", "k")]), None),
                // Even labelled, the SA key is never touched.
                labelled(secret("t-sa-certificate", &[("sa.pub", "p"), ("sa.key", "k")]), Some("x509")),
                labelled(secret("t-api-server-certificate", &[("apiserver.crt", &api.pem), ("apiserver.key", "k")]), Some("x509")),
                labelled(secret("t-admin-kubeconfig", &[("admin.conf", &kc)]), Some("kubeconfig")),
            ],
            // A year before the test leaves expire.
            read_at: crate::certs::info::CertInfo::from_der(&api.der)
                .unwrap()
                .not_after
                .checked_sub(SignedDuration::from_hours(24 * 365))
                .unwrap(),
            ..Inventory::default()
        }
    }

    fn opts() -> Options {
        Options {
            only: None,
            expiring_within: None,
            kamaji_namespace: "cozy-kamaji".into(),
            kamaji_selector: "app=kamaji".into(),
            kamaji_version: Some(KamajiVersion::new(26, 3, 5)),
            tenant_endpoint: None,
        }
    }

    fn action(plan: &Plan, name: &str) -> Action {
        plan.secrets.iter().find(|s| s.name == name).map(|s| s.action).unwrap()
    }

    #[test]
    fn leaves_and_kubeconfigs_are_renewed_never_the_ca_or_sa_key() {
        let plan = build(&inventory(), &opts());
        assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
        assert_eq!(plan.mechanism, Mechanism::Annotate);
        assert_eq!(action(&plan, "t-ca"), Action::Keep);
        assert_eq!(action(&plan, "t-sa-certificate"), Action::Keep);
        assert_eq!(action(&plan, "t-api-server-certificate"), Action::Renew);
        assert_eq!(action(&plan, "t-admin-kubeconfig"), Action::Renew);
        let api = plan.secrets.iter().find(|s| s.name == "t-api-server-certificate").unwrap();
        assert!(api.reason.starts_with("expires ") && api.not_after.is_some(), "{}", api.reason);
        assert!(plan.warnings.iter().any(|w| w.contains("No Kamaji controller pods match app=kamaji")), "{:?}", plan.warnings);
    }

    #[test]
    fn only_and_expiring_within_narrow_the_selection() {
        let mut o = opts();
        o.only = Some(Kind::Kubeconfig);
        let plan = build(&inventory(), &o);
        assert_eq!(action(&plan, "t-api-server-certificate"), Action::Keep);
        assert_eq!(action(&plan, "t-admin-kubeconfig"), Action::Renew);
        let mut o = opts();
        // The test leaves expire a year after the inventory was read: not within 30 days, within 400.
        o.expiring_within = Some(SignedDuration::from_hours(24 * 30));
        let plan = build(&inventory(), &o);
        assert_eq!(plan.renewing().count(), 0);
        assert!(plan.secrets.iter().any(|s| s.reason.contains("not within --expiring-within 30d")));
        o.expiring_within = Some(SignedDuration::from_hours(24 * 400));
        assert_eq!(build(&inventory(), &o).renewing().count(), 2);
    }

    #[test]
    fn only_the_consumers_of_renewed_secrets_restart() {
        let kcsi: Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "t-kcsi-controller"},
            "spec": {"selector": {}, "template": {
                "metadata": {"labels": {"app": "t-kcsi-driver"}},
                "spec": {"containers": [], "volumes": [{"name": "kubeconfig", "secret": {"secretName": "t-admin-kubeconfig"}}]}
            }}
        }))
        .unwrap();
        let mut inv = inventory();
        inv.deployments = vec![kcsi];
        let plan = build(&inv, &opts());
        assert_eq!(plan.workloads.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["t-kcsi-controller"]);
        let mut o = opts();
        o.only = Some(Kind::X509);
        assert!(build(&inv, &o).workloads.is_empty(), "the admin kubeconfig is not renewed: kcsi keeps running");
    }

    #[test]
    fn resuming_marks_what_the_interrupted_run_renewed() {
        use kubectl_pki_testkit::{params_for, with_params};
        let mut inv = inventory();
        // A fresh tenant CA with its key, so leaves of chosen dates can be signed.
        let root = ca("kubernetes");
        inv.secrets[0] = labelled(secret("t-ca", &[("ca.crt", &root.pem)]), None);
        let leaf = |y: i32, m: u8| {
            let mut p = params_for("apiserver", false);
            p.not_before = rcgen::date_time_ymd(2025, 12, 1);
            p.not_after = rcgen::date_time_ymd(y, m, 1);
            with_params(p, Some(&root)).pem
        };
        let api = |pem: &str| labelled(secret("t-api-server-certificate", &[("apiserver.crt", pem), ("apiserver.key", "k")]), Some("x509"));
        let old = api(&leaf(2026, 6));
        inv.secrets[2] = api(&leaf(2027, 2));
        inv.previous = Some(RenewState {
            done: super::super::state::Step::Renew,
            started_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            backup: Some("h:/b.yaml".into()),
            tenant_uid: None,
            completed_at: None,
        });
        inv.previous_backup = Some(vec![old]);
        let plan = build(&inv, &opts());
        let step = plan.secrets.iter().find(|s| s.name == "t-api-server-certificate").unwrap();
        assert!(step.already_renewed && step.action == Action::Renew, "{step:?}");
        assert!(step.reason.starts_with("renewed by the interrupted run"), "{}", step.reason);
        assert!(plan.resume.is_some() && plan.notes.iter().any(|n| n.starts_with("Resuming the renewal")));
        // Not renewed yet: the same certificate as in the backup.
        inv.previous_backup = Some(vec![inv.secrets[2].clone()]);
        let plan = build(&inv, &opts());
        assert!(!plan.secrets.iter().find(|s| s.name == "t-api-server-certificate").unwrap().already_renewed);
    }

    #[test]
    fn an_unfinished_rotation_blocks_and_an_old_kamaji_means_deletion() {
        let mut inv = inventory();
        inv.rotation = Some(RunState {
            done: crate::rotate::state::Phase::Rotate,
            started_at: "2026-12-01T10:00:00Z".parse().unwrap(),
            old_ca: crate::rotate::verify::CaId {
                sha256: "AB".into(),
                key_sha256: "k".into(),
                subject: "CN=kubernetes".into(),
                not_after: Timestamp::UNIX_EPOCH,
            },
            backup: None,
            method: "annotate".into(),
            worker_uids: vec![],
            tenant_uid: None,
            completed_at: None,
        });
        let mut o = opts();
        o.kamaji_version = Some(KamajiVersion::new(25, 4, 1));
        let plan = build(&inv, &o);
        assert_eq!(plan.mechanism, Mechanism::Delete);
        assert!(plan.blockers.iter().any(|b| b.contains("unfinished CA rotation (done: rotate")), "{:?}", plan.blockers);
        inv.secrets.retain(|s| s.metadata.name.as_deref() != Some("t-ca"));
        assert!(build(&inv, &o).blockers.iter().any(|b| b.contains("t-ca not found")));
    }
}
