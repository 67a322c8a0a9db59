//! Parquet: `flowq convert` (layout, sort, incremental reruns, interrupted runs, damaged objects),
//! every query's answer on the copy equal to its answer on the text, AWS-delivered Parquet read into
//! the same columns, and DuckDB reading the copy without flowq.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use common::{csv, files_under, fixtures, flowq, parse_csv, reference_corpus, reference_read, text_of};

const FIXTURES: &str = "fixtures/AWSLogs";

/// Converts `inputs` into `out` through the binary; its exit code and standard error.
fn convert_status(inputs: &[&str], out: &Path) -> (Option<i32>, String) {
    let mut cmd = flowq();
    for input in inputs {
        cmd.args(["--path", input]);
    }
    let run = cmd.args(["convert", "--out"]).arg(out).output().unwrap();
    (run.status.code(), String::from_utf8_lossy(&run.stderr).into_owned())
}

/// Converts `inputs` into `out`, expecting everything read; its standard error.
fn convert(inputs: &[&str], out: &Path) -> String {
    let (code, stderr) = convert_status(inputs, out);
    assert_eq!(code, Some(0), "convert: {stderr}");
    stderr
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir).into_iter().filter(|f| f.extension().is_some_and(|e| e == "parquet")).collect()
}

/// Every query's CSV answer, on the text and on the copy.
#[test]
fn every_query_answers_the_same_on_the_copy() {
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().to_str().unwrap();
    let stderr = convert(&[FIXTURES], out.path());
    let records = reference_corpus(&fixtures().join("AWSLogs")).len();
    assert!(stderr.contains(&format!("({records} records)")), "{stderr}");

    let everything = r#"SELECT * FROM flows ORDER BY source, line"#;
    let queries: Vec<Vec<&str>> = vec![
        vec!["sql", everything],
        vec!["top-talkers"],
        vec!["top-pairs", "--limit", "1000"],
        vec!["top-talkers-pkt"],
        vec!["top-instances"],
        vec!["top-subnets"],
        vec!["traffic-by-type"],
        vec!["rejected-tcp"],
        vec!["ssh-rdp"],
        vec!["admin-ports"],
        vec!["ip", "192.0.2.200"],
        vec!["from", "10.0.1.0/24"],
        vec!["to", "2001:db8:4:1::/64"],
        vec!["detect"],
        vec!["detect", "--flows"],
        vec!["timeline", "10.0.1.12", "--every", "15m"],
        vec!["--since", "2024-03-02T06:00:00Z", "--until", "2024-03-02T18:00:00Z", "--ip", "10.0.2.0/24", "accepted"],
        vec!["--eni", "eni-0106a1b2c3d4e5f6", "--action", "REJECT", "rejected"],
    ];
    for query in queries {
        let text = csv(&[&["--path", FIXTURES][..], &query].concat());
        let parquet = csv(&[&["--path", copy][..], &query].concat());
        assert!(!text.1.is_empty(), "{query:?} has no rows on the text");
        assert_eq!(text, parquet, "{query:?}");
    }
}

