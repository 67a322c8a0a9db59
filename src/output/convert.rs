//! `flowq convert`: the flows of new objects as Hive-partitioned Parquet, and the state that makes a
//! rerun convert only what is new.
//!
//! Layout under the output folder: `account_id=…/region=…/date=YYYY-MM-DD/part-<run>-<n>.parquet`
//! (the `start` date, UTC; a missing value is `__HIVE_DEFAULT_PARTITION__`). Every file holds every
//! `flows` column, the partition values too, plus `source` and `line`: the object and line each
//! record came from. Files are zstd-compressed ([`DELTA`] delta-encoded), in row groups of
//! [`ROW_GROUP_ROWS`], sorted in the listings' order ([`SORTED_BY`], which the footer declares), with
//! page statistics, so readers skip what a time filter rules out and list without sorting. The
//! records without addresses (NODATA, SKIPDATA), and the rejected ones, are in files of their own
//! (see [`write_partitions`]).
//!
//! A run writes into a hidden staging folder, then commits by replacing the state file
//! ([`STATE_FILE`]: every converted object with its ETag or size and modification time, and every
//! run with its files), then moves its files into place. A run that stops before the commit leaves
//! nothing visible and its staging folder is removed by the next run; one that stops after it has
//! its moves finished by the next run. Hidden names (`.…`) are skipped by flowq, Spark, Hive and
//! Athena's crawlers alike.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringViewArray, new_null_array};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::{KeyValue, SortingColumn};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::table::SORTED_BY;

/// The state file in the output folder.
pub const STATE_FILE: &str = ".flowq-convert.json";
/// The lock file that keeps two runs from writing one folder at once.
const LOCK_FILE: &str = ".flowq-convert.lock";
/// Staging folders are named this, then the run's id.
const STAGING: &str = ".staging-";
/// Rows per row group.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// A partition's file is closed and a new one begun after this many rows.
const FILE_ROWS: usize = 16 * ROW_GROUP_ROWS;
/// The address columns, which get bloom filters.
const ADDRESSES: &[&str] = &["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"];
/// The integer columns that are delta-encoded. `line` and `bytes` have too many distinct values for
/// a dictionary: written plain, zstd had 4-8x their packed size to decompress on every read
/// (`top-talkers` on 40 M records 1.01 -> 0.79 s, `ssh-rdp` 3.26 -> 2.98 s; the copy 410 -> 323
/// MiB). `end` is sorted within each `start`, so its deltas are small, and its dictionary indices
/// came in short runs, which the reader decodes slowly: reading it for 40 M records took 0.17 CPU-s
/// as a dictionary and 0.08 delta-encoded, and the copy is 7 MiB smaller.
const DELTA: &[&str] = &["line", "bytes", "end"];
/// The bloom filters' false-positive rate (each is sized for a row group's rows, then folded down to
/// its distinct addresses).
const BLOOM_FPP: f64 = 0.01;
/// Hive's name for a missing partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The order of what is converted: by partition, the records with addresses before those without
/// (NODATA, SKIPDATA), the others before the rejected ones (see [`write_partitions`]), then in the
/// listings' order, [`SORTED_BY`] (a sort reads all its input before its first row, so every problem
/// of the scan is known when writing begins).
pub const ORDER: &str = concat!(
    "ORDER BY account_id, region, srcaddr IS NULL, action IS NOT DISTINCT FROM 'REJECT', ",
    r#""start", "end", source, line"#
);

/// The columns every copy carries even when no format names them: the partition values (which may
/// come from object keys), the time it is sorted by, and where each record came from.
pub const ALWAYS: &[&str] = &["account_id", "region", "start", "line", "source"];

/// The query that reads `columns` of `flows` in [`ORDER`].
pub fn sql(columns: &[String]) -> String {
    let columns: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    format!("SELECT {} FROM flows {ORDER}", columns.join(", "))
}

