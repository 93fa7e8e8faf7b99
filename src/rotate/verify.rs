//! Is the rotation done? The tenant's `-ca` must hold a CA with a new key
//! (a re-issued certificate over the old key is not a rotation), and every
//! certificate and kubeconfig signed by the tenant CA must chain to it by
//! signature (old and new CA share `CN=kubernetes`). Never looks at keys'
//! private halves.
//! Pure: no API calls, no clap types, no printing.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::certs::chain::{ChainVerdict, chains_to};
use crate::certs::info::CertInfo;
use crate::certs::kubeconfig;
use crate::certs::parse::certificates_in;
use crate::kamaji::names;

/// What identifies a CA: its certificate and its public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaId {
    /// SHA-256 of the certificate (as `openssl x509 -fingerprint -sha256`).
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo.
    pub key_sha256: String,
    pub subject: String,
    pub not_after: Timestamp,
}

impl CaId {
    pub fn from_der(der: &[u8]) -> Result<CaId, String> {
        let info = CertInfo::from_der(der).map_err(|e| e.to_string())?;
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        let key = Sha256::digest(cert.public_key().raw);
        Ok(CaId {
            sha256: info.sha256,
            key_sha256: key.iter().map(|b| format!("{b:02x}")).collect(),
            subject: info.subject,
            not_after: info.not_after,
        })
    }

    /// A short form for progress lines: first 4 bytes of the fingerprint.
    pub fn short(&self) -> String {
        self.sha256.split(':').take(4).collect::<Vec<_>>().join(":")
    }

    /// Another CA: a different key. (Same key re-issued is not a rotation.)
    pub fn is_rotated_from(&self, old: &CaId) -> bool {
        self.key_sha256 != old.key_sha256
    }
}

fn value<'a>(secret: &'a Secret, key: &str) -> Option<&'a [u8]> {
    secret.data.as_ref()?.get(key).map(|b| b.0.as_slice())
}

/// The CA certificate (DER) and its id from a `-ca` secret (`ca.crt`).
pub fn ca_of(secret: &Secret) -> Result<(Vec<u8>, CaId), String> {
    let name = secret.metadata.name.as_deref().unwrap_or("?");
    let pem = value(secret, names::KEY_CA_CRT).ok_or_else(|| format!("{name} has no {}", names::KEY_CA_CRT))?;
    let der = certificates_in(pem)
        .map_err(|e| format!("{name}/{}: {e}", names::KEY_CA_CRT))?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{name}/{} holds no certificate", names::KEY_CA_CRT))?
        .as_ref()
        .to_vec();
    let id = CaId::from_der(&der).map_err(|e| format!("{name}/{}: {e}", names::KEY_CA_CRT))?;
    Ok((der, id))
}

/// How a regenerated secret is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Every certificate key (`*.crt`, `tls.crt`) chains to the new CA.
    Leaf,
    /// Every kubeconfig key embeds the new CA and its client certificate chains to it.
    Kubeconfig,
    /// The `-ca` secret: `tls.crt` (Cluster API's copy) equals `ca.crt`.
    Ca,
    /// Signed by another CA (front-proxy, datastore) or not a certificate
    /// (SA key): it only has to exist again.
    Exists,
}

/// The check for a tenant secret suffix.
pub fn check_for(suffix: &str) -> Check {
    match suffix {
        names::CA => Check::Ca,
        names::API_SERVER | names::API_SERVER_KUBELET_CLIENT | names::KONNECTIVITY_CERT => Check::Leaf,
        names::ADMIN_KUBECONFIG | names::CONTROLLER_MANAGER_KUBECONFIG | names::SCHEDULER_KUBECONFIG | names::KONNECTIVITY_KUBECONFIG => {
            Check::Kubeconfig
        }
        _ => Check::Exists,
    }
}

/// `Ok(n)`: the secret passes (n certificates checked); `Err`: what is
/// still wrong, for the progress line and the timeout message.
pub fn check(secret: &Secret, how: Check, ca_der: &[u8]) -> Result<usize, String> {
    let name = secret.metadata.name.as_deref().unwrap_or("?");
    let keys: Vec<&String> = secret.data.iter().flat_map(|d| d.keys()).collect();
    match how {
        Check::Exists => Ok(0),
        Check::Ca => match value(secret, "tls.crt") {
            None => Ok(1),
            Some(pem) => {
                let first = certificates_in(pem).ok().and_then(|c| c.into_iter().next());
                if first.is_some_and(|c| c.as_ref() == ca_der) { Ok(2) } else { Err(format!("{name}/tls.crt is not the new ca.crt")) }
            }
        },
        Check::Leaf => {
            let mut n = 0;
            for key in keys.iter().filter(|k| k.ends_with(".crt") && k.as_str() != names::KEY_CA_CRT) {
                let pem = value(secret, key).unwrap_or_default();
                let der = match certificates_in(pem) {
                    Ok(c) if !c.is_empty() => c[0].as_ref().to_vec(),
                    Ok(_) => return Err(format!("{name}/{key} holds no certificate")),
                    Err(e) => return Err(format!("{name}/{key}: {e}")),
                };
                chained(&der, ca_der).map_err(|why| format!("{name}/{key}: {why}"))?;
                n += 1;
            }
            if n == 0 { Err(format!("{name} holds no certificate yet")) } else { Ok(n) }
        }
        Check::Kubeconfig => {
            let mut n = 0;
            for key in &keys {
                let bytes = value(secret, key).unwrap_or_default();
                if !kubeconfig::looks_like_kubeconfig(bytes) {
                    continue;
                }
                let kc = kubeconfig::parse(bytes).map_err(|e| format!("{name}/{key}: {e}"))?;
                for m in kubeconfig::materials(&kc, None) {
                    let data = m.data.map_err(|e| format!("{name}/{key}: {e}"))?;
                    let certs = certificates_in(&data).map_err(|e| format!("{name}/{key}: {e}"))?;
                    match m.role {
                        kubeconfig::Role::ClusterCa { .. } => {
                            if !certs.iter().any(|c| c.as_ref() == ca_der) {
                                return Err(format!("{name}/{key}: embedded CA is not the new CA"));
                            }
                        }
                        kubeconfig::Role::ClientCert { .. } => {
                            let leaf = certs.first().ok_or_else(|| format!("{name}/{key}: empty client certificate"))?;
                            chained(leaf.as_ref(), ca_der).map_err(|why| format!("{name}/{key}: client certificate {why}"))?;
                        }
                    }
                    n += 1;
                }
            }
            if n == 0 { Err(format!("{name} holds no kubeconfig yet")) } else { Ok(n) }
        }
    }
}

