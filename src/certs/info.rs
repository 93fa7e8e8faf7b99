//! What a certificate says about itself, in the form rows and JSON use.
//!
//! No I/O, no clap.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

use super::parse::ParseError;

/// The facts of one certificate. Field names are part of the JSON/YAML
/// schema (`certificate` of an item): keep them stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    /// Full subject DN, e.g. `CN=kubernetes-admin, O=system:masters`.
    pub subject: String,
    pub common_name: Option<String>,
    /// Subject O values: Kubernetes groups, Talos roles.
    pub organizations: Vec<String>,
    pub issuer: String,
    pub issuer_common_name: Option<String>,
    /// `RSA-2048`, `ECDSA-P256`, `Ed25519`...
    pub key_type: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub is_ca: bool,
    /// DNS names, IP addresses, URIs and e-mails, as written.
    pub sans: Vec<String>,
    /// Hex bytes separated by `:` (lowercase, as openssl prints serials).
    pub serial: String,
    /// SHA-256 of the DER, `AB:CD:...` as `openssl x509 -fingerprint -sha256`.
    pub sha256: String,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    /// The DN fields and decimal serial of Prometheus series; not in JSON (the DNs are).
    #[serde(skip)]
    pub labels: super::labels::ExportLabels,
}

impl CertInfo {
    pub fn from_der(der: &[u8]) -> Result<CertInfo, ParseError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| ParseError::BadDer(e.to_string()))?;
        Self::from_parsed(&cert, der)
    }

    fn from_parsed(cert: &X509Certificate<'_>, der: &[u8]) -> Result<CertInfo, ParseError> {
        let validity = cert.validity();
        let mut subject_key_id = None;
        let mut authority_key_id = None;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(hex(id.0, ":")),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key_id = aki.key_identifier.as_ref().map(|id| hex(id.0, ":"));
                }
                _ => {}
            }
        }
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            common_name: first_cn(cert.subject()),
            organizations: cert.subject().iter_organization().filter_map(|a| a.as_str().ok().map(str::to_owned)).collect(),
            issuer: cert.issuer().to_string(),
            issuer_common_name: first_cn(cert.issuer()),
            key_type: key_type(cert.public_key()),
            not_before: timestamp(&validity.not_before)?,
            not_after: timestamp(&validity.not_after)?,
            is_ca: cert.is_ca(),
            sans: sans(cert),
            serial: hex(cert.raw_serial(), ":"),
            sha256: hex(&Sha256::digest(der), ":").to_uppercase(),
            subject_key_id,
            authority_key_id,
            labels: super::labels::ExportLabels::of(cert),
        })
    }

    /// The CN, else the full subject: what a table shows.
    pub fn subject_display(&self) -> &str {
        self.common_name.as_deref().unwrap_or(&self.subject)
    }

    pub fn issuer_display(&self) -> &str {
        self.issuer_common_name.as_deref().unwrap_or(&self.issuer)
    }
}

/// The one place where x509 time (the `time` crate) becomes a jiff
/// timestamp, through Unix seconds.
pub fn timestamp(t: &ASN1Time) -> Result<Timestamp, ParseError> {
    Timestamp::from_second(t.timestamp()).map_err(|e| ParseError::BadDer(format!("validity date out of range: {e}")))
}

fn first_cn(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name().next().and_then(|a| a.as_str().ok()).map(str::to_owned)
}

/// Key algorithm and size, named as users know them.
pub fn key_type(spki: &SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("RSA-{}", bit_length(rsa.modulus)),
            _ => "RSA".into(),
        },
        "1.2.840.10045.2.1" => {
            let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|o| o.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA-P256".into(),
                Some("1.3.132.0.34") => "ECDSA-P384".into(),
                Some("1.3.132.0.35") => "ECDSA-P521".into(),
                Some(other) => format!("ECDSA-{other}"),
                None => "ECDSA".into(),
            }
        }
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        other => other.to_owned(),
    }
}

/// Bits of a big-endian unsigned integer (leading zero bytes ignored).
fn bit_length(n: &[u8]) -> usize {
    let n: &[u8] = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    n.len() * 8 - n[0].leading_zeros() as usize
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else { return Vec::new() };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(s) | GeneralName::URI(s) | GeneralName::RFC822Name(s) => Some((*s).to_owned()),
            GeneralName::IPAddress(bytes) => ip(bytes).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn hex(bytes: &[u8], sep: &str) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, params_for, with_params};
    use rcgen::DnType;

    #[test]
    fn reads_names_key_type_and_extensions() {
        let root = ca("my-ca");
        let mut p = params_for("kubernetes-admin", false);
        p.distinguished_name.push(DnType::OrganizationName, "system:masters");
        p.subject_alt_names.push(rcgen::SanType::IpAddress("10.0.0.1".parse().unwrap()));
        p.not_before = rcgen::date_time_ymd(2020, 1, 2);
        p.not_after = rcgen::date_time_ymd(2030, 3, 4);
        let leaf = with_params(p, Some(&root));
        let info = CertInfo::from_der(&leaf.der).unwrap();
        assert_eq!(info.common_name.as_deref(), Some("kubernetes-admin"));
        assert_eq!(info.organizations, vec!["system:masters".to_string()]);
        assert_eq!(info.issuer_common_name.as_deref(), Some("my-ca"));
        assert_eq!(info.key_type, "ECDSA-P256");
        assert!(!info.is_ca);
        assert_eq!(info.sans, vec!["kubernetes-admin.example".to_string(), "10.0.0.1".to_string()]);
        assert_eq!(info.not_before, "2020-01-02T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(info.not_after, "2030-03-04T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(info.sha256.len(), 32 * 3 - 1);
        let ca_info = CertInfo::from_der(&root.der).unwrap();
        assert!(ca_info.is_ca);
        assert_eq!(info.authority_key_id, ca_info.subject_key_id);
        assert!(ca_info.subject_key_id.is_some());
    }

    #[test]
    fn ed25519_key_type() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let cert = params_for("talos", true).self_signed(&key).unwrap();
        assert_eq!(CertInfo::from_der(cert.der()).unwrap().key_type, "Ed25519");
    }

    #[test]
    fn rsa_key_size_from_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let crt = dir.path().join("rsa.crt");
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rsa-ca"])
            .arg("-keyout")
            .arg(dir.path().join("rsa.key"))
            .arg("-out")
            .arg(&crt)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl CLI");
        assert!(status.success());
        let pem = std::fs::read(&crt).unwrap();
        let der = crate::certs::parse::certificates_in(&pem).unwrap().remove(0);
        let info = CertInfo::from_der(&der).unwrap();
        assert_eq!(info.key_type, "RSA-2048");
        assert_eq!(info.common_name.as_deref(), Some("rsa-ca"));
    }

    #[test]
    fn bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert_eq!(bit_length(&[0, 0]), 0);
    }
}
