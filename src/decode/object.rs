//! One object, from its stored bytes to batches: sniff the encoding, gunzip, decode records.
//!
//! The encoding is chosen by content, never by name: the gzip magic (`1f 8b`) means gzip (any number of
//! members), `PAR1` means Parquet (not read here), anything else is plain text. Input is pushed in
//! chunks as it arrives and batches are pulled out, so memory stays bounded by the chunk size times
//! the compression ratio, whatever the object's size.
//!
//! Damage (a corrupt or truncated gzip stream) is a [`Problem`], not an error: the records decoded
//! before it are kept, the unterminated line at the damage is reported and dropped, and the rest of
//! the object is ignored.

use std::io::{Read, Write};

use arrow::array::RecordBatch;
use arrow::error::ArrowError;
use flate2::write::MultiGzDecoder;

use super::fields;
use super::problem::{Problem, ProblemKind};
use super::records::{FlowDecoder, MAX_LINE};

/// The field names of the header line at the start of an object, from the object's first bytes
/// (gzip or plain text; a cut-off tail is fine). `None` when the object starts with a record.
pub fn first_header(head: &[u8]) -> Option<Vec<String>> {
    let mut text = Vec::new();
    if head.starts_with(GZIP_MAGIC) {
        // An error here is the probe's cut-off tail; what was inflated before it is what we need.
        let _ = flate2::read::MultiGzDecoder::new(head).take(MAX_LINE as u64).read_to_end(&mut text);
    } else {
        text.extend_from_slice(&head[..head.len().min(MAX_LINE)]);
    }
    let line = text.split(|b| *b == b'\n').find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))?;
    let line = std::str::from_utf8(line).ok()?;
    fields::header_fields(line).map(|names| names.into_iter().map(str::to_string).collect())
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const PARQUET_MAGIC: &[u8] = b"PAR1";

#[derive(Debug)]
enum Encoding {
    /// Not enough bytes seen yet to tell.
    Unknown,
    Plain,
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
    /// Bytes seen before the encoding could be told.
    head: Vec<u8>,
    /// Decoded text not yet handed to `records`, from `text_pos` on.
    text: Vec<u8>,
    text_pos: usize,
    finished: bool,
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
            head: Vec::new(),
            text: Vec::new(),
            text_pos: 0,
            finished: false,
            done: false,
            stored_bytes: 0,
            problems: Vec::new(),
        }
    }

    /// Pushes the next chunk of the object's stored bytes. Call [`ObjectDecoder::next_batch`] until it
    /// returns `None` before pushing more.
    pub fn push(&mut self, chunk: &[u8]) {
        self.stored_bytes += chunk.len() as u64;
        self.compact();
        if let Encoding::Unknown = self.encoding {
            self.head.extend_from_slice(chunk);
            if self.head.len() < PARQUET_MAGIC.len() {
                return;
            }
            let head = std::mem::take(&mut self.head);
            self.choose_encoding(&head);
            self.inflate(&head);
        } else {
            self.inflate(chunk);
        }
    }

    /// Marks the end of the object's bytes.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.compact();
        if let Encoding::Unknown = self.encoding {
            let head = std::mem::take(&mut self.head);
            self.choose_encoding(&head);
            self.inflate(&head);
        }
        if let Encoding::Gzip(decoder) = &mut self.encoding {
            let result = decoder.try_finish();
            self.text.append(decoder.get_mut());
            if let Err(err) = result {
                self.damaged(&err.to_string());
            }
        }
        self.finished = true;
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

    /// Stored (compressed) bytes pushed so far.
    pub fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// Stops reading: what was decoded is kept, the rest of the object is reported as unreadable.
    pub fn abort(&mut self, reason: &str) {
        self.stop(ProblemKind::Unreadable { reason: reason.to_string() });
    }

    fn choose_encoding(&mut self, head: &[u8]) {
        self.encoding = if head.starts_with(GZIP_MAGIC) {
            Encoding::Gzip(Box::new(MultiGzDecoder::new(Vec::new())))
        } else if head.starts_with(PARQUET_MAGIC) {
            self.problems.push(Problem::object(ProblemKind::Unsupported {
                what: "Parquet flow-log objects are not read yet".to_string(),
            }));
            Encoding::Stopped
        } else {
            Encoding::Plain
        };
    }

    fn inflate(&mut self, chunk: &[u8]) {
        match &mut self.encoding {
            Encoding::Plain => self.text.extend_from_slice(chunk),
            Encoding::Gzip(decoder) => {
                let result = decoder.write_all(chunk);
                self.text.append(decoder.get_mut());
                if let Err(err) = result {
                    self.damaged(&err.to_string());
                }
            }
            Encoding::Unknown | Encoding::Stopped => {}
        }
    }

    fn damaged(&mut self, reason: &str) {
        self.stop(ProblemKind::Damaged { reason: reason.to_string() });
    }

    /// Ignores the rest of the object. Whole lines already inflated still load; the unterminated line
    /// at the damage is dropped by `next_batch` when it gets there.
    fn stop(&mut self, kind: ProblemKind) {
        if let Encoding::Gzip(decoder) = &mut self.encoding {
            // The inflater holds back up to one buffer of output until its next write: hand it over,
            // those lines were read before the damage.
            let _ = decoder.flush();
            self.text.append(decoder.get_mut());
        }
        if matches!(self.encoding, Encoding::Stopped) {
            return;
        }
        self.encoding = Encoding::Stopped;
        self.finished = true;
        self.problems.push(Problem::object(kind));
    }

    /// Drops the text already handed to `records`, so the buffer does not grow with the object.
    fn compact(&mut self) {
        if self.text_pos == self.text.len() {
            self.text.clear();
            self.text_pos = 0;
        } else if self.text_pos > 0 {
            self.text.drain(..self.text_pos);
            self.text_pos = 0;
        }
    }
}
