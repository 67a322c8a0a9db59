//! `flowq report` against the truth: every number of the JSON report is recomputed here from the
//! reference reader's records of the fixtures (totals, hours with and without records, interfaces
//! with gaps, traffic per hour, top rejected sources) or compared with the command that answers it
//! alone (`detect`, `top-talkers`); late and damaged objects are reported once each; the exit code
//! says whether a detection fired; and the HTML renders in headless Chromium with its charts and
//! tables drawn (the DOM it parsed, and the colours of the bars in a screenshot).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{Rec, csv, files_under, fixtures, flowq, reference_corpus};
use datafusion::arrow::util::pretty::pretty_format_batches;
use flowq::query::{Engine, Filters, QueryArgs, ReportPart, Source};
use flowq::source::{Selection, list_local};
use flowq::table::DecodeOptions;
use serde_json::Value;

/// Runs `flowq report` with `args`, writing `out`; its exit code and stderr.
fn report(args: &[&str], out: &Path) -> (i32, String) {
    let run = flowq().arg("report").args(args).arg("--output").arg(out).output().unwrap();
    (run.status.code().unwrap_or(-1), String::from_utf8_lossy(&run.stderr).into_owned())
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A table of the JSON report as rows of column → value.
fn rows(table: &Value) -> Vec<BTreeMap<String, Value>> {
    let columns: Vec<String> =
        table["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| columns.iter().cloned().zip(row.as_array().unwrap().iter().cloned()).collect())
        .collect()
}

fn hour(r: &Rec) -> i64 {
    let end = r.int("end").unwrap();
    end - end % 3600
}

#[test]
fn every_number_of_the_json_report_is_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nightly.json");
    let (code, stderr) = report(&["--path", "fixtures/AWSLogs"], &out);
    assert_eq!(code, 4, "a detection fired: {stderr}");
    assert!(stderr.contains("12 findings"), "{stderr}");
    let r = json(&out);
    let recs = reference_corpus(&fixtures().join("AWSLogs"));
    let count = |keep: &dyn Fn(&Rec) -> bool| recs.iter().filter(|r| keep(r)).count() as i64;
    let sum = |column: &str| recs.iter().filter_map(|r| r.int(column)).sum::<i64>();

    let s = &r["scanned"];
    assert_eq!(s["objects_listed"], 36);
    assert_eq!(s["objects_read"], 36);
    assert_eq!(s["records"], recs.len() as i64);
    assert_eq!(s["flows"], count(&|r| r.get("log_status") == Some("OK")));
    assert_eq!(s["nodata"], count(&|r| r.get("log_status") == Some("NODATA")));
    assert_eq!(s["skipdata"], count(&|r| r.get("log_status") == Some("SKIPDATA")));
    assert_eq!(s["accepted"], count(&|r| r.get("action") == Some("ACCEPT")));
    assert_eq!(s["rejected"], count(&|r| r.get("action") == Some("REJECT")));
    assert_eq!(s["bytes"], sum("bytes"));
    assert_eq!(s["packets"], sum("packets"));
    let interfaces: BTreeSet<&str> = recs.iter().filter_map(|r| r.get("interface_id")).collect();
    assert_eq!(s["interfaces"], interfaces.len());
    assert_eq!(s["untimed"], 0);
    assert_eq!(s["accounts"], serde_json::json!(["111122223333", "444455556666"]));
    assert_eq!(s["regions"], serde_json::json!(["eu-west-1", "us-east-1"]));

    // Coverage: the hours from the first record's to the last's, those without one as runs.
    let logged: BTreeSet<i64> = recs.iter().map(hour).collect();
    let (first, last) = (*logged.first().unwrap(), *logged.last().unwrap());
    let c = &r["coverage"];
    assert_eq!(c["hours"], (last - first) / 3600 + 1);
    assert_eq!(c["hours_with_logs"], logged.len());
    let mut silent = BTreeSet::new();
    for gap in c["gaps"].as_array().unwrap() {
        let from = chrono::DateTime::parse_from_rfc3339(gap["from"].as_str().unwrap()).unwrap().timestamp();
        let hours = gap["hours"].as_i64().unwrap();
        silent.extend((0..hours).map(|h| from + h * 3600));
    }
    let expected: BTreeSet<i64> =
        (0..=(last - first) / 3600).map(|h| first + h * 3600).filter(|h| !logged.contains(h)).collect();
    assert_eq!(silent, expected);
    assert!(!expected.is_empty(), "the fixtures have objects every four hours");
    assert_eq!(c["late_objects"]["rows"], serde_json::json!([]));
    assert_eq!((c["skipped_lines"].as_u64(), c["skipped_objects"].as_u64()), (Some(0), Some(0)));

    // Interfaces with hours without a record between their first and last, with SKIPDATA, or quiet
    // from their last record's hour to the window's last.
    let mut by_eni: BTreeMap<&str, (BTreeSet<i64>, i64)> = BTreeMap::new();
    for rec in &recs {
        let entry = by_eni.entry(rec.get("interface_id").unwrap()).or_default();
        entry.0.insert(hour(rec));
        entry.1 += i64::from(rec.get("log_status") == Some("SKIPDATA"));
    }
    let expected: BTreeSet<(String, i64, i64, i64)> = by_eni
        .iter()
        .map(|(eni, (hours, skip))| {
            let span = (hours.last().unwrap() - hours.first().unwrap()) / 3600 + 1;
            let quiet = (last - hours.last().unwrap()) / 3600;
            (eni.to_string(), span - hours.len() as i64, *skip, quiet)
        })
        .filter(|(_, gaps, skip, quiet)| *gaps > 0 || *skip > 0 || *quiet > 0)
        .collect();
    let got: BTreeSet<(String, i64, i64, i64)> = rows(&c["interfaces"])
        .iter()
        .map(|row| {
            let n = |c: &str| row[c].as_i64().unwrap();
            let eni = row["interface_id"].as_str().unwrap().to_string();
            (eni, n("hours_without_logs"), n("skipdata"), n("quiet_hours"))
        })
        .collect();
    assert_eq!(got, expected);

    // Traffic per hour: accepted and rejected flows and bytes.
    let t = &r["traffic"];
    assert_eq!(t["bucket_seconds"], 3600);
    let mut expected: BTreeMap<i64, (i64, i64, i64, i64)> = BTreeMap::new();
    for rec in &recs {
        let e = expected.entry(hour(rec)).or_default();
        let bytes = rec.int("bytes").unwrap_or(0);
        match rec.get("action") {
            Some("ACCEPT") => (e.0, e.2) = (e.0 + 1, e.2 + bytes),
            Some("REJECT") => (e.1, e.3) = (e.1 + 1, e.3 + bytes),
            _ => {}
        }
    }
    let buckets = t["buckets"].as_array().unwrap();
    assert_eq!(buckets.len() as i64, (last - first) / 3600 + 1, "every hour of the window has a bucket");
    for b in buckets {
        let n = |c: &str| b[c].as_i64().unwrap();
        let want = expected.get(&n("start")).copied().unwrap_or_default();
        assert_eq!((n("accepted"), n("rejected"), n("accepted_bytes"), n("rejected_bytes")), want, "{b}");
    }

    // Findings: exactly what `flowq detect` finds.
    let key = |row: &BTreeMap<String, Value>| -> Vec<String> {
        ["detection", "source", "target", "port", "flows", "bytes"]
            .iter()
            .map(|c| match &row[*c] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                v => v.to_string(),
            })
            .collect()
    };
    let mut got: Vec<Vec<String>> = rows(&r["detections"]["findings"]).iter().map(key).collect();
    let (header, detect) = csv(&["detect", "--path", "fixtures/AWSLogs"]);
    let mut want: Vec<Vec<String>> = detect
        .iter()
        .map(|row| key(&header.iter().cloned().zip(row.iter().map(|v| Value::String(v.clone()))).collect()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), 12);
    assert_eq!(got, want);
    let summary = r["detections"]["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 8);
    assert!(summary.iter().all(|d| d["findings"].as_u64().unwrap() >= 1), "every detection fires on the fixtures");

    // Rankings: top-talkers as `flowq top-talkers --limit 10`; rejected sources from the records.
    let ranking = |name: &str| {
        let rankings = r["rankings"].as_array().unwrap();
        rows(&rankings.iter().find(|x| x["name"] == name).unwrap()["table"])
    };
    let talkers: Vec<(String, String)> = ranking("top-talkers")
        .iter()
        .map(|row| (row["ip"].as_str().unwrap().to_string(), row["bytes"].to_string()))
        .collect();
    let (_, top) = csv(&["top-talkers", "--path", "fixtures/AWSLogs", "--limit", "10"]);
    assert_eq!(talkers, top.iter().map(|row| (row[0].clone(), row[1].clone())).collect::<Vec<_>>());
    let mut rejected: BTreeMap<&str, i64> = BTreeMap::new();
    for rec in recs.iter().filter(|r| r.get("action") == Some("REJECT")) {
        *rejected.entry(rec.get("srcaddr").unwrap()).or_default() += 1;
    }
    let mut rejected: Vec<(i64, &str)> = rejected.into_iter().map(|(a, n)| (-n, a)).collect();
    rejected.sort();
    let want: Vec<(String, i64)> = rejected.iter().take(10).map(|(n, a)| (a.to_string(), -n)).collect();
    let got: Vec<(String, i64)> = ranking("rejected-sources")
        .iter()
        .map(|row| (row["srcaddr"].as_str().unwrap().to_string(), row["flows"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, want);
}

/// The fixtures copied to a temporary folder.
fn copy_of_fixtures() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("AWSLogs");
    let source = fixtures().join("AWSLogs");
    for file in files_under(&source) {
        let to = root.join(file.strip_prefix(&source).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    (dir, root)
}

#[test]
fn late_and_damaged_objects_are_reported_once_each() {
    let (dir, root) = copy_of_fixtures();
    let day = root.join("111122223333/vpcflowlogs/us-east-1/2024/03/01");
    // Filed two hours after its records ended: late.
    let name = "111122223333_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20240301T0400Z_6669984f.log.gz";
    let late = day.join("111122223333_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20240301T0600Z_6669984f.log.gz");
    std::fs::rename(day.join(name), &late).unwrap();
    // Cut short: its first half is read, the rest is reported.
    let damaged = day.join("111122223333_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20240301T1200Z_24bb3a86.log.gz");
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();

    let out = dir.path().join("r.json");
    let (code, stderr) = report(&["--path", &root.to_string_lossy()], &out);
    assert_eq!(code, 5, "a detection fired and something was skipped: {stderr}");
    let r = json(&out);
    let c = &r["coverage"];
    let late_rows = rows(&c["late_objects"]);
    assert_eq!(late_rows.len(), 1, "{late_rows:?}");
    assert_eq!(late_rows[0]["source"], late.to_string_lossy().as_ref());
    let recs = reference_corpus(&fixtures().join("AWSLogs"));
    let first_end = recs.iter().filter(|r| r.source.ends_with(name)).filter_map(|r| r.int("end")).min().unwrap();
    let named = chrono::DateTime::parse_from_rfc3339("2024-03-01T06:00:00Z").unwrap().timestamp();
    assert_eq!(late_rows[0]["late_by"], named - first_end);
    // Each section, ranking and detection is a query of its own: the damage counts once.
    assert_eq!(c["skipped_objects"], 1, "{c}");
    let problems = c["problems"].as_array().unwrap();
    let about: Vec<&Value> = problems.iter().filter(|p| p.as_str().unwrap().contains("T1200Z_24bb3a86")).collect();
    assert!(!about.is_empty() && about.len() == problems.len(), "{problems:?}");
    let listed: BTreeSet<&str> = problems.iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(listed.len(), problems.len(), "no problem is listed twice: {problems:?}");
    assert_eq!(stderr.matches("T1200Z_24bb3a86").count(), problems.len(), "{stderr}");
    assert_eq!(r["scanned"]["objects_read"], 36);
}

/// The report's queries read the logs once, into a copy: after the copy is made, the logs can go and
/// every section, ranking and finding is the same as read from the logs, and what the scan read and
/// could not read (a damaged object) is counted once.
#[tokio::test]
async fn the_logs_are_read_once_into_a_copy_that_answers_the_same() {
    let (_dir, root) = copy_of_fixtures();
    let damaged = files_under(&root).into_iter().nth(5).unwrap();
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    let open = || async {
        let listing = list_local(&Selection { paths: vec![root.to_string_lossy().into_owned()], ..Default::default() });
        let sources = vec![Source::local(listing.unwrap())];
        Engine::open(sources, DecodeOptions::default(), &Filters::default(), None).await.unwrap()
    };
    // Each part's rows as lines of text, in order (the parts are ordered, ties included).
    let text = |parts: &[ReportPart]| -> Vec<(&str, String)> {
        parts.iter().map(|p| (p.name, pretty_format_batches(&p.batches).unwrap().to_string())).collect()
    };
    let args = QueryArgs::default();
    let logs = open().await;
    let from_logs = logs.report_parts(3600, &args, |_| {}).await.unwrap();

    let mut engine = open().await;
    assert!(engine.read_once().await.unwrap());
    let read = engine.report().totals();
    std::fs::remove_dir_all(&root).unwrap();
    let from_copy = engine.report_parts(3600, &args, |_| {}).await.unwrap();
    assert_eq!(text(&from_copy), text(&from_logs));
    assert!(from_copy.iter().map(|p| p.name).eq(from_logs.iter().map(|p| p.name)));
    assert!(from_copy.iter().all(|p| p.name == "late" || p.batches.iter().any(|b| b.num_rows() > 0)));
    // What the logs held and what could not be read, counted once; reading the copy added nothing.
    let once = logs.report().totals();
    assert_eq!((read.objects, read.records, read.bad_objects), (once.objects, once.records, once.bad_objects));
    assert_eq!((read.objects, read.bad_objects), (36, 1));
    assert_eq!(engine.report().totals(), read);
    assert_eq!(engine.report().problems(), logs.report().problems());
}

/// The copy goes where `TMPDIR` says and is deleted at the end; a `TMPDIR` that cannot hold it is
/// an error that says so, and no report is written.
#[test]
fn the_copy_goes_where_tmpdir_says_and_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = dir.path().join("r.json");
    let run = |tmp: &Path| {
        let run = flowq()
            .env("TMPDIR", tmp)
            .args(["report", "--path", "fixtures/AWSLogs", "--format", "json", "--output"])
            .arg(&out)
            .output()
            .unwrap();
        (run.status.code().unwrap_or(-1), String::from_utf8_lossy(&run.stderr).into_owned())
    };
    let (code, stderr) = run(&tmp);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(json(&out)["scanned"]["objects_read"], 36);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "the copy is deleted");
    std::fs::remove_file(&out).unwrap();

    let missing = dir.path().join("missing");
    let (code, stderr) = run(&missing);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("TMPDIR") && stderr.contains(&*missing.to_string_lossy()), "{stderr}");
    assert!(!out.exists());
}

/// Records without an end time (a format without `end`) are counted, said in the headline and on
/// stderr, and kept out of the hours, which hold every other record.
#[test]
fn records_without_an_end_time_are_counted_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let timed = "version srcaddr dstaddr bytes start end action\n\
                 2 10.0.0.1 10.0.0.2 100 1709251200 1709251260 ACCEPT\n\
                 2 10.0.0.3 10.0.0.4 50 1709254800 1709254860 REJECT\n";
    let untimed = "version srcaddr dstaddr bytes action\n\
                   2 10.0.0.5 10.0.0.6 7 ACCEPT\n\
                   2 10.0.0.7 10.0.0.8 9 ACCEPT\n\
                   2 10.0.0.9 10.0.0.1 1 REJECT\n";
    std::fs::write(dir.path().join("timed.log"), timed).unwrap();
    std::fs::write(dir.path().join("untimed.log"), untimed).unwrap();
    let path = dir.path().to_str().unwrap();
    let out = dir.path().join("r.json");
    let (_, stderr) = report(&["--path", path], &out);
    assert!(stderr.contains("warning: 3 records have no end time"), "{stderr}");
    let r = json(&out);
    assert_eq!((r["scanned"]["records"].as_i64(), r["scanned"]["untimed"].as_i64()), (Some(5), Some(3)));
    let hours: i64 = rows(&r["traffic"]["hours"]).iter().map(|h| h["records"].as_i64().unwrap()).sum();
    assert_eq!(hours, 2);
    let md = dir.path().join("r.md");
    report(&["--path", path, "--format", "md"], &md);
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| records without an end time (in no hour) | 3 |"), "{md}");
}

