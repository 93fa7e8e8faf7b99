//! `kubectl pki restore BACKUP`: puts the Secrets of a `rotate-ca` backup
//! back, creating missing ones and replacing changed ones. An ownerReference
//! is kept only if that owner (same UID) still exists: a Secret owned by a
//! deleted object would be garbage-collected right after the restore.
//!
//! No clap types: the command layer (`crate::commands::restore`) passes the plain values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DynamicObject, GroupVersionKind, PostParams};
use kube::discovery::{self, Scope};
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{Error, Outcome, Result};
use crate::kamaji::names;
use crate::output::{self, OutputFormat, Table, serde_name};
use crate::rbac::{self, Need};
use crate::rotate::backup::{self, data_hash};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Replace,
    Unchanged,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub namespace: String,
    pub name: String,
    pub action: Action,
    pub notes: Vec<String>,
    /// `created`, `replaced`, `unchanged`, `would <action>` (dry run) or the error.
    pub result: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    backup: String,
    dry_run: bool,
    secrets: &'a [Row],
}

/// What to do with one backed-up secret given what the cluster holds.
pub fn decide(backup: &Secret, current: Option<&Secret>) -> Action {
    match current {
        None => Action::Create,
        Some(c)
            if data_hash(c) == data_hash(backup)
                && c.type_ == backup.type_
                && c.metadata.labels == backup.metadata.labels
                && c.metadata.annotations == backup.metadata.annotations =>
        {
            Action::Unchanged
        }
        Some(_) => Action::Replace,
    }
}

/// Drops a pending rotate request (`certs.kamaji.clastix.io/rotate=""`):
/// restoring it would rotate the CA again at once.
pub fn strip_pending_rotation(secret: &mut Secret) -> Option<String> {
    let annotations = secret.metadata.annotations.as_mut()?;
    if annotations.get(names::ANNOTATION_ROTATE).is_some_and(|v| v.is_empty()) {
        annotations.remove(names::ANNOTATION_ROTATE);
        return Some(format!("dropped the pending {}=\"\" annotation", names::ANNOTATION_ROTATE));
    }
    None
}

/// A `restore` run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A backup file written by rotate-ca, or a directory holding one.
    pub backup: PathBuf,
    /// Show what would be restored, changing nothing.
    pub dry_run: bool,
    pub format: OutputFormat,
}

pub async fn run(args: &Options, ctx: &Ctx) -> Result<Outcome> {
    let secrets = backup::read(&args.backup)?;
    if secrets.is_empty() {
        return Err(Error::file(&args.backup, "the backup holds no secrets"));
    }
    let client = ctx.client().await?;
    let default_ns = ctx.namespace().await?;
    let namespace_of = |s: &Secret| s.metadata.namespace.clone().unwrap_or_else(|| default_ns.clone());

    let mut needs = Vec::new();
    for s in &secrets {
        let ns = namespace_of(s);
        needs.push(Need::new("get", "", "secrets", &ns, "compare with the backup"));
        if !args.dry_run {
            needs.push(Need::new("create", "", "secrets", &ns, "recreate deleted secrets"));
            needs.push(Need::new("update", "", "secrets", &ns, "replace changed secrets"));
        }
    }
    let missing = match rbac::missing(&client, &rbac::dedup(needs)).await {
        Ok(m) => m,
        Err(e) => return Err(ctx.api_error(e).await),
    };
    if !missing.is_empty() {
        return Err(rbac::refusal(&missing, "restore"));
    }

    let mut rows = Vec::new();
    let mut owners: BTreeMap<String, Option<bool>> = BTreeMap::new();
    let mut failed = false;
    for mut secret in secrets {
        let ns = namespace_of(&secret);
        let name = secret.metadata.name.clone().ok_or_else(|| Error::file(&args.backup, "a secret without a name"))?;
        secret.metadata.namespace = Some(ns.clone());
        let mut notes = Vec::new();
        notes.extend(strip_pending_rotation(&mut secret));
        let refs = secret.metadata.owner_references.take().unwrap_or_default();
        let mut kept = Vec::new();
        for r in refs {
            let key = format!("{ns}/{}/{}/{}", r.kind, r.name, r.uid);
            let exists = match owners.get(&key) {
                Some(v) => *v,
                None => {
                    let v = owner_exists(&client, &ns, &r).await;
                    owners.insert(key, v);
                    v
                }
            };
            match exists {
                Some(true) => kept.push(r),
                Some(false) => {
                    notes.push(format!("ownerReference to {} {} dropped: that owner (uid {}) no longer exists", r.kind, r.name, r.uid))
                }
                None => notes.push(format!("ownerReference to {} {} dropped: could not check that it still exists", r.kind, r.name)),
            }
        }
        secret.metadata.owner_references = (!kept.is_empty()).then_some(kept);
        let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let current = api.get_opt(&name).await.map_err(Error::kube)?;
        let action = decide(&secret, current.as_ref());
        let result = if args.dry_run {
            match action {
                Action::Unchanged => serde_name(&action).into(),
                Action::Create | Action::Replace => format!("would {}", serde_name(&action)),
            }
        } else {
            match apply(&api, &name, secret, current, action).await {
                Ok(r) => r.into(),
                Err(e) => {
                    failed = true;
                    format!("error: {e}")
                }
            }
        };
        rows.push(Row { namespace: ns, name, action, notes, result });
    }

    let report = Report { backup: args.backup.display().to_string(), dry_run: args.dry_run, secrets: &rows };
    let mut human = false;
    output::emit(args.format, &report, |_| {
        human = true;
        let mut t = Table::new(["namespace", "secret", "action", "result", "notes"]);
        for r in &rows {
            t.push(vec![r.namespace.clone(), r.name.clone(), serde_name(&r.action).into(), r.result.clone(), r.notes.join("; ")]);
        }
        Some(t.render())
    })?;
    if human {
        if args.dry_run {
            eprintln!("Dry run: nothing was changed. Run again without --dry-run to restore.");
        } else {
            eprintln!(
                "Restored. Pods that loaded the rotated material still hold it: restart the Kamaji controller and the workloads that mount these secrets."
            );
        }
    }
    if failed {
        return Err(Error::Client("some secrets could not be restored (see the table)".into()));
    }
    Ok(Outcome::Ok)
}

