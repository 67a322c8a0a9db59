//! The decoder's four kinds of tests (STYLE.md): the chunk-boundary matrix, a differential test
//! against the slow reference reader, property tests, and named regressions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use arrow::util::display::array_value_to_string;
use flowq::decode::{
    FieldTest, FlowDecoderBuilder, ObjectDecoder, Prefilter, Problem, ProblemKind, file_schema, header_fields,
};
use proptest::prelude::*;

use common::{files_under, fixtures, reference_read, text_of};

fn all_columns() -> SchemaRef {
    file_schema(&["next-hop-type".to_string()])
}

fn projected(names: &[&str]) -> SchemaRef {
    let schema = all_columns();
    let indices: Vec<usize> = names.iter().map(|n| schema.index_of(n).unwrap()).collect();
    Arc::new(schema.project(&indices).unwrap())
}

/// Decodes `bytes` (gzip or plain) pushed in chunks of `chunk` bytes, batches of `batch` rows.
fn decode(
    bytes: &[u8],
    schema: SchemaRef,
    chunk: usize,
    batch: usize,
    fields: Option<&str>,
) -> (Vec<RecordBatch>, Vec<Problem>) {
    let builder = FlowDecoderBuilder::new(schema)
        .with_table_schema(all_columns())
        .with_batch_size(batch)
        .with_fields(fields.map(|f| f.split(' ').map(str::to_string).collect()));
    run(builder, bytes, chunk, batch)
}

/// Decodes `bytes` with `builder`'s decoder, pushed in chunks of `chunk` bytes.
fn run(builder: FlowDecoderBuilder, bytes: &[u8], chunk: usize, batch: usize) -> (Vec<RecordBatch>, Vec<Problem>) {
    let mut object = ObjectDecoder::new(builder.build());
    let mut batches = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        object.push(piece);
        while let Some(b) = object.next_batch().unwrap() {
            assert!(b.num_rows() <= batch, "batch of {} rows over the size {batch}", b.num_rows());
            batches.push(b);
        }
    }
    object.finish();
    while let Some(b) = object.next_batch().unwrap() {
        batches.push(b);
    }
    (batches, object.take_problems())
}

/// Rows as maps of column → displayed value (NULL left out), for comparing across batchings.
fn rows(batches: &[RecordBatch]) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for b in batches {
        for row in 0..b.num_rows() {
            let mut map = BTreeMap::new();
            for (field, col) in b.schema().fields().iter().zip(b.columns()) {
                if !col.is_null(row) {
                    map.insert(field.name().clone(), array_value_to_string(col, row).unwrap());
                }
            }
            out.push(map);
        }
    }
    out
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text).unwrap();
    gz.finish().unwrap()
}

/// `n` records whose `bytes` is their index, after a header.
fn numbered(n: usize) -> String {
    let mut text = String::from("version srcaddr bytes\n");
    for i in 0..n {
        text.push_str(&format!("2 10.0.{}.{} {i}\n", i / 250, i % 250));
    }
    text
}

const MIXED: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\r\n\
\n\
2 123456789010 eni-1 - - - - - - - 1431280876 1431280934 - NODATA\n\
2 123456789010 eni-1 10.0.0.1 10.0.0.2 x 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n\
2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 22 6 20\n\
version srcaddr dstaddr bytes tcp-flags next-hop-type\n\
3 2001:db8::1 2001:db8::2  99   18 igw\n\
3   10.1.1.1 10.2.2.2 7 - -";

