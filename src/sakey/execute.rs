//! Running a `rotate-sa-key` plan, step by step ([`Step`]). Safety rules enforced here:
//! - nothing is written before every permission is confirmed and the tenant's Lease (the one
//!   rotate-ca and renew take) is held, and never while the plan has blockers;
//! - a 0600 backup of `-sa-certificate` is on disk before the first change;
//! - a token is minted from the live tenant API BEFORE the change: a tenant API that cannot
//!   be checked is not changed;
//! - the new key's kid is recorded in the Lease before it is written, and the write carries
//!   the resourceVersion it read: a re-run tells from the cluster whether the write happened
//!   (the signing key is the recorded new one, or still the old one, or neither: refused);
//! - every write checks the Lease first, and waits stop as soon as it is lost; Ctrl-C releases
//!   the Lease and says how to continue.
//!
//! No clap types; no printing except through [`Display`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::inventory::Inventory;
use super::keys::{PublicKey, SigningKey, finished_bundle, public_keys, staged_bundle};
use super::plan::{Options, Plan};
use super::report::{Report, RunResult, Verification};
use super::state::{Mode, SaKeyState, Step};
use super::tenant_api::{self, Review, TenantApi, Token};
use super::token;
use crate::error::{Error, Result};
use crate::kamaji::endpoint::Dial;
use crate::lease_state;
use crate::lock::{self, Lock};
use crate::rotate::inventory::lease_name;
use crate::steps::lock::{Take, take};
use crate::steps::{self, Display, Outcome, PhaseLine, RunStep, Skip, fault};
use crate::wait::{self, Poll};

/// Flags of the real run.
pub struct Settings {
    pub opts: Options,
    pub timeout: Duration,
    pub request_timeout: Option<Duration>,
    /// `--tenant-endpoint`: where the tenant API is dialled instead of its kubeconfig's server.
    pub tenant_endpoint: Option<Dial>,
    pub backup_dir: PathBuf,
    pub force_unlock: bool,
    pub display: Display,
}

struct Run<'a> {
    client: kube::Client,
    plan: &'a Plan,
    inv: &'a Inventory,
    s: &'a Settings,
    report: &'a mut Report,
    lock: &'a Lock,
    previous: Option<SaKeyState>,
    state: Option<SaKeyState>,
    tenant: Option<TenantApi>,
    before: Option<Token>,
    waited: Duration,
}

impl Run<'_> {
    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.plan.namespace)
    }

    async fn record(&mut self, step: Step) -> Result<()> {
        if let Some(state) = &mut self.state {
            state.done = state.done.max(step);
            self.lock.set_annotations(&state.to_annotations()).await?;
        }
        Ok(())
    }

    fn state(&self) -> Result<&SaKeyState> {
        self.state.as_ref().ok_or_else(|| Error::Invalid("internal: no run state after the backup".into()))
    }

    async fn tenant(&mut self) -> Result<TenantApi> {
        if let Some(t) = &self.tenant {
            return Ok(t.clone());
        }
        let conf =
            self.inv.admin_conf.as_deref().ok_or_else(|| Error::Invalid("the tenant's admin kubeconfig has no admin.conf".into()))?;
        let t = tenant_api::connect(conf, self.s.request_timeout, self.s.tenant_endpoint.as_ref()).await?;
        self.tenant = Some(t.clone());
        Ok(t)
    }

    /// The keys of `-sa-certificate` as they are now.
    async fn current(&self) -> Result<(Secret, Vec<PublicKey>, SigningKey)> {
        let name = &self.plan.secret;
        let secret = self.secrets().get(name).await.map_err(Error::kube)?;
        let get = |k: &str| secret.data.as_ref().and_then(|d| d.get(k)).map(|v| v.0.clone()).unwrap_or_default();
        let public = public_keys(&get("sa.pub")).map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
        let signing = SigningKey::read(&get("sa.key")).map_err(|e| Error::Invalid(format!("{name} sa.key: {e}")))?;
        Ok((secret, public, signing))
    }
}

