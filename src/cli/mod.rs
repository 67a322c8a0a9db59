//! The command line: clap definitions ([`args`]), their checking into a [`Plan`] ([`plan`]), and the
//! wiring from a plan to an answer. No Arrow arrays are built here.

pub mod args;
pub mod plan;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::FromArgMatches;

pub use args::Cli;
pub use plan::{Action, Invocation, Plan, UsageError};

use crate::output;
use crate::output::convert::{self, Converted, Folder, RunRecord};
use crate::output::manifest::{Digesting, Manifest, ManifestObject, Output, Records};
use crate::query::{BuiltinQuery, Engine, Entity, QueryArgs, Source};
use crate::report::{self, Report, ReportFormat, utc};
use crate::source::{self, ObjectRef};
use crate::table::{ScanReport, ScanTotals};

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered, everything was read.
    Complete,
    /// Answered, but some lines or objects could not be read (they were listed on stderr).
    Partial,
    /// A report in which a detection fired; `partial` when, too, something could not be read.
    Findings {
        /// Some lines or objects could not be read.
        partial: bool,
    },
}

impl Outcome {
    /// The exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Complete => EXIT_OK,
            Outcome::Partial => EXIT_PARTIAL,
            Outcome::Findings { partial: false } => EXIT_FINDINGS,
            Outcome::Findings { partial: true } => EXIT_FINDINGS_PARTIAL,
        }
    }

    /// How the manifest names it.
    fn name(self) -> &'static str {
        match self {
            Outcome::Complete => "complete",
            Outcome::Partial => "partial",
            Outcome::Findings { partial: false } => "findings",
            Outcome::Findings { partial: true } => "findings, partial",
        }
    }
}

/// Exit code: answered and everything was read.
pub const EXIT_OK: u8 = 0;
/// Exit code: the run failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the command line was wrong (clap's own code for usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: answered, but something was skipped.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code: a report in which a detection fired (everything was read).
pub const EXIT_FINDINGS: u8 = 4;
/// Exit code: a report in which a detection fired, and something was skipped.
pub const EXIT_FINDINGS_PARTIAL: u8 = 5;

/// Exit code: interrupted by Ctrl-C (SIGINT), as shells say it (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The run was interrupted by Ctrl-C (SIGINT).
#[derive(Debug, thiserror::Error)]
#[error("interrupted: no file it was writing was put in place")]
pub struct Interrupted;

/// Parses the process arguments and runs them.
pub fn run() -> anyhow::Result<Outcome> {
    let cli = Cli::from_arg_matches(&args::command().get_matches()).unwrap_or_else(|e| e.exit());
    let now = chrono::Utc::now().timestamp();
    match Plan::from_cli(cli, now)? {
        Invocation::ListQueries => {
            write_catalogue(&mut std::io::stdout().lock()).context("writing the query list")?;
            Ok(Outcome::Complete)
        }
        Invocation::Run(plan) => {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
            let interrupted = interrupted();
            runtime.block_on(async {
                tokio::select! {
                    outcome = execute(*plan) => outcome,
                    // The run is dropped, and with it what it was making: the copy of the logs,
                    // spilled sorts, an output file not yet complete.
                    Ok(()) = interrupted => Err(Interrupted.into()),
                }
            })
        }
    }
}

/// Resolves when the process gets SIGINT (Ctrl-C); never, if it cannot listen for it. It listens on
/// a thread of its own: the runtime's workers, busy scanning, would see the signal only between
/// tasks, and a short run would end first.
fn interrupted() -> tokio::sync::oneshot::Receiver<()> {
    let (tell, told) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let Ok(listener) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
        if listener.block_on(tokio::signal::ctrl_c()).is_ok() {
            let _ = tell.send(());
        }
    });
    told
}

