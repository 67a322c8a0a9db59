//! The nightly report (`flowq report`): the answers of the report's queries, which the query layer
//! runs ([`crate::query::Engine::report_parts`]), with what the scan read and could not read, put together
//! as one [`Report`] and written as self-contained HTML (inline CSS, SVG charts drawn by [`svg`], no
//! script, nothing fetched at view time), JSON (every number the HTML shows) or Markdown.
//!
//! Nothing here decides what to query: it arranges answers, fills the hours without a record, and
//! sums the per-account rows into the totals.

mod html;
mod markdown;
pub mod svg;

use std::collections::BTreeSet;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use serde::Serialize;
use serde_json::Value;

pub use svg::{grouped, human_bytes};

use crate::query::{BuiltinQuery, ReportPart};
use crate::table::ScanTotals;

/// Hours are cut at clock hours.
const HOUR: i64 = 3600;
/// The last this many seconds before now are not counted as without logs: AWS delivers about ten
/// minutes after a record's end (`reference/format.md` §1), so they may yet arrive.
pub const DELIVERY_DELAY: i64 = 15 * 60;
/// An object is late when its earliest record ended this long before the time in its name (its
/// records should end in the 5 minutes after it).
pub const LATE_AFTER: i64 = 10 * 60;
/// Buckets of the traffic charts at most (past a year, a bucket is as many weeks as keep to it).
pub const MAX_BUCKETS: usize = 520;
/// Rows of a table shown in the HTML and Markdown; the JSON has them all.
pub const SHOWN_ROWS: usize = 200;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained HTML file.
    Html,
    /// JSON: every number.
    Json,
    /// Markdown, without the charts.
    Markdown,
}

impl std::str::FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "html" | "htm" => Ok(ReportFormat::Html),
            "json" => Ok(ReportFormat::Json),
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            _ => Err(format!("a report is written as html, json or md, not {s:?}")),
        }
    }
}

impl std::fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReportFormat::Html => "html",
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "md",
        })
    }
}

/// Rows of one answer, as JSON values in column order (times as epoch seconds, as in `flows`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// One array per row.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// The rows of `batches`, with the columns of `schema`.
    pub fn from_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Table, ArrowError> {
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut writer = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::JsonArray>(Vec::new());
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        let bytes = writer.into_inner();
        let objects: Vec<serde_json::Map<String, Value>> = if bytes.is_empty() {
            Vec::new()
        } else {
            serde_json::from_slice(&bytes).map_err(|e| ArrowError::JsonError(e.to_string()))?
        };
        let rows = objects
            .into_iter()
            .map(|mut object| columns.iter().map(|c| object.remove(c).unwrap_or(Value::Null)).collect())
            .collect();
        Ok(Table { columns, rows })
    }

    fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// A column's integer values (`None` for NULL or a missing column).
    pub fn ints<'a>(&'a self, column: &str) -> impl Iterator<Item = Option<i64>> + 'a {
        let index = self.index(column);
        self.rows.iter().map(move |row| index.and_then(|i| row.get(i)).and_then(Value::as_i64))
    }

    /// A column's text values.
    pub fn texts<'a>(&'a self, column: &str) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let index = self.index(column);
        self.rows.iter().map(move |row| index.and_then(|i| row.get(i)).and_then(Value::as_str))
    }

    fn sum(&self, column: &str) -> i64 {
        self.ints(column).flatten().sum()
    }
}

/// The window the report covers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Window {
    /// `--since` (UTC, RFC 3339), if given.
    pub since: Option<String>,
    /// `--until`, if given.
    pub until: Option<String>,
    /// The hours whose coverage is reported: from the hour of `--since` (else of the first record's
    /// end) to the hour of `--until` (else, when `--since` is given, the last whole hour before now
    /// less the delivery delay; else the last record's end).
    pub hours_from: Option<String>,
    /// See `hours_from` (exclusive).
    pub hours_to: Option<String>,
    /// The earliest start and the latest end of the records read.
    pub first_start: Option<String>,
    /// See `first_start`.
    pub last_end: Option<String>,
}

