//! Roll-ups several marts share: ratios of sums, the scopes a rep-level
//! frame rolls up to, and counts and sums under a condition. Ratios are
//! always sums first, then the ratio (never a mean of means; SPEC §4).

use polars::prelude::*;

use crate::domain::Scope;

/// `num / den`, null when the denominator is 0 or null (SPEC §4).
pub fn ratio(num: Expr, den: Expr) -> Expr {
    let den = den.cast(DataType::Float64);
    when(den.clone().eq(lit(0.0)).or(den.clone().is_null()))
        .then(lit(NULL).cast(DataType::Float64))
        .otherwise(num.cast(DataType::Float64) / den)
}

/// `lf` (of `rows` rows) with the columns `placed` adds, grouped by `keys`
/// into `sums`, `slice_rows` rows at a time: each slice is grouped on its
/// own and the slices' sums are summed. A group-by over tens of millions of
/// rows holds a key and a group for every row at once; in slices it holds a
/// slice's (at 10x the performance mart took 8.5 s in the run with its 31M
/// activities grouped at once, 4.4–7.8 s in slices of `SLICE_ROWS`). `sums`
/// must be sums (or counts made as sums): a sum of sums is their sum.
///
/// `placed` runs on each slice, so `lf` should be rows as they are: had
/// the slices been cut from one plan that computes columns, polars would
/// compute it once over every row, hold the result and slice that (its
/// common-subplan elimination did so: at 10x the activities' flags and
/// minutes for all 31M rows at once, 1.5 s in the mart's profile).
pub fn sums_in_slices(
    lf: LazyFrame,
    rows: usize,
    slice_rows: usize,
    placed: impl Fn(LazyFrame) -> LazyFrame,
    keys: &[&str],
    sums: Vec<Expr>,
) -> LazyFrame {
    let group = |lf: LazyFrame| lf.group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>());
    let slice_rows = slice_rows.max(1);
    if rows <= slice_rows {
        return group(placed(lf)).agg(sums);
    }
    let names: Vec<String> = sums
        .iter()
        .map(|e| {
            e.clone()
                .meta()
                .output_name()
                .expect("a named sum")
                .to_string()
        })
        .collect();
    let slices: Vec<LazyFrame> = (0..rows.div_ceil(slice_rows))
        .map(|i| {
            group(placed(
                lf.clone()
                    .slice((i * slice_rows) as i64, slice_rows as IdxSize),
            ))
            .agg(sums.clone())
        })
        .collect();
    // One slice after another: side by side they would hold what slicing saves.
    let stacked = concat(
        slices,
        UnionArgs {
            parallel: false,
            ..Default::default()
        },
    )
    .expect("slices have the same columns");
    group(stacked).agg(
        names
            .iter()
            .map(|n| col(n.as_str()).sum())
            .collect::<Vec<_>>(),
    )
}

/// The most rows `sums_in_slices` groups at once where a mart groups
/// millions of rows.
pub const SLICE_ROWS: usize = 4_000_000;

/// The rows where `cond` holds, counted (Int64).
pub fn count_where(cond: Expr) -> Expr {
    cond.cast(DataType::Int64).sum()
}

/// `value` summed over the rows where `cond` holds (0.0 when none).
pub fn sum_where(cond: Expr, value: Expr) -> Expr {
    when(cond).then(value).otherwise(lit(0.0)).sum()
}

/// Ratios defined the same way for a rep (SPEC §4.1) and a team or the
/// company (§4.3), from the sums of won and lost deals and activities.
pub fn deal_and_activity_ratios() -> Vec<Expr> {
    vec![
        ratio(col("won_count"), col("won_count") + col("lost_count")).alias("win_rate"),
        ratio(col("won_amount"), col("won_amount") + col("lost_amount")).alias("win_rate_value"),
        ratio(col("won_amount"), col("won_count")).alias("avg_deal_size"),
        ratio(col("sales_cycle_days_total"), col("won_count")).alias("avg_sales_cycle_days"),
        ratio(col("selling_minutes"), col("total_minutes")).alias("selling_time_share"),
        ratio(col("meetings"), col("prospecting_activities")).alias("meeting_rate"),
    ]
}

/// The same rows once per scope, with `scope` and `scope_id` (rep_id, team,
/// "all"): a frame with `rep_id` and `team` rolled up to `scopes`.
pub fn in_scopes(lf: LazyFrame, scopes: &[Scope]) -> LazyFrame {
    // One pass over `lf` joined to the scopes (not a union of one copy
    // per scope, which would run the plan of `lf` once per scope).
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let table = df!("scope" => names).expect("one column").lazy();
    let scope_id = scopes
        .iter()
        .fold(lit(NULL).cast(DataType::String), |rest, s| {
            when(s.matches(col("scope")))
                .then(s.scope_id())
                .otherwise(rest)
        });
    lf.cross_join(table, None)
        .with_column(scope_id.alias("scope_id"))
}

/// The scope_ids of each quarter (SPEC §4.4): the reps and teams with a
/// §4.1 row in it, and `all`, for `scopes`; `scope`, `scope_id`,
/// `quarter_idx`. `rep_quarters` is `Models::rep_quarters` (the §4.1 rows).
pub fn quarter_scope_ids(rep_quarters: LazyFrame, scopes: &[Scope]) -> LazyFrame {
    in_scopes(
        rep_quarters.select([col("rep_id"), col("team"), col("quarter_idx")]),
        scopes,
    )
    .select([col("scope"), col("scope_id"), col("quarter_idx")])
    .unique(None, UniqueKeepStrategy::Any)
}

/// Every scope, and the ones without the single rep.
pub const ALL_SCOPES: [Scope; 3] = [Scope::Rep, Scope::Team, Scope::Company];
pub const GROUP_SCOPES: [Scope; 2] = [Scope::Team, Scope::Company];
