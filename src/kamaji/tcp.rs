//! Reading TenantControlPlanes without a CRD type: a `DynamicObject` with
//! the API resource spelled out, and the few status fields we show.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

use super::names;

pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(names::GROUP, names::VERSION, names::KIND), names::PLURAL)
}

pub fn api(client: kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, namespace, &api_resource())
}

/// `.status.kubernetesResources.version.status` (Ready, Provisioning,
/// CertificateAuthorityRotating...).
pub fn status(tcp: &DynamicObject) -> Option<String> {
    str_at(tcp, "/status/kubernetesResources/version/status")
}

/// `.status.kubernetesResources.version.version`, else `.spec.kubernetes.version`.
pub fn version(tcp: &DynamicObject) -> Option<String> {
    str_at(tcp, "/status/kubernetesResources/version/version").or_else(|| str_at(tcp, "/spec/kubernetes/version"))
}

fn str_at(tcp: &DynamicObject, pointer: &str) -> Option<String> {
    tcp.data.pointer(pointer).and_then(|v| v.as_str()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let tcp: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane",
            "metadata": {"name": "k8s", "namespace": "tenant-a"},
            "spec": {"kubernetes": {"version": "v1.33.0"}},
            "status": {"kubernetesResources": {"version": {"status": "Ready"}}}
        }))
        .unwrap();
        assert_eq!(status(&tcp).as_deref(), Some("Ready"));
        assert_eq!(version(&tcp).as_deref(), Some("v1.33.0"));
        assert_eq!(api_resource().plural, "tenantcontrolplanes");
    }
}
