//! Pruning by key never changes an answer: the same query over the pruned listing and over every
//! object gives identical rows. The generator reproduces the checked-in fixtures byte for byte. And
//! what is read is what was listed: a local file is read to its last byte, and one that grew, shrank
//! or vanished after the listing is reported with its path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use datafusion::arrow::util::pretty::pretty_format_batches;
use flowq::generate::{CorpusSpec, write_corpus};
use flowq::query::{BuiltinQuery, Engine, Filters, QueryArgs, Source};
use flowq::source::{Selection, TimeWindow, list_local};
use flowq::table::DecodeOptions;

use common::{files_under, fixtures};

async fn answer(selection: &Selection, filters: &Filters, query: &str, args: &QueryArgs) -> (String, usize) {
    let listing = list_local(selection).unwrap();
    let pruned = listing.pruned;
    let engine = Engine::open(vec![Source::local(listing)], DecodeOptions::default(), filters, None).await.unwrap();
    let query = BuiltinQuery::named(query).unwrap();
    let batches = engine.builtin(&query, args).await.unwrap().collect().await.unwrap();
    assert!(!engine.report().totals().skipped_anything());
    (pretty_format_batches(&batches).unwrap().to_string(), pruned)
}

#[tokio::test]
async fn answers_with_and_without_pruning_are_identical() {
    let path = fixtures().join("AWSLogs").to_string_lossy().into_owned();
    let windows = [
        (Some("2024-03-02T00:00:00Z"), Some("2024-03-03T00:00:00Z")),
        (Some("2024-03-03T07:30:00Z"), None),
        (None, Some("2024-03-01T12:00:00Z")),
        (Some("2024-03-01T23:58:00Z"), Some("2024-03-02T00:02:00Z")),
    ];
    let cidr = "198.51.100.77".parse().ok();
    for (since, until) in windows {
        let time = |t: Option<&str>| t.map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp());
        let window = TimeWindow { since: time(since), until: time(until) };
        for region in [None, Some("eu-west-1".to_string())] {
            let filters = Filters { window, region: region.clone(), ..Filters::default() };
            let everything = Selection { paths: vec![path.clone()], ..Selection::default() };
            let pruned = Selection { window, region: region.clone(), ..everything.clone() };
            for (query, args) in [
                ("top-talkers", QueryArgs::default()),
                ("rejected-tcp", QueryArgs::default()),
                ("ip", QueryArgs { cidr, ..QueryArgs::default() }),
                ("ssh-rdp", QueryArgs { limit: Some(500), ..QueryArgs::default() }),
            ] {
                let (all, none_pruned) = answer(&everything, &filters, query, &args).await;
                let (some, skipped) = answer(&pruned, &filters, query, &args).await;
                assert_eq!(none_pruned, 0);
                assert!(skipped > 0, "{since:?}..{until:?} {region:?}: nothing was pruned");
                assert_eq!(all, some, "{query} {since:?}..{until:?} {region:?}");
            }
        }
    }
}

#[test]
fn the_generator_reproduces_the_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_corpus(&CorpusSpec::default(), dir.path()).unwrap();
    let checked_in = files_under(&fixtures().join("AWSLogs"));
    let generated = files_under(dir.path());
    assert_eq!(generated.len(), checked_in.len());
    assert_eq!(summary.objects.len(), checked_in.len());
    for (a, b) in generated.iter().zip(&checked_in) {
        assert_eq!(a.strip_prefix(dir.path()).unwrap(), b.strip_prefix(fixtures().join("AWSLogs")).unwrap());
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{}", b.display());
    }
}

/// Plain-text records of `len` bytes in all (the first one padded with spaces), all with `bytes` 7.
fn records_of_length(len: usize) -> (String, usize) {
    let line = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 7 1700000000 1700000060 ACCEPT OK\n";
    let count = len / line.len();
    let pad = len % line.len();
    let text = format!("2{}{}", " ".repeat(pad), &line[1..]) + &line.repeat(count - 1);
    assert_eq!(text.len(), len);
    (text, count)
}

#[tokio::test]
async fn local_files_are_read_to_the_byte_and_changes_after_the_listing_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    // Sizes around the local reader's pieces: in place up to 256 KiB, then 4 MiB per blocking read.
    let sizes = [("a-small", 10_000), ("b-at-the-limit", 256 << 10), ("c-pieces", 8 << 20), ("d-odd", (9 << 20) + 17)];
    let mut expected = Vec::new();
    for (name, size) in sizes {
        let (text, count) = records_of_length(size);
        std::fs::write(path(name), text).unwrap();
        expected.push((path(name).display().to_string(), count as i64));
    }
    for name in ["e-grows", "f-shrinks", "g-vanishes"] {
        std::fs::write(path(name), records_of_length(300 << 10).0).unwrap();
    }
    let selection = Selection { paths: vec![dir.path().display().to_string()], ..Selection::default() };
    let listing = list_local(&selection).unwrap();
    assert_eq!(listing.objects.len(), 7);
    let mut grows = std::fs::OpenOptions::new().append(true).open(path("e-grows")).unwrap();
    std::io::Write::write_all(&mut grows, b"2 1 eni-1 - - - - - - - 1700000000 1700000060 - NODATA\n").unwrap();
    std::fs::File::options().write(true).open(path("f-shrinks")).unwrap().set_len(1000).unwrap();
    std::fs::remove_file(path("g-vanishes")).unwrap();

    let engine =
        Engine::open(vec![Source::local(listing)], DecodeOptions::default(), &Filters::default(), None).await.unwrap();
    let sql = "SELECT source, count(*) AS n, sum(bytes) AS b FROM flows GROUP BY source ORDER BY source";
    let batches = engine.sql(sql, None).await.unwrap().collect().await.unwrap();
    let table = pretty_format_batches(&batches).unwrap().to_string();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .filter(|line| line.starts_with("| /"))
        .map(|line| line.split('|').map(str::trim).filter(|cell| !cell.is_empty()).collect())
        .collect();
    for (name, count) in &expected {
        let want = [name.clone(), count.to_string(), (count * 7).to_string()];
        assert!(rows.iter().any(|row| *row == want), "{name}: {table}");
    }
    let problems: Vec<String> = engine.report().problems().iter().map(|p| p.to_string()).collect();
    let about = |name: &str| problems.iter().filter(|p| p.contains(name)).cloned().collect::<Vec<_>>();
    assert!(about("e-grows").iter().any(|p| p.contains("more than the 307200 bytes listed")), "{problems:?}");
    assert!(about("f-shrinks").iter().any(|p| p.contains("read 1000 of the 307200 bytes listed")), "{problems:?}");
    let gone = about("g-vanishes");
    assert!(
        gone.iter().any(|p| p.contains(&path("g-vanishes").display().to_string())
            && p.contains("the file is gone (deleted since it was listed?)")),
        "{problems:?}"
    );
    assert!(engine.report().totals().skipped_anything());
}
