//! `cargo xtask dist`: the release archive for one platform, its sha256, and
//! the krew manifest rendered from `plugin-manifest/pki.yaml`.
//!
//! - `cargo xtask dist [--debug] [--target TRIPLE] [--cross|--no-build] [--locked] [--out-dir DIR]`
//!   builds `kubectl-pki` and `kubectl_complete-pki` (`--no-build`: packages
//!   binaries already in `target/[TRIPLE/]release`, e.g. built on macOS), writes
//!   `DIR/kubectl-pki_v<ver>_<os>_<arch>.tar.gz` (binaries, LICENSE, README.md),
//!   its `.sha256` (sha256sum format) and `DIR/pki.yaml`: the manifest with
//!   this archive only, for `kubectl krew install --manifest --archive`.
//!   DIR defaults to `target/dist`. `--debug` packages a debug build (tests).
//! - `cargo xtask dist manifest --from DIR [--out FILE] [--tag vX.Y.Z]`
//!   renders the release manifest: every `SHA256_OF_<archive>` placeholder
//!   replaced by the sha256 of `DIR/<archive>` (or `DIR/<archive>.sha256`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail, ensure};
use sha2::{Digest, Sha256};

use crate::{cargo, run_cmd};

const TEMPLATE: &str = "plugin-manifest/pki.yaml";
const PLACEHOLDER: &str = "SHA256_OF_";
const BINARIES: [&str; 2] = ["kubectl-pki", "kubectl_complete-pki"];
const DOCS: [&str; 2] = ["LICENSE", "README.md"];

const USAGE: &str = "\
usage: cargo xtask dist [--debug] [--target TRIPLE] [--cross|--no-build] [--locked] [--out-dir DIR]
       cargo xtask dist manifest --from DIR [--out FILE] [--tag vX.Y.Z]";

pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("manifest") => release_manifest(&args[1..]),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => local(args),
    }
}

/// Options of the archive build.
#[derive(Debug, Default, PartialEq, Eq)]
struct Opts {
    debug: bool,
    target: Option<String>,
    cross: bool,
    no_build: bool,
    locked: bool,
    out_dir: Option<PathBuf>,
}

fn parse_opts(args: &[String]) -> Result<Opts> {
    let mut opts = Opts::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| anyhow!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--debug" => opts.debug = true,
            "--cross" => opts.cross = true,
            "--no-build" => opts.no_build = true,
            "--locked" => opts.locked = true,
            "--target" => opts.target = Some(value("--target")?),
            "--out-dir" => opts.out_dir = Some(value("--out-dir")?.into()),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    ensure!(!(opts.cross && opts.target.is_none()), "--cross needs --target");
    ensure!(!(opts.cross && opts.no_build), "--cross and --no-build exclude each other");
    Ok(opts)
}

/// krew's `os`/`arch` (Go's names) of a Rust target triple.
pub fn platform_of(triple: &str) -> Result<(&'static str, &'static str)> {
    let os = if triple.contains("-linux") {
        "linux"
    } else if triple.contains("-apple-darwin") {
        "darwin"
    } else if triple.contains("-windows") {
        "windows"
    } else {
        bail!("no krew platform for target {triple:?}")
    };
    let arch = match triple.split('-').next().unwrap_or_default() {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i586" => "386",
        a if a.starts_with("arm") => "arm",
        other => bail!("no krew architecture for {other:?} (target {triple:?})"),
    };
    Ok((os, arch))
}

fn host_platform() -> Result<(&'static str, &'static str)> {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "linux" => "linux",
        "windows" => "windows",
        other => bail!("no krew platform for OS {other:?}"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => bail!("no krew architecture for {other:?}"),
    };
    Ok((os, arch))
}

/// The root crate's version, from `[package]` in the workspace Cargo.toml.
pub fn crate_version(root: &Path) -> Result<String> {
    let toml = std::fs::read_to_string(root.join("Cargo.toml")).context("read Cargo.toml")?;
    let mut in_package = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(v) = line.strip_prefix("version") {
            let v = v.trim_start().trim_start_matches('=').trim().trim_matches('"');
            return Ok(v.to_string());
        }
    }
    bail!("Cargo.toml: no version in [package]")
}

/// The archive name krew-index reviewers expect: name, version, platform.
pub fn archive_name(version: &str, os: &str, arch: &str) -> String {
    format!("kubectl-pki_v{version}_{os}_{arch}.tar.gz")
}

