//! Cozystack-shaped test fixtures: a tenant cluster as Cozystack lays it out on the management
//! cluster (domain-facts §2), with the Kamaji controller Deployment whose image tag tells the
//! tool which Kamaji it talks to. Pods run on the harness's kwok node; images need not exist.

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::kamaji::{self, names};

/// What to seed. `Default`: Kamaji `26.3.5-edge` in `cozy-kamaji`, 2 workers, konnectivity on,
/// and a second tenant's workers beside them.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    pub kamaji_namespace: String,
    /// Tag of `ghcr.io/clastix/kamaji` (Cozystack v0.35–v0.39: `edge-25.4.1`; v1.3–v1.5: `26.3.5-edge`).
    pub kamaji_version: String,
    /// Written to the TCP annotation `e2e.kubectl-pki/endpoint`: where the tenant's kubeconfigs point.
    pub endpoint: Option<String>,
    pub kubernetes_version: String,
    pub workers: i32,
    pub konnectivity: bool,
    /// Also seed workers of another tenant `<release>-other` whose pods match the runbook's
    /// name glob `virt-launcher-<release>-*` but not this tenant's labels.
    pub other_tenant: bool,
    /// A real Kamaji keeps the TCP: it makes the tenant Deployment and runs its own
    /// controller, so neither is seeded (and `kamaji_version` is whatever it runs).
    pub operator: bool,
    /// The image of every seeded pod; `None`: fixture names that only kwok "runs".
    pub pod_image: Option<String>,
    /// The tenant API as a NodePort `(address, port)`: `networkProfile.address`/`port`, as
    /// Kamaji points the kubeconfigs there. `None`: a ClusterIP Service.
    pub node_port: Option<(String, u16)>,
    /// `spec.dataStore`; `None`: the namespace's name (the stand-in ignores it), or the
    /// operator's default DataStore when `operator`.
    pub datastore: Option<String>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            kamaji_namespace: "cozy-kamaji".into(),
            kamaji_version: "26.3.5-edge".into(),
            endpoint: None,
            kubernetes_version: "v1.33.3".into(),
            workers: 2,
            konnectivity: true,
            other_tenant: true,
            operator: false,
            pod_image: None,
            node_port: None,
            datastore: None,
        }
    }
}

/// A seeded tenant: the TCP is named like its Helm release, `kubernetes-<cluster>`.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub namespace: String,
    pub name: String,
    pub kamaji_namespace: String,
    pub kamaji_version: String,
    pub other_release: Option<String>,
}

impl Tenant {
    /// `<tcp>-<suffix>`.
    pub fn secret(&self, suffix: &str) -> String {
        names::secret_name(&self.name, suffix)
    }

    /// Label selector of this tenant's worker (virt-launcher) pods.
    pub fn worker_selector(&self) -> String {
        format!("cluster.x-k8s.io/cluster-name={}", self.name)
    }

    /// Names of the Deployments that mount `<release>-admin-kubeconfig`.
    pub fn admin_kubeconfig_consumers(&self) -> [String; 3] {
        let r = &self.name;
        [format!("{r}-kcsi-controller"), format!("{r}-kccm"), format!("{r}-cluster-autoscaler")]
    }
}

