//! What a TLS client checks of a served chain beyond signatures, as Go's
//! crypto/x509 (kubectl, client-go) does: every certificate of the path
//! valid now, the certificates that sign (intermediates and the issuing
//! CA) marked `CA:true`, and the host dialled among the leaf's subject
//! alternative names (DNS names, or IP addresses for an IP; the CN is not
//! consulted, as Go stopped doing in 1.15). A chain that only verifies by
//! signature would pass where kubectl is refused.
//!
//! No I/O, no clap.

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::chain::{ChainVerdict, Pool};
use super::info;
use crate::output::clean_cell;

/// Why a TLS client refuses the served chain: one variant per rule.
/// Subjects and names come from the served certificate; [`fmt::Display`]
/// escapes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The signatures do not reach the trusted CA (the chain verdict's reason).
    Chain(String),
    /// A certificate of the path is not valid yet.
    NotYetValid { subject: String, not_before: Timestamp },
    /// A certificate of the path has expired.
    Expired { subject: String, not_after: Timestamp },
    /// An intermediate, or the CA that issued the path, lacks `CA:true`.
    NotACa { subject: String },
    /// The host dialled is not among the leaf's subject alternative names.
    HostNotInSans { host: String, sans: Vec<String> },
    /// A certificate of the path does not parse.
    Unparsable,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Chain(reason) => f.write_str(&clean_cell(reason)),
            Refusal::NotYetValid { subject, not_before } => write!(f, "{} is not valid before {not_before}", clean_cell(subject)),
            Refusal::Expired { subject, not_after } => write!(f, "{} expired at {not_after}", clean_cell(subject)),
            Refusal::NotACa { subject } => {
                write!(f, "{} signs the chain but is not a CA (no basicConstraints CA:true)", clean_cell(subject))
            }
            Refusal::HostNotInSans { host, sans } if sans.is_empty() => {
                write!(f, "the certificate has no DNS or IP subject alternative name, so it is not valid for {}", clean_cell(host))
            }
            Refusal::HostNotInSans { host, sans } => {
                write!(f, "the certificate is valid for {}, not for {}", clean_cell(&sans.join(", ")), clean_cell(host))
            }
            Refusal::Unparsable => f.write_str("a certificate of the chain does not parse"),
        }
    }
}

/// `served` (leaf first, as the server sent it) against `roots` for a
/// client that dialled `host` (the TLS server name, else the URL's host)
/// at `now`: the name of the CA it chains to, or why a client refuses it.
pub fn check(served: &[impl AsRef<[u8]>], roots: &[impl AsRef<[u8]>], host: &str, now: Timestamp) -> Result<String, Refusal> {
    let mut pool = Pool::new(served.iter().map(|c| Some(c.as_ref())).chain(roots.iter().map(|r| Some(r.as_ref()))));
    if served.is_empty() || pool.get(0).is_none() {
        return Err(Refusal::Unparsable);
    }
    let intermediates: Vec<usize> = (1..served.len()).collect();
    let root_indexes: Vec<usize> = (served.len()..pool.len()).collect();
    let path = match pool.path(0, &intermediates, &root_indexes) {
        Ok(path) => path,
        Err(ChainVerdict::Unverified { reason }) => return Err(Refusal::Chain(reason)),
        Err(other) => return Err(Refusal::Chain(other.to_string())),
    };
    // Only the leaf when it is the trusted certificate itself (pinned): no CA to check.
    let certs: Vec<&X509Certificate<'_>> = std::iter::once(0).chain(path.iter().copied().skip(1)).filter_map(|i| pool.get(i)).collect();
    for (position, cert) in certs.iter().enumerate() {
        let subject = cert.subject().to_string();
        let validity = cert.validity();
        let (not_before, not_after) = match (info::timestamp(&validity.not_before), info::timestamp(&validity.not_after)) {
            (Ok(b), Ok(a)) => (b, a),
            _ => return Err(Refusal::Unparsable),
        };
        if now < not_before {
            return Err(Refusal::NotYetValid { subject, not_before });
        }
        if now > not_after {
            return Err(Refusal::Expired { subject, not_after });
        }
        if position > 0 && !cert.is_ca() {
            return Err(Refusal::NotACa { subject });
        }
    }
    let leaf = certs[0];
    valid_for(leaf, host)?;
    let root = path.last().and_then(|&r| pool.get(r)).unwrap_or(leaf);
    Ok(root.subject().iter_common_name().next().and_then(|a| a.as_str().ok()).map_or_else(|| root.subject().to_string(), str::to_owned))
}

