//! One write of a restore, made once and never retried: a secret is
//! replaced only in the version the plan read, which is the version the
//! pre-restore backup saved (its resourceVersion makes the write a
//! compare-and-swap). Anything written in between (Kamaji re-issuing the
//! secrets a restored CA no longer signs, another client) is a conflict,
//! reported for that secret and left as it is, since the pre-restore backup
//! does not hold it: the operator runs the restore again, which saves and
//! replaces the new version. A missing secret is created; one that
//! appeared meanwhile is a conflict too. The Lease is checked before the
//! write. No clap types, no printing.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::plan::{Action, decide};
use crate::error::{Error, Reason, Result};
use crate::lock::Lock;

/// What one write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
    /// Someone else put the backup's version back meanwhile.
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

/// Puts `secret` (the backup's version, prepared) in place of `planned`,
/// the version the plan read (`None`: it did not exist).
pub async fn write(api: &Api<Secret>, lock: &Lock, name: &str, mut secret: Secret, planned: Option<&Secret>) -> Result<Written> {
    lock.check()?;
    let written = match planned {
        None => {
            secret.metadata.resource_version = None;
            api.create(&PostParams::default(), &secret).await.map(|_| Written::Created)
        }
        Some(p) => {
            secret.metadata.resource_version = p.metadata.resource_version.clone();
            // The finalizers of the live object stay with it.
            if p.metadata.finalizers.is_some() {
                secret.metadata.finalizers = p.metadata.finalizers.clone();
            }
            api.replace(name, &PostParams::default(), &secret).await.map(|_| Written::Replaced)
        }
    };
    let err = match written {
        Ok(w) => return Ok(w),
        Err(e) => Error::kube(e),
    };
    if !(err.is_conflict() || err.api_reason() == Some(&Reason::AlreadyExists)) {
        return Err(err);
    }
    // Tell "someone restored it already" from a newer version, which stays.
    match api.get_opt(name).await.map_err(Error::kube)? {
        Some(now) if decide(&secret, Some(&now)) == Action::Unchanged => Ok(Written::Unchanged),
        _ => Err(Error::Invalid(CONFLICT.into())),
    }
}

/// Why a secret was not written after a conflict.
pub const CONFLICT: &str = "conflict: it changed after it was read and saved (Kamaji re-issues the secrets a restored CA did not sign), \
                            so it was left as it is; run the restore again to save and replace that version";
