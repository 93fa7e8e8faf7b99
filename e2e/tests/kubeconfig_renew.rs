//! `kubectl pki kubeconfig renew` against the real local control plane,
//! whose kube-controller-manager signs `kubernetes.io/kube-apiserver-client`
//! CSRs with the cluster CA: renewed with `--approve` by a user RBAC lets
//! approve; approved by the admin while the command waits; denied; timed
//! out (and finished by hand); refused for a certificate that is not the
//! identity the server sees (impersonation) and for a token context.
//!
//! The users' certificates come from the openssl CLI (one O per group), so
//! the fixture shares no code with the renewal.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use e2e::ControlPlane;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, ListParams, PostParams};
use kubectl_pki_testkit::{b64, cert_der, signed_by};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

const SIGNER: &str = "kubernetes.io/kube-apiserver-client";

/// A user of the shared control plane with a client certificate from its CA.
struct User {
    name: String,
    groups: Vec<String>,
    dir: tempfile::TempDir,
    cert_pem: String,
}

impl User {
    /// `cn` with `groups`, an ECDSA P-256 key made and signed by openssl.
    fn new(prefix: &str, groups: &[&str]) -> User {
        let cp = ControlPlane::shared();
        let suffix = e2e::controlplane::unique_suffix();
        let name = format!("{prefix}-{suffix}");
        let groups: Vec<String> = groups.iter().map(|g| format!("{g}-{suffix}")).collect();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let subj: String = groups.iter().map(|g| format!("/O={g}")).chain([format!("/CN={name}")]).collect();
        let (ca, ca_key) = (cp.pki().path("ca.crt").display().to_string(), cp.pki().path("ca.key").display().to_string());
        openssl(d, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "user.key"]);
        openssl(d, &["req", "-new", "-key", "user.key", "-subj", &subj, "-out", "user.csr"]);
        // X.509 v3 (rustls refuses v1) with kubeadm's client usages.
        std::fs::write(d.join("ext.cnf"), "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n").unwrap();
        let sign = ["x509", "-req", "-in", "user.csr", "-days", "30", "-out", "user.crt", "-extfile", "ext.cnf"];
        openssl(d, &[&sign[..], &["-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial"]].concat());
        let cert_pem = std::fs::read_to_string(d.join("user.crt")).unwrap();
        assert!(signed_by(cert_pem.as_bytes(), cp.pki().ca_crt.as_bytes()));
        User { name, groups, dir, cert_pem }
    }

    fn key_pem(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("user.key")).unwrap()
    }

    /// A kubeconfig with the certificate and key inline.
    fn inline_kubeconfig(&self) -> PathBuf {
        let cp = ControlPlane::shared();
        let path = self.dir.path().join("config");
        let text = kubectl_pki_testkit::kubeconfig(&cp.apiserver_url, &cp.pki().ca_crt, &self.cert_pem, &self.key_pem(), "renew");
        e2e::pki::write_private(&path, &text).unwrap();
        path
    }

    /// A kubeconfig that names `user.crt` and `user.key` (relative), reached
    /// through a symlink `link-config`.
    fn file_kubeconfig(&self) -> PathBuf {
        let cp = ControlPlane::shared();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n\
             users:\n- name: u\n  user:\n    client-certificate: user.crt\n    client-key: user.key\n\
             contexts:\n- name: renew\n  context:\n    cluster: c\n    user: u\ncurrent-context: renew\n",
            cp.apiserver_url,
            b64(&cp.pki().ca_crt)
        );
        let path = self.dir.path().join("config");
        e2e::pki::write_private(&path, &text).unwrap();
        let link = self.dir.path().join("link-config");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        link
    }

    /// RBAC for this user: create and read CSRs, and with `approve` also
    /// approve them for the client signer.
    async fn grant(&self, approve: bool) {
        let client = ControlPlane::shared().client().await;
        let mut rules = vec![
            json!({"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"], "verbs": ["create", "get", "list", "watch"]}),
        ];
        if approve {
            rules.push(
                json!({"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"], "verbs": ["update"]}),
            );
            rules.push(
                json!({"apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": [SIGNER], "verbs": ["approve"]}),
            );
        }
        let role: ClusterRole = serde_json::from_value(json!({"metadata": {"name": self.name}, "rules": rules})).unwrap();
        Api::<ClusterRole>::all(client.clone()).create(&PostParams::default(), &role).await.unwrap();
        let binding: ClusterRoleBinding = serde_json::from_value(json!({
            "metadata": {"name": self.name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": self.name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": self.name}]
        }))
        .unwrap();
        Api::<ClusterRoleBinding>::all(client).create(&PostParams::default(), &binding).await.unwrap();
    }

    /// The groups the server reports: the certificate's plus system:authenticated.
    fn server_groups(&self) -> Vec<String> {
        let mut g = self.groups.clone();
        g.push("system:authenticated".into());
        g.sort();
        g
    }

    fn backups(&self, of: &str) -> Vec<PathBuf> {
        let real = std::fs::canonicalize(self.dir.path()).unwrap();
        files_starting(&real, &format!("{of}.bak-"))
    }

    fn pending_keys(&self) -> Vec<PathBuf> {
        files_starting(&std::fs::canonicalize(self.dir.path()).unwrap(), "config.renew-")
    }
}

