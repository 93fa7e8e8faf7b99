//! Phase 3: annotate the CA, or delete what the plan deletes, each only
//! while it still holds the backed-up content. No clap types; no printing
//! except through the phase line; a secret's result is a [`SecretOutcome`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::{Outcome, Run, regenerated};
use crate::error::{ApiError, Error, Result};
use crate::kamaji::names;
use crate::lock::Lock;
use crate::rotate::backup::data_hash;
use crate::rotate::fault;
use crate::rotate::plan::{Method, SecretAction, SecretStep};
use crate::rotate::progress::PhaseLine;
use crate::rotate::report::{SecretOutcome, SecretResult, SecretSkip};
use crate::rotate::state::{Phase, RunState};
use crate::rotate::verify::{self, CaId};

pub async fn run(run: &mut Run<'_>, state: &mut RunState, baseline: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    let api = run.secrets();
    let backed: BTreeMap<String, String> = baseline.iter().filter_map(|s| Some((s.metadata.name.clone()?, data_hash(s)))).collect();
    let mut changed = 0;
    for step in run.plan.secrets.iter().filter(|s| s.action == SecretAction::Annotate) {
        let result = annotate_ca(run.lock, &api, step, &state.old_ca).await?;
        done_with(run, step, result, line, &mut changed);
    }
    let deletes: Vec<&SecretStep> = run.plan.secrets.iter().filter(|s| s.action == SecretAction::Delete).collect();
    if run.plan.method == Method::Annotate && !deletes.is_empty() {
        // Deleted too early, Kamaji would regenerate them from the old CA.
        line.update("waiting for Kamaji to write the new CA before deleting the stale-prone secrets");
        let old = state.old_ca.clone();
        regenerated::wait_new_ca(run, &old, line).await?;
    }
    for step in deletes {
        let result = delete_if_backed_up(run.lock, &api, step, &backed).await?;
        done_with(run, step, result, line, &mut changed);
    }
    run.record(state, Phase::Rotate).await?;
    run.rotated_at = Some(tokio::time::Instant::now());
    run.rotating = None;
    let skipped = run.report.secrets.len() - changed;
    Ok(Outcome::Done(format!(
        "{changed} secret(s) changed{}",
        if skipped > 0 { format!(", {skipped} already done") } else { String::new() }
    )))
}

/// Shows and reports one secret's result; the first change is a fault point.
fn done_with(run: &mut Run<'_>, step: &SecretStep, result: SecretOutcome, line: &mut PhaseLine, changed: &mut usize) {
    *changed += usize::from(result.changed());
    line.update(&format!("{}: {result}", step.name));
    run.report.secrets.push(SecretResult { name: step.name.clone(), action: step.action, result });
    if result.changed() {
        fault::after("first-change");
    }
}

async fn annotate_ca(lock: &Lock, api: &Api<Secret>, step: &SecretStep, old: &CaId) -> Result<SecretOutcome> {
    let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? else {
        return Ok(SecretOutcome::Skipped(SecretSkip::Missing));
    };
    if verify::ca_of(&secret).is_ok_and(|(_, id)| id.is_rotated_from(old)) {
        return Ok(SecretOutcome::Skipped(SecretSkip::HoldsNewCa));
    }
    if secret.metadata.annotations.as_ref().and_then(|a| a.get(names::ANNOTATION_ROTATE)).is_some_and(|v| v.is_empty()) {
        return Ok(SecretOutcome::Skipped(SecretSkip::AlreadyRequested));
    }
    let patch = json!({"metadata": {"annotations": {names::ANNOTATION_ROTATE: ""}}});
    lock.check()?;
    api.patch(&step.name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::kube)?;
    Ok(SecretOutcome::Annotated)
}

/// Deletes a secret only if the backup holds exactly its current content,
/// with a precondition on that very object.
async fn delete_if_backed_up(
    lock: &Lock,
    api: &Api<Secret>,
    step: &SecretStep,
    backed: &BTreeMap<String, String>,
) -> Result<SecretOutcome> {
    let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? else {
        return Ok(SecretOutcome::Skipped(SecretSkip::AlreadyDeleted));
    };
    match backed.get(&step.name) {
        None => return Ok(SecretOutcome::Skipped(SecretSkip::NotInBackup)),
        Some(h) if *h != data_hash(&secret) => return Ok(SecretOutcome::Skipped(SecretSkip::AlreadyRegenerated)),
        Some(_) => {}
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions { uid: secret.metadata.uid.clone(), resource_version: secret.metadata.resource_version.clone() }),
        ..Default::default()
    };
    lock.check()?;
    match api.delete(&step.name, &dp).await.map_err(Error::kube) {
        Ok(_) => Ok(SecretOutcome::Deleted),
        Err(Error::Api(ApiError { code: 404, .. })) => Ok(SecretOutcome::Skipped(SecretSkip::AlreadyDeleted)),
        Err(Error::Api(ApiError { code: 409, .. })) => Ok(SecretOutcome::Skipped(SecretSkip::ChangedSinceBackup)),
        Err(e) => Err(e),
    }
}
