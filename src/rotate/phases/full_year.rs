//! Part of phase 5: every leaf the rotation leaves behind must last a year from the run.
//! Kamaji dates what it issues from its controller's process start, so leaves issued before
//! the phase-4 restart (on the rotate annotation, or by a controller that was never
//! restarted) can expire in weeks. Those are re-issued by the restarted controller (the
//! rotate annotation where Kamaji honours it, else deletion of the leaf secret); when the
//! controller was not restarted, re-issuing would not help, and the run fails naming them.
//! No clap types; no printing except through the phase line.

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use serde_json::json;

use super::Run;
use crate::error::{ApiError, Error, Result};
use crate::kamaji::horizon::{self, Horizon};
use crate::kamaji::names;
use crate::kamaji::version::KamajiVersion;
use crate::rotate::lifetime::{Short, short_leaves};
use crate::rotate::plan::Method;
use crate::rotate::state::RunState;
use crate::rotate::verify::{self, Check};
use crate::steps::PhaseLine;
use crate::wait::Poll;

/// Re-issues the checked secrets whose leaves would expire before a year from the run
/// began; returns their names (empty when every leaf lasts).
pub async fn ensure(
    run: &mut Run<'_>,
    state: &RunState,
    checks: &[(String, Check)],
    ca_der: &[u8],
    line: &mut PhaseLine,
) -> Result<Vec<String>> {
    let floor = horizon::full_year_from(state.started_at);
    let api = run.secrets();
    let short = find_short(&api, checks, floor).await?;
    if short.is_empty() {
        return Ok(Vec::new());
    }
    let opts = &run.s.opts;
    let pods: Api<Pod> = Api::namespaced(run.client.clone(), &opts.kamaji_namespace);
    let controller = Horizon::of_pods(&pods.list(&ListParams::default().labels(&opts.kamaji_selector)).await.map_err(Error::kube)?.items);
    if controller.pods == 0 || controller.is_short_from(state.started_at) {
        return Err(Error::Verification(not_restarted(&short, floor, &controller, &opts.kamaji_namespace, &opts.kamaji_selector)));
    }
    let secrets: BTreeSet<String> = short.iter().filter_map(|s| s.what.split('/').next().map(String::from)).collect();
    let annotate = run.plan.method == Method::Annotate
        || run.plan.kamaji.version.as_deref().and_then(KamajiVersion::parse_edge).is_some_and(KamajiVersion::supports_rotate_annotation);
    for name in &secrets {
        line.update(&format!("{name} expires before {floor}: re-issuing it on the restarted Kamaji controller"));
        run.lock.check()?;
        reissue(&api, name, annotate).await?;
    }
    let wanted: Vec<(String, Check)> = checks.iter().filter(|(n, _)| secrets.contains(n)).cloned().collect();
    let what = format!("{} re-issued to last until at least {floor}", secrets.iter().cloned().collect::<Vec<_>>().join(", "));
    run.wait(&what, Duration::from_secs(1), line, || {
        let (api, wanted, ca_der) = (api.clone(), wanted.clone(), ca_der.to_vec());
        async move {
            for (name, how) in &wanted {
                let Some(secret) = api.get_opt(name).await.map_err(Error::kube)? else {
                    return Ok(Poll::Waiting(format!("{name} is missing (Kamaji regenerates it)")));
                };
                if let Err(e) = verify::check(&secret, *how, &ca_der) {
                    return Ok(Poll::Waiting(e));
                }
                if let Some(s) = short_leaves(&secret, *how, floor).first() {
                    return Ok(Poll::Waiting(format!("{} still expires on {}", s.what, s.not_after)));
                }
            }
            Ok(Poll::Done(()))
        }
    })
    .await?;
    Ok(secrets.into_iter().collect())
}

async fn find_short(api: &Api<Secret>, checks: &[(String, Check)], floor: Timestamp) -> Result<Vec<Short>> {
    let mut short = Vec::new();
    for (name, how) in checks {
        if let Some(secret) = api.get_opt(name).await.map_err(Error::kube)? {
            short.extend(short_leaves(&secret, *how, floor));
        }
    }
    Ok(short)
}

/// The rotate annotation (Kamaji re-issues the secret in place), else a deletion of the
/// leaf secret with a precondition on the object read (Kamaji makes it again). Leaf and
/// kubeconfig secrets only: the CA, the SA key and the datastore config never get here.
async fn reissue(api: &Api<Secret>, name: &str, annotate: bool) -> Result<()> {
    let Some(secret) = api.get_opt(name).await.map_err(Error::kube)? else { return Ok(()) };
    if annotate {
        let patch = json!({"metadata": {"annotations": {names::ANNOTATION_ROTATE: ""}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(Error::kube)?;
        return Ok(());
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions { uid: secret.metadata.uid.clone(), resource_version: secret.metadata.resource_version.clone() }),
        ..Default::default()
    };
    match api.delete(name, &dp).await.map_err(Error::kube) {
        Ok(_) | Err(Error::Api(ApiError { code: 404 | 409, .. })) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Why re-issuing cannot help: the controller that would issue still runs since before the run.
fn not_restarted(short: &[Short], floor: Timestamp, controller: &Horizon, namespace: &str, selector: &str) -> String {
    let list: Vec<String> = short.iter().map(|s| format!("{} (expires {})", s.what, s.not_after)).collect();
    let why = match (controller.pods, controller.started_at) {
        (0, _) | (_, None) => format!("no Kamaji controller pods match {selector} in {namespace}, so none was restarted"),
        (_, Some(started)) => format!(
            "the Kamaji controller pods ({selector} in {namespace}) have been running since {started}, so every leaf they issue expires by {}",
            controller.issues_until.map_or_else(|| "?".into(), |t| t.to_string())
        ),
    };
    format!(
        "{} certificate(s) left by the rotation expire before {floor}, less than a year from the run: {}; {why} (Kamaji dates certificates from its process start): restart the controller (kubectl -n {namespace} delete pod -l {selector}) and re-run the same command",
        short.len(),
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_names_the_leaves_and_the_controller() {
        let short = [Short { what: "t-api-server-certificate/apiserver.crt".into(), not_after: "2027-02-01T00:00:00Z".parse().unwrap() }];
        let floor: Timestamp = "2027-11-30T23:00:00Z".parse().unwrap();
        let none = Horizon { pods: 0, started_at: None, issues_until: None };
        let text = not_restarted(&short, floor, &none, "cozy-kamaji", "app=nothing");
        assert!(text.starts_with("1 certificate(s) left by the rotation expire before 2027-11-30T23:00:00Z"), "{text}");
        assert!(text.contains("t-api-server-certificate/apiserver.crt (expires 2027-02-01T00:00:00Z)"), "{text}");
        assert!(text.contains("no Kamaji controller pods match app=nothing in cozy-kamaji"), "{text}");
        let old = Horizon {
            pods: 2,
            started_at: Some("2026-02-01T00:00:00Z".parse().unwrap()),
            issues_until: Some("2027-02-01T00:00:00Z".parse().unwrap()),
        };
        let text = not_restarted(&short, floor, &old, "cozy-kamaji", "app=kamaji");
        assert!(text.contains("running since 2026-02-01T00:00:00Z, so every leaf they issue expires by 2027-02-01T00:00:00Z"), "{text}");
    }
}