#[test]
fn a_window_without_findings_exits_zero_in_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let spec = flowq::generate::CorpusSpec {
        incidents: false,
        days: 1,
        objects_per_day: 4,
        records_per_object: 500,
        ..Default::default()
    };
    flowq::generate::write_corpus(&spec, &dir.path().join("AWSLogs")).unwrap();
    let out = dir.path().join("nightly.md");
    let path = dir.path().join("AWSLogs");
    let (code, stderr) =
        report(&["--path", &path.to_string_lossy(), "--since", "2024-03-01", "--until", "2024-03-02"], &out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no detection fired"), "{stderr}");
    assert!(
        stderr
            .contains("warning: 20 of the 24 hours from 2024-03-01T00:00:00Z to 2024-03-02T00:00:00Z have no records"),
        "{stderr}"
    );
    let md = std::fs::read_to_string(&out).unwrap();
    for heading in ["# VPC Flow Logs report", "## Detections", "## Traffic per hour", "### Top talkers", "## Coverage"]
    {
        assert!(md.contains(heading), "{heading} missing:\n{md}");
    }
    assert!(md.contains("No detection fired."));
    // The window is the day asked for: 24 hours, the hours of its four objects logged.
    assert!(md.contains("| hours without logs | 20 of 24 |"), "{md}");
    let traffic = md.split("## Traffic per hour").nth(1).unwrap().split("## Rankings").next().unwrap();
    assert_eq!(traffic.lines().filter(|l| l.starts_with("| 03-01 ")).count(), 24, "{traffic}");
}

