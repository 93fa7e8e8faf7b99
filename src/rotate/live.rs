//! The last phase: the tenant's API server, live, must present a
//! certificate that chains to the NEW CA. Secrets that chain are not
//! enough: users are locked out when the served certificate and the
//! kubeconfig they download disagree (a kube-apiserver not restarted).
//!
//! The endpoint is the `server:` of the new `<tcp>-admin-kubeconfig`
//! (what users dial), else `https://<status.controlPlaneEndpoint>`. It is
//! retried until `--timeout` (the API restarts during a rollout), except
//! when no TCP connection is ever made within [`REACH_BUDGET`]: the
//! endpoint is not reachable from this machine, and the check is
//! `skipped`, never `passed`. The decisions are pure ([`Watch`]); the
//! handshake is [`crate::served`], retried by [`watch`]. `renew` uses the
//! same watch with its own [`Terms`]: the CA stays, the leaf must be the renewed one.
//! No API calls, no clap types, no printing: the phase ([`super::phases::live_check`]) reads the endpoint.

use std::time::Duration;

use jiff::Timestamp;
use rustls::pki_types::CertificateDer;
use serde::Serialize;

use crate::certs::chain::{ChainVerdict, chains_to};
use crate::certs::info::CertInfo;
pub use crate::certs::tls::Refusal;
use crate::error::{Error, Result};
use crate::served::NoChain;
use crate::steps::{Outcome, Skip};

/// No TCP connection at all for this long: not reachable from here.
pub const REACH_BUDGET: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The served leaf chains to the new CA.
    Passed,
    /// Reachable, but it did not serve a certificate of the new CA before the timeout.
    Failed,
    /// Not checked: no endpoint, or not reachable from this machine.
    Skipped,
}

impl Verdict {
    /// `passed`, `failed`, `skipped`: serde's name.
    pub fn word(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

pub use crate::kamaji::endpoint::{EndpointFrom, Target, of_tenant, target};

/// `liveCheck` of the report (a schema: keep the names stable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveCheck {
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
    pub endpoint: Option<String>,
    pub endpoint_from: Option<EndpointFrom>,
    /// SHA-256 of the last leaf served, if any was.
    pub served_sha256: Option<String>,
    pub attempts: u32,
}

/// Which CA the served leaf chains to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// The new CA, and a TLS client accepts the chain ([`crate::certs::tls`]).
    New,
    /// The old CA, by signature.
    Old,
    /// Neither (or the old CA is unknown here), or the new CA's chain as a
    /// TLS client refuses it: why.
    Other(Refusal),
}

/// What one attempt saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    NoChain(NoChain),
    Served { sha256: String, issuer: Issuer },
}

/// Judges a recorded chain (leaf first) against the new CA as a TLS client
/// dialling `host` at `now` would ([`crate::certs::tls::check`]: dates,
/// `CA:true` of the signers, the host in the SANs), then, by signature,
/// against the old one.
pub fn classify(chain: &[CertificateDer<'_>], new_ca: &[u8], old_ca: Option<&[u8]>, host: &str, now: Timestamp) -> Seen {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Seen::NoChain(NoChain::Handshake("the server sent no certificate".into()));
    };
    let sha256 = CertInfo::from_der(leaf).map_or_else(|_| "unparsable".into(), |i| i.sha256);
    let issuer = match crate::certs::tls::check(chain, &[new_ca], host, now) {
        Ok(_) => Issuer::New,
        Err(refusal @ Refusal::Chain(_)) => match old_ca.map(|old| chains_to(leaf, intermediates, &[old])) {
            Some(ChainVerdict::Verified { .. }) => Issuer::Old,
            _ => Issuer::Other(refusal),
        },
        Err(refusal) => Issuer::Other(refusal),
    };
    Seen::Served { sha256, issuer }
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try again; the progress line.
    Wait(String),
    /// The verdict and its one-line reason.
    Done(Verdict, String),
}

