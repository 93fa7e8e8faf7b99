//! Works out, from the clap command tree and the words typed after
//! `kubectl pki`, what the last word can be: a subcommand, a flag name, or a
//! flag's value. No I/O here; values that need a kubeconfig or the API are
//! returned as [`Want::Dynamic`] for the caller to look up.
//!
//! Clap's command tree only: no I/O.

use std::collections::HashMap;

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command, ValueHint};

pub use super::protocol::{Candidate, directive, filter, render};

/// Values that only the kubeconfig or the cluster know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// `--context`: context names from the kubeconfig.
    Contexts,
    /// `-n/--namespace`: namespaces from the API.
    Namespaces,
    /// `--tenant`: Kamaji TenantControlPlanes in the namespace, from the API.
    Tenants,
}

/// What to offer for the word under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// A fixed list and the directive for the shell.
    Static { candidates: Vec<Candidate>, directive: u32 },
    /// Look values up, keep those starting with `prefix` and prepend `keep`
    /// (the part of a comma-separated list already typed).
    Dynamic { source: Dynamic, keep: String, prefix: String },
}

/// The words before the cursor, as far as the lookups care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    /// Last value typed for each arg id (`kubeconfig`, `context`, `namespace`...).
    pub values: HashMap<String, String>,
}

impl Given {
    pub fn get(&self, id: &str) -> Option<&str> {
        self.values.get(id).map(String::as_str)
    }
}

/// Walks `words` (everything after `pki`; the last is the word being
/// completed, possibly empty) through the built command tree `root`.
pub fn analyze(root: &Command, words: &[String]) -> (Want, Given) {
    let (cursor, before) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut cmd = root;
    let mut given = Given::default();
    let mut seen: Vec<String> = Vec::new();
    let mut pending: Option<&Arg> = None;
    let mut positionals = 0usize;
    let mut only_positionals = false;

    for word in before {
        if let Some(arg) = pending.take() {
            given.values.insert(arg.get_id().to_string(), word.clone());
            continue;
        }
        if only_positionals {
            positionals += 1;
            continue;
        }
        if word == "--" {
            only_positionals = true;
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            if let Some(arg) = find_long(cmd, name) {
                seen.push(arg.get_id().to_string());
                if takes_value(arg) {
                    match inline {
                        Some(v) => {
                            given.values.insert(arg.get_id().to_string(), v.to_string());
                        }
                        None => pending = Some(arg),
                    }
                }
            }
            continue;
        }
        if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (i, c) in shorts.char_indices() {
                let Some(arg) = find_short(cmd, c) else { break };
                seen.push(arg.get_id().to_string());
                if takes_value(arg) {
                    let rest = &shorts[i + c.len_utf8()..];
                    let rest = rest.strip_prefix('=').unwrap_or(rest);
                    if rest.is_empty() {
                        pending = Some(arg);
                    } else {
                        given.values.insert(arg.get_id().to_string(), rest.to_string());
                    }
                    break;
                }
            }
            continue;
        }
        if positionals == 0
            && let Some(sub) = cmd.find_subcommand(word)
        {
            cmd = sub;
            continue;
        }
        positionals += 1;
    }

    let want = if let Some(arg) = pending {
        values_of(arg, cursor)
    } else if !only_positionals && cursor.starts_with("--") && cursor.contains('=') {
        // `--flag=val`: kubectl's shell scripts strip `--flag=` themselves,
        // so candidates are bare values.
        let (name, value) = cursor[2..].split_once('=').unwrap_or_default();
        match find_long(cmd, name) {
            Some(arg) if takes_value(arg) => values_of(arg, value),
            _ => nothing(),
        }
    } else if !only_positionals && cursor.starts_with('-') {
        flag_names(cmd, cursor, &seen)
    } else {
        words_at(cmd, cursor, positionals)
    };
    (want, given)
}

fn nothing() -> Want {
    Want::Static { candidates: Vec::new(), directive: directive::NO_FILE_COMP }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn repeatable(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append | ArgAction::Count)
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| a.get_short() == Some(c) || a.get_visible_short_aliases().is_some_and(|al| al.contains(&c)))
}

/// First line of a help text, safe for cobra's `value\tdescription` line.
fn one_line(help: Option<&StyledStr>) -> Option<String> {
    let text = help?.to_string();
    let line = text.lines().next()?.trim().trim_end_matches('.').replace('\t', " ");
    (!line.is_empty()).then_some(line)
}