/// What was read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scanned {
    /// Objects listed for reading, and their stored bytes.
    pub objects_listed: u64,
    /// See `objects_listed`.
    pub stored_bytes: u64,
    /// Objects read (wholly or partly).
    pub objects_read: u64,
    /// Objects skipped because their key shows they hold nothing in the window.
    pub objects_skipped_by_key: u64,
    /// Records in the window; `flows` of them not NODATA or SKIPDATA.
    pub records: i64,
    /// See `records`.
    pub flows: i64,
    /// NODATA records: an interface without traffic in an aggregation interval.
    pub nodata: i64,
    /// SKIPDATA records: flows AWS could not log in an aggregation interval (lost, not idle).
    pub skipdata: i64,
    /// Accepted and rejected flows.
    pub accepted: i64,
    /// See `accepted`.
    pub rejected: i64,
    /// The flows' bytes and packets.
    pub bytes: i64,
    /// See `bytes`.
    pub packets: i64,
    /// The accounts and regions, and the number of interfaces, that logged.
    pub accounts: Vec<String>,
    /// See `accounts`.
    pub regions: Vec<String>,
    /// See `accounts`.
    pub interfaces: i64,
    /// Records without an end time (their format has no `end`, or it is `-`): counted in `records`,
    /// but in no hour of the coverage and traffic.
    pub untimed: i64,
}

/// A run of consecutive hours without a single record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The first hour without a record (UTC).
    pub from: String,
    /// The hour after the last (exclusive).
    pub to: String,
    /// How many hours.
    pub hours: i64,
}

/// What the logs cover and what could not be read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    /// Hours of the window, and how many of them have at least one record.
    pub hours: i64,
    /// See `hours`.
    pub hours_with_logs: i64,
    /// The hours without any record, as runs.
    pub gaps: Vec<Gap>,
    /// Interfaces with hours without a record between their first and last, with SKIPDATA, or
    /// quiet for `quiet_hours` before the end of the window.
    pub interfaces: Table,
    /// Objects whose earliest record ended more than `late_after` seconds before the time in their
    /// name.
    pub late_objects: Table,
    /// See `late_objects`.
    pub late_after: i64,
    /// Lines, header fields and objects that could not be read.
    pub skipped_lines: u64,
    /// See `skipped_lines`.
    pub skipped_fields: u64,
    /// See `skipped_lines`.
    pub skipped_objects: u64,
    /// Every problem, as reported on stderr (object, line, what was wrong).
    pub problems: Vec<String>,
}

impl Coverage {
    /// Lines, header fields and objects that could not be read, in all.
    fn skipped(&self) -> u64 {
        self.skipped_lines + self.skipped_fields + self.skipped_objects
    }
}

/// How one detection fared.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionSummary {
    /// The detection (`flowq detect NAME`).
    pub detection: String,
    /// Its findings, and the highest severity among them.
    pub findings: usize,
    /// See `findings`.
    pub highest_severity: Option<String>,
}

/// The detections' findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Detections {
    /// Every detection that ran, with its count of findings.
    pub summary: Vec<DetectionSummary>,
    /// The thresholds they ran with (`detection: $name = value`).
    pub thresholds: Vec<String>,
    /// Every finding, as `flowq detect` gives it.
    pub findings: Table,
}

/// Traffic over time: one bucket per hour (per day past two weeks, per week — from Monday — past a
/// year, and more weeks a bucket past ten years).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Traffic {
    /// The bucket's length in seconds.
    pub bucket_seconds: i64,
    /// Each bucket's start (epoch seconds), and its sums, buckets without records included.
    pub buckets: Vec<Bucket>,
    /// The hours with records, as the query gave them (with NODATA, SKIPDATA and interfaces).
    pub hours: Table,
}

impl Traffic {
    /// The bucket in words: hour, day, week or `N weeks`.
    fn per(&self) -> String {
        match self.bucket_seconds {
            HOUR => "hour".to_string(),
            86_400 => "day".to_string(),
            604_800 => "week".to_string(),
            seconds => format!("{} weeks", seconds / 604_800),
        }
    }
}