async fn apply(api: &Api<Secret>, name: &str, mut secret: Secret, current: Option<Secret>, action: Action) -> Result<&'static str> {
    match (action, current) {
        (Action::Unchanged, _) => Ok("unchanged"),
        (Action::Create, _) | (_, None) => {
            api.create(&PostParams::default(), &secret).await.map_err(Error::kube)?;
            Ok("created")
        }
        (Action::Replace, Some(mut current)) => {
            // Kamaji rewrites secrets that disagree with the CA while we restore them one by
            // one: on a conflict, take the fresh resourceVersion and put the backup back again.
            let finalizers = secret.metadata.finalizers.take();
            for _ in 0..CONFLICT_RETRIES {
                secret.metadata.resource_version = current.metadata.resource_version.clone();
                // The finalizers of the live object stay with it.
                secret.metadata.finalizers = current.metadata.finalizers.clone().or_else(|| finalizers.clone());
                match api.replace(name, &PostParams::default(), &secret).await {
                    Ok(_) => return Ok("replaced"),
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => return Err(Error::kube(e)),
                }
                match api.get_opt(name).await.map_err(Error::kube)? {
                    Some(fresh) => current = fresh,
                    None => {
                        secret.metadata.resource_version = None;
                        api.create(&PostParams::default(), &secret).await.map_err(Error::kube)?;
                        return Ok("created");
                    }
                }
            }
            Err(Error::Client(format!("{name} kept changing while it was restored ({CONFLICT_RETRIES} conflicts)")))
        }
    }
}

const CONFLICT_RETRIES: usize = 10;

/// Whether the owner still exists with the same UID; `None` if that cannot
/// be told (unknown kind, no permission).
async fn owner_exists(client: &kube::Client, namespace: &str, r: &OwnerReference) -> Option<bool> {
    let (group, version) = match r.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), r.api_version.clone()),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, &r.kind);
    let (ar, caps) = discovery::pinned_kind(client, &gvk).await.ok()?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => Api::namespaced_with(client.clone(), namespace, &ar),
        Scope::Cluster => Api::all_with(client.clone(), &ar),
    };
    match api.get_opt(&r.name).await {
        Ok(Some(obj)) => Some(obj.metadata.uid.as_deref() == Some(r.uid.as_str())),
        Ok(None) => Some(false),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;

    fn secret(value: &[u8], annotations: &[(&str, &str)]) -> Secret {
        let mut s = Secret::default();
        s.metadata.name = Some("t-ca".into());
        s.data = Some([("ca.crt".to_string(), ByteString(value.to_vec()))].into());
        if !annotations.is_empty() {
            s.metadata.annotations = Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        }
        s
    }

    #[test]
    fn decides_create_replace_unchanged() {
        let b = secret(b"old", &[]);
        assert_eq!(decide(&b, None), Action::Create);
        assert_eq!(decide(&b, Some(&secret(b"new", &[]))), Action::Replace);
        assert_eq!(decide(&b, Some(&secret(b"old", &[]))), Action::Unchanged);
        assert_eq!(decide(&b, Some(&secret(b"old", &[("x", "y")]))), Action::Replace);
    }

    #[test]
    fn a_pending_rotation_is_not_restored() {
        let mut s = secret(b"x", &[(names::ANNOTATION_ROTATE, ""), ("keep", "me")]);
        assert!(strip_pending_rotation(&mut s).is_some());
        let a = s.metadata.annotations.unwrap();
        assert!(!a.contains_key(names::ANNOTATION_ROTATE) && a.contains_key("keep"));
        let mut done = secret(b"x", &[(names::ANNOTATION_ROTATE, "2026-11-27T10:00:00Z")]);
        assert!(strip_pending_rotation(&mut done).is_none());
        assert!(done.metadata.annotations.unwrap().contains_key(names::ANNOTATION_ROTATE));
    }
}