#[test]
fn the_copy_is_hive_partitioned_sorted_by_time_and_keeps_provenance() {
    let out = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], out.path());
    let files = parquet_files(out.path());
    assert!(files.len() >= 6, "{files:?}");
    let mut total = 0;
    let (mut addressed_files, mut unaddressed_files, mut rejected_files) = (0, 0, 0);
    for file in &files {
        let relative = file.strip_prefix(out.path()).unwrap().to_string_lossy().into_owned();
        let parts: Vec<&str> = relative.split('/').collect();
        assert_eq!(parts.len(), 4, "{relative}");
        let account = parts[0].strip_prefix("account_id=").unwrap();
        let region = parts[1].strip_prefix("region=").unwrap();
        let date = parts[2].strip_prefix("date=").unwrap();
        let path = file.to_str().unwrap();
        let (header, rows) = csv(&[
            "--path",
            path,
            "sql",
            r#"SELECT account_id, region, to_char(to_timestamp("start"), '%Y-%m-%d') AS d, "start", source, line, srcaddr,
                      "end", action
               FROM flows"#,
        ]);
        assert_eq!(header, ["account_id", "region", "d", "start", "source", "line", "srcaddr", "end", "action"]);
        // The records without addresses (NODATA, SKIPDATA) are in files of their own, and so are the
        // rejected ones.
        let addressed = rows.iter().filter(|row| !row[6].is_empty()).count();
        assert!(addressed == 0 || addressed == rows.len(), "{relative}: {addressed} of {} have addresses", rows.len());
        let rejected = rows.iter().filter(|row| row[8] == "REJECT").count();
        assert!(rejected == 0 || rejected == rows.len(), "{relative}: {rejected} of {} rejected", rows.len());
        if addressed == 0 {
            unaddressed_files += 1;
        } else if rejected == 0 {
            addressed_files += 1;
        } else {
            rejected_files += 1;
        }
        // In the listings' order: start, end (nulls last), source, line.
        let mut last = None;
        for row in &rows {
            if row[3].is_empty() {
                continue;
            }
            assert_eq!((row[0].as_str(), row[1].as_str(), row[2].as_str()), (account, region, date), "{relative}");
            let number = |v: &str| if v.is_empty() { i64::MAX } else { v.parse::<i64>().unwrap() };
            let key = (number(&row[3]), number(&row[7]), row[4].clone(), number(&row[5]));
            assert!(last.as_ref().is_none_or(|last| *last < key), "{relative}: {last:?} before {key:?}");
            last = Some(key);
            assert!(row[4].starts_with("fixtures/AWSLogs/"), "{}", row[4]);
            assert!(row[5].parse::<u64>().unwrap() >= 1);
        }
        total += rows.len();
        // Its footer says so; `line`, `bytes` and `end` are delta-encoded rather than dictionary-encoded.
        let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
        let metadata = parquet::file::reader::FileReader::metadata(&reader);
        for group in metadata.row_groups() {
            let descr = metadata.file_metadata().schema_descr();
            let sorting: Vec<String> = group
                .sorting_columns()
                .unwrap()
                .iter()
                .map(|c| descr.column(c.column_idx as usize).name().to_string())
                .collect();
            assert_eq!(sorting, ["start", "end", "source", "line"], "{relative}");
            for chunk in group.columns() {
                let delta = chunk.encodings().any(|e| e == parquet::basic::Encoding::DELTA_BINARY_PACKED);
                let name = chunk.column_path().string();
                assert_eq!(delta, ["line", "bytes", "end"].contains(&name.as_str()), "{relative}: {name}");
            }
        }
    }
    assert_eq!(total, reference_corpus(&fixtures().join("AWSLogs")).len());
    assert!(
        addressed_files > 0 && unaddressed_files > 0 && rejected_files > 0,
        "{addressed_files}, {unaddressed_files} and {rejected_files}"
    );
    // The state file and the lock are hidden: flowq (like Spark and Hive) skips them.
    assert!(out.path().join(".flowq-convert.json").is_file());
}

