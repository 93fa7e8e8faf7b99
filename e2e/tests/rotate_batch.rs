//! `kubectl pki rotate-ca A B C --parallel 3` on the real control plane with the Kamaji
//! stand-in: every tenant gets its own new CA, backup and report, the Kamaji controller is
//! restarted once for all three, and a batch naming a tenant that does not exist is refused
//! before anything changes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use e2e::ControlPlane;
use e2e::cozystack::{SeedOptions, seed_tenant};
use e2e::kamaji::names::*;
use e2e::kamaji::{self, Standin, StandinOptions, wait_ready};
use e2e::rotate_fixture;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(120);
const TENANTS: [&str; 3] = ["kubernetes-a", "kubernetes-b", "kubernetes-c"];

struct Batch {
    client: Client,
    ns: String,
    kamaji_ns: String,
    dir: tempfile::TempDir,
    _standin: e2e::kamaji::StandinTask,
}

/// Three Ready tenants in one namespace, one Kamaji controller Deployment (image tag
/// `version`, played by the stand-in), no tenant API.
async fn batch(prefix: &str, version: &str) -> Batch {
    let cp = ControlPlane::shared();
    let ns = cp.namespace(prefix).await.name;
    let client = cp.client().await;
    kamaji::install_crd(client.clone()).await.expect("install CRD");
    let standin = Standin::start(client.clone(), StandinOptions::for_version(version).in_namespace(&ns));
    let kamaji_ns = format!("{ns}-kamaji");
    for release in TENANTS {
        let seed = SeedOptions {
            kamaji_namespace: kamaji_ns.clone(),
            kamaji_version: version.into(),
            endpoint: Some(e2e::TenantApi::endpoint(e2e::process::free_port().expect("free port"))),
            workers: 1,
            other_tenant: false,
            ..SeedOptions::default()
        };
        let tenant = seed_tenant(&client, &ns, release, &seed).await.expect("seed tenant");
        wait_ready(&client, &ns, &tenant.name, WAIT).await.expect("tenant Ready");
    }
    for n in [&ns, &kamaji_ns] {
        e2e::pods::settle(&client, n, WAIT).await.expect("settled");
    }
    Batch { client, ns, kamaji_ns, dir: tempfile::tempdir().expect("tempdir"), _standin: standin }
}

impl Batch {
    async fn pki(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = tokio::process::Command::new(e2e::pki_bin())
            .arg("--kubeconfig")
            .arg(ControlPlane::shared().kubeconfig())
            .args(args)
            .args(["-n", &self.ns, "--kamaji-namespace", &self.kamaji_ns])
            .current_dir(self.dir.path())
            .env_remove("KUBECTL_PKI_FAULT_AFTER")
            .output()
            .await
            .expect("run kubectl-pki");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    async fn value(&self, tenant: &str, suffix: &str, key: &str) -> Vec<u8> {
        let s = Api::<Secret>::namespaced(self.client.clone(), &self.ns).get(&secret_name(tenant, suffix)).await.expect("secret");
        s.data.and_then(|d| d.get(key).map(|v| v.0.clone())).unwrap_or_default()
    }

    async fn kamaji_pods(&self) -> BTreeSet<String> {
        let pods = Api::<Pod>::namespaced(self.client.clone(), &self.kamaji_ns).list(&ListParams::default()).await.unwrap();
        pods.items.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).filter_map(|p| p.uid()).collect()
    }

    /// A snapshot once two in a row are equal (the stand-in and controllers are done).
    async fn settled_snapshot(&self) -> BTreeMap<String, String> {
        rotate_fixture::settled_snapshot(&self.client, &[&self.ns, &self.kamaji_ns], false, WAIT).await
    }

    /// resourceVersion of every Secret and Lease, uid of every pod, in both namespaces.
    async fn snapshot(&self) -> BTreeMap<String, String> {
        rotate_fixture::snapshot(&self.client, &[&self.ns, &self.kamaji_ns], false).await
    }