#[test]
fn formats_and_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let bad =
        flowq().args(["report", "--path", "fixtures/AWSLogs", "-o"]).arg(dir.path().join("r.csv")).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("name the report .html, .json or .md"));
    let bad = flowq().args(["report", "--path", "fixtures/AWSLogs", "--format", "csv"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad = flowq().args(["report", "--path", "fixtures/AWSLogs", "--columns", "srcaddr"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    // Thresholds reach the detections: with a higher bar, the SSH brute force (400 attempts) is gone.
    let out = dir.path().join("r.json");
    let manifest = dir.path().join("m.json");
    let run = flowq()
        .args(["report", "--path", "fixtures/AWSLogs", "--min-attempts", "1000", "--format", "json", "-o"])
        .arg(&out)
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(4));
    let r = json(&out);
    let summary = r["detections"]["summary"].as_array().unwrap();
    let ssh = summary.iter().find(|d| d["detection"] == "ssh-bruteforce").unwrap();
    assert_eq!(ssh["findings"], 0);
    assert!(
        r["detections"]["thresholds"].as_array().unwrap().iter().any(|t| t == "ssh-bruteforce: $min_attempts = 1000")
    );
    let m = json(&manifest);
    assert_eq!(m["outcome"], "findings");
    assert_eq!(m["output"]["format"], "json");
    assert_eq!(m["output"]["rows"], r["detections"]["findings"]["rows"].as_array().unwrap().len());
    use sha2::Digest;
    assert_eq!(
        m["output"]["sha256"],
        flowq::output::manifest::hex(&sha2::Sha256::digest(std::fs::read(&out).unwrap()))
    );
    assert!(m["queries"].as_array().unwrap().len() > 10);
}

/// Debian's Chromium (`.ci/run` installs it), or `FLOWQ_CHROMIUM`.
fn chromium() -> std::process::Command {
    let binary = std::env::var("FLOWQ_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
    let mut cmd = std::process::Command::new(binary);
    // Headless, and nothing reaches for the network (the machine has none).
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    cmd
}

#[test]
fn the_html_report_renders_in_chromium_with_its_charts_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("nightly.html");
    let (code, stderr) = report(&["--path", "fixtures/AWSLogs"], &html);
    assert_eq!(code, 4, "{stderr}");
    let text = std::fs::read_to_string(&html).unwrap();
    for fetches in ["<script", "<link", "src=", "href=", "url(", "@import"] {
        assert!(!text.contains(fetches), "self-contained, yet it holds {fetches}");
    }
    let url = format!("file://{}", html.display());

    let profile = tempfile::tempdir().unwrap();
    let run = chromium()
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", &url])
        .output()
        .unwrap_or_else(|e| panic!("headless Chromium (apt-get install chromium, as .ci/run does): {e}"));
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dom = String::from_utf8(run.stdout).unwrap();
    // The DOM Chromium built: each chart with its bars, each table with its rows.
    let element = |id: &str| -> String {
        let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in the DOM"));
        let tag = match () {
            _ if dom[..start].ends_with("<svg ") => "</svg>",
            _ if dom[..start].ends_with("<table ") => "</table>",
            _ => panic!("#{id} is not a chart or a table (an empty one is a note)"),
        };
        let end = start + dom[start..].find(tag).unwrap();
        dom[start..end].to_string()
    };
    let bars = |id: &str| element(id).matches("<rect class=\"bar\"").count();
    assert!(bars("chart-bytes") >= 18, "a bar for every hour with bytes");
    assert!(bars("chart-flows") >= 18 + 10, "accepted and rejected flows stacked");
    assert_eq!(bars("chart-top-talkers"), 10);
    assert_eq!(bars("chart-rejected-sources"), 10);
    let body_rows = |id: &str| element(id).matches("<tr>").count() - 1;
    assert_eq!(body_rows("table-findings"), 12);
    assert_eq!(body_rows("table-detections"), 8);
    assert_eq!(body_rows("table-top-talkers"), 10);
    assert_eq!(body_rows("table-rejected-sources"), 10);
    assert_eq!(body_rows("table-accounts"), 2);
    assert!(body_rows("table-gaps") > 0 && body_rows("table-interfaces") > 0);

    // The page as drawn: the bars' colours cover real area.
    let png = dir.path().join("shot.png");
    let run = chromium()
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--window-size=1100,6000", &format!("--screenshot={}", png.display()), &url])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3 && info.bit_depth == png::BitDepth::Eight, "{info:?}");
    let count = |rgb: [u8; 3]| {
        pixels[..info.buffer_size()]
            .chunks(channels)
            .filter(|p| p[0] == rgb[0] && p[1] == rgb[1] && p[2] == rgb[2])
            .count()
    };
    let accepted = count([0x2b, 0x7b, 0xb9]);
    let rejected = count([0xd9, 0x53, 0x4f]);
    let talkers = count([0x3c, 0x8d, 0x5a]);
    assert!(
        accepted > 2_000 && rejected > 2_000 && talkers > 2_000,
        "accepted {accepted}, rejected {rejected}, talkers {talkers}"
    );
}

#[test]
fn the_report_on_the_parquet_copy_equals_the_report_on_the_text() {
    let (dir, root) = copy_of_fixtures();
    let day = root.join("aws-account-id=444455556666");
    // One object filed late, in the v5 log: the copy keeps its name in `source`, so it is late there too.
    let hour = files_under(&day).into_iter().find(|f| f.to_string_lossy().contains("20240302T0800Z")).unwrap();
    let late = hour.with_file_name(hour.file_name().unwrap().to_string_lossy().replace("T0800Z", "T0930Z"));
    std::fs::rename(&hour, &late).unwrap();
    let copy = dir.path().join("copy");
    let run = flowq().args(["convert", "--quiet", "--path"]).arg(&root).arg("--out").arg(&copy).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let window = ["--since", "2024-03-01T06:00:00Z", "--until", "2024-03-03T06:00:00Z"];
    let (text, parquet) = (dir.path().join("text.json"), dir.path().join("parquet.json"));
    let (code, stderr) = report(&[&["--path", &root.to_string_lossy()], &window[..]].concat(), &text);
    assert_eq!(code, 4, "{stderr}");
    let (code, stderr) = report(&[&["--path", &copy.to_string_lossy()], &window[..]].concat(), &parquet);
    assert_eq!(code, 4, "{stderr}");
    let (mut text, mut parquet) = (json(&text), json(&parquet));
    assert_eq!(rows(&text["coverage"]["late_objects"]).len(), 1);
    // The window ends at 06:00; every interface last logged in the 04:00 object: quiet for an hour.
    let interfaces = rows(&text["coverage"]["interfaces"]);
    assert_eq!(interfaces.len(), 16);
    assert!(interfaces.iter().all(|i| i["quiet_hours"] == 1), "{interfaces:?}");
    for r in [&mut text, &mut parquet] {
        for what in ["generated", "command"] {
            r[what] = Value::Null;
        }
        for what in ["objects_listed", "objects_read", "objects_skipped_by_key", "stored_bytes"] {
            r["scanned"][what] = Value::Null;
        }
    }
    for part in ["window", "scanned", "detections", "coverage", "traffic", "rankings", "accounts"] {
        assert_eq!(text[part], parquet[part], "{part} differs");
    }
}
