//! Who a client certificate says it is (CN = user, O = groups) and who the
//! API server says the caller is (a SelfSubjectReview, `kubectl auth
//! whoami`), and whether the two are the same identity.
//!
//! No clap; the only request is the SelfSubjectReview.

use std::collections::BTreeSet;
use std::fmt;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{Api, PostParams};
use serde::Serialize;

/// The group kube-apiserver adds to every authenticated request: it is
/// never in a certificate.
pub const AUTHENTICATED: &str = "system:authenticated";

/// A user and groups: what Kubernetes authorizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub user: String,
    /// Sorted and without duplicates.
    pub groups: Vec<String>,
}

impl Identity {
    pub fn new(user: impl Into<String>, groups: impl IntoIterator<Item = String>) -> Self {
        let groups: BTreeSet<String> = groups.into_iter().collect();
        Identity { user: user.into(), groups: groups.into_iter().collect() }
    }

    /// The groups a certificate for this identity carries: all but
    /// [`AUTHENTICATED`], which the server adds itself.
    pub fn certificate_groups(&self) -> Vec<String> {
        self.groups.iter().filter(|g| *g != AUTHENTICATED).cloned().collect()
    }

    /// Whether a certificate with this subject (CN, O) authenticates as
    /// `server` sees it: the same user, and the same groups once the
    /// server's own [`AUTHENTICATED`] is set aside.
    pub fn same_as_server(&self, server: &Identity) -> bool {
        self.user == server.user && self.certificate_groups() == server.certificate_groups()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.groups.is_empty() {
            write!(f, "user {:?} (no groups)", self.user)
        } else {
            write!(f, "user {:?} groups {:?}", self.user, self.groups.join(","))
        }
    }
}

/// `kubectl auth whoami`: the identity the server authenticates this
/// client as.
pub async fn whoami(client: &kube::Client) -> Result<Identity, kube::Error> {
    let api: Api<SelfSubjectReview> = Api::all(client.clone());
    let review = api.create(&PostParams::default(), &SelfSubjectReview::default()).await?;
    let info = review.status.and_then(|s| s.user_info).unwrap_or_default();
    Ok(Identity::new(info.username.unwrap_or_default(), info.groups.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(user: &str, groups: &[&str]) -> Identity {
        Identity::new(user, groups.iter().map(|g| g.to_string()))
    }

    #[test]
    fn a_certificate_matches_the_server_view_without_system_authenticated() {
        let cert = id("alice", &["devs", "ops"]);
        assert!(cert.same_as_server(&id("alice", &["ops", "devs", AUTHENTICATED])));
        assert!(cert.same_as_server(&id("alice", &["devs", "ops", "devs"])), "duplicates do not count");
    }

    #[test]
    fn another_user_or_other_groups_is_a_mismatch() {
        let cert = id("alice", &["devs"]);
        assert!(!cert.same_as_server(&id("bob", &["devs", AUTHENTICATED])), "other user");
        assert!(!cert.same_as_server(&id("alice", &["devs", "system:masters", AUTHENTICATED])), "server adds a group");
        assert!(!cert.same_as_server(&id("alice", &[AUTHENTICATED])), "server drops a group");
        assert!(!id("Alice", &["devs"]).same_as_server(&id("alice", &["devs"])), "case matters");
    }

    #[test]
    fn display_quotes_names() {
        assert_eq!(id("a\u{1b}", &["g2", "g1"]).to_string(), "user \"a\\u{1b}\" groups \"g1,g2\"");
        assert_eq!(id("a", &[]).to_string(), "user \"a\" (no groups)");
    }
}
