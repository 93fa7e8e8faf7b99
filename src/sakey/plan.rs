//! What a `rotate-sa-key` run will do and whether it may: built from the [`Inventory`] alone
//! (no I/O), so every refusal is decided, and tested, before anything is written.
//!
//! - `stage`: a new signing key of the current key's type goes first in `sa.pub`, every key
//!   verified now stays after it; refused while `sa.pub` already holds more than one key (a
//!   stage not finished) unless it is that stage being resumed.
//! - `finish`: every public key but the signing one goes; refused before the minimum age since
//!   the stage (the longest token lifetime) unless `--force`, and when no stage time is
//!   recorded (the extra keys were added by hand) unless `--force`.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::inventory::Inventory;
use super::lifetime::MinAge;
use super::state::{Mode, SaKeyState, Step};
use super::tenant_api::LegacyToken;
use crate::duration::human_duration;

/// The flags that shape a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// `--force`: finish before the minimum age, or without a recorded stage time.
    pub force: bool,
}

/// One public key of `sa.pub` and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRow {
    pub kid: String,
    pub signing: bool,
    pub action: KeyAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAction {
    /// Stays in `sa.pub`: its tokens keep verifying.
    Keep,
    /// Removed from `sa.pub`: its tokens stop verifying.
    Remove,
}

/// The plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub mode: Mode,
    pub namespace: String,
    pub tenant: String,
    pub tcp_status: Option<String>,
    pub secret: String,
    /// `RSA-2048`, `ECDSA P-256`...: the type of the signing key (and of a new one).
    pub key_type: Option<String>,
    pub keys: Vec<KeyRow>,
    /// Nothing to change (`finish` with one key left).
    pub nothing_to_do: bool,
    pub min_age: MinAge,
    pub staged_at: Option<Timestamp>,
    /// When `--finish` may run without `--force`.
    pub finish_after: Option<Timestamp>,
    pub forced: bool,
    pub replicas: Option<usize>,
    pub pods: Vec<String>,
    /// Legacy token Secrets of the tenant: they never refresh.
    pub legacy_tokens: Vec<LegacyToken>,
    /// Why they could not be listed (then `legacy_tokens` is empty and says nothing).
    pub legacy_tokens_error: Option<String>,
    /// An unfinished run of this mode being continued.
    pub resume: Option<SaKeyState>,
    pub blockers: Vec<String>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

/// What projected tokens do, which no list can show.
pub const PROJECTED: &str = "Projected service-account tokens (every pod's, by default) are refreshed by the kubelet at 80% of their lifetime and signed by the signing key then: they cannot be listed, and they are safe once they were refreshed after the stage (at most their lifetime, capped by --service-account-max-token-expiration).";

