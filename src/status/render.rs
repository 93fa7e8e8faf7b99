//! Rendering collected rows: kubectl-style table (`-o wide` adds dates,
//! SANs, serial), JSON/YAML lists, and `--summary` counts.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::Result;
use crate::output::{self, Table};

use super::row::{Collector, Row, RowStatus, TenantInfo};

pub const API_VERSION: &str = "pki.kubectl.io/v1alpha1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    api_version: &'static str,
    kind: &'static str,
    tenants: &'a [TenantInfo],
    items: &'a [Row],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    api_version: &'static str,
    kind: &'static str,
    tenants: &'a [TenantInfo],
    /// Every status, zeros included.
    counts: BTreeMap<&'static str, usize>,
    total: usize,
}

/// Prints the rows; a JSON list is written as it is serialized.
pub fn print(col: &Collector, format: OutputFormat, summary: bool) -> Result<()> {
    if format == OutputFormat::Json && !summary {
        return output::print_json(&List { api_version: API_VERSION, kind: "CertificateStatusList", tenants: &col.tenants, items: &col.rows });
    }
    output::write_stdout(&render(col, format, summary)?)
}

/// The text to print for `format`.
pub fn render(col: &Collector, format: OutputFormat, summary: bool) -> Result<String> {
    if summary {
        let counts = counts(&col.rows);
        return match format {
            OutputFormat::Json | OutputFormat::Yaml => {
                let doc = Summary {
                    api_version: API_VERSION,
                    kind: "CertificateStatusSummary",
                    tenants: &col.tenants,
                    total: col.rows.len(),
                    counts,
                };
                structured(&doc, format)
            }
            OutputFormat::Table | OutputFormat::Wide => {
                let mut t = Table::new(["status", "count"]);
                for status in RowStatus::ALL {
                    t.push(vec![status.to_string(), counts[status.as_str()].to_string()]);
                }
                t.push(vec!["total".into(), col.rows.len().to_string()]);
                Ok(format!("{}{}", tenant_lines(&col.tenants), t.render()))
            }
        };
    }
    match format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let doc = List { api_version: API_VERSION, kind: "CertificateStatusList", tenants: &col.tenants, items: &col.rows };
            structured(&doc, format)
        }
        OutputFormat::Table | OutputFormat::Wide => {
            if col.rows.is_empty() {
                return Ok(format!("{}No certificates found.\n", tenant_lines(&col.tenants)));
            }
            Ok(format!("{}{}", tenant_lines(&col.tenants), table(&col.rows, format == OutputFormat::Wide).render()))
        }
    }
}

fn structured<T: Serialize>(doc: &T, format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Yaml => output::to_yaml(doc),
        _ => output::to_json(doc),
    }
}

fn counts(rows: &[Row]) -> BTreeMap<&'static str, usize> {
    let mut counts: BTreeMap<&'static str, usize> = RowStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for row in rows {
        *counts.entry(row.status.as_str()).or_default() += 1;
    }
    counts
}

/// One line per tenant above the table, like a heading.
fn tenant_lines(tenants: &[TenantInfo]) -> String {
    tenants
        .iter()
        .map(|t| {
            format!(
                "TenantControlPlane {}/{}: {} (version {})\n\n",
                t.namespace,
                t.name,
                t.status.as_deref().unwrap_or("status unknown"),
                t.version.as_deref().unwrap_or("unknown")
            )
        })
        .collect()
}