/// Runs every step, filling `report`. On failure the Lease is released; the recorded progress
/// stays for the re-run.
pub async fn execute(client: &kube::Client, inv: &Inventory, plan: &Plan, s: &Settings, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    let (ns, lease) = (plan.namespace.as_str(), lease_name(&plan.tenant));
    let (lock, previous) = lock_step(client, plan, s, report).await?;
    let mut run = Run {
        client: client.clone(),
        plan,
        inv,
        s,
        report,
        lock: &lock,
        previous,
        state: None,
        tenant: None,
        before: None,
        waited: Duration::ZERO,
    };
    let result = steps::interruptible(all_steps(&mut run), "rotate-sa-key").await;
    let waited = run.waited;
    if result.is_ok() {
        report.result = if plan.mode == Mode::Stage { RunResult::Staged } else { RunResult::Finished };
    }
    let again = if plan.mode == Mode::Finish { " (with --finish)" } else { "" };
    let hint =
        format!("rotate-sa-key is not finished: re-run the same command{again} to continue (progress is kept in Lease {ns}/{lease})");
    steps::conclude(result, lock, started, waited, hint, &s.display, report).await
}

fn start(s: &Settings, step: Step) -> PhaseLine {
    s.display.start(step, step.doing())
}

/// Step 1: permissions, blockers, the Lease; nothing is written before. Never while the
/// Lease records another unfinished run (a rotation, a renewal).
async fn lock_step(client: &kube::Client, plan: &Plan, s: &Settings, report: &mut Report) -> Result<(Lock, Option<SaKeyState>)> {
    let (ns, lease) = (plan.namespace.as_str(), lease_name(&plan.tenant));
    let needs = super::inventory::needs(ns);
    let t = Take {
        namespace: ns,
        lease: &lease,
        needs: &needs,
        blockers: &plan.blockers,
        command: "rotate-sa-key",
        refusing: "change the service-account key",
        force_unlock: s.force_unlock,
    };
    take(client, &t, Step::Lock, &s.display, report, |annotations| {
        let other = [lease_state::ROTATION, lease_state::RENEWAL].into_iter().any(|p| lease_state::unfinished(p, annotations).is_some());
        let previous = SaKeyState::from_annotations(annotations).filter(|p| p.is_unfinished() && p.mode == plan.mode);
        if !other && previous.as_ref().map(|p| p.started_at) == plan.resume.as_ref().map(|r| r.started_at) {
            Ok(previous)
        } else {
            Err("the tenant's Lease changed while planning (another run started or finished); run the command again")
        }
    })
    .await
}

async fn all_steps(run: &mut Run<'_>) -> Result<()> {
    for step in [Step::Backup, Step::Probe, Step::Write, Step::Pods, Step::Verify] {
        run.lock.check()?;
        let mut line = start(run.s, step);
        let outcome = match step {
            Step::Backup => backup_step(run, &line).await,
            Step::Probe => probe_step(run, &mut line).await,
            Step::Write => write_step(run, &mut line).await,
            Step::Pods => pods_step(run, &mut line).await,
            _ => verify_step(run, &mut line).await,
        };
        steps::finish(step, line, outcome.as_ref(), run.report);
        outcome?;
        fault::after(step.name());
    }
    Ok(())
}

/// Step 2: `-sa-certificate` backed up (0600), and the run's state recorded in the Lease.
async fn backup_step(run: &mut Run<'_>, line: &PhaseLine) -> Result<Outcome> {
    let plan = run.plan;
    let (secret, _, signing) = run.current().await?;
    let origin = crate::rotate::backup::Origin {
        namespace: plan.namespace.clone(),
        tenant: plan.tenant.clone(),
        cluster: crate::rotate::phases::backup::recorded_identity(&run.client, line).await,
        taken_before: "rotate-sa-key".into(),
    };
    let path = crate::rotate::backup::write_recorded(&run.s.backup_dir, &origin, std::slice::from_ref(&secret), Timestamp::now())?;
    let path = std::path::absolute(&path).unwrap_or(path);
    line.note(&format!(
        "backup: {} (mode 0600, holds the private key); restore with: kubectl pki restore {}",
        path.display(),
        path.display()
    ));
    let state = match run.previous.clone() {
        Some(mut p) => {
            line.note(&format!("continuing the {} begun at {} (it reached {})", p.mode, p.started_at, p.done));
            p.done = p.done.max(Step::Backup);
            p
        }
        None => SaKeyState {
            mode: plan.mode,
            done: Step::Backup,
            started_at: Timestamp::now(),
            old_kid: signing.public.kid.clone(),
            // Finish keeps the signing key; a stage records its new key before writing it.
            new_kid: if plan.mode == Mode::Finish { signing.public.kid.clone() } else { String::new() },
            staged_at: if plan.mode == Mode::Finish { plan.staged_at } else { None },
            backup: Some(format!("{}:{}", lock::hostname(), path.display())),
            tenant_uid: run.inv.tenant_uid.clone(),
            completed_at: None,
        },
    };
    run.report.old_signing_kid = Some(state.old_kid.clone());
    run.state = Some(state);
    run.record(Step::Backup).await?;
    run.report.backup = Some(path.display().to_string());
    Ok(Outcome::Done("1 secret backed up".into()))
}

