//! A tenant API's served certificate (`--tenant`): what the running
//! kube-apiserver presents, compared with what the tenant's secrets say it
//! should present. Users are locked out when the two disagree in the wrong
//! way, and Secrets that chain correctly cannot show it.
//!
//! Pure logic: choosing the endpoint and judging a recorded chain. The
//! handshake is `sources::server::served_chain`; the row is pushed by
//! `sources::tenant`.
//!
//! No I/O, no clap.

use jiff::Timestamp;
use serde::Serialize;

use crate::certs::chain::{ChainVerdict, chains_to};
use crate::certs::tls;

/// What the served-certificate check found; also the row's status when it
/// is the worst thing about the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServedVerdict {
    /// Served leaf = `apiserver.crt` of the secret, and it chains to the current CA.
    Ok,
    /// Served leaf differs from the secret but still chains to the current
    /// CA: the process has not restarted since the secret changed (a
    /// leaf-only renewal mid-rollout). Resolves by itself.
    PendingRestart,
    /// Served chain does not reach the tenant's current CA, or reaches it
    /// but a TLS client refuses it (a certificate of the path out of its
    /// dates, a signer without `CA:true`, the host dialled not in the
    /// leaf's SANs): clients with a kubeconfig of today are refused. Wins
    /// over `pending-restart`.
    Mismatch,
    /// No TLS handshake (no endpoint, refused, timeout...): not checked.
    Unreachable,
}

impl ServedVerdict {
    /// The word JSON, YAML and tables print.
    pub fn as_str(self) -> &'static str {
        crate::output::serde_name(&self)
    }
}

pub use crate::kamaji::endpoint::{EndpointFrom, Target, target};

/// The `served` field of a row (JSON/YAML schema); `null` on other rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Served {
    /// The URL dialled; `null` when no endpoint is known.
    pub endpoint: Option<String>,
    pub endpoint_from: Option<EndpointFrom>,
    pub verdict: ServedVerdict,
    /// SHA-256 (`AB:CD:...`) of `apiserver.crt` in `<tcp>-api-server-certificate`:
    /// what the next restart will serve. `null` when unreadable.
    pub secret_sha256: Option<String>,
}

/// What the served chain is compared with.
pub struct Expected<'a> {
    /// `<tcp>-api-server-certificate`, for messages.
    pub secret_name: &'a str,
    /// DER of the secret's `apiserver.crt` (first certificate), or why not.
    pub secret_leaf: Result<&'a [u8], String>,
    /// The tenant's current CA (`<tcp>-ca` `ca.crt`), or why it is unknown.
    pub roots: Result<&'a [Vec<u8>], String>,
    /// The host a client checks the leaf's SANs against ([`Target::host`]).
    pub host: &'a str,
    pub now: Timestamp,
}

/// The verdict on a served chain, with the chain verdict and message of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: ServedVerdict,
    pub chain: ChainVerdict,
    pub message: Option<String>,
}

/// `served` is the recorded chain, leaf first (never empty). `mismatch`
/// when it does not chain to the current CA, whatever the secret holds
/// (clients fail now); else `pending-restart` when the leaf is not the
/// secret's; else `ok`. An unknown CA leaves the chain `unverified` (as for
/// every tenant row) and only the secret comparison decides.
pub fn judge(served: &[impl AsRef<[u8]>], expected: &Expected<'_>) -> Judgement {
    let Some((leaf, intermediates)) = served.split_first() else {
        return Judgement {
            verdict: ServedVerdict::Unreachable,
            chain: ChainVerdict::NotChecked,
            message: Some("unreachable: the server sent no certificate".into()),
        };
    };
    let leaf = leaf.as_ref();
    let secret = expected.secret_name;
    let differs = expected.secret_leaf.as_ref().ok().map(|s| *s != leaf);
    let mut notes = Vec::new();
    let (chain, ca_known) = match &expected.roots {
        Ok(roots) => (chains_to(leaf, intermediates, roots), true),
        Err(reason) => (ChainVerdict::Unverified { reason: reason.clone() }, false),
    };
    let verdict = match (&chain, ca_known, differs) {
        (ChainVerdict::Unverified { reason }, true, _) => {
            notes.push(format!(
                "served certificate does not chain to the current CA ({reason}): clients that trust the current CA are refused"
            ));
            notes.push(match differs {
                Some(true) => format!("the API server has not restarted since {secret} changed"),
                Some(false) => format!("{secret} holds this same certificate: a restart will not fix it"),
                None => String::new(),
            });
            ServedVerdict::Mismatch
        }
        (ChainVerdict::Verified { .. }, true, _) if let Some(refusal) = refusal(served, expected) => {
            notes.push(format!("served certificate chains to the current CA but TLS clients refuse it: {refusal}"));
            ServedVerdict::Mismatch
        }
        (_, _, Some(true)) => {
            notes.push(format!("served certificate differs from {secret}: the API server has not restarted since the secret changed"));
            ServedVerdict::PendingRestart
        }
        _ => ServedVerdict::Ok,
    };
    if let ChainVerdict::Unverified { reason } = &chain
        && !ca_known
    {
        notes.push(reason.clone());
    }
    if let Err(why) = &expected.secret_leaf {
        notes.push(format!("not compared with {secret}: {why}"));
    }
    notes.retain(|n| !n.is_empty());
    Judgement { verdict, chain, message: (!notes.is_empty()).then(|| notes.join("; ")) }
}

