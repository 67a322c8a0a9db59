//! From flags to a plan: every value is checked here, before anything is read, and a bad one gets a
//! message that shows it and an example of a good one.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::args::{Cli, Command, Thresholds};
use crate::decode;
use crate::ioc::{IndicatorList, ListProblem};
use crate::net::Cidr;
use crate::output::Format;
use crate::query::{BuiltinQuery, Entity, Filters, QueryArgs, QueryKind};
use crate::report::ReportFormat;
use crate::source::{BucketUrl, S3Options, Selection, TimeWindow};
use crate::table::DecodeOptions;

/// A flag value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage<T>(message: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(message.into()))
}

/// What to do.
#[derive(Debug)]
pub enum Action {
    /// Run a built-in query.
    Builtin(BuiltinQuery, QueryArgs),
    /// Run user SQL, with an optional row cap.
    Sql(String, Option<usize>),
    /// Run detections: their findings, or with `flows` the flows behind them.
    Detect {
        /// The detections, in catalogue order.
        detections: Vec<BuiltinQuery>,
        /// Thresholds given, row cap, columns of `--flows`.
        args: QueryArgs,
        /// The flows behind the findings instead of the findings.
        flows: bool,
    },
    /// Follow an entity over time, in buckets of `every` seconds, with an optional row cap.
    Timeline(Entity, i64, Option<usize>),
    /// Convert the new objects into Hive-partitioned Parquet under this folder.
    Convert(PathBuf),
    /// The nightly report, in this format; thresholds and row cap in the arguments.
    Report(ReportFormat, QueryArgs),
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Describe the built-in queries.
    ListQueries,
    /// Answer a question.
    Run(Box<Plan>),
}

/// A checked command line.
#[derive(Debug)]
pub struct Plan {
    /// What to read.
    pub selection: Selection,
    /// S3 buckets to read.
    pub buckets: Vec<BucketUrl>,
    /// How to reach S3.
    pub s3: S3Options,
    /// List instead of reading.
    pub dry_run: bool,
    /// How to decode it.
    pub options: DecodeOptions,
    /// What to keep.
    pub filters: Filters,
    /// What to do.
    pub action: Action,
    /// How to write the answer.
    pub format: Format,
    /// Where (standard output when `None`).
    pub output: Option<PathBuf>,
    /// No summary line.
    pub quiet: bool,
    /// Bytes the query engine may hold before spilling.
    pub memory_limit: usize,
    /// What each `--ioc` list held, a line each (`sweep`).
    pub list_notes: Vec<String>,
    /// The entries of `--ioc` lists that could not be read.
    pub list_problems: Vec<ListProblem>,
    /// Where to write the record of the run (`--manifest`).
    pub manifest: Option<PathBuf>,
    /// The network's own blocks (`--internal`), when not the default.
    pub internal: Option<Vec<Cidr>>,
}

impl Action {
    /// The SQL this action runs, and the values bound to its parameters, for the manifest.
    pub fn sql(&self) -> (Vec<String>, Vec<String>) {
        match self {
            Action::Builtin(query, args) => {
                let mut params = Vec::new();
                if let Some(cidr) = &args.cidr {
                    params.push(format!("$cidr = {cidr}"));
                }
                if query.sql.contains("$ports") {
                    let ports = if args.ports.is_empty() { crate::query::DEFAULT_ADMIN_PORTS } else { &args.ports };
                    params.push(format!("$ports = {ports:?}"));
                }
                if !args.indicators.is_empty() {
                    params.push(format!("ioc_hits: {} indicators", args.indicators.len()));
                }
                (vec![query.sql.to_string()], params)
            }
            Action::Sql(sql, _) => (vec![sql.clone()], Vec::new()),
            Action::Detect { detections, args, flows } => detections_sql(detections, args, *flows),
            Action::Timeline(entity, every, _) => {
                let sql = BuiltinQuery::named("timeline").map(|q| q.sql.to_string()).unwrap_or_default();
                (vec![sql], vec![format!("entity = {entity}"), format!("$every = {every}")])
            }
            Action::Report(_, args) => {
                let mut queries: Vec<String> = Vec::new();
                let mut params = vec![format!("$late = {}", crate::report::LATE_AFTER)];
                if let Some(report) = BuiltinQuery::named("report") {
                    queries.extend(report.sections().iter().map(|(_, sql)| sql.to_string()));
                }
                for name in crate::query::REPORT_RANKINGS {
                    queries.extend(BuiltinQuery::named(name).map(|q| q.sql.to_string()));
                }
                params.push(format!(
                    "rankings and rejected-sources: the first {} rows",
                    args.limit.unwrap_or(crate::query::REPORT_ROWS)
                ));
                params.push(format!("$ports = {:?}", crate::query::DEFAULT_ADMIN_PORTS));
                let (detections, thresholds) = detections_sql(&BuiltinQuery::detections(), args, false);
                queries.extend(detections);
                params.extend(thresholds);
                (queries, params)
            }
            Action::Convert(_) => {
                let columns = "<the columns the objects' formats name>";
                (vec![format!("SELECT {columns} FROM flows {}", crate::output::convert::ORDER)], Vec::new())
            }
        }
    }
}

