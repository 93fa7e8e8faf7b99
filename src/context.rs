//! The run context: global flags plus a lazily built Kubernetes client, so
//! offline subcommands never read a kubeconfig.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use tokio::sync::OnceCell;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result, flatten};
use crate::output::OutputFormat;

pub struct Ctx {
    pub global: GlobalArgs,
    client: OnceCell<(kube::Client, kube::Config)>,
}

impl Ctx {
    pub fn new(global: GlobalArgs) -> Self {
        Ctx { global, client: OnceCell::new() }
    }

    pub fn output(&self) -> OutputFormat {
        self.global.output
    }

    /// Where the kubeconfig comes from, for messages: the flag, then
    /// `$KUBECONFIG`, then `~/.kube/config`.
    pub fn kubeconfig_origin(&self) -> String {
        if let Some(p) = &self.global.kubeconfig {
            return p.display().to_string();
        }
        if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            return v.to_string_lossy().into_owned();
        }
        default_kubeconfig_path().map_or_else(|| "~/.kube/config".into(), |p| p.display().to_string())
    }

    /// The parsed kubeconfig (merged, when `$KUBECONFIG` lists several files).
    pub fn kubeconfig(&self) -> Result<Kubeconfig> {
        let origin = self.kubeconfig_origin();
        let read = match &self.global.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        };
        read.map_err(|e| Error::Kubeconfig { path: origin, reason: read_error(&e) })
    }

    /// The name of the context in use.
    pub fn context_name(&self, kc: &Kubeconfig) -> Option<String> {
        self.global.context.clone().or_else(|| kc.current_context.clone())
    }

    /// Client configuration for the selected context.
    pub async fn config(&self) -> Result<kube::Config> {
        Ok(self.connection().await?.1.clone())
    }

    /// A client for the selected context, built once.
    pub async fn client(&self) -> Result<kube::Client> {
        Ok(self.connection().await?.0.clone())
    }

    async fn connection(&self) -> Result<&(kube::Client, kube::Config)> {
        self.client
            .get_or_try_init(|| async {
                let kc = self.kubeconfig()?;
                let opts = KubeConfigOptions { context: self.global.context.clone(), ..Default::default() };
                let config = kube::Config::from_custom_kubeconfig(kc, &opts)
                    .await
                    .map_err(|e| Error::Kubeconfig { path: self.kubeconfig_origin(), reason: flatten(&e) })?;
                let client = kube::Client::try_from(config.clone())
                    .map_err(|e| Error::Kubeconfig { path: self.kubeconfig_origin(), reason: flatten(&e) })?;
                Ok::<_, Error>((client, config))
            })
            .await
    }

    /// The namespace: `-n`, else the context's, else `default`.
    pub async fn namespace(&self) -> Result<String> {
        if let Some(ns) = &self.global.namespace {
            return Ok(ns.clone());
        }
        Ok(self.config().await?.default_namespace)
    }

    /// [`Error::kube_at`] with the server of this run's client.
    pub async fn api_error(&self, err: kube::Error) -> Error {
        let server = self.client.get().map(|(_, c)| c.cluster_url.to_string());
        Error::kube_at(err, Some(server.as_deref().unwrap_or("the cluster")))
    }
}

/// kube's YAML errors quote the lines around the fault, which may hold a
/// private key: keep the position and the reason only.
fn read_error(err: &KubeconfigError) -> String {
    match err {
        KubeconfigError::Parse(e) => {
            let reason = crate::certs::kubeconfig::redact_yaml_error(e.as_ref());
            format!("not a valid kubeconfig: {}", reason.trim_start_matches("error: "))
        }
        other => flatten(other),
    }
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}
