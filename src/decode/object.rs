//! One object, from its stored bytes to batches: sniff the encoding, gunzip, decode records.
//!
//! The encoding is chosen by content, never by name: the gzip magic (`1f 8b`) means gzip (any number of
//! members), `PAR1` means Parquet (not read here), anything else is plain text. Input is pushed in
//! chunks as it arrives and batches are pulled out.
//!
//! Gzip is inflated in one of two ways, with the same result. An object of one gzip member (what AWS
//! delivers: objects of at most ~75 MB of text) is held whole and inflated in one call by libdeflate,
//! about twice as fast as streaming (`benches/decode.rs`, group `gunzip`); memory is then the object's
//! stored bytes plus its text (a scan hands each object the buffer of the one before, see
//! [`ObjectDecoder::lend_buffer`]). Anything else — several members, a stored object over
//! [`WHOLE_STORED_LIMIT`], a declared text size over [`WHOLE_TEXT_LIMIT`], damage — is inflated by a
//! streaming decoder (flate2 on zlib-rs), whose memory is bounded by the chunk size times the
//! compression ratio whatever the object's size. Damage found by libdeflate is re-read by the streaming
//! decoder, so what is kept before the damage is exactly the same either way.
//!
//! Damage (a corrupt or truncated gzip stream) is a [`Problem`], not an error: the records decoded
//! before it are kept, the unterminated line at the damage is reported and dropped, and the rest of
//! the object is ignored.

use std::io::{Read, Write};

use arrow::array::RecordBatch;
use arrow::error::ArrowError;
use flate2::write::MultiGzDecoder;
use memchr::memmem;

use super::fields;
use super::problem::{Problem, ProblemKind};
use super::records::{FlowDecoder, MAX_LINE};

/// The field names of the header line at the start of an object, from the object's first bytes
/// (gzip or plain text; a cut-off tail is fine). `None` when the object starts with a record.
pub fn first_header(head: &[u8]) -> Option<Vec<String>> {
    let mut text = Vec::new();
    if head.starts_with(GZIP_MAGIC) {
        // Only as far as the first line: a small object's head is the whole object. An error here is
        // the probe's cut-off tail; what was inflated before it is what we need.
        let mut inflater = flate2::read::MultiGzDecoder::new(head);
        let mut piece = [0u8; 1024];
        while !has_first_line(&text) && text.len() < MAX_LINE {
            match inflater.read(&mut piece) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&piece[..n]),
            }
        }
    } else {
        text.extend_from_slice(&head[..head.len().min(MAX_LINE)]);
    }
    let line = text.split(|b| *b == b'\n').find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))?;
    let line = std::str::from_utf8(line).ok()?;
    fields::header_fields(line).map(|names| names.into_iter().map(str::to_string).collect())
}

/// Whether `text` holds a whole line that is not blank.
fn has_first_line(text: &[u8]) -> bool {
    text.iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| memchr::memchr(b'\n', &text[start..]).is_some())
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const PARQUET_MAGIC: &[u8] = b"PAR1";

/// Gzip objects stored in more bytes than this are streamed instead of held whole.
pub const WHOLE_STORED_LIMIT: usize = 32 << 20;

/// Gzip objects whose trailer declares more text than this are streamed instead of inflated whole.
pub const WHOLE_TEXT_LIMIT: usize = 128 << 20;

/// Stored bytes handed to the streaming inflater at a time: bounds the text it makes in one go.
const STREAM_PIECE: usize = 16 << 10;

/// The smallest gzip member: a 10-byte header, an empty deflate block, an 8-byte trailer.
const GZIP_MIN_MEMBER: usize = 20;

#[derive(Debug)]
enum Encoding {
    /// Not enough bytes seen yet to tell.
    Unknown,
    /// Text as it is (also a gzip object once inflated whole).
    Plain,
    /// Gzip held whole in `stored` until the end of the object, then inflated in one call.
    GzipWhole,
    /// Gzip inflated from `stored` piece by piece as the text is used up.
    Gzip(Box<MultiGzDecoder<Vec<u8>>>),
    /// Damaged or unsupported: the rest of the input is ignored.
    Stopped,
}

