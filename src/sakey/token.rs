//! What a service-account token says about the key that signed it: the `kid` of its JWT
//! header (kube-apiserver's key id, see [`super::keys::kid`]) and whether its signature
//! verifies with a given public key (RS256 for RSA keys, ES256 for P-256). Tokens are never
//! printed: only the header fields and verdicts leave this module. No I/O.

use base64::Engine;
use serde::Deserialize;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::keys::PublicKey;

/// A JWT's header fields this tool reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

fn b64(part: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| "not base64url".to_string())
}

/// The three parts of a compact JWT.
fn parts(token: &str) -> Result<[&str; 3], String> {
    let mut it = token.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(h), Some(p), Some(s), None) => Ok([h, p, s]),
        _ => Err("not a JWT (expected three dot-separated parts)".into()),
    }
}

/// The header of `token`.
pub fn header(token: &str) -> Result<Header, String> {
    let [h, _, _] = parts(token)?;
    serde_json::from_slice(&b64(h)?).map_err(|e| format!("JWT header: {e}"))
}

/// Whether `token`'s signature verifies with `key`.
pub fn signed_by(token: &str, key: &PublicKey) -> Result<bool, String> {
    let [h, p, s] = parts(token)?;
    let alg = header(token)?.alg;
    let signature = b64(s)?;
    let (_, spki) = SubjectPublicKeyInfo::from_der(&key.spki).map_err(|e| format!("public key: {e}"))?;
    let raw = spki.subject_public_key.data.as_ref();
    let algorithm: &dyn ring::signature::VerificationAlgorithm = match alg.as_str() {
        "RS256" => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        "ES256" => &ring::signature::ECDSA_P256_SHA256_FIXED,
        "ES384" => &ring::signature::ECDSA_P384_SHA384_FIXED,
        other => return Err(format!("JWT algorithm {other:?} is not checked by this tool")),
    };
    let signed = format!("{h}.{p}");
    Ok(ring::signature::UnparsedPublicKey::new(algorithm, raw).verify(signed.as_bytes(), &signature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::key::{KeyKind, PrivateKey};

    /// A token signed the way kube-apiserver signs them (ES256 with a kid), by rcgen's signer.
    fn token(key: &PrivateKey, kid: &str) -> String {
        let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let h = enc(format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#).as_bytes());
        let p = enc(br#"{"sub":"system:serviceaccount:kube-system:probe"}"#);
        let signing = format!("{h}.{p}");
        let rng = ring::rand::SystemRandom::new();
        let pair =
            ring::signature::EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, key.pair().serialized_der(), &rng)
                .unwrap();
        let sig = pair.sign(&rng, signing.as_bytes()).unwrap();
        format!("{signing}.{}", enc(sig.as_ref()))
    }

    fn public(key: &PrivateKey) -> PublicKey {
        super::super::keys::SigningKey::read(key.to_pem().as_bytes()).unwrap().public
    }

    #[test]
    fn reads_the_kid_and_checks_the_signature_against_each_key() {
        let a = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let b = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let t = token(&a, &public(&a).kid);
        assert_eq!(header(&t).unwrap(), Header { alg: "ES256".into(), kid: Some(public(&a).kid) });
        assert_eq!(signed_by(&t, &public(&a)), Ok(true));
        assert_eq!(signed_by(&t, &public(&b)), Ok(false));
    }

    #[test]
    fn malformed_tokens_are_errors_that_do_not_quote_them() {
        assert!(header("abc").unwrap_err().contains("three"));
        let e = header("e30.e30.sig-secret").unwrap_err();
        assert!(e.contains("JWT header") && !e.contains("sig-secret"), "{e}");
        assert!(header("!!.e30.x").is_err());
    }
}
