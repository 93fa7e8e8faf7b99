//! The Prometheus text exposition format (version 0.0.4), written from
//! values the exporter already holds. The exporter keeps one compact
//! summary per certificate and renders it at scrape time, so it keeps no
//! client-library registry that would hold every label string a second time.
//!
//! No I/O, no clap.

use std::fmt::Write;

/// `Content-Type` of a scrape answer in this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// Text is handed to the sink in pieces of about this size.
const CHUNK: usize = 64 * 1024;

/// A document being written; every family's samples follow its header.
/// With a sink, the text leaves in pieces as it is written, so a scrape of
/// 20,000 certificates never holds its whole answer in memory.
#[derive(Default)]
pub struct Exposition<'a> {
    out: String,
    sink: Option<Box<dyn FnMut(String) + 'a>>,
}

impl<'a> Exposition<'a> {
    pub fn new() -> Exposition<'a> {
        Exposition { out: String::new(), sink: None }
    }

    /// Hands the text to `sink` in pieces; [`Exposition::finish`] sends the rest.
    pub fn streaming(sink: impl FnMut(String) + 'a) -> Exposition<'a> {
        Exposition { out: String::with_capacity(CHUNK + 4096), sink: Some(Box::new(sink)) }
    }

    fn flush_if_full(&mut self) {
        if self.out.len() >= CHUNK
            && let Some(sink) = &mut self.sink
        {
            sink(std::mem::replace(&mut self.out, String::with_capacity(CHUNK + 4096)));
        }
    }

    /// Sends what is left to the sink (if any) and returns what it did not take.
    pub fn finish(mut self) -> String {
        match &mut self.sink {
            Some(sink) => {
                if !self.out.is_empty() {
                    sink(std::mem::take(&mut self.out));
                }
                String::new()
            }
            None => self.out,
        }
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample; labels with an empty value are written too (Prometheus
    /// reads them as absent), so every series of a family has the same names.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_value(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
        self.flush_if_full();
    }

    pub fn into_string(self) -> String {
        self.finish()
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Integral values without exponent or fraction (timestamps stay exact).
fn write_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_and_escapes() {
        let mut e = Exposition::new();
        e.family("x509_cert_not_after", Kind::Gauge, "NotAfter of a certificate\\with a newline\n");
        e.sample("x509_cert_not_after", &[("secret_name", "a\"b\\c\nd"), ("subject_O", "")], 1_798_761_600.0);
        e.family("kubectl_pki_exporter_watch_restarts_total", Kind::Counter, "restarts");
        e.sample("kubectl_pki_exporter_watch_restarts_total", &[], 0.0);
        e.sample("d", &[], 0.25);
        e.sample("n", &[], f64::NAN);
        e.sample("i", &[], f64::NEG_INFINITY);
        assert_eq!(
            e.into_string(),
            "# HELP x509_cert_not_after NotAfter of a certificate\\\\with a newline\\n\n\
             # TYPE x509_cert_not_after gauge\n\
             x509_cert_not_after{secret_name=\"a\\\"b\\\\c\\nd\",subject_O=\"\"} 1798761600\n\
             # HELP kubectl_pki_exporter_watch_restarts_total restarts\n\
             # TYPE kubectl_pki_exporter_watch_restarts_total counter\n\
             kubectl_pki_exporter_watch_restarts_total 0\n\
             d 0.25\nn NaN\ni -Inf\n"
        );
    }

    #[test]
    fn streaming_hands_over_pieces_that_add_up_to_the_document() {
        let mut pieces = Vec::new();
        let mut whole = Exposition::new();
        {
            let mut e = Exposition::streaming(|p: String| pieces.push(p));
            e.family("x", Kind::Gauge, "x");
            whole.family("x", Kind::Gauge, "x");
            for i in 0..10_000 {
                e.sample("x", &[("n", &i.to_string())], f64::from(i));
                whole.sample("x", &[("n", &i.to_string())], f64::from(i));
            }
            assert!(e.finish().is_empty());
        }
        assert!(pieces.len() > 2 && pieces.iter().all(|p| p.len() < CHUNK + 4096), "{}", pieces.len());
        assert_eq!(pieces.concat(), whole.into_string());
    }
}
