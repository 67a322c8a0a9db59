//! Built-in queries end to end through the library API on a generated corpus (see `benches/README.md`).
//!
//! The corpus — 10 objects, 2 million default-format records, seeded — is written to a temporary
//! folder. Before measuring, each query's answer is checked against a plain fold over the text (the
//! same check runs once more after measuring), so a fast-but-wrong change fails instead of reporting.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use datafusion::common::ScalarValue;
use flowq::generate::{CorpusSpec, write_corpus};
use flowq::ioc::{Indicator, IndicatorList};
use flowq::net::{Cidr, INTERNAL_BLOCKS};
use flowq::query::{BuiltinQuery, Engine, Filters, QueryArgs, Source};
use flowq::source::{Selection, list_local};
use flowq::table::DecodeOptions;
use futures::TryStreamExt;

const OBJECTS: u32 = 10;
const RECORDS_PER_OBJECT: u32 = 200_000;

/// What a plain fold over the text says each query must answer.
#[derive(Default)]
struct Truth {
    records: u64,
    bytes_by_address: HashMap<String, i64>,
    rejected_tcp_by_source: HashMap<String, i64>,
    ssh_rdp: usize,
    flows_by_address: HashMap<String, usize>,
    /// Accepted bytes from an internal address to an external one, per pair and hour.
    outbound: HashMap<(String, String, i64), i64>,
}

fn fold(objects: &[PathBuf]) -> Truth {
    let mut truth = Truth::default();
    let blocks: Vec<Cidr> = INTERNAL_BLOCKS.iter().map(|b| b.parse().unwrap()).collect();
    let internal = |a: &str| blocks.iter().any(|b| b.contains_str(a));
    for path in objects {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(' ').collect();
            truth.records += 1;
            let (src, dst, srcport, dstport, protocol, bytes, action) = (f[3], f[4], f[5], f[6], f[7], f[9], f[12]);
            if action == "ACCEPT" && internal(src) && dst != "-" && !internal(dst) {
                let hour = f[10].parse::<i64>().unwrap() / 3600;
                *truth.outbound.entry((src.to_string(), dst.to_string(), hour)).or_default() +=
                    bytes.parse::<i64>().unwrap();
            }
            for addr in [src, dst].into_iter().filter(|a| *a != "-") {
                *truth.bytes_by_address.entry(addr.to_string()).or_default() += bytes.parse::<i64>().unwrap_or(0);
            }
            if src != "-" {
                *truth.flows_by_address.entry(src.to_string()).or_default() += 1;
            }
            if dst != "-" && dst != src {
                *truth.flows_by_address.entry(dst.to_string()).or_default() += 1;
            }
            if action == "REJECT" && protocol == "6" && src != "-" {
                *truth.rejected_tcp_by_source.entry(src.to_string()).or_default() += 1;
            }
            if ["22", "3389"].contains(&srcport) || ["22", "3389"].contains(&dstport) {
                truth.ssh_rdp += 1;
            }
        }
    }
    truth
}

fn top(counts: &HashMap<String, i64>) -> (String, i64) {
    counts.iter().map(|(k, v)| (k.clone(), *v)).max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).unwrap()
}

async fn run(engine: &Engine, name: &str, cidr: Option<&str>) -> Vec<RecordBatch> {
    let query = BuiltinQuery::named(name).unwrap();
    let args = QueryArgs { cidr: cidr.map(|c| c.parse::<Cidr>().unwrap()), limit: None, ..QueryArgs::default() };
    engine.builtin(&query, &args).await.unwrap().collect().await.unwrap()
}

