//! `kubectl pki status`: every certificate the current context depends on,
//! with expiry, chain verdict and a status per row; the exit code is the
//! worst status (0 ok, 3 expiring or pending-restart, 4 expired/invalid/
//! not-yet-valid/mismatch or an unverified chain).
//!
//! Sources push rows into a [`row::Collector`], which hands each to the
//! [`render::Output`] of the chosen format as it is judged; the document
//! is printed once every source has succeeded.
//!
//! No clap types: [`Options`] holds the flags already parsed (`crate::commands::status`).

pub mod collector;
pub mod fleet;
pub mod item;
pub mod judge;
pub mod plan;
pub mod prometheus;
pub mod render;
pub mod row;
pub mod served;
pub mod sources;
pub mod table;
pub mod tenant_judge;
pub mod tenant_summary;
pub mod tenants_table;

use std::path::PathBuf;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::certs::kubeconfig::ContextCerts;
use crate::context::Ctx;
use crate::error::{Error, Outcome, Result};
use crate::output::OutputFormat;
use row::{Collector, SourceKind};

/// A `status` run, its flags already parsed.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sources to read, in order ([`plan::sources`]).
    pub sources: Vec<SourceKind>,
    /// `--source` was given: a refused source is an error, not a warning.
    pub sources_chosen: bool,
    pub all_namespaces: bool,
    /// A TenantControlPlane, or a Cozystack cluster name (`demo` for `kubernetes-demo`).
    pub tenant: Option<String>,
    /// Every TenantControlPlane in scope (`-n`, `-A`) instead of one.
    pub all_tenants: bool,
    /// Contexts read at once; tenant APIs (`--all-tenants`) or caBundle servers dialled at once.
    pub concurrency: usize,
    /// Which contexts: the current one, or several into one table ([`fleet`]).
    pub contexts: fleet::Contexts,
    /// Limit of reading one context of several.
    pub context_timeout: Duration,
    /// The order of table rows.
    pub sort_by: table::SortBy,
    pub files: Vec<PathBuf>,
    pub k3s_dir: Option<PathBuf>,
    pub kubeadm_dir: Option<PathBuf>,
    /// Certificates expiring within it are `expiring`.
    pub warn_within: SignedDuration,
    /// Limit of a TLS handshake to read a served certificate.
    pub server_timeout: Duration,
    /// Counts per status instead of rows.
    pub summary: bool,
    /// Objects per list request.
    pub page_size: u32,
    pub format: OutputFormat,
    /// Where the Kamaji controller pods run, for the tenant's issuance horizon.
    pub kamaji_namespace: String,
    pub kamaji_selector: String,
    /// `--tenant-endpoint` (with `--tenant`): where its API is dialled.
    pub tenant_endpoint: Option<crate::kamaji::endpoint::Dial>,
}

pub async fn run(opts: &Options, ctx: &Ctx) -> Result<Outcome> {
    if opts.contexts != fleet::Contexts::Current {
        return fleet::run(opts, ctx).await;
    }
    let mut output = output_of(opts);
    let mut col = Collector::new(Timestamp::now(), opts.warn_within, &mut output);
    collect(opts, ctx, &mut col).await?;
    let tally = col.finish();
    output.print(&tally)?;
    Ok(tally.outcome)
}

/// The output of the format asked for (the tenant table for `--all-tenants`).
fn output_of(opts: &Options) -> render::Output {
    let output = if opts.all_tenants {
        render::Output::for_tenants(opts.format, opts.summary)
    } else {
        render::Output::new(opts.format, opts.summary)
    };
    output.sorted_by(opts.sort_by)
}

