//! The field catalog: every flow-log field AWS documents, its Athena column name and its Arrow type.
//!
//! Fields are bound by the names in an object's header line, never by position or by the `version`
//! value. A name that is not in this catalog is still accepted: it becomes a nullable string column
//! named with `-` → `_` (see [`column_name`]). The catalog is the union of VPC fields v2–v8, the later
//! `resource-id` / `encryption-status`, and the transit gateway fields (`reference/format.md` §2, §8).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// How a field's text is turned into an Arrow value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A 32-bit integer (ports, protocol, version, flags, traffic path).
    Int32,
    /// A 64-bit integer (packets, bytes, epoch seconds).
    Int64,
    /// Text, kept as it is (addresses, ids, `ACCEPT`, …).
    Text,
}

impl FieldKind {
    /// The Arrow type of a column of this kind.
    pub fn data_type(self) -> DataType {
        match self {
            FieldKind::Int32 => DataType::Int32,
            FieldKind::Int64 => DataType::Int64,
            FieldKind::Text => DataType::Utf8View,
        }
    }
}

/// Every documented field, by its hyphenated name as it appears in a header line, in `flows` column order.
pub const KNOWN_FIELDS: &[(&str, FieldKind)] = &[
    // v2, the default format, in AWS's order
    ("version", FieldKind::Int32),
    ("account-id", FieldKind::Text),
    ("interface-id", FieldKind::Text),
    ("srcaddr", FieldKind::Text),
    ("dstaddr", FieldKind::Text),
    ("srcport", FieldKind::Int32),
    ("dstport", FieldKind::Int32),
    ("protocol", FieldKind::Int32),
    ("packets", FieldKind::Int64),
    ("bytes", FieldKind::Int64),
    ("start", FieldKind::Int64),
    ("end", FieldKind::Int64),
    ("action", FieldKind::Text),
    ("log-status", FieldKind::Text),
    // v3
    ("vpc-id", FieldKind::Text),
    ("subnet-id", FieldKind::Text),
    ("instance-id", FieldKind::Text),
    ("tcp-flags", FieldKind::Int32),
    ("type", FieldKind::Text),
    ("pkt-srcaddr", FieldKind::Text),
    ("pkt-dstaddr", FieldKind::Text),
    // v4
    ("region", FieldKind::Text),
    ("az-id", FieldKind::Text),
    ("sublocation-type", FieldKind::Text),
    ("sublocation-id", FieldKind::Text),
    // v5
    ("pkt-src-aws-service", FieldKind::Text),
    ("pkt-dst-aws-service", FieldKind::Text),
    ("flow-direction", FieldKind::Text),
    ("traffic-path", FieldKind::Int32),
    // v7 (ECS)
    ("ecs-cluster-arn", FieldKind::Text),
    ("ecs-cluster-name", FieldKind::Text),
    ("ecs-container-instance-arn", FieldKind::Text),
    ("ecs-container-instance-id", FieldKind::Text),
    ("ecs-container-id", FieldKind::Text),
    ("ecs-second-container-id", FieldKind::Text),
    ("ecs-service-name", FieldKind::Text),
    ("ecs-task-definition-arn", FieldKind::Text),
    ("ecs-task-arn", FieldKind::Text),
    ("ecs-task-id", FieldKind::Text),
    // v8
    ("reject-reason", FieldKind::Text),
    // later fields whose version and type AWS has not confirmed: kept as text
    ("resource-id", FieldKind::Text),
    ("encryption-status", FieldKind::Text),
    // transit gateway flow logs (v6)
    ("resource-type", FieldKind::Text),
    ("tgw-id", FieldKind::Text),
    ("tgw-attachment-id", FieldKind::Text),
    ("tgw-src-vpc-account-id", FieldKind::Text),
    ("tgw-dst-vpc-account-id", FieldKind::Text),
    ("tgw-src-vpc-id", FieldKind::Text),
    ("tgw-dst-vpc-id", FieldKind::Text),
    ("tgw-src-subnet-id", FieldKind::Text),
    ("tgw-dst-subnet-id", FieldKind::Text),
    ("tgw-src-eni", FieldKind::Text),
    ("tgw-dst-eni", FieldKind::Text),
    ("tgw-src-az-id", FieldKind::Text),
    ("tgw-dst-az-id", FieldKind::Text),
    ("tgw-pair-attachment-id", FieldKind::Text),
    ("packets-lost-no-route", FieldKind::Int64),
    ("packets-lost-blackhole", FieldKind::Int64),
    ("packets-lost-mtu-exceeded", FieldKind::Int64),
    ("packets-lost-ttl-expired", FieldKind::Int64),
];