/// Runs a checked plan.
pub async fn execute(plan: Plan) -> anyhow::Result<Outcome> {
    let started = utc(chrono::Utc::now().timestamp());
    for problem in &plan.list_problems {
        eprintln!("flowq: {problem}");
    }
    if !plan.quiet {
        for note in &plan.list_notes {
            eprintln!("flowq: {note}");
        }
    }
    let sources = list_sources(&plan).await?;
    let pruned: usize = sources.iter().map(|s| s.listing.pruned).sum();
    if let Action::Convert(out) = &plan.action {
        return convert(&plan, out, sources, pruned).await;
    }
    if plan.dry_run {
        return dry_run(&plan, &sources, pruned).await;
    }
    if let Action::Report(format, args) = &plan.action {
        return report(&plan, (*format, args), sources, pruned, started).await;
    }
    // Detections read the logs one after another: more than one reads them once, into a copy.
    let passes = match &plan.action {
        Action::Detect { detections, .. } => detections.len().max(1) as u64,
        _ => 1,
    };
    let stored: u64 = sources.iter().flat_map(|s| &s.listing.objects).map(|o| o.size).sum();
    let sources_size = (sources.iter().map(|s| s.listing.objects.len() as u64).sum::<u64>(), stored);
    let listed: Vec<ObjectRef> = match plan.manifest {
        Some(_) => sources.iter().flat_map(|s| s.listing.objects.iter().cloned()).collect(),
        None => Vec::new(),
    };
    let mut engine = Engine::open(sources, plan.options.clone(), &plan.filters, Some(plan.memory_limit)).await?;
    if let Some(blocks) = &plan.internal {
        engine.set_internal(blocks.clone());
    }
    let mut progress = Progress::start(&plan, &sources_size, Arc::clone(engine.report()));
    let answer = async {
        match &plan.action {
            Action::Builtin(query, args) => engine.builtin(query, args).await?.execute_stream().await,
            Action::Sql(sql, limit) => engine.sql(sql, *limit).await?.execute_stream().await,
            Action::Detect { detections, args, flows } => {
                if passes > 1 {
                    if engine.read_once().await? {
                        progress.querying(format!("logs read into a copy; running {passes} detections"));
                    } else {
                        // Parquet, read in place by every detection.
                        progress.bar.set_length(stored * passes);
                    }
                }
                engine.detect(detections, args, *flows).await
            }
            Action::Timeline(entity, every, limit) => {
                engine.timeline(entity, *every, *limit).await?.execute_stream().await
            }
            Action::Convert(_) | Action::Report(..) => {
                Err(datafusion::error::DataFusionError::Internal("convert and report run apart".into()))
            }
        }
    }
    .await;
    let written = match answer {
        Ok(stream) => emit(stream, &plan, &progress.bar).await,
        Err(e) => Err(e.into()),
    };
    progress.finish();
    let report = engine.report();
    let totals = print_problems(report);
    let mut err = std::io::stderr().lock();
    let written = written.map_err(|err| memory_hint(err, plan.memory_limit))?;
    if let Action::Timeline(entity, ..) = &plan.action
        && written.rows == 0
        && !written.pipe_closed
    {
        let why = match entity {
            Entity::Instance(_) => " (instances are found only in logs whose format records instance-id)",
            _ => "",
        };
        let _ = writeln!(err, "flowq: no flow of {entity} in what was read{why}");
    }
    if !plan.quiet {
        // Over several passes the bytes fetched add up: the summary gives the objects' own.
        let totals = if passes > 1 { ScanTotals { bytes: stored, ..totals } } else { totals };
        let _ = writeln!(err, "{}", summary(&totals, pruned));
    }
    if !plan.list_problems.is_empty() {
        let _ = writeln!(
            err,
            "flowq: SKIPPED {} entries of the --ioc lists that could not be read (listed above): not swept for",
            plan.list_problems.len()
        );
    }
    let skipped = totals.skipped_anything() || !plan.list_problems.is_empty();
    let outcome = if skipped { Outcome::Partial } else { Outcome::Complete };
    if let Some(path) = &plan.manifest {
        let run = Run { started, objects: &listed, pruned, report };
        write_manifest(&plan, path, run, &written, outcome)?;
    }
    Ok(outcome)
}