    /// The names of the backup files, sorted.
    fn backups(&self) -> Vec<String> {
        let mut names: Vec<String> =
            rotate_fixture::backups(self.dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tenants_rotate_in_parallel_with_one_kamaji_restart() {
    let b = batch("rotate-batch", "26.3.5-edge").await;
    let mut old_cas = BTreeMap::new();
    for t in TENANTS {
        old_cas.insert(t, b.value(t, CA, "ca.crt").await);
    }
    let kamaji_before = b.kamaji_pods().await;

    let mut args = vec!["rotate-ca"];
    args.extend(TENANTS);
    args.extend(["--dry-run=false", "--parallel", "3", "--restart-workers", "--timeout", "3m", "-o", "json"]);
    let (code, stdout, stderr) = b.pki(&args).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let list: Value = serde_json::from_str(&stdout).expect("JSON report list");
    assert_eq!(list["kind"], "RotateCaReportList");
    let items = list["items"].as_array().expect("items");
    let names: Vec<&str> = items.iter().map(|r| r["plan"]["tenant"].as_str().unwrap()).collect();
    assert_eq!(names, TENANTS, "reports in the order given");
    for r in items {
        let t = r["plan"]["tenant"].as_str().unwrap();
        assert_eq!(r["result"], "rotated", "{t}: {r}");
        assert_ne!(r["newCa"]["sha256"], r["oldCa"]["sha256"], "{t}");
        let waited = r["waitedSeconds"].as_f64().unwrap();
        assert!(waited > 0.0 && waited <= r["seconds"].as_f64().unwrap(), "{t}: waited {waited} of {}", r["seconds"]);
        // Each progress line names its tenant.
        assert!(stderr.contains(&format!("{}/{t} [3/8] rotate", b.ns)), "{t}:\n{stderr}");
    }
    // Every tenant has its own new CA; its leaves chain to it and not to another tenant's.
    let mut new_cas = Vec::new();
    for t in TENANTS {
        let new_ca = b.value(t, CA, "ca.crt").await;
        assert_ne!(e2e::pki::cert_der(&new_ca), e2e::pki::cert_der(&old_cas[t]), "{t}: CA unchanged");
        assert!(e2e::pki::signed_by(&b.value(t, API_SERVER, "apiserver.crt").await, &new_ca), "{t}: apiserver.crt not on the new CA");
        new_cas.push(new_ca);
    }
    assert!(!e2e::pki::signed_by(&b.value(TENANTS[0], API_SERVER, "apiserver.crt").await, &new_cas[1]));
    // One Kamaji restart for the three: one report deleted the pods, the others joined it.
    let performed: Vec<&Value> = items.iter().filter(|r| !r["kamajiPodsDeleted"].as_array().unwrap().is_empty()).collect();
    assert_eq!(performed.len(), 1, "{items:?}");
    let by = format!("{}/{}", b.ns, performed[0]["plan"]["tenant"].as_str().unwrap());
    let joined: Vec<&Value> = items.iter().filter(|r| r["kamajiRestartJoined"].as_str() == Some(by.as_str())).collect();
    assert_eq!(joined.len(), 2, "{items:?}");
    let kamaji_after = b.kamaji_pods().await;
    assert!(kamaji_after.is_disjoint(&kamaji_before) && kamaji_after.len() == kamaji_before.len(), "{kamaji_before:?} -> {kamaji_after:?}");
    // A backup per tenant.
    let backups = b.backups();
    assert_eq!(backups.len(), 3, "{backups:?}");
    for t in TENANTS {
        assert!(backups.iter().any(|n| n.contains(&format!("-{t}-"))), "no backup of {t}: {backups:?}");
    }
    assert!(!stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_missing_tenant_or_a_locked_one_changes_nothing() {
    let b = batch("rotate-batch-refuse", "26.3.5-edge").await;
    let before = b.settled_snapshot().await;
    let (code, stdout, stderr) = b.pki(&["rotate-ca", TENANTS[0], "kubernetes-nope", "--dry-run=false", "--parallel", "2"]).await;
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(error[0].contains("kubernetes-nope"), "{}", error[0]);
    assert_unchanged(&before, &b.snapshot().await, "a batch naming a missing tenant");

    // A tenant held by another run: the whole batch is refused, none is rotated.
    let leases = Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(b.client.clone(), &b.ns);
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(jiff::Timestamp::now());
    let lease = k8s_openapi::api::coordination::v1::Lease {
        metadata: kube::api::ObjectMeta { name: Some(format!("pki-rotate-{}", TENANTS[1])), ..Default::default() },
        spec: Some(k8s_openapi::api::coordination::v1::LeaseSpec {
            holder_identity: Some("someone-else@elsewhere".into()),
            lease_duration_seconds: Some(300),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..Default::default()
        }),
    };
    leases.create(&Default::default(), &lease).await.expect("create a held Lease");
    let before = b.snapshot().await;
    let (code, stdout, stderr) = b.pki(&["rotate-ca", TENANTS[0], TENANTS[1], TENANTS[2], "--dry-run=false", "--parallel", "3"]).await;
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_default();
    assert!(error.contains("nothing was changed") && error.contains(TENANTS[1]) && error.contains("held"), "{stderr}");
    assert_unchanged(&before, &b.snapshot().await, "a batch with a locked tenant");
    assert!(b.backups().is_empty());
}

fn assert_unchanged(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>, what: &str) {
    let changed: Vec<&String> = after.keys().chain(before.keys()).filter(|k| after.get(*k) != before.get(*k)).collect();
    assert!(changed.is_empty(), "{what} changed {changed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failure_no_further_tenant_starts() {
    // Kamaji edge-25.4.1 ignores the rotate annotation that the version override makes the
    // tool use: the first tenant times out waiting for its new CA.
    let b = batch("rotate-batch-stop", "edge-25.4.1").await;
    let untouched = secret_name(TENANTS[1], CA);
    let before = Api::<Secret>::namespaced(b.client.clone(), &b.ns).get(&untouched).await.unwrap().resource_version();
    let mut args = vec!["rotate-ca"];
    args.extend(TENANTS);
    args.extend([
        "--dry-run=false",
        "--parallel",
        "1",
        "--method",
        "annotate",
        "--kamaji-version",
        "26.3.5-edge",
        "--timeout",
        "5s",
        "-o",
        "json",
    ]);
    let (code, stdout, stderr) = b.pki(&args).await;
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let list: Value = serde_json::from_str(&stdout).expect("the reports are printed on failure too");
    let results: Vec<&str> = list["items"].as_array().unwrap().iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["failed", "not-started", "not-started"], "{stdout}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains("3 of 3 tenant(s) not rotated"), "{error}");
    assert!(error.contains(&format!("re-run the same command with only: {}", TENANTS.join(" "))), "{error}");
    let after = Api::<Secret>::namespaced(b.client.clone(), &b.ns).get(&untouched).await.unwrap().resource_version();
    assert_eq!(before, after, "a tenant that was not started was changed");
    assert_eq!(b.backups().len(), 1, "only the first tenant was backed up: {:?}", b.backups());
}

/// On a terminal (a pseudo-terminal from util-linux `script`), the tenants' spinners stack
/// and every finished phase stays as a line naming its tenant; without one (the tests
/// above) there are plain lines and no spinner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_each_tenant_has_its_spinner() {
    let b = batch("rotate-batch-tty", "26.3.5-edge").await;
    let typescript = b.dir.path().join("typescript");
    let cmd = format!(
        "'{}' --kubeconfig '{}' rotate-ca {} --dry-run=false --parallel 3 --restart-workers --timeout 2m -n {} --kamaji-namespace {}",
        e2e::pki_bin().display(),
        ControlPlane::shared().kubeconfig().display(),
        TENANTS.join(" "),
        b.ns,
        b.kamaji_ns
    );
    let status = tokio::process::Command::new("script")
        .args(["-qfec", &cmd])
        .arg(&typescript)
        .current_dir(b.dir.path())
        .env("TERM", "xterm")
        .env("COLUMNS", "200")
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .expect("util-linux script");
    let screen = String::from_utf8_lossy(&std::fs::read(&typescript).expect("typescript")).into_owned();
    assert_eq!(status.code(), Some(0), "{screen}");
    assert!(screen.contains("\u{1b}["), "no terminal control sequences: not drawn as spinners");
    for t in TENANTS {
        for phase in ["[1/8] rbac+lock: done", "[3/8] rotate: done", "[6/8] workloads: done"] {
            assert!(screen.contains(&format!("✓ {}/{t} {phase}", b.ns)), "{t} {phase}:\n{screen}");
        }
    }
    assert!(screen.contains("TENANT") && screen.contains("rotated"), "the summary table:\n{screen}");
}
