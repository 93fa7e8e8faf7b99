//! Output too large to hold in memory (status of 10,000 secrets): bytes go
//! to an anonymous temporary file as rows arrive and are copied to stdout
//! at the end, so memory stays flat in the number of rows and nothing is
//! printed when a source fails halfway.
//!
//! No clap, no cluster: bytes only.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

use super::clean_cell;

/// Bytes are kept in memory up to this size; a temporary file is made
/// only beyond it (most runs print a few dozen rows).
const IN_MEMORY: usize = 256 * 1024;

/// Append-only bytes, in memory then in a temporary file. Writing never
/// fails on the spot: the first I/O error is kept and returned by
/// [`Spill::reader`], so collecting rows stays infallible.
#[derive(Debug, Default)]
pub struct Spill {
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    /// The temporary file could not be made: keep everything in memory.
    no_file: bool,
    error: Option<io::Error>,
    /// Bytes written so far: where the next write starts.
    written: u64,
}

impl Spill {
    pub fn new() -> Spill {
        Spill::default()
    }

    pub fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.written += bytes.len() as u64;
        if let Some(file) = &mut self.file {
            if let Err(e) = file.write_all(bytes) {
                self.error = Some(e);
            }
            return;
        }
        self.memory.extend_from_slice(bytes);
        if self.memory.len() > IN_MEMORY && !self.no_file {
            self.spill_to_file();
        }
    }

    /// Records a failure (a row that could not be serialized): the first
    /// one is returned by [`Spill::reader`].
    pub fn fail(&mut self, error: io::Error) {
        self.error.get_or_insert(error);
    }

    /// Moves the bytes so far to a temporary file. Where none can be made
    /// (a read-only container), output still works, held in memory.
    fn spill_to_file(&mut self) {
        match tempfile::tempfile() {
            Ok(file) => {
                let mut file = BufWriter::with_capacity(64 * 1024, file);
                if let Err(e) = file.write_all(&self.memory) {
                    self.error = Some(e);
                }
                self.memory = Vec::new();
                self.file = Some(file);
            }
            Err(e) => {
                tracing::warn!("no temporary file for the output ({e}): keeping it in memory");
                self.no_file = true;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.memory.is_empty()
    }

    /// Everything written, from the start; or the first write error.
    pub fn reader(self) -> io::Result<Box<dyn BufRead>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.file {
            Some(file) => {
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
            }
            None => Ok(Box::new(io::Cursor::new(self.memory))),
        }
    }

    /// Everything written, read at any offset; or the first write error.
    pub fn random(self) -> io::Result<Random> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.file {
            Some(file) => Ok(Random::File(file.into_inner().map_err(|e| e.into_error())?)),
            None => Ok(Random::Memory(self.memory)),
        }
    }

    /// Copies everything written into `out`.
    pub fn copy_to(self, out: &mut dyn Write) -> io::Result<()> {
        let mut reader = self.reader()?;
        io::copy(&mut reader, out)?;
        Ok(())
    }
}

/// What a [`Spill`] holds, for reads at any offset (sorted output).
pub enum Random {
    Memory(Vec<u8>),
    File(File),
}

impl Random {
    /// The `len` bytes at `offset`, as text.
    pub fn read_at(&mut self, offset: u64, len: usize, out: &mut String) -> io::Result<()> {
        out.clear();
        let mut buf = vec![0; len];
        match self {
            Random::Memory(m) => {
                let start = usize::try_from(offset).map_err(io::Error::other)?;
                buf.copy_from_slice(m.get(start..start + len).ok_or_else(|| io::Error::other("offset past the end"))?);
            }
            Random::File(f) => {
                use std::io::Read;
                f.seek(io::SeekFrom::Start(offset))?;
                f.read_exact(&mut buf)?;
            }
        }
        out.push_str(&String::from_utf8_lossy(&buf));
        Ok(())
    }
}

/// A [`Table`] whose rows are not kept: each is cleaned and spilled as it
/// comes, and the widest cell of each column is tracked, so the layout is
/// exactly [`Table::render`]'s (cells padded to the column's width plus 3,
/// the last cell not padded, trailing spaces trimmed).
/// Rows pushed with a key are printed in key order: only the keys and
/// where each row starts stay in memory.
#[derive(Debug)]
pub struct SpillTable<K: Ord = ()> {
    headers: Vec<String>,
    widths: Vec<usize>,
    rows: usize,
    spill: Spill,
    /// `(key, offset, length)` of each keyed row.
    order: Vec<(K, u64, u32)>,
}

