//! The pre-filter: from the filters DataFusion pushes into the scan, what every line that can match
//! has — byte strings of which it contains at least one, values its numeric fields hold, and an
//! address field that passes a test.
//!
//! The scan may still return lines that do not match (`Inexact` pushdown), and DataFusion applies the
//! filter itself above the scan; the pre-filter only saves parsing (strings) or loading (conditions,
//! field tests) the lines that cannot match.
//!
//! Conditions: `col = <integer>`, `col IN (<integer>, …)` on a numeric column read from the line (not
//! `line`), and `OR`s of them — `ssh-rdp`'s `srcport IN (22, 3389) OR dstport IN (22, 3389)`. Every
//! such filter is kept (a line must meet all). The decoder compares them with the parsed fields
//! exactly, after checking the line, so they change neither the rows nor the problems reported.
//!
//! Strings come from filters on columns whose values are always the line's own text (not
//! `account_id` and `region`, which may come from the object's key, nor `source` and `line`):
//! - `col = '<text>'` and `col IN ('<text>', …)` on a text column: the text itself (the decoder keeps
//!   text fields exactly as they are written). This covers `--ip`-less filters such as `--eni` and
//!   `--action`, and queries such as `rejected-tcp` (`action = 'REJECT'`).
//! - `cidr_contains('<IPv4 block>', col)`: the block's whole leading octets, as dotted text. An address
//!   inside `10.1.2.0/24` can only be written `10.1.2.…`: `cidr_contains` reads an IPv4 address only in
//!   its one dotted-decimal form (`Ipv4Addr`'s parser refuses leading zeros and other spellings).
//! - `OR` of these. IPv6 blocks and blocks shorter than /8 give no strings (see the field tests).
//!
//! Field tests: a line is loaded only when one of the tested address fields passes, which the decoder
//! asks after checking the line like a condition. The first filter of these shapes gives the test:
//! - the sweep's `ioc_hits(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr) IS NOT NULL`: a value passes
//!   when it falls in an indicator (the function's own index answers). `ioc_hits` is NULL exactly
//!   when no address of the row falls in one (a `-` field is NULL, a value that is not an address
//!   falls in none);
//! - `cidr_contains('<block>', col)` and `OR`s of them, any family and prefix — so `ip` with an IPv6
//!   address, and `--ip` with many blocks, which no strings serve: a value of one of their columns
//!   passes when it is in one of their blocks. A row that meets the filter has such a value.

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};

use super::IocHits;
use crate::decode::{self, FieldKind, FieldTest, Prefilter};
use crate::net::Cidr;

/// Columns whose values are not always the line's own text.
const NOT_FROM_THE_LINE: [&str; 4] = ["account_id", "region", "source", "line"];

/// More strings than this are not worth searching for one by one.
const MAX_NEEDLES: usize = 8;

/// The strings for one filter, or `None` when the filter is not one the pre-filter understands.
pub(crate) fn needles(filter: &Expr) -> Option<Vec<Vec<u8>>> {
    let mut needles = match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            let mut both = needles(left)?;
            both.extend(needles(right)?);
            both
        }
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => match (left.as_ref(), right.as_ref()) {
            (column, Expr::Literal(value, _)) | (Expr::Literal(value, _), column) if from_the_line(column) => {
                vec![value.try_as_str()??.as_bytes().to_vec()]
            }
            _ => return None,
        },
        Expr::InList(list) if !list.negated && from_the_line(&list.expr) => list
            .list
            .iter()
            .map(|item| match item {
                Expr::Literal(value, _) => Some(value.try_as_str()??.as_bytes().to_vec()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        Expr::ScalarFunction(call) if call.name() == "cidr_contains" => match call.args.as_slice() {
            [Expr::Literal(block, _), column] if from_the_line(column) => {
                vec![block_prefix(&block.try_as_str()??.parse::<Cidr>().ok()?)?]
            }
            _ => return None,
        },
        _ => return None,
    };
    // One block on four columns is one string.
    needles.sort();
    needles.dedup();
    let usable = !needles.is_empty() && needles.len() <= MAX_NEEDLES && needles.iter().all(|n| !n.is_empty());
    usable.then_some(needles)
}

/// The condition of one filter on numeric fields: alternatives `(column, values)`, or `None` when the
/// filter is not one the pre-filter understands.
pub(crate) fn condition(filter: &Expr) -> Option<Vec<(String, Vec<i64>)>> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            let mut both = condition(left)?;
            both.extend(condition(right)?);
            Some(both)
        }
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Eq, right }) => match (left.as_ref(), right.as_ref()) {
            (column, Expr::Literal(value, _)) | (Expr::Literal(value, _), column) => {
                Some(vec![(numeric_column(column)?, vec![integer(value)?])])
            }
            _ => None,
        },
        Expr::InList(list) if !list.negated => {
            let values = list
                .list
                .iter()
                .map(|item| match item {
                    Expr::Literal(value, _) => integer(value),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(vec![(numeric_column(&list.expr)?, values)])
        }
        _ => None,
    }
}

