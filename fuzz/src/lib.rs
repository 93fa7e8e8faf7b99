//! One function per parser fed with untrusted bytes. Each must return (any
//! `Err` is fine) and never panic, whatever the input. libFuzzer drives
//! them through `fuzz_targets/` (nightly, `cargo fuzz run <name>`), and
//! `tests/fuzz_replay.rs` runs them on stable over the seed corpus plus
//! deterministic mutations in `cargo test`.

use std::path::Path;

use kubectl_pki::certs::{chain, info::CertInfo, kubeconfig, parse, talosconfig};
use kubectl_pki::cli::OutputFormat;
use kubectl_pki::issuer::{PrivateKey, der, pem};
use kubectl_pki::k3s;
use kubectl_pki::status::item::{Extractor, Location};
use kubectl_pki::status::row::{Collector, SourceKind};
use kubectl_pki::status::{judge, render};
use kubectl_pki::talos::ca_source::{self, CaPem};

/// A target: bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by name (the names of `fuzz_targets/*.rs` and of the
/// corpus directories).
pub const TARGETS: &[(&str, Target)] = &[
    ("pem_der", pem_der),
    ("private_key", private_key),
    ("kubeconfig", kubeconfig),
    ("talosconfig", talosconfig),
    ("talos_secrets", talos_secrets),
    ("secret_data", secret_data),
    ("k3s_bundle", k3s_bundle),
];

/// Certificates in PEM, DER or base64 of either (`certs::parse`), what is
/// read from each (`CertInfo`), chains between them, and the issuer's own
/// PEM reader.
pub fn pem_der(data: &[u8]) {
    let _ = parse::holds_private_key(data);
    let _ = CertInfo::from_der(data);
    let _ = chain::is_self_signed(data);
    if let Ok(certs) = parse::certificates_in(data) {
        for c in &certs {
            if let Ok(info) = CertInfo::from_der(c) {
                let _ = (info.subject_display().len(), info.issuer_display().len());
            }
        }
        if let Some((leaf, rest)) = certs.split_first() {
            let _ = chain::chains_to(leaf, rest, rest);
            let _ = chain::verify_signed_by(leaf, rest.first().map_or(leaf.as_ref(), |c| c.as_ref()));
        }
    }
    if let Ok(certs) = pem::certificates(data) {
        for c in &certs {
            let _ = (k3s::chain::subject(c), k3s::chain::not_after(c), k3s::chain::is_root(c), k3s::chain::has_aki(c));
        }
    }
}

/// Private keys in PEM (PKCS#8, SEC1, PKCS#1) and the hand-written DER
/// reader beneath them.
pub fn private_key(data: &[u8]) {
    let _ = PrivateKey::all_from_pem(data);
    let _ = PrivateKey::from_pkcs8(data);
    if let Some((tlv, _rest)) = der::read(data) {
        let _ = der::children(tlv.value);
    }
    let _ = der::children(data);
    let _ = der::pkcs8_parts(data);
    let _ = der::sec1_curve(data);
}

/// A kubeconfig, its certificates, and every context's view of them.
pub fn kubeconfig(data: &[u8]) {
    let _ = kubeconfig::looks_like_kubeconfig(data);
    let Ok(kc) = kubeconfig::parse(data) else { return };
    let _ = kubeconfig::materials(&kc, None);
    let _ = kubeconfig::for_context(&kc, None, None);
    for ctx in &kc.contexts {
        let _ = kubeconfig::for_context(&kc, Some(&ctx.name), None);
    }
}

pub fn talosconfig(data: &[u8]) {
    let _ = talosconfig::looks_like_talosconfig(data);
    let _ = talosconfig::parse(data);
}

/// A Talos secrets bundle and a machine configuration (both read from a
/// file, as the CLI does), then the CA they hold.
pub fn talos_secrets(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("input.yaml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    for ca in [ca_source::from_secrets(&path), ca_source::from_machine_config(&path)].into_iter().flatten() {
        let _ = ca_source::load_authority(&ca);
    }
    // The decoded PEMs themselves, as `--ca`/`--ca-key` files give them.
    let half = data.len() / 2;
    let ca = CaPem { cert: data[..half].to_vec(), cert_origin: "cert".into(), key: data[half..].to_vec(), key_origin: "key".into() };
    let _ = ca_source::load_authority(&ca);
}

/// A Secret's data as `status` reads it: the first byte picks the key name
/// (which decides how content is read), the rest is the value; rows are
/// judged, collected and rendered as JSON, YAML and as tables.
pub fn secret_data(data: &[u8]) {
    const KEYS: &[&str] = &["tls.crt", "ca.crt", "kubeconfig", "talosconfig", "value", "bundle.pem", "admin.conf", "tls.key"];
    let Some((first, value)) = data.split_first() else { return };
    let key = KEYS[usize::from(*first) % KEYS.len()];
    let base = Location { namespace: Some("ns".into()), secret: Some("s".into()), ..Default::default() };
    let mut ex = Extractor::new();
    ex.secret_key(&base, key, value);
    // The same bytes under a second key: documents judged together.
    ex.secret_key(&base, "ca.crt", value);
    let verdicts = judge::within_document(&ex.items);
    let now = jiff::Timestamp::from_second(1_767_225_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    for (format, summary) in
        [(OutputFormat::Json, false), (OutputFormat::Yaml, false), (OutputFormat::Wide, false), (OutputFormat::Table, true)]
    {
        let mut out = render::Output::new(format, summary);
        let mut col = Collector::new(now, jiff::SignedDuration::from_hours(24 * 30), &mut out);
        col.push_items(SourceKind::Secrets, "ns/s", &ex.items, verdicts.clone());
        let tally = col.finish();
        let _ = out.write_to(&tally, &mut std::io::sink());
    }
}

/// A k3s CA bundle: the file description `k3s check` prints and the token
/// CA hash (which verifies the bundle's chain).
pub fn k3s_bundle(data: &[u8]) {
    let _ = k3s::report::describe(Path::new("server/tls/server-ca.crt"), data);
    let _ = k3s::token::hash_ca(data);
}
