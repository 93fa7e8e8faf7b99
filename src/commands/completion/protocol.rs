//! Cobra's completion protocol, which kubectl speaks with
//! `kubectl_complete-pki`: candidate lines, then `:directive`. Text only:
//! no clap, no I/O.

/// Cobra's `ShellCompDirective` bits that kubectl hands to the shell.
pub mod directive {
    /// Let the shell complete file names when there are no candidates.
    pub const DEFAULT: u32 = 0;
    /// Do not add a space after the candidate.
    pub const NO_SPACE: u32 = 2;
    /// Never fall back to file names.
    pub const NO_FILE_COMP: u32 = 4;
    /// Complete directory names only.
    pub const FILTER_DIRS: u32 = 16;
}

/// One completion candidate with an optional one-line description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub value: String,
    pub help: Option<String>,
}

impl Candidate {
    pub fn new(value: impl Into<String>, help: Option<String>) -> Self {
        Candidate { value: value.into(), help }
    }
}

/// Keeps the candidates starting with `prefix`, prefixed by `keep`.
pub fn filter(values: Vec<Candidate>, keep: &str, prefix: &str) -> Vec<Candidate> {
    values
        .into_iter()
        .filter(|c| c.value.starts_with(prefix))
        .map(|c| Candidate { value: format!("{keep}{}", c.value), help: c.help })
        .collect()
}

/// Cobra's protocol: `value[\tdescription]` lines, then `:directive`.
pub fn render(candidates: &[Candidate], directive: u32) -> String {
    let mut out = String::new();
    for c in candidates {
        out.push_str(&c.value.replace(['\n', '\t'], " "));
        if let Some(help) = &c.help {
            out.push('\t');
            out.push_str(&help.replace(['\n', '\t'], " "));
        }
        out.push('\n');
    }
    out.push_str(&format!(":{directive}\n"));
    out
}
