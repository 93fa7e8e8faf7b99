//! What the exporter keeps of one certificate: the label values of its
//! series and its dates, nothing of the secret or file it came from. Built
//! from the [`Row`] `status` judges, so both label a certificate alike.
//!
//! No I/O, no clap.

use crate::certs::ChainVerdict;
use crate::status::row::Row;

/// Label names of the per-certificate families, in the order of
/// [`CertSeries::label_values`]: x509-certificate-exporter's schema
/// (docs/metrics.md of that project), `discriminator` last.
pub const CERT_LABELS: [&str; 21] = [
    "serial_number",
    "subject_C",
    "subject_ST",
    "subject_L",
    "subject_O",
    "subject_OU",
    "subject_CN",
    "issuer_C",
    "issuer_ST",
    "issuer_L",
    "issuer_O",
    "issuer_OU",
    "issuer_CN",
    "filename",
    "filepath",
    "embedded_kind",
    "embedded_key",
    "secret_namespace",
    "secret_name",
    "secret_key",
    "discriminator",
];

/// Separates the label values in [`CertSeries`] (ASCII unit separator; a
/// value holding it has it replaced when joined).
const SEP: char = '\u{1f}';

/// One certificate's series: the label values in one allocation (a
/// certificate costs a few hundred bytes however many labels it has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSeries {
    /// The row name (`ns/secret/key[:entry][index]`): how a tenant's own
    /// chain verdicts find the series again.
    pub name: Box<str>,
    /// [`CERT_LABELS`] values, joined by [`SEP`].
    values: Box<str>,
    pub not_before: i64,
    pub not_after: i64,
    /// The first bytes of the certificate's SHA-256, to tell apart certificates with equal labels.
    sha256_prefix: u64,
    pub verdict: Verdict,
}

/// The chain verdict of `kubectl_pki_cert_chain_verdict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    Unverified,
    SelfSigned,
    NotChecked,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [Verdict::Verified, Verdict::Unverified, Verdict::SelfSigned, Verdict::NotChecked];

    pub fn of(chain: &ChainVerdict) -> Verdict {
        match chain {
            ChainVerdict::Verified { .. } => Verdict::Verified,
            ChainVerdict::SelfSigned => Verdict::SelfSigned,
            ChainVerdict::Unverified { .. } => Verdict::Unverified,
            ChainVerdict::NotChecked => Verdict::NotChecked,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Unverified => "unverified",
            Verdict::SelfSigned => "self-signed",
            Verdict::NotChecked => "not-checked",
        }
    }
}

impl CertSeries {
    /// The series of a row's certificate; `None` for a row without one
    /// (unreadable content, an unreachable endpoint): those are read errors.
    pub fn of(row: &Row) -> Option<CertSeries> {
        let info = row.certificate.as_ref()?;
        let loc = &row.location;
        let (embedded_kind, embedded_key) = embedded(loc.entry.as_deref());
        let in_secret = loc.secret.is_some();
        // A ConfigMap key or a caBundle has no file: its object stands in for the path.
        let object = match (&loc.config_map, &loc.object) {
            (Some(cm), _) => {
                Some(format!("configmaps/{}/{cm}/{}", loc.namespace.as_deref().unwrap_or("*"), loc.key.as_deref().unwrap_or_default()))
            }
            (None, object) => object.clone(),
        };
        let filepath = if in_secret { "" } else { loc.path.as_deref().or(object.as_deref()).unwrap_or_default() };
        let filename = filepath.rsplit('/').next().unwrap_or_default();
        let (sub, iss) = (info.labels.subject.values(), info.labels.issuer.values());
        fn secret(in_secret: bool, v: Option<&str>) -> &str {
            if in_secret { v.unwrap_or_default() } else { "" }
        }
        let values: [&str; 21] = [
            &info.labels.serial_decimal,
            sub[0],
            sub[1],
            sub[2],
            sub[3],
            sub[4],
            sub[5],
            iss[0],
            iss[1],
            iss[2],
            iss[3],
            iss[4],
            iss[5],
            filename,
            filepath,
            embedded_kind,
            embedded_key,
            secret(in_secret, loc.namespace.as_deref()),
            loc.secret.as_deref().unwrap_or_default(),
            secret(in_secret, loc.key.as_deref()),
            "",
        ];
        let hex: String = info.sha256.chars().filter(char::is_ascii_hexdigit).take(16).collect();
        Some(CertSeries {
            name: row.name.as_str().into(),
            values: join(&values),
            not_before: info.not_before.as_second(),
            not_after: info.not_after.as_second(),
            sha256_prefix: u64::from_str_radix(&hex, 16).unwrap_or_default(),
            verdict: Verdict::of(&row.chain),
        })
    }

    /// Values of [`CERT_LABELS`], in order.
    pub fn label_values(&self) -> [&str; 21] {
        let mut out = [""; 21];
        for (slot, value) in out.iter_mut().zip(self.values.split(SEP)) {
            *slot = value;
        }
        out
    }

    fn set_discriminator(&mut self) {
        let mut values = self.label_values();
        let d = format!("{:016x}", self.sha256_prefix);
        values[20] = &d;
        self.values = join(&values);
    }
}

/// One string; a value holding the separator has it replaced (it never
/// occurs in what certificates and Kubernetes names allow).
fn join(values: &[&str]) -> Box<str> {
    let mut out = String::with_capacity(values.iter().map(|v| v.len() + 1).sum());
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend(v.chars().map(|c| if c == SEP { ' ' } else { c }));
    }
    out.into_boxed_str()
}