fn chained(leaf: &[u8], ca: &[u8]) -> Result<(), String> {
    const NONE: &[&[u8]] = &[];
    match chains_to(leaf, NONE, &[ca]) {
        ChainVerdict::Verified { .. } => Ok(()),
        ChainVerdict::Unverified { reason } => Err(format!("does not chain to the new CA ({reason})")),
        other => Err(format!("not checked ({other})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    fn secret(name: &str, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
            data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.to_vec()))).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn a_new_key_is_a_rotation_a_reissue_is_not() {
        let old = ca("kubernetes");
        let new = ca("kubernetes");
        let (old_id, new_id) = (CaId::from_der(&old.der).unwrap(), CaId::from_der(&new.der).unwrap());
        assert!(new_id.is_rotated_from(&old_id));
        assert!(!old_id.is_rotated_from(&old_id));
        let s = secret("t-ca", &[("ca.crt", old.pem.as_bytes()), ("ca.key", b"-----BEGIN PRIVATE KEY-----")]);
        let (der, id) = ca_of(&s).unwrap();
        assert_eq!((der, id), (old.der.clone(), old_id));
        assert!(ca_of(&secret("t-ca", &[])).unwrap_err().contains("has no ca.crt"));
    }

    #[test]
    fn leaves_must_chain_to_the_new_ca() {
        let old = ca("kubernetes");
        let new = ca("kubernetes");
        let fresh = secret(
            "t-api-server-certificate",
            &[("apiserver.crt", leaf_signed_by("apiserver", &new).pem.as_bytes()), ("apiserver.key", b"k")],
        );
        let stale = secret("t-api-server-certificate", &[("apiserver.crt", leaf_signed_by("apiserver", &old).pem.as_bytes())]);
        assert_eq!(check(&fresh, Check::Leaf, &new.der), Ok(1));
        let err = check(&stale, Check::Leaf, &new.der).unwrap_err();
        assert!(err.contains("apiserver.crt: does not chain to the new CA"), "{err}");
        assert!(check(&secret("x", &[]), Check::Leaf, &new.der).is_err());
    }

    #[test]
    fn kubeconfigs_need_the_new_ca_and_a_client_cert_signed_by_it() {
        let old = ca("kubernetes");
        let new = ca("kubernetes");
        let good = kubeconfig_yaml(&new.pem, &leaf_signed_by("admin", &new).pem);
        let stale_ca = kubeconfig_yaml(&old.pem, &leaf_signed_by("admin", &new).pem);
        let stale_client = kubeconfig_yaml(&new.pem, &leaf_signed_by("admin", &old).pem);
        let s = |y: &str| secret("t-admin-kubeconfig", &[("admin.conf", y.as_bytes()), ("super-admin.conf", good.as_bytes())]);
        assert_eq!(check(&s(&good), Check::Kubeconfig, &new.der), Ok(4));
        assert!(check(&s(&stale_ca), Check::Kubeconfig, &new.der).unwrap_err().contains("embedded CA is not the new CA"));
        assert!(check(&s(&stale_client), Check::Kubeconfig, &new.der).unwrap_err().contains("client certificate does not chain"));
    }

    #[test]
    fn ca_copy_for_cluster_api_must_match() {
        let new = ca("kubernetes");
        let other = ca("kubernetes");
        let ok = secret("t-ca", &[("ca.crt", new.pem.as_bytes()), ("tls.crt", new.pem.as_bytes())]);
        let bad = secret("t-ca", &[("ca.crt", new.pem.as_bytes()), ("tls.crt", other.pem.as_bytes())]);
        assert_eq!(check(&ok, Check::Ca, &new.der), Ok(2));
        assert!(check(&bad, Check::Ca, &new.der).is_err());
    }

    #[test]
    fn checks_by_suffix() {
        assert_eq!(check_for("ca"), Check::Ca);
        assert_eq!(check_for("konnectivity-kubeconfig"), Check::Kubeconfig);
        assert_eq!(check_for("konnectivity-certificate"), Check::Leaf);
        assert_eq!(check_for("front-proxy-client-certificate"), Check::Exists);
        assert_eq!(check_for("datastore-certificate"), Check::Exists);
        assert_eq!(check_for("sa-certificate"), Check::Exists);
    }
}
