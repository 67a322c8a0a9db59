//! The flow-log file source: DataFusion's `FileSource` → `FileOpener`, run by `DataSourceExec`.
//!
//! DataFusion owns partitioning, projection and streaming; this file only opens one object at a time
//! and pushes its bytes through [`ObjectDecoder`]. Rules it keeps (`reference/datafusion-55.md`):
//! - objects are never split into byte ranges (`supports_repartitioning` is false): a gzip stream
//!   cannot be entered in the middle, and reading an object once per range would double count;
//! - the opener builds only the projected file columns; `ProjectionOpener` adds `source` and orders
//!   the columns;
//! - a problem in an object is recorded in the [`ScanReport`] and the scan goes on; only under
//!   `strict` does it fail the query, since `DataSourceExec` stops at the first error.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::Result;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileOpenFuture, FileOpener, FileScanConfig, FileSource};
use datafusion::datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::DataFusionError;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt};

use super::report::ScanReport;
use crate::decode::{FlowDecoderBuilder, ObjectDecoder, Prefilter, Problem};
use crate::source::KeyInfo;

/// How objects are decoded: plain data, the same for every object of a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecodeOptions {
    /// The format of objects without a header line (default: the 14 default fields).
    pub fields: Option<Vec<String>>,
    /// Fail the query at the first problem instead of reporting it and going on.
    pub strict: bool,
    /// Compute the SHA-256 of every object read to its end (for `--manifest`), into the report.
    pub checksums: bool,
    /// Every field must be loaded (`flowq convert`): every object's first header is read when the
    /// table is opened, and an object whose format changes mid-way to name a field no first header
    /// named is refused whole.
    pub complete: bool,
}

/// What the opener needs to know about one object, carried on its `PartitionedFile`.
#[derive(Debug, Clone)]
pub(crate) struct ObjectInfo {
    pub name: String,
    pub key: KeyInfo,
    /// For a local object: its file, read directly (see [`local_chunks`]).
    pub file: Option<PathBuf>,
}

/// The `FileSource` of the `flows` table.
#[derive(Clone)]
pub(crate) struct FlowsSource {
    table_schema: TableSchema,
    projection: SplitProjection,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    options: Arc<DecodeOptions>,
    report: Arc<ScanReport>,
    /// What every line that can match the query has (`prefilter`).
    prefilter: Arc<Prefilter>,
}

impl FlowsSource {
    pub fn new(
        table_schema: TableSchema,
        options: Arc<DecodeOptions>,
        report: Arc<ScanReport>,
        prefilter: Prefilter,
    ) -> Self {
        FlowsSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
            options,
            report,
            prefilter: Arc::new(prefilter),
        }
    }
}

impl FileSource for FlowsSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        _config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let decoder = FlowDecoderBuilder::new(Arc::new(file_schema.project(&self.projection.file_indices)?))
            .with_table_schema(Arc::clone(file_schema))
            .with_batch_size(self.batch_size.unwrap_or(crate::decode::DEFAULT_BATCH_SIZE))
            .with_fields(self.options.fields.clone())
            .with_prefilter(self.prefilter.as_ref().clone())
            .with_complete(self.options.complete);
        let opener = Arc::new(FlowsOpener {
            store,
            decoder,
            strict: self.options.strict,
            checksums: self.options.checksums,
            report: Arc::clone(&self.report),
            metrics: BaselineMetrics::new(&self.metrics, partition),
            buffer: Arc::default(),
        });
        ProjectionOpener::try_new(self.projection.clone(), opener, file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut source = self.clone();
        source.batch_size = Some(batch_size);
        Arc::new(source)
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        let mut source = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        source.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(source)))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "vpc-flow-log"
    }

    fn supports_repartitioning(&self) -> bool {
        false
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        datafusion::physical_plan::apply_expression_roots(self.projection.source.iter(), f)
    }
}

