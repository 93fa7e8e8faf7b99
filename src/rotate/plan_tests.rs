//! Plan building from fixtures shaped like a Cozystack tenant.

use super::*;
use crate::rotate::verify;
use k8s_openapi::ByteString;
use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};
use serde_json::json;

const T: &str = "kubernetes-demo";

fn secret(suffix: &str, data: &[(&str, &[u8])]) -> Secret {
    Secret {
        metadata: kube::api::ObjectMeta { name: Some(format!("{T}-{suffix}")), namespace: Some("tenant-a".into()), ..Default::default() },
        data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.to_vec()))).collect()),
        ..Default::default()
    }
}

fn tenant_secrets() -> Vec<Secret> {
    let root = ca("kubernetes");
    let leaf = |cn: &str| leaf_signed_by(cn, &root).pem;
    let kc = kubeconfig_yaml(&root.pem, &leaf("admin"));
    vec![
        secret("ca", &[("ca.crt", root.pem.as_bytes()), ("ca.key", b"KEY"), ("tls.crt", root.pem.as_bytes()), ("tls.key", b"KEY")]),
        secret("sa-certificate", &[("sa.pub", b"PUB"), ("sa.key", b"KEY")]),
        secret("api-server-certificate", &[("apiserver.crt", leaf("apiserver").as_bytes()), ("apiserver.key", b"K")]),
        secret("api-server-kubelet-client-certificate", &[("apiserver-kubelet-client.crt", leaf("kc").as_bytes())]),
        secret("front-proxy-ca-certificate", &[("front-proxy-ca.crt", b"x")]),
        secret("front-proxy-client-certificate", &[("front-proxy-client.crt", b"x")]),
        secret("datastore-certificate", &[("ca.crt", b"x"), ("server.crt", b"x")]),
        secret("datastore-config", &[("DB_PASSWORD", b"hunter2")]),
        secret("konnectivity-certificate", &[("tls.crt", leaf("konnectivity").as_bytes())]),
        secret("konnectivity-kubeconfig", &[("konnectivity-server.conf", kc.as_bytes())]),
        secret("admin-kubeconfig", &[("admin.conf", kc.as_bytes()), ("super-admin.svc", kc.as_bytes())]),
        secret("controller-manager-kubeconfig", &[("controller-manager.conf", kc.as_bytes())]),
        secret("scheduler-kubeconfig", &[("scheduler.conf", kc.as_bytes())]),
    ]
}

fn deployment(name: &str, labels: serde_json::Value, volumes: serde_json::Value, owner: Option<&str>) -> Deployment {
    let mut d = json!({
        "metadata": {"name": name, "namespace": "tenant-a"},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "x"}], "volumes": volumes}}}
    });
    if let Some(tcp) = owner {
        d["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane", "name": tcp, "uid": "u"}]);
    }
    serde_json::from_value(d).unwrap()
}

fn pod(name: &str, image: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "manager", "image": image}]}})).unwrap()
}

fn admin_volume() -> serde_json::Value {
    json!([{"name": "kubeconfig", "secret": {"secretName": format!("{T}-admin-kubeconfig")}}])
}

fn inventory(kamaji_image: &str) -> Inventory {
    Inventory {
        namespace: "tenant-a".into(),
        tenant: T.into(),
        tcp_status: Some("Ready".into()),
        tenant_uid: Some("tcp-uid".into()),
        secrets: tenant_secrets(),
        deployments: vec![
            deployment(&format!("{T}-kcsi-controller"), json!({"app": format!("{T}-kcsi-driver")}), admin_volume(), None),
            deployment(&format!("{T}-kccm"), json!({"k8s-app": format!("{T}-kccm")}), admin_volume(), None),
            deployment(&format!("{T}-cluster-autoscaler"), json!({"app": format!("{T}-cluster-autoscaler")}), admin_volume(), None),
            deployment(
                T,
                json!({"kamaji.clastix.io/name": T}),
                json!([{"name": "ca", "secret": {"secretName": format!("{T}-ca")}}]),
                Some(T),
            ),
            deployment("unrelated", json!({"app": "x"}), json!([{"name": "s", "secret": {"secretName": "other-admin-kubeconfig"}}]), None),
        ],
        workers: vec![pod(&format!("virt-launcher-{T}-md0-aaa"), "vl"), pod(&format!("virt-launcher-{T}-md0-bbb"), "vl")],
        glob_pods: vec![
            format!("virt-launcher-{T}-md0-aaa"),
            format!("virt-launcher-{T}-md0-bbb"),
            format!("virt-launcher-{T}-other-md0-ccc"),
        ],
        kamaji_pods: vec![pod("kamaji-1", kamaji_image), pod("kamaji-2", kamaji_image)],
        previous: None,
        previous_backup: None,
        previous_backup_problem: None,
        unfinished_renewal: None,
        unfinished_sa_key: None,
        read_at: jiff::Timestamp::UNIX_EPOCH,
    }
}

