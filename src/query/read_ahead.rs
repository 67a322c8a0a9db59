//! Reading ahead under an order-preserving merge.
//!
//! A `SortPreservingMergeExec` over streams that are already in order (flowq's Parquet copy, whose
//! files are read in time order) holds one batch per input, and polls an input again only when that
//! batch is used up. So each input decodes mostly while the merge waits for it, and the cores take
//! turns: on `ssh-rdp` over the 40 M-record copy, the main thread and each worker were busy about
//! half of the wall time. [`ReadAhead`] puts a [`ReadAheadExec`] between such a merge and its input,
//! so that every input decodes [`BATCHES`] batches ahead on its own task.
//!
//! DataFusion's own `BufferExec` (which it puts under a merge where it removes a sort) read ahead as
//! well in the same measurement, but it takes each batch from the memory pool with `try_grow` before
//! it waits for room, and under `--memory-limit`'s `FairSpillPool` that fails the query whenever a
//! spilling sort beside it holds the rest of the pool. Batches read ahead here are not taken from the
//! pool, as the one batch the merge already reads ahead for each input (`spawn_buffered`) is not: at
//! most [`BATCHES`] more batches of at most `datafusion.execution.batch_size` rows per input.

use std::fmt;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::internal_err;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::common::spawn_buffered;
use datafusion::physical_plan::execution_plan::{EvaluationType, SchedulingType, replace_children_if_necessary};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties};

/// Batches each input of a merge reads ahead. `ssh-rdp` on the 40 M-record Parquet copy (3 inputs,
/// medians of 7 in one run): none 1.93 s, 1 batch 1.86 s, 2 batches 1.84 s, 4 batches 1.48 s (peak
/// 168 MB against 148 MB); in another run 8 and 16 batches were no faster than 4.
const BATCHES: usize = 4;

/// Puts a [`ReadAheadExec`] under every merge of two or more streams that are not sorts: a sort has
/// its whole output in memory already.
#[derive(Debug, Default)]
pub(super) struct ReadAhead;

impl PhysicalOptimizerRule for ReadAhead {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_down(|plan| {
            let Some(merge) = plan.downcast_ref::<SortPreservingMergeExec>() else {
                return Ok(Transformed::no(plan));
            };
            let input = merge.input();
            if input.output_partitioning().partition_count() < 2
                || input.is::<SortExec>()
                || input.is::<ReadAheadExec>()
            {
                return Ok(Transformed::no(plan));
            }
            let ahead: Arc<dyn ExecutionPlan> = Arc::new(ReadAheadExec::new(Arc::clone(input), BATCHES));
            Ok(Transformed::yes(replace_children_if_necessary(Arc::clone(&plan), vec![ahead])?))
        })
        .data()
    }

    fn name(&self) -> &str {
        "flowq_read_ahead"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Reads up to `batches` batches of every partition of its input ahead, each partition on its own
/// task; rows and their order are the input's.
#[derive(Debug)]
pub(super) struct ReadAheadExec {
    input: Arc<dyn ExecutionPlan>,
    batches: usize,
    properties: Arc<PlanProperties>,
}

impl ReadAheadExec {
    fn new(input: Arc<dyn ExecutionPlan>, batches: usize) -> ReadAheadExec {
        let properties = PlanProperties::clone(input.properties())
            .with_scheduling_type(SchedulingType::Cooperative)
            .with_evaluation_type(EvaluationType::Eager);
        ReadAheadExec { input, batches, properties: Arc::new(properties) }
    }
}

impl DisplayAs for ReadAheadExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ReadAheadExec: batches={}", self.batches)
    }
}

impl ExecutionPlan for ReadAheadExec {
    fn name(&self) -> &str {
        "ReadAheadExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(ReadAheadExec::new(input, self.batches))),
            _ => internal_err!("ReadAheadExec has one input"),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        Ok(spawn_buffered(self.input.execute(partition, context)?, self.batches))
    }
}
