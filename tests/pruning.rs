//! Pruning by key never changes an answer: the same query over the pruned listing and over every
//! object gives identical rows. And the generator reproduces the checked-in fixtures byte for byte.
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
