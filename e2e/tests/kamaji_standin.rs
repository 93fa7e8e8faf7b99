//! The Kamaji stand-in against the real local API server: secrets as Kamaji makes them, CA
//! rotation by annotation (in place), SA key re-made only when deleted, old Kamaji ignoring
//! the annotation.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use e2e::ControlPlane;
use e2e::cozystack::{SeedOptions, Tenant, seed_tenant};
use e2e::kamaji::names::*;
use e2e::kamaji::{self, Standin, StandinOptions, pki, wait_ready};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use x509_parser::prelude::{FromDer, X509Certificate};

const WAIT: Duration = Duration::from_secs(60);

type Data = BTreeMap<String, Vec<u8>>;

struct Fixture {
    client: Client,
    tenant: Tenant,
    secrets: Api<Secret>,
    _standin: e2e::kamaji::StandinTask,
}

/// A namespace with a Ready seeded tenant `kubernetes-demo` and its own stand-in.
async fn fixture(prefix: &str, opts: StandinOptions) -> Fixture {
    let cp = ControlPlane::shared();
    let ns = cp.namespace(prefix).await.name;
    let client = cp.client().await;
    kamaji::install_crd(client.clone()).await.expect("install CRD");
    let standin = Standin::start(client.clone(), opts.in_namespace(&ns));
    let seed = SeedOptions { kamaji_namespace: format!("{ns}-kamaji"), ..SeedOptions::default() };
    let tenant = seed_tenant(&client, &ns, "kubernetes-demo", &seed).await.expect("seed tenant");
    wait_ready(&client, &ns, &tenant.name, WAIT).await.expect("tenant Ready");
    let secrets = Api::namespaced(client.clone(), &ns);
    Fixture { client, tenant, secrets, _standin: standin }
}

impl Fixture {
    async fn secret(&self, suffix: &str) -> Secret {
        self.secrets.get(&self.tenant.secret(suffix)).await.expect("get secret")
    }
    async fn data(&self, suffix: &str) -> Data {
        data(&self.secret(suffix).await)
    }
    async fn all(&self) -> BTreeMap<&'static str, Secret> {
        let mut all = BTreeMap::new();
        for suffix in CORE.iter().chain(KONNECTIVITY.iter()) {
            all.insert(*suffix, self.secret(suffix).await);
        }
        all
    }
    async fn annotate_ca_rotate(&self) {
        let patch = serde_json::json!({"metadata": {"annotations": {ANNOTATION_ROTATE: ""}}});
        self.secrets.patch(&self.tenant.secret(CA), &PatchParams::default(), &Patch::Merge(&patch)).await.expect("annotate");
    }
    fn tcps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.tenant.namespace, &kamaji::api_resource())
    }
}

fn data(secret: &Secret) -> Data {
    secret.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}

async fn poll<T, F: Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every certificate and kubeconfig signed by the tenant CA verifies against `ca`.
fn leaves_verify(all: &BTreeMap<&str, Secret>, ca: &[u8]) -> Result<(), String> {
    let cert = |suffix: &str, key: &str| data(&all[suffix]).get(key).cloned().unwrap_or_default();
    for (suffix, key) in
        [(API_SERVER, "apiserver.crt"), (API_SERVER_KUBELET_CLIENT, "apiserver-kubelet-client.crt"), (KONNECTIVITY_CERT, "tls.crt")]
    {
        if !pki::verifies(&cert(suffix, key), ca) {
            return Err(format!("{suffix}/{key} does not verify against the CA"));
        }
    }
    let kubeconfigs = [
        (ADMIN_KUBECONFIG, &["admin.conf", "admin.svc", "super-admin.conf", "super-admin.svc"][..]),
        (CONTROLLER_MANAGER_KUBECONFIG, &["controller-manager.conf"][..]),
        (SCHEDULER_KUBECONFIG, &["scheduler.conf"][..]),
        (KONNECTIVITY_KUBECONFIG, &["konnectivity-server.conf"][..]),
    ];
    for (suffix, keys) in kubeconfigs {
        for key in keys {
            let kc = pki::parse_kubeconfig(&cert(suffix, key)).map_err(|e| format!("{suffix}/{key}: {e}"))?;
            if kc.ca != ca || !pki::verifies(kc.client.cert.as_bytes(), ca) {
                return Err(format!("{suffix}/{key} embeds another CA or its client cert does not verify"));
            }
        }
    }
    Ok(())
}