/// Errors of a conversion.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A file or folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Another run holds the folder.
    #[error("{0}: another flowq convert is writing this folder; wait for it to finish")]
    Busy(String),
    /// The state file cannot be read.
    #[error("{path}: not a flowq convert state file ({reason}); convert into a new folder")]
    BadState {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The query or the Parquet writer failed.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// The Parquet writer failed.
    #[error(transparent)]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    /// A batch could not be split into partitions.
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConvertError + '_ {
    move |source| ConvertError::Io { path: path.display().to_string(), source }
}

/// One object as it was converted: how it is recognised when listed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Converted {
    /// Stored size in bytes.
    pub size: u64,
    /// The store's ETag (S3).
    pub etag: Option<String>,
    /// Last modified, epoch seconds.
    pub modified: Option<i64>,
    /// The run that converted it.
    pub run: String,
}

impl Converted {
    /// Whether `now` is the object converted: the same ETag and size where the store gives ETags,
    /// else the same size and modification time.
    pub fn same_object(&self, now: &Converted) -> bool {
        self.size == now.size
            && match (&self.etag, &now.etag) {
                (Some(before), Some(now)) => before == now,
                (None, None) => self.modified == now.modified,
                _ => false,
            }
    }

    /// What differs between this and `now`, for a message.
    pub fn difference(&self, now: &Converted) -> String {
        let mut what = Vec::new();
        if self.size != now.size {
            what.push(format!("size {} → {}", self.size, now.size));
        }
        if self.etag != now.etag {
            what.push(format!("ETag {:?} → {:?}", self.etag, now.etag));
        }
        if self.modified != now.modified {
            what.push(format!("modified {:?} → {:?}", self.modified, now.modified));
        }
        what.join(", ")
    }
}

/// One run: its files, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id (its start, UTC, and the process id).
    pub id: String,
    /// Objects converted.
    pub objects: usize,
    /// Records written.
    pub records: u64,
    /// The files written, relative to the output folder.
    pub files: Vec<String>,
}

/// What an output folder holds: the converted objects by id (URL, or `file:///` path), and the runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Converted objects.
    pub objects: BTreeMap<String, Converted>,
    /// Runs, oldest first.
    pub runs: Vec<RunRecord>,
}

impl State {
    /// The state of the folder `root` (empty when it has none), read without locking it.
    pub fn read(root: &Path) -> Result<State, ConvertError> {
        let path = root.join(STATE_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ConvertError::BadState { path: path.display().to_string(), reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io(&path)(e)),
        }
    }
}

/// An output folder held by this run (the lock goes with the process).
pub struct Folder {
    root: PathBuf,
    _lock: File,
    /// What it holds.
    pub state: State,
}

impl Folder {
    /// Opens (creating) the folder, locks it, reads its state and finishes or removes what an
    /// interrupted run left.
    pub fn open(root: &Path) -> Result<Folder, ConvertError> {
        fs::create_dir_all(root).map_err(io(root))?;
        let lock_path = root.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        lock.try_lock().map_err(|e| match e {
            fs::TryLockError::WouldBlock => ConvertError::Busy(root.display().to_string()),
            fs::TryLockError::Error(source) => ConvertError::Io { path: lock_path.display().to_string(), source },
        })?;
        let folder = Folder { root: root.to_path_buf(), _lock: lock, state: State::read(root)? };
        folder.recover()?;
        Ok(folder)
    }

