//! `kubectl pki kubeconfig renew`: a new client certificate for the
//! current context's user, from the cluster's own signer
//! (`kubernetes.io/kube-apiserver-client`) through a
//! CertificateSigningRequest.
//!
//! Steps: find the credential ([`credential`]); ask the server who it is
//! (SelfSubjectReview) and refuse unless the certificate's CN/O is that
//! identity; check RBAC; (dry run: stop and show the plan) generate a key of
//! the same type and a CSR with the same subject; create it; approve it
//! (`--approve`, when allowed, after checking the object is this run's
//! request by this identity) or print the `kubectl certificate approve`
//! line and wait; check the issued certificate (our key, our subject);
//! prove it with a SelfSubjectReview made with the new certificate alone;
//! then write it ([`write`]). While the CSR is pending the new key waits in
//! a 0600 file beside the kubeconfig, so a timeout can be finished by hand.
//!
//! Progress goes to stderr; the report is returned for `-o`. No clap.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use kube::api::{Api, PostParams};
use serde::Serialize;

use crate::certs::CertInfo;
use crate::context::Ctx;
use crate::duration::human_duration;
use crate::error::{Error, Outcome, Result};
use crate::issuer::KeyKind;
use crate::output::clean_line;
use crate::rbac::{self, Need};
use crate::wait::{self, Poll};

use super::credential::{self, Credential, Location};
use super::csr::{self, State};
use super::identity::{self, Identity};
use super::write::{self, Change, Issued, Target};

const GROUP: &str = "certificates.k8s.io";
const CSRS: &str = "certificatesigningrequests";

/// One run, its flags parsed.
#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: the type of the current key.
    pub key_type: Option<KeyKind>,
    /// `expirationSeconds`; `None`: the signer's default.
    pub expiration_seconds: Option<i32>,
    /// Approve the CSR when the user may.
    pub approve: bool,
    /// Limit of the wait for approval and issuance.
    pub timeout: Duration,
    pub target: Target,
    pub dry_run: bool,
}

/// A certificate as the report shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertSummary {
    pub subject: String,
    pub serial: String,
    pub not_before: jiff::Timestamp,
    pub not_after: jiff::Timestamp,
    pub key_type: String,
}

impl From<&CertInfo> for CertSummary {
    fn from(c: &CertInfo) -> Self {
        CertSummary {
            subject: c.subject.clone(),
            serial: c.serial.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            key_type: c.key_type.clone(),
        }
    }
}

/// Who approves the CSR.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// `self` (`--approve`, allowed) or `administrator`.
    pub by: &'static str,
    /// With `--approve`: the permissions the user lacks to approve.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// What a run did (or, in a dry run, would do). The `-o json|yaml` document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub context: String,
    /// The kubeconfig's user entry.
    pub user: String,
    pub kubeconfig: PathBuf,
    /// `inline` or `files`.
    pub stored: &'static str,
    /// Who the server says the current credential is.
    pub identity: Identity,
    pub current: CertSummary,
    /// The new key's type.
    pub key_type: String,
    pub signer: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i32>,
    pub approval: Approval,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewed: Option<CertSummary>,
    /// Who the server says the new certificate is (`kubectl auth whoami`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<Identity>,
    pub changes: Vec<Change>,
    /// Dry run: why the real run would refuse.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<String>,
    /// Seconds from the CSR's creation until the certificate was issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_after_seconds: Option<f64>,
}

/// A run's report, its table text, and how it ended.
pub struct Ran {
    pub report: Report,
    pub text: String,
    pub outcome: Outcome,
}

