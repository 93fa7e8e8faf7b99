//! Typed errors of the library and the reporter that turns them into one
//! line on stderr and an exit code.
//!
//! No clap, no printing except in [`report`], the one reporter `main` calls.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

/// How a successful run ended; monitoring reads it from the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
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

/// The `--request-timeout` of this process's client, named by [`Error::NoAnswer`]: set once
/// when the client is built ([`set_request_limit`]).
static REQUEST_LIMIT: OnceLock<std::time::Duration> = OnceLock::new();

pub fn set_request_limit(limit: std::time::Duration) {
    let _ = REQUEST_LIMIT.set(limit);
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig {path}: {reason}")]
    Kubeconfig { path: String, reason: String },
    #[error("cannot reach the Kubernetes API at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// A request got no answer within `--request-timeout` (a server that
    /// accepts connections but stopped answering).
    #[error("the Kubernetes API at {server} did not answer within {limit} (--request-timeout)")]
    NoAnswer { server: String, limit: String },
    /// The API server answered with a refusal: kept as it said it, so
    /// callers match `Reason::NotFound` instead of parsing text.
    #[error("Kubernetes API: {0}")]
    Api(ApiError),
    /// The client failed without an answer from the server (a response it
    /// could not decode, a request it could not build).
    #[error("Kubernetes API: {0}")]
    Client(String),
    /// A refusal (403) of a read, with what was asked: a `status` source
    /// read by default is skipped with a warning instead of failing the run
    /// ([`Error::denied`]). Printed as the API's refusal.
    #[error("Kubernetes API: {api}")]
    Denied { verb: &'static str, resource: &'static str, api: ApiError },
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    /// Reading or writing a named file failed; the I/O error is kept
    /// (flattened only by [`report`]).
    #[error("{path}: {source}")]
    FileIo { path: PathBuf, source: std::io::Error },
    /// A flag's value that cannot be used: `--timeout: invalid duration "x": ...`,
    /// or with the value quoted after the flag, `--since "yesterday": expected ...`.
    #[error("{flag}{}: {reason}", .value.as_ref().map(|v| format!(" {v:?}")).unwrap_or_default())]
    Flag { flag: &'static str, value: Option<String>, reason: String },
    /// Flags that do not go together, or one that another needs.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Invalid(String),
    /// A check of the result failed: the change happened, its outcome is not what it must be.
    #[error("verification failed: {0}")]
    Verification(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {after}: {waiting_for}")]
    Timeout { after: String, waiting_for: String },
    /// Permissions a command lacks: the reason on the error line, and each
    /// denied permission, which [`report`] lists above it.
    #[error("missing permissions: {reason}")]
    Forbidden { reason: String, denied: Vec<Denied> },
    /// The run's Lease is no longer held: it stops before its next write.
    #[error("lost the lock Lease {lease}: {why}; stopped before the next change")]
    LockLost { lease: String, why: String },
    /// Some secrets of a restore could not be written (the others were):
    /// the line names them; [`report`] lists each with its reason above it.
    #[error(
        "restore incomplete: {} of {total} secret(s) failed: {}; re-run the restore (a dry run first) once the cause is fixed",
        failed.len(),
        failed.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
    )]
    RestoreIncomplete { total: usize, failed: Vec<FailedItem> },
    /// Contexts of a fleet `status` that could not be read (their rows say why;
    /// the others were printed).
    #[error("{} of {total} context(s) could not be read: {}", failed.len(), failed.join(", "))]
    ContextsFailed { total: usize, failed: Vec<String> },
    /// SIGINT or SIGTERM, after the cleanup it allowed (exit 130).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One permission a command lacks, as the operator checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// `delete secrets in tenant-a (why)`.
    pub what: String,
    /// The `kubectl auth can-i` line that reproduces the check.
    pub check: String,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  missing: {}\n           check: {}", self.what, self.check)
    }
}

/// One object a command could not write, and why (escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedItem {
    pub name: String,
    pub reason: String,
}

impl std::fmt::Display for FailedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  failed: {}: {}", self.name, self.reason)
    }
}