#[test]
fn chunk_boundary_matrix() {
    let inputs: Vec<Vec<u8>> = vec![
        MIXED.as_bytes().to_vec(),
        std::fs::read(fixtures().join("samples/05-tcp-flag-sequence.log")).unwrap(),
        std::fs::read(fixtures().join("samples/08-service-name-traffic-path-flow-direction.log")).unwrap(),
        files_under(&fixtures().join("AWSLogs")).first().map(|p| std::fs::read(p).unwrap()).unwrap(),
    ];
    for input in &inputs {
        let (baseline, problems) = decode(input, all_columns(), usize::MAX, 8192, None);
        let expected = rows(&baseline);
        assert!(!expected.is_empty());
        for chunk in [1, 3, 7, 100, 4096] {
            for batch in [1, 2, 5, 8192] {
                let (got, got_problems) = decode(input, all_columns(), chunk, batch, None);
                assert_eq!(rows(&got), expected, "chunk {chunk}, batch {batch}");
                assert_eq!(got_problems, problems, "chunk {chunk}, batch {batch}");
            }
        }
    }
}

#[test]
fn gzip_and_plain_decode_alike() {
    let (plain, p1) = decode(MIXED.as_bytes(), all_columns(), usize::MAX, 8192, None);
    let (zipped, p2) = decode(&gzip(MIXED.as_bytes()), all_columns(), 5, 3, None);
    assert_eq!(rows(&plain), rows(&zipped));
    assert_eq!(p1, p2);
}

#[test]
fn mixed_input_loads_good_lines_and_reports_bad_ones() {
    let (batches, problems) = decode(MIXED.as_bytes(), all_columns(), usize::MAX, 8192, None);
    let rows = rows(&batches);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["srcaddr"], "172.31.16.139");
    assert_eq!(rows[0]["action"], "ACCEPT", "CR stripped");
    assert_eq!(rows[0]["line"], "2");
    assert_eq!(rows[1]["log_status"], "NODATA", "NODATA kept");
    assert!(!rows[1].contains_key("srcaddr"), "- is NULL");
    assert_eq!(rows[1]["line"], "4", "blank line 3 skipped but counted");
    assert_eq!(rows[2]["srcaddr"], "2001:db8::1", "the mid-stream header switched the format");
    assert_eq!(rows[2]["next_hop_type"], "igw", "unknown field kept as text");
    assert_eq!(rows[2]["tcp_flags"], "18");
    assert!(!rows[2].contains_key("account_id"), "field absent from the second format is NULL");
    assert_eq!(rows[3]["bytes"], "7", "runs of spaces separate fields; last line without newline counts");
    assert_eq!(rows[3]["line"], "9");
    assert_eq!(
        problems,
        vec![
            Problem::at_line(5, ProblemKind::InvalidNumber { column: "srcport".into(), value: "x".into() }),
            Problem::at_line(
                6,
                ProblemKind::FieldCount {
                    expected: 14,
                    found: 9,
                    assumed_default: false,
                    value: "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 22 6 20".into(),
                },
            ),
        ]
    );
}

#[test]
fn projection_builds_only_what_is_asked_and_loads_the_same_lines() {
    let all = decode(MIXED.as_bytes(), all_columns(), 7, 2, None);
    let some = decode(MIXED.as_bytes(), projected(&["bytes", "line"]), 7, 2, None);
    let none = decode(MIXED.as_bytes(), projected(&[]), 7, 2, None);
    assert_eq!(some.0[0].num_columns(), 2);
    let count = |b: &[RecordBatch]| b.iter().map(RecordBatch::num_rows).sum::<usize>();
    assert_eq!(count(&all.0), count(&some.0));
    assert_eq!(count(&all.0), count(&none.0), "count(*) sees the same rows");
    assert_eq!(all.1, none.1);
}

