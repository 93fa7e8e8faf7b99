//! The human text of `rotate-sa-key`: the plan (dry run) and the summary of a real run. Every
//! string that comes from the cluster is escaped before it reaches a terminal. No I/O.

use std::fmt::Write;

use super::plan::{KeyAction, Plan};
use super::report::Report;
use super::state::Mode;
use crate::duration::human_duration;
use crate::output::{Table, clean_cell, clean_line};
use crate::steps::plan_text::{PlanContext, PlanEnd, write_end};

fn indent(w: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(w, "  {line}");
    }
}

pub fn plan_text(plan: &Plan, cx: &PlanContext<'_>) -> String {
    let mut out = String::new();
    let w = &mut out;
    let dry = if cx.dry_run { " (dry run: nothing is changed)" } else { "" };
    let what = match plan.mode {
        Mode::Stage => "stage a new service-account signing key, keeping every current key (every token stays valid)",
        Mode::Finish => "finish the service-account key rotation: remove every public key but the signing one",
    };
    let _ = writeln!(w, "Plan: {what} of tenant {}/{}{dry}", plan.namespace, plan.tenant);
    let _ = writeln!(w, "  TenantControlPlane status: {}", clean_cell(plan.tcp_status.as_deref().unwrap_or("unknown")));
    let _ = writeln!(w, "  Secret: {} (key type {})", plan.secret, plan.key_type.as_deref().unwrap_or("unknown"));
    let _ = writeln!(w, "  Minimum age before --finish: {}", clean_line(&plan.min_age.describe()));
    match (plan.staged_at, plan.finish_after) {
        (Some(at), Some(after)) => {
            let _ = writeln!(w, "  Staged at {at}: --finish without --force from {after}");
        }
        _ if plan.mode == Mode::Finish => {
            let _ = writeln!(w, "  Staged at: not recorded in the tenant's Lease");
        }
        _ => {}
    }
    if plan.forced {
        let _ = writeln!(w, "  FORCED (--force): the minimum age is not waited for; tokens signed by the removed keys stop working NOW");
    }
    if let Some(r) = &plan.resume {
        let _ = writeln!(w, "  Resuming: a {} begun at {} reached step {}", r.mode, r.started_at, r.done);
    }

    let _ = writeln!(w, "\nKeys in sa.pub:");
    let mut t = Table::new(["kid", "role", "action"]);
    for k in &plan.keys {
        let role = if k.signing { "signing (sa.key)" } else { "verifying only" };
        let action = match (plan.mode, k.action) {
            (_, KeyAction::Remove) => "remove: its tokens stop authenticating",
            (Mode::Stage, _) if k.signing => "keep (verifies; the new key signs)",
            _ => "keep",
        };
        t.push(vec![k.kid.clone(), role.into(), action.into()]);
    }
    if plan.mode == Mode::Stage {
        let kind = plan.key_type.as_deref().unwrap_or("same type");
        t.push(vec!["<new>".into(), format!("new signing key ({kind})"), "add first: signs every new token".into()]);
    }
    indent(w, &t.render());

    let _ = writeln!(w, "\nTokens that break at --finish:");
    match plan.legacy_tokens_error.as_ref().map_or(Ok(&plan.legacy_tokens), Err) {
        Ok(list) if list.is_empty() => {
            let _ = writeln!(w, "  legacy token Secrets (never refreshed): none in the tenant");
        }
        Ok(list) => {
            let _ =
                writeln!(w, "  legacy token Secrets (never refreshed; they stop working at --finish unless re-created after the stage):");
            let mut t = Table::new(["namespace", "serviceaccount", "secret"]);
            for l in list {
                t.push(vec![l.namespace.clone(), l.account.clone(), l.secret.clone()]);
            }
            indent(w, &t.render());
        }
        Err(e) => {
            let _ = writeln!(w, "  legacy token Secrets: cannot be listed: {}", clean_line(e));
        }
    }
    let _ = writeln!(w, "  {}", super::plan::PROJECTED);
    let _ =
        writeln!(w, "  Tokens kept outside the cluster (CI systems, kubeconfigs with a token) cannot be known: they break at --finish.");

    let _ = writeln!(w, "\nSteps:");
    let _ = writeln!(w, "  1. check {} permission(s) with SelfSubjectAccessReviews; take Lease {}", cx.needs, cx.lease);
    let _ = writeln!(w, "  2. back up {} to {} (mode 0600) before any change", plan.secret, cx.backup_target);
    let _ = writeln!(
        w,
        "  3. mint a token of kube-system/{} from the live tenant API (through the admin kubeconfig){}",
        super::tenant_api::PROBE_ACCOUNT,
        cx.dialled_at()
    );
    match plan.mode {
        Mode::Stage => {
            let _ = writeln!(
                w,
                "  4. write sa.key = a new key, sa.pub = the new public key + the {} key(s) now in it; record the stage time in the Lease",
                plan.keys.len()
            );
        }
        Mode::Finish => {
            let removed = plan.keys.iter().filter(|k| k.action == KeyAction::Remove).count();
            let _ = writeln!(w, "  4. write sa.pub = the signing key alone ({removed} key(s) removed)");
        }
    }
    let _ = writeln!(
        w,
        "  5. replace the tenant control-plane pods one at a time ({}; {} replica(s)), each replacement Ready before the next (timeout {})",
        if plan.pods.is_empty() {
            "none found".into()
        } else {
            plan.pods.iter().map(|p| clean_cell(p).into_owned()).collect::<Vec<_>>().join(", ")
        },
        plan.replicas.map_or_else(|| "?".into(), |r| r.to_string()),
        cx.timeout
    );
    match plan.mode {
        Mode::Stage => {
            let _ = writeln!(
                w,
                "  6. verify on the live tenant API: its JWKS lists the new key and every old one, a new token is signed by the new key, the token of step 3 still authenticates; Kamaji kept the secret; the TCP is Ready"
            );
        }
        Mode::Finish => {
            let _ = writeln!(
                w,
                "  6. verify on the live tenant API: its JWKS lists the signing key alone (old tokens no longer authenticate), a new token and the token of step 3 authenticate; the TCP is Ready"
            );
        }
    }
    // The projection is said above, with the tokens it concerns.
    let notes: Vec<String> = plan.notes.iter().filter(|n| n.as_str() != super::plan::PROJECTED).cloned().collect();
    let end = PlanEnd {
        blockers: &plan.blockers,
        warnings: &plan.warnings,
        notes: &notes,
        warnings_heading: "Warnings",
        real_run: match plan.mode {
            Mode::Stage => "stage the new key",
            Mode::Finish => "finish the rotation",
        },
    };
    write_end(w, cx, &end);
    out
}

