//! Chain verification by signature, not by name: after a CA rotation the
//! old and new CA usually share the subject (`CN=kubernetes`), so only the
//! signature tells a stale leaf from a fresh one. Validity dates are judged
//! separately (`certs::status`).
//!
//! No I/O, no clap.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::ParsedExtension;

/// How a certificate relates to the CAs it was checked against. Serialized
/// as `{"verdict": "verified", "to": "..."}` etc.: part of the JSON schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum ChainVerdict {
    /// Signed, possibly through intermediates, by a trusted CA (named by
    /// its CN), or is that CA itself.
    Verified { to: String },
    /// Checked against trusted CAs and not signed by any of them.
    Unverified { reason: String },
    /// No CA to check against, and the certificate signs itself.
    SelfSigned,
    /// No CA to check against.
    NotChecked,
}

impl ChainVerdict {
    /// The short word a table shows.
    pub fn word(&self) -> &'static str {
        match self {
            ChainVerdict::Verified { .. } => "verified",
            ChainVerdict::Unverified { .. } => "unverified",
            ChainVerdict::SelfSigned => "self-signed",
            ChainVerdict::NotChecked => "-",
        }
    }
}

impl fmt::Display for ChainVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainVerdict::Verified { to } => write!(f, "verified ({to})"),
            ChainVerdict::Unverified { reason } => write!(f, "unverified: {reason}"),
            other => f.write_str(other.word()),
        }
    }
}

/// Whether `issuer_der`'s key signed `cert_der`.
pub fn verify_signed_by(cert_der: &[u8], issuer_der: &[u8]) -> bool {
    match (parse(cert_der), parse(issuer_der)) {
        (Some(cert), Some(issuer)) => signed_by(&cert, &issuer) == Signature::Valid,
        _ => false,
    }
}

/// Whether the certificate verifies with its own key.
pub fn is_self_signed(cert_der: &[u8]) -> bool {
    parse(cert_der).is_some_and(|c| self_signed(&c))
}

/// Signature checks one chain search may make: past it the search gives up
/// (`unverified`, saying so). Go's crypto/x509 bounds one verification
/// the same way (`maxChainSignatureChecks`, 100) against crafted bundles
/// of many same-named certificates; a Kubernetes chain needs one or two
/// per step (the old and the new CA share a name after a rotation).
pub const MAX_SIGNATURE_CHECKS: usize = 32;

/// Walks from `leaf` through `intermediates` (any order) to one of `roots`.
pub fn chains_to(leaf: &[u8], intermediates: &[impl AsRef<[u8]>], roots: &[impl AsRef<[u8]>]) -> ChainVerdict {
    let ders = std::iter::once(leaf).chain(intermediates.iter().map(AsRef::as_ref)).chain(roots.iter().map(AsRef::as_ref));
    let mut pool = Pool::new(ders.map(Some));
    if pool.get(0).is_none() {
        return ChainVerdict::Unverified { reason: "not a parsable certificate".into() };
    }
    let k = intermediates.len();
    pool.chain(0, &(1..=k).collect::<Vec<_>>(), &(k + 1..k + 1 + roots.len()).collect::<Vec<_>>())
}

/// Certificates parsed once, to judge many of them against each other: a
/// bundle of thousands is not parsed again for every member, and a
/// signature checked once is not checked again. Chain searches name
/// certificates by their index in the pool.
///
/// Parents are looked up by name (the issuer's subject, byte for byte, as
/// Go and OpenSSL do), through an index, and those whose subject key
/// identifier is the certificate's authority key identifier are tried
/// first: a chain of n certificates costs about n signature checks, and
/// no search more than [`MAX_SIGNATURE_CHECKS`].
pub struct Pool<'a> {
    certs: Vec<Option<X509Certificate<'a>>>,
    by_subject: HashMap<Vec<u8>, Vec<usize>>,
    subject_key_id: Vec<Option<Vec<u8>>>,
    authority_key_id: Vec<Option<Vec<u8>>>,
    /// What each certificate is in the search under way ([`Role`] bits).
    roles: Vec<u8>,
    memo: HashMap<(usize, usize), Signature>,
    checks: usize,
}