struct FlowsOpener {
    store: Arc<dyn ObjectStore>,
    /// The record decoder of every object, but for what the object's key says.
    decoder: FlowDecoderBuilder,
    strict: bool,
    checksums: bool,
    report: Arc<ScanReport>,
    metrics: BaselineMetrics,
    /// The text buffer of the partition's last object, lent to the next (one object of a partition
    /// is decoded at a time).
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl FileOpener for FlowsOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let info = file
            .extension::<ObjectInfo>()
            .cloned()
            .ok_or_else(|| DataFusionError::Internal(format!("no object info for {}", file.object_meta.location)))?;
        let decoder = self
            .decoder
            .clone()
            .with_key_value("account_id", info.key.account.as_deref())
            .with_key_value("region", info.key.region.as_deref())
            .build();
        let store = Arc::clone(&self.store);
        let state = ObjectStream {
            chunks: None,
            decoder: ObjectDecoder::new(decoder),
            object: Arc::new(info),
            strict: self.strict,
            sha256: self.checksums.then(Sha256::new),
            report: Arc::clone(&self.report),
            metrics: self.metrics.clone(),
            opened: false,
            listed_size: file.object_meta.size,
            finished: false,
            buffer: Arc::clone(&self.buffer),
        };
        let location = file.object_meta.location;
        Ok(Box::pin(async move {
            let mut state = state;
            let opened = match &state.object.file {
                Some(path) => local_chunks(path.clone(), state.listed_size).map_err(|err| local_error(&err)),
                None => match store.get(&location).await {
                    Ok(result) => Ok(result.into_stream().map_err(|err| err.to_string()).boxed()),
                    Err(err) => {
                        let text = err.to_string();
                        Err(match crate::source::read_error_hint(&text) {
                            Some(hint) => format!("{hint} ({text})"),
                            None => text,
                        })
                    }
                },
            };
            match opened {
                Ok(chunks) => {
                    state.opened = true;
                    state.chunks = Some(chunks);
                }
                Err(reason) => state.decoder.abort(&reason),
            }
            Ok(futures::stream::unfold(state, ObjectStream::next).boxed())
        }))
    }
}

/// Local files are read in pieces this large.
const LOCAL_PIECE: usize = 4 << 20;

/// Local files this small are read at once, without a blocking task.
const LOCAL_SMALL: u64 = 256 << 10;

/// The stored bytes of an object, chunk by chunk; an error says why the rest could not be read.
type Chunks = BoxStream<'static, std::result::Result<bytes::Bytes, String>>;

/// The bytes of a local file, read to its end, as a stream of chunks.
///
/// Read here rather than through object_store, whose local store opens every file in a blocking task
/// and then reads it 8 KiB per blocking task: task switches cost more than the scan spends decoding
/// (measured: a scan on 2 cores used 1.4 of them; 4,000 objects of 10 KB spent a fifth of their time
/// switching tasks). A file is opened in place; one of at most [`LOCAL_SMALL`] bytes is read in place
/// too, a bigger one in pieces of [`LOCAL_PIECE`], a blocking task each. A file that grew or shrank
/// since it was listed is caught by the scan's listed-size check.
fn local_chunks(path: PathBuf, listed_size: u64) -> std::io::Result<Chunks> {
    let mut file = File::open(path)?;
    if listed_size <= LOCAL_SMALL {
        // One byte more than listed, so that a file that grew is noticed.
        let mut piece = Vec::with_capacity(listed_size as usize + 1);
        (&mut file).take(listed_size + 1).read_to_end(&mut piece)?;
        return Ok(futures::stream::iter([Ok(bytes::Bytes::from(piece))]).boxed());
    }
    let pieces = futures::stream::try_unfold(Some(file), |file| async move {
        let Some(mut file) = file else { return Ok(None) };
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let mut piece = Vec::with_capacity(LOCAL_PIECE);
            (&mut file).take(LOCAL_PIECE as u64).read_to_end(&mut piece)?;
            Ok((file, piece))
        })
        .await
        .map_err(|err| err.to_string())?;
        let (file, piece) = read.map_err(|err| local_error(&err))?;
        if piece.is_empty() {
            return Ok(None);
        }
        // A short piece is the end of the file.
        let next = (piece.len() == LOCAL_PIECE).then_some(file);
        Ok(Some((bytes::Bytes::from(piece), next)))
    });
    Ok(pieces.boxed())
}