/// The summary of a real run.
pub fn summary(r: &Report) -> String {
    let mut out = String::new();
    let w = &mut out;
    let p = &r.plan;
    let took = human_duration(jiff::SignedDuration::from_secs_f64(r.seconds));
    match p.mode {
        Mode::Stage => {
            let _ = writeln!(w, "Staged a new service-account key for tenant {}/{} in {took}.", p.namespace, p.tenant);
        }
        Mode::Finish => {
            let _ = writeln!(w, "Finished the service-account key rotation of tenant {}/{} in {took}.", p.namespace, p.tenant);
        }
    }
    let _ =
        writeln!(w, "  signing key: {} -> {}", r.old_signing_kid.as_deref().unwrap_or("?"), r.new_signing_kid.as_deref().unwrap_or("?"));
    let _ = writeln!(w, "  sa.pub kids: {} -> {}", r.kids_before.join(", "), r.kids_after.join(", "));
    let v = &r.verification;
    let _ = writeln!(w, "  tenant API {}: verifies with {}", v.endpoint.as_deref().unwrap_or("?"), v.verifying_kids.join(", "));
    let _ = writeln!(
        w,
        "  token minted before: {}; token minted after: kid {}, signature by the signing key {}, {}",
        v.token_before.as_ref().map_or_else(|| "not minted by this run".into(), |x| clean_line(&format!("{x:?}")).into_owned()),
        v.token_after_kid.as_deref().unwrap_or("?"),
        v.token_after_signed_by_signing_key.map_or("?", |b| if b { "verified" } else { "NOT verified" }),
        v.token_after.as_ref().map_or_else(|| "?".into(), |x| clean_line(&format!("{x:?}")).into_owned())
    );
    if !r.pods_replaced.is_empty() {
        let _ = writeln!(
            w,
            "  pods replaced one at a time: {}",
            r.pods_replaced.iter().map(|p| clean_cell(p).into_owned()).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(b) = &r.backup {
        let _ = writeln!(w, "  backup: {b} (holds the previous private key: keep it safe, delete it when no longer needed)");
    }
    if p.mode == Mode::Stage
        && let Some(at) = r.staged_at.or(p.staged_at)
    {
        let after = at.checked_add(p.min_age.duration()).map(|t| t.to_string()).unwrap_or_default();
        let _ = writeln!(
            w,
            "  next: kubectl pki rotate-sa-key {} -n {} --finish --dry-run=false, from {after} (minimum age {})",
            p.tenant,
            p.namespace,
            clean_line(&p.min_age.describe())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sakey::lifetime::MinAge;
    use crate::sakey::plan::KeyRow;
    use crate::sakey::tenant_api::LegacyToken;

    fn plan(mode: Mode) -> Plan {
        Plan {
            mode,
            namespace: "tenant-root".into(),
            tenant: "kubernetes-demo".into(),
            tcp_status: Some("Ready\u{1b}[2J".into()),
            secret: "kubernetes-demo-sa-certificate".into(),
            key_type: Some("RSA-2048".into()),
            keys: vec![
                KeyRow { kid: "new".into(), signing: true, action: KeyAction::Keep },
                KeyRow { kid: "old".into(), signing: false, action: KeyAction::Remove },
            ],
            nothing_to_do: false,
            min_age: MinAge::Default { seconds: 86400, why: "not set".into() },
            staged_at: None,
            finish_after: None,
            forced: true,
            replicas: Some(2),
            pods: vec!["p1".into()],
            legacy_tokens: vec![LegacyToken {
                namespace: "kube-system".into(),
                account: "bot\u{1b}]0;x\u{7}".into(),
                secret: "bot-token".into(),
            }],
            legacy_tokens_error: None,
            resume: None,
            blockers: vec![],
            warnings: vec![],
            notes: vec![],
        }
    }

    fn cx() -> PlanContext<'static> {
        PlanContext {
            dry_run: true,
            backup_target: "./b.yaml".into(),
            lease: "ns/l".into(),
            timeout: "10m".into(),
            missing: &[],
            needs: 9,
            lock_holder: None,
            write_kubeconfig: None,
            tenant_endpoint: None,
        }
    }

    #[test]
    fn a_forced_finish_says_so_and_cluster_strings_are_escaped() {
        let text = plan_text(&plan(Mode::Finish), &cx());
        assert!(text.contains("FORCED (--force)"), "{text}");
        assert!(text.contains("remove: its tokens stop authenticating"), "{text}");
        assert!(text.contains("legacy token Secrets (never refreshed; they stop working at --finish"), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "escaped: {text:?}");
    }

    #[test]
    fn a_stage_shows_the_new_key_first_and_what_cannot_be_listed() {
        let mut p = plan(Mode::Stage);
        p.legacy_tokens_error = Some("tenant API unreachable".into());
        let text = plan_text(&p, &cx());
        assert!(text.contains("<new>") && text.contains("add first: signs every new token"), "{text}");
        assert!(text.contains("cannot be listed: tenant API unreachable"), "{text}");
        assert!(text.contains("80% of their lifetime"), "{text}");
    }
}