/// Creates the tenant `release` (e.g. `kubernetes-demo`) in `ns`: its TCP, the tenant Deployment
/// (owned by the TCP, 3 containers), kcsi/kccm/cluster-autoscaler Deployments mounting the admin
/// kubeconfig, CAPK-labelled worker pods, and the Kamaji controller Deployment (2 replicas) in
/// `opts.kamaji_namespace` unless it exists. Needs the CRD (`kamaji::install_crd`).
pub async fn seed_tenant(client: &Client, ns: &str, release: &str, opts: &SeedOptions) -> Result<Tenant> {
    if !opts.operator {
        ensure_namespace(client, &opts.kamaji_namespace).await?;
        create_kamaji_controller(client, &opts.kamaji_namespace, &opts.kamaji_version).await?;
    }
    let tcp = create_tcp(client, ns, release, opts).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let create = |mut d: Value| {
        let deployments = deployments.clone();
        if let (Some(image), Some(containers)) =
            (&opts.pod_image, d.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut))
        {
            containers.iter_mut().for_each(|c| c["image"] = json!(image));
        }
        async move {
            let d: Deployment = serde_json::from_value(d).context("fixture Deployment")?;
            deployments.create(&PostParams::default(), &d).await.with_context(|| format!("creating Deployment {ns}/{}", d.name_any()))
        }
    };

    if !opts.operator {
        create(tenant_deployment(release, &tcp)).await?;
    }

    let admin = names::secret_name(release, names::ADMIN_KUBECONFIG);
    let consumers = [
        (format!("{release}-kcsi-controller"), json!({"app": format!("{release}-kcsi-driver")}), "csi-driver"),
        (format!("{release}-kccm"), json!({"k8s-app": format!("{release}-kccm")}), "kubevirt-cloud-controller-manager"),
        (format!("{release}-cluster-autoscaler"), json!({"app": format!("{release}-cluster-autoscaler")}), "cluster-autoscaler"),
    ];
    for (name, labels, container) in consumers {
        let mut d = deployment(&name, &labels, 1, &[(container, "ghcr.io/cozystack/cozystack/fixture")]);
        d["spec"]["template"]["spec"]["volumes"] = json!([{
            "name": "kubeconfig",
            "secret": {"secretName": admin, "items": [{"key": "super-admin.svc", "path": "super-admin.svc"}]},
        }]);
        d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "kubeconfig", "mountPath": "/etc/kubernetes/kubeconfig", "readOnly": true}]);
        create(d).await?;
    }

    create(workers(release, opts.workers)).await?;
    let other_release = opts.other_tenant.then(|| format!("{release}-other"));
    if let Some(other) = &other_release {
        create(workers(other, 1)).await?;
    }
    Ok(Tenant {
        namespace: ns.to_string(),
        name: release.to_string(),
        kamaji_namespace: opts.kamaji_namespace.clone(),
        kamaji_version: opts.kamaji_version.clone(),
        other_release,
    })
}

/// What Kamaji makes for a TCP: its Deployment (owned by it, 3 containers, the tenant secrets
/// mounted). Only for the stand-in: a real operator makes its own.
pub fn tenant_deployment(release: &str, tcp: &DynamicObject) -> Value {
    let mut tenant = deployment(
        release,
        &json!({"kamaji.clastix.io/name": release, "kamaji.clastix.io/component": "deployment"}),
        2,
        &[
            ("kube-apiserver", "registry.k8s.io/kube-apiserver"),
            ("kube-controller-manager", "registry.k8s.io/kube-controller-manager"),
            ("kube-scheduler", "registry.k8s.io/kube-scheduler"),
        ],
    );
    tenant["metadata"]["ownerReferences"] = json!([{
        "apiVersion": format!("{}/{}", kamaji::GROUP, kamaji::VERSION), "kind": kamaji::KIND,
        "name": release, "uid": tcp.uid(), "controller": true, "blockOwnerDeletion": true,
    }]);
    let tenant_secrets = [names::CA, names::API_SERVER, names::SA, names::CONTROLLER_MANAGER_KUBECONFIG, names::SCHEDULER_KUBECONFIG];
    tenant["spec"]["template"]["spec"]["volumes"] =
        tenant_secrets.iter().map(|s| json!({"name": s, "secret": {"secretName": names::secret_name(release, s)}})).collect();
    tenant
}

/// Creates namespace `name` unless it exists.
pub async fn ensure_namespace(client: &Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating namespace {name}")),
    }
}

/// The Kamaji chart's controller Deployment (labels from its `_helpers.tpl`); kept if it exists.
pub async fn create_kamaji_controller(client: &Client, ns: &str, version: &str) -> Result<()> {
    let labels = json!({
        "app.kubernetes.io/name": "kamaji",
        "app.kubernetes.io/instance": "kamaji",
        "app.kubernetes.io/component": "controller-manager",
    });
    let mut d = deployment("kamaji", &labels, 2, &[("manager", "ghcr.io/clastix/kamaji")]);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(format!("ghcr.io/clastix/kamaji:{version}"));
    d["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["manager", "--leader-elect"]);
    let d: Deployment = serde_json::from_value(d)?;
    match Api::<Deployment>::namespaced(client.clone(), ns).create(&PostParams::default(), &d).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating Deployment {ns}/kamaji")),
    }
}