/// Lists the scan's problems on standard error; the scan's totals.
fn print_problems(report: &ScanReport) -> ScanTotals {
    let problems = report.problems();
    let totals = report.totals();
    let mut err = std::io::stderr().lock();
    for problem in &problems {
        let _ = writeln!(err, "flowq: {problem}");
    }
    let unlisted = (totals.bad_lines + totals.bad_fields + totals.bad_objects).saturating_sub(problems.len() as u64);
    if unlisted > 0 {
        let _ = writeln!(err, "flowq: … and {unlisted} more problems, counted but not listed");
    }
    totals
}

/// `flowq convert`: the objects not converted before, into the folder `out`.
async fn convert(plan: &Plan, out: &Path, mut sources: Vec<Source>, pruned: usize) -> anyhow::Result<Outcome> {
    // The copy may not lie inside what it reads: its files would be read and converted again.
    let absolute = |p: &Path| match (std::fs::canonicalize(p), p.parent(), p.file_name()) {
        (Ok(p), ..) => Some(p),
        (Err(_), Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
            std::fs::canonicalize(parent).ok().map(|parent| parent.join(name))
        }
        _ => None,
    };
    if let Some(root) = absolute(out)
        && let Some(input) = plan
            .selection
            .paths
            .iter()
            .find(|p| std::fs::canonicalize(p).is_ok_and(|p| root.starts_with(&p) || p.starts_with(&root)))
    {
        anyhow::bail!(
            "--out {} and --path {input} overlap: the copy would be read as flow logs and converted again; \
             write the copy outside the folders it reads",
            out.display()
        );
    }
    // A dry run only reads the state: it writes nothing, not even the folder.
    let mut folder = if plan.dry_run { None } else { Some(Folder::open(out)?) };
    let state = match &folder {
        Some(folder) => folder.state.clone(),
        None => convert::State::read(out)?,
    };
    let now = chrono::Utc::now();
    let run = format!("{}-{}-{}", now.format("%Y%m%dT%H%M%SZ"), std::process::id(), now.timestamp_subsec_nanos());
    let (mut already, mut changed) = (0usize, Vec::new());
    // (object name, id in the state, what it is)
    let mut fresh: Vec<(String, String, Converted)> = Vec::new();
    for source in &mut sources {
        let local = source.store.is_none();
        source.listing.objects.retain(|o| {
            let id = if local { format!("file:///{}", o.location) } else { o.name.clone() };
            let now = Converted { size: o.size, etag: o.etag.clone(), modified: o.modified, run: run.clone() };
            match state.objects.get(&id) {
                Some(before) if before.same_object(&now) => already += 1,
                Some(before) => changed.push(format!(
                    "{}: changed since run {} converted it ({}): not converted again; its earlier records stay \
                     in the copy (convert into a new folder to start afresh)",
                    o.name,
                    before.run,
                    before.difference(&now)
                )),
                None => {
                    fresh.push((o.name.clone(), id, now));
                    return true;
                }
            }
            false
        });
    }
    for note in &changed {
        eprintln!("flowq: warning: {note}");
    }
    let Some(folder) = folder.as_mut() else {
        return dry_run(plan, &sources, pruned).await;
    };
    if fresh.is_empty() {
        if !plan.quiet {
            eprintln!("flowq: nothing new to convert into {} ({already} objects converted before)", out.display());
        }
        return Ok(if changed.is_empty() { Outcome::Complete } else { Outcome::Partial });
    }
    let sources_size = (fresh.len() as u64, sources.iter().flat_map(|s| &s.listing.objects).map(|o| o.size).sum());
    let engine = Engine::open(sources, plan.options.clone(), &plan.filters, Some(plan.memory_limit)).await?;
    let report = Arc::clone(engine.report());
    let progress = Progress::start(plan, &sources_size, Arc::clone(&report));
    let staging = folder.staging(&run);
    let written = async {
        let flows = engine.context().table("flows").await?;
        let schema = flows.schema().as_arrow().clone();
        let columns: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| f.name())
            .filter(|c| engine.named_columns().contains(c) || convert::ALWAYS.contains(&c.as_str()))
            .cloned()
            .collect();
        let stream = engine.context().sql(&convert::sql(&columns)).await?.execute_stream().await?;
        convert::write_partitions(stream, &schema, &staging, &run, report.as_ref()).await
    }
    .await;
    progress.finish();
    let totals = print_problems(&report);
    let written = match written {
        Ok(written) => written,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(memory_hint(e.into(), plan.memory_limit));
        }
    };
    // The objects left out are those damaged when writing began (the sort had read everything);
    // should the scan have found more since, nothing is committed.
    let damaged = written.damaged.clone();
    if report.damaged_objects() != damaged {
        let _ = std::fs::remove_dir_all(&staging);
        anyhow::bail!("the scan found damaged objects after writing began: nothing converted; run again");
    }
    let retry = fresh.iter().filter(|(name, ..)| damaged.contains(name)).count();
    let converted: Vec<(String, Converted)> =
        fresh.into_iter().filter(|(name, ..)| !damaged.contains(name)).map(|(_, id, c)| (id, c)).collect();
    let files = written.files.len();
    let converted_objects = converted.len();
    let record = RunRecord { id: run, objects: converted.len(), records: written.records, files: written.files };
    if record.objects == 0 && record.files.is_empty() {
        let _ = std::fs::remove_dir_all(&staging);
    } else {
        folder.commit(record, converted)?;
    }
    if !plan.quiet {
        eprintln!("{}", summary(&totals, pruned));
        let mut line = format!(
            "flowq: converted {} objects ({} records) into {files} files under {}; {already} objects were converted before",
            converted_objects,
            written.records,
            out.display()
        );
        if retry > 0 {
            line.push_str(&format!(
                "; {retry} objects could not be read whole (listed above): left out ({} records), tried again next run",
                written.left_out
            ));
        }
        eprintln!("{line}");
    }
    let skipped = totals.skipped_anything() || !changed.is_empty();
    Ok(if skipped { Outcome::Partial } else { Outcome::Complete })
}