/// Decodes one object pushed in chunks of stored bytes.
///
/// ```
/// use flowq::decode::{FlowDecoderBuilder, ObjectDecoder, file_schema};
///
/// let mut object = ObjectDecoder::new(FlowDecoderBuilder::new(file_schema(&[])).build());
/// object.push(b"version srcaddr\n2 10.0.0.1\n2 10.0.0.2");
/// object.finish();
/// let mut rows = 0;
/// while let Some(batch) = object.next_batch().unwrap() {
///     rows += batch.num_rows();
/// }
/// assert_eq!(rows, 2);
/// assert!(object.take_problems().is_empty());
/// ```
#[derive(Debug)]
pub struct ObjectDecoder {
    records: FlowDecoder,
    encoding: Encoding,
    /// Stored bytes not yet inflated, from `stored_pos` on (for `Unknown`: the bytes seen so far).
    stored: Vec<u8>,
    stored_pos: usize,
    /// Decoded text not yet handed to `records`, from `text_pos` on.
    text: Vec<u8>,
    text_pos: usize,
    /// A buffer to inflate a whole object into (see [`ObjectDecoder::lend_buffer`]).
    spare: Vec<u8>,
    /// No more stored bytes will come.
    finished: bool,
    /// The stored bytes were cut off by [`ObjectDecoder::abort`]: the gzip stream is not expected to
    /// be complete.
    aborted: bool,
    /// The last batch has been handed out.
    done: bool,
    stored_bytes: u64,
    problems: Vec<Problem>,
}

impl ObjectDecoder {
    /// Wraps a record decoder for one object.
    pub fn new(records: FlowDecoder) -> Self {
        ObjectDecoder {
            records,
            encoding: Encoding::Unknown,
            stored: Vec::new(),
            stored_pos: 0,
            text: Vec::new(),
            text_pos: 0,
            spare: Vec::new(),
            finished: false,
            aborted: false,
            done: false,
            stored_bytes: 0,
            problems: Vec::new(),
        }
    }