/// The test of address fields for one filter, or `None`:
/// - the sweep's `ioc_hits(…) IS NOT NULL` on columns of the line: a value passes when it falls in an
///   indicator;
/// - `cidr_contains('<block>', col)` on a column of the line, and `OR`s of them: a value of one of
///   those columns passes when it is inside one of those blocks.
pub(crate) fn field_test(filter: &Expr) -> Option<FieldTest> {
    if let Expr::IsNotNull(call) = filter {
        let Expr::ScalarFunction(call) = call.as_ref() else { return None };
        let hits = call.func.inner().downcast_ref::<IocHits>()?;
        let columns = call.args.iter().map(line_column).collect::<Option<Vec<_>>>()?;
        return Some(hits.field_test(columns));
    }
    let (mut blocks, mut columns) = (Vec::new(), Vec::new());
    blocks_and_columns(filter, &mut blocks, &mut columns)?;
    let passes =
        move |value: &str| value.parse::<IpAddr>().is_ok_and(|ip| blocks.iter().any(|b: &Cidr| b.contains(ip)));
    Some(FieldTest { columns, passes: Arc::new(passes) })
}

/// Gathers the blocks and columns of an `OR` of `cidr_contains('<block>', col)`; `None` for any other
/// filter, or for a block that is not one (the query's own error then reports it).
fn blocks_and_columns(filter: &Expr, blocks: &mut Vec<Cidr>, columns: &mut Vec<String>) -> Option<()> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            blocks_and_columns(left, blocks, columns)?;
            blocks_and_columns(right, blocks, columns)
        }
        Expr::ScalarFunction(call) if call.name() == "cidr_contains" => match call.args.as_slice() {
            [Expr::Literal(block, _), column] => {
                let block = block.try_as_str()??.parse::<Cidr>().ok()?;
                let column = line_column(column)?;
                if !blocks.contains(&block) {
                    blocks.push(block);
                }
                if !columns.contains(&column) {
                    columns.push(column);
                }
                Some(())
            }
            _ => None,
        },
        _ => None,
    }
}

/// The name of a column whose value is the line's own text.
fn line_column(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Column(column) if from_the_line(expr) => Some(column.name.clone()),
        _ => None,
    }
}

/// Whether the pre-filter understands `filter`.
pub(crate) fn understands(filter: &Expr) -> bool {
    needles(filter).is_some() || condition(filter).is_some() || field_test(filter).is_some()
}

/// The pre-filter for a scan: every condition it understands (a matching line meets all of them),
/// of the filters it has strings for the one whose shortest string is longest, and the first field
/// test.
pub(crate) fn choose(filters: &[Expr]) -> Prefilter {
    Prefilter {
        needles: filters
            .iter()
            .filter_map(needles)
            .max_by_key(|needles| needles.iter().map(Vec::len).min().unwrap_or(0))
            .unwrap_or_default(),
        conditions: filters.iter().filter_map(condition).collect(),
        fields: filters.iter().find_map(field_test),
    }
}