pub async fn run(opts: Options, ctx: &Ctx) -> Result<Ran> {
    let kc = ctx.kubeconfig()?;
    let context = ctx.context_name(kc).ok_or_else(|| Error::Invalid("the kubeconfig has no current context; pass --context".into()))?;
    let files = credential::kubeconfig_files(
        ctx.settings.kubeconfig.as_deref(),
        std::env::var_os("KUBECONFIG").as_deref(),
        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
    );
    let cred = credential::find(kc, &context, &files)?;
    let kind = match opts.key_type {
        Some(k) => k,
        None => credential::key_kind(&cred.cert)?,
    };
    let client = ctx.client().await?;
    let server = match identity::whoami(&client).await {
        Ok(id) => id,
        Err(e) => return Err(ctx.api_error(e).await),
    };
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();

    let mut refusals = Vec::new();
    if let Some(why) = mismatch(&cred, &server) {
        refusals.push(why);
    }
    let needs = [Need::cluster("create", GROUP, CSRS, "submit the request"), Need::cluster("get", GROUP, CSRS, "wait for the certificate")];
    let missing = rbac::missing(&client, &needs).await.map_err(Error::kube)?;
    let forbidden = (!missing.is_empty()).then(|| rbac::refusal(&missing, "kubeconfig renew"));
    if let Some(err) = &forbidden {
        refusals.push(err.to_string());
    }
    let approval = approval(&client, opts.approve).await?;

    let mut report = Report {
        dry_run: opts.dry_run,
        context: cred.context.clone(),
        user: cred.user.clone(),
        kubeconfig: cred.file.clone(),
        stored: if cred.cert_at == Location::Inline { "inline" } else { "files" },
        identity: server.clone(),
        current: (&cred.cert).into(),
        key_type: kind.to_string(),
        signer: csr::SIGNER,
        expiration_seconds: opts.expiration_seconds,
        approval,
        csr: None,
        renewed: None,
        verified: None,
        changes: write::plan(&cred, &opts.target, &stamp),
        refusals,
        issued_after_seconds: None,
    };
    if opts.dry_run {
        let outcome = if report.refusals.is_empty() { Outcome::Ok } else { Outcome::Warning };
        let text = plan_text(&report, &opts);
        return Ok(Ran { report, text, outcome });
    }
    // The identity comes first: with another identity the permissions do not matter.
    if let Some(why) = mismatch(&cred, &server) {
        return Err(Error::Invalid(why));
    }
    if let Some(err) = forbidden {
        return Err(err);
    }
    if opts.approve && report.approval.by != "self" {
        progress(&format!(
            "--approve: you may not approve this CSR (missing: {}); an administrator must approve it",
            report.approval.missing.join("; ")
        ));
    }

    let renewed = renew(&opts, ctx, &client, &cred, &server, kind, &stamp, &mut report).await?;
    if renewed.not_after < cred.cert.not_after {
        progress(&format!(
            "note: the new certificate expires at {} (the old one at {}): the signer or --duration gave it a shorter life",
            renewed.not_after, cred.cert.not_after
        ));
    }
    report.renewed = Some((&renewed).into());
    let text = done_text(&report);
    Ok(Ran { report, text, outcome: Outcome::Ok })
}

/// Why the current certificate must not be renewed as the server's identity.
fn mismatch(cred: &Credential, server: &Identity) -> Option<String> {
    let cert = credential::cert_identity(&cred.cert);
    if cert.same_as_server(server) {
        return None;
    }
    let hint = match &cred.impersonate {
        Some(as_user) => format!(" (the kubeconfig impersonates {as_user:?} with `as:`)"),
        None => " (another credential of the context, a proxy or an authenticating front end decides who you are)".into(),
    };
    Some(format!(
        "the client certificate of context {:?} names {cert}, but the API server authenticates this context as {server}{hint}: \
         refusing to request a certificate for an identity that is not the current one",
        cred.context
    ))
}

