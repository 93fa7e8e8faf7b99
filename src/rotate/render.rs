//! The plan as people read it: what happens to each secret and why, the
//! phases in order, then warnings; and the [`summary`] of a finished run.
//! Names, key names and fingerprints only. Pure text: no I/O, no clap.

use std::fmt::Write;

use super::live;
use super::plan::{Plan, SecretAction, WorkerAction};
use super::report::Report;
use crate::kamaji::names;
use crate::output::{Table, clean_cell, clean_line};
use crate::steps::plan_text::{PlanContext, PlanEnd, write_end};

pub fn plan_text(plan: &Plan, cx: &PlanContext<'_>) -> String {
    let mut out = String::new();
    let w = &mut out;
    let mode = if cx.dry_run { " (dry run: nothing is changed)" } else { "" };
    let _ = writeln!(w, "Plan: rotate the CA of tenant {}/{}{mode}", plan.namespace, plan.tenant);
    let _ = writeln!(w, "  TenantControlPlane status: {}", clean_cell(plan.tcp_status.as_deref().unwrap_or("unknown")));
    let _ = writeln!(
        w,
        "  Kamaji: {} from {}; {} controller pod(s) in {} ({})",
        clean_cell(plan.kamaji.version.as_deref().unwrap_or("version unknown")),
        clean_cell(&plan.kamaji.version_from),
        plan.kamaji.pods.len(),
        plan.kamaji.namespace,
        plan.kamaji.selector
    );
    if let (Some(started), Some(until)) = (plan.kamaji.started_at, plan.kamaji.issues_until) {
        let _ = writeln!(w, "  Kamaji controller running since {started}: leaves it issues before its restart expire on {until}");
    }
    let _ = writeln!(w, "  Method: {}: {}", plan.method.word(), plan.method_reason);
    match &plan.current_ca {
        Some(ca) => {
            let _ = writeln!(w, "  Current CA: {}, sha256 {}, expires {}", clean_cell(&ca.subject), ca.sha256, ca.not_after);
        }
        None => {
            let _ = writeln!(w, "  Current CA: none readable");
        }
    }
    if let Some(r) = &plan.resume {
        let _ = writeln!(
            w,
            "  Resuming: a run started {} got through phase {}; old CA sha256 {}{}",
            r.started_at,
            r.done,
            r.old_ca.sha256,
            if r.ca_already_rotated { " (already replaced)" } else { "" }
        );
    }

    let _ = writeln!(w, "\nSecrets in {}:", plan.namespace);
    let mut t = Table::new(["secret", "action", "backup", "keys", "reason"]);
    for s in &plan.secrets {
        let action = if s.already_rotated && s.action != SecretAction::Keep {
            format!("{} (done)", s.action.word())
        } else {
            s.action.word().to_string()
        };
        t.push(vec![s.name.clone(), action, if s.backup { "yes" } else { "no" }.into(), s.keys.join(","), s.reason.clone()]);
    }
    indent(w, &t.render());

    let _ = writeln!(w, "\nPhases:");
    let _ = writeln!(w, "  1. check {} permission(s) with SelfSubjectAccessReviews; take Lease {}", cx.needs, cx.lease);
    let backed: Vec<&str> = plan.secrets.iter().filter(|s| s.backup).map(|s| s.name.as_str()).collect();
    let _ = writeln!(w, "  2. back up {} secret(s) to {} (mode 0600) before any change", backed.len(), cx.backup_target);
    let after_new_ca = plan.method == super::plan::Method::Annotate;
    let rotate: Vec<String> = plan
        .secrets
        .iter()
        .filter(|s| matches!(s.action, SecretAction::Annotate | SecretAction::Delete))
        .map(|s| match (s.action, after_new_ca) {
            (SecretAction::Delete, true) => format!("delete {} (once the new CA is there)", s.name),
            _ => format!("{} {}", s.action.word(), s.name),
        })
        .collect();
    let _ = writeln!(w, "  3. rotate: {}", if rotate.is_empty() { "nothing".into() } else { rotate.join("; ") });
    if plan.kamaji.pods.is_empty() {
        let _ = writeln!(w, "  4. restart the Kamaji controller: no pods found, skipped");
    } else {
        let _ = writeln!(
            w,
            "  4. restart the Kamaji controller: delete pod(s) {} in {}; their Deployment recreates them",
            plan.kamaji.pods.join(", "),
            plan.kamaji.namespace
        );
    }
    let checked = plan.secrets.iter().filter(|s| s.verify.is_some()).count();
    let _ = writeln!(
        w,
        "  5. wait until {}-ca holds a NEW CA (new key) and {checked} secret(s) are regenerated and chain to it (timeout {}){}",
        plan.tenant,
        cx.timeout,
        cx.write_kubeconfig.as_ref().map_or_else(String::new, |f| format!("; write the new admin.conf to {f} (0600)"))
    );
    if plan.workloads.is_empty() {
        let _ = writeln!(w, "  6. workloads: none found");
    } else {
        let _ = writeln!(w, "  6. rollout restart and wait for:");
        let mut t = Table::new(["deployment", "action", "why"]);
        for wl in &plan.workloads {
            t.push(vec![wl.name.clone(), wl.action.word().into(), wl.reasons.join("; ")]);
        }
        indent(&mut *w, &indent_str(&t.render(), "   "));
    }
    if plan.workers.pods.is_empty() {
        let _ = writeln!(w, "  7. workers ({}): none", plan.workers.selector);
    } else {
        let verb = match plan.workers.action {
            WorkerAction::Delete => "delete and wait for replacements of",
            WorkerAction::Wait => "wait for the replacement of",
        };
        let _ = writeln!(
            w,
            "  7. workers ({}): {verb} {} pod(s): {}",
            plan.workers.selector,
            plan.workers.pods.len(),
            plan.workers.pods.join(", ")
        );
    }
    let _ = writeln!(
        w,
        "  8. live check: a TLS handshake with the tenant API (the server of the new {}-admin-kubeconfig, else status.controlPlaneEndpoint){} must show a certificate that chains to the new CA (retried until timeout {}); not reachable from here within {}s: reported as skipped, not passed",
        plan.tenant,
        cx.dialled_at(),
        cx.timeout,
        super::live::REACH_BUDGET.as_secs()
    );

    let end = PlanEnd {
        blockers: &plan.blockers,
        warnings: &plan.warnings,
        notes: &plan.notes,
        warnings_heading: "Warnings (what the runbook misses)",
        real_run: "execute",
    };
    write_end(w, cx, &end);
    // Every other name (pods, selectors, namespaces) is escaped here.
    clean_line(&out).into_owned()
}

