//! Kubeconfigs of several contexts for the fleet tests (`status --all-contexts`).

use std::path::{Path, PathBuf};

use kube::config::{Kubeconfig, NamedCluster, NamedContext};

use crate::ControlPlane;

/// The harness kubeconfig with one more context per `(name, namespace)` on the
/// same cluster and user, and contexts for servers at `dead` URLs.
pub fn fleet_kubeconfig(dir: &Path, same_cluster: &[(&str, &str)], dead: &[(&str, String)]) -> PathBuf {
    let mut kc = Kubeconfig::read_from(ControlPlane::shared().kubeconfig()).expect("harness kubeconfig");
    let current = kc.current_context.clone().expect("a current context");
    let base = kc.contexts.iter().find(|c| c.name == current).and_then(|c| c.context.clone()).expect("the current context");
    let mut contexts = Vec::new();
    for (name, namespace) in same_cluster {
        let context = kube::config::Context { namespace: Some(namespace.to_string()), ..base.clone() };
        contexts.push(NamedContext { name: name.to_string(), context: Some(context), other: Default::default() });
    }
    for (name, url) in dead {
        let cluster = NamedCluster {
            name: format!("{name}-cluster"),
            cluster: Some(kube::config::Cluster { server: Some(url.clone()), insecure_skip_tls_verify: Some(true), ..Default::default() }),
            other: Default::default(),
        };
        kc.clusters.push(cluster);
        let context = kube::config::Context { cluster: format!("{name}-cluster"), ..base.clone() };
        contexts.push(NamedContext { name: name.to_string(), context: Some(context), other: Default::default() });
    }
    kc.contexts = contexts;
    kc.current_context = Some(same_cluster[0].0.to_string());
    let path = dir.join("fleet.json");
    std::fs::write(&path, serde_json::to_vec(&kc).unwrap()).unwrap();
    path
}
