//! The command line as a user sees it: every subcommand, filter and output format, and bad input →
//! the message on stderr and the exit code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use common::{csv, fixtures, flowq};
use predicates::prelude::*;

const FIXTURES: &str = "fixtures/AWSLogs";

#[test]
fn every_subcommand_answers_on_the_fixtures() {
    for args in [
        vec!["top-talkers"],
        vec!["top-talkers-pkt"],
        vec!["top-pairs"],
        vec!["top-pairs-pkt"],
        vec!["top-instances"],
        vec!["top-subnets"],
        vec!["admin-ports"],
        vec!["rejected-tcp"],
        vec!["traffic-by-type"],
        vec!["ip", "198.51.100.77"],
        vec!["from", "203.0.113.45"],
        vec!["to", "10.0.1.12"],
        vec!["rejected"],
        vec!["accepted"],
        vec!["ssh-rdp"],
        vec!["sql", "SELECT COUNT(*) FROM flows"],
    ] {
        let (header, rows) = csv(&[args.as_slice(), &["--path", FIXTURES]].concat());
        assert!(!header.is_empty() && !rows.is_empty(), "{args:?}");
    }
}

#[test]
fn summary_line_on_stderr_and_exit_zero() {
    flowq()
        .args(["top-talkers", "--path", FIXTURES, "--format", "csv"])
        .assert()
        .code(0)
        .stderr(predicate::str::is_match(r"flowq: read 36 objects \(.*\), \d+ records; nothing skipped\n$").unwrap());
}

#[test]
fn filters_go_before_or_after_the_subcommand() {
    let after = csv(&["rejected-tcp", "--path", FIXTURES, "--since", "2024-03-01", "--until", "2024-03-02"]);
    let before = csv(&["--path", FIXTURES, "--since", "2024-03-01", "--until", "2024-03-02", "rejected-tcp"]);
    assert_eq!(after, before);
    assert_eq!(after.1[0][0], "192.0.2.200");
}

