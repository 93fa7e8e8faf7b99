//! Chain verdicts for items: what each certificate is checked against
//! depends on where it was found.
//!
//! No I/O, no clap.

use crate::certs::chain::{self, ChainVerdict};

use super::item::{Item, Kind};

/// Each item against what its own Secret or file offers: a kubeconfig's
/// client certificate against that kubeconfig's CA, a talosconfig's client
/// certificate against its `ca`, other certificates against the `ca.crt`
/// key beside them, and every certificate against the rest of its bundle.
/// A CA is not checked against itself (it shows `self-signed`). Every
/// certificate is parsed, and each signature checked, once ([`chain::Pool`]).
pub fn within_document(items: &[Item]) -> Vec<ChainVerdict> {
    let mut pool = chain::Pool::new(items.iter().map(Item::der));
    let self_signed: Vec<bool> = (0..items.len()).map(|i| pool.self_signed(i)).collect();
    each(items, &mut pool, |i, pool| {
        let item = &items[i];
        let peers: Vec<usize> = peer_indexes(items, item).collect();
        let mut anchors: Vec<usize> =
            (0..items.len()).filter(|&o| items[o].group != item.group && is_anchor_for(item, &items[o])).collect();
        // The roots of a bundle anchor its other members; a root itself is
        // only held to an explicit anchor (a CA bundle is many roots).
        if !self_signed[i] {
            anchors.extend(peers.iter().copied().filter(|&p| self_signed[p]));
        }
        anchors.retain(|&a| items[a].der() != item.der());
        let mut intermediates = peers;
        intermediates.extend(anchors.iter().copied());
        pool.chain(i, &intermediates, &anchors)
    })
}

/// Each item against fixed trusted CAs (a tenant's current CA, the
/// kubeconfig's CA for the served chain), through the rest of its bundle.
/// A CA that is one of the roots is `verified`.
pub fn against(items: &[Item], roots: &[impl AsRef<[u8]>]) -> Vec<ChainVerdict> {
    let mut pool = chain::Pool::new(items.iter().map(Item::der).chain(roots.iter().map(|r| Some(r.as_ref()))));
    let roots: Vec<usize> = (items.len()..pool.len()).collect();
    each(items, &mut pool, |i, pool| {
        let peers: Vec<usize> = peer_indexes(items, &items[i]).collect();
        pool.chain(i, &peers, &roots)
    })
}

/// Each item against every CA of a pool (a k3s `server/tls` directory):
/// self-signed CAs are roots, other CAs intermediates.
pub fn within_pool(items: &[Item]) -> Vec<ChainVerdict> {
    let mut pool = chain::Pool::new(items.iter().map(Item::der));
    let cas: Vec<usize> = (0..items.len()).filter(|&i| items[i].der().is_some_and(is_ca)).collect();
    let self_signed: Vec<bool> = (0..items.len()).map(|i| pool.self_signed(i)).collect();
    let roots: Vec<usize> = cas.iter().copied().filter(|&c| self_signed[c]).collect();
    each(items, &mut pool, |i, pool| {
        if self_signed[i] {
            return ChainVerdict::SelfSigned;
        }
        let der = items[i].der();
        let own_roots: Vec<usize> = roots.iter().copied().filter(|&r| items[r].der() != der).collect();
        let mut intermediates: Vec<usize> = peer_indexes(items, &items[i]).collect();
        intermediates.extend(cas.iter().copied().filter(|&c| items[c].der() != der));
        pool.chain(i, &intermediates, &own_roots)
    })
}

/// `judge(index, pool)` for each item that parsed; an item without a
/// certificate is not checked, one that does not parse is unverified.
fn each<'a>(
    items: &[Item],
    pool: &mut chain::Pool<'a>,
    mut judge: impl FnMut(usize, &mut chain::Pool<'a>) -> ChainVerdict,
) -> Vec<ChainVerdict> {
    (0..items.len())
        .map(|i| match (items[i].der(), pool.get(i).is_some()) {
            (Some(_), true) => judge(i, pool),
            (Some(_), false) => ChainVerdict::Unverified { reason: "not a parsable certificate".into() },
            (None, _) => ChainVerdict::NotChecked,
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

/// The other certificates of the item's bundle.
fn peer_indexes<'a>(items: &'a [Item], item: &'a Item) -> impl Iterator<Item = usize> + 'a {
    (0..items.len()).filter(move |&o| items[o].group == item.group && items[o].location.index != item.location.index)
}

fn is_ca(der: &[u8]) -> bool {
    crate::certs::CertInfo::from_der(der).is_ok_and(|i| i.is_ca)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::item::{Extractor, Location};
    use kubectl_pki_testkit::{ca, intermediate_signed_by, kubeconfig_yaml, leaf_signed_by, named, with_params};

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
    fn a_large_bundle_is_judged_without_trying_every_pair() {
        // 300 leaves of 3 CAs in one file: each leaf is tried only against the CA named as its issuer.
        let cas = [ca("a"), ca("b"), ca("c")];
        let mut pem = String::new();
        for c in &cas {
            pem.push_str(&c.pem);
        }
        for i in 0..300 {
            pem.push_str(&leaf_signed_by(&format!("leaf-{i}"), &cas[i % 3]).pem);
        }
        let it = items(&[("bundle.pem", &pem)]);
        let v = within_document(&it);
        assert_eq!(v.len(), 303);
        assert!(v[..3].iter().all(|v| *v == ChainVerdict::SelfSigned), "{:?}", &v[..3]);
        for (i, verdict) in v[3..].iter().enumerate() {
            let to = ["a", "b", "c"][i % 3];
            assert_eq!(*verdict, ChainVerdict::Verified { to: to.into() }, "leaf-{i}");
        }
    }

    #[test]
    fn a_crafted_bundle_of_same_named_certificates_gives_up_per_row_and_other_keys_verify() {
        // 80 certificates named CN=x, each signed by the one before it.
        let mut chain = vec![with_params(named("x", true), None)];
        for _ in 1..80 {
            let next = with_params(named("x", true), chain.last());
            chain.push(next);
        }
        let crafted: String = chain.iter().map(|c| c.pem.as_str()).collect();
        let root = ca("root");
        let leaf = leaf_signed_by("leaf", &root);
        let it = items(&[("crafted.pem", &crafted), ("ca.crt", &root.pem), ("tls.crt", &leaf.pem)]);
        let v = within_document(&it);
        assert_eq!(v.len(), 82);
        // The bundle's root is held to the ca.crt beside it; near it, members verify.
        assert_eq!(v[0].word(), "unverified");
        assert_eq!(v[1], ChainVerdict::Verified { to: "x".into() });
        let ChainVerdict::Unverified { reason } = &v[79] else { panic!("{:?}", v[79]) };
        assert!(reason.starts_with("gave up after 32 signature checks"), "{reason}");
        assert_eq!(v[81], ChainVerdict::Verified { to: "root".into() }, "the other keys are still judged");
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
