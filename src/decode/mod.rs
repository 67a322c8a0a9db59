//! Bytes in, Arrow out: the hot path, pure CPU.
//!
//! [`ObjectDecoder`] takes one object's stored bytes in chunks (gzip, multi-member gzip or plain text,
//! told apart by content), and [`FlowDecoder`] turns the text into `RecordBatch`es of the `flows`
//! columns a query needs ([`file_schema`], projected). Fields are bound by the header line's names.
//! Lines or objects that cannot be read become [`Problem`]s, never panics or aborted runs.
//!
//! This module must not import DataFusion or tokio: it is benchmarked, fuzzed and property-tested
//! alone.

mod fields;
mod object;
mod problem;
mod records;

pub use fields::{
    DEFAULT_FORMAT, FieldKind, KNOWN_FIELDS, LINE_COLUMN, SOURCE_COLUMN, column_name, field_kind, file_schema,
    header_fields, is_field_name, known_kind,
};
pub use object::{ObjectDecoder, WHOLE_STORED_LIMIT, WHOLE_TEXT_LIMIT, first_header};
pub use problem::{Problem, ProblemKind, Scope};
pub use records::{DEFAULT_BATCH_SIZE, FieldTest, FlowDecoder, FlowDecoderBuilder, MAX_LINE, Prefilter};
