//! Running queries: the session that holds `flows`, the filters that narrow it, the built-in queries
//! and read-only user SQL.
//!
//! Filters become DataFusion expressions over literals and the built-in queries take their arguments
//! as placeholders (`$cidr`, `$ports`): nothing a user types is ever pasted into SQL text.

mod catalog;
mod ordered_scans;
mod read_ahead;
mod read_once;

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, ScalarUDF, cast, col, lit};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use serde::{Deserialize, Serialize};

pub use catalog::{BuiltinQuery, Param, QueryKind};

use crate::decode::{self, DEFAULT_FORMAT, Problem, ProblemKind};
use crate::ioc::Indicator;
use crate::net::Cidr;
use crate::source::{Listing, TimeWindow};
use crate::table::{
    CidrContains, DecodeOptions, FlowsTable, IocHits, IsInternal, ObjectTime, ParquetFlows, ParquetKind, ParquetObject,
    ScanReport, Spread, digest, first_headers, is_parquet, read_footers,
};

/// Memory a sort sets aside for merging what it spilled, for a memory limit: an eighth of it, at least
/// DataFusion's default (10 MiB), at most 64 MiB. The default left the merge of `ssh-rdp` on flowq's
/// Parquet copy of 40 M records short within 256 MiB ("Failed to allocate … for
/// ExternalSorterMerge"): string views read from Parquet share their pages' buffers, so its batches
/// count big. With 32 MiB it spills and merges.
fn sort_merge_reservation(limit: usize) -> usize {
    (limit / 8).clamp(10 << 20, 64 << 20)
}

/// The ports `admin-ports` looks at unless told otherwise.
pub const DEFAULT_ADMIN_PORTS: &[i32] = &[22, 23, 3389, 5900, 5985, 5986];

/// Filters that narrow `flows` before any query runs: plain data, validated by the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// Flows that overlap the window: `end >= since AND start < until`.
    pub window: TimeWindow,
    /// `account_id` (from the record, else from the object key).
    pub account: Option<String>,
    /// `region` (from the record, else from the object key).
    pub region: Option<String>,
    /// `interface_id`.
    pub eni: Option<String>,
    /// `action`: `ACCEPT` or `REJECT`.
    pub action: Option<String>,
    /// IANA protocol number.
    pub protocol: Option<i32>,
    /// `srcport` or `dstport`.
    pub port: Option<i32>,
    /// Any of the four address columns inside any of these blocks.
    pub ips: Vec<String>,
}

/// The arguments of a built-in query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryArgs {
    /// `$cidr` of `ip`, `from`, `to`.
    pub cidr: Option<Cidr>,
    /// `$ports` of `admin-ports`.
    pub ports: Vec<i32>,
    /// Row cap; `None` means the query's default size.
    pub limit: Option<usize>,
    /// For listings: the columns to return instead of the default ones.
    pub columns: Option<Vec<String>>,
    /// The threat-list entries of `sweep` and `sweep-summary`.
    pub indicators: Vec<Indicator>,
    /// Detections' parameters given on the command line, by name; the others take their default.
    pub params: BTreeMap<String, ScalarValue>,
}

/// The columns of a detection's findings, in order, with their types (`detection` comes first).
pub const FINDING_COLUMNS: &[(&str, DataType)] = &[
    ("finding", DataType::Utf8),
    ("severity", DataType::Utf8),
    ("source", DataType::Utf8),
    ("target", DataType::Utf8),
    ("port", DataType::Int32),
    ("first_seen", DataType::Int64),
    ("last_seen", DataType::Int64),
    ("flows", DataType::Int64),
    ("accepted", DataType::Int64),
    ("rejected", DataType::Int64),
    ("bytes", DataType::Int64),
    ("packets", DataType::Int64),
    ("evidence", DataType::Utf8),
];

/// One answer of [`Engine::report_parts`]: the section of `queries/report.sql`, the ranking or `findings`
/// it answers, with its schema (an answer may have no rows).
#[derive(Debug, Clone)]
pub struct ReportPart {
    /// The section's, ranking's name, or `findings`.
    pub name: &'static str,
    /// Its columns.
    pub schema: datafusion::arrow::datatypes::SchemaRef,
    /// Its rows.
    pub batches: Vec<RecordBatch>,
}

