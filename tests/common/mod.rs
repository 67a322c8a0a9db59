//! Test helpers: a slow, obviously-correct reference reader of flow logs (independent of flowq's
//! decoder and engine), and helpers to run the `flowq` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod s3;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const DEFAULT_FIELDS: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// One record as the reference reader sees it: column name → raw token (`-` left out), plus where
/// it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub fields: BTreeMap<String, String>,
    pub source: String,
    pub line: u64,
}

impl Rec {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.fields.get(column).map(String::as_str)
    }

    pub fn int(&self, column: &str) -> Option<i64> {
        self.get(column).map(|v| v.parse().unwrap())
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every file under `dir`, sorted, hidden ones skipped.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return out;
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for e in entries {
        if !e.file_name().unwrap().to_string_lossy().starts_with('.') {
            out.extend(files_under(&e));
        }
    }
    out
}

/// The decompressed text of a file (gzip by magic number).
pub fn text_of(path: &Path) -> String {
    let raw = std::fs::read(path).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_string(&mut s).unwrap();
        s
    } else {
        String::from_utf8(raw).unwrap()
    }
}

fn looks_like_header(line: &str) -> bool {
    let known = [
        "version",
        "srcaddr",
        "dstaddr",
        "account-id",
        "interface-id",
        "instance-id",
        "bytes",
        "packets",
        "start",
        "end",
        "action",
        "log-status",
        "pkt-srcaddr",
    ];
    line.split_whitespace().all(|t| t.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()))
        && line.split_whitespace().any(|t| known.contains(&t))
}

/// Reads records the slow way: `split_whitespace` per line. Lines whose token count does not match
/// the format are returned in `bad` as (source, line).
pub fn reference_read(source: &str, text: &str) -> (Vec<Rec>, Vec<(String, u64)>) {
    let mut format: Option<Vec<String>> = None;
    let mut recs = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if looks_like_header(line) {
            format = Some(line.split_whitespace().map(|f| f.replace('-', "_")).collect());
            continue;
        }
        let names =
            format.get_or_insert_with(|| DEFAULT_FIELDS.split(' ').map(|f| f.replace('-', "_")).collect()).clone();
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.len() != names.len() {
            bad.push((source.to_string(), line_no));
            continue;
        }
        let fields =
            names.iter().zip(tokens).filter(|(_, v)| *v != "-").map(|(n, v)| (n.clone(), v.to_string())).collect();
        recs.push(Rec { fields, source: source.to_string(), line: line_no });
    }
    (recs, bad)
}

/// Every record under `dir`, with `source` named as flowq names it when given `--path dir`.
pub fn reference_corpus(dir: &Path) -> Vec<Rec> {
    let mut all = Vec::new();
    for file in files_under(dir) {
        let (recs, bad) = reference_read(&file.to_string_lossy(), &text_of(&file));
        assert!(bad.is_empty(), "fixture has bad lines: {bad:?}");
        all.extend(recs);
    }
    all
}

/// The `flowq` binary, run in the crate root so relative fixture paths work.
pub fn flowq() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("flowq").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Runs flowq with `args` and `--format csv`, expecting success; returns header and rows.
pub fn csv(args: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let out = flowq().args(args).args(["--format", "csv", "--quiet"]).output().unwrap();
    assert!(
        out.status.success(),
        "flowq {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_csv(&String::from_utf8(out.stdout).unwrap())
}

pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = split_csv_line(lines.next().unwrap_or(""));
    (header, lines.map(split_csv_line).collect())
}

/// One CSV line's fields: quoted fields may hold commas and doubled quotes (`""` alone is empty).
fn split_csv_line(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}