/// `flowq report`: every section, ranking and detection over the objects, in one document.
async fn report(
    plan: &Plan,
    (format, args): (ReportFormat, &QueryArgs),
    sources: Vec<Source>,
    pruned: usize,
    started: String,
) -> anyhow::Result<Outcome> {
    let listed: Vec<ObjectRef> = sources.iter().flat_map(|s| s.listing.objects.iter().cloned()).collect();
    let stored: u64 = listed.iter().map(|o| o.size).sum();
    let mut engine = Engine::open(sources, plan.options.clone(), &plan.filters, Some(plan.memory_limit)).await?;
    if let Some(blocks) = &plan.internal {
        engine.set_internal(blocks.clone());
    }
    // The report's parts: the sections and rankings, one query each, then the findings of the
    // detections, one query each. The logs are read once, into a copy that every query reads.
    let part_count =
        BuiltinQuery::named("report").map_or(0, |q| q.sections().len()) + crate::query::REPORT_RANKINGS.len() + 1;
    let passes = part_count - 1 + BuiltinQuery::detections().len();
    let mut progress = Progress::start(plan, &(listed.len() as u64, stored), Arc::clone(engine.report()));
    let parts = async {
        let copied = engine.read_once().await?;
        if !copied {
            // Parquet, read in place by every query.
            progress.bar.set_length(stored * passes as u64);
        }
        let mut started = 0;
        engine
            .report_parts(report::LATE_AFTER, args, |name| {
                started += 1;
                if copied {
                    progress.querying(format!("logs read into a copy; report query {started} of {part_count}: {name}"));
                }
            })
            .await
    }
    .await;
    progress.finish();
    let scan = engine.report();
    let totals = print_problems(scan);
    let parts = parts.map_err(|e| memory_hint(e.into(), plan.memory_limit))?;
    let (_, thresholds) = plan::detections_sql(&BuiltinQuery::detections(), args, false);
    let context = report::Context {
        since: plan.filters.window.since,
        until: plan.filters.window.until,
        now: chrono::Utc::now().timestamp(),
        objects_listed: listed.len() as u64,
        stored_bytes: stored,
        objects_skipped_by_key: pruned as u64,
        totals,
        problems: scan.problems().iter().map(ToString::to_string).collect(),
        command: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        thresholds,
    };
    let document = Report::build(&parts, context).context("putting the report together")?;
    let text = document.render(format).context("writing the report")?;
    let findings = document.detections.findings.rows.len() as u64;
    let written = match &plan.output {
        Some(path) => {
            write_file(path, plan.manifest.is_some(), async |out| {
                out.write_all(text.as_bytes())?;
                Ok(findings)
            })
            .await?
        }
        None => {
            let mut out = Digesting::new(BufWriter::new(std::io::stdout()), plan.manifest.is_some());
            let done = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            let pipe_closed = match done {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
                Err(e) => return Err(anyhow::Error::from(e).context("writing the report")),
                Ok(()) => false,
            };
            let (bytes, sha256) = out.finish();
            Written { rows: findings, bytes, sha256, pipe_closed }
        }
    };
    if !plan.quiet {
        // The bytes fetched add up over the passes: the summary gives the objects' own.
        eprintln!("{}", summary(&ScanTotals { bytes: stored, ..totals }, pruned));
        let fired: Vec<String> = document
            .detections
            .summary
            .iter()
            .filter(|d| d.findings > 0)
            .map(|d| format!("{} {}", d.detection, d.findings))
            .collect();
        let place = plan.output.as_ref().map_or_else(|| "standard output".to_string(), |p| p.display().to_string());
        eprintln!(
            "flowq: report ({format}) written to {place}: {}",
            if fired.is_empty() {
                "no detection fired".to_string()
            } else {
                format!("{findings} findings ({})", fired.join(", "))
            }
        );
    }
    // Logs that stopped are news even without a finding: said on stderr, which cron mails, however quiet.
    let coverage = &document.coverage;
    if coverage.hours_with_logs < coverage.hours {
        eprintln!(
            "flowq: warning: {} of the {} hours from {} to {} have no records{}",
            coverage.hours - coverage.hours_with_logs,
            coverage.hours,
            document.window.hours_from.as_deref().unwrap_or("-"),
            document.window.hours_to.as_deref().unwrap_or("-"),
            if coverage.hours_with_logs == 0 { ": no logs at all in the window" } else { " (the report lists them)" }
        );
    }
    if document.scanned.untimed > 0 {
        eprintln!(
            "flowq: warning: {} records have no end time (their format has no `end` field, or it is `-`): they are \
             counted, but in no hour of the coverage and traffic",
            document.scanned.untimed
        );
    }
    let partial = totals.skipped_anything();
    let outcome = match (document.fired(), partial) {
        (true, partial) => Outcome::Findings { partial },
        (false, true) => Outcome::Partial,
        (false, false) => Outcome::Complete,
    };
    if let Some(path) = &plan.manifest {
        let run = Run { started, objects: &listed, pruned, report: scan };
        write_manifest(plan, path, run, &written, outcome)?;
    }
    Ok(outcome)
}