/// A listing merges the copy's files, each already in its order (`start, end, source, line`),
/// rather than sorting every row; a file with `source` and `line` whose footer does not say it is in
/// that order (an older flowq's copy) is sorted, with the same answer.
#[test]
fn listings_merge_the_copy_in_order_and_sort_only_files_that_are_not() {
    let out = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], out.path());
    let plan = |path: &str| {
        let sql = r#"EXPLAIN SELECT * FROM flows WHERE srcaddr LIKE '10.%' ORDER BY "start", "end", source, line"#;
        csv(&["--path", path, "sql", sql]).1.concat().join("\n")
    };
    let merged = plan(out.path().to_str().unwrap());
    assert!(merged.contains("SortPreservingMergeExec") && !merged.contains("SortExec:"), "{merged}");
    // Every input of the merge reads ahead on its own task.
    assert!(merged.contains("ReadAheadExec"), "{merged}");

    let everything = r#"SELECT "start", "end", source, line, srcaddr FROM flows ORDER BY "start", "end", source, line"#;
    let (header, rows) = csv(&["--path", FIXTURES, "sql", everything]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unsorted.parquet");
    let column = |i: usize| rows.iter().rev().map(move |row| Some(row[i].as_str()).filter(|v| !v.is_empty()));
    let number = |i: usize| -> ArrayRef {
        Arc::new(column(i).map(|v| v.map(|v| v.parse::<i64>().unwrap())).collect::<Int64Array>())
    };
    let text = |i: usize| -> ArrayRef { Arc::new(column(i).collect::<StringArray>()) };
    let fields: Vec<Field> = header
        .iter()
        .map(|name| {
            let kind = if name == "source" || name == "srcaddr" { DataType::Utf8 } else { DataType::Int64 };
            Field::new(name, kind, true)
        })
        .collect();
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), vec![number(0), number(1), text(2), number(3), text(4)])
            .unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let file = file.to_str().unwrap();
    let sorted = plan(file);
    assert!(sorted.contains("SortExec:"), "{sorted}");
    assert_eq!(csv(&["--path", file, "sql", everything]), (header, rows));
}

/// A column that no object of the copy holds a value of (all null by its footers, like the transit
/// gateway fields of these logs) is not read: `SELECT *` scans only the others. Its answer is the
/// text's (`every_query_answers_the_same_on_the_copy`).
#[test]
fn columns_that_no_object_holds_are_not_read() {
    let out = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], out.path());
    let run = flowq()
        .args(["--path", out.path().to_str().unwrap(), "sql", "EXPLAIN SELECT * FROM flows", "--format", "csv"])
        .output()
        .unwrap();
    let plan = String::from_utf8(run.stdout).unwrap();
    let scan = plan.lines().find(|l| l.contains("TableScan")).unwrap();
    let read: Vec<&str> = scan.split("projection=[").nth(1).unwrap().trim_end_matches(']').split(", ").collect();
    assert!(read.contains(&"srcaddr") && read.contains(&"vpc_id"), "{scan}");
    assert!(!read.contains(&"tgw_id"), "{scan}");
}

/// A query of rejected flows reads only the row groups of the copy's rejected files (their
/// statistics say `action` is `REJECT` in all of their rows or in none), and one of accepted flows
/// only the others; the answers are the text's.
#[test]
fn queries_of_rejected_or_accepted_flows_read_only_their_row_groups() {
    let out = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], out.path());
    let copy = out.path().to_str().unwrap();
    // The row groups in all, and those the statistics leave to read, under `condition`.
    let groups = |condition: &str| {
        let sql = format!("EXPLAIN ANALYZE SELECT count(*) FROM flows WHERE {condition}");
        let plan = csv(&["--path", copy, "sql", &sql]).1.concat().join("\n");
        let counts = plan.split("row_groups_pruned_statistics=").nth(1).and_then(|c| c.split_once(" total → "));
        let number = |s: &str| s.trim().split(' ').next().and_then(|n| n.parse::<usize>().ok());
        match counts.map(|(total, matched)| (number(total), number(matched))) {
            Some((Some(total), Some(matched))) => (total, matched),
            _ => panic!("{condition}: no row group counts in {plan}"),
        }
    };
    let (total, rejected) = groups("action = 'REJECT'");
    let (same_total, accepted) = groups("action = 'ACCEPT'");
    // The NODATA and SKIPDATA records, which have no action.
    let (also_total, without) = groups("action IS NULL");
    assert_eq!((total, total), (same_total, also_total));
    // Every row group is of exactly one of the three.
    assert!(rejected > 0 && accepted > 0 && without > 0, "{rejected}, {accepted} and {without} of {total}");
    assert_eq!(rejected + accepted + without, total);
    for query in [&["rejected-tcp"][..], &["rejected"], &["accepted"]] {
        let on_copy = csv(&[&["--path", copy][..], query].concat());
        assert!(!on_copy.1.is_empty(), "{query:?}");
        assert_eq!(on_copy, csv(&[&["--path", FIXTURES][..], query].concat()), "{query:?}");
    }
}

