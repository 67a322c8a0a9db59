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
    DataType, Int8Type, Int16Type, Int32Type, Int64Type, Schema, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
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

/// One column, ready to write a cell of any row.
enum Cells<'a> {
    Int(&'a dyn Array, fn(&dyn Array, usize, &mut Vec<u8>)),
    Text(&'a dyn Array, fn(&dyn Array, usize) -> &[u8]),
    Formatted(ArrayFormatter<'a>),
}

fn rows(batch: &RecordBatch, buf: &mut Vec<u8>) -> Result<(), ArrowError> {
    // The options arrow's CSV writer formats with.
    let options = FormatOptions::default().with_null("");
    let columns =
        batch.columns().iter().map(|array| cells(array.as_ref(), &options)).collect::<Result<Vec<_>, ArrowError>>()?;
    let mut scratch = String::new();
    for row in 0..batch.num_rows() {
        let start = buf.len();
        for (i, (column, cells)) in batch.columns().iter().zip(&columns).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            match cells {
                _ if column.is_null(row) => {}
                Cells::Int(array, write) => write(*array, row, buf),
                Cells::Text(array, value) => text(value(*array, row), buf),
                Cells::Formatted(formatter) => {
                    scratch.clear();
                    formatter.value(row).write(&mut scratch).map_err(|e| {
                        ArrowError::CsvError(format!("Error processing row {}, col {}: {e}", row + 1, i + 1))
                    })?;
                    text(scratch.as_bytes(), buf);
                }
            }
        }
        if buf.len() == start {
            // Nothing written: one empty field (more would have written a `,`).
            buf.extend_from_slice(b"\"\"");
        }
        buf.push(b'\n');
    }
    Ok(())
}

fn cells<'a>(array: &'a dyn Array, options: &FormatOptions<'a>) -> Result<Cells<'a>, ArrowError> {
    fn int<T: arrow::datatypes::ArrowPrimitiveType>(array: &dyn Array, row: usize, buf: &mut Vec<u8>)
    where
        T::Native: itoa::Integer,
    {
        buf.extend_from_slice(itoa::Buffer::new().format(array.as_primitive::<T>().value(row)).as_bytes());
    }
    Ok(match array.data_type() {
        DataType::Int8 => Cells::Int(array, int::<Int8Type>),
        DataType::Int16 => Cells::Int(array, int::<Int16Type>),
        DataType::Int32 => Cells::Int(array, int::<Int32Type>),
        DataType::Int64 => Cells::Int(array, int::<Int64Type>),
        DataType::UInt8 => Cells::Int(array, int::<UInt8Type>),
        DataType::UInt16 => Cells::Int(array, int::<UInt16Type>),
        DataType::UInt32 => Cells::Int(array, int::<UInt32Type>),
        DataType::UInt64 => Cells::Int(array, int::<UInt64Type>),
        DataType::Utf8View => Cells::Text(array, |a, row| a.as_string_view().value(row).as_bytes()),
        DataType::Utf8 => Cells::Text(array, |a, row| a.as_string::<i32>().value(row).as_bytes()),
        DataType::LargeUtf8 => Cells::Text(array, |a, row| a.as_string::<i64>().value(row).as_bytes()),
        data_type if data_type.is_nested() => {
            return Err(ArrowError::CsvError(format!("Nested type {data_type} is not supported in CSV")));
        }
        _ => Cells::Formatted(ArrayFormatter::try_new(array, options)?),
    })
}

/// A field's text, quoted when it holds a byte that would end it.
fn text(value: &[u8], buf: &mut Vec<u8>) {
    if !value.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
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

    proptest! {
        #[test]
        fn any_text_reads_as_arrow_writes_it(
            values in proptest::collection::vec(proptest::option::of("[a\",\r\n ]{0,4}"), 1..20),
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
