//! Typed errors of the library and the reporter that turns them into one
//! line on stderr and an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

/// How a successful run ended; monitoring reads it from the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything checked is fine (exit 0).
    Ok,
    /// Something needs attention soon, e.g. a certificate expiring (exit 3).
    Warning,
    /// Something is broken now: expired, invalid, not yet valid (exit 4).
    Critical,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Ok => 0,
            Outcome::Warning => 3,
            Outcome::Critical => 4,
        })
    }
}

/// Exit code of any error: 1, as kubectl uses for failures.
pub const ERROR_EXIT: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig {path}: {reason}")]
    Kubeconfig { path: String, reason: String },
    #[error("cannot reach the Kubernetes API at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("Kubernetes API: {0}")]
    Api(String),
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {after}: {waiting_for}")]
    Timeout { after: String, waiting_for: String },
    #[error("missing permissions: {0}")]
    Forbidden(String),
    /// SIGINT or SIGTERM, after the cleanup it allowed (exit 130).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O failure on a named file.
    pub fn file(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::File { path: path.into(), reason: err.to_string() }
    }

    /// A kube client error, classified so that an unreachable server and a
    /// refused request read differently.
    pub fn kube(err: kube::Error) -> Self {
        match err {
            // The TLS handshake succeeds whatever the client certificate;
            // the refusal is all the user sees, so say what to check.
            kube::Error::Api(status) if status.code == 401 => Error::Api(format!(
                "{} (401): the server refused the kubeconfig's credentials (an expired client certificate, or one \
                 from another CA?); `kubectl pki status --source kubeconfig` checks them",
                status.message
            )),
            kube::Error::Api(status) => Error::Api(format!("{} ({})", status.message, status.reason)),
            // The connection failed or dropped: say so, not "Kubernetes API: ServiceError".
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                Error::Unreachable { server: "the cluster".into(), reason: flatten(&err) }
            }
            other => Error::Api(flatten(&other)),
        }
    }
}

/// Joins an error and its sources into one line, as a user reads it.
pub fn flatten(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line.replace('\n', " ")
}

/// Prints the one-line error and returns the error exit code.
pub fn report(err: &Error) -> ExitCode {
    eprintln!("error: {}", flatten(err));
    match err {
        // A shell's convention for Ctrl-C (128 + SIGINT).
        Error::Interrupted(_) => ExitCode::from(130),
        _ => ExitCode::from(ERROR_EXIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_joins_sources_on_one_line() {
        let io = std::io::Error::other("disk\nfull");
        let err = Error::file("/tmp/x", io);
        assert_eq!(flatten(&err), "/tmp/x: disk full");
    }

    #[test]
    fn outcomes_order_by_severity() {
        assert!(Outcome::Critical > Outcome::Warning && Outcome::Warning > Outcome::Ok);
    }
}
