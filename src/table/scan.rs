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

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

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
use futures::stream::{BoxStream, StreamExt};
use object_store::{GetResult, GetResultPayload, ObjectStore, ObjectStoreExt};

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
}

/// What the opener needs to know about one object, carried on its `PartitionedFile`.
#[derive(Debug, Clone)]
pub(crate) struct ObjectInfo {
    pub name: String,
    pub key: KeyInfo,
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
        let opener = Arc::new(FlowsOpener {
            store,
            table_schema: Arc::clone(file_schema),
            schema: Arc::new(file_schema.project(&self.projection.file_indices)?),
            batch_size: self.batch_size.unwrap_or(crate::decode::DEFAULT_BATCH_SIZE),
            options: Arc::clone(&self.options),
            report: Arc::clone(&self.report),
            metrics: BaselineMetrics::new(&self.metrics, partition),
            prefilter: Arc::clone(&self.prefilter),
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
    /// Every file column of the table.
    table_schema: arrow::datatypes::SchemaRef,
    /// The projected file columns to build.
    schema: arrow::datatypes::SchemaRef,
    batch_size: usize,
    options: Arc<DecodeOptions>,
    report: Arc<ScanReport>,
    metrics: BaselineMetrics,
    prefilter: Arc<Prefilter>,
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
        let decoder = FlowDecoderBuilder::new(Arc::clone(&self.schema))
            .with_table_schema(Arc::clone(&self.table_schema))
            .with_batch_size(self.batch_size)
            .with_fields(self.options.fields.clone())
            .with_key_value("account_id", info.key.account.as_deref())
            .with_key_value("region", info.key.region.as_deref())
            .with_prefilter(self.prefilter.as_ref().clone())
            .build();
        let store = Arc::clone(&self.store);
        let state = ObjectStream {
            chunks: None,
            decoder: ObjectDecoder::new(decoder),
            object: Arc::new(info),
            strict: self.options.strict,
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
            match store.get(&location).await {
                Ok(result) => {
                    state.opened = true;
                    state.chunks = Some(chunks(result));
                }
                Err(err) => {
                    let text = err.to_string();
                    match crate::source::read_error_hint(&text) {
                        Some(hint) => state.decoder.abort(&format!("{hint} ({text})")),
                        None => state.decoder.abort(&text),
                    }
                }
            }
            Ok(futures::stream::unfold(state, ObjectStream::next).boxed())
        }))
    }
}

/// Local files are read in pieces this large.
const LOCAL_PIECE: u64 = 4 << 20;

/// Local files this small are read at once, without a blocking task.
const LOCAL_SMALL: u64 = 256 << 10;

/// The stored bytes of an object as a stream of chunks. object_store reads a local file 8 KiB per
/// blocking task, which costs more in task switches than the scan spends decoding (measured: a scan
/// on 2 cores used 1.4 of them); local files are read here in pieces of [`LOCAL_PIECE`] instead.
fn chunks(result: GetResult) -> BoxStream<'static, object_store::Result<bytes::Bytes>> {
    let range = result.range.clone();
    let GetResultPayload::File(mut file, path) = result.payload else { return result.into_stream() };
    let failed = move |err: std::io::Error| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("{}: {err}", path.display()).into(),
    };
    if range.end - range.start <= LOCAL_SMALL {
        // A blocking task per small file costs more than reading it here (measured: 4,000 objects of
        // 10 KB spent a fifth of their time switching tasks).
        let mut piece = Vec::new();
        let read = file
            .seek(SeekFrom::Start(range.start))
            .and_then(|_| (&mut file).take(range.end - range.start).read_to_end(&mut piece));
        return futures::stream::iter([read.map(|_| bytes::Bytes::from(piece)).map_err(failed)]).boxed();
    }
    futures::stream::try_unfold((file, range.start, range.end), move |(mut file, at, end)| {
        let failed = failed.clone();
        async move {
            if at >= end {
                return Ok(None);
            }
            let read = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                file.seek(SeekFrom::Start(at))?;
                let mut piece = Vec::new();
                (&mut file).take(LOCAL_PIECE.min(end - at)).read_to_end(&mut piece)?;
                Ok((file, piece))
            })
            .await
            .map_err(|err| failed(std::io::Error::other(err)))?;
            let (file, piece) = read.map_err(&failed)?;
            // A file cut short ends the stream early; the scan's listed-size check reports it.
            let next = if piece.is_empty() { end } else { at + piece.len() as u64 };
            Ok(Some((bytes::Bytes::from(piece), (file, next, end))))
        }
    })
    .boxed()
}

/// One object being read: chunks in, batches out.
struct ObjectStream {
    chunks: Option<BoxStream<'static, object_store::Result<bytes::Bytes>>>,
    decoder: ObjectDecoder,
    object: Arc<ObjectInfo>,
    strict: bool,
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
                        self.decoder.push(&bytes);
                    }
                    if !self.decoder.wants_input() {
                        // Damaged: the rest of the object is not read.
                        self.chunks = None;
                    }
                }
                Some(Err(err)) => {
                    self.chunks = None;
                    self.decoder.abort(&err.to_string());
                }
                None if self.decoder.is_done() => {
                    self.finished = true;
                    if let Ok(mut buffer) = self.buffer.lock() {
                        *buffer = self.decoder.take_buffer();
                    }
                    if self.opened {
                        self.report.object_done(self.decoder.records(), self.decoder.passed_over());
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
