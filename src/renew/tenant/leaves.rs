//! The certificates a tenant secret holds, as `renew` compares them before and after:
//! each certificate key of an `x509` secret (`*.crt`, never `ca.crt`), each client
//! certificate of a `kubeconfig` secret. Serial, NotAfter and fingerprint only: keys
//! are never read. Pure: no API calls, no clap types, no printing.

use std::fmt;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use serde::Serialize;

use crate::certs::info::CertInfo;
use crate::certs::kubeconfig;
use crate::certs::parse::certificates_in;
use crate::kamaji::names;

/// Kamaji's `certificate_lifecycle_controller` label: how a secret holds its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `x509`: a certificate and its key.
    X509,
    /// `kubeconfig`: client certificates inside kubeconfigs.
    Kubeconfig,
}

impl Kind {
    /// The label's value, if it is one Kamaji writes.
    pub fn from_label(value: &str) -> Option<Kind> {
        match value {
            "x509" => Some(Kind::X509),
            "kubeconfig" => Some(Kind::Kubeconfig),
            _ => None,
        }
    }

    /// `x509`, `kubeconfig`: the label's value.
    pub fn word(self) -> &'static str {
        match self {
            Kind::X509 => "x509",
            Kind::Kubeconfig => "kubeconfig",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One certificate of a secret.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leaf {
    /// `apiserver.crt`, or `admin.conf:client` for a kubeconfig's client certificate.
    pub key: String,
    pub serial: String,
    pub not_after: Timestamp,
    pub sha256: String,
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// The DER is a public certificate, but long: left out.
impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf").field("key", &self.key).field("serial", &self.serial).field("not_after", &self.not_after).finish()
    }
}

/// The leaves of `secret` held as `kind`, sorted by key; `Err` says why none can be read
/// (no data, no certificate, a kubeconfig that does not parse).
pub fn leaves_of(secret: &Secret, kind: Kind) -> Result<Vec<Leaf>, String> {
    let name = secret.metadata.name.as_deref().unwrap_or("?");
    let Some(data) = secret.data.as_ref() else { return Err(format!("{name} holds no data")) };
    let mut found = Vec::new();
    let mut push = |key: String, der: &[u8]| -> Result<(), String> {
        let info = CertInfo::from_der(der).map_err(|e| format!("{name}/{key}: {e}"))?;
        found.push(Leaf { key, serial: info.serial, not_after: info.not_after, sha256: info.sha256, der: der.to_vec() });
        Ok(())
    };
    for (key, value) in data {
        match kind {
            Kind::X509 if key.ends_with(".crt") && key != names::KEY_CA_CRT => {
                let certs = certificates_in(&value.0).map_err(|e| format!("{name}/{key}: {e}"))?;
                if let Some(der) = certs.first() {
                    push(key.clone(), der.as_ref())?;
                }
            }
            Kind::Kubeconfig if kubeconfig::looks_like_kubeconfig(&value.0) => {
                let kc = kubeconfig::parse(&value.0).map_err(|e| format!("{name}/{key}: {e}"))?;
                for m in kubeconfig::materials(&kc, None) {
                    let kubeconfig::Role::ClientCert { .. } = m.role else { continue };
                    let pem = m.data.map_err(|e| format!("{name}/{key}: {e}"))?;
                    let certs = certificates_in(&pem).map_err(|e| format!("{name}/{key}: {e}"))?;
                    if let Some(der) = certs.first() {
                        push(format!("{key}:client"), der.as_ref())?;
                    }
                }
            }
            _ => {}
        }
    }
    if found.is_empty() {
        return Err(format!("{name} holds no {kind} certificate"));
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

/// The earliest NotAfter of `leaves`.
pub fn earliest(leaves: &[Leaf]) -> Option<Timestamp> {
    leaves.iter().map(|l| l.not_after).min()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    pub fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
            data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn x509_secrets_give_their_certificate_keys_not_the_ca() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("apiserver", &root);
        let s = secret("t-datastore-certificate", &[("ca.crt", &root.pem), ("server.crt", &leaf.pem), ("server.key", "k")]);
        let found = leaves_of(&s, Kind::X509).unwrap();
        assert_eq!(found.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["server.crt"]);
        assert_eq!(found[0].der, leaf.der);
        assert_eq!(earliest(&found), Some(found[0].not_after));
        assert!(leaves_of(&secret("t-x", &[("tls.key", "k")]), Kind::X509).unwrap_err().contains("holds no x509 certificate"));
    }

    #[test]
    fn kubeconfig_secrets_give_each_client_certificate() {
        let root = ca("kubernetes");
        let kc = kubeconfig_yaml(&root.pem, &leaf_signed_by("admin", &root).pem);
        let s = secret("t-admin-kubeconfig", &[("admin.conf", &kc), ("super-admin.svc", &kc)]);
        let found = leaves_of(&s, Kind::Kubeconfig).unwrap();
        assert_eq!(found.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["admin.conf:client", "super-admin.svc:client"]);
        let broken = secret("t-admin-kubeconfig", &[("admin.conf", "clusters:\nusers: [\n")]);
        let err = leaves_of(&broken, Kind::Kubeconfig).unwrap_err();
        assert!(err.starts_with("t-admin-kubeconfig/admin.conf: ") && !err.contains("PRIVATE"), "{err}");
        assert_eq!(Kind::from_label("kubeconfig"), Some(Kind::Kubeconfig));
        assert_eq!(Kind::from_label("other"), None);
    }
}