fn subject(pem: &[u8]) -> String {
    let der = pki::first_cert_der(pem).expect("PEM");
    let (_, cert) = X509Certificate::from_der(&der).expect("certificate");
    cert.subject().to_string()
}

#[tokio::test]
async fn tenant_gets_kamaji_secrets_and_status() {
    let f = fixture("kamaji-ready", StandinOptions::default()).await;
    let tcp = f.tcps().get(&f.tenant.name).await.expect("tcp");
    let uid = tcp.uid().expect("uid");
    let all = f.all().await;
    assert_eq!(all.len(), 13);

    let keys = |s: &Secret| data(s).into_keys().collect::<Vec<_>>();
    assert_eq!(keys(&all[CA]), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    assert_eq!(keys(&all[SA]), ["sa.key", "sa.pub"]);
    assert_eq!(keys(&all[DATASTORE_CERT]), ["ca.crt", "server.crt", "server.key"]);
    assert_eq!(keys(&all[DATASTORE_CONFIG]), ["DB_CONNECTION_STRING", "DB_PASSWORD", "DB_SCHEMA", "DB_USER"]);
    assert_eq!(keys(&all[ADMIN_KUBECONFIG]), ["admin.conf", "admin.svc", "super-admin.conf", "super-admin.svc"]);
    assert_eq!(keys(&all[KONNECTIVITY_KUBECONFIG]), ["konnectivity-server.conf"]);
    assert_eq!(all[KONNECTIVITY_CERT].type_.as_deref(), Some("kubernetes.io/tls"));
    assert!(all[DATASTORE_CONFIG].finalizers().iter().any(|f| f == FINALIZER_DATASTORE_SECRET));

    for (suffix, secret) in &all {
        let labels = secret.labels();
        assert_eq!(labels.get(LABEL_PROJECT).map(String::as_str), Some("kamaji"), "{suffix}");
        assert_eq!(labels.get(LABEL_NAME), Some(&f.tenant.name), "{suffix}");
        assert_eq!(labels.get(LABEL_COMPONENT).map(String::as_str), Some(*suffix), "{suffix}");
        let lifecycle = match *suffix {
            CA | SA | FRONT_PROXY_CA | DATASTORE_CONFIG => None,
            s if s.ends_with("kubeconfig") => Some("kubeconfig"),
            _ => Some("x509"),
        };
        assert_eq!(labels.get(LABEL_LIFECYCLE).map(String::as_str), lifecycle, "{suffix}");
        assert!(secret.owner_references().iter().any(|o| o.uid == uid && o.controller == Some(true)), "{suffix}");
        let sum = pki::checksum(data(secret).iter().map(|(k, v)| (k, v.as_slice())));
        assert_eq!(secret.annotations().get(ANNOTATION_CHECKSUM), Some(&sum), "{suffix}");
    }

    let ca = data(&all[CA])["ca.crt"].clone();
    leaves_verify(&all, &ca).expect("leaves chain to the CA");
    let api_cert = &data(&all[API_SERVER])["apiserver.crt"];
    assert!(pki::sans_cover(api_cert, &["127.0.0.1".into(), "localhost".into()]));
    let admin = pki::parse_kubeconfig(&data(&all[ADMIN_KUBECONFIG])["admin.conf"]).expect("admin.conf");
    assert_eq!(admin.server, "https://127.0.0.1:6443");
    assert_eq!(subject(admin.client.cert.as_bytes()), "CN=kubernetes-admin, O=system:masters");
    let svc = pki::parse_kubeconfig(&data(&all[ADMIN_KUBECONFIG])["super-admin.svc"]).expect("super-admin.svc");
    assert_eq!(svc.server, format!("https://kubernetes-demo.{}.svc:6443", f.tenant.namespace));
    let front_proxy_ca = &data(&all[FRONT_PROXY_CA])["front-proxy-ca.crt"];
    assert!(pki::verifies(&data(&all[FRONT_PROXY_CLIENT])["front-proxy-client.crt"], front_proxy_ca));
    assert!(!pki::verifies(&data(&all[FRONT_PROXY_CLIENT])["front-proxy-client.crt"], &ca));

    let status = |p: &str| tcp.data.pointer(&format!("/status{p}")).and_then(|v| v.as_str()).map(String::from);
    assert_eq!(status("/kubernetesResources/version/status").as_deref(), Some("Ready"));
    assert_eq!(status("/controlPlaneEndpoint").as_deref(), Some("127.0.0.1:6443"));
    assert_eq!(status("/kubeconfig/admin/secretName"), Some(f.tenant.secret(ADMIN_KUBECONFIG)));
    assert_eq!(status("/certificates/ca/secretName"), Some(f.tenant.secret(CA)));
    assert_eq!(status("/certificates/ca/checksum").as_ref(), all[CA].annotations().get(ANNOTATION_CHECKSUM));
    assert!(status("/certificates/apiServer/lastUpdate").is_some());

    // The tenant Deployment carries the secrets' hashes in its pod template, as Kamaji's does.
    let deployments: Api<Deployment> = Api::namespaced(f.client.clone(), &f.tenant.namespace);
    let tenant = deployments.get(&f.tenant.name).await.expect("tenant deployment");
    let labels = tenant.spec.template.metadata.and_then(|m| m.labels).unwrap_or_default();
    assert_eq!(labels.get("component.kamaji.clastix.io/ca"), all[CA].annotations().get(ANNOTATION_CHECKSUM));
    assert_eq!(tenant.spec.template.spec.map(|s| s.containers.len()), Some(3));

    // Workers are selected by label: the other tenant's pods match the runbook's name glob too.
    let pods: Api<Pod> = Api::namespaced(f.client.clone(), &f.tenant.namespace);
    let mine = poll("2 worker pods", || async {
        let list = pods.list(&ListParams::default().labels(&f.tenant.worker_selector())).await.ok()?;
        (list.items.len() == 2).then_some(list.items)
    })
    .await;
    assert!(mine.iter().all(|p| p.labels().get("kubevirt.io").map(String::as_str) == Some("virt-launcher")));
    let glob = format!("virt-launcher-{}-", f.tenant.name);
    let by_glob = poll("3 pods matching the name glob", || async {
        let all = pods.list(&ListParams::default()).await.ok()?;
        let n = all.items.iter().filter(|p| p.name_any().starts_with(&glob)).count();
        (n == 3).then_some(n)
    })
    .await;
    assert_eq!(by_glob, 3);
}

#[tokio::test]
async fn rotate_annotation_rotates_the_ca_in_place() {
    let opts = StandinOptions { rotation_delay: Duration::from_secs(2), ..StandinOptions::default() };
    let f = fixture("kamaji-rotate", opts).await;
    let before = f.all().await;
    let old_ca = data(&before[CA]);
    let deployments: Api<Deployment> = Api::namespaced(f.client.clone(), &f.tenant.namespace);
    let generation_before = deployments.get(&f.tenant.name).await.expect("deployment").metadata.generation;

    f.annotate_ca_rotate().await;

    let tcps = f.tcps();
    poll("status CertificateAuthorityRotating", || async {
        let tcp = tcps.get(&f.tenant.name).await.ok()?;
        (kamaji::phase(&tcp) == Some(STATUS_ROTATING)).then_some(())
    })
    .await;
    let after = poll("leaves re-issued for the new CA", || async {
        let all = f.all().await;
        let ca = data(&all[CA])["ca.crt"].clone();
        (ca != old_ca["ca.crt"] && leaves_verify(&all, &ca).is_ok()).then_some(all)
    })
    .await;
    wait_ready(&f.client, &f.tenant.namespace, &f.tenant.name, WAIT).await.expect("Ready again");

    let new_ca = data(&after[CA]);
    assert_ne!(pki::fingerprint(&new_ca["ca.crt"]).unwrap(), pki::fingerprint(&old_ca["ca.crt"]).unwrap());
    assert_ne!(new_ca["ca.key"], old_ca["ca.key"]);
    assert_eq!(new_ca["tls.crt"], new_ca["ca.crt"]);
    let stamp = after[CA].annotations().get(ANNOTATION_ROTATE).expect("rotate annotation kept");
    stamp.parse::<jiff::Timestamp>().unwrap_or_else(|e| panic!("rotate annotation {stamp:?} is not RFC3339: {e}"));

    for (suffix, secret) in &after {
        assert_eq!(secret.uid(), before[suffix].uid(), "{suffix} was replaced instead of rewritten in place");
    }
    for suffix in [
        API_SERVER,
        API_SERVER_KUBELET_CLIENT,
        KONNECTIVITY_CERT,
        ADMIN_KUBECONFIG,
        CONTROLLER_MANAGER_KUBECONFIG,
        SCHEDULER_KUBECONFIG,
        KONNECTIVITY_KUBECONFIG,
    ] {
        assert_ne!(data(&after[suffix]), data(&before[suffix]), "{suffix} not re-issued");
        assert!(!after[suffix].annotations().contains_key(ANNOTATION_ROTATE), "{suffix}");
    }
    for suffix in [SA, DATASTORE_CONFIG, DATASTORE_CERT, FRONT_PROXY_CA, FRONT_PROXY_CLIENT] {
        assert_eq!(data(&after[suffix]), data(&before[suffix]), "{suffix} must not change with the tenant CA");
    }

    let rolled = poll("tenant Deployment rolled", || async {
        let d = deployments.get(&f.tenant.name).await.ok()?;
        (d.metadata.generation != generation_before).then_some(d)
    })
    .await;
    let labels = rolled.spec.template.metadata.and_then(|m| m.labels).unwrap_or_default();
    assert_eq!(labels.get("component.kamaji.clastix.io/ca"), after[CA].annotations().get(ANNOTATION_CHECKSUM));
}

#[tokio::test]
async fn deleted_secrets_come_back_with_new_keys() {
    let f = fixture("kamaji-delete", StandinOptions::default()).await;
    let old_sa = f.data(SA).await;
    let old_ca = f.data(CA).await;
    let old_db = f.data(DATASTORE_CONFIG).await;

    f.secrets.delete(&f.tenant.secret(SA), &DeleteParams::default()).await.expect("delete SA");
    let new_sa = poll("a new SA secret", || async {
        let s = f.secrets.get_opt(&f.tenant.secret(SA)).await.ok()??;
        (data(&s) != old_sa).then(|| data(&s))
    })
    .await;
    assert_ne!(new_sa["sa.key"], old_sa["sa.key"], "kamaji#1325: a deleted SA secret gets a NEW key");
    assert!(pki::sa_pair_is_valid(&new_sa["sa.pub"], &new_sa["sa.key"]));
    assert_eq!(f.data(CA).await, old_ca, "deleting the SA secret leaves the CA alone");

    // The runbook's way: delete the CA; it comes back new and every leaf follows it.
    f.secrets.delete(&f.tenant.secret(CA), &DeleteParams::default()).await.expect("delete CA");
    let all = poll("a new CA with every leaf re-issued", || async {
        f.secrets.get_opt(&f.tenant.secret(CA)).await.ok()??;
        let all = f.all().await;
        let ca = data(&all[CA])["ca.crt"].clone();
        (ca != old_ca["ca.crt"] && leaves_verify(&all, &ca).is_ok()).then_some(all)
    })
    .await;
    assert_eq!(data(&all[DATASTORE_CONFIG]), old_db, "the DB password survives a CA rotation");
}

/// As Kamaji: an sa.pub of a new key followed by the old one, with sa.key the new key, is kept
/// (only the first key is checked) and rolls nothing (the recorded checksum stays); a
/// `kubectl rollout restart` annotation on the tenant Deployment's template is removed.
#[tokio::test]
async fn a_multi_key_sa_pub_is_kept_and_foreign_template_annotations_are_removed() {
    let f = fixture("kamaji-multikey", StandinOptions::default()).await;
    let deployments: Api<Deployment> = Api::namespaced(f.client.clone(), &f.tenant.namespace);
    let labels = |d: &Deployment| d.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    let before = labels(&deployments.get(&f.tenant.name).await.unwrap());
    let old = f.data(SA).await;
    let (new_pub, new_key) = pki::new_sa_key().unwrap();
    let bundle = format!("{new_pub}{}", String::from_utf8_lossy(&old["sa.pub"]));
    let mut secret = f.secret(SA).await;
    secret.data = Some(
        [("sa.pub", bundle.clone()), ("sa.key", new_key.clone())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), k8s_openapi::ByteString(v.into_bytes())))
            .collect(),
    );
    f.secrets.replace(&f.tenant.secret(SA), &Default::default(), &secret).await.unwrap();
    let restarted = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-12-01T00:00:00Z"
    }}}}});
    deployments.patch(&f.tenant.name, &PatchParams::default(), &Patch::Merge(&restarted)).await.unwrap();
    poll("the rollout-restart annotation removed", || async {
        let d = deployments.get(&f.tenant.name).await.ok()?;
        let annotations = d.spec.template.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
        (!annotations.contains_key("kubectl.kubernetes.io/restartedAt")).then_some(())
    })
    .await;
    let after = f.data(SA).await;
    assert_eq!((after["sa.pub"].as_slice(), after["sa.key"].as_slice()), (bundle.as_bytes(), new_key.as_bytes()), "kept");
    assert_eq!(labels(&deployments.get(&f.tenant.name).await.unwrap()), before, "a write Kamaji did not make rolls nothing");
}

