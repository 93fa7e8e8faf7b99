//! Seeds the bench control plane with N `kubernetes.io/tls` secrets across
//! N/10 namespaces: leaves of mixed key types (ECDSA P-256, Ed25519, one
//! RSA-2048 key made once with openssl) signed by a CA per namespace, whose
//! certificate is the secret's `ca.crt`. Idempotent: a ConfigMap marker
//! records the seeded count, so a second run with the same N does nothing,
//! a larger N adds the difference and a smaller one removes the surplus.

use anyhow::{Context, Result, bail};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kubectl_pki_testkit::{KeyType, issue, kubeadm, sign};
use rcgen::{Issuer, KeyPair};
use std::collections::BTreeMap;

pub const PER_NAMESPACE: usize = 10;
/// Concurrent creates: enough to keep the API server busy, bounded so
/// neither side queues thousands of requests.
const CONCURRENCY: usize = 16;
const MARKER: &str = "kubectl-pki-bench-seed";
const MARKER_NS: &str = "default";

pub fn namespace(i: usize) -> String {
    format!("bench-{i:05}")
}

/// Makes the cluster hold exactly `n` bench secrets.
pub async fn ensure(client: &Client, n: usize, rsa_key_pem: &str) -> Result<()> {
    if !n.is_multiple_of(PER_NAMESPACE) || n == 0 {
        bail!("size {n}: must be a positive multiple of {PER_NAMESPACE}");
    }
    let have = seeded(client).await?;
    if have == n {
        eprintln!("bench: {n} secrets already seeded (marker {MARKER_NS}/{MARKER})");
        return Ok(());
    }
    let started = std::time::Instant::now();
    if have > n {
        shrink(client, n / PER_NAMESPACE, have / PER_NAMESPACE).await?;
    } else {
        grow(client, have / PER_NAMESPACE, n / PER_NAMESPACE, rsa_key_pem).await?;
    }
    mark(client, n).await?;
    eprintln!("bench: seeded {n} secrets (had {have}) in {:.1?}", started.elapsed());
    Ok(())
}

async fn seeded(client: &Client) -> Result<usize> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), MARKER_NS);
    let cm = cms.get_opt(MARKER).await.context("read the seed marker")?;
    Ok(cm.and_then(|c| c.data).and_then(|d| d.get("secrets").and_then(|v| v.parse().ok())).unwrap_or(0))
}

async fn mark(client: &Client, n: usize) -> Result<()> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), MARKER_NS);
    let cm = ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some(MARKER.into()), ..Default::default() },
        data: Some(BTreeMap::from([("secrets".to_string(), n.to_string())])),
        ..Default::default()
    };
    let pp = kube::api::PatchParams::apply("xtask-bench").force();
    cms.patch(MARKER, &pp, &kube::api::Patch::Apply(&cm)).await.context("write the seed marker")?;
    Ok(())
}

