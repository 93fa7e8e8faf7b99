//! The few DER operations key conversion needs: wrapping PKCS#1 and SEC1
//! keys into PKCS#8 (ring, behind rcgen, reads only PKCS#8) and unwrapping
//! them again to write the files k3s and openssl expect.

/// One tag-length-value, borrowed from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads one TLV from the front of `input`, returning it and the rest.
/// Only definite lengths (DER) are accepted.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((Tlv { tag, value: &rest[..len] }, &rest[len..]))
}

/// The TLVs inside a constructed value, in order.
pub fn children(mut value: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (tlv, rest) = read(value)?;
        out.push(tlv);
        value = rest;
    }
    Some(out)
}

/// Encodes one TLV.
pub fn write(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

pub const SEQUENCE: u8 = 0x30;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const NULL: u8 = 0x05;
pub const BIT_STRING: u8 = 0x03;
pub const UTF8_STRING: u8 = 0x0c;
pub const SET: u8 = 0x31;
/// `[0]` constructed, as in SEC1's `parameters`.
pub const CONTEXT_0: u8 = 0xa0;

/// Encoded OIDs (value bytes only).
pub mod oid {
    /// rsaEncryption 1.2.840.113549.1.1.1
    pub const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// id-ecPublicKey 1.2.840.10045.2.1
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// prime256v1 1.2.840.10045.3.1.7
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 1.3.132.0.34
    pub const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// id-Ed25519 1.3.101.112
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
}

/// PKCS#8 `PrivateKeyInfo` (version 0) around an inner private key.
pub fn pkcs8_wrap(algorithm: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut body = write(INTEGER, &[0]);
    body.extend(write(SEQUENCE, algorithm));
    body.extend(write(OCTET_STRING, inner));
    write(SEQUENCE, &body)
}

/// The AlgorithmIdentifier body for an RSA key.
pub fn rsa_algorithm() -> Vec<u8> {
    let mut alg = write(OID, oid::RSA);
    alg.extend(write(NULL, &[]));
    alg
}

/// The AlgorithmIdentifier body for an EC key on `curve`.
pub fn ec_algorithm(curve: &[u8]) -> Vec<u8> {
    let mut alg = write(OID, oid::EC_PUBLIC_KEY);
    alg.extend(write(OID, curve));
    alg
}

/// (algorithm OID, parameters OID if any, inner private key bytes).
pub type Pkcs8Parts<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);

/// Splits a PKCS#8 `PrivateKeyInfo` into its parts.
pub fn pkcs8_parts(pkcs8: &[u8]) -> Option<Pkcs8Parts<'_>> {
    let (outer, _) = read(pkcs8)?;
    if outer.tag != SEQUENCE {
        return None;
    }
    let items = children(outer.value)?;
    let alg = items.get(1).filter(|t| t.tag == SEQUENCE)?;
    let key = items.get(2).filter(|t| t.tag == OCTET_STRING)?;
    let alg_items = children(alg.value)?;
    let alg_oid = alg_items.first().filter(|t| t.tag == OID)?.value;
    let param = alg_items.get(1).filter(|t| t.tag == OID).map(|t| t.value);
    Some((alg_oid, param, key.value))
}

/// The named curve of a SEC1 `ECPrivateKey`: from its `[0]` parameters
/// when present, else from the private scalar's length.
pub fn sec1_curve(sec1: &[u8]) -> Option<&'static [u8]> {
    let (outer, _) = read(sec1)?;
    let items = children(outer.value)?;
    if let Some(params) = items.iter().find(|t| t.tag == CONTEXT_0) {
        let (curve, _) = read(params.value)?;
        return [oid::P256, oid::P384].into_iter().find(|c| *c == curve.value);
    }
    match items.get(1).filter(|t| t.tag == OCTET_STRING)?.value.len() {
        32 => Some(oid::P256),
        48 => Some(oid::P384),
        _ => None,
    }
}

/// Adds the `[0]` curve parameters to a SEC1 key that lacks them (ring's
/// PKCS#8 omits them; Go and openssl need them in a bare `EC PRIVATE KEY`).
pub fn sec1_with_curve(sec1: &[u8], curve: &[u8]) -> Option<Vec<u8>> {
    let (outer, _) = read(sec1)?;
    let items = children(outer.value)?;
    if items.iter().any(|t| t.tag == CONTEXT_0) {
        return Some(sec1.to_vec());
    }
    let mut body = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i == 2 {
            body.extend(write(CONTEXT_0, &write(OID, curve)));
        }
        body.extend(write(item.tag, item.value));
    }
    if items.len() == 2 {
        body.extend(write(CONTEXT_0, &write(OID, curve)));
    }
    Some(write(SEQUENCE, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip() {
        let value = vec![7u8; 300];
        let encoded = write(OCTET_STRING, &value);
        assert_eq!(&encoded[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tlv, rest) = read(&encoded).unwrap();
        assert_eq!(tlv.value, &value[..]);
        assert!(rest.is_empty());
    }

    #[test]
    fn truncated_input_is_refused() {
        assert!(read(&[0x04, 0x05, 1, 2]).is_none());
        assert!(read(&[0x04, 0x85, 1, 2, 3, 4, 5]).is_none());
    }

    #[test]
    fn pkcs8_wrap_and_parts_agree() {
        let wrapped = pkcs8_wrap(&ec_algorithm(oid::P256), &[1, 2, 3]);
        let (alg, param, inner) = pkcs8_parts(&wrapped).unwrap();
        assert_eq!(alg, oid::EC_PUBLIC_KEY);
        assert_eq!(param, Some(oid::P256));
        assert_eq!(inner, &[1, 2, 3]);
    }

    #[test]
    fn sec1_curve_is_added_before_the_public_key() {
        // ECPrivateKey { 1, OCTET STRING(32), [1] pub }
        let mut body = write(INTEGER, &[1]);
        body.extend(write(OCTET_STRING, &[9u8; 32]));
        body.extend(write(0xa1, &[0x03, 0x02, 0x00, 0x04]));
        let sec1 = write(SEQUENCE, &body);
        assert_eq!(sec1_curve(&sec1), Some(oid::P256));
        let with = sec1_with_curve(&sec1, oid::P256).unwrap();
        let (outer, _) = read(&with).unwrap();
        let tags: Vec<u8> = children(outer.value).unwrap().iter().map(|t| t.tag).collect();
        assert_eq!(tags, vec![INTEGER, OCTET_STRING, CONTEXT_0, 0xa1]);
        assert_eq!(sec1_curve(&with), Some(oid::P256));
    }
}
