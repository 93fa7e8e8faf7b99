//! Rendering rows as they are collected, for each output format: a
//! kubectl-style table (`-o wide` adds dates, SANs, serial), a JSON/YAML
//! list, or `--summary` counts. Rows are not kept: each is written out
//! (to a spill, see [`crate::output::spill`]) as it arrives, and the
//! document is printed once every source has succeeded, so memory stays
//! flat in the number of certificates and a failed run prints nothing.
//!
//! Rendering never fetches: no client, no sources, no clap.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::error::Result;
use crate::output::OutputFormat;
use crate::output::spill::{Spill, SpillTable};
use crate::output::{self, Table, clean_cell};

use super::row::{ContextInfo, Row, RowSink, RowStatus, Tally, TenantInfo};
use super::table::{SortBy, cells, headers, sort_key};

pub const API_VERSION: &str = "pki.kubectl.io/v1alpha1";
const LIST: &str = "CertificateStatusList";

/// The header of a list; `items` follow it, written row by row.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListHead<'a> {
    api_version: &'static str,
    kind: &'static str,
    tenants: &'a [TenantInfo],
    contexts: &'a [ContextInfo],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    api_version: &'static str,
    kind: &'static str,
    tenants: &'a [TenantInfo],
    contexts: &'a [ContextInfo],
    /// Every status, zeros included.
    counts: BTreeMap<&'static str, usize>,
    total: usize,
}

/// Where rows go as they are judged, by output format.
pub enum Output {
    /// `--summary`: the counts of the [`Tally`] are all it prints.
    Summary(OutputFormat),
    /// Each item pretty-printed as it appears inside `items`.
    Json { items: Spill, buf: Vec<u8> },
    /// Each item as a one-element YAML sequence.
    Yaml { items: Spill },
    /// Cells of every column; the message column is printed only when
    /// some row has a message; a CONTEXT column first when several are read.
    Table { table: SpillTable<super::table::SortKey>, wide: bool, with_message: bool, sort_by: SortBy, contexts: bool },
    /// The exporter's metric families ([`super::prometheus`]).
    Prometheus(Box<super::prometheus::Sink>),
    /// `--all-tenants` as a table: one row per tenant ([`super::tenants_table`]); rows are not kept.
    Tenants { wide: bool },
}

impl Output {
    pub fn new(format: OutputFormat, summary: bool) -> Output {
        if summary && format != OutputFormat::Prometheus {
            return Output::Summary(format);
        }
        Self::rows(format)
    }

    /// Table rows in `by`'s order (other formats keep the order of the sources).
    pub fn sorted_by(mut self, by: SortBy) -> Output {
        if let Output::Table { sort_by, .. } = &mut self {
            *sort_by = by;
        }
        self
    }

    /// Rows of several contexts: tables gain a CONTEXT column (other formats carry `context` in each row).
    pub fn with_contexts(mut self) -> Output {
        if let Output::Table { table, wide, contexts, .. } = &mut self {
            *table = SpillTable::new(std::iter::once("context").chain(headers(*wide)));
            *contexts = true;
        }
        self
    }

    /// The tenant table for tables; every other format as [`Output::new`].
    pub fn for_tenants(format: OutputFormat, summary: bool) -> Output {
        match format {
            OutputFormat::Table | OutputFormat::Wide if !summary => Output::Tenants { wide: format == OutputFormat::Wide },
            _ => Self::new(format, summary),
        }
    }

    fn rows(format: OutputFormat) -> Output {
        match format {
            OutputFormat::Json => Output::Json { items: Spill::new(), buf: Vec::new() },
            OutputFormat::Yaml => Output::Yaml { items: Spill::new() },
            OutputFormat::Prometheus => Output::Prometheus(Box::default()),
            OutputFormat::Table | OutputFormat::Wide => {
                let wide = format == OutputFormat::Wide;
                Output::Table {
                    table: SpillTable::new(headers(wide)),
                    wide,
                    with_message: false,
                    sort_by: SortBy::default(),
                    contexts: false,
                }
            }
        }
    }

