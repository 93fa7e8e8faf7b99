//! The names x509-certificate-exporter labels a certificate's series with:
//! each subject and issuer DN field on its own, and the serial in decimal.
//! Computed with the rest of [`super::CertInfo`] so that `status -o
//! prometheus` and the exporter label the same certificate the same way.
//!
//! No I/O, no clap.

use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Name;

/// The six DN fields the exporter's schema has, values of a repeated
/// attribute joined with `,`; empty when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnFields {
    pub c: String,
    pub st: String,
    pub l: String,
    pub o: String,
    pub ou: String,
    pub cn: String,
}

impl DnFields {
    pub fn of(name: &X509Name<'_>) -> DnFields {
        fn join<'a>(values: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>) -> String {
            values.filter_map(|a| a.as_str().ok()).collect::<Vec<_>>().join(",")
        }
        DnFields {
            c: join(name.iter_country()),
            st: join(name.iter_state_or_province()),
            l: join(name.iter_locality()),
            o: join(name.iter_organization()),
            ou: join(name.iter_organizational_unit()),
            cn: join(name.iter_common_name()),
        }
    }

    /// `(C, ST, L, O, OU, CN)` in the order the label names list them.
    pub fn values(&self) -> [&str; 6] {
        [&self.c, &self.st, &self.l, &self.o, &self.ou, &self.cn]
    }
}

/// What a Prometheus series of this certificate is labelled with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportLabels {
    pub subject: DnFields,
    pub issuer: DnFields,
    /// The serial as a decimal number, as x509-certificate-exporter prints it.
    pub serial_decimal: String,
}

impl ExportLabels {
    pub fn of(cert: &X509Certificate<'_>) -> ExportLabels {
        ExportLabels {
            subject: DnFields::of(cert.subject()),
            issuer: DnFields::of(cert.issuer()),
            serial_decimal: cert.serial.to_str_radix(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubectl_pki_testkit::{ca, leaf_signed_by};

    #[test]
    fn fields_and_decimal_serial() {
        let root = ca("kubernetes");
        let leaf = leaf_signed_by("kube-apiserver", &root);
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        let labels = ExportLabels::of(&cert);
        assert_eq!(labels.subject.cn, "kube-apiserver");
        assert_eq!(labels.issuer.cn, "kubernetes");
        assert_eq!(labels.subject.values()[5], "kube-apiserver");
        let hex: String = cert.raw_serial().iter().map(|b| format!("{b:02x}")).collect();
        let expected = x509_parser::num_bigint::BigUint::parse_bytes(hex.as_bytes(), 16).unwrap().to_string();
        assert_eq!(labels.serial_decimal, expected);
        assert!(labels.serial_decimal.bytes().all(|b| b.is_ascii_digit()));
    }
}
