//! Chain building as Go's `x509.Certificate.Verify` does it for k3s: a
//! parent must carry the child's issuer name byte for byte and have signed
//! it; every certificate on the path must be valid now; parents must be
//! CAs; an extended key usage, where present, must allow server auth
//! (Go's default). Roots and intermediates are plain DER lists.
//!
//! No I/O, no clap.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

const MAX_DEPTH: usize = 8;

fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    X509Certificate::from_der(der).ok().map(|(_, c)| c)
}

/// The path from `leaf` to a root (leaf first, root last), or why none.
pub fn verify<'a>(leaf: &'a [u8], intermediates: &[&'a [u8]], roots: &[&'a [u8]], now: i64) -> Result<Vec<&'a [u8]>, String> {
    let cert = parse(leaf).ok_or("not a parsable certificate")?;
    check_cert(&cert, now)?;
    if roots.contains(&leaf) {
        return Ok(vec![leaf]);
    }
    let mut path = vec![leaf];
    let mut last_error = None;
    if walk(&mut path, intermediates, roots, now, &mut last_error) {
        return Ok(path);
    }
    Err(last_error.unwrap_or_else(|| format!("no issuer of {} among the trusted certificates", cert.subject())))
}

fn walk<'a>(path: &mut Vec<&'a [u8]>, intermediates: &[&'a [u8]], roots: &[&'a [u8]], now: i64, err: &mut Option<String>) -> bool {
    let Some(current) = path.last().and_then(|d| parse(d)) else { return false };
    for root in roots {
        match parent_ok(&current, root, now) {
            Ok(true) => {
                path.push(root);
                return true;
            }
            Ok(false) => {}
            Err(e) => *err = Some(e),
        }
    }
    if path.len() > MAX_DEPTH {
        return false;
    }
    for inter in intermediates {
        if path.contains(inter) {
            continue;
        }
        match parent_ok(&current, inter, now) {
            Ok(true) => {
                path.push(inter);
                if walk(path, intermediates, roots, now, err) {
                    return true;
                }
                path.pop();
            }
            Ok(false) => {}
            Err(e) => *err = Some(e),
        }
    }
    false
}

/// `Ok(false)`: not a candidate (other name or key); `Err`: the right
/// parent by signature but unusable (expired, not a CA...).
fn parent_ok(child: &X509Certificate<'_>, parent_der: &[u8], now: i64) -> Result<bool, String> {
    let Some(parent) = parse(parent_der) else { return Ok(false) };
    if child.issuer().as_raw() != parent.subject().as_raw() {
        return Ok(false);
    }
    if child.verify_signature(Some(parent.public_key())).is_err() {
        return Ok(false);
    }
    if !parent.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca) {
        return Err(format!("{} is not a CA", parent.subject()));
    }
    check_cert(&parent, now)?;
    Ok(true)
}

fn check_cert(cert: &X509Certificate<'_>, now: i64) -> Result<(), String> {
    let v = cert.validity();
    if now < v.not_before.timestamp() {
        return Err(format!("{} is not valid yet (from {})", cert.subject(), v.not_before));
    }
    if now > v.not_after.timestamp() {
        return Err(format!("{} expired on {}", cert.subject(), v.not_after));
    }
    if let Ok(Some(eku)) = cert.extended_key_usage()
        && !eku.value.any
        && !eku.value.server_auth
    {
        return Err(format!("{} has an extended key usage without serverAuth", cert.subject()));
    }
    Ok(())
}

/// k3s's root rule: no authority key id, or one equal to the subject key id.
pub fn is_root(der: &[u8]) -> bool {
    let Some(cert) = parse(der) else { return false };
    let mut aki = None;
    let mut ski = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => aki = a.key_identifier.as_ref().map(|k| k.0.to_vec()),
            ParsedExtension::SubjectKeyIdentifier(s) => ski = Some(s.0.to_vec()),
            _ => {}
        }
    }
    match aki {
        None => true,
        Some(a) => a.is_empty() || Some(a) == ski,
    }
}