/// `ip` on a copy of default-format logs, which hold no `pkt_srcaddr` or `pkt_dstaddr`: the tests of
/// those columns are NULL, and the reader is still given the address to look for (its bloom filters
/// and row filter) rather than every row to decode. `ip` on 40 M records took 1.1-1.3 s so, instead
/// of 0.25 s. The answer is the text's.
#[test]
fn the_reader_looks_for_the_address_when_the_copy_lacks_some_address_columns() {
    let out = tempfile::tempdir().unwrap();
    let text = format!("{FIXTURES}/111122223333");
    convert(&[&text], out.path());
    let copy = out.path().to_str().unwrap();
    let sql = "EXPLAIN SELECT * FROM flows WHERE cidr_contains('192.0.2.200', srcaddr) \
               OR cidr_contains('192.0.2.200', dstaddr) OR cidr_contains('192.0.2.200', pkt_srcaddr) \
               OR cidr_contains('192.0.2.200', pkt_dstaddr)";
    let plan = csv(&["--path", copy, "sql", sql]).1.concat().join("\n");
    let scan = plan.lines().find(|l| l.contains("DataSourceExec")).unwrap();
    // The hint's own form: DataFusion also shows the query's filter as a predicate, with
    // `cidr_contains`, which the reader's bloom filters and statistics cannot use.
    let predicate = scan.split("predicate=").nth(1).unwrap_or_default();
    assert!(predicate.contains("srcaddr@") && predicate.contains(" = 192.0.2.200"), "{plan}");
    let answer = csv(&["--path", copy, "ip", "192.0.2.200"]);
    assert!(!answer.1.is_empty());
    assert_eq!(answer, csv(&["--path", &text, "ip", "192.0.2.200"]));
}

/// A limit on a merged listing is pushed into the scan, and DataFusion then let the scan's
/// partitions take files from one another, out of order: the first rows were wrong.
#[test]
fn a_limit_takes_the_first_rows_of_the_copy_in_order() {
    let out = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], out.path());
    let copy = out.path().to_str().unwrap();
    let first =
        r#"SELECT "start", "end", source, line, srcaddr FROM flows ORDER BY "start", "end", source, line LIMIT 7"#;
    let on_copy = csv(&["--path", copy, "sql", first]);
    assert_eq!(on_copy.1.len(), 7);
    assert_eq!(on_copy, csv(&["--path", FIXTURES, "sql", first]));
    let listing = ["ssh-rdp", "--limit", "5"];
    let on_copy = csv(&[&["--path", copy][..], &listing].concat());
    assert_eq!(on_copy.1.len(), 5);
    assert_eq!(on_copy, csv(&[&["--path", FIXTURES][..], &listing].concat()));
}

#[test]
fn reruns_convert_only_new_objects() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let logs = input.path().join("AWSLogs");
    copy_tree(&fixtures().join("AWSLogs/111122223333"), &logs.join("111122223333"));
    let objects = files_under(&logs);
    let last = objects.last().unwrap().clone();
    let parked = input.path().join("parked.log.gz");
    std::fs::rename(&last, &parked).unwrap();
    let logs_arg = logs.to_str().unwrap();

    let first = convert(&[logs_arg], out.path());
    assert!(first.contains(&format!("converted {} objects", objects.len() - 1)), "{first}");
    let again = convert(&[logs_arg], out.path());
    assert!(again.contains("nothing new to convert"), "{again}");
    std::fs::rename(&parked, &last).unwrap();
    // A dry run lists what the next run would convert: the one new object.
    let (_, listed) = csv(&["--path", logs_arg, "--dry-run", "convert", "--out", out.path().to_str().unwrap()]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].iter().any(|v| v == &last.to_string_lossy()), "{listed:?}");
    let third = convert(&[logs_arg], out.path());
    let (new_records, _) = reference_read(&last.to_string_lossy(), &text_of(&last));
    assert!(third.contains(&format!("converted 1 objects ({} records)", new_records.len())), "{third}");
    assert!(third.contains(&format!("{} objects were converted before", objects.len() - 1)), "{third}");

    let count = |path: &str| csv(&["--path", path, "sql", "SELECT COUNT(*) AS n, SUM(bytes) AS b FROM flows"]).1;
    assert_eq!(count(out.path().to_str().unwrap()), count(logs_arg));
    // The runs' files together still list in order.
    let listing = |path: &str| csv(&["--path", path, "rejected"]);
    assert_eq!(listing(out.path().to_str().unwrap()), listing(logs_arg));
}