/// Bits of [`Pool::roles`].
struct Role;

impl Role {
    const ROOT: u8 = 1;
    const INTERMEDIATE: u8 = 2;
    const USED: u8 = 4;
}

impl<'a> Pool<'a> {
    /// `None` for bytes that do not parse (or no bytes).
    pub fn new(ders: impl IntoIterator<Item = Option<&'a [u8]>>) -> Pool<'a> {
        let certs: Vec<Option<X509Certificate<'a>>> = ders.into_iter().map(|d| d.and_then(parse)).collect();
        let mut by_subject: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (i, c) in certs.iter().enumerate() {
            if let Some(c) = c {
                by_subject.entry(c.subject().as_raw().to_vec()).or_default().push(i);
            }
        }
        let subject_key_id = certs.iter().map(|c| c.as_ref().and_then(subject_key_id)).collect();
        let authority_key_id = certs.iter().map(|c| c.as_ref().and_then(authority_key_id)).collect();
        let roles = vec![0; certs.len()];
        Pool { certs, by_subject, subject_key_id, authority_key_id, roles, memo: HashMap::new(), checks: 0 }
    }

    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The parsed certificate at `i`, if it parsed.
    pub fn get(&self, i: usize) -> Option<&X509Certificate<'a>> {
        self.certs.get(i).and_then(Option::as_ref)
    }

    /// Signatures verified so far (each pair once).
    pub fn signature_checks(&self) -> usize {
        self.checks
    }

    /// Whether the certificate at `i` names itself as issuer and verifies with its own key.
    pub fn self_signed(&mut self, i: usize) -> bool {
        match self.get(i) {
            Some(c) if c.subject().as_raw() == c.issuer().as_raw() => self.signed(i, i) == Signature::Valid,
            _ => false,
        }
    }

    /// [`chains_to`] on pool indexes.
    pub fn chain(&mut self, leaf: usize, intermediates: &[usize], roots: &[usize]) -> ChainVerdict {
        match self.path(leaf, intermediates, roots) {
            Ok(path) => ChainVerdict::Verified { to: path.last().and_then(|&r| self.get(r)).map(name).unwrap_or_default() },
            Err(verdict) => verdict,
        }
    }

    /// The path from `leaf` to one of `roots` (pool indexes, leaf first,
    /// the root last; only the leaf when it is one of the roots), or the
    /// verdict saying why there is none.
    pub fn path(&mut self, leaf: usize, intermediates: &[usize], roots: &[usize]) -> Result<Vec<usize>, ChainVerdict> {
        let Some(cert) = self.get(leaf) else {
            return Err(ChainVerdict::Unverified { reason: "not a parsable certificate".into() });
        };
        let roots: Vec<usize> = roots.iter().copied().filter(|&r| self.get(r).is_some()).collect();
        if roots.is_empty() {
            return Err(if self.self_signed(leaf) { ChainVerdict::SelfSigned } else { ChainVerdict::NotChecked });
        }
        if let Some(&root) = roots.iter().find(|&&r| self.get(r).is_some_and(|r| same_certificate(r, cert))) {
            return Ok(vec![root]);
        }
        let len = self.roles.len();
        for &i in intermediates.iter().filter(|&&i| i < len) {
            self.roles[i] |= Role::INTERMEDIATE;
        }
        for &r in &roots {
            self.roles[r] |= Role::ROOT;
        }
        let found = self.walk(leaf);
        for &i in intermediates.iter().chain(&roots).filter(|&&i| i < len) {
            self.roles[i] = 0;
        }
        found.map_err(|stop| {
            let reason = match stop {
                Stop::Budget(top) => {
                    let issuer = self.get(top).map(|c| c.issuer().to_string()).unwrap_or_default();
                    format!(
                        "gave up after {MAX_SIGNATURE_CHECKS} signature checks: too many certificates named {issuer} could have signed it (a crafted bundle?)"
                    )
                }
                Stop::NoIssuer { top, unsupported } => self.failure_reason(leaf, top, &roots, unsupported),
            };
            ChainVerdict::Unverified { reason }
        })
    }