fn options() -> Options {
    Options {
        method: MethodChoice::Auto,
        keep_sa_key: true,
        restart_workers: false,
        kamaji_namespace: "cozy-kamaji".into(),
        kamaji_selector: "app.kubernetes.io/name=kamaji".into(),
        kamaji_version: None,
        worker_selector: format!("cluster.x-k8s.io/cluster-name={T},cluster.x-k8s.io/role=worker"),
        write_kubeconfig: false,
        backup: None,
        resume_stale: false,
        tenant_endpoint: None,
    }
}

fn action(plan: &Plan, suffix: &str) -> SecretAction {
    plan.step(suffix).unwrap_or_else(|| panic!("no step for {suffix}")).action
}

#[test]
fn auto_uses_the_annotation_on_a_new_kamaji() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &options());
    assert_eq!(plan.method, Method::Annotate);
    assert!(plan.method_reason.contains("26.6.5-edge"), "{}", plan.method_reason);
    assert_eq!(action(&plan, "ca"), SecretAction::Annotate);
    assert_eq!(action(&plan, "api-server-certificate"), SecretAction::Reissued);
    assert_eq!(action(&plan, "admin-kubeconfig"), SecretAction::Reissued);
    assert_eq!(action(&plan, "konnectivity-kubeconfig"), SecretAction::Reissued, "fixed in 26.5.4");
    assert_eq!(action(&plan, "front-proxy-client-certificate"), SecretAction::Keep);
    assert_eq!(action(&plan, "sa-certificate"), SecretAction::Keep);
    assert_eq!(action(&plan, "datastore-config"), SecretAction::Keep);
    assert_eq!(action(&plan, "front-proxy-ca-certificate"), SecretAction::Keep);
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert_eq!(plan.secrets.len(), 13);
    assert!(plan.notes.iter().all(|n| !n.contains("kamaji#1191")), "no soot-manager note on a fixed Kamaji");
}

#[test]
fn cozystacks_kamaji_needs_the_konnectivity_kubeconfig_deleted() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.3.5-edge"), &options());
    assert_eq!(plan.method, Method::Annotate);
    assert_eq!(action(&plan, "konnectivity-kubeconfig"), SecretAction::Delete);
    assert!(plan.step("konnectivity-kubeconfig").unwrap().reason.contains("kamaji#1152"));
    assert_eq!(action(&plan, "konnectivity-certificate"), SecretAction::Reissued, "fixed in 26.3.2");
    assert!(plan.notes.iter().any(|n| n.contains("kamaji#1191")));
}

#[test]
fn old_kamaji_and_unknown_versions_delete_like_the_runbook_but_keep_sa_and_datastore_config() {
    for image in ["ghcr.io/clastix/kamaji:edge-25.4.1", "ghcr.io/cozystack/cozystack/kamaji:v0.37.0", "clastix/kamaji:latest"] {
        let plan = build(&inventory(image), &options());
        assert_eq!(plan.method, Method::Delete, "{image}");
        for suffix in [
            "ca",
            "api-server-certificate",
            "api-server-kubelet-client-certificate",
            "datastore-certificate",
            "front-proxy-client-certificate",
            "konnectivity-certificate",
            "admin-kubeconfig",
            "controller-manager-kubeconfig",
            "konnectivity-kubeconfig",
            "scheduler-kubeconfig",
        ] {
            assert_eq!(action(&plan, suffix), SecretAction::Delete, "{image} {suffix}");
        }
        assert_eq!(action(&plan, "sa-certificate"), SecretAction::Keep);
        assert_eq!(action(&plan, "datastore-config"), SecretAction::Keep);
        assert_eq!(action(&plan, "front-proxy-ca-certificate"), SecretAction::Keep);
    }
    let unknown = build(&inventory("clastix/kamaji:latest"), &options());
    assert!(unknown.method_reason.contains("unknown"), "{}", unknown.method_reason);
    assert!(unknown.blockers.is_empty());
}