fn local(args: &[String]) -> Result<()> {
    let opts = parse_opts(args)?;
    let root = e2e::repo_root();
    let version = crate_version(&root)?;
    let template = std::fs::read_to_string(root.join(TEMPLATE)).with_context(|| format!("read {TEMPLATE}"))?;
    check_template_version(&template, &version)?;
    let (os, arch) = match &opts.target {
        Some(t) => platform_of(t)?,
        None => host_platform()?,
    };
    let profile = if opts.debug { "debug" } else { "release" };
    let commit = commit(&root);

    if opts.no_build {
        eprintln!("dist: packaging the {profile} binaries already built for {os}/{arch}");
    } else {
        build(&opts, &root, &commit, os, arch, profile)?;
    }

    let mut bin_dir = e2e::target_dir();
    if let Some(t) = &opts.target {
        bin_dir.push(t);
    }
    bin_dir.push(profile);
    let exe = if os == "windows" { ".exe" } else { "" };
    let mut entries: Vec<(String, PathBuf, u32)> =
        BINARIES.iter().map(|b| (format!("{b}{exe}"), bin_dir.join(format!("{b}{exe}")), 0o755)).collect();
    entries.extend(DOCS.iter().map(|d| (d.to_string(), root.join(d), 0o644)));

    let out_dir = opts.out_dir.clone().unwrap_or_else(|| e2e::target_dir().join("dist"));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let name = archive_name(&version, os, arch);
    let archive = out_dir.join(&name);
    write_archive(&archive, &entries, mtime())?;
    let sha = sha256_file(&archive)?;
    std::fs::write(out_dir.join(format!("{name}.sha256")), format!("{sha}  {name}\n"))?;

    let abs = std::path::absolute(&archive)?;
    let manifest = render_local(&template, &name, &sha, &file_uri(&abs))?;
    let manifest_path = out_dir.join("pki.yaml");
    std::fs::write(&manifest_path, manifest)?;
    eprintln!("dist: {}\ndist: sha256 {sha}\ndist: {}", archive.display(), manifest_path.display());
    eprintln!("dist: install it with: kubectl krew install --manifest={} --archive={}", manifest_path.display(), archive.display());
    Ok(())
}

/// `cargo build` (or `cross build`) of both binaries for the platform.
fn build(opts: &Opts, root: &Path, commit: &str, os: &str, arch: &str, profile: &str) -> Result<()> {
    eprintln!("dist: building {profile} binaries for {os}/{arch} (commit {commit})");
    let mut cmd = if opts.cross {
        let mut c = Command::new("cross");
        c.current_dir(root);
        // Inside cross's container there is no usable .git: hand the commit over.
        let extra = std::env::var("CROSS_CONTAINER_OPTS").unwrap_or_default();
        c.env("CROSS_CONTAINER_OPTS", format!("{extra} --env KUBECTL_PKI_COMMIT={commit}").trim());
        c
    } else {
        cargo()
    };
    // Native builds let build.rs ask git: setting KUBECTL_PKI_COMMIT here
    // would differ from plain `cargo build` and rebuild the crate each time.
    cmd.args(["build", "-p", "kubectl-pki", "--bins"]);
    e2e::krew::scrub_cargo_env(&mut cmd);
    if !opts.debug {
        cmd.arg("--release");
    }
    if opts.locked {
        cmd.arg("--locked");
    }
    if let Some(t) = &opts.target {
        cmd.args(["--target", t]);
    }
    run_cmd(&mut cmd)?;
    Ok(())
}

