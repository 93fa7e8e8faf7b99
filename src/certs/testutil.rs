//! Certificates made on the fly for unit tests (rcgen, ECDSA P-256 by
//! default; RSA comes from the openssl CLI where a test needs it).

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

pub struct TestCert {
    pub der: Vec<u8>,
    pub pem: String,
    pub issuer: Issuer<'static, KeyPair>,
}

fn params(cn: &str, is_ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(vec![format!("{cn}.example")]).expect("static SAN");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.use_authority_key_identifier_extension = true;
    if is_ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    p
}

/// A self-signed CA.
pub fn ca(cn: &str) -> TestCert {
    with_params(params(cn, true), None)
}

/// A leaf signed by `issuer`.
pub fn leaf_signed_by(cn: &str, issuer: &TestCert) -> TestCert {
    with_params(params(cn, false), Some(issuer))
}

/// An intermediate CA signed by `issuer`.
pub fn intermediate_signed_by(cn: &str, issuer: &TestCert) -> TestCert {
    with_params(params(cn, true), Some(issuer))
}

/// Any parameters, self-signed or signed by `issuer`.
pub fn with_params(p: CertificateParams, issuer: Option<&TestCert>) -> TestCert {
    let key = KeyPair::generate().expect("keygen");
    let cert = match issuer {
        Some(i) => p.signed_by(&key, &i.issuer).expect("sign"),
        None => p.self_signed(&key).expect("self-sign"),
    };
    TestCert { der: cert.der().to_vec(), pem: cert.pem(), issuer: Issuer::new(p, key) }
}

/// Parameters with a common name, for tests that tweak validity or names.
pub fn params_for(cn: &str, is_ca: bool) -> CertificateParams {
    params(cn, is_ca)
}

/// A kubeconfig with inline CA and client certificate (and a fake key).
pub fn kubeconfig_yaml(ca_pem: &str, client_pem: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: tenant\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: {}\n\
         contexts:\n- name: admin@tenant\n  context:\n    cluster: tenant\n    user: admin\ncurrent-context: admin@tenant\n\
         users:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: c2VjcmV0LWtleQ==\n",
        b64(ca_pem),
        b64(client_pem)
    )
}
