//! kubectl-pki: the certificate lifecycle of Kubernetes clusters.
//!
//! Layers, each importing only those below it:
//! - the edge: `main.rs` (parse, run, [`error::report`]) and [`cli`] (clap structs only);
//! - [`commands`]: one file per subcommand, the only code besides the edge that
//!   sees clap types; turns `*Args` into the domain's plain options and picks the output;
//! - domain modules ([`status`], [`rotate`], [`renew`], [`restarts`], [`restore`], [`k3s`], [`talos`],
//!   [`version`]): no clap types; they take options and a [`context::Ctx`];
//! - shared homes: [`certs`] (no network I/O), [`issuer`], [`kamaji`], [`steps`] (what rotate-ca, renew
//!   and rotate-sa-key share), [`pods`], [`wait`],
//!   [`duration`], [`output`] (no command knowledge), [`error`], [`context`].

pub mod certs;
pub mod cli;
pub mod cluster_identity;
pub mod commands;
pub mod context;
pub mod duration;
pub mod error;
pub mod exporter;
pub mod interrupt;
pub mod issuer;
pub mod k3s;
pub mod kamaji;
pub mod lease_state;
pub mod lock;
pub mod logging;
pub mod output;
pub mod pods;
pub mod proxy;
pub mod rbac;
pub mod renew;
pub mod restarts;
pub mod restore;
pub mod rotate;
pub mod sakey;
pub mod served;
pub mod status;
pub mod steps;
pub mod talos;
pub mod version;
pub mod wait;
pub mod workloads;

pub use commands::run;
pub use error::{Error, Outcome, Result};