/// Reads every source of `opts` through `ctx` into `col`, in order.
async fn collect(opts: &Options, ctx: &Ctx, col: &mut Collector<'_>) -> Result<()> {
    let sources = &opts.sources;
    // Read once for the kubeconfig and server sources; resolved once for
    // the secrets and tenant sources.
    let mut context_certs: Option<ContextCerts> = None;
    let mut tenant: Option<String> = None;
    for source in sources {
        match source {
            SourceKind::Kubeconfig | SourceKind::Server => {
                let certs = match &mut context_certs {
                    Some(certs) => certs,
                    none => none.insert(sources::kubeconfig::context_certs(ctx)?),
                };
                match source {
                    SourceKind::Kubeconfig => sources::kubeconfig::collect(certs, col)?,
                    _ => sources::server::collect(ctx, certs, col, opts.server_timeout).await?,
                }
            }
            SourceKind::Secrets => {
                let tenant = match (&opts.tenant, sources.contains(&SourceKind::Tenant)) {
                    (Some(given), true) => Some((ctx.namespace().await?, tenant_name(ctx, &mut tenant, given).await?)),
                    _ => None,
                };
                let secrets = sources::secrets::Options { all_namespaces: opts.all_namespaces, page_size: opts.page_size, tenant };
                sources::secrets::collect(ctx, col, &secrets).await?
            }
            SourceKind::Cabundle => {
                let cabundle =
                    sources::cabundle::Options { page_size: opts.page_size, timeout: opts.server_timeout, concurrency: opts.concurrency };
                unless_denied(
                    sources::cabundle::collect(ctx, col, &cabundle).await,
                    *source,
                    opts.sources_chosen,
                    ctx,
                    opts.contexts != fleet::Contexts::Current,
                )?
            }
            SourceKind::Configmaps => {
                let certs = match &mut context_certs {
                    Some(certs) => certs,
                    none => none.insert(sources::kubeconfig::context_certs(ctx)?),
                };
                let trusted = trusted_cas(certs);
                let configmaps = sources::configmaps::Options { all_namespaces: opts.all_namespaces, page_size: opts.page_size, trusted };
                unless_denied(
                    sources::configmaps::collect(ctx, col, &configmaps).await,
                    *source,
                    opts.sources_chosen,
                    ctx,
                    opts.contexts != fleet::Contexts::Current,
                )?
            }
            SourceKind::Tenant if opts.all_tenants => {
                let kamaji = sources::tenant::Controller { namespace: &opts.kamaji_namespace, selector: &opts.kamaji_selector };
                let all = sources::tenants::Options {
                    all_namespaces: opts.all_namespaces,
                    page_size: opts.page_size,
                    timeout: opts.server_timeout,
                    concurrency: opts.concurrency,
                    kamaji,
                };
                sources::tenants::collect(ctx, col, &all).await?
            }
            SourceKind::Tenant => {
                let name = tenant_name(ctx, &mut tenant, opts.tenant.as_deref().unwrap_or_default()).await?;
                let kamaji = sources::tenant::Controller { namespace: &opts.kamaji_namespace, selector: &opts.kamaji_selector };
                sources::tenant::collect(ctx, col, &name, opts.page_size, opts.server_timeout, &kamaji, opts.tenant_endpoint.as_ref())
                    .await?
            }
            SourceKind::File => sources::files::collect(&opts.files, col)?,
            SourceKind::K3s => {
                if let Some(dir) = &opts.k3s_dir {
                    sources::k3s::collect(dir, col)?
                }
            }
            SourceKind::Kubeadm => {
                if let Some(dir) = &opts.kubeadm_dir {
                    sources::kubeadm::collect(dir, col)?
                }
            }
        }
    }
    Ok(())
}

/// A source read by default that the user may not list is skipped with
/// one warning line; one chosen with `--source` fails as usual.
fn unless_denied(result: Result<()>, source: SourceKind, chosen: bool, ctx: &Ctx, fleet: bool) -> Result<()> {
    match result {
        Err(Error::Denied { verb, resource, .. }) if !chosen => {
            // With several contexts, the line says whose.
            let whose = match (&ctx.settings.context, fleet) {
                (Some(name), true) => format!("context {}: ", crate::output::clean_line(name)),
                _ => String::new(),
            };
            eprintln!("status: {whose}{} not read: forbidden to {verb} {resource} (choose sources with --source)", source.as_str());
            Ok(())
        }
        other => other,
    }
}