/// Whether the certificate has an authority key id (k3s adds only those
/// from a new bundle to the intermediates).
pub fn has_aki(der: &[u8]) -> bool {
    parse(der).is_some_and(|c| {
        c.extensions().iter().any(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().is_some_and(|k| !k.0.is_empty()),
            _ => false,
        })
    })
}

/// Whether the certificate's public key is `raw` (a key's public bytes).
pub fn has_public_key(der: &[u8], raw: &[u8]) -> bool {
    parse(der).is_some_and(|c| c.public_key().subject_public_key.data.as_ref() == raw)
}

/// Subject, for messages.
pub fn subject(der: &[u8]) -> String {
    parse(der).map(|c| c.subject().to_string()).unwrap_or_else(|| "<unparsable>".into())
}

/// notAfter in Unix seconds.
pub fn not_after(der: &[u8]) -> Option<i64> {
    parse(der).map(|c| c.validity().not_after.timestamp())
}

/// Whether the certificate names and signs itself.
pub use crate::certs::chain::is_self_signed;

/// Whether `parent` signed `child` (name and signature).
pub fn signed_by(child: &[u8], parent: &[u8]) -> bool {
    match (parse(child), parse(parent)) {
        (Some(c), Some(p)) => c.issuer().as_raw() == p.subject().as_raw() && c.verify_signature(Some(p.public_key())).is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::{Authority, CertSpec, KeyKind, PrivateKey, now};

    fn ca(cn: &str) -> Authority {
        Authority::self_signed(&CertSpec::ca(cn, now() - 60, 10), PrivateKey::generate(KeyKind::EcdsaP256).unwrap()).unwrap()
    }

    fn sub(parent: &Authority, cn: &str, key: PrivateKey) -> Authority {
        let der = parent.issue(&CertSpec::ca(cn, now() - 60, 5), &key).unwrap();
        Authority::load(der, key).unwrap()
    }

    #[test]
    fn finds_paths_through_intermediates() {
        let root = ca("root");
        let int = sub(&root, "int", PrivateKey::generate(KeyKind::EcdsaP256).unwrap());
        let leaf = sub(&int, "leaf", PrivateKey::generate(KeyKind::EcdsaP256).unwrap());
        let path = verify(leaf.cert_der(), &[int.cert_der()], &[root.cert_der()], now()).unwrap();
        assert_eq!(path, vec![leaf.cert_der(), int.cert_der(), root.cert_der()]);
        assert!(verify(leaf.cert_der(), &[], &[root.cert_der()], now()).is_err());
        assert!(is_root(root.cert_der()) && !is_root(int.cert_der()) && has_aki(int.cert_der()));
    }

    #[test]
    fn a_cross_signed_root_bridges_old_and_new() {
        let old = ca("old-root");
        let new_key = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let new_key_again = PrivateKey::from_pkcs8(new_key.pair().serialized_der()).unwrap();
        let new_root = Authority::self_signed(&CertSpec::ca("new-root", now() - 60, 10), new_key).unwrap();
        let xsigned = old.issue(&CertSpec::ca("new-root", now() - 60, 10), &new_key_again).unwrap();
        let int = sub(&new_root, "new-int", PrivateKey::generate(KeyKind::EcdsaP256).unwrap());
        // Against the old root only, the cross-signed copy makes the path.
        let path = verify(int.cert_der(), &[&xsigned], &[old.cert_der()], now()).unwrap();
        assert_eq!(path.len(), 3);
        assert!(verify(int.cert_der(), &[], &[old.cert_der()], now()).is_err());
    }

    #[test]
    fn expired_certificates_fail_with_a_reason() {
        let root = ca("root");
        let key = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let mut spec = CertSpec::ca("old", now() - 7200, 0);
        spec.not_after = now() - 3600;
        let der = root.issue(&spec, &key).unwrap();
        let err = verify(&der, &[], &[root.cert_der()], now()).unwrap_err();
        assert!(err.contains("expired"), "{err}");
    }
}
