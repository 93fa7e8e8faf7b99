//! Which Kamaji a controller image runs, and what that version can do.
//!
//! Kamaji tags its edge releases `edge-YY.M.P` (up to 2025) and `YY.M.P-edge`
//! (since); both are one ordered series. Cozystack builds its own image
//! (`ghcr.io/cozystack/cozystack/kamaji:v1.1.7@sha256:...`) tagged with the
//! *Cozystack* version, so those tags are mapped to the Kamaji edge release
//! that Cozystack version ships (images/kamaji/Dockerfile `ARG VERSION`).

use std::fmt;

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

/// A Kamaji edge release, ordered by (year, month, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KamajiVersion {
    pub year: u32,
    pub month: u32,
    pub patch: u32,
}

impl KamajiVersion {
    pub const fn new(year: u32, month: u32, patch: u32) -> Self {
        KamajiVersion { year, month, patch }
    }

    /// `edge-25.7.3` or `25.7.3-edge` (a leading `v` is tolerated).
    pub fn parse_edge(tag: &str) -> Option<Self> {
        let tag = tag.trim().trim_start_matches('v');
        let core = tag.strip_prefix("edge-").or_else(|| tag.strip_suffix("-edge"))?;
        let (y, m, p) = three_numbers(core)?;
        Some(KamajiVersion::new(y, m, p))
    }

    /// `certs.kamaji.clastix.io/rotate` exists (PR #877).
    pub fn supports_rotate_annotation(self) -> bool {
        self >= ROTATE_ANNOTATION
    }
}

impl fmt::Display for KamajiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Kamaji switched the spelling in 2026; print it the way that release was tagged.
        if self.year >= 26 {
            write!(f, "{}.{}.{}-edge", self.year, self.month, self.patch)
        } else {
            write!(f, "edge-{}.{}.{}", self.year, self.month, self.patch)
        }
    }
}

/// First release with the rotate annotation (PR #877).
pub const ROTATE_ANNOTATION: KamajiVersion = KamajiVersion::new(25, 7, 3);
/// #976: the konnectivity certificate is re-issued on CA rotation.
pub const FIX_KONNECTIVITY_CERT: KamajiVersion = KamajiVersion::new(26, 3, 2);
/// #1152: the konnectivity kubeconfig gets the new CA on rotation.
pub const FIX_KONNECTIVITY_KUBECONFIG: KamajiVersion = KamajiVersion::new(26, 5, 4);
/// #1191: the controller's soot manager reloads the tenant kubeconfig.
pub const FIX_SOOT_MANAGER: KamajiVersion = KamajiVersion::new(26, 6, 5);

/// What the controller image says about the Kamaji version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detected {
    /// The image the version was read from.
    pub image: String,
    /// The Kamaji release, or at least this release (Cozystack mapping);
    /// `None` when the tag says nothing usable.
    pub version: Option<KamajiVersion>,
    /// How the version was derived, for the plan.
    pub how: String,
}

/// Reads the version from a container image reference.
pub fn from_image(image: &str) -> Detected {
    let tag = image_tag(image);
    let repo = image_repository(image);
    let (version, how) = match tag {
        None => (None, "image has no tag".to_string()),
        Some(tag) => match KamajiVersion::parse_edge(tag) {
            Some(v) => (Some(v), format!("Kamaji tag {tag}")),
            None if repo.contains("cozystack") => match cozystack_to_kamaji(tag) {
                Some(v) => (Some(v), format!("Cozystack {tag} ships Kamaji {v}")),
                None => (None, format!("Cozystack tag {tag} has no known Kamaji release")),
            },
            None => (None, format!("tag {tag} is not a Kamaji edge release")),
        },
    };
    Detected { image: image.to_string(), version, how }
}

/// The Kamaji edge release a Cozystack version builds (the lowest one the
/// minor series used), from cozystack images/kamaji/Dockerfile.
pub fn cozystack_to_kamaji(tag: &str) -> Option<KamajiVersion> {
    let (major, minor, _patch) = three_numbers(tag.trim().trim_start_matches('v').split(['-', '+']).next()?)?;
    match (major, minor) {
        (0, 30..=34) => Some(KamajiVersion::new(25, 3, 2)),
        (0, 35..=39) => Some(KamajiVersion::new(25, 4, 1)),
        (1, 0..=2) => Some(KamajiVersion::new(26, 2, 4)),
        (1, 3..=5) => Some(KamajiVersion::new(26, 3, 5)),
        (1, 6..) => Some(KamajiVersion::new(26, 3, 6)),
        _ => None,
    }
}

/// The tag of `repo/name:tag@sha256:...`, if any (a registry port is not a tag).
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map(|(_, tag)| tag).filter(|t| !t.is_empty())
}

