//! What a TLS endpoint serves, seen from outside as a user sees it, so the live tests judge a
//! tenant API the same way whether the stand-in's process or the real operator's pods serve it.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The leaf certificate (PEM) `https://host:port` presents, read with `openssl s_client`.
pub async fn leaf_pem(url: &str) -> Result<String> {
    let endpoint = crate::kamaji::Endpoint::parse(url).with_context(|| format!("{url:?}: not an https URL"))?;
    let connect = if endpoint.host.contains(':') { format!("[{}]:{}", endpoint.host, endpoint.port) } else { endpoint.host_port() };
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        tokio::process::Command::new("openssl")
            .args(["s_client", "-connect", &connect, "-servername", &endpoint.host])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .with_context(|| format!("openssl s_client {connect}: no answer in 15s"))?
    .context("run openssl s_client")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let begin = text.find("-----BEGIN CERTIFICATE-----").with_context(|| format!("{connect} presented no certificate"))?;
    let end = text[begin..].find("-----END CERTIFICATE-----").map(|e| begin + e + "-----END CERTIFICATE-----".len());
    match end {
        Some(end) => Ok(format!("{}\n", &text[begin..end])),
        None => bail!("{connect}: a truncated certificate"),
    }
}

/// Waits until `url` presents a certificate that `ca_pem` verifies; returns it.
pub async fn wait_signed_by(url: &str, ca_pem: &str, timeout: Duration) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = leaf_pem(url).await;
        if let Ok(leaf) = &last
            && crate::kamaji::pki::verifies(leaf.as_bytes(), ca_pem.as_bytes())
        {
            return Ok(leaf.clone());
        }
        if Instant::now() > deadline {
            let seen = match last {
                Ok(_) => "a certificate of another CA".to_string(),
                Err(e) => format!("{e:#}"),
            };
            bail!("{url} did not serve a certificate of the new CA within {timeout:?}: {seen}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