/// `--approve`: whether the user may approve for the signer (the approval
/// subresource, and `approve` on the signer or on `kubernetes.io/*`).
async fn approval(client: &kube::Client, approve: bool) -> Result<Approval> {
    if !approve {
        return Ok(Approval { by: "administrator", missing: Vec::new() });
    }
    let needs = [
        Need::cluster("update", GROUP, CSRS, "approve the CSR").on_subresource("approval"),
        Need::cluster("approve", GROUP, "signers", "approve for the signer").named(csr::SIGNER),
        Need::cluster("approve", GROUP, "signers", "approve for every kubernetes.io signer").named("kubernetes.io/*"),
    ];
    let denied = rbac::missing(client, &needs).await.map_err(Error::kube)?;
    let is_denied = |n: &Need| denied.contains(n);
    let mut missing = Vec::new();
    if is_denied(&needs[0]) {
        missing.push(format!("{} ({})", needs[0], needs[0].can_i()));
    }
    if is_denied(&needs[1]) && is_denied(&needs[2]) {
        missing.push(format!("{} ({})", needs[1], needs[1].can_i()));
    }
    Ok(Approval { by: if missing.is_empty() { "self" } else { "administrator" }, missing })
}

#[allow(clippy::too_many_arguments)]
async fn renew(
    opts: &Options,
    ctx: &Ctx,
    client: &kube::Client,
    cred: &Credential,
    server: &Identity,
    kind: KeyKind,
    stamp: &str,
    report: &mut Report,
) -> Result<CertInfo> {
    let api_err = async |e: kube::Error| ctx.api_error(e).await;
    progress(&format!("generating a new key ({kind}) and a request for {server}"));
    let (key, pem) = csr::request(server, kind).map_err(Error::Invalid)?;
    let pending = write::pending_key_path(cred, &opts.target, stamp);
    write::write_pending_key(&pending, &key.to_pem())?;
    let api: Api<CertificateSigningRequest> = Api::all(client.clone());
    let created = match api.create(&PostParams::default(), &csr::object(&server.user, &pem, opts.expiration_seconds)).await {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            return Err(api_err(e).await);
        }
    };
    let name = created.metadata.name.clone().unwrap_or_default();
    let started = tokio::time::Instant::now();
    report.csr = Some(name.clone());
    progress(&format!("created CertificateSigningRequest {name} (signer {})", csr::SIGNER));
    let finish = by_hand(&name, cred, &pending);

    // Listening before the line that invites an administrator (and Ctrl-C).
    let interrupted = crate::interrupt::first();
    if report.approval.by == "self" {
        approve(&api, &name, &pem, server).await.map_err(|e| with_hint(e, &finish))?;
        progress(&format!("approved {name}"));
    } else {
        progress(&format!(
            "waiting up to {} for an administrator to approve it:\n  kubectl certificate approve {name}",
            human_duration(jiff::SignedDuration::try_from(opts.timeout).unwrap_or_default())
        ));
    }
    // Ctrl-C while waiting keeps the key and the CSR, and says how to finish.
    let issued = tokio::select! {
        r = wait_issued(&api, &name, opts.timeout) => r,
        signal = interrupted => Err(Error::Interrupted(format!("{signal} while waiting for CSR {name}{finish}"))),
    };
    let cert_pem = match issued {
        Ok(pem) => pem,
        Err(e @ (Error::Timeout { .. } | Error::Interrupted(_))) => return Err(with_hint(e, &finish)),
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            return Err(e);
        }
    };
    report.issued_after_seconds = Some((started.elapsed().as_millis() as f64 / 1000.0 * 10.0).round() / 10.0);
    let info = csr::check_issued(&cert_pem, server, &key).map_err(|e| Error::Verification(format!("CSR {name}: {e}")))?;
    let cert_pem = String::from_utf8(cert_pem).map_err(|_| Error::Verification(format!("CSR {name}: the certificate is not PEM text")))?;
    let issued = Issued::new(cert_pem, key.to_pem());

    let seen = prove(ctx, &issued).await.map_err(|e| with_hint(e, &finish))?;
    if seen != *server {
        return Err(Error::Verification(format!(
            "kubectl auth whoami with the new certificate returns {seen}, not {server}; the kubeconfig was not changed{finish}"
        )));
    }
    progress(&format!("verified: the new certificate authenticates as {seen}"));
    report.verified = Some(seen);
    let merged = ctx.kubeconfig()?;
    report.changes = write::write(cred, merged, &opts.target, stamp, &issued).map_err(|e| with_hint(e, &finish))?;
    check_written(cred, &opts.target, &issued)?;
    let _ = std::fs::remove_file(&pending);
    drop(key);
    Ok(info)
}

