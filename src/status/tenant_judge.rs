//! A Kamaji tenant's secrets judged against the tenant's *current* CAs:
//! each leaf and kubeconfig against `<tcp>-ca` `ca.crt`, the front-proxy
//! client against `<tcp>-front-proxy-ca-certificate`, the datastore
//! certificate against the `ca.crt` beside it. `status --tenant` lists the
//! secrets and the exporter holds them from its watch; both judge here.
//!
//! A [`TenantSecret`] keeps certificates only (DER, never a key) and the
//! server its `admin.conf` names, so the exporter can hold it.
//!
//! No I/O, no clap.

use k8s_openapi::api::core::v1::Secret;

use crate::certs::chain::ChainVerdict;
use crate::kamaji::endpoint::{Target, target};
use crate::kamaji::names;
use crate::status::item::{Item, Kind};
use crate::status::judge;
use crate::status::row::{Collector, RowStatus, SourceKind};
use crate::status::sources::secrets::items_of;

const KEY_ADMIN_CONF: &str = "admin.conf";
const KEY_APISERVER_CRT: &str = "apiserver.crt";

/// The expected CA, or why it is missing (then nothing is verified).
pub type Expected = std::result::Result<Vec<Vec<u8>>, String>;

/// What a tenant's judgement needs of one of its secrets.
#[derive(Debug, Clone)]
pub struct TenantSecret {
    /// The TenantControlPlane (`kamaji.clastix.io/name`).
    pub tcp: String,
    pub namespace: String,
    pub name: String,
    pub items: Vec<Item>,
    /// Carries `certs.kamaji.clastix.io/rotate=""`: Kamaji rotates it when it acts on it.
    pub rotate_pending: bool,
    /// The server of `admin.conf`, in `<tcp>-admin-kubeconfig`.
    pub admin_target: Option<Target>,
}

impl TenantSecret {
    /// `None` for a secret that is not a tenant's: neither `kamaji.clastix.io/name`
    /// nor a KubeconfigGenerator's `kamaji.clastix.io/managed-for`.
    pub fn of(secret: &Secret) -> Option<TenantSecret> {
        let labels = secret.metadata.labels.as_ref()?;
        let tcp = labels.get(names::LABEL_NAME).or_else(|| labels.get(names::LABEL_MANAGED_FOR))?.clone();
        let name = secret.metadata.name.clone().unwrap_or_default();
        let rotate_pending =
            secret.metadata.annotations.as_ref().and_then(|a| a.get(names::ANNOTATION_ROTATE)).is_some_and(|v| v.is_empty());
        let admin_target = match names::suffix_of(&tcp, &name) {
            Some(names::ADMIN_KUBECONFIG) => {
                secret.data.as_ref().and_then(|d| d.get(KEY_ADMIN_CONF)).and_then(|v| target(Some(&v.0), None))
            }
            _ => None,
        };
        let (_, ex) = items_of(secret);
        Some(TenantSecret {
            tcp,
            namespace: secret.metadata.namespace.clone().unwrap_or_default(),
            name,
            items: ex.items,
            rotate_pending,
            admin_target,
        })
    }

    pub fn suffix(&self) -> Option<&str> {
        names::suffix_of(&self.tcp, &self.name)
    }

