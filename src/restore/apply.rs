//! One write of a restore: the secret is read again just before it is
//! written, and replaced with that read's resourceVersion, once. A conflict
//! (someone wrote it in between) or any refusal is that secret's failure,
//! reported, never retried: the operator re-runs the restore after looking.
//! The Lease is checked before the write. No clap types, no printing.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::plan::{Action, decide};
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::rotate::backup::data_hash;

/// What one write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
    /// The cluster already held the backup's version when it was read again.
    Unchanged,
}

impl Written {
    pub fn word(&self) -> &'static str {
        match self {
            Written::Created => "created",
            Written::Replaced => "replaced",
            Written::Unchanged => "unchanged",
        }
    }
}

/// Puts `secret` (the backup's version, prepared) in place of what the
/// cluster holds now. `planned` is what the plan read (and the pre-restore
/// backup saved): a version read now that differs from it gets a note.
pub async fn write(
    api: &Api<Secret>,
    lock: &Lock,
    name: &str,
    mut secret: Secret,
    planned: Option<&Secret>,
) -> Result<(Written, Option<String>)> {
    lock.check()?;
    let fresh = api.get_opt(name).await.map_err(Error::kube)?;
    let changed = match (&fresh, planned) {
        (None, None) => false,
        (Some(f), Some(p)) => data_hash(f) != data_hash(p),
        _ => true,
    };
    let note = changed.then(|| "changed since the plan (Kamaji re-issues secrets that disagree with a restored CA); this version was read just before the write and is not in the pre-restore backup".to_string());
    lock.check()?;
    match fresh {
        Some(f) if decide(&secret, Some(&f)) == Action::Unchanged => Ok((Written::Unchanged, note)),
        None => {
            secret.metadata.resource_version = None;
            api.create(&PostParams::default(), &secret).await.map_err(|e| conflict(e, "it was created by someone else meanwhile"))?;
            Ok((Written::Created, note))
        }
        Some(f) => {
            secret.metadata.resource_version = f.metadata.resource_version.clone();
            // The finalizers of the live object stay with it.
            if f.metadata.finalizers.is_some() {
                secret.metadata.finalizers = f.metadata.finalizers.clone();
            }
            api.replace(name, &PostParams::default(), &secret)
                .await
                .map_err(|e| conflict(e, "it changed between the read and the write; run the restore again"))?;
            Ok((Written::Replaced, note))
        }
    }
}

fn conflict(err: kube::Error, why: &str) -> Error {
    let err = Error::kube(err);
    if err.is_conflict() || err.api_reason() == Some(&crate::error::Reason::AlreadyExists) {
        return Error::Invalid(format!("conflict: {why}"));
    }
    err
}
