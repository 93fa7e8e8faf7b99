//! The CA hash in k3s join tokens (`K10<hash>::<user>:<secret>`), computed
//! as k3s's pkg/clientaccess does: a single-certificate bundle hashes its
//! file bytes; a longer bundle hashes the DER of the root its first
//! certificate chains to, so renewing under the same root keeps tokens.
//!
//! No I/O, no clap.

use sha2::{Digest, Sha256};

use super::chain;
use crate::issuer::{now, pem};

/// Hex SHA-256 of what k3s hashes in `server-ca.crt`.
pub fn hash_ca(bundle: &[u8]) -> String {
    let certs = pem::certificates(bundle).unwrap_or_default();
    if certs.len() > 1 {
        let rest: Vec<&[u8]> = certs[1..].iter().map(Vec::as_slice).collect();
        let roots: Vec<&[u8]> = rest.iter().copied().filter(|c| chain::is_root(c)).collect();
        let intermediates: Vec<&[u8]> = rest.iter().copied().filter(|c| !chain::is_root(c)).collect();
        if let Some(root) = chain::verify(&certs[0], &intermediates, &roots, now()).ok().and_then(|p| p.last().copied()) {
            return hex(&Sha256::digest(root));
        }
    }
    hex(&Sha256::digest(bundle))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `token` with its CA hash replaced: a full token keeps its credentials
/// (after `::`), `user:secret` is kept, a bare secret becomes `server:secret`.
pub fn with_hash(token: &str, hash: &str) -> String {
    let token = token.trim();
    let creds = match token.split_once("::") {
        Some((_, creds)) => creds.to_string(),
        None if token.contains(':') => token.to_string(),
        None => format!("server:{token}"),
    };
    format!("K10{hash}::{creds}")
}

/// A token as [`with_hash`] makes it with its secret replaced by `****`:
/// `K10<hash>::<user>:****`, the part that may be shown.
pub fn masked(token: &str) -> String {
    let (head, creds) = token.split_once("::").unwrap_or(("", token));
    let user = creds.split_once(':').map_or("server", |(user, _)| user);
    let sep = if head.is_empty() { "" } else { "::" };
    format!("{head}{sep}{user}:****")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::{Authority, CertSpec, KeyKind, PrivateKey};

    #[test]
    fn single_certificate_hashes_the_file_bytes() {
        let ca = Authority::self_signed(&CertSpec::ca("a", now(), 1), PrivateKey::generate(KeyKind::EcdsaP256).unwrap()).unwrap();
        let text = ca.cert_pem();
        assert_eq!(hash_ca(text.as_bytes()), hex(&Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn bundle_hashes_its_root_der() {
        let root = Authority::self_signed(&CertSpec::ca("root", now() - 60, 1), PrivateKey::generate(KeyKind::EcdsaP256).unwrap()).unwrap();
        let leaf = root.issue(&CertSpec::ca("leaf", now() - 60, 1), &PrivateKey::generate(KeyKind::EcdsaP256).unwrap()).unwrap();
        let bundle = format!("{}{}", pem::encode("CERTIFICATE", &leaf), root.cert_pem());
        assert_eq!(hash_ca(bundle.as_bytes()), hex(&Sha256::digest(root.cert_der())));
    }

    #[test]
    fn token_credentials_are_kept() {
        assert_eq!(with_hash("K10abc::server:s3cret", "ff"), "K10ff::server:s3cret");
        assert_eq!(with_hash("node:pw", "ff"), "K10ff::node:pw");
        assert_eq!(with_hash("s3cret\n", "ff"), "K10ff::server:s3cret");
    }

    #[test]
    fn masked_token_keeps_hash_and_user_only() {
        assert_eq!(masked("K10ff::server:s3cret"), "K10ff::server:****");
        assert_eq!(masked("K10ff::node:pw:with:colons"), "K10ff::node:****");
        assert_eq!(masked(&with_hash("s3cret", "ff")), "K10ff::server:****");
        assert!(!masked("K10ff::server:s3cret").contains("s3cret"));
    }
}
