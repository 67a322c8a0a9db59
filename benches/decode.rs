//! The decoder on text in memory, and gunzip + decode of one stored object (see `benches/README.md`).
//!
//! The input is one generated object in the default format (seeded, 200,000 records, ~22 MB of
//! text). Every measured run checks the number of rows it produced, so a change that gets faster by
//! dropping records fails here instead of reporting a good figure.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::io::Read;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowq::decode::{DEFAULT_FORMAT, FlowDecoderBuilder, ObjectDecoder, column_name, file_schema};
use flowq::generate::{CorpusSpec, write_corpus};

const RECORDS: u32 = 200_000;

struct Object {
    stored: Vec<u8>,
    text: Vec<u8>,
}

fn one_object() -> Object {
    let dir = tempfile::tempdir().unwrap();
    let spec = CorpusSpec {
        days: 1,
        objects_per_day: 1,
        records_per_object: RECORDS,
        incidents: false,
        default_format_only: true,
        ..CorpusSpec::default()
    };
    let summary = write_corpus(&spec, dir.path()).unwrap();
    assert_eq!(summary.objects.len(), 1);
    let stored = std::fs::read(&summary.objects[0]).unwrap();
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(stored.as_slice()).read_to_end(&mut text).unwrap();
    assert_eq!(text.len() as u64, summary.text_bytes);
    Object { stored, text }
}

/// The columns of `names`, as the table's scan would ask for them.
fn projection(names: &[&str]) -> SchemaRef {
    let schema = file_schema(&[]);
    let indices: Vec<usize> = names.iter().map(|n| schema.index_of(n).unwrap()).collect();
    Arc::new(schema.project(&indices).unwrap())
}

/// Decodes `text` handed over in 256 KiB pieces, as the scan hands over inflated text; returns rows.
fn decode_text(schema: &SchemaRef, text: &[u8]) -> usize {
    let mut decoder = FlowDecoderBuilder::new(Arc::clone(schema)).build();
    let mut rows = 0;
    for piece in text.chunks(256 * 1024) {
        let mut pos = 0;
        while pos < piece.len() {
            pos += decoder.decode(&piece[pos..]);
            if decoder.capacity() == 0 {
                rows += black_box(decoder.flush().unwrap().unwrap()).num_rows();
            }
        }
    }
    decoder.decode(&[]);
    if let Some(batch) = decoder.flush().unwrap() {
        rows += black_box(batch).num_rows();
    }
    assert!(decoder.take_problems().is_empty());
    rows
}

/// Gunzips and decodes a stored object pushed in 1 MiB pieces; returns rows.
fn decode_object(schema: &SchemaRef, stored: &[u8]) -> usize {
    let mut object = ObjectDecoder::new(FlowDecoderBuilder::new(Arc::clone(schema)).build());
    let mut rows = 0;
    for piece in stored.chunks(1024 * 1024) {
        object.push(piece);
        while let Some(batch) = object.next_batch().unwrap() {
            rows += black_box(batch).num_rows();
        }
    }
    object.finish();
    while let Some(batch) = object.next_batch().unwrap() {
        rows += black_box(batch).num_rows();
    }
    assert!(object.take_problems().is_empty());
    rows
}

fn benches(c: &mut Criterion) {
    let object = one_object();
    let all: Vec<String> = DEFAULT_FORMAT.iter().map(|f| column_name(f)).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let all = projection(&all);
    let top_talkers = projection(&["srcaddr", "dstaddr", "packets", "bytes"]);
    // `SELECT *`: every table column, most of which the default format does not have (null).
    let table = file_schema(&[]);
    let rows = RECORDS as usize;

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(object.text.len() as u64));
    group.sample_size(20);
    group.bench_function("text/all-14-columns", |b| b.iter(|| assert_eq!(decode_text(&all, &object.text), rows)));
    group.bench_function("text/every-table-column", |b| b.iter(|| assert_eq!(decode_text(&table, &object.text), rows)));
    group.bench_function("text/top-talkers-columns", |b| {
        b.iter(|| assert_eq!(decode_text(&top_talkers, &object.text), rows))
    });
    group.bench_function("gzip/top-talkers-columns", |b| {
        b.iter(|| assert_eq!(decode_object(&top_talkers, &object.stored), rows))
    });
    group.finish();

    // The choice of inflater, measured on the same object: output bytes per second.
    let mut group = c.benchmark_group("gunzip");
    group.throughput(Throughput::Bytes(object.text.len() as u64));
    group.sample_size(20);
    group.bench_function("flate2-zlib-rs/streaming", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(object.text.len());
            flate2::read::MultiGzDecoder::new(object.stored.as_slice()).read_to_end(&mut out).unwrap();
            assert_eq!(out.len(), object.text.len());
        })
    });
    group.bench_function("libdeflate/whole-member", |b| {
        let mut inflater = libdeflater::Decompressor::new();
        b.iter(|| {
            let mut out = vec![0; object.text.len()];
            let n = inflater.gzip_decompress(&object.stored, &mut out).unwrap();
            assert_eq!(n, object.text.len());
        })
    });
    group.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