/// A query that ran out of memory says which flag gives it more.
fn memory_hint(err: anyhow::Error, limit: usize) -> anyhow::Error {
    let query = match (err.downcast_ref::<output::OutputError>(), err.downcast_ref::<convert::ConvertError>()) {
        (Some(output::OutputError::Query(query)), _) | (_, Some(convert::ConvertError::Query(query))) => Some(query),
        _ => err.downcast_ref::<datafusion::error::DataFusionError>(),
    };
    let exhausted =
        query.is_some_and(|q| matches!(q.find_root(), datafusion::error::DataFusionError::ResourcesExhausted(_)));
    if exhausted {
        err.context(format!("the query needs more than --memory-limit {} MiB: raise it", limit >> 20))
    } else {
        err
    }
}

/// A writer that clears the progress bar before its first byte.
struct ClearsBar<W> {
    bar: indicatif::ProgressBar,
    out: W,
}

impl<W: Write> Write for ClearsBar<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The progress bar of a long scan: on stderr when it is a terminal, unless `--quiet`.
struct Progress {
    bar: indicatif::ProgressBar,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(plan: &Plan, (objects, bytes): &(u64, u64), report: Arc<ScanReport>) -> Progress {
        use std::io::IsTerminal;
        if plan.quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: indicatif::ProgressBar::hidden(), ticker: None };
        }
        let bar = indicatif::ProgressBar::new(*bytes);
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        let objects = *objects;
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            while !ticking.is_finished() {
                let totals = report.totals();
                ticking.set_position(totals.bytes);
                ticking.set_message(format!("{}/{objects} objects, {} records", totals.objects, totals.records));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
        Progress { bar, ticker: Some(ticker) }
    }

    /// The logs are read (into a copy, which the queries now read): the bar of bytes would stand still,
    /// so it becomes a spinner saying `what` is being done.
    fn querying(&mut self, what: String) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
            let style = indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            self.bar.set_style(style);
            self.bar.enable_steady_tick(std::time::Duration::from_millis(200));
        }
        self.bar.set_message(what);
    }

    fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        self.bar.finish_and_clear();
    }
}

