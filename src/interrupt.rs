//! Ctrl-C and SIGTERM for commands that change the cluster: the first
//! signal asks the run to stop cleanly (release its Lease, print how to
//! resume); a second one exits at once, for when that clean-up hangs on a
//! server that stopped answering. No clap types.

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

/// The exit status of a second signal: 128 + SIGINT, as a shell reports it.
pub const SECOND_SIGNAL_EXIT: i32 = 130;

/// Resolves on the first SIGINT or SIGTERM (named); pending forever when
/// the handlers cannot be installed, so the run goes on as before. From
/// then on, a further signal ends the process at once. The handlers are
/// installed when this is called, not when it is first polled: a signal
/// right after the call (after the line that invites Ctrl-C) is caught.
pub fn first() -> impl Future<Output = &'static str> {
    let handlers = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
    async move {
        let (Ok(mut int), Ok(mut term)) = handlers else {
            return std::future::pending().await;
        };
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
            eprintln!("second signal: exiting at once (the Lease expires by itself; re-run the same command to continue)");
            std::process::exit(SECOND_SIGNAL_EXIT);
        });
        name
    }
}