/// How to finish a renewal by hand when this run stops after the CSR exists.
fn by_hand(name: &str, cred: &Credential, pending: &std::path::Path) -> String {
    format!(
        "; the new key is in {} (0600). To finish by hand: kubectl certificate approve {name}; \
         kubectl get csr {name} -o jsonpath='{{.status.certificate}}' | base64 -d > {name}.crt; \
         kubectl config set-credentials {} --client-certificate={name}.crt --client-key={} --embed-certs",
        pending.display(),
        cred.user,
        pending.display()
    )
}

fn with_hint(err: Error, hint: &str) -> Error {
    match err {
        Error::Timeout { after, waiting_for } => Error::Timeout { after, waiting_for: format!("{waiting_for}{hint}") },
        // Already carries the hint.
        e @ Error::Interrupted(_) => e,
        other => Error::Invalid(format!("{}{hint}", crate::error::flatten(&other))),
    }
}

/// Approves `name` after checking it is this run's request by this
/// identity; the PUT carries the resourceVersion that was checked, so an
/// object replaced meanwhile is a conflict, not an approval.
async fn approve(api: &Api<CertificateSigningRequest>, name: &str, pem: &str, identity: &Identity) -> Result<()> {
    let want = csr::Expected { pem, identity };
    for _ in 0..3 {
        let mut obj = api.get(name).await.map_err(Error::kube)?;
        csr::check_object(&obj, &want).map_err(|why| Error::Invalid(format!("refusing to approve: {why}")))?;
        let status = obj.status.get_or_insert_with(Default::default);
        status.conditions.get_or_insert_with(Vec::new).push(csr::approved_condition());
        match api.replace_subresource("approval", name, &PostParams::default(), &obj).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                let e = Error::kube(e);
                if !e.is_conflict() {
                    return Err(e);
                }
            }
        }
    }
    Err(Error::Invalid(format!("CSR {name} kept changing while being approved")))
}

/// Polls the CSR until the signer issues (or it is denied, fails, vanishes).
async fn wait_issued(api: &Api<CertificateSigningRequest>, name: &str, timeout: Duration) -> Result<Vec<u8>> {
    wait::poll(&format!("CSR {name}"), timeout, Duration::from_secs(2), |_| {}, || async {
        let obj = api.get(name).await.map_err(Error::kube)?;
        Ok(match csr::state(&obj) {
            State::Issued(pem) => Poll::Done(pem),
            State::Pending => Poll::Waiting("not approved yet".into()),
            State::Approved => Poll::Waiting("approved; the signer has not issued the certificate (does this cluster sign kubernetes.io/kube-apiserver-client CSRs?)".into()),
            State::Refused { condition, reason, message } => {
                return Err(Error::Invalid(format!(
                    "CSR {name} was {}: reason {reason:?}, message {message:?}; the kubeconfig was not changed",
                    if condition == "Denied" { "denied" } else { "not signed (Failed)" }
                )));
            }
        })
    })
    .await
}

/// `kubectl auth whoami` with the new certificate alone (no token, no
/// plugin, no impersonation), over the context's connection settings.
async fn prove(ctx: &Ctx, issued: &Issued) -> Result<Identity> {
    let mut config = ctx.config().await?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    config.auth_info = kube::config::AuthInfo {
        client_certificate_data: Some(b64(&issued.cert_pem)),
        client_key_data: Some(b64(write::key_pem(issued)).into()),
        ..Default::default()
    };
    let client = kube::Client::try_from(config).map_err(|e| Error::Verification(format!("a client with the new certificate: {e}")))?;
    match identity::whoami(&client).await {
        Ok(id) => Ok(id),
        Err(e) => Err(Error::Verification(format!("kubectl auth whoami with the new certificate failed: {}", ctx.api_error(e).await))),
    }
}