/// The SQL of `detections` (the flows behind their findings with `flows`, else the findings), and
/// the value of each parameter (`detection: $name = value`).
pub fn detections_sql(detections: &[BuiltinQuery], args: &QueryArgs, flows: bool) -> (Vec<String>, Vec<String>) {
    let mut queries = Vec::new();
    let mut params = Vec::new();
    for detection in detections {
        if let Some((evidence, findings)) = detection.detection_sql() {
            queries.push(if flows { evidence } else { findings });
        }
        for param in detection.params() {
            let value = match args.params.get(param.name) {
                Some(value) => value.to_string(),
                None => param.default.to_string(),
            };
            params.push(format!("{}: ${} = {value}", detection.name, param.name));
        }
    }
    (queries, params)
}

impl Plan {
    /// Checks the command line against the clock `now` (epoch seconds, for spans like `24h`).
    pub fn from_cli(cli: Cli, now: i64) -> Result<Invocation, UsageError> {
        let g = cli.global;
        let since = g.since.as_deref().map(|t| parse_time("--since", t, now)).transpose()?;
        let until = g.until.as_deref().map(|t| parse_time("--until", t, now)).transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return usage(format!(
                "--since ({}) must be before --until ({}), e.g. --since 2024-03-01 --until 2024-03-02",
                g.since.unwrap_or_default(),
                g.until.unwrap_or_default()
            ));
        }
        let window = TimeWindow { since, until };
        let internal = g
            .internal
            .as_deref()
            .map(|blocks| {
                let example = "10.0.0.0/16,2600:1f18:ab:cd00::/56";
                parse_list("--internal", blocks, |b| parse_cidr("--internal", b), example)
            })
            .transpose()?;
        let account = g.account.map(check_account).transpose()?;
        if g.limit == Some(0) {
            return usage("--limit must be at least 1 (leave it out for the query's default size)");
        }
        let region = g.region.map(check_region).transpose()?;
        let filters = Filters {
            window,
            account,
            region: region.clone(),
            eni: g.eni.map(|e| nonempty("--eni", e, "eni-0123456789abcdef0")).transpose()?,
            action: g.action.map(parse_action).transpose()?,
            protocol: g.protocol.as_deref().map(parse_protocol).transpose()?,
            port: g.port.as_deref().map(|p| parse_port("--port", p)).transpose()?,
            ips: g.ip.iter().map(|ip| parse_cidr("--ip", ip).map(|c| c.to_string())).collect::<Result<_, _>>()?,
        };
        let options = DecodeOptions {
            fields: g.fields.as_deref().map(parse_fields).transpose()?,
            strict: g.strict,
            checksums: g.manifest.is_some(),
            complete: false,
        };
        let report = matches!(cli.command, Command::Report { .. });
        // A report has formats of its own (chosen below); its manifest names that one.
        let format = if report { Format::Json } else { choose_format(g.format.as_deref(), g.output.as_ref())? };
        let columns = g.columns.as_deref().map(parse_columns).transpose()?;
        let (mut list_notes, mut list_problems) = (Vec::new(), Vec::new());
        let action = match cli.command {
            Command::Queries => return Ok(Invocation::ListQueries),
            Command::Sql { query } => {
                if columns.is_some() {
                    return usage("--columns applies to listings; in flowq sql, name the columns in SELECT");
                }
                Action::Sql(query, g.limit)
            }
            Command::Detect { detections, flows, thresholds } => {
                if columns.is_some() && !flows {
                    return usage("--columns applies to detect --flows (the findings have fixed columns)");
                }
                let detections = choose_detections(&detections)?;
                let params = detection_params(&detections, &thresholds)?;
                Action::Detect {
                    detections,
                    args: QueryArgs { limit: g.limit, columns, params, ..QueryArgs::default() },
                    flows,
                }
            }
            Command::Report { thresholds } => {
                if columns.is_some() {
                    return usage("--columns applies to listings; a report has fixed tables");
                }
                let detections = BuiltinQuery::detections();
                let params = detection_params(&detections, &thresholds)?;
                let format = choose_report_format(g.format.as_deref(), g.output.as_ref())?;
                Action::Report(format, QueryArgs { limit: g.limit, params, ..QueryArgs::default() })
            }
            Command::Convert { out } => {
                let not_for_convert = [
                    ("--account", filters.account.is_some()),
                    ("--eni", filters.eni.is_some()),
                    ("--action", filters.action.is_some()),
                    ("--protocol", filters.protocol.is_some()),
                    ("--port", filters.port.is_some()),
                    ("--ip", !filters.ips.is_empty()),
                    ("--output without --dry-run", g.output.is_some() && !g.dry_run),
                    ("--format without --dry-run", g.format.is_some() && !g.dry_run),
                    ("--columns", columns.is_some()),
                    ("--limit", g.limit.is_some()),
                    ("--manifest", g.manifest.is_some()),
                ];
                if let Some((flag, _)) = not_for_convert.iter().find(|(_, given)| *given) {
                    return usage(format!(
                        "{flag} does not apply to convert: it copies whole objects (choose them with --since, \
                         --until and --region) into --out DIR"
                    ));
                }
                if out.to_string_lossy().contains("://") {
                    return usage(format!(
                        "--out {}: convert writes to a local folder, e.g. --out ./flows-parquet",
                        out.display()
                    ));
                }
                Action::Convert(out)
            }
            Command::Timeline { entity, every } => {
                if columns.is_some() {
                    return usage("--columns applies to listings; a timeline has fixed columns");
                }
                let entity = entity.parse::<Entity>().map_err(|e| UsageError(format!("timeline: {e}")))?;
                let every = parse_span(&every).filter(|s| *s > 0).ok_or_else(|| {
                    UsageError(format!("--every {every:?} is not a span: use 1m, 5m, 1h, 1d, or e.g. 90s, 6h, 1w"))
                })?;
                Action::Timeline(entity, every, g.limit)
            }
            command => {
                let name = command.builtin_name().unwrap_or_default();
                let query =
                    BuiltinQuery::named(name).ok_or_else(|| UsageError(format!("no built-in query named {name}")))?;
                if columns.is_some() && query.kind() != QueryKind::Listing {
                    return usage(format!(
                        "--columns applies to listings (ip, from, to, rejected, accepted, ssh-rdp), not to {name}"
                    ));
                }
                let (cidr, ports) = match &command {
                    Command::Ip { target } | Command::From { target } | Command::To { target } => {
                        (Some(parse_cidr(name, target)?), Vec::new())
                    }
                    Command::AdminPorts { ports } => (None, parse_ports(ports)?),
                    _ => (None, Vec::new()),
                };
                let mut indicators = Vec::new();
                if let Command::Sweep { ioc, .. } = &command {
                    for path in ioc {
                        let list = read_list(path)?;
                        list_notes.push(list_note(&list));
                        indicators.extend(list.indicators);
                        list_problems.extend(list.problems);
                    }
                    if indicators.is_empty() {
                        return usage(
                            "the --ioc lists hold no IP addresses or CIDR blocks to sweep for (domains and other \
                             indicators are left out: flow logs hold addresses only)",
                        );
                    }
                }
                Action::Builtin(
                    query,
                    QueryArgs { cidr, ports, limit: g.limit, columns, indicators, ..QueryArgs::default() },
                )
            }
        };
        // convert copies whole objects (the window and region choose objects by key, not records)
        // and must load every field their headers name.
        let filters = if matches!(action, Action::Convert(_)) { Filters::default() } else { filters };
        let options = DecodeOptions { complete: matches!(action, Action::Convert(_)), ..options };
        let buckets = g
            .bucket
            .iter()
            .map(|b| b.parse::<BucketUrl>().map_err(|e| UsageError(format!("--bucket {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if g.path.is_empty() && buckets.is_empty() {
            return usage("nothing to read: name the flow logs with --path FILE|DIR or --bucket s3://bucket[/prefix]");
        }
        if let Some(endpoint) = &g.endpoint_url
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return usage(format!(
                "--endpoint-url {endpoint:?} is not a URL, e.g. --endpoint-url http://127.0.0.1:9000"
            ));
        }
        let s3 = S3Options { profile: g.profile, endpoint_url: g.endpoint_url, no_sign_request: g.no_sign_request };
        if format == Format::Parquet && g.output.is_none() && std::io::stdout().is_terminal() {
            return usage("Parquet is binary: write it to a file with --output FILE.parquet, or pipe it");
        }
        let selection =
            Selection { paths: g.path.iter().map(|p| p.to_string_lossy().into_owned()).collect(), window, region };
        Ok(Invocation::Run(Box::new(Plan {
            selection,
            buckets,
            s3,
            dry_run: g.dry_run,
            options,
            filters,
            action,
            format,
            output: g.output,
            quiet: g.quiet,
            memory_limit: usize::try_from(g.memory_limit.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            list_notes,
            list_problems,
            manifest: g.manifest,
            internal,
        })))
    }
}

/// Reads one `--ioc` list (any encoding: a byte that is not UTF-8 can only be in a description).
fn read_list(path: &std::path::Path) -> Result<IndicatorList, UsageError> {
    let bytes = std::fs::read(path).map_err(|e| UsageError(format!("--ioc {}: {e}", path.display())))?;
    Ok(IndicatorList::read(&path.display().to_string(), &String::from_utf8_lossy(&bytes)))
}

/// What a list held, in a line.
fn list_note(list: &IndicatorList) -> String {
    let mut note = format!("{} indicators", list.indicators.len());
    if list.not_addresses > 0 {
        note.push_str(&format!(", {} of other kinds left out (not addresses)", list.not_addresses));
    }
    if !list.problems.is_empty() {
        note.push_str(&format!(", {} entries that cannot be read (listed above)", list.problems.len()));
    }
    format!("{}: {}: {note}", list.list, list.format)
}

/// The detections named on the command line (all of them when none is), in catalogue order.
fn choose_detections(names: &[String]) -> Result<Vec<BuiltinQuery>, UsageError> {
    let all = BuiltinQuery::detections();
    if let Some(unknown) = names.iter().find(|n| !all.iter().any(|d| d.name == n.as_str())) {
        let known: Vec<&str> = all.iter().map(|d| d.name).collect();
        return usage(format!("detect: no detection named {unknown:?}; the detections are: {}", known.join(", ")));
    }
    Ok(all.into_iter().filter(|d| names.is_empty() || names.iter().any(|n| n == d.name)).collect())
}

/// The thresholds given, checked, as the detections' parameter values. A flag that none of the
/// chosen detections has is refused rather than ignored.
fn detection_params(
    detections: &[BuiltinQuery],
    thresholds: &Thresholds,
) -> Result<std::collections::BTreeMap<String, datafusion::common::ScalarValue>, UsageError> {
    let mut params = std::collections::BTreeMap::new();
    for (name, value) in thresholds.by_param() {
        let Some(value) = value else { continue };
        let flag = format!("--{}", name.replace('_', "-"));
        let Some(param) = detections.iter().flat_map(|d| d.params()).find(|p| p.name == name) else {
            let users: Vec<&str> = BuiltinQuery::detections()
                .into_iter()
                .filter(|d| d.params().iter().any(|p| p.name == name))
                .map(|d| d.name)
                .collect();
            return usage(format!("{flag} applies to {}, which this run does not include", users.join(", ")));
        };
        let number = match name {
            "window" | "baseline" => parse_span(value).filter(|s| *s > 0).ok_or_else(|| {
                UsageError(format!("{flag} {value:?} is not a duration: use 90s, 10m, 1h, 1d, 1w or seconds"))
            })?,
            "min_bytes" => parse_size(value).ok_or_else(|| {
                UsageError(format!("{flag} {value:?} is not a size: use bytes or 500MB, 2GB, 1GiB, …"))
            })?,
            _ if param.is_port_list() => {
                let ports = param.value(value).map_err(|e| UsageError(format!("{flag}: {e}")))?;
                params.insert(name.to_string(), ports);
                continue;
            }
            _ => value.trim().parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                UsageError(format!("{flag} {value:?} is not a count: use a whole number of at least 1"))
            })?,
        };
        params.insert(name.to_string(), datafusion::common::ScalarValue::Int64(Some(number)));
    }
    Ok(params)
}

