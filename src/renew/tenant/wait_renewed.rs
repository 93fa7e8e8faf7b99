//! Step 5: waits until Kamaji has re-issued every selected secret, then judges each
//! ([`verify`]): a new serial from the unchanged CA, a later NotAfter lasting a year from
//! the run. A secret re-issued with a NotAfter that did not move (a controller that was not
//! restarted) fails the run, named. Then the renewed admin kubeconfig is written when asked.
//! No clap types; no printing except through the phase line.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;

use super::leaves::{self, Kind, Leaf};
use super::plan;
use super::report::Renewed;
use super::run::Run;
use super::state::{RenewState, Step};
use super::verify::{self, Judged};
use crate::error::{Error, Result};
use crate::kamaji::horizon::{self, Horizon};
use crate::kamaji::names;
use crate::steps::Outcome;
use crate::steps::PhaseLine;
use crate::wait::{self, Poll};

/// One secret to wait for: its name, kind, certificates before, and the CAs of the run.
#[derive(Clone)]
struct Expect {
    name: String,
    kind: Kind,
    before: Vec<Leaf>,
    cas: Vec<Vec<u8>>,
}

pub async fn run(run: &mut Run<'_>, state: &mut RenewState, baseline: &[Secret], line: &mut PhaseLine) -> Result<Outcome> {
    let api = run.secrets();
    let floor = horizon::full_year_from(state.started_at);
    let tenant = run.plan.tenant.clone();
    let expects: Vec<Expect> = run
        .plan
        .renewing()
        .map(|s| {
            let kind = s.kind.unwrap_or(Kind::X509);
            let backed = plan::find(baseline, &s.name).or_else(|| plan::find(&run.inv.secrets, &s.name));
            Expect {
                name: s.name.clone(),
                kind,
                before: backed.and_then(|b| leaves::leaves_of(b, kind).ok()).unwrap_or_default(),
                cas: plan::cas_for(&run.inv.secrets, &tenant, backed),
            }
        })
        .collect();
    let total = expects.len();
    let what = format!("Kamaji to renew {total} secret(s) (new certificates lasting until at least {floor})");
    let held = run.lock.held();
    let (judged, took) = wait::poll_timed(
        &what,
        run.s.timeout,
        Duration::from_secs(1),
        |m| line.update(m),
        || {
            let (api, expects, held) = (api.clone(), expects.clone(), held.clone());
            async move {
                held.check()?;
                let mut judged = Vec::new();
                for e in &expects {
                    let now = api.get_opt(&e.name).await.map_err(Error::kube)?;
                    match verify::judge(&e.name, now.as_ref(), e.kind, &e.before, &e.cas, floor) {
                        Judged::Pending(why) => {
                            return Ok(Poll::Waiting(format!("{}/{total} secret(s) re-issued; pending: {why}", judged.len())));
                        }
                        other => judged.push((e.name.clone(), other)),
                    }
                }
                Ok(Poll::Done(judged))
            }
        },
    )
    .await?;
    run.waited += took;
    let mut short = Vec::new();
    for (name, j) in judged {
        match j {
            Judged::Renewed(certificates) => run.report.renewed.push(Renewed { secret: name, certificates }),
            Judged::Short(what) => short.extend(what),
            Judged::Pending(_) => {}
        }
    }
    ca_unchanged(run).await?;
    if !short.is_empty() {
        return Err(Error::Verification(not_moved(run, &short, floor).await));
    }
    if let Some(file) = &run.s.write_kubeconfig {
        let admin = names::secret_name(&run.plan.tenant, names::ADMIN_KUBECONFIG);
        let secret = api.get(&admin).await.map_err(Error::kube)?;
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get("admin.conf"))
            .ok_or_else(|| Error::Invalid(format!("{admin} has no admin.conf key")))?;
        crate::rotate::backup::write_atomic(file, &bytes.0, run.s.replace_kubeconfig)?;
        line.note(&format!("renewed admin kubeconfig (admin.conf) written to {} (mode 0600)", file.display()));
        run.report.kubeconfig_written = Some(file.display().to_string());
    }
    run.record(state, Step::Verify).await?;
    let certificates: usize = run.report.renewed.iter().map(|r| r.certificates.len()).sum();
    Ok(Outcome::Done(format!(
        "{total} secret(s), {certificates} certificate(s) renewed on the unchanged CA, lasting until at least {floor}"
    )))
}

/// The tenant CA must be the one the plan read: renew never rotates it.
async fn ca_unchanged(run: &Run<'_>) -> Result<()> {
    let name = names::secret_name(&run.plan.tenant, names::CA);
    let before = plan::find(&run.inv.secrets, &name).and_then(|s| crate::rotate::verify::ca_of(s).ok()).map(|(_, id)| id.sha256);
    let now = run
        .secrets()
        .get_opt(&name)
        .await
        .map_err(Error::kube)?
        .and_then(|s| crate::rotate::verify::ca_of(&s).ok())
        .map(|(_, id)| id.sha256);
    if before != now {
        return Err(Error::Verification(format!(
            "the tenant CA in {name} changed during the renewal: check the tenant (kubectl pki status --tenant {})",
            run.plan.tenant
        )));
    }
    Ok(())
}

/// Why the renewal did not help, naming the certificates and the controller.
async fn not_moved(run: &Run<'_>, short: &[String], floor: jiff::Timestamp) -> String {
    let opts = &run.s.opts;
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(run.client.clone(), &opts.kamaji_namespace);
    let listed = pods.list(&kube::api::ListParams::default().labels(&opts.kamaji_selector)).await.map(|l| l.items).unwrap_or_default();
    let controller = Horizon::of_pods(&listed);
    let why = match (controller.pods, controller.started_at) {
        (0, _) | (_, None) => {
            format!("no Kamaji controller pods match {} in {}, so none was restarted", opts.kamaji_selector, opts.kamaji_namespace)
        }
        (_, Some(started)) => format!(
            "the Kamaji controller pods ({} in {}) have been running since {started}, so every leaf they issue expires by {}",
            opts.kamaji_selector,
            opts.kamaji_namespace,
            controller.issues_until.map_or_else(|| "?".into(), |t| t.to_string())
        ),
    };
    format!(
        "{} certificate(s) were re-issued without a later NotAfter lasting until {floor}: {}; {why} (Kamaji dates certificates from its process start): restart the controller (kubectl -n {} delete pod -l {}) and re-run the same command",
        short.len(),
        short.join(", "),
        opts.kamaji_namespace,
        opts.kamaji_selector
    )
}
