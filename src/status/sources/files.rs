//! `--file`: certificates, bundles, kubeconfigs and talosconfigs on disk.
//!
//! Local files only: no cluster, no clap.

use std::path::PathBuf;

use crate::certs::limits;
use crate::error::{Error, Result};
use crate::status::item::{Extractor, Location};
use crate::status::judge;
use crate::status::row::{Collector, SourceKind};

/// Each file on its own: a bundle is judged within itself, a kubeconfig's
/// client certificate against its CA. An unreadable file is an error; one
/// over [`limits::MAX_INPUT_BYTES`] is an `invalid` row.
pub fn collect(paths: &[PathBuf], col: &mut Collector<'_>) -> Result<()> {
    for path in paths {
        let bytes = limits::read_file(path).map_err(|e| Error::io_at(path, e))?;
        let mut ex = Extractor::new();
        ex.read_file(&Location::default(), path, bytes.as_deref().map_err(Clone::clone));
        let verdicts = judge::within_document(&ex.items);
        col.push_items(SourceKind::File, &path.display().to_string(), &ex.items, verdicts);
    }
    Ok(())
}
