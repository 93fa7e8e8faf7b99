//! Step 4: Kamaji is asked to renew each selected secret: the rotate annotation
//! (`certs.kamaji.clastix.io/rotate=""`, which Kamaji sets to an RFC 3339 timestamp once
//! done) or, for a Kamaji without it, a deletion of that leaf secret, only while it holds
//! what the backup holds and with a uid and resourceVersion precondition. A secret renewed
//! after the run began (an interrupted run's) is left alone. The CA and the
//! service-account key never get here ([`super::plan`]).
//! No clap types; no printing except through the phase line.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::leaves::{self, Kind};
use super::plan::{self, Mechanism, SecretStep};
use super::report::{SecretOutcome, SecretResult, SecretSkip};
use super::run::Run;
use super::state::{RenewState, Step};
use super::verify;
use crate::error::{ApiError, Error, Result};
use crate::kamaji::{horizon, names};
use crate::rotate::backup::data_hash;
use crate::steps::Outcome;
use crate::steps::PhaseLine;
use crate::steps::fault;

pub async fn run(run: &mut Run<'_>, state: &mut RenewState, baseline: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    let api = run.secrets();
    let floor = horizon::full_year_from(state.started_at);
    let mut changed = 0;
    let steps: Vec<SecretStep> = run.plan.renewing().cloned().collect();
    for step in &steps {
        let kind = step.kind.unwrap_or(Kind::X509);
        let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? else {
            done_with(run, &step.name, SecretOutcome::Skipped(SecretSkip::Missing), line, &mut changed);
            continue;
        };
        let backed = plan::find(baseline, &step.name);
        let before = backed.and_then(|b| leaves::leaves_of(b, kind).ok()).unwrap_or_default();
        let cas = plan::cas_for(&run.inv.secrets, &run.plan.tenant, backed.or(Some(&secret)));
        let result = if verify::already_renewed(&secret, kind, &before, &cas, floor) {
            SecretOutcome::Skipped(SecretSkip::AlreadyRenewed)
        } else {
            match run.plan.mechanism {
                Mechanism::Annotate => annotate(run, &secret).await?,
                Mechanism::Delete => delete_if_backed_up(run, &secret, backed).await?,
            }
        };
        done_with(run, &step.name, result, line, &mut changed);
    }
    run.record(state, Step::Renew).await?;
    let skipped = steps.len() - changed;
    let verb = match run.plan.mechanism {
        Mechanism::Annotate => "annotated",
        Mechanism::Delete => "deleted",
    };
    Ok(Outcome::Done(format!("{changed} secret(s) {verb}{}", if skipped > 0 { format!(", {skipped} skipped") } else { String::new() })))
}

/// Shows and reports one secret's result; the first change is a fault point.
fn done_with(run: &mut Run<'_>, name: &str, result: SecretOutcome, line: &mut PhaseLine, changed: &mut usize) {
    *changed += usize::from(result.changed());
    line.update(&format!("{name}: {result}"));
    run.report.secrets.push(SecretResult { name: name.to_string(), result });
    if result.changed() {
        fault::after("first-change");
    }
}

async fn annotate(run: &Run<'_>, secret: &Secret) -> Result<SecretOutcome> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    if secret.metadata.annotations.as_ref().and_then(|a| a.get(names::ANNOTATION_ROTATE)).is_some_and(|v| v.is_empty()) {
        return Ok(SecretOutcome::Skipped(SecretSkip::AlreadyRequested));
    }
    let patch = json!({"metadata": {"annotations": {names::ANNOTATION_ROTATE: ""}}});
    run.lock.check()?;
    match run.secrets().patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::kube) {
        Ok(_) => Ok(SecretOutcome::Annotated),
        Err(e) if e.is_not_found() => Ok(SecretOutcome::Skipped(SecretSkip::Missing)),
        Err(e) => Err(e),
    }
}

/// Deletes a leaf secret only if the backup holds exactly its current content, with a
/// precondition on that very object.
async fn delete_if_backed_up(run: &Run<'_>, secret: &Secret, backed: Option<&Secret>) -> Result<SecretOutcome> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    if backed.is_none_or(|b| data_hash(b) != data_hash(secret)) {
        return Ok(SecretOutcome::Skipped(SecretSkip::ChangedSinceBackup));
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions { uid: secret.metadata.uid.clone(), resource_version: secret.metadata.resource_version.clone() }),
        ..Default::default()
    };
    run.lock.check()?;
    match run.secrets().delete(&name, &dp).await.map_err(Error::kube) {
        Ok(_) => Ok(SecretOutcome::Deleted),
        Err(Error::Api(ApiError { code: 404, .. })) => Ok(SecretOutcome::Skipped(SecretSkip::Missing)),
        Err(Error::Api(ApiError { code: 409, .. })) => Ok(SecretOutcome::Skipped(SecretSkip::ChangedSinceBackup)),
        Err(e) => Err(e),
    }
}
