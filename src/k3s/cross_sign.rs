//! `kubectl pki k3s cross-sign`: what rotate-default-ca-certs.sh stages.
//! Per CA: a new self-signed EC root, the same root cross-signed by the
//! current CA, and a new intermediate (the new `-ca`) under the new root.
//! `-ca.crt` = intermediate + new root + cross-signed root + current CA
//! chain, so both old and new leaves verify while k3s restarts.
//!
//! Offline (local files only), no clap: [`Options`] holds the flags.

use std::path::{Path, PathBuf};

use super::layout::{self, CA_TYPES};
use super::report::{StageReport, TokenLine};
use super::{chain, sa_key, token};
use crate::error::{Error, Result};
use crate::issuer::{Authority, CertSpec, KeyKind, PrivateKey, Staged, now, pem};

const DAYS: i64 = 7300;

/// What to cross-sign and where to stage it.
#[derive(Clone)]
pub struct Options {
    /// The current k3s data directory (reads `DIR/server/tls`).
    pub data_dir: PathBuf,
    /// Where to stage (files in `OUT/tls`); `None`: `DIR/server/rotate-ca`.
    pub out: Option<PathBuf>,
    /// A token to print updated; `None`: the server's token files.
    pub token: Option<String>,
    /// Print the tokens in full; otherwise their secret part is masked.
    pub show_token: bool,
    /// Product name in the CAs' common names (k3s, rke2).
    pub product: String,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io_at(path, e))
}

/// The current CA to cross-sign with and the chain above it: among the
/// bundle's certificates whose key is in the key file, a self-signed one
/// (a root from an earlier rotation) is preferred over the leaf CA.
fn current_signer(crt_path: &Path, key_path: &Path) -> Result<(Authority, Vec<Vec<u8>>)> {
    let certs = pem::certificates(&read(crt_path)?).map_err(|e| Error::file(crt_path, e))?;
    if certs.is_empty() {
        return Err(Error::file(crt_path, "no PEM certificate found"));
    }
    let keys = PrivateKey::all_from_pem(&read(key_path)?).map_err(|e| Error::file(key_path, e))?;
    let mut best: Option<(usize, usize)> = None;
    for (ci, cert) in certs.iter().enumerate() {
        if let Some(ki) = keys.iter().position(|k| chain::has_public_key(cert, k.public_key_raw())) {
            let self_signed = chain::is_self_signed(cert);
            if best.is_none() || self_signed {
                best = Some((ci, ki));
            }
            if self_signed {
                break;
            }
        }
    }
    let (ci, ki) = best.ok_or_else(|| Error::file(key_path, format!("no key here matches a certificate of {}", crt_path.display())))?;
    let key = keys.into_iter().nth(ki).ok_or_else(|| Error::file(key_path, "key vanished"))?;
    // The signer and its issuers from the same bundle, up to a root.
    let mut above = vec![certs[ci].clone()];
    while let Some(top) = above.last() {
        if chain::is_self_signed(top) || above.len() > certs.len() {
            break;
        }
        match certs.iter().find(|c| !above.contains(c) && chain::signed_by(top, c)) {
            Some(parent) => above.push(parent.clone()),
            None => break,
        }
    }
    let signer = Authority::load(certs[ci].clone(), key).map_err(|e| Error::file(crt_path, e))?;
    Ok((signer, above))
}

