//! The live tenant API, through the tenant's admin kubeconfig (`<tcp>-admin-kubeconfig`,
//! `admin.conf`): the proof that a key change did what it must. Tokens are minted with a
//! TokenRequest for a probe ServiceAccount, judged with a TokenReview (what the tenant API
//! itself says about a token), and the keys it verifies with are read from its JWKS
//! (`/openid/v1/jwks`: every key of `--service-account-key-file`, by kid). No clap types, no
//! printing; tokens never leave [`Token`] except to the tenant API.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec, TokenReview, TokenReviewSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, PostParams};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::kamaji::endpoint::Dial;

/// The ServiceAccount whose tokens probe the keys (created in the tenant when missing).
pub const PROBE_NAMESPACE: &str = "kube-system";
pub const PROBE_ACCOUNT: &str = "kubectl-pki-sa-key-probe";
/// Lifetime asked for a probe token (the API's minimum is 10 minutes).
const PROBE_SECONDS: i64 = 600;

/// A service-account token. Debug never shows it.
#[derive(Clone)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A client of the tenant API and where it points.
#[derive(Clone)]
pub struct TenantApi {
    pub client: kube::Client,
    pub url: String,
}

/// A client from the admin kubeconfig, each request bounded by `request_timeout`.
pub async fn connect(admin_conf: &[u8], request_timeout: Option<Duration>, dial: Option<&Dial>) -> Result<TenantApi> {
    let path = "the tenant's admin kubeconfig (admin.conf)";
    let kc = crate::certs::kubeconfig::parse(admin_conf).map_err(|reason| Error::Kubeconfig { path: path.into(), reason })?;
    let mut config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| Error::Kubeconfig { path: path.into(), reason: e.to_string() })?;
    crate::context::limit_requests(&mut config, request_timeout);
    if let Some(dial) = dial {
        // Dialled there, its certificate checked against the kubeconfig's host name.
        let host = config.cluster_url.host().map(str::to_owned);
        config.tls_server_name = config.tls_server_name.take().or(host);
        config.cluster_url = dial.url().parse().map_err(|e| Error::Invalid(format!("--tenant-endpoint {}: {e}", dial.url())))?;
    }
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| Error::Kubeconfig { path: path.into(), reason: e.to_string() })?;
    Ok(TenantApi { client, url })
}

impl TenantApi {
    fn err(&self, e: kube::Error) -> Error {
        Error::kube_at(e, Some(&self.url))
    }

    /// Creates the probe ServiceAccount unless it exists.
    pub async fn ensure_probe_account(&self) -> Result<()> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), PROBE_NAMESPACE);
        if api.get_opt(PROBE_ACCOUNT).await.map_err(|e| self.err(e))?.is_some() {
            return Ok(());
        }
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(PROBE_ACCOUNT.into()),
                labels: Some([("app.kubernetes.io/managed-by".to_string(), "kubectl-pki".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        match api.create(&PostParams::default(), &sa).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// A new token of the probe ServiceAccount, signed by the tenant API's signing key now.
    pub async fn mint(&self) -> Result<Token> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), PROBE_NAMESPACE);
        let req = TokenRequest {
            spec: Some(TokenRequestSpec { expiration_seconds: Some(PROBE_SECONDS), ..TokenRequestSpec::default() }),
            ..TokenRequest::default()
        };
        let got = api.create_token_request(PROBE_ACCOUNT, &PostParams::default(), &req).await.map_err(|e| self.err(e))?;
        let token = got.status.and_then(|s| s.token).filter(|t| !t.is_empty());
        token.map(Token).ok_or_else(|| Error::Invalid(format!("the tenant API at {} returned no token", self.url)))
    }

    /// What the tenant API says about `token`.
    pub async fn review(&self, token: &Token) -> Result<Review> {
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let review =
            TokenReview { spec: TokenReviewSpec { token: token.0.clone(), ..TokenReviewSpec::default() }, ..TokenReview::default() };
        let got = api.create(&PostParams::default(), &review).await.map_err(|e| self.err(e))?;
        let status = got.status.unwrap_or_default();
        Ok(if status.authenticated == Some(true) {
            Review::Authenticated { user: status.user.and_then(|u| u.username).unwrap_or_default() }
        } else {
            Review::Refused { error: status.error.unwrap_or_default() }
        })
    }

    /// The kids of the keys the tenant API verifies tokens with, from its JWKS.
    pub async fn verifying_kids(&self) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Jwks {
            keys: Vec<Jwk>,
        }
        #[derive(serde::Deserialize)]
        struct Jwk {
            #[serde(default)]
            kid: String,
        }
        let req =
            http::Request::get("/openid/v1/jwks").body(Vec::new()).map_err(|e| Error::Client(format!("building the JWKS request: {e}")))?;
        let text = self.client.request_text(req).await.map_err(|e| self.err(e))?;
        let jwks: Jwks = serde_json::from_str(&text).map_err(|e| Error::Invalid(format!("the JWKS of {}: {e}", self.url)))?;
        Ok(jwks.keys.into_iter().map(|k| k.kid).collect())
    }

    /// The legacy token Secrets (`kubernetes.io/service-account-token`) in the tenant: they
    /// never refresh, so they break when their signing key is removed.
    pub async fn legacy_tokens(&self) -> Result<Vec<LegacyToken>> {
        let api: Api<Secret> = Api::all(self.client.clone());
        let lp = ListParams::default().fields("type=kubernetes.io/service-account-token");
        let list = api.list_metadata(&lp).await.map_err(|e| self.err(e))?;
        let mut found: Vec<LegacyToken> = list
            .items
            .into_iter()
            .map(|s| LegacyToken {
                namespace: s.metadata.namespace.unwrap_or_default(),
                account: s
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("kubernetes.io/service-account.name").cloned())
                    .unwrap_or_default(),
                secret: s.metadata.name.unwrap_or_default(),
            })
            .collect();
        found.sort();
        Ok(found)
    }
}

/// A TokenReview's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "verdict")]
pub enum Review {
    Authenticated { user: String },
    Refused { error: String },
}

/// A ServiceAccount token Secret of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyToken {
    pub namespace: String,
    pub account: String,
    pub secret: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_token() {
        let t = Token("eyJhbGciOiJSUzI1NiJ9.secret.sig".into());
        assert_eq!(format!("{t:?}"), "Token([REDACTED])");
    }
}
