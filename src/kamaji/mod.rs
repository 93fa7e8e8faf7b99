//! Kamaji TenantControlPlanes: names, labels and the read side of the TCP.

pub mod names;
pub mod tcp;
pub mod version;
