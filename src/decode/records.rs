//! The record decoder: flow-log text in, Arrow `RecordBatch`es of the projected `flows` columns out.
//!
//! A push decoder in the shape of arrow-csv's: [`FlowDecoder::decode`] takes any slice of text (not
//! necessarily whole lines; an empty slice means end of input) and returns how much it consumed,
//! [`FlowDecoder::flush`] hands over the rows decoded so far, [`FlowDecoder::capacity`] says how many
//! more fit in the batch.
//!
//! Invariants the hot loop relies on:
//! - A line is either loaded whole or not at all: every field of a line is checked (token count, UTF-8,
//!   each numeric field) before anything is appended, so a bad line leaves no partial row behind, and
//!   whether a line loads never depends on which columns are projected (`count(*)` and `count(bytes)`
//!   see the same rows).
//! - Only projected columns have builders. Unprojected numeric fields are still validated.
//! - A line that crosses a `decode` call is kept in `partial`; everything else is read in place.
//! - Line numbers count every line of the decompressed object, headers and blank lines included.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Builder, Int64Builder, RecordBatch, RecordBatchOptions, StringViewBuilder};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use memchr::memchr;

use super::fields::{self, DEFAULT_FORMAT, FieldKind, LINE_COLUMN};
use super::problem::{Problem, ProblemKind, quote};

/// The longest line accepted; flow-log records are a few hundred bytes.
pub const MAX_LINE: usize = 64 * 1024;

/// The default number of rows in a batch.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// The format of the lines being read: the fields named by the last header line, or assumed.
#[derive(Debug, Clone)]
struct Format {
    /// Column name (`-` → `_`) of each field, by position.
    columns: Vec<String>,
    kinds: Vec<FieldKind>,
    /// True when no header named it and the default format was assumed.
    assumed_default: bool,
}

impl Format {
    fn new<S: AsRef<str>>(names: &[S], assumed_default: bool) -> Self {
        Format {
            columns: names.iter().map(|n| fields::column_name(n.as_ref())).collect(),
            kinds: names.iter().map(|n| fields::field_kind(n.as_ref())).collect(),
            assumed_default,
        }
    }
}

/// Where an output column's values come from, under the current format.
#[derive(Debug, Clone)]
enum Binding {
    /// The field at this position of the line.
    Field(usize),
    /// The format has no such field: NULL.
    Absent,
    /// The format has no such field, but the object's key says what it is (account, region).
    Constant(Arc<str>),
    /// The line number.
    Line,
}

#[derive(Debug)]
enum Builder {
    Int32(Int32Builder),
    Int64(Int64Builder),
    Text(StringViewBuilder),
}

#[derive(Debug)]
struct Column {
    name: String,
    builder: Builder,
    binding: Binding,
}

/// Builds a [`FlowDecoder`].
///
/// ```
/// use flowq::decode::{FlowDecoderBuilder, file_schema};
///
/// let schema = file_schema(&[]);
/// let projected = std::sync::Arc::new(schema.project(&[3, 9]).unwrap()); // srcaddr, bytes
/// let mut decoder = FlowDecoderBuilder::new(projected).build();
/// let text = b"2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK\n";
/// assert_eq!(decoder.decode(text), text.len());
/// decoder.decode(b""); // end of input
/// let batch = decoder.flush().unwrap().unwrap();
/// assert_eq!(batch.num_rows(), 1);
/// assert_eq!(batch.num_columns(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct FlowDecoderBuilder {
    schema: SchemaRef,
    batch_size: usize,
    fields: Option<Vec<String>>,
    key_values: Vec<(String, Arc<str>)>,
    table_schema: Option<SchemaRef>,
}

impl FlowDecoderBuilder {
    /// A builder for batches of `schema`: a projection of [`fields::file_schema`], columns by name.
    pub fn new(schema: SchemaRef) -> Self {
        FlowDecoderBuilder {
            schema,
            batch_size: DEFAULT_BATCH_SIZE,
            fields: None,
            key_values: Vec::new(),
            table_schema: None,
        }
    }