    /// Greedy search from `leaf` over the certificates [`Pool::path`] marked.
    fn walk(&mut self, leaf: usize) -> Result<Vec<usize>, Stop> {
        let mut budget = MAX_SIGNATURE_CHECKS;
        let mut path = vec![leaf];
        let mut current = leaf;
        let mut unsupported = false;
        loop {
            let candidates = self.candidates(current);
            let roots: Vec<usize> = candidates.iter().copied().filter(|&c| self.roles[c] & Role::ROOT != 0).collect();
            let unused: Vec<usize> =
                candidates.iter().copied().filter(|&c| self.roles[c] & (Role::INTERMEDIATE | Role::USED) == Role::INTERMEDIATE).collect();
            for root in roots {
                if budget == 0 {
                    return Err(Stop::Budget(current));
                }
                budget -= 1;
                match self.signed(current, root) {
                    Signature::Valid => {
                        path.push(root);
                        return Ok(path);
                    }
                    Signature::Unsupported => unsupported = true,
                    Signature::Invalid => {}
                }
            }
            let mut next = None;
            for c in unused {
                if matches!((self.get(c), self.get(current)), (Some(a), Some(b)) if same_certificate(a, b)) {
                    continue;
                }
                if budget == 0 {
                    return Err(Stop::Budget(current));
                }
                budget -= 1;
                if self.signed(current, c) == Signature::Valid {
                    next = Some(c);
                    break;
                }
            }
            match next {
                Some(c) => {
                    self.roles[c] |= Role::USED;
                    path.push(c);
                    current = c;
                }
                None => return Err(Stop::NoIssuer { top: current, unsupported }),
            }
        }
    }

    /// The certificates named as `i`'s issuer: those whose key identifier
    /// is its authority key identifier first, then those without one, then the rest.
    fn candidates(&self, i: usize) -> Vec<usize> {
        let Some(cert) = self.get(i) else { return Vec::new() };
        let mut found = self.by_subject.get(cert.issuer().as_raw()).cloned().unwrap_or_default();
        if let Some(aki) = &self.authority_key_id[i] {
            found.sort_by_key(|&c| match &self.subject_key_id[c] {
                Some(ski) if ski == aki => 0,
                None => 1,
                Some(_) => 2,
            });
        }
        found
    }

    /// Whether `issuer`'s key signed `cert`, checked once per pair.
    fn signed(&mut self, cert: usize, issuer: usize) -> Signature {
        if let Some(&known) = self.memo.get(&(cert, issuer)) {
            return known;
        }
        let result = match (self.get(cert), self.get(issuer)) {
            (Some(c), Some(i)) => signed_by(c, i),
            _ => Signature::Invalid,
        };
        self.checks += 1;
        self.memo.insert((cert, issuer), result);
        result
    }

    fn failure_reason(&self, leaf: usize, top: usize, roots: &[usize], unsupported: bool) -> String {
        let roots: Vec<&X509Certificate<'_>> = roots.iter().filter_map(|&r| self.get(r)).collect();
        match (self.get(leaf), self.get(top)) {
            (Some(leaf), Some(top)) => failure_reason(leaf, top, &roots, unsupported),
            _ => "not a parsable certificate".into(),
        }
    }
}

/// Why a search ended without a root.
enum Stop {
    /// [`MAX_SIGNATURE_CHECKS`] spent, at this certificate.
    Budget(usize),
    /// No candidate signed this certificate.
    NoIssuer { top: usize, unsupported: bool },
}

fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
        _ => None,
    })
}

fn authority_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref().map(|id| id.0.to_vec()),
        _ => None,
    })
}

