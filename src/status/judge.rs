//! Chain verdicts for items: what each certificate is checked against
//! depends on where it was found.

use crate::certs::chain::{self, ChainVerdict};

use super::item::{Item, Kind};

/// Each item against what its own Secret or file offers: a kubeconfig's
/// client certificate against that kubeconfig's CA, a talosconfig's client
/// certificate against its `ca`, other certificates against the `ca.crt`
/// key beside them, and every certificate against the rest of its bundle.
/// A CA is not checked against itself (it shows `self-signed`).
pub fn within_document(items: &[Item]) -> Vec<ChainVerdict> {
    items
        .iter()
        .map(|item| {
            let Some(der) = item.der() else { return ChainVerdict::NotChecked };
            let peers = peers(items, item);
            let mut anchors: Vec<&[u8]> = items
                .iter()
                .filter(|o| o.group != item.group && is_anchor_for(item, o))
                .filter_map(Item::der)
                .collect();
            anchors.extend(peers.iter().copied().filter(|p| chain::is_self_signed(p)));
            anchors.retain(|a| *a != der);
            let mut intermediates = peers.clone();
            intermediates.extend(anchors.iter().copied());
            chain::chains_to(der, &intermediates, &anchors)
        })
        .collect()
}

/// Each item against fixed trusted CAs (a tenant's current CA, the
/// kubeconfig's CA for the served chain), through the rest of its bundle.
/// A CA that is one of the roots is `verified`.
pub fn against(items: &[Item], roots: &[impl AsRef<[u8]>]) -> Vec<ChainVerdict> {
    items.iter().map(|item| against_one(items, item, roots)).collect()
}

pub fn against_one(items: &[Item], item: &Item, roots: &[impl AsRef<[u8]>]) -> ChainVerdict {
    match item.der() {
        Some(der) => chain::chains_to(der, &peers(items, item), roots),
        None => ChainVerdict::NotChecked,
    }
}

/// Each item against every CA of a pool (a k3s `server/tls` directory):
/// self-signed CAs are roots, other CAs intermediates.
pub fn within_pool(items: &[Item]) -> Vec<ChainVerdict> {
    let cas: Vec<&[u8]> = items.iter().filter_map(Item::der).filter(|d| is_ca(d)).collect();
    let roots: Vec<&[u8]> = cas.iter().copied().filter(|d| chain::is_self_signed(d)).collect();
    items
        .iter()
        .map(|item| {
            let Some(der) = item.der() else { return ChainVerdict::NotChecked };
            if chain::is_self_signed(der) {
                return ChainVerdict::SelfSigned;
            }
            let own_roots: Vec<&[u8]> = roots.iter().copied().filter(|r| *r != der).collect();
            let mut intermediates = peers(items, item);
            intermediates.extend(cas.iter().copied().filter(|c| *c != der));
            chain::chains_to(der, &intermediates, &own_roots)
        })
        .collect()
}

fn is_anchor_for(item: &Item, other: &Item) -> bool {
    match item.kind {
        Kind::KubeconfigClient => other.kind == Kind::KubeconfigCa && other.doc == item.doc,
        Kind::TalosClient => other.kind == Kind::TalosCa && other.doc == item.doc,
        Kind::Plain => other.kind == Kind::Plain && other.location.key.as_deref() == Some("ca.crt"),
        Kind::KubeconfigCa | Kind::TalosCa => false,
    }
}

fn peers<'a>(items: &'a [Item], item: &Item) -> Vec<&'a [u8]> {
    items
        .iter()
        .filter(|o| o.group == item.group && o.location.index != item.location.index)
        .filter_map(Item::der)
        .collect()
}

fn is_ca(der: &[u8]) -> bool {
    crate::certs::CertInfo::from_der(der).is_ok_and(|i| i.is_ca)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::testutil::{ca, intermediate_signed_by, kubeconfig_yaml, leaf_signed_by};
    use crate::status::item::{Extractor, Location};

    fn items(data: &[(&str, &str)]) -> Vec<Item> {
        let mut ex = Extractor::new();
        for (k, v) in data {
            ex.secret_key(&Location::default(), k, v.as_bytes());
        }
        ex.items
    }

    fn words(v: &[ChainVerdict]) -> Vec<&'static str> {
        v.iter().map(ChainVerdict::word).collect()
    }

    #[test]
    fn tls_secret_leaf_against_its_ca_crt() {
        let root = ca("root");
        let other = ca("other");
        let leaf = leaf_signed_by("leaf", &root);
        let stale = leaf_signed_by("stale", &other);
        let it = items(&[("ca.crt", &root.pem), ("tls.crt", &leaf.pem), ("old.crt", &stale.pem)]);
        assert_eq!(words(&within_document(&it)), ["self-signed", "verified", "unverified"]);
    }

    #[test]
    fn kubeconfig_client_against_its_embedded_ca() {
        let root = ca("kubernetes");
        let admin = leaf_signed_by("admin", &root);
        let stale = leaf_signed_by("admin", &ca("kubernetes"));
        let it = items(&[("admin.conf", &kubeconfig_yaml(&root.pem, &admin.pem)), ("old.conf", &kubeconfig_yaml(&root.pem, &stale.pem))]);
        assert_eq!(words(&within_document(&it)), ["self-signed", "verified", "self-signed", "unverified"]);
    }

    #[test]
    fn bundle_leaf_through_intermediate_to_root_in_the_same_file() {
        let root = ca("root");
        let mid = intermediate_signed_by("mid", &root);
        let leaf = leaf_signed_by("leaf", &mid);
        let it = items(&[("chain.pem", &format!("{}{}{}", leaf.pem, mid.pem, root.pem))]);
        assert_eq!(words(&within_document(&it)), ["verified", "verified", "self-signed"]);
    }

    #[test]
    fn against_fixed_roots_includes_the_root_itself() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("apiserver", &root);
        let it = items(&[("ca.crt", &root.pem), ("apiserver.crt", &leaf.pem)]);
        assert_eq!(words(&against(&it, &[&root.der])), ["verified", "verified"]);
        let new = ca("kubernetes");
        assert_eq!(words(&against(&it, &[&new.der])), ["unverified", "unverified"]);
    }

    #[test]
    fn pool_finds_the_ca_in_another_file() {
        let server_ca = ca("k3s-server-ca");
        let client_ca = ca("k3s-client-ca");
        let serving = leaf_signed_by("k3s", &server_ca);
        let admin = leaf_signed_by("system:admin", &client_ca);
        let it = items(&[
            ("server-ca.crt", &server_ca.pem),
            ("client-ca.crt", &client_ca.pem),
            ("serving-kube-apiserver.crt", &format!("{}{}", serving.pem, server_ca.pem)),
            ("client-admin.crt", &admin.pem),
        ]);
        let v = within_pool(&it);
        assert_eq!(words(&v), ["self-signed", "self-signed", "verified", "self-signed", "verified"]);
        assert_eq!(v[4], ChainVerdict::Verified { to: "k3s-client-ca".into() });
    }
}
