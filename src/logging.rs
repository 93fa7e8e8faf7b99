//! Logs go to stderr only, so stdout stays data.

/// How log lines look: text for people, JSON objects for a log pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub json: bool,
    /// A daemon logs what it does (info) even without `-v`.
    pub daemon: bool,
}

/// `-v` levels map to tracing levels; `RUST_LOG` overrides.
pub fn init(verbose: u8, style: Style) {
    let level = match (verbose, style.daemon) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("kubectl_pki={level}")));
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if style.json {
        builder.json().with_current_span(false).try_init()
    } else if style.daemon {
        builder.with_ansi(color).try_init()
    } else {
        builder.with_ansi(color).without_time().try_init()
    };
}