    /// Pushes the next chunk of the object's stored bytes. Call [`ObjectDecoder::next_batch`] until it
    /// returns `None` before pushing more.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.finished {
            return;
        }
        self.stored_bytes += chunk.len() as u64;
        match self.encoding {
            Encoding::Plain => {
                self.compact_text();
                self.text.extend_from_slice(chunk);
            }
            Encoding::Unknown | Encoding::GzipWhole | Encoding::Gzip(_) => {
                self.compact_stored();
                self.stored.extend_from_slice(chunk);
            }
            Encoding::Stopped => {}
        }
        if matches!(self.encoding, Encoding::Unknown) && self.stored.len() >= PARQUET_MAGIC.len() {
            self.choose_encoding();
        }
        if matches!(self.encoding, Encoding::GzipWhole) && self.stored.len() > WHOLE_STORED_LIMIT {
            self.stream();
        }
    }

    /// Marks the end of the object's bytes.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Encoding::Unknown = self.encoding {
            self.choose_encoding();
        }
        if let Encoding::GzipWhole = self.encoding {
            let mut text = std::mem::take(&mut self.spare);
            if inflate_whole(&self.stored, &mut text) {
                // All of the text is in hand, as if the object had been plain text.
                self.text = text;
                self.text_pos = 0;
                self.stored = Vec::new();
                self.encoding = Encoding::Plain;
            } else {
                self.spare = text;
                self.stream();
            }
        }
    }

    /// Lends the decoder a buffer to inflate a whole gzip object into, before
    /// [`ObjectDecoder::finish`]: typically the one an earlier object's text was in
    /// ([`ObjectDecoder::take_buffer`]), so that tens of megabytes are not allocated and zeroed again
    /// for every object. What it holds is ignored.
    pub fn lend_buffer(&mut self, buffer: Vec<u8>) {
        self.spare = buffer;
    }

    /// Once the object is done, the biggest buffer it used, for the next object's
    /// [`ObjectDecoder::lend_buffer`]; before that, an empty one.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        if !self.done {
            return Vec::new();
        }
        let text = std::mem::take(&mut self.text);
        let spare = std::mem::take(&mut self.spare);
        if text.capacity() >= spare.capacity() { text } else { spare }
    }

    /// The next full batch, or at the end of the object the last short one; `None` when more input
    /// is needed (or, after [`ObjectDecoder::finish`], when the object is done).
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        loop {
            if self.records.capacity() == 0 {
                return self.records.flush();
            }
            if self.text_pos < self.text.len() {
                self.text_pos += self.records.decode(&self.text[self.text_pos..]);
                continue;
            }
            if self.inflate_more() {
                continue;
            }
            if !self.finished || self.done {
                return Ok(None);
            }
            if matches!(self.encoding, Encoding::Stopped) {
                self.records.discard_partial();
            } else {
                self.records.decode(&[]);
            }
            self.done = true;
            return self.records.flush();
        }
    }

    /// The problems found since the last call, in the order they were found.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        let mut problems = std::mem::take(&mut self.problems);
        let mut from_records = self.records.take_problems();
        if from_records.is_empty() {
            return problems;
        }
        from_records.append(&mut problems);
        from_records
    }

    /// True while more of the object's bytes are useful (false once finished, damaged or aborted).
    pub fn wants_input(&self) -> bool {
        !self.finished
    }

    /// True once the last batch has been handed out.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Records loaded so far.
    pub fn records(&self) -> u64 {
        self.records.records()
    }

    /// Lines passed over by the record decoder's pre-filter so far.
    pub fn passed_over(&self) -> u64 {
        self.records.passed_over()
    }

    /// Stored (compressed) bytes pushed so far.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// Stops reading: what was decoded is kept, the rest of the object is reported as unreadable.
    ///
    /// Gzip bytes that arrived before the stop are still inflated as far as they go, so nothing
    /// already read is lost.
    pub fn abort(&mut self, reason: &str) {
        if matches!(self.encoding, Encoding::Stopped) {
            return;
        }
        self.problems.push(Problem::object(ProblemKind::Unreadable { reason: reason.to_string() }));
        if let Encoding::GzipWhole = self.encoding {
            self.stream();
        }
        if !matches!(self.encoding, Encoding::Gzip(_)) {
            self.encoding = Encoding::Stopped;
        }
        self.finished = true;
        self.aborted = true;
    }

    fn choose_encoding(&mut self) {
        self.encoding = if self.stored.starts_with(GZIP_MAGIC) {
            Encoding::GzipWhole
        } else if self.stored.starts_with(PARQUET_MAGIC) {
            self.problems.push(Problem::object(ProblemKind::Unsupported {
                what: "a Parquet object (PAR1 magic) whose name does not end in .parquet: flowq reads an object as \
                       Parquet by its name; rename or copy it to NAME.parquet"
                    .to_string(),
            }));
            self.stored = Vec::new();
            Encoding::Stopped
        } else {
            self.text = std::mem::take(&mut self.stored);
            Encoding::Plain
        };
    }

    /// Switches to the streaming inflater; the bytes held so far are inflated first.
    fn stream(&mut self) {
        self.encoding = Encoding::Gzip(Box::new(MultiGzDecoder::new(Vec::new())));
    }

    /// Inflates the next piece of the stored bytes into `text`; false when there is nothing to do.
    ///
    /// At the end of the stored bytes of a finished object the stream is checked for completeness
    /// (a truncated object is damage, unless it was aborted) and the inflater is put away.
    fn inflate_more(&mut self) -> bool {
        if !matches!(self.encoding, Encoding::Gzip(_)) {
            return false;
        }
        self.compact_text();
        let Encoding::Gzip(decoder) = &mut self.encoding else { return false };
        if self.stored_pos < self.stored.len() {
            let end = self.stored.len().min(self.stored_pos + STREAM_PIECE);
            let result = decoder.write_all(&self.stored[self.stored_pos..end]);
            self.stored_pos = end;
            self.text.append(decoder.get_mut());
            if let Err(err) = result {
                self.damaged(&err.to_string());
            }
            return true;
        }
        if !self.finished {
            return false;
        }
        if self.aborted {
            // The rest never came (already reported): hand over what the inflater holds back.
            let _ = decoder.flush();
            self.text.append(decoder.get_mut());
            self.encoding = Encoding::Stopped;
            return true;
        }
        let result = decoder.try_finish();
        self.text.append(decoder.get_mut());
        match result {
            Ok(()) => self.encoding = Encoding::Plain,
            Err(err) => self.damaged(&err.to_string()),
        }
        true
    }

    /// Ignores the rest of the object. Whole lines already inflated still load; the unterminated line
    /// at the damage is dropped by `next_batch` when it gets there.
    fn damaged(&mut self, reason: &str) {
        if let Encoding::Gzip(decoder) = &mut self.encoding {
            // The inflater holds back up to one buffer of output until its next write: hand it over,
            // those lines were read before the damage.
            let _ = decoder.flush();
            self.text.append(decoder.get_mut());
        }
        self.encoding = Encoding::Stopped;
        self.finished = true;
        self.stored = Vec::new();
        self.stored_pos = 0;
        self.problems.push(Problem::object(ProblemKind::Damaged { reason: reason.to_string() }));
    }

    /// Drops the text already handed to `records`, so the buffer does not grow with the object.
    fn compact_text(&mut self) {
        if self.text_pos == self.text.len() {
            self.text.clear();
            self.text_pos = 0;
        } else if self.text_pos > 0 {
            self.text.drain(..self.text_pos);
            self.text_pos = 0;
        }
    }

    /// Drops the stored bytes already inflated.
    fn compact_stored(&mut self) {
        if self.stored_pos > 0 {
            self.stored.drain(..self.stored_pos);
            self.stored_pos = 0;
        }
    }
}