/// What a TLS client dialling the endpoint objects to, beyond signatures ([`tls::check`]).
fn refusal(served: &[impl AsRef<[u8]>], expected: &Expected<'_>) -> Option<tls::Refusal> {
    let roots = expected.roots.as_ref().ok()?;
    tls::check(served, roots, expected.host, expected.now).err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, intermediate_signed_by, leaf_signed_by};

    fn expected<'a>(leaf: Result<&'a [u8], String>, roots: Result<&'a [Vec<u8>], String>) -> Expected<'a> {
        Expected {
            secret_name: "k8s-api-server-certificate",
            secret_leaf: leaf,
            roots,
            host: "kube-apiserver.example",
            now: Timestamp::now(),
        }
    }

    #[test]
    fn served_as_in_the_secret_and_chaining_is_ok() {
        let ca = ca("kubernetes");
        let leaf = leaf_signed_by("kube-apiserver", &ca);
        let roots = vec![ca.der.clone()];
        let j = judge(&[&leaf.der], &expected(Ok(&leaf.der), Ok(&roots)));
        assert_eq!(j, Judgement { verdict: ServedVerdict::Ok, chain: ChainVerdict::Verified { to: "kubernetes".into() }, message: None });
    }

    #[test]
    fn a_renewed_leaf_not_yet_served_is_pending_restart() {
        let ca = ca("kubernetes");
        let (old, new) = (leaf_signed_by("kube-apiserver", &ca), leaf_signed_by("kube-apiserver", &ca));
        let roots = vec![ca.der.clone()];
        let j = judge(&[&old.der], &expected(Ok(&new.der), Ok(&roots)));
        assert_eq!(j.verdict, ServedVerdict::PendingRestart);
        assert_eq!(j.chain.word(), "verified");
        assert!(j.message.unwrap().contains("has not restarted since the secret changed"));
    }

    #[test]
    fn an_old_ca_served_after_rotation_is_mismatch_not_pending_restart() {
        let (old_ca, new_ca) = (ca("kubernetes"), ca("kubernetes"));
        let served = leaf_signed_by("kube-apiserver", &old_ca);
        let in_secret = leaf_signed_by("kube-apiserver", &new_ca);
        let roots = vec![new_ca.der.clone()];
        let j = judge(&[&served.der], &expected(Ok(&in_secret.der), Ok(&roots)));
        assert_eq!(j.verdict, ServedVerdict::Mismatch, "mismatch is the more severe");
        assert_eq!(j.chain.word(), "unverified");
        let msg = j.message.unwrap();
        assert!(msg.contains("does not chain to the current CA") && msg.contains("another key"), "{msg}");
        assert!(msg.contains("not restarted since k8s-api-server-certificate changed"), "{msg}");
    }

    #[test]
    fn a_stale_secret_served_faithfully_is_mismatch_that_no_restart_fixes() {
        let (old_ca, new_ca) = (ca("kubernetes"), ca("kubernetes"));
        let leaf = leaf_signed_by("kube-apiserver", &old_ca);
        let roots = vec![new_ca.der.clone()];
        let j = judge(&[&leaf.der], &expected(Ok(&leaf.der), Ok(&roots)));
        assert_eq!(j.verdict, ServedVerdict::Mismatch);
        assert!(j.message.unwrap().contains("a restart will not fix it"));
    }

    #[test]
    fn served_intermediates_complete_the_chain() {
        let root = ca("kubernetes");
        let mid = intermediate_signed_by("mid", &root);
        let leaf = leaf_signed_by("kube-apiserver", &mid);
        let roots = vec![root.der.clone()];
        let j = judge(&[&leaf.der, &mid.der], &expected(Ok(&leaf.der), Ok(&roots)));
        assert_eq!(j.verdict, ServedVerdict::Ok);
        assert_eq!(judge(&[&leaf.der], &expected(Ok(&leaf.der), Ok(&roots))).verdict, ServedVerdict::Mismatch);
    }

    #[test]
    fn unknown_ca_or_secret_are_said_not_guessed() {
        let ca = ca("kubernetes");
        let (old, new) = (leaf_signed_by("a", &ca), leaf_signed_by("b", &ca));
        let j = judge(&[&old.der], &expected(Ok(&new.der), Err("CA secret k8s-ca not found".into())));
        assert_eq!(j.verdict, ServedVerdict::PendingRestart);
        assert_eq!(j.chain, ChainVerdict::Unverified { reason: "CA secret k8s-ca not found".into() });
        assert!(j.message.unwrap().contains("k8s-ca not found"));
        let roots = vec![ca.der.clone()];
        let j = judge(&[&old.der], &Expected { host: "a.example", ..expected(Err("secret not found".into()), Ok(&roots)) });
        assert_eq!(j.verdict, ServedVerdict::Ok);
        assert_eq!(j.message.as_deref(), Some("not compared with k8s-api-server-certificate: secret not found"));
        let none: [&[u8]; 0] = [];
        assert_eq!(judge(&none, &expected(Ok(&old.der), Ok(&roots))).verdict, ServedVerdict::Unreachable);
    }

    #[test]
    fn a_chain_clients_refuse_is_mismatch_with_the_rule_named() {
        use kubectl_pki_testkit::{PAST, between, in_days, params_for, with_params};
        let ca = ca("kubernetes");
        let roots = vec![ca.der.clone()];
        let leaf = leaf_signed_by("kube-apiserver", &ca);
        // The host dialled is not a SAN of the served leaf.
        let other_host = Expected { host: "10.0.0.1", ..expected(Ok(&leaf.der), Ok(&roots)) };
        let j = judge(&[&leaf.der], &other_host);
        assert_eq!((j.verdict, j.chain.word()), (ServedVerdict::Mismatch, "verified"));
        let msg = j.message.unwrap();
        assert!(msg.contains("TLS clients refuse it: the certificate is valid for kube-apiserver.example, not for 10.0.0.1"), "{msg}");
        // An expired intermediate served with a fresh leaf.
        let mid = with_params(between(params_for("mid", true), PAST, in_days(-1)), Some(&ca));
        let under = leaf_signed_by("kube-apiserver", &mid);
        let j = judge(&[&under.der, &mid.der], &expected(Ok(&under.der), Ok(&roots)));
        assert_eq!(j.verdict, ServedVerdict::Mismatch);
        assert!(j.message.unwrap().contains("CN=mid expired at"));
        // A signer that is not a CA.
        let not_ca = leaf_signed_by("not-a-ca", &ca);
        let under = leaf_signed_by("kube-apiserver", &not_ca);
        let j = judge(&[&under.der, &not_ca.der], &expected(Ok(&under.der), Ok(&roots)));
        assert_eq!(j.verdict, ServedVerdict::Mismatch);
        assert!(j.message.unwrap().contains("CN=not-a-ca signs the chain but is not a CA"));
    }

    #[test]
    fn schema_words() {
        let s = Served {
            endpoint: None,
            endpoint_from: Some(EndpointFrom::AdminKubeconfig),
            verdict: ServedVerdict::PendingRestart,
            secret_sha256: None,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"endpoint": null, "endpointFrom": "admin-kubeconfig", "verdict": "pending-restart", "secretSha256": null})
        );
        assert_eq!(ServedVerdict::Mismatch.as_str(), "mismatch");
    }
}