/// Flag names starting with `cursor`; flags already given are left out
/// unless they may repeat (cobra does the same).
fn flag_names(cmd: &Command, cursor: &str, seen: &[String]) -> Want {
    let mut candidates = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_positional() && !a.is_hide_set()) {
        if seen.iter().any(|s| s == arg.get_id().as_str()) && !repeatable(arg) {
            continue;
        }
        let help = one_line(arg.get_help());
        if let Some(long) = arg.get_long().map(|l| format!("--{l}"))
            && long.starts_with(cursor)
        {
            candidates.push(Candidate::new(long, help.clone()));
        }
        if let Some(short) = arg.get_short().map(|s| format!("-{s}"))
            && short.starts_with(cursor)
        {
            candidates.push(Candidate::new(short, help));
        }
    }
    Want::Static { candidates, directive: directive::NO_FILE_COMP }
}

/// Subcommands (before any positional) and the values of the positional
/// argument under the cursor.
fn words_at(cmd: &Command, cursor: &str, positionals: usize) -> Want {
    let mut candidates = Vec::new();
    if positionals == 0 {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name().starts_with(cursor) {
                candidates.push(Candidate::new(sub.get_name(), one_line(sub.get_about())));
            }
        }
    }
    let mut positional: Vec<&Arg> = cmd.get_arguments().filter(|a| a.is_positional()).collect();
    positional.sort_by_key(|a| a.get_index());
    let arg = positional
        .get(positionals)
        .copied()
        .or_else(|| positional.last().copied().filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1)));
    let Some(arg) = arg else {
        return Want::Static { candidates, directive: directive::NO_FILE_COMP };
    };
    match values_of(arg, cursor) {
        Want::Static { candidates: more, directive } => {
            candidates.extend(more);
            Want::Static { candidates, directive }
        }
        dynamic => dynamic,
    }
}

