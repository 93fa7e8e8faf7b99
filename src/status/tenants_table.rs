//! The `--all-tenants` table: one row per tenant, what needs attention
//! first (critical, then warnings, then the earliest expiry). `-o wide`
//! adds the rows per status. JSON and YAML carry every certificate row
//! instead (the usual document), with each tenant's summary in `tenants`.
//!
//! Rendering only: never fetches, no clap.

use std::cmp::Reverse;

use jiff::Timestamp;

use super::row::{ContextInfo, ControllerHorizon, RowStatus, TenantInfo};
use crate::kamaji::names;
use crate::output::{Table, clean_cell};

/// The table, with the Kamaji controller's horizon line above it (one per
/// context when `contexts` holds several: the table then gains a CONTEXT
/// column, and a context that could not be read is a row with its error).
pub fn render(tenants: &[TenantInfo], contexts: &[ContextInfo], wide: bool, now: Timestamp) -> String {
    let failed: Vec<&ContextInfo> = contexts.iter().filter(|c| c.error.is_some()).collect();
    if tenants.is_empty() && failed.is_empty() {
        return "No TenantControlPlanes found.\n".into();
    }
    let mut sorted: Vec<&TenantInfo> = tenants.iter().collect();
    sorted.sort_by_key(|t| (Reverse(attention(t)), earliest(t), t.context.clone(), t.namespace.clone(), t.name.clone()));
    let by_context = !contexts.is_empty();
    let mut headers = vec!["tenant", "tcp status", "version", "ca not after", "earliest leaf", "served", "rotating", "status"];
    if by_context {
        headers.insert(0, "context");
    }
    if wide {
        headers.extend(RowStatus::ALL.iter().map(|s| s.as_str()));
    }
    let with_message = !failed.is_empty() || sorted.iter().any(|t| message(t).is_some());
    if with_message {
        headers.push("message");
    }
    let columns = headers.len();
    let mut table = Table::new(headers);
    for c in &failed {
        // The context's name, an error where a tenant's cells would be, and why.
        let mut cells = vec![c.name.clone(), "-".into()];
        cells.resize(columns - 2, "-".into());
        cells.extend(["error".into(), c.error.clone().unwrap_or_default()]);
        table.push(cells.into_iter().map(|c| clean_cell(&c).into_owned()).collect());
    }
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
        if by_context {
            cells.insert(0, t.context.clone().unwrap_or_else(dash));
        }
        if wide {
            cells.extend(RowStatus::ALL.iter().map(|st| s.and_then(|s| s.counts.get(st.as_str())).copied().unwrap_or(0).to_string()));
        }
        if with_message {
            cells.push(message(t).unwrap_or_default());
        }
        table.push(cells.into_iter().map(|c| clean_cell(&c).into_owned()).collect());
    }
    format!("{}{}", horizons(tenants, by_context), table.render())
}

/// The Kamaji controller's horizon line: one for the run, or one per context.
fn horizons(tenants: &[TenantInfo], by_context: bool) -> String {
    let mut seen: Vec<Option<&str>> = Vec::new();
    let mut text = String::new();
    for t in tenants {
        let Some(k) = &t.kamaji else { continue };
        if seen.contains(&t.context.as_deref()) {
            continue;
        }
        seen.push(t.context.as_deref());
        let line = horizon_line(k);
        let line = match (&t.context, by_context) {
            (Some(c), true) => format!("{c}: {}", line.trim_start()),
            _ => line.trim_start().to_string(),
        };
        text.push_str(&format!("{}\n", clean_cell(&line)));
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text
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

/// The Kamaji controller's issuance horizon, under its tenant's heading (`--tenant`) or above the tenant table.
pub(super) fn horizon_line(k: &ControllerHorizon) -> String {
    let pods = format!("{} pod(s) {} in {}", k.pods, k.selector, k.namespace);
    match (k.started_at, k.issues_until) {
        (Some(started), Some(until)) => format!(
            "  Kamaji controller ({pods}) running since {started}: leaves it issues now expire on {until}: {}{}",
            k.status.as_str(),
            k.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
        ),
        _ => {
            format!("  Kamaji controller ({pods}): issuance horizon {}: {}", k.status.as_str(), k.message.as_deref().unwrap_or("not known"))
        }
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
            context: None,
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
        let out = render(&tenants, &[], false, now);
        let order: Vec<&str> = out.lines().skip(1).map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(order, ["ns/b", "ns/bad", "ns/soon", "ns/fine"], "{out}");
        assert!(out.starts_with("TENANT"), "{out}");
        assert!(out.contains("api-server-certificate/apiserver.crt 100d"), "{out}");
        assert!(out.lines().nth(1).unwrap().contains("error") && out.contains("no secrets labelled"), "{out}");
        let wide = render(&tenants, &[], true, now);
        assert!(wide.lines().next().unwrap().contains("PENDING-RESTART"), "{wide}");
    }

    #[test]
    fn several_contexts_gain_a_column_and_an_unreadable_one_is_a_row() {
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let prod = TenantInfo { context: Some("prod".into()), ..tenant("a", RowStatus::Ok, 300) };
        let contexts = [
            ContextInfo { name: "prod".into(), server: None, rows: 3, outcome: Some(crate::error::Outcome::Ok), error: None },
            ContextInfo { name: "dr".into(), server: None, rows: 1, outcome: None, error: Some("cannot reach the Kubernetes API".into()) },
        ];
        let out = render(&[prod], &contexts, false, now);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("CONTEXT   TENANT"), "{out}");
        assert!(
            lines[1].starts_with("dr ") && lines[1].contains("error") && lines[1].ends_with("cannot reach the Kubernetes API"),
            "{out}"
        );
        assert!(lines[2].starts_with("prod ") && lines[2].contains("ns/a"), "{out}");
        let status = lines[0].rfind(" STATUS").unwrap() + 1;
        assert_eq!((&lines[1][status..status + 5], &lines[2][status..status + 2]), ("error", "ok"), "one STATUS column:\n{out}");
    }
}