/// One bucket of [`Traffic`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Its start, epoch seconds.
    pub start: i64,
    /// Records in it.
    pub records: i64,
    /// Accepted and rejected flows.
    pub accepted: i64,
    /// See `accepted`.
    pub rejected: i64,
    /// The bytes of the accepted and the rejected flows.
    pub accepted_bytes: i64,
    /// See `accepted_bytes`.
    pub rejected_bytes: i64,
}

/// One ranking.
#[derive(Debug, Clone, Serialize)]
pub struct Ranking {
    /// The query (`flowq NAME`, or the report's own `rejected-sources`).
    pub name: String,
    /// A heading, and what it ranks.
    pub title: String,
    /// See `title`.
    pub about: String,
    /// The rows.
    pub table: Table,
}

/// The report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// `flowq` and its version.
    pub flowq: String,
    /// When it was made (UTC).
    pub generated: String,
    /// The command line, argument by argument.
    pub command: Vec<String>,
    /// What it covers.
    pub window: Window,
    /// What was read.
    pub scanned: Scanned,
    /// What the detections found.
    pub detections: Detections,
    /// Coverage and problems.
    pub coverage: Coverage,
    /// Traffic over time.
    pub traffic: Traffic,
    /// Top talkers, top rejected sources, top pairs, administrative ports, traffic by type.
    pub rankings: Vec<Ranking>,
    /// Per account and region.
    pub accounts: Table,
}

/// What the report is made of besides the answers.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `--since` and `--until` (epoch seconds), and the time now.
    pub since: Option<i64>,
    /// See `since`.
    pub until: Option<i64>,
    /// See `since`.
    pub now: i64,
    /// Objects listed, their stored bytes, objects skipped by their key.
    pub objects_listed: u64,
    /// See `objects_listed`.
    pub stored_bytes: u64,
    /// See `objects_listed`.
    pub objects_skipped_by_key: u64,
    /// The scan's counters.
    pub totals: ScanTotals,
    /// Every problem, as reported.
    pub problems: Vec<String>,
    /// The command line.
    pub command: Vec<String>,
    /// The detections' thresholds (`detection: $name = value`).
    pub thresholds: Vec<String>,
}

/// The rankings, in the report's order, with their headings.
const RANKINGS: &[(&str, &str)] = &[
    ("top-talkers", "Top talkers"),
    ("rejected-sources", "Top rejected sources"),
    ("top-pairs", "Top pairs"),
    ("admin-ports", "Administrative ports"),
    ("traffic-by-type", "Traffic by type"),
];

