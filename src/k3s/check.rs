//! `kubectl pki k3s check`: the checks k3s's server runs on a rotate-ca
//! upload (pkg/server/cert.go) before it accepts it, run offline:
//! - each new CA bundle holds more than one certificate;
//! - its first certificate verifies against the current roots and
//!   intermediates, plus the new bundle's cross-signed certificates;
//! - the new CA key loads with the new certificate as a pair;
//! - the new service.key still holds the current first signing key.
//!
//! Like k3s, a file the staged directory lacks is replaced by the current one.
//!
//! Offline (local files only), no clap.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chain;
use super::layout::{self, CA_TYPES};
use crate::error::{Error, Result};
use crate::issuer::{PrivateKey, now, pem};
use crate::output::{self, OutputFormat, Table, serde_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Fail,
    Skip,
}

#[derive(Debug, Serialize)]
pub struct CheckRow {
    pub check: &'static str,
    pub file: String,
    pub verdict: Verdict,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub path: PathBuf,
    pub current: Option<PathBuf>,
    pub passed: bool,
    pub checks: Vec<CheckRow>,
}

/// A file of the staged set, or the current one when it is not staged.
fn pick(new: &Path, current: Option<&Path>, rel: &str) -> Option<(PathBuf, bool)> {
    let staged = new.join(rel);
    if std::fs::metadata(&staged).is_ok_and(|m| m.len() > 0) {
        return Some((staged, false));
    }
    current.map(|c| (c.join(rel), true)).filter(|(p, _)| p.exists())
}

fn certs_of(path: &Path) -> std::result::Result<Vec<Vec<u8>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    pem::certificates(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn check(new_dir: &Path, current_dir: Option<&Path>) -> Result<CheckReport> {
    if !new_dir.is_dir() {
        return Err(Error::file(new_dir, "not a directory"));
    }
    let new = layout::tls_dir(new_dir);
    let current = current_dir.map(layout::tls_dir);
    if let Some(c) = &current
        && !c.join("server-ca.crt").exists()
    {
        return Err(Error::file(c.join("server-ca.crt"), "missing: --current is not a k3s data directory"));
    }
    let current = current.as_deref();
    let mut rows = Vec::new();
    let row = |check, file: &str, verdict, detail: String| CheckRow { check, file: file.to_string(), verdict, detail };

    for ca_type in CA_TYPES {
        let crt_rel = format!("{ca_type}-ca.crt");
        let key_rel = format!("{ca_type}-ca.key");
        let Some((crt_path, crt_kept)) = pick(&new, current, &crt_rel) else {
            rows.push(row("bundle", &crt_rel, Verdict::Skip, "not staged".into()));
            continue;
        };
        let kept = if crt_kept { " (not staged: k3s keeps the current file)" } else { "" };
        let new_certs = match certs_of(&crt_path) {
            Ok(c) if !c.is_empty() => c,
            Ok(_) => {
                rows.push(row("bundle", &crt_rel, Verdict::Fail, format!("no certificate{kept}")));
                continue;
            }
            Err(e) => {
                rows.push(row("bundle", &crt_rel, Verdict::Fail, e));
                continue;
            }
        };
        rows.push(if new_certs.len() > 1 {
            row("bundle", &crt_rel, Verdict::Ok, format!("{} certificates{kept}", new_certs.len()))
        } else {
            row("bundle", &crt_rel, Verdict::Fail, format!("one certificate: k3s rejects it as \"new CA is self-signed\"{kept}"))
        });
        rows.push(chain_row(ca_type, &crt_rel, &new_certs, current, kept));
        rows.push(key_row(&new, current, &key_rel, &new_certs[0]));
    }
    rows.push(service_key_row(&new, current));

    let passed = rows.iter().all(|r| r.verdict != Verdict::Fail);
    Ok(CheckReport { path: new, current: current.map(Path::to_path_buf), passed, checks: rows })
}

fn chain_row(ca_type: &str, file: &str, new_certs: &[Vec<u8>], current: Option<&Path>, kept: &str) -> CheckRow {
    let rest: Vec<&[u8]> = new_certs[1..].iter().map(Vec::as_slice).collect();
    let mk = |verdict, detail| CheckRow { check: "chain", file: file.to_string(), verdict, detail };
    let (roots, intermediates, against): (Vec<&[u8]>, Vec<&[u8]>, &str);
    let old_certs;
    match current {
        Some(cur) => {
            old_certs = match certs_of(&layout::ca_file(cur, ca_type, "crt")) {
                Ok(c) => c,
                Err(e) => return mk(Verdict::Fail, format!("current CA: {e}")),
            };
            let old: Vec<&[u8]> = old_certs.iter().map(Vec::as_slice).collect();
            roots = old.iter().copied().filter(|c| chain::is_root(c)).collect();
            intermediates =
                old.iter().copied().filter(|c| !chain::is_root(c)).chain(rest.iter().copied().filter(|c| chain::has_aki(c))).collect();
            against = "the current CA";
        }
        None => {
            roots = rest.iter().copied().filter(|c| chain::is_root(c)).collect();
            intermediates = rest.iter().copied().filter(|c| !chain::is_root(c)).collect();
            against = "its own bundle (no --current)";
        }
    }
    match chain::verify(&new_certs[0], &intermediates, &roots, now()) {
        Ok(path) => mk(
            Verdict::Ok,
            format!(
                "{} verifies against {against} via {} certificate(s) to {}{kept}",
                chain::subject(&new_certs[0]),
                path.len() - 1,
                path.last().map(|r| chain::subject(r)).unwrap_or_default()
            ),
        ),
        Err(e) => mk(Verdict::Fail, format!("new CA cert cannot be verified using {against}: {e}{kept}")),
    }
}

fn key_row(new: &Path, current: Option<&Path>, key_rel: &str, cert: &[u8]) -> CheckRow {
    let mk = |verdict, detail| CheckRow { check: "key pair", file: key_rel.to_string(), verdict, detail };
    let Some((path, kept)) = pick(new, current, key_rel) else {
        return mk(Verdict::Fail, "missing".into());
    };
    let kept = if kept { " (not staged: k3s keeps the current file)" } else { "" };
    let key = match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| PrivateKey::first_from_pem(&b)) {
        Ok(k) => k,
        Err(e) => return mk(Verdict::Fail, format!("{e}{kept}")),
    };
    if chain::has_public_key(cert, key.public_key_raw()) {
        mk(Verdict::Ok, format!("{} key matches the first certificate{kept}", key.kind()))
    } else {
        mk(Verdict::Fail, format!("the first key does not match the first certificate{kept}"))
    }
}