/// Series of one bundle (a secret, a file), duplicates dropped: the same
/// certificate twice is one series; two certificates that would share
/// every label get a `discriminator` (a SHA-256 prefix), as
/// x509-certificate-exporter does.
pub fn bundle(rows: &[Row]) -> Vec<CertSeries> {
    let mut out: Vec<CertSeries> = Vec::new();
    // A tenant's served row is the served certificate, not a stored one; a
    // caBundle's rows are its own certificates, the served check aside.
    let stored = |r: &&Row| r.served.is_none() || r.source == crate::status::row::SourceKind::Cabundle;
    for mut series in rows.iter().filter(stored).filter_map(CertSeries::of) {
        let clash = out.iter().position(|s| s.values == series.values);
        match clash {
            Some(i) if out[i].sha256_prefix == series.sha256_prefix => continue,
            Some(_) => series.set_discriminator(),
            None => {}
        }
        out.push(series);
    }
    out
}

/// `embedded_kind` and `embedded_key` from a row's entry (`ca`, `client/<user>`, `<context>/ca`...).
fn embedded(entry: Option<&str>) -> (&'static str, &'static str) {
    let Some(entry) = entry else { return ("", "") };
    let first = entry.split('/').next().unwrap_or_default();
    let last = entry.rsplit('/').next().unwrap_or_default();
    match (first, last) {
        ("ca", _) => ("cluster", "certificate-authority-data"),
        ("client", _) => ("user", "client-certificate-data"),
        (_, "ca") => ("context", "ca"),
        (_, "client") => ("context", "crt"),
        _ => ("", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::item::{Extractor, Location};
    use crate::status::judge;
    use crate::status::row::{Collector, SourceKind};
    use kubectl_pki_testkit::{ca, kubeconfig_yaml, leaf_signed_by};

    fn rows_of(key: &str, bytes: &[u8]) -> Vec<Row> {
        let mut ex = Extractor::new();
        let base = Location { namespace: Some("ns".into()), secret: Some("s".into()), ..Default::default() };
        ex.secret_key(&base, key, bytes);
        let mut rows = Vec::new();
        let mut col = Collector::new(jiff::Timestamp::now(), jiff::SignedDuration::ZERO, &mut rows);
        col.push_items(SourceKind::Secrets, "ns/s", &ex.items, judge::within_document(&ex.items));
        drop(col);
        rows
    }

    #[test]
    fn a_tls_bundle_labels_secret_and_dn() {
        let root = ca("root-ca");
        let leaf = leaf_signed_by("web", &root);
        let series = bundle(&rows_of("tls.crt", format!("{}{}", leaf.pem, root.pem).as_bytes()));
        assert_eq!(series.len(), 2);
        let v = series[0].label_values();
        assert_eq!((v[6], v[12], v[17], v[18], v[19], v[14]), ("web", "root-ca", "ns", "s", "tls.crt", ""));
        assert_eq!(series[0].verdict, Verdict::Verified);
        assert_eq!(series[1].verdict, Verdict::SelfSigned);
    }

    #[test]
    fn cabundle_and_configmap_rows_are_series_with_their_object_as_path() {
        let root = ca("hook-ca");
        let mut rows = rows_of("tls.crt", root.pem.as_bytes());
        rows[0].source = SourceKind::Cabundle;
        rows[0].location = Location { object: Some("apiservice/v1.x.example".into()), ..Default::default() };
        rows[0].served = Some(crate::status::served::Served {
            endpoint: Some("https://10.0.0.1:443".into()),
            endpoint_from: None,
            verdict: crate::status::served::ServedVerdict::Mismatch,
            secret_sha256: None,
        });
        let series = bundle(&rows);
        assert_eq!(series.len(), 1, "the bundle's own certificate, the served check aside");
        let v = series[0].label_values();
        assert_eq!((v[13], v[14], v[17], v[18]), ("v1.x.example", "apiservice/v1.x.example", "", ""));
        rows[0].source = SourceKind::Configmaps;
        rows[0].served = None;
        rows[0].location =
            Location { namespace: Some("ns".into()), config_map: Some("trust".into()), key: Some("ca.pem".into()), ..Default::default() };
        let v = bundle(&rows)[0].label_values().map(str::to_owned);
        assert_eq!((v[13].as_str(), v[14].as_str()), ("ca.pem", "configmaps/ns/trust/ca.pem"));
    }

    #[test]
    fn kubeconfig_certificates_say_where_they_were_embedded() {
        let root = ca("kubernetes");
        let client = leaf_signed_by("admin", &root);
        let series = bundle(&rows_of("admin.conf", kubeconfig_yaml(&root.pem, &client.pem).as_bytes()));
        let kinds: Vec<_> = series.iter().map(|s| (s.label_values()[15], s.label_values()[16])).collect();
        assert!(kinds.contains(&("cluster", "certificate-authority-data")), "{kinds:?}");
        assert!(kinds.contains(&("user", "client-certificate-data")), "{kinds:?}");
    }

    #[test]
    fn the_same_certificate_twice_is_one_series() {
        let root = ca("root-ca");
        let series = bundle(&rows_of("ca.crt", format!("{}{}", root.pem, root.pem).as_bytes()));
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].label_values()[20], "");
    }

    #[test]
    fn two_certificates_with_equal_labels_get_a_discriminator() {
        let params = || {
            let mut p = kubectl_pki_testkit::params_for("same", true);
            p.serial_number = Some(rcgen::SerialNumber::from(vec![7u8]));
            p
        };
        let (a, b) = (kubectl_pki_testkit::with_params(params(), None), kubectl_pki_testkit::with_params(params(), None));
        let series = bundle(&rows_of("ca.crt", format!("{}{}", a.pem, b.pem).as_bytes()));
        let d: Vec<&str> = series.iter().map(|s| s.label_values()[20]).collect();
        assert_eq!(d.len(), 2, "two keys, two certificates: two series");
        assert!(d[0].is_empty() && d[1].len() == 16, "{d:?}");
    }
}
