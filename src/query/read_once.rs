//! The logs read once for many queries: `flows` decoded into a columnar copy in a temporary folder,
//! which the queries of `report` and `detect` then read instead of the logs (see
//! [`super::Engine::read_once`]).
//!
//! The copy is plain Parquet with flowq's `source` and `line` columns, read back by the same reader
//! as `flowq convert`'s copies. It is written to be read a few times and then deleted: zstd level 1
//! (about 0.7 times the size of the gzip objects), not sorted, no statistics or bloom filters. It
//! goes where `TMPDIR` says (`/tmp` by default).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use futures::StreamExt;
use tokio::task::JoinSet;

/// Rows per row group of the copy: a few MiB of each column's pages held while a group is written,
/// and groups small enough that a query's partitions share the copy's files evenly.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Writes each of `streams` (the partitions of one scan) into its own Parquet file in `folder`, all
/// at once; the rows of each file. The first error stops the others.
pub(super) async fn write_copy(streams: Vec<SendableRecordBatchStream>, folder: &Path) -> Result<Vec<u64>> {
    let mut writers = JoinSet::new();
    for (i, stream) in streams.into_iter().enumerate() {
        let path = folder.join(format!("part-{i}.parquet"));
        writers.spawn(async move { write_file(stream, &path).await });
    }
    let mut files = Vec::with_capacity(writers.len());
    // Dropping the set on an error stops the writers still running.
    while let Some(written) = writers.join_next().await {
        files.push(written.map_err(|e| DataFusionError::External(Box::new(e)))??);
    }
    Ok(files)
}

/// Writes one stream into a new Parquet file at `path`; its rows.
async fn write_file(mut stream: SendableRecordBatchStream, path: &Path) -> Result<u64> {
    let context = |e: &dyn std::fmt::Display| {
        DataFusionError::Execution(format!(
            "writing the copy of the logs to {} (TMPDIR says where it goes): {e}",
            path.display()
        ))
    };
    let file = File::create(path).map_err(|e| context(&e))?;
    // Dictionaries pay for text (addresses, ids, the object's name) but not for numbers: most of them
    // (bytes, packets, times, ports) take too many values. Statistics cost a comparison per value,
    // and nothing is pruned by them in a copy of exactly what the queries read.
    let numbers = stream
        .schema()
        .fields()
        .iter()
        .filter(|f| !matches!(f.data_type(), DataType::Utf8View))
        .map(|f| ColumnPath::from(f.name().as_str()))
        .collect::<Vec<_>>();
    let properties = numbers
        .into_iter()
        .fold(WriterProperties::builder(), |p, column| p.set_column_dictionary_enabled(column, false))
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::None)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer =
        ArrowWriter::try_new(BufWriter::new(file), stream.schema(), Some(properties)).map_err(|e| context(&e))?;
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        // The scan's own errors (damage under --strict, memory) go up as they are.
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| context(&e))?;
    }
    let out = writer.into_inner().map_err(|e| context(&e))?;
    out.into_inner().map_err(|e| context(&e.into_error()))?;
    Ok(rows)
}
