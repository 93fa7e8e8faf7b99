//! One reconcile pass over a tenant's secrets: create what is missing, re-issue what is
//! invalid or asked to rotate, leave the rest alone (as Kamaji's resource handlers do).

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};

use super::names::*;
use super::pki::{self, CertKey, Dating, Usage};
use super::{Endpoint, StandinOptions};

pub type Data = BTreeMap<String, Vec<u8>>;

fn get<'a>(data: &'a Data, key: &str) -> &'a [u8] {
    data.get(key).map(Vec::as_slice).unwrap_or_default()
}

/// Why a secret is (re)written.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Why {
    Missing,
    Rotate,
    Invalid,
}

pub struct Pass<'a> {
    api: Api<Secret>,
    tcp: &'a DynamicObject,
    tcp_name: String,
    ns: String,
    opts: &'a StandinOptions,
    endpoint: Endpoint,
    /// How this pass dates kubeadm-issued certificates (the controller's process start).
    dating: Dating,
    /// The current secret of every suffix handled so far (for status and rollout hashes).
    pub current: BTreeMap<&'static str, Secret>,
}

impl<'a> Pass<'a> {
    pub fn new(client: kube::Client, tcp: &'a DynamicObject, opts: &'a StandinOptions, endpoint: Endpoint, dating: Dating) -> Self {
        let ns = tcp.namespace().unwrap_or_default();
        Pass { api: Api::namespaced(client, &ns), tcp_name: tcp.name_any(), ns, tcp, opts, endpoint, dating, current: BTreeMap::new() }
    }

    fn log(&self, suffix: &str, why: Why) {
        eprintln!("kamaji-standin: {}/{}: wrote {} ({why:?})", self.ns, self.tcp_name, secret_name(&self.tcp_name, suffix));
    }

    async fn load(&self, suffix: &str) -> Result<Option<Secret>> {
        let name = secret_name(&self.tcp_name, suffix);
        self.api.get_opt(&name).await.with_context(|| format!("reading secret {}/{name}", self.ns))
    }

    /// Whether to (re)write `existing`; `honours_rotate` for the CA, leaves and kubeconfigs.
    fn decide(&self, existing: &Option<Secret>, honours_rotate: bool, valid: impl FnOnce(&Data) -> bool) -> Option<Why> {
        let Some(secret) = existing else {
            return Some(Why::Missing);
        };
        let rotate = secret.annotations().get(ANNOTATION_ROTATE).is_some_and(|v| v.is_empty());
        if honours_rotate && rotate && self.opts.supports_rotate_annotation {
            return Some(Why::Rotate);
        }
        (!valid(&data_of(secret))).then_some(Why::Invalid)
    }