/// Whether the cluster already holds what this run writes (a resumed run).
fn written_already(mode: Mode, state: &SaKeyState, public: &[PublicKey], signing: &SigningKey) -> Result<bool> {
    let kid = &signing.public.kid;
    match mode {
        Mode::Stage if !state.new_kid.is_empty() && kid == &state.new_kid && public.first().map(|p| &p.kid) == Some(kid) => Ok(true),
        Mode::Finish if public.len() == 1 && public[0].kid == *kid && *kid == state.old_kid => Ok(true),
        _ if *kid == state.old_kid => Ok(false),
        _ => Err(Error::Invalid(format!(
            "sa.key holds neither the key before this run (kid {}) nor the one it wrote (kid {}): someone else changed it; nothing was written (check it, then start again)",
            state.old_kid,
            if state.new_kid.is_empty() { "none yet" } else { &state.new_kid }
        ))),
    }
}

/// Step 3: a token minted before the change (skipped when the change is in the cluster already).
async fn probe_step(run: &mut Run<'_>, line: &mut PhaseLine) -> Result<Outcome> {
    let (_, public, signing) = run.current().await?;
    if written_already(run.plan.mode, run.state()?, &public, &signing)? {
        return Ok(Outcome::Skipped(Skip::ChangeInCluster));
    }
    let tenant = run.tenant().await?;
    line.update(&format!("minting a token of {}/{} at {}", tenant_api::PROBE_NAMESPACE, tenant_api::PROBE_ACCOUNT, tenant.url));
    tenant.ensure_probe_account().await?;
    let token = tenant.mint().await?;
    let review = tenant.review(&token).await?;
    if !matches!(review, Review::Authenticated { .. }) {
        return Err(Error::Invalid(format!(
            "the tenant API at {} does not authenticate the token it just issued ({review:?}): nothing was changed",
            tenant.url
        )));
    }
    let kid = token::header(token.expose()).ok().and_then(|h| h.kid).unwrap_or_default();
    run.before = Some(token);
    Ok(Outcome::Done(format!("a token of {}/{} signed by kid {kid} authenticates", tenant_api::PROBE_NAMESPACE, tenant_api::PROBE_ACCOUNT)))
}

