//! Flow logs in Parquet: objects AWS delivered as Parquet, and `flowq convert`'s own copies, read by
//! DataFusion's Parquet reader (projection, row-group pruning and filter pushdown) into the same
//! `flows` columns as the text objects.
//!
//! An object is Parquet when its name ends in `.parquet`; a text object that turns out to be Parquet
//! (the `PAR1` magic) is reported by the text scan. Each object's footer is read when the table is
//! opened, which tells its columns and its kind:
//! - **delivered** by AWS: the record's fields, named with underscores (`account_id`) or hyphens
//!   (`account-id`), both accepted; `source` is the object's name and `line` is null (a Parquet object
//!   has rows, not lines);
//! - **converted** by flowq: it has `source` and `line` columns, the original object and line of
//!   every record, which the table keeps, so evidence read from a copy names the original.
//!
//! A column the object lacks is null; a column of another type is cast to the `flows` type.
//!
//! A copy whose footers say its files are in the listings' order ([`SORTED_BY`]) is scanned as
//! chains of row groups that each are in that order (see `ParquetFlows::ordered_groups`), so a
//! listing merges them instead of sorting every row.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::array::Array;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::config::TableParquetOptions;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{ColumnStatistics, DFSchema, Result, ScalarValue, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::object_store::ObjectStoreUrl;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::{
    FileGroup, FileScanConfigBuilder, ParquetFileReaderFactory, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, cast, col, lit};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_expr_adapter::{
    DefaultPhysicalExprAdapterFactory, PhysicalExprAdapter, PhysicalExprAdapterFactory,
};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use futures::StreamExt;
use futures::future::BoxFuture;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::parquet_damage::Reporting;
use super::prefilter;
use super::report::ScanReport;
use super::{DecodeOptions, file_groups, object_meta, object_path};
use crate::decode::{self, LINE_COLUMN, Problem, ProblemKind, SOURCE_COLUMN};
use crate::source::ObjectRef;

/// The columns `flowq convert` sorts each file by (ascending, nulls last) and says so in its footer's
/// `sorting_columns`: the listings' order, so that a copy can be read in it without sorting.
pub const SORTED_BY: [&str; 4] = ["start", "end", "source", "line"];

/// At most this many partitions are merged to read converted objects in the listings' order without
/// sorting them: each holds one row group of the columns read at a time (a few MiB of flowq's
/// 1 M-row groups). An account and region takes three (its records with addresses, its rejected
/// ones, its records without addresses overlap in time), so eight of them are merged; objects that
/// overlap in time more deeply (more accounts and regions) are sorted.
const MERGED_STREAMS: usize = 24;

/// The hidden columns of AWS's Parquet objects that hold what their key says.
const KEY_ACCOUNT: &str = "__flowq_key_account_id";
const KEY_REGION: &str = "__flowq_key_region";

/// True for an object read as Parquet: its name ends in `.parquet`.
pub fn is_parquet(object: &ObjectRef) -> bool {
    object.name.to_ascii_lowercase().ends_with(".parquet")
}

/// Who wrote a Parquet object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParquetKind {
    /// AWS's Parquet delivery.
    Delivered,
    /// `flowq convert`: it carries each record's original `source` and `line`.
    Converted,
}

/// A Parquet object whose footer was read.
#[derive(Debug, Clone)]
pub struct ParquetObject {
    /// The listed object.
    pub object: ObjectRef,
    /// Who wrote it.
    pub kind: ParquetKind,
    /// Its column names, as stored.
    pub columns: Vec<String>,
    /// Its rows.
    pub rows: u64,
    /// Its columns (as stored) that hold no value: in every row group, the statistics count as
    /// many nulls as there are rows.
    pub empty: Vec<String>,
    /// For a converted object whose footer says it is in the listings' order (flowq convert since
    /// it wrote `sorting_columns` of [`SORTED_BY`]), its row groups' spans of that order.
    pub sorted: Option<Vec<SortedRowGroup>>,
}