    /// `namespace/name`: how its rows are named.
    pub fn prefix(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The certificates of `key`, or why there are none.
    fn certificates(&self, key: &str) -> Result<Vec<Vec<u8>>, String> {
        let items: Vec<&Item> =
            self.items.iter().filter(|i| i.location.key.as_deref() == Some(key) && i.location.entry.is_none()).collect();
        if items.is_empty() {
            return Err(format!("no {key}"));
        }
        items.iter().map(|i| i.content.as_ref().map(|c| c.as_ref().to_vec()).map_err(|e| format!("{key}: {e}"))).collect()
    }
}

/// The CA in `secret`'s `key` ([`names::CA`] `ca.crt`, the front-proxy CA), or why it is unknown.
pub fn expected(secret: Option<&TenantSecret>, secret_name: &str, key: &str) -> Expected {
    let Some(s) = secret else { return Err(format!("CA secret {secret_name} not found")) };
    match s.certificates(key) {
        Ok(certs) => Ok(certs),
        Err(why) if why == format!("no {key}") => Err(format!("CA secret {secret_name} has no {key}")),
        Err(why) => Err(format!("{secret_name}/{why}")),
    }
}

/// Pushes a row per certificate of the tenant's secrets; returns the
/// secrets with a pending rotate annotation.
pub fn push_secrets<'a>(
    col: &mut Collector<'_>,
    secrets: impl IntoIterator<Item = &'a TenantSecret>,
    ca: &Expected,
    front_proxy_ca: &Expected,
) -> Vec<String> {
    let mut pending = Vec::new();
    for s in secrets {
        if s.rotate_pending {
            pending.push(s.name.clone());
        }
        let (verdicts, expected) = match s.suffix() {
            Some(names::DATASTORE_CERT) => (judge::within_document(&s.items), None),
            Some(names::FRONT_PROXY_CA | names::FRONT_PROXY_CLIENT) => (against(&s.items, front_proxy_ca), None),
            _ => (against(&s.items, ca), ca.as_ref().ok()),
        };
        let stale = expected.map_or_else(|| vec![false; s.items.len()], |roots| stale_copies(&s.items, roots));
        let prefix = s.prefix();
        for ((item, verdict), stale) in s.items.iter().zip(verdicts).zip(stale) {
            let mut row = col.item_row(SourceKind::Tenant, &prefix, item, verdict);
            if stale && row.certificate.is_some() {
                row.status = RowStatus::Mismatch;
                row.message = Some(format!(
                    "stale CA: {}/{} embeds a CA that is not the tenant's current CA ({}): its clients are refused",
                    s.name,
                    item.location.key.as_deref().unwrap_or_default(),
                    names::secret_name(&s.tcp, names::CA)
                ));
            }
            col.emit(row);
        }
    }
    pending
}

/// For each item: a kubeconfig's CA that is not the current CA, in a field
/// where no certificate is (kamaji#1151: a stale `konnectivity-kubeconfig`
/// broke every `kubectl exec` and `logs`).
fn stale_copies(items: &[Item], roots: &[Vec<u8>]) -> Vec<bool> {
    let current = |i: &Item| i.der().is_some_and(|d| roots.iter().any(|r| r.as_slice() == d));
    items
        .iter()
        .map(|item| item.kind == Kind::KubeconfigCa && item.der().is_some() && !items.iter().filter(|o| o.group == item.group).any(current))
        .collect()
}

/// What the tenant's secrets say about its API: where users dial it and the certificate it
/// should serve ([`seen`]); the served row compares the dial with it.
#[derive(Debug, Default)]
pub struct Seen {
    /// The server of `admin.conf`.
    pub admin_target: Option<Target>,
    /// The first certificate of `apiserver.crt`, or why there is none.
    pub apiserver_leaf: Option<Result<Vec<u8>, String>>,
}

/// What the served-certificate check compares with, from the same secrets.
pub fn seen<'a>(secrets: impl IntoIterator<Item = &'a TenantSecret>) -> Seen {
    let mut seen = Seen::default();
    for s in secrets {
        match s.suffix() {
            Some(names::ADMIN_KUBECONFIG) => seen.admin_target = s.admin_target.clone(),
            Some(names::API_SERVER) => {
                let leaf = s
                    .certificates(KEY_APISERVER_CRT)
                    .and_then(|certs| certs.into_iter().next().ok_or_else(|| format!("{KEY_APISERVER_CRT} holds no certificate")));
                seen.apiserver_leaf = Some(leaf);
            }
            _ => {}
        }
    }
    seen
}