#[test]
fn an_object_not_read_whole_is_left_out_and_tried_again() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let logs = input.path().join("AWSLogs");
    copy_tree(&fixtures().join("AWSLogs/111122223333"), &logs.join("111122223333"));
    let victim = files_under(&logs)[0].clone();
    let good = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &good[..good.len() / 2]).unwrap();
    let logs_arg = logs.to_str().unwrap();

    let (code, stderr) = convert_status(&[logs_arg], out.path());
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("1 objects could not be read whole"), "{stderr}");
    let victim_name = victim.to_string_lossy().into_owned();
    let query = format!("SELECT COUNT(*) AS n FROM flows WHERE source = '{victim_name}'");
    assert_eq!(csv(&["--path", out.path().to_str().unwrap(), "sql", &query]).1, [["0"]]);

    std::fs::write(&victim, &good).unwrap();
    let second = convert(&[logs_arg], out.path());
    let (records, _) = reference_read(&victim_name, &text_of(&victim));
    assert!(second.contains(&format!("converted 1 objects ({} records)", records.len())), "{second}");
    assert_eq!(csv(&["--path", out.path().to_str().unwrap(), "sql", &query]).1, [[records.len().to_string()]]);
}

/// An object with nothing readable gives no rows at all: it is still left out and tried again.
#[test]
fn an_unreadable_object_alone_is_left_out() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("broken.log.gz"), [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef]).unwrap();
    for _ in 0..2 {
        let (code, stderr) = convert_status(&[input.path().to_str().unwrap()], out.path());
        assert_eq!(code, Some(3), "{stderr}");
        assert!(stderr.contains("converted 0 objects (0 records)"), "{stderr}");
        assert!(stderr.contains("1 objects could not be read whole"), "{stderr}");
    }
    assert!(parquet_files(out.path()).is_empty());
}

#[test]
fn an_interrupted_run_leaves_nothing_visible_and_is_cleaned_up() {
    let out = tempfile::tempdir().unwrap();
    // What a run killed before its commit leaves: a staging folder the state does not name.
    let staged = out.path().join(".staging-20240101T000000Z-1/account_id=1/region=r/date=2024-01-01");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::write(staged.join("part-x-0.parquet"), b"half").unwrap();
    convert(&["fixtures/AWSLogs/111122223333"], out.path());
    assert!(!out.path().join(".staging-20240101T000000Z-1").exists());
    assert!(parquet_files(out.path()).iter().all(|f| !f.to_string_lossy().contains("account_id=1/")));

    // What a run killed after its commit leaves: files still staged for a committed run. The next run
    // moves them into place.
    let state_path = out.path().join(".flowq-convert.json");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    let run = &state["runs"][0];
    let id = run["id"].as_str().unwrap();
    let file = run["files"][0].as_str().unwrap();
    let staging = out.path().join(format!(".staging-{id}"));
    std::fs::create_dir_all(staging.join(file).parent().unwrap()).unwrap();
    std::fs::rename(out.path().join(file), staging.join(file)).unwrap();
    let rerun = convert(&["fixtures/AWSLogs/111122223333"], out.path());
    assert!(rerun.contains("nothing new to convert"), "{rerun}");
    assert!(out.path().join(file).is_file());
    assert!(!staging.exists());
}

#[test]
fn a_dry_run_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("copy");
    let (_, listed) = csv(&["--path", FIXTURES, "--dry-run", "convert", "--out", target.to_str().unwrap()]);
    assert_eq!(listed.len(), files_under(&fixtures().join("AWSLogs")).len());
    assert!(!target.exists());
}

