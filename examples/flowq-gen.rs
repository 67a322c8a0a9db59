//! Writes a seeded, realistic flow-log corpus in AWS's S3 key layouts (see `flowq::generate`).
//!
//! `cargo run --example flowq-gen -- --out fixtures/AWSLogs` writes the checked-in fixtures;
//! `--days`, `--objects-per-day` and `--records-per-object` scale it for benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use flowq::generate::{CorpusSpec, write_corpus};

/// Generate a flow-log corpus.
#[derive(Debug, Parser)]
struct Args {
    /// The folder that becomes `AWSLogs` (created if absent).
    #[arg(long)]
    out: PathBuf,
    /// The seed.
    #[arg(long, default_value_t = CorpusSpec::default().seed)]
    seed: u64,
    /// The first day, YYYY-MM-DD.
    #[arg(long, default_value_t = CorpusSpec::default().first_day)]
    first_day: chrono::NaiveDate,
    /// Days to cover.
    #[arg(long, default_value_t = CorpusSpec::default().days)]
    days: u32,
    /// Objects per day per flow log.
    #[arg(long, default_value_t = CorpusSpec::default().objects_per_day)]
    objects_per_day: u32,
    /// Background records per object.
    #[arg(long, default_value_t = CorpusSpec::default().records_per_object)]
    records_per_object: u32,
    /// Leave out the port scan, brute force and exfiltration.
    #[arg(long)]
    no_incidents: bool,
    /// Only the flow log in the default format (the benchmarks' corpus), not the custom v5 one.
    #[arg(long)]
    default_format_only: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let spec = CorpusSpec {
        seed: args.seed,
        first_day: args.first_day,
        days: args.days,
        objects_per_day: args.objects_per_day,
        records_per_object: args.records_per_object,
        incidents: !args.no_incidents,
        default_format_only: args.default_format_only,
    };
    match write_corpus(&spec, &args.out) {
        Ok(summary) => {
            eprintln!(
                "wrote {} objects, {} records, {} bytes of text under {}",
                summary.objects.len(),
                summary.records,
                summary.text_bytes,
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("flowq-gen: {}: {err}", args.out.display());
            ExitCode::FAILURE
        }
    }
}