/// How a [`Watch`] names what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// After "serves a certificate (sha256 ..) ": what passes.
    pub fresh: &'static str,
    /// After "still serves ": what is served before the restart.
    pub stale: &'static str,
    /// After "a TLS client trusting ": the CA a client trusts.
    pub trusted: &'static str,
    /// Why a stale certificate at the timeout is a failure.
    pub stale_failure: &'static str,
}

/// rotate-ca's: the served leaf must chain to the new CA.
pub const ROTATION: Terms = Terms {
    fresh: "that chains to the new CA",
    stale: "a certificate from the old CA",
    trusted: "the new CA",
    stale_failure: "its kube-apiserver did not restart on the new certificate, and clients with the new kubeconfig are refused",
};

/// The state of the retries, and the rules that turn attempts into a verdict.
#[derive(Debug)]
pub struct Watch {
    terms: Terms,
    url: String,
    /// `kubectl pki status --tenant ...`: how to check it later or elsewhere.
    check_with: String,
    reach: Duration,
    timeout: Duration,
    connected: bool,
    attempts: u32,
    last: Option<Seen>,
}

impl Watch {
    pub fn new(url: &str, check_with: &str, reach: Duration, timeout: Duration) -> Watch {
        Watch { terms: ROTATION, url: url.into(), check_with: check_with.into(), reach, timeout, connected: false, attempts: 0, last: None }
    }

    /// The same watch, its lines and verdicts worded with `terms`.
    pub fn with_terms(mut self, terms: Terms) -> Watch {
        self.terms = terms;
        self
    }

    /// `elapsed`: since the first attempt began. A certificate of the new CA
    /// passes at once; no TCP connection at all within the reachability
    /// budget (or the timeout, if shorter) skips; anything else is retried
    /// until the timeout, then fails with what was last seen (the caller
    /// says after how long).
    pub fn observe(&mut self, seen: Seen, elapsed: Duration) -> Next {
        self.attempts += 1;
        let url = self.url.clone();
        if !matches!(seen, Seen::NoChain(NoChain::Connect(_))) {
            self.connected = true;
        }
        let next = match &seen {
            Seen::Served { sha256, issuer: Issuer::New } => {
                Next::Done(Verdict::Passed, format!("{url} serves a certificate (sha256 {}) {}", short(sha256), self.terms.fresh))
            }
            Seen::NoChain(NoChain::Url(why)) => Next::Done(Verdict::Skipped, format!("cannot check {url}: {why}; not checked")),
            Seen::NoChain(NoChain::Connect(why)) if !self.connected && elapsed >= self.reach.min(self.timeout) => Next::Done(
                Verdict::Skipped,
                format!(
                    "{url} is not reachable from this machine ({why}; no connection in {} attempt(s) over {:.0}s): not checked; check it where it is reachable with `{}`",
                    self.attempts,
                    elapsed.as_secs_f64(),
                    self.check_with
                ),
            ),
            _ if elapsed >= self.timeout => Next::Done(Verdict::Failed, self.failure(&seen)),
            Seen::Served { sha256, issuer: Issuer::Old } => Next::Wait(format!(
                "{url} still serves {} (sha256 {}): waiting for its kube-apiserver to restart",
                self.terms.stale,
                short(sha256)
            )),
            Seen::Served { issuer: Issuer::Other(why), .. } => {
                Next::Wait(format!("{url} serves a certificate that a TLS client trusting {} refuses ({why})", self.terms.trusted))
            }
            Seen::NoChain(e) if self.connected => Next::Wait(format!("{url}: {e} (restarting?)")),
            Seen::NoChain(e) => Next::Wait(format!("{url}: {e}")),
        };
        self.last = Some(seen);
        next
    }

    fn failure(&self, seen: &Seen) -> String {
        let url = &self.url;
        let what = match seen {
            Seen::Served { sha256, issuer: Issuer::Old } => format!(
                "the tenant API at {url} still serves {} (sha256 {}): {}",
                self.terms.stale,
                short(sha256),
                self.terms.stale_failure
            ),
            Seen::Served { sha256, issuer } => format!(
                "the tenant API at {url} serves a certificate (sha256 {}) that a TLS client trusting {} refuses{}",
                short(sha256),
                self.terms.trusted,
                match issuer {
                    Issuer::Other(why) => format!(" ({why})"),
                    _ => String::new(),
                }
            ),
            Seen::NoChain(e) => format!("the tenant API at {url} was reached but served no certificate since (last: {e})"),
        };
        format!("{what}; check it with `{}`", self.check_with)
    }

