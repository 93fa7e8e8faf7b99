//! `rotate-ca` killed at every phase boundary and after every deletion
//! (`KUBECTL_PKI_FAULT_AFTER`, which exits like a crash: no cleanup, the
//! Lease stays held), then resumed by running the same command again. After
//! every kill the backup on disk is the first run's, unchanged; at the end
//! every backed-up secret exists again, on the new CA, and nothing was
//! deleted twice. A run killed mid-way can also be undone with `restore`.

mod faults_relay;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::ControlPlane;
use e2e::cozystack::SeedOptions;
use e2e::kamaji::names::*;
use e2e::rotate_fixture;
use faults_relay::KillingRelay;
use kube::api::ListParams;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);
const RELEASE: &str = "kubernetes-demo";
/// The exit code of an injected fault.
const FAULT_EXIT: i32 = 86;

/// The shared rotate fixture, with this file's runs: a fault point, no colours, and the
/// (exit code, stdout, stderr) of each run.
struct Fixture(rotate_fixture::Fixture);

impl std::ops::Deref for Fixture {
    type Target = rotate_fixture::Fixture;
    fn deref(&self) -> &rotate_fixture::Fixture {
        &self.0
    }
}

async fn fixture(prefix: &str, version: &str) -> Fixture {
    let seed = SeedOptions { kamaji_version: version.into(), ..SeedOptions::default() };
    Fixture(rotate_fixture::Fixture::settled(prefix, RELEASE, seed, WAIT).await)
}

/// (exit code, stdout, stderr) of a run.
async fn outcome(mut cmd: tokio::process::Command) -> (Option<i32>, String, String) {
    let out = cmd.env("NO_COLOR", "1").output().await.expect("run kubectl-pki");
    let (stdout, stderr) = rotate_fixture::text(&out);
    (out.status.code(), stdout, stderr)
}

impl Fixture {
    /// `kubectl-pki rotate-ca` (or another command) in the fixture's
    /// directory, where backups land; `fault` sets the fault point.
    async fn run(&self, args: &[&str], fault: Option<&str>) -> (Option<i32>, String, String) {
        let mut cmd = self.command(ControlPlane::shared().kubeconfig(), args, args.first() == Some(&"rotate-ca"));
        if let Some(point) = fault {
            cmd.env("KUBECTL_PKI_FAULT_AFTER", point);
        }
        outcome(cmd).await
    }

    /// Like [`Fixture::run`] without a fault, through another kubeconfig.
    async fn run_via(&self, kubeconfig: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        outcome(self.command(kubeconfig, args, true)).await
    }

    /// The one backup file and its bytes.
    fn backup(&self) -> (PathBuf, Vec<u8>) {
        let backups = self.backups();
        assert_eq!(backups.len(), 1, "exactly one backup: {backups:?}");
        let bytes = std::fs::read(&backups[0]).unwrap();
        (backups[0].clone(), bytes)
    }

    /// Names of the secrets present now.
    async fn present(&self) -> BTreeSet<String> {
        let items = self.secrets.list(&ListParams::default()).await.unwrap().items;
        items.into_iter().filter_map(|s| s.metadata.name).collect()
    }

    /// Adds the uid of every present secret to its name's set.
    async fn record_uids(&self, uids: &mut BTreeMap<String, BTreeSet<String>>) {
        for s in self.secrets.list(&ListParams::default()).await.unwrap().items {
            if let (Some(name), Some(uid)) = (s.metadata.name, s.metadata.uid) {
                uids.entry(name).or_default().insert(uid);
            }
        }
    }