/// `KUBECTL_PKI_COMMIT`, else `git rev-parse --short HEAD`, else `unknown`.
fn commit(root: &Path) -> String {
    if let Ok(c) = std::env::var("KUBECTL_PKI_COMMIT")
        && !c.trim().is_empty()
    {
        return c.trim().to_string();
    }
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `SOURCE_DATE_EPOCH` (reproducible builds), else now.
fn mtime() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

fn file_uri(path: &Path) -> String {
    let p = path.display().to_string().replace('\\', "/");
    if p.starts_with('/') { format!("file://{p}") } else { format!("file:///{p}") }
}

/// A gzip'd tar with the entries at its root, owned by root, fixed mtime.
pub fn write_archive(path: &Path, entries: &[(String, PathBuf, u32)], mtime: u64) -> Result<()> {
    let tmp = path.with_extension("partial");
    let file = File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::default()));
    for (name, src, mode) in entries {
        let data = File::open(src).with_context(|| format!("open {} for the archive", src.display()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.metadata()?.len());
        header.set_mode(*mode);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data).with_context(|| format!("add {name}"))?;
    }
    let mut file = tar.into_inner()?.finish()?;
    file.flush()?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut reader = BufReader::new(File::open(path).with_context(|| format!("open {}", path.display()))?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The template without its leading comment block (it describes the
/// template, not the rendered manifest).
fn body(template: &str) -> String {
    template.lines().skip_while(|l| l.starts_with('#') || l.trim().is_empty()).map(|l| format!("{l}\n")).collect()
}

/// Every `vX.Y.Z` in the template (spec.version, URIs, caveats) must be the
/// crate's version: a bump that forgets the manifest fails here.
pub fn check_template_version(template: &str, version: &str) -> Result<()> {
    let want = format!("v{version}");
    ensure!(template.lines().any(|l| l.trim() == format!("version: {want}")), "{TEMPLATE}: spec.version is not {want} (the crate version)");
    for (i, _) in template.match_indices('v') {
        let rest = &template[i + 1..];
        let token: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let dots = token.matches('.').count();
        let before = template[..i].chars().last();
        if dots == 2 && !token.ends_with('.') && !before.is_some_and(|c| c.is_ascii_alphanumeric()) {
            ensure!(token == version, "{TEMPLATE}: mentions v{token}, but the crate version is {want}");
        }
    }
    Ok(())
}

/// Splits the body at `platforms:` into the part before and one text block
/// per list item.
fn platform_blocks(body: &str) -> Result<(String, Vec<String>)> {
    let start = body.lines().position(|l| l.trim() == "platforms:").ok_or_else(|| anyhow!("{TEMPLATE}: no spec.platforms"))?;
    let lines: Vec<&str> = body.lines().collect();
    let head: String = lines[..=start].iter().map(|l| format!("{l}\n")).collect();
    let items = &lines[start + 1..];
    let indent = |l: &str| l.len() - l.trim_start().len();
    let item_indent = items
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map(|l| indent(l))
        .ok_or_else(|| anyhow!("{TEMPLATE}: spec.platforms is empty"))?;
    let mut blocks: Vec<String> = Vec::new();
    for l in items {
        if l.trim_start().starts_with("- ") && indent(l) == item_indent {
            blocks.push(String::new());
        }
        let block = blocks.last_mut().ok_or_else(|| anyhow!("{TEMPLATE}: text before the first platform"))?;
        block.push_str(l);
        block.push('\n');
    }
    Ok((head, blocks))
}

/// The manifest for one local archive: only its platform, its real sha256,
/// and `uri` pointing at the file (krew reads `--archive` instead).
pub fn render_local(template: &str, archive: &str, sha: &str, uri: &str) -> Result<String> {
    let (head, blocks) = platform_blocks(&body(template))?;
    let placeholder = format!("{PLACEHOLDER}{archive}");
    let block =
        blocks.iter().find(|b| b.contains(&placeholder)).ok_or_else(|| anyhow!("{TEMPLATE}: no platform with sha256 {placeholder}"))?;
    let block: String = block
        .lines()
        .map(|l| match l.find("uri:") {
            Some(i) if l[..i].trim().is_empty() => format!("{}uri: {uri}\n", &l[..i]),
            _ => format!("{}\n", l.replace(&placeholder, sha)),
        })
        .collect();
    Ok(head + &block)
}

/// The release manifest: every placeholder replaced from `shas`
/// (archive name -> sha256); none may be left.
pub fn render_release(template: &str, shas: &BTreeMap<String, String>) -> Result<String> {
    let mut out = body(template);
    for name in placeholders(template) {
        let sha = shas.get(&name).ok_or_else(|| anyhow!("no sha256 for {name}"))?;
        out = out.replace(&format!("{PLACEHOLDER}{name}"), sha);
    }
    ensure!(!out.contains(PLACEHOLDER), "a {PLACEHOLDER} placeholder is left in the manifest");
    Ok(out)
}

/// The archive names the template's placeholders name.
pub fn placeholders(template: &str) -> Vec<String> {
    let body = body(template);
    body.match_indices(PLACEHOLDER)
        .map(|(i, _)| {
            let rest = &body[i + PLACEHOLDER.len()..];
            rest.split(|c: char| c.is_whitespace() || c == '"').next().unwrap_or_default().to_string()
        })
        .collect()
}

fn release_manifest(args: &[String]) -> Result<()> {
    let (mut from, mut out, mut tag) = (None, None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| anyhow!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--from" => from = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--tag" => tag = Some(value()?),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let from = from.ok_or_else(|| anyhow!("--from DIR is required\n{USAGE}"))?;
    let root = e2e::repo_root();
    let version = crate_version(&root)?;
    if let Some(tag) = &tag {
        ensure!(*tag == format!("v{version}"), "tag {tag} is not the crate version v{version}");
    }
    let template = std::fs::read_to_string(root.join(TEMPLATE)).with_context(|| format!("read {TEMPLATE}"))?;
    check_template_version(&template, &version)?;
    let mut shas = BTreeMap::new();
    for name in placeholders(&template) {
        let sums = from.join(format!("{name}.sha256"));
        let sha = if sums.exists() {
            let text = std::fs::read_to_string(&sums)?;
            text.split_whitespace().next().unwrap_or_default().to_string()
        } else {
            sha256_file(&from.join(&name)).with_context(|| format!("neither {} nor the archive", sums.display()))?
        };
        ensure!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "{name}: not a sha256: {sha:?}");
        shas.insert(name, sha.to_ascii_lowercase());
    }
    let manifest = render_release(&template, &shas)?;
    let out = out.unwrap_or_else(|| from.join("pki.yaml"));
    std::fs::write(&out, manifest).with_context(|| format!("write {}", out.display()))?;
    eprintln!("dist: release manifest {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> String {
        std::fs::read_to_string(e2e::repo_root().join(TEMPLATE)).unwrap()
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn template_names_five_platforms_and_the_crate_version() {
        let t = template();
        let names = placeholders(&t);
        let version = crate_version(&e2e::repo_root()).unwrap();
        let want: Vec<String> = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64"), ("windows", "amd64")]
            .iter()
            .map(|(o, a)| archive_name(&version, o, a))
            .collect();
        assert_eq!(names, want);
        check_template_version(&t, &version).unwrap();
    }

    #[test]
    fn a_stale_version_anywhere_is_refused() {
        let t = template();
        let stale = t.replacen("store/pki/v0.1.0/", "store/pki/v0.0.9/", 1);
        assert_ne!(t, stale, "the template mentions the store path");
        assert!(check_template_version(&stale, "0.1.0").is_err());
        assert!(check_template_version(&t, "0.2.0").is_err());
    }

    #[test]
    fn local_render_keeps_one_platform_with_real_sha_and_file_uri() {
        let name = archive_name("0.1.0", "linux", "amd64");
        let out = render_local(&template(), &name, SHA, "file:///x/y.tar.gz").unwrap();
        assert_eq!(out.matches("- selector:").count(), 1, "{out}");
        assert!(out.contains(&format!("sha256: {SHA}")) && out.contains("uri: file:///x/y.tar.gz"), "{out}");
        assert!(out.contains("os: linux") && out.contains("arch: amd64") && !out.contains("darwin"), "{out}");
        assert!(!out.contains(PLACEHOLDER) && !out.starts_with('#') && out.contains("caveats:"), "{out}");
    }

    #[test]
    fn release_render_fills_every_platform() {
        let t = template();
        let shas: BTreeMap<String, String> = placeholders(&t).into_iter().map(|n| (n, SHA.to_string())).collect();
        let out = render_release(&t, &shas).unwrap();
        assert_eq!(out.matches(SHA).count(), 5);
        assert!(out.contains("releases/download/v0.1.0/kubectl-pki_v0.1.0_windows_amd64.tar.gz"));
        let mut missing = shas.clone();
        missing.pop_first();
        assert!(render_release(&t, &missing).is_err());
    }

    #[test]
    fn platforms_follow_krew_names() {
        assert_eq!(platform_of("x86_64-unknown-linux-musl").unwrap(), ("linux", "amd64"));
        assert_eq!(platform_of("aarch64-apple-darwin").unwrap(), ("darwin", "arm64"));
        assert_eq!(platform_of("x86_64-pc-windows-gnu").unwrap(), ("windows", "amd64"));
        assert!(platform_of("wasm32-unknown-unknown").is_err());
    }

    #[test]
    fn archive_holds_the_entries_at_its_root() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("LICENSE"));
        std::fs::write(&a, b"#!/bin/sh\n").unwrap();
        std::fs::write(&b, b"license").unwrap();
        let archive = dir.path().join("x.tar.gz");
        write_archive(&archive, &[("kubectl-pki".into(), a, 0o755), ("LICENSE".into(), b, 0o644)], 1_700_000_000).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(File::open(&archive).unwrap()));
        let got: Vec<(String, u32, u64)> = tar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap(), e.header().mtime().unwrap())
            })
            .collect();
        assert_eq!(got, vec![("kubectl-pki".into(), 0o755, 1_700_000_000), ("LICENSE".into(), 0o644, 1_700_000_000)]);
        assert_eq!(sha256_file(&archive).unwrap().len(), 64);
    }

    #[test]
    fn options_parse() {
        let args: Vec<String> = ["--debug", "--out-dir", "/o"].map(String::from).to_vec();
        assert_eq!(parse_opts(&args).unwrap(), Opts { debug: true, out_dir: Some("/o".into()), ..Opts::default() });
        assert!(parse_opts(&["--cross".to_string()]).is_err());
        let both: Vec<String> = ["--target", "x86_64-pc-windows-gnu", "--cross", "--no-build"].map(String::from).to_vec();
        assert!(parse_opts(&both).is_err());
        assert!(parse_opts(&["--bogus".to_string()]).is_err());
    }
}
