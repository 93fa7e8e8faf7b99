//! Finding certificates in arbitrary bytes: PEM bundles (with text around
//! the blocks), DER, and base64 of either (how talosconfigs and doubly
//! encoded secrets carry them).
//!
//! The result separates "nothing certificate-like here" (`Ok(vec![])`, e.g.
//! a password or a private key) from "this looks like a certificate but is
//! broken" (`Err`), so callers can skip the first silently and report the
//! second as an `invalid` row.
//!
//! No I/O, no clap.

use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::{self, PemObject, SectionKind};

/// Why certificate-looking content could not be read. Messages never quote
/// the content: it may sit next to a private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("truncated PEM: no END line for {0}")]
    Truncated(String),
    #[error("malformed PEM: {0}")]
    Pem(String),
    #[error("certificate {index} in the PEM data is not valid X.509: {reason}")]
    BadCertificate { index: usize, reason: String },
    #[error("DER data is not a valid X.509 certificate: {0}")]
    BadDer(String),
}

/// Begin marker of a PEM certificate block: content starting with it (or
/// containing it) is certificate-looking.
pub const PEM_CERT_MARKER: &[u8] = b"-----BEGIN CERTIFICATE-----";

/// Every certificate in `bytes`, in order.
pub fn certificates_in(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, ParseError> {
    certificates_in_depth(bytes, 0)
}

/// Whether `bytes` is a PEM block of some private key; such content is never
/// parsed further nor shown.
pub fn holds_private_key(bytes: &[u8]) -> bool {
    contains(bytes, b"PRIVATE KEY-----")
}

fn certificates_in_depth(bytes: &[u8], depth: u8) -> Result<Vec<CertificateDer<'static>>, ParseError> {
    if contains(bytes, b"-----BEGIN ") {
        return pem_certificates(bytes);
    }
    if bytes.first() == Some(&0x30) {
        return der_certificates(bytes);
    }
    // base64 of PEM or DER, one level only (a talosconfig's `ca`/`crt`).
    if depth == 0
        && let Some(decoded) = decode_base64(bytes)
    {
        return certificates_in_depth(&decoded, depth + 1);
    }
    Ok(Vec::new())
}

fn pem_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, ParseError> {
    let mut certs = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = section.map_err(pem_error)?;
        if kind != SectionKind::Certificate {
            continue;
        }
        let index = certs.len();
        check_x509(&der).map_err(|reason| ParseError::BadCertificate { index, reason })?;
        certs.push(CertificateDer::from(der));
    }
    Ok(certs)
}

/// DER: one certificate, or several concatenated. A leading SEQUENCE that is
/// not a certificate (a DER private key, say) counts as "nothing here"; the
/// caller decides whether the key's name promised a certificate.
fn der_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, ParseError> {
    let mut certs = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match x509_parser::parse_x509_certificate(rest) {
            Ok((remaining, _)) => {
                let used = rest.len() - remaining.len();
                certs.push(CertificateDer::from(rest[..used].to_vec()));
                rest = remaining;
            }
            Err(e) if certs.is_empty() => {
                return if looks_like_certificate_der(bytes) { Err(ParseError::BadDer(e.to_string())) } else { Ok(Vec::new()) };
            }
            Err(e) => return Err(ParseError::BadDer(format!("trailing data after certificate {}: {e}", certs.len()))),
        }
    }
    Ok(certs)
}

/// A certificate's DER starts with SEQUENCE { SEQUENCE { [0] version ...
/// (tbsCertificate with an explicit version); private keys and public keys
/// do not.
fn looks_like_certificate_der(bytes: &[u8]) -> bool {
    fn skip_header(b: &[u8]) -> Option<&[u8]> {
        let len_byte = *b.get(1)?;
        let header = if len_byte & 0x80 == 0 { 2 } else { 2 + usize::from(len_byte & 0x7f) };
        b.get(header..)
    }
    let Some(inner) = skip_header(bytes) else { return false };
    if inner.first() != Some(&0x30) {
        return false;
    }
    skip_header(inner).and_then(|tbs| tbs.first()) == Some(&0xa0)
}

fn check_x509(der: &[u8]) -> Result<(), String> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], _)) => Ok(()),
        Ok(_) => Err("trailing data after the certificate".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn pem_error(err: pem::Error) -> ParseError {
    match err {
        pem::Error::MissingSectionEnd { end_marker } => ParseError::Truncated(String::from_utf8_lossy(&end_marker).into_owned()),
        pem::Error::IllegalSectionStart { .. } => ParseError::Pem("illegal BEGIN line".into()),
        pem::Error::Base64Decode(_) => ParseError::Pem("invalid base64 inside a block".into()),
        pem::Error::SectionTooLarge => ParseError::Pem("block too large".into()),
        other => ParseError::Pem(other.to_string()),
    }
}

/// Decodes text that is entirely base64 (whitespace allowed), else `None`.
fn decode_base64(bytes: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = bytes.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.len() < 16 || !compact.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(&compact).ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, leaf_signed_by};

    #[test]
    fn finds_every_certificate_of_a_bundle_with_text_around() {
        let root = ca("root");
        let leaf = leaf_signed_by("leaf", &root);
        let text = format!("subject=leaf\n{}\nsome comment\n{}trailer\n", leaf.pem, root.pem);
        let certs = certificates_in(text.as_bytes()).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].as_ref(), leaf.der.as_slice());
        assert_eq!(certs[1].as_ref(), root.der.as_slice());
    }

    #[test]
    fn reads_der_and_base64_of_pem() {
        let root = ca("root");
        assert_eq!(certificates_in(&root.der).unwrap().len(), 1);
        let b64 = base64::engine::general_purpose::STANDARD.encode(root.pem.as_bytes());
        let certs = certificates_in(b64.as_bytes()).unwrap();
        assert_eq!(certs[0].as_ref(), root.der.as_slice());
    }

    #[test]
    fn content_without_certificates_is_empty_not_an_error() {
        assert!(certificates_in(b"hunter2").unwrap().is_empty());
        assert!(certificates_in(b"").unwrap().is_empty());
        assert!(certificates_in(b"postgres://user@db:5432/x").unwrap().is_empty());
        let key = rcgen::KeyPair::generate().unwrap();
        assert!(certificates_in(key.serialize_pem().as_bytes()).unwrap().is_empty());
        assert!(certificates_in(&key.serialize_der()).unwrap().is_empty());
        assert!(holds_private_key(key.serialize_pem().as_bytes()));
        assert!(certificates_in(key.public_key_pem().as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn truncated_pem_is_an_error() {
        let root = ca("root");
        let cut = &root.pem[..root.pem.len() / 2];
        let err = certificates_in(cut.as_bytes()).unwrap_err();
        assert_eq!(err, ParseError::Truncated("CERTIFICATE".into()));
    }

    #[test]
    fn garbage_inside_a_certificate_block_is_an_error() {
        let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        assert!(matches!(certificates_in(garbage.as_bytes()), Err(ParseError::BadCertificate { index: 0, .. })));
        let bad_b64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(certificates_in(bad_b64.as_bytes()), Err(ParseError::Pem(_))));
    }

    #[test]
    fn truncated_der_certificate_is_an_error() {
        let root = ca("root");
        let cut = &root.der[..root.der.len() - 10];
        assert!(matches!(certificates_in(cut), Err(ParseError::BadDer(_))));
    }
}
