//! Rendering, separate from collecting: kubectl-style tables (no borders,
//! upper-case headers, three spaces between columns), JSON and YAML on
//! stdout; progress on stderr only when it is a terminal.
//!
//! Knows no command, no cluster and no clap: callers hand it documents and text.

mod serde_name;
pub mod spill;

pub use serde_name::serde_name;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::error::{Error, Result};

/// `-o`: how a command prints its result on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
    /// Prometheus text exposition (`status` only).
    Prometheus,
}

impl OutputFormat {
    /// The names `-o` accepts, in the order help lists them.
    pub const NAMES: [&'static str; 5] = ["table", "wide", "json", "yaml", "prometheus"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "wide" => Ok(OutputFormat::Wide),
            "json" => Ok(OutputFormat::Json),
            "yaml" => Ok(OutputFormat::Yaml),
            "prometheus" => Ok(OutputFormat::Prometheus),
            other => Err(format!("unknown output format {other:?}: expected one of {}", Self::NAMES.join(", "))),
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Rows with upper-case headers, rendered like `kubectl get`.
#[derive(Debug, Default, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Table { headers: headers.into_iter().map(|h| h.as_ref().to_uppercase()).collect(), rows: Vec::new() }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders to a string, cells cleaned by [`clean_cell`].
    pub fn render(&self) -> String {
        let mut tw = tabwriter::TabWriter::new(Vec::new()).padding(3);
        let mut write_row = |cells: &[String]| {
            let line: Vec<Cow<'_, str>> = cells.iter().map(|c| clean_cell(c)).collect();
            let _ = writeln!(tw, "{}", line.join("\t"));
        };
        write_row(&self.headers);
        for row in &self.rows {
            write_row(row);
        }
        let bytes = tw.into_inner().unwrap_or_default();
        // tabwriter pads the last cell too; kubectl's lines end at the text.
        String::from_utf8_lossy(&bytes).lines().map(|l| l.trim_end().to_string() + "\n").collect()
    }

    /// Prints to stdout.
    pub fn print(&self) -> Result<()> {
        write_stdout(&self.render())
    }
}

/// Human text as it may reach a terminal: line breaks and tabs are kept,
/// every other character [`clean_cell`] escapes (ESC sequences, carriage
/// returns, bidi overrides) is shown escaped, like `\u{1b}`.
pub fn clean_line(text: &str) -> Cow<'_, str> {
    if !text.split(['\n', '\t']).any(|part| matches!(clean_cell(part), Cow::Owned(_))) {
        return Cow::Borrowed(text);
    }
    let parts: Vec<String> =
        text.split('\n').map(|l| l.split('\t').map(|p| clean_cell(p).into_owned()).collect::<Vec<_>>().join("\t")).collect();
    Cow::Owned(parts.join("\n"))
}

/// A table cell as it may reach a terminal: tabs and line breaks become
/// spaces (they would break the columns); other control characters (an
/// ESC sequence in a crafted certificate CN) and bidi overrides are shown
/// escaped, like `\u{1b}`.
pub fn clean_cell(cell: &str) -> Cow<'_, str> {
    fn escaped(c: char) -> bool {
        c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    }
    if !cell.chars().any(escaped) {
        return Cow::Borrowed(cell);
    }
    let mut out = String::with_capacity(cell.len() + 8);
    for c in cell.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if escaped(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Writes to stdout through a buffer; a closed pipe (`| head`) is not an error.
pub fn with_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Io),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Io),
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Error::Invalid(format!("JSON output: {e}")))?;
    s.push('\n');
    Ok(s)
}

pub fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Invalid(format!("YAML output: {e}")))
}

/// The one switch on `-o`: `doc` as JSON or YAML, else the text `human`
/// renders for a table (or wide) view; `None` prints nothing (a failed run
/// whose error says it all).
pub fn emit<T: Serialize>(format: OutputFormat, doc: &T, human: impl FnOnce(OutputFormat) -> Option<String>) -> Result<()> {
    match format {
        OutputFormat::Json => print_json(doc),
        OutputFormat::Yaml => print_yaml(doc),
        table => match human(table) {
            Some(text) => write_stdout(&text),
            None => Ok(()),
        },
    }
}

/// Serializes straight into stdout: a large document (status of 10,000
/// secrets is ~20 MB) is never held as one string.
pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(|e| match e.io_error_kind() {
            Some(kind) => std::io::Error::from(kind),
            None => std::io::Error::other(format!("JSON output: {e}")),
        })
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Io),
    }
}

pub fn print_yaml<T: Serialize>(value: &T) -> Result<()> {
    write_stdout(&to_yaml(value)?)
}

/// Whether stderr is a terminal: progress bars and spinners appear only then.
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// Colors only when stdout is a terminal and `NO_COLOR` is unset
/// (anstream strips styles otherwise).
pub fn paint(text: &str, style: anstyle::Style) -> String {
    format!("{style}{text}{style:#}")
}

/// A spinner or bar on stderr when it is a terminal, hidden otherwise.
pub fn progress(len: Option<u64>, message: impl Into<String>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if stderr_is_tty() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let template =
            if len.is_some() { "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})" } else { "{spinner} {msg} {pos} ({elapsed})" };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_message(message.into());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_line_keeps_line_breaks_and_escapes_the_rest() {
        assert_eq!(clean_line("a\n\tb"), "a\n\tb");
        assert!(matches!(clean_line("plain"), Cow::Borrowed(_)));
        assert_eq!(clean_line("x\u{1b}[31my\n\u{202e}z\r"), "x\\u{1b}[31my\n\\u{202e}z ");
    }

    #[test]
    fn table_has_upper_case_headers_and_no_borders() {
        let mut t = Table::new(["name", "status"]);
        t.push(vec!["a-long-name".into(), "ok".into()]);
        t.push(vec!["b".into(), "expired\tnow".into()]);
        assert_eq!(t.render(), "NAME          STATUS\na-long-name   ok\nb             expired now\n");
    }

    #[test]
    fn control_characters_never_reach_the_terminal_raw() {
        assert!(matches!(clean_cell("plain é 日本"), Cow::Borrowed(_)));
        assert_eq!(clean_cell("a\tb\nc\rd"), "a b c d");
        assert_eq!(clean_cell("evil\u{1b}[2J\u{7}x"), "evil\\u{1b}[2J\\u{7}x");
        assert_eq!(clean_cell("\u{9b}31m\u{7f}"), "\\u{9b}31m\\u{7f}", "C1 controls and DEL");
        assert_eq!(clean_cell("abc\u{202e}fed"), "abc\\u{202e}fed", "bidi override");
        let mut t = Table::new(["cn"]);
        t.push(vec!["\u{1b}]0;title\u{7}".into()]);
        assert!(!t.render().contains('\u{1b}'), "{:?}", t.render());
    }
}