    /// The report entry for a finished watch.
    pub fn report(&self, verdict: Verdict, reason: String, from: EndpointFrom) -> LiveCheck {
        let served_sha256 = match &self.last {
            Some(Seen::Served { sha256, .. }) => Some(sha256.clone()),
            _ => None,
        };
        LiveCheck { verdict, reason, endpoint: Some(self.url.clone()), endpoint_from: Some(from), served_sha256, attempts: self.attempts }
    }
}

impl LiveCheck {
    /// A check that could not start (nothing to dial, nothing to compare): skipped, with `reason`.
    pub fn not_started(reason: String) -> LiveCheck {
        LiveCheck { verdict: Verdict::Skipped, reason, endpoint: None, endpoint_from: None, served_sha256: None, attempts: 0 }
    }
}

/// What a finished [`watch`] makes of the step: its report entry, and passed → done,
/// skipped → not checked (never passed), failed → a timeout error, which leaves the run
/// unfinished so that the same command checks again.
pub fn outcome(watch: &Watch, verdict: Verdict, reason: String, from: EndpointFrom) -> (LiveCheck, Result<Outcome>) {
    match verdict {
        Verdict::Failed => {
            let after = crate::duration::human_duration(jiff::SignedDuration::try_from(watch.timeout).unwrap_or_default());
            let err = Error::Timeout { after, waiting_for: reason };
            (watch.report(verdict, err.to_string(), from), Err(err))
        }
        Verdict::Skipped => (watch.report(verdict, reason.clone(), from), Ok(Outcome::Skipped(Skip::NotChecked(reason)))),
        Verdict::Passed => (watch.report(verdict, reason.clone(), from), Ok(Outcome::Done(reason))),
    }
}

/// One handshake attempt at most this long (less when the timeout is near).
const ATTEMPT: Duration = Duration::from_secs(3);