/// Lists every source of the plan: local paths, then each bucket. An object reached twice (two
/// overlapping prefixes of one bucket) is listed once.
async fn list_sources(plan: &Plan) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    if !plan.selection.paths.is_empty() {
        sources.push(Source::local(source::list_local(&plan.selection)?));
    }
    let mut seen = std::collections::HashSet::new();
    for url in &plan.buckets {
        let bucket = source::connect(url, &plan.s3).await?;
        let mut listing = source::list_bucket(&bucket, &plan.selection).await?;
        if listing.objects.is_empty() && listing.pruned == 0 && listing.pruned_prefixes == 0 && !plan.quiet {
            eprintln!(
                "flowq: warning: nothing under {url}/ (a prefix names a folder, e.g. s3://{}/AWSLogs)",
                url.bucket
            );
        }
        listing.objects.retain(|o| seen.insert(o.name.clone()));
        sources.push(Source { url: format!("s3://{}", url.bucket), store: Some(bucket.store), listing });
    }
    Ok(sources)
}

/// `--dry-run`: the objects that would be read, and a summary, without reading them.
async fn dry_run(plan: &Plan, sources: &[Source], pruned: usize) -> anyhow::Result<Outcome> {
    let objects: Vec<&ObjectRef> = sources.iter().flat_map(|s| &s.listing.objects).collect();
    let batch = output::object_list(&objects)?;
    emit(output::batch_stream(batch), plan, &indicatif::ProgressBar::hidden()).await?;
    let bytes: u64 = objects.iter().map(|o| o.size).sum();
    let span = objects
        .iter()
        .filter_map(|o| o.key.delivered)
        .fold(None, |acc: Option<(i64, i64)>, (s, e)| Some(acc.map_or((s, e), |(a, b)| (a.min(s), b.max(e)))));
    let span = match span {
        Some((start, end)) => format!("delivered {} to {}", utc(start), utc(end)),
        None => "no delivery times in their keys".to_string(),
    };
    let pruned_prefixes: usize = sources.iter().map(|s| s.listing.pruned_prefixes).sum();
    let unreadable: usize = sources.iter().map(|s| s.listing.unreadable.len()).sum();
    if !plan.quiet {
        eprintln!(
            "flowq: dry run: would read {} objects ({}), {span}; skipped by their key: {pruned} objects, {pruned_prefixes} prefixes{}",
            objects.len(),
            report::human_bytes(bytes),
            if unreadable > 0 { format!("; {unreadable} entries cannot be read") } else { String::new() }
        );
    }
    Ok(Outcome::Complete)
}