impl Report {
    /// Puts the report together from the answers of [`crate::query::Engine::report_parts`].
    pub fn build(parts: &[ReportPart], context: Context) -> Result<Report, ArrowError> {
        let table = |name: &str| -> Result<Table, ArrowError> {
            match parts.iter().find(|p| p.name == name) {
                Some(part) => Table::from_batches(&part.schema, &part.batches),
                None => Ok(Table::default()),
            }
        };
        let accounts = table("accounts")?;
        let hours = table("hours")?;
        let findings = table("findings")?;
        let first_start = accounts.ints("first_start").flatten().min();
        let last_end = accounts.ints("last_end").flatten().max();
        let distinct = |column: &str| -> Vec<String> {
            accounts.texts(column).flatten().map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect()
        };
        let scanned = Scanned {
            objects_listed: context.objects_listed,
            stored_bytes: context.stored_bytes,
            objects_read: context.totals.objects,
            objects_skipped_by_key: context.objects_skipped_by_key,
            records: accounts.sum("records"),
            flows: accounts.sum("flows"),
            nodata: accounts.sum("nodata"),
            skipdata: accounts.sum("skipdata"),
            accepted: accounts.sum("accepted"),
            rejected: accounts.sum("rejected"),
            bytes: accounts.sum("bytes"),
            packets: accounts.sum("packets"),
            accounts: distinct("account_id"),
            regions: distinct("region"),
            interfaces: accounts.sum("interfaces"),
            untimed: accounts.sum("untimed"),
        };
        let logged: BTreeSet<i64> = hours.ints("hour").flatten().collect();
        let span = coverage_hours(&context, &logged);
        let gaps = span.map(|(from, to)| gaps(from, to, &logged)).unwrap_or_default();
        let window = Window {
            since: context.since.map(utc),
            until: context.until.map(utc),
            hours_from: span.map(|(from, _)| utc(from)),
            hours_to: span.map(|(_, to)| utc(to)),
            first_start: first_start.map(utc),
            last_end: last_end.map(utc),
        };
        let coverage = Coverage {
            hours: span.map_or(0, |(from, to)| (to - from) / HOUR),
            hours_with_logs: span.map_or(0, |(from, to)| logged.range(from..to).count() as i64),
            gaps,
            interfaces: interfaces_with_gaps(table("interfaces")?, span),
            late_objects: table("late")?,
            late_after: LATE_AFTER,
            skipped_lines: context.totals.bad_lines,
            skipped_fields: context.totals.bad_fields,
            skipped_objects: context.totals.bad_objects,
            problems: context.problems.clone(),
        };
        let detections = Detections {
            summary: BuiltinQuery::detections()
                .iter()
                .map(|d| {
                    let severities: Vec<&str> = findings
                        .texts("detection")
                        .zip(findings.texts("severity"))
                        .filter(|(name, _)| *name == Some(d.name))
                        .map(|(_, severity)| severity.unwrap_or_default())
                        .collect();
                    let highest = ["high", "medium", "low"]
                        .into_iter()
                        .find(|s| severities.iter().any(|v| v.eq_ignore_ascii_case(s)));
                    DetectionSummary {
                        detection: d.name.to_string(),
                        findings: severities.len(),
                        highest_severity: highest.map(str::to_string),
                    }
                })
                .collect(),
            thresholds: context.thresholds.clone(),
            findings,
        };
        let rankings = RANKINGS
            .iter()
            .map(|(name, title)| {
                let about = match BuiltinQuery::named(name) {
                    Some(query) => query.header("answers").unwrap_or_default().to_string(),
                    None => "The sources of the most rejected flows (any protocol), with the targets and ports they \
                             tried."
                        .to_string(),
                };
                Ok(Ranking { name: name.to_string(), title: title.to_string(), about, table: table(name)? })
            })
            .collect::<Result<Vec<_>, ArrowError>>()?;
        let traffic = traffic(&hours, span);
        Ok(Report {
            flowq: format!("flowq {}", env!("CARGO_PKG_VERSION")),
            generated: utc(context.now),
            command: context.command,
            window,
            scanned,
            detections,
            coverage,
            traffic,
            rankings,
            accounts,
        })
    }

    /// Whether any detection found anything.
    pub fn fired(&self) -> bool {
        !self.detections.findings.rows.is_empty()
    }

    /// The numbers a reader looks for first: label, value, and whether it calls for attention.
    fn headline(&self) -> Vec<(&'static str, String, bool)> {
        let (s, c) = (&self.scanned, &self.coverage);
        let count = |n: i64| grouped(n.max(0).unsigned_abs());
        let findings = self.detections.findings.rows.len() as i64;
        let silent = c.hours - c.hours_with_logs;
        let skipped = c.skipped();
        let mut headline = vec![
            ("findings", count(findings), findings > 0),
            ("records", count(s.records), false),
            ("accepted / rejected flows", format!("{} / {}", count(s.accepted), count(s.rejected)), false),
            ("bytes in flows", human_bytes(s.bytes.max(0).unsigned_abs()), false),
            ("objects read / listed", format!("{} / {}", grouped(s.objects_read), grouped(s.objects_listed)), false),
            ("interfaces", count(s.interfaces), false),
            ("accounts / regions", format!("{} / {}", s.accounts.len(), s.regions.len()), false),
            ("hours without logs", format!("{silent} of {}", c.hours), silent > 0),
            ("NODATA / SKIPDATA records", format!("{} / {}", count(s.nodata), count(s.skipdata)), s.skipdata > 0),
            ("lines, fields, objects skipped", grouped(skipped), skipped > 0),
        ];
        if s.untimed > 0 {
            headline.push(("records without an end time (in no hour)", count(s.untimed), true));
        }
        headline
    }

