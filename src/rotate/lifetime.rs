//! Do the certificates a rotation leaves behind last a year? Kamaji dates what it issues
//! from its controller's process start ([`crate::kamaji::horizon`]): leaves issued by a
//! controller up for months expire in weeks even though they are brand new. The verification
//! phase finds such leaves here and has them re-issued by the restarted controller.
//! Pure: no API calls, no clap types, no printing.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;

use super::verify::Check;
use crate::certs::info::CertInfo;
use crate::certs::kubeconfig;
use crate::certs::parse::certificates_in;
use crate::kamaji::names;

/// A leaf that expires before the floor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short {
    /// `<secret>/<key>` (`:client` for a kubeconfig's client certificate).
    pub what: String,
    pub not_after: Timestamp,
}

/// The leaves of `secret` checked as `how` (certificate keys of a leaf secret, client
/// certificates of a kubeconfig secret) whose NotAfter is before `floor`. Unparsable data
/// is the chain check's business, not this one's.
pub fn short_leaves(secret: &Secret, how: Check, floor: Timestamp) -> Vec<Short> {
    let name = secret.metadata.name.as_deref().unwrap_or("?");
    let Some(data) = secret.data.as_ref() else { return Vec::new() };
    let mut found = Vec::new();
    let mut judge = |what: String, der: &[u8]| {
        if let Ok(info) = CertInfo::from_der(der)
            && info.not_after < floor
        {
            found.push(Short { what, not_after: info.not_after });
        }
    };
    for (key, value) in data {
        match how {
            Check::Leaf if key.ends_with(".crt") && key != names::KEY_CA_CRT => {
                if let Some(der) = certificates_in(&value.0).ok().and_then(|c| c.into_iter().next()) {
                    judge(format!("{name}/{key}"), der.as_ref());
                }
            }
            Check::Kubeconfig if kubeconfig::looks_like_kubeconfig(&value.0) => {
                let Ok(kc) = kubeconfig::parse(&value.0) else { continue };
                for m in kubeconfig::materials(&kc, None) {
                    let (kubeconfig::Role::ClientCert { .. }, Ok(pem)) = (&m.role, &m.data) else { continue };
                    if let Some(der) = certificates_in(pem).ok().and_then(|c| c.into_iter().next()) {
                        judge(format!("{name}/{key}:client"), der.as_ref());
                    }
                }
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, params_for, with_params};

    fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
            data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()),
            ..Default::default()
        }
    }

    fn leaf_until(cn: &str, year: i32, issuer: &kubectl_pki_testkit::TestCert) -> String {
        let mut p = params_for(cn, false);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(year, 1, 1);
        with_params(p, Some(issuer)).pem
    }

    #[test]
    fn leaves_and_kubeconfig_clients_before_the_floor_are_short() {
        let root = ca("kubernetes");
        let floor: Timestamp = "2027-06-01T00:00:00Z".parse().unwrap();
        let api = secret(
            "t-api-server-certificate",
            &[("apiserver.crt", &leaf_until("apiserver", 2027, &root)), ("apiserver.key", "not a certificate")],
        );
        assert_eq!(
            short_leaves(&api, Check::Leaf, floor),
            [Short { what: "t-api-server-certificate/apiserver.crt".into(), not_after: "2027-01-01T00:00:00Z".parse().unwrap() }]
        );
        let long = secret("t-api-server-certificate", &[("apiserver.crt", &leaf_until("apiserver", 2028, &root))]);
        assert!(short_leaves(&long, Check::Leaf, floor).is_empty());
        // The CA key of a leaf secret is not a leaf.
        assert!(short_leaves(&secret("t-ca", &[("ca.crt", &root.pem)]), Check::Leaf, "2099-01-01T00:00:00Z".parse().unwrap()).is_empty());

        let kc = kubeconfig_yaml(&root.pem, &leaf_until("admin", 2027, &root));
        let admin = secret("t-admin-kubeconfig", &[("admin.conf", &kc)]);
        let short = short_leaves(&admin, Check::Kubeconfig, floor);
        assert_eq!(short.len(), 1, "the client certificate, not the embedded CA: {short:?}");
        assert_eq!(short[0].what, "t-admin-kubeconfig/admin.conf:client");
        assert!(short_leaves(&admin, Check::Exists, floor).is_empty(), "secrets checked only for existence are not leaves here");
    }
}
