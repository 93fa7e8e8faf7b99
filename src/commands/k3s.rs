//! `kubectl pki k3s`: turns the flags into the options of [`crate::k3s`],
//! runs the subcommand offline and prints its report in `-o`'s format.
//!
//! Parses and maps only: the domain does the work.

use crate::cli::{K3sArgs, K3sCommand, K3sIssueLeafArgs};
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::k3s::{check, cross_sign, generate_ca, issue_leaf, report, sa_key};

pub fn run(args: K3sArgs, ctx: &Ctx) -> Result<Outcome> {
    let format = ctx.output();
    let staged = match args.command {
        K3sCommand::GenerateCa(a) => generate_ca::generate(&generate_ca::Options {
            data_dir: a.data_dir,
            out: a.out,
            root_ca: a.root_ca,
            root_key: a.root_key,
            intermediate_ca: a.intermediate_ca,
            intermediate_key: a.intermediate_key,
            product: a.product,
        })?,
        K3sCommand::CrossSign(a) => cross_sign::generate(&cross_sign::Options {
            data_dir: a.data_dir,
            out: a.out,
            token: a.token,
            show_token: a.show_token,
            product: a.product,
        })?,
        K3sCommand::RotateSaKey(a) => sa_key::stage(&a.data_dir, a.out)?,
        K3sCommand::IssueLeaf(a) => issue_leaf::issue(&issue_leaf_options(a)?)?,
        K3sCommand::Check(a) => {
            let report = check::check(&a.data_dir, a.current.as_deref())?;
            check::render(&report, format)?;
            return Ok(if report.passed { Outcome::Ok } else { Outcome::Critical });
        }
    };
    report::render(&staged, format)?;
    Ok(Outcome::Ok)
}

fn issue_leaf_options(a: K3sIssueLeafArgs) -> Result<issue_leaf::Options> {
    let ttl = parse_duration(&a.ttl).map_err(|e| Error::flag("--ttl", e))?;
    Ok(issue_leaf::Options {
        ca: a.ca,
        ca_key: a.ca_key,
        cn: a.cn,
        orgs: a.orgs,
        sans: a.sans,
        ttl,
        cert_out: a.cert_out,
        key_out: a.key_out,
    })
}