/// A row group of an object in the listings' order ([`SORTED_BY`]), as its footer describes it.
#[derive(Debug, Clone)]
pub struct SortedRowGroup {
    /// Where its first page begins: a scan of the byte range `offset..offset + 1` reads only it.
    offset: u64,
    rows: u64,
    /// The smallest and largest `start` (it has no null one).
    start: (i64, i64),
    /// The smallest and the largest value of each column of [`SORTED_BY`], as stored.
    min: Vec<ScalarValue>,
    max: Vec<ScalarValue>,
}

/// The top-level columns of `footer` whose every row group's statistics count as many nulls as it
/// has rows.
fn empty_columns(footer: &ParquetMetaData) -> Vec<String> {
    let descr = footer.file_metadata().schema_descr();
    let groups = footer.row_groups();
    (0..descr.num_columns())
        .filter(|&i| descr.column(i).path().parts().len() == 1)
        .filter(|&i| {
            groups.iter().all(|group| {
                let nulls = group.column(i).statistics().and_then(|s| s.null_count_opt());
                nulls.is_some() && nulls == u64::try_from(group.num_rows()).ok()
            })
        })
        .map(|i| descr.column(i).name().to_string())
        .collect()
}

/// The row groups of `footer`, if they all say they are sorted by [`SORTED_BY`] (ascending, nulls
/// last) and their statistics give every bound of those columns, and `start` has no nulls.
fn sorted_row_groups(footer: &ParquetMetaData) -> Option<Vec<SortedRowGroup>> {
    let file = footer.file_metadata();
    let descr = file.schema_descr();
    let in_order = |group: &RowGroupMetaData| {
        group.sorting_columns().is_some_and(|columns| {
            columns.len() == SORTED_BY.len()
                && columns.iter().zip(SORTED_BY).all(|(c, name)| {
                    let leaf = usize::try_from(c.column_idx).ok().filter(|&i| i < descr.num_columns());
                    leaf.is_some_and(|i| descr.column(i).name() == name) && !c.descending && !c.nulls_first
                })
        })
    };
    let groups = footer.row_groups();
    if groups.is_empty() || !groups.iter().all(in_order) {
        return None;
    }
    let schema = parquet_to_arrow_schema(descr, file.key_value_metadata()).ok()?;
    let mut bounds = Vec::with_capacity(SORTED_BY.len());
    for name in SORTED_BY {
        let statistics = StatisticsConverter::try_new(name, &schema, descr).ok()?;
        bounds.push((statistics.row_group_mins(groups).ok()?, statistics.row_group_maxes(groups).ok()?));
    }
    let start_nulls = StatisticsConverter::try_new("start", &schema, descr).ok()?.row_group_null_counts(groups).ok()?;
    let mut sorted = Vec::with_capacity(groups.len());
    for (i, group) in groups.iter().enumerate() {
        if start_nulls.is_null(i) || start_nulls.value(i) != 0 {
            return None;
        }
        let mut min = Vec::with_capacity(SORTED_BY.len());
        let mut max = Vec::with_capacity(SORTED_BY.len());
        for (mins, maxes) in &bounds {
            let (low, high) = (ScalarValue::try_from_array(mins, i).ok()?, ScalarValue::try_from_array(maxes, i).ok()?);
            if low.is_null() || high.is_null() {
                return None;
            }
            min.push(low);
            max.push(high);
        }
        let start = match (&min[0], &max[0]) {
            (ScalarValue::Int64(Some(low)), ScalarValue::Int64(Some(high))) => (*low, *high),
            _ => return None,
        };
        let first = group.column(0);
        let offset = first.dictionary_page_offset().unwrap_or_else(|| first.data_page_offset());
        sorted.push(SortedRowGroup {
            offset: u64::try_from(offset).ok()?,
            rows: u64::try_from(group.num_rows()).ok()?,
            start,
            min,
            max,
        });
    }
    Some(sorted)
}

