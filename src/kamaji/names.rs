//! Kamaji's names: secret suffixes (secret = `<tcp>-<suffix>`), data keys,
//! labels and annotations, as the operator writes them
//! (internal/resources/*, internal/constants). Shared by `status` and
//! `rotate-ca`.

/// Secret suffixes.
pub const CA: &str = "ca";
pub const SA: &str = "sa-certificate";
pub const API_SERVER: &str = "api-server-certificate";
pub const API_SERVER_KUBELET_CLIENT: &str = "api-server-kubelet-client-certificate";
pub const FRONT_PROXY_CA: &str = "front-proxy-ca-certificate";
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client-certificate";
pub const DATASTORE_CERT: &str = "datastore-certificate";
pub const DATASTORE_CONFIG: &str = "datastore-config";
pub const KONNECTIVITY_CERT: &str = "konnectivity-certificate";
pub const KONNECTIVITY_KUBECONFIG: &str = "konnectivity-kubeconfig";
pub const ADMIN_KUBECONFIG: &str = "admin-kubeconfig";
pub const CONTROLLER_MANAGER_KUBECONFIG: &str = "controller-manager-kubeconfig";
pub const SCHEDULER_KUBECONFIG: &str = "scheduler-kubeconfig";

/// Every suffix above: how a table finds a secret's suffix without its tenant.
pub const SUFFIXES: [&str; 13] = [
    CA,
    SA,
    API_SERVER,
    API_SERVER_KUBELET_CLIENT,
    FRONT_PROXY_CA,
    FRONT_PROXY_CLIENT,
    DATASTORE_CERT,
    DATASTORE_CONFIG,
    KONNECTIVITY_CERT,
    KONNECTIVITY_KUBECONFIG,
    ADMIN_KUBECONFIG,
    CONTROLLER_MANAGER_KUBECONFIG,
    SCHEDULER_KUBECONFIG,
];

/// Data keys of the CA secrets.
pub const KEY_CA_CRT: &str = "ca.crt";
pub const KEY_FRONT_PROXY_CA_CRT: &str = "front-proxy-ca.crt";

/// Labels on every tenant secret.
pub const LABEL_PROJECT: &str = "kamaji.clastix.io/project";
pub const LABEL_NAME: &str = "kamaji.clastix.io/name";
/// On the secrets a KubeconfigGenerator writes (`<tcp>-<generator>`, key `value`): the TCP they are for.
pub const LABEL_MANAGED_FOR: &str = "kamaji.clastix.io/managed-for";
pub const LABEL_COMPONENT: &str = "kamaji.clastix.io/component";
/// `x509` on leaf certificates, `kubeconfig` on kubeconfigs; absent on CAs.
pub const LABEL_LIFECYCLE: &str = "kamaji.clastix.io/certificate_lifecycle_controller";

pub const ANNOTATION_CHECKSUM: &str = "kamaji.clastix.io/checksum";
/// Empty value triggers a rotation (Kamaji >= edge-25.7.3).
pub const ANNOTATION_ROTATE: &str = "certs.kamaji.clastix.io/rotate";

/// TenantControlPlane API.
pub const GROUP: &str = "kamaji.clastix.io";
pub const VERSION: &str = "v1alpha1";
pub const KIND: &str = "TenantControlPlane";
pub const PLURAL: &str = "tenantcontrolplanes";

/// `<tcp>-<suffix>`, Kamaji's `AddTenantPrefix`.
pub fn secret_name(tcp: &str, suffix: &str) -> String {
    format!("{tcp}-{suffix}")
}

/// The suffix of one of `tcp`'s secrets, if the name has the tenant prefix.
pub fn suffix_of<'a>(tcp: &str, secret: &'a str) -> Option<&'a str> {
    secret.strip_prefix(tcp)?.strip_prefix('-')
}

/// Label selector of every secret of a tenant.
pub fn selector(tcp: &str) -> String {
    format!("{LABEL_NAME}={tcp}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(secret_name("k8s", CA), "k8s-ca");
        assert_eq!(suffix_of("k8s", "k8s-front-proxy-ca-certificate"), Some(FRONT_PROXY_CA));
        assert_eq!(suffix_of("k8s", "k8sx-ca"), None);
        assert_eq!(selector("k8s"), "kamaji.clastix.io/name=k8s");
    }
}
