//! The `--all-tenants` table: one row per tenant, what needs attention
//! first (critical, then warnings, then the earliest expiry). `-o wide`
//! adds the rows per status. JSON and YAML carry every certificate row
//! instead (the usual document), with each tenant's summary in `tenants`.
//!
//! Rendering only: never fetches, no clap.

use std::cmp::Reverse;

use jiff::Timestamp;

use super::row::{RowStatus, TenantInfo};
use crate::kamaji::names;
use crate::output::{Table, clean_cell};

/// The table, with the Kamaji controller's horizon line above it.
pub fn render(tenants: &[TenantInfo], wide: bool, now: Timestamp) -> String {
    if tenants.is_empty() {
        return "No TenantControlPlanes found.\n".into();
    }
    let mut sorted: Vec<&TenantInfo> = tenants.iter().collect();
    sorted.sort_by_key(|t| (Reverse(attention(t)), earliest(t), t.namespace.clone(), t.name.clone()));
    let mut headers = vec!["tenant", "tcp status", "version", "ca not after", "earliest leaf", "served", "rotating", "status"];
    if wide {
        headers.extend(RowStatus::ALL.iter().map(|s| s.as_str()));
    }
    let with_message = sorted.iter().any(|t| message(t).is_some());
    if with_message {
        headers.push("message");
    }
    let mut table = Table::new(headers);
    for t in sorted {
        let s = t.summary.as_ref();
        let dash = || "-".to_string();
        let mut cells = vec![
            format!("{}/{}", t.namespace, t.name),
            t.status.clone().unwrap_or_else(dash),
            t.version.clone().unwrap_or_else(dash),
            s.and_then(|s| s.ca_not_after).map_or_else(dash, |c| format!("{c} ({})", crate::certs::status::residual(c, now))),
            s.and_then(|s| s.earliest_leaf.as_ref()).map_or_else(dash, |l| {
                let secret = names::suffix_of(&t.name, &l.secret).unwrap_or(&l.secret);
                format!("{secret}/{} {}", l.key, crate::certs::status::residual(l.not_after, now))
            }),
            s.and_then(|s| s.served).map_or_else(dash, |v| v.as_str().to_string()),
            s.and_then(|s| s.rotating).map_or_else(dash, |r| if r { "yes".into() } else { "no".into() }),
            status_word(t),
        ];
        if wide {
            cells.extend(RowStatus::ALL.iter().map(|st| s.and_then(|s| s.counts.get(st.as_str())).copied().unwrap_or(0).to_string()));
        }
        if with_message {
            cells.push(message(t).unwrap_or_default());
        }
        table.push(cells.into_iter().map(|c| clean_cell(&c).into_owned()).collect());
    }
    let horizon =
        tenants.iter().find_map(|t| t.kamaji.as_ref()).map(|k| format!("{}\n\n", clean_cell(super::render::horizon_line(k).trim_start())));
    format!("{}{}", horizon.unwrap_or_default(), table.render())
}

/// Higher needs attention sooner: an error, then critical, then warnings.
fn attention(t: &TenantInfo) -> (bool, crate::error::Outcome, bool) {
    let status = t.summary.as_ref().and_then(|s| s.status).unwrap_or(RowStatus::Ok);
    (t.error.is_some(), status.outcome(), !t.pending_rotation.is_empty())
}

fn earliest(t: &TenantInfo) -> Option<Timestamp> {
    let s = t.summary.as_ref()?;
    [s.ca_not_after, s.earliest_leaf.as_ref().map(|l| l.not_after)].into_iter().flatten().min()
}

fn status_word(t: &TenantInfo) -> String {
    if t.error.is_some() {
        return "error".into();
    }
    t.summary.as_ref().and_then(|s| s.status).unwrap_or(RowStatus::Ok).to_string()
}

fn message(t: &TenantInfo) -> Option<String> {
    let pending =
        (!t.pending_rotation.is_empty()).then(|| format!("pending {}=\"\" on {}", names::ANNOTATION_ROTATE, t.pending_rotation.join(", ")));
    match (&t.error, pending) {
        (Some(e), Some(p)) => Some(format!("{e}; {p}")),
        (Some(e), None) => Some(e.clone()),
        (None, p) => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::tenant_summary::{EarliestLeaf, TenantSummary};

    fn tenant(name: &str, status: RowStatus, leaf_days: i64) -> TenantInfo {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let mut s = TenantSummary::new("ns", name);
        s.status = Some(status);
        s.earliest_leaf = Some(EarliestLeaf {
            name: format!("ns/{name}-api-server-certificate/apiserver.crt"),
            secret: format!("{name}-api-server-certificate"),
            key: "apiserver.crt".into(),
            not_after: now + jiff::SignedDuration::from_hours(24 * leaf_days),
        });
        s.counts.insert(status.as_str(), 3);
        TenantInfo {
            namespace: "ns".into(),
            name: name.into(),
            status: Some("Ready".into()),
            version: Some("v1.33.0".into()),
            kamaji: None,
            pending_rotation: vec![],
            summary: Some(s),
            error: None,
        }
    }

    #[test]
    fn what_needs_attention_comes_first() {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let broken = TenantInfo {
            error: Some("no secrets labelled kamaji.clastix.io/name=b".into()),
            summary: None,
            ..tenant("b", RowStatus::Ok, 0)
        };
        let tenants =
            [tenant("fine", RowStatus::Ok, 300), tenant("soon", RowStatus::Ok, 100), tenant("bad", RowStatus::Mismatch, 300), broken];
        let out = render(&tenants, false, now);
        let order: Vec<&str> = out.lines().skip(1).map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(order, ["ns/b", "ns/bad", "ns/soon", "ns/fine"], "{out}");
        assert!(out.starts_with("TENANT"), "{out}");
        assert!(out.contains("api-server-certificate/apiserver.crt 100d"), "{out}");
        assert!(out.lines().nth(1).unwrap().contains("error") && out.contains("no secrets labelled"), "{out}");
        let wide = render(&tenants, true, now);
        assert!(wide.lines().next().unwrap().contains("PENDING-RESTART"), "{wide}");
    }
}
