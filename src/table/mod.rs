//! The table `flows`: listed text objects, decoded by [`crate::decode`], as a DataFusion
//! `TableProvider` ([`FlowsTable`]); Parquet objects through DataFusion's Parquet reader
//! ([`ParquetFlows`], `parquet.rs`).
//!
//! This is the only module that implements DataFusion's data-source traits. Its schema is
//! [`crate::decode::file_schema`] (every documented field, plus any unknown field named in an
//! object's header line or a Parquet object's columns) followed by `source`.

mod cidr;
mod ioc;
mod object_time;
mod parquet;
mod parquet_damage;
mod prefilter;
mod report;
mod scan;
mod spread;

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::object_store::ObjectStoreUrl;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

pub use cidr::{CidrContains, IsInternal};
pub use ioc::IocHits;
pub use object_time::ObjectTime;
pub use parquet::{
    ParquetFlows, ParquetKind, ParquetObject, SORTED_BY, SortedRowGroup, digest, is_parquet, read_footers,
};
pub use report::{MAX_LISTED_PROBLEMS, ObjectProblem, ScanReport, ScanTotals};
pub use scan::{DecodeOptions, StrictError};
use scan::{FlowsSource, ObjectInfo};
pub use spread::Spread;

use crate::decode::{self, SOURCE_COLUMN};
use crate::source::ObjectRef;

/// Bytes read from the start of each object to find its header line.
const HEADER_PROBE: u64 = 16 * 1024;

/// The `flows` table over a list of objects in one object store.
#[derive(Debug)]
pub struct FlowsTable {
    table_schema: TableSchema,
    store_url: ObjectStoreUrl,
    objects: Vec<ObjectRef>,
    options: Arc<DecodeOptions>,
    report: Arc<ScanReport>,
}

impl FlowsTable {
    /// A table over `objects` of the store at `store_url` (e.g. `file:///`), with the given extra
    /// (unknown) field names as text columns. Problems are recorded in `report`.
    pub fn new(
        store_url: ObjectStoreUrl,
        objects: Vec<ObjectRef>,
        extra_fields: &[String],
        options: DecodeOptions,
        report: Arc<ScanReport>,
    ) -> Self {
        let file_schema = decode::file_schema(extra_fields);
        let source = Arc::new(Field::new(SOURCE_COLUMN, DataType::Utf8View, false));
        let table_schema = TableSchema::builder(file_schema).with_table_partition_cols(vec![source]).build();
        FlowsTable { table_schema, store_url, objects, options: Arc::new(options), report }
    }
}

/// Splits `objects` into `n` groups of about equal stored size, as `file`s; an object is never split
/// here (DataFusion may split a Parquet object by row groups later).
fn file_groups(objects: &[ObjectRef], n: usize, file: impl Fn(&ObjectRef) -> PartitionedFile) -> Vec<FileGroup> {
    let mut order: Vec<&ObjectRef> = objects.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = (0..n.max(1)).map(|_| (0, Vec::new())).collect();
    for object in order {
        let Some(lightest) = groups.iter_mut().min_by_key(|(size, _)| *size) else {
            break;
        };
        lightest.0 += object.size;
        lightest.1.push(file(object));
    }
    // With no objects, one empty group: an empty table, not a plan without partitions.
    let groups: Vec<FileGroup> =
        groups.into_iter().filter(|(_, files)| !files.is_empty()).map(|(_, files)| FileGroup::new(files)).collect();
    if groups.is_empty() { vec![FileGroup::new(Vec::new())] } else { groups }
}

/// The scan's file for a listed text object; a local object's name is the path of its file.
fn partitioned_file(object: &ObjectRef, local: bool) -> PartitionedFile {
    PartitionedFile::new_from_meta(object_meta(object))
        .with_partition_values(vec![ScalarValue::Utf8View(Some(object.name.clone()))])
        .with_extension(ObjectInfo {
            name: object.name.clone(),
            key: object.key.clone(),
            file: local.then(|| object.name.clone().into()),
        })
}

/// The store's metadata of a listed object.
fn object_meta(object: &ObjectRef) -> ObjectMeta {
    ObjectMeta {
        location: object_path(&object.location),
        last_modified: chrono::DateTime::UNIX_EPOCH,
        size: object.size,
        e_tag: None,
        version: None,
    }
}

/// The store path of a listed location (already encoded by the listing).
fn object_path(location: &str) -> Path {
    Path::parse(location).unwrap_or_else(|_| Path::from(location))
}

#[async_trait]
impl TableProvider for FlowsTable {
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
        let local = self.store_url == ObjectStoreUrl::local_filesystem();
        let source = Arc::new(FlowsSource::new(
            self.table_schema.clone(),
            Arc::clone(&self.options),
            Arc::clone(&self.report),
            prefilter::choose(filters),
        ));
        let config = FileScanConfigBuilder::new(self.store_url.clone(), source)
            .with_file_groups(file_groups(&self.objects, state.config().target_partitions(), |object| {
                partitioned_file(object, local)
            }))
            .with_limit(limit)
            .with_projection_indices(projection.cloned())?
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }

    /// Filters on the line's own text or numbers are taken as a hint for the pre-filter
    /// (`prefilter`); DataFusion still applies every filter above the scan.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| {
                if prefilter::understands(filter) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }
}

/// The field names of the header line at the start of `objects`, one entry per object read (`None`
/// for one without a header line, or that cannot be read here: the scan reports it). Unknown names
/// become text columns of `flows`.
///
/// Unless `every`, of the objects whose name says which flow log wrote them, only the first of each
/// flow log is read: a flow log's format cannot change after it is created (`reference/format.md`),
/// and reading every object's head cost a fifth of a query over thousands of small objects. Should
/// an object's header differ anyway, the scan reports each field it names that is not a column:
/// nothing is dropped silently.
pub async fn first_headers(
    store: Arc<dyn ObjectStore>,
    objects: &[ObjectRef],
    every: bool,
) -> Vec<Option<Vec<String>>> {
    let mut flow_logs = std::collections::HashSet::new();
    let probed = objects.iter().filter(|object| {
        let key = &object.key;
        every || key.flow_log.is_none() || flow_logs.insert((&key.account, &key.region, &key.flow_log))
    });
    futures::stream::iter(probed)
        .map(|object| {
            let store = Arc::clone(&store);
            async move {
                let location = object_path(&object.location);
                let head = store.get_range(&location, 0..object.size.min(HEADER_PROBE)).await.ok()?;
                decode::first_header(&head)
            }
        })
        .buffered(16)
        .collect()
        .await
}
