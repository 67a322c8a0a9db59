//! A damaged Parquet object is reported under its name, as a damaged text object is, and the scan
//! goes on.
//!
//! DataFusion's Parquet reader fails the whole query at the first object it cannot decode, with an
//! error that does not name the object ("Parquet argument error: External: Data corruption
//! detected"). [`Reporting`] wraps its file source and follows each object through DataFusion's
//! morsel API (planner → I/O → planner → one stream of batches per object). An error there that
//! is the object's own — its bytes cannot be decoded, or the store cannot serve them — is recorded in
//! the [`ScanReport`] as the object's problem: the batches it gave before are kept, the rest of it
//! is not read, and the partition goes on with its next object. Under `--strict`, and in `flowq
//! convert`, the query stops instead, with the object's name. Any other error (the query's own, or memory) fails the query as
//! it did.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::error::ArrowError;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileOpener, FileScanConfig, FileSource};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr::{EquivalenceProperties, LexOrdering, PhysicalSortExpr};
use datafusion::physical_plan::filter_pushdown::FilterPushdownPropagation;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::{DisplayFormatType, PhysicalExpr, SortOrderPushdownResult};
use datafusion_datasource::morsel::{Morsel, MorselPlan, MorselPlanner, Morselizer};
use futures::stream::{self, BoxStream, StreamExt};
use object_store::ObjectStore;

use super::report::ScanReport;
use super::scan::{DecodeOptions, StrictError};
use crate::decode::{Problem, ProblemKind};

/// A Parquet file source whose objects' damage is reported (see the module docs).
pub(super) struct Reporting {
    inner: Arc<dyn FileSource>,
    objects: Objects,
}

/// What the planners of one scan share.
#[derive(Clone, Debug)]
struct Objects {
    /// Each object's name (and rows), by location.
    names: Arc<HashMap<String, (String, u64)>>,
    report: Arc<ScanReport>,
    strict: bool,
    /// The scan is `flowq convert`'s, which stops at a damaged Parquet object: the rows of a copy
    /// name their original text object, so the ones read before the damage could not be left out.
    complete: bool,
}

impl Reporting {
    /// Wraps `inner`, naming each object by its location in `names`; `options` say whether a
    /// damaged object stops the query.
    pub(super) fn new(
        inner: Arc<dyn FileSource>,
        names: Arc<HashMap<String, (String, u64)>>,
        report: Arc<ScanReport>,
        options: &DecodeOptions,
    ) -> Self {
        let objects = Objects { names, report, strict: options.strict, complete: options.complete };
        Reporting { inner, objects }
    }

    fn wrap(&self, inner: Arc<dyn FileSource>) -> Arc<dyn FileSource> {
        Arc::new(Reporting { inner, objects: self.objects.clone() })
    }
}

impl Objects {
    /// What to do with `err`, met reading `object` after `rows` of its rows: `Ok` when it was the
    /// object's own problem and is reported (the object's reading ends there, and it counts as
    /// `rows` records), `Err` when the query stops.
    fn handle(&self, object: &str, err: DataFusionError, rows: u64) -> Result<()> {
        let Some(kind) = object_problem(&err) else { return Err(err) };
        let problem = Problem::object(kind);
        if self.strict {
            return Err(DataFusionError::External(Box::new(StrictError(format!("{object}: {problem}")))));
        }
        if self.complete {
            return Err(DataFusionError::Execution(format!(
                "{object}: could not be read whole, which stops the conversion (the records read from it before \
                 the damage name their original objects, so they could not be left out): {err}"
            )));
        }
        self.report.problem(object, problem);
        self.report.object_cut_short(object, rows);
        Ok(())
    }
}

/// The problem `err` is for the object being read, or `None` when it is not the object's (an error
/// of the query's own expressions, running out of memory, …).
fn object_problem(err: &DataFusionError) -> Option<ProblemKind> {
    // A filter that fails while the reader evaluates it (pushed down) is an Arrow compute error
    // inside a Parquet error: the query's, not the object's.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = cause {
        if matches!(err.downcast_ref::<ArrowError>(), Some(ArrowError::ComputeError(_))) {
            return None;
        }
        cause = err.source();
    }
    match err.find_root() {
        DataFusionError::ParquetError(err) => Some(ProblemKind::Damaged { reason: err.to_string() }),
        // The reader turns a decoding error into an Arrow error that only keeps its text.
        DataFusionError::ArrowError(err, _) if matches!(err.as_ref(), ArrowError::ParquetError(_)) => {
            Some(ProblemKind::Damaged { reason: err.to_string() })
        }
        DataFusionError::ObjectStore(err) => Some(ProblemKind::Unreadable { reason: err.to_string() }),
        DataFusionError::IoError(err) => Some(ProblemKind::Unreadable { reason: err.to_string() }),
        _ => None,
    }
}

impl fmt::Debug for Reporting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporting").field("file_type", &self.inner.file_type()).finish_non_exhaustive()
    }
}