    /// Each detection with its count of findings and highest severity.
    fn detection_table(&self) -> Table {
        Table {
            columns: ["detection", "findings", "highest_severity"].map(String::from).to_vec(),
            rows: self
                .detections
                .summary
                .iter()
                .map(|d| vec![d.detection.clone().into(), d.findings.into(), d.highest_severity.clone().into()])
                .collect(),
        }
    }

    /// The hours without logs, a run a row.
    fn gap_table(&self) -> Table {
        Table {
            columns: ["from", "to", "hours"].map(String::from).to_vec(),
            rows: self
                .coverage
                .gaps
                .iter()
                .map(|g| vec![g.from.clone().into(), g.to.clone().into(), g.hours.into()])
                .collect(),
        }
    }

    /// The records' span, from the earliest start to the latest end.
    fn records_span(&self) -> String {
        match (&self.window.first_start, &self.window.last_end) {
            (Some(first), Some(last)) => format!("The records span {first} to {last}."),
            _ => "There are no records.".to_string(),
        }
    }

    /// `since to until` of the hours covered, or that there were no records.
    fn window_text(&self) -> String {
        match (&self.window.hours_from, &self.window.hours_to) {
            (Some(from), Some(to)) => format!("{from} to {to}"),
            _ => "no records".to_string(),
        }
    }

    /// The report in `format`.
    pub fn render(&self, format: ReportFormat) -> Result<String, serde_json::Error> {
        Ok(match format {
            ReportFormat::Html => html::render(self),
            ReportFormat::Markdown => markdown::render(self),
            ReportFormat::Json => serde_json::to_string_pretty(self)? + "\n",
        })
    }
}

/// The hours whose coverage is reported, `[from, to)` on hour boundaries: from `--since` (else the
/// first hour with a record) to `--until` (else, with `--since`, the last whole hour before now less
/// the delivery delay; else the hour after the last with a record). `None` without `--since` and
/// without a record.
fn coverage_hours(context: &Context, logged: &BTreeSet<i64>) -> Option<(i64, i64)> {
    let from = context.since.or_else(|| logged.first().copied())?.div_euclid(HOUR) * HOUR;
    let ceil = |t: i64| t.div_euclid(HOUR).saturating_add(i64::from(t.rem_euclid(HOUR) > 0)).saturating_mul(HOUR);
    let to = match (context.until, context.since) {
        (Some(until), _) => ceil(until),
        // An hour counts only once its records could all have been delivered.
        (None, Some(_)) => (context.now - DELIVERY_DELAY).div_euclid(HOUR) * HOUR,
        (None, None) => logged.last()?.saturating_add(HOUR),
    };
    Some((from, to.max(from)))
}

/// The interfaces with hours without logs between their first and last record, with SKIPDATA, or
/// quiet since before the last hour of the window (`quiet_hours`: the hours from their last record's
/// to the window's end), most hours without logs first.
fn interfaces_with_gaps(mut table: Table, span: Option<(i64, i64)>) -> Table {
    let quiet: Vec<i64> = table
        .ints("last_seen")
        .map(|last| match (last, span) {
            (Some(last), Some((_, to))) => ((to - (last - last.rem_euclid(HOUR))) / HOUR - 1).max(0),
            _ => 0,
        })
        .collect();
    let gaps: Vec<i64> = table.ints("hours_without_logs").map(Option::unwrap_or_default).collect();
    let skipdata: Vec<i64> = table.ints("skipdata").map(Option::unwrap_or_default).collect();
    let mut rows: Vec<(i64, i64, Vec<Value>)> = std::mem::take(&mut table.rows)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| gaps[*i] > 0 || skipdata[*i] > 0 || quiet[*i] > 0)
        .map(|(i, mut row)| {
            row.push(quiet[i].into());
            (gaps[i] + quiet[i], skipdata[i], row)
        })
        .collect();
    // Stable: rows of equal weight stay in the query's order (by interface).
    rows.sort_by_key(|(weight, skipdata, _)| std::cmp::Reverse((*weight, *skipdata)));
    table.columns.push("quiet_hours".to_string());
    table.rows = rows.into_iter().map(|(_, _, row)| row).collect();
    table
}

