//! The inventories `status` reads; each pushes rows into a [`Collector`].
//!
//! [`Collector`]: super::row::Collector
//!
//! Sources fetch and push rows; they never render and see no clap types.

pub mod files;
pub mod k3s;
pub mod kubeadm;
pub mod kubeconfig;
pub mod secrets;
pub mod server;
pub mod tenant;
pub mod tenant_api;
pub mod tenants;
