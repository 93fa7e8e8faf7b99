//! The restore's human output: the table on stdout, and the lines around it
//! (warnings, the Lease, the summary) for stderr. Every string from the file
//! or the cluster is escaped here. Renders only: no API calls, no printing.

use super::plan::{Action, Report};
use crate::output::{Table, clean_cell, serde_name};

/// One row per secret: what the backup and the cluster hold, what is (or would be) done.
pub fn table(report: &Report) -> String {
    let mut t = Table::new(["secret", "action", "backup", "cluster", "result", "notes"]);
    for r in &report.secrets {
        let result = match &r.error {
            Some(e) => format!("failed: {e}"),
            None => r.result.clone(),
        };
        t.push(vec![
            r.name.clone(),
            serde_name(&r.action).into(),
            r.backup_sha256.clone(),
            r.cluster_sha256.clone().unwrap_or_else(|| "-".into()),
            result,
            r.notes.join("; "),
        ]);
    }
    t.render()
}

/// The lines before the table: the target, the cluster, warnings and the Lease.
pub fn header(report: &Report) -> Vec<String> {
    let mut lines = vec![format!(
        "{}restore of tenant {}/{} from {}",
        if report.dry_run { "dry run: nothing is changed; " } else { "" },
        report.namespace,
        report.tenant,
        clean_cell(&report.backup)
    )];
    if let Some(c) = &report.cluster {
        lines.push(format!("cluster: {} (kube-system uid {})", clean_cell(&c.server), clean_cell(&c.uid)));
    }
    lines.extend(report.warnings.iter().map(|w| format!("warning: {}", clean_cell(w))));
    lines.extend(report.lease.iter().map(|l| clean_cell(l).into_owned()));
    lines
}

/// The closing line: what to do next, or what was done.
pub fn summary(report: &Report) -> String {
    let (create, replace, same) = (report.count(Action::Create), report.count(Action::Replace), report.count(Action::Unchanged));
    if report.dry_run {
        if create + replace == 0 {
            return format!("Nothing to restore: the {same} secret(s) hold what the backup holds.");
        }
        return format!(
            "Dry run: {create} to create, {replace} to replace (their current versions are backed up first), {same} unchanged. \
             Run again with --dry-run=false to restore."
        );
    }
    let failed = report.failed().len();
    let cleared = match report.states_cleared.as_slice() {
        [] => String::new(),
        commands => format!(" The resume state of {} was cleared from the Lease.", commands.join(", ")),
    };
    if failed > 0 {
        return format!("Restore incomplete: {failed} secret(s) failed ({create} created, {replace} replaced).{cleared}");
    }
    format!(
        "Restored {} secret(s) ({create} created, {replace} replaced, {same} already as in the backup).{cleared} \
         Pods that loaded the rotated material still hold it: restart the Kamaji controller and the workloads that mount these secrets.",
        create + replace + same
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::plan::Row;

    fn report(dry_run: bool, error: Option<&str>) -> Report {
        let row = |name: &str, action, result: &str, error: Option<&str>| Row {
            name: name.into(),
            action,
            backup_sha256: "sha256:aaaaaaaaaaaa".into(),
            cluster_sha256: Some("sha256:bbbbbbbbbbbb".into()),
            result: result.into(),
            error: error.map(String::from),
            notes: vec![],
        };
        Report {
            backup: "b\u{1b}[2J.yaml".into(),
            dry_run,
            namespace: "ns".into(),
            tenant: "t".into(),
            recorded_cluster: None,
            cluster: None,
            pre_restore_backup: None,
            lease: vec![],
            rotate_state_cleared: !dry_run,
            states_cleared: if dry_run { vec![] } else { vec!["rotate-ca"] },
            warnings: vec!["odd\u{1b}[31m".into()],
            secrets: vec![
                row("t-ca", Action::Replace, if dry_run { "would replace" } else { "replaced" }, None),
                row("t-admin-kubeconfig", Action::Replace, "failed", error),
                row("t-sa-certificate", Action::Unchanged, "unchanged", None),
            ],
            result: "planned",
        }
    }

    #[test]
    fn restored_is_said_only_when_every_secret_was_written() {
        let ok = summary(&report(false, None));
        assert!(
            ok.starts_with("Restored 3 secret(s) (0 created, 2 replaced, 1 already as in the backup).") && ok.contains("cleared"),
            "{ok}"
        );
        let bad = report(false, Some("conflict: it changed"));
        let s = summary(&bad);
        assert!(s.starts_with("Restore incomplete: 1 secret(s) failed (0 created, 1 replaced).") && !s.contains("Restored"), "{s}");
        assert!(table(&bad).contains("failed: conflict: it changed"), "{}", table(&bad));
        assert!(summary(&report(true, None)).contains("--dry-run=false"));
    }

    #[test]
    fn the_table_shows_both_fingerprints_and_the_header_is_escaped() {
        let r = report(true, None);
        let t = table(&r);
        assert!(t.starts_with("SECRET") && t.contains("sha256:aaaaaaaaaaaa   sha256:bbbbbbbbbbbb   would replace"), "{t}");
        let h = header(&r).join("\n");
        assert!(h.starts_with("dry run: nothing is changed; restore of tenant ns/t") && !h.contains('\u{1b}'), "{h}");
        assert!(h.contains("warning: odd\\u{1b}[31m"), "{h}");
    }
}
