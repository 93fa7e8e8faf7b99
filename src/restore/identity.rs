//! Whether a backup belongs to the cluster `restore` talks to. The
//! `kube-system` namespace's UID decides; the API server URL is shown only
//! (one cluster is reached through proxies, load balancers, other names).
//! A backup that records no identity (an older one) is restored only with
//! `--no-identity-check`, and with a warning.
//! No API calls (the caller reads the cluster's identity), no clap types, no printing.

use crate::cluster_identity::{ClusterIdentity, NAMESPACE};
use crate::output::clean_cell;

/// What the check concluded: the warnings to show when it lets the restore go on.
pub fn check(
    recorded: Option<&ClusterIdentity>,
    actual: Result<&ClusterIdentity, &str>,
    no_identity_check: bool,
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    match (recorded, actual) {
        (Some(r), Ok(a)) if r.uid == a.uid => {
            if r.server != a.server {
                warnings.push(format!(
                    "the backup was taken through {}, this run talks to {}: the same cluster ({NAMESPACE} uid {})",
                    clean_cell(&r.server),
                    clean_cell(&a.server),
                    clean_cell(&a.uid)
                ));
            }
        }
        (Some(r), Ok(a)) => {
            return Err(format!(
                "the backup was taken on another cluster: {NAMESPACE} uid {} (through {}), this cluster's is {} (through {}); refusing to restore it here",
                clean_cell(&r.uid),
                clean_cell(&r.server),
                clean_cell(&a.uid),
                clean_cell(&a.server)
            ));
        }
        (_, Err(why)) if !no_identity_check => {
            return Err(format!(
                "cannot read this cluster's identity (namespace {NAMESPACE}): {}; --no-identity-check restores without comparing it",
                clean_cell(why)
            ));
        }
        (Some(r), Err(why)) => warnings.push(format!(
            "--no-identity-check: this cluster's identity cannot be read ({}); the backup's ({NAMESPACE} uid {}) is not compared",
            clean_cell(why),
            clean_cell(&r.uid)
        )),
        (None, _) if !no_identity_check => {
            return Err("the backup records no cluster identity (an older backup, or one taken without access to the kube-system namespace): check it is this cluster's, then pass --no-identity-check".into());
        }
        (None, _) => warnings
            .push("--no-identity-check: the backup records no cluster identity; nothing tells whether it was taken on this cluster".into()),
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(server: &str, uid: &str) -> ClusterIdentity {
        ClusterIdentity { server: server.into(), uid: uid.into() }
    }

    #[test]
    fn the_same_uid_passes_even_through_another_url() {
        assert_eq!(check(Some(&id("https://a", "u1")), Ok(&id("https://a", "u1")), false), Ok(vec![]));
        let w = check(Some(&id("https://lb", "u1")), Ok(&id("https://10.0.0.1", "u1")), false).unwrap();
        assert!(w.len() == 1 && w[0].contains("through https://lb, this run talks to https://10.0.0.1"), "{w:?}");
    }

    #[test]
    fn another_uid_is_refused_even_with_the_flag_and_the_same_url() {
        for flag in [false, true] {
            let e = check(Some(&id("https://a", "u1")), Ok(&id("https://a", "u2")), flag).unwrap_err();
            assert!(e.contains("another cluster") && e.contains("uid u1") && e.contains("is u2"), "{e}");
        }
    }

    #[test]
    fn no_recorded_identity_needs_the_flag_and_warns() {
        let e = check(None, Ok(&id("https://a", "u1")), false).unwrap_err();
        assert!(e.contains("--no-identity-check"), "{e}");
        let w = check(None, Ok(&id("https://a", "u1")), true).unwrap();
        assert!(w.len() == 1 && w[0].contains("records no cluster identity"), "{w:?}");
    }

    #[test]
    fn an_unreadable_cluster_identity_needs_the_flag() {
        let e = check(Some(&id("https://a", "u1")), Err("forbidden"), false).unwrap_err();
        assert!(e.contains("cannot read this cluster's identity") && e.contains("forbidden"), "{e}");
        assert_eq!(check(Some(&id("https://a", "u1")), Err("forbidden"), true).unwrap().len(), 1);
        assert_eq!(check(None, Err("forbidden"), true).unwrap().len(), 1);
    }

    #[test]
    fn recorded_strings_are_escaped() {
        let e = check(Some(&id("https://a\u{1b}[2J", "u1")), Ok(&id("https://a", "u2")), false).unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e}");
    }
}
