//! Child processes of the control plane: logs to files, and a lifetime that
//! is either tied to the test binary (killed when it exits, even on panic
//! or SIGKILL of the parent) or detached (for `cargo xtask cluster up`).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// SIGKILL when the spawning thread exits (PR_SET_PDEATHSIG).
    TiedToParent,
    /// Own session; stopped explicitly by PID.
    Detached,
}

/// Spawns `cmd` with stdout and stderr appended to `log`.
pub fn spawn(mut cmd: Command, log: &Path, lifetime: Lifetime) -> Result<Child> {
    let out = File::options().create(true).append(true).open(log).with_context(|| format!("open {}", log.display()))?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            match lifetime {
                Lifetime::TiedToParent => {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Lifetime::Detached => {
                    if libc::setsid() < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        });
    }
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.spawn().with_context(|| format!("start {program}"))
}

/// Stops a process by PID: SIGTERM, then SIGKILL after `grace`. Checks
/// first that the PID still runs `expected` (PIDs are reused).
pub fn stop_pid(pid: u32, expected: &Path, grace: std::time::Duration) -> bool {
    if !runs(pid, expected) {
        return false;
    }
    let p = pid as libc::pid_t;
    unsafe { libc::kill(p, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if !runs(pid, expected) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    unsafe { libc::kill(p, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(200));
    true
}

/// Whether `pid` is alive (not a zombie) and its executable is `expected`.
pub fn runs(pid: u32, expected: &Path) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the parenthesised command name.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
    if matches!(state, None | Some('Z') | Some('X')) {
        return false;
    }
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(exe) => {
            let exe = exe.to_string_lossy().trim_end_matches(" (deleted)").to_string();
            let want = std::fs::canonicalize(expected).unwrap_or_else(|_| expected.to_path_buf());
            Path::new(&exe) == want
        }
        Err(_) => false,
    }
}

/// A free TCP port on 127.0.0.1 (bind to 0, read it back).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("bind a free port")?;
    Ok(l.local_addr()?.port())
}

/// What [`interrupt_when`] saw: the exit code after SIGINT and every stderr line.
pub struct Interrupted {
    pub code: Option<i32>,
    pub stderr: String,
}

/// Runs `cmd`, reads its stderr until a line satisfies `reached` (within `wait`), sends it
/// SIGINT as Ctrl-C would, and waits (30 s at most) for it to exit. Panics, quoting what it
/// printed, when the line never comes or the process does not stop.
pub async fn interrupt_when(mut cmd: tokio::process::Command, wait: std::time::Duration, reached: impl Fn(&str) -> bool) -> Interrupted {
    use tokio::io::AsyncBufReadExt;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    let waiting = tokio::time::timeout(wait, async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push_str(&line);
            seen.push('\n');
            if reached(&line) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(waiting.ok(), Some(true), "never reached the line to interrupt at:\n{seen}");
    let pid = child.id().expect("pid") as libc::pid_t;
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait()).await.expect("exits after SIGINT").expect("wait");
    while let Ok(Some(line)) = lines.next_line().await {
        seen.push_str(&line);
        seen.push('\n');
    }
    Interrupted { code: status.code(), stderr: seen }
}