/// Reads the footer of every object into DataFusion's footer cache (so the scan does not fetch it
/// again); one that cannot be read is reported in `report` and left out.
pub async fn read_footers(
    store: Arc<dyn ObjectStore>,
    cache: Arc<FileMetadataCache>,
    objects: Vec<ObjectRef>,
    report: &ScanReport,
) -> Vec<ParquetObject> {
    let footers: Vec<(ObjectRef, std::result::Result<ParquetObject, String>)> = futures::stream::iter(objects)
        .map(|object| {
            let (store, cache) = (Arc::clone(&store), Arc::clone(&cache));
            async move {
                let meta = object_meta(&object);
                let footer = DFParquetMetadata::new(store.as_ref(), &meta)
                    .with_file_metadata_cache(Some(cache))
                    .fetch_metadata()
                    .await;
                let read = footer.map_err(|e| format!("not a readable Parquet file ({e})")).map(|footer| {
                    let file = footer.file_metadata();
                    let columns: Vec<String> =
                        file.schema_descr().root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
                    let converted =
                        columns.iter().any(|c| c == SOURCE_COLUMN) && columns.iter().any(|c| c == LINE_COLUMN);
                    ParquetObject {
                        object: object.clone(),
                        kind: if converted { ParquetKind::Converted } else { ParquetKind::Delivered },
                        columns,
                        rows: u64::try_from(file.num_rows()).unwrap_or(0),
                        empty: empty_columns(&footer),
                        sorted: if converted { sorted_row_groups(&footer) } else { None },
                    }
                });
                (object, read)
            }
        })
        .buffered(16)
        .collect()
        .await;
    footers
        .into_iter()
        .filter_map(|(object, read)| match read {
            Ok(footer) => Some(footer),
            Err(reason) => {
                report.problem(&object.name, Problem::object(ProblemKind::Unreadable { reason }));
                None
            }
        })
        .collect()
}

/// With `--manifest`: the SHA-256 of every object's stored bytes, read whole (the scan reads only
/// ranges), recorded in `report` as a text object's is. An object that cannot be read whole, or that
/// is not the size listed, is reported and left out; the others are returned.
pub async fn digest(
    store: Arc<dyn ObjectStore>,
    objects: Vec<ParquetObject>,
    report: &ScanReport,
) -> Vec<ParquetObject> {
    let digests: Vec<(ParquetObject, std::result::Result<String, String>)> = futures::stream::iter(objects)
        .map(|parquet| {
            let store = Arc::clone(&store);
            async move {
                let listed = parquet.object.size;
                let read = async {
                    let location = object_path(&parquet.object.location);
                    let mut chunks = store.get(&location).await.map_err(|e| e.to_string())?.into_stream();
                    let (mut sha256, mut size) = (Sha256::new(), 0u64);
                    while let Some(chunk) = chunks.next().await {
                        let chunk = chunk.map_err(|e| e.to_string())?;
                        size += chunk.len() as u64;
                        sha256.update(&chunk);
                    }
                    if size == listed {
                        Ok(crate::output::manifest::hex(&sha256.finalize()))
                    } else {
                        Err(format!("read {size} of the {listed} bytes listed for it (changed since it was listed?)"))
                    }
                };
                let digest = read.await;
                (parquet, digest)
            }
        })
        .buffered(4)
        .collect()
        .await;
    digests
        .into_iter()
        .filter_map(|(parquet, digest)| match digest {
            Ok(sha256) => {
                report.checksum(&parquet.object.name, sha256);
                Some(parquet)
            }
            Err(reason) => {
                let reason = format!("reading it whole for its SHA-256: {reason}");
                report.problem(&parquet.object.name, Problem::object(ProblemKind::Unreadable { reason }));
                None
            }
        })
        .collect()
}

/// The `flows` table over Parquet objects of one kind in one object store.
#[derive(Debug)]
pub struct ParquetFlows {
    table_schema: TableSchema,
    kind: ParquetKind,
    store_url: ObjectStoreUrl,
    objects: Vec<ParquetObject>,
    /// The table columns some object may hold a value of (see [`ParquetObject::empty`]).
    valued: HashSet<String>,
    report: Arc<ScanReport>,
    /// Whether a damaged object stops the query (`strict`, `complete`).
    options: DecodeOptions,
}

