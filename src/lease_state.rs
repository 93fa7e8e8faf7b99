//! A run's progress kept as annotations under one prefix on the tenant's lock Lease:
//! rotate-ca (`rotate-ca.kubectl-pki.io/`), renew (`renew.kubectl-pki.io/`) and rotate-sa-key
//! (`sa-key.kubectl-pki.io/`) each keep theirs beside the others'. Writing `None` removes a
//! stale key ([`crate::lock::Lock::set_annotations`]); reading skips what is absent.

use std::collections::BTreeMap;
use std::str::FromStr;

/// The annotations one state writes.
pub struct Writer {
    prefix: &'static str,
    map: BTreeMap<String, Option<String>>,
}

impl Writer {
    pub fn new(prefix: &'static str) -> Writer {
        Writer { prefix, map: BTreeMap::new() }
    }

    /// `<prefix><key>` = `value`; `None` removes it.
    pub fn put(&mut self, key: &str, value: Option<String>) -> &mut Writer {
        self.map.insert(format!("{}{key}", self.prefix), value);
        self
    }

    pub fn finish(self) -> BTreeMap<String, Option<String>> {
        self.map
    }
}

/// One state's keys in a Lease's annotations.
pub struct Reader<'a> {
    prefix: &'static str,
    annotations: &'a BTreeMap<String, String>,
}

impl<'a> Reader<'a> {
    pub fn new(prefix: &'static str, annotations: &'a BTreeMap<String, String>) -> Reader<'a> {
        Reader { prefix, annotations }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.annotations.get(&format!("{}{key}", self.prefix)).cloned()
    }

    /// The value parsed (timestamps, numbers); `None` when absent or unparsable.
    pub fn parse<T: FromStr>(&self, key: &str) -> Option<T> {
        self.get(key)?.parse().ok()
    }
}

/// Every key under `prefix` removed: after `restore`, a later run starts clean instead of
/// resuming one that was undone.
pub fn cleared(prefix: &str, annotations: &BTreeMap<String, String>) -> BTreeMap<String, Option<String>> {
    annotations.keys().filter(|k| k.starts_with(prefix)).map(|k| (k.clone(), None)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_others_are_left_alone() {
        let mut w = Writer::new("a.example/");
        w.put("done", Some("backup".into())).put("gone", None);
        let written = w.finish();
        assert_eq!(written["a.example/done"].as_deref(), Some("backup"));
        assert_eq!(written["a.example/gone"], None);
        let on_lease: BTreeMap<String, String> =
            [("a.example/done".to_string(), "backup".to_string()), ("b.example/done".into(), "7".into())].into();
        let r = Reader::new("a.example/", &on_lease);
        assert_eq!((r.get("done").as_deref(), r.get("missing")), (Some("backup"), None));
        assert_eq!(Reader::new("b.example/", &on_lease).parse::<u32>("done"), Some(7));
        assert_eq!(cleared("a.example/", &on_lease).into_keys().collect::<Vec<_>>(), ["a.example/done"]);
    }
}