/// The runs of hours in `[from, to)` that are not in `logged` (hour boundaries all).
fn gaps(from: i64, to: i64, logged: &BTreeSet<i64>) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let mut next = from;
    for &hour in logged.range(from..to).chain(std::iter::once(&to)) {
        if hour > next {
            gaps.push(Gap { from: utc(next), to: utc(hour), hours: (hour - next) / HOUR });
        }
        next = hour.saturating_add(HOUR);
    }
    gaps
}

/// The hours' sums in buckets over the window and every hour with records: hours up to two weeks,
/// days up to a year, weeks (from Monday) past it, as many weeks a bucket as keep them to
/// [`MAX_BUCKETS`].
fn traffic(hours: &Table, span: Option<(i64, i64)>) -> Traffic {
    let logged: Vec<i64> = hours.ints("hour").flatten().collect();
    let first = logged.iter().copied().chain(span.map(|s| s.0)).min();
    let last = logged.iter().map(|h| h.saturating_add(HOUR)).chain(span.map(|s| s.1)).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Traffic { bucket_seconds: HOUR, buckets: Vec::new(), hours: hours.clone() };
    };
    const DAY: i64 = 24 * HOUR;
    const WEEK: i64 = 7 * DAY;
    let span = last.saturating_sub(first);
    let (bucket, offset) = match span / HOUR {
        n if n <= 14 * 24 => (HOUR, 0),
        n if n <= 366 * 24 => (DAY, 0),
        // 1970-01-01 was a Thursday: weeks start four days after it.
        _ => (WEEK.saturating_mul((span / WEEK).div_euclid(MAX_BUCKETS as i64) + 1), 4 * DAY),
    };
    let first = (first - offset).div_euclid(bucket) * bucket + offset;
    let count = usize::try_from(last.saturating_sub(first).div_euclid(bucket) + 1).unwrap_or(0).min(MAX_BUCKETS + 2);
    let mut buckets: Vec<Bucket> =
        (0..count).map(|i| Bucket { start: first + i as i64 * bucket, ..Bucket::default() }).collect();
    while buckets.last().is_some_and(|b| b.start >= last) {
        buckets.pop();
    }
    let column = |name: &str| hours.ints(name).map(Option::unwrap_or_default).collect::<Vec<i64>>();
    let (records, accepted, rejected) = (column("records"), column("accepted"), column("rejected"));
    let (accepted_bytes, rejected_bytes) = (column("accepted_bytes"), column("rejected_bytes"));
    for (i, hour) in hours.ints("hour").enumerate() {
        let Some(hour) = hour else { continue };
        let Some(b) = usize::try_from((hour - first) / bucket).ok().and_then(|b| buckets.get_mut(b)) else {
            continue;
        };
        b.records += records[i];
        b.accepted += accepted[i];
        b.rejected += rejected[i];
        b.accepted_bytes += accepted_bytes[i];
        b.rejected_bytes += rejected_bytes[i];
    }
    Traffic { bucket_seconds: bucket, buckets, hours: hours.clone() }
}