fn image_repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    match image_tag(image) {
        Some(tag) => without_digest.strip_suffix(tag).and_then(|r| r.strip_suffix(':')).unwrap_or(without_digest),
        None => without_digest,
    }
}

fn three_numbers(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.');
    let n = |p: Option<&str>| p.and_then(|s| s.parse::<u32>().ok());
    let v = (n(parts.next())?, n(parts.next())?, n(parts.next())?);
    parts.next().is_none().then_some(v)
}

/// The Kamaji version: `given` (`--kamaji-version`), else the lowest one
/// the controller pods' images name.
pub fn detect(pods: &[Pod], given: Option<KamajiVersion>) -> Detected {
    if let Some(v) = given {
        return Detected { image: String::new(), version: Some(v), how: format!("--kamaji-version {v}") };
    }
    let mut found: Vec<Detected> = pods.iter().filter_map(controller_image).map(|i| from_image(&i)).collect();
    found.sort_by_key(|d| d.version);
    found.dedup_by(|a, b| a.image == b.image);
    match found.len() {
        0 => Detected { image: String::new(), version: None, how: "no Kamaji controller pod found".into() },
        1 => found.remove(0),
        n => {
            // Mid-upgrade: plan for the oldest (None sorts first: unknown wins).
            let mut d = found.remove(0);
            d.how = format!("{} (lowest of {n} controller images)", d.how);
            d
        }
    }
}

/// The image of the container that runs Kamaji (named `*kamaji*`), else the first.
fn controller_image(pod: &Pod) -> Option<String> {
    let containers = &pod.spec.as_ref()?.containers;
    let kamaji =
        containers.iter().find(|c| c.image.as_deref().is_some_and(|i| i.split(['@', ':']).next().unwrap_or(i).ends_with("kamaji")));
    kamaji.or(containers.first()).and_then(|c| c.image.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_edge_spellings_are_one_ordered_series() {
        let old = KamajiVersion::parse_edge("edge-25.4.1").unwrap();
        let first = KamajiVersion::parse_edge("edge-25.7.3").unwrap();
        let new = KamajiVersion::parse_edge("26.3.5-edge").unwrap();
        assert!(old < first && first < new);
        assert!(!old.supports_rotate_annotation());
        assert!(first.supports_rotate_annotation());
        assert!(new.supports_rotate_annotation());
        assert!(!KamajiVersion::parse_edge("edge-25.7.2").unwrap().supports_rotate_annotation());
        assert!(KamajiVersion::parse_edge("edge-25.10.1").unwrap() > first, "months compare as numbers");
        assert_eq!(new.to_string(), "26.3.5-edge");
        assert_eq!(old.to_string(), "edge-25.4.1");
    }

    #[test]
    fn non_edge_tags_are_not_versions() {
        for tag in ["latest", "v1.0.0", "25.7.3", "edge-25.7", "edge-25.7.3.1", "edge-x.7.3", ""] {
            assert_eq!(KamajiVersion::parse_edge(tag), None, "{tag}");
        }
    }

    #[test]
    fn reads_versions_from_images() {
        let d = from_image("ghcr.io/clastix/kamaji:26.3.5-edge");
        assert_eq!(d.version, Some(KamajiVersion::new(26, 3, 5)));
        let d = from_image("registry.local:5000/clastix/kamaji:edge-25.4.1@sha256:abcd");
        assert_eq!(d.version, Some(KamajiVersion::new(25, 4, 1)));
        let d = from_image("ghcr.io/cozystack/cozystack/kamaji:v1.1.7@sha256:d705dfe8");
        assert_eq!(d.version, Some(KamajiVersion::new(26, 2, 4)));
        assert!(d.how.contains("Cozystack v1.1.7"), "{}", d.how);
        assert_eq!(from_image("ghcr.io/cozystack/cozystack/kamaji:v0.37.2").version, Some(KamajiVersion::new(25, 4, 1)));
        assert_eq!(from_image("ghcr.io/cozystack/cozystack/kamaji:v0.41.0").version, None);
        assert_eq!(from_image("clastix/kamaji:v1.0.0").version, None);
        assert_eq!(from_image("clastix/kamaji").version, None);
        assert_eq!(from_image("localhost:5000/kamaji").how, "image has no tag");
    }

    #[test]
    fn fix_thresholds_are_ordered() {
        assert!(ROTATE_ANNOTATION < FIX_KONNECTIVITY_CERT);
        assert!(FIX_KONNECTIVITY_CERT < FIX_KONNECTIVITY_KUBECONFIG);
        assert!(FIX_KONNECTIVITY_KUBECONFIG < FIX_SOOT_MANAGER);
    }
}