#[test]
fn cozystack_image_tags_map_to_kamaji_versions() {
    let plan = build(&inventory("ghcr.io/cozystack/cozystack/kamaji:v1.1.7@sha256:d705"), &options());
    assert_eq!(plan.method, Method::Annotate);
    assert_eq!(plan.kamaji.version.as_deref(), Some("26.2.4-edge"));
    assert!(plan.kamaji.version_from.contains("Cozystack v1.1.7"));
}

#[test]
fn explicit_methods_and_version_override() {
    let mut o = options();
    o.method = MethodChoice::Annotate;
    let plan = build(&inventory("ghcr.io/clastix/kamaji:edge-25.4.1"), &o);
    assert_eq!(plan.blockers.len(), 1, "annotate on a Kamaji that ignores it is refused");
    assert!(plan.blockers[0].contains("--method delete"));
    o.method = MethodChoice::Delete;
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &o);
    assert_eq!(plan.method, Method::Delete);
    let mut o = options();
    o.kamaji_version = Some(KamajiVersion::new(26, 6, 5));
    let plan = build(&inventory("clastix/kamaji:latest"), &o);
    assert_eq!(plan.method, Method::Annotate);
    assert!(plan.kamaji.version_from.contains("--kamaji-version"));
}

#[test]
fn mixed_controller_versions_plan_for_the_oldest() {
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.6.5-edge");
    inv.kamaji_pods.push(pod("kamaji-3", "ghcr.io/clastix/kamaji:edge-25.4.1"));
    let plan = build(&inv, &options());
    assert_eq!(plan.method, Method::Delete);
    assert!(plan.kamaji.version_from.contains("lowest of 2"), "{}", plan.kamaji.version_from);
}

#[test]
fn sa_key_rotation_is_opt_in_and_warned_about() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &options());
    assert!(plan.notes.iter().any(|n| n.contains("kamaji#1325") && n.contains("kept")));
    assert!(!plan.warnings.iter().any(|w| w.contains("EVERY service-account token")));
    let mut o = options();
    o.keep_sa_key = false;
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &o);
    assert_eq!(action(&plan, "sa-certificate"), SecretAction::Delete);
    assert!(plan.warnings.iter().any(|w| w.contains("EVERY service-account token") && w.contains("kamaji#1325")));
    assert!(plan.warnings.iter().any(|w| w.contains("kubectl pki rotate-sa-key") && w.contains("--finish")), "the safe path is offered");
}

#[test]
fn finds_every_deployment_that_mounts_the_admin_kubeconfig() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &options());
    let restarts: Vec<&str> = plan.workloads.iter().filter(|w| w.action == WorkloadAction::Restart).map(|w| w.name.as_str()).collect();
    assert_eq!(restarts, vec![format!("{T}-cluster-autoscaler"), format!("{T}-kccm"), format!("{T}-kcsi-controller")]);
    let kcsi = plan.workloads.iter().find(|w| w.name.ends_with("kcsi-controller")).unwrap();
    assert!(kcsi.reasons.iter().any(|r| r.contains("kcsi driver")));
    assert!(kcsi.reasons.iter().any(|r| r.contains("admin-kubeconfig (volume kubeconfig)")));
    let tenant = plan.workloads.iter().find(|w| w.name == T).unwrap();
    assert_eq!(tenant.action, WorkloadAction::Wait);
    assert!(!plan.workloads.iter().any(|w| w.name == "unrelated"));
    let missed = plan.warnings.iter().find(|w| w.contains("only the kcsi driver")).unwrap();
    assert!(missed.contains("2 more") && missed.contains("kccm") && missed.contains("cluster-autoscaler"), "{missed}");
}