impl<K: Ord> SpillTable<K> {
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let headers: Vec<String> = headers.into_iter().map(|h| clean_cell(&h.as_ref().to_uppercase()).into_owned()).collect();
        let widths = headers.iter().map(|h| width(h)).collect();
        SpillTable { headers, widths, rows: 0, spill: Spill::new(), order: Vec::new() }
    }

    /// One row, printed in the order of `key` (every row then needs one).
    pub fn push_sorted<S: AsRef<str>>(&mut self, cells: &[S], key: K) {
        let start = self.spill.written;
        self.push(cells);
        let len = u32::try_from(self.spill.written - start).unwrap_or(u32::MAX);
        self.order.push((key, start, len));
    }

    /// One row; cells beyond the headers are dropped, missing ones are empty.
    pub fn push<S: AsRef<str>>(&mut self, cells: &[S]) {
        let mut line = String::new();
        for (i, w) in self.widths.iter_mut().enumerate() {
            let cell = cells.get(i).map_or("", AsRef::as_ref);
            let cell = clean_cell(cell);
            *w = (*w).max(width(&cell));
            if i > 0 {
                line.push('\t');
            }
            line.push_str(&cell);
        }
        line.push('\n');
        self.spill.write(line.as_bytes());
        self.rows += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Writes the first `columns` columns (a trailing column found empty
    /// in every row can be left out).
    pub fn write_to(self, out: &mut dyn Write, columns: usize) -> io::Result<()> {
        let columns = columns.min(self.headers.len());
        let widths = &self.widths[..columns];
        let mut line = String::new();
        write_line(out, &mut line, self.headers.iter().map(String::as_str), widths)?;
        let mut text = String::new();
        if !self.order.is_empty() {
            let mut order = self.order;
            order.sort_by(|a, b| a.0.cmp(&b.0));
            let mut random = self.spill.random()?;
            for (_, offset, len) in order {
                random.read_at(offset, len as usize, &mut text)?;
                write_line(out, &mut line, text.trim_end_matches('\n').split('\t'), widths)?;
            }
            return Ok(());
        }
        let mut reader = self.spill.reader()?;
        loop {
            text.clear();
            if reader.read_line(&mut text)? == 0 {
                return Ok(());
            }
            write_line(out, &mut line, text.trim_end_matches('\n').split('\t'), widths)?;
        }
    }
}

/// One padded line: tabwriter's minimum width is 2, its padding 3 here.
fn write_line<'a>(out: &mut dyn Write, line: &mut String, cells: impl Iterator<Item = &'a str>, widths: &[usize]) -> io::Result<()> {
    line.clear();
    for (i, (cell, w)) in cells.zip(widths).enumerate() {
        line.push_str(cell);
        if i + 1 < widths.len() {
            let pad = (*w).max(2) - width(cell) + 3;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    out.write_all(line.trim_end().as_bytes())?;
    out.write_all(b"\n")
}

/// Display width as tabwriter counts it: the sum of each character's width.
fn width(s: &str) -> usize {
    use unicode_width::UnicodeWidthChar;
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Table;

    fn render<K: Ord>(t: SpillTable<K>, columns: usize) -> String {
        let mut out = Vec::new();
        t.write_to(&mut out, columns).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn spilled_tables_render_exactly_like_tables() {
        let rows: Vec<Vec<&str>> = vec![
            vec!["a", "", "ok", ""],
            vec!["日本語の名前", "x\ty", "expired", "a message "],
            vec!["b", "-", "é", ""],
            vec!["", "", "", ""],
        ];
        let headers = ["name", "subject", "status", "message"];
        let mut table = Table::new(headers);
        let mut spilled: SpillTable = SpillTable::new(headers);
        for r in &rows {
            table.push(r.iter().map(|s| s.to_string()).collect());
            spilled.push(r);
        }
        assert_eq!(render(spilled, 4), table.render());
        // Without the last column, as when no row has a message.
        let mut table = Table::new(&headers[..3]);
        let mut spilled: SpillTable = SpillTable::new(headers);
        for r in &rows {
            table.push(r[..3].iter().map(|s| s.to_string()).collect());
            spilled.push(r);
        }
        assert_eq!(render(spilled, 3), table.render());
    }

    #[test]
    fn large_tables_spill_to_a_file_and_read_back_in_order() {
        let mut table = Table::new(["n", "text"]);
        let mut spilled: SpillTable = SpillTable::new(["n", "text"]);
        for i in 0..20_000 {
            let cells = vec![i.to_string(), "x".repeat(i % 37)];
            spilled.push(&cells);
            table.push(cells);
        }
        assert!(spilled.spill.file.is_some() || spilled.spill.no_file, "beyond {IN_MEMORY} bytes the rows leave memory");
        assert_eq!(render(spilled, 2), table.render());
    }

    #[test]
    fn keyed_rows_come_out_in_key_order_from_memory_or_file() {
        for n in [10usize, 20_000] {
            let mut spilled: SpillTable<(usize, usize)> = SpillTable::new(["n", "text"]);
            let mut table = Table::new(["n", "text"]);
            for i in 0..n {
                spilled.push_sorted(&[i.to_string(), "y".repeat(i % 13)], (n - i, i));
            }
            for i in (0..n).rev() {
                table.push(vec![i.to_string(), "y".repeat(i % 13)]);
            }
            assert_eq!(render(spilled, 2), table.render(), "{n} rows");
        }
    }

    #[test]
    fn spill_copies_back_what_was_written() {
        let mut s = Spill::new();
        assert!(s.is_empty());
        let chunk = vec![b'z'; 100_000];
        for _ in 0..5 {
            s.write(&chunk);
        }
        s.write(b"end");
        let mut out = Vec::new();
        s.copy_to(&mut out).unwrap();
        assert_eq!(out.len(), 500_003);
        assert!(out.ends_with(b"zend"));
    }
}