/// Handshakes with `target` once a second, each chain judged by `judge` and observed by
/// `watch`, until it reaches a verdict; returns it, its reason and how long it took.
pub async fn watch(
    watch: &mut Watch,
    target: &Target,
    judge: impl Fn(&[CertificateDer<'static>]) -> Seen,
    mut on_wait: impl FnMut(&str),
) -> (Verdict, String, Duration) {
    let started = std::time::Instant::now();
    loop {
        let attempt = ATTEMPT.min(watch.timeout.saturating_sub(started.elapsed())).max(Duration::from_millis(500));
        let seen = match crate::served::served_chain(&target.url, target.tls_server_name.as_deref(), attempt).await {
            Ok(chain) => judge(&chain),
            Err(e) => Seen::NoChain(e),
        };
        match watch.observe(seen, started.elapsed()) {
            Next::Wait(msg) => {
                on_wait(&msg);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Next::Done(verdict, reason) => return (verdict, reason, started.elapsed()),
        }
    }
}

/// The first 4 bytes of a fingerprint, for lines.
fn short(sha256: &str) -> String {
    sha256.split(':').take(4).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, intermediate_signed_by, leaf_signed_by};

    #[test]
    fn verdict_words_are_serdes_names() {
        assert_eq!([Verdict::Passed, Verdict::Failed, Verdict::Skipped].map(Verdict::word), ["passed", "failed", "skipped"]);
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn watch(timeout: u64) -> Watch {
        Watch::new("https://10.0.0.1:6443", "kubectl pki status --tenant k8s -n tenant-a", REACH_BUDGET, S(timeout))
    }

    fn refused() -> Seen {
        Seen::NoChain(NoChain::Connect("Connection refused (os error 111)".into()))
    }

    fn served(issuer: Issuer) -> Seen {
        Seen::Served { sha256: "AB:CD:EF:01:23".into(), issuer }
    }

    #[test]
    fn the_new_ca_passes_at_once_even_after_restarts() {
        let mut w = watch(60);
        assert!(
            matches!(w.observe(served(Issuer::Old), S(1)), Next::Wait(m) if m.contains("still serves a certificate from the old CA (sha256 AB:CD:EF:01)"))
        );
        assert!(matches!(w.observe(refused(), S(3)), Next::Wait(m) if m.contains("restarting?")));
        let Next::Done(v, why) = w.observe(served(Issuer::New), S(20)) else { panic!() };
        assert_eq!(v, Verdict::Passed);
        assert_eq!(why, "https://10.0.0.1:6443 serves a certificate (sha256 AB:CD:EF:01) that chains to the new CA");
        let r = w.report(v, why, EndpointFrom::AdminKubeconfig);
        assert_eq!((r.attempts, r.served_sha256.as_deref()), (3, Some("AB:CD:EF:01:23")));
    }

    #[test]
    fn never_connected_within_the_budget_is_skipped_not_passed() {
        let mut w = watch(600);
        assert!(matches!(w.observe(refused(), S(1)), Next::Wait(_)));
        assert!(matches!(w.observe(refused(), S(9)), Next::Wait(_)));
        let Next::Done(v, why) = w.observe(refused(), S(10)) else { panic!() };
        assert_eq!(v, Verdict::Skipped);
        assert!(why.starts_with("https://10.0.0.1:6443 is not reachable from this machine (Connection refused"), "{why}");
        assert!(why.contains("3 attempt(s) over 10s") && why.contains("`kubectl pki status --tenant k8s -n tenant-a`"), "{why}");
        // A timeout shorter than the budget ends the wait too, still as skipped.
        let mut w = watch(4);
        let timed_out = Seen::NoChain(NoChain::Connect("no TCP connection within 3s".into()));
        assert!(matches!(w.observe(timed_out, S(4)), Next::Done(Verdict::Skipped, _)));
    }

    #[test]
    fn a_refused_connection_after_a_handshake_is_a_restart_not_unreachable() {
        let mut w = watch(30);
        w.observe(Seen::NoChain(NoChain::Handshake("TLS handshake: connection reset".into())), S(1));
        assert!(matches!(w.observe(refused(), S(15)), Next::Wait(_)), "reached once: not skipped after the budget");
        let Next::Done(v, why) = w.observe(refused(), S(30)) else { panic!() };
        assert_eq!(v, Verdict::Failed);
        assert!(why.contains("was reached but served no certificate since (last: Connection refused"), "{why}");
    }

    #[test]
    fn still_the_old_ca_at_the_timeout_fails_saying_so_and_how_to_check() {
        let mut w = watch(20);
        let Next::Done(v, why) = w.observe(served(Issuer::Old), S(21)) else { panic!() };
        assert_eq!(v, Verdict::Failed);
        assert!(why.starts_with("the tenant API at https://10.0.0.1:6443 still serves a certificate from the old CA (sha256 AB:CD:EF:01): its kube-apiserver"), "{why}");
        assert!(why.ends_with("check it with `kubectl pki status --tenant k8s -n tenant-a`"), "{why}");
        assert!(!why.contains('\n'));
        let mut w = watch(20);
        let Next::Done(Verdict::Failed, why) = w.observe(served(Issuer::Other(Refusal::Chain("signed by another key".into()))), S(20))
        else {
            panic!()
        };
        assert!(why.contains("that a TLS client trusting the new CA refuses (signed by another key)"), "{why}");
    }

    #[test]
    fn a_bad_url_is_skipped_at_once() {
        let mut w = watch(600);
        let seen = Seen::NoChain(NoChain::Url("http://x is plain HTTP: no serving certificate".into()));
        assert!(matches!(w.observe(seen, S(0)), Next::Done(Verdict::Skipped, m) if m.contains("plain HTTP")));
    }

    #[test]
    fn classifies_by_signature_new_then_old() {
        let (old, new, foreign) = (ca("kubernetes"), ca("kubernetes"), ca("kubernetes"));
        let der = |c: &kubectl_pki_testkit::TestCert| CertificateDer::from(c.der.clone());
        let on_new = leaf_signed_by("kube-apiserver", &new);
        let on_old = leaf_signed_by("kube-apiserver", &old);
        let is = |chain: &[CertificateDer<'_>], old_ca: Option<&[u8]>| match classify(
            chain,
            &new.der,
            old_ca,
            "kube-apiserver.example",
            Timestamp::now(),
        ) {
            Seen::Served { issuer, .. } => issuer,
            other => panic!("{other:?}"),
        };
        assert_eq!(is(&[der(&on_new)], Some(&old.der)), Issuer::New);
        assert_eq!(is(&[der(&on_old)], Some(&old.der)), Issuer::Old);
        assert!(matches!(is(&[der(&on_old)], None), Issuer::Other(_)), "old CA unknown: not claimed to be the old one");
        assert!(matches!(is(&[der(&leaf_signed_by("x", &foreign))], Some(&old.der)), Issuer::Other(_)));
        let mid = intermediate_signed_by("mid", &new);
        assert_eq!(is(&[der(&leaf_signed_by("kube-apiserver", &mid)), der(&mid)], None), Issuer::New);
        assert!(matches!(classify(&[], &new.der, None, "x", Timestamp::now()), Seen::NoChain(NoChain::Handshake(_))));
    }

    #[test]
    fn a_new_ca_chain_a_tls_client_refuses_does_not_pass() {
        use kubectl_pki_testkit::{PAST, between, in_days, params_for, with_params};
        let (old, new) = (ca("kubernetes"), ca("kubernetes"));
        let der = |c: &kubectl_pki_testkit::TestCert| CertificateDer::from(c.der.clone());
        let now = Timestamp::now();
        let is = |chain: &[CertificateDer<'_>], host: &str| match classify(chain, &new.der, Some(&old.der), host, now) {
            Seen::Served { issuer, .. } => issuer,
            other => panic!("{other:?}"),
        };
        let leaf = leaf_signed_by("kube-apiserver", &new);
        assert_eq!(is(&[der(&leaf)], "kube-apiserver.example"), Issuer::New);
        // Dates: an expired leaf of the new CA.
        let expired = with_params(between(params_for("kube-apiserver", false), PAST, in_days(-1)), Some(&new));
        assert!(matches!(is(&[der(&expired)], "kube-apiserver.example"), Issuer::Other(Refusal::Expired { .. })));
        // CA:true on the signers: a leaf signing a leaf.
        let not_ca = leaf_signed_by("not-a-ca", &new);
        let under = leaf_signed_by("kube-apiserver", &not_ca);
        assert!(matches!(is(&[der(&under), der(&not_ca)], "kube-apiserver.example"), Issuer::Other(Refusal::NotACa { .. })));
        // The host dialled must be a SAN.
        let Issuer::Other(refusal) = is(&[der(&leaf)], "10.0.0.1") else { panic!() };
        assert!(matches!(&refusal, Refusal::HostNotInSans { host, .. } if host == "10.0.0.1"), "{refusal:?}");
        let mut w = watch(60);
        let Next::Wait(line) = w.observe(Seen::Served { sha256: "AB".into(), issuer: Issuer::Other(refusal) }, S(1)) else { panic!() };
        assert!(line.ends_with("refuses (the certificate is valid for kube-apiserver.example, not for 10.0.0.1)"), "{line}");
        // The old CA is still recognised by signature.
        assert_eq!(is(&[der(&leaf_signed_by("kube-apiserver", &old))], "kube-apiserver.example"), Issuer::Old);
    }

    #[test]
    fn report_schema_words() {
        let r = LiveCheck {
            verdict: Verdict::Skipped,
            reason: "r".into(),
            endpoint: None,
            endpoint_from: Some(EndpointFrom::ControlPlaneEndpoint),
            served_sha256: None,
            attempts: 2,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"verdict": "skipped", "reason": "r", "endpoint": null, "endpointFrom": "control-plane-endpoint", "servedSha256": null, "attempts": 2})
        );
    }
}