async fn create_tcp(client: &Client, ns: &str, release: &str, opts: &SeedOptions) -> Result<DynamicObject> {
    let mut annotations = json!({"kamaji.clastix.io/kubeconfig-secret-key": "super-admin.svc"});
    if let Some(endpoint) = &opts.endpoint {
        annotations[names::ANNOTATION_ENDPOINT] = json!(endpoint);
    }
    let mut addons = json!({"coreDNS": {}, "kubeProxy": {}});
    if opts.konnectivity {
        addons["konnectivity"] = json!({"server": {"port": 8132}, "agent": {}});
    }
    let (service, network) = match &opts.node_port {
        Some((address, port)) => ("NodePort", json!({"address": address, "port": port, "certSANs": [address]})),
        None => ("ClusterIP", json!({"port": 6443})),
    };
    let mut spec = json!({
        "controlPlane": {
            "deployment": {"replicas": if opts.operator { 1 } else { 2 }},
            "service": {"serviceType": service},
        },
        "kubernetes": {"version": opts.kubernetes_version, "kubelet": {"cgroupfs": "systemd"}},
        "networkProfile": network,
        "addons": addons,
    });
    match (&opts.datastore, opts.operator) {
        (Some(ds), _) => spec["dataStore"] = json!(ds),
        (None, false) => spec["dataStore"] = json!(ns),
        (None, true) => {}
    }
    let tcp: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{}/{}", kamaji::GROUP, kamaji::VERSION),
        "kind": kamaji::KIND,
        "metadata": {"name": release, "namespace": ns, "annotations": annotations},
        "spec": spec,
    }))?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kamaji::api_resource());
    api.create(&PostParams::default(), &tcp).await.with_context(|| format!("creating TenantControlPlane {ns}/{release}"))
}

/// Stand-ins for CAPK's virt-launcher pods: the pod names match `virt-launcher-<release>-*`
/// and the pods carry the labels CAPK, KubeVirt and Cozystack put on them.
fn workers(release: &str, replicas: i32) -> Value {
    let labels = json!({
        "kubevirt.io": "virt-launcher",
        "cluster.x-k8s.io/role": "worker",
        "cluster.x-k8s.io/cluster-name": release,
        "cluster.x-k8s.io/deployment-name": format!("{release}-md0"),
    });
    deployment(&format!("virt-launcher-{release}-md0"), &labels, replicas, &[("compute", "quay.io/kubevirt/virt-launcher")])
}

/// A Deployment whose pods carry `labels` (also its selector) and run on the kwok node.
fn deployment(name: &str, labels: &Value, replicas: i32, containers: &[(&str, &str)]) -> Value {
    let containers: Vec<Value> = containers.iter().map(|(n, image)| json!({"name": n, "image": format!("{image}:fixture")})).collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": containers,
                    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    })
}

/// The labels of the seeded Kamaji controller pods, as Cozystack's chart sets them.
pub const KAMAJI_SELECTOR: &str = "app.kubernetes.io/name=kamaji";

/// A test's tenant: a fresh namespace, a Kamaji stand-in playing `seed.kamaji_version` that
/// watches only it, and the tenant `release` seeded there (its Kamaji controller Deployment
/// in `<ns>-kamaji`) and Ready. The stand-in stops when this is dropped.
pub struct StandinTenant {
    pub client: Client,
    pub tenant: Tenant,
    pub standin: crate::kamaji::StandinTask,
}

pub async fn standin_tenant(prefix: &str, release: &str, seed: SeedOptions, timeout: std::time::Duration) -> Result<StandinTenant> {
    let cp = crate::ControlPlane::shared();
    let ns = cp.namespace(prefix).await.name;
    let client = cp.client().await;
    crate::kamaji::install_crd(client.clone()).await?;
    // The stand-in plays the seeded controller pods: it dates what it issues from their start.
    let options = crate::kamaji::StandinOptions::for_version(&seed.kamaji_version)
        .in_namespace(&ns)
        .playing_pods(&format!("{ns}-kamaji"), KAMAJI_SELECTOR);
    let standin = crate::kamaji::Standin::start(client.clone(), options);
    let seed = SeedOptions { kamaji_namespace: format!("{ns}-kamaji"), ..seed };
    let tenant = seed_tenant(&client, &ns, release, &seed).await?;
    crate::kamaji::wait_ready(&client, &ns, &tenant.name, timeout).await?;
    Ok(StandinTenant { client, tenant, standin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_parse_as_deployments() {
        let d: Deployment = serde_json::from_value(workers("kubernetes-demo", 2)).unwrap();
        let labels = d.spec.template.metadata.unwrap().labels.unwrap();
        assert_eq!(labels["cluster.x-k8s.io/cluster-name"], "kubernetes-demo");
        assert_eq!(d.metadata.name.as_deref(), Some("virt-launcher-kubernetes-demo-md0"));
    }
}
