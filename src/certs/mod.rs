//! Certificates: parsing (PEM, DER, bundles, kubeconfigs, talosconfigs),
//! inspection, chain verification and time classification. Library code
//! shared by `status` and the rotation commands; no I/O except reading the
//! files a kubeconfig names.
//!
//! No network I/O, no clap, nothing of the cluster: bytes in, facts out.

pub mod chain;
pub mod info;
pub mod kubeconfig;
pub mod labels;
pub mod limits;
pub mod parse;
pub mod status;
pub mod talosconfig;
pub mod tls;

pub use chain::{ChainVerdict, chains_to, verify_signed_by};
pub use info::CertInfo;
pub use parse::{ParseError, certificates_in};
pub use status::Status;