/// For the Parquet reader: a filter that every row matching `filter` also matches, in a form its
/// statistics, bloom filters and row filter can use (`cidr_contains` they cannot): `col = 'a.b.c.d'`
/// for an IPv4 /32, `col >= 'a.b.' AND col < 'a.b/'` for a block of whole octets (its addresses are
/// written starting with that text, and `/` follows `.`), and ORs of these. `None` for any other
/// filter (DataFusion pushes plain comparisons into the reader itself). A side of an OR that is never
/// true is left out: `ip`'s test of `pkt_srcaddr` becomes `NULL` when no object of the copy holds that
/// column, and the hint of the rest still holds for every row the OR keeps.
pub(crate) fn parquet_hint(filter: &Expr) -> Option<Expr> {
    let never_true = |expr: &Expr| match expr {
        Expr::Literal(value, _) => value.is_null() || *value == ScalarValue::Boolean(Some(false)),
        _ => false,
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) if never_true(right) => parquet_hint(left),
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) if never_true(left) => parquet_hint(right),
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
            Some(parquet_hint(left)?.or(parquet_hint(right)?))
        }
        Expr::ScalarFunction(call) if call.name() == "cidr_contains" => match call.args.as_slice() {
            [Expr::Literal(block, _), column @ Expr::Column(_)] => {
                let prefix = String::from_utf8(block_prefix(&block.try_as_str()??.parse::<Cidr>().ok()?)?).ok()?;
                let text = |t: String| Expr::Literal(ScalarValue::Utf8View(Some(t)), None);
                Some(match prefix.strip_suffix('.') {
                    Some(octets) => {
                        column.clone().gt_eq(text(prefix.clone())).and(column.clone().lt(text(format!("{octets}/"))))
                    }
                    None => column.clone().eq(text(prefix)),
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// The name of a column of integers read from the line.
fn numeric_column(expr: &Expr) -> Option<String> {
    let Expr::Column(column) = expr else { return None };
    let numeric = matches!(decode::known_kind(&column.name), Some(FieldKind::Int32 | FieldKind::Int64));
    (numeric && !NOT_FROM_THE_LINE.contains(&column.name.as_str())).then(|| column.name.clone())
}

/// An integer literal's value. (DataFusion has coerced it to the column's type by now.)
fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// A column whose value is the line's own text. With a string literal beside it, `=` and `IN` are
/// text comparisons: numeric columns meet only numeric literals once DataFusion has coerced types.
fn from_the_line(expr: &Expr) -> bool {
    matches!(expr, Expr::Column(column) if !NOT_FROM_THE_LINE.contains(&column.name.as_str()))
}

/// The dotted text every IPv4 address inside `block` starts with: its whole leading octets.
fn block_prefix(block: &Cidr) -> Option<Vec<u8>> {
    let IpAddr::V4(network) = block.network() else { return None };
    let octets = usize::from(block.prefix() / 8);
    let text: Vec<String> = network.octets()[..octets].iter().map(u8::to_string).collect();
    match octets {
        0 => None,
        4 => Some(text.join(".").into_bytes()),
        _ => Some(format!("{}.", text.join(".")).into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};

    use super::*;

    #[test]
    fn parquet_hints_hold_every_address_of_the_block() {
        let text = |t: &str| Expr::Literal(ScalarValue::Utf8View(Some(t.to_string())), None);
        assert_eq!(
            parquet_hint(&cidr_contains("192.0.2.200", "srcaddr")),
            Some(col("srcaddr").eq(text("192.0.2.200")))
        );
        assert_eq!(
            parquet_hint(&cidr_contains("10.1.0.0/16", "dstaddr")),
            Some(col("dstaddr").gt_eq(text("10.1.")).and(col("dstaddr").lt(text("10.1/"))))
        );
        // `/` is the byte after `.`: every address of 10.1.0.0/16 sorts inside the range, 10.10.… not.
        assert!("10.1.255.255" >= "10.1." && "10.1.255.255" < "10.1/" && "10.10.0.1" >= "10.1/");
        let either = cidr_contains("192.0.2.200", "srcaddr").or(cidr_contains("192.0.2.200", "dstaddr"));
        assert!(parquet_hint(&either).is_some());
        // A side that is never true (a column no object holds, made NULL) adds nothing to the hint.
        for never in [lit(ScalarValue::Boolean(None)), lit(ScalarValue::Null), lit(false)] {
            assert_eq!(parquet_hint(&either.clone().or(never.clone())), parquet_hint(&either));
            assert_eq!(parquet_hint(&never.clone().or(either.clone())), parquet_hint(&either));
        }
        assert_eq!(parquet_hint(&lit(ScalarValue::Null).or(lit(false))), None);
        // No hint: IPv6, blocks shorter than /8, anything that is not an address filter.
        for filter in [
            cidr_contains("2001:db8::/32", "srcaddr"),
            cidr_contains("0.0.0.0/0", "srcaddr"),
            cidr_contains("10.0.0.0/7", "srcaddr"),
            cidr_contains("192.0.2.200", "srcaddr").or(col("action").eq(lit("REJECT"))),
            col("action").eq(lit("REJECT")),
        ] {
            assert_eq!(parquet_hint(&filter), None, "{filter}");
        }
    }

    fn cidr_contains(block: &str, column: &str) -> Expr {
        let udf = datafusion::logical_expr::ScalarUDF::from(crate::table::CidrContains::new());
        udf.call(vec![lit(block), col(column)])
    }

    fn strings(filter: &Expr) -> Option<Vec<String>> {
        needles(filter).map(|n| n.into_iter().map(|n| String::from_utf8(n).unwrap_or_default()).collect())
    }

    #[test]
    fn blocks_give_their_whole_leading_octets() {
        assert_eq!(strings(&cidr_contains("192.0.2.200", "srcaddr")), Some(vec!["192.0.2.200".into()]));
        assert_eq!(strings(&cidr_contains("10.1.2.0/24", "dstaddr")), Some(vec!["10.1.2.".into()]));
        assert_eq!(strings(&cidr_contains("10.1.16.0/20", "dstaddr")), Some(vec!["10.1.".into()]));
        assert_eq!(strings(&cidr_contains("10.0.0.0/8", "pkt_srcaddr")), Some(vec!["10.".into()]));
        assert_eq!(strings(&cidr_contains("0.0.0.0/4", "srcaddr")), None);
        assert_eq!(strings(&cidr_contains("2001:db8::/32", "srcaddr")), None);
    }

    #[test]
    fn only_address_columns_and_understood_shapes() {
        let either = cidr_contains("192.0.2.200", "srcaddr").or(cidr_contains("198.51.100.7", "dstaddr"));
        assert_eq!(strings(&either).map(|n| n.len()), Some(2));
        // Eight blocks on four columns each are eight strings.
        let eight = (0..8)
            .flat_map(|i| {
                ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"]
                    .map(|c| cidr_contains(&format!("10.0.{i}.0/24"), c))
            })
            .reduce(Expr::or)
            .unwrap_or_else(|| unreachable!());
        assert_eq!(strings(&eight).map(|n| n.len()), Some(8));
        assert_eq!(strings(&col("srcaddr").eq(lit("10.0.0.1"))), Some(vec!["10.0.0.1".into()]));
        assert_eq!(strings(&lit("10.0.0.1").eq(col("dstaddr"))), Some(vec!["10.0.0.1".into()]));
        assert_eq!(strings(&col("srcaddr").in_list(vec![lit("a"), lit("b")], false)).map(|n| n.len()), Some(2));
        assert_eq!(strings(&col("srcaddr").in_list(vec![lit("a")], true)), None);
        assert_eq!(strings(&col("action").eq(lit("REJECT"))), Some(vec!["REJECT".into()]));
        assert_eq!(strings(&col("interface_id").eq(lit("eni-1"))), Some(vec!["eni-1".into()]));
        // The account and region may come from the object's key rather than the line.
        assert_eq!(strings(&col("account_id").eq(lit("111122223333"))), None);
        assert_eq!(strings(&col("region").eq(lit("us-east-1"))), None);
        assert_eq!(strings(&col("source").eq(lit("x"))), None);
        assert_eq!(strings(&col("srcport").eq(lit(22))), None);
        // One side of an OR that cannot be pre-filtered makes the whole OR unusable.
        assert_eq!(strings(&col("srcaddr").eq(lit("10.0.0.1")).or(col("srcport").eq(lit(22)))), None);
        assert_eq!(strings(&col("srcaddr").eq(lit(""))), None);
    }

    #[test]
    fn the_most_selective_filter_is_chosen() {
        let filters = [cidr_contains("10.0.0.0/8", "srcaddr"), col("dstaddr").eq(lit("10.0.2.25"))];
        assert_eq!(choose(&filters).needles, vec![b"10.0.2.25".to_vec()]);
        assert!(choose(&filters).conditions.is_empty());
        assert!(choose(&[col("srcport").eq(lit(22))]).needles.is_empty());
    }

    #[test]
    fn conditions_on_numeric_columns_are_all_kept() {
        let ssh = col("srcport").in_list(vec![lit(22), lit(3389)], false).or(col("dstport").eq(lit(22)));
        let tcp = lit(6).eq(col("protocol"));
        let chosen = choose(&[ssh, col("action").eq(lit("REJECT")), tcp]);
        assert_eq!(
            chosen.conditions,
            vec![
                vec![("srcport".to_string(), vec![22, 3389]), ("dstport".to_string(), vec![22])],
                vec![("protocol".to_string(), vec![6])],
            ]
        );
        assert_eq!(chosen.needles, vec![b"REJECT".to_vec()]);
        // Not understood: text columns, `line`, other comparisons, mixed ORs, NOT IN, NULL.
        assert_eq!(condition(&col("srcaddr").eq(lit(22))), None);
        assert_eq!(condition(&col("line").eq(lit(22))), None);
        assert_eq!(condition(&col("bytes").gt(lit(22))), None);
        assert_eq!(condition(&col("srcport").eq(lit(22)).or(col("srcaddr").eq(lit("10.0.0.1")))), None);
        assert_eq!(condition(&col("srcport").in_list(vec![lit(22)], true)), None);
        assert_eq!(condition(&col("srcport").eq(lit(ScalarValue::Int32(None)))), None);
    }

    #[test]
    fn the_sweeps_filter_gives_a_test_of_its_address_fields() {
        let indicators = crate::ioc::IndicatorList::read("t.txt", "198.51.100.77\n10.0.1.0/24\n").indicators;
        let hits = datafusion::logical_expr::ScalarUDF::from(IocHits::new(indicators));
        let sides = ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"];
        let filter = hits.call(sides.map(col).to_vec()).is_not_null();
        let test = field_test(&filter).unwrap_or_else(|| unreachable!());
        assert_eq!(test.columns, sides);
        for (value, passes) in [("198.51.100.77", true), ("10.0.1.9", true), ("10.0.2.1", false), ("-", false)] {
            assert_eq!((test.passes)(value), passes, "{value}");
        }
        assert!(understands(&filter) && choose(&[filter]).fields.is_some());
        // Not: the list itself, IS NULL, a column that may not come from the line, a literal.
        let account = vec![col("account_id"), col("dstaddr"), col("pkt_srcaddr"), col("pkt_dstaddr")];
        let literal = vec![lit("10.0.1.9"), col("dstaddr"), col("pkt_srcaddr"), col("pkt_dstaddr")];
        for filter in [
            hits.call(sides.map(col).to_vec()),
            hits.call(sides.map(col).to_vec()).is_null(),
            hits.call(account).is_not_null(),
            hits.call(literal).is_not_null(),
            cidr_contains("10.0.1.0/24", "srcaddr").is_not_null(),
        ] {
            assert!(field_test(&filter).is_none(), "{filter}");
        }
    }

    #[test]
    fn address_blocks_give_a_test_of_their_columns() {
        let filter = cidr_contains("2001:db8::/32", "srcaddr")
            .or(cidr_contains("10.0.0.0/7", "dstaddr"))
            .or(cidr_contains("10.0.0.0/7", "srcaddr"));
        let test = field_test(&filter).unwrap_or_else(|| unreachable!());
        assert_eq!(test.columns, ["srcaddr", "dstaddr"]);
        for (value, passes) in [("2001:db8::5", true), ("11.1.1.1", true), ("12.0.0.1", false), ("-", false)] {
            assert_eq!((test.passes)(value), passes, "{value}");
        }
        assert!(understands(&filter));
        // Not: a block that is not one (the query reports it), AND, other shapes and columns.
        for filter in [
            cidr_contains("10.0.0.0/33", "srcaddr"),
            cidr_contains("10.0.0.0/8", "srcaddr").or(cidr_contains("nope", "dstaddr")),
            cidr_contains("10.0.0.0/8", "srcaddr").and(cidr_contains("10.0.0.0/8", "dstaddr")),
            cidr_contains("10.0.0.0/8", "srcaddr").or(col("action").eq(lit("REJECT"))),
            cidr_contains("10.0.0.0/8", "account_id"),
        ] {
            assert!(field_test(&filter).is_none(), "{filter}");
        }
    }

    #[test]
    fn ipv4_text_has_one_spelling() {
        // The pre-filter's exactness rests on this: cidr_contains reads no other spelling of an address.
        for other in ["010.0.2.25", "10.0.2.025", "10.000.2.25", "0x0a.0.2.25", "10.0.2.25 ", "10.2.25"] {
            assert!(other.parse::<IpAddr>().is_err(), "{other}");
        }
        let block: Cidr = "10.0.2.0/24".parse().unwrap_or_else(|_| unreachable!());
        assert!(!block.contains_str("::ffff:10.0.2.25"));
    }
}
