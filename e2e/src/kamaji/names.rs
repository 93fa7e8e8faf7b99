//! Kamaji's secret suffixes, labels and annotations (secret name = `<tcp>-<suffix>`).

pub const CA: &str = "ca";
pub const SA: &str = "sa-certificate";
pub const API_SERVER: &str = "api-server-certificate";
pub const API_SERVER_KUBELET_CLIENT: &str = "api-server-kubelet-client-certificate";
pub const FRONT_PROXY_CA: &str = "front-proxy-ca-certificate";
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client-certificate";
pub const DATASTORE_CERT: &str = "datastore-certificate";
pub const DATASTORE_CONFIG: &str = "datastore-config";
pub const KONNECTIVITY_CERT: &str = "konnectivity-certificate";
pub const ADMIN_KUBECONFIG: &str = "admin-kubeconfig";
pub const CONTROLLER_MANAGER_KUBECONFIG: &str = "controller-manager-kubeconfig";
pub const SCHEDULER_KUBECONFIG: &str = "scheduler-kubeconfig";
pub const KONNECTIVITY_KUBECONFIG: &str = "konnectivity-kubeconfig";

/// The 11 secrets of every tenant, in the order the stand-in creates them.
pub const CORE: [&str; 11] = [
    CA,
    SA,
    FRONT_PROXY_CA,
    API_SERVER,
    API_SERVER_KUBELET_CLIENT,
    FRONT_PROXY_CLIENT,
    DATASTORE_CERT,
    DATASTORE_CONFIG,
    ADMIN_KUBECONFIG,
    CONTROLLER_MANAGER_KUBECONFIG,
    SCHEDULER_KUBECONFIG,
];
/// The two more a tenant with the konnectivity addon gets.
pub const KONNECTIVITY: [&str; 2] = [KONNECTIVITY_CERT, KONNECTIVITY_KUBECONFIG];

pub const LABEL_PROJECT: &str = "kamaji.clastix.io/project";
pub const LABEL_NAME: &str = "kamaji.clastix.io/name";
pub const LABEL_COMPONENT: &str = "kamaji.clastix.io/component";
pub const LABEL_LIFECYCLE: &str = "kamaji.clastix.io/certificate_lifecycle_controller";
pub const ANNOTATION_CHECKSUM: &str = "kamaji.clastix.io/checksum";
pub const ANNOTATION_ROTATE: &str = "certs.kamaji.clastix.io/rotate";
/// Test-only TCP annotation: the URL the tenant's kubeconfigs point at (default `https://127.0.0.1:6443`).
pub const ANNOTATION_ENDPOINT: &str = "e2e.kubectl-pki/endpoint";
pub const FINALIZER_TCP: &str = "finalizer.kamaji.clastix.io";
pub const FINALIZER_DATASTORE_SECRET: &str = "finalizer.kamaji.clastix.io/datastore-secret";
/// The datastore's own CA (Cozystack's tenant etcd keeps it in this secret of the tenant namespace).
pub const DATASTORE_CA_SECRET: &str = "etcd-ca-tls";

pub const STATUS_PROVISIONING: &str = "Provisioning";
pub const STATUS_ROTATING: &str = "CertificateAuthorityRotating";
pub const STATUS_READY: &str = "Ready";

/// `<tcp>-<suffix>`, Kamaji's `AddTenantPrefix`.
pub fn secret_name(tcp: &str, suffix: &str) -> String {
    format!("{tcp}-{suffix}")
}

/// Where Kamaji records a secret in the TCP status (JSON pointer below `.status`).
pub fn status_path(suffix: &str) -> &'static str {
    match suffix {
        CA => "/certificates/ca",
        SA => "/certificates/sa",
        API_SERVER => "/certificates/apiServer",
        API_SERVER_KUBELET_CLIENT => "/certificates/apiServerKubeletClient",
        FRONT_PROXY_CA => "/certificates/frontProxyCA",
        FRONT_PROXY_CLIENT => "/certificates/frontProxyClient",
        DATASTORE_CERT => "/storage/certificate",
        DATASTORE_CONFIG => "/storage/config",
        KONNECTIVITY_CERT => "/addons/konnectivity/certificate",
        ADMIN_KUBECONFIG => "/kubeconfig/admin",
        CONTROLLER_MANAGER_KUBECONFIG => "/kubeconfig/controllerManager",
        SCHEDULER_KUBECONFIG => "/kubeconfig/scheduler",
        KONNECTIVITY_KUBECONFIG => "/addons/konnectivity/kubeconfig",
        _ => "/unknown",
    }
}

/// Pod-template label keys Kamaji hashes secrets into, so that a changed secret rolls the
/// tenant Deployment: (label suffix, secret suffix).
pub const ROLLOUT_LABELS: [(&str, &str); 8] = [
    ("api-server-certificate", API_SERVER),
    ("api-server-kubelet-client-certificate", API_SERVER_KUBELET_CLIENT),
    ("ca", CA),
    ("controller-manager-kubeconfig", CONTROLLER_MANAGER_KUBECONFIG),
    ("front-proxy-ca-certificate", FRONT_PROXY_CA),
    ("front-proxy-client-certificate", FRONT_PROXY_CLIENT),
    ("service-account", SA),
    ("scheduler-kubeconfig", SCHEDULER_KUBECONFIG),
];