impl ParquetFlows {
    /// A table over `objects` (all of `kind`) with the `flows` columns of `extra` unknown fields.
    /// Its columns are those of the text table, but in another order: select them by name.
    pub fn new(
        store_url: ObjectStoreUrl,
        kind: ParquetKind,
        objects: Vec<ParquetObject>,
        extra: &[String],
        report: Arc<ScanReport>,
        options: DecodeOptions,
    ) -> Self {
        // Every column read from a file may be null: `line` of a copy of AWS's Parquet is.
        let nullable = |f: &FieldRef| Arc::new(f.as_ref().clone().with_nullable(true));
        let mut fields: Vec<FieldRef> = decode::file_schema(extra).fields().iter().map(nullable).collect();
        let table_schema = match kind {
            ParquetKind::Converted => {
                fields.push(Arc::new(Field::new(SOURCE_COLUMN, DataType::Utf8View, true)));
                TableSchema::builder(Arc::new(Schema::new(fields))).build()
            }
            ParquetKind::Delivered => {
                let partitions = vec![
                    Arc::new(Field::new(SOURCE_COLUMN, DataType::Utf8View, false)),
                    Arc::new(Field::new(KEY_ACCOUNT, DataType::Utf8View, true)),
                    Arc::new(Field::new(KEY_REGION, DataType::Utf8View, true)),
                ];
                TableSchema::builder(Arc::new(Schema::new(fields))).with_table_partition_cols(partitions).build()
            }
        };
        let valued = objects
            .iter()
            .flat_map(|o| o.columns.iter().filter(|c| !o.empty.contains(c)).map(|c| decode::column_name(c)))
            .collect();
        ParquetFlows { table_schema, kind, store_url, objects, valued, report, options }
    }

    /// The row groups of objects in the listings' order as at least `n` partitions that DataFusion
    /// merges in that order rather than sorting them, with that ordering; None unless every object
    /// is in it ([`ParquetObject::sorted`]) and [`MERGED_STREAMS`] partitions suffice.
    ///
    /// Each partition is a chain of row groups whose `start` ranges follow one another without
    /// meeting, so it is in order too (the ranges are strictly apart: rows with the same `start`
    /// are all in one row group of the chain, whatever their other columns). Row groups are taken
    /// by their first `start`, each into the chain with the fewest rows that it can follow, so the
    /// partitions hold about as many rows each (an aggregate keeps every core busy); a new chain
    /// is begun only when none can take it (row groups that overlap in time: other accounts and
    /// regions, the rejected records, the records without addresses, later runs). Each row group is
    /// a byte range of its object with the statistics of its sort columns, by which DataFusion
    /// checks the order.
    fn ordered_groups(&self, n: usize) -> Option<(Vec<FileGroup>, LexOrdering)> {
        let schema = self.table_schema.table_schema();
        let mut groups: Vec<(&ParquetObject, &SortedRowGroup)> = Vec::new();
        for object in &self.objects {
            groups.extend(object.sorted.as_ref()?.iter().map(|group| (object, group)));
        }
        groups.sort_by(|(a, x), (b, y)| {
            x.start.0.cmp(&y.start.0).then_with(|| a.object.name.cmp(&b.object.name)).then(x.offset.cmp(&y.offset))
        });
        let columns: Vec<(usize, &DataType)> = SORTED_BY
            .iter()
            .map(|name| schema.index_of(name).ok().map(|i| (i, schema.field(i).data_type())))
            .collect::<Option<_>>()?;
        // Each chain: its rows, the last `start` of its last row group, its row groups.
        let mut chains: Vec<(u64, i64, Vec<PartitionedFile>)> = (0..n.max(1)).map(|_| (0, 0, Vec::new())).collect();
        for (object, group) in groups {
            let mut statistics = Statistics::new_unknown(schema);
            statistics.num_rows = Precision::Inexact(usize::try_from(group.rows).ok()?);
            for (k, &(i, data_type)) in columns.iter().enumerate() {
                statistics.column_statistics[i] = ColumnStatistics::new_unknown()
                    .with_min_value(Precision::Inexact(group.min[k].cast_to(data_type).ok()?))
                    .with_max_value(Precision::Inexact(group.max[k].cast_to(data_type).ok()?));
            }
            let offset = i64::try_from(group.offset).ok()?;
            let file = PartitionedFile::new_from_meta(object_meta(&object.object))
                .with_range(offset, offset + 1)
                .with_statistics(Arc::new(statistics));
            let fits = chains
                .iter()
                .enumerate()
                .filter(|(_, chain)| chain.2.is_empty() || chain.1 < group.start.0)
                .min_by_key(|(_, chain)| chain.0);
            let chain = match fits {
                Some((i, _)) => i,
                None if chains.len() < MERGED_STREAMS => {
                    chains.push((0, 0, Vec::new()));
                    chains.len() - 1
                }
                None => return None,
            };
            let chain = &mut chains[chain];
            chain.0 += group.rows;
            chain.1 = group.start.1;
            chain.2.push(file);
        }
        let ordering = LexOrdering::new(columns.iter().map(|&(i, _)| {
            let column = Arc::new(Column::new(schema.field(i).name(), i));
            PhysicalSortExpr::new(column, SortOptions { descending: false, nulls_first: false })
        }))?;
        let groups: Vec<FileGroup> =
            chains.into_iter().filter(|chain| !chain.2.is_empty()).map(|chain| FileGroup::new(chain.2)).collect();
        (!groups.is_empty()).then_some((groups, ordering))
    }

