//! kubectl-pki: the certificate lifecycle of Kubernetes clusters.
//!
//! The binary is a thin edge (`main.rs`); each subcommand lives in its own
//! module with `run(args, ctx) -> Result<Outcome>`, collecting first and
//! rendering through [`output`].

pub mod certs;
pub mod cli;
pub mod commands;
pub mod context;
pub mod duration;
pub mod error;
pub mod issuer;
pub mod k3s;
pub mod kamaji;
pub mod lock;
pub mod logging;
pub mod output;
pub mod pods;
pub mod rbac;
pub mod restarts;
pub mod restore;
pub mod rotate;
pub mod status;
pub mod talos;
pub mod version;
pub mod wait;
pub mod workloads;

pub use commands::run;
pub use error::{Error, Outcome, Result};