/// The rankings of the report, each a built-in query.
pub const REPORT_RANKINGS: &[&str] = &["top-talkers", "top-pairs", "admin-ports", "traffic-by-type"];

/// Rows of a ranking in the report unless `--limit` says otherwise.
pub const REPORT_ROWS: usize = 10;

/// What `flowq timeline` follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// An address or CIDR block: flows with it in any of the four address columns.
    Block(Cidr),
    /// A network interface: flows with this `interface_id`.
    Interface(String),
    /// An instance: flows with this `instance_id`.
    Instance(String),
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entity::Block(cidr) => write!(f, "{cidr}"),
            Entity::Interface(id) | Entity::Instance(id) => f.write_str(id),
        }
    }
}

impl std::str::FromStr for Entity {
    type Err = String;

    /// `eni-…` is an interface, `i-…` an instance, anything else must be an address or CIDR block.
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let text = text.trim();
        let id = |prefix: &str| {
            text.strip_prefix(prefix)
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
        };
        if id("eni-") {
            Ok(Entity::Interface(text.to_string()))
        } else if id("i-") {
            Ok(Entity::Instance(text.to_string()))
        } else {
            text.parse::<Cidr>().map(Entity::Block).map_err(|_| {
                format!(
                    "{text:?} is not an address, CIDR block, interface or instance id \
                     (e.g. 198.51.100.77, 10.0.1.0/24, eni-0a1b2c3d4e5f60718, i-0a1b2c3d4e5f60718)"
                )
            })
        }
    }
}

/// The listed objects of one object store.
#[derive(Debug)]
pub struct Source {
    /// The store's URL: `file:///` or `s3://bucket`.
    pub url: String,
    /// The store, or `None` for the local file system.
    pub store: Option<Arc<dyn ObjectStore>>,
    /// Its objects.
    pub listing: Listing,
}

impl Source {
    /// Local files.
    pub fn local(listing: Listing) -> Source {
        Source { url: "file:///".to_string(), store: None, listing }
    }
}

/// A session with the table `flows` registered, narrowed by the filters.
pub struct Engine {
    ctx: SessionContext,
    report: Arc<ScanReport>,
    /// The `flows` columns some object's first header, the format of objects without one, or a
    /// Parquet object's columns name, in column order.
    named: Vec<String>,
    /// The columns of `flows` for fields that are not in the catalogue.
    extra: Vec<String>,
    /// Whether any text object was listed.
    text: bool,
    /// The folder of the copy [`Engine::read_once`] made, deleted with the engine.
    copy: Option<tempfile::TempDir>,
}