pub fn build(inv: &Inventory, opts: &Options, now: Timestamp) -> Plan {
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let secret = crate::kamaji::names::secret_name(&inv.tenant, crate::kamaji::names::SA);
    let resume = inv.previous.clone().filter(|p| p.is_unfinished() && p.mode == opts.mode);
    if let Some(p) = inv.previous.as_ref().filter(|p| p.is_unfinished() && p.mode != opts.mode) {
        let again = if p.mode == Mode::Stage { "without --finish" } else { "with --finish" };
        blockers.push(format!(
            "an unfinished {} (reached {}) is recorded in the tenant's Lease: re-run {again} to continue it first",
            p.mode, p.done
        ));
    }
    if let Some(other) = &inv.other_run {
        blockers.push(format!("{other} is recorded in the tenant's Lease: finish it first"));
    }
    if resume.is_none() && inv.tcp_status.as_deref() != Some("Ready") {
        blockers.push(format!("the TenantControlPlane is {}, not Ready", inv.tcp_status.as_deref().unwrap_or("without a status")));
    }
    let (mut keys, mut key_type, mut nothing_to_do) = (Vec::new(), None, false);
    match &inv.keys {
        Err(e) => blockers.push(e.clone()),
        Ok(k) => {
            key_type = Some(k.signing.kind.to_string());
            let signing = &k.signing.public.kid;
            if k.public.first().map(|p| &p.kid) != Some(signing) {
                blockers.push(format!(
                    "the first key of sa.pub is not sa.key's public key: Kamaji would regenerate the secret (a new key, every token broken); fix {secret} first"
                ));
            }
            let resuming_write = resume.as_ref().is_some_and(|r| r.done >= Step::Backup && &r.new_kid == signing);
            for p in &k.public {
                let action = match opts.mode {
                    Mode::Finish if &p.kid != signing => KeyAction::Remove,
                    _ => KeyAction::Keep,
                };
                keys.push(KeyRow { kid: p.kid.clone(), signing: &p.kid == signing, action });
            }
            match opts.mode {
                Mode::Stage if k.public.len() > 1 && !resuming_write => blockers.push(format!(
                    "sa.pub already holds {} keys: a stage is not finished; run --finish first (after its minimum age)",
                    k.public.len()
                )),
                Mode::Finish if k.public.len() == 1 && resume.is_none() => nothing_to_do = true,
                _ => {}
            }
        }
    }
    let staged_at = inv.previous.as_ref().filter(|p| p.mode == Mode::Stage || p.staged_at.is_some()).and_then(|p| p.staged_at);
    let finish_after = staged_at.and_then(|t| t.checked_add(inv.min_age.duration()).ok());
    if opts.mode == Mode::Finish && !nothing_to_do && resume.is_none() {
        match finish_after {
            None if opts.force => warnings.push(
                "--force: no stage time is recorded in the tenant's Lease; tokens signed by the removed keys stop working now".into(),
            ),
            None => blockers.push(
                "no stage time is recorded in the tenant's Lease (the extra keys were not added by rotate-sa-key): --force to remove them anyway".into(),
            ),
            Some(after) if after > now && opts.force => warnings.push(format!(
                "--force: the stage is only {} old, the minimum age is {}: tokens signed by the removed keys that were not refreshed since stop working now",
                age(staged_at, now),
                inv.min_age.describe()
            )),
            Some(after) if after > now => blockers.push(format!(
                "refused: the stage is {} old, the minimum age is {}; tokens signed by the old key may still be in use until {after} (--force to finish anyway)",
                age(staged_at, now),
                inv.min_age.describe()
            )),
            Some(_) => notes.push(format!("the stage is {} old, past the minimum age {}", age(staged_at, now), inv.min_age.describe())),
        }
    }
    let (replicas, pods) = match &inv.deployment {
        None => {
            blockers
                .push(format!("no tenant Deployment {}/{}: nothing runs the tenant kube-apiserver to restart", inv.namespace, inv.tenant));
            (None, Vec::new())
        }
        Some((replicas, _)) => {
            if *replicas < 2 {
                warnings.push(format!("the tenant Deployment has {replicas} replica(s): the tenant API is down while its pod is replaced"));
            }
            (Some(*replicas), inv.pods.clone())
        }
    };
    if inv.admin_conf.is_none() {
        blockers.push("the tenant's admin kubeconfig has no admin.conf: the live tenant API cannot be checked".into());
    }
    notes.push(PROJECTED.into());
    Plan {
        mode: opts.mode,
        namespace: inv.namespace.clone(),
        tenant: inv.tenant.clone(),
        tcp_status: inv.tcp_status.clone(),
        secret,
        key_type,
        keys,
        nothing_to_do,
        min_age: inv.min_age.clone(),
        staged_at,
        finish_after,
        forced: opts.force && warnings.iter().any(|w| w.starts_with("--force")),
        replicas,
        pods,
        legacy_tokens: inv.legacy_tokens.clone().unwrap_or_default(),
        legacy_tokens_error: inv.legacy_tokens.clone().err(),
        resume,
        blockers,
        warnings,
        notes,
    }
}