    /// Prints the document on stdout.
    pub fn print(self, tally: &Tally) -> Result<()> {
        output::with_stdout(|out| self.write_to(tally, out))
    }

    /// The whole document: the header, the rows written so far, the end.
    pub fn write_to(self, tally: &Tally, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Output::Summary(format) => summary(tally, format, out),
            Output::Prometheus(sink) => sink.write_to(tally, out),
            Output::Tenants { wide } => {
                out.write_all(super::tenants_table::render(&tally.tenants, &tally.contexts, wide, jiff::Timestamp::now()).as_bytes())
            }
            Output::Json { items, .. } => {
                let json = |e: serde_json::Error| io::Error::other(format!("JSON output: {e}"));
                out.write_all(b"{\n  \"apiVersion\": ")?;
                serde_json::to_writer(&mut *out, API_VERSION).map_err(json)?;
                out.write_all(b",\n  \"kind\": ")?;
                serde_json::to_writer(&mut *out, LIST).map_err(json)?;
                out.write_all(b",\n  \"tenants\": ")?;
                write_indented(out, &serde_json::to_vec_pretty(&tally.tenants).map_err(json)?, b"\n  ")?;
                out.write_all(b",\n  \"contexts\": ")?;
                write_indented(out, &serde_json::to_vec_pretty(&tally.contexts).map_err(json)?, b"\n  ")?;
                if items.is_empty() {
                    out.write_all(b",\n  \"items\": []")?;
                } else {
                    out.write_all(b",\n  \"items\": [\n")?;
                    items.copy_to(out)?;
                    out.write_all(b"\n  ]")?;
                }
                out.write_all(b"\n}\n")
            }
            Output::Yaml { items } => {
                let head = ListHead { api_version: API_VERSION, kind: LIST, tenants: &tally.tenants, contexts: &tally.contexts };
                out.write_all(to_yaml(&head)?.as_bytes())?;
                if items.is_empty() {
                    out.write_all(b"items: []\n")
                } else {
                    out.write_all(b"items:\n")?;
                    items.copy_to(out)
                }
            }
            Output::Table { table, wide, with_message, contexts, .. } => {
                out.write_all(tenant_lines(&tally.tenants).as_bytes())?;
                if table.is_empty() {
                    return out.write_all(b"No certificates found.\n");
                }
                let columns = headers(wide).len() + usize::from(contexts) - usize::from(!with_message);
                table.write_to(out, columns)
            }
        }
    }
}

impl RowSink for Output {
    fn row(&mut self, row: Row) {
        match self {
            Output::Summary(_) | Output::Tenants { .. } => {}
            Output::Prometheus(sink) => sink.row(row),
            Output::Json { items, buf } => {
                buf.clear();
                if let Err(e) = serde_json::to_writer_pretty(&mut *buf, &row) {
                    return items.fail(io::Error::other(format!("JSON output: {e}")));
                }
                // Two levels deep: inside the list, inside `items`.
                items.write(if items.is_empty() { b"    " } else { b",\n    " });
                for (i, line) in buf.split(|&b| b == b'\n').enumerate() {
                    if i > 0 {
                        items.write(b"\n    ");
                    }
                    items.write(line);
                }
            }
            Output::Yaml { items } => match to_yaml(&[&row]) {
                Ok(text) => items.write(text.as_bytes()),
                Err(e) => items.fail(e),
            },
            Output::Table { table, wide, with_message, sort_by, contexts } => {
                *with_message |= row.message.is_some();
                let mut cells = cells(&row, *wide);
                if *contexts {
                    cells.insert(0, row.context.clone().unwrap_or_else(|| "-".into()));
                }
                table.push_sorted(&cells, sort_key(&row, *sort_by));
            }
        }
    }
}

fn to_yaml<T: Serialize>(value: &T) -> io::Result<String> {
    serde_saphyr::to_string(value).map_err(|e| io::Error::other(format!("YAML output: {e}")))
}

/// `bytes` with `indent` after each line break (JSON strings hold none).
fn write_indented(out: &mut dyn Write, bytes: &[u8], indent: &[u8]) -> io::Result<()> {
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.write_all(indent)?;
        }
        out.write_all(line)?;
    }
    Ok(())
}

