//! `--manifest FILE`: a JSON record of a run — the flowq version, the exact command and SQL, every
//! object read (URL, size, ETag, last modified, SHA-256 of its bytes), the records read and what
//! was skipped and why, and the SHA-256 of the answer: enough to reproduce and defend it.

use std::io::Write;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::query::Filters;

/// The record of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// `flowq` and its version.
    pub flowq: String,
    /// The command line, argument by argument.
    pub command: Vec<String>,
    /// When the run started and ended (UTC, RFC 3339).
    pub started: String,
    /// See `started`.
    pub finished: String,
    /// The SQL that ran, in order.
    pub queries: Vec<String>,
    /// The values bound to the queries' parameters (`$name = value`).
    pub parameters: Vec<String>,
    /// The filters that narrowed `flows` for every query.
    pub filters: Filters,
    /// Every object listed for reading.
    pub objects: Vec<ManifestObject>,
    /// Objects skipped because their key proves they hold no matching flow.
    pub objects_skipped_by_key: usize,
    /// What the scan read and could not read.
    pub records: Records,
    /// Every problem, as reported on stderr (at most the first 100,000).
    pub problems: Vec<String>,
    /// The answer.
    pub output: Output,
    /// `complete`, or `partial` when something was skipped (exit code 3).
    pub outcome: String,
}

/// One object.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestObject {
    /// As in the `source` column: a path as given, or an `s3://` URL.
    pub url: String,
    /// Stored size in bytes, as listed.
    pub size: u64,
    /// The store's entity tag (S3), if it gave one.
    pub etag: Option<String>,
    /// When it was last modified (UTC, RFC 3339), as the store or file system says.
    pub last_modified: Option<String>,
    /// The SHA-256 of its stored bytes, when the run read it to its end (a query with a row limit
    /// may stop early; an object that could not be read has none). A Parquet object, of which the
    /// scan reads ranges, is read whole for it when the table opens.
    pub sha256: Option<String>,
}

/// The scan's counters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Records {
    /// Objects read, wholly or partly (a query that reads the logs in several passes counts each).
    pub objects_read: u64,
    /// Records loaded.
    pub read: u64,
    /// Lines passed over by the pre-filter: they cannot match the filters.
    pub passed_over: u64,
    /// Lines that could not be read (skipped).
    pub bad_lines: u64,
    /// Header fields whose values were not loaded.
    pub bad_fields: u64,
    /// Objects that could not be read, wholly or from some point on.
    pub bad_objects: u64,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    /// The file, or `None` for standard output.
    pub path: Option<String>,
    /// The format.
    pub format: String,
    /// Rows written (`None` when the reader closed the pipe first).
    pub rows: Option<u64>,
    /// Bytes written.
    pub bytes: u64,
    /// The SHA-256 of the bytes written.
    pub sha256: String,
    /// The reader of standard output closed it before the whole answer was written (`| head`):
    /// the bytes and their digest are of what it was given.
    pub pipe_closed: bool,
}

impl Manifest {
    /// Writes the manifest as pretty JSON.
    pub fn write(&self, out: impl Write) -> serde_json::Result<()> {
        serde_json::to_writer_pretty(out, self)
    }
}

/// A writer that counts what passes through it, and hashes it when asked (for a manifest: hashing
/// costs about 5% of a query that writes hundreds of megabytes).
pub struct Digesting<W> {
    inner: W,
    sha256: Option<Sha256>,
    bytes: u64,
}

impl<W: Write> Digesting<W> {
    /// Wraps `inner`; `hash`: also compute the SHA-256 of what is written.
    pub fn new(inner: W, hash: bool) -> Self {
        Digesting { inner, sha256: hash.then(Sha256::new), bytes: 0 }
    }

    /// The bytes written and, when asked for, their SHA-256 (hex).
    pub fn finish(self) -> (u64, Option<String>) {
        (self.bytes, self.sha256.map(|sha256| hex(&sha256.finalize())))
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(sha256) = &mut self.sha256 {
            sha256.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn digests_what_passes_through() {
        let mut out = Digesting::new(Vec::new(), true);
        out.write_all(b"abc").unwrap();
        let (bytes, sha256) = out.finish();
        assert_eq!(bytes, 3);
        assert_eq!(sha256.as_deref(), Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        let mut out = Digesting::new(Vec::new(), false);
        out.write_all(b"abc").unwrap();
        assert_eq!(out.finish(), (3, None));
    }
}