#[tokio::test]
async fn old_kamaji_ignores_the_rotate_annotation() {
    let f = fixture("kamaji-old", StandinOptions::for_version("edge-25.4.1")).await;
    let before = f.all().await;
    f.annotate_ca_rotate().await;
    // A pass that certainly saw the annotation: delete a leaf after it and wait for its return.
    let client_secret = f.tenant.secret(FRONT_PROXY_CLIENT);
    let old_uid = before[FRONT_PROXY_CLIENT].uid();
    f.secrets.delete(&client_secret, &DeleteParams::default()).await.expect("delete leaf");
    poll("the deleted leaf to be re-made", || async {
        let s = f.secrets.get_opt(&client_secret).await.ok()??;
        (s.uid() != old_uid).then_some(())
    })
    .await;

    let after = f.all().await;
    assert_eq!(data(&after[CA]), data(&before[CA]), "edge-25.4.1 has no rotate annotation: the CA stays");
    assert_eq!(after[CA].annotations().get(ANNOTATION_ROTATE).map(String::as_str), Some(""));
    for suffix in [API_SERVER, ADMIN_KUBECONFIG, SA] {
        assert_eq!(data(&after[suffix]), data(&before[suffix]), "{suffix}");
    }
}

#[tokio::test]
async fn standin_binary_seeds_a_tenant_and_stops_on_sigterm() {
    let cp = ControlPlane::shared();
    let ns = cp.namespace("kamaji-bin").await.name;
    let client = cp.client().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kamaji-standin"))
        .arg("--kubeconfig")
        .arg(cp.kubeconfig())
        .args(["--namespace", &ns, "--kamaji-version", "edge-25.4.1", "--seed", &format!("{ns}/kubernetes-bin")])
        .kill_on_drop(true)
        .spawn()
        .expect("start kamaji-standin");
    wait_ready(&client, &ns, "kubernetes-bin", WAIT).await.expect("seeded tenant Ready");
    let kamaji: Api<Deployment> = Api::namespaced(client, "cozy-kamaji");
    let image = kamaji.get("kamaji").await.expect("kamaji Deployment").spec.template.spec.expect("pod spec").containers[0].image.clone();
    assert_eq!(image.as_deref(), Some("ghcr.io/clastix/kamaji:edge-25.4.1"));

    let pid = child.id().expect("pid") as i32;
    // SAFETY: plain kill(2) on the child we started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(WAIT, child.wait()).await.expect("exits after SIGTERM").expect("wait");
    assert!(status.success(), "kamaji-standin exited with {status}");
}