fn summary(tally: &Tally, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    let counts: BTreeMap<&'static str, usize> = RowStatus::ALL.iter().map(|&s| (s.as_str(), tally.counts.get(s))).collect();
    let total = tally.counts.total();
    let text = match format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let doc = Summary {
                api_version: API_VERSION,
                kind: "CertificateStatusSummary",
                tenants: &tally.tenants,
                contexts: &tally.contexts,
                total,
                counts,
            };
            let text = if format == OutputFormat::Yaml { output::to_yaml(&doc) } else { output::to_json(&doc) };
            text.map_err(|e| io::Error::other(e.to_string()))?
        }
        OutputFormat::Table | OutputFormat::Wide | OutputFormat::Prometheus => {
            let mut t = Table::new(["status", "count"]);
            for status in RowStatus::ALL {
                t.push(vec![status.to_string(), counts[status.as_str()].to_string()]);
            }
            t.push(vec!["total".into(), total.to_string()]);
            format!("{}{}", tenant_lines(&tally.tenants), t.render())
        }
    };
    out.write_all(text.as_bytes())
}

/// One line per tenant above the table, like a heading.
fn tenant_lines(tenants: &[TenantInfo]) -> String {
    tenants
        .iter()
        .map(|t| {
            let line = format!(
                "TenantControlPlane {}/{}: {} (version {})",
                t.namespace,
                t.name,
                t.status.as_deref().unwrap_or("status unknown"),
                t.version.as_deref().unwrap_or("unknown")
            );
            let pending = match t.pending_rotation.as_slice() {
                [] => String::new(),
                names => format!("\n{}", clean_cell(&pending_line(names))),
            };
            match &t.kamaji {
                Some(k) => format!("{}\n{}{pending}\n\n", clean_cell(&line), clean_cell(&super::tenants_table::horizon_line(k))),
                None => format!("{}{pending}\n\n", clean_cell(&line)),
            }
        })
        .collect()
}

