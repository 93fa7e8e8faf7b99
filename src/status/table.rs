//! The columns of the `status` table. The default fits a 120-column
//! terminal as `kubeadm certs check-expiration` does: the name (a tenant's
//! rows by secret suffix and key, under the line that names the tenant),
//! the subject's CN, the time left, CA, chain and status;
//! `-o wide` keeps every column. Rows are sorted (`--sort-by`): by default
//! what needs attention first, then what expires first.
//!
//! Rendering only: no I/O, no clap.

use super::row::{Row, RowStatus, SourceKind};
use crate::kamaji::names;

/// `--sort-by`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortBy {
    /// Critical first, then warnings, then the rest; each by NotAfter.
    #[default]
    Expiry,
    /// By name, as the sources list them.
    Name,
}

/// What a row is sorted by: smaller first.
pub type SortKey = (u8, i64, Box<str>);

pub fn sort_key(r: &Row, by: SortBy) -> SortKey {
    let name: Box<str> = r.name.as_str().into();
    match by {
        SortBy::Name => (0, 0, name),
        SortBy::Expiry => {
            let severity = match (r.status.outcome(), &r.chain) {
                (crate::error::Outcome::Critical, _) | (_, crate::certs::ChainVerdict::Unverified { .. }) => 0,
                (crate::error::Outcome::Warning, _) => 1,
                _ if r.status == RowStatus::Unreachable => 3,
                _ => 2,
            };
            (severity, r.certificate.as_ref().map_or(i64::MIN, |c| c.not_after.as_second()), name)
        }
    }
}

/// Every column; the last, `message`, is left out when no row has one.
pub fn headers(wide: bool) -> Vec<&'static str> {
    if !wide {
        return vec!["name", "subject", "residual", "ca", "chain", "status", "message"];
    }
    vec![
        "source",
        "name",
        "subject",
        "issuer",
        "key",
        "not before",
        "not after",
        "residual",
        "ca",
        "chain",
        "status",
        "sans",
        "serial",
        "message",
    ]
}

pub fn cells(r: &Row, wide: bool) -> Vec<String> {
    let c = r.certificate.as_ref();
    let dash = || "-".to_string();
    let ca = c.map_or_else(dash, |c| if c.is_ca { "yes".into() } else { "no".into() });
    let residual = r.residual.clone().unwrap_or_else(dash);
    let message = r.message.clone().unwrap_or_default();
    if !wide {
        let subject = c.map_or_else(dash, |c| c.subject_display().to_string());
        return vec![short_name(r), subject, residual, ca, r.chain.word().into(), r.status.to_string(), message];
    }
    vec![
        r.source.as_str().to_string(),
        r.name.clone(),
        c.map_or_else(dash, subject_cell),
        c.map_or_else(dash, |c| c.issuer_display().to_string()),
        c.map_or_else(dash, |c| c.key_type.clone()),
        c.map_or_else(dash, |c| c.not_before.to_string()),
        c.map_or_else(dash, |c| c.not_after.to_string()),
        residual,
        ca,
        r.chain.word().to_string(),
        r.status.to_string(),
        c.map_or_else(dash, |c| if c.sans.is_empty() { dash() } else { c.sans.join(",") }),
        c.map_or_else(dash, |c| c.serial.clone()),
        message,
    ]
}

/// A tenant's row without `<ns>/<tcp>-` (the heading names the tenant) and
/// without the `-certificate`/`-kubeconfig` every Kamaji suffix repeats: `ca/ca.crt`,
/// `admin/admin.conf:client`, `api-server/apiserver.crt`, `served`. Other rows keep their name.
fn short_name(r: &Row) -> String {
    if r.source != SourceKind::Tenant {
        return r.name.clone();
    }
    if r.location.entry.as_deref() == Some("served") && r.location.secret.is_none() {
        return "served".into();
    }
    let (Some(ns), Some(secret)) = (&r.location.namespace, &r.location.secret) else { return r.name.clone() };
    let Some(rest) = r.name.strip_prefix(&format!("{ns}/{secret}")) else { return r.name.clone() };
    let Some(suffix) = names::SUFFIXES.iter().filter(|s| secret.ends_with(&format!("-{s}"))).max_by_key(|s| s.len()) else {
        return format!("{secret}{rest}");
    };
    let short = suffix.strip_suffix("-certificate").or_else(|| suffix.strip_suffix("-kubeconfig")).unwrap_or(suffix);
    format!("{short}{rest}")
}

/// The CN, with the groups (O) of a leaf: a client certificate's identity.
fn subject_cell(c: &crate::certs::CertInfo) -> String {
    if c.is_ca || c.organizations.is_empty() {
        c.subject_display().to_string()
    } else {
        format!("{} [{}]", c.subject_display(), c.organizations.join(","))
    }
}