#[test]
fn workers_by_label_not_by_glob() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &options());
    assert_eq!(plan.workers.pods.len(), 2);
    assert_eq!(plan.workers.action, WorkerAction::Wait);
    assert!(plan.notes.iter().any(|n| n.contains("other-md0-ccc") && n.contains("not touched")));
    assert!(plan.warnings.iter().any(|w| w.contains("--restart-workers")));
    let mut o = options();
    o.restart_workers = true;
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &o);
    assert_eq!(plan.workers.action, WorkerAction::Delete);
    assert!(!plan.warnings.iter().any(|w| w.contains("pass --restart-workers")));
}

#[test]
fn backup_holds_exactly_what_changes() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.3.5-edge"), &options());
    let backed: Vec<&str> = plan.secrets.iter().filter(|s| s.backup).map(|s| s.suffix.as_str()).collect();
    assert!(backed.contains(&"ca") && backed.contains(&"admin-kubeconfig") && backed.contains(&"konnectivity-kubeconfig"));
    assert!(
        !backed.contains(&"datastore-config") && !backed.contains(&"sa-certificate") && !backed.contains(&"front-proxy-ca-certificate")
    );
    // Phase 5 checks what the tenant CA signs.
    assert_eq!(plan.step("ca").unwrap().verify, Some(Check::Ca));
    assert_eq!(plan.step("admin-kubeconfig").unwrap().verify, Some(Check::Kubeconfig));
    assert_eq!(plan.step("datastore-config").unwrap().verify, None);
}

#[test]
fn plan_never_carries_secret_values() {
    let plan = build(&inventory("ghcr.io/clastix/kamaji:26.3.5-edge"), &options());
    let text = serde_json::to_string(&plan).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("KEY\""), "{text}");
    assert!(text.contains("\"ca.key\""), "key names are shown");
    assert!(plan.step("ca").unwrap().certificate_sha256.is_some());
}

#[test]
fn inventory_debug_carries_no_secret_values() {
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.3.5-edge");
    inv.secrets.push(secret("extra", &[("tls.key", b"PRIVATEKEYMATERIAL")]));
    inv.secrets[0].string_data = Some([("token".to_string(), "STRINGSECRET".to_string())].into());
    inv.previous_backup = Some(vec![secret("backed-up", &[("DB_PASSWORD", b"hunter2")])]);
    let debug = format!("{inv:?} {inv:#?}");
    for value in ["hunter2", "PRIVATEKEYMATERIAL", "STRINGSECRET", "BEGIN CERTIFICATE", "ByteString"] {
        assert!(!debug.contains(value), "{value} in {debug}");
    }
    assert!(debug.contains(&format!("{T}-extra {{tls.key: [REDACTED 18 bytes]}}")), "{debug}");
    assert!(debug.contains("DB_PASSWORD: [REDACTED 7 bytes]") && debug.contains("kamaji-1"), "{debug}");
}

#[test]
fn missing_ca_blocks_and_missing_kamaji_warns() {
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.3.5-edge");
    inv.secrets.retain(|s| s.metadata.name.as_deref() != Some(&format!("{T}-ca")));
    inv.kamaji_pods.clear();
    let plan = build(&inv, &options());
    assert!(plan.blockers.iter().any(|b| b.contains("nothing to rotate")));
    assert!(plan.warnings.iter().any(|w| w.contains("No Kamaji controller pods")));
    assert_eq!(plan.method, Method::Delete, "no controller: version unknown");
}

/// The state an interrupted run of `method` left after `done`, its backup on another host.
fn interrupted(done: crate::rotate::state::Phase, method: &str, old_ca: verify::CaId) -> crate::rotate::state::RunState {
    crate::rotate::state::RunState {
        done,
        started_at: "2026-11-27T10:00:00Z".parse().unwrap(),
        old_ca,
        backup: Some("host:/x".into()),
        method: method.into(),
        worker_uids: vec![],
        tenant_uid: Some("tcp-uid".into()),
        completed_at: None,
    }
}