/// The warning under a tenant whose secrets carry a pending rotate request.
fn pending_line(names: &[String]) -> String {
    format!(
        "WARNING: {} carr{} a pending {}=\"\": Kamaji rotates when it acts on it (one that ignores it now may after an upgrade); finish with kubectl pki rotate-ca, or remove the annotation",
        names.join(", "),
        if names.len() == 1 { "ies" } else { "y" },
        crate::kamaji::names::ANNOTATION_ROTATE
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::chain::ChainVerdict;
    use crate::status::item::Location;
    use crate::status::row::{Collector, SourceKind};
    use kubectl_pki_testkit::{ca, params_for, with_params};

    /// The document as it was printed when every row was kept.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        api_version: &'static str,
        kind: &'static str,
        tenants: &'a [TenantInfo],
        contexts: &'a [ContextInfo],
        items: &'a [Row],
    }

    fn previous(rows: &[Row], tenants: &[TenantInfo], format: OutputFormat) -> String {
        let list = List { api_version: API_VERSION, kind: LIST, tenants, contexts: &[], items: rows };
        match format {
            OutputFormat::Json => output::to_json(&list).unwrap(),
            OutputFormat::Yaml => output::to_yaml(&list).unwrap(),
            OutputFormat::Prometheus => unreachable!("not a format of the previous renderer"),
            OutputFormat::Table | OutputFormat::Wide => {
                if rows.is_empty() {
                    return format!("{}No certificates found.\n", tenant_lines(tenants));
                }
                let wide = format == OutputFormat::Wide;
                let with_message = rows.iter().any(|r| r.message.is_some());
                let mut h = headers(wide);
                if !with_message {
                    h.pop();
                }
                let mut t = Table::new(h);
                let mut sorted: Vec<&Row> = rows.iter().collect();
                sorted.sort_by_key(|r| sort_key(r, SortBy::Expiry));
                for r in sorted {
                    let mut c = cells(r, wide);
                    if !with_message {
                        c.pop();
                    }
                    t.push(c);
                }
                format!("{}{}", tenant_lines(tenants), t.render())
            }
        }
    }

    /// Rows through a collector into the output of `format`, as `status` does.
    fn render(rows: &[Row], tenants: &[TenantInfo], format: OutputFormat, summary: bool) -> String {
        let mut out = Output::new(format, summary);
        let mut col = Collector::new(jiff::Timestamp::now(), jiff::SignedDuration::ZERO, &mut out);
        col.tenants = tenants.to_vec();
        for r in rows {
            col.emit(r.clone());
        }
        let tally = col.finish();
        let mut bytes = Vec::new();
        out.write_to(&tally, &mut bytes).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    const FORMATS: [OutputFormat; 4] = [OutputFormat::Table, OutputFormat::Wide, OutputFormat::Json, OutputFormat::Yaml];

    fn rows() -> Vec<Row> {
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut rows = Vec::new();
        let mut col = Collector::new(now, jiff::SignedDuration::from_hours(720), &mut rows);
        let mut p = params_for("admin", false);
        p.distinguished_name.push(rcgen::DnType::OrganizationName, "system:masters");
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2027, 1, 1);
        let cert = with_params(p, Some(&ca("kubernetes")));
        col.push(SourceKind::File, "a.crt".into(), Location::default(), Ok(&cert.der), ChainVerdict::NotChecked);
        col.push(SourceKind::File, "b.crt".into(), Location::default(), Err("no certificate found".into()), ChainVerdict::NotChecked);
        rows
    }

    fn tenant() -> TenantInfo {
        TenantInfo {
            context: None,
            namespace: "tenant-a".into(),
            name: "k8s".into(),
            status: Some("Ready".into()),
            version: None,
            kamaji: None,
            pending_rotation: vec![],
            summary: None,
            error: None,
        }
    }

    #[test]
    fn table_has_the_columns_and_identity() {
        let text = render(&rows(), &[], OutputFormat::Table, false);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split("   ").map(str::trim).filter(|s| !s.is_empty()).collect();
        assert_eq!(header, ["NAME", "SUBJECT", "RESIDUAL", "CA", "CHAIN", "STATUS", "MESSAGE"]);
        // What needs attention first: the invalid row, then the valid one.
        assert!(lines.next().unwrap().contains("no certificate found"));
        let second = lines.next().unwrap();
        assert!(second.starts_with("a.crt   admin ") && second.contains("214d"), "{second}");
        assert!(text.lines().all(|l| l.len() <= 120), "fits 120 columns:\n{text}");
        let wide = render(&rows(), &[], OutputFormat::Wide, false);
        let wide_header = wide.lines().next().unwrap();
        for column in ["SOURCE", "ISSUER", "KEY", "NOT BEFORE", "NOT AFTER", "SANS", "SERIAL"] {
            assert!(wide_header.contains(column), "{wide_header}");
        }
        assert!(wide.contains("admin [system:masters]") && wide.contains("admin.example") && wide.contains("2027-01-01T00:00:00Z"));
        let ok_only = render(&rows()[..1], &[], OutputFormat::Table, false);
        assert!(!ok_only.contains("MESSAGE"), "{ok_only}");
    }

    #[test]
    fn json_list_and_summary() {
        let v: serde_json::Value = serde_json::from_str(&render(&rows(), &[], OutputFormat::Json, false)).unwrap();
        assert_eq!(v["apiVersion"], API_VERSION);
        assert_eq!(v["kind"], "CertificateStatusList");
        assert_eq!(v["items"][0]["certificate"]["notAfter"], "2027-01-01T00:00:00Z");
        assert_eq!(v["items"][0]["chain"]["verdict"], "not-checked");
        let s: serde_json::Value = serde_json::from_str(&render(&rows(), &[], OutputFormat::Json, true)).unwrap();
        assert_eq!(s["kind"], "CertificateStatusSummary");
        assert_eq!(s["counts"]["ok"], 1);
        assert_eq!(s["counts"]["invalid"], 1);
        assert_eq!(s["counts"]["expired"], 0);
        assert_eq!(s["total"], 2);
        let yaml = render(&rows(), &[], OutputFormat::Yaml, false);
        assert!(yaml.contains("kind: CertificateStatusList"), "{yaml}");
        let table = render(&rows(), &[tenant()], OutputFormat::Table, true);
        assert!(
            table.starts_with("TenantControlPlane tenant-a/k8s: Ready (version unknown)\n\nSTATUS            COUNT\nok                1\n"),
            "{table}"
        );
        assert!(table.ends_with("total             2\n"), "{table}");
    }

    #[test]
    fn a_pending_rotate_request_is_a_warning_under_its_tenant() {
        let t = TenantInfo { pending_rotation: vec!["k8s-ca".into()], ..tenant() };
        let table = render(&rows(), std::slice::from_ref(&t), OutputFormat::Table, true);
        assert!(
            table.starts_with("TenantControlPlane tenant-a/k8s: Ready (version unknown)\nWARNING: k8s-ca carries a pending certs.kamaji.clastix.io/rotate=\"\""),
            "{table}"
        );
        let v: serde_json::Value = serde_json::from_str(&render(&rows(), &[t], OutputFormat::Json, false)).unwrap();
        assert_eq!(v["tenants"][0]["pendingRotation"][0], "k8s-ca");
    }

    #[test]
    fn every_format_prints_what_it_printed_when_rows_were_kept() {
        let rows = rows();
        let cases: [(&[Row], Vec<TenantInfo>); 4] = [
            (&rows, vec![]),
            (&rows[..1], vec![tenant()]),
            (&[], vec![]),
            (&[], vec![tenant(), TenantInfo { version: Some("v1.33.0".into()), ..tenant() }]),
        ];
        for (rows, tenants) in &cases {
            for format in FORMATS {
                let (now, before) = (render(rows, tenants, format, false), previous(rows, tenants, format));
                assert_eq!(now, before, "{format:?}, {} rows, {} tenants", rows.len(), tenants.len());
            }
        }
    }

    #[test]
    fn thousands_of_rows_spill_and_print_the_same_document() {
        let base = rows();
        let many: Vec<Row> = (0..3000).map(|i| Row { name: format!("ns-{}/secret-{i}/tls.crt", i % 7), ..base[i % 2].clone() }).collect();
        for format in FORMATS {
            let now = render(&many, &[tenant()], format, false);
            assert_eq!(now, previous(&many, &[tenant()], format), "{format:?}");
        }
        let v: serde_json::Value = serde_json::from_str(&render(&many, &[], OutputFormat::Json, false)).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 3000);
        let y: serde_json::Value = serde_saphyr::from_str(&render(&many, &[], OutputFormat::Yaml, false)).unwrap();
        assert_eq!(y, v, "YAML parses back to the same document as the JSON");
    }

    #[test]
    fn a_crafted_subject_reaches_no_terminal_raw_and_round_trips_in_json_and_yaml() {
        let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2Jadmin\u{202e}";
        let mut p = params_for("crafted", false);
        p.distinguished_name.push(rcgen::DnType::CommonName, evil);
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        p.not_after = rcgen::date_time_ymd(2027, 1, 1);
        let cert = with_params(p, None);
        let mut rows = Vec::new();
        let mut col = Collector::new("2026-06-01T00:00:00Z".parse().unwrap(), jiff::SignedDuration::ZERO, &mut rows);
        col.push(SourceKind::File, "evil\x1b[1m.crt".into(), Location::default(), Ok(&cert.der), ChainVerdict::NotChecked);
        for format in [OutputFormat::Table, OutputFormat::Wide] {
            let text = render(&rows, &[], format, false);
            assert!(!text.chars().any(|c| c.is_control() && c != '\n') && !text.contains('\u{202e}'), "{format:?}: {text:?}");
            assert!(text.contains("\\u{1b}]0;pwned\\u{7}"), "{text}");
        }
        let json: serde_json::Value = serde_json::from_str(&render(&rows, &[], OutputFormat::Json, false)).unwrap();
        assert_eq!(json["items"][0]["certificate"]["commonName"], evil);
        let yaml: serde_json::Value = serde_saphyr::from_str(&render(&rows, &[], OutputFormat::Yaml, false)).unwrap();
        assert_eq!(yaml, json);
    }
}