/// The values an argument accepts: its possible values, a dynamic source
/// named by its id, or file/directory completion by its value hint.
fn values_of(arg: &Arg, cursor: &str) -> Want {
    let (keep, prefix) = match arg.get_value_delimiter().and_then(|d| cursor.rfind(d).map(|i| (i, d))) {
        Some((i, d)) => (&cursor[..i + d.len_utf8()], &cursor[i + d.len_utf8()..]),
        None => ("", cursor),
    };
    let source = match arg.get_id().as_str() {
        "context" => Some(Dynamic::Contexts),
        "namespace" => Some(Dynamic::Namespaces),
        // `status --tenant`, `rotate-ca TENANT...`.
        "tenant" | "tenants" => Some(Dynamic::Tenants),
        _ => None,
    };
    if let Some(source) = source {
        return Want::Dynamic { source, keep: keep.to_string(), prefix: prefix.to_string() };
    }
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        let already: Vec<&str> = keep.split(',').collect();
        let candidates = possible
            .iter()
            .filter(|v| !v.is_hide_set() && v.get_name().starts_with(prefix) && !already.contains(&v.get_name()))
            .map(|v| Candidate::new(format!("{keep}{}", v.get_name()), one_line(v.get_help())))
            .collect();
        return Want::Static { candidates, directive: directive::NO_FILE_COMP };
    }
    let directive = match arg.get_value_hint() {
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::ExecutablePath => directive::DEFAULT,
        ValueHint::DirPath => directive::FILTER_DIRS,
        _ => directive::NO_FILE_COMP,
    };
    Want::Static { candidates: Vec::new(), directive }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn root() -> Command {
        let mut cmd = crate::cli::Cli::command();
        cmd.build();
        cmd
    }

    fn want(words: &[&str]) -> Want {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        analyze(&root(), &words).0
    }

    fn values(w: &Want) -> Vec<String> {
        match w {
            Want::Static { candidates, .. } => candidates.iter().map(|c| c.value.clone()).collect(),
            Want::Dynamic { .. } => panic!("dynamic: {w:?}"),
        }
    }

    fn directive_of(w: &Want) -> u32 {
        match w {
            Want::Static { directive, .. } => *directive,
            Want::Dynamic { .. } => panic!("dynamic: {w:?}"),
        }
    }

    #[test]
    fn empty_word_lists_subcommands_without_files() {
        let w = want(&[""]);
        let v = values(&w);
        for name in ["status", "version", "completion"] {
            assert!(v.iter().any(|x| x == name), "{v:?}");
        }
        assert_eq!(directive_of(&w), directive::NO_FILE_COMP);
    }

    #[test]
    fn no_words_at_all_is_the_empty_word() {
        assert_eq!(want(&[]), want(&[""]));
    }

    #[test]
    fn prefix_filters_subcommands_and_carries_descriptions() {
        let w = want(&["st"]);
        assert_eq!(values(&w), vec!["status"]);
        let Want::Static { candidates, .. } = w else { unreachable!() };
        assert!(candidates[0].help.as_deref().is_some_and(|h| h.contains("certificate")), "{candidates:?}");
    }

    #[test]
    fn flags_of_the_subcommand_and_globals() {
        let v = want(&["status", "--sou"]);
        assert_eq!(values(&v), vec!["--source"]);
        let v = want(&["status", "--"]);
        let names = values(&v);
        let has = |n: &str| names.iter().any(|x| x == n);
        assert!(has("--kubeconfig") && has("--summary"), "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("--")), "{names:?}");
    }

    #[test]
    fn single_dash_adds_short_flags() {
        let v = want(&["status", "-"]);
        let names = values(&v);
        let has = |n: &str| names.iter().any(|x| x == n);
        assert!(has("-n") && has("-A") && has("--output"), "{names:?}");
    }

    #[test]
    fn flags_already_given_are_not_offered_again_unless_repeatable() {
        let names = values(&want(&["status", "--summary", "--s"])).join(" ");
        assert!(!names.contains("--summary") && names.contains("--source"), "{names}");
        let names = values(&want(&["status", "--file", "a", "--f"])).join(" ");
        assert!(names.contains("--file"), "{names}");
    }

    #[test]
    fn output_values_after_space_equals_and_short_flag() {
        for words in [&["-o", ""][..], &["status", "--output", "j"], &["status", "--output=j"], &["-oj"]] {
            let w = want(words);
            let v = values(&w);
            if words.last() == Some(&"") {
                assert_eq!(v, vec!["table", "wide", "json", "yaml", "prometheus"], "{words:?}");
            } else if words == ["-oj"] {
                // `-oj` is a complete short flag with a value: nothing to add.
                assert!(v.is_empty(), "{words:?}: {v:?}");
            } else {
                assert_eq!(v, vec!["json"], "{words:?}");
            }
            assert_eq!(directive_of(&w), directive::NO_FILE_COMP);
        }
    }

    #[test]
    fn comma_lists_complete_the_last_item() {
        let v = values(&want(&["status", "--source", "kubeconfig,se"])).join(" ");
        assert_eq!(v, "kubeconfig,server kubeconfig,secrets");
    }

    #[test]
    fn paths_fall_back_to_the_shell() {
        assert_eq!(directive_of(&want(&["--kubeconfig", ""])), directive::DEFAULT);
        assert_eq!(directive_of(&want(&["status", "--file", "/tm"])), directive::DEFAULT);
    }

    #[test]
    fn free_text_values_offer_nothing() {
        let w = want(&["status", "--warn-within", ""]);
        assert!(values(&w).is_empty());
        assert_eq!(directive_of(&w), directive::NO_FILE_COMP);
    }

    #[test]
    fn context_namespace_and_tenant_are_dynamic() {
        let root = root();
        let words = ["--kubeconfig", "/k", "status", "-nfoo", "--context", ""].map(String::from);
        let (w, given) = analyze(&root, &words);
        assert_eq!(w, Want::Dynamic { source: Dynamic::Contexts, keep: String::new(), prefix: String::new() });
        assert_eq!(given.get("kubeconfig"), Some("/k"));
        assert_eq!(given.get("namespace"), Some("foo"));
        assert!(matches!(want(&["status", "-n", "ku"]), Want::Dynamic { source: Dynamic::Namespaces, .. }));
        assert!(matches!(want(&["status", "--tenant="]), Want::Dynamic { source: Dynamic::Tenants, .. }));
        // rotate-ca takes several tenants: the second one is completed too.
        assert!(matches!(want(&["rotate-ca", "ku"]), Want::Dynamic { source: Dynamic::Tenants, .. }));
        assert!(matches!(want(&["rotate-ca", "kubernetes-a", "ku"]), Want::Dynamic { source: Dynamic::Tenants, .. }));
    }

    #[test]
    fn positional_values_of_completion() {
        assert_eq!(values(&want(&["completion", "f"])), vec!["fish"]);
        assert!(values(&want(&["completion", "bash", ""])).is_empty());
    }

    #[test]
    fn a_value_that_looks_like_a_subcommand_is_a_value() {
        // `--context status`: "status" is the context, so subcommands are still offered next.
        let v = values(&want(&["--context", "status", "st"]));
        assert_eq!(v, vec!["status"]);
    }

    #[test]
    fn render_speaks_cobra() {
        let out =
            render(&[Candidate::new("status", Some("Every\tcertificate".into())), Candidate::new("x", None)], directive::NO_FILE_COMP);
        assert_eq!(out, "status\tEvery certificate\nx\n:4\n");
    }

    #[test]
    fn filter_keeps_prefix_and_prepends_list() {
        let got = filter(vec![Candidate::new("a1", None), Candidate::new("b", None)], "x,", "a");
        assert_eq!(got, vec![Candidate::new("x,a1", None)]);
    }
}
