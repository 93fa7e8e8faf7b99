//! `kubectl pki version`: what was built, from which commit, for which
//! Kubernetes API. The facts are fixed at build time by `build.rs`.
//!
//! No clap types, no I/O: the command layer prints [`VersionInfo`].

use serde::Serialize;

/// The crate version, `v`-prefixed as krew and kubectl spell versions.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));
/// Short git commit, `KUBECTL_PKI_COMMIT` at build time, or `unknown`.
pub const COMMIT: &str = env!("KUBECTL_PKI_COMMIT");
/// The Kubernetes API version k8s-openapi was compiled for (its `latest` feature).
pub const KUBERNETES_API: &str = env!("KUBECTL_PKI_K8S_API");
/// The k8s-openapi crate version that supplies the API types.
pub const K8S_OPENAPI: &str = env!("KUBECTL_PKI_K8S_OPENAPI");

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub version: &'static str,
    pub commit: &'static str,
    pub kubernetes_api: &'static str,
    pub k8s_openapi: &'static str,
    /// `os/arch` in Go's spelling, as krew's platform selectors use it.
    pub platform: String,
}

impl VersionInfo {
    pub fn current() -> Self {
        VersionInfo {
            version: VERSION,
            commit: COMMIT,
            kubernetes_api: KUBERNETES_API,
            k8s_openapi: K8S_OPENAPI,
            platform: format!("{}/{}", go_os(std::env::consts::OS), go_arch(std::env::consts::ARCH)),
        }
    }

    pub fn render_text(&self) -> String {
        format!(
            "Version:         {}\nGit commit:      {}\nKubernetes API:  {} (k8s-openapi {})\nPlatform:        {}\n",
            self.version, self.commit, self.kubernetes_api, self.k8s_openapi, self.platform
        )
    }
}

/// Rust's OS name in Go's spelling (`macos` is `darwin`).
pub fn go_os(os: &str) -> &str {
    match os {
        "macos" => "darwin",
        other => other,
    }
}

/// Rust's architecture name in Go's spelling.
pub fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The build script decodes k8s-openapi's metadata; its own
    /// conditional-compilation macros must agree with the result.
    #[test]
    #[allow(clippy::vec_init_then_push)] // the pushes are conditional, inside k8s-openapi's macros
    fn kubernetes_api_matches_k8s_openapi_feature() {
        let mut enabled = Vec::<&str>::new();
        k8s_openapi::k8s_if_1_33! { enabled.push("v1.33"); }
        k8s_openapi::k8s_if_1_34! { enabled.push("v1.34"); }
        k8s_openapi::k8s_if_1_35! { enabled.push("v1.35"); }
        k8s_openapi::k8s_if_1_36! { enabled.push("v1.36"); }
        k8s_openapi::k8s_if_1_37! { enabled.push("v1.37"); }
        assert_eq!(enabled, vec![KUBERNETES_API]);
    }

    #[test]
    fn versions_are_v_prefixed_and_commit_is_set() {
        assert_eq!(VERSION, format!("v{}", env!("CARGO_PKG_VERSION")));
        assert!(!COMMIT.is_empty());
        assert!(K8S_OPENAPI.starts_with("0."), "{K8S_OPENAPI}");
    }

    #[test]
    fn json_uses_camel_case_keys() {
        let json = serde_json::to_value(VersionInfo::current()).unwrap();
        for key in ["version", "commit", "kubernetesApi", "k8sOpenapi", "platform"] {
            assert!(json.get(key).is_some(), "missing {key} in {json}");
        }
    }

    #[test]
    fn platform_names_follow_go() {
        assert_eq!((go_os("macos"), go_arch("x86_64")), ("darwin", "amd64"));
        assert_eq!((go_os("windows"), go_arch("aarch64")), ("windows", "arm64"));
    }
}