impl Engine {
    /// Opens the listed objects of every source as one table `flows`, narrowed by `filters`. With a
    /// `memory_limit` (bytes), sorts and aggregations spill to the temporary directory beyond it.
    pub async fn open(
        sources: Vec<Source>,
        options: DecodeOptions,
        filters: &Filters,
        memory_limit: Option<usize>,
    ) -> Result<Engine> {
        // One sort over all partitions rather than a sort per partition and a merge: under a memory
        // limit DataFusion 55's per-partition sorts leave their merge no memory ("Resources
        // exhausted … ExternalSorterMerge" on `ssh-rdp`, 40 M records, 256 MiB), while one sort spills
        // and merges within it. The scan below the sort still runs on every core.
        let mut config = SessionConfig::new()
            .set_str("datafusion.sql_parser.default_null_ordering", "nulls_last")
            .set_str("datafusion.execution.time_zone", "UTC")
            .set_bool("datafusion.optimizer.repartition_sorts", false)
            .set_str("datafusion.execution.spill_compression", "lz4_frame");
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(limit) = memory_limit {
            config =
                config.set_usize("datafusion.execution.sort_spill_reservation_bytes", sort_merge_reservation(limit));
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
        }
        let runtime = runtime.build_arc()?;
        // After DataFusion's own rules, which push limits into scans and place the merges.
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(ordered_scans::OrderedScans))
            .with_physical_optimizer_rule(Arc::new(read_ahead::ReadAhead))
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_udf(ScalarUDF::from(CidrContains::new()));
        ctx.register_udf(ScalarUDF::from(IsInternal::default()));
        ctx.register_udf(ScalarUDF::from(Spread::new()));
        ctx.register_udf(ScalarUDF::from(ObjectTime::default()));
        let report = Arc::new(ScanReport::default());
        // Text and Parquet objects of each store, and the unknown fields of all: one schema for all.
        let mut parts = Vec::with_capacity(sources.len());
        // Column names the objects' first headers and Parquet footers name (unknown ones become text
        // columns), and whether an object has no header (so the default or --fields format applies).
        let mut named: Vec<String> = Vec::new();
        let mut headerless = false;
        let mut extra: Vec<String> = Vec::new();
        let mut any_text = false;
        for source in sources {
            let url = ObjectStoreUrl::parse(&source.url)?;
            let store = match &source.store {
                Some(store) => {
                    ctx.register_object_store(url.as_ref(), Arc::clone(store));
                    Arc::clone(store)
                }
                None => ctx.runtime_env().object_store(&url)?,
            };
            for (name, reason) in &source.listing.unreadable {
                report.problem(name, Problem::object(ProblemKind::Unreadable { reason: reason.clone() }));
            }
            let (parquet, text): (Vec<_>, Vec<_>) = source.listing.objects.into_iter().partition(is_parquet);
            any_text |= !text.is_empty();
            let cache = ctx.runtime_env().cache_manager.get_file_metadata_cache();
            let mut parquet = read_footers(Arc::clone(&store), cache, parquet, &report).await;
            if options.checksums {
                parquet = digest(Arc::clone(&store), parquet, &report).await;
            }
            for header in first_headers(store, &text, options.complete).await {
                match header {
                    Some(fields) => named.extend(fields.iter().map(|f| decode::column_name(f))),
                    None => headerless = true,
                }
            }
            named.extend(parquet.iter().flat_map(|o| o.columns.iter().map(|c| decode::column_name(c))));
            parts.push((url, text, parquet));
        }
        if headerless {
            let format: Vec<&str> = match &options.fields {
                Some(fields) => fields.iter().map(String::as_str).collect(),
                None => DEFAULT_FORMAT.to_vec(),
            };
            named.extend(format.iter().map(|f| decode::column_name(f)));
        }
        for name in &named {
            let reserved = name == decode::LINE_COLUMN || name == decode::SOURCE_COLUMN;
            if !reserved && decode::known_kind(name).is_none() && !extra.contains(name) {
                extra.push(name.clone());
            }
        }
        let columns: Vec<String> = decode::file_schema(&extra)
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .chain([decode::SOURCE_COLUMN.to_string()])
            .collect();
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        let mut frames: Vec<DataFrame> = Vec::new();
        for (url, text, parquet) in parts {
            if !text.is_empty() {
                let table = FlowsTable::new(url.clone(), text, &extra, options.clone(), Arc::clone(&report));
                frames.push(ctx.read_table(Arc::new(table))?);
            }
            for kind in [ParquetKind::Delivered, ParquetKind::Converted] {
                let objects: Vec<ParquetObject> = parquet.iter().filter(|o| o.kind == kind).cloned().collect();
                if !objects.is_empty() {
                    let table =
                        ParquetFlows::new(url.clone(), kind, objects, &extra, Arc::clone(&report), options.clone());
                    let select = table.select(&columns);
                    frames.push(ctx.read_table(Arc::new(table))?.select(select)?);
                }
            }
        }
        if frames.is_empty() {
            let table =
                FlowsTable::new(ObjectStoreUrl::local_filesystem(), Vec::new(), &extra, options, Arc::clone(&report));
            frames.push(ctx.read_table(Arc::new(table))?);
        }
        let mut frames = frames.into_iter();
        let mut flows = frames.next().ok_or_else(|| DataFusionError::Internal("no table".to_string()))?;
        for frame in frames {
            flows = flows.union(frame)?;
        }
        if let Some(predicate) = filter_expr(&ctx, filters)? {
            flows = flows.filter(predicate)?;
        }
        ctx.register_table("flows", flows.into_view())?;
        let named = columns.iter().filter(|c| named.iter().any(|n| n == *c)).map(|c| c.to_string()).collect();
        Ok(Engine { ctx, report, named, extra, text: any_text, copy: None })
    }

    /// Reads `flows` (the logs, narrowed by the filters) once, into a columnar copy in a temporary
    /// folder, and makes the copy `flows`: for a command that runs many queries over the logs
    /// (`report`, `detect`), each of which would otherwise fetch, inflate and decode every text
    /// object again. What was read and what could not be is in [`Engine::report`], as after any
    /// scan; reading the copy adds nothing to it. Logs that are all Parquet are read in place.
    ///
    /// The copy is deleted with the engine. A copy that cannot be written or read back fails the
    /// query: it is never taken for damage in the logs. Whether `flows` is now a copy.
    pub async fn read_once(&mut self) -> Result<bool> {
        if !self.text || self.copy.is_some() {
            return Ok(self.copy.is_some());
        }
        let folder = tempfile::Builder::new().prefix("flowq-").tempdir().map_err(|e| {
            DataFusionError::Execution(format!(
                "creating a folder for the copy of the logs in {} (TMPDIR says where it goes): {e}",
                std::env::temp_dir().display()
            ))
        })?;
        let flows = self.ctx.table("flows").await?;
        let columns: Vec<String> = flows.schema().fields().iter().map(|f| f.name().clone()).collect();
        let files = read_once::write_copy(flows.execute_stream_partitioned().await?, folder.path()).await?;
        let copy_report = Arc::new(ScanReport::default());
        let selection =
            crate::source::Selection { paths: vec![folder.path().display().to_string()], ..Default::default() };
        let listing = crate::source::list_local(&selection).map_err(|e| DataFusionError::External(Box::new(e)))?;
        let store = self.ctx.runtime_env().object_store(ObjectStoreUrl::local_filesystem())?;
        let cache = self.ctx.runtime_env().cache_manager.get_file_metadata_cache();
        let objects = read_footers(store, cache, listing.objects, &copy_report).await;
        let written: u64 = files.iter().sum();
        let held: u64 = objects.iter().map(|o| o.rows).sum();
        if objects.len() != files.len() || held != written || !listing.unreadable.is_empty() {
            let problems: Vec<String> = copy_report
                .problems()
                .iter()
                .map(ToString::to_string)
                .chain(listing.unreadable.iter().map(|(name, reason)| format!("{name}: {reason}")))
                .collect();
            return Err(DataFusionError::Execution(format!(
                "the copy of the logs in {} could not be read back ({} files of {written} rows written, {} of {held} \
                 rows read): {}",
                folder.path().display(),
                files.len(),
                objects.len(),
                problems.join("; ")
            )));
        }
        let strict = DecodeOptions { strict: true, ..DecodeOptions::default() };
        let table = ParquetFlows::new(
            ObjectStoreUrl::local_filesystem(),
            ParquetKind::Converted,
            objects,
            &self.extra,
            copy_report,
            strict,
        );
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        let select = table.select(&columns);
        let copy = self.ctx.read_table(Arc::new(table))?.select(select)?;
        self.ctx.deregister_table("flows")?;
        self.ctx.register_table("flows", copy.into_view())?;
        self.copy = Some(folder);
        Ok(true)
    }

    /// Makes `blocks` the network's own for `is_internal` (instead of the private blocks).
    pub fn set_internal(&self, blocks: Vec<Cidr>) {
        self.ctx.register_udf(ScalarUDF::from(IsInternal::new(blocks)));
    }

    /// The `flows` columns that the objects' formats name (first headers, the format of objects
    /// without one, Parquet columns), in column order: the others can hold only what object keys say
    /// (`account_id`, `region`), or nothing.
    pub fn named_columns(&self) -> &[String] {
        &self.named
    }

    /// What the scans of this session read and could not read.
    pub fn report(&self) -> &Arc<ScanReport> {
        &self.report
    }

    /// The session, for callers that need more than the methods here.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs a built-in query.
    pub async fn builtin(&self, query: &BuiltinQuery, args: &QueryArgs) -> Result<DataFrame> {
        let mut params: Vec<(String, ScalarValue)> = Vec::new();
        if query.sql.contains("$cidr") {
            let cidr = args
                .cidr
                .ok_or_else(|| DataFusionError::Plan(format!("{} needs an address or CIDR block", query.name)))?;
            params.push(("cidr".into(), ScalarValue::Utf8(Some(cidr.to_string()))));
        }
        if query.sql.contains("$ports") {
            let ports = if args.ports.is_empty() { DEFAULT_ADMIN_PORTS.to_vec() } else { args.ports.clone() };
            let values: Vec<ScalarValue> = ports.into_iter().map(|p| ScalarValue::Int32(Some(p))).collect();
            params.push(("ports".into(), ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int32))));
        }
        if query.sql.contains("ioc_hits(") {
            if args.indicators.is_empty() {
                return Err(DataFusionError::Plan(format!("{} needs threat lists (--ioc FILE)", query.name)));
            }
            self.ctx.register_udf(ScalarUDF::from(IocHits::new(args.indicators.clone())));
        }
        let mut frame = self.ctx.sql(query.sql).await?.with_param_values(ParamValues::from(params))?;
        if query.kind() == QueryKind::Listing {
            let columns = listing_columns(&frame, args.columns.as_deref())?;
            frame = frame.select(columns)?;
        }
        match args.limit.or(query.default_size()) {
            Some(limit) => frame.limit(0, Some(limit)),
            None => Ok(frame),
        }
    }

    /// Runs `detections`, one after another (each reads `flows` on its own, the logs or the copy
    /// [`Engine::read_once`] made; run together, all their scans would hold their buffers at once).
    /// Their findings come as one table ordered by first seen, the detection's name in its first
    /// column; with `flows`, the flows behind them instead, detection by detection in catalogue
    /// order, each ordered like a listing (`args.columns` picks their columns). Parameters not in
    /// `args.params` take their defaults; `args.limit` caps the rows.
    pub async fn detect(
        &self,
        detections: &[BuiltinQuery],
        args: &QueryArgs,
        flows: bool,
    ) -> Result<SendableRecordBatchStream> {
        let mut frames = Vec::with_capacity(detections.len());
        for detection in detections {
            let (evidence, findings) = detection
                .detection_sql()
                .ok_or_else(|| DataFusionError::Plan(format!("{} is not a detection", detection.name)))?;
            let mut params: Vec<(String, ScalarValue)> = Vec::new();
            for param in detection.params() {
                let value = match args.params.get(param.name) {
                    Some(value) => value.clone(),
                    None => param
                        .value(param.default)
                        .map_err(|e| DataFusionError::Plan(format!("{}: ${}: {e}", detection.name, param.name)))?,
                };
                params.push((param.name.to_string(), value));
            }
            let sql = if flows { evidence } else { findings };
            let frame = self.ctx.sql(&sql).await?.with_param_values(ParamValues::from(params))?;
            let name = lit(detection.name).alias("detection");
            frames.push(if flows {
                let columns = listing_columns(&frame, args.columns.as_deref())?;
                let order = ["start", "end", "source", "line"].map(|c| col(c).sort(true, false));
                frame.sort(order.to_vec())?.select(std::iter::once(name).chain(columns))?
            } else {
                let columns = FINDING_COLUMNS.iter().map(|(c, t)| cast(col(*c), t.clone()).alias(*c));
                frame.select(std::iter::once(name).chain(columns))?
            });
        }
        let Some(first) = frames.first() else {
            return Err(DataFusionError::Plan("no detection to run".to_string()));
        };
        // Every field nullable: the detections' batches differ only in what their plans could prove.
        let schema = Arc::new(Schema::new(
            first.schema().fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>(),
        ));
        let batches = {
            let schema = Arc::clone(&schema);
            futures::stream::iter(frames).then(DataFrame::execute_stream).try_flatten().map(move |batch| {
                batch.and_then(|b| Ok(RecordBatch::try_new(Arc::clone(&schema), b.columns().to_vec())?))
            })
        };
        if flows {
            let capped = batches.scan(args.limit.unwrap_or(usize::MAX), |left, batch| {
                let batch = match batch {
                    Ok(_) if *left == 0 => None,
                    Ok(b) => {
                        let rows = b.num_rows().min(*left);
                        *left -= rows;
                        Some(Ok(b.slice(0, rows)))
                    }
                    Err(e) => Some(Err(e)),
                };
                futures::future::ready(batch)
            });
            return Ok(Box::pin(RecordBatchStreamAdapter::new(schema, capped)));
        }
        let findings: Vec<RecordBatch> = batches.try_collect().await?;
        let order = ["first_seen", "detection", "source", "target", "port"].map(|c| col(c).sort(true, false));
        let frame = self.ctx.read_table(Arc::new(MemTable::try_new(schema, vec![findings])?))?.sort(order.to_vec())?;
        match args.limit {
            Some(limit) => frame.limit(0, Some(limit))?,
            None => frame,
        }
        .execute_stream()
        .await
    }

    /// The nightly report's answers, one query after another (each reads the logs): the sections of
    /// `queries/report.sql`, the rankings [`REPORT_RANKINGS`] and the findings of every detection.
    /// `late` is `$late`. Rankings and `rejected-sources` keep `args.limit` rows
    /// ([`REPORT_ROWS`] by default); detections take `args.params`. `on_part` is told each part's name
    /// as its query starts (for progress).
    pub async fn report_parts(
        &self,
        late: i64,
        args: &QueryArgs,
        mut on_part: impl FnMut(&str),
    ) -> Result<Vec<ReportPart>> {
        let query =
            BuiltinQuery::named("report").ok_or_else(|| DataFusionError::Plan("the report query is missing".into()))?;
        let rows = args.limit.unwrap_or(REPORT_ROWS);
        let mut parts = Vec::new();
        for (name, sql) in query.sections() {
            on_part(name);
            let mut frame = self.ctx.sql(sql).await?;
            if sql.contains("$late") {
                frame = frame
                    .with_param_values(ParamValues::from(vec![("late".to_string(), ScalarValue::Int64(Some(late)))]))?;
            }
            if name == "rejected-sources" {
                frame = frame.limit(0, Some(rows))?;
            }
            parts.push(collect(name, frame).await?);
        }
        for name in REPORT_RANKINGS {
            on_part(name);
            let ranking =
                BuiltinQuery::named(name).ok_or_else(|| DataFusionError::Plan(format!("no built-in query {name}")))?;
            let frame = self.builtin(&ranking, &QueryArgs { limit: Some(rows), ..QueryArgs::default() }).await?;
            parts.push(collect(name, frame).await?);
        }
        let detections = BuiltinQuery::detections();
        on_part("detections");
        let stream =
            self.detect(&detections, &QueryArgs { params: args.params.clone(), ..QueryArgs::default() }, false).await?;
        let schema = stream.schema();
        let batches: Vec<RecordBatch> = stream.try_collect().await?;
        parts.push(ReportPart { name: "findings", schema, batches });
        Ok(parts)
    }

    /// `entity`'s traffic per bucket of `every` seconds (`queries/timeline.sql`).
    pub async fn timeline(&self, entity: &Entity, every: i64, limit: Option<usize>) -> Result<DataFrame> {
        let query = BuiltinQuery::named("timeline")
            .ok_or_else(|| DataFusionError::Plan("the timeline query is missing".to_string()))?;
        let flows = self.ctx.table("flows").await?;
        let (predicate, cidr) = match entity {
            Entity::Block(cidr) => {
                let filters = Filters { ips: vec![cidr.to_string()], ..Filters::default() };
                let predicate = filter_expr(&self.ctx, &filters)?
                    .ok_or_else(|| DataFusionError::Plan("no address to follow".to_string()))?;
                (predicate, Some(cidr.to_string()))
            }
            Entity::Interface(id) => (col("interface_id").eq(lit(id.as_str())), None),
            Entity::Instance(id) => (col("instance_id").eq(lit(id.as_str())), None),
        };
        self.ctx.register_table("entity", flows.filter(predicate)?.into_view())?;
        let params =
            vec![("every".to_string(), ScalarValue::Int64(Some(every))), ("cidr".to_string(), ScalarValue::Utf8(cidr))];
        let frame = self.ctx.sql(query.sql).await?.with_param_values(ParamValues::from(params))?;
        match limit {
            Some(limit) => frame.limit(0, Some(limit)),
            None => Ok(frame),
        }
    }

    /// Runs user SQL over `flows`. Statements that write files or change state are refused.
    pub async fn sql(&self, sql: &str, limit: Option<usize>) -> Result<DataFrame> {
        let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
        let frame = self.ctx.sql_with_options(sql, options).await.map_err(read_only_message)?;
        match limit {
            Some(limit) => frame.limit(0, Some(limit)),
            None => Ok(frame),
        }
    }
}