    /// The `flows` columns named in `columns`, in that order. For AWS's Parquet, `account_id` and
    /// `region` take the object key's value where the record has none (its format lacks the field),
    /// as for text objects. A column of the files that no object holds a value of (absent, or all
    /// null by the footers: most of them in a copy of default-format logs) is a typed NULL, which
    /// the scan does not read.
    pub fn select(&self, columns: &[&str]) -> Vec<Expr> {
        let files = self.table_schema.file_schema();
        columns
            .iter()
            .map(|&name| match (self.kind, name) {
                (ParquetKind::Delivered, "account_id") => coalesce(vec![col(name), col(KEY_ACCOUNT)]).alias(name),
                (ParquetKind::Delivered, "region") => coalesce(vec![col(name), col(KEY_REGION)]).alias(name),
                _ => match files.field_with_name(name) {
                    Ok(field) if !self.valued.contains(name) => {
                        cast(lit(ScalarValue::Null), field.data_type().clone()).alias(name)
                    }
                    _ => col(name),
                },
            })
            .collect()
    }
}

#[async_trait]
impl TableProvider for ParquetFlows {
    fn schema(&self) -> SchemaRef {
        Arc::clone(self.table_schema.table_schema())
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let store = state.runtime_env().object_store(&self.store_url)?;
        let options =
            TableParquetOptions { global: state.config_options().execution.parquet.clone(), ..Default::default() };
        let objects: Arc<HashMap<String, (String, u64)>> = Arc::new(
            self.objects.iter().map(|o| (o.object.location.clone(), (o.object.name.clone(), o.rows))).collect(),
        );
        let readers = CountingReaders {
            inner: CachedParquetFileReaderFactory::new(
                store,
                state.runtime_env().cache_manager.get_file_metadata_cache(),
            ),
            report: Arc::clone(&self.report),
            objects: Arc::clone(&objects),
        };
        let mut source = ParquetSource::new(self.table_schema.clone())
            .with_table_parquet_options(options)
            .with_parquet_file_reader_factory(Arc::new(readers));
        if let Some(hint) = conjunction(filters.iter().filter_map(prefilter::parquet_hint)) {
            let schema = DFSchema::try_from(self.table_schema.table_schema().as_ref().clone())?;
            // Filtered while decoding (late materialization): the address columns are read first
            // and the others only for rows that pass, which made `ip` on 40 M records 6x faster.
            // DataFusion then moves the query's other filters into the reader too. Only with a hint:
            // on the 40 M-record copy, filtered so, `rejected-tcp` took 0.18-0.20 s against 0.12 s
            // and `ssh-rdp` (4% of the rows pass, scattered) 2.2-2.5 s against 1.2-1.3 s.
            source = source.with_predicate(state.create_physical_expr(hint, &schema)?).with_pushdown_filters(true);
        }
        let partitions = state.config().target_partitions();
        let (groups, orderings) = match self.ordered_groups(partitions) {
            Some((groups, ordering)) => (groups, vec![ordering]),
            None => {
                let delivered = self.kind == ParquetKind::Delivered;
                let objects: Vec<ObjectRef> = self.objects.iter().map(|o| o.object.clone()).collect();
                let groups = file_groups(&objects, partitions, |object| {
                    let file = PartitionedFile::new_from_meta(object_meta(object));
                    if delivered {
                        file.with_partition_values(vec![
                            ScalarValue::Utf8View(Some(object.name.clone())),
                            ScalarValue::Utf8View(object.key.account.clone()),
                            ScalarValue::Utf8View(object.key.region.clone()),
                        ])
                    } else {
                        file
                    }
                });
                (groups, Vec::new())
            }
        };
        let source = Reporting::new(Arc::new(source), objects, Arc::clone(&self.report), &self.options);
        let config = FileScanConfigBuilder::new(self.store_url.clone(), Arc::new(source))
            .with_file_groups(groups)
            .with_output_ordering(orderings)
            .with_limit(limit)
            .with_projection_indices(projection.cloned())?
            .with_expr_adapter(Some(Arc::new(SpellingAdapterFactory)))
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }

    /// Plain comparisons are pushed into the reader by DataFusion's own optimizer (row groups whose
    /// statistics rule them out are skipped); address filters (`cidr_contains`) are taken here as a
    /// hint the reader can test (`prefilter::parquet_hint`). Every filter is still applied exactly:
    /// above the scan, or by the reader's row filter where DataFusion moves it there.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match prefilter::parquet_hint(filter) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }
}

/// Opens Parquet objects through DataFusion's reader (with its footer cache), counting for the scan
/// report each object once with its rows, and every byte fetched.
#[derive(Debug)]
struct CountingReaders {
    inner: CachedParquetFileReaderFactory,
    report: Arc<ScanReport>,
    /// Each object's name and rows (from its footer), by location.
    objects: Arc<HashMap<String, (String, u64)>>,
}

impl ParquetFileReaderFactory for CountingReaders {
    fn create_reader(
        &self,
        partition_index: usize,
        file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        // An object split across partitions is opened once per part; the report counts it once.
        if let Some((name, rows)) = self.objects.get(file.object_meta.location.as_ref()) {
            self.report.object_done(name, *rows, 0);
        }
        let inner = self.inner.create_reader(partition_index, file, metadata_size_hint, metrics)?;
        Ok(Box::new(CountingReader { inner, report: Arc::clone(&self.report) }))
    }
}

struct CountingReader {
    inner: Box<dyn AsyncFileReader + Send>,
    report: Arc<ScanReport>,
}

impl AsyncFileReader for CountingReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        self.report.bytes_read(range.end.saturating_sub(range.start));
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Vec<Bytes>>> {
        self.report.bytes_read(ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum());
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        self.inner.get_metadata(options)
    }
}

/// DataFusion's mapping of a file's columns onto the table's (by name, casting types, nulls for
/// missing columns), taking a column stored under the hyphenated field name (`account-id`) for the
/// underscored one (`account_id`).
#[derive(Debug)]
struct SpellingAdapterFactory;

impl PhysicalExprAdapterFactory for SpellingAdapterFactory {
    fn create(&self, logical: SchemaRef, physical: SchemaRef) -> Result<Arc<dyn PhysicalExprAdapter>> {
        let renames: HashMap<String, String> = logical
            .fields()
            .iter()
            .filter(|f| physical.field_with_name(f.name()).is_err())
            .filter_map(|f| {
                let hyphenated = f.name().replace('_', "-");
                physical.field_with_name(&hyphenated).is_ok().then(|| (f.name().clone(), hyphenated))
            })
            .collect();
        let logical = if renames.is_empty() {
            logical
        } else {
            let fields: Vec<FieldRef> = logical
                .fields()
                .iter()
                .map(|f| match renames.get(f.name()) {
                    Some(stored) => Arc::new(f.as_ref().clone().with_name(stored)),
                    None => Arc::clone(f),
                })
                .collect();
            Arc::new(Schema::new(fields))
        };
        let inner = DefaultPhysicalExprAdapterFactory.create(logical, physical)?;
        Ok(Arc::new(SpellingAdapter { renames, inner }))
    }
}

#[derive(Debug)]
struct SpellingAdapter {
    /// Table column → the name it is stored under.
    renames: HashMap<String, String>,
    inner: Arc<dyn PhysicalExprAdapter>,
}