/// Writes an answer where the plan says; on standard output, the progress bar is cleared before the
/// answer's first byte so the two never share the terminal.
async fn emit(
    stream: datafusion::execution::SendableRecordBatchStream,
    plan: &Plan,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Written> {
    match &plan.output {
        Some(path) => {
            write_file(path, plan.manifest.is_some(), async |out| Ok(output::write(stream, plan.format, out).await?))
                .await
        }
        None => {
            let out = ClearsBar { bar: bar.clone(), out: BufWriter::new(std::io::stdout()) };
            let mut out = Digesting::new(out, plan.manifest.is_some());
            match output::write(stream, plan.format, &mut out).await {
                Err(e) if e.is_broken_pipe() => {
                    let (bytes, sha256) = out.finish();
                    Ok(Written { rows: 0, bytes, sha256, pipe_closed: true })
                }
                Err(e) => Err(e.into()),
                Ok(rows) => {
                    out.flush().context("writing the answer")?;
                    let (bytes, sha256) = out.finish();
                    Ok(Written { rows, bytes, sha256, pipe_closed: false })
                }
            }
        }
    }
}

/// What was written: rows, bytes, and the bytes' SHA-256 (computed only for a manifest).
#[derive(Debug)]
struct Written {
    rows: u64,
    bytes: u64,
    sha256: Option<String>,
    /// The reader of standard output closed it first (`| head`): rows are not counted.
    pipe_closed: bool,
}

/// Writes to `path` through a temporary file beside it, renamed into place only when `write` wrote
/// the whole answer (and said how many rows): a failed run never leaves a half-written file that
/// looks complete. `hash`: compute the SHA-256 of what is written.
async fn write_file(
    path: &Path,
    hash: bool,
    write: impl AsyncFnOnce(&mut Digesting<BufWriter<File>>) -> anyhow::Result<u64>,
) -> anyhow::Result<Written> {
    let (unfinished, file) = Unfinished::create(path)?;
    let mut out = Digesting::new(BufWriter::new(file), hash);
    let rows = write(&mut out).await?;
    out.flush().with_context(|| format!("writing {}", path.display()))?;
    unfinished.finish()?;
    let (bytes, sha256) = out.finish();
    Ok(Written { rows, bytes, sha256, pipe_closed: false })
}

/// A file being written under its temporary name (see [`partial_path`]) until [`Unfinished::finish`]
/// renames it into place. Dropped before that (an error, or the run interrupted), it is removed.
struct Unfinished {
    path: PathBuf,
    partial: Option<PathBuf>,
}

impl Unfinished {
    /// Creates the temporary file of `path`.
    fn create(path: &Path) -> anyhow::Result<(Unfinished, File)> {
        let partial = partial_path(path);
        let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        Ok((Unfinished { path: path.to_path_buf(), partial: Some(partial) }, file))
    }

    /// Renames the file into place.
    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(partial) = self.partial.take() {
            let renamed = std::fs::rename(&partial, &self.path);
            if renamed.is_err() {
                let _ = std::fs::remove_file(&partial);
            }
            renamed.with_context(|| format!("writing {}", self.path.display()))?;
        }
        Ok(())
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(partial) = self.partial.take() {
            let _ = std::fs::remove_file(partial);
        }
    }
}

