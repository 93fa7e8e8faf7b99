//! From bytes (a Secret's data key, a file) to certificate items: plain
//! certificates and bundles, kubeconfigs (CA + client certificate),
//! talosconfigs (CA + client certificate per context). Deciding what is
//! skipped silently and what is an `invalid` item lives here.
//!
//! No I/O, no clap: sources hand it bytes.

use std::path::Path;

use rustls_pki_types::CertificateDer;
use serde::Serialize;

use crate::certs::{kubeconfig, limits, parse, talosconfig};

/// Where a certificate was found; serialized as the item's `location`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub namespace: Option<String>,
    pub secret: Option<String>,
    /// The ConfigMap holding it (`configmaps` source).
    pub config_map: Option<String>,
    /// The cluster object whose `caBundle` holds it (`cabundle` source):
    /// `validatingwebhookconfiguration/<cfg>/<webhook>`, `apiservice/<name>`,
    /// `customresourcedefinition/<name>`.
    pub object: Option<String>,
    pub key: Option<String>,
    pub path: Option<String>,
    /// Which certificate of a kubeconfig or talosconfig: `ca`, `client`,
    /// `ca/<cluster>`, `client/<user>`, `<context>/ca`, `<context>/client`.
    pub entry: Option<String>,
    /// Position in its PEM bundle, from 0.
    pub index: usize,
}

/// What role a certificate plays in the document it came from; decides
/// what it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    KubeconfigCa,
    KubeconfigClient,
    TalosCa,
    TalosClient,
}

/// One certificate (or one unreadable certificate slot) before judging.
#[derive(Debug, Clone)]
pub struct Item {
    pub location: Location,
    /// Number of certificates in the same field.
    pub bundle_len: usize,
    /// Items from the same field share a group.
    pub group: usize,
    /// Items from the same kubeconfig / talosconfig context share a doc.
    pub doc: Option<usize>,
    pub kind: Kind,
    pub content: Result<CertificateDer<'static>, String>,
}

impl Item {
    /// `prefix` (e.g. `ns/secret` or a path) plus `/key`, `:entry` and
    /// `[index]` when needed to tell items apart.
    pub fn display_name(&self, prefix: &str) -> String {
        let mut name = prefix.to_owned();
        if let Some(key) = &self.location.key {
            name.push('/');
            name.push_str(key);
        }
        if let Some(entry) = &self.location.entry {
            name.push(':');
            name.push_str(entry);
        }
        if self.bundle_len > 1 {
            name.push_str(&format!("[{}]", self.location.index));
        }
        name
    }

    pub fn der(&self) -> Option<&[u8]> {
        self.content.as_ref().ok().map(|c| c.as_ref())
    }
}

/// Collects items from several fields, numbering groups and documents.
#[derive(Debug, Default)]
pub struct Extractor {
    pub items: Vec<Item>,
    next_group: usize,
    next_doc: usize,
}

/// Keys whose name promises a certificate: broken content there is
/// `invalid`, not skipped.
pub fn key_expects_certificate(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with(".crt") || k.ends_with(".cert") || k.ends_with(".pem")
}

/// Keys never read: private keys by name.
pub fn key_is_private(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with(".key")
}

impl Extractor {
    pub fn new() -> Self {
        Self::default()
    }

    /// A data key of a Secret. Private keys and non-certificate content
    /// are skipped; kubeconfig file paths are not followed.
    pub fn secret_key(&mut self, base: &Location, key: &str, bytes: &[u8]) {
        if bytes.is_empty() || key_is_private(key) {
            return;
        }
        let loc = Location { key: Some(key.to_owned()), ..base.clone() };
        if let Err(e) = limits::check_bytes(bytes.len()) {
            return self.invalid(loc, None, Kind::Plain, e.to_string());
        }
        self.content(loc, bytes, None, key_expects_certificate(key));
    }

    /// A field that must hold PEM certificates (a `caBundle`): anything
    /// else there, or nothing, is `invalid`.
    pub fn pem_field(&mut self, loc: &Location, bytes: &[u8]) {
        if let Err(e) = limits::check_bytes(bytes.len()) {
            return self.invalid(loc.clone(), None, Kind::Plain, e.to_string());
        }
        self.field(loc.clone(), Ok(bytes.to_vec()), None, Kind::Plain);
    }

    /// A local file named by the user: finding nothing is `invalid`.
    pub fn file(&mut self, base: &Location, path: &Path, bytes: &[u8]) {
        self.read_file(base, path, Ok(bytes));
    }

    /// A local file as [`limits::read_file`] read it: over the limit it is
    /// one `invalid` item.
    pub fn read_file(&mut self, base: &Location, path: &Path, bytes: Result<&[u8], limits::Exceeded>) {
        let loc = Location { path: Some(path.display().to_string()), ..base.clone() };
        let bytes = match bytes.and_then(|b| limits::check_bytes(b.len()).map(|()| b)) {
            Ok(bytes) => bytes,
            Err(e) => return self.invalid(loc, None, Kind::Plain, e.to_string()),
        };
        let before = self.items.len();
        self.content(loc.clone(), bytes, Some(path.parent().unwrap_or(Path::new("."))), true);
        if self.items.len() == before {
            self.invalid(loc, None, Kind::Plain, "no certificate, kubeconfig or talosconfig found".into());
        }
    }

