//! `kubectl pki kubeconfig renew`: turns the flags into
//! [`renew::kubeconfig::Options`], runs it and prints the report through
//! `-o`. No renewal logic here.

use std::time::Duration;

use crate::cli::{KubeconfigArgs, KubeconfigCommand, KubeconfigRenewArgs, RenewKeyType};
use crate::context::Ctx;
use crate::duration::parse_duration;
use crate::error::{Error, Outcome, Result};
use crate::issuer::KeyKind;
use crate::output;
use crate::renew::csr::MIN_EXPIRATION_SECONDS;
use crate::renew::kubeconfig::{self as renew, Options};
use crate::renew::write::Target;

pub async fn run(args: KubeconfigArgs, ctx: &Ctx) -> Result<Outcome> {
    match args.command {
        KubeconfigCommand::Renew(a) => {
            let opts = options(a)?;
            let ran = renew::run(opts, ctx).await?;
            output::emit(ctx.output(), &ran.report, |_| Some(ran.text))?;
            Ok(ran.outcome)
        }
    }
}

/// The flags, parsed and checked (nothing is read yet).
fn options(a: KubeconfigRenewArgs) -> Result<Options> {
    let timeout = parse_duration(&a.timeout)
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::flag_value("--timeout", &a.timeout, "expected a duration above 0, like 10m or 1h"))?;
    let expiration_seconds = a.duration.as_deref().map(expiration).transpose()?;
    Ok(Options {
        key_type: key_kind(a.key_type),
        expiration_seconds,
        approve: a.approve,
        timeout,
        target: match a.out {
            Some(path) => Target::Out { path, replace: a.force },
            None => Target::InPlace,
        },
        dry_run: a.dry_run,
    })
}

/// `--duration` as `expirationSeconds`: at least 10 minutes (the API's minimum).
fn expiration(text: &str) -> Result<i32> {
    let d = parse_duration(text).map_err(|e| Error::flag("--duration", e))?;
    let secs = d.as_secs();
    if secs < MIN_EXPIRATION_SECONDS {
        return Err(Error::flag_value("--duration", text, "the CSR API's minimum is 10m (expirationSeconds 600)"));
    }
    i32::try_from(secs).map_err(|_| Error::flag_value("--duration", text, "too long for expirationSeconds (at most about 68 years)"))
}

fn key_kind(t: RenewKeyType) -> Option<KeyKind> {
    match t {
        RenewKeyType::Same => None,
        RenewKeyType::EcdsaP256 => Some(KeyKind::EcdsaP256),
        RenewKeyType::EcdsaP384 => Some(KeyKind::EcdsaP384),
        RenewKeyType::Ed25519 => Some(KeyKind::Ed25519),
        RenewKeyType::Rsa2048 => Some(KeyKind::Rsa(2048)),
        RenewKeyType::Rsa3072 => Some(KeyKind::Rsa(3072)),
        RenewKeyType::Rsa4096 => Some(KeyKind::Rsa(4096)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Options> {
        let cli = crate::cli::Cli::try_parse_from(["kubectl-pki", "kubeconfig", "renew"].into_iter().chain(args.iter().copied()))
            .map_err(|e| Error::Usage(e.to_string()))?;
        let crate::cli::Command::Kubeconfig(KubeconfigArgs { command: KubeconfigCommand::Renew(a) }) = cli.command else { unreachable!() };
        options(a)
    }

    #[test]
    fn defaults_are_a_dry_run_in_place_with_the_same_key_type() {
        let o = parse(&[]).unwrap();
        assert!(o.dry_run && !o.approve);
        assert_eq!((o.key_type, o.expiration_seconds, o.target), (None, None, Target::InPlace));
        assert_eq!(o.timeout, Duration::from_secs(600));
        let o = parse(&["--dry-run=false", "--approve", "--duration", "720h", "--key-type", "rsa-3072", "--out", "f", "--force"]).unwrap();
        assert!(!o.dry_run && o.approve);
        assert_eq!(o.expiration_seconds, Some(720 * 3600));
        assert_eq!(o.key_type, Some(KeyKind::Rsa(3072)));
        assert_eq!(o.target, Target::Out { path: "f".into(), replace: true });
    }

    #[test]
    fn durations_are_checked_before_anything_is_read() {
        assert_eq!(parse(&["--duration", "10m"]).unwrap().expiration_seconds, Some(600));
        let err = parse(&["--duration", "5m"]).unwrap_err().to_string();
        assert_eq!(err, "--duration \"5m\": the CSR API's minimum is 10m (expirationSeconds 600)");
        assert!(parse(&["--duration", "100y"]).is_err());
        assert!(parse(&["--duration", "40000d"]).unwrap_err().to_string().contains("too long"));
        assert!(parse(&["--timeout", "0s"]).unwrap_err().to_string().starts_with("--timeout \"0s\""));
        assert!(parse(&["--force"]).is_err(), "--force needs --out");
    }
}