/// Whether `host` is among the leaf's DNS or IP subject alternative names.
fn valid_for(leaf: &X509Certificate<'_>, host: &str) -> Result<(), Refusal> {
    let (dns, ips) = san_names(leaf);
    let wanted = host.trim_start_matches('[').trim_end_matches(']');
    let ok = match wanted.parse::<IpAddr>() {
        Ok(ip) => ips.contains(&ip),
        Err(_) => dns.iter().any(|pattern| dns_matches(pattern, wanted)),
    };
    if ok {
        return Ok(());
    }
    let sans = dns.into_iter().chain(ips.iter().map(IpAddr::to_string)).collect();
    Err(Refusal::HostNotInSans { host: host.to_owned(), sans })
}

fn san_names(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>) {
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())),
                    16 => ips.push(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    (dns, ips)
}

/// Go's `matchHostnames`: case-insensitive, a trailing dot ignored, and a
/// `*` only as the whole left-most label, matching exactly one label.
pub fn dns_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if pattern.is_empty() || host.is_empty() {
        return false;
    }
    let (labels, wanted): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), host.split('.').collect());
    if labels.len() != wanted.len() {
        return false;
    }
    // A bare `*` (one label) matches nothing.
    let wildcard_ok = labels.len() > 1;
    labels.iter().zip(&wanted).enumerate().all(|(i, (p, h))| (i == 0 && *p == "*" && wildcard_ok && !h.is_empty()) || p == h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{PAST, TestCert, between, ca, in_days, intermediate_signed_by, leaf_signed_by, params_for, with_params};

    fn now() -> Timestamp {
        Timestamp::now()
    }

    fn serving(sans: &[&str], issuer: &TestCert) -> TestCert {
        let mut p = params_for("kube-apiserver", false);
        p.subject_alt_names = sans
            .iter()
            .map(|s| match s.parse::<IpAddr>() {
                Ok(ip) => rcgen::SanType::IpAddress(ip),
                Err(_) => rcgen::SanType::DnsName(s.to_string().try_into().unwrap()),
            })
            .collect();
        with_params(p, Some(issuer))
    }

    #[test]
    fn a_chain_a_client_accepts() {
        let root = ca("kubernetes");
        let mid = intermediate_signed_by("mid", &root);
        let leaf = serving(&["10.0.0.1", "api.example.com"], &mid);
        assert_eq!(check(&[&leaf.der, &mid.der], &[&root.der], "10.0.0.1", now()), Ok("kubernetes".into()));
        assert_eq!(check(&[&leaf.der, &mid.der], &[&root.der], "API.example.com.", now()), Ok("kubernetes".into()));
        // The served root among the chain changes nothing.
        assert_eq!(check(&[&leaf.der, &mid.der, &root.der], &[&root.der], "10.0.0.1", now()), Ok("kubernetes".into()));
    }

    #[test]
    fn signatures_that_do_not_reach_the_ca_are_a_chain_refusal() {
        let (old, new) = (ca("kubernetes"), ca("kubernetes"));
        let leaf = serving(&["10.0.0.1"], &old);
        let Err(Refusal::Chain(reason)) = check(&[&leaf.der], &[&new.der], "10.0.0.1", now()) else { panic!() };
        assert!(reason.contains("another key"), "{reason}");
    }

    #[test]
    fn an_expired_or_future_certificate_anywhere_on_the_path_is_refused() {
        let root = ca("kubernetes");
        let expired_leaf = with_params(between(params_for("old", false), PAST, in_days(-1)), Some(&root));
        assert!(
            matches!(check(&[&expired_leaf.der], &[&root.der], "old.example", now()), Err(Refusal::Expired { subject, .. }) if subject == "CN=old")
        );
        let future_leaf = with_params(between(params_for("soon", false), in_days(2), in_days(30)), Some(&root));
        assert!(matches!(check(&[&future_leaf.der], &[&root.der], "soon.example", now()), Err(Refusal::NotYetValid { .. })));
        let expired_mid = with_params(between(params_for("mid", true), PAST, in_days(-1)), Some(&root));
        let leaf = leaf_signed_by("leaf", &expired_mid);
        let Err(refusal) = check(&[&leaf.der, &expired_mid.der], &[&root.der], "leaf.example", now()) else { panic!() };
        assert!(matches!(&refusal, Refusal::Expired { subject, .. } if subject == "CN=mid"), "{refusal:?}");
        assert!(refusal.to_string().starts_with("CN=mid expired at "), "{refusal}");
        let expired_root = with_params(between(params_for("kubernetes", true), PAST, in_days(-1)), None);
        let leaf = leaf_signed_by("leaf", &expired_root);
        assert!(matches!(check(&[&leaf.der], &[&expired_root.der], "leaf.example", now()), Err(Refusal::Expired { .. })));
    }

    #[test]
    fn a_signer_without_ca_true_is_refused() {
        let root = ca("kubernetes");
        // A leaf (CA:false) that signed another leaf, served as the intermediate.
        let not_ca = leaf_signed_by("not-a-ca", &root);
        let leaf = leaf_signed_by("leaf", &not_ca);
        let Err(refusal) = check(&[&leaf.der, &not_ca.der], &[&root.der], "leaf.example", now()) else { panic!() };
        assert_eq!(refusal, Refusal::NotACa { subject: "CN=not-a-ca".into() });
        // The issuing CA itself without CA:true.
        let fake_root = with_params(params_for("fake-root", false), None);
        let leaf = leaf_signed_by("leaf", &fake_root);
        assert_eq!(check(&[&leaf.der], &[&fake_root.der], "leaf.example", now()), Err(Refusal::NotACa { subject: "CN=fake-root".into() }));
    }

    #[test]
    fn the_host_must_be_a_san_dns_for_names_and_ip_for_addresses() {
        let root = ca("kubernetes");
        let leaf = serving(&["10.0.0.1", "*.example.com", "kubernetes.default.svc"], &root);
        let refused = |host: &str| check(&[&leaf.der], &[&root.der], host, now()).err();
        assert_eq!(refused("a.example.com"), None);
        assert_eq!(refused("kubernetes.default.svc"), None);
        let Some(Refusal::HostNotInSans { host, sans }) = refused("10.0.0.2") else { panic!() };
        assert_eq!((host.as_str(), sans), ("10.0.0.2", vec!["*.example.com".into(), "kubernetes.default.svc".into(), "10.0.0.1".into()]));
        assert!(refused("a.b.example.com").is_some(), "a wildcard matches one label");
        assert!(refused("example.com").is_some());
        // An IP written as a DNS SAN does not make the address valid (Go agrees).
        let dns_ip = serving(&["api.example.com"], &root);
        assert!(check(&[&dns_ip.der], &[&root.der], "10.0.0.1", now()).is_err());
        let msg = refused("10.0.0.2").unwrap().to_string();
        assert_eq!(msg, "the certificate is valid for *.example.com, kubernetes.default.svc, 10.0.0.1, not for 10.0.0.2");
    }

    #[test]
    fn names_from_the_certificate_are_escaped_when_printed() {
        let refusal = Refusal::NotACa { subject: "CN=\u{1b}[31mevil\u{202e}".into() };
        assert_eq!(refusal.to_string(), "CN=\\u{1b}[31mevil\\u{202e} signs the chain but is not a CA (no basicConstraints CA:true)");
        let refusal = Refusal::HostNotInSans { host: "h".into(), sans: vec!["x\u{7}".into()] };
        assert!(refusal.to_string().contains("x\\u{7}"), "{refusal}");
    }

    #[test]
    fn wildcards_as_go_matches_them() {
        assert!(dns_matches("*.example.com", "api.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(!dns_matches("api.*.com", "api.example.com"));
        assert!(!dns_matches("*", "localhost"));
        assert!(dns_matches("LOCALHOST", "localhost."));
    }
}