    /// The CA and client certificate of the kubeconfig context in use.
    pub fn kubeconfig_context(&mut self, base: &Location, certs: &kubeconfig::ContextCerts) {
        let doc = self.doc();
        for m in [&certs.ca, &certs.client].into_iter().flatten() {
            let kind = match m.role {
                kubeconfig::Role::ClusterCa { .. } => Kind::KubeconfigCa,
                kubeconfig::Role::ClientCert { .. } => Kind::KubeconfigClient,
            };
            let mut loc = Location { entry: Some(m.role.label(false)), ..base.clone() };
            if let kubeconfig::Origin::File(p) = &m.origin {
                loc.path = Some(p.display().to_string());
            }
            self.field(loc, m.data.clone(), Some(doc), kind);
        }
    }

    fn content(&mut self, loc: Location, bytes: &[u8], base_dir: Option<&Path>, expects_cert: bool) {
        if kubeconfig::looks_like_kubeconfig(bytes) {
            return self.kubeconfig(loc, bytes, base_dir);
        }
        if talosconfig::looks_like_talosconfig(bytes) {
            return self.talosconfig(loc, bytes);
        }
        match parse::certificates_in(bytes) {
            Ok(certs) if certs.is_empty() => {
                if expects_cert && !parse::holds_private_key(bytes) && !holds_other_pem(bytes) {
                    self.invalid(loc, None, Kind::Plain, "no certificate found".into());
                }
            }
            Ok(certs) => self.bundle(loc, certs, None, Kind::Plain),
            Err(e) => self.invalid(loc, None, Kind::Plain, e.to_string()),
        }
    }

    fn kubeconfig(&mut self, loc: Location, bytes: &[u8], base_dir: Option<&Path>) {
        let kc = match kubeconfig::parse(bytes) {
            Ok(kc) => kc,
            Err(e) => return self.invalid(loc, None, Kind::Plain, e),
        };
        let doc = self.doc();
        let materials = kubeconfig::materials(&kc, base_dir);
        let qualify = kc.clusters.len() > 1 || kc.auth_infos.len() > 1;
        for m in materials {
            let kind = match m.role {
                kubeconfig::Role::ClusterCa { .. } => Kind::KubeconfigCa,
                kubeconfig::Role::ClientCert { .. } => Kind::KubeconfigClient,
            };
            let mut loc = Location { entry: Some(m.role.label(qualify)), ..loc.clone() };
            if let kubeconfig::Origin::File(p) = &m.origin {
                loc.path = Some(p.display().to_string());
            }
            self.field(loc, m.data, Some(doc), kind);
        }
    }

    fn talosconfig(&mut self, loc: Location, bytes: &[u8]) {
        let contexts = match talosconfig::parse(bytes) {
            Ok(c) => c,
            Err(e) => return self.invalid(loc, None, Kind::Plain, e),
        };
        for ctx in contexts {
            let doc = self.doc();
            for (field, kind, data) in [("ca", Kind::TalosCa, ctx.ca), ("client", Kind::TalosClient, ctx.crt)] {
                if let Some(data) = data {
                    let loc = Location { entry: Some(format!("{}/{field}", ctx.name)), ..loc.clone() };
                    self.field(loc, data, Some(doc), kind);
                }
            }
        }
    }

    /// A field that must hold a certificate (a kubeconfig's `*-data`).
    fn field(&mut self, loc: Location, data: Result<Vec<u8>, String>, doc: Option<usize>, kind: Kind) {
        match data.and_then(|bytes| parse::certificates_in(&bytes).map_err(|e| e.to_string())) {
            Ok(certs) if certs.is_empty() => self.invalid(loc, doc, kind, "no certificate found".into()),
            Ok(certs) => self.bundle(loc, certs, doc, kind),
            Err(e) => self.invalid(loc, doc, kind, e),
        }
    }

    fn bundle(&mut self, loc: Location, certs: Vec<CertificateDer<'static>>, doc: Option<usize>, kind: Kind) {
        if let Err(e) = limits::check_bundle(certs.len()) {
            return self.invalid(loc, doc, kind, e.to_string());
        }
        let group = self.group();
        let bundle_len = certs.len();
        for (index, cert) in certs.into_iter().enumerate() {
            let location = Location { index, ..loc.clone() };
            self.items.push(Item { location, bundle_len, group, doc, kind, content: Ok(cert) });
        }
    }

    fn invalid(&mut self, loc: Location, doc: Option<usize>, kind: Kind, reason: String) {
        let group = self.group();
        self.items.push(Item { location: loc, bundle_len: 1, group, doc, kind, content: Err(reason) });
    }

    fn group(&mut self) -> usize {
        self.next_group += 1;
        self.next_group
    }

    fn doc(&mut self) -> usize {
        self.next_doc += 1;
        self.next_doc
    }
}