fn service_key_row(new: &Path, current: Option<&Path>) -> CheckRow {
    let mk = |verdict, detail| CheckRow { check: "service key", file: "service.key".into(), verdict, detail };
    let load = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display())).and_then(|b| PrivateKey::all_from_pem(&b));
    let Some((path, kept)) = pick(new, current, "service.key") else {
        return mk(Verdict::Skip, "not staged".into());
    };
    let new_keys = match load(&path) {
        Ok(k) if !k.is_empty() => k,
        Ok(_) => return mk(Verdict::Fail, "no private key".into()),
        Err(e) => return mk(Verdict::Fail, e),
    };
    if kept {
        return mk(Verdict::Ok, "not staged: k3s keeps the current key".into());
    }
    let Some(cur) = current else {
        return mk(Verdict::Ok, format!("{} key(s); no --current to compare", new_keys.len()));
    };
    let old_first = match load(&cur.join("service.key")) {
        Ok(k) if !k.is_empty() => k.into_iter().next(),
        Ok(_) => None,
        Err(e) => return mk(Verdict::Fail, format!("current: {e}")),
    };
    let Some(old_first) = old_first else {
        return mk(Verdict::Fail, "current service.key holds no key".into());
    };
    if new_keys.iter().any(|k| k.public_key_raw() == old_first.public_key_raw()) {
        mk(Verdict::Ok, format!("{} key(s), including the current signing key", new_keys.len()))
    } else {
        mk(Verdict::Fail, "old ServiceAccount signing key not in the new key list: existing tokens would be rejected".into())
    }
}

impl Verdict {
    /// The table's word: serde's, a failure shouting.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Fail => "FAIL",
            other => serde_name(&other),
        }
    }
}

/// Prints the report in `format`.
pub fn render(report: &CheckReport, format: OutputFormat) -> Result<()> {
    output::emit(format, report, |_| {
        let mut table = Table::new(["check", "file", "verdict", "detail"]);
        for r in &report.checks {
            table.push(vec![r.check.to_string(), r.file.clone(), r.verdict.word().into(), r.detail.clone()]);
        }
        Some(table.render())
    })
}
