//! `kube-root-ca.crt`, the CA bundle kube-controller-manager publishes in
//! every namespace for pods to trust the API server: does it hold the CA
//! the kubeconfig trusts? A namespace whose bundle does not has drifted
//! (a stale copy, an overwrite): its pods are refused by the API server's
//! certificate, so it is `mismatch` with its own rows.
//!
//! Identical bundles fold into one row set (`*/kube-root-ca.crt/ca.crt`,
//! "in N namespaces"), so a thousand namespaces are one line; memory is
//! bounded by the number of distinct bundles, not of namespaces.
//!
//! No I/O, no clap: [`super::configmaps`] hands it each namespace's bundle.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::certs::info::CertInfo;
use crate::certs::parse::certificates_in;
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, RowStatus, SourceKind};

/// The ConfigMap's name, and the key it holds the bundle under.
pub const NAME: &str = "kube-root-ca.crt";
pub const KEY: &str = "ca.crt";

/// The CA certificates the kubeconfig trusts (DER), or why there are none.
pub type Trusted = Result<Vec<Vec<u8>>, String>;

/// Folds identical bundles; drifted ones are pushed at once.
pub struct RootCa {
    trusted: Trusted,
    /// The trusted CA as messages name it: `<CN>, sha256 <first 8 hex>`.
    trusted_label: String,
    /// SHA-256 of a bundle's bytes → (namespaces, first namespace, the bytes).
    folded: BTreeMap<[u8; 32], (usize, String, Vec<u8>)>,
}

impl RootCa {
    pub fn new(trusted: Trusted) -> Self {
        let trusted_label = match &trusted {
            Ok(certs) => certs.first().map(|c| label(c)).unwrap_or_default(),
            Err(_) => String::new(),
        };
        RootCa { trusted, trusted_label, folded: BTreeMap::new() }
    }

    /// The bundle of `namespace`: its rows now if it drifted, else folded.
    pub fn add(&mut self, col: &mut Collector<'_>, namespace: &str, bundle: &[u8]) {
        if let Ok(trusted) = &self.trusted
            && !trusted.is_empty()
            && !holds_any(bundle, trusted)
        {
            let message = format!(
                "{NAME} in {namespace} does not hold the CA the kubeconfig trusts ({}): pods there do not trust the API server",
                self.trusted_label
            );
            return push(col, Some(namespace), &format!("{namespace}/{NAME}"), bundle, Some(RowStatus::Mismatch), Some(message));
        }
        let digest: [u8; 32] = Sha256::digest(bundle).into();
        let entry = self.folded.entry(digest).or_insert_with(|| (0, namespace.to_owned(), bundle.to_vec()));
        entry.0 += 1;
    }

    /// The folded row sets: one per distinct bundle.
    pub fn finish(self, col: &mut Collector<'_>) {
        for (count, first, bundle) in self.folded.into_values() {
            let mut notes = Vec::new();
            let (namespace, prefix) = if count > 1 {
                notes.push(format!("in {count} namespaces"));
                (None, format!("*/{NAME}"))
            } else {
                (Some(first.as_str()), format!("{first}/{NAME}"))
            };
            if let Err(why) = &self.trusted {
                notes.push(format!("not compared with the kubeconfig's CA: {why}"));
            }
            let message = (!notes.is_empty()).then(|| notes.join("; "));
            push(col, namespace, &prefix, &bundle, None, message);
        }
    }
}

fn push(col: &mut Collector<'_>, namespace: Option<&str>, prefix: &str, bundle: &[u8], status: Option<RowStatus>, note: Option<String>) {
    let base = Location { namespace: namespace.map(str::to_owned), config_map: Some(NAME.into()), ..Default::default() };
    let mut ex = Extractor::new();
    ex.secret_key(&base, KEY, bundle);
    let verdicts = judge::within_document(&ex.items);
    for (item, verdict) in ex.items.iter().zip(verdicts) {
        let mut row = col.item_row(SourceKind::Configmaps, prefix, item, verdict);
        if let Some(status) = status
            && row.certificate.is_some()
            && !matches!(row.status, RowStatus::Expired | RowStatus::NotYetValid)
        {
            row.status = status;
        }
        if let Some(note) = &note {
            row.message = Some(row.message.take().map_or_else(|| note.clone(), |m| format!("{m}; {note}")));
        }
        col.emit(row);
    }
}

/// Whether the bundle holds one of `trusted` (DER equality).
fn holds_any(bundle: &[u8], trusted: &[Vec<u8>]) -> bool {
    certificates_in(bundle).is_ok_and(|certs| certs.iter().any(|c| trusted.iter().any(|t| t.as_slice() == c.as_ref())))
}

/// `<CN>, sha256 <first 8 hex digits>` of a certificate.
fn label(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let cn = CertInfo::from_der(der).ok().map(|i| i.subject_display().to_owned()).unwrap_or_else(|| "an unreadable certificate".into());
    format!("{cn}, sha256 {short}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::row::Row;
    use jiff::{SignedDuration, Timestamp};
    use kubectl_pki_testkit::ca;

    #[test]
    fn identical_bundles_fold_and_a_drifted_one_is_mismatch() {
        let (cluster, other) = (ca("kubernetes"), ca("stranger"));
        let mut rows: Vec<Row> = Vec::new();
        let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO, &mut rows);
        let mut root = RootCa::new(Ok(vec![cluster.der.clone()]));
        for ns in ["a", "b", "c"] {
            root.add(&mut col, ns, cluster.pem.as_bytes());
        }
        root.add(&mut col, "drifted", other.pem.as_bytes());
        root.finish(&mut col);
        drop(col);
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert_eq!((rows[0].name.as_str(), rows[0].status), ("drifted/kube-root-ca.crt/ca.crt", RowStatus::Mismatch));
        let msg = rows[0].message.as_deref().unwrap();
        assert!(msg.starts_with("kube-root-ca.crt in drifted does not hold the CA the kubeconfig trusts (kubernetes, sha256 "), "{msg}");
        assert_eq!((rows[1].name.as_str(), rows[1].status), ("*/kube-root-ca.crt/ca.crt", RowStatus::Ok));
        assert_eq!(rows[1].message.as_deref(), Some("in 3 namespaces"));
        assert_eq!(rows[1].location.namespace, None);
        assert_eq!(serde_json::to_value(&rows[1]).unwrap()["location"]["configMap"], "kube-root-ca.crt");
    }

    #[test]
    fn without_a_trusted_ca_bundles_are_folded_uncompared() {
        let cluster = ca("kubernetes");
        let mut rows: Vec<Row> = Vec::new();
        let mut col = Collector::new(Timestamp::now(), SignedDuration::ZERO, &mut rows);
        let mut root = RootCa::new(Err("the context has no certificate-authority".into()));
        root.add(&mut col, "only", cluster.pem.as_bytes());
        root.finish(&mut col);
        drop(col);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].name.as_str(), rows[0].status), ("only/kube-root-ca.crt/ca.crt", RowStatus::Ok));
        assert_eq!(rows[0].message.as_deref(), Some("not compared with the kubeconfig's CA: the context has no certificate-authority"));
    }
}