#[test]
fn the_copy_may_not_be_inside_what_it_reads() {
    let input = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("AWSLogs/111122223333"), &input.path().join("AWSLogs/111122223333"));
    let out = input.path().join("copy");
    // Refused from the first run on, before anything is written into it.
    let (code, stderr) = convert_status(&[input.path().to_str().unwrap()], &out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("overlap"), "{stderr}");
    assert!(!out.exists());
}

/// An object whose format changes mid-way to a field its first header did not name cannot be copied
/// whole with the columns chosen from first headers: it is refused, not copied without that field.
#[test]
fn an_object_whose_format_changes_mid_way_is_not_converted() {
    let input = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let header = common::DEFAULT_FIELDS;
    let record = "2 123456789012 eni-0a1b2c3d 10.0.0.1 10.0.0.2 443 49152 6 10 840 1709251200 1709251260 ACCEPT OK";
    let text = format!("{header}\n{record}\n{header} vpc-id\n{record} vpc-0abc\n");
    std::fs::write(input.path().join("changes.log"), text).unwrap();
    let (code, stderr) = convert_status(&[input.path().to_str().unwrap()], out.path());
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("format changes mid-way"), "{stderr}");
    assert!(stderr.contains("1 objects could not be read whole"), "{stderr}");
    assert!(parquet_files(out.path()).is_empty());
}

#[test]
fn convert_refuses_record_filters() {
    let out = tempfile::tempdir().unwrap();
    let run =
        flowq().args(["--path", FIXTURES, "--ip", "10.0.0.0/8", "convert", "--out"]).arg(out.path()).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--ip does not apply to convert"));
}

/// AWS's Parquet delivery: the object's fields as typed columns (underscore or hyphen names), no
/// header, no line numbers.
#[test]
fn delivered_parquet_reads_like_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let object = files_under(&fixtures().join("AWSLogs/aws-account-id=444455556666"))[0].clone();
    let (records, _) = reference_read("x", &text_of(&object));
    let header = text_of(&object).lines().next().unwrap().to_string();
    for (name, separator) in [("underscores.parquet", '_'), ("hyphens.parquet", '-')] {
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in header.split(' ') {
            let column = field.replace('-', "_");
            let values = records.iter().map(|r| r.get(&column));
            let stored = field.replace('-', &separator.to_string());
            let (kind, array): (DataType, ArrayRef) = match field {
                "version" | "srcport" | "dstport" | "protocol" | "tcp-flags" | "traffic-path" => (
                    DataType::Int32,
                    Arc::new(values.map(|v| v.map(|v| v.parse::<i32>().unwrap())).collect::<Int32Array>()),
                ),
                "packets" | "bytes" | "start" | "end" => (
                    DataType::Int64,
                    Arc::new(values.map(|v| v.map(|v| v.parse::<i64>().unwrap())).collect::<Int64Array>()),
                ),
                _ => (DataType::Utf8, Arc::new(values.collect::<StringArray>())),
            };
            fields.push(Field::new(stored, kind, true));
            columns.push(array);
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let file = std::fs::File::create(dir.path().join(name)).unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let text = object.to_str().unwrap();
    let columns: Vec<String> = header.split(' ').map(|f| format!("\"{}\"", f.replace('-', "_"))).collect();
    let columns = columns.join(", ");
    let sql = format!("SELECT {columns} FROM flows ORDER BY {columns}");
    let expected = csv(&["--path", text, "sql", &sql]);
    assert_eq!(expected.1.len(), records.len());
    for name in ["underscores.parquet", "hyphens.parquet"] {
        let path = dir.path().join(name);
        assert_eq!(csv(&["--path", path.to_str().unwrap(), "sql", &sql]), expected, "{name}");
        let (_, provenance) = csv(&[
            "--path",
            path.to_str().unwrap(),
            "sql",
            "SELECT DISTINCT source, line IS NULL AS no_line FROM flows",
        ]);
        assert_eq!(provenance, [[path.to_string_lossy().into_owned(), "true".to_string()]]);
    }
    // A copy of AWS's Parquet keeps its objects' names, and its null line numbers.
    let copy = tempfile::tempdir().unwrap();
    convert(&[dir.path().to_str().unwrap()], copy.path());
    let everything = format!("SELECT source, line, {columns} FROM flows ORDER BY source, {columns}");
    assert_eq!(
        csv(&["--path", copy.path().to_str().unwrap(), "sql", &everything]),
        csv(&["--path", dir.path().to_str().unwrap(), "sql", &everything])
    );
}

#[test]
fn a_damaged_parquet_object_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("flows.parquet");
    std::fs::write(&bad, b"PAR1 this is not a footer").unwrap();
    let run =
        flowq().args(["--path", dir.path().to_str().unwrap(), "sql", "SELECT COUNT(*) FROM flows"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("{}: ", bad.display())), "{stderr}");
    assert!(stderr.contains("not a readable Parquet file"), "{stderr}");
}

