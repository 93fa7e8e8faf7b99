//! Helpers shared by the CLI tests: each test file that needs them declares
//! `mod common;` and uses a part.

#![allow(dead_code)]

use std::path::Path;

/// `openssl ARGS` in `dir`; its stdout, or a panic showing stdout and stderr.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
