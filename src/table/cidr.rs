//! Address functions for SQL:
//! - `cidr_contains(cidr, address)`: true when the address is inside the CIDR block (or equals the
//!   single address), IPv4 and IPv6, like Trino's `contains(cidr, CAST(x AS IPADDRESS))` in Athena SQL;
//! - `is_internal(address)`: true when the address is inside the blocks of the network being
//!   investigated (by default [`INTERNAL_BLOCKS`]: private and other non-internet addresses).
//!
//! NULL in an argument gives NULL; a value that is not an address (e.g. a NODATA row's `-`, which
//! is NULL anyway) gives false. An invalid CIDR is an error that names it.
//!
//! Both run once per row, as does the sweep's `ioc_hits`, and flow logs name the same few addresses
//! over and over: an address of up to 15 characters (every IPv4 address) is parsed once per batch, or
//! again after a colliding one ([`per_address`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::net::{Cidr, INTERNAL_BLOCKS, Memo};

/// The `cidr_contains` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CidrContains {
    signature: Signature,
}

impl CidrContains {
    /// The function, ready for `SessionContext::register_udf(ScalarUDF::from(..))`.
    pub fn new() -> Self {
        CidrContains { signature: Signature::string(2, Volatility::Immutable) }
    }
}

impl Default for CidrContains {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_cidr(text: &str) -> Result<Cidr> {
    text.parse::<Cidr>().or_else(|e| exec_err!("cidr_contains: {e}"))
}

/// A text argument of the SQL function `function` as a string view array.
pub(super) fn as_view(array: &ArrayRef, function: &str) -> Result<StringViewArray> {
    let array = cast(array, &DataType::Utf8View)?;
    match array.as_any().downcast_ref::<StringViewArray>() {
        Some(view) => Ok(view.clone()),
        None => exec_err!("{function}: expected text arguments"),
    }
}

/// `answer` of each value of `addresses`, `None` for NULL; a repeated address of up to 15 bytes is
/// answered once per batch, or again after a colliding one (see [`Memo`]).
pub(super) fn per_address<T: Copy>(addresses: &StringViewArray, answer: impl Fn(&str) -> T) -> Vec<Option<T>> {
    let mut memo = Memo::new();
    let views = addresses.views();
    (0..addresses.len())
        .map(|i| {
            if addresses.is_null(i) {
                return None;
            }
            let view = views[i];
            let len = view as u32;
            Some(if len <= MAX_INLINE {
                // The view of a string it holds whole is its length (4 bytes) and its bytes: the
                // memo's key is the bytes, then the length in the last byte.
                memo.get_keyed((view >> 32) | (u128::from(len) << 120), || answer(addresses.value(i)))
            } else {
                memo.get(addresses.value(i), &answer)
            })
        })
        .collect()
}

/// The longest string a view holds whole (Arrow's string view layout).
const MAX_INLINE: u32 = 12;

impl ScalarUDFImpl for CidrContains {
    fn name(&self) -> &str {
        "cidr_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [cidr, address] = args.args.as_slice() else {
            return exec_err!("cidr_contains takes 2 arguments: a CIDR block and an address");
        };
        if let ColumnarValue::Scalar(cidr) = cidr {
            let Some(Some(text)) = cidr.try_as_str() else {
                return Ok(ColumnarValue::Scalar(ScalarValue::Boolean(None)));
            };
            let block = parse_cidr(text)?;
            return Ok(match address {
                ColumnarValue::Scalar(value) => ColumnarValue::Scalar(ScalarValue::Boolean(
                    value.try_as_str().flatten().map(|a| block.contains_str(a)),
                )),
                ColumnarValue::Array(array) => {
                    let values = as_view(array, "cidr_contains")?;
                    let inside = per_address(&values, |a| block.contains_str(a));
                    ColumnarValue::Array(Arc::new(BooleanArray::from(inside)))
                }
            });
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (cidrs, addresses) = (as_view(&arrays[0], "cidr_contains")?, as_view(&arrays[1], "cidr_contains")?);
        let result = cidrs
            .iter()
            .zip(addresses.iter())
            .map(|(c, a)| match (c, a) {
                (Some(c), Some(a)) => parse_cidr(c).map(|block| Some(block.contains_str(a))),
                _ => Ok(None),
            })
            .collect::<Result<BooleanArray>>()?;
        Ok(ColumnarValue::Array(Arc::new(result)))
    }
}

/// The `is_internal` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsInternal {
    signature: Signature,
    blocks: Vec<Cidr>,
}

impl IsInternal {
    /// The function over `blocks`.
    pub fn new(blocks: Vec<Cidr>) -> Self {
        IsInternal { signature: Signature::string(1, Volatility::Immutable), blocks }
    }
}

impl Default for IsInternal {
    /// Over [`INTERNAL_BLOCKS`].
    fn default() -> Self {
        IsInternal::new(INTERNAL_BLOCKS.iter().filter_map(|b| b.parse().ok()).collect())
    }
}

impl ScalarUDFImpl for IsInternal {
    fn name(&self) -> &str {
        "is_internal"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [address] = args.args.as_slice() else {
            return exec_err!("is_internal takes 1 argument: an address");
        };
        let inside = |text: &str| {
            text.parse::<std::net::IpAddr>().is_ok_and(|ip| self.blocks.iter().any(|block| block.contains(ip)))
        };
        Ok(match address {
            ColumnarValue::Scalar(value) => {
                ColumnarValue::Scalar(ScalarValue::Boolean(value.try_as_str().flatten().map(inside)))
            }
            ColumnarValue::Array(array) => {
                let values = as_view(array, "is_internal")?;
                ColumnarValue::Array(Arc::new(BooleanArray::from(per_address(&values, inside))))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_answers_every_row_as_testing_it_alone_does() {
        // Repeats, NULLs, an empty string, addresses longer than a view holds, and more distinct
        // short ones than the table has slots, so that slots are taken over.
        let mut values: Vec<Option<String>> = Vec::new();
        for i in 0..5000u32 {
            values.push(Some(format!("10.{}.{}.{}", i % 7, (i * 31) % 256, (i * 17) % 256)));
            values.push(Some(format!("198.51.{}.{}", i % 3, i % 256)));
            values.push(if i % 5 == 0 { None } else { Some("169.254.169.123".to_string()) });
            values.push(Some(["", "-", "fd00:ec2::253", "2001:db8::1", "10.0.0.1"][i as usize % 5].to_string()));
        }
        let array: StringViewArray = values.iter().map(|v| v.as_deref()).collect();
        let blocks: Vec<Cidr> = INTERNAL_BLOCKS.iter().filter_map(|b| b.parse().ok()).collect();
        let test = |a: &str| blocks.iter().any(|block| block.contains_str(a));
        let expected: Vec<Option<bool>> = values.iter().map(|v| v.as_deref().map(test)).collect();
        assert_eq!(per_address(&array, test), expected);
        assert!(expected.contains(&Some(true)) && expected.contains(&Some(false)));
    }
}
