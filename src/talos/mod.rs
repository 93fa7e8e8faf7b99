//! `kubectl pki talos`: Talos PKI without talosctl or a running node.
//!
//! Offline: no cluster, no clap types (`crate::commands::talos` parses the flags).

pub mod ca_source;
pub mod config_new;
pub mod roles;
