//! Small polars helpers every layer uses.

use polars::prelude::*;

use crate::error::Result;

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

/// `lf` with the `take` columns of the `right` row that has each row's
/// `keys` (named alike on both sides; null where none has them), in row
/// order. `right` has each key once, so a row finds one row or none. The
/// keys alone are joined and what they find set beside the rows: a join
/// of the whole of `lf` copies every column of it (at 10x, the history's
/// reference to its opportunities took 0.46 s that way, 0.39 s this way).
/// The `take` columns must be new to `lf`.
pub fn with_found(lf: LazyFrame, right: LazyFrame, keys: &[&str], take: &[&str]) -> LazyFrame {
    let on: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let mut in_row_order = JoinArgs::new(JoinType::Left);
    // Rows stay in input order (no sort of the whole table afterwards).
    in_row_order.maintain_order = MaintainOrderJoin::Left;
    let found = lf
        .clone()
        .select(on.clone())
        .join(right, on.clone(), on, in_row_order)
        .select(take.iter().map(|t| col(*t)).collect::<Vec<_>>());
    concat_lf_horizontal([lf, found], HConcatOptions::default())
        .expect("the found columns are new to the frame")
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

/// A column's values as text (dates as `YYYY-MM-DD`).
pub fn strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

pub fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Float64)?
        .f64()?
        .iter()
        .collect())
}

pub fn ints(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
}

pub fn bools(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    Ok(df.column(name)?.bool()?.iter().collect())
}
