//! Permission checks before any write: one SelfSubjectAccessReview per
//! (verb, resource, namespace) a command will use, so a run that would stop
//! half-way for lack of RBAC refuses before it changes anything, naming
//! every missing permission at once. Prints nothing: a refusal is an
//! [`Error::Forbidden`] carrying what is denied; no clap types.

use std::fmt;

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::api::{Api, PostParams};
use serde::Serialize;

use crate::error::{Denied, Error};

/// One permission a command needs, and why (shown when it is missing).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Need {
    pub verb: &'static str,
    /// API group, `""` for the core group.
    pub group: &'static str,
    pub resource: &'static str,
    /// `""`: a cluster-scoped resource.
    pub namespace: String,
    /// A subresource (`approval` of certificatesigningrequests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<&'static str>,
    /// One object by name (`signers` named `kubernetes.io/kube-apiserver-client`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip)]
    pub why: String,
}

impl Need {
    pub fn new(verb: &'static str, group: &'static str, resource: &'static str, namespace: &str, why: impl Into<String>) -> Self {
        Need { verb, group, resource, namespace: namespace.to_string(), subresource: None, name: None, why: why.into() }
    }

    /// A cluster-scoped need (`namespace` empty).
    pub fn cluster(verb: &'static str, group: &'static str, resource: &'static str, why: impl Into<String>) -> Self {
        Self::new(verb, group, resource, "", why)
    }

    /// The same need on a subresource.
    pub fn on_subresource(mut self, subresource: &'static str) -> Self {
        self.subresource = Some(subresource);
        self
    }

    /// The same need on one object by name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `secrets`, `deployments.apps`, as `kubectl auth can-i` spells them.
    pub fn resource_name(&self) -> String {
        if self.group.is_empty() { self.resource.to_string() } else { format!("{}.{}", self.resource, self.group) }
    }

    /// The `kubectl auth can-i` line that reproduces the check.
    pub fn can_i(&self) -> String {
        let mut line = format!("kubectl auth can-i {} {}", self.verb, self.resource_name());
        if let Some(name) = &self.name {
            line.push('/');
            line.push_str(name);
        }
        if let Some(sub) = self.subresource {
            line.push_str(&format!(" --subresource={sub}"));
        }
        if !self.namespace.is_empty() {
            line.push_str(&format!(" -n {}", self.namespace));
        }
        line
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, self.resource_name())?;
        if let Some(sub) = self.subresource {
            write!(f, "/{sub}")?;
        }
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        if self.namespace.is_empty() {
            write!(f, " (cluster-wide)")?;
        } else {
            write!(f, " in {}", self.namespace)?;
        }
        if !self.why.is_empty() {
            write!(f, " ({})", self.why)?;
        }
        Ok(())
    }
}

/// Removes duplicates (same verb, resource, namespace), keeping the first
/// reason, in a stable order.
pub fn dedup(mut needs: Vec<Need>) -> Vec<Need> {
    let mut seen = std::collections::BTreeSet::new();
    needs.retain(|n| seen.insert((n.namespace.clone(), n.group, n.resource, n.subresource, n.name.clone(), n.verb)));
    needs
}

/// Asks the API server about each need; returns the denied ones.
pub async fn missing(client: &kube::Client, needs: &[Need]) -> std::result::Result<Vec<Need>, kube::Error> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let checks = needs.iter().map(|need| {
        let api = api.clone();
        async move {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(need.verb.to_string()),
                        group: Some(need.group.to_string()),
                        resource: Some(need.resource.to_string()),
                        namespace: Some(need.namespace.clone()).filter(|ns| !ns.is_empty()),
                        subresource: need.subresource.map(str::to_string),
                        name: need.name.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let answer = api.create(&PostParams::default(), &review).await?;
            Ok::<_, kube::Error>(answer.status.is_some_and(|s| s.allowed))
        }
    });
    let answers = futures::future::try_join_all(checks).await?;
    Ok(needs.iter().zip(answers).filter(|(_, allowed)| !allowed).map(|(n, _)| n.clone()).collect())
}

/// The refusal: every missing permission on one line (the error line),
/// and each with its `kubectl auth can-i` line, which the error reporter
/// prints for the operator (nothing is printed here).
pub fn refusal(missing: &[Need], what: &str) -> Error {
    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
    Error::Forbidden {
        reason: format!("{what} needs {} permission(s) you lack, nothing was changed: {}", missing.len(), list.join("; ")),
        denied: missing.iter().map(|n| Denied { what: n.to_string(), check: n.can_i() }).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_can_i_lines() {
        let n = Need::new("patch", "apps", "deployments", "tenant-a", "restart kccm");
        assert_eq!(n.to_string(), "patch deployments.apps in tenant-a (restart kccm)");
        assert_eq!(n.can_i(), "kubectl auth can-i patch deployments.apps -n tenant-a");
        assert_eq!(Need::new("get", "", "secrets", "x", "").to_string(), "get secrets in x");
    }

    #[test]
    fn cluster_scoped_subresources_and_names() {
        let approval = Need::cluster("update", "certificates.k8s.io", "certificatesigningrequests", "").on_subresource("approval");
        assert_eq!(approval.to_string(), "update certificatesigningrequests.certificates.k8s.io/approval (cluster-wide)");
        assert_eq!(approval.can_i(), "kubectl auth can-i update certificatesigningrequests.certificates.k8s.io --subresource=approval");
        let signer = Need::cluster("approve", "certificates.k8s.io", "signers", "sign").named("kubernetes.io/kube-apiserver-client");
        assert_eq!(signer.to_string(), "approve signers.certificates.k8s.io kubernetes.io/kube-apiserver-client (cluster-wide) (sign)");
        assert_eq!(signer.can_i(), "kubectl auth can-i approve signers.certificates.k8s.io/kubernetes.io/kube-apiserver-client");
        assert_eq!(dedup(vec![approval.clone(), approval.clone().named("x"), approval]).len(), 2);
    }

    #[test]
    fn dedup_keeps_first_reason() {
        let needs = vec![
            Need::new("get", "", "secrets", "a", "first"),
            Need::new("list", "", "secrets", "a", ""),
            Need::new("get", "", "secrets", "a", "second"),
            Need::new("get", "", "secrets", "b", ""),
        ];
        let d = dedup(needs);
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].why, "first");
    }

    #[test]
    fn refusal_lists_everything_on_one_line() {
        let err = refusal(
            &[Need::new("delete", "", "secrets", "t", "delete mode"), Need::new("create", "coordination.k8s.io", "leases", "t", "lock")],
            "rotate-ca",
        );
        let text = err.to_string();
        let Error::Forbidden { denied, .. } = &err else { panic!("{err:?}") };
        assert_eq!(
            denied[0].to_string(),
            "  missing: delete secrets in t (delete mode)\n           check: kubectl auth can-i delete secrets -n t"
        );
        assert_eq!(denied.len(), 2);
        assert!(text.contains("2 permission(s)"), "{text}");
        assert!(text.contains("delete secrets in t (delete mode); create leases.coordination.k8s.io in t (lock)"), "{text}");
        assert!(!text.contains('\n'));
    }
}