fn indent(w: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(w, "  {}", line.trim_end());
    }
}

fn indent_str(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

/// Human summary of a finished run (stdout, table output).
pub fn summary(report: &Report) -> String {
    let mut out = format!(
        "Rotated the CA of tenant {}/{} in {}.\n",
        report.plan.namespace,
        report.plan.tenant,
        crate::duration::human_duration(jiff::SignedDuration::from_secs_f64(report.seconds))
    );
    if let (Some(old), Some(new)) = (&report.old_ca, &report.new_ca) {
        out.push_str(&format!("  old CA sha256 {}\n  new CA sha256 {} (expires {})\n", old.sha256, new.sha256, new.not_after));
    }
    let chained: usize = report.verified.iter().map(|v| v.certificates).sum();
    out.push_str(&format!("  {} secret(s) verified, {chained} certificate(s) chain to the new CA\n", report.verified.len()));
    out.push_str(&format!(
        "  restarted: {} Kamaji pod(s), {} workload(s) ({}), {} worker pod(s) replaced\n",
        report.kamaji_pods_deleted.len(),
        report.workloads_restarted.len(),
        if report.workloads_restarted.is_empty() { "-".into() } else { report.workloads_restarted.join(", ") },
        report.workers.len()
    ));
    if let Some(b) = &report.backup {
        out.push_str(&format!("  backup: {b} (holds the OLD private keys: keep it safe, delete it when no longer needed)\n"));
    }
    if let Some(live) = &report.live_check {
        let word = match live.verdict {
            live::Verdict::Skipped => "skipped (NOT verified)",
            v => v.word(),
        };
        out.push_str(&format!("  live check: {word}: {}\n", clean_cell(&live.reason)));
    }
    match &report.kubeconfig_written {
        Some(f) => out.push_str(&format!("  new admin kubeconfig: {f}\n")),
        None => out.push_str(&format!(
            "  fetch the new kubeconfig: kubectl -n {} get secret {} -o go-template='{{{{index .data \"admin.conf\" | base64decode}}}}'\n",
            report.plan.namespace,
            names::secret_name(&report.plan.tenant, names::ADMIN_KUBECONFIG)
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::Need;
    use crate::rotate::plan::*;

    fn plan() -> Plan {
        Plan {
            namespace: "tenant-a".into(),
            tenant: "k8s".into(),
            tcp_status: Some("Ready".into()),
            method: Method::Annotate,
            method_reason: "Kamaji 26.6.5-edge supports it".into(),
            kamaji: KamajiStep {
                namespace: "cozy-kamaji".into(),
                selector: "app.kubernetes.io/name=kamaji".into(),
                pods: vec!["kamaji-1".into()],
                version: Some("26.6.5-edge".into()),
                version_from: "tag".into(),
                started_at: None,
                issues_until: None,
            },
            current_ca: None,
            secrets: vec![SecretStep {
                name: "k8s-ca".into(),
                suffix: "ca".into(),
                action: SecretAction::Annotate,
                reason: "new CA".into(),
                keys: vec!["ca.crt".into(), "ca.key".into()],
                certificate_sha256: Some("AB:CD".into()),
                backup: true,
                verify: None,
                already_rotated: false,
            }],
            workloads: vec![WorkloadStep {
                kind: "Deployment",
                name: "k8s-kccm".into(),
                action: WorkloadAction::Restart,
                reasons: vec!["uses k8s-admin-kubeconfig".into()],
            }],
            workers: WorkerStep { selector: "sel".into(), action: WorkerAction::Wait, pods: vec![] },
            warnings: vec!["runbook misses kccm".into()],
            notes: vec![],
            blockers: vec![],
            resume: None,
        }
    }

    #[test]
    fn plan_text_escapes_cluster_strings() {
        let evil = "x\u{1b}[31my\u{202e}z";
        let mut p = plan();
        p.tcp_status = Some(format!("Ready{evil}"));
        p.kamaji.version = Some(evil.into());
        p.warnings.push(format!("warn {evil}"));
        p.blockers.push(format!("block {evil}\nforged line"));
        p.current_ca = Some(crate::rotate::verify::CaId {
            sha256: "aa".into(),
            key_sha256: "bb".into(),
            subject: format!("CN={evil}"),
            not_after: jiff::Timestamp::UNIX_EPOCH,
        });
        p.kamaji.pods.push(format!("pod-{evil}"));
        let text = plan_text(
            &p,
            &PlanContext {
                dry_run: true,
                backup_target: "b".into(),
                lease: "l".into(),
                timeout: "10m".into(),
                missing: &[],
                needs: 1,
                lock_holder: Some(format!("holder-{evil}")),
                write_kubeconfig: None,
                tenant_endpoint: None,
            },
        );
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text}");
        let shown = "x\\u{1b}[31my\\u{202e}z";
        for line in [
            format!("TenantControlPlane status: Ready{shown}"),
            format!("The tenant is locked by holder-{shown}"),
            format!("  x block {shown} forged line"),
            format!("  ! warn {shown}"),
            format!("pod-{shown}"),
        ] {
            assert!(text.contains(&line), "{line} not in {text}");
        }
        assert!(text.contains(&format!("Current CA: CN={shown}, sha256 aa")), "{text}");
    }

    #[test]
    fn dry_run_text_names_everything_and_says_nothing_changed() {
        let missing = [Need::new("delete", "", "pods", "cozy-kamaji", "restart")];
        let text = plan_text(
            &plan(),
            &PlanContext {
                dry_run: true,
                backup_target: "./pki-backup-tenant-a-k8s-<time>.yaml".into(),
                lease: "tenant-a/pki-rotate-k8s".into(),
                timeout: "10m".into(),
                missing: &missing,
                needs: 9,
                lock_holder: None,
                write_kubeconfig: None,
                tenant_endpoint: None,
            },
        );
        assert!(text.starts_with("Plan: rotate the CA of tenant tenant-a/k8s (dry run: nothing is changed)"));
        assert!(text.contains("k8s-ca") && text.contains("annotate") && text.contains("ca.crt,ca.key"));
        assert!(text.contains("k8s-kccm") && text.contains("uses k8s-admin-kubeconfig"));
        assert!(text.contains("Missing permissions (the real run refuses): delete pods in cozy-kamaji (restart)"));
        assert!(text.contains("! runbook misses kccm"));
        assert!(
            text.contains("  8. live check: a TLS handshake with the tenant API (the server of the new k8s-admin-kubeconfig"),
            "{text}"
        );
        assert!(text.contains("reported as skipped, not passed"));
        assert!(text.ends_with("Run again with --dry-run=false to execute.\n"));
    }
}