fn table(rows: &[Row], wide: bool) -> Table {
    let with_message = rows.iter().any(|r| r.message.is_some());
    let mut headers = vec!["source", "name", "subject", "issuer", "key"];
    if wide {
        headers.push("not before");
    }
    headers.extend(["not after", "residual", "ca", "chain", "status"]);
    if wide {
        headers.extend(["sans", "serial"]);
    }
    if with_message {
        headers.push("message");
    }
    let mut t = Table::new(headers);
    let dash = || "-".to_string();
    for r in rows {
        let c = r.certificate.as_ref();
        let mut cells = vec![
            r.source.as_str().to_string(),
            r.name.clone(),
            c.map_or_else(dash, subject_cell),
            c.map_or_else(dash, |c| c.issuer_display().to_string()),
            c.map_or_else(dash, |c| c.key_type.clone()),
        ];
        if wide {
            cells.push(c.map_or_else(dash, |c| c.not_before.to_string()));
        }
        cells.extend([
            c.map_or_else(dash, |c| c.not_after.to_string()),
            r.residual.clone().unwrap_or_else(dash),
            c.map_or_else(dash, |c| if c.is_ca { "yes".into() } else { "no".into() }),
            r.chain.word().to_string(),
            r.status.to_string(),
        ]);
        if wide {
            cells.push(c.map_or_else(dash, |c| if c.sans.is_empty() { dash() } else { c.sans.join(",") }));
            cells.push(c.map_or_else(dash, |c| c.serial.clone()));
        }
        if with_message {
            cells.push(r.message.clone().unwrap_or_default());
        }
        t.push(cells);
    }
    t
}

/// The CN, with the groups (O) of a leaf: a client certificate's identity.
fn subject_cell(c: &crate::certs::CertInfo) -> String {
    if c.is_ca || c.organizations.is_empty() {
        c.subject_display().to_string()
    } else {
        format!("{} [{}]", c.subject_display(), c.organizations.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::chain::ChainVerdict;
    use crate::certs::testutil::{ca, params_for, with_params};
    use crate::status::item::Location;
    use crate::status::row::SourceKind;

    fn collector() -> Collector {
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut col = Collector::new(now, jiff::SignedDuration::from_hours(720));
        let mut p = params_for("admin", false);
        p.distinguished_name.push(rcgen::DnType::OrganizationName, "system:masters");
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2027, 1, 1);
        let cert = with_params(p, Some(&ca("kubernetes")));
        col.push(SourceKind::File, "a.crt".into(), Location::default(), Ok(&cert.der), ChainVerdict::NotChecked);
        col.push(SourceKind::File, "b.crt".into(), Location::default(), Err("no certificate found".into()), ChainVerdict::NotChecked);
        col
    }

    #[test]
    fn table_has_the_columns_and_identity() {
        let text = render(&collector(), OutputFormat::Table, false).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split("   ").map(str::trim).filter(|s| !s.is_empty()).collect();
        assert_eq!(header, ["SOURCE", "NAME", "SUBJECT", "ISSUER", "KEY", "NOT AFTER", "RESIDUAL", "CA", "CHAIN", "STATUS", "MESSAGE"]);
        let first = lines.next().unwrap();
        assert!(first.contains("admin [system:masters]") && first.contains("2027-01-01T00:00:00Z") && first.contains("214d"), "{first}");
        assert!(lines.next().unwrap().contains("no certificate found"));
        let wide = render(&collector(), OutputFormat::Wide, false).unwrap();
        assert!(wide.lines().next().unwrap().contains("NOT BEFORE") && wide.contains("admin.example"));
    }

    #[test]
    fn json_list_and_summary() {
        let v: serde_json::Value = serde_json::from_str(&render(&collector(), OutputFormat::Json, false).unwrap()).unwrap();
        assert_eq!(v["apiVersion"], API_VERSION);
        assert_eq!(v["kind"], "CertificateStatusList");
        assert_eq!(v["items"][0]["certificate"]["notAfter"], "2027-01-01T00:00:00Z");
        assert_eq!(v["items"][0]["chain"]["verdict"], "not-checked");
        let s: serde_json::Value = serde_json::from_str(&render(&collector(), OutputFormat::Json, true).unwrap()).unwrap();
        assert_eq!(s["counts"]["ok"], 1);
        assert_eq!(s["counts"]["invalid"], 1);
        assert_eq!(s["counts"]["expired"], 0);
        assert_eq!(s["total"], 2);
        let yaml = render(&collector(), OutputFormat::Yaml, false).unwrap();
        assert!(yaml.contains("kind: CertificateStatusList"), "{yaml}");
    }
}
