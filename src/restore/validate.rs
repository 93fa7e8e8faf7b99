//! What a backup may hold before `restore` writes any of it: the secrets of
//! one Kamaji tenant (`<tenant>-<suffix>` for Kamaji's suffixes), in the
//! tenant's namespace, of the types Kamaji writes, with only the fields a
//! backup has. Anything else is refused with one line naming the item,
//! before the cluster is asked anything. Messages quote names (escaped),
//! never values: the items hold private keys.
//! No API calls, no clap types, no printing.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use crate::kamaji::names;
use crate::output::clean_cell;
use crate::rotate::backup::{self, Document};
use crate::rotate::plan::SUFFIXES;

/// The Secret types of a Kamaji tenant's secrets (`kubernetes.io/tls` is
/// the konnectivity certificate's; a missing type is `Opaque`).
pub const TYPES: [&str; 2] = ["Opaque", "kubernetes.io/tls"];
/// The fields a backup item has ([`backup::strip`] keeps these).
const ITEM_FIELDS: [&str; 6] = ["apiVersion", "kind", "metadata", "type", "data", "immutable"];
const METADATA_FIELDS: [&str; 6] = ["name", "namespace", "labels", "annotations", "ownerReferences", "finalizers"];
/// Longest name quoted in a message.
const QUOTE_MAX: usize = 80;

/// Where the backup goes: the tenant and namespace it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub tenant: String,
}

/// The recorded tenant and namespace; an explicit `-n` must be the
/// recorded namespace: a backup goes back where it was taken (the tenant,
/// the owner of its secrets, lives there), never elsewhere.
pub fn target(doc: &Document, explicit_namespace: Option<&str>) -> Result<Target, String> {
    let tenant = doc.tenant.clone().ok_or("the backup does not name its tenant (no backup.kubectl-pki.io/tenant annotation or header)")?;
    let namespace =
        doc.namespace.clone().ok_or("the backup does not name its namespace (no backup.kubectl-pki.io/namespace annotation or header)")?;
    for (what, v) in [("tenant", &tenant), ("namespace", &namespace)] {
        if !is_dns_label(v) {
            return Err(format!("the recorded {what} {} is not a valid name", quote(v)));
        }
    }
    match explicit_namespace {
        Some(ns) if ns != namespace => Err(format!(
            "the backup is of tenant {namespace}/{tenant}, not of namespace {}: a backup is restored only into the namespace it was taken from (drop -n, or pass -n {namespace})",
            quote(ns)
        )),
        _ => Ok(Target { namespace, tenant }),
    }
}

/// The items as Secrets of `target`, each checked; the first bad item is
/// the error, `item N (NAME): why`.
pub fn items(target: &Target, items: Vec<Value>) -> Result<Vec<Secret>, String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let name = item.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string);
        let label = match &name {
            Some(n) => format!("item {i} ({})", quote(n)),
            None => format!("item {i}"),
        };
        check(target, &item).map_err(|why| format!("{label}: {why}"))?;
        let name = name.unwrap_or_default();
        if !seen.insert(name.clone()) {
            return Err(format!("{label}: a second item of that name"));
        }
        let mut secret = backup::secret_of(item).map_err(|why| format!("{label}: {why}"))?;
        secret.metadata.namespace = Some(target.namespace.clone());
        out.push(secret);
    }
    Ok(out)
}

fn check(target: &Target, item: &Value) -> Result<(), String> {
    let obj = item.as_object().ok_or("not an object")?;
    if let Some(field) = obj.keys().find(|k| !ITEM_FIELDS.contains(&k.as_str())) {
        return Err(format!("unexpected field {} (a backup item has only {})", quote(field), ITEM_FIELDS.join(", ")));
    }
    match (obj.get("apiVersion").and_then(Value::as_str), obj.get("kind").and_then(Value::as_str)) {
        (Some("v1"), Some("Secret")) => {}
        _ => return Err("not a v1 Secret".into()),
    }
    let meta = obj.get("metadata").and_then(Value::as_object).ok_or("no metadata")?;
    if let Some(field) = meta.keys().find(|k| !METADATA_FIELDS.contains(&k.as_str())) {
        return Err(format!("unexpected metadata field {}", quote(field)));
    }
    let name = meta.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).ok_or("no name")?;
    if !names::suffix_of(&target.tenant, name).is_some_and(|s| SUFFIXES.contains(&s)) {
        return Err(format!(
            "not a secret of tenant {} (expected {}-<suffix>, the suffix one of {})",
            target.tenant,
            target.tenant,
            SUFFIXES.join(", ")
        ));
    }
    match meta.get("namespace") {
        None => {}
        Some(Value::String(ns)) if *ns == target.namespace => {}
        Some(Value::String(ns)) => {
            return Err(format!("in namespace {}, but the backup is of tenant {}/{}", quote(ns), target.namespace, target.tenant));
        }
        Some(_) => return Err("namespace is not a string".into()),
    }
    match obj.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => {}
        Some(Value::String(t)) => return Err(format!("type {} is not one a Kamaji tenant uses ({})", quote(t), TYPES.join(", "))),
        Some(_) => return Err("type is not a string".into()),
    }
    for owner in meta.get("ownerReferences").and_then(Value::as_array).into_iter().flatten() {
        let field = |k: &str| owner.get(k).and_then(Value::as_str).unwrap_or_default();
        let ok = field("kind") == names::KIND
            && field("apiVersion").split_once('/').is_some_and(|(g, _)| g == names::GROUP)
            && field("name") == target.tenant;
        if !ok {
            return Err(format!(
                "ownerReference to {} {} is not the tenant's {} {}",
                quote(field("kind")),
                quote(field("name")),
                names::KIND,
                target.tenant
            ));
        }
    }
    match obj.get("data") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(_)) => Ok(()),
        Some(_) => Err("data is not a map".into()),
    }
}

