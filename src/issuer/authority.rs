//! Certificate authorities: self-signed roots, loaded CAs (cert + key that
//! must match) and the certificates they issue. Every issued certificate
//! is re-parsed and checked against its issuer before it is handed out.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyUsagePurpose, SanType,
    SerialNumber,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::time::ASN1Time;

use super::der;
use super::key::PrivateKey;
use super::pem;

/// What to put in a certificate. Times are Unix seconds.
#[derive(Debug, Clone, Default)]
pub struct CertSpec {
    pub common_name: Option<String>,
    /// Subject O values: Kubernetes groups, Talos roles.
    pub organizations: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
    pub ca: bool,
    pub key_usages: Vec<KeyUsagePurpose>,
    pub ext_key_usages: Vec<ExtendedKeyUsagePurpose>,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
}

impl CertSpec {
    /// A CA valid from now for `days`, with the extensions openssl's
    /// `v3_ca` in k3s's scripts sets (keyCertSign, digitalSignature,
    /// keyEncipherment; basicConstraints critical CA:true).
    pub fn ca(common_name: &str, now: i64, days: i64) -> Self {
        CertSpec {
            common_name: Some(common_name.to_string()),
            not_before: now,
            not_after: now + days * 86_400,
            ca: true,
            key_usages: vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment, KeyUsagePurpose::KeyCertSign],
            ..Default::default()
        }
    }

    /// A client certificate (ClientAuth, DigitalSignature).
    pub fn client(common_name: Option<&str>, organizations: Vec<String>, now: i64, seconds: i64) -> Self {
        CertSpec {
            common_name: common_name.map(str::to_string),
            organizations,
            not_before: now,
            not_after: now + seconds,
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            ext_key_usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
            ..Default::default()
        }
    }

    /// The subject Name as Go's `pkix.Name` encodes it: each O in its own
    /// RDN, then CN.
    pub(crate) fn subject_der(&self) -> Vec<u8> {
        const O: &[u8] = &[0x55, 0x04, 0x0a];
        const CN: &[u8] = &[0x55, 0x04, 0x03];
        let rdn = |oid: &[u8], value: &str| {
            let mut attr = der::write(der::OID, oid);
            attr.extend(der::write(der::UTF8_STRING, value.as_bytes()));
            der::write(der::SET, &der::write(der::SEQUENCE, &attr))
        };
        let mut body = Vec::new();
        for org in &self.organizations {
            body.extend(rdn(O, org));
        }
        if let Some(cn) = &self.common_name {
            body.extend(rdn(CN, cn));
        }
        der::write(der::SEQUENCE, &body)
    }

    fn to_params(&self) -> Result<CertificateParams, String> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        for org in &self.organizations {
            dn.push(DnType::OrganizationName, org.as_str());
        }
        if let Some(cn) = &self.common_name {
            dn.push(DnType::CommonName, cn.as_str());
        }
        params.distinguished_name = dn;
        // rcgen takes the `time` crate's type; x509-parser converts Unix
        // seconds to it, so this is the one place the two time types meet.
        params.not_before = asn1_time(self.not_before)?.to_datetime();
        params.not_after = asn1_time(self.not_after)?.to_datetime();
        params.is_ca = if self.ca { IsCa::Ca(BasicConstraints::Unconstrained) } else { IsCa::ExplicitNoCa };
        params.key_usages = self.key_usages.clone();
        params.extended_key_usages = self.ext_key_usages.clone();
        for name in &self.dns_names {
            let name = name.clone().try_into().map_err(|e| format!("DNS name {name:?}: {e}"))?;
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        params.subject_alt_names.extend(self.ip_addresses.iter().map(|ip| SanType::IpAddress(*ip)));
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        Ok(params)
    }
}

fn asn1_time(unix: i64) -> Result<ASN1Time, String> {
    ASN1Time::from_timestamp(unix).map_err(|e| format!("time {unix}: {e}"))
}

/// 16 random bytes, positive: unique per issuer without any state.
fn random_serial() -> Result<SerialNumber, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("random serial: {e}"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Swaps the subject of a signed certificate and signs it again.
fn replace_subject(cert: &[u8], subject: &[u8], signer: &rcgen::KeyPair) -> Result<Vec<u8>, String> {
    use rcgen::SigningKey;
    let malformed = || "internal error: cannot re-encode the certificate".to_string();
    let (outer, _) = der::read(cert).ok_or_else(malformed)?;
    let parts = der::children(outer.value).ok_or_else(malformed)?;
    let (tbs, alg) = match parts.as_slice() {
        [tbs, alg, _sig] => (tbs, alg),
        _ => return Err(malformed()),
    };
    let items = der::children(tbs.value).ok_or_else(malformed)?;
    // [0] version, serial, signature, issuer, validity, subject, ...
    let subject_at = if items.first().is_some_and(|t| t.tag == der::CONTEXT_0) { 5 } else { 4 };
    if items.len() <= subject_at {
        return Err(malformed());
    }
    let mut body = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i == subject_at {
            body.extend_from_slice(subject);
        } else {
            body.extend(der::write(item.tag, item.value));
        }
    }
    let tbs = der::write(der::SEQUENCE, &body);
    let signature = signer.sign(&tbs).map_err(|e| format!("signing: {e}"))?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut cert = tbs;
    cert.extend(der::write(alg.tag, alg.value));
    cert.extend(der::write(der::BIT_STRING, &bits));
    Ok(der::write(der::SEQUENCE, &cert))
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    ASN1Time::now().timestamp()
}

