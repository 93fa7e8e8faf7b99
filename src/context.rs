//! The run context: the global settings plus the kubeconfig, read and
//! parsed once, and a Kubernetes client built from it, both lazily, so
//! offline subcommands never read a kubeconfig. No clap types: the command
//! layer turns the global flags into [`Settings`].

use std::path::PathBuf;
use std::sync::OnceLock;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use tokio::sync::OnceCell;

use crate::error::{Error, Result, flatten};
use crate::output::OutputFormat;

/// What every subcommand shares: where the kubeconfig is, which context
/// and namespace, and the output format.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The kubeconfig file; `None`: `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The context; `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// The namespace; `None`: the context's, then `default`.
    pub namespace: Option<String>,
    pub output: OutputFormat,
    /// The limit of each API request (`--request-timeout`); `None`: none.
    pub request_timeout: Option<std::time::Duration>,
}

pub struct Ctx {
    pub settings: Settings,
    kubeconfig: OnceLock<Kubeconfig>,
    client: OnceCell<(kube::Client, kube::Config)>,
}

impl Ctx {
    pub fn new(settings: Settings) -> Self {
        Ctx { settings, kubeconfig: OnceLock::new(), client: OnceCell::new() }
    }

    pub fn output(&self) -> OutputFormat {
        self.settings.output
    }