fn files_starting(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn pki(kubeconfig: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(e2e::pki_bin());
    cmd.env_remove("KUBECONFIG").env("NO_COLOR", "1").arg("--kubeconfig").arg(kubeconfig).args(["kubeconfig", "renew"]);
    cmd
}

async fn renew(kubeconfig: &Path, args: &[&str]) -> Output {
    pki(kubeconfig).args(args).output().await.expect("run kubectl-pki")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `kubectl auth whoami` with a kubeconfig: (user, sorted groups).
async fn whoami(kubeconfig: &Path) -> (String, Vec<String>) {
    let client = e2e::controlplane::client_for(kubeconfig).await.unwrap();
    let r = Api::<SelfSubjectReview>::all(client).create(&PostParams::default(), &SelfSubjectReview::default()).await.unwrap();
    let info = r.status.and_then(|s| s.user_info).unwrap();
    let mut groups = info.groups.unwrap_or_default();
    groups.sort();
    (info.username.unwrap_or_default(), groups)
}

/// The CSRs `user` created.
async fn csrs_of(user: &str) -> Vec<CertificateSigningRequest> {
    let api: Api<CertificateSigningRequest> = Api::all(ControlPlane::shared().client().await);
    let all = api.list(&ListParams::default()).await.unwrap().items;
    all.into_iter().filter(|c| c.spec.username.as_deref() == Some(user)).collect()
}

/// The client certificate (PEM) of the kubeconfig's current user, inline or by file.
fn kubeconfig_cert(kubeconfig: &Path) -> Vec<u8> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let user = kc.auth_infos[0].auth_info.clone().unwrap();
    match user.client_certificate_data {
        Some(d) => base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d).unwrap(),
        None => std::fs::read(user.client_certificate.unwrap()).unwrap(),
    }
}

fn parsed(pem: &[u8]) -> (String, i64, String) {
    let der = cert_der(pem);
    let (_, c) = x509_parser::parse_x509_certificate(&der).unwrap();
    let key = c.public_key().algorithm.algorithm.to_id_string();
    (format!("{:x}", c.serial), c.validity().not_after.timestamp(), key)
}

