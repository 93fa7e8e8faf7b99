//! `kubectl pki exporter`: turns the flags into [`exporter::Options`]
//! (the address, typed durations, which namespaces) and runs it.
//!
//! Parses and maps only: the domain does the work.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::ExporterArgs;
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::exporter::{self, Scope, files::Files};

pub async fn run(args: ExporterArgs, ctx: &Ctx) -> Result<Outcome> {
    let opts = options(args, ctx).await?;
    exporter::run(&opts, ctx).await
}

async fn options(args: ExporterArgs, ctx: &Ctx) -> Result<exporter::Options> {
    parse_duration(&args.warn_within).map_err(|e| Error::flag("--warn-within", e))?;
    let files = Files {
        files: args.files.file,
        k3s_dir: args.files.k3s_dir,
        kubeadm_dir: args.files.kubeadm_dir,
        interval: positive("--files-interval", &args.files_interval)?,
    };
    let scope = if args.no_secrets {
        if args.tenants || args.all_namespaces {
            return Err(Error::flag("--no-secrets", "reads node files only: --tenants and -A need the API"));
        }
        if files.is_empty() {
            return Err(Error::flag("--no-secrets", "nothing left to watch: give --file, --k3s-dir or --kubeadm-dir"));
        }
        None
    } else if args.all_namespaces {
        Some(Scope::All)
    } else {
        let mut namespaces = vec![ctx.namespace().await?];
        namespaces.extend(args.watch_namespace.into_iter().filter(|n| !n.is_empty()));
        namespaces.dedup();
        Some(Scope::Namespaces(namespaces))
    };
    Ok(exporter::Options {
        listen: listen(&args.listen)?,
        scope,
        tenants: args.tenants,
        files,
        served_interval: positive("--served-interval", &args.served_interval)?,
        server_timeout: positive("--server-timeout", &args.server_timeout)?,
        exclude_namespaces: args.exclude_namespaces,
        secret_label_selector: args.secret_label_selector.filter(|s| !s.trim().is_empty()),
        page_size: args.page_size,
        concurrency: usize::from(args.concurrency),
        kamaji_namespace: args.kamaji.kamaji_namespace,
        kamaji_selector: args.kamaji.kamaji_selector,
    })
}

/// `:9793` (every address), `127.0.0.1:9793`, `[::]:9793`.
fn listen(text: &str) -> Result<SocketAddr> {
    let full = if text.starts_with(':') { format!("0.0.0.0{text}") } else { text.to_owned() };
    full.parse().map_err(|_| Error::flag_value("--listen", text, "expected HOST:PORT or :PORT, like :9793 or 127.0.0.1:9793"))
}

fn positive(flag: &'static str, text: &str) -> Result<Duration> {
    parse_duration(text)
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::flag_value(flag, text, "expected a duration of more than 0, like 30s or 5m"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_reads_kubectl_style_addresses() {
        assert_eq!(listen(":9793").unwrap(), "0.0.0.0:9793".parse().unwrap());
        assert_eq!(listen("127.0.0.1:0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(listen("[::]:9793").unwrap(), "[::]:9793".parse().unwrap());
        assert!(listen("9793").unwrap_err().to_string().contains("--listen"));
        assert!(positive("--served-interval", "0s").is_err());
        assert_eq!(positive("--served-interval", "2s").unwrap(), Duration::from_secs(2));
    }
}
