//! The CertificateSigningRequest (certificates.k8s.io/v1) of a client
//! certificate renewal: the PKCS#10 request (rcgen), the object sent to
//! the API, the checks before approving it and after it is issued, and its
//! state as its conditions tell it.
//!
//! Pure: no requests, no clap. The private key stays in [`PrivateKey`],
//! whose Debug prints no key material.

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec};
use rcgen::{CertificateParams, DistinguishedName};
use x509_parser::prelude::FromDer;

use crate::certs::CertInfo;
use crate::issuer::{CertSpec, KeyKind, PrivateKey, der, pem};

use super::identity::Identity;

/// The signer of client certificates kube-apiserver trusts (its `--client-ca-file`).
pub const SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// The shortest `expirationSeconds` the API accepts.
pub const MIN_EXPIRATION_SECONDS: i64 = 600;
/// The reason of the Approved condition this tool sets.
pub const APPROVE_REASON: &str = "KubectlPkiApprove";

/// A PKCS#10 request for `identity` (CN = user, O = each group but
/// `system:authenticated`) signed by a fresh key of `kind`.
pub fn request(identity: &Identity, kind: KeyKind) -> Result<(PrivateKey, String), String> {
    if identity.user.is_empty() {
        return Err("the identity has no user name (an empty CN)".into());
    }
    let key = PrivateKey::generate(kind)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    let csr = params.serialize_request(key.pair()).map_err(|e| format!("building the certificate request: {e}"))?;
    // rcgen keeps one value per attribute type; groups need one O each
    // (each in its own RDN, then CN, as openssl writes them; Go's signer
    // copies every O): the subject is put in afterwards and the request
    // signed again.
    let spec = CertSpec { common_name: Some(identity.user.clone()), organizations: identity.certificate_groups(), ..Default::default() };
    let der = with_subject(csr.der(), &spec.subject_der(), &key)?;
    Ok((key, pem::encode("CERTIFICATE REQUEST", &der)))
}

/// A PKCS#10 request with `subject` (a DER Name) in place of its own,
/// signed again by `key`.
fn with_subject(request: &[u8], subject: &[u8], key: &PrivateKey) -> Result<Vec<u8>, String> {
    use rcgen::SigningKey;
    let malformed = || "internal error: cannot re-encode the certificate request".to_string();
    let (outer, _) = der::read(request).ok_or_else(malformed)?;
    let (info, alg) = match der::children(outer.value).ok_or_else(malformed)?.as_slice() {
        [info, alg, _sig] => (der::write(info.tag, info.value), der::write(alg.tag, alg.value)),
        _ => return Err(malformed()),
    };
    let (info, _) = der::read(&info).ok_or_else(malformed)?;
    let items = der::children(info.value).ok_or_else(malformed)?;
    // version, subject, subjectPKInfo, [0] attributes
    if items.len() != 4 {
        return Err(malformed());
    }
    let mut body = der::write(items[0].tag, items[0].value);
    body.extend_from_slice(subject);
    for item in &items[2..] {
        body.extend(der::write(item.tag, item.value));
    }
    let info = der::write(der::SEQUENCE, &body);
    let signature = key.pair().sign(&info).map_err(|e| format!("signing the certificate request: {e}"))?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut out = info;
    out.extend(alg);
    out.extend(der::write(der::BIT_STRING, &bits));
    Ok(der::write(der::SEQUENCE, &out))
}

/// The object to create: a generated name from the user, the signer,
/// client usages and the lifetime asked for (`None`: the signer's default).
pub fn object(user: &str, pem: &str, expiration_seconds: Option<i32>) -> CertificateSigningRequest {
    let mut csr = CertificateSigningRequest::default();
    csr.metadata.generate_name = Some(generate_name(user));
    csr.metadata.labels = Some([("app.kubernetes.io/managed-by".to_string(), "kubectl-pki".to_string())].into());
    csr.spec = CertificateSigningRequestSpec {
        request: ByteString(pem.as_bytes().to_vec()),
        signer_name: SIGNER.into(),
        expiration_seconds,
        usages: Some(vec!["digital signature".into(), "client auth".into()]),
        ..Default::default()
    };
    csr
}

/// `kubectl-pki-<user>-`, the user reduced to what a name allows.
pub fn generate_name(user: &str) -> String {
    let mut s: String = user.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.truncate(40);
    let s = s.trim_matches('-');
    if s.is_empty() { "kubectl-pki-".into() } else { format!("kubectl-pki-{s}-") }
}

/// What the object to approve must be: this run's request, by this identity.
pub struct Expected<'a> {
    pub pem: &'a str,
    pub identity: &'a Identity,
}