    /// Rows per batch (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The format of objects that have no header line (instead of the default 14 fields).
    pub fn with_fields(mut self, fields: Option<Vec<String>>) -> Self {
        self.fields = fields;
        self
    }

    /// Values for a column the object's format does not carry, known from its key (`account_id`,
    /// `region`). A value in the record always wins.
    pub fn with_key_value(mut self, column: &str, value: Option<&str>) -> Self {
        if let Some(value) = value {
            self.key_values.push((column.to_string(), Arc::from(value)));
        }
        self
    }

    /// The whole table's file schema, of which `schema` is a projection. A header field that is not a
    /// column of it is reported as unbound rather than dropped silently. Default: `schema` itself.
    pub fn with_table_schema(mut self, table_schema: SchemaRef) -> Self {
        self.table_schema = Some(table_schema);
        self
    }

    /// The decoder.
    pub fn build(self) -> FlowDecoder {
        let table_schema = self.table_schema.as_ref().unwrap_or(&self.schema);
        let unknown_columns = table_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| n != LINE_COLUMN && fields::known_kind(n).is_none())
            .collect();
        let columns = self
            .schema
            .fields()
            .iter()
            .map(|field| {
                let name = field.name().clone();
                let builder = match fields::field_kind(&name) {
                    _ if name == LINE_COLUMN => Builder::Int64(Int64Builder::with_capacity(self.batch_size)),
                    FieldKind::Int32 => Builder::Int32(Int32Builder::with_capacity(self.batch_size)),
                    FieldKind::Int64 => Builder::Int64(Int64Builder::with_capacity(self.batch_size)),
                    FieldKind::Text => Builder::Text(StringViewBuilder::with_capacity(self.batch_size)),
                };
                Column { name, builder, binding: Binding::Absent }
            })
            .collect();
        FlowDecoder {
            schema: self.schema,
            batch_size: self.batch_size,
            explicit: self.fields.map(|f| Format::new(&f, false)),
            key_values: self.key_values,
            unknown_columns,
            columns,
            format: None,
            rows: 0,
            records: 0,
            line_no: 0,
            partial: Vec::new(),
            skipping_long_line: false,
            spans: Vec::new(),
            numbers: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Decodes the text of one object into batches. See the module docs.
#[derive(Debug)]
pub struct FlowDecoder {
    schema: SchemaRef,
    batch_size: usize,
    explicit: Option<Format>,
    key_values: Vec<(String, Arc<str>)>,
    /// Columns of the table for fields that are not in the catalogue.
    unknown_columns: Vec<String>,
    columns: Vec<Column>,
    format: Option<Format>,
    rows: usize,
    records: u64,
    line_no: u64,
    partial: Vec<u8>,
    skipping_long_line: bool,
    spans: Vec<(usize, usize)>,
    numbers: Vec<Option<i64>>,
    problems: Vec<Problem>,
}

impl FlowDecoder {
    /// Reads lines from `buf` until it is used up or the batch is full; returns the bytes consumed.
    /// An empty `buf` means end of input: an unterminated last line is loaded then, even when the
    /// batch is already full.
    pub fn decode(&mut self, buf: &[u8]) -> usize {
        if buf.is_empty() {
            self.end_of_input();
            return 0;
        }
        if self.capacity() == 0 {
            return 0;
        }
        let mut pos = 0;
        if !self.partial.is_empty() || self.skipping_long_line {
            match memchr(b'\n', buf) {
                None => {
                    self.keep_partial(buf);
                    return buf.len();
                }
                Some(end) => {
                    self.keep_partial(&buf[..end]);
                    pos = end + 1;
                    if self.skipping_long_line {
                        self.skipping_long_line = false;
                        self.line_no += 1;
                    } else {
                        let line = std::mem::take(&mut self.partial);
                        self.line(&line);
                        self.partial = line;
                        self.partial.clear();
                    }
                }
            }
        }
        while self.rows < self.batch_size && pos < buf.len() {
            match memchr(b'\n', &buf[pos..]) {
                Some(len) => {
                    self.line(&buf[pos..pos + len]);
                    pos += len + 1;
                }
                None => {
                    self.keep_partial(&buf[pos..]);
                    pos = buf.len();
                }
            }
        }
        pos
    }

    /// How many more rows fit in the current batch.
    pub fn capacity(&self) -> usize {
        self.batch_size.saturating_sub(self.rows)
    }

    /// The rows decoded since the last flush, or `None` when there are none.
    pub fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.rows == 0 {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|column| -> ArrayRef {
                match &mut column.builder {
                    Builder::Int32(b) => Arc::new(b.finish()),
                    Builder::Int64(b) => Arc::new(b.finish()),
                    Builder::Text(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), arrays, &options).map(Some)
    }

    /// The problems found since the last call.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.problems)
    }

    /// Records loaded so far (rows, whether flushed or not).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The input ended in damage: the unterminated line before it is not a whole record, so it is
    /// reported and dropped rather than loaded with a value cut short.
    pub fn discard_partial(&mut self) {
        if !self.partial.is_empty() && !self.skipping_long_line {
            let value = quote(&String::from_utf8_lossy(&self.partial));
            self.problems.push(Problem::at_line(self.line_no + 1, ProblemKind::CutShort { value }));
        }
        self.partial.clear();
        self.skipping_long_line = false;
    }

    fn keep_partial(&mut self, bytes: &[u8]) {
        if self.skipping_long_line {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE {
            self.problems.push(Problem::at_line(self.line_no + 1, ProblemKind::LineTooLong { limit: MAX_LINE }));
            self.partial.clear();
            self.skipping_long_line = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn end_of_input(&mut self) {
        if self.skipping_long_line {
            self.skipping_long_line = false;
            self.line_no += 1;
        } else if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
    }

    /// One line, without its `\n`.
    fn line(&mut self, bytes: &[u8]) {
        self.line_no += 1;
        if bytes.len() > MAX_LINE {
            self.problems.push(Problem::at_line(self.line_no, ProblemKind::LineTooLong { limit: MAX_LINE }));
            return;
        }
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(|b| *b == b' ' || *b == b'\t') {
            return;
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                self.not_utf8(bytes, err.valid_up_to());
                return;
            }
        };
        if let Some(names) = fields::header_fields(text) {
            self.set_format(&names);
            return;
        }
        if self.format.is_none() {
            let format = self.explicit.clone().unwrap_or_else(|| Format::new(DEFAULT_FORMAT, true));
            self.bind(format);
        }
        self.record(text);
    }

    fn set_format(&mut self, names: &[&str]) {
        let mut seen: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let column = fields::column_name(name);
            let reserved = column == LINE_COLUMN || column == fields::SOURCE_COLUMN;
            let unbound =
                reserved || (fields::known_kind(&column).is_none() && !self.unknown_columns.contains(&column));
            let kind = if seen.contains(&column) {
                Some(ProblemKind::DuplicateField { name: (*name).to_string() })
            } else if unbound {
                Some(ProblemKind::UnboundField { name: (*name).to_string() })
            } else {
                None
            };
            if let Some(kind) = kind {
                self.problems.push(Problem::at_line(self.line_no, kind));
            }
            // A reserved name binds nothing: `line` stays the line number.
            seen.push(if reserved { String::new() } else { column });
        }
        self.bind(Format::new(names, false));
    }

    fn bind(&mut self, format: Format) {
        for column in &mut self.columns {
            column.binding = if column.name == LINE_COLUMN {
                Binding::Line
            } else if let Some(pos) = format.columns.iter().position(|c| *c == column.name) {
                // The first of duplicate names binds.
                Binding::Field(pos)
            } else if let Some((_, value)) = self.key_values.iter().find(|(c, _)| *c == column.name) {
                Binding::Constant(Arc::clone(value))
            } else {
                Binding::Absent
            };
        }
        self.format = Some(format);
    }

    fn record(&mut self, text: &str) {
        let Some(format) = &self.format else { return };
        self.spans.clear();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
                i += 1;
            }
            if i > start {
                self.spans.push((start, i));
            }
        }
        if self.spans.len() != format.columns.len() {
            self.problems.push(Problem::at_line(
                self.line_no,
                ProblemKind::FieldCount {
                    expected: format.columns.len(),
                    found: self.spans.len(),
                    assumed_default: format.assumed_default,
                    value: quote(text),
                },
            ));
            return;
        }
        self.numbers.clear();
        for (pos, &(start, end)) in self.spans.iter().enumerate() {
            let token = &bytes[start..end];
            let number = match format.kinds[pos] {
                FieldKind::Text => None,
                kind => match parse_int(token, kind) {
                    Ok(n) => n,
                    Err(()) => {
                        let problem = ProblemKind::InvalidNumber {
                            column: format.columns[pos].clone(),
                            value: quote(&text[start..end]),
                        };
                        self.problems.push(Problem::at_line(self.line_no, problem));
                        return;
                    }
                },
            };
            self.numbers.push(number);
        }
        for column in &mut self.columns {
            match (&column.binding, &mut column.builder) {
                (Binding::Field(pos), Builder::Int32(b)) => b.append_option(self.numbers[*pos].map(|n| n as i32)),
                (Binding::Field(pos), Builder::Int64(b)) => b.append_option(self.numbers[*pos]),
                (Binding::Field(pos), Builder::Text(b)) => {
                    let (start, end) = self.spans[*pos];
                    match &text[start..end] {
                        "-" => b.append_null(),
                        value => b.append_value(value),
                    }
                }
                (Binding::Line, Builder::Int64(b)) => b.append_value(self.line_no as i64),
                (Binding::Constant(value), Builder::Text(b)) => b.append_value(value.as_ref()),
                (_, Builder::Int32(b)) => b.append_null(),
                (_, Builder::Int64(b)) => b.append_null(),
                (_, Builder::Text(b)) => b.append_null(),
            }
        }
        self.rows += 1;
        self.records += 1;
    }

    fn not_utf8(&mut self, bytes: &[u8], valid_up_to: usize) {
        let start = bytes[..valid_up_to].iter().rposition(|b| *b == b' ').map_or(0, |p| p + 1);
        let end = memchr(b' ', &bytes[valid_up_to..]).map_or(bytes.len(), |p| valid_up_to + p);
        let index = bytes[..start].split(|b| *b == b' ').filter(|t| !t.is_empty()).count();
        let column = match (&self.format, &self.explicit) {
            (Some(format), _) | (None, Some(format)) => format.columns.get(index).cloned(),
            (None, None) => DEFAULT_FORMAT.get(index).map(|f| fields::column_name(f)),
        };
        let value = quote(&String::from_utf8_lossy(&bytes[start..end]));
        self.problems.push(Problem::at_line(self.line_no, ProblemKind::NotUtf8 { column, value }));
    }
}

/// Parses a decimal integer of `kind` from bytes; `-` is NULL.
fn parse_int(token: &[u8], kind: FieldKind) -> Result<Option<i64>, ()> {
    let (negative, digits) = match token {
        b"-" => return Ok(None),
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, token),
    };
    if digits.is_empty() || digits.len() > 19 {
        return Err(());
    }
    let mut value: i64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err(());
        }
        value = value.checked_mul(10).and_then(|v| v.checked_add(i64::from(digit))).ok_or(())?;
    }
    let value = if negative { -value } else { value };
    if kind == FieldKind::Int32 && i32::try_from(value).is_err() {
        return Err(());
    }
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_accepts_numbers_and_dash() {
        assert_eq!(parse_int(b"-", FieldKind::Int32), Ok(None));
        assert_eq!(parse_int(b"443", FieldKind::Int32), Ok(Some(443)));
        assert_eq!(parse_int(b"9223372036854775807", FieldKind::Int64), Ok(Some(i64::MAX)));
        assert_eq!(parse_int(b"9223372036854775808", FieldKind::Int64), Err(()));
        assert_eq!(parse_int(b"2147483648", FieldKind::Int32), Err(()));
        assert_eq!(parse_int(b"12a", FieldKind::Int64), Err(()));
        assert_eq!(parse_int(b"", FieldKind::Int64), Err(()));
        assert_eq!(parse_int(b"--", FieldKind::Int64), Err(()));
    }
}