/// RFC 1123 label: what a namespace is, and what a tenant name must be to
/// prefix its secrets' names.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A name from the file, escaped and cut for a one-line message.
fn quote(s: &str) -> String {
    let cut: String = s.chars().take(QUOTE_MAX).collect();
    let more = if cut.len() < s.len() { "..." } else { "" };
    format!("\"{}{more}\"", clean_cell(&cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target() -> Target {
        Target { namespace: "tenant-root".into(), tenant: "kubernetes-demo".into() }
    }

    fn item(name: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {
                "name": name, "namespace": "tenant-root",
                "labels": {"kamaji.clastix.io/name": "kubernetes-demo"},
                "ownerReferences": [{"apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane", "name": "kubernetes-demo", "uid": "u"}]
            },
            "type": "Opaque",
            "data": {"ca.key": "UFJJVkFURUtFWQ=="}
        })
    }

    fn refused(v: Value) -> String {
        items(&target(), vec![item("kubernetes-demo-ca"), v]).unwrap_err()
    }

    #[test]
    fn the_tenants_secrets_pass() {
        let ok = items(&target(), vec![item("kubernetes-demo-ca"), item("kubernetes-demo-konnectivity-certificate")]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].metadata.namespace.as_deref(), Some("tenant-root"));
        let mut tls = item("kubernetes-demo-konnectivity-certificate");
        tls["type"] = json!("kubernetes.io/tls");
        let mut no_ns = item("kubernetes-demo-sa-certificate");
        no_ns["metadata"].as_object_mut().unwrap().remove("namespace");
        let ok = items(&target(), vec![tls, no_ns]).unwrap();
        assert_eq!(ok[1].metadata.namespace.as_deref(), Some("tenant-root"), "an item without a namespace is the tenant's");
    }

    #[test]
    fn a_foreign_name_is_refused_naming_the_item() {
        for name in ["other-secret", "kubernetes-demo-extra", "kubernetes-demox-ca", "kubernetes-other-ca"] {
            let e = refused(item(name));
            assert!(e.starts_with(&format!("item 1 (\"{name}\"): not a secret of tenant kubernetes-demo")), "{e}");
            assert!(!e.contains('\n') && !e.contains("UFJJVkFURUtFWQ"), "{e}");
        }
    }

    #[test]
    fn another_namespace_type_owner_or_field_is_refused() {
        let mut v = item("kubernetes-demo-ca");
        v["metadata"]["namespace"] = json!("kube-system");
        let e = refused(v);
        assert!(e.contains("in namespace \"kube-system\", but the backup is of tenant tenant-root/kubernetes-demo"), "{e}");
        let mut v = item("kubernetes-demo-ca");
        v["type"] = json!("kubernetes.io/service-account-token");
        assert!(refused(v).contains("type \"kubernetes.io/service-account-token\" is not one a Kamaji tenant uses"));
        let mut v = item("kubernetes-demo-ca");
        v["metadata"]["ownerReferences"][0]["name"] = json!("someone-else");
        assert!(refused(v).contains("ownerReference to \"TenantControlPlane\" \"someone-else\""));
        let mut v = item("kubernetes-demo-ca");
        v["stringData"] = json!({"x": "y"});
        assert!(refused(v).contains("unexpected field \"stringData\""));
        let mut v = item("kubernetes-demo-ca");
        v["metadata"]["generateName"] = json!("x");
        assert!(refused(v).contains("unexpected metadata field \"generateName\""));
        let mut v = item("kubernetes-demo-ca");
        v["kind"] = json!("ConfigMap");
        assert!(refused(v).contains("not a v1 Secret"));
        assert!(refused(json!("text")).contains("item 1: not an object"));
        // The same secret twice.
        assert!(refused(item("kubernetes-demo-ca")).contains("a second item of that name"));
    }

    #[test]
    fn a_name_with_escapes_is_quoted_escaped() {
        let e = refused(item("x\u{1b}[31mred"));
        assert!(e.contains("x\\u{1b}[31mred") && !e.contains('\u{1b}'), "{e}");
    }

    #[test]
    fn bad_data_is_refused_without_quoting_it() {
        let mut v = item("kubernetes-demo-sa-certificate");
        v["data"]["ca.key"] = json!("not base64 PRIVATEKEY!!");
        let e = refused(v);
        assert!(e.contains("item 1 (\"kubernetes-demo-sa-certificate\"): not a valid Secret") && !e.contains("PRIVATEKEY"), "{e}");
    }

    fn doc(namespace: Option<&str>, tenant: Option<&str>) -> Document {
        Document {
            path: "b.yaml".into(),
            namespace: namespace.map(String::from),
            tenant: tenant.map(String::from),
            cluster: None,
            items: vec![],
        }
    }

    #[test]
    fn the_target_is_the_recorded_tenant_and_an_explicit_namespace_must_match() {
        let d = doc(Some("tenant-root"), Some("kubernetes-demo"));
        assert_eq!(super::target(&d, None).unwrap(), target());
        assert_eq!(super::target(&d, Some("tenant-root")).unwrap(), target());
        let e = super::target(&d, Some("tenant-other")).unwrap_err();
        assert!(e.contains("not of namespace \"tenant-other\"") && e.contains("-n tenant-root"), "{e}");
        assert!(super::target(&doc(None, Some("t")), None).unwrap_err().contains("namespace"));
        assert!(super::target(&doc(Some("n"), None), None).unwrap_err().contains("tenant"));
        assert!(super::target(&doc(Some("n"), Some("Bad/Name")), None).unwrap_err().contains("not a valid name"));
    }
}