/// The temporary name a file is written under before it is renamed into place.
fn partial_path(path: &Path) -> PathBuf {
    let mut partial = PathBuf::from(path);
    partial.set_file_name(format!(
        ".{}.partial",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    partial
}

/// What a run read, for its manifest.
struct Run<'a> {
    started: String,
    objects: &'a [ObjectRef],
    pruned: usize,
    report: &'a ScanReport,
}

/// `--manifest`: the record of a run that answered, written like an answer file.
fn write_manifest(plan: &Plan, path: &Path, run: Run<'_>, written: &Written, outcome: Outcome) -> anyhow::Result<()> {
    let Run { started, objects, pruned, report } = run;
    let totals = report.totals();
    let checksums = report.checksums();
    let (queries, parameters) = plan.action.sql();
    let objects = objects
        .iter()
        .map(|o| ManifestObject {
            url: o.name.clone(),
            size: o.size,
            etag: o.etag.clone(),
            last_modified: o.modified.map(utc),
            sha256: checksums.get(&o.name).cloned(),
        })
        .collect();
    let manifest = Manifest {
        flowq: format!("flowq {}", env!("CARGO_PKG_VERSION")),
        command: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        started,
        finished: utc(chrono::Utc::now().timestamp()),
        queries,
        parameters,
        filters: plan.filters.clone(),
        objects,
        objects_skipped_by_key: pruned,
        records: Records {
            objects_read: totals.objects,
            read: totals.records,
            passed_over: totals.passed_over,
            bad_lines: totals.bad_lines,
            bad_fields: totals.bad_fields,
            bad_objects: totals.bad_objects,
        },
        problems: report.problems().iter().map(ToString::to_string).collect(),
        output: Output {
            path: plan.output.as_ref().map(|p| p.display().to_string()),
            format: match &plan.action {
                Action::Report(format, _) => format.to_string(),
                _ => plan.format.to_string(),
            },
            rows: (!written.pipe_closed).then_some(written.rows),
            bytes: written.bytes,
            sha256: written.sha256.clone().context("the answer was not hashed for the manifest")?,
            pipe_closed: written.pipe_closed,
        },
        outcome: outcome.name().to_string(),
    };
    let (unfinished, file) = Unfinished::create(path)?;
    let mut out = BufWriter::new(file);
    manifest.write(&mut out).with_context(|| format!("writing {}", path.display()))?;
    out.flush().with_context(|| format!("writing {}", path.display()))?;
    unfinished.finish()
}

/// The one-line summary: what was read and what was skipped.
pub fn summary(totals: &ScanTotals, pruned: usize) -> String {
    let mut line = format!(
        "flowq: read {} objects ({}), {} records",
        totals.objects,
        report::human_bytes(totals.bytes),
        totals.records
    );
    if totals.passed_over > 0 {
        line.push_str(&format!(
            " (and {} lines passed over: the pre-filter showed they cannot match)",
            totals.passed_over
        ));
    }
    if pruned > 0 {
        line.push_str(&format!("; {pruned} objects skipped by their key (outside the filters)"));
    }
    if totals.skipped_anything() {
        line.push_str(&format!(
            "; SKIPPED {} lines, {} header fields and {} objects that could not be read (listed above)",
            totals.bad_lines, totals.bad_fields, totals.bad_objects
        ));
    } else {
        line.push_str("; nothing skipped");
    }
    line
}

/// `flowq queries`: one paragraph per built-in query.
fn write_catalogue(out: &mut impl Write) -> std::io::Result<()> {
    for query in BuiltinQuery::all() {
        let field = |key| query.header(key).unwrap_or("");
        writeln!(out, "{}", query.name)?;
        writeln!(out, "    {}", field("answers"))?;
        writeln!(out, "    Athena: {}", field("athena"))?;
        let params = query.params();
        if params.is_empty() {
            writeln!(out, "    Parameters: {}", field("params"))?;
        } else {
            writeln!(out, "    Parameters (flowq detect {} --flag VALUE):", query.name)?;
            for param in params {
                writeln!(
                    out,
                    "      --{} (${} = {}): {}",
                    param.name.replace('_', "-"),
                    param.name,
                    param.default,
                    param.about
                )?;
            }
        }
        writeln!(
            out,
            "    Rows: {}",
            match query.default_size() {
                Some(n) => format!("top {n} (--limit N for more)"),
                None => "every match (--limit N to cap)".to_string(),
            }
        )?;
        writeln!(out, "    Notes: {}", field("notes"))?;
        writeln!(out)?;
    }
    writeln!(out, "sql QUERY")?;
    writeln!(out, "    Any read-only SQL over the table flows (Athena's column names; quote \"end\").")?;
    out.flush()
}
