//! What a staging command wrote, as rows: never the key material.
//!
//! No clap; it renders, never reads.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chain;
use crate::error::Result;
use crate::issuer::pem;
use crate::output::{self, OutputFormat, Table};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRow {
    pub path: PathBuf,
    /// `certificate`, `bundle (N)` or `key (N)`.
    pub kind: String,
    /// Subject of the first certificate.
    pub subject: Option<String>,
    pub not_after: Option<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageReport {
    pub files: Vec<FileRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_ca_hash: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenLine>,
    /// The `k3s certificate rotate-ca --path` to load the staged files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_ca_path: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct TokenLine {
    pub name: String,
    pub token: String,
}

/// Describes a file from its contents.
pub fn describe(path: &Path, contents: &[u8]) -> FileRow {
    let blocks = pem::blocks(contents).unwrap_or_default();
    let certs: Vec<&pem::Block> = blocks.iter().filter(|b| b.label == "CERTIFICATE").collect();
    let keys = blocks.iter().filter(|b| b.label.ends_with("PRIVATE KEY")).count();
    let kind = match (certs.len(), keys) {
        (0, n) => format!("key ({n})"),
        (1, 0) => "certificate".into(),
        (n, _) => format!("bundle ({n})"),
    };
    let first = certs.first().map(|b| b.der.as_slice());
    FileRow {
        path: path.to_path_buf(),
        kind,
        subject: first.map(chain::subject),
        not_after: first.and_then(chain::not_after).and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| t.to_string()),
    }
}

/// Prints the report in `format`; after a table, how to load the staged files.
pub fn render(report: &StageReport, format: OutputFormat) -> Result<()> {
    let mut human = false;
    output::emit(format, report, |_| {
        human = true;
        Some(text(report))
    })?;
    if human && let Some(path) = &report.rotate_ca_path {
        eprintln!("To load the staged files: k3s certificate rotate-ca --path={}", path.display());
    }
    Ok(())
}

fn text(report: &StageReport) -> String {
    let mut table = Table::new(["file", "kind", "subject", "expires"]);
    for f in &report.files {
        table.push(vec![
            f.path.display().to_string(),
            f.kind.clone(),
            f.subject.clone().unwrap_or_else(|| "-".into()),
            f.not_after.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut text = table.render();
    if let Some(hash) = &report.server_ca_hash {
        text.push_str(&format!("\nServer CA hash: {hash}\n"));
    }
    for t in &report.tokens {
        text.push_str(&format!("Updated {} token: {}\n", t.name, t.token));
    }
    text
}
