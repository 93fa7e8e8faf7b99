//! The keys of `<tcp>-sa-certificate`: `sa.pub` (every public key whose tokens the tenant API
//! accepts, one PEM block each: kube-apiserver reads them all from
//! `--service-account-key-file`) and `sa.key` (the one that signs new tokens). A key is known
//! by its `kid`, the one kube-apiserver puts in every token header and in its JWKS:
//! base64url(SHA-256(DER SubjectPublicKeyInfo)). Kamaji checks only the FIRST public key of
//! `sa.pub` against `sa.key`, so the signing key always goes first. No I/O, no printing.

use std::fmt;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::issuer::key::{KeyKind, PrivateKey};
use crate::issuer::pem;

/// One public key of `sa.pub`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    pub kid: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.kid)
    }
}

impl PublicKey {
    pub fn from_spki(spki: Vec<u8>) -> Self {
        let kid = kid(&spki);
        PublicKey { spki, kid }
    }

    pub fn pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki)
    }
}

/// kube-apiserver's key id of a public key (`keyIDFromPublicKey`).
pub fn kid(spki: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(spki))
}

/// Every public key of an `sa.pub`, in order. Only `PUBLIC KEY` blocks (what kubeadm and
/// Kamaji write) are read; another block is an error, never skipped: dropping a key the tenant
/// API verifies with would break its tokens.
pub fn public_keys(sa_pub: &[u8]) -> Result<Vec<PublicKey>, String> {
    let blocks = pem::blocks(sa_pub)?;
    if blocks.is_empty() {
        return Err("sa.pub holds no PEM block".into());
    }
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, b)| match b.label.as_str() {
            "PUBLIC KEY" => Ok(PublicKey::from_spki(b.der)),
            other => Err(format!("sa.pub block {}: {other:?} is not a PUBLIC KEY block", i + 1)),
        })
        .collect()
}

/// The signing key: its type and public half. Debug never shows the private key.
pub struct SigningKey {
    pub kind: KeyKind,
    pub public: PublicKey,
    /// The PEM form: PKCS#8 (`PRIVATE KEY`), else the algorithm's own (`RSA PRIVATE KEY`,
    /// `EC PRIVATE KEY`). A new key is written in the form of the key it replaces.
    pub pkcs8: bool,
    private_pem: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, {})", self.kind, self.public.kid)
    }
}

impl SigningKey {
    fn of(key: &PrivateKey, pkcs8: bool) -> Result<Self, String> {
        let public_pem = key.pair().public_key_pem();
        let spki = pem::blocks(public_pem.as_bytes())?.into_iter().next().ok_or("no public key")?.der;
        let private_pem = if pkcs8 { pem::encode("PRIVATE KEY", key.pair().serialized_der()) } else { key.to_pem() };
        Ok(SigningKey { kind: key.kind(), public: PublicKey::from_spki(spki), pkcs8, private_pem })
    }

    /// `sa.key` as it is now. Errors say what is wrong, never quote the key.
    pub fn read(sa_key: &[u8]) -> Result<Self, String> {
        let pkcs8 = pem::blocks(sa_key)?.iter().find(|b| b.label.ends_with("PRIVATE KEY")).is_some_and(|b| b.label == "PRIVATE KEY");
        Self::of(&PrivateKey::first_from_pem(sa_key)?, pkcs8)
    }

    /// A new key of the same type and PEM form as `like` (kubeadm and Kamaji make RSA-2048).
    pub fn generate_like(like: &SigningKey) -> Result<Self, String> {
        Self::of(&PrivateKey::generate(like.kind)?, like.pkcs8)
    }

    /// A new key of `kind`, in the algorithm's own PEM form.
    pub fn generate(kind: KeyKind) -> Result<Self, String> {
        Self::of(&PrivateKey::generate(kind)?, false)
    }

    /// The PEM to store in `sa.key`. Never printed or logged.
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }
}

/// `sa.pub` of a stage: the new key first, then every key verified now (the current signing
/// key included even if `sa.pub` lacked it), each once.
pub fn staged_bundle(new: &PublicKey, current: &[PublicKey], signing: &PublicKey) -> String {
    let mut keys: Vec<&PublicKey> = vec![new];
    for k in current.iter().chain(std::iter::once(signing)) {
        if !keys.iter().any(|have| have.kid == k.kid) {
            keys.push(k);
        }
    }
    keys.iter().map(|k| k.pem()).collect()
}

/// `sa.pub` of a finish: the signing key alone.
pub fn finished_bundle(signing: &PublicKey) -> String {
    signing.pem()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_the_base64url_sha256_of_the_spki() {
        // sha256 of the empty input, as kube-apiserver would encode it.
        assert_eq!(kid(b""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        assert_eq!(key.public.kid.len(), 43);
        assert_eq!(key.public.kid, kid(&key.public.spki));
    }

    #[test]
    fn stage_puts_the_new_key_first_and_keeps_every_other_once() {
        let old = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let older = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let new = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let current = vec![old.public.clone(), older.public.clone()];
        let bundle = staged_bundle(&new.public, &current, &old.public);
        let keys = public_keys(bundle.as_bytes()).unwrap();
        assert_eq!(keys, vec![new.public.clone(), old.public.clone(), older.public.clone()]);
        // A signing key missing from sa.pub is added, so its tokens keep verifying.
        let keys = public_keys(staged_bundle(&new.public, std::slice::from_ref(&older.public), &old.public).as_bytes()).unwrap();
        assert_eq!(keys, vec![new.public.clone(), older.public, old.public]);
        assert_eq!(public_keys(finished_bundle(&new.public).as_bytes()).unwrap(), vec![new.public]);
    }

    #[test]
    fn a_new_key_has_the_current_keys_type_and_its_pem_reads_back() {
        let rsa = SigningKey::generate(KeyKind::Rsa(2048)).unwrap();
        assert_eq!(rsa.kind, KeyKind::Rsa(2048));
        let again = SigningKey::read(rsa.private_pem().as_bytes()).unwrap();
        assert_eq!((again.kind, again.public.kid.clone()), (KeyKind::Rsa(2048), rsa.public.kid.clone()));
        let pkcs8 = SigningKey::read(
            pem::encode("PRIVATE KEY", PrivateKey::generate(KeyKind::EcdsaP256).unwrap().pair().serialized_der()).as_bytes(),
        )
        .unwrap();
        let like = SigningKey::generate_like(&pkcs8).unwrap();
        assert!(like.pkcs8 && like.private_pem().starts_with("-----BEGIN PRIVATE KEY-----"), "the form of the key it replaces");
        assert_eq!(SigningKey::read(like.private_pem().as_bytes()).unwrap().public, like.public);
        let debug = format!("{rsa:?}");
        assert!(!debug.contains("PRIVATE") && debug.contains(&rsa.public.kid), "{debug}");
    }

    #[test]
    fn foreign_blocks_and_empty_bundles_are_refused() {
        assert!(public_keys(b"").is_err());
        let cert = pem::encode("CERTIFICATE", b"x");
        assert!(public_keys(cert.as_bytes()).unwrap_err().contains("not a PUBLIC KEY"));
        assert!(SigningKey::read(b"not a key").is_err());
    }
}