/// Epoch seconds as UTC, RFC 3339.
pub fn utc(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map_or_else(|| seconds.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Columns of the report's own tables that hold epoch seconds, besides those of every answer
/// ([`crate::output::TIME_COLUMNS`]).
const REPORT_TIME_COLUMNS: &[&str] = &["first_start", "last_end", "first_end", "named_time", "hour"];

/// Whether `column` holds epoch seconds.
fn is_time(column: &str) -> bool {
    crate::output::TIME_COLUMNS.contains(&column) || REPORT_TIME_COLUMNS.contains(&column)
}

/// A cell as text: times as UTC, byte counts in binary units (with `exact` the number too), other
/// numbers with thousands separators.
fn cell(column: &str, value: &Value, exact: bool) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Number(n) => match n.as_i64() {
            Some(seconds) if is_time(column) => chrono::DateTime::from_timestamp(seconds, 0)
                .map_or_else(|| seconds.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            Some(bytes) if column.ends_with("bytes") && bytes >= 0 => {
                let human = human_bytes(bytes.unsigned_abs());
                if exact && bytes >= 1024 { format!("{human} ({})", grouped(bytes.unsigned_abs())) } else { human }
            }
            Some(number) if column == "port" || column.ends_with("port") => number.to_string(),
            Some(seconds) if column == "late_by" && seconds >= 0 => {
                let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
                if h > 0 { format!("{h}h {m:02}m {s:02}s") } else { format!("{m}m {s:02}s") }
            }
            Some(number) if number >= 0 => grouped(number.unsigned_abs()),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A time for a heading: `2024-03-01 04:00 UTC`.
fn heading_time(seconds: i64, bucket: i64) -> String {
    let format = if bucket >= 24 * HOUR { "%Y-%m-%d" } else { "%m-%d %H:%M" };
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(|| seconds.to_string(), |t| t.format(format).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_without_records_are_runs_inside_the_window() {
        let h = |n: i64| 1_709_251_200 + n * HOUR;
        let logged: BTreeSet<i64> = [h(0), h(1), h(4), h(6)].into_iter().collect();
        let found = gaps(h(0), h(8), &logged);
        let runs: Vec<i64> = found.iter().map(|g| g.hours).collect();
        assert_eq!(runs, [2, 1, 1]);
        assert_eq!(found[0].from, "2024-03-01T02:00:00Z");
        assert_eq!(found[0].to, "2024-03-01T04:00:00Z");
        // --since alone: up to the last whole hour before now less the delivery delay.
        let context = Context { since: Some(h(0) + 600), now: h(10) + 10 * 60, ..Context::default() };
        assert_eq!(coverage_hours(&context, &logged), Some((h(0), h(9))));
        let context = Context { since: Some(h(0)), now: h(11) + 20 * 60, ..Context::default() };
        assert_eq!(coverage_hours(&context, &logged), Some((h(0), h(11))));
        let context = Context { since: Some(h(0)), until: Some(h(9) + 1), now: h(100), ..Context::default() };
        assert_eq!(coverage_hours(&context, &logged), Some((h(0), h(10))));
        let context = Context { now: h(100), ..Context::default() };
        assert_eq!(coverage_hours(&context, &logged), Some((h(0), h(7))));
        assert_eq!(coverage_hours(&context, &BTreeSet::new()), None);
        assert!(gaps(h(0), h(2), &logged).is_empty());
        // A record from the far future (a damaged end) makes long buckets, not billions of them.
        let hours = Table {
            columns: vec!["hour".into(), "records".into()],
            rows: vec![vec![h(0).into(), 3.into()], vec![(1_000_000_000_000_i64 / HOUR * HOUR).into(), 1.into()]],
        };
        let traffic = traffic(&hours, None);
        assert!(traffic.buckets.len() <= MAX_BUCKETS + 1, "{}", traffic.buckets.len());
        assert_eq!(traffic.buckets.iter().map(|b| b.records).sum::<i64>(), 4);
        assert_eq!(traffic.buckets.first().map(|b| (b.start - 4 * 86_400).rem_euclid(604_800)), Some(0), "a Monday");
    }

    #[test]
    fn cells_read_as_people_write_them() {
        assert_eq!(cell("first_seen", &Value::from(1_709_251_200), false), "2024-03-01 00:00:00");
        assert_eq!(cell("bytes", &Value::from(4_194_304), true), "4 MiB (4,194,304)");
        assert_eq!(cell("flows", &Value::from(12_345), false), "12,345");
        assert_eq!(cell("port", &Value::from(3389), false), "3389");
        assert_eq!(cell("late_by", &Value::from(7185), false), "1h 59m 45s");
        assert_eq!(cell("srcaddr", &Value::Null, false), "");
    }
}