/// Seconds in a span: `90s`, `10m`, `24h`, `7d`, `2w`, or a bare number of seconds.
fn parse_span(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(seconds) = t.parse::<i64>() {
        return (seconds >= 0).then_some(seconds);
    }
    let unit = match t.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    t[..t.len() - 1].parse::<i64>().ok().filter(|n| *n >= 0)?.checked_mul(unit)
}

/// Bytes in a size: a number, optionally with KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB.
fn parse_size(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    number.parse::<i64>().ok()?.checked_mul(scale)
}

/// A time: RFC 3339, a date (midnight UTC), `YYYY-MM-DDTHH:MM[:SS]` (UTC), or a span before `now`.
pub fn parse_time(flag: &str, text: &str, now: i64) -> Result<i64, UsageError> {
    let t = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(t) {
        return Ok(time.timestamp());
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(time.and_utc().timestamp());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc().timestamp());
    }
    if t.ends_with(|c: char| c.is_ascii_alphabetic())
        && let Some(span) = parse_span(t)
    {
        return Ok(now - span);
    }
    usage(format!(
        "{flag} {text:?} is not a time: use RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20, midnight UTC) \
         or a span before now (90m, 24h, 7d)"
    ))
}

fn nonempty(flag: &str, value: String, example: &str) -> Result<String, UsageError> {
    let value = value.trim().to_string();
    if value.is_empty() || value.contains(char::is_whitespace) {
        return usage(format!("{flag} {value:?} is not valid, e.g. {flag} {example}"));
    }
    Ok(value)
}

