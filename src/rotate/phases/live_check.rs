//! Phase 8: a TLS handshake with the tenant API must show a certificate of
//! the new CA ([`live`]). Passed or skipped completes the run; a failure
//! leaves it unfinished, so the same command checks again. No clap types;
//! no printing except through the phase line.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;

use super::Run;
use crate::error::{Error, Result};
use crate::kamaji::names;
use crate::rotate::live::{self, LiveCheck};
use crate::rotate::state::{Phase, RunState};
use crate::rotate::verify;
use crate::steps::PhaseLine;
use crate::steps::{Outcome, Skip};

pub async fn run(run: &mut Run<'_>, state: &mut RunState, baseline: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    let api = run.secrets();
    let (ns, tenant) = (run.plan.namespace.as_str(), run.plan.tenant.as_str());
    let ca_name = names::secret_name(tenant, names::CA);
    let (new_ca, _) = verify::ca_of(&api.get(&ca_name).await.map_err(Error::kube)?).map_err(Error::Invalid)?;
    // The backup's CA, unless it was taken after the CA changed (a resumed run).
    let old_ca = baseline
        .iter()
        .filter(|s| s.metadata.name.as_deref() == Some(ca_name.as_str()))
        .find_map(|s| verify::ca_of(s).ok())
        .filter(|(_, id)| !id.is_rotated_from(&state.old_ca))
        .map(|(der, _)| der);
    let Some(target) = live::of_tenant(&run.client, ns, tenant, run.s.opts.tenant_endpoint.as_ref()).await? else {
        let reason = format!(
            "no endpoint to check ({} names no server, the TenantControlPlane has no status.controlPlaneEndpoint): not checked",
            names::secret_name(tenant, names::ADMIN_KUBECONFIG)
        );
        run.report.live_check = Some(LiveCheck::not_started(reason.clone()));
        complete(run, state).await?;
        return Ok(Outcome::Skipped(Skip::NotChecked(reason)));
    };
    let check_with = format!("kubectl pki status --tenant {tenant} -n {ns}");
    let mut watch = live::Watch::new(&target.url, &check_with, live::REACH_BUDGET, run.s.timeout);
    line.update(&format!("TLS handshake with {}", target.url));
    let host = target.host();
    let judge =
        |chain: &[rustls::pki_types::CertificateDer<'static>]| live::classify(chain, &new_ca, old_ca.as_deref(), &host, Timestamp::now());
    let (verdict, reason, took) = live::watch(&mut watch, &target, judge, |m| line.update(m)).await;
    run.waited += took;
    let (report, outcome) = live::outcome(&watch, verdict, reason, target.from);
    run.report.live_check = Some(report);
    if outcome.is_ok() {
        complete(run, state).await?;
    }
    outcome
}

/// The last phase is over: the run is complete (a re-run starts a new rotation). An
/// unfinished renewal in the same Lease is superseded (every leaf was re-issued): its state
/// goes too, so `renew` does not resume it.
async fn complete(run: &Run<'_>, state: &mut RunState) -> Result<()> {
    state.completed_at = Some(Timestamp::now());
    run.record(state, Phase::LiveCheck).await?;
    let annotations = run.lock.annotations().await?;
    if crate::lease_state::unfinished(crate::lease_state::RENEWAL, &annotations).is_some() {
        let cleared = crate::lease_state::cleared(crate::lease_state::RENEWAL, &annotations);
        run.lock.set_annotations(&cleared).await?;
    }
    Ok(())
}