/// Inflates `stored` into `text` (whatever it held) in one call when it is exactly one gzip member of
/// a size allowed whole; false when it is not, or is damaged: the caller then streams it, which finds
/// the same text and reports the same damage.
///
/// libdeflate checks the CRC-32 and size in the trailer of the member it inflated, but does not say
/// where that member ended, and ignores whatever follows it. The member ends at the end of the object
/// exactly when the first place its trailer (the CRC-32 and size of the text just inflated, 8 bytes)
/// appears in the object is the object's last 8 bytes: a second member after it would put the first
/// member's trailer earlier. Usually the size alone (the trailer's last 4 bytes) appears nowhere
/// else in the object, which proves the same without a second CRC-32 pass over the text.
fn inflate_whole(stored: &[u8], text: &mut Vec<u8>) -> bool {
    if stored.len() < GZIP_MIN_MEMBER || stored.len() > WHOLE_STORED_LIMIT {
        return false;
    }
    let trailer = stored.len() - 8;
    let declared =
        u32::from_le_bytes([stored[trailer + 4], stored[trailer + 5], stored[trailer + 6], stored[trailer + 7]]);
    let declared = declared as usize;
    if declared > WHOLE_TEXT_LIMIT {
        return false;
    }
    // What the buffer held is overwritten: only growing it zeroes memory.
    text.resize(declared, 0);
    match libdeflater::Decompressor::new().gzip_decompress(stored, text) {
        Ok(len) if len == declared => {
            let size = &stored[trailer + 4..];
            memmem::find(stored, size) == Some(trailer + 4) || {
                let mut expected = [0u8; 8];
                expected[..4].copy_from_slice(&libdeflater::crc32(text).to_le_bytes());
                expected[4..].copy_from_slice(size);
                memmem::find(stored, &expected) == Some(trailer)
            }
        }
        _ => false,
    }
}
