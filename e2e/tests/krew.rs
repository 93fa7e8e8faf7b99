//! The plugin as users get it: the archive `cargo xtask dist` makes,
//! installed, run, completed and uninstalled by the REAL krew (v0.4.3, built
//! from its Go module), and the manifests checked by krew's own validator.
//! Everything runs offline in a temporary KREW_ROOT.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The output of `cargo xtask dist --debug` (a debug build keeps the test
/// short), made once per test binary.
struct Dist {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    archive: PathBuf,
    manifest: PathBuf,
    version: String,
}

fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("dist");
        let out = e2e::krew::scrub_cargo_env(&mut Command::new(env!("CARGO")))
            .args(["run", "--quiet", "-p", "xtask", "--", "dist", "--debug", "--out-dir"])
            .arg(&dir)
            .current_dir(e2e::repo_root())
            .output()
            .expect("run cargo xtask dist");
        assert!(out.status.success(), "cargo xtask dist --debug failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let archives: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("read dist dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
            .collect();
        assert_eq!(archives.len(), 1, "one archive expected: {archives:?}");
        let manifest = dir.join("pki.yaml");
        let text = std::fs::read_to_string(&manifest).expect("read rendered manifest");
        let version = text.lines().find_map(|l| l.trim().strip_prefix("version: ")).expect("spec.version in the manifest").to_string();
        Dist { dir, archive: archives[0].clone(), manifest, version, _dir: tmp }
    })
}

/// A private krew installation: KREW_ROOT, `kubectl-krew` on PATH, and a
/// PATH without any other kubectl-pki so discovery can only find krew's.
struct Krew {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    path: std::ffi::OsString,
}

impl Krew {
    fn new() -> Krew {
        let (krew, _) = e2e::krew::krew_bins().expect("build krew");
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("krew-root");
        let tools = tmp.path().join("tools");
        let home = tmp.path().join("home");
        for d in [&root, &tools, &home] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::os::unix::fs::symlink(&krew, tools.join("kubectl-krew")).expect("link kubectl-krew");
        let system = std::env::var_os("PATH").unwrap_or_default();
        let others = std::env::split_paths(&system).filter(|d| !d.join("kubectl-pki").exists() && !d.join("kubectl_complete-pki").exists());
        let path = std::env::join_paths([root.join("bin"), tools].into_iter().chain(others)).expect("PATH");
        Krew { _tmp: tmp, root, home, path }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PATH", &self.path)
            .env("KREW_ROOT", &self.root)
            .env("HOME", &self.home)
            .env_remove("KUBECONFIG")
            .env_remove("KREW_OS")
            .env_remove("KREW_ARCH");
        cmd
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        self.cmd("kubectl").args(args).output().expect("run kubectl")
    }
}

fn text(out: &Output) -> String {
    format!("status {}\nstdout:\n{}\nstderr:\n{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn krew_installs_runs_completes_and_uninstalls_the_plugin() {
    let dist = dist();
    let krew = Krew::new();

    let before = krew.kubectl(&["pki", "version"]);
    assert!(!before.status.success(), "kubectl pki must not be found before the install:\n{}", text(&before));

    let manifest = format!("--manifest={}", dist.manifest.display());
    let archive = format!("--archive={}", dist.archive.display());
    let install = krew.kubectl(&["krew", "install", &manifest, &archive]);
    assert!(install.status.success(), "krew install failed:\n{}", text(&install));
    let said = text(&install);
    assert!(said.contains("Installed plugin: pki"), "{said}");
    assert!(said.contains("dry run by default"), "caveats are shown: {said}");

    let bin = krew.root.join("bin").join("kubectl-pki");
    assert!(bin.exists(), "krew links {}", bin.display());

    // Found through kubectl's plugin discovery, from krew's bin directory.
    let list = krew.kubectl(&["plugin", "list"]);
    assert!(stdout(&list).contains(&bin.display().to_string()), "{}", text(&list));
    let version = krew.kubectl(&["pki", "version"]);
    assert!(version.status.success(), "{}", text(&version));
    let out = stdout(&version);
    assert!(out.contains(&format!("Version:         {}", dist.version)), "{out}");
    assert!(out.contains("Kubernetes API:  v1."), "{out}");

    // Completion through kubectl itself (1.26+): krew links only `bin`, so
    // nothing completes until the caveat's symlink puts kubectl_complete-pki on PATH.
    let unlinked = krew.kubectl(&["__complete", "pki", "st"]);
    assert!(!stdout(&unlinked).lines().any(|l| l.starts_with("status")), "{}", text(&unlinked));
    let store = krew.root.join("store").join("pki").join(&dist.version).join("kubectl_complete-pki");
    assert!(store.exists(), "the archive's completer is installed at {}", store.display());
    std::os::unix::fs::symlink(&store, krew.root.join("bin").join("kubectl_complete-pki")).expect("link completer");
    let completed = krew.kubectl(&["__complete", "pki", "st"]);
    let lines: Vec<String> = stdout(&completed).lines().map(String::from).collect();
    assert!(lines.iter().any(|l| l.starts_with("status\t")), "{}", text(&completed));
    assert_eq!(lines.last().map(String::as_str), Some(":4"), "{}", text(&completed));
    let flags = krew.kubectl(&["__complete", "pki", "status", "--out"]);
    assert!(stdout(&flags).lines().any(|l| l.starts_with("--output\t")), "{}", text(&flags));

    // uninstall needs an initialised index; `krew update` cannot reach the
    // network here, so make the empty git repository it expects.
    let index = krew.root.join("index").join("default");
    std::fs::create_dir_all(index.join("plugins")).expect("mkdir index");
    for args in [&["init", "-q"][..], &["commit", "-q", "--allow-empty", "-m", "empty index"]] {
        let out = krew
            .cmd("git")
            .args(args)
            .current_dir(&index)
            .env("GIT_AUTHOR_NAME", "e2e")
            .env("GIT_AUTHOR_EMAIL", "e2e@localhost")
            .env("GIT_COMMITTER_NAME", "e2e")
            .env("GIT_COMMITTER_EMAIL", "e2e@localhost")
            .output()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}:\n{}", text(&out));
    }
    let listed = krew.kubectl(&["krew", "list"]);
    // Installed from a manifest file, krew lists it as `detached/pki`.
    assert!(stdout(&listed).lines().any(|l| l.trim().rsplit('/').next() == Some("pki")), "{}", text(&listed));

    let uninstall = krew.kubectl(&["krew", "uninstall", "pki"]);
    assert!(uninstall.status.success(), "{}", text(&uninstall));
    assert!(!bin.exists() && !bin.is_symlink(), "{} is gone", bin.display());
    assert!(!krew.root.join("store").join("pki").exists(), "the store entry is gone");
    let after = krew.kubectl(&["pki", "version"]);
    assert!(!after.status.success(), "kubectl pki is not found after uninstall:\n{}", text(&after));
}

