//! `kubectl pki k3s`: k3s's CA files without openssl or its shell
//! scripts: custom CAs, cross-signed rotation, service-account key
//! rotation, and the checks `k3s certificate rotate-ca` runs.

pub mod chain;
pub mod check;
pub mod cross_sign;
pub mod generate_ca;
pub mod issue_leaf;
pub mod layout;
pub mod report;
pub mod sa_key;
pub mod token;

use crate::cli::{K3sArgs, K3sCommand};
use crate::context::Ctx;
use crate::error::{Outcome, Result};

pub fn run(args: K3sArgs, ctx: &Ctx) -> Result<Outcome> {
    match args.command {
        K3sCommand::GenerateCa(a) => generate_ca::run(a, ctx),
        K3sCommand::CrossSign(a) => cross_sign::run(a, ctx),
        K3sCommand::RotateSaKey(a) => sa_key::run(a, ctx),
        K3sCommand::Check(a) => check::run(a, ctx),
        K3sCommand::IssueLeaf(a) => issue_leaf::run(a, ctx),
    }
}