/// The CA certificates (DER) the context trusts, or why there are none.
fn trusted_cas(certs: &ContextCerts) -> sources::root_ca::Trusted {
    let Some(ca) = &certs.ca else {
        return Err(format!("context {} names no certificate-authority", certs.context));
    };
    let pem = ca.data.as_ref().map_err(Clone::clone)?;
    let found = crate::certs::parse::certificates_in(pem).map_err(|e| e.to_string())?;
    Ok(found.iter().map(|c| c.as_ref().to_vec()).collect())
}

/// The TenantControlPlane `given` names ([`crate::kamaji::tenant::resolve`]:
/// the name, else Cozystack's `kubernetes-<name>`), looked up once.
async fn tenant_name(ctx: &Ctx, resolved: &mut Option<String>, given: &str) -> Result<String> {
    if let Some(name) = resolved {
        return Ok(name.clone());
    }
    let client = ctx.client().await?;
    let namespace = ctx.namespace().await?;
    let name = match crate::kamaji::tenant::resolve(&client, &namespace, given).await {
        Ok(found) => found.name,
        // The one-line error names the tenant as it was given.
        Err(Error::NotFound { what: "TenantControlPlane", .. }) => {
            return Err(Error::NotFound { what: "TenantControlPlane", name: format!("{namespace}/{given}") });
        }
        // Name the server as every other API failure of `status` does.
        Err(Error::Unreachable { reason, .. } | Error::Client(reason)) => {
            let server = ctx.config().await?.cluster_url.to_string();
            return Err(Error::Unreachable { server, reason });
        }
        Err(e) => return Err(e),
    };
    Ok(resolved.insert(name).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Settings;

    fn ctx(dir: &std::path::Path, addr: std::net::SocketAddr) -> Ctx {
        let path = dir.join("config");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: x\nusers: [{{name: u, user: {{token: t}}}}]\n\
                 clusters: [{{name: c, cluster: {{server: 'http://{addr}'}}}}]\n\
                 contexts: [{{name: x, context: {{cluster: c, user: u, namespace: ns}}}}]\n"
            ),
        )
        .unwrap();
        Ctx::new(Settings { kubeconfig: Some(path), ..Settings::default() })
    }

    #[test]
    fn a_refused_default_source_is_a_warning_and_a_chosen_one_the_usual_error() {
        use crate::error::{ApiError, Reason};
        let refused =
            |code, reason| Err(Error::Api(ApiError::new(code, reason, "no")).denied("list", "apiservices.apiregistration.k8s.io"));
        let ctx = Ctx::new(Settings::default());
        assert!(unless_denied(refused(403, "Forbidden"), SourceKind::Cabundle, false, &ctx, true).is_ok());
        let err = unless_denied(refused(403, "Forbidden"), SourceKind::Cabundle, true, &ctx, false).unwrap_err();
        assert_eq!((err.api_reason(), err.to_string().as_str()), (Some(&Reason::Forbidden), "Kubernetes API: no (Forbidden)"));
        assert!(unless_denied(refused(404, "NotFound"), SourceKind::Cabundle, false, &ctx, false).unwrap_err().is_not_found());
    }

    #[tokio::test]
    async fn an_unreachable_api_is_named_by_its_server() {
        let dir = tempfile::tempdir().unwrap();
        // Port 1 on localhost refuses at once; nothing is listening there.
        let ctx = ctx(dir.path(), "127.0.0.1:1".parse().unwrap());
        let err = tenant_name(&ctx, &mut None, "demo").await.unwrap_err().to_string();
        assert!(err.starts_with("cannot reach the Kubernetes API at http://127.0.0.1:1"), "{err}");
    }
}
