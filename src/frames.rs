//! Small polars helpers every layer uses.

use polars::prelude::*;

/// Each row's place (1, 2, ...) in the order of the text column `key`
/// (unique): a number to join, group and sort by in place of the text,
/// which keeps the rows in the order they had sorted by the text.
pub fn number_in_order_of(key: &str) -> Expr {
    col(key).rank(
        RankOptions {
            method: RankMethod::Ordinal,
            descending: false,
        },
        None,
    )
}

/// A backward as-of join per `by` (none: the whole frame is one group):
/// each left row gets the right row with the
/// latest `right_on` at or before its own `left_on`. Both sides
/// must be sorted on their keys (callers sort just before).
pub fn join_latest_at_or_before(
    left: LazyFrame,
    right: LazyFrame,
    left_on: &str,
    right_on: &str,
    by: &[&str],
) -> LazyFrame {
    left.join_builder()
        .with(right)
        .left_on([col(left_on)])
        .right_on([col(right_on)])
        .how(JoinType::AsOf(Box::new(AsOfOptions {
            strategy: AsofStrategy::Backward,
            tolerance: None,
            tolerance_str: None,
            left_by: by_names(by),
            right_by: by_names(by),
            allow_eq: true,
            // polars cannot check sortedness per group and would print a
            // warning to stderr (breaking JSON logs); callers sort.
            check_sortedness: false,
        })))
        .finish()
}

/// The `by` of an as-of join: none when there are no columns (one group).
fn by_names(by: &[&str]) -> Option<Vec<PlSmallStr>> {
    (!by.is_empty()).then(|| by.iter().map(|b| (*b).into()).collect())
}

/// Collects several plans in one pass, so the parts they share (marked with
/// `.cache()`) are computed once.
pub fn collect_together<const N: usize>(plans: [LazyFrame; N]) -> PolarsResult<[DataFrame; N]> {
    let frames = LazyFrame::collect_all_with_engine(
        plans.into_iter().map(|lf| lf.logical_plan).collect(),
        Engine::Auto,
        OptFlags::default(),
    )?;
    Ok(frames.try_into().expect("one frame per plan"))
}