#[test]
fn krew_validator_accepts_the_local_manifest_structurally() {
    let (_, validate) = e2e::krew::krew_bins().expect("build krew");
    let out = Command::new(validate).arg("-manifest").arg(&dist().manifest).arg("-skip-install").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// The full check krew-index runs: the validator installs the plugin from
/// its `uri` (served here over HTTP on 127.0.0.1) with the real krew,
/// verifies the sha256, and requires a LICENSE among the installed files.
#[test]
fn krew_validator_installs_the_local_manifest_from_its_uri() {
    let dist = dist();
    let krew = Krew::new();
    let (_, validate) = e2e::krew::krew_bins().expect("build krew");
    let url = serve_once_per_request(std::fs::read(&dist.archive).expect("read archive"));
    let rendered = std::fs::read_to_string(&dist.manifest).unwrap();
    let served: String = rendered
        .lines()
        .map(|l| if l.trim_start().starts_with("uri: ") { format!("      uri: {url}\n") } else { format!("{l}\n") })
        .collect();
    assert!(served.contains(&url), "{served}");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pki.yaml");
    std::fs::write(&manifest, served).unwrap();
    let out = krew.cmd(&validate.display().to_string()).arg("-manifest").arg(&manifest).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("all 1 spec.platforms installed fine"), "{}", text(&out));
}

/// The release rendering (all five platforms) passes krew's structural
/// rules. Only this machine's archive exists, so the other four sha256 files
/// hold the digests of stand-in files: the check is about the manifest.
#[test]
fn krew_validator_accepts_the_release_manifest_for_five_platforms() {
    let dist = dist();
    let (_, validate) = e2e::krew::krew_bins().expect("build krew");
    let from = tempfile::tempdir().unwrap();
    let name = dist.archive.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(&dist.archive, from.path().join(&name)).unwrap();
    let version = dist.version.clone();
    for (os, arch) in [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64"), ("windows", "amd64")] {
        let other = format!("kubectl-pki_{version}_{os}_{arch}.tar.gz");
        if other != name {
            std::fs::write(from.path().join(other), format!("stand-in for {os}/{arch}")).unwrap();
        }
    }
    let out = from.path().join("pki.yaml");
    let render = e2e::krew::scrub_cargo_env(&mut Command::new(env!("CARGO")))
        .args(["run", "--quiet", "-p", "xtask", "--", "dist", "manifest", "--tag", &version, "--from"])
        .arg(from.path())
        .arg("--out")
        .arg(&out)
        .current_dir(e2e::repo_root())
        .output()
        .unwrap();
    assert!(render.status.success(), "{}", text(&render));
    let manifest = std::fs::read_to_string(&out).unwrap();
    assert_eq!(manifest.matches("- selector:").count(), 5, "{manifest}");
    let real = std::fs::read_to_string(dist.dir.join(format!("{name}.sha256"))).unwrap();
    let real_sha = real.split_whitespace().next().unwrap();
    assert!(manifest.contains(&format!("sha256: {real_sha}")), "the local archive's digest is in: {manifest}");
    let checked = Command::new(validate).arg("-manifest").arg(&out).arg("-skip-install").output().unwrap();
    assert!(checked.status.success(), "{}", text(&checked));
    let said = String::from_utf8_lossy(&checked.stderr);
    assert!(said.contains("structural validation OK") && said.contains("no overlapping"), "{said}");
}

/// Serves `body` to every GET on a free localhost port, for the life of the test binary.
fn serve_once_per_request(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&body));
        }
    });
    format!("http://127.0.0.1:{port}/kubectl-pki.tar.gz")
}