impl PhysicalExprAdapter for SpellingAdapter {
    fn rewrite(&self, expr: Arc<dyn PhysicalExpr>) -> Result<Arc<dyn PhysicalExpr>> {
        let expr = if self.renames.is_empty() {
            expr
        } else {
            expr.transform(|e| {
                let renamed = e
                    .downcast_ref::<Column>()
                    .and_then(|c| self.renames.get(c.name()).map(|stored| Column::new(stored, c.index())));
                Ok(match renamed {
                    Some(column) => Transformed::yes(Arc::new(column) as Arc<dyn PhysicalExpr>),
                    None => Transformed::no(e),
                })
            })
            .data()?
        };
        self.inner.rewrite(expr)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A converted object whose row groups span these `start`s, ten rows each.
    fn object(name: &str, starts: &[(i64, i64)]) -> ParquetObject {
        let groups = starts.iter().zip(0u64..).map(|(&(low, high), i)| SortedRowGroup {
            offset: 4 + 1000 * i,
            rows: 10,
            start: (low, high),
            min: vec![ScalarValue::from(low), ScalarValue::from(low), ScalarValue::from("a"), ScalarValue::from(1i64)],
            max: vec![
                ScalarValue::from(high),
                ScalarValue::from(high + 60),
                ScalarValue::from("z"),
                ScalarValue::from(9i64),
            ],
        });
        ParquetObject {
            object: ObjectRef {
                name: name.to_string(),
                location: name.to_string(),
                size: 1000 * starts.len() as u64,
                key: Default::default(),
                etag: None,
                modified: None,
            },
            kind: ParquetKind::Converted,
            columns: Vec::new(),
            rows: 10 * starts.len() as u64,
            empty: Vec::new(),
            sorted: Some(groups.collect()),
        }
    }

    /// The `start` spans of each partition's row groups, if the objects can be read in order.
    fn chains(objects: Vec<ParquetObject>, n: usize) -> Option<Vec<Vec<(i64, i64)>>> {
        let report = Arc::new(ScanReport::default());
        let table = ParquetFlows::new(
            ObjectStoreUrl::local_filesystem(),
            ParquetKind::Converted,
            objects,
            &[],
            report,
            DecodeOptions::default(),
        );
        let start = table.schema().index_of("start").unwrap();
        let (groups, ordering) = table.ordered_groups(n)?;
        assert_eq!(ordering.len(), SORTED_BY.len());
        let bound = |value: &Precision<ScalarValue>| match value.get_value() {
            Some(ScalarValue::Int64(Some(v))) => *v,
            other => panic!("{other:?}"),
        };
        Some(
            groups
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(|file| {
                            let column = &file.statistics.as_ref().unwrap().column_statistics[start];
                            (bound(&column.min_value), bound(&column.max_value))
                        })
                        .collect()
                })
                .collect(),
        )
    }

    #[test]
    fn row_groups_are_chained_apart_in_time_and_spread_over_the_partitions() {
        // Consecutive row groups that share a second (10, 20) cannot follow one another.
        let one = chains(vec![object("a", &[(0, 10), (10, 20), (20, 30), (31, 40)])], 2).unwrap();
        assert_eq!(one, [vec![(0, 10), (20, 30)], vec![(10, 20), (31, 40)]]);
        // Two accounts at the same time, one partition asked for: two chains.
        let two = chains(vec![object("a", &[(0, 10), (11, 20)]), object("b", &[(0, 10), (11, 20)])], 1).unwrap();
        assert_eq!(two, [vec![(0, 10), (11, 20)], vec![(0, 10), (11, 20)]]);
    }

    #[test]
    fn objects_overlapping_too_deeply_or_not_in_order_are_sorted_instead() {
        let deep: Vec<ParquetObject> = (0..=MERGED_STREAMS).map(|i| object(&format!("o{i}"), &[(0, 100)])).collect();
        assert_eq!(chains(deep.clone(), 2), None);
        assert!(chains(deep[..MERGED_STREAMS].to_vec(), 2).is_some());
        let mut unordered = object("b", &[(0, 10)]);
        unordered.sorted = None;
        assert_eq!(chains(vec![object("a", &[(0, 10)]), unordered], 2), None);
    }
}
