//! Sinks for answers: a record-batch stream in, bytes out in the chosen format.
//!
//! Sinks never decide what to query. CSV, JSON, NDJSON and Parquet carry every row and the values as
//! they are in `flows` (epoch seconds for times); the terminal table shows times readably and, for
//! long answers, only the first rows, saying how many it left out. [`convert`] writes the
//! Hive-partitioned Parquet copy of `flowq convert`.

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::error::ArrowError;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use parquet::arrow::ArrowWriter;

use crate::source::ObjectRef;

pub mod convert;
mod csv;
pub mod manifest;

/// Rows shown by the terminal table before it summarises the rest.
pub const TABLE_ROWS: usize = 200;

/// Columns holding epoch seconds, shown as UTC times in the terminal table.
pub(crate) const TIME_COLUMNS: &[&str] = &["start", "end", "first_seen", "last_seen", "delivered", "bucket"];

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A text table for the terminal.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// An Apache Parquet file.
    Parquet,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("unknown format {s:?}: use table, csv, json, ndjson or parquet")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        };
        f.write_str(name)
    }
}

/// Errors while producing output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Writing failed (a closed pipe is one: the caller may treat it as a normal end).
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding the batches failed.
    #[error("encoding output: {0}")]
    Arrow(#[from] ArrowError),
    /// Encoding Parquet failed.
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// The query failed while it ran.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
}

impl OutputError {
    /// True when the reader went away (e.g. `flowq … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, OutputError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// A writer that remembers a closed pipe, because encoders (arrow's JSON writer, and ours through
/// `ArrowError`) turn the I/O error into text on the way up.
struct PipeWatch<W> {
    inner: W,
    broken: Arc<AtomicBool>,
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.note(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| self.note(e))
    }
}

impl<W> PipeWatch<W> {
    fn note(&self, err: &std::io::Error) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            self.broken.store(true, Ordering::Relaxed);
        }
    }
}

/// Writes every batch of `stream` to `out` in `format`; returns the number of rows.
pub async fn write<W: Write + Send>(
    stream: SendableRecordBatchStream,
    format: Format,
    out: W,
) -> Result<u64, OutputError> {
    let broken = Arc::new(AtomicBool::new(false));
    let out = PipeWatch { inner: out, broken: Arc::clone(&broken) };
    // Writing is often the slow end of a query, whose batches are then always ready: a yield before
    // each lets the run notice an interruption (Ctrl-C) between them.
    let schema = stream.schema();
    let yielding = stream.then(|batch| async {
        tokio::task::yield_now().await;
        batch
    });
    let stream = Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, yielding));
    encode(stream, format, out).await.map_err(|e| {
        if broken.load(Ordering::Relaxed) { OutputError::Io(std::io::ErrorKind::BrokenPipe.into()) } else { e }
    })
}

async fn encode<W: Write + Send>(
    mut stream: SendableRecordBatchStream,
    format: Format,
    out: W,
) -> Result<u64, OutputError> {
    let schema = stream.schema();
    let mut rows = 0u64;
    match format {
        Format::Table => {
            let mut shown: Vec<RecordBatch> = Vec::new();
            let mut shown_rows = 0usize;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                let take = batch.num_rows().min(TABLE_ROWS - shown_rows);
                if take > 0 {
                    shown.push(readable_times(&batch.slice(0, take))?);
                    shown_rows += take;
                }
            }
            if shown.is_empty() {
                shown.push(readable_times(&RecordBatch::new_empty(schema))?);
            }
            let mut out = out;
            writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(&shown)?)?;
            let hidden = rows - shown_rows as u64;
            if hidden > 0 {
                writeln!(
                    out,
                    "… {hidden} more rows not shown ({rows} in all): use --format csv|json|ndjson|parquet or --output for every row"
                )?;
            } else {
                writeln!(out, "{rows} rows")?;
            }
            out.flush()?;
        }
        Format::Csv => {
            let mut writer = csv::CsvWriter::new(out);
            let mut wrote = false;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
                wrote = true;
            }
            if !wrote {
                writer.write(&RecordBatch::new_empty(schema))?;
            }
            writer.into_inner()?;
        }
        Format::Json | Format::Ndjson => {
            let builder = arrow::json::WriterBuilder::new().with_explicit_nulls(true);
            if format == Format::Json {
                let mut writer = builder.build::<_, arrow::json::writer::JsonArray>(out);
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    rows += batch.num_rows() as u64;
                    writer.write(&batch)?;
                }
                writer.finish()?;
                let mut out = writer.into_inner();
                if rows == 0 {
                    out.write_all(b"[]")?;
                }
                out.write_all(b"\n")?;
                out.flush()?;
            } else {
                let mut writer = builder.build::<_, arrow::json::writer::LineDelimited>(out);
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    rows += batch.num_rows() as u64;
                    writer.write(&batch)?;
                }
                writer.finish()?;
                writer.into_inner().flush()?;
            }
        }
        Format::Parquet => {
            let mut writer = ArrowWriter::try_new(out, schema, None)?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch)?;
            }
            writer.into_inner()?.flush()?;
        }
    }
    Ok(rows)
}

/// The objects a run would read, one row each: `source, bytes, account, region, delivered` (the start
/// of the delivery time the key gives, epoch seconds).
pub fn object_list(objects: &[&ObjectRef]) -> Result<RecordBatch, ArrowError> {
    let text = |f: &dyn Fn(&ObjectRef) -> Option<String>| -> ArrayRef {
        Arc::new(objects.iter().map(|o| f(o)).collect::<arrow::array::StringArray>())
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|o| Some(o.name.clone())),
        Arc::new(objects.iter().map(|o| Some(o.size as i64)).collect::<arrow::array::Int64Array>()),
        text(&|o| o.key.account.clone()),
        text(&|o| o.key.region.clone()),
        Arc::new(objects.iter().map(|o| o.key.delivered.map(|d| d.0)).collect::<arrow::array::Int64Array>()),
    ];
    let schema = Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("bytes", DataType::Int64, false),
        Field::new("account", DataType::Utf8, true),
        Field::new("region", DataType::Utf8, true),
        Field::new("delivered", DataType::Int64, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), columns)
}

/// One batch as a stream, for [`write`].
pub fn batch_stream(batch: RecordBatch) -> SendableRecordBatchStream {
    let schema = batch.schema();
    Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
        schema,
        futures::stream::iter([Ok(batch)]),
    ))
}

/// The batch with epoch-second time columns turned into UTC timestamps, for reading.
fn readable_times(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        if TIME_COLUMNS.contains(&field.name().as_str()) && field.data_type() == &DataType::Int64 {
            let time = DataType::Timestamp(TimeUnit::Second, Some(Arc::from("UTC")));
            columns.push(cast(column, &time)?);
            fields.push(Field::new(field.name(), time, field.is_nullable()));
        } else {
            columns.push(Arc::clone(column));
            fields.push(field.as_ref().clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