/// Step 4: `sa.pub` (and, staging, `sa.key`) written, in the version read.
async fn write_step(run: &mut Run<'_>, line: &mut PhaseLine) -> Result<Outcome> {
    let mode = run.plan.mode;
    let (mut secret, public, signing) = run.current().await?;
    if written_already(mode, run.state()?, &public, &signing)? {
        run.report.new_signing_kid = Some(signing.public.kid.clone());
        run.report.kids_after = public.iter().map(|k| k.kid.clone()).collect();
        run.record(Step::Write).await?;
        return Ok(Outcome::Skipped(Skip::WrittenBefore));
    }
    let (bundle, new_key) = match mode {
        Mode::Stage => {
            let new = SigningKey::generate_like(&signing).map_err(Error::Invalid)?;
            // Recorded before the write: a re-run knows the key it finds is this run's.
            if let Some(state) = &mut run.state {
                state.new_kid = new.public.kid.clone();
            }
            run.record(Step::Backup).await?;
            (staged_bundle(&new.public, &public, &signing.public), Some(new))
        }
        Mode::Finish => (finished_bundle(&signing.public), None),
    };
    let data = secret.data.get_or_insert_with(Default::default);
    data.insert("sa.pub".into(), ByteString(bundle.clone().into_bytes()));
    if let Some(new) = &new_key {
        data.insert("sa.key".into(), ByteString(new.private_pem().as_bytes().to_vec()));
    }
    run.lock.check()?;
    line.update(&format!("writing {}", run.plan.secret));
    // replace() carries the resourceVersion read: a concurrent change fails it (409).
    run.secrets().replace(&run.plan.secret, &PostParams::default(), &secret).await.map_err(Error::kube)?;
    let kids: Vec<String> = public_keys(bundle.as_bytes()).map_err(Error::Invalid)?.into_iter().map(|k| k.kid).collect();
    let signing_kid = new_key.as_ref().map_or_else(|| signing.public.kid.clone(), |k| k.public.kid.clone());
    if mode == Mode::Stage
        && let Some(state) = &mut run.state
    {
        state.staged_at = Some(Timestamp::now());
        run.report.staged_at = state.staged_at;
    }
    run.record(Step::Write).await?;
    run.report.new_signing_kid = Some(signing_kid.clone());
    run.report.kids_after = kids.clone();
    Ok(Outcome::Done(match mode {
        Mode::Stage => format!("sa.key: new {} key (kid {signing_kid}); sa.pub: {} key(s), the new one first", signing.kind, kids.len()),
        Mode::Finish => format!("sa.pub: the signing key alone (kid {signing_kid}); {} key(s) removed", public.len().saturating_sub(1)),
    }))
}

/// Step 5: the tenant control-plane pods replaced one at a time.
async fn pods_step(run: &mut Run<'_>, line: &mut PhaseLine) -> Result<Outcome> {
    if run.previous.as_ref().is_some_and(|p| p.done >= Step::Pods) {
        return Ok(Outcome::Skipped(Skip::DoneBefore));
    }
    let Some((replicas, Some(selector))) = run.inv.deployment.clone() else {
        return Err(Error::Invalid(format!("the tenant Deployment {}/{} has no pod selector", run.plan.namespace, run.plan.tenant)));
    };
    let (deleted, took) =
        super::pods::replace_one_by_one(&run.client, &run.plan.namespace, &selector, replicas, run.lock, run.s.timeout, |m| line.update(m))
            .await?;
    run.waited += took;
    run.report.pods_replaced.extend(deleted.iter().cloned());
    run.record(Step::Pods).await?;
    Ok(Outcome::Done(format!("{} pod(s) replaced one at a time, each replacement Ready", deleted.len())))
}

