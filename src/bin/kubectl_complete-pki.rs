//! `kubectl_complete-pki`: kubectl (1.26+) runs it on `kubectl pki <TAB>`.
fn main() -> std::process::ExitCode {
    kubectl_pki::commands::completion::protocol_main(std::env::args_os().skip(1))
}