#[test]
fn resume_marks_secrets_that_no_longer_hold_the_backup() {
    use crate::rotate::state::Phase;
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.3.5-edge");
    let backup = inv.secrets.clone();
    let old_ca = verify::ca_of(&backup[0]).unwrap().1;
    // The CA and the API server certificate were regenerated since.
    let new_root = ca("kubernetes");
    inv.secrets[0] = secret("ca", &[("ca.crt", new_root.pem.as_bytes())]);
    inv.secrets[2] = secret("api-server-certificate", &[("apiserver.crt", leaf_signed_by("apiserver", &new_root).pem.as_bytes())]);
    inv.previous = Some(interrupted(Phase::Rotate, "annotate", old_ca));
    inv.previous_backup = Some(backup);
    let plan = build(&inv, &options());
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let r = plan.resume.as_ref().unwrap();
    assert!(r.ca_already_rotated && r.backup_readable);
    assert!(plan.step("ca").unwrap().already_rotated);
    assert!(plan.step("api-server-certificate").unwrap().already_rotated);
    assert!(!plan.step("scheduler-kubeconfig").unwrap().already_rotated);
    assert!(plan.notes.iter().any(|n| n.contains("Resuming")));
    // A finished run is not resumed.
    inv.previous.as_mut().unwrap().completed_at = Some("2026-11-27T10:10:00Z".parse().unwrap());
    assert!(build(&inv, &options()).resume.is_none());
}

#[test]
fn a_resumed_plan_keeps_a_secret_the_interrupted_run_deleted_and_kamaji_has_not_made_again() {
    use crate::rotate::state::Phase;
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.3.5-edge");
    let backup = inv.secrets.clone();
    let old_ca = verify::ca_of(&backup[0]).unwrap().1;
    inv.secrets.remove(0);
    inv.previous = Some(interrupted(Phase::Backup, "delete", old_ca));
    inv.previous_backup = Some(backup);
    let plan = build(&inv, &options());
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let ca = plan.step("ca").expect("the deleted CA stays in the plan");
    assert!(ca.reason.contains("missing now") && !ca.already_rotated && ca.certificate_sha256.is_none(), "{ca:?}");
    assert_eq!(ca.keys, ["ca.crt", "ca.key", "tls.crt", "tls.key"], "the backup's keys");
    // Without a run to resume, a missing secret is not planned (nothing to rotate).
    inv.previous = None;
    assert!(build(&inv, &options()).step("ca").is_none());
}

#[test]
fn a_tenant_that_is_not_ready_is_warned_about() {
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.6.5-edge");
    inv.tcp_status = Some("NotReady".into());
    let plan = build(&inv, &options());
    assert!(plan.warnings.iter().any(|w| w.contains("is NotReady")));
    let ready = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &options());
    assert!(!ready.warnings.iter().any(|w| w.contains("not Ready")));
}

#[test]
fn rbac_needs_follow_the_plan() {
    use crate::rotate::inventory::needs;
    let has = |needs: &[crate::rbac::Need], verb: &str, resource: &str, ns: &str| {
        needs.iter().any(|n| n.verb == verb && n.resource == resource && n.namespace == ns)
    };
    let annotate = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &options());
    let n = needs(&annotate, &options());
    assert!(has(&n, "patch", "secrets", "tenant-a") && !has(&n, "delete", "secrets", "tenant-a"));
    assert!(has(&n, "delete", "pods", "cozy-kamaji") && has(&n, "patch", "deployments", "tenant-a"));
    assert!(has(&n, "create", "leases", "tenant-a") && has(&n, "update", "leases", "tenant-a"));
    assert!(!has(&n, "delete", "pods", "tenant-a"), "workers are only waited for");
    let mut o = options();
    o.method = MethodChoice::Delete;
    o.restart_workers = true;
    let delete = build(&inventory("ghcr.io/clastix/kamaji:26.6.5-edge"), &o);
    let n = needs(&delete, &o);
    assert!(has(&n, "delete", "secrets", "tenant-a") && !has(&n, "patch", "secrets", "tenant-a"));
    assert!(has(&n, "delete", "pods", "tenant-a"));
    let unique: std::collections::BTreeSet<_> = n.iter().map(|x| (x.verb, x.resource, x.namespace.clone())).collect();
    assert_eq!(unique.len(), n.len(), "no duplicates");
}