    /// Waits until every backed-up secret exists again (Kamaji regenerates
    /// deleted ones), failing with the missing names.
    async fn assert_nothing_lost(&self, backed_up: &BTreeSet<String>, when: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let names = self.present().await;
            let missing: Vec<&String> = backed_up.difference(&names).collect();
            if missing.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "{when}: secrets lost: {missing:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Names of the secrets in a backup file (a `v1` List).
fn backed_up_names(backup: &[u8]) -> BTreeSet<String> {
    let doc: Value = serde_saphyr::from_slice(backup).expect("the backup parses as YAML");
    let items = doc["items"].as_array().expect("a List");
    items.iter().map(|i| i["metadata"]["name"].as_str().expect("a name").to_string()).collect()
}
/// The end state of a rotation that was resumed: a new CA, the leaves on
/// it, the service-account key kept, every backed-up secret present.
async fn assert_rotated(f: &Fixture, old_ca: &[u8], old_sa: &[u8], backed_up: &BTreeSet<String>) {
    f.assert_nothing_lost(backed_up, "after the resumed run").await;
    let new_ca = f.value(CA, "ca.crt").await;
    assert_ne!(e2e::pki::cert_der(&new_ca), e2e::pki::cert_der(old_ca), "the CA did not change");
    for (suffix, key) in
        [(API_SERVER, "apiserver.crt"), (API_SERVER_KUBELET_CLIENT, "apiserver-kubelet-client.crt"), (KONNECTIVITY_CERT, "tls.crt")]
    {
        assert!(e2e::pki::signed_by(&f.value(suffix, key).await, &new_ca), "{suffix}/{key} is not on the new CA");
    }
    assert_eq!(f.value(SA, "sa.key").await, old_sa, "the service-account key is kept");
}

/// A killed run: the fault's exit code and message, nothing on stdout.
fn assert_killed(code: Option<i32>, stdout: &str, stderr: &str, point: &str) {
    assert_eq!(code, Some(FAULT_EXIT), "fault after {point}: {stdout}\n{stderr}");
    assert!(stderr.contains(&format!("fault injected after {point}")), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_phase_boundary_and_resumed_loses_nothing() {
    let f = fixture("faults-phases", "26.3.5-edge").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "3m", "-o", "json"];

    let mut first_backup: Option<(PathBuf, Vec<u8>)> = None;
    for point in ["backup", "rotate", "kamaji", "regenerated", "workloads", "workers"] {
        let (code, stdout, stderr) = f.run(&args, Some(point)).await;
        assert_killed(code, &stdout, &stderr, point);
        let backup = f.backup();
        match &first_backup {
            None => first_backup = Some(backup),
            Some(first) => assert_eq!(&backup, first, "after {point}: the backup was rewritten"),
        }
        let names = backed_up_names(&first_backup.as_ref().unwrap().1);
        assert!(names.contains(&f.tenant.secret(CA)), "the backup holds the CA secret: {names:?}");
        f.assert_nothing_lost(&names, &format!("killed after {point}")).await;
    }
    let (path, bytes) = first_backup.unwrap();
    let names = backed_up_names(&bytes);

    let (code, stdout, stderr) = f.run(&args, None).await;
    assert_eq!(code, Some(0), "the resumed run: {stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    assert!(report["plan"]["resume"].is_object(), "the last run resumed: {}", report["plan"]);
    assert_eq!(Path::new(report["backup"].as_str().unwrap()).canonicalize().unwrap(), path.canonicalize().unwrap());
    assert_eq!(f.backup(), (path, bytes), "the backup is the first run's, unchanged");
    assert_rotated(&f, &old_ca, &old_sa, &names).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_every_deletion_and_resumed_loses_nothing() {
    let f = fixture("faults-deletes", "26.3.5-edge").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--method", "delete", "--restart-workers", "--timeout", "3m", "-o", "json"];

    let (code, stdout, stderr) = f.run(&["rotate-ca", RELEASE, "--method", "delete", "-o", "json"], None).await;
    assert_eq!(code, Some(0), "dry run: {stdout}\n{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let to_delete: BTreeSet<String> = plan["plan"]["secrets"]
        .as_array()
        .expect("planned secrets")
        .iter()
        .filter(|s| s["action"] == "delete")
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(to_delete.len() >= 2, "the delete method deletes several secrets: {}", plan["plan"]["secrets"]);

    // Each run deletes the next secret still holding backed-up content,
    // then dies; the first one that finds nothing left to delete completes
    // (once the CA is regenerated, Kamaji re-issues the others in place, so
    // fewer runs than planned deletions may be needed). A secret deleted by
    // the tool comes back with a new uid: one deleted twice would show a
    // third uid.
    let mut uids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    f.record_uids(&mut uids).await;
    let mut first_backup: Option<(PathBuf, Vec<u8>)> = None;
    let mut kills = 0;
    let last = loop {
        let (code, stdout, stderr) = f.run(&args, Some("first-change")).await;
        if code != Some(FAULT_EXIT) {
            break (code, stdout, stderr);
        }
        assert_killed(code, &stdout, &stderr, "first-change");
        kills += 1;
        assert!(kills <= to_delete.len(), "more kills than planned deletions: a secret was deleted twice");
        let backup = f.backup();
        match &first_backup {
            None => first_backup = Some(backup),
            Some(first) => assert_eq!(&backup, first, "after deletion {kills}: the backup was rewritten"),
        }
        let names = backed_up_names(&first_backup.as_ref().unwrap().1);
        f.assert_nothing_lost(&names, &format!("killed after deletion {kills}")).await;
        f.record_uids(&mut uids).await;
    };
    let (code, stdout, stderr) = last;
    assert_eq!(code, Some(0), "the run after {kills} kills: {stdout}\n{stderr}");
    assert!((1..=to_delete.len()).contains(&kills), "{kills} kills for {} planned deletions", to_delete.len());
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    for step in report["secrets"].as_array().unwrap().iter().filter(|s| to_delete.contains(s["name"].as_str().unwrap_or_default())) {
        assert!(step["result"].as_str().is_some_and(|r| r.starts_with("skipped")), "the completing run changed {step}");
    }
    let (path, bytes) = first_backup.expect("at least one kill");
    assert_eq!(f.backup(), (path, bytes.clone()), "the backup is the first run's, unchanged");
    let backed_up = backed_up_names(&bytes);
    assert!(to_delete.is_subset(&backed_up), "every secret to delete was backed up first: {to_delete:?} vs {backed_up:?}");
    assert_rotated(&f, &old_ca, &old_sa, &backed_up).await;
    f.record_uids(&mut uids).await;
    let twice: Vec<_> = uids.iter().filter(|(_, u)| u.len() > 2).collect();
    assert!(twice.is_empty(), "deleted more than once: {twice:?}");
    let replaced = uids.iter().filter(|(n, u)| to_delete.contains(*n) && u.len() == 2).count();
    assert!(replaced >= kills, "{kills} deletions but {replaced} secrets were recreated: {uids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_the_rotation_is_undone_by_restore() {
    let f = fixture("faults-restore", "26.3.5-edge").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--timeout", "3m"];
    let (code, stdout, stderr) = f.run(&args, Some("regenerated")).await;
    assert_killed(code, &stdout, &stderr, "regenerated");
    assert_ne!(e2e::pki::cert_der(&f.value(CA, "ca.crt").await), e2e::pki::cert_der(&old_ca), "the CA was rotated before the kill");

    let (path, bytes) = f.backup();
    let runs = f.restore_until_done(&path).await;
    let (stdout, stderr) = rotate_fixture::text(runs.last().unwrap());
    assert!(stderr.contains("Restored "), "restore: {stdout}\n{stderr}");
    assert_eq!(e2e::pki::cert_der(&f.value(CA, "ca.crt").await), e2e::pki::cert_der(&old_ca), "restore brought the old CA back");
    f.assert_nothing_lost(&backed_up_names(&bytes), "after restore").await;
    assert!(e2e::pki::signed_by(&f.value(API_SERVER, "apiserver.crt").await, &old_ca), "the leaves are the old CA's again");
}

/// The API server "dies" (every connection cut, new ones refused) the
/// moment the backup is on disk: the run fails with one error line, the
/// backup stays intact, and the same command against the live server
/// completes the rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_gone_after_the_backup_keeps_the_backup_and_the_rerun_completes() {
    let f = fixture("faults-apigone", "26.3.5-edge").await;
    let cp = ControlPlane::shared();
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let upstream: u16 = cp.apiserver_url.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("API server port");
    let dir = f.dir.path().to_path_buf();
    let backup_written = move |_: usize| {
        std::fs::read_dir(&dir).into_iter().flatten().flatten().any(|e| e.file_name().to_string_lossy().starts_with("pki-backup-"))
    };
    let relay = KillingRelay::start(upstream, Box::new(backup_written), Box::new(|| {}));
    let pki = cp.pki();
    let kc = f.dir.path().join("via-relay.kubeconfig");
    e2e::pki::write_private(&kc, &e2e::pki::kubeconfig(&relay.url(), &pki.ca_crt, &pki.admin_crt, &pki.admin_key, "relay")).unwrap();

    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "3m"];
    let (code, stdout, stderr) = f.run_via(&kc, &args).await;
    assert!(relay.killed(), "the server went away during the run: {stderr}");
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert_eq!(stderr.trim_end().lines().last(), Some(errors[0]), "the error comes last: {stderr}");
    assert!(errors[0].contains("cannot reach the Kubernetes API"), "says the server is gone: {}", errors[0]);

    // The backup is complete, and nothing was changed yet.
    let (path, bytes) = f.backup();
    let names = backed_up_names(&bytes);
    assert!(names.contains(&f.tenant.secret(CA)), "{names:?}");
    assert_eq!(f.value(CA, "ca.crt").await, old_ca, "no change after the backup");

    // The same command against the live server completes; the first backup is untouched.
    let direct = cp.kubeconfig().to_path_buf();
    let (code, stdout, stderr) = f.run_via(&direct, &[&args[..], &["-o", "json"]].concat()).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the first backup is intact");
    assert_rotated(&f, &old_ca, &old_sa, &names).await;
}

/// A relay in front of the shared API server that stalls (holds every
/// connection, forwards nothing) once the run's backup is on disk, and a
/// kubeconfig through it.
fn stalling_after_the_backup(f: &Fixture) -> (KillingRelay, PathBuf) {
    let cp = ControlPlane::shared();
    let upstream: u16 = cp.apiserver_url.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("API server port");
    let dir = f.dir.path().to_path_buf();
    let backup_written = move |_: usize| {
        std::fs::read_dir(&dir).into_iter().flatten().flatten().any(|e| e.file_name().to_string_lossy().starts_with("pki-backup-"))
    };
    let relay = KillingRelay::stalling(upstream, Box::new(backup_written));
    let pki = cp.pki();
    let kc = f.dir.path().join("via-stall.kubeconfig");
    e2e::pki::write_private(&kc, &e2e::pki::kubeconfig(&relay.url(), &pki.ca_crt, &pki.admin_crt, &pki.admin_key, "stall")).unwrap();
    (relay, kc)
}

/// The API server stops answering (connections open, no bytes) once the
/// backup is on disk: `--request-timeout` ends the run with one error line
/// instead of a hang, the backup stays intact, and the same command against
/// the live server completes (the Lease left held by the dead run is taken
/// over at once: same machine, process gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_api_server_ends_the_run_at_the_request_timeout() {
    let f = fixture("faults-stall", "26.3.5-edge").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let (relay, kc) = stalling_after_the_backup(&f);
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--restart-workers", "--timeout", "3m"];
    let mut cmd = f.command(&kc, &[&args[..], &["--request-timeout", "3s"]].concat(), true);
    cmd.kill_on_drop(true);
    let (code, stdout, stderr) = outcome(cmd).await;
    assert!(relay.killed(), "the server stalled during the run: {stderr}");
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(errors[0].contains("did not answer within 3s"), "says the server stopped answering: {}", errors[0]);
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (path, bytes) = f.backup();
    assert_eq!(f.value(CA, "ca.crt").await, old_ca, "no change after the backup");
    let direct = ControlPlane::shared().kubeconfig().to_path_buf();
    let (code, stdout, stderr) = f.run_via(&direct, &[&args[..], &["-o", "json"]].concat()).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the first backup is intact");
    assert_rotated(&f, &old_ca, &old_sa, &backed_up_names(&bytes)).await;
}

/// With no request limit (`--request-timeout 0`) a stalled server holds the
/// first Ctrl-C's clean-up (releasing the Lease) forever: a second Ctrl-C
/// exits at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_exits_at_once_when_the_clean_up_hangs() {
    let f = fixture("faults-sigint2", "26.3.5-edge").await;
    let (relay, kc) = stalling_after_the_backup(&f);
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--timeout", "10m", "--request-timeout", "0"];
    let mut cmd = f.command(&kc, &args, true);
    cmd.env("NO_COLOR", "1").kill_on_drop(true).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let stalled = tokio::time::timeout(WAIT, async {
        while !relay.killed() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(stalled.is_ok(), "the run never wrote its backup");
    // Let the run's next request reach the stalled server.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = child.id().expect("pid") as libc::pid_t;
    // SAFETY: signals to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.try_wait().unwrap().is_none(), "the first Ctrl-C waits for its clean-up");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out =
        tokio::time::timeout(Duration::from_secs(20), child.wait_with_output()).await.expect("exits after the second Ctrl-C").unwrap();
    let (_, stderr) = rotate_fixture::text(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("second signal: exiting at once"), "{stderr}");
}

/// The Lease of `f`'s tenant and its rotate-ca state annotations.
async fn lease_state(f: &Fixture) -> (kube::Api<k8s_openapi::api::coordination::v1::Lease>, String) {
    (kube::Api::namespaced(f.client.clone(), f.ns()), format!("pki-rotate-{RELEASE}"))
}

/// A resume whose first backup cannot be read here (moved away, as on
/// another host): past the deletions (killed after the Kamaji restart) it
/// continues from a fresh backup and deletes nothing again (the CA, which
/// Kamaji regenerated, keeps its uid); with deletions unfinished (killed
/// after the first one) it is refused until `--backup FILE` names that
/// backup, and a record older than a day also needs `--resume-stale`
/// (which the plan's unit tests show lifting that refusal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_without_the_first_backup_never_deletes_twice() {
    let f = fixture("faults-nobackup", "26.3.5-edge").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let args = ["rotate-ca", RELEASE, "--dry-run=false", "--method", "delete", "--restart-workers", "--timeout", "3m", "-o", "json"];
    let (code, stdout, stderr) = f.run(&args, Some("kamaji")).await;
    assert_killed(code, &stdout, &stderr, "kamaji");
    let (path, bytes) = f.backup();
    let names = backed_up_names(&bytes);
    f.assert_nothing_lost(&names, "killed after the Kamaji restart").await;
    let ca_uid = f.secret(CA).await.metadata.uid;
    let elsewhere = tempfile::tempdir().unwrap();
    let moved = elsewhere.path().join(path.file_name().unwrap());
    std::fs::rename(&path, &moved).unwrap();

    let (code, stdout, stderr) = f.run(&args, None).await;
    assert_eq!(code, Some(0), "past the deletions the run continues: {stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    assert!(stderr.contains("the interrupted run's backup cannot be used"), "says so: {stderr}");
    assert_eq!(f.secret(CA).await.metadata.uid, ca_uid, "the regenerated CA was not deleted again");
    let phase = |name: &str| report["phases"].as_array().unwrap().iter().find(|p| p["name"] == name).cloned().unwrap();
    assert_eq!(phase("rotate")["status"], "skipped", "{report}");
    assert_rotated(&f, &old_ca, &old_sa, &names).await;

    // Deletions unfinished: refused without the first backup.
    let f = fixture("faults-nobackup2", "26.3.5-edge").await;
    let old_ca = f.value(CA, "ca.crt").await;
    let old_sa = f.value(SA, "sa.key").await;
    let (code, stdout, stderr) = f.run(&args, Some("first-change")).await;
    assert_killed(code, &stdout, &stderr, "first-change");
    let (path, bytes) = f.backup();
    let names = backed_up_names(&bytes);
    let moved = elsewhere.path().join(path.file_name().unwrap());
    std::fs::rename(&path, &moved).unwrap();
    // ...and the record is two days old.
    let (leases, lease) = lease_state(&f).await;
    let recorded = leases.get(&lease).await.unwrap().metadata.annotations.unwrap()["rotate-ca.kubectl-pki.io/started-at"].clone();
    let two_days_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48)).to_string();
    let patch = serde_json::json!({"metadata": {"annotations": {"rotate-ca.kubectl-pki.io/started-at": two_days_ago}}});
    leases.patch(&lease, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
    f.assert_nothing_lost(&names, "killed after the first deletion").await;
    let before = f.settled_snapshot().await;

    let (code, stdout, stderr) = f.run(&args, None).await;
    assert_eq!(code, Some(1), "refused: {stdout}\n{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(error.contains("nothing was changed") && error.contains("--backup FILE") && error.contains("--resume-stale"), "{error}");
    let after = f.snapshot().await;
    assert!(rotate_fixture::diff(&before, &after).is_empty(), "refused before any change: {}", rotate_fixture::diff(&before, &after));

    // The record's real start again (the forged one would also move the
    // workers' restart judgement two days back): --backup alone completes.
    let patch = serde_json::json!({"metadata": {"annotations": {"rotate-ca.kubectl-pki.io/started-at": recorded}}});
    leases.patch(&lease, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&patch)).await.unwrap();
    let with_backup = [&args[..], &["--backup", moved.to_str().unwrap()]].concat();
    let (code, stdout, stderr) = f.run(&with_backup, None).await;
    assert_eq!(code, Some(0), "with --backup: {stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["result"], "rotated", "{report}");
    assert!(stderr.contains("reusing the backup of the interrupted run"), "{stderr}");
    assert_rotated(&f, &old_ca, &old_sa, &names).await;
}
