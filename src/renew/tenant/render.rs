//! The renewal plan as people read it (which secrets, their NotAfter, why, the steps in
//! order, warnings) and the [`summary`] of a finished run. Names, serials and dates only.
//! Pure text: no I/O, no clap.

use std::fmt::Write;

use super::plan::{Action, Mechanism, Plan};
use super::report::Report;
use crate::kamaji::names;
use crate::output::{Table, clean_cell, clean_line};
use crate::rotate::live;
use crate::steps::plan_text::{PlanContext, PlanEnd, write_end};

pub fn plan_text(plan: &Plan, cx: &PlanContext<'_>) -> String {
    let mut out = String::new();
    let w = &mut out;
    let mode = if cx.dry_run { " (dry run: nothing is changed)" } else { "" };
    let _ = writeln!(w, "Plan: renew the leaf certificates and kubeconfigs of tenant {}/{}{mode}", plan.namespace, plan.tenant);
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
        let _ = writeln!(w, "  Kamaji controller running since {started}: leaves it issues now expire on {until}");
    }
    let _ = writeln!(w, "  Mechanism: {}: {}", plan.mechanism.word(), plan.mechanism_reason);
    if let Some(r) = &plan.resume {
        let _ = writeln!(w, "  Resuming: a renewal started {} got through step {}", r.started_at, r.done);
    }

    let _ = writeln!(w, "\nSecrets of the tenant in {}:", plan.namespace);
    let mut t = Table::new(["secret", "kind", "not after", "action", "why"]);
    for s in &plan.secrets {
        let action = match (s.action, s.already_renewed) {
            (Action::Renew, true) => "renew (done)".to_string(),
            (Action::Renew, false) => plan.mechanism.word().to_string(),
            (Action::Keep, _) => "keep".into(),
        };
        t.push(vec![
            s.name.clone(),
            s.kind.map_or_else(|| "-".into(), |k| k.word().into()),
            s.not_after.map_or_else(|| "-".into(), |t| t.to_string()),
            action,
            s.reason.clone(),
        ]);
    }
    indent(w, &t.render());

    let renewing: Vec<&str> = plan.renewing().map(|s| s.name.as_str()).collect();
    let _ = writeln!(w, "\nSteps:");
    let _ = writeln!(w, "  1. check {} permission(s) with SelfSubjectAccessReviews; take Lease {}", cx.needs, cx.lease);
    let _ = writeln!(w, "  2. back up {} secret(s) to {} (mode 0600) before any change", renewing.len(), cx.backup_target);
    if plan.kamaji.pods.is_empty() {
        let _ = writeln!(w, "  3. restart the Kamaji controller: no pods found, skipped (the renewed leaves keep its horizon)");
    } else {
        let _ = writeln!(
            w,
            "  3. restart the Kamaji controller (it dates what it issues from its start): delete pod(s) {} in {}, wait for new ones Ready",
            plan.kamaji.pods.join(", "),
            plan.kamaji.namespace
        );
    }
    let how = match plan.mechanism {
        Mechanism::Annotate => "annotate certs.kamaji.clastix.io/rotate=\"\" on",
        Mechanism::Delete => "delete (while it holds what the backup holds)",
    };
    let _ = writeln!(w, "  4. {how}: {}", if renewing.is_empty() { "nothing".into() } else { renewing.join(", ") });
    let _ = writeln!(
        w,
        "  5. wait until each holds certificates with a new serial, from the unchanged CA, expiring later and at least a year from the run{} (timeout {}){}",
        plan.renewed_until.map_or_else(String::new, |t| format!(" (about {t})")),
        cx.timeout,
        cx.write_kubeconfig.as_ref().map_or_else(String::new, |f| format!("; write the renewed admin.conf to {f} (0600)"))
    );
    if plan.workloads.is_empty() {
        let _ = writeln!(w, "  6. consumers of the renewed secrets: none found");
    } else {
        let _ = writeln!(w, "  6. rollout restart and wait for:");
        let mut t = Table::new(["deployment", "action", "why"]);
        for wl in &plan.workloads {
            t.push(vec![wl.name.clone(), wl.action.word().into(), wl.reasons.join("; ")]);
        }
        for line in t.render().lines() {
            let _ = writeln!(w, "     {}", line.trim_end());
        }
    }
    let _ = writeln!(
        w,
        "  7. live check: a TLS handshake with the tenant API{} must show the renewed {} (retried until timeout {}); not reachable from here within {}s: reported as skipped, not passed",
        cx.dialled_at(),
        names::secret_name(&plan.tenant, names::API_SERVER),
        cx.timeout,
        live::REACH_BUDGET.as_secs()
    );

    let end =
        PlanEnd { blockers: &plan.blockers, warnings: &plan.warnings, notes: &plan.notes, warnings_heading: "Warnings", real_run: "renew" };
    write_end(w, cx, &end);
    clean_line(&out).into_owned()
}

fn indent(w: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(w, "  {}", line.trim_end());
    }
}

/// Human summary of a finished run (stdout, table output).
pub fn summary(report: &Report) -> String {
    let mut out = format!(
        "Renewed {} secret(s) of tenant {}/{} in {}.\n",
        report.renewed.len(),
        report.plan.namespace,
        report.plan.tenant,
        crate::duration::human_duration(jiff::SignedDuration::from_secs_f64(report.seconds))
    );
    let mut t = Table::new(["secret", "certificate", "old not after", "new not after", "new serial"]);
    for r in &report.renewed {
        for c in &r.certificates {
            t.push(vec![
                r.secret.clone(),
                c.key.clone(),
                c.old_not_after.map_or_else(|| "-".into(), |t| t.to_string()),
                c.new_not_after.to_string(),
                c.new_serial.clone(),
            ]);
        }
    }
    if !t.is_empty() {
        for line in t.render().lines() {
            out.push_str(&format!("  {}\n", line.trim_end()));
        }
    }
    out.push_str(&format!(
        "  restarted: {} Kamaji pod(s), {} workload(s) ({})\n",
        report.kamaji_pods_deleted.len(),
        report.workloads_restarted.len(),
        if report.workloads_restarted.is_empty() { "-".into() } else { report.workloads_restarted.join(", ") }
    ));
    if let Some(b) = &report.backup {
        out.push_str(&format!("  backup: {b} (holds the previous private keys: keep it safe, delete it when no longer needed)\n"));
    }
    if let Some(live) = &report.live_check {
        let word = match live.verdict {
            live::Verdict::Skipped => "skipped (NOT verified)",
            v => v.word(),
        };
        out.push_str(&format!("  live check: {word}: {}\n", clean_cell(&live.reason)));
    }
    if let Some(f) = &report.kubeconfig_written {
        out.push_str(&format!("  renewed admin kubeconfig: {f}\n"));
    }
    clean_line(&out).into_owned()
}
