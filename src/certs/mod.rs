//! Certificates: parsing (PEM, DER, bundles, kubeconfigs), inspection and
//! chain verification.