    /// Staging folders of committed runs are moved into place; the others are removed.
    fn recover(&self) -> Result<(), ConvertError> {
        for entry in fs::read_dir(&self.root).map_err(io(&self.root))? {
            let entry = entry.map_err(io(&self.root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_prefix(STAGING) else { continue };
            match self.state.runs.iter().find(|r| r.id == id) {
                Some(run) => self.publish(run)?,
                None => fs::remove_dir_all(entry.path()).map_err(io(&entry.path()))?,
            }
        }
        Ok(())
    }

    /// The staging folder of run `id`.
    pub fn staging(&self, id: &str) -> PathBuf {
        self.root.join(format!("{STAGING}{id}"))
    }

    /// Commits `run`: the state with the run and its objects replaces the old one, then its files are
    /// moved into place.
    pub fn commit(&mut self, run: RunRecord, objects: Vec<(String, Converted)>) -> Result<(), ConvertError> {
        if self.state.runs.iter().any(|r| r.id == run.id) {
            return Err(ConvertError::BadState {
                path: self.root.join(STATE_FILE).display().to_string(),
                reason: format!("it already has a run {}", run.id),
            });
        }
        self.state.objects.extend(objects);
        self.state.runs.push(run.clone());
        let path = self.root.join(STATE_FILE);
        let partial = self.root.join(format!("{STATE_FILE}.partial"));
        let mut out = BufWriter::new(File::create(&partial).map_err(io(&partial))?);
        // Compact: the state of a folder fed by a big bucket every night holds millions of objects.
        serde_json::to_writer(&mut out, &self.state)
            .map_err(|e| ConvertError::Io { path: partial.display().to_string(), source: e.into() })?;
        out.flush().map_err(io(&partial))?;
        out.get_ref().sync_all().map_err(io(&partial))?;
        fs::rename(&partial, &path).map_err(io(&path))?;
        // The rename is the commit: on disk before any file is moved into place.
        File::open(&self.root).and_then(|root| root.sync_all()).map_err(io(&self.root))?;
        self.publish(&run)
    }

    /// Moves a committed run's staged files into place and removes its staging folder.
    fn publish(&self, run: &RunRecord) -> Result<(), ConvertError> {
        let staging = self.staging(&run.id);
        for file in &run.files {
            let from = staging.join(file);
            let to = self.root.join(file);
            if from.exists() {
                if to.exists() {
                    return Err(io(&to)(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a file of this name is already in the copy; not replaced",
                    )));
                }
                if let Some(parent) = to.parent() {
                    fs::create_dir_all(parent).map_err(io(parent))?;
                }
                fs::rename(&from, &to).map_err(io(&to))?;
            } else if !to.exists() {
                return Err(io(&to)(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("run {} wrote this file, but it is neither staged nor in place", run.id),
                )));
            }
        }
        match fs::remove_dir_all(&staging) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&staging)(e)),
            _ => Ok(()),
        }
    }
}

/// What [`write_partitions`] wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Files, relative to the staging folder (and, once published, to the output folder).
    pub files: Vec<String>,
    /// Records written.
    pub records: u64,
    /// Records left out because their object was damaged.
    pub left_out: u64,
    /// The objects that could not be read whole when writing began, whose records were left out.
    pub damaged: std::collections::BTreeSet<String>,
}

