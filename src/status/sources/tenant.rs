//! `--tenant NAME`: a Kamaji TenantControlPlane's secrets (label
//! `kamaji.clastix.io/name`), each leaf and kubeconfig checked against the
//! tenant's *current* CA (`<tcp>-ca`, `ca.crt`): the front-proxy client
//! against `<tcp>-front-proxy-ca-certificate`, the datastore certificate
//! against the `ca.crt` beside it. Shows the TCP status, and the
//! certificate the tenant API actually serves ([`super::tenant_api`]).
//!
//! Fetches and pushes rows; never renders, no clap.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams};

use crate::certs::parse::certificates_in;
use crate::certs::status::{Status, classify};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::kamaji::horizon::Horizon;
use crate::kamaji::{names, tcp};
use crate::status::row::{Collector, ControllerHorizon, HorizonStatus, Row, TenantInfo};
use crate::status::tenant_judge::{self, Expected, TenantSecret};
use crate::status::tenant_summary::TenantSummary;

use super::secrets::each_secret;
use super::tenant_api;

/// Where the Kamaji controller pods run (`--kamaji-namespace`, `--kamaji-selector`).
pub struct Controller<'a> {
    pub namespace: &'a str,
    pub selector: &'a str,
}

/// `timeout` bounds the handshake with the tenant API (`--server-timeout`).
pub async fn collect(
    ctx: &Ctx,
    col: &mut Collector<'_>,
    name: &str,
    page_size: u32,
    timeout: Duration,
    kamaji: &Controller<'_>,
    dial: Option<&crate::kamaji::endpoint::Dial>,
) -> Result<()> {
    let client = ctx.client().await?;
    let namespace = ctx.namespace().await?;
    let tcp_obj = match tcp::api(client.clone(), &namespace).get_opt(name).await {
        Ok(Some(obj)) => obj,
        Ok(None) => return Err(Error::NotFound { what: "TenantControlPlane", name: format!("{namespace}/{name}") }),
        Err(e) => return Err(ctx.api_error(e).await),
    };
    let kamaji = controller_horizon(&client, kamaji, col).await;
    col.tenants.push(TenantInfo {
        context: None,
        namespace: namespace.clone(),
        name: name.to_owned(),
        status: tcp::status(&tcp_obj),
        version: tcp::version(&tcp_obj),
        kamaji: Some(kamaji),
        pending_rotation: vec![],
        summary: None,
        error: None,
    });
    let secrets: Api<Secret> = Api::namespaced(client, &namespace);
    let ca = ca_of(ctx, &secrets, &names::secret_name(name, names::CA), names::KEY_CA_CRT).await?;
    let front_proxy_ca = ca_of(ctx, &secrets, &names::secret_name(name, names::FRONT_PROXY_CA), names::KEY_FRONT_PROXY_CA_CRT).await?;
    let params = ListParams::default().labels(&names::selector(name));
    // A tenant has a dozen secrets: kept (certificates only) to judge them together.
    let mut listed = Vec::new();
    each_secret(ctx, &secrets, params, page_size, |secret| listed.extend(TenantSecret::of(secret))).await?;
    // KubeconfigGenerator secrets embed the tenant's CA too (their drift locks users out).
    let generated = ListParams::default().labels(&format!("{}={name}", names::LABEL_MANAGED_FOR));
    each_secret(ctx, &secrets, generated, page_size, |secret| listed.extend(TenantSecret::of(secret))).await?;
    // Judged into a buffer first: the tenant's summary is folded from its rows.
    let mut rows: Vec<Row> = Vec::new();
    let mut own = Collector::new(col.now, col.warn_within, &mut rows);
    let pending = tenant_judge::push_secrets(&mut own, &listed, &ca, &front_proxy_ca);
    let seen = tenant_judge::seen(&listed);
    if !pending.is_empty() {
        col.judge_outcome(crate::error::Outcome::Warning);
    }
    if let Some(t) = col.tenants.last_mut() {
        t.pending_rotation = pending;
    }
    let control_plane_endpoint = tcp_obj.data.pointer("/status/controlPlaneEndpoint").and_then(|v| v.as_str());
    let check = tenant_api::Check { namespace: &namespace, tcp: name, control_plane_endpoint, ca: &ca, timeout, dial };
    tenant_api::collect(&mut own, &check, &seen).await;
    drop(own);
    let mut summary = TenantSummary::new(&namespace, name);
    for row in rows {
        summary.fold(&row);
        col.emit(row);
    }
    if let Some(t) = col.tenants.last_mut() {
        t.summary = Some(summary);
    }
    Ok(())
}

/// What the Kamaji controller issues now, judged against `--warn-within`. Not being able to
/// list its pods (another namespace, no permission) is a remark, never an error.
pub async fn controller_horizon(client: &kube::Client, kamaji: &Controller<'_>, col: &mut Collector<'_>) -> ControllerHorizon {
    let pods: Api<Pod> = Api::namespaced(client.clone(), kamaji.namespace);
    let listed = pods.list(&ListParams::default().labels(kamaji.selector)).await.map_err(Error::kube);
    let (horizon, message) = match listed {
        Ok(list) => (Horizon::of_pods(&list.items), None),
        Err(e) => (Horizon { pods: 0, started_at: None, issues_until: None }, Some(format!("cannot list its pods: {e}"))),
    };
    let status = match (horizon.started_at, horizon.issues_until) {
        (Some(started), Some(until)) => match classify(started, until, col.now, col.warn_within) {
            Status::Expired => HorizonStatus::Expired,
            Status::Expiring => HorizonStatus::Expiring,
            _ => HorizonStatus::Ok,
        },
        _ => HorizonStatus::Unknown,
    };
    let message = message.or_else(|| match status {
        HorizonStatus::Expired => Some("it issues leaves that are already expired: restart the controller".into()),
        HorizonStatus::Expiring => Some(format!(
            "leaves it issues now expire within {}: restart the controller before renewing or rotating",
            crate::duration::human_duration(col.warn_within)
        )),
        HorizonStatus::Unknown => {
            Some(format!("no pods match {} in {} (see --kamaji-namespace, --kamaji-selector)", kamaji.selector, kamaji.namespace))
        }
        HorizonStatus::Ok => None,
    });
    col.judge_outcome(status.outcome());
    ControllerHorizon {
        namespace: kamaji.namespace.to_string(),
        selector: kamaji.selector.to_string(),
        pods: horizon.pods,
        started_at: horizon.started_at,
        issues_until: horizon.issues_until,
        status,
        message,
    }
}

async fn ca_of(ctx: &Ctx, api: &Api<Secret>, secret: &str, key: &str) -> Result<Expected> {
    let found = match api.get_opt(secret).await {
        Ok(found) => found,
        Err(e) => return Err(ctx.api_error(e).await),
    };
    let Some(s) = found else { return Ok(Err(format!("CA secret {secret} not found"))) };
    let Some(bytes) = s.data.as_ref().and_then(|d| d.get(key)) else {
        return Ok(Err(format!("CA secret {secret} has no {key}")));
    };
    Ok(match certificates_in(&bytes.0) {
        Ok(certs) if !certs.is_empty() => Ok(certs.into_iter().map(|c| c.as_ref().to_vec()).collect()),
        Ok(_) => Err(format!("{secret}/{key} holds no certificate")),
        Err(e) => Err(format!("{secret}/{key}: {e}")),
    })
}