/// Differential: every fixture and sample, decoded, equals the reference reader's records.
#[test]
fn matches_the_reference_reader_on_every_fixture() {
    let mut files = files_under(&fixtures().join("AWSLogs"));
    files.extend(files_under(&fixtures().join("samples")));
    let mut compared = 0;
    for file in files {
        let text = text_of(&file);
        let (expected, bad) = reference_read("", &text);
        let (batches, problems) = decode(&std::fs::read(&file).unwrap(), all_columns(), 64 * 1024, 1000, None);
        let got = rows(&batches);
        assert_eq!(got.len(), expected.len(), "{}", file.display());
        for (g, e) in got.iter().zip(&expected) {
            let mut g = g.clone();
            assert_eq!(g.remove("line").unwrap(), e.line.to_string());
            assert_eq!(g, e.fields, "{} line {}", file.display(), e.line);
        }
        let bad_lines: Vec<u64> = problems.iter().filter_map(|p| p.line).collect();
        assert_eq!(bad_lines, bad.iter().map(|(_, l)| *l).collect::<Vec<_>>(), "{}", file.display());
        compared += got.len();
    }
    assert!(compared > 10_000);
}

#[test]
fn regression_nat_gateway_sample_comments_are_reported_lines() {
    let (batches, problems) =
        decode(&std::fs::read(fixtures().join("samples/06-nat-gateway.log")).unwrap(), all_columns(), 100, 100, None);
    assert_eq!(rows(&batches).len(), 4);
    let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![Some(6), Some(7)], "the two lines with '#…' annotations have too many fields");
}

#[test]
fn regression_two_spaces_in_the_tcp_flag_sample() {
    let text = std::fs::read(fixtures().join("samples/05-tcp-flag-sequence.log")).unwrap();
    let (batches, problems) = decode(&text, all_columns(), 100, 100, None);
    assert!(problems.is_empty());
    let rows = rows(&batches);
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[7]["srcport"], "5001");
    assert_eq!(rows[7]["dstport"], "43638");
    assert_eq!(rows[7]["bytes"], "967", "bytes comes before packets in this format");
    assert_eq!(rows[7]["packets"], "14");
}

#[test]
fn regression_headerless_default_format_and_explicit_fields() {
    let line = "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK\n";
    let (batches, problems) = decode(line.as_bytes(), all_columns(), 100, 100, None);
    assert!(problems.is_empty());
    assert_eq!(rows(&batches)[0]["dstport"], "3389");
    assert_eq!(rows(&batches)[0]["line"], "1");

    let (_, problems) = decode(b"1 2 3\n", all_columns(), 100, 100, None);
    assert_eq!(
        problems,
        vec![Problem::at_line(
            1,
            ProblemKind::FieldCount { expected: 14, found: 3, assumed_default: true, value: "1 2 3".into() }
        )]
    );
    assert!(problems[0].to_string().contains("--fields"));

    let (batches, problems) = decode(b"10.0.0.1 10.0.0.2 99\n", all_columns(), 100, 100, Some("srcaddr dstaddr bytes"));
    assert!(problems.is_empty());
    assert_eq!(rows(&batches)[0]["bytes"], "99");
    // A header in the object wins over --fields.
    let (batches, _) = decode(b"bytes srcaddr\n5 10.0.0.9\n", all_columns(), 100, 100, Some("srcaddr dstaddr bytes"));
    assert_eq!(rows(&batches)[0]["srcaddr"], "10.0.0.9");
}

#[test]
fn regression_multi_member_gzip() {
    let first = gzip(b"version srcaddr bytes\n2 10.0.0.1 5\n");
    let second = gzip(b"version srcaddr bytes\n2 10.0.0.2 6\n2 10.0.0.3 7");
    let both = [first, second].concat();
    let (batches, problems) = decode(&both, all_columns(), 3, 2, None);
    assert!(problems.is_empty(), "{problems:?}");
    let rows = rows(&batches);
    assert_eq!(rows.iter().map(|r| r["bytes"].as_str()).collect::<Vec<_>>(), ["5", "6", "7"]);
    assert_eq!(rows[2]["line"], "5", "line numbers run on across members");
}

