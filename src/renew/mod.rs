//! Renewing certificates without rotating a CA.
//!
//! - [`kubeconfig`]: `kubectl pki kubeconfig renew`, the client certificate
//!   of the current context's user through the CertificateSigningRequest API;
//! - [`credential`]: where that certificate and its key live;
//! - [`identity`]: who the certificate says, who the server says;
//! - [`csr`]: the request, its checks and its state;
//! - [`write`]: the atomic update of the kubeconfig (or the files it names);
//! - [`tenant`]: `kubectl pki renew TENANT...`, a Kamaji tenant's leaf certificates and
//!   kubeconfigs, renewed by its Kamaji controller.
//!
//! The domain: plain options in, a report out. No clap types.

pub mod credential;
pub mod csr;
pub mod identity;
pub mod kubeconfig;
pub mod tenant;
pub mod write;