/// A frame's rows, as a part of the report.
async fn collect(name: &'static str, frame: DataFrame) -> Result<ReportPart> {
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await?;
    Ok(ReportPart { name, schema, batches })
}

/// A listing's columns: `columns`, or the 14 default-format columns then `source, line`. A name
/// `flows` does not have is an error that lists the ones it has.
fn listing_columns(frame: &DataFrame, columns: Option<&[String]>) -> Result<Vec<Expr>> {
    let default: Vec<String> = DEFAULT_FORMAT
        .iter()
        .map(|f| crate::decode::column_name(f))
        .chain(["source".to_string(), "line".to_string()])
        .collect();
    let columns = columns.unwrap_or(&default);
    let schema = frame.schema();
    if let Some(missing) = columns.iter().find(|c| schema.field_with_unqualified_name(c).is_err()) {
        let known: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(DataFusionError::Plan(format!(
            "--columns: flows has no column {missing:?}; its columns are: {}",
            known.join(", ")
        )));
    }
    Ok(columns.iter().map(|c| col(c.as_str())).collect())
}

/// Explains a refused statement in the user's terms.
fn read_only_message(err: DataFusionError) -> DataFusionError {
    let text = err.to_string();
    if ["DDL not supported", "DML not supported", "Statement not supported"].iter().any(|m| text.contains(m)) {
        DataFusionError::Plan(format!(
            "flowq sql is read-only: only queries (SELECT, WITH, EXPLAIN) over flows are allowed; \
             statements that write files or change state (COPY … TO, CREATE, INSERT, SET) are refused ({text})"
        ))
    } else {
        err
    }
}