/// A copy's object damaged part-way (its footer whole) is reported by name, as a damaged text
/// object is: the rows it gave before the damage and every other object's rows are kept, and the
/// summary counts only the rows read. `--strict` and `convert` stop there instead.
#[test]
fn a_parquet_object_damaged_part_way_is_reported_and_the_rest_is_read() {
    let clean = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], clean.path());
    let mut files = parquet_files(clean.path());
    files.sort_by_key(|f| std::fs::metadata(f).unwrap().len());
    let largest = files.last().unwrap().clone();
    let damaged = tempfile::tempdir().unwrap();
    for file in &files {
        let to = damaged.path().join(file.strip_prefix(clean.path()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(file, to).unwrap();
    }
    // Bytes flipped through the first half of the file (its data pages); the footer is at the end.
    let bad = damaged.path().join(largest.strip_prefix(clean.path()).unwrap());
    let mut bytes = std::fs::read(&bad).unwrap();
    let half = bytes.len() / 2;
    for i in (100..half).step_by(97) {
        bytes[i] ^= 0x5a;
    }
    std::fs::write(&bad, bytes).unwrap();

    let everything = "SELECT * FROM flows";
    // Each row by its original object and line, which the copy keeps.
    let keys = |(header, rows): (Vec<String>, Vec<Vec<String>>)| -> Vec<(String, String)> {
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (source, line) = (at("source"), at("line"));
        rows.into_iter().map(|row| (row[source].clone(), row[line].clone())).collect()
    };
    let all: BTreeSet<_> =
        keys(csv(&["--path", clean.path().to_str().unwrap(), "sql", everything])).into_iter().collect();
    let in_bad: BTreeSet<_> =
        keys(csv(&["--path", largest.to_str().unwrap(), "sql", everything])).into_iter().collect();
    let run = flowq()
        .args(["--path", damaged.path().to_str().unwrap(), "sql", everything, "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("{}: damaged object", bad.display())), "{stderr}");
    let read = keys(parse_csv(&String::from_utf8(run.stdout).unwrap()));
    let kept: BTreeSet<_> = read.iter().cloned().collect();
    assert_eq!(kept.len(), read.len(), "a row read twice");
    assert!(kept.is_subset(&all));
    assert!(all.difference(&in_bad).all(|row| kept.contains(row)), "another object's rows were lost");
    assert!(in_bad.difference(&kept).next().is_some(), "the damage was not met");
    assert!(stderr.contains(&format!(", {} records;", read.len())), "{stderr}");

    let run = flowq()
        .args(["--path", damaged.path().to_str().unwrap(), "--strict", "sql", everything, "--format", "csv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("flowq: error:")).unwrap();
    assert!(error.contains(&format!("{}: damaged object", bad.display())), "{stderr}");
    assert_eq!(error.matches("--strict stops at the first problem").count(), 1, "{stderr}");

    // `convert` stops, and writes nothing: the rows read before the damage name their original
    // objects, so they could not be left out.
    let out = tempfile::tempdir().unwrap();
    let (code, stderr) = convert_status(&[damaged.path().to_str().unwrap()], &out.path().join("copy"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: could not be read whole, which stops the conversion", bad.display())),
        "{stderr}"
    );
    assert!(parquet_files(out.path()).is_empty());

    // An error of the query's own, here in a filter the reader evaluates, is not the object's.
    let failing =
        "SELECT COUNT(*) FROM flows WHERE cidr_contains(srcaddr, '192.0.2.200/32') AND CAST(action AS INT) = 1";
    let run = flowq().args(["--path", clean.path().to_str().unwrap(), "sql", failing]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Cannot cast string 'ACCEPT'") && !stderr.contains("damaged"), "{stderr}");
}

/// AWS's Parquet in the default format has no region field: like a text object, a record takes the
/// account and region of its object's key.
#[test]
fn delivered_parquet_takes_account_and_region_from_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("AWSLogs/111122223333/vpcflowlogs/us-east-1/2024/03/01");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("111122223333_vpcflowlogs_us-east-1_fl-0abc1234_20240301T0005Z_0a1b2c3d.log.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("srcaddr", DataType::Utf8, true),
        Field::new("bytes", DataType::Int64, true),
    ]));
    let columns: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from(vec!["10.0.0.1", "10.0.0.2"])), Arc::new(Int64Array::from(vec![5, 7]))];
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let path = dir.path().to_str().unwrap();
    let sql = "SELECT account_id, region, SUM(bytes) AS b FROM flows GROUP BY 1, 2";
    assert_eq!(csv(&["--path", path, "--region", "us-east-1", "sql", sql]).1, [["111122223333", "us-east-1", "12"]]);
}

/// DuckDB (from PyPI; `.ci/run` installs it) reads the copy on its own, Hive partitions and all.
#[test]
fn duckdb_reads_the_copy() {
    let out = tempfile::tempdir().unwrap();
    convert(&[FIXTURES], out.path());
    let script = format!(
        "import duckdb\n\
         rows = duckdb.sql(\"SELECT COUNT(*), SUM(bytes), COUNT(DISTINCT account_id), MIN(date), MAX(date) \
         FROM read_parquet('{}/**/*.parquet', hive_partitioning=true, hive_types={{'account_id': 'VARCHAR', 'region': 'VARCHAR', 'date': 'DATE'}})\").fetchall()\n\
         print(*rows[0], sep=',')",
        out.path().display()
    );
    let run = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(run.status.success(), "DuckDB (pip install duckdb): {}", String::from_utf8_lossy(&run.stderr));
    let got = String::from_utf8(run.stdout).unwrap();
    let (_, expected) = csv(&[
        "--path",
        FIXTURES,
        "sql",
        r#"SELECT COUNT(*), SUM(bytes), COUNT(DISTINCT account_id), to_char(to_timestamp(MIN("start")), '%Y-%m-%d'), to_char(to_timestamp(MAX("start")), '%Y-%m-%d') FROM flows"#,
    ]);
    assert_eq!(got.trim(), expected[0].join(","));
}

fn copy_tree(from: &Path, to: &Path) {
    for file in files_under(from) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}

/// `--manifest` on Parquet names each object with the SHA-256 of its bytes, as for text: the scan
/// reads only ranges, so flowq reads each whole for it.
#[test]
fn the_manifest_gives_each_parquet_object_its_digest() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    convert(&[FIXTURES], &copy);
    let manifest = dir.path().join("m.json");
    let run = flowq()
        .args(["top-talkers", "--quiet", "--format", "csv", "--path"])
        .arg(&copy)
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let objects = m["objects"].as_array().unwrap();
    let files = parquet_files(&copy);
    assert_eq!(objects.len(), files.len());
    for object in objects {
        let path = PathBuf::from(object["url"].as_str().unwrap());
        let want = flowq::output::manifest::hex(&sha2::Sha256::digest(std::fs::read(&path).unwrap()));
        assert_eq!(object["sha256"], want.as_str(), "{object}");
    }
}