/// Reads back what was written: the certificate there is the new one.
fn check_written(cred: &Credential, target: &Target, issued: &Issued) -> Result<()> {
    let path = match target {
        Target::Out { path, .. } => path.clone(),
        Target::InPlace => cred.file.clone(),
    };
    let kc = kube::config::Kubeconfig::read_from(&path).map_err(|e| Error::Verification(format!("{}: {}", path.display(), e)))?;
    let again = credential::find(&kc, &cred.context, std::slice::from_ref(&path))?;
    if again.cert_pem != issued.cert_pem.as_bytes() {
        return Err(Error::Verification(format!("{} does not hold the new certificate after the write", path.display())));
    }
    Ok(())
}

fn progress(line: &str) {
    eprintln!("{}", clean_line(line));
}

fn when(t: jiff::Timestamp) -> String {
    let left = jiff::Timestamp::now().duration_until(t);
    format!(
        "{} ({})",
        t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        if left.is_negative() { "expired".into() } else { format!("in {}", human_duration(left)) }
    )
}

fn lifetime(opts: &Options) -> String {
    match opts.expiration_seconds {
        Some(s) => format!("{} (expirationSeconds {s})", human_duration(jiff::SignedDuration::from_secs(i64::from(s)))),
        None => "the signer's default".into(),
    }
}

/// The dry run's plan.
fn plan_text(r: &Report, opts: &Options) -> String {
    let mut t =
        format!("Plan: renew the client certificate of context {:?} (user {:?} in {})\n", r.context, r.user, r.kubeconfig.display());
    t += &format!("  identity:  {} (the server's view; the certificate names the same)\n", r.identity);
    t += &format!("  current:   serial {}, expires {}, {}\n", r.current.serial, when(r.current.not_after), r.current.key_type);
    t += &format!("  request:   a new {} key; CSR to {}, lifetime {}\n", r.key_type, r.signer, lifetime(opts));
    t += &match (opts.approve, r.approval.by) {
        (true, "self") => "  approval:  by you (--approve; allowed), after checking the CSR is this run's\n".to_string(),
        (true, _) => format!(
            "  approval:  by an administrator (--approve, but you lack: {}); waits up to {}\n",
            r.approval.missing.join("; "),
            human_duration(jiff::SignedDuration::try_from(opts.timeout).unwrap_or_default())
        ),
        _ => format!(
            "  approval:  by an administrator (kubectl certificate approve <name>); waits up to {}\n",
            human_duration(jiff::SignedDuration::try_from(opts.timeout).unwrap_or_default())
        ),
    };
    t += "  check:     kubectl auth whoami with the new certificate returns the same user and groups\n";
    for c in &r.changes {
        match &c.backup {
            Some(b) => t += &format!("  writes:    {} ({}; backup {})\n", c.path.display(), c.what, b.display()),
            None => t += &format!("  writes:    {} (new {})\n", c.path.display(), c.what),
        }
    }
    for why in &r.refusals {
        t += &format!("  REFUSES:   {why}\n");
    }
    t += "Dry run: no CSR was created and no file was written; --dry-run=false renews.\n";
    clean_line(&t).into_owned()
}