/// Writes `stream` (in [`ORDER`]) under `staging` as partition files named `part-<run>-<n>.parquet`
/// with every column of `schema` (the `flows` columns; one the stream lacks is null). Rows of the
/// objects `report` holds as damaged when the first batch arrives (could not be read whole) are left
/// out.
///
/// The records without a source address (NODATA and SKIPDATA, whose traffic fields are all `-`) go
/// into files of their own: the other files then have no nulls in those columns, which Parquet
/// readers decode faster (arrow-rs spreads the values of a batch that has nulls over their slots in a
/// second pass; on `rejected-tcp` over 40 M records that was a sixth of the time). So do the rejected
/// records: their row groups' statistics then say `action` is `REJECT` in all of them or in none,
/// so a query of rejected flows (`rejected-tcp`, `--action reject`, …) reads only theirs, and one of
/// accepted flows skips them.
pub async fn write_partitions(
    mut stream: datafusion::execution::SendableRecordBatchStream,
    schema: &Schema,
    staging: &Path,
    run: &str,
    report: &crate::table::ScanReport,
) -> Result<Written, ConvertError> {
    let fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let column = |name: &str| schema.index_of(name).map_err(datafusion::error::DataFusionError::from);
    let (account, region, start, source) =
        (column("account_id")?, column("region")?, column("start")?, column("source")?);
    let (srcaddr, action) = (column("srcaddr")?, column("action")?);
    let properties = writer_properties(&schema)?;
    let mut written = Written::default();
    let mut first = true;
    let mut open: Option<OpenFile> = None;
    while let Some(batch) = stream.next().await {
        let batch = widen(&batch?, &schema)?;
        if first {
            written.damaged = report.damaged_objects();
            first = false;
        }
        let batch = if written.damaged.is_empty() {
            batch
        } else {
            let sources = text(&batch, source)?;
            let skipped = &written.damaged;
            let keep: datafusion::arrow::array::BooleanArray = (0..batch.num_rows())
                .map(|i| Some(sources.is_null(i) || !skipped.contains(sources.value(i))))
                .collect();
            let kept = datafusion::arrow::compute::filter_record_batch(&batch, &keep)?;
            written.left_out += (batch.num_rows() - kept.num_rows()) as u64;
            kept
        };
        let keys = FileKeys::new(&batch, account, region, start, srcaddr, action)?;
        let mut row = 0;
        while row < batch.num_rows() {
            let (partition, kind) = (keys.partition(row), keys.kind(row));
            let mut end = row + 1;
            while end < batch.num_rows() && keys.same(row, end) {
                end += 1;
            }
            let same = open.as_ref().is_some_and(|f| f.partition == partition && f.kind == kind && f.rows < FILE_ROWS);
            if !same {
                if let Some(file) = open.take() {
                    written.files.push(file.close()?);
                }
                let name = format!("{partition}/part-{run}-{}.parquet", written.files.len());
                let key = (partition.clone(), kind);
                open = Some(OpenFile::create(staging, name, key, &schema, properties.clone())?);
            }
            if let Some(file) = open.as_mut() {
                let take = (end - row).min(FILE_ROWS - file.rows);
                file.writer.write(&batch.slice(row, take))?;
                file.rows += take;
                written.records += take as u64;
                row += take;
            }
        }
    }
    if let Some(file) = open.take() {
        written.files.push(file.close()?);
    }
    if first {
        // No rows at all: nothing was written, so whatever could not be read is all left out.
        written.damaged = report.damaged_objects();
    }
    Ok(written)
}

/// `batch` with every column of `schema`, in its order: the ones it lacks are null.
fn widen(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ConvertError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(column) => Arc::clone(column),
            None => new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

fn writer_properties(schema: &Schema) -> Result<WriterProperties, ConvertError> {
    // The `flows` columns are all flat, so a column's index is its leaf's.
    let sorting = SORTED_BY
        .iter()
        .map(|name| {
            let column_idx = i32::try_from(schema.index_of(name)?).unwrap_or(i32::MAX);
            Ok(SortingColumn { column_idx, descending: false, nulls_first: false })
        })
        .collect::<Result<Vec<_>, datafusion::arrow::error::ArrowError>>()?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorting));
    // Bloom filters on the addresses: `ip`, `--ip` and sweeps skip the row groups without theirs.
    let properties = ADDRESSES.iter().fold(properties, |p, column| {
        let column = ColumnPath::from(*column);
        p.set_column_bloom_filter_enabled(column.clone(), true)
            .set_column_bloom_filter_max_ndv(column.clone(), ROW_GROUP_ROWS as u64)
            .set_column_bloom_filter_fpp(column, BLOOM_FPP)
    });
    let properties = DELTA.iter().fold(properties, |p, column| {
        let column = ColumnPath::from(*column);
        p.set_column_dictionary_enabled(column.clone(), false)
            .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED)
    });
    Ok(properties
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "flowq".to_string(),
            format!("flowq {} convert", env!("CARGO_PKG_VERSION")),
        )]))
        .build())
}

struct OpenFile {
    partition: String,
    kind: Kind,
    /// Relative to the staging folder.
    name: String,
    writer: ArrowWriter<BufWriter<File>>,
    rows: usize,
}

