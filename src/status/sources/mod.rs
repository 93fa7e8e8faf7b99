//! The inventories `status` reads; each pushes rows into a [`Collector`].
//!
//! [`Collector`]: super::row::Collector
//!
//! Sources fetch and push rows; they never render and see no clap types.

pub mod bundle_served;
pub mod cabundle;
pub mod configmaps;
pub mod files;
pub mod k3s;
pub mod kubeadm;
pub mod kubeconfig;
pub mod pages;
pub mod root_ca;
pub mod secrets;
pub mod server;
pub mod tenant;
pub mod tenant_api;
pub mod tenants;
