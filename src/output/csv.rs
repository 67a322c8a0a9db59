//! CSV encoding: the bytes arrow's CSV writer (`arrow::csv::Writer`, default options) writes, faster.
//!
//! Listings can return millions of rows, and arrow's writer formats every cell through `fmt` into a
//! string, copies it into a `csv::ByteRecord`, then copies it again into the output. Here integers
//! and strings — every column of `flows` — go straight into one buffer per batch; other types are
//! formatted by arrow's own `ArrayFormatter` with the options arrow's writer uses, so dates, times,
//! floats and decimals read exactly as before.
//!
//! The rules, as the `csv` crate applies them for arrow's writer: fields are separated by `,` and
//! records end with `\n`; NULL is an empty field; a field holding `,`, `"`, `\r` or `\n` is quoted,
//! with `"` doubled; a record that is one empty field is written `""` (so that it is not a blank
//! line). The tests compare the two writers byte for byte.

use std::io::Write;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Int8Type, Int16Type, Int32Type, Int64Type, Schema, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Writes batches as CSV with a header line of the column names.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    wrote_header: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer that starts with the header.
    pub fn new(out: W) -> Self {
        CsvWriter { out, buf: Vec::new(), wrote_header: false }
    }

    /// Writes the rows of `batch` (after the header, the first time).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        self.buf.clear();
        if !self.wrote_header {
            header(&batch.schema(), &mut self.buf);
            self.wrote_header = true;
        }
        rows(batch, &mut self.buf)?;
        self.out.write_all(&self.buf)?;
        Ok(())
    }

    /// The underlying writer, flushed.
    pub fn into_inner(mut self) -> Result<W, ArrowError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn header(schema: &Schema, buf: &mut Vec<u8>) {
    for (i, field) in schema.fields().iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        text(field.name().as_bytes(), buf);
    }
    if schema.fields().len() == 1 && schema.field(0).name().is_empty() {
        buf.extend_from_slice(b"\"\"");
    }
    buf.push(b'\n');
}

/// Writes one column's cell of a row that is not NULL.
type Cell<'a> = Box<dyn FnMut(usize, &mut Vec<u8>) -> Result<(), ArrowError> + 'a>;

fn rows(batch: &RecordBatch, buf: &mut Vec<u8>) -> Result<(), ArrowError> {
    // The options arrow's CSV writer formats with.
    let options = FormatOptions::default().with_null("");
    let mut columns = batch
        .columns()
        .iter()
        .map(|array| Ok((array.nulls(), cell(array.as_ref(), &options)?)))
        .collect::<Result<Vec<_>, ArrowError>>()?;
    for row in 0..batch.num_rows() {
        let start = buf.len();
        for (i, (nulls, cell)) in columns.iter_mut().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            if nulls.is_some_and(|nulls| nulls.is_null(row)) {
                continue;
            }
            cell(row, buf)
                .map_err(|e| ArrowError::CsvError(format!("Error processing row {}, col {}: {e}", row + 1, i + 1)))?;
        }
        if buf.len() == start {
            // Nothing written: one empty field (more would have written a `,`).
            buf.extend_from_slice(b"\"\"");
        }
        buf.push(b'\n');
    }
    Ok(())
}