/// An error status from the API server (`metav1.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub reason: Reason,
    pub message: String,
}

/// `metav1.Status.reason`, the ones callers act on as variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    NotFound,
    Conflict,
    Forbidden,
    Unauthorized,
    AlreadyExists,
    /// Any other reason, as the server spelled it.
    Other(String),
}

impl Reason {
    fn of(reason: &str, code: u16) -> Reason {
        match (reason, code) {
            ("NotFound", _) | ("", 404) => Reason::NotFound,
            ("Conflict", _) | ("", 409) => Reason::Conflict,
            ("Forbidden", _) | ("", 403) => Reason::Forbidden,
            ("Unauthorized", _) | ("", 401) => Reason::Unauthorized,
            ("AlreadyExists", _) => Reason::AlreadyExists,
            (other, _) => Reason::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reason::NotFound => "NotFound",
            Reason::Conflict => "Conflict",
            Reason::Forbidden => "Forbidden",
            Reason::Unauthorized => "Unauthorized",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Other(r) => r,
        }
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError { code, reason: Reason::of(reason, code), message: message.into() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            // The TLS handshake succeeds whatever the client certificate;
            // the refusal is all the user sees, so say what to check.
            401 => write!(
                f,
                "{} (401): the server refused the kubeconfig's credentials (an expired client certificate, or one \
                 from another CA?); `kubectl pki status --source kubeconfig` checks them",
                self.message
            ),
            _ => write!(f, "{} ({})", self.message, self.reason.as_str()),
        }
    }
}

impl Error {
    /// A bad value of `flag`: `"{flag}: {reason}"`.
    pub fn flag(flag: &'static str, reason: impl Into<String>) -> Self {
        Error::Flag { flag, value: None, reason: reason.into() }
    }

    /// The error of a run that stopped with its Lease released: a timeout's or
    /// an interrupt's one line carries `hint`; any other error comes back as it
    /// is, and `false` says the caller prints the hint beside it.
    pub fn with_resume_hint(self, hint: &str) -> (Error, bool) {
        match self {
            Error::Timeout { after, waiting_for } => (Error::Timeout { after, waiting_for: format!("{waiting_for}; {hint}") }, true),
            Error::Interrupted(what) => (Error::Interrupted(format!("{what}; the Lease was released; {hint}")), true),
            other => (other, false),
        }
    }

    /// A bad value of `flag`, quoted: `"{flag} {value:?}: {reason}"`.
    pub fn flag_value(flag: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Error::Flag { flag, value: Some(value.to_string()), reason: reason.into() }
    }

    /// An I/O failure on a named file, the error kept as the source.
    pub fn io_at(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::FileIo { path: path.into(), source }
    }

    /// A named file that cannot be used, and why.
    pub fn file(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::File { path: path.into(), reason: err.to_string() }
    }

    /// The one classifier of kube client errors: an answer of the server
    /// stays structured ([`ApiError`]); a failure to connect is
    /// [`Error::Unreachable`], naming `server` when the caller knows it (a
    /// caller that knows it also counts any other client failure as one).
    pub fn kube_at(err: kube::Error, server: Option<&str>) -> Self {
        match err {
            kube::Error::Api(status) => Error::Api(ApiError::new(status.code, &status.reason, status.message)),
            // The connection failed or dropped: say so, not "Kubernetes API: ServiceError".
            kube::Error::HyperError(_) | kube::Error::Service(_) if timed_out(&err) => Error::NoAnswer {
                server: server.unwrap_or("the cluster").into(),
                limit: REQUEST_LIMIT
                    .get()
                    .copied()
                    .and_then(|d| jiff::SignedDuration::try_from(d).ok())
                    .map_or_else(|| "the request limit".into(), crate::duration::human_duration),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                Error::Unreachable { server: server.unwrap_or("the cluster").into(), reason: flatten(&err) }
            }
            other => match server {
                Some(server) => Error::Unreachable { server: server.into(), reason: flatten(&other) },
                None => Error::Client(flatten(&other)),
            },
        }
    }

    /// [`Error::kube_at`] without a known server.
    pub fn kube(err: kube::Error) -> Self {
        Error::kube_at(err, None)
    }

