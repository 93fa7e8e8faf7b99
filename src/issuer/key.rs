//! Private keys: generated (Ed25519 and ECDSA with ring, RSA with the pure
//! Rust `rsa` crate, since ring cannot generate RSA keys) or read from any
//! of the PEM forms Talos, k3s and openssl write.

use std::fmt;

use rcgen::{KeyPair, SignatureAlgorithm};

use super::der::{self, oid};
use super::pem::{self, Block};

/// The key algorithms this tool issues with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    /// RSA with the modulus size in bits.
    Rsa(usize),
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::EcdsaP256 => f.write_str("ECDSA P-256"),
            KeyKind::EcdsaP384 => f.write_str("ECDSA P-384"),
            KeyKind::Rsa(bits) => write!(f, "RSA-{bits}"),
        }
    }
}

/// A private key ready to sign, with the algorithm it was read as.
pub struct PrivateKey {
    kind: KeyKind,
    pair: KeyPair,
}

impl fmt::Debug for PrivateKey {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.kind)
    }
}

impl PrivateKey {
    /// A fresh key of `kind`.
    pub fn generate(kind: KeyKind) -> Result<Self, String> {
        let pair = match kind {
            KeyKind::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
            KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyKind::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyKind::Rsa(bits) => {
                use rsa::pkcs8::EncodePrivateKey;
                let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits).map_err(|e| format!("generating an RSA-{bits} key: {e}"))?;
                let pkcs8 = key.to_pkcs8_der().map_err(|e| format!("encoding an RSA key: {e}"))?;
                return Self::from_pkcs8(pkcs8.as_bytes());
            }
        }
        .map_err(|e| format!("generating an {kind} key: {e}"))?;
        Ok(PrivateKey { kind, pair })
    }

    /// Reads a PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, String> {
        let (alg, param, inner) = der::pkcs8_parts(pkcs8).ok_or("not a PKCS#8 private key")?;
        let (kind, sig): (KeyKind, &'static SignatureAlgorithm) = if alg == oid::ED25519 {
            (KeyKind::Ed25519, &rcgen::PKCS_ED25519)
        } else if alg == oid::EC_PUBLIC_KEY && param == Some(oid::P256) {
            (KeyKind::EcdsaP256, &rcgen::PKCS_ECDSA_P256_SHA256)
        } else if alg == oid::EC_PUBLIC_KEY && param == Some(oid::P384) {
            (KeyKind::EcdsaP384, &rcgen::PKCS_ECDSA_P384_SHA384)
        } else if alg == oid::RSA {
            (KeyKind::Rsa(rsa_bits(inner).ok_or("malformed RSA private key")?), &rcgen::PKCS_RSA_SHA256)
        } else {
            return Err("unsupported key algorithm (expected Ed25519, ECDSA P-256/P-384 or RSA)".into());
        };
        let pair = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), sig).map_err(|e| format!("invalid {kind} private key: {e}"))?;
        Ok(PrivateKey { kind, pair })
    }

    /// Reads one PEM block; `Ok(None)` when the block is not a private key
    /// (certificates, `EC PARAMETERS` from `openssl ecparam`).
    pub fn from_block(block: &Block) -> Result<Option<Self>, String> {
        let pkcs8 = match block.label.as_str() {
            "ENCRYPTED PRIVATE KEY" => return Err("encrypted private keys are not supported".into()),
            // Talos writes PKCS#8 under "ED25519 PRIVATE KEY".
            "PRIVATE KEY" | "ED25519 PRIVATE KEY" => block.der.clone(),
            "RSA PRIVATE KEY" => der::pkcs8_wrap(&der::rsa_algorithm(), &block.der),
            "EC PRIVATE KEY" => {
                let curve = der::sec1_curve(&block.der).ok_or("unsupported or malformed EC private key")?;
                der::pkcs8_wrap(&der::ec_algorithm(curve), &block.der)
            }
            _ => return Ok(None),
        };
        Self::from_pkcs8(&pkcs8).map(Some)
    }

    /// Every private key in a PEM text (a k3s `service.key` holds several).
    pub fn all_from_pem(text: &[u8]) -> Result<Vec<Self>, String> {
        let mut keys = Vec::new();
        for (i, block) in pem::blocks(text)?.iter().enumerate() {
            if let Some(key) = Self::from_block(block).map_err(|e| format!("PEM block {}: {e}", i + 1))? {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// The first private key in a PEM text, as Go's `tls.X509KeyPair` and
    /// k3s use it.
    pub fn first_from_pem(text: &[u8]) -> Result<Self, String> {
        Self::all_from_pem(text)?.into_iter().next().ok_or_else(|| "no private key found".into())
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The signer rcgen uses.
    pub fn pair(&self) -> &KeyPair {
        &self.pair
    }

    /// The public key as it appears in a certificate's subjectPublicKey bit
    /// string: comparing it is how key and certificate are matched.
    pub fn public_key_raw(&self) -> &[u8] {
        self.pair.public_key_raw()
    }

    /// PEM in the form k3s and openssl write: `RSA PRIVATE KEY` (PKCS#1)
    /// and `EC PRIVATE KEY` (SEC1 with its curve); Ed25519 as PKCS#8 v1.
    pub fn to_pem(&self) -> String {
        let pkcs8 = self.pair.serialized_der();
        let inner = der::pkcs8_parts(pkcs8).map(|(_, _, inner)| inner);
        match (self.kind, inner) {
            (KeyKind::Rsa(_), Some(pkcs1)) => pem::encode("RSA PRIVATE KEY", pkcs1),
            (KeyKind::EcdsaP256 | KeyKind::EcdsaP384, Some(sec1)) => {
                let curve = if self.kind == KeyKind::EcdsaP256 { oid::P256 } else { oid::P384 };
                match der::sec1_with_curve(sec1, curve) {
                    Some(sec1) => pem::encode("EC PRIVATE KEY", &sec1),
                    None => pem::encode("PRIVATE KEY", pkcs8),
                }
            }
            // PKCS#8 v1 without the embedded public key that ring adds: Go's
            // x509.ParsePKCS8PrivateKey and openssl 3.0 read v1.
            (KeyKind::Ed25519, Some(seed)) => pem::encode("PRIVATE KEY", &der::pkcs8_wrap(&der::write(der::OID, oid::ED25519), seed)),
            _ => pem::encode("PRIVATE KEY", pkcs8),
        }
    }
}

/// Modulus size of a PKCS#1 `RSAPrivateKey`.
fn rsa_bits(pkcs1: &[u8]) -> Option<usize> {
    let (outer, _) = der::read(pkcs1)?;
    let modulus = der::children(outer.value)?.get(1)?.value;
    let first = modulus.iter().position(|b| *b != 0)?;
    let top = modulus[first];
    Some((modulus.len() - first - 1) * 8 + (8 - top.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `openssl ecparam -name prime256v1 -genkey` (test data only).
    const OPENSSL_EC: &str = "-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIJ6hv0U/imEtb7dDO2lyGDgs2NPLdgvrPcMmn637qiGHoAoGCCqGSM49
AwEHoUQDQgAEXfj3yO9NREciA/DWP0RsVTD1kaB9ZjhQwdnwlt6EI0QdtzuuPaki
4u87yTK3XiTLd1Zs8dlyCEAJ+UBR/rAUpw==
-----END EC PRIVATE KEY-----
";
    // `openssl genpkey -algorithm ed25519`: PKCS#8 v1 without the public key.
    const OPENSSL_ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIGSxo1duMwXjYNbZsh18uuw5KmJDy50GmoZNTafBmr2c
-----END PRIVATE KEY-----
";

    #[test]
    fn reads_openssl_sec1_and_skips_parameters() {
        let keys = PrivateKey::all_from_pem(OPENSSL_EC.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kind(), KeyKind::EcdsaP256);
    }

    #[test]
    fn reads_talos_label_and_openssl_ed25519() {
        let talos = OPENSSL_ED25519.replace("PRIVATE KEY", "ED25519 PRIVATE KEY");
        let a = PrivateKey::first_from_pem(OPENSSL_ED25519.as_bytes()).unwrap();
        let b = PrivateKey::first_from_pem(talos.as_bytes()).unwrap();
        assert_eq!(a.kind(), KeyKind::Ed25519);
        assert_eq!(a.public_key_raw(), b.public_key_raw());
    }

    #[test]
    fn generated_keys_round_trip_through_their_pem() {
        for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Rsa(2048)] {
            let key = PrivateKey::generate(kind).unwrap();
            let pem = key.to_pem();
            let back = PrivateKey::first_from_pem(pem.as_bytes()).unwrap();
            assert_eq!(back.kind(), kind, "{pem}");
            assert_eq!(back.public_key_raw(), key.public_key_raw());
        }
    }

    #[test]
    fn pem_labels_match_what_k3s_writes() {
        let rsa = PrivateKey::generate(KeyKind::Rsa(2048)).unwrap().to_pem();
        assert!(rsa.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let ec = PrivateKey::generate(KeyKind::EcdsaP256).unwrap().to_pem();
        assert!(ec.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let block = &pem::blocks(ec.as_bytes()).unwrap()[0];
        assert_eq!(der::sec1_curve(&block.der), Some(oid::P256));
    }

    #[test]
    fn ed25519_is_written_as_pkcs8_v1() {
        let pem_text = PrivateKey::generate(KeyKind::Ed25519).unwrap().to_pem();
        let der = &pem::blocks(pem_text.as_bytes()).unwrap()[0].der;
        // SEQUENCE(46) { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING(34) }
        assert_eq!(der.len(), 48);
        assert_eq!(&der[..16], &[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
    }

    #[test]
    fn several_keys_in_one_file_are_all_read() {
        let a = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let b = PrivateKey::generate(KeyKind::Rsa(2048)).unwrap();
        let text = format!("{}\n{}", a.to_pem(), b.to_pem());
        let keys = PrivateKey::all_from_pem(text.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].public_key_raw(), b.public_key_raw());
    }

    #[test]
    fn garbage_and_encrypted_keys_are_errors() {
        let bad = pem::encode("EC PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert!(PrivateKey::first_from_pem(bad.as_bytes()).is_err());
        let enc = pem::encode("ENCRYPTED PRIVATE KEY", &[0x30, 0x00]);
        assert!(PrivateKey::first_from_pem(enc.as_bytes()).unwrap_err().contains("encrypted"));
        assert!(PrivateKey::first_from_pem(b"nothing here").is_err());
    }
}