impl FileSource for Reporting {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        // DataFusion 55's Parquet source refuses this (it takes only the morsel API): its own error.
        self.inner.create_file_opener(object_store, base_config, partition)
    }

    fn create_morselizer(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Box<dyn Morselizer>> {
        let inner = self.inner.create_morselizer(object_store, base_config, partition)?;
        Ok(Box::new(ReportingMorselizer { inner, objects: self.objects.clone() }))
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        self.wrap(self.inner.with_batch_size(batch_size))
    }

    fn filter(&self) -> Option<Arc<dyn PhysicalExpr>> {
        self.inner.filter()
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.inner.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.inner.metrics()
    }

    fn file_type(&self) -> &str {
        self.inner.file_type()
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.fmt_extra(t, f)
    }

    fn supports_repartitioning(&self) -> bool {
        self.inner.supports_repartitioning()
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        repartition_file_min_size: usize,
        output_ordering: Option<LexOrdering>,
        config: &FileScanConfig,
    ) -> Result<Option<FileScanConfig>> {
        self.inner.repartitioned(target_partitions, repartition_file_min_size, output_ordering, config)
    }

    fn try_pushdown_filters(
        &self,
        filters: Vec<Arc<dyn PhysicalExpr>>,
        config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn FileSource>>> {
        let mut pushed = self.inner.try_pushdown_filters(filters, config)?;
        pushed.updated_node = pushed.updated_node.map(|inner| self.wrap(inner));
        Ok(pushed)
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
        eq_properties: &EquivalenceProperties,
    ) -> Result<SortOrderPushdownResult<Arc<dyn FileSource>>> {
        Ok(self.inner.try_pushdown_sort(order, eq_properties)?.map(|inner| self.wrap(inner)))
    }

    fn reorder_files(&self, files: Vec<PartitionedFile>) -> Vec<PartitionedFile> {
        self.inner.reorder_files(files)
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        Ok(self.inner.try_pushdown_projection(projection)?.map(|inner| self.wrap(inner)))
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }
}

#[derive(Debug)]
struct ReportingMorselizer {
    inner: Box<dyn Morselizer>,
    objects: Objects,
}

impl Morselizer for ReportingMorselizer {
    fn plan_file(&self, file: PartitionedFile) -> Result<Box<dyn MorselPlanner>> {
        let location = file.object_meta.location.to_string();
        let object: Arc<str> =
            self.objects.names.get(&location).map_or(location.as_str(), |(name, _)| name.as_str()).into();
        let planner = match self.inner.plan_file(file) {
            Ok(planner) => Some(planner),
            Err(err) => {
                self.objects.handle(&object, err, 0)?;
                None
            }
        };
        Ok(Box::new(ReportingPlanner { inner: planner, object, objects: self.objects.clone() }))
    }
}

/// One object's planner, or `None` once the object's problem has been reported.
#[derive(Debug)]
struct ReportingPlanner {
    inner: Option<Box<dyn MorselPlanner>>,
    object: Arc<str>,
    objects: Objects,
}

impl MorselPlanner for ReportingPlanner {
    fn plan(self: Box<Self>) -> Result<Option<MorselPlan>> {
        let ReportingPlanner { inner, object, objects } = *self;
        let Some(inner) = inner else { return Ok(None) };
        let mut plan = match inner.plan() {
            Ok(Some(plan)) => plan,
            Ok(None) => return Ok(None),
            Err(err) => {
                objects.handle(&object, err, 0)?;
                return Ok(None);
            }
        };
        let morsels: Vec<Box<dyn Morsel>> = plan
            .take_morsels()
            .into_iter()
            .map(|inner| {
                Box::new(ReportingMorsel { inner, object: Arc::clone(&object), objects: objects.clone() })
                    as Box<dyn Morsel>
            })
            .collect();
        let planners: Vec<Box<dyn MorselPlanner>> = plan
            .take_ready_planners()
            .into_iter()
            .map(|inner| {
                Box::new(ReportingPlanner { inner: Some(inner), object: Arc::clone(&object), objects: objects.clone() })
                    as Box<dyn MorselPlanner>
            })
            .collect();
        let mut wrapped = MorselPlan::new().with_morsels(morsels).with_planners(planners);
        if let Some(pending) = plan.take_pending_planner() {
            wrapped = wrapped.with_pending_planner(async move {
                let inner = match pending.into_future().await {
                    Ok(inner) => Some(inner),
                    Err(err) => {
                        objects.handle(&object, err, 0)?;
                        None
                    }
                };
                Ok(Box::new(ReportingPlanner { inner, object, objects }) as Box<dyn MorselPlanner>)
            });
        }
        Ok(Some(wrapped))
    }
}

#[derive(Debug)]
struct ReportingMorsel {
    inner: Box<dyn Morsel>,
    object: Arc<str>,
    objects: Objects,
}

impl Morsel for ReportingMorsel {
    fn into_stream(self: Box<Self>) -> BoxStream<'static, Result<datafusion::arrow::array::RecordBatch>> {
        let ReportingMorsel { inner, object, objects } = *self;
        // The batches before an error pass; the error ends the stream (reported), or is passed on.
        // The state: the batches to come (none after an error), and the rows passed so far.
        stream::unfold((Some(inner.into_stream()), 0u64), move |(batches, rows)| {
            let (object, objects) = (Arc::clone(&object), objects.clone());
            async move {
                let mut batches = batches?;
                match batches.next().await? {
                    Ok(batch) => {
                        let rows = rows + batch.num_rows() as u64;
                        Some((Ok(batch), (Some(batches), rows)))
                    }
                    Err(err) => match objects.handle(&object, err, rows) {
                        Ok(()) => None,
                        Err(err) => Some((Err(err), (None, rows))),
                    },
                }
            }
        })
        .boxed()
    }
}