    /// `err` as [`Error::Denied`] when it is a 403 to `verb` `resource`
    /// (`list`, `validatingwebhookconfigurations.admissionregistration.k8s.io`); else unchanged.
    pub fn denied(self, verb: &'static str, resource: &'static str) -> Self {
        match self {
            Error::Api(api) if api.reason == Reason::Forbidden => Error::Denied { verb, resource, api },
            other => other,
        }
    }

    /// The API's reason, when this is an answer of the API server.
    pub fn api_reason(&self) -> Option<&Reason> {
        match self {
            Error::Api(e) | Error::Denied { api: e, .. } => Some(&e.reason),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.api_reason() == Some(&Reason::NotFound)
    }

    pub fn is_conflict(&self) -> bool {
        self.api_reason() == Some(&Reason::Conflict)
    }
}

/// Whether a client error is a request that ran out of time: an I/O
/// timeout somewhere in its sources (how kube's read and write limits fail).
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return true;
        }
        source = e.source();
    }
    false
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
    eprint!("{}", report_text(err));
    match err {
        // A shell's convention for Ctrl-C (128 + SIGINT).
        Error::Interrupted(_) => ExitCode::from(130),
        _ => ExitCode::from(ERROR_EXIT),
    }
}

/// What [`report`] prints: a refusal's denied permissions (each with its
/// `kubectl auth can-i` line), then the one-line error.
fn report_text(err: &Error) -> String {
    let mut text = String::new();
    if let Error::Forbidden { denied, .. } = err {
        for d in denied {
            text.push_str(&format!("{d}\n"));
        }
    }
    if let Error::RestoreIncomplete { failed, .. } = err {
        for f in failed {
            text.push_str(&format!("{f}\n"));
        }
    }
    text.push_str(&format!("error: {}\n", flatten(err)));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_lists_what_is_denied_above_the_error_line() {
        let denied = vec![Denied { what: "get secrets in t".into(), check: "kubectl auth can-i get secrets -n t".into() }];
        let err = Error::Forbidden { reason: "restore needs 1 permission(s) you lack".into(), denied };
        assert_eq!(
            report_text(&err),
            "  missing: get secrets in t\n           check: kubectl auth can-i get secrets -n t\n\
             error: missing permissions: restore needs 1 permission(s) you lack\n"
        );
        assert_eq!(report_text(&Error::Invalid("x".into())), "error: x\n");
    }

    #[test]
    fn an_incomplete_restore_lists_each_failed_secret_above_the_error_line() {
        let failed = vec![FailedItem { name: "t-ca".into(), reason: "conflict: it changed".into() }];
        let text = report_text(&Error::RestoreIncomplete { total: 3, failed });
        assert!(
            text.starts_with("  failed: t-ca: conflict: it changed\nerror: restore incomplete: 1 of 3 secret(s) failed: t-ca;"),
            "{text}"
        );
    }

    #[test]
    fn flatten_joins_sources_on_one_line() {
        let io = std::io::Error::other("disk\nfull");
        let err = Error::file("/tmp/x", io);
        assert_eq!(flatten(&err), "/tmp/x: disk full");
    }

    #[test]
    fn an_io_error_on_a_file_is_kept_and_flattened_once() {
        let err = Error::io_at("/tmp/x", std::io::Error::other("disk\nfull"));
        assert!(std::error::Error::source(&err).is_some());
        assert_eq!(flatten(&err), "/tmp/x: disk full");
        assert_eq!(flatten(&err), flatten(&Error::file("/tmp/x", std::io::Error::other("disk\nfull"))));
    }

    #[test]
    fn flag_errors_name_the_flag_and_the_value() {
        assert_eq!(Error::flag("--timeout", "invalid duration \"x\"").to_string(), "--timeout: invalid duration \"x\"");
        assert_eq!(Error::flag_value("--since", "yesterday", "expected a time").to_string(), "--since \"yesterday\": expected a time");
    }

    #[test]
    fn outcomes_order_by_severity() {
        assert!(Outcome::Critical > Outcome::Warning && Outcome::Warning > Outcome::Ok);
    }
}
