//! Talos API roles (pkg/machinery/role): they travel in the client
//! certificate's Organization, so a typo silently grants nothing.
//!
//! No I/O, no clap.

/// Every role Talos knows.
pub const KNOWN: &[&str] =
    &["os:admin", "os:operator", "os:reader", "os:etcd:backup", "os:image:verifier", "os:meta:writer", "os:impersonator"];

/// Checks and de-duplicates roles, keeping their order.
pub fn validate(roles: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for role in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        if !KNOWN.contains(&role) {
            return Err(format!("unknown Talos role {role:?} (known: {})", KNOWN.join(", ")));
        }
        if !out.iter().any(|r| r == role) {
            out.push(role.to_string());
        }
    }
    if out.is_empty() {
        return Err(format!("no role given (known: {})", KNOWN.join(", ")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(roles: &[&str]) -> Result<Vec<String>, String> {
        validate(&roles.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn keeps_order_and_drops_duplicates() {
        assert_eq!(v(&["os:reader", "os:etcd:backup", "os:reader"]).unwrap(), vec!["os:reader", "os:etcd:backup"]);
    }

    #[test]
    fn refuses_unknown_and_empty() {
        assert!(v(&["os:root"]).unwrap_err().contains("unknown Talos role \"os:root\""));
        assert!(v(&[" "]).unwrap_err().contains("no role"));
    }
}
