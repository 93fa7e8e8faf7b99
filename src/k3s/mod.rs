//! `kubectl pki k3s`: k3s's CA files without openssl or its shell
//! scripts: custom CAs, cross-signed rotation, service-account key
//! rotation, and the checks `k3s certificate rotate-ca` runs.
//!
//! Offline: no cluster, no clap types (`crate::commands::k3s` parses the flags);
//! each command returns its report and the caller picks the output.

pub mod chain;
pub mod check;
pub mod cross_sign;
pub mod generate_ca;
pub mod issue_leaf;
pub mod layout;
pub mod report;
pub mod sa_key;
pub mod token;
