//! Issuing offline: key generation, CAs and the certificates they sign,
//! and writing the results as files. Used by the Talos and k3s commands,
//! which need keys and certificates but no cluster.

pub mod authority;
pub mod der;
pub mod files;
pub mod key;
pub mod pem;

pub use authority::{Authority, CertSpec, now, parse};
pub use files::Staged;
pub use key::{KeyKind, PrivateKey};
