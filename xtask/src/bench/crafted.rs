//! The crafted-bundle case of `cargo xtask bench` (alone: `cargo xtask bench
//! crafted`): one Secret as large as the API server accepts (1 MiB of data)
//! holding only certificates named `CN=crafted`, each signed by the one
//! before it and without key identifiers, in keys of at most 500
//! certificates (kubectl-pki's bundle limit): every chain search meets
//! hundreds of same-named candidates, the worst case the limits allow.
//! `kubectl-pki status -n <ns> --source secrets -o json` is timed on it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use kubectl_pki_testkit::{named, with_params};

use super::Measure;

pub const NAMESPACE: &str = "bench-crafted";
const SECRET: &str = "crafted";
/// What the API server accepts in a Secret's data, less a margin for key names.
const DATA_BYTES: usize = (1 << 20) - 4096;
const PER_KEY: usize = 500;

pub struct Results {
    pub certificates: usize,
    pub keys: usize,
    pub bytes: usize,
    pub rows: usize,
    pub status: Measure,
}

/// Creates the secret unless it exists; (certificates, keys, bytes) it holds.
pub async fn ensure(client: &Client) -> Result<(usize, usize, usize)> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(NAMESPACE).await?.is_none() {
        let ns = Namespace { metadata: ObjectMeta { name: Some(NAMESPACE.into()), ..Default::default() }, ..Default::default() };
        namespaces.create(&PostParams::default(), &ns).await.context("create the crafted namespace")?;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    if let Some(existing) = secrets.get_opt(SECRET).await? {
        return Ok(shape(&existing.data.unwrap_or_default()));
    }
    let data = crafted_data()?;
    let shape = shape(&data);
    let secret = Secret {
        metadata: ObjectMeta { name: Some(SECRET.into()), ..Default::default() },
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Default::default()
    };
    secrets.create(&PostParams::default(), &secret).await.context("create the crafted secret")?;
    Ok(shape)
}

/// Keys `crafted-<k>.pem` of up to [`PER_KEY`] PEM certificates, one chain
/// of same-named certificates, [`DATA_BYTES`] in all.
fn crafted_data() -> Result<BTreeMap<String, ByteString>> {
    let mut data = BTreeMap::new();
    let (mut total, mut key, mut in_key) = (0, String::new(), 0);
    let mut previous = with_params(named("crafted", true), None);
    loop {
        if in_key == PER_KEY {
            data.insert(format!("crafted-{}.pem", data.len()), ByteString(std::mem::take(&mut key).into_bytes()));
            in_key = 0;
        }
        if total + previous.pem.len() > DATA_BYTES {
            break;
        }
        total += previous.pem.len();
        key.push_str(&previous.pem);
        in_key += 1;
        previous = with_params(named("crafted", true), Some(&previous));
    }
    if !key.is_empty() {
        data.insert(format!("crafted-{}.pem", data.len()), ByteString(key.into_bytes()));
    }
    Ok(data)
}

fn shape(data: &BTreeMap<String, ByteString>) -> (usize, usize, usize) {
    let text = |b: &ByteString| String::from_utf8_lossy(&b.0).matches("BEGIN CERTIFICATE").count();
    (data.values().map(text).sum(), data.len(), data.values().map(|b| b.0.len()).sum())
}

/// Seeds the secret and times `status` on its namespace `runs` times.
pub fn run(rt: &tokio::runtime::Runtime, client: &Client, pki: &Path, kubeconfig: &str, runs: usize) -> Result<Results> {
    let (certificates, keys, bytes) = rt.block_on(ensure(client))?;
    eprintln!("bench: crafted: {certificates} same-named certificates in {keys} keys, {bytes} bytes");
    let cmd = || {
        let mut c = Command::new(pki);
        c.args(["--kubeconfig", kubeconfig, "status", "-n", NAMESPACE, "-o", "json", "--source", "secrets"]);
        c
    };
    let out = cmd().output().context("run kubectl-pki status on the crafted secret")?;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).context("status -o json is not JSON")?;
    let rows = doc["items"].as_array().map_or(0, Vec::len);
    let samples = (0..runs).map(|_| super::measure(&mut cmd(), &[0, 3, 4])).collect::<Result<Vec<_>>>()?;
    Ok(Results { certificates, keys, bytes, rows, status: super::median(&samples) })
}

pub fn render(r: &Results, runs: usize) -> String {
    format!(
        "\nCrafted bundle: one Secret of {} bytes holding {} certificates all named CN=crafted (one chain, no key identifiers) in {} keys; \
         `kubectl pki status -n {NAMESPACE} -o json --source secrets`, median of {runs} runs: {} ({} peak RSS, {} rows).\n",
        r.bytes,
        r.certificates,
        r.keys,
        super::secs(r.status.wall),
        super::mib(r.status.rss_kib),
        r.rows
    )
}