fn check_account(value: String) -> Result<String, UsageError> {
    let value = value.trim().to_string();
    if (value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())) || value == "unknown" {
        Ok(value)
    } else {
        usage(format!("--account {value:?} is not an AWS account id: use the 12 digits, e.g. --account 123456789012"))
    }
}

fn check_region(value: String) -> Result<String, UsageError> {
    let value = value.trim().to_string();
    let ok = value.contains('-') && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(value) } else { usage(format!("--region {value:?} is not a region, e.g. --region us-east-1")) }
}

fn parse_action(value: String) -> Result<String, UsageError> {
    match value.trim().to_ascii_uppercase().as_str() {
        a @ ("ACCEPT" | "REJECT") => Ok(a.to_string()),
        _ => usage(format!("--action {value:?} is not an action: use accept or reject")),
    }
}

fn parse_protocol(value: &str) -> Result<i32, UsageError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "icmp" => Ok(1),
        "icmpv6" | "ipv6-icmp" => Ok(58),
        n => match n.parse::<u8>() {
            Ok(n) => Ok(i32::from(n)),
            Err(_) => usage(format!(
                "--protocol {value:?} is not a protocol: use tcp, udp, icmp, icmpv6 or an IANA number 0-255, e.g. --protocol 47"
            )),
        },
    }
}