#[test]
fn words_are_serdes_names() {
    assert_eq!([Method::Annotate, Method::Delete].map(Method::word), ["annotate", "delete"]);
    let actions = [SecretAction::Annotate, SecretAction::Delete, SecretAction::Reissued, SecretAction::Keep].map(SecretAction::word);
    assert_eq!(actions, ["annotate", "delete", "reissued", "keep"]);
    assert_eq!([WorkloadAction::Restart, WorkloadAction::Wait].map(WorkloadAction::word), ["restart", "wait"]);
    let workers = [WorkerAction::Delete, WorkerAction::Wait].map(|a| serde_json::to_value(a).unwrap());
    assert_eq!(workers, ["delete", "wait"]);
}

#[test]
fn a_resume_the_cluster_contradicts_is_a_blocker() {
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.3.5-edge");
    let old_ca = verify::ca_of(&inv.secrets[0]).unwrap().1;
    inv.read_at = "2026-12-05T10:00:00Z".parse().unwrap();
    inv.previous = Some(RunState {
        done: crate::rotate::state::Phase::Backup,
        started_at: "2026-11-27T10:00:00Z".parse().unwrap(),
        old_ca,
        backup: Some("laptop:/x".into()),
        method: "delete".into(),
        worker_uids: vec![],
        tenant_uid: Some("an-earlier-tenant".into()),
        completed_at: None,
    });
    inv.previous_backup_problem = Some("it was written on host laptop, not this one (ci)".into());
    let plan = build(&inv, &options());
    let all = plan.blockers.join("\n");
    assert_eq!(plan.blockers.len(), 3, "{all}");
    assert!(all.contains("--resume-stale") && all.contains("earlier tenant") && all.contains("--backup FILE"), "{all}");
    let mut opts = options();
    opts.resume_stale = true;
    assert_eq!(build(&inv, &opts).blockers.len(), 2);
}

#[test]
fn an_unfinished_sa_key_rotation_blocks_and_an_unfinished_renewal_is_superseded() {
    use crate::renew::tenant::state::{RenewState, Step as RenewStep};
    use crate::sakey::state::{Mode, SaKeyState, Step as SaKeyStep};
    // Read as rotate-ca reads them: from what each command writes on the Lease.
    let on_lease = |written: std::collections::BTreeMap<String, Option<String>>| {
        written.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect::<std::collections::BTreeMap<_, _>>()
    };
    let mut inv = inventory("ghcr.io/clastix/kamaji:26.3.5-edge");
    let renewal = RenewState {
        done: RenewStep::Renew,
        started_at: "2026-11-27T10:00:00Z".parse().unwrap(),
        backup: None,
        tenant_uid: Some("tcp-uid".into()),
        completed_at: None,
    };
    inv.unfinished_renewal = crate::lease_state::unfinished(crate::lease_state::RENEWAL, &on_lease(renewal.to_annotations()));
    let plan = build(&inv, &options());
    assert!(plan.blockers.is_empty(), "a renewal does not block: {:?}", plan.blockers);
    assert!(plan.notes.iter().any(|n| n.contains("unfinished renewal (done: renew") && n.contains("supersedes")), "{:?}", plan.notes);

    let sa_key = SaKeyState {
        mode: Mode::Stage,
        done: SaKeyStep::Write,
        started_at: "2026-11-27T11:00:00Z".parse().unwrap(),
        old_kid: "old".into(),
        new_kid: "new".into(),
        staged_at: None,
        backup: None,
        tenant_uid: Some("tcp-uid".into()),
        completed_at: None,
    };
    inv.unfinished_sa_key = crate::lease_state::unfinished(crate::lease_state::SA_KEY, &on_lease(sa_key.to_annotations()));
    let plan = build(&inv, &options());
    assert_eq!(plan.blockers.len(), 1, "{:?}", plan.blockers);
    let b = &plan.blockers[0];
    assert!(
        b.contains("unfinished rotate-sa-key (stage, done: write")
            && b.contains(&format!("kubectl pki rotate-sa-key {T} -n tenant-a --dry-run=false)")),
        "{b}"
    );
}