    /// Writes `data` into the existing secret object (in place) or a new one, with Kamaji's
    /// labels, checksum and owner reference.
    async fn store(&mut self, suffix: &'static str, existing: Option<Secret>, data: Data, why: Why, lifecycle: Option<&str>) -> Result<()> {
        let mut secret = existing.unwrap_or_else(|| Secret {
            metadata: ObjectMeta {
                name: Some(secret_name(&self.tcp_name, suffix)),
                namespace: Some(self.ns.clone()),
                ..ObjectMeta::default()
            },
            type_: Some(if suffix == KONNECTIVITY_CERT { "kubernetes.io/tls" } else { "Opaque" }.to_string()),
            ..Secret::default()
        });
        let labels = secret.labels_mut();
        labels.insert(LABEL_PROJECT.into(), "kamaji".into());
        labels.insert(LABEL_NAME.into(), self.tcp_name.clone());
        labels.insert(LABEL_COMPONENT.into(), suffix.into());
        if let Some(value) = lifecycle {
            labels.insert(LABEL_LIFECYCLE.into(), value.into());
        }
        let checksum = pki::checksum(data.iter().map(|(k, v)| (k, v.as_slice())));
        let annotations = secret.annotations_mut();
        annotations.insert(ANNOTATION_CHECKSUM.into(), checksum);
        if why == Why::Rotate {
            let now = jiff::Timestamp::now().round(jiff::Unit::Second)?;
            annotations.insert(ANNOTATION_ROTATE.into(), now.to_string());
        }
        if suffix == DATASTORE_CONFIG && !secret.finalizers().iter().any(|f| f == FINALIZER_DATASTORE_SECRET) {
            secret.finalizers_mut().push(FINALIZER_DATASTORE_SECRET.into());
        }
        let owner = self.owner_reference();
        let owners = secret.owner_references_mut();
        if !owners.iter().any(|o| o.uid == owner.uid) {
            owners.push(owner);
        }
        secret.data = Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect());
        secret.string_data = None;
        let name = secret.name_any();
        let written = if secret.metadata.resource_version.is_some() {
            self.api.replace(&name, &PostParams::default(), &secret).await
        } else {
            self.api.create(&PostParams::default(), &secret).await
        }
        .with_context(|| format!("writing secret {}/{name}", self.ns))?;
        self.log(suffix, why);
        self.current.insert(suffix, written);
        Ok(())
    }

    fn owner_reference(&self) -> OwnerReference {
        let ar = super::crd::api_resource();
        OwnerReference {
            api_version: ar.api_version,
            kind: ar.kind,
            name: self.tcp_name.clone(),
            uid: self.tcp.uid().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// The tenant CA: kept while valid, re-made (in place) when missing, invalid or asked to
    /// rotate. Returns the CA and whether it changed.
    pub async fn ensure_ca(&mut self) -> Result<(CertKey, bool)> {
        let existing = self.load(CA).await?;
        let why = self.decide(&existing, true, |d| pki::pair_is_valid(get(d, "ca.crt"), get(d, "ca.key")));
        let Some(why) = why else {
            let data = data_of(existing.as_ref().context("CA secret vanished")?);
            self.current.insert(CA, existing.context("CA secret vanished")?);
            return Ok((cert_key(&data, "ca.crt", "ca.key"), false));
        };
        let ca = pki::new_ca_dated("kubernetes", self.dating)?;
        let data = pairs([("ca.crt", &ca.cert), ("ca.key", &ca.key), ("tls.crt", &ca.cert), ("tls.key", &ca.key)]);
        self.store(CA, existing, data, why, None).await?;
        Ok((ca, true))
    }

    /// Every other secret, checked against the current CA.
    pub async fn ensure_rest(&mut self, ca: &CertKey, konnectivity: bool) -> Result<()> {
        self.ensure_sa().await?;
        let front_proxy_ca = self.ensure_ca_like(FRONT_PROXY_CA, "front-proxy-ca", "front-proxy-ca").await?;
        let host = self.endpoint.host.clone();
        let (t, n) = (self.tcp_name.clone(), self.ns.clone());
        let mut api_sans: Vec<String> =
            ["127.0.0.1", "localhost", "10.96.0.1", "kubernetes", "kubernetes.default"].into_iter().map(String::from).collect();
        api_sans.extend(["kubernetes.default.svc".into(), "kubernetes.default.svc.cluster.local".into()]);
        api_sans.extend([t.clone(), format!("{t}.{n}"), format!("{t}.{n}.svc"), format!("{t}.{n}.svc.cluster.local")]);
        if !api_sans.contains(&host) {
            api_sans.push(host.clone());
        }
        let masters = &["system:masters"][..];
        self.leaf(API_SERVER, ca, "apiserver", "kube-apiserver", &[], Usage::Server, api_sans).await?;
        self.leaf(
            API_SERVER_KUBELET_CLIENT,
            ca,
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            masters,
            Usage::Client,
            vec![],
        )
        .await?;
        self.leaf(FRONT_PROXY_CLIENT, &front_proxy_ca, "front-proxy-client", "front-proxy-client", &[], Usage::Client, vec![]).await?;
        self.ensure_datastore().await?;
        let svc = format!("https://{t}.{n}.svc:{}", self.endpoint.port);
        let url = self.endpoint.url.clone();
        let admin = [
            ("admin.conf", "kubernetes-admin", url.as_str()),
            ("admin.svc", "kubernetes-admin", svc.as_str()),
            ("super-admin.conf", "kubernetes-super-admin", url.as_str()),
            ("super-admin.svc", "kubernetes-super-admin", svc.as_str()),
        ];
        self.kubeconfig(ADMIN_KUBECONFIG, ca, &admin, masters).await?;
        let cm = [("controller-manager.conf", "system:kube-controller-manager", url.as_str())];
        self.kubeconfig(CONTROLLER_MANAGER_KUBECONFIG, ca, &cm, &[]).await?;
        self.kubeconfig(SCHEDULER_KUBECONFIG, ca, &[("scheduler.conf", "system:kube-scheduler", url.as_str())], &[]).await?;
        if konnectivity {
            let sans = vec!["127.0.0.1".into(), "localhost".into(), host];
            self.leaf(KONNECTIVITY_CERT, ca, "tls", "system:konnectivity-server", masters, Usage::ServerAndClient, sans).await?;
            let conf = [("konnectivity-server.conf", "system:konnectivity-server", url.as_str())];
            self.kubeconfig(KONNECTIVITY_KUBECONFIG, ca, &conf, masters).await?;
        }
        Ok(())
    }

    /// The service-account key: only re-made when missing or broken, so a CA rotation keeps
    /// tokens valid; deleting the secret makes a NEW key (kamaji#1325).
    async fn ensure_sa(&mut self) -> Result<()> {
        let existing = self.load(SA).await?;
        match self.decide(&existing, false, |d| pki::sa_pair_is_valid(get(d, "sa.pub"), get(d, "sa.key"))) {
            None => {
                self.keep(SA, existing);
                Ok(())
            }
            Some(why) => {
                let (public, private) = pki::new_sa_key()?;
                self.store(SA, existing, pairs([("sa.pub", &public), ("sa.key", &private)]), why, None).await
            }
        }
    }

    /// A CA stored with keys `<base>.crt` / `<base>.key` (the front-proxy CA).
    async fn ensure_ca_like(&mut self, suffix: &'static str, base: &str, cn: &str) -> Result<CertKey> {
        let (crt, key) = (format!("{base}.crt"), format!("{base}.key"));
        let existing = self.load(suffix).await?;
        match self.decide(&existing, false, |d| pki::pair_is_valid(get(d, &crt), get(d, &key))) {
            None => {
                let data = data_of(existing.as_ref().context("secret vanished")?);
                self.keep(suffix, existing);
                Ok(cert_key(&data, &crt, &key))
            }
            Some(why) => {
                let ca = pki::new_ca_dated(cn, self.dating)?;
                self.store(suffix, existing, pairs([(crt.as_str(), &ca.cert), (key.as_str(), &ca.key)]), why, None).await?;
                Ok(ca)
            }
        }
    }

    /// A leaf stored as `<base>.crt` / `<base>.key`, re-issued when it no longer verifies
    /// against `issuer`, its key does not match, it expires within a day, or a SAN is missing.
    #[allow(clippy::too_many_arguments)]
    async fn leaf(
        &mut self,
        suffix: &'static str,
        issuer: &CertKey,
        base: &str,
        cn: &str,
        orgs: &[&str],
        usage: Usage,
        sans: Vec<String>,
    ) -> Result<()> {
        let (crt, key) = (format!("{base}.crt"), format!("{base}.key"));
        let existing = self.load(suffix).await?;
        let why = self.decide(&existing, true, |d| {
            let c = get(d, &crt);
            pki::verifies(c, issuer.cert.as_bytes()) && pki::pair_is_valid(c, get(d, &key)) && pki::sans_cover(c, &sans)
        });
        let Some(why) = why else {
            self.keep(suffix, existing);
            return Ok(());
        };
        // Kamaji's konnectivity certificate comes from its own template, not kubeadm's.
        let dating = if suffix == KONNECTIVITY_CERT { Dating::NowTenYears } else { self.dating };
        let leaf = pki::new_leaf_dated(issuer, cn, orgs, usage, &sans, dating)?;
        self.store(suffix, existing, pairs([(crt.as_str(), &leaf.cert), (key.as_str(), &leaf.key)]), why, Some("x509")).await
    }

    /// A kubeconfig secret: `entries` are (data key, user CN, server URL); re-issued when any
    /// entry's embedded CA differs from the current CA, its client certificate does not verify,
    /// or its server URL changed.
    async fn kubeconfig(&mut self, suffix: &'static str, ca: &CertKey, entries: &[(&str, &str, &str)], orgs: &[&str]) -> Result<()> {
        let existing = self.load(suffix).await?;
        let why = self.decide(&existing, true, |d| {
            entries.iter().all(|(key, _, server)| {
                pki::parse_kubeconfig(get(d, key)).is_ok_and(|kc| {
                    kc.ca == ca.cert.as_bytes()
                        && kc.server == *server
                        && pki::verifies(kc.client.cert.as_bytes(), ca.cert.as_bytes())
                        && pki::pair_is_valid(kc.client.cert.as_bytes(), kc.client.key.as_bytes())
                })
            })
        });
        let Some(why) = why else {
            self.keep(suffix, existing);
            return Ok(());
        };
        let mut clients: HashMap<&str, CertKey> = HashMap::new();
        let mut data = Data::new();
        for (key, user, server) in entries {
            if !clients.contains_key(user) {
                clients.insert(user, pki::new_leaf_dated(ca, user, orgs, Usage::Client, &[], self.dating)?);
            }
            let yaml = pki::kubeconfig(server, &ca.cert, user, &clients[user])?;
            data.insert((*key).to_string(), yaml.into_bytes());
        }
        self.store(suffix, existing, data, why, Some("kubeconfig")).await
    }

    /// The datastore certificate (signed by the datastore's own CA, so a tenant CA rotation
    /// leaves it alone) and the datastore config (a new password only when it is re-made).
    async fn ensure_datastore(&mut self) -> Result<()> {
        let ds_ca = self.datastore_ca().await?;
        let existing = self.load(DATASTORE_CERT).await?;
        let sans = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let why = self.decide(&existing, true, |d| {
            get(d, "ca.crt") == ds_ca.cert.as_bytes()
                && pki::verifies(get(d, "server.crt"), ds_ca.cert.as_bytes())
                && pki::pair_is_valid(get(d, "server.crt"), get(d, "server.key"))
        });
        match why {
            None => self.keep(DATASTORE_CERT, existing),
            Some(why) => {
                let leaf =
                    pki::new_leaf_dated(&ds_ca, &self.tcp_name, &["system:masters"], Usage::ServerAndClient, &sans, Dating::NowTenYears)?;
                let data = pairs([("ca.crt", &ds_ca.cert), ("server.crt", &leaf.cert), ("server.key", &leaf.key)]);
                self.store(DATASTORE_CERT, existing, data, why, Some("x509")).await?;
            }
        }

        let existing = self.load(DATASTORE_CONFIG).await?;
        if let Some(secret) = existing.as_ref().filter(|s| s.metadata.deletion_timestamp.is_some()) {
            // Being deleted: let it go; its deletion event brings the next pass, which re-makes it.
            return release_finalizer(&self.api, secret, FINALIZER_DATASTORE_SECRET).await;
        }
        let checksum_ok = |s: &Secret| {
            let data = data_of(s);
            s.annotations().get(ANNOTATION_CHECKSUM) == Some(&pki::checksum(data.iter().map(|(k, v)| (k, v.as_slice()))))
        };
        let why = match &existing {
            None => Some(Why::Missing),
            Some(s) if !checksum_ok(s) => Some(Why::Invalid),
            Some(_) => None,
        };
        let Some(why) = why else {
            self.keep(DATASTORE_CONFIG, existing);
            return Ok(());
        };
        let schema = format!("{}_{}", self.ns, self.tcp_name).replace('-', "_");
        let password = pki::random_hex()?;
        let data = pairs([
            ("DB_CONNECTION_STRING", &"etcd://127.0.0.1:2379".to_string()),
            ("DB_SCHEMA", &schema),
            ("DB_USER", &schema),
            ("DB_PASSWORD", &password),
        ]);
        self.store(DATASTORE_CONFIG, existing, data, why, None).await
    }

    /// The datastore CA (secret `etcd-ca-tls` in the tenant namespace, not owned by the TCP).
    async fn datastore_ca(&self) -> Result<CertKey> {
        if let Some(s) = self.api.get_opt(DATASTORE_CA_SECRET).await? {
            let data = data_of(&s);
            if pki::pair_is_valid(get(&data, "tls.crt"), get(&data, "tls.key")) {
                return Ok(cert_key(&data, "tls.crt", "tls.key"));
            }
        }
        let ca = pki::new_ca_dated("etcd-ca", Dating::NowTenYears)?;
        let data = pairs([("ca.crt", &ca.cert), ("tls.crt", &ca.cert), ("tls.key", &ca.key)]);
        let secret = Secret {
            metadata: ObjectMeta { name: Some(DATASTORE_CA_SECRET.into()), ..ObjectMeta::default() },
            data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
            ..Secret::default()
        };
        let pp = PatchParams::apply("kamaji-standin").force();
        self.api.patch(DATASTORE_CA_SECRET, &pp, &Patch::Apply(&secret)).await?;
        Ok(ca)
    }

    fn keep(&mut self, suffix: &'static str, existing: Option<Secret>) {
        if let Some(secret) = existing {
            self.current.insert(suffix, secret);
        }
    }
}

/// Removes `finalizer` from `secret` (a no-op if it is not there).
pub async fn release_finalizer(api: &Api<Secret>, secret: &Secret, finalizer: &str) -> Result<()> {
    if !secret.finalizers().iter().any(|f| f == finalizer) {
        return Ok(());
    }
    let rest: Vec<&String> = secret.finalizers().iter().filter(|f| *f != finalizer).collect();
    let patch = serde_json::json!({"metadata": {"finalizers": rest, "resourceVersion": secret.resource_version()}});
    api.patch(&secret.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

pub fn data_of(secret: &Secret) -> Data {
    secret.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}

fn cert_key(data: &Data, crt: &str, key: &str) -> CertKey {
    let text = |k: &str| String::from_utf8_lossy(get(data, k)).into_owned();
    CertKey { cert: text(crt), key: text(key) }
}

fn pairs<const N: usize>(entries: [(&str, &String); N]) -> Data {
    entries.into_iter().map(|(k, v)| (k.to_string(), v.clone().into_bytes())).collect()
}