/// A CA: its certificate (DER) and the private key that matches it.
#[derive(Debug)]
pub struct Authority {
    cert_der: Vec<u8>,
    key: PrivateKey,
}

impl Authority {
    /// A new self-signed CA over `key`.
    pub fn self_signed(spec: &CertSpec, key: PrivateKey) -> Result<Self, String> {
        let cert = spec.to_params()?.self_signed(key.pair()).map_err(|e| format!("self-signing: {e}"))?;
        Ok(Authority { cert_der: cert.der().to_vec(), key })
    }

    /// An existing CA. Fails when the key does not belong to the
    /// certificate or the certificate is not a CA.
    pub fn load(cert_der: Vec<u8>, key: PrivateKey) -> Result<Self, String> {
        {
            let cert = parse(&cert_der)?;
            if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
                return Err(format!("the private key does not match the CA certificate {}", cert.subject()));
            }
            let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
            if !is_ca {
                return Err(format!("{} is not a CA certificate (basicConstraints CA:false)", cert.subject()));
            }
        }
        Ok(Authority { cert_der, key })
    }

    /// Issues a certificate for `subject_key`'s public key.
    pub fn issue(&self, spec: &CertSpec, subject_key: &PrivateKey) -> Result<Vec<u8>, String> {
        let issuer = Issuer::from_ca_cert_der(&self.cert_der.as_slice().into(), self.key.pair())
            .map_err(|e| format!("reading the CA certificate: {e}"))?;
        let cert = spec.to_params()?.signed_by(subject_key.pair(), &issuer).map_err(|e| format!("signing: {e}"))?;
        let mut der = cert.der().to_vec();
        if spec.organizations.len() > 1 {
            // rcgen keeps one value per attribute type; Kubernetes groups and
            // Talos roles need several O values, one RDN each as Go writes them.
            der = replace_subject(&der, &spec.subject_der(), self.key.pair())?;
        }
        self.check_issued(&der)?;
        Ok(der)
    }

    /// The issued certificate must name this CA byte for byte (Go's chain
    /// building compares raw names) and carry a valid signature.
    fn check_issued(&self, der: &[u8]) -> Result<(), String> {
        let ca = parse(&self.cert_der)?;
        let issued = parse(der)?;
        if issued.issuer().as_raw() != ca.subject().as_raw() {
            return Err(format!("cannot reproduce the issuer name {} exactly; refusing to issue", ca.subject()));
        }
        issued.verify_signature(Some(ca.public_key())).map_err(|e| format!("issued certificate does not verify: {e}"))
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    pub fn cert_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.cert_der)
    }

    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The subject, for messages.
    pub fn subject(&self) -> String {
        parse(&self.cert_der).map(|c| c.subject().to_string()).unwrap_or_default()
    }

    /// notAfter in Unix seconds.
    pub fn not_after(&self) -> i64 {
        parse(&self.cert_der).map(|c| c.validity().not_after.timestamp()).unwrap_or(0)
    }
}

/// Parses one DER certificate.
pub fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    X509Certificate::from_der(der).map(|(_, c)| c).map_err(|e| format!("invalid certificate: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::key::KeyKind;

    fn root(kind: KeyKind) -> Authority {
        let key = PrivateKey::generate(kind).unwrap();
        Authority::self_signed(&CertSpec::ca("test-root", now(), 10), key).unwrap()
    }

    #[test]
    fn self_signed_ca_has_ca_extensions() {
        let ca = root(KeyKind::EcdsaP256);
        let cert = parse(ca.cert_der()).unwrap();
        assert!(cert.basic_constraints().unwrap().unwrap().value.ca);
        assert!(cert.key_usage().unwrap().unwrap().value.key_cert_sign());
        assert_eq!(cert.subject().to_string(), "CN=test-root");
        assert!(cert.verify_signature(None).is_ok());
    }

    #[test]
    fn issues_client_certificates_with_organizations() {
        let ca = root(KeyKind::Ed25519);
        let leaf_key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
        let spec = CertSpec::client(None, vec!["os:reader".into(), "os:operator".into()], now(), 3600);
        let der = ca.issue(&spec, &leaf_key).unwrap();
        let cert = parse(&der).unwrap();
        let orgs: Vec<_> = cert.subject().iter_organization().map(|o| o.as_str().unwrap().to_string()).collect();
        assert_eq!(orgs, vec!["os:reader", "os:operator"]);
        assert!(cert.extended_key_usage().unwrap().unwrap().value.client_auth);
        assert!(cert.verify_signature(Some(parse(ca.cert_der()).unwrap().public_key())).is_ok());
    }

    #[test]
    fn rsa_ca_signs_ec_leaf() {
        let ca = root(KeyKind::Rsa(2048));
        let leaf_key = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let der = ca.issue(&CertSpec::ca("leaf-ca", now(), 1), &leaf_key).unwrap();
        assert!(parse(&der).unwrap().verify_signature(Some(parse(ca.cert_der()).unwrap().public_key())).is_ok());
    }

    #[test]
    fn load_refuses_a_key_from_another_ca() {
        let a = root(KeyKind::EcdsaP256);
        let other = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let err = Authority::load(a.cert_der().to_vec(), other).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn load_refuses_a_leaf_as_ca() {
        let ca = root(KeyKind::EcdsaP256);
        let leaf_key = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let der = ca.issue(&CertSpec::client(Some("x"), vec![], now(), 60), &leaf_key).unwrap();
        let err = Authority::load(der, leaf_key).unwrap_err();
        assert!(err.contains("not a CA"), "{err}");
    }
}