/// Creates namespaces `from..to` and their secrets; existing ones are kept
/// (a run interrupted before the marker was written resumes).
async fn grow(client: &Client, from: usize, to: usize, rsa_key_pem: &str) -> Result<()> {
    let rsa = KeyPair::from_pem(rsa_key_pem).context("load the RSA key")?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    futures::stream::iter(from..to)
        .map(|i| {
            let namespaces = namespaces.clone();
            async move {
                let ns =
                    Namespace { metadata: kube::api::ObjectMeta { name: Some(namespace(i)), ..Default::default() }, ..Default::default() };
                ignore_conflict(namespaces.create(&PostParams::default(), &ns).await.map(drop))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await
        .context("create bench namespaces")?;

    let cas = (from..to).map(|i| NamespaceCa::new(&namespace(i))).collect::<Result<Vec<_>>>()?;
    let total = (to - from) * PER_NAMESPACE;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let work = (from..to).zip(&cas).flat_map(|(i, ca)| (0..PER_NAMESPACE).map(move |j| (i, ca, j)));
    futures::stream::iter(work)
        .map(|(i, ca, j)| {
            let (done, rsa) = (&done, &rsa);
            let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace(i));
            async move {
                let secret = ca.tls_secret(j, rsa)?;
                ignore_conflict(secrets.create(&PostParams::default(), &secret).await.map(drop))?;
                let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if d % 1000 == 0 {
                    eprintln!("bench: {d}/{total} secrets");
                }
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await
        .context("create bench secrets")
}

/// Removes the secrets of namespaces `from..to` (synchronously, so a
/// following `-A` list no longer sees them), then the namespaces, and waits
/// until they are gone (a namespace still terminating refuses new secrets).
async fn shrink(client: &Client, from: usize, to: usize) -> Result<()> {
    futures::stream::iter(from..to)
        .map(|i| {
            let client = client.clone();
            async move {
                let name = namespace(i);
                let secrets: Api<Secret> = Api::namespaced(client.clone(), &name);
                secrets.delete_collection(&DeleteParams::default(), &ListParams::default()).await?;
                Api::<Namespace>::all(client).delete(&name, &DeleteParams::default()).await.map(drop)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .map(|r| match r {
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            other => other,
        })
        .try_collect::<()>()
        .await
        .context("remove surplus bench namespaces")?;
    // A later growth recreates them: wait until the namespace controller is done.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    for i in from..to {
        while namespaces.get_opt(&namespace(i)).await?.is_some() {
            anyhow::ensure!(std::time::Instant::now() < deadline, "namespace {} still terminating after 3 minutes", namespace(i));
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

fn ignore_conflict(r: kube::Result<()>) -> Result<()> {
    match r {
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        other => Ok(other?),
    }
}

/// One namespace's CA (ECDSA P-256, 10 years).
struct NamespaceCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl NamespaceCa {
    fn new(namespace: &str) -> Result<NamespaceCa> {
        let ca = issue(kubeadm::ca(&format!("{namespace}-ca")), KeyType::EcdsaP256.generate()?, None)?;
        Ok(NamespaceCa { pem: ca.pem, issuer: ca.issuer })
    }

    /// Secret `tls-<j>`: the key type cycles ECDSA P-256, Ed25519, RSA-2048.
    fn tls_secret(&self, j: usize, rsa: &KeyPair) -> Result<Secret> {
        let fresh;
        let key = match j % 3 {
            0 => {
                fresh = KeyType::EcdsaP256.generate()?;
                &fresh
            }
            1 => {
                fresh = KeyType::Ed25519.generate()?;
                &fresh
            }
            _ => rsa,
        };
        let name = format!("tls-{j}");
        let cert = sign(&kubeadm::serving(&name, &[&format!("{name}.bench.svc")])?, key, Some(&self.issuer))?;
        let data = BTreeMap::from([
            ("tls.crt".to_string(), ByteString(cert.pem().into_bytes())),
            ("tls.key".to_string(), ByteString(key.serialize_pem().into_bytes())),
            ("ca.crt".to_string(), ByteString(self.pem.clone().into_bytes())),
        ]);
        Ok(Secret {
            metadata: kube::api::ObjectMeta { name: Some(name), ..Default::default() },
            type_: Some("kubernetes.io/tls".into()),
            data: Some(data),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_secrets_cycle_key_types_and_chain_to_their_namespace_ca() {
        let dir = tempfile::tempdir().unwrap();
        let rsa = KeyPair::from_pem(&kubectl_pki_testkit::rsa_2048_pem(&dir.path().join("rsa.key")).unwrap()).unwrap();
        let ca = NamespaceCa::new("bench-00000").unwrap();
        let algs: Vec<_> = (0..3)
            .map(|j| {
                let secret = ca.tls_secret(j, &rsa).unwrap();
                let data = secret.data.unwrap();
                assert_eq!(secret.metadata.name.as_deref(), Some(format!("tls-{j}").as_str()));
                assert_eq!(data["ca.crt"].0, ca.pem.as_bytes());
                assert!(kubectl_pki_testkit::signed_by(&data["tls.crt"].0, &data["ca.crt"].0), "tls-{j}");
                let key = KeyPair::from_pem(std::str::from_utf8(&data["tls.key"].0).unwrap()).unwrap();
                key.algorithm()
            })
            .collect();
        assert_eq!(algs, [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ED25519, &rcgen::PKCS_RSA_SHA256]);
    }
}
