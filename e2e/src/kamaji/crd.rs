//! The `TenantControlPlane` CRD, with Kamaji's group, version, kind, names and printer columns.
//!
//! The schema preserves unknown fields: the stand-in reads only a few of them, and the tool
//! under test must not depend on schema validation it would not get from a real cluster either.

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, GroupVersionKind, PostParams};
use kube::runtime::wait::{await_condition, conditions};

pub const GROUP: &str = "kamaji.clastix.io";
pub const VERSION: &str = "v1alpha1";
pub const KIND: &str = "TenantControlPlane";
pub const PLURAL: &str = "tenantcontrolplanes";
pub const CRD_NAME: &str = "tenantcontrolplanes.kamaji.clastix.io";

/// The API resource for `Api::<DynamicObject>::namespaced_with`.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, KIND), PLURAL)
}

/// The CRD object, printer columns as in Kamaji's `tenantcontrolplane_types.go`.
pub fn definition() -> CustomResourceDefinition {
    let column = |name: &str, ty: &str, path: &str| serde_json::json!({"name": name, "type": ty, "jsonPath": path});
    let value = serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": PLURAL,
                "singular": "tenantcontrolplane",
                "kind": KIND,
                "listKind": "TenantControlPlaneList",
                "shortNames": ["tcp"],
                "categories": ["kamaji"],
            },
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    column("Version", "string", ".spec.kubernetes.version"),
                    column("Installed Version", "string", ".status.kubernetesResources.version.version"),
                    column("Status", "string", ".status.kubernetesResources.version.status"),
                    column("Control-Plane endpoint", "string", ".status.controlPlaneEndpoint"),
                    column("Kubeconfig", "string", ".status.kubeconfig.admin.secretName"),
                    column("Datastore", "string", ".status.storage.dataStoreName"),
                    column("Age", "date", ".metadata.creationTimestamp"),
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                }},
            }],
        },
    });
    serde_json::from_value(value).expect("static CRD literal matches the CustomResourceDefinition type")
}

/// Creates the CRD unless it exists, then waits (up to 30 s) until the API server serves it.
pub async fn install_crd(client: kube::Client) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client);
    match api.create(&PostParams::default(), &definition()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(e) => return Err(e).context("creating the TenantControlPlane CRD"),
    }
    tokio::time::timeout(Duration::from_secs(30), await_condition(api, CRD_NAME, conditions::is_crd_established()))
        .await
        .context("timed out waiting for the TenantControlPlane CRD to be Established")?
        .context("watching the TenantControlPlane CRD")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_has_kamaji_names() {
        let crd = definition();
        assert_eq!(crd.spec.names.short_names, Some(vec!["tcp".to_string()]));
        assert_eq!(crd.spec.names.categories, Some(vec!["kamaji".to_string()]));
        let columns = crd.spec.versions[0].additional_printer_columns.clone().unwrap_or_default();
        assert!(columns.iter().any(|c| c.json_path == ".status.kubeconfig.admin.secretName"));
    }
}