fn done_text(r: &Report) -> String {
    let mut t = format!("Renewed the client certificate of context {:?} (user {:?})\n", r.context, r.user);
    if let Some(name) = &r.csr {
        let by = if r.approval.by == "self" { "approved by you" } else { "approved by an administrator" };
        t += &format!("  csr:       {name} ({by})\n");
    }
    t += &format!("  old:       serial {}, expires {}\n", r.current.serial, when(r.current.not_after));
    if let Some(n) = &r.renewed {
        t += &format!("  new:       serial {}, expires {}, {}\n", n.serial, when(n.not_after), n.key_type);
    }
    if let Some(v) = &r.verified {
        t += &format!("  verified:  kubectl auth whoami with the new certificate: {v}\n");
    }
    for c in &r.changes {
        match &c.backup {
            Some(b) => t += &format!("  wrote:     {} ({}; backup {})\n", c.path.display(), c.what, b.display()),
            None => t += &format!("  wrote:     {} ({})\n", c.path.display(), c.what),
        }
    }
    clean_line(&t).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml};

    fn cred(dir: &std::path::Path, cn: &str, impersonate: bool) -> Credential {
        let root = ca("kubernetes");
        let mut p = kubectl_pki_testkit::params_for(cn, false);
        p.distinguished_name.push(rcgen::DnType::OrganizationName, "devs");
        let leaf = kubectl_pki_testkit::with_params(p, Some(&root));
        let mut yaml = kubeconfig_yaml(&root.pem, &leaf.pem);
        if impersonate {
            yaml.push_str("    as: bob\n");
        }
        let path = dir.join("config");
        std::fs::write(&path, yaml).unwrap();
        let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
        credential::find(&kc, "admin@tenant", &[path]).unwrap()
    }

    fn id(user: &str, groups: &[&str]) -> Identity {
        Identity::new(user, groups.iter().map(|g| g.to_string()))
    }

    #[test]
    fn a_certificate_that_is_not_the_servers_identity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = cred(dir.path(), "alice", false);
        assert_eq!(mismatch(&c, &id("alice", &["devs", "system:authenticated"])), None);
        let why = mismatch(&c, &id("alice", &["devs", "system:masters", "system:authenticated"])).unwrap();
        assert!(why.contains("names user \"alice\" groups \"devs\""), "{why}");
        assert!(why.contains("as user \"alice\" groups \"devs,system:authenticated,system:masters\""), "{why}");
        let c = cred(dir.path(), "alice", true);
        let why = mismatch(&c, &id("bob", &["system:authenticated"])).unwrap();
        assert!(why.contains("impersonates \"bob\""), "{why}");
    }

    #[test]
    fn by_hand_names_the_csr_the_key_and_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let c = cred(dir.path(), "alice", false);
        let hint = by_hand("kubectl-pki-alice-x1", &c, std::path::Path::new("/k/config.renew-S.key"));
        assert!(hint.contains("kubectl certificate approve kubectl-pki-alice-x1;"), "{hint}");
        assert!(hint.contains("--client-key=/k/config.renew-S.key --embed-certs"), "{hint}");
        assert!(hint.contains("set-credentials admin "), "{hint}");
        let e = with_hint(Error::Timeout { after: "10m".into(), waiting_for: "CSR x: not approved yet".into() }, &hint);
        assert!(matches!(&e, Error::Timeout { waiting_for, .. } if waiting_for.starts_with("CSR x: not approved yet; the new key")));
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn texts_escape_what_the_cluster_and_files_say() {
        let dir = tempfile::tempdir().unwrap();
        let c = cred(dir.path(), "alice", false);
        let report = Report {
            dry_run: true,
            context: "ctx\u{1b}[2J".into(),
            user: c.user.clone(),
            kubeconfig: c.file.clone(),
            stored: "inline",
            identity: id("alice\u{202e}", &["devs"]),
            current: (&c.cert).into(),
            key_type: "ECDSA P-256".into(),
            signer: csr::SIGNER,
            expiration_seconds: Some(3600),
            approval: Approval { by: "administrator", missing: vec![] },
            csr: Some("n".into()),
            renewed: Some((&c.cert).into()),
            verified: Some(id("alice", &["devs"])),
            changes: write::plan(&c, &Target::InPlace, "S"),
            refusals: vec!["no\u{7}".into()],
            issued_after_seconds: None,
        };
        let opts = Options {
            key_type: None,
            expiration_seconds: Some(3600),
            approve: false,
            timeout: Duration::from_secs(600),
            target: Target::InPlace,
            dry_run: true,
        };
        for text in [plan_text(&report, &opts), done_text(&report)] {
            assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}') && !text.contains('\u{7}'), "{text}");
        }
        let plan = plan_text(&report, &opts);
        assert!(plan.contains("lifetime 60m (expirationSeconds 3600)"), "{plan}");
        assert!(plan.contains("backup ") && plan.contains("REFUSES:"), "{plan}");
        assert!(plan.contains("Dry run: no CSR was created"), "{plan}");
    }
}