fn failure_reason(leaf: &X509Certificate<'_>, top: &X509Certificate<'_>, roots: &[&X509Certificate<'_>], unsupported: bool) -> String {
    let expected = roots.iter().map(|r| name(r)).collect::<Vec<_>>().join(", ");
    if unsupported {
        return format!("cannot check the signature algorithm against {expected}");
    }
    if self_signed(leaf) {
        return format!("self-signed, not the expected CA {expected}");
    }
    let issuer = top.issuer().to_string();
    if roots.iter().any(|r| r.subject().as_raw() == top.issuer().as_raw()) {
        format!("issuer {issuer} has the expected name but another key (signed by an old or different CA)")
    } else {
        format!("issued by {issuer}, not by {expected}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    Valid,
    Invalid,
    Unsupported,
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Signature {
    match cert.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Signature::Valid,
        Err(X509Error::SignatureUnsupportedAlgorithm) => Signature::Unsupported,
        Err(_) => Signature::Invalid,
    }
}

/// Whether the parsed certificate names itself as issuer and verifies with its own key.
pub fn self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw() && cert.verify_signature(None).is_ok()
}

/// Same certificate, or a re-issue of the same CA (same name and key).
fn same_certificate(a: &X509Certificate<'_>, b: &X509Certificate<'_>) -> bool {
    a.as_raw() == b.as_raw() || (a.subject().as_raw() == b.subject().as_raw() && a.public_key().raw == b.public_key().raw)
}

fn name(cert: &X509Certificate<'_>) -> String {
    cert.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).map_or_else(|| cert.subject().to_string(), str::to_owned)
}

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    x509_parser::parse_x509_certificate(der).ok().map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{TestCert, ca, intermediate_signed_by, leaf_signed_by, named, with_params};

    const NONE: &[&[u8]] = &[];

    #[test]
    fn leaf_verifies_against_its_ca_only() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("apiserver", &root);
        assert!(verify_signed_by(&leaf.der, &root.der));
        assert!(!verify_signed_by(&root.der, &leaf.der));
        assert_eq!(chains_to(&leaf.der, NONE, &[&root.der]), ChainVerdict::Verified { to: "kubernetes".into() });
    }

    #[test]
    fn a_rotated_ca_with_the_same_name_does_not_verify_old_leaves() {
        let old = ca("kubernetes");
        let new = ca("kubernetes");
        let leaf = leaf_signed_by("apiserver", &old);
        let ChainVerdict::Unverified { reason } = chains_to(&leaf.der, NONE, &[&new.der]) else { panic!() };
        assert!(reason.contains("another key"), "{reason}");
    }

    #[test]
    fn walks_intermediates_in_any_order() {
        let root = ca("root");
        let mid1 = intermediate_signed_by("mid1", &root);
        let mid2 = intermediate_signed_by("mid2", &mid1);
        let leaf = leaf_signed_by("leaf", &mid2);
        let verdict = chains_to(&leaf.der, &[&mid1.der, &mid2.der], &[&root.der]);
        assert_eq!(verdict, ChainVerdict::Verified { to: "root".into() });
        let ChainVerdict::Unverified { reason } = chains_to(&leaf.der, &[&mid1.der], &[&root.der]) else { panic!() };
        assert!(reason.contains("issued by CN=mid2"), "{reason}");
    }

    #[test]
    fn self_signed_and_not_checked_without_roots() {
        let root = ca("root");
        let leaf = leaf_signed_by("leaf", &root);
        assert_eq!(chains_to(&root.der, NONE, NONE), ChainVerdict::SelfSigned);
        assert_eq!(chains_to(&leaf.der, NONE, NONE), ChainVerdict::NotChecked);
        assert!(is_self_signed(&root.der) && !is_self_signed(&leaf.der));
    }

    #[test]
    fn a_root_is_verified_against_itself_and_another_root_is_not() {
        let root = ca("root");
        let other = ca("other");
        assert_eq!(chains_to(&root.der, NONE, &[&root.der]), ChainVerdict::Verified { to: "root".into() });
        let ChainVerdict::Unverified { reason } = chains_to(&other.der, NONE, &[&root.der]) else { panic!() };
        assert!(reason.starts_with("self-signed"), "{reason}");
    }

    #[test]
    fn rsa_chain_made_with_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let ok = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success();
            assert!(ok, "openssl {args:?}");
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3",
            "-subj",
            "/CN=rsa-root",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        run(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rsa-leaf", "-keyout", "leaf.key", "-out", "leaf.csr"]);
        run(&["x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "leaf.crt"]);
        let read = |f: &str| crate::certs::parse::certificates_in(&std::fs::read(dir.path().join(f)).unwrap()).unwrap().remove(0);
        let (root, leaf) = (read("ca.crt"), read("leaf.crt"));
        assert_eq!(chains_to(&leaf, NONE, &[&root]), ChainVerdict::Verified { to: "rsa-root".into() });
        assert!(!verify_signed_by(&leaf, &leaf));
    }

    /// A crafted bundle: `n` certificates all named CN=x, each signed by the
    /// previous one (the first is a self-signed root), without authority
    /// key identifiers: searched in this order, each parent is the last
    /// candidate tried.
    fn same_named_chain(n: usize) -> Vec<TestCert> {
        let mut chain = vec![with_params(named("x", true), None)];
        for _ in 1..n {
            let next = with_params(named("x", true), chain.last());
            chain.push(next);
        }
        chain
    }

    #[test]
    fn same_named_certificates_cost_a_bounded_number_of_signature_checks() {
        let n = 120;
        let chain = same_named_chain(n);
        let mut pool = Pool::new(chain.iter().map(|c| Some(c.der.as_slice())));
        let root = 0;
        let verdicts: Vec<ChainVerdict> = (0..n)
            .map(|leaf| {
                let others: Vec<usize> = (0..n).filter(|&o| o != leaf && o != root).collect();
                pool.chain(leaf, &others, &[root])
            })
            .collect();
        // Each search stops at its budget: n^2 (let alone the n^3 of trying
        // every candidate at every step for every leaf) is never reached.
        let bound = n * (MAX_SIGNATURE_CHECKS + 1);
        assert!(pool.signature_checks() <= bound, "{} signature checks, bound {bound}", pool.signature_checks());
        assert!(bound < n * n);
        // Near the root the chains verify; deep ones say the search gave up.
        assert_eq!(verdicts[root], ChainVerdict::Verified { to: "x".into() });
        assert_eq!(verdicts[1], ChainVerdict::Verified { to: "x".into() });
        assert_eq!(verdicts[2], ChainVerdict::Verified { to: "x".into() });
        let ChainVerdict::Unverified { reason } = &verdicts[n - 1] else { panic!("{:?}", verdicts[n - 1]) };
        assert!(reason.starts_with("gave up after 32 signature checks: too many certificates named CN=x"), "{reason}");
        assert!(verdicts.iter().all(|v| matches!(v, ChainVerdict::Verified { .. } | ChainVerdict::Unverified { .. })));
    }

    #[test]
    fn key_identifiers_find_the_parent_first_among_same_named_cas() {
        // 40 CAs named `kubernetes` (rotations, other clusters): the leaf's
        // authority key identifier picks its own at the first check.
        let cas: Vec<TestCert> = (0..40).map(|_| ca("kubernetes")).collect();
        let leaf = leaf_signed_by("apiserver", &cas[39]);
        let mut pool = Pool::new(std::iter::once(Some(leaf.der.as_slice())).chain(cas.iter().map(|c| Some(c.der.as_slice()))));
        let roots: Vec<usize> = (1..=40).collect();
        assert_eq!(pool.chain(0, &[], &roots), ChainVerdict::Verified { to: "kubernetes".into() });
        assert_eq!(pool.signature_checks(), 1);
    }

    #[test]
    fn verdict_serializes_with_a_tag() {
        let v = serde_json::to_value(ChainVerdict::Verified { to: "ca".into() }).unwrap();
        assert_eq!(v, serde_json::json!({"verdict": "verified", "to": "ca"}));
        let v = serde_json::to_value(ChainVerdict::NotChecked).unwrap();
        assert_eq!(v, serde_json::json!({"verdict": "not-checked"}));
    }
}