/// Step 6: the live tenant API verifies with exactly the keys written and signs with the
/// signing key; the token of before still authenticates; Kamaji kept the secret; the TCP is Ready.
async fn verify_step(run: &mut Run<'_>, line: &mut PhaseLine) -> Result<Outcome> {
    let (_, public, signing) = run.current().await?;
    let state = run.state()?.clone();
    let want_signing = state.new_kid.clone();
    if signing.public.kid != want_signing {
        return Err(Error::Verification(format!(
            "{} signs with kid {}, not the kid {want_signing} this run wrote: was it regenerated?",
            run.plan.secret, signing.public.kid
        )));
    }
    let expected: BTreeSet<String> = public.iter().map(|k| k.kid.clone()).collect();
    let tenant = run.tenant().await?;
    let before = run.before.clone();
    let held = run.lock.held();
    let signing_public = signing.public.clone();
    let what = format!("the tenant API at {} to verify with kid(s) {} and sign with {want_signing}", tenant.url, join(&expected));
    let (mut v, took) = wait::poll_timed(
        &what,
        run.s.timeout,
        Duration::from_secs(2),
        |m| line.update(m),
        || {
            let (tenant, before, held, expected, signing_public) =
                (tenant.clone(), before.clone(), held.clone(), expected.clone(), signing_public.clone());
            async move {
                held.check()?;
                let kids = match tenant.verifying_kids().await {
                    Ok(k) => k,
                    Err(e) => return Ok(Poll::Waiting(format!("reading its JWKS: {e}"))),
                };
                let got: BTreeSet<String> = kids.iter().cloned().collect();
                if got != expected {
                    return Ok(Poll::Waiting(format!("it verifies with kid(s) {} (its pods have not all restarted?)", join(&got))));
                }
                let after = match tenant.mint().await {
                    Ok(t) => t,
                    Err(e) => return Ok(Poll::Waiting(format!("minting a token: {e}"))),
                };
                let kid = token::header(after.expose()).ok().and_then(|h| h.kid);
                let signed = token::signed_by(after.expose(), &signing_public).unwrap_or(false);
                if kid.as_deref() != Some(signing_public.kid.as_str()) || !signed {
                    return Ok(Poll::Waiting(format!("a new token is signed by kid {kid:?} (signature by the new key: {signed})")));
                }
                // A replica restarting between two requests is a reason to wait, not to fail.
                let review_after = match tenant.review(&after).await {
                    Ok(r) => r,
                    Err(e) => return Ok(Poll::Waiting(format!("TokenReview: {e}"))),
                };
                let review_before = match &before {
                    Some(t) => match tenant.review(t).await {
                        Ok(r) => Some(r),
                        Err(e) => return Ok(Poll::Waiting(format!("TokenReview: {e}"))),
                    },
                    None => None,
                };
                let ok = |r: &Review| matches!(r, Review::Authenticated { .. });
                if !ok(&review_after) || review_before.as_ref().is_some_and(|r| !ok(r)) {
                    return Ok(Poll::Waiting(format!("TokenReview: new token {review_after:?}, token of before {review_before:?}")));
                }
                Ok(Poll::Done(Verification {
                    endpoint: Some(tenant.url.clone()),
                    verifying_kids: kids,
                    token_before: review_before,
                    token_after_kid: kid,
                    token_after_signed_by_signing_key: Some(signed),
                    token_after: Some(review_after),
                    secret_kept: None,
                    tcp_status: None,
                }))
            }
        },
    )
    .await?;
    run.waited += took;
    // After Kamaji's reconcile of the written secret (it watches it): still the keys written.
    let (_, public_now, signing_now) = run.current().await?;
    let kept = signing_now.public.kid == want_signing && public_now.iter().map(|k| k.kid.clone()).collect::<BTreeSet<_>>() == expected;
    v.secret_kept = Some(kept);
    if !kept {
        return Err(Error::Verification(format!("{} changed after the write (Kamaji regenerated it?)", run.plan.secret)));
    }
    let (ns, tenant_name) = (run.plan.namespace.clone(), run.plan.tenant.clone());
    let client = run.client.clone();
    let (status, took) = wait::poll_timed(
        "the TenantControlPlane to be Ready",
        run.s.timeout,
        Duration::from_secs(1),
        |m| line.update(m),
        || {
            let (client, ns, tenant_name) = (client.clone(), ns.clone(), tenant_name.clone());
            async move {
                let t = crate::kamaji::tenant::resolve(&client, &ns, &tenant_name).await?;
                Ok(match t.status.as_deref() {
                    Some("Ready") => Poll::Done(t.status),
                    other => Poll::Waiting(format!("it is {}", other.unwrap_or("without a status"))),
                })
            }
        },
    )
    .await?;
    run.waited += took;
    v.tcp_status = status;
    let before_word = match &v.token_before {
        Some(_) => "the token of before still authenticates",
        None => "the token of before was minted by the interrupted run (its keys are in the JWKS)",
    };
    let detail = match run.plan.mode {
        Mode::Stage => format!(
            "{} verifies with {} key(s), a new token is signed by the new key (kid {want_signing}), {before_word}; TCP Ready",
            v.endpoint.as_deref().unwrap_or("?"),
            v.verifying_kids.len()
        ),
        Mode::Finish => format!(
            "{} verifies with the signing key alone (kid {want_signing}): tokens of the removed keys no longer authenticate; a new token does; TCP Ready",
            v.endpoint.as_deref().unwrap_or("?")
        ),
    };
    run.report.verification = v;
    if let Some(state) = &mut run.state {
        state.completed_at = Some(Timestamp::now());
    }
    run.record(Step::Verify).await?;
    Ok(Outcome::Done(detail))
}

fn join(kids: &BTreeSet<String>) -> String {
    kids.iter().cloned().collect::<Vec<_>>().join(", ")
}