pub fn generate(args: &Options) -> Result<StageReport> {
    let current = layout::tls_dir(&args.data_dir);
    let out = args.out.clone().unwrap_or_else(|| args.data_dir.join("server").join("rotate-ca"));
    let tls = out.join("tls");
    let ts = now();
    let product = &args.product;
    let mut staged = Staged::new();
    let mut server_bundle = None;

    for ca_type in CA_TYPES {
        let crt_path = layout::ca_file(&current, ca_type, "crt");
        if !crt_path.exists() {
            return Err(Error::file(crt_path, format!("current {ca_type} CA certificate does not exist; cannot cross-sign")));
        }
        let (signer, old_chain) = current_signer(&crt_path, &layout::ca_file(&current, ca_type, "key"))?;

        let root_cn = format!("{product}-{}-root@{ts}", layout::dashed(ca_type));
        let root_key = PrivateKey::generate(KeyKind::EcdsaP256).map_err(Error::Invalid)?;
        let root_key_pem = root_key.to_pem();
        let cross_key = PrivateKey::first_from_pem(root_key_pem.as_bytes()).map_err(Error::Invalid)?;
        let spec = CertSpec::ca(&root_cn, ts, DAYS);
        let root = Authority::self_signed(&spec, root_key).map_err(Error::Invalid)?;
        let xsigned = signer.issue(&spec, &cross_key).map_err(Error::Invalid)?;

        let int_key = PrivateKey::generate(KeyKind::EcdsaP256).map_err(Error::Invalid)?;
        let int_cn = format!("{product}-{}-ca@{ts}", layout::dashed(ca_type));
        let int = root.issue(&CertSpec::ca(&int_cn, ts, DAYS), &int_key).map_err(Error::Invalid)?;

        let int_pem = pem::encode("CERTIFICATE", &int);
        let root_pem = root.cert_pem();
        let xsigned_pem = pem::encode("CERTIFICATE", &xsigned);
        let mut bundle = format!("{int_pem}{root_pem}{xsigned_pem}");
        for old in &old_chain {
            bundle.push_str(&pem::encode("CERTIFICATE", old));
        }
        if ca_type == "server" {
            server_bundle = Some(bundle.clone());
        }
        staged.add(layout::ca_file(&tls, ca_type, "pem"), int_pem, false);
        staged.add(tls.join(format!("{ca_type}-root-ssigned.pem")), root_pem, false);
        staged.add(tls.join(format!("{ca_type}-root-xsigned.pem")), xsigned_pem, false);
        staged.add(layout::ca_file(&tls, ca_type, "crt"), bundle, false);
        // The intermediate's key first (k3s signs with it), then the new root's.
        staged.add(layout::ca_file(&tls, ca_type, "key"), format!("{}{root_key_pem}", int_key.to_pem()), true);
    }

    staged.add(tls.join("service.key"), sa_key::rotated(&current.join("service.key"))?, true);

    let hash = token::hash_ca(server_bundle.unwrap_or_default().as_bytes());
    let tokens = tokens(args, &hash)?;
    let files = super::generate_ca::describe_all(&staged);
    staged.commit()?;
    Ok(StageReport { files, server_ca_hash: Some(hash), tokens, rotate_ca_path: Some(out) })
}

/// The tokens to print updated: `--token`, else the server's token files.
/// Their secret parts are masked unless `show_token`.
fn tokens(args: &Options, hash: &str) -> Result<Vec<TokenLine>> {
    let updated = |t: &str| {
        let full = token::with_hash(t, hash);
        if args.show_token { full } else { token::masked(&full) }
    };
    if let Some(t) = &args.token {
        return Ok(vec![TokenLine { name: "server".into(), token: updated(t) }]);
    }
    let mut out = Vec::new();
    for (name, file) in [("server", "token"), ("agent", "agent-token")] {
        let path: PathBuf = args.data_dir.join("server").join(file);
        if let Ok(text) = std::fs::read_to_string(&path)
            && !text.trim().is_empty()
        {
            out.push(TokenLine { name: name.into(), token: updated(&text) });
        }
    }
    Ok(out)
}

/// The join token given by `--token` is shown masked.
impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("data_dir", &self.data_dir)
            .field("out", &self.out)
            .field("token", &self.token.as_deref().map(token::masked))
            .field("show_token", &self.show_token)
            .field("product", &self.product)
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn options_debug_masks_the_token() {
        let o = Options {
            data_dir: "/d".into(),
            out: None,
            token: Some("K10ab::server:s3cret".into()),
            show_token: false,
            product: "k3s".into(),
        };
        let debug = format!("{o:?}");
        assert!(debug.contains("K10ab::server:****") && !debug.contains("s3cret"), "{debug}");
    }
}