fn cell<'a>(array: &'a dyn Array, options: &FormatOptions<'a>) -> Result<Cell<'a>, ArrowError> {
    fn int<'a, T: ArrowPrimitiveType>(array: &'a dyn Array) -> Cell<'a>
    where
        T::Native: itoa::Integer,
    {
        let values = array.as_primitive::<T>().values();
        Box::new(move |row, buf| {
            buf.extend_from_slice(itoa::Buffer::new().format(values[row]).as_bytes());
            Ok(())
        })
    }
    fn texts<'a>(value: impl Fn(usize) -> &'a [u8] + 'a) -> Cell<'a> {
        Box::new(move |row, buf| {
            text(value(row), buf);
            Ok(())
        })
    }
    Ok(match array.data_type() {
        DataType::Int8 => int::<Int8Type>(array),
        DataType::Int16 => int::<Int16Type>(array),
        DataType::Int32 => int::<Int32Type>(array),
        DataType::Int64 => int::<Int64Type>(array),
        DataType::UInt8 => int::<UInt8Type>(array),
        DataType::UInt16 => int::<UInt16Type>(array),
        DataType::UInt32 => int::<UInt32Type>(array),
        DataType::UInt64 => int::<UInt64Type>(array),
        DataType::Utf8View => {
            let array = array.as_string_view();
            texts(move |row| array.value(row).as_bytes())
        }
        DataType::Utf8 => {
            let array = array.as_string::<i32>();
            texts(move |row| array.value(row).as_bytes())
        }
        DataType::LargeUtf8 => {
            let array = array.as_string::<i64>();
            texts(move |row| array.value(row).as_bytes())
        }
        data_type if data_type.is_nested() => {
            return Err(ArrowError::CsvError(format!("Nested type {data_type} is not supported in CSV")));
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array, options)?;
            let mut scratch = String::new();
            Box::new(move |row, buf| {
                scratch.clear();
                formatter.value(row).write(&mut scratch)?;
                text(scratch.as_bytes(), buf);
                Ok(())
            })
        }
    })
}

/// A field's text, quoted when it holds a byte that would end it.
fn text(value: &[u8], buf: &mut Vec<u8>) {
    if !needs_quotes(value) {
        buf.extend_from_slice(value);
        return;
    }
    buf.push(b'"');
    for part in value.split_inclusive(|b| *b == b'"') {
        buf.extend_from_slice(part);
        if part.ends_with(b"\"") {
            buf.push(b'"');
        }
    }
    buf.push(b'"');
}