#[test]
fn regression_members_of_the_same_size_are_all_read() {
    // libdeflate stops after the first member; a second member of the same size (the size the object's
    // last trailer declares) must still send the object to the streaming inflater.
    let same = gzip(b"2 10.0.0.1 5\n");
    let twin = gzip(b"2 10.0.0.2 6\n");
    for object in [[same.clone(), same.clone()].concat(), [same, twin].concat()] {
        let (batches, problems) =
            decode(&object, projected(&["bytes", "line"]), usize::MAX, 8192, Some("version srcaddr bytes"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(rows(&batches).iter().map(|r| r["line"].as_str()).collect::<Vec<_>>(), ["1", "2"]);
    }
}

#[test]
fn regression_a_single_member_whose_size_also_appears_earlier_is_read_whole_and_alike() {
    // The trailer's size field appearing earlier in the object (here in the header's extra field)
    // does not prove a second member; the CRC-32 decides, and the rows are the plain text's.
    let text = numbered(300);
    let size = (text.len() as u32).to_le_bytes().to_vec();
    let mut gz = flate2::GzBuilder::new().extra(size.clone()).write(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let stored = gz.finish().unwrap();
    assert_eq!(&stored[stored.len() - 4..], size.as_slice());
    let (gz_batches, gz_problems) = decode(&stored, all_columns(), usize::MAX, 8192, None);
    let (plain_batches, _) = decode(text.as_bytes(), all_columns(), usize::MAX, 8192, None);
    assert!(gz_problems.is_empty(), "{gz_problems:?}");
    assert_eq!(rows(&gz_batches).len(), 300);
    assert_eq!(rows(&gz_batches), rows(&plain_batches));
}

#[test]
fn regression_objects_too_big_to_hold_whole_are_streamed_with_the_same_rows() {
    // Stored without compression, so that the stored object is over the limit for holding it whole.
    let mut text = String::from("version srcaddr bytes\n");
    let mut records = 0usize;
    while text.len() <= flowq::decode::WHOLE_STORED_LIMIT {
        text.push_str(&format!("2 10.0.{}.{} {records}\n", records / 250 % 250, records % 250));
        records += 1;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(text.as_bytes()).unwrap();
    let stored = gz.finish().unwrap();
    assert!(stored.len() > flowq::decode::WHOLE_STORED_LIMIT);
    let (batches, problems) = decode(&stored, projected(&["bytes", "line"]), 1 << 20, 8192, None);
    assert!(problems.is_empty(), "{problems:?}");
    let mut next = 0i64;
    for batch in &batches {
        let bytes = batch.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
        let lines = batch.column(1).as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
        for row in 0..batch.num_rows() {
            assert_eq!((bytes.value(row), lines.value(row)), (next, next + 2));
            next += 1;
        }
    }
    assert_eq!(next as usize, records);
}

#[test]
fn regression_truncated_gzip_keeps_the_records_before_the_damage() {
    let zipped = gzip(numbered(5000).as_bytes());
    let cut = &zipped[..zipped.len() / 2];
    let (batches, problems) = decode(cut, all_columns(), 1000, 512, None);
    let rows = rows(&batches);
    assert!(rows.len() > 1000 && rows.len() < 5000, "{}", rows.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["bytes"], i.to_string(), "records before the damage are exact");
    }
    assert!(problems.iter().any(|p| matches!(p.kind, ProblemKind::Damaged { .. })), "{problems:?}");
    assert!(
        problems.iter().any(|p| matches!(p.kind, ProblemKind::CutShort { .. })),
        "the cut line is reported, not loaded"
    );
}

#[test]
fn regression_corrupt_gzip_is_reported() {
    let mut zipped = gzip(b"version srcaddr bytes\n2 10.0.0.1 5\n");
    let n = zipped.len();
    zipped[n - 6] ^= 0xff; // the CRC
    let (_, problems) = decode(&zipped, all_columns(), 100, 100, None);
    assert!(problems.iter().any(|p| matches!(p.kind, ProblemKind::Damaged { .. })), "{problems:?}");
    let (_, problems) =
        decode(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef], all_columns(), 100, 100, None);
    assert!(problems.iter().any(|p| matches!(p.kind, ProblemKind::Damaged { .. })), "{problems:?}");
}

#[test]
fn regression_fields_not_in_the_table_are_reported_not_dropped_silently() {
    // The table knows next-hop-type (from a first header); a later header brings one it does not know,
    // and one names the reserved `line`.
    let input = b"version srcaddr next-hop-type\n2 10.0.0.1 igw\nversion srcaddr route-type line\n2 10.0.0.2 x 99\n";
    let (batches, problems) = decode(input, all_columns(), 5, 2, None);
    let rows = rows(&batches);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["line"], "4", "a field named line does not overwrite the line number");
    let unbound: Vec<_> = problems
        .iter()
        .map(|p| match &p.kind {
            ProblemKind::UnboundField { name } => (p.line, name.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(unbound, [(Some(3), "route-type"), (Some(3), "line")]);
}

#[test]
fn regression_abort_keeps_the_text_the_inflater_held_back() {
    let zipped = gzip(numbered(20_000).as_bytes());
    let half = &zipped[..zipped.len() / 2];
    // Through damage (the stream ends early) ...
    let (damaged, _) = decode(half, all_columns(), half.len(), 100_000, None);
    // ... and through an I/O error after the same bytes: the same records.
    let mut object = ObjectDecoder::new(FlowDecoderBuilder::new(all_columns()).with_batch_size(100_000).build());
    object.push(half);
    object.abort("connection reset");
    let mut aborted = Vec::new();
    while let Some(b) = object.next_batch().unwrap() {
        aborted.push(b);
    }
    assert_eq!(rows(&aborted), rows(&damaged));
    assert!(rows(&aborted).len() > 5000);
    let problems = object.take_problems();
    assert!(
        problems.iter().any(|p| matches!(&p.kind, ProblemKind::Unreadable { reason } if reason == "connection reset"))
    );
}

#[test]
fn regression_not_utf8_names_the_column() {
    let (batches, problems) =
        decode(b"version srcaddr action\n2 10.0.0.1 ACC\xffEPT\n2 10.0.0.2 REJECT\n", all_columns(), 100, 100, None);
    assert_eq!(rows(&batches).len(), 1);
    assert_eq!(problems.len(), 1);
    assert!(matches!(&problems[0].kind, ProblemKind::NotUtf8 { column: Some(c), .. } if c == "action"), "{problems:?}");
}

#[test]
fn regression_overlong_line_is_skipped_not_buffered_forever() {
    let mut input = b"version srcaddr\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', flowq::decode::MAX_LINE * 2));
    input.extend(b"\n2 10.0.0.1\n");
    let (batches, problems) = decode(&input, all_columns(), 4096, 100, None);
    assert_eq!(rows(&batches).len(), 1);
    assert_eq!(rows(&batches)[0]["line"], "3");
    assert_eq!(problems.len(), 1);
    assert!(matches!(problems[0].kind, ProblemKind::LineTooLong { .. }));
}

fn field_value(kind: usize) -> BoxedStrategy<String> {
    match kind {
        0 => prop_oneof![Just("-".to_string()), (0i64..=i64::from(i32::MAX)).prop_map(|n| n.to_string())].boxed(),
        1 => prop_oneof![Just("-".to_string()), (0i64..=i64::MAX).prop_map(|n| n.to_string())].boxed(),
        _ => prop_oneof![Just("-".to_string()), "[A-Za-z0-9.:_/=+-]{1,20}".prop_filter("not -", |s| s != "-")].boxed(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Valid records survive write → parse, in any field order and subset.
    #[test]
    fn round_trip(fields in proptest::sample::subsequence(flowq::decode::KNOWN_FIELDS.to_vec(), 1..12).prop_shuffle(),
                  seed_rows in 1usize..40, chunk in 1usize..300) {
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        let kinds: Vec<usize> = fields.iter().map(|(_, k)| match k {
            flowq::decode::FieldKind::Int32 => 0, flowq::decode::FieldKind::Int64 => 1, _ => 2 }).collect();
        let strategy = kinds.iter().map(|k| field_value(*k)).collect::<Vec<_>>();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut text = names.join(" ");
        text.push('\n');
        let mut expected = Vec::new();
        for _ in 0..seed_rows {
            let values: Vec<String> = strategy.iter().map(|s| s.new_tree(&mut runner).unwrap().current()).collect();
            text.push_str(&values.join(" "));
            text.push('\n');
            expected.push(values);
        }
        let (batches, problems) = decode(text.as_bytes(), all_columns(), chunk, 7, None);
        prop_assert!(problems.is_empty(), "{:?}", problems);
        let got = rows(&batches);
        prop_assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            for (name, value) in names.iter().zip(e) {
                let column = name.replace('-', "_");
                prop_assert_eq!(g.get(&column).map(String::as_str), (value != "-").then_some(value.as_str()));
            }
        }
    }

    /// Arbitrary bytes, plain or behind a gzip magic number, never panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..64, gz in any::<bool>()) {
        let input = if gz { [vec![0x1f, 0x8b], bytes].concat() } else { bytes };
        let _ = decode(&input, all_columns(), chunk, 3, None);
    }
}

/// Lines with a header, CRLF, blank and bad lines, a bad line that starts with a lowercase letter
/// but is no header, and addresses that contain one another as text.
const PREFILTER_TRICKS: &str = "version srcaddr dstaddr bytes\n\
2 10.0.1.1 10.0.1.12 5\n\
2 10.0.1.12 10.0.9.9 6\r\n\
\n\
2 10.0.1.1 x y z\n\
2 bad 10.0.9.9 oops\n\
   \t\n\
version dstaddr srcaddr bytes packets\n\
2 10.0.1.1 192.0.2.200 7 1\n\
2 192.0.2.200 10.0.1.1 8 2\n\
  version bytes srcaddr\n\
2 9 10.0.1.1\n\
2 x 10.0.1.1\n\
x 9 10.0.9.9\n\
2 9 10.0.1.10";

/// The pre-filter loads exactly the rows of the plain path whose line holds one of its strings, with
/// the same line numbers, wherever chunks and batches end; the problems it reports are the plain
/// path's on those lines and on header lines (a line that only starts like a header is passed over).
#[test]
fn prefilter_loads_exactly_the_lines_that_hold_a_needle() {
    let mut inputs: Vec<Vec<u8>> = vec![PREFILTER_TRICKS.as_bytes().to_vec(), MIXED.as_bytes().to_vec()];
    inputs.extend(files_under(&fixtures().join("AWSLogs")).iter().take(4).map(|p| std::fs::read(p).unwrap()));
    let needle_sets: [&[&str]; 5] =
        [&["10.0.1.1"], &["192.0.2.200", "10.0.1.12"], &["172.31."], &["2001:db8::1"], &["no such text"]];
    for input in &inputs {
        let text = if input.starts_with(&[0x1f, 0x8b]) {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(input.as_slice()), &mut text).unwrap();
            String::from_utf8(text).unwrap()
        } else {
            String::from_utf8(input.clone()).unwrap()
        };
        let lines: Vec<&str> = text.split('\n').collect();
        let (plain, plain_problems) = decode(input, all_columns(), usize::MAX, 8192, None);
        for needles in needle_sets {
            let holds = |line: u64| needles.iter().any(|n| lines[line as usize - 1].contains(n));
            let expected: Vec<_> = rows(&plain).into_iter().filter(|row| holds(row["line"].parse().unwrap())).collect();
            let expected_problems: Vec<&Problem> = plain_problems
                .iter()
                .filter(|p| {
                    p.line.is_none_or(|line| {
                        let text = lines[line as usize - 1];
                        let first = text.trim_start_matches([' ', '\t']).bytes().next();
                        let header = first.is_some_and(|b| b.is_ascii_lowercase()) && header_fields(text).is_some();
                        holds(line) || header
                    })
                })
                .collect();
            for (chunk, batch) in [(1, 3), (7, 2), (100, 8192), (4096, 5), (usize::MAX, 8192)] {
                let builder = FlowDecoderBuilder::new(all_columns()).with_batch_size(batch).with_prefilter(Prefilter {
                    needles: needles.iter().map(|n| n.as_bytes().to_vec()).collect(),
                    ..Prefilter::default()
                });
                let (batches, problems) = run(builder, input, chunk, batch);
                assert_eq!(rows(&batches), expected, "{needles:?} chunk {chunk} batch {batch}");
                assert_eq!(problems.iter().collect::<Vec<_>>(), expected_problems, "{needles:?} chunk {chunk}");
            }
        }
    }
}

/// Decoding `input` with `prefilter`, wherever chunks and batches end, loads exactly the `expected`
/// rows and reports `problems`; built with only the columns `built` (which hold `line`), it loads the
/// same lines.
fn loads_and_reports_alike(
    input: &[u8],
    prefilter: &Prefilter,
    built: &[&str],
    expected: &[BTreeMap<String, String>],
    problems: &[Problem],
) {
    for (chunk, batch) in [(1, 3), (7, 2), (100, 8192), (4096, 5), (usize::MAX, 8192)] {
        let builder = FlowDecoderBuilder::new(all_columns()).with_batch_size(batch).with_prefilter(prefilter.clone());
        let (batches, got) = run(builder, input, chunk, batch);
        assert_eq!(rows(&batches), expected, "{prefilter:?} chunk {chunk} batch {batch}");
        assert_eq!(got, problems, "{prefilter:?} chunk {chunk}");
    }
    let builder = FlowDecoderBuilder::new(projected(built)).with_prefilter(prefilter.clone());
    let (batches, _) = run(builder, input, 100, 8192);
    let lines =
        |rows: &[BTreeMap<String, String>]| -> Vec<String> { rows.iter().map(|row| row["line"].clone()).collect() };
    assert_eq!(lines(&rows(&batches)), lines(expected), "{prefilter:?} built {built:?}");
}

/// Conditions on numeric fields load exactly the rows of the plain path that meet them, with the same
/// line numbers, and report exactly the plain path's problems (the lines are checked before the
/// conditions are), wherever chunks and batches end — also when the conditions' columns are not
/// built, and on a field the format does not have (never met).
#[test]
fn conditions_load_exactly_the_rows_that_meet_them_and_report_every_problem() {
    let mut inputs: Vec<Vec<u8>> = vec![PREFILTER_TRICKS.as_bytes().to_vec(), MIXED.as_bytes().to_vec()];
    inputs.extend(files_under(&fixtures().join("AWSLogs")).iter().take(4).map(|p| std::fs::read(p).unwrap()));
    type Conditions<'a> = &'a [&'a [(&'a str, &'a [i64])]];
    let condition_sets: [Conditions; 5] = [
        &[&[("bytes", &[5, 7, 8])]],
        &[&[("srcport", &[22, 3389]), ("dstport", &[22, 3389])]],
        &[&[("packets", &[1, 2])], &[("bytes", &[8])]],
        &[&[("tcp_flags", &[2])]],
        &[&[("protocol", &[6])], &[("dstport", &[443, 22, 80])]],
    ];
    for input in &inputs {
        let (plain, plain_problems) = decode(input, all_columns(), usize::MAX, 8192, None);
        for conditions in condition_sets {
            let meets = |row: &BTreeMap<String, String>| {
                conditions.iter().all(|any| {
                    any.iter().any(|(column, values)| {
                        row.get(*column).is_some_and(|v| values.contains(&v.parse::<i64>().unwrap()))
                    })
                })
            };
            let expected: Vec<_> = rows(&plain).into_iter().filter(|row| meets(row)).collect();
            let prefilter = Prefilter {
                conditions: conditions
                    .iter()
                    .map(|any| any.iter().map(|(c, v)| (c.to_string(), v.to_vec())).collect())
                    .collect(),
                ..Prefilter::default()
            };
            // The conditions' columns need not be built.
            loads_and_reports_alike(input, &prefilter, &["srcaddr", "line"], &expected, &plain_problems);
        }
    }
}

/// A field test loads exactly the rows of the plain path of which a tested column holds a value the
/// test passes (a `-`, NULL, passes none), with the same line numbers, and reports exactly the plain
/// path's problems, wherever chunks and batches end; also beside conditions, when the tested columns
/// are not built, and when the format has none of them.
#[test]
fn a_field_test_loads_exactly_the_rows_whose_fields_pass_and_reports_every_problem() {
    let mut inputs: Vec<Vec<u8>> = vec![PREFILTER_TRICKS.as_bytes().to_vec(), MIXED.as_bytes().to_vec()];
    inputs.extend(files_under(&fixtures().join("AWSLogs")).iter().take(4).map(|p| std::fs::read(p).unwrap()));
    for sample in ["02-nodata-skipdata.log", "04-ipv6.log", "06-nat-gateway.log"] {
        inputs.push(std::fs::read(fixtures().join("samples").join(sample)).unwrap());
    }
    type Case<'a> = (&'a [&'a str], &'a [&'a str], Option<i64>);
    let cases: [Case; 5] = [
        (&["srcaddr", "dstaddr"], &["10.0.1.1", "192.0.2.200", "-"], None),
        (&["dstaddr"], &["10.0.1.12", "10.0.9.9", "172.31.16.139"], None),
        (&["srcaddr", "pkt_srcaddr"], &["10.0.1.5", "203.0.113.5", "2001:db8:1234:a100:8d6e:3477:df66:f105"], None),
        (&["srcaddr", "dstaddr"], &["10.0.1.1", "10.0.1.12", "52.95.128.179"], Some(8)),
        (&["pkt_dstaddr"], &["no such value"], None),
    ];
    for input in &inputs {
        let (plain, plain_problems) = decode(input, all_columns(), usize::MAX, 8192, None);
        for (columns, values, bytes) in cases {
            let passes = |row: &BTreeMap<String, String>| {
                columns.iter().any(|c| row.get(*c).is_some_and(|v| values.contains(&v.as_str())))
                    && bytes.is_none_or(|b| row.get("bytes") == Some(&b.to_string()))
            };
            let expected: Vec<_> = rows(&plain).into_iter().filter(|row| passes(row)).collect();
            let owned: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            let prefilter = Prefilter {
                conditions: bytes.map(|b| vec![("bytes".to_string(), vec![b])]).into_iter().collect(),
                fields: Some(FieldTest {
                    columns: columns.iter().map(|c| c.to_string()).collect(),
                    passes: Arc::new(move |value| owned.iter().any(|v| v == value)),
                }),
                ..Prefilter::default()
            };
            // The tested columns need not be built.
            loads_and_reports_alike(input, &prefilter, &["bytes", "line"], &expected, &plain_problems);
        }
    }
    // The cases are not vacuous: some rows of the inputs pass, and some do not.
    let all: Vec<_> =
        inputs.iter().flat_map(|input| rows(&decode(input, all_columns(), usize::MAX, 8192, None).0)).collect();
    for (columns, values, _) in &cases[..3] {
        let passing = all
            .iter()
            .filter(|row| columns.iter().any(|c| row.get(*c).is_some_and(|v| values.contains(&v.as_str()))))
            .count();
        assert!(passing > 0 && passing < all.len(), "{columns:?} {values:?}");
    }
}