/// An engine over the corpus in `selection`, as a query run opens it.
async fn open(selection: &Selection) -> Engine {
    let listing = list_local(selection).unwrap();
    Engine::open(vec![Source::local(listing)], DecodeOptions::default(), &Filters::default(), None).await.unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

fn first_row(batches: &[RecordBatch]) -> (String, i64) {
    let batch = batches.iter().find(|b| b.num_rows() > 0).unwrap();
    let key = arrow::util::display::array_value_to_string(batch.column(0), 0).unwrap();
    (key, batch.column(1).as_primitive::<Int64Type>().value(0))
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let spec = CorpusSpec {
        days: 1,
        objects_per_day: OBJECTS,
        records_per_object: RECORDS_PER_OBJECT,
        incidents: false,
        default_format_only: true,
        ..CorpusSpec::default()
    };
    let summary = write_corpus(&spec, dir.path()).unwrap();
    let truth = fold(&summary.objects);
    assert_eq!(truth.records, summary.records);
    let (busiest, _) = top(&truth.bytes_by_address);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let selection = Selection { paths: vec![dir.path().display().to_string()], ..Selection::default() };
    let check = |name: &str, batches: &[RecordBatch]| match name {
        "top-talkers" => assert_eq!(first_row(batches), top(&truth.bytes_by_address)),
        "rejected-tcp" => assert_eq!(first_row(batches), top(&truth.rejected_tcp_by_source)),
        "ssh-rdp" => assert_eq!(rows(batches), truth.ssh_rdp),
        "ip" => assert_eq!(rows(batches), truth.flows_by_address[&busiest]),
        _ => unreachable!(),
    };
    let once = |name: &str| {
        runtime.block_on(async {
            let engine = open(&selection).await;
            let batches = run(&engine, name, (name == "ip").then_some(busiest.as_str())).await;
            let totals = engine.report().totals();
            // A line the pre-filter passes over is read (counted, checked) but not loaded.
            assert_eq!(totals.records + totals.passed_over, summary.records, "{name}: every record read");
            assert!(!totals.skipped_anything(), "{name}: nothing skipped");
            batches
        })
    };

    let mut group = c.benchmark_group("query");
    group.throughput(Throughput::Elements(summary.records));
    group.sample_size(10);
    for name in ["top-talkers", "rejected-tcp", "ssh-rdp", "ip"] {
        check(name, &once(name));
        group.bench_function(name, |b| b.iter(|| once(name)));
        check(name, &once(name));
    }
    group.finish();

    // A sweep for the busiest address among 9 or 99,999 others the corpus does not hold (addresses
    // and /24s in 100.64.0.0/10): the same hits, so the difference is the index's.
    let list = |others: u32| {
        let mut text = format!("{busiest}\n");
        for n in 0..others {
            let (a, b) = (64 + (n >> 16) % 64, n >> 8 & 0xff);
            text.push_str(&if n % 10 == 0 {
                format!("100.{a}.{b}.0/24\n")
            } else {
                format!("100.{a}.{b}.{}\n", n & 0xff)
            });
        }
        let list = IndicatorList::read("bench", &text);
        assert!(list.problems.is_empty());
        list.indicators
    };
    let sweep = |indicators: &[Indicator]| {
        runtime.block_on(async {
            let engine = open(&selection).await;
            let query = BuiltinQuery::named("sweep").unwrap();
            let args = QueryArgs { indicators: indicators.to_vec(), ..QueryArgs::default() };
            let batches = engine.builtin(&query, &args).await.unwrap().collect().await.unwrap();
            assert_eq!(rows(&batches), truth.flows_by_address[&busiest], "one hit per flow of the busiest address");
        })
    };
    // The detection that tests every accepted flow's addresses with is_internal, at a threshold that
    // some pairs reach in some hour: one finding per such pair.
    let min_bytes = 50_000_000;
    let pairs: std::collections::HashSet<(&String, &String)> =
        truth.outbound.iter().filter(|(_, bytes)| **bytes >= min_bytes).map(|((s, d, _), _)| (s, d)).collect();
    assert!(!pairs.is_empty() && pairs.len() < truth.outbound.len(), "a threshold some pairs reach");
    let exfiltration = || {
        runtime.block_on(async {
            let engine = open(&selection).await;
            let detection = BuiltinQuery::named("exfiltration").unwrap();
            let params = [("min_bytes".to_string(), ScalarValue::Int64(Some(min_bytes)))].into();
            let args = QueryArgs { params, ..QueryArgs::default() };
            let stream = engine.detect(&[detection], &args, false).await.unwrap();
            let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
            assert_eq!(rows(&batches), pairs.len(), "one finding per pair over the threshold");
        })
    };
    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(summary.records));
    group.sample_size(10);
    group.bench_function("exfiltration", |b| b.iter(exfiltration));
    group.finish();

    let mut group = c.benchmark_group("sweep");
    group.throughput(Throughput::Elements(summary.records));
    group.sample_size(10);
    for others in [9, 99_999] {
        let indicators = list(others);
        group.bench_function(format!("{}-indicators", others + 1), |b| b.iter(|| sweep(&indicators)));
    }
    group.finish();
}

criterion_group!(queries, benches);
criterion_main!(queries);
