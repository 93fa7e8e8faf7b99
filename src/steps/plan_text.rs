//! What every dry-run plan of a command that changes a tenant says beside its steps: the
//! context of the run ([`PlanContext`]) and the end of the text ([`write_end`]): blockers,
//! warnings (missing permissions and a lock holder first), notes, and what a dry run changed
//! (nothing). Every string that may come from the cluster is escaped. No I/O.

use std::fmt::Write;

use crate::output::clean_cell;
use crate::rbac::Need;

/// What the plan text says beside the plan.
pub struct PlanContext<'a> {
    pub dry_run: bool,
    pub backup_target: String,
    pub lease: String,
    pub timeout: String,
    pub missing: &'a [Need],
    pub needs: usize,
    pub lock_holder: Option<String>,
    /// `--write-kubeconfig`, for the commands that have it.
    pub write_kubeconfig: Option<String>,
    /// `--tenant-endpoint`: where the tenant API is dialled instead.
    pub tenant_endpoint: Option<String>,
}

/// The plan's own lists, and the words of its command.
pub struct PlanEnd<'a> {
    pub blockers: &'a [String],
    pub warnings: &'a [String],
    pub notes: &'a [String],
    /// The warnings' heading: `Warnings`, `Warnings (what the runbook misses)`.
    pub warnings_heading: &'a str,
    /// What `--dry-run=false` does: "renew", "execute".
    pub real_run: &'a str,
}

impl PlanContext<'_> {
    /// How a step that dials the tenant API says where: `` at URL (--tenant-endpoint)``, or nothing.
    pub fn dialled_at(&self) -> String {
        self.tenant_endpoint.as_ref().map_or_else(String::new, |url| format!(" at {url} (--tenant-endpoint)"))
    }
}

/// Blockers (`x`), warnings (`!`) and notes (`-`), each under its heading when there is
/// any; then, for a dry run, that nothing was changed.
pub fn write_end(w: &mut String, cx: &PlanContext<'_>, end: &PlanEnd<'_>) {
    let mut warnings: Vec<String> = end.warnings.to_vec();
    if !cx.missing.is_empty() {
        let list: Vec<String> = cx.missing.iter().map(ToString::to_string).collect();
        warnings.insert(0, format!("Missing permissions (the real run refuses): {}", list.join("; ")));
    }
    if let Some(holder) = &cx.lock_holder {
        warnings.insert(0, format!("The tenant is locked by {} (the real run refuses unless --force-unlock).", clean_cell(holder)));
    }
    let lists: [(&str, &str, &[String]); 3] =
        [("Blockers (the real run refuses)", "x", end.blockers), (end.warnings_heading, "!", &warnings), ("Notes", "-", end.notes)];
    for (heading, mark, items) in lists {
        if !items.is_empty() {
            let _ = writeln!(w, "\n{heading}:");
            for item in items {
                let _ = writeln!(w, "  {mark} {}", clean_cell(item));
            }
        }
    }
    if cx.dry_run {
        let _ = writeln!(w, "\nDry run: nothing was changed. Run again with --dry-run=false to {}.", end.real_run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(missing: &[Need]) -> PlanContext<'_> {
        PlanContext {
            dry_run: true,
            backup_target: String::new(),
            lease: String::new(),
            timeout: String::new(),
            missing,
            needs: 1,
            lock_holder: Some("jane@laptop\u{1b}[2J".into()),
            write_kubeconfig: None,
            tenant_endpoint: None,
        }
    }

    #[test]
    fn the_end_lists_each_kind_under_its_heading_escaped_then_the_dry_run_line() {
        let missing = [Need::new("delete", "", "secrets", "t", "the rotation deletes them")];
        let mut w = String::new();
        let end = PlanEnd {
            blockers: &["unfinished\u{202e} rotation".into()],
            warnings: &["w".into()],
            notes: &[],
            warnings_heading: "Warnings",
            real_run: "renew",
        };
        write_end(&mut w, &cx(&missing), &end);
        assert!(w.starts_with("\nBlockers (the real run refuses):\n  x unfinished\\u{202e} rotation\n\nWarnings:\n  ! The tenant is locked by jane@laptop\\u{1b}[2J"), "{w}");
        assert!(w.contains("\n  ! Missing permissions (the real run refuses): ") && w.contains("\n  ! w\n"), "{w}");
        assert!(!w.contains("Notes") && w.ends_with("\nDry run: nothing was changed. Run again with --dry-run=false to renew.\n"), "{w}");
    }
}