#[test]
fn pruning_skips_objects_and_says_so() {
    flowq()
        .args(["top-talkers", "--path", FIXTURES, "--since", "2024-03-03T06:00:00Z", "--format", "csv"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("objects skipped by their key"));
    flowq()
        .args(["top-talkers", "--path", FIXTURES, "--region", "eu-west-1", "--format", "csv"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("read 18 objects"));
    // The key's account owns the flow log, not always the interface: --account never prunes.
    flowq()
        .args(["top-talkers", "--path", FIXTURES, "--account", "444455556666", "--format", "csv"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("read 36 objects"));
}

#[test]
fn output_formats() {
    let run = |format: &str| {
        let out =
            flowq().args(["top-talkers", "--path", FIXTURES, "--limit", "3", "--format", format]).output().unwrap();
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let csv = String::from_utf8(run("csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("ip,bytes,packets,flows\n10.0.2.25,"));
    let json = String::from_utf8(run("json")).unwrap();
    assert!(json.starts_with("[{\"ip\":\"10.0.2.25\",\"bytes\":"), "{json}");
    let ndjson = String::from_utf8(run("ndjson")).unwrap();
    assert_eq!(ndjson.lines().count(), 3);
    assert!(ndjson.lines().all(|l| l.starts_with("{\"ip\":")));
    let table = String::from_utf8(run("table")).unwrap();
    assert!(table.contains("| ip ") && table.contains("| 10.0.2.25 ") && table.contains("3 rows"), "{table}");
    let parquet = run("parquet");
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
}

#[test]
fn table_shows_times_readably_and_says_what_it_left_out() {
    let out = flowq().args(["rejected", "--path", FIXTURES, "--format", "table"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2024-03-01T"), "{text}");
    assert!(text.contains("more rows not shown"), "{text}");
}

#[test]
fn output_file_takes_its_format_from_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ip.parquet");
    flowq().args(["ip", "198.51.100.77", "--path", FIXTURES, "--output"]).arg(&file).assert().code(0);
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"PAR1"));
    let file = dir.path().join("ip.json");
    flowq().args(["ip", "198.51.100.77", "--path", FIXTURES, "-o"]).arg(&file).assert().code(0);
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("[{"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no partial files left behind");
}

#[test]
fn columns_pick_listing_columns() {
    let (header, rows) =
        csv(&["ip", "198.51.100.77", "--path", FIXTURES, "--columns", "start,srcaddr,dstaddr,bytes,tcp_flags"]);
    assert_eq!(header, ["start", "srcaddr", "dstaddr", "bytes", "tcp_flags"]);
    assert!(rows.len() > 30);
    flowq()
        .args(["top-talkers", "--path", FIXTURES, "--columns", "srcaddr"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--columns applies to listings"));
}

#[test]
fn columns_are_checked() {
    flowq()
        .args(["ip", "10.0.0.0/8", "--path", FIXTURES, "--columns", "start,src addr"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"src addr\" is not a column name"));
    flowq()
        .args(["ip", "10.0.0.0/8", "--path", FIXTURES, "--columns", "start,srcadr"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("flows has no column \"srcadr\"; its columns are: version,"));
}

#[test]
fn overlapping_paths_read_each_object_once_and_empty_folders_answer_zero() {
    let (_, once) = csv(&["sql", "SELECT COUNT(*) FROM flows", "--path", FIXTURES]);
    let (_, overlapping) = csv(&[
        "sql",
        "SELECT COUNT(*) FROM flows",
        "--path",
        FIXTURES,
        "--path",
        "fixtures/AWSLogs/111122223333",
        "--path",
        "./fixtures/AWSLogs",
    ]);
    assert_eq!(once, overlapping);
    let empty = tempfile::tempdir().unwrap();
    let (_, rows) = csv(&["sql", "SELECT COUNT(*) AS n FROM flows", "--path", &empty.path().to_string_lossy()]);
    assert_eq!(rows, [["0"]]);
    let (_, rows) = csv(&["top-talkers", "--path", FIXTURES, "--since", "2030-01-01"]);
    assert!(rows.is_empty());
}

#[cfg(unix)]
#[test]
fn a_dangling_link_in_a_folder_is_reported_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "version srcaddr\n2 10.0.0.1\n").unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone.log"), dir.path().join("link.log")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let out = flowq()
        .args(["sql", "SELECT COUNT(*) AS n FROM flows", "--format", "csv", "--path"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "n\n1\n");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("link.log: could not be read: No such file or directory"), "{err}");
}

#[test]
fn queries_lists_the_catalogue() {
    flowq()
        .arg("queries")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("top-talkers\n"))
        .stdout(predicate::str::contains("Athena: VpcFlowLogsTotalBytesTransferred"))
        .stdout(predicate::str::contains("Parameters: $cidr"));
}

#[test]
fn sql_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.csv");
    for statement in [
        format!("COPY (SELECT * FROM flows) TO '{}'", target.display()),
        "CREATE TABLE t AS SELECT * FROM flows".to_string(),
        "INSERT INTO flows SELECT * FROM flows".to_string(),
        "SET datafusion.execution.batch_size = 1".to_string(),
    ] {
        flowq()
            .args(["sql", &statement, "--path", FIXTURES])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("read-only"));
    }
    assert!(!target.exists());
}

#[test]
fn nulls_sort_last_in_descending_order() {
    let (_, rows) = csv(&["sql", "SELECT srcaddr FROM flows ORDER BY srcaddr DESC", "--path", FIXTURES]);
    assert!(!rows[0][0].is_empty());
    assert!(rows.last().unwrap()[0].is_empty(), "NODATA rows (NULL srcaddr) come last");
}

fn corpus_with_problems() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let good = "version srcaddr dstaddr bytes\n2 10.0.0.1 10.0.0.2 100\n2 10.0.0.3 10.0.0.4 50\n";
    std::fs::write(dir.path().join("good.log"), good).unwrap();
    let junk = "version srcaddr dstaddr bytes\n2 10.0.0.1 10.0.0.2 7\nthis is not a record\n2 10.0.0.1 10.0.0.2 12x\n";
    std::fs::write(dir.path().join("junk.log"), junk).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut text = String::from("version srcaddr dstaddr bytes\n");
    for i in 0..20_000 {
        text.push_str(&format!("2 10.9.{}.{} 10.0.0.2 1\n", i / 250, i % 250));
    }
    gz.write_all(text.as_bytes()).unwrap();
    let zipped = gz.finish().unwrap();
    std::fs::write(dir.path().join("cut.log.gz"), &zipped[..zipped.len() / 2]).unwrap();
    dir
}

#[test]
fn bad_lines_and_damaged_objects_are_reported_and_the_run_goes_on() {
    let dir = corpus_with_problems();
    let out = flowq()
        .args([
            "sql",
            "SELECT COUNT(*) AS n, SUM(bytes) AS b FROM flows WHERE srcaddr LIKE '10.0.%'",
            "--format",
            "csv",
            "--path",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "answered, but something was skipped");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "n,b\n3,157\n");
    let err = String::from_utf8(out.stderr).unwrap();
    let junk = dir.path().join("junk.log");
    assert!(err.contains(&format!("{}: line 3: expected 4 fields, found 5", junk.display())), "{err}");
    assert!(err.contains(&format!("{}: line 4: column bytes: \"12x\" is not a valid number", junk.display())), "{err}");
    assert!(err.contains("cut.log.gz: damaged object, records before the damage were kept"), "{err}");
    assert!(err.contains("SKIPPED 3 lines, 0 header fields and 1 objects"), "{err}");
}

#[test]
fn strict_fails_on_the_first_problem() {
    let dir = corpus_with_problems();
    flowq()
        .args(["top-talkers", "--strict", "--format", "csv", "--path"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--strict stops at the first problem").count(1));
}

#[test]
fn unknown_header_fields_become_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "version srcaddr next-hop-type\n2 10.0.0.1 igw\n2 10.0.0.2 -\n").unwrap();
    let (header, rows) = csv(&[
        "sql",
        "SELECT srcaddr, next_hop_type FROM flows ORDER BY srcaddr",
        "--path",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(header, ["srcaddr", "next_hop_type"]);
    assert_eq!(rows, [["10.0.0.1", "igw"], ["10.0.0.2", ""]]);
}

/// Unknown fields are looked for in the first object of each flow log (its format cannot change) and
/// in every object whose name does not say its flow log. An object that breaks the rule has its field
/// reported, not dropped silently.
#[test]
fn unknown_fields_are_found_once_per_flow_log_and_the_rest_reported() {
    let dir = tempfile::tempdir().unwrap();
    let name = |fl: &str, minute: &str| format!("111122223333_vpcflowlogs_us-east-1_{fl}_20240301T00{minute}Z_ab.log");
    for (file, text) in [
        (name("fl-a", "00"), "version srcaddr next-hop-type\n2 10.0.0.1 igw\n"),
        (name("fl-a", "05"), "version srcaddr next-hop-type\n2 10.0.0.2 nat\n"),
        (name("fl-b", "00"), "version srcaddr az-zone\n2 10.0.0.3 a\n"),
        (name("fl-b", "05"), "version srcaddr az-zone odd-one\n2 10.0.0.4 b x\n"),
        ("plain.log".to_string(), "version srcaddr other\n2 10.0.0.5 y\n"),
    ] {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let path = dir.path().to_string_lossy().to_string();
    let sql = "SELECT srcaddr, next_hop_type, az_zone, other FROM flows ORDER BY srcaddr";
    let out = flowq().args(["sql", sql, "--path", &path, "--format", "csv"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stdout,
        "srcaddr,next_hop_type,az_zone,other\n10.0.0.1,igw,,\n10.0.0.2,nat,,\n10.0.0.3,,a,\n10.0.0.4,,b,\n10.0.0.5,,,y\n"
    );
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("odd-one") && stderr.contains("fl-b_20240301T0005Z"), "{stderr}");
}

#[test]
fn fields_names_the_format_of_headerless_objects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "10.0.0.1 10.0.0.2 443 99\n").unwrap();
    let (_, rows) = csv(&[
        "sql",
        "SELECT dstport, bytes FROM flows",
        "--fields",
        "srcaddr dstaddr dstport bytes",
        "--path",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(rows, [["443", "99"]]);
    flowq()
        .args(["top-talkers", "--fields", "srcaddr dstadr", "--path", "fixtures/samples"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"dstadr\" is not a flow-log field"));
}

#[test]
fn bad_values_are_refused_before_reading() {
    let cases: &[(&[&str], &str)] = &[
        (&["--since", "yesterday"], "--since \"yesterday\" is not a time"),
        (&["--since", "2024-03-02", "--until", "2024-03-01"], "must be before --until"),
        (&["--ip", "10.0.0.0/33"], "\"10.0.0.0/33\" is not an IP address or CIDR block"),
        (&["--protocol", "tcpp"], "--protocol \"tcpp\" is not a protocol"),
        (&["--port", "70000"], "--port \"70000\" is not a port"),
        (&["--action", "drop"], "--action \"drop\" is not an action"),
        (&["--account", "1234"], "not an AWS account id"),
        (&["--format", "xml"], "unknown format \"xml\""),
        (&["--limit", "0"], "--limit must be at least 1"),
        (&["--fields", "version srcaddr version"], "--fields names \"version\" twice"),
        (&["--memory-limit", "16"], "16 is not in 32.."),
    ];
    for (args, message) in cases {
        flowq()
            .arg("top-talkers")
            .args(["--path", FIXTURES])
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*message));
    }
    flowq()
        .args(["ip", "300.1.1.1", "--path", FIXTURES])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"300.1.1.1\" is not an IP address"));
}

#[test]
fn missing_path_and_nothing_to_read() {
    flowq()
        .args(["top-talkers", "--path", "no/such/dir"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no/such/dir: no such file or directory"));
    flowq().arg("top-talkers").assert().code(2).stderr(predicate::str::contains("nothing to read"));
}

#[test]
fn aws_samples_load_with_the_annotated_lines_reported() {
    let out = flowq()
        .args(["sql", "SELECT COUNT(*) FROM flows", "--format", "csv", "--path"])
        .arg(fixtures().join("samples"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().nth(1), Some("25"));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("06-nat-gateway.log: line 6: expected 6 fields, found 16"), "{err}");
}

/// A sorted listing bigger than `--memory-limit` spills to disk and returns exactly the rows of a run
/// with room to spare. (DataFusion 55's per-partition sorts failed here with "Resources exhausted";
/// flowq sorts once over all partitions.) A query that cannot spill says which flag to raise.
#[test]
fn listings_bigger_than_the_memory_limit_spill_and_give_the_same_rows() {
    use flowq::generate::{CorpusSpec, write_corpus};
    let dir = tempfile::tempdir().unwrap();
    let spec = CorpusSpec {
        days: 1,
        objects_per_day: 4,
        records_per_object: 50_000,
        incidents: false,
        default_format_only: true,
        ..CorpusSpec::default()
    };
    write_corpus(&spec, dir.path()).unwrap();
    let path = dir.path().to_str().unwrap();
    let sql = "SELECT * FROM flows ORDER BY start, \"end\", source, line";
    let run = |sql: &str, limit: &str| {
        let out =
            flowq().args(["sql", sql, "--path", path, "--format", "csv", "--memory-limit", limit]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let tight = run(sql, "32");
    assert_eq!(tight.iter().filter(|b| **b == b'\n').count(), 200_001);
    assert!(tight == run(sql, "4096"), "the spilled sort returned other rows");
    let plan = String::from_utf8(run(&format!("EXPLAIN ANALYZE {sql}"), "32")).unwrap();
    let spills: u64 = plan.split("spill_count=").nth(1).and_then(|s| s.split(',').next()).unwrap().parse().unwrap();
    assert!(spills > 0, "{plan}");

    // The join's build side holds every column of one side: about 50 MB here.
    let join = "SELECT a.*, b.line AS other FROM flows a JOIN flows b ON a.start = b.start";
    flowq()
        .args(["sql", join, "--path", path, "--format", "csv", "--memory-limit", "32"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the query needs more than --memory-limit 32 MiB: raise it"));
}

/// Ctrl-C (SIGINT) ends a run with exit code 130 and removes what it was making: the report's copy of
/// the logs in `TMPDIR`, and an `--output` file not yet complete (nothing is put in its place).
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    use flowq::generate::{CorpusSpec, write_corpus};
    use std::path::Path;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let spec = CorpusSpec {
        days: 1,
        objects_per_day: 4,
        records_per_object: 100_000,
        incidents: false,
        default_format_only: true,
        ..CorpusSpec::default()
    };
    write_corpus(&spec, &corpus).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let entries =
        |folder: &Path| std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
    // Starts flowq, waits until `started` holds, then sends SIGINT; its exit code and stderr.
    let interrupt = |args: &[&str], started: &dyn Fn() -> bool| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flowq"))
            .env("TMPDIR", &tmp)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !started() {
            assert!(child.try_wait().unwrap().is_none(), "flowq ended before it could be interrupted");
            assert!(Instant::now() < deadline, "flowq did not start in time");
            std::thread::sleep(Duration::from_millis(5));
        }
        let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let path = corpus.to_string_lossy().into_owned();

    // The report, while it copies the logs.
    let report = dir.path().join("nightly.html");
    let args = ["report", "--path", &path, "--quiet", "--output", &report.to_string_lossy()];
    let (code, stderr) = interrupt(&args, &|| !entries(&tmp).is_empty());
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("flowq: error: interrupted"), "{stderr}");
    assert!(entries(&tmp).is_empty(), "the copy is removed: {:?}", entries(&tmp));
    assert!(!report.exists());

    // A query, while it writes its output.
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let all = out.join("all.csv");
    let args = ["sql", "SELECT * FROM flows", "--path", &path, "--quiet", "--output", &all.to_string_lossy()];
    let partial = out.join(".all.csv.partial");
    let (code, stderr) = interrupt(&args, &|| std::fs::metadata(&partial).is_ok_and(|m| m.len() > 0));
    assert_eq!(code, Some(130), "{stderr}");
    assert!(entries(&out).is_empty(), "nothing is left in place: {:?}", entries(&out));
}

/// `EXPLAIN ANALYZE` counts each row the scan returns once (it counted them twice) and shows the time
/// spent decoding.
#[test]
fn explain_analyze_counts_the_scanned_rows_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "version srcaddr bytes\n2 10.0.0.1 5\n2 10.0.0.2 6\n2 10.0.0.3 7\n")
        .unwrap();
    let sql = "EXPLAIN ANALYZE SELECT srcaddr FROM flows";
    let out = flowq().args(["sql", sql, "--path", &dir.path().to_string_lossy(), "--format", "csv"]).output().unwrap();
    let plan = String::from_utf8(out.stdout).unwrap();
    let scan = plan.lines().find(|l| l.contains("DataSourceExec")).unwrap();
    assert!(scan.contains("output_rows=3,") && scan.contains("elapsed_compute="), "{scan}");
}

/// SHA-256 of bytes, as lower-case hex.
fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_manifest_records_every_object_its_digest_and_the_answers_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (answer, manifest) = (dir.path().join("ip.csv"), dir.path().join("evidence.json"));
    // One damaged object beside the fixtures: listed, read to its end, reported, and digested.
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let damaged = evidence.join("damaged.log.gz");
    let good = std::fs::read(common::files_under(&fixtures().join("AWSLogs"))[0].clone()).unwrap();
    std::fs::write(&damaged, &good[..good.len() / 2]).unwrap();
    flowq()
        .args(["ip", "198.51.100.77", "--path", FIXTURES, "--path"])
        .arg(&evidence)
        .arg("-o")
        .arg(&answer)
        .arg("--manifest")
        .arg(&manifest)
        .assert()
        .code(3);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["flowq"], format!("flowq {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(m["command"][1], "ip");
    assert!(m["queries"][0].as_str().unwrap().contains("cidr_contains($cidr, srcaddr)"));
    assert_eq!(m["parameters"][0], "$cidr = 198.51.100.77/32");
    assert_eq!(m["outcome"], "partial");
    let mut files = common::files_under(&fixtures().join("AWSLogs"));
    files.push(damaged.clone());
    let objects = m["objects"].as_array().unwrap();
    assert_eq!(objects.len(), files.len());
    for object in objects {
        let url = object["url"].as_str().unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(url);
        let path = if path.exists() { path } else { std::path::PathBuf::from(url) };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(object["size"], bytes.len() as u64, "{url}");
        assert_eq!(object["sha256"], sha256(&bytes), "{url}");
        assert!(object["last_modified"].as_str().unwrap().ends_with('Z'), "{url}");
    }
    let written = std::fs::read(&answer).unwrap();
    assert_eq!(m["output"]["sha256"], sha256(&written));
    assert_eq!(m["output"]["bytes"], written.len() as u64);
    assert_eq!(m["output"]["rows"], (written.iter().filter(|b| **b == b'\n').count() - 1) as u64);
    assert_eq!(m["records"]["read"], m["output"]["rows"]);
    assert_eq!(m["records"]["bad_objects"], 1);
    let problems = m["problems"].as_array().unwrap();
    assert!(!problems.is_empty(), "{problems:?}");
    assert!(problems.iter().all(|p| p.as_str().unwrap().contains("damaged.log.gz")), "{problems:?}");

    // On standard output, the digest is of the bytes written there.
    let out = flowq()
        .args(["top-talkers", "--path", FIXTURES, "--format", "csv", "--manifest"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["output"]["sha256"], sha256(&out.stdout));
    assert_eq!(m["output"]["path"], serde_json::Value::Null);
    assert_eq!(m["outcome"], "complete");
}