fn age(since: Option<Timestamp>, now: Timestamp) -> String {
    since.map_or_else(|| "?".into(), |t| human_duration(now.duration_since(t).max(SignedDuration::ZERO)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::key::KeyKind;
    use crate::sakey::inventory::Keys;
    use crate::sakey::keys::{SigningKey, public_keys, staged_bundle};
    use k8s_openapi::api::core::v1::Secret;

    const NOW: &str = "2026-12-01T12:00:00Z";

    fn keys(n: usize) -> (Keys, Vec<String>) {
        let signing = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let mut others = Vec::new();
        for _ in 1..n {
            others.push(SigningKey::generate(KeyKind::EcdsaP256).unwrap().public);
        }
        let bundle = if others.is_empty() { signing.public.pem() } else { staged_bundle(&signing.public, &others, &signing.public) };
        let public = public_keys(bundle.as_bytes()).unwrap();
        let kids = public.iter().map(|k| k.kid.clone()).collect();
        (Keys { public, signing, secret: Secret::default() }, kids)
    }

    fn inventory(n: usize, staged_hours_ago: Option<i64>) -> Inventory {
        let now: Timestamp = NOW.parse().unwrap();
        let (k, kids) = keys(n);
        Inventory {
            namespace: "tenant-root".into(),
            tenant: "kubernetes-demo".into(),
            tenant_uid: Some("uid".into()),
            tcp_status: Some("Ready".into()),
            previous: staged_hours_ago.map(|h| SaKeyState {
                mode: Mode::Stage,
                done: Step::Verify,
                started_at: now - SignedDuration::from_hours(h),
                old_kid: kids.last().cloned().unwrap_or_default(),
                new_kid: kids[0].clone(),
                staged_at: Some(now - SignedDuration::from_hours(h)),
                backup: None,
                tenant_uid: Some("uid".into()),
                completed_at: Some(now - SignedDuration::from_hours(h)),
            }),
            keys: Ok(k),
            deployment: Some((2, Some("app=x".into()))),
            pods: vec!["p1".into(), "p2".into()],
            min_age: super::super::lifetime::from_args(&["--service-account-max-token-expiration=48h".into()]),
            admin_conf: Some(b"conf".to_vec()),
            legacy_tokens: Ok(vec![]),
            other_run: None,
            read_at: now,
        }
    }

    fn plan(inv: &Inventory, mode: Mode, force: bool) -> Plan {
        build(inv, &Options { mode, force }, NOW.parse().unwrap())
    }

    #[test]
    fn a_stage_keeps_every_key_and_is_refused_over_an_unfinished_one() {
        let p = plan(&inventory(1, None), Mode::Stage, false);
        assert!(p.blockers.is_empty(), "{:?}", p.blockers);
        assert_eq!(p.keys.iter().map(|k| (k.signing, k.action)).collect::<Vec<_>>(), vec![(true, KeyAction::Keep)]);
        assert!(p.notes.iter().any(|n| n.contains("80%")));
        let p = plan(&inventory(2, Some(1)), Mode::Stage, false);
        assert!(p.blockers.iter().any(|b| b.contains("run --finish first")), "{:?}", p.blockers);
    }

    #[test]
    fn finish_waits_the_minimum_age_unless_forced() {
        let p = plan(&inventory(2, Some(1)), Mode::Finish, false);
        assert!(p.blockers.iter().any(|b| b.starts_with("refused: the stage is 60m old") && b.contains("48h")), "{:?}", p.blockers);
        assert_eq!(p.keys.iter().map(|k| k.action).collect::<Vec<_>>(), vec![KeyAction::Keep, KeyAction::Remove]);
        let p = plan(&inventory(2, Some(1)), Mode::Finish, true);
        assert!(p.blockers.is_empty() && p.forced, "{:?}", p.blockers);
        assert!(p.warnings.iter().any(|w| w.starts_with("--force: the stage is only")), "{:?}", p.warnings);
        let p = plan(&inventory(2, Some(49)), Mode::Finish, false);
        assert!(p.blockers.is_empty() && !p.forced, "{:?}", p.blockers);
    }

    #[test]
    fn finish_without_a_recorded_stage_needs_force_and_one_key_is_nothing_to_do() {
        let p = plan(&inventory(2, None), Mode::Finish, false);
        assert!(p.blockers.iter().any(|b| b.contains("no stage time is recorded")), "{:?}", p.blockers);
        let p = plan(&inventory(1, Some(100)), Mode::Finish, false);
        assert!(p.nothing_to_do && p.blockers.is_empty(), "{:?}", p.blockers);
    }

    #[test]
    fn other_runs_a_missing_deployment_and_a_wrong_first_key_refuse() {
        let mut inv = inventory(1, None);
        inv.other_run = Some("an unfinished rotate-ca".into());
        inv.deployment = None;
        inv.tcp_status = Some("NotReady".into());
        let p = plan(&inv, Mode::Stage, false);
        assert_eq!(p.blockers.len(), 3, "{:?}", p.blockers);
        let mut inv = inventory(2, None);
        if let Ok(k) = &mut inv.keys {
            k.public.reverse();
        }
        let p = plan(&inv, Mode::Finish, true);
        assert!(p.blockers.iter().any(|b| b.contains("not sa.key's public key")), "{:?}", p.blockers);
    }
}
