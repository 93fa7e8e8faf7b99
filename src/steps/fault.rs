//! `KUBECTL_PKI_FAULT_AFTER=<point>` ends the process right after that
//! point (a phase name, or `first-change`), as a crash would: no cleanup,
//! the Lease stays held. For the interruption tests, which run the debug
//! binary: a release build compiles no such exit. Touches nothing else.

/// Exits with code 86 when `KUBECTL_PKI_FAULT_AFTER` names `point`.
#[cfg(debug_assertions)]
pub fn after(point: &str) {
    if std::env::var("KUBECTL_PKI_FAULT_AFTER").is_ok_and(|v| v == point) {
        eprintln!("kubectl-pki: fault injected after {point} (KUBECTL_PKI_FAULT_AFTER)");
        std::process::exit(86);
    }
}

/// Release builds: no fault injection.
#[cfg(not(debug_assertions))]
pub fn after(_point: &str) {}