/// Why a local file could not be read (the object's name is the file's path).
fn local_error(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => format!("the file is gone (deleted since it was listed?) ({err})"),
        _ => err.to_string(),
    }
}

/// One object being read: chunks in, batches out.
struct ObjectStream {
    chunks: Option<Chunks>,
    decoder: ObjectDecoder,
    object: Arc<ObjectInfo>,
    strict: bool,
    /// The digest of the stored bytes so far, when checksums are asked for.
    sha256: Option<Sha256>,
    report: Arc<ScanReport>,
    metrics: BaselineMetrics,
    /// The object store answered the request for the object.
    opened: bool,
    /// The size the listing gave: a body longer or shorter than it is not the object that was listed.
    listed_size: u64,
    finished: bool,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl ObjectStream {
    async fn next(mut self) -> Option<(Result<RecordBatch>, Self)> {
        loop {
            let batch = {
                let _timer = self.metrics.elapsed_compute().timer();
                self.decoder.next_batch()
            };
            if let Err(err) = self.report_problems() {
                self.finished = true;
                return Some((Err(err), self));
            }
            match batch {
                // DataFusion's file stream counts the rows (in these same metrics); this stream
                // records the time spent decoding.
                Ok(Some(batch)) => return Some((Ok(batch), self)),
                Err(err) => return Some((Err(err.into()), self)),
                Ok(None) if self.finished => return None,
                Ok(None) => {}
            }
            let chunk = match &mut self.chunks {
                Some(chunks) => chunks.next().await,
                None => None,
            };
            let _timer = self.metrics.elapsed_compute().timer();
            match chunk {
                Some(Ok(bytes)) => {
                    self.report.bytes_read(bytes.len() as u64);
                    if self.decoder.stored_bytes() + bytes.len() as u64 > self.listed_size {
                        self.chunks = None;
                        self.decoder.abort(&format!(
                            "the store sent more than the {} bytes listed for this object (did it change since it was listed?)",
                            self.listed_size
                        ));
                    } else {
                        if let Some(sha256) = &mut self.sha256 {
                            sha256.update(&bytes);
                        }
                        self.decoder.push(&bytes);
                    }
                    if !self.decoder.wants_input() {
                        // Damaged: the rest of the object is not read.
                        self.chunks = None;
                    }
                }
                Some(Err(err)) => {
                    self.chunks = None;
                    self.decoder.abort(&err);
                }
                None if self.decoder.is_done() => {
                    self.finished = true;
                    if let Ok(mut buffer) = self.buffer.lock() {
                        *buffer = self.decoder.take_buffer();
                    }
                    if self.opened {
                        self.report.object_done(&self.object.name, self.decoder.records(), self.decoder.passed_over());
                        // Only a digest of every listed byte names the object.
                        if let Some(sha256) =
                            self.sha256.take().filter(|_| self.decoder.stored_bytes() == self.listed_size)
                        {
                            self.report.checksum(&self.object.name, crate::output::manifest::hex(&sha256.finalize()));
                        }
                    }
                }
                None => {
                    self.chunks = None;
                    let read = self.decoder.stored_bytes();
                    if self.opened && read != self.listed_size {
                        self.decoder.abort(&format!(
                            "read {read} of the {} bytes listed for this object (cut short, or changed since it was listed)",
                            self.listed_size
                        ));
                    } else {
                        // A poisoned lock only costs a new buffer.
                        let buffer = self.buffer.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default();
                        self.decoder.lend_buffer(buffer);
                        self.decoder.finish();
                    }
                }
            }
        }
    }

    /// Hands the decoder's problems to the report; under `strict`, the first one is an error.
    fn report_problems(&mut self) -> Result<()> {
        let problems: Vec<Problem> = self.decoder.take_problems();
        let first = problems.first().map(|p| format!("{}: {p}", self.object.name));
        for problem in problems {
            self.report.problem(&self.object.name, problem);
        }
        match first {
            Some(message) if self.strict => Err(DataFusionError::External(Box::new(StrictError(message)))),
            _ => Ok(()),
        }
    }
}

/// The first problem of a `--strict` run.
#[derive(Debug, thiserror::Error)]
#[error("{0} (--strict stops at the first problem)")]
pub struct StrictError(pub String);
