//! Phase 8: a TLS handshake with the tenant API must show a certificate of
//! the new CA ([`live`]). Passed or skipped completes the run; a failure
//! leaves it unfinished, so the same command checks again. No clap types;
//! no printing except through the phase line.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;

use super::{Outcome, Run, Skip};
use crate::error::{Error, Result};
use crate::kamaji::{names, tcp};
use crate::rotate::live::{self, LiveCheck};
use crate::rotate::progress::PhaseLine;
use crate::rotate::state::{Phase, RunState};
use crate::rotate::verify;

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
    let admin_name = names::secret_name(tenant, names::ADMIN_KUBECONFIG);
    let admin_conf = api.get_opt(&admin_name).await.map_err(Error::kube)?.and_then(|s| s.data?.remove("admin.conf")).map(|b| b.0);
    let tcp = tcp::api(run.client.clone(), ns).get_opt(tenant).await.map_err(Error::kube)?;
    let endpoint = tcp.as_ref().and_then(|t| t.data.pointer("/status/controlPlaneEndpoint")?.as_str());
    let Some(target) = live::target(admin_conf.as_deref(), endpoint) else {
        let reason = format!(
            "no endpoint to check ({admin_name} names no server, the TenantControlPlane has no status.controlPlaneEndpoint): not checked"
        );
        run.report.live_check = Some(LiveCheck {
            verdict: live::Verdict::Skipped,
            reason: reason.clone(),
            endpoint: None,
            endpoint_from: None,
            served_sha256: None,
            attempts: 0,
        });
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
    match verdict {
        live::Verdict::Failed => {
            let err = Error::Timeout {
                after: crate::duration::human_duration(jiff::SignedDuration::try_from(run.s.timeout).unwrap_or_default()),
                waiting_for: reason,
            };
            run.report.live_check = Some(watch.report(verdict, err.to_string(), target.from));
            Err(err)
        }
        live::Verdict::Skipped => {
            run.report.live_check = Some(watch.report(verdict, reason.clone(), target.from));
            complete(run, state).await?;
            Ok(Outcome::Skipped(Skip::NotChecked(reason)))
        }
        live::Verdict::Passed => {
            run.report.live_check = Some(watch.report(verdict, reason.clone(), target.from));
            complete(run, state).await?;
            Ok(Outcome::Done(reason))
        }
    }
}

/// The last phase is over: the run is complete (a re-run starts a new rotation). An
/// unfinished renewal in the same Lease is superseded (every leaf was re-issued): its state
/// goes too, so `renew` does not resume it.
async fn complete(run: &Run<'_>, state: &mut RunState) -> Result<()> {
    state.completed_at = Some(Timestamp::now());
    run.record(state, Phase::LiveCheck).await?;
    let annotations = run.lock.annotations().await?;
    let renewal = crate::renew::tenant::state::RenewState::from_annotations(&annotations);
    if renewal.is_some_and(|r| r.is_unfinished()) {
        let cleared = crate::lease_state::cleared(crate::renew::tenant::state::PREFIX, &annotations);
        run.lock.set_annotations(&cleared).await?;
    }
    Ok(())
}