fn parse_port(flag: &str, value: &str) -> Result<i32, UsageError> {
    match value.trim().parse::<u16>() {
        Ok(port) => Ok(i32::from(port)),
        Err(_) => usage(format!("{flag} {value:?} is not a port: use a number 0-65535, e.g. {flag} 22")),
    }
}

fn parse_ports(value: &str) -> Result<Vec<i32>, UsageError> {
    parse_list("--ports", value, |p| parse_port("--ports", p), "22,3389")
}

/// The comma-separated values of `flag`, each checked by `parse`; none at all is refused.
fn parse_list<T>(
    flag: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, UsageError>,
    example: &str,
) -> Result<Vec<T>, UsageError> {
    let values: Vec<T> = value.split(',').filter(|v| !v.trim().is_empty()).map(parse).collect::<Result<_, _>>()?;
    if values.is_empty() {
        return usage(format!("{flag} needs at least one value, e.g. {flag} {example}"));
    }
    Ok(values)
}

fn parse_cidr(what: &str, value: &str) -> Result<Cidr, UsageError> {
    value.trim().parse::<Cidr>().map_err(|e| UsageError(format!("{what}: {e}")))
}

fn parse_fields(value: &str) -> Result<Vec<String>, UsageError> {
    let names: Vec<String> = value.split([' ', ',']).filter(|f| !f.is_empty()).map(|f| f.replace('_', "-")).collect();
    if names.is_empty() {
        return usage("--fields needs the field names in order, e.g. --fields 'version srcaddr dstaddr bytes'");
    }
    if let Some((i, name)) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
        return usage(format!(
            "--fields names {name:?} twice (positions {} and {})",
            names[..i].iter().position(|n| n == name).map_or(0, |p| p + 1),
            i + 1
        ));
    }
    if let Some(unknown) = names.iter().find(|n| decode::known_kind(n).is_none()) {
        return usage(format!(
            "--fields: {unknown:?} is not a flow-log field; known fields: {}",
            decode::KNOWN_FIELDS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" ")
        ));
    }
    Ok(names)
}

