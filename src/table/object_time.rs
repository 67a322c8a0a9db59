//! `object_time(source)`: the time in an AWS flow-log object's name (`…_20240301T1620Z_…`), epoch
//! seconds — its records end in the 5 minutes after it — or NULL when the name has none. It reads
//! the `source` of text objects, AWS's Parquet objects and `flowq convert`'s copies (which keep the
//! original object's name) alike; the report finds late objects with it.

use std::sync::Arc;

use datafusion::arrow::array::Int64Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::cidr::as_view;
use crate::source::file_time;

/// The `object_time` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ObjectTime {
    signature: Signature,
}

impl Default for ObjectTime {
    fn default() -> Self {
        ObjectTime { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ObjectTime {
    fn name(&self) -> &str {
        "object_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [source] = args.args.as_slice() else {
            return exec_err!("object_time takes 1 argument: an object's name (source)");
        };
        Ok(match source {
            ColumnarValue::Scalar(value) => {
                ColumnarValue::Scalar(ScalarValue::Int64(value.try_as_str().flatten().and_then(file_time)))
            }
            ColumnarValue::Array(array) => {
                let values = as_view(array, "object_time")?;
                let result: Int64Array = values.iter().map(|v| v.and_then(file_time)).collect();
                ColumnarValue::Array(Arc::new(result))
            }
        })
    }
}