/// Whether `value` holds `,`, `"`, `\r` or `\n`: eight bytes at a time, where a byte of `word ^
/// needle` is zero exactly where `word` holds the needle, then the rest one by one. A listing's
/// cells are mostly addresses and IDs of 7 to 21 bytes; `text`, checking them a byte at a time, was
/// 6-10% of `ssh-rdp`'s CPU on the Parquet copy.
fn needs_quotes(value: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    let mut words = value.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        if [b',', b'"', b'\r', b'\n'].iter().any(|&needle| has_zero_byte(word ^ (ONES * u64::from(needle)))) {
            return true;
        }
    }
    words.remainder().iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int8Array, Int32Array, Int64Array,
        LargeStringArray, ListArray, StringArray, StringViewArray, TimestampSecondArray, UInt64Array,
    };
    use arrow::datatypes::Field;
    use proptest::prelude::*;

    use super::*;

    fn arrow_csv(batches: &[RecordBatch]) -> Vec<u8> {
        let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(Vec::new());
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.into_inner()
    }

    fn ours(batches: &[RecordBatch]) -> Vec<u8> {
        let mut writer = CsvWriter::new(Vec::new());
        for batch in batches {
            writer.write(batch).unwrap();
        }
        writer.into_inner().unwrap()
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn every_type_reads_as_arrow_writes_it() {
        let text = [Some("plain"), None, Some(""), Some("a,b"), Some("say \"hi\""), Some("two\nlines"), Some("cr\r")];
        let decimals = Decimal128Array::from(vec![Some(12345), None, Some(-5), Some(0), Some(1), Some(2), Some(3)])
            .with_precision_and_scale(10, 2)
            .unwrap();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("int8", Arc::new(Int8Array::from(vec![Some(-128), None, Some(0), Some(127), Some(1), Some(2), Some(3)]))),
            (
                "int32",
                Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(0), Some(22), Some(-1), Some(7), None])),
            ),
            (
                "int64",
                Arc::new(Int64Array::from(vec![Some(i64::MAX), None, Some(0), Some(-9), Some(1), Some(2), None])),
            ),
            (
                "uint64",
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(0), Some(1), Some(2), Some(3), None])),
            ),
            ("view", Arc::new(StringViewArray::from(text.to_vec()))),
            ("utf8", Arc::new(StringArray::from(text.to_vec()))),
            ("large", Arc::new(LargeStringArray::from(text.to_vec()))),
            (
                "float",
                Arc::new(Float64Array::from(vec![
                    Some(1.5),
                    None,
                    Some(-0.0),
                    Some(1e21),
                    Some(f64::NAN),
                    Some(0.1),
                    Some(3.0),
                ])),
            ),
            (
                "bool",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    None,
                    Some(false),
                    Some(true),
                    None,
                    Some(false),
                    Some(true),
                ])),
            ),
            (
                "date",
                Arc::new(Date32Array::from(vec![Some(0), None, Some(19000), Some(-1), Some(1), Some(2), Some(3)])),
            ),
            (
                "time",
                Arc::new(TimestampSecondArray::from(vec![
                    Some(1_700_000_000),
                    None,
                    Some(0),
                    Some(-5),
                    Some(1),
                    Some(2),
                    Some(3),
                ])),
            ),
            (
                "time_utc",
                Arc::new(
                    TimestampSecondArray::from(vec![
                        Some(1_700_000_000),
                        None,
                        Some(0),
                        Some(1),
                        Some(2),
                        Some(3),
                        Some(4),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            ("decimal", Arc::new(decimals)),
            ("quote\"d, name", Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5, 6, 7]))),
        ];
        let whole = batch(columns);
        let batches = [whole.slice(0, 3), whole.slice(3, 4)];
        assert_eq!(String::from_utf8(ours(&batches)).unwrap(), String::from_utf8(arrow_csv(&batches)).unwrap());
    }

    #[test]
    fn one_empty_field_is_quoted_and_empty_answers_have_a_header() {
        let one = batch(vec![("a", Arc::new(StringViewArray::from(vec![Some(""), None, Some("x")])) as ArrayRef)]);
        let one = [one];
        assert_eq!(ours(&one), arrow_csv(&one));
        assert_eq!(ours(&one), b"a\n\"\"\n\"\"\nx\n");
        let unnamed = [batch(vec![("", Arc::new(Int32Array::from(vec![1])) as ArrayRef)])];
        assert_eq!(ours(&unnamed), arrow_csv(&unnamed));
        let empty = [RecordBatch::new_empty(one[0].schema())];
        assert_eq!(ours(&empty), arrow_csv(&empty));
    }

    #[test]
    fn nested_types_are_refused_like_arrow_does() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let nested = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("l", list.data_type().clone(), true)])),
            vec![Arc::new(list) as ArrayRef],
        )
        .unwrap();
        let err = CsvWriter::new(Vec::new()).write(&nested).unwrap_err();
        assert!(err.to_string().contains("Nested type"), "{err}");
    }

    #[test]
    fn quotes_are_needed_for_the_four_bytes_at_any_position() {
        // Bytes one away from the four, and bytes with the high bit set, must not count.
        let near = [b'+', b'-', b'!', b'#', 0x0b, 0x0c, 0x09, 0x0e, 0xac, 0xa2, 0x8a, 0x8d, 0x00, 0xff];
        for len in 0..26 {
            for filler in near {
                let plain = vec![filler; len];
                assert!(!needs_quotes(&plain), "{plain:?}");
                for at in 0..len {
                    for needle in [b',', b'"', b'\r', b'\n'] {
                        let mut value = plain.clone();
                        value[at] = needle;
                        assert!(needs_quotes(&value), "{value:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_reads_as_arrow_writes_it(
            values in proptest::collection::vec(proptest::option::of("[a\",\r\n ]{0,4}|[a-z.\\-,]{0,20}"), 1..20),
            width in 1usize..3,
        ) {
            let columns: Vec<(&str, ArrayRef)> = ["x", "y"][..width]
                .iter()
                .map(|name| (*name, Arc::new(StringViewArray::from(values.clone())) as ArrayRef))
                .collect();
            let batches = [batch(columns)];
            prop_assert_eq!(ours(&batches), arrow_csv(&batches));
        }
    }
}
