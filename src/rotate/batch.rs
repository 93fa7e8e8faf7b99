//! Several tenants in one `rotate-ca`: every tenant is planned and checked
//! (permissions, blockers, locks) before the first write, so a typo or a
//! locked tenant refuses the whole batch with nothing changed. Then up to
//! `--parallel` rotations run at once, each with its own Lease, backup and
//! report; after a failure no further tenant starts (a broken Kamaji would
//! break every one of them), and the error names the tenants left to re-run.
//! No clap types, no `-o` switch; no printing except through [`Display`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use super::kamaji_restart::KamajiRestarts;
use super::report::{Report, ReportList, RunResult};
use super::{Common, Doc, Prepared, Ran, dry_run as plan_one, execute, readiness};
use crate::error::{Error, Outcome, Result};
use crate::output::Table;
use crate::steps::Display;

/// Every tenant's plan; exit 3 when any real run would refuse.
pub async fn dry_run(client: &kube::Client, prepared: &[Prepared], common: &Common) -> Result<Ran> {
    let mut reports = Vec::new();
    let mut texts = Vec::new();
    let mut refused = Vec::new();
    for p in prepared {
        let dry = plan_one(client, p, common).await?;
        if !dry.clean {
            refused.push(p.tenant.clone());
        }
        reports.push(dry.report);
        texts.push(dry.text);
    }
    let mut text = texts.join("\n");
    text.push_str(&format!(
        "\n{} tenant(s), up to {} at a time{}.\n",
        prepared.len(),
        common.parallel.min(prepared.len()),
        if refused.is_empty() { String::new() } else { format!("; the real run would refuse: {}", refused.join(", ")) }
    ));
    let outcome = if refused.is_empty() { Outcome::Ok } else { Outcome::Warning };
    Ok(Ran { doc: Doc::List(ReportList::new(reports)), text: Some(text), result: Ok(outcome) })
}

/// The real run of every tenant.
pub async fn run(client: &kube::Client, prepared: Vec<Prepared>, common: &Common) -> Result<Ran> {
    preflight(client, &prepared, common).await?;
    let multi = Display::batch_area();
    let kamaji = Arc::new(KamajiRestarts::default());
    let stop = AtomicBool::new(false);
    Display::default().println(&format!(
        "Rotating the CA of {} tenants in {}, up to {} at a time, timeout {} per wait.",
        prepared.len(),
        common.namespace,
        common.parallel.min(prepared.len()),
        common.timeout_text
    ));
    let runs = prepared.iter().enumerate().map(|(i, p)| {
        let display = Display::for_tenant(multi.clone(), &format!("{}/{}", common.namespace, p.tenant));
        let settings = p.settings(common, display, kamaji.clone());
        let stop = &stop;
        async move {
            let mut report = Report::new(p.plan.clone(), false, p.lease());
            if stop.load(Ordering::SeqCst) {
                report.result = RunResult::NotStarted;
                report.error = Some("not started: an earlier tenant of the batch failed".into());
                return (i, report);
            }
            if let Err(e) = execute::execute(client, &p.inv, &p.plan, &settings, &mut report).await {
                stop.store(true, Ordering::SeqCst);
                // The batch's own error replaces this one: show what it denies now.
                if let Error::Forbidden { denied, .. } = &e {
                    denied.iter().for_each(|d| settings.display.println(&d.to_string()));
                }
                report.error.get_or_insert_with(|| e.to_string());
            }
            (i, report)
        }
    });
    let mut done: Vec<(usize, Report)> = futures::stream::iter(runs).buffer_unordered(common.parallel).collect().await;
    done.sort_by_key(|(i, _)| *i);
    let reports: Vec<Report> = done.into_iter().map(|(_, r)| r).collect();
    let text = Some(summary(&reports));
    let result = left_over(&reports);
    Ok(Ran { doc: Doc::List(ReportList::new(reports)), text, result })
}

/// Every run that failed or did not start carries its error: the batch
/// fails naming them.
fn left_over(reports: &[Report]) -> Result<Outcome> {
    let left: Vec<&Report> = reports.iter().filter(|r| r.error.is_some()).collect();
    if left.is_empty() {
        return Ok(Outcome::Ok);
    }
    Err(Error::Invalid(format!(
        "{} of {} tenant(s) not rotated ({}); re-run the same command with only: {}",
        left.len(),
        reports.len(),
        left.iter().map(|r| format!("{}: {}", r.plan.tenant, r.result.word())).collect::<Vec<_>>().join(", "),
        left.iter().map(|r| r.plan.tenant.as_str()).collect::<Vec<_>>().join(" ")
    )))
}

/// Refuses the whole batch, before any write, when one tenant would refuse.
async fn preflight(client: &kube::Client, prepared: &[Prepared], common: &Common) -> Result<()> {
    let mut problems = Vec::new();
    for p in prepared {
        let ready = readiness(client, p, common).await?;
        if ready.clean(p) {
            continue;
        }
        let mut why: Vec<String> = p.plan.blockers.clone();
        if !ready.missing.is_empty() {
            let missing: Vec<String> = ready.missing.iter().map(ToString::to_string).collect();
            why.push(format!("{} permission(s) missing: {}", missing.len(), missing.join("; ")));
        }
        if ready.holder.is_some() && !common.force_unlock {
            why.push(format!("Lease {} is held by another run", p.lease()));
        }
        if !why.is_empty() {
            problems.push(format!("{}: {}", p.tenant, why.join("; ")));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!("refusing to rotate {} tenant(s), nothing was changed: {}", prepared.len(), problems.join(" | "))))
}

/// The batch as a table on stdout: one row per tenant.
fn summary(reports: &[Report]) -> String {
    let mut t = Table::new(["tenant", "result", "time", "waited", "new ca", "live check", "backup"]);
    for r in reports {
        t.push(vec![
            format!("{}/{}", r.plan.namespace, r.plan.tenant),
            r.result.word().to_string(),
            format!("{:.1}s", r.seconds),
            format!("{:.1}s", r.waited_seconds),
            r.new_ca.as_ref().map_or_else(|| "-".into(), |c| c.short().to_string()),
            r.live_check.as_ref().map_or_else(|| "-".into(), |l| l.verdict.word().to_string()),
            r.backup.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut text = t.render();
    if reports.iter().any(|r| r.backup.is_some()) {
        text.push_str("The backups hold the OLD private keys: keep them safe, delete them when no longer needed.\n");
    }
    for r in reports.iter().filter(|r| r.error.is_some()) {
        text.push_str(&format!("{}: {}\n", r.plan.tenant, r.error.as_deref().unwrap_or_default()));
    }
    text
}