/// The 14 fields of the default (v2) format, in order: assumed for objects without a header line.
pub const DEFAULT_FORMAT: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// The provenance column the decoder fills: the record's 1-based line number in its object.
pub const LINE_COLUMN: &str = "line";

/// The provenance column the table adds: the object's full URL or path.
pub const SOURCE_COLUMN: &str = "source";

/// The Athena column name of a field name: `log-status` → `log_status`.
pub fn column_name(field: &str) -> String {
    field.replace('-', "_")
}

/// The kind of a known field (by its hyphenated or underscored name), or `None` for an unknown one.
pub fn known_kind(field: &str) -> Option<FieldKind> {
    KNOWN_FIELDS
        .iter()
        .find(|(name, _)| {
            name.len() == field.len()
                && name.bytes().zip(field.bytes()).all(|(a, b)| a == b || (a == b'-' && b == b'_'))
        })
        .map(|(_, kind)| *kind)
}

/// The kind of any field: known fields have their own, unknown ones are text.
pub fn field_kind(field: &str) -> FieldKind {
    known_kind(field).unwrap_or(FieldKind::Text)
}

/// The schema the decoder can produce: every known field, then `extra` unknown fields (as text, in
/// the order given, with `-` → `_`; `line` and `source` are reserved and left out), then `line`.
/// The table adds `source` after these.
pub fn file_schema(extra: &[String]) -> SchemaRef {
    let mut fields: Vec<Field> =
        KNOWN_FIELDS.iter().map(|(name, kind)| Field::new(column_name(name), kind.data_type(), true)).collect();
    for name in extra {
        let column = column_name(name);
        let reserved = column == LINE_COLUMN || column == SOURCE_COLUMN;
        if !reserved && known_kind(&column).is_none() && fields.iter().all(|f| f.name() != &column) {
            fields.push(Field::new(column, DataType::Utf8View, true));
        }
    }
    fields.push(Field::new(LINE_COLUMN, DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// Whether `token` has the shape of a field name: a lowercase letter, then lowercase letters, digits
/// and hyphens.
pub fn is_field_name(token: &str) -> bool {
    let mut bytes = token.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// The field names of a header line, or `None` when the line is not a header.
///
/// A header is a line whose every token has the shape of a field name and at least one of which is a
/// known field. No record can look like that: addresses, numbers and `-` are not names, and the
/// lowercase values AWS writes (`ingress`, `us-east-1`, `i-0abc…`) are not field names. This runs on
/// every line, so it allocates only once the line has passed both checks.
pub fn header_fields(line: &str) -> Option<Vec<&str>> {
    let mut tokens = line.split_ascii_whitespace();
    let is_header =
        tokens.clone().next().is_some() && tokens.clone().all(is_field_name) && tokens.any(|t| known_kind(t).is_some());
    is_header.then(|| line.split_ascii_whitespace().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_header_is_a_header() {
        let line = DEFAULT_FORMAT.join(" ");
        assert_eq!(header_fields(&line).map(|f| f.len()), Some(14));
    }

    #[test]
    fn records_are_not_headers() {
        for line in [
            "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
            "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5",
            "ingress egress",
            "us-east-1 use1-az1 i-0123456789abcdef0",
            "",
        ] {
            assert!(header_fields(line).is_none(), "{line}");
        }
    }

    #[test]
    fn unknown_names_are_allowed_beside_known_ones() {
        assert_eq!(header_fields("version next-hop-type srcaddr"), Some(vec!["version", "next-hop-type", "srcaddr"]));
        assert!(header_fields("foo bar").is_none());
    }

    #[test]
    fn schema_has_unknown_columns_once_and_line_last() {
        let schema = file_schema(&["next-hop-type".into(), "next_hop_type".into(), "srcaddr".into()]);
        let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "next_hop_type").count(), 1);
        assert_eq!(names.iter().filter(|n| **n == "srcaddr").count(), 1);
        assert_eq!(names.last(), Some(&"line"));
        assert_eq!(known_kind("log_status"), Some(FieldKind::Text));
        assert_eq!(known_kind("tcp-flags"), Some(FieldKind::Int32));
    }
}
