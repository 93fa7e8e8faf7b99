//! Phase 3: annotate the CA, or delete what the plan deletes, each only
//! while it still holds the backed-up content. No clap types; no printing
//! except through the phase line; a secret's result is a [`SecretOutcome`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::{Run, regenerated};
use crate::error::{ApiError, Error, Result};
use crate::kamaji::names;
use crate::lock::Lock;
use crate::rotate::backup::data_hash;
use crate::rotate::plan::{Method, SecretAction, SecretStep};
use crate::rotate::report::{SecretOutcome, SecretResult, SecretSkip};
use crate::rotate::state::{Phase, RunState};
use crate::rotate::verify::{self, CaId};
use crate::steps::PhaseLine;
use crate::steps::fault;
use crate::steps::{Outcome, Skip};

pub async fn run(run: &mut Run<'_>, state: &mut RunState, baseline: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    // Recorded only once every annotation and deletion was made: never again
    // (a withdrawn annotation sets the record back, see `withdraw_pending`).
    if run.already_done(Phase::Rotate) {
        // Nothing of this run for a (shared) Kamaji restart to wait for.
        run.rotated_at = Some(tokio::time::Instant::now());
        run.rotating = None;
        return Ok(Outcome::Skipped(Skip::DoneBefore));
    }
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
    let old = if deletes.is_empty() { None } else { Some(old_ca_of(baseline, &run.plan.tenant, &state.old_ca)?) };
    for step in deletes {
        let Some(old) = &old else { break };
        let result = delete_if_backed_up(run.lock, &api, step, &backed, old).await?;
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
    old: &(Vec<u8>, CaId),
) -> Result<SecretOutcome> {
    if step.already_rotated {
        return Ok(SecretOutcome::Skipped(SecretSkip::AlreadyRegenerated));
    }
    let Some(secret) = api.get_opt(&step.name).await.map_err(Error::kube)? else {
        return Ok(SecretOutcome::Skipped(SecretSkip::AlreadyDeleted));
    };
    if !holds_old_material(&secret, step.verify, old) {
        return Ok(SecretOutcome::Skipped(SecretSkip::NotFromOldCa));
    }
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

/// A run that stops unfinished withdraws the rotate request it left pending
/// (`certs.kamaji.clastix.io/rotate=""` on a `-ca` secret that still holds
/// the old CA): a Kamaji that ignores it today would act on it after an
/// upgrade and rotate the CA unannounced. The record goes back to `backup`,
/// so the re-run requests it again. `Ok(None)`: nothing was pending.
pub async fn withdraw_pending(run: &Run<'_>) -> Result<Option<String>> {
    let Some(mut state) = RunState::from_annotations(&run.lock.annotations().await?).filter(RunState::is_unfinished) else {
        return Ok(None);
    };
    let api = run.secrets();
    let name = names::secret_name(&run.plan.tenant, names::CA);
    let Some(secret) = api.get_opt(&name).await.map_err(Error::kube)? else { return Ok(None) };
    let pending = secret.metadata.annotations.as_ref().and_then(|a| a.get(names::ANNOTATION_ROTATE)).is_some_and(|v| v.is_empty());
    if !pending || verify::ca_of(&secret).is_ok_and(|(_, id)| id.is_rotated_from(&state.old_ca)) {
        return Ok(None);
    }
    // Removed only from the object read (its resourceVersion is a
    // precondition): Kamaji may take the request this very moment.
    let patch = json!({"metadata": {"resourceVersion": secret.metadata.resource_version, "annotations": {names::ANNOTATION_ROTATE: null}}});
    run.lock.check()?;
    match api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::kube) {
        Ok(_) => {}
        // Changed since it was read: Kamaji took the request meanwhile.
        Err(e) if e.is_conflict() => return Ok(None),
        Err(e) => return Err(e),
    }
    if state.done >= Phase::Rotate {
        state.done = Phase::Backup;
        run.lock.set_annotations(&state.to_annotations()).await?;
    }
    Ok(Some(format!(
        "withdrew the pending {}=\"\" on {name} (Kamaji had not acted on it, and might after an upgrade); re-running the same command requests it again",
        names::ANNOTATION_ROTATE
    )))
}

/// The old CA (DER and id) from the baseline's `-ca` secret: the one the
/// run recorded, or no deletion happens.
fn old_ca_of(baseline: &[Secret], tenant: &str, recorded: &CaId) -> Result<(Vec<u8>, CaId)> {
    let name = names::secret_name(tenant, names::CA);
    let ca = baseline
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name.as_str()))
        .ok_or_else(|| Error::Invalid(format!("the backup holds no {name}: refusing to delete anything")))?;
    let (der, id) = verify::ca_of(ca).map_err(|e| Error::Invalid(format!("the backup's {e}: refusing to delete anything")))?;
    if id.is_rotated_from(recorded) {
        return Err(Error::Invalid(format!(
            "the backup's {name} is not the old CA the run recorded (sha256 {}): refusing to delete anything",
            recorded.short()
        )));
    }
    Ok((der, id))
}

/// Whether a secret still holds what the old CA made: the CA itself, or
/// certificates that chain to it. Secrets not chained to the tenant CA
/// (SA key, front-proxy, datastore) are judged by the backup alone.
fn holds_old_material(secret: &Secret, how: Option<verify::Check>, (old_der, old_id): &(Vec<u8>, CaId)) -> bool {
    match how {
        Some(verify::Check::Ca) => verify::ca_of(secret).is_ok_and(|(_, id)| !id.is_rotated_from(old_id)),
        Some(how @ (verify::Check::Leaf | verify::Check::Kubeconfig)) => verify::check(secret, how, old_der).is_ok(),
        Some(verify::Check::Exists) | None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn secret(name: &str, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
            data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.to_vec()))).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn only_what_the_old_ca_made_is_deletable() {
        let old = kubectl_pki_testkit::ca("kubernetes");
        let new = kubectl_pki_testkit::ca("kubernetes");
        let old_ca = secret("t-ca", &[("ca.crt", old.pem.as_bytes())]);
        let new_ca = secret("t-ca", &[("ca.crt", new.pem.as_bytes())]);
        let recorded = verify::ca_of(&old_ca).unwrap().1;
        let old = old_ca_of(std::slice::from_ref(&old_ca), "t", &recorded).unwrap();
        assert!(holds_old_material(&old_ca, Some(verify::Check::Ca), &old));
        assert!(!holds_old_material(&new_ca, Some(verify::Check::Ca), &old), "a regenerated CA is never deleted again");
        let new_id = verify::ca_of(&new_ca).unwrap().1;
        let err = old_ca_of(&[old_ca], "t", &new_id).unwrap_err().to_string();
        assert!(err.contains("refusing to delete anything"), "{err}");
        assert!(holds_old_material(&secret("t-sa-certificate", &[("sa.key", b"k")]), Some(verify::Check::Exists), &old));
    }
}