fn parse_columns(value: &str) -> Result<Vec<String>, UsageError> {
    let columns: Vec<String> = value.split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    if columns.is_empty() {
        return usage("--columns needs column names, e.g. --columns start,srcaddr,dstaddr,bytes");
    }
    let shaped = |c: &String| {
        c.starts_with(|ch: char| ch.is_ascii_lowercase())
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if let Some(bad) = columns.iter().find(|c| !shaped(c)) {
        return usage(format!(
            "--columns: {bad:?} is not a column name (flows uses Athena's names, e.g. log_status, pkt_srcaddr)"
        ));
    }
    Ok(columns)
}

/// A report's format: `--format`, else the `--output` name's extension, else Markdown on a terminal
/// and HTML otherwise.
fn choose_report_format(format: Option<&str>, output: Option<&PathBuf>) -> Result<ReportFormat, UsageError> {
    if let Some(format) = format {
        return format.parse().map_err(|e: String| UsageError(format!("--format: {e}")));
    }
    if let Some(output) = output {
        let extension = output.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        return extension.parse().map_err(|_| {
            UsageError(format!(
                "--output {}: name the report .html, .json or .md, or say which with --format html|json|md",
                output.display()
            ))
        });
    }
    Ok(if std::io::stdout().is_terminal() { ReportFormat::Markdown } else { ReportFormat::Html })
}

fn choose_format(format: Option<&str>, output: Option<&PathBuf>) -> Result<Format, UsageError> {
    if let Some(format) = format {
        return format.parse().map_err(|e: String| UsageError(format!("--format: {e}")));
    }
    if let Some(output) = output {
        let extension = output.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
        return Ok(match extension.as_deref() {
            Some("json") => Format::Json,
            Some("ndjson" | "jsonl") => Format::Ndjson,
            Some("parquet") => Format::Parquet,
            Some("txt") => Format::Table,
            _ => Format::Csv,
        });
    }
    Ok(if std::io::stdout().is_terminal() { Format::Table } else { Format::Csv })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = 1_700_000_000;
        assert_eq!(parse_time("--since", "2024-03-01", now).ok(), Some(1_709_251_200));
        assert_eq!(parse_time("--since", "2024-03-01T00:00:00Z", now).ok(), Some(1_709_251_200));
        assert_eq!(parse_time("--since", "2024-03-01T01:00:00+01:00", now).ok(), Some(1_709_251_200));
        assert_eq!(parse_time("--since", "2024-03-01T00:00", now).ok(), Some(1_709_251_200));
        assert_eq!(parse_time("--since", "90m", now).ok(), Some(now - 5400));
        assert_eq!(parse_time("--since", "24h", now).ok(), Some(now - 86_400));
        assert_eq!(parse_time("--since", "7d", now).ok(), Some(now - 7 * 86_400));
        for bad in ["yesterday", "2024-13-01", "-5h", "h", "5x", ""] {
            assert!(parse_time("--since", bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocols_and_ports() {
        assert_eq!(parse_protocol("TCP").ok(), Some(6));
        assert_eq!(parse_protocol("icmpv6").ok(), Some(58));
        assert_eq!(parse_protocol("47").ok(), Some(47));
        assert!(parse_protocol("256").is_err());
        assert!(parse_protocol("tcpp").is_err());
        assert_eq!(parse_ports("22, 3389").ok(), Some(vec![22, 3389]));
        assert!(parse_ports("22,70000").is_err());
    }

    #[test]
    fn spans_and_sizes() {
        assert_eq!(parse_span("90s"), Some(90));
        assert_eq!(parse_span("10m"), Some(600));
        assert_eq!(parse_span("1d"), Some(86_400));
        assert_eq!(parse_span("3600"), Some(3600));
        assert_eq!(parse_span("1y"), None);
        assert_eq!(parse_span("-5m"), None);
        assert_eq!(parse_size("500MB"), Some(500_000_000));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("1.5GB"), None);
        assert_eq!(parse_size("GB"), None);
    }

    #[test]
    fn fields_must_be_known() {
        assert_eq!(parse_fields("version srcaddr log_status").ok().map(|f| f.len()), Some(3));
        assert!(parse_fields("version srcadr").is_err());
    }
}
