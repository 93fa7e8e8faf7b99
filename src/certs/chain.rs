//! Chain verification by signature, not by name: after a CA rotation the
//! old and new CA usually share the subject (`CN=kubernetes`), so only the
//! signature tells a stale leaf from a fresh one. Validity dates are judged
//! separately (`certs::status`).
//!
//! No I/O, no clap.

use std::fmt;

use serde::Serialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;

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

/// Walks from `leaf` through `intermediates` (any order) to one of `roots`.
pub fn chains_to(leaf: &[u8], intermediates: &[impl AsRef<[u8]>], roots: &[impl AsRef<[u8]>]) -> ChainVerdict {
    let Some(leaf) = parse(leaf) else {
        return ChainVerdict::Unverified { reason: "not a parsable certificate".into() };
    };
    let roots: Vec<X509Certificate<'_>> = roots.iter().filter_map(|r| parse(r.as_ref())).collect();
    let intermediates: Vec<X509Certificate<'_>> = intermediates.iter().filter_map(|i| parse(i.as_ref())).collect();
    chains_to_parsed(&leaf, &intermediates.iter().collect::<Vec<_>>(), &roots.iter().collect::<Vec<_>>())
}

/// Certificates parsed once, to judge many of them against each other: a
/// bundle of thousands is not parsed again for every member. `None` for
/// bytes that do not parse.
pub fn parse_all<'a>(ders: impl IntoIterator<Item = Option<&'a [u8]>>) -> Vec<Option<X509Certificate<'a>>> {
    ders.into_iter().map(|d| d.and_then(parse)).collect()
}

/// [`chains_to`] on parsed certificates. Only certificates whose subject is
/// the current certificate's issuer (byte for byte, as Go and OpenSSL look
/// parents up) are tried by signature, so a bundle of n certificates costs
/// n name comparisons per step, not n signature checks.
pub fn chains_to_parsed(
    leaf: &X509Certificate<'_>,
    intermediates: &[&X509Certificate<'_>],
    roots: &[&X509Certificate<'_>],
) -> ChainVerdict {
    if roots.is_empty() {
        return if self_signed(leaf) { ChainVerdict::SelfSigned } else { ChainVerdict::NotChecked };
    }
    if let Some(root) = roots.iter().find(|r| same_certificate(r, leaf)) {
        return ChainVerdict::Verified { to: name(root) };
    }
    let issued = |cert: &X509Certificate<'_>, by: &X509Certificate<'_>| by.subject().as_raw() == cert.issuer().as_raw();
    let mut used = vec![false; intermediates.len()];
    let mut current = leaf;
    let mut unsupported = false;
    for _ in 0..=intermediates.len() {
        for root in roots.iter().filter(|r| issued(current, r)) {
            match signed_by(current, root) {
                Signature::Valid => return ChainVerdict::Verified { to: name(root) },
                Signature::Unsupported => unsupported = true,
                Signature::Invalid => {}
            }
        }
        let next = intermediates
            .iter()
            .enumerate()
            .find(|(i, c)| !used[*i] && issued(current, c) && !same_certificate(c, current) && signed_by(current, c) == Signature::Valid);
        match next {
            Some((i, c)) => {
                used[i] = true;
                current = c;
            }
            None => break,
        }
    }
    ChainVerdict::Unverified { reason: failure_reason(leaf, current, roots, unsupported) }
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

#[derive(Debug, PartialEq, Eq)]
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
    use kubectl_pki_testkit::{ca, intermediate_signed_by, leaf_signed_by};

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

    #[test]
    fn verdict_serializes_with_a_tag() {
        let v = serde_json::to_value(ChainVerdict::Verified { to: "ca".into() }).unwrap();
        assert_eq!(v, serde_json::json!({"verdict": "verified", "to": "ca"}));
        let v = serde_json::to_value(ChainVerdict::NotChecked).unwrap();
        assert_eq!(v, serde_json::json!({"verdict": "not-checked"}));
    }
}