/// PEM holding only non-certificate blocks (a public key like `sa.pub`, a
/// CSR): not a broken certificate.
fn holds_other_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ") && !bytes.windows(parse::PEM_CERT_MARKER.len()).any(|w| w == parse::PEM_CERT_MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    fn secret(data: &[(&str, &[u8])]) -> Vec<Item> {
        let mut ex = Extractor::new();
        let base = Location { namespace: Some("ns".into()), secret: Some("s".into()), ..Default::default() };
        for (k, v) in data {
            ex.secret_key(&base, k, v);
        }
        ex.items
    }

    #[test]
    fn skips_private_keys_passwords_and_public_keys() {
        let key = rcgen::KeyPair::generate().unwrap();
        let items = secret(&[
            ("tls.key", key.serialize_pem().as_bytes()),
            ("DB_PASSWORD", b"hunter2hunter2hunter2"),
            ("sa.pub", key.public_key_pem().as_bytes()),
            ("weird.pem", key.serialize_pem().as_bytes()),
            ("empty.crt", b""),
        ]);
        assert!(items.is_empty(), "{items:?}");
    }

    #[test]
    fn broken_certificates_are_invalid_items() {
        let root = ca("root");
        let truncated = &root.pem[..root.pem.len() - 40];
        let items = secret(&[("ca.crt", truncated.as_bytes()), ("tls.crt", b"garbage"), ("notes", b"garbage")]);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].location.key.as_deref(), Some("ca.crt"));
        assert!(items[0].content.as_ref().unwrap_err().contains("truncated"));
        assert_eq!(items[1].content.as_ref().unwrap_err(), "no certificate found");
    }

    #[test]
    fn bundles_and_kubeconfigs_become_items() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("apiserver", &root);
        let admin = leaf_signed_by("kubernetes-admin", &root);
        let bundle = format!("{}{}", leaf.pem, root.pem);
        let kc = kubeconfig_yaml(&root.pem, &admin.pem);
        let items = secret(&[("apiserver.crt", bundle.as_bytes()), ("admin.conf", kc.as_bytes())]);
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].display_name("ns/s"), "ns/s/apiserver.crt[0]");
        assert_eq!(items[0].group, items[1].group);
        assert_eq!(items[2].kind, Kind::KubeconfigCa);
        assert_eq!(items[2].display_name("ns/s"), "ns/s/admin.conf:ca");
        assert_eq!(items[3].kind, Kind::KubeconfigClient);
        assert_eq!(items[3].location.entry.as_deref(), Some("client"));
        assert_eq!(items[2].doc, items[3].doc);
        assert!(items[2].doc.is_some());
    }

    #[test]
    fn a_broken_kubeconfig_is_one_invalid_item() {
        let items = secret(&[("admin.conf", b"clusters:\n- name: [\nusers: []\n")]);
        assert_eq!(items.len(), 1);
        assert!(items[0].content.as_ref().unwrap_err().starts_with("not a valid kubeconfig"));
    }

    #[test]
    fn a_key_or_file_over_the_limits_is_one_invalid_item_and_the_rest_is_read() {
        let root = ca("root");
        let big = vec![b'x'; limits::MAX_INPUT_BYTES + 1];
        let bundle = root.pem.repeat(limits::MAX_BUNDLE_CERTS + 1);
        let items = secret(&[("big.crt", &big), ("bundle.pem", bundle.as_bytes()), ("ca.crt", root.pem.as_bytes())]);
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].display_name("ns/s"), "ns/s/big.crt");
        assert_eq!(
            items[0].content.as_ref().unwrap_err(),
            "larger than the limit of 1048576 bytes (1 MiB, what a Secret may hold): not read"
        );
        assert_eq!(items[1].display_name("ns/s"), "ns/s/bundle.pem");
        assert_eq!(items[1].content.as_ref().unwrap_err(), "a bundle of 501 certificates, over the limit of 500: not checked");
        assert_eq!(items[2].der(), Some(root.der.as_slice()));
        // A bundle at the limit is read.
        assert_eq!(secret(&[("ok.pem", root.pem.repeat(limits::MAX_BUNDLE_CERTS).as_bytes())]).len(), limits::MAX_BUNDLE_CERTS);
        let mut ex = Extractor::new();
        ex.read_file(&Location::default(), Path::new("/tmp/huge.pem"), Err(limits::Exceeded::Bytes(limits::MAX_INPUT_BYTES + 1)));
        assert_eq!(ex.items.len(), 1);
        assert_eq!(ex.items[0].location.path.as_deref(), Some("/tmp/huge.pem"));
        assert!(ex.items[0].content.as_ref().unwrap_err().starts_with("larger than the limit"));
    }

    #[test]
    fn a_file_without_certificates_is_invalid() {
        let mut ex = Extractor::new();
        ex.file(&Location::default(), Path::new("/tmp/notes.txt"), b"hello");
        assert_eq!(ex.items.len(), 1);
        assert_eq!(ex.items[0].location.path.as_deref(), Some("/tmp/notes.txt"));
        assert!(ex.items[0].content.is_err());
    }
}
