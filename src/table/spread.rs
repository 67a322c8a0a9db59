//! `spread(value, start, end, t0, t1)`: the part of a flow's `value` (bytes or packets) that falls in
//! `[t0, t1]`, for a flow over `[start, end]`, spread evenly over its time in whole units:
//! `floor(value * (t1 - start) / d) - floor(value * (t0 - start) / d)` with `d = end - start`, so
//! the parts of consecutive intervals add up exactly to `value`. A flow with `end <= start` has all
//! of it in any interval asked about. Computed in 128 bits: no product can overflow. NULL in any
//! argument gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// The `spread` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Spread {
    signature: Signature,
}

impl Spread {
    /// The function, ready for `SessionContext::register_udf(ScalarUDF::from(..))`.
    pub fn new() -> Self {
        Spread { signature: Signature::uniform(5, vec![DataType::Int64], Volatility::Immutable) }
    }
}

impl Default for Spread {
    fn default() -> Self {
        Self::new()
    }
}

/// The part of `value` over `[t0, t1]` of a flow over `[start, end]`.
pub fn share(value: i64, start: i64, end: i64, t0: i64, t1: i64) -> i64 {
    let d = i128::from(end) - i128::from(start);
    if d <= 0 {
        return value;
    }
    let upto = |t: i64| (i128::from(value) * (i128::from(t) - i128::from(start))).div_euclid(d);
    // The difference of two cumulative parts, each between 0 and value when start <= t0 <= t1 <= end.
    i64::try_from(upto(t1) - upto(t0)).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

impl ScalarUDFImpl for Spread {
    fn name(&self) -> &str {
        "spread"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.len() != 5 {
            return exec_err!("spread takes 5 arguments: value, start, end, t0, t1");
        }
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|arg| {
                let array = cast(&arg.to_array(rows)?, &DataType::Int64)?;
                match array.as_any().downcast_ref::<Int64Array>() {
                    Some(ints) => Ok(ints.clone()),
                    None => exec_err!("spread: expected integer arguments"),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let result: Int64Array = (0..rows)
            .map(|i| {
                if arrays.iter().any(|a| a.is_null(i)) {
                    None
                } else {
                    let v = |k: usize| arrays[k].value(i);
                    Some(share(v(0), v(1), v(2), v(3), v(4)))
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(result)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_to_the_whole_without_overflow() {
        // 10 bytes over [0, 3] in buckets [0, 1], [1, 2], [2, 3].
        let parts: Vec<i64> = (0..3).map(|k| share(10, 0, 3, k, k + 1)).collect();
        assert_eq!(parts, [3, 3, 4]);
        assert_eq!(share(7, 100, 100, 100, 100), 7);
        // A product far beyond 64 bits still splits exactly.
        let (v, start, end) = (i64::MAX / 2, 0, 1_000_000);
        let half = share(v, start, end, 0, 500_000) + share(v, start, end, 500_000, end);
        assert_eq!(half, v);
    }
}
