//! Kamaji TenantControlPlanes: names, labels and the read side of the TCP.

pub mod endpoint;
pub mod horizon;
pub mod names;
pub mod restart;
pub mod rotating;
pub mod tcp;
pub mod tenant;
pub mod version;
