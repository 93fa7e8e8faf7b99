//! Step 7: the tenant API, live, must serve the renewed API server certificate: a TLS
//! handshake shows a leaf that IS the one in `<tenant>-api-server-certificate` now, and that
//! a TLS client trusting the (unchanged) tenant CA accepts. rotate-ca's watch
//! ([`crate::rotate::live`]) retries it until `--timeout`, skipping (never passing) an
//! endpoint not reachable from here. No clap types; no printing except through the phase line.

use jiff::Timestamp;
use rustls::pki_types::CertificateDer;

use super::leaves::{self, Kind};
use super::run::Run;
use super::state::{RenewState, Step};
use crate::certs::info::CertInfo;
use crate::error::{Error, Result};
use crate::kamaji::names;
use crate::rotate::live::{self, Issuer, LiveCheck, Seen, Terms};
use crate::steps::PhaseLine;
use crate::steps::{Outcome, Skip};

/// How the watch words a renewal.
pub const RENEWAL: Terms = Terms {
    fresh: "that is the renewed one",
    stale: "the certificate of before the renewal",
    trusted: "the tenant CA",
    stale_failure: "its kube-apiserver did not restart on the renewed certificate",
};

/// Judges a served chain: `renewed` (its SHA-256) accepted by a client trusting `ca` at
/// `now` for `host` passes; another certificate the client accepts is the one of before.
pub fn classify(chain: &[CertificateDer<'_>], ca: &[u8], renewed: &str, host: &str, now: Timestamp) -> Seen {
    let Some(leaf) = chain.first() else {
        return Seen::NoChain(crate::served::NoChain::Handshake("the server sent no certificate".into()));
    };
    let sha256 = CertInfo::from_der(leaf).map_or_else(|_| "unparsable".into(), |i| i.sha256);
    let issuer = match crate::certs::tls::check(chain, &[ca], host, now) {
        Ok(_) if sha256 == renewed => Issuer::New,
        Ok(_) => Issuer::Old,
        Err(refusal) => Issuer::Other(refusal),
    };
    Seen::Served { sha256, issuer }
}

pub async fn run(run: &mut Run<'_>, state: &mut RenewState, line: &mut PhaseLine) -> Result<Outcome> {
    let api = run.secrets();
    let (ns, tenant) = (run.plan.namespace.as_str(), run.plan.tenant.as_str());
    let (ca, _) = crate::rotate::verify::ca_of(&api.get(&names::secret_name(tenant, names::CA)).await.map_err(Error::kube)?)
        .map_err(Error::Invalid)?;
    let serving = api.get_opt(&names::secret_name(tenant, names::API_SERVER)).await.map_err(Error::kube)?;
    let renewed = serving.as_ref().and_then(|s| leaves::leaves_of(s, Kind::X509).ok()).and_then(|l| l.into_iter().next()).map(|l| l.sha256);
    let (Some(target), Some(renewed)) = (live::of_tenant(&run.client, ns, tenant, run.s.opts.tenant_endpoint.as_ref()).await?, renewed)
    else {
        let reason = format!(
            "no endpoint or no API server certificate to check ({} names no server, the TenantControlPlane has no status.controlPlaneEndpoint, or {tenant}-api-server-certificate holds none): not checked",
            names::secret_name(tenant, names::ADMIN_KUBECONFIG)
        );
        run.report.live_check = Some(LiveCheck::not_started(reason.clone()));
        complete(run, state).await?;
        return Ok(Outcome::Skipped(Skip::NotChecked(reason)));
    };
    let check_with = format!("kubectl pki status --tenant {tenant} -n {ns}");
    let mut watch = live::Watch::new(&target.url, &check_with, live::REACH_BUDGET, run.s.timeout).with_terms(RENEWAL);
    line.update(&format!("TLS handshake with {}", target.url));
    let host = target.host();
    let judge = |chain: &[CertificateDer<'static>]| classify(chain, &ca, &renewed, &host, Timestamp::now());
    let (verdict, reason, took) = live::watch(&mut watch, &target, judge, |m| line.update(m)).await;
    run.waited += took;
    let (report, outcome) = live::outcome(&watch, verdict, reason, target.from);
    run.report.live_check = Some(report);
    if outcome.is_ok() {
        complete(run, state).await?;
    }
    outcome
}

/// The last step is over: the renewal is complete (a re-run starts a new one).
async fn complete(run: &Run<'_>, state: &mut RenewState) -> Result<()> {
    state.completed_at = Some(Timestamp::now());
    run.record(state, Step::LiveCheck).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, leaf_signed_by};

    #[test]
    fn only_the_renewed_leaf_passes() {
        let root = ca("kubernetes");
        let (old, new) = (leaf_signed_by("kube-apiserver", &root), leaf_signed_by("kube-apiserver", &root));
        let sha = |c: &kubectl_pki_testkit::TestCert| CertInfo::from_der(&c.der).unwrap().sha256;
        let seen = |c: &kubectl_pki_testkit::TestCert| match classify(
            &[CertificateDer::from(c.der.clone())],
            &root.der,
            &sha(&new),
            "kube-apiserver.example",
            Timestamp::now(),
        ) {
            Seen::Served { issuer, .. } => issuer,
            other => panic!("{other:?}"),
        };
        assert_eq!(seen(&new), Issuer::New);
        assert_eq!(seen(&old), Issuer::Old);
        assert!(matches!(seen(&leaf_signed_by("kube-apiserver", &ca("other"))), Issuer::Other(_)));
    }
}