#[tokio::test]
async fn renews_with_approve_when_rbac_allows_it() {
    let user = User::new("renew-alice", &["renew-devs", "renew-ops"]);
    user.grant(true).await;
    let kubeconfig = user.inline_kubeconfig();
    assert_eq!(whoami(&kubeconfig).await, (user.name.clone(), user.server_groups()), "the fixture's two groups");
    let before = std::fs::read(&kubeconfig).unwrap();

    // The default is a dry run: a plan, nothing created, nothing written.
    let out = renew(&kubeconfig, &["--approve", "--duration", "2h"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(plan.contains("by you (--approve; allowed)") && plan.contains("Dry run: no CSR was created"), "{plan}");
    assert!(csrs_of(&user.name).await.is_empty());
    assert_eq!(std::fs::read(&kubeconfig).unwrap(), before);
    assert!(user.backups("config").is_empty());

    let started = std::time::Instant::now();
    let out = renew(&kubeconfig, &["--dry-run=false", "--approve", "--duration", "2h", "-o", "json"]).await;
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    eprintln!("renew --approve took {took:.1?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["approval"]["by"], "self", "{report:#}");
    let name = report["csr"].as_str().unwrap().to_string();
    assert!(stderr.contains(&format!("approved {name}")), "{stderr}");

    let csrs = csrs_of(&user.name).await;
    assert_eq!(csrs.len(), 1);
    let approved = csrs[0].status.as_ref().unwrap().conditions.as_ref().unwrap();
    assert!(approved.iter().any(|c| c.type_ == "Approved" && c.reason.as_deref() == Some("KubectlPkiApprove")), "{approved:?}");
    assert_eq!(csrs[0].spec.expiration_seconds, Some(7200));

    let new = kubeconfig_cert(&kubeconfig);
    let (old_serial, old_after, _) = parsed(user.cert_pem.as_bytes());
    let (new_serial, new_after, key) = parsed(&new);
    assert_ne!(new_serial, old_serial);
    assert_ne!(new_after, old_after);
    let now = jiff::Timestamp::now().as_second();
    assert!((new_after - (now + 7200)).abs() < 120, "notAfter about 2h from now: {new_after} vs {now}");
    assert_eq!(key, "1.2.840.10045.2.1", "ECDSA, as before");
    assert!(signed_by(&new, ControlPlane::shared().pki().ca_crt.as_bytes()), "signed by the cluster CA");
    assert_eq!(whoami(&kubeconfig).await, (user.name.clone(), user.server_groups()), "the renewed kubeconfig is the same identity");
    assert_eq!(report["verified"]["user"], user.name.as_str());

    assert_eq!(mode(&kubeconfig), 0o600);
    let backups = user.backups("config");
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(mode(&backups[0]), 0o600);
    assert_eq!(std::fs::read(&backups[0]).unwrap(), before, "the backup is the old kubeconfig");
    assert!(user.pending_keys().is_empty(), "the pending key is removed once written");
    assert!(!stderr.contains("PRIVATE KEY") && !text(&out.stdout).contains("PRIVATE KEY"));
}

/// A renew running in the background, waiting for approval.
struct Waiting {
    child: tokio::process::Child,
    /// The CSR, from its `kubectl certificate approve NAME` line.
    name: String,
    /// stderr up to that line.
    seen: Vec<String>,
    /// The rest of stderr, read until the process ends.
    rest: tokio::task::JoinHandle<Vec<String>>,
}

async fn start_waiting(kubeconfig: &Path, args: &[&str]) -> Waiting {
    let mut child = pki(kubeconfig)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let name = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line.clone());
            if let Some(name) = line.trim().strip_prefix("kubectl certificate approve ") {
                return name.to_string();
            }
        }
        panic!("no approve line in {seen:?}");
    })
    .await
    .expect("the approve line within 60 s");
    // Keep reading stderr so the child never blocks on a full pipe.
    let rest = tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    });
    Waiting { child, name, seen, rest }
}

#[tokio::test]
async fn waits_for_an_administrator_to_approve() {
    let user = User::new("renew-bob", &["renew-devs"]);
    user.grant(false).await;
    let link = user.file_kubeconfig();
    let real = std::fs::canonicalize(user.dir.path()).unwrap();
    let config_before = std::fs::read(real.join("config")).unwrap();
    let (key_before, cert_before) = (user.key_pem(), user.cert_pem.clone());

    let Waiting { child, name, seen, rest } =
        start_waiting(&link, &["--dry-run=false", "--approve", "--key-type", "ed25519", "--timeout", "2m"]).await;
    assert!(seen.iter().any(|l| l.contains("--approve: you may not approve this CSR")), "{seen:?}");
    let cp = ControlPlane::shared();
    e2e::kubectl::run_async(cp.kubeconfig(), &["certificate", "approve", &name]).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    let rest = rest.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("verified: the new certificate authenticates as")), "{rest:?}");
    let done = text(&out.stdout);
    assert!(done.contains(&format!("csr:       {name} (approved by an administrator)")), "{done}");

    assert_eq!(std::fs::read(real.join("config")).unwrap(), config_before, "the kubeconfig names files: it is not rewritten");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    let new_cert = std::fs::read(real.join("user.crt")).unwrap();
    let (old_serial, old_after, _) = parsed(cert_before.as_bytes());
    let (new_serial, new_after, key) = parsed(&new_cert);
    assert_ne!(new_serial, old_serial);
    assert_ne!(new_after, old_after);
    assert_eq!(key, "1.3.101.112", "--key-type ed25519");
    assert_ne!(std::fs::read_to_string(real.join("user.key")).unwrap(), key_before);
    assert_eq!(mode(&real.join("user.key")), 0o600);
    assert_eq!(std::fs::read_to_string(&user.backups("user.key")[0]).unwrap(), key_before);
    assert_eq!(std::fs::read_to_string(&user.backups("user.crt")[0]).unwrap(), cert_before);
    assert_eq!((mode(&user.backups("user.key")[0]), mode(&user.backups("user.crt")[0])), (0o600, 0o600));
    assert_eq!(whoami(&link).await, (user.name.clone(), user.server_groups()));
}