/// The filters as one predicate over `flows`, or `None` when there are none.
fn filter_expr(ctx: &SessionContext, filters: &Filters) -> Result<Option<Expr>> {
    let mut parts: Vec<Expr> = Vec::new();
    if let Some(since) = filters.window.since {
        parts.push(col("end").gt_eq(lit(since)));
    }
    if let Some(until) = filters.window.until {
        parts.push(col("start").lt(lit(until)));
    }
    for (column, value) in [
        ("account_id", &filters.account),
        ("region", &filters.region),
        ("interface_id", &filters.eni),
        ("action", &filters.action),
    ] {
        if let Some(value) = value {
            parts.push(col(column).eq(lit(value.as_str())));
        }
    }
    if let Some(protocol) = filters.protocol {
        parts.push(col("protocol").eq(lit(protocol)));
    }
    if let Some(port) = filters.port {
        parts.push(col("srcport").eq(lit(port)).or(col("dstport").eq(lit(port))));
    }
    if !filters.ips.is_empty() {
        let udf = ctx.udf("cidr_contains")?;
        let any = filters
            .ips
            .iter()
            .flat_map(|cidr| {
                ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"]
                    .map(|column| udf.call(vec![lit(cidr.as_str()), col(column)]))
            })
            .reduce(Expr::or);
        parts.extend(any);
    }
    Ok(parts.into_iter().reduce(Expr::and))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!("eni-0a1b2c3d".parse::<Entity>(), Ok(Entity::Interface("eni-0a1b2c3d".into())));
        assert_eq!(" i-0123abcd ".parse::<Entity>(), Ok(Entity::Instance("i-0123abcd".into())));
        assert!(matches!("10.0.0.0/8".parse::<Entity>(), Ok(Entity::Block(_))));
        assert!(matches!("2001:db8::1".parse::<Entity>(), Ok(Entity::Block(_))));
        for bad in ["eni-", "i-", "eni-0a/1", "example.com", ""] {
            assert!(bad.parse::<Entity>().is_err(), "{bad}");
        }
    }
}
