//! The inventories `status` reads; each pushes rows into a [`Collector`].
//!
//! [`Collector`]: super::row::Collector

pub mod files;
pub mod k3s;
pub mod kubeconfig;
pub mod secrets;
pub mod server;
pub mod tenant;
pub mod tenant_api;