#[tokio::test]
async fn a_denied_csr_changes_nothing() {
    let user = User::new("renew-dave", &["renew-devs"]);
    user.grant(false).await;
    let kubeconfig = user.inline_kubeconfig();
    let before = std::fs::read(&kubeconfig).unwrap();
    let Waiting { child, name, rest, .. } = start_waiting(&kubeconfig, &["--dry-run=false", "--timeout", "2m"]).await;
    e2e::kubectl::run_async(ControlPlane::shared().kubeconfig(), &["certificate", "deny", &name]).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    let rest = rest.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{rest:?}");
    let err = rest.last().unwrap();
    assert!(err.starts_with(&format!("error: CSR {name} was denied: reason \"KubectlDeny\", message ")), "{err}");
    assert!(err.ends_with("; the kubeconfig was not changed"), "{err}");
    assert_eq!(std::fs::read(&kubeconfig).unwrap(), before);
    assert!(user.backups("config").is_empty());
    assert!(user.pending_keys().is_empty(), "a denied request's key is useless: removed");
}

#[tokio::test]
async fn a_timeout_says_how_to_finish_by_hand() {
    let user = User::new("renew-erin", &["renew-devs"]);
    user.grant(false).await;
    let kubeconfig = user.inline_kubeconfig();
    let before = std::fs::read(&kubeconfig).unwrap();
    let out = renew(&kubeconfig, &["--dry-run=false", "--timeout", "3s"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let err = stderr.lines().last().unwrap();
    let name = csrs_of(&user.name).await[0].metadata.name.clone().unwrap();
    assert!(err.starts_with(&format!("error: timed out after 3s: CSR {name}: not approved yet; the new key is in ")), "{err}");
    assert!(err.contains(&format!("To finish by hand: kubectl certificate approve {name}; kubectl get csr {name}")), "{err}");
    assert_eq!(std::fs::read(&kubeconfig).unwrap(), before);
    let pending = user.pending_keys();
    assert_eq!(pending.len(), 1);
    assert_eq!(mode(&pending[0]), 0o600);
    assert!(err.contains(&pending[0].display().to_string()), "{err}");

    // Finishing by hand works: the kept key matches what the signer issues.
    let cp = ControlPlane::shared();
    e2e::kubectl::run_async(cp.kubeconfig(), &["certificate", "approve", &name]).await.unwrap();
    let api: Api<CertificateSigningRequest> = Api::all(cp.client().await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let cert = loop {
        if let Some(c) = api.get(&name).await.unwrap().status.and_then(|s| s.certificate) {
            break c.0;
        }
        assert!(std::time::Instant::now() < deadline, "not issued");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let key = std::fs::read_to_string(&pending[0]).unwrap();
    let by_hand = user.dir.path().join("by-hand");
    let text_kc = kubectl_pki_testkit::kubeconfig(&cp.apiserver_url, &cp.pki().ca_crt, &text(&cert), &key, "renew");
    e2e::pki::write_private(&by_hand, &text_kc).unwrap();
    assert_eq!(whoami(&by_hand).await, (user.name.clone(), user.server_groups()));
}

#[tokio::test]
async fn refuses_a_certificate_that_is_not_the_current_identity() {
    // The admin's certificate, impersonating someone else: the server sees
    // that other user, the certificate names the admin.
    let cp = ControlPlane::shared();
    let carol = format!("renew-carol-{}", e2e::controlplane::unique_suffix());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let text_kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n\
         users:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n    as: {carol}\n\
         contexts:\n- name: renew\n  context:\n    cluster: c\n    user: u\ncurrent-context: renew\n",
        cp.apiserver_url,
        b64(&cp.pki().ca_crt),
        b64(&cp.pki().admin_crt),
        b64(&cp.pki().admin_key)
    );
    e2e::pki::write_private(&kubeconfig, &text_kc).unwrap();
    assert_eq!(whoami(&kubeconfig).await.0, carol, "the server sees the impersonated user");
    let before = std::fs::read(&kubeconfig).unwrap();

    let out = renew(&kubeconfig, &[]).await;
    assert_eq!(out.status.code(), Some(3), "a dry run that would refuse: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("REFUSES:"), "{}", text(&out.stdout));

    let out = renew(&kubeconfig, &["--dry-run=false", "--approve"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("names user \"e2e-admin\" groups \"system:masters\""), "{stderr}");
    assert!(stderr.contains(&format!("authenticates this context as user {carol:?}")), "{stderr}");
    assert!(stderr.contains("impersonates") && stderr.contains("refusing"), "{stderr}");
    assert!(csrs_of(&carol).await.is_empty(), "no CSR created");
    assert!(
        csrs_of("e2e-admin").await.iter().all(|c| c.metadata.generate_name.as_deref() != Some("kubectl-pki-e2e-admin-")),
        "none as the admin either"
    );
    assert_eq!(std::fs::read(&kubeconfig).unwrap(), before);
    assert!(files_starting(dir.path(), "config.").is_empty(), "no backup, no pending key");
}

#[tokio::test]
async fn refuses_a_token_context() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("renew-token").await.name;
    let token = e2e::kubectl::run_async(cp.kubeconfig(), &["create", "token", "default", "-n", &ns]).await.unwrap();
    let token = token.trim();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    e2e::pki::write_private(&kubeconfig, &kubectl_pki_testkit::token_kubeconfig(&cp.apiserver_url, &cp.pki().ca_crt, token)).unwrap();
    let sa = format!("system:serviceaccount:{ns}:default");
    assert_eq!(whoami(&kubeconfig).await.0, sa, "the token works");
    let before = std::fs::read(&kubeconfig).unwrap();

    for args in [&[][..], &["--dry-run=false", "--approve"][..]] {
        let out = renew(&kubeconfig, args).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr,
            "error: context \"c\" (user \"u\") authenticates with a bearer token; tokens are renewed by whoever issues them: there is no client certificate to renew\n"
        );
        assert!(!stderr.contains(token));
    }
    assert!(csrs_of(&sa).await.is_empty());
    assert_eq!(std::fs::read(&kubeconfig).unwrap(), before);
}

#[tokio::test]
async fn ctrl_c_while_waiting_keeps_the_key_and_says_how_to_finish() {
    let user = User::new("renew-ivan", &["renew-devs"]);
    user.grant(false).await;
    let kubeconfig = user.inline_kubeconfig();
    let before = std::fs::read(&kubeconfig).unwrap();
    let Waiting { child, name, rest, .. } = start_waiting(&kubeconfig, &["--dry-run=false", "--timeout", "5m"]).await;
    let pid = child.id().expect("pid") as libc::pid_t;
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output()).await.expect("exits").unwrap();
    let rest = rest.await.unwrap();
    assert_eq!(out.status.code(), Some(130), "{rest:?}");
    let err = rest.last().unwrap();
    assert!(err.starts_with(&format!("error: interrupted: SIGINT while waiting for CSR {name}; the new key is in ")), "{err}");
    assert!(err.contains(&format!("To finish by hand: kubectl certificate approve {name}")), "{err}");
    assert_eq!(std::fs::read(&kubeconfig).unwrap(), before, "the kubeconfig was not changed");
    let pending = user.pending_keys();
    assert_eq!(pending.len(), 1, "the key is kept to finish by hand");
    assert_eq!(mode(&pending[0]), 0o600);
}
