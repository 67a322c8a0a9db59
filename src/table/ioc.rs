//! `ioc_hits(srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr)`: the indicators of the sweep's threat lists
//! that a flow's addresses fall in, for `UNNEST`.
//!
//! One element per indicator: `{id, indicator, list, list_line, matched, direction}` — the
//! indicator's place in the lists (0, 1, … in the order they were given), the entry as written, its
//! list and line there, which of the four columns fell in it (`srcaddr pkt_srcaddr`), and whether it
//! sent the flow's packets (`inbound`: it is a source), was sent them (`outbound`: a destination) or
//! both. NULL when no address matches. The arguments are taken in that order whatever their names:
//! give the four address columns.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, ListArray, StringArray, StructArray, UInt32Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::cidr::{as_view, per_address};
use crate::decode::FieldTest;
use crate::ioc::{Indicator, IndicatorIndex};

/// The address columns, in argument order.
const SIDES: [&str; 4] = ["srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr"];

/// Bits of the sides that send a flow's packets (srcaddr, pkt_srcaddr).
const SOURCES: u8 = 0b0101;

/// The `ioc_hits` scalar function over one set of indicators.
#[derive(Debug)]
pub struct IocHits {
    signature: Signature,
    indicators: Arc<(Vec<Indicator>, IndicatorIndex)>,
}

impl IocHits {
    /// The function over `indicators`, in the order the lists gave them.
    pub fn new(indicators: Vec<Indicator>) -> Self {
        let index = IndicatorIndex::new(&indicators);
        IocHits { signature: Signature::string(4, Volatility::Immutable), indicators: Arc::new((indicators, index)) }
    }

    /// The pre-filter's test for `ioc_hits(columns…) IS NOT NULL`: a value that falls in an indicator
    /// passes.
    pub(super) fn field_test(&self, columns: Vec<String>) -> FieldTest {
        let indicators = Arc::clone(&self.indicators);
        FieldTest { columns, passes: Arc::new(move |value| !indicators.1.lookup_str(value).is_empty()) }
    }

    fn fields() -> Fields {
        Fields::from(vec![
            Field::new("id", DataType::UInt32, false),
            Field::new("indicator", DataType::Utf8, false),
            Field::new("list", DataType::Utf8, false),
            Field::new("list_line", DataType::Int64, false),
            Field::new("matched", DataType::Utf8, false),
            Field::new("direction", DataType::Utf8, false),
        ])
    }
}

impl PartialEq for IocHits {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.indicators, &other.indicators)
    }
}

impl Eq for IocHits {}

impl Hash for IocHits {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.indicators).hash(state);
    }
}

impl ScalarUDFImpl for IocHits {
    fn name(&self) -> &str {
        "ioc_hits"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(DataType::Struct(Self::fields()), false))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.len() != SIDES.len() {
            return exec_err!("ioc_hits takes the 4 address columns: {}", SIDES.join(", "));
        }
        let rows = args.number_rows;
        let columns = args
            .args
            .iter()
            .map(|arg| arg.to_array(rows).and_then(|array| as_view(&array, "ioc_hits")))
            .collect::<Result<Vec<_>>>()?;
        let (indicators, index) = self.indicators.as_ref();
        // Per side, the indicators each row's address falls in.
        let found: Vec<Vec<Option<&[u32]>>> =
            columns.iter().map(|column| per_address(column, |address| index.lookup_str(address))).collect();
        let (mut ids, mut matched, mut direction) = (Vec::new(), Vec::new(), Vec::new());
        let mut offsets: Vec<i32> = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let mut valid = Vec::with_capacity(rows);
        // Per row: each indicator with the sides that fell in it, in lookup order.
        let mut hits: Vec<(u32, u8)> = Vec::new();
        for row in 0..rows {
            hits.clear();
            for (side, found) in found.iter().enumerate() {
                for &id in found[row].unwrap_or_default() {
                    match hits.iter_mut().find(|(hit, _)| *hit == id) {
                        Some((_, sides)) => *sides |= 1 << side,
                        None => hits.push((id, 1 << side)),
                    }
                }
            }
            for &(id, sides) in &hits {
                ids.push(id);
                let names: Vec<&str> =
                    SIDES.iter().enumerate().filter(|(i, _)| sides & (1 << i) != 0).map(|(_, n)| *n).collect();
                matched.push(names.join(" "));
                direction.push(match (sides & SOURCES != 0, sides & !SOURCES != 0) {
                    (true, false) => "inbound",
                    (false, true) => "outbound",
                    _ => "both",
                });
            }
            offsets.push(i32::try_from(ids.len()).or_else(|_| exec_err!("ioc_hits: too many hits in one batch"))?);
            valid.push(!hits.is_empty());
        }
        let ids = UInt32Array::from(ids);
        let of = |id: &u32| &indicators[*id as usize];
        let elements: Vec<ArrayRef> = vec![
            // A clone shares the buffer.
            Arc::new(ids.clone()),
            Arc::new(StringArray::from_iter_values(ids.values().iter().map(|id| of(id).text.as_str()))),
            Arc::new(StringArray::from_iter_values(ids.values().iter().map(|id| of(id).list.as_str()))),
            Arc::new(Int64Array::from_iter_values(ids.values().iter().map(|id| of(id).line as i64))),
            Arc::new(StringArray::from(matched)),
            Arc::new(StringArray::from(direction)),
        ];
        let elements = StructArray::try_new(Self::fields(), elements, None)?;
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Struct(Self::fields()), false)),
            OffsetBuffer::new(offsets.into()),
            Arc::new(elements),
            Some(NullBuffer::from(valid)),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}