impl OpenFile {
    fn create(
        staging: &Path,
        name: String,
        (partition, kind): (String, Kind),
        schema: &SchemaRef,
        properties: WriterProperties,
    ) -> Result<OpenFile, ConvertError> {
        let path = staging.join(&name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let file = File::create(&path).map_err(io(&path))?;
        let writer = ArrowWriter::try_new(BufWriter::new(file), Arc::clone(schema), Some(properties))?;
        Ok(OpenFile { partition, kind, name, writer, rows: 0 })
    }

    /// Finishes the file; its name.
    fn close(self) -> Result<String, ConvertError> {
        let out = self.writer.into_inner()?;
        let file =
            out.into_inner().map_err(|e| ConvertError::Io { path: self.name.clone(), source: e.into_error() })?;
        file.sync_all().map_err(|source| ConvertError::Io { path: self.name.clone(), source })?;
        Ok(self.name)
    }
}

/// Column `i` of `batch` as text.
fn text(batch: &RecordBatch, i: usize) -> Result<StringViewArray, ConvertError> {
    let array = datafusion::arrow::compute::cast(batch.column(i), &DataType::Utf8View)?;
    Ok(array.as_string_view_opt().cloned().unwrap_or_else(|| StringViewArray::new_null(array.len())))
}

/// Which records a file holds, besides its partition's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    /// They have a source address.
    addressed: bool,
    /// Their action is `REJECT`.
    rejected: bool,
}

/// The file of each row of a batch: its partition and [`Kind`].
struct FileKeys {
    account: StringViewArray,
    region: StringViewArray,
    start: Int64Array,
    srcaddr: ArrayRef,
    action: StringViewArray,
}

impl FileKeys {
    fn new(
        batch: &RecordBatch,
        account: usize,
        region: usize,
        start: usize,
        srcaddr: usize,
        action: usize,
    ) -> Result<Self, ConvertError> {
        let start = datafusion::arrow::compute::cast(batch.column(start), &DataType::Int64)?;
        let start = start.as_primitive_opt::<Int64Type>().cloned().unwrap_or_else(|| Int64Array::new_null(start.len()));
        let srcaddr = Arc::clone(batch.column(srcaddr));
        let (account, region, action) = (text(batch, account)?, text(batch, region)?, text(batch, action)?);
        Ok(FileKeys { account, region, start, srcaddr, action })
    }

    /// The kind of row `i`, as [`ORDER`] groups them.
    fn kind(&self, i: usize) -> Kind {
        Kind {
            addressed: self.srcaddr.is_valid(i),
            rejected: self.action.is_valid(i) && self.action.value(i) == "REJECT",
        }
    }

    /// The day of row `i`'s start (days since 1970), if it has one.
    fn day(&self, i: usize) -> Option<i64> {
        (!self.start.is_null(i)).then(|| self.start.value(i).div_euclid(86_400))
    }

    /// True when rows `a` and `b` go in one file: one partition and kind.
    fn same(&self, a: usize, b: usize) -> bool {
        let same = |array: &StringViewArray| match (array.is_null(a), array.is_null(b)) {
            (false, false) => array.value(a) == array.value(b),
            (null_a, null_b) => null_a && null_b,
        };
        self.day(a) == self.day(b) && same(&self.account) && same(&self.region) && self.kind(a) == self.kind(b)
    }

    /// `account_id=…/region=…/date=…` of row `i`.
    fn partition(&self, i: usize) -> String {
        let value = |array: &StringViewArray| {
            if array.is_null(i) { NULL_PARTITION.to_string() } else { escape(array.value(i)) }
        };
        let date = self.day(i).and_then(|day| chrono::DateTime::from_timestamp(day * 86_400, 0));
        let date = date.map_or_else(|| NULL_PARTITION.to_string(), |d| d.format("%Y-%m-%d").to_string());
        format!("account_id={}/region={}/date={date}", value(&self.account), value(&self.region))
    }
}

/// A partition value as Hive writes it in a path: `%XX` for every byte but letters, digits, `-`,
/// `_` and `.` (an empty value is the missing one).
fn escape(value: &str) -> String {
    if value.is_empty() {
        return NULL_PARTITION.to_string();
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_escaped() {
        assert_eq!(escape("111122223333"), "111122223333");
        assert_eq!(escape("us-east-1"), "us-east-1");
        assert_eq!(escape("a/b=c d"), "a%2Fb%3Dc%20d");
        assert_eq!(escape(""), NULL_PARTITION);
    }
}
