//! A run's progress kept as annotations under one prefix on the tenant's lock Lease:
//! rotate-ca (`rotate-ca.kubectl-pki.io/`), renew (`renew.kubectl-pki.io/`) and rotate-sa-key
//! (`sa-key.kubectl-pki.io/`) each keep theirs beside the others'. Writing `None` removes a
//! stale key ([`crate::lock::Lock::set_annotations`]); reading skips what is absent.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;

/// rotate-ca's prefix.
pub const ROTATION: &str = "rotate-ca.kubectl-pki.io/";
/// renew's prefix.
pub const RENEWAL: &str = "renew.kubectl-pki.io/";
/// rotate-sa-key's prefix.
pub const SA_KEY: &str = "sa-key.kubectl-pki.io/";

/// Every command that keeps a run on the Lease, with its prefix.
pub const COMMANDS: [(&str, &str); 3] = [("rotate-ca", ROTATION), ("renew", RENEWAL), ("rotate-sa-key", SA_KEY)];

/// Another command's run that began and did not complete, as a command that must not overlap
/// it reads it (without that command's types): the step it reached, when it began, and its
/// mode where it has one (rotate-sa-key's `stage` or `finish`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub done: String,
    pub started_at: Timestamp,
    pub mode: Option<String>,
}

/// The run under `prefix`, when it has begun (`done`, `started-at`) and not completed.
pub fn unfinished(prefix: &'static str, annotations: &BTreeMap<String, String>) -> Option<Unfinished> {
    let r = Reader::new(prefix, annotations);
    if r.get("completed-at").is_some() {
        return None;
    }
    Some(Unfinished { done: r.get("done")?, started_at: r.parse("started-at")?, mode: r.get("mode") })
}

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

    #[test]
    fn an_unfinished_run_is_one_that_began_and_did_not_complete() {
        let mut a: BTreeMap<String, String> = [
            (format!("{SA_KEY}done"), "write".to_string()),
            (format!("{SA_KEY}started-at"), "2026-12-01T10:00:00Z".into()),
            (format!("{SA_KEY}mode"), "finish".into()),
            (format!("{RENEWAL}done"), "backup".into()),
        ]
        .into();
        let sa = unfinished(SA_KEY, &a).expect("unfinished");
        assert_eq!((sa.done.as_str(), sa.mode.as_deref()), ("write", Some("finish")));
        assert_eq!(sa.started_at.to_string(), "2026-12-01T10:00:00Z");
        assert_eq!(unfinished(RENEWAL, &a), None, "no start recorded");
        assert_eq!(unfinished(ROTATION, &a), None);
        a.insert(format!("{SA_KEY}completed-at"), "2026-12-01T10:05:00Z".into());
        assert_eq!(unfinished(SA_KEY, &a), None);
    }
}