/// Refuses to approve an object that is not this run's request for this
/// identity: another request (the name reused), another requester
/// (`spec.username`), another signer, or a subject that is not the identity.
pub fn check_object(csr: &CertificateSigningRequest, want: &Expected<'_>) -> Result<(), String> {
    let name = csr.metadata.name.as_deref().unwrap_or_default();
    let spec = &csr.spec;
    if spec.signer_name != SIGNER {
        return Err(format!("CSR {name:?} is for signer {:?}, not {SIGNER}", spec.signer_name));
    }
    let requester = spec.username.as_deref().unwrap_or_default();
    if requester != want.identity.user {
        return Err(format!("CSR {name:?} was created by {requester:?}, not by {:?}", want.identity.user));
    }
    let subject = request_subject(&spec.request.0)?;
    let identity = Identity::new(subject.user.clone(), subject.groups.iter().cloned());
    if !identity.same_as_server(want.identity) {
        return Err(format!("CSR {name:?} asks for {identity}, but the current identity is {}", want.identity));
    }
    if spec.request.0 != want.pem.as_bytes() {
        return Err(format!("CSR {name:?} holds another request than the one this run created"));
    }
    Ok(())
}

/// The subject (CN, O) a PEM certificate request asks for.
pub fn request_subject(pem: &[u8]) -> Result<Identity, String> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem).map_err(|_| "the request is not PEM".to_string())?;
    let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(&block.contents)
        .map_err(|e| format!("the request is not a PKCS#10 request: {e}"))?;
    req.verify_signature().map_err(|e| format!("the request's signature does not verify: {e}"))?;
    let subject = &req.certification_request_info.subject;
    let cn = subject.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string();
    let orgs = subject.iter_organization().filter_map(|a| a.as_str().ok().map(str::to_owned));
    Ok(Identity::new(cn, orgs))
}

/// Where a CSR is, as its conditions and status say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Neither approved nor denied.
    Pending,
    /// Approved; the signer has not issued yet.
    Approved,
    /// The signer issued this certificate (PEM).
    Issued(Vec<u8>),
    /// Denied or Failed, with the condition's reason and message.
    Refused { condition: String, reason: String, message: String },
}

pub fn state(csr: &CertificateSigningRequest) -> State {
    let status = csr.status.as_ref();
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let holds = |c: &&CertificateSigningRequestCondition| c.status == "True" || c.status.is_empty();
    if let Some(c) = conditions.iter().filter(holds).find(|c| c.type_ == "Denied" || c.type_ == "Failed") {
        return State::Refused {
            condition: c.type_.clone(),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
        };
    }
    if let Some(cert) = status.and_then(|s| s.certificate.as_ref()).filter(|c| !c.0.is_empty()) {
        return State::Issued(cert.0.clone());
    }
    if conditions.iter().filter(holds).any(|c| c.type_ == "Approved") { State::Approved } else { State::Pending }
}

/// The condition `kubectl certificate approve` would set, with this tool's reason.
pub fn approved_condition() -> CertificateSigningRequestCondition {
    CertificateSigningRequestCondition {
        type_: "Approved".into(),
        status: "True".into(),
        reason: Some(APPROVE_REASON.into()),
        message: Some("approved by kubectl pki kubeconfig renew for the identity that requested it".into()),
        last_update_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now())),
        ..Default::default()
    }
}

