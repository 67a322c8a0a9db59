//! Address functions for SQL:
//! - `cidr_contains(cidr, address)`: true when the address is inside the CIDR block (or equals the
//!   single address), IPv4 and IPv6, like Trino's `contains(cidr, CAST(x AS IPADDRESS))` in Athena SQL;
//! - `is_internal(address)`: true when the address is inside the blocks of the network being
//!   investigated (by default [`INTERNAL_BLOCKS`]: private and other non-internet addresses).
//!
//! NULL in an argument gives NULL; a value that is not an address (e.g. a NODATA row's `-`, which
//! is NULL anyway) gives false. An invalid CIDR is an error that names it.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::net::{Cidr, INTERNAL_BLOCKS};

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
                    let result: BooleanArray = values.iter().map(|v| v.map(|a| block.contains_str(a))).collect();
                    ColumnarValue::Array(Arc::new(result))
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
                let result: BooleanArray = values.iter().map(|v| v.map(inside)).collect();
                ColumnarValue::Array(Arc::new(result))
            }
        })
    }
}