fn against(items: &[Item], expected: &Expected) -> Vec<ChainVerdict> {
    match expected {
        Ok(roots) => judge::against(items, roots),
        Err(reason) => items.iter().map(|_| ChainVerdict::Unverified { reason: reason.clone() }).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
        let mut s = Secret {
            data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()),
            ..Secret::default()
        };
        s.metadata.name = Some(name.into());
        s.metadata.namespace = Some("ns".into());
        s.metadata.labels = Some([(names::LABEL_NAME.to_string(), "k8s".to_string())].into());
        s
    }

    #[test]
    fn keeps_certificates_and_the_admin_server_only() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("kube-apiserver", &root);
        let admin = leaf_signed_by("admin", &root);
        let api =
            TenantSecret::of(&secret("k8s-api-server-certificate", &[("apiserver.crt", &leaf.pem), ("apiserver.key", "KEY")])).unwrap();
        let conf = TenantSecret::of(&secret("k8s-admin-kubeconfig", &[("admin.conf", &kubeconfig_yaml(&root.pem, &admin.pem))])).unwrap();
        assert_eq!(conf.admin_target.as_ref().map(|t| t.url.as_str()), Some("https://10.0.0.1:6443"));
        assert!(!format!("{api:?}{conf:?}").contains("KEY"));
        let seen = seen([&api, &conf]);
        assert_eq!(seen.apiserver_leaf, Some(Ok(leaf.der.clone())));
        assert!(seen.admin_target.is_some());
        assert!(TenantSecret::of(&Secret::default()).is_none(), "no label, not a tenant secret");
    }

    #[test]
    fn a_kubeconfig_embedding_an_old_ca_is_a_mismatch_naming_the_secret() {
        let old = ca("kubernetes");
        let new = ca("kubernetes");
        let ca_secret = TenantSecret::of(&secret("k8s-ca", &[("ca.crt", &new.pem)])).unwrap();
        let fresh = TenantSecret::of(&secret(
            "k8s-admin-kubeconfig",
            &[("admin.conf", &kubeconfig_yaml(&new.pem, &leaf_signed_by("a", &new).pem))],
        ))
        .unwrap();
        let mut generated = secret("k8s-devs", &[("value", &kubeconfig_yaml(&old.pem, &leaf_signed_by("dev", &new).pem))]);
        generated.metadata.labels = Some([(names::LABEL_MANAGED_FOR.to_string(), "k8s".to_string())].into());
        let generated = TenantSecret::of(&generated).expect("a KubeconfigGenerator secret is the tenant's");
        let expected = expected(Some(&ca_secret), "k8s-ca", names::KEY_CA_CRT);
        let mut rows = Vec::new();
        let mut col = Collector::new(jiff::Timestamp::now(), jiff::SignedDuration::ZERO, &mut rows);
        push_secrets(&mut col, [&fresh, &generated], &expected, &Err("-".into()));
        drop(col);
        let mismatched: Vec<_> = rows.iter().filter(|r| r.status == RowStatus::Mismatch).collect();
        assert_eq!(mismatched.len(), 1, "{rows:#?}");
        assert_eq!(mismatched[0].name, "ns/k8s-devs/value:ca");
        assert!(
            mismatched[0].message.as_deref().unwrap().starts_with("stale CA: k8s-devs/value embeds a CA"),
            "{:?}",
            mismatched[0].message
        );
    }

    #[test]
    fn leaves_are_judged_against_the_current_ca() {
        let old = ca("kubernetes");
        let new = ca("kubernetes");
        let ca_secret = TenantSecret::of(&secret("k8s-ca", &[("ca.crt", &new.pem)])).unwrap();
        let stale =
            TenantSecret::of(&secret("k8s-api-server-certificate", &[("apiserver.crt", &leaf_signed_by("api", &old).pem)])).unwrap();
        let expected = expected(Some(&ca_secret), "k8s-ca", names::KEY_CA_CRT);
        let mut rows = Vec::new();
        let mut col = Collector::new(jiff::Timestamp::now(), jiff::SignedDuration::ZERO, &mut rows);
        let none: Expected = Err("no front-proxy CA".into());
        push_secrets(&mut col, [&ca_secret, &stale], &expected, &none);
        drop(col);
        assert_eq!(
            rows.iter().map(|r| r.chain.word()).collect::<Vec<_>>(),
            ["verified", "unverified"],
            "the CA is its own root; the old leaf does not chain"
        );
        assert_eq!(super::expected(None, "k8s-ca", "ca.crt").unwrap_err(), "CA secret k8s-ca not found");
    }
}
