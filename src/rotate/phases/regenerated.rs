//! Phase 5: a new CA, and every secret the plan checks chains to it; the
//! new admin kubeconfig written when asked. No clap types; no printing
//! except through the phase line.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;

use super::Run;
use crate::error::{Error, Result};
use crate::kamaji::names;
use crate::rotate::backup;
use crate::rotate::plan::Method;
use crate::rotate::report::Verified;
use crate::rotate::state::{Phase, RunState};
use crate::rotate::verify::{self, CaId};
use crate::steps::Outcome;
use crate::steps::PhaseLine;
use crate::wait::Poll;

pub async fn run(run: &mut Run<'_>, state: &mut RunState, _: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    let api = run.secrets();
    let old_ca = state.old_ca.clone();
    let (_, ca_id) = wait_new_ca(run, &old_ca, line).await?;
    let checks: Vec<(String, verify::Check)> = run.plan.secrets.iter().filter_map(|s| Some((s.name.clone(), s.verify?))).collect();
    let total = checks.len();
    let what = format!("the tenant's secrets to be regenerated on the new CA (sha256 {})", ca_id.short());
    let ca_name = names::secret_name(&run.plan.tenant, names::CA);
    let old = state.old_ca.clone();
    let (new_ca, verified) = run
        .wait(&what, Duration::from_secs(2), line, || {
            let (api, checks, ca_name, old) = (api.clone(), checks.clone(), ca_name.clone(), old.clone());
            async move {
                let Some(ca) = api.get_opt(&ca_name).await.map_err(Error::kube)? else {
                    return Ok(Poll::Waiting(format!("{ca_name} is missing")));
                };
                let (der, id) = match verify::ca_of(&ca) {
                    Ok(v) if v.1.is_rotated_from(&old) => v,
                    Ok(_) => return Ok(Poll::Waiting(format!("{ca_name} holds the old CA again"))),
                    Err(e) => return Ok(Poll::Waiting(e)),
                };
                let mut pending = Vec::new();
                let mut verified = Vec::new();
                for (name, how) in &checks {
                    match api.get_opt(name).await.map_err(Error::kube)? {
                        None => pending.push(format!("{name} is missing")),
                        Some(secret) => match verify::check(&secret, *how, &der) {
                            Ok(n) => verified.push(Verified { secret: name.clone(), certificates: n }),
                            Err(e) => pending.push(e),
                        },
                    }
                }
                Ok(if pending.is_empty() {
                    Poll::Done((id, verified))
                } else {
                    Poll::Waiting(format!("{}/{total} secret(s) on the new CA; first pending: {}", verified.len(), pending[0]))
                })
            }
        })
        .await?;
    let (ca_der, _) = verify::ca_of(&api.get(&ca_name).await.map_err(Error::kube)?).map_err(Error::Invalid)?;
    run.report.reissued = super::full_year::ensure(run, state, &checks, &ca_der, line).await?;
    let certificates: usize = verified.iter().map(|v| v.certificates).sum();
    run.report.verified = verified;
    run.report.new_ca = Some(new_ca.clone());
    if let Some(file) = &run.s.write_kubeconfig {
        let admin = names::secret_name(&run.plan.tenant, names::ADMIN_KUBECONFIG);
        let secret = api.get(&admin).await.map_err(Error::kube)?;
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get("admin.conf"))
            .ok_or_else(|| Error::Invalid(format!("{admin} has no admin.conf key")))?;
        backup::write_atomic(file, &bytes.0, run.s.replace_kubeconfig)?;
        line.note(&format!("new admin kubeconfig (admin.conf) written to {} (mode 0600)", file.display()));
        run.report.kubeconfig_written = Some(file.display().to_string());
    }
    run.record(state, Phase::Regenerated).await?;
    let reissued = match run.report.reissued.len() {
        0 => String::new(),
        n => format!("; {n} re-issued by the restarted Kamaji controller to last a year"),
    };
    Ok(Outcome::Done(format!(
        "new CA sha256 {} (old {}); {total} secret(s), {certificates} certificate(s) chain to it{reissued}",
        new_ca.short(),
        state.old_ca.short()
    )))
}

/// Waits until `<tenant>-ca` holds a CA other than `old` (also used by the
/// rotate phase before it deletes the stale-prone secrets).
pub async fn wait_new_ca(run: &mut Run<'_>, old: &CaId, line: &mut PhaseLine) -> Result<(Vec<u8>, CaId)> {
    let api = run.secrets();
    let name = names::secret_name(&run.plan.tenant, names::CA);
    let waited = run
        .wait(&format!("a new CA in {name}"), Duration::from_secs(1), line, || {
            let (api, name, old) = (api.clone(), name.clone(), old.clone());
            async move {
                Ok(match api.get_opt(&name).await.map_err(Error::kube)? {
                    None => Poll::Waiting(format!("{name} is missing (Kamaji regenerates it)")),
                    Some(secret) => match verify::ca_of(&secret) {
                        Err(e) => Poll::Waiting(e),
                        Ok((_, id)) if !id.is_rotated_from(&old) => {
                            Poll::Waiting(format!("{name} still holds the old CA (sha256 {})", old.short()))
                        }
                        Ok(v) => Poll::Done(v),
                    },
                })
            }
        })
        .await;
    // Only a timeout deserves the hint: it is the one way an ignored annotation shows.
    match waited {
        Ok(v) => Ok(v),
        Err(Error::Timeout { after, waiting_for }) => {
            Err(Error::Timeout { after, waiting_for: format!("{waiting_for}{}", annotate_hint(run.plan.method)) })
        }
        Err(other) => Err(other),
    }
}

fn annotate_hint(method: Method) -> &'static str {
    match method {
        Method::Annotate => " (a Kamaji older than edge-25.7.3 ignores the rotate annotation: then use --method delete)",
        Method::Delete => "",
    }
}