/// The issued certificate, checked: it carries this run's public key and
/// the identity's subject.
pub fn check_issued(pem: &[u8], identity: &Identity, key: &PrivateKey) -> Result<CertInfo, String> {
    let der = crate::certs::certificates_in(pem)
        .map_err(|e| format!("the issued certificate: {e}"))?
        .into_iter()
        .next()
        .ok_or("the CSR's status.certificate holds no certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| format!("the issued certificate: {e}"))?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err("the issued certificate is not for this run's key".into());
    }
    let info = CertInfo::from_der(&der).map_err(|e| format!("the issued certificate: {e}"))?;
    let issued = Identity::new(info.common_name.clone().unwrap_or_default(), info.organizations.iter().cloned());
    if !issued.same_as_server(identity) {
        return Err(format!("the signer issued a certificate for {issued}, not for {identity}"));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::renew::identity::AUTHENTICATED;

    fn alice() -> Identity {
        Identity::new("alice@example.com", ["devs".to_string(), "ops".to_string(), AUTHENTICATED.to_string()])
    }

    #[test]
    fn the_request_names_the_identity_without_system_authenticated() {
        for kind in [KeyKind::EcdsaP256, KeyKind::Ed25519, KeyKind::Rsa(2048)] {
            let (key, pem) = request(&alice(), kind).unwrap();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"), "{pem}");
            let subject = request_subject(pem.as_bytes()).unwrap();
            assert_eq!(subject, Identity::new("alice@example.com", ["devs".to_string(), "ops".to_string()]));
            assert_eq!(format!("{key:?}"), format!("PrivateKey({kind})"), "Debug shows no key");
            assert!(!pem.contains("PRIVATE"));
        }
        assert!(request(&Identity::new("", []), KeyKind::EcdsaP256).is_err());
    }

    #[test]
    fn the_object_asks_the_client_signer() {
        let o = object("Alice@Example.com", "PEM", Some(3600));
        assert_eq!(o.metadata.generate_name.as_deref(), Some("kubectl-pki-alice-example-com-"));
        assert_eq!(o.spec.signer_name, SIGNER);
        assert_eq!(o.spec.expiration_seconds, Some(3600));
        assert_eq!(o.spec.usages.as_deref().unwrap(), ["digital signature", "client auth"]);
        assert_eq!(generate_name("system:serviceaccount:a:b"), "kubectl-pki-system-serviceaccount-a-b-");
        assert_eq!(generate_name("::"), "kubectl-pki-");
        assert!(generate_name(&"x".repeat(300)).len() < 64);
    }

    fn created(pem: &str, username: &str) -> CertificateSigningRequest {
        let mut o = object("alice", pem, None);
        o.metadata.name = Some("kubectl-pki-alice-abcde".into());
        o.spec.username = Some(username.into());
        o
    }

    #[test]
    fn only_this_runs_request_by_this_identity_is_approved() {
        let id = alice();
        let (_, pem) = request(&id, KeyKind::EcdsaP256).unwrap();
        let want = Expected { pem: &pem, identity: &id };
        assert_eq!(check_object(&created(&pem, "alice@example.com"), &want), Ok(()));

        let err = check_object(&created(&pem, "mallory"), &want).unwrap_err();
        assert_eq!(err, "CSR \"kubectl-pki-alice-abcde\" was created by \"mallory\", not by \"alice@example.com\"");

        let (_, other) = request(&id, KeyKind::EcdsaP256).unwrap();
        assert!(check_object(&created(&other, "alice@example.com"), &want).unwrap_err().contains("another request"));

        let admin = Identity::new("alice@example.com", ["system:masters".to_string()]);
        let (_, escalate) = request(&admin, KeyKind::EcdsaP256).unwrap();
        let err = check_object(&created(&escalate, "alice@example.com"), &want).unwrap_err();
        assert!(err.contains("asks for user \"alice@example.com\" groups \"system:masters\""), "{err}");

        let mut signer = created(&pem, "alice@example.com");
        signer.spec.signer_name = "example.com/other".into();
        assert!(check_object(&signer, &want).unwrap_err().contains("signer"));
    }

    fn with(conditions: &[(&str, &str)], cert: Option<&str>) -> CertificateSigningRequest {
        let mut o = object("a", "PEM", None);
        o.status = Some(k8s_openapi::api::certificates::v1::CertificateSigningRequestStatus {
            conditions: Some(
                conditions
                    .iter()
                    .map(|(t, s)| CertificateSigningRequestCondition {
                        type_: t.to_string(),
                        status: s.to_string(),
                        reason: Some("R".into()),
                        message: Some("M".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            certificate: cert.map(|c| ByteString(c.as_bytes().to_vec())),
        });
        o
    }

    #[test]
    fn states_from_conditions() {
        assert_eq!(state(&object("a", "PEM", None)), State::Pending);
        assert_eq!(state(&with(&[("Approved", "True")], None)), State::Approved);
        assert_eq!(state(&with(&[("Approved", "False")], None)), State::Pending);
        assert_eq!(state(&with(&[("Approved", "True")], Some("CERT"))), State::Issued(b"CERT".to_vec()));
        let refused = State::Refused { condition: "Denied".into(), reason: "R".into(), message: "M".into() };
        assert_eq!(state(&with(&[("Denied", "True")], None)), refused);
        assert!(
            matches!(state(&with(&[("Approved", "True"), ("Failed", "True")], None)), State::Refused { condition, .. } if condition == "Failed")
        );
    }

    #[test]
    fn the_issued_certificate_must_carry_our_key_and_subject() {
        use crate::issuer::{Authority, now};
        let ca = Authority::self_signed(&CertSpec::ca("ca", now(), 1), PrivateKey::generate(KeyKind::EcdsaP256).unwrap()).unwrap();
        let id = alice();
        let sign = |identity: &Identity, key: &PrivateKey| {
            let spec = CertSpec::client(Some(&identity.user), identity.certificate_groups(), now(), 3600);
            pem::encode("CERTIFICATE", &ca.issue(&spec, key).unwrap())
        };
        let key = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        let info = check_issued(sign(&id, &key).as_bytes(), &id, &key).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("alice@example.com"));
        let other = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
        assert!(check_issued(sign(&id, &other).as_bytes(), &id, &key).unwrap_err().contains("key"));
        let bob = Identity::new("bob", []);
        assert!(check_issued(sign(&bob, &key).as_bytes(), &id, &key).unwrap_err().contains("not for"));
        assert!(check_issued(b"", &id, &key).is_err());
    }
}