    /// Where the kubeconfig comes from, for messages: the flag, then
    /// `$KUBECONFIG`, then `~/.kube/config`.
    pub fn kubeconfig_origin(&self) -> String {
        if let Some(p) = &self.settings.kubeconfig {
            return p.display().to_string();
        }
        if let Some(v) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            return v.to_string_lossy().into_owned();
        }
        default_kubeconfig_path().map_or_else(|| "~/.kube/config".into(), |p| p.display().to_string())
    }

    /// The parsed kubeconfig (merged, when `$KUBECONFIG` lists several
    /// files), read once per run: the client and the kubeconfig source of
    /// `status` share it.
    pub fn kubeconfig(&self) -> Result<&Kubeconfig> {
        if let Some(kc) = self.kubeconfig.get() {
            return Ok(kc);
        }
        let read = match &self.settings.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        };
        let kc = read.map_err(|e| Error::Kubeconfig { path: self.kubeconfig_origin(), reason: read_error(&e) })?;
        Ok(self.kubeconfig.get_or_init(|| kc))
    }

    /// The same run for another context of the same kubeconfig, read once.
    pub fn for_context(&self, name: &str) -> Ctx {
        let ctx = Ctx::new(Settings { context: Some(name.to_string()), ..self.settings.clone() });
        if let Some(kc) = self.kubeconfig.get() {
            let _ = ctx.kubeconfig.set(kc.clone());
        }
        ctx
    }

    /// The API server URL, once this run's client is built (never builds it).
    pub fn server(&self) -> Option<String> {
        self.client.get().map(|(_, c)| c.cluster_url.to_string())
    }

    /// Every context of the kubeconfig, in its order.
    pub fn context_names(&self) -> Result<Vec<String>> {
        Ok(self.kubeconfig()?.contexts.iter().map(|c| c.name.clone()).collect())
    }

    /// The name of the context in use: `--context`, else the kubeconfig's
    /// current context. Every reader of the kubeconfig resolves it here.
    pub fn context_name(&self, kc: &Kubeconfig) -> Option<String> {
        self.settings.context.clone().or_else(|| kc.current_context.clone())
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
                if self.in_cluster() {
                    // As client-go: no kubeconfig anywhere, inside a pod: its service account.
                    let mut config = kube::Config::incluster()
                        .map_err(|e| Error::Kubeconfig { path: "in-cluster service account".into(), reason: flatten(&e) })?;
                    limit_requests(&mut config, self.settings.request_timeout);
                    let _ = SERVER_URL.set(config.cluster_url.to_string());
                    let client = kube::Client::try_from(config.clone())
                        .map_err(|e| Error::Kubeconfig { path: "in-cluster service account".into(), reason: flatten(&e) })?;
                    return Ok::<_, Error>((client, config));
                }
                let kc = self.kubeconfig()?;
                let opts = KubeConfigOptions { context: self.context_name(kc), ..Default::default() };
                oidc_token(kc, opts.context.as_deref(), jiff::Timestamp::now().as_second())
                    .map_err(|reason| Error::Kubeconfig { path: self.kubeconfig_origin(), reason })?;
                let mut config = kube::Config::from_custom_kubeconfig(kc.clone(), &opts)
                    .await
                    .map_err(|e| Error::Kubeconfig { path: self.kubeconfig_origin(), reason: flatten(&e) })?;
                config.proxy_url = self.proxy(kc, opts.context.as_deref(), &config.cluster_url)?;
                limit_requests(&mut config, self.settings.request_timeout);
                let _ = SERVER_URL.set(config.cluster_url.to_string());
                read_token_file(&mut config.auth_info).map_err(|reason| Error::Kubeconfig { path: self.kubeconfig_origin(), reason })?;
                let client = kube::Client::try_from(config.clone())
                    .map_err(|e| Error::Kubeconfig { path: self.kubeconfig_origin(), reason: flatten(&e) })?;
                Ok::<_, Error>((client, config))
            })
            .await
    }

    /// No `--kubeconfig`, no `$KUBECONFIG`, no `~/.kube/config`, and the
    /// pod's API environment: kubectl and client-go then use the service account.
    fn in_cluster(&self) -> bool {
        self.settings.kubeconfig.is_none()
            && std::env::var_os("KUBECONFIG").is_none_or(|v| v.is_empty())
            && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
            && default_kubeconfig_path().is_none_or(|p| !p.exists())
    }

    /// The proxy to `server` as kubectl picks it: the context's cluster's
    /// `proxy-url`, else the environment's, `NO_PROXY` and loopback
    /// servers excepted (see [`crate::proxy`]).
    fn proxy(&self, kc: &Kubeconfig, context: Option<&str>, server: &http::Uri) -> Result<Option<http::Uri>> {
        let cluster = context
            .and_then(|name| kc.contexts.iter().find(|c| c.name == name))
            .and_then(|c| c.context.as_ref())
            .and_then(|c| kc.clusters.iter().find(|n| n.name == c.cluster))
            .and_then(|n| n.cluster.as_ref());
        let proxy_url = cluster.and_then(|c| c.proxy_url.as_deref());
        let scheme = server.scheme_str().unwrap_or("https");
        let port = server.port_u16().unwrap_or(if scheme == "http" { 80 } else { 443 });
        let Some(url) = crate::proxy::choose(scheme, server.host().unwrap_or_default(), port, proxy_url, |k| std::env::var(k).ok()) else {
            return Ok(None);
        };
        // The URL may hold credentials: the message does not quote it.
        url.parse()
            .map(Some)
            .map_err(|e| Error::Kubeconfig { path: self.kubeconfig_origin(), reason: format!("the proxy URL is not a valid URL: {e}") })
    }

    /// The namespace: `-n`, else the context's, else `default`.
    pub async fn namespace(&self) -> Result<String> {
        if let Some(ns) = &self.settings.namespace {
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

/// Bounds every request by `limit`: kube 5 reads responses without a
/// limit, so a server that stops answering would hang the run. The read
/// limit counts from each write (not from when a pooled connection went
/// idle). Requests of this plugin are short (lists are paged), so one
/// limit fits all of them.
pub(crate) fn limit_requests(config: &mut kube::Config, limit: Option<std::time::Duration>) {
    let Some(limit) = limit else { return };
    crate::error::set_request_limit(limit);
    config.read_timeout = Some(limit);
    config.write_timeout = Some(config.write_timeout.map_or(limit, |w| w.min(limit)));
    config.connect_timeout = Some(config.connect_timeout.map_or(limit, |c| c.min(limit)));
    config.reset_reader_on_write = true;
}

/// The API server URL of this process's client, once it is built.
static SERVER_URL: OnceLock<String> = OnceLock::new();

/// The API server URL this process's client talks to (recorded in backups
/// with the cluster's identity), once the client is built.
pub fn server_url() -> Option<String> {
    SERVER_URL.get().cloned()
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

/// The `oidc` auth-provider: kube sends its `id-token` as is and, unlike
/// kubectl, never refreshes it with the `refresh-token`. A missing or
/// expired one is said in one line, with what to do instead, rather than
/// left to a 401 from the API server.
fn oidc_token(kc: &Kubeconfig, context: Option<&str>, now: i64) -> std::result::Result<(), String> {
    let Some(name) = context else { return Ok(()) };
    let user = kc.contexts.iter().find(|c| c.name == name).and_then(|c| c.context.as_ref()).and_then(|c| c.user.as_deref());
    let provider = kc.auth_infos.iter().find(|a| Some(a.name.as_str()) == user).and_then(|a| a.auth_info.as_ref()?.auth_provider.as_ref());
    let Some(provider) = provider.filter(|p| p.name == "oidc") else { return Ok(()) };
    let problem = match provider.config.get("id-token").filter(|t| !t.is_empty()) {
        None => "has no id-token",
        Some(token) if jwt_expiry(token).is_some_and(|exp| exp <= now) => "has an expired id-token",
        Some(_) => return Ok(()),
    };
    Err(format!(
        "context {name:?}: the oidc auth-provider {problem}, and kubectl-pki does not refresh OIDC tokens: run any kubectl command with this context first (kubectl refreshes it into the kubeconfig), or use an exec credential plugin such as kubelogin (kubectl oidc-login)"
    ))
}

/// The `exp` claim of a JWT, if it has one (no signature is checked: the API server does).
fn jwt_expiry(token: &str) -> Option<i64> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?.get("exp")?.as_i64()
}

/// `tokenFile` as client-go reads it: surrounding whitespace trimmed (a
/// file written by `echo` ends in a newline, which kube would send in the
/// header and fail on). Read once, at most 1 MiB; the message names the
/// file, never its content.
fn read_token_file(auth: &mut kube::config::AuthInfo) -> std::result::Result<(), String> {
    if auth.token.is_some() {
        return Ok(());
    }
    let Some(path) = auth.token_file.take() else { return Ok(()) };
    let bytes = crate::certs::limits::read_file(std::path::Path::new(&path))
        .map_err(|e| format!("tokenFile {path}: {e}"))?
        .map_err(|e| format!("tokenFile {path}: {e}"))?;
    let token = String::from_utf8(bytes).map_err(|_| format!("tokenFile {path} is not UTF-8 text"))?;
    auth.token = Some(secrecy::SecretString::from(token.trim().to_owned()));
    Ok(())
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(config: &str) -> Kubeconfig {
        let yaml = format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:1'}}}}]\n\
             users: [{{name: u, user: {{auth-provider: {{name: oidc, config: {{client-id: k, idp-issuer-url: 'https://i', {config}}}}}}}}}]\n\
             contexts: [{{name: auth, context: {{cluster: c, user: u}}}}]\ncurrent-context: auth\n"
        );
        Kubeconfig::from_yaml(&yaml).unwrap()
    }

    fn jwt(exp: i64) -> String {
        use base64::Engine;
        let part = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", part(serde_json::json!({"alg": "RS256"})), part(serde_json::json!({"exp": exp})))
    }

    #[test]
    fn an_oidc_id_token_is_used_until_it_expires_then_the_error_says_what_to_do() {
        let now = 1_800_000_000;
        assert_eq!(oidc_token(&kubeconfig(&format!("id-token: '{}'", jwt(now + 60))), Some("auth"), now), Ok(()));
        let expired = oidc_token(&kubeconfig(&format!("id-token: '{}', refresh-token: r", jwt(now - 1))), Some("auth"), now).unwrap_err();
        assert!(
            expired.starts_with("context \"auth\": the oidc auth-provider has an expired id-token, and kubectl-pki does not refresh"),
            "{expired}"
        );
        let missing = oidc_token(&kubeconfig("extra: x"), Some("auth"), now).unwrap_err();
        assert!(missing.contains("has no id-token") && missing.contains("exec credential plugin such as kubelogin"), "{missing}");
        assert!(!missing.contains('\n'));
        // Not a JWT: left to the API server, as kubectl would send it.
        assert_eq!(oidc_token(&kubeconfig("id-token: opaque"), Some("auth"), now), Ok(()));
    }
}
