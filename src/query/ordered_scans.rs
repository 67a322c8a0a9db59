//! Scans that declare an order keep their files in it.
//!
//! DataFusion 55 lets the partitions of a file scan take unopened files from one another (work
//! stealing) unless the scan preserves order, which a scan that declares an output ordering does.
//! But pushing a limit into a scan (`LimitPushdown`, for `ORDER BY … LIMIT n` over flowq's Parquet
//! copy, whose partitions are chains of row groups in time order) clears that flag, the partitions
//! then trade files out of order, and the merge above them returned the wrong first rows.
//! [`OrderedScans`] sets the flag again on every scan that declares an ordering.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

#[derive(Debug, Default)]
pub(super) struct OrderedScans;

impl PhysicalOptimizerRule for OrderedScans {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|plan| {
            let loose = plan
                .downcast_ref::<DataSourceExec>()
                .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
                .is_some_and(|config| !config.output_ordering.is_empty() && !config.preserve_order);
            if !loose {
                return Ok(Transformed::no(plan));
            }
            Ok(match plan.with_preserve_order(true) {
                Some(ordered) => Transformed::yes(ordered),
                None => Transformed::no(plan),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "flowq_ordered_scans"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
