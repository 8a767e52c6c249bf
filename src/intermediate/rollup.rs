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
/// `quarter_idx`. `performance` is the §4.1 frame.
pub fn quarter_scope_ids(performance: LazyFrame, scopes: &[Scope]) -> LazyFrame {
    in_scopes(
        performance.select([col("rep_id"), col("team"), col("quarter_idx")]),
        scopes,
    )
    .select([col("scope"), col("scope_id"), col("quarter_idx")])
    .unique(None, UniqueKeepStrategy::Any)
}

/// Every scope, and the ones without the single rep.
pub const ALL_SCOPES: [Scope; 3] = [Scope::Rep, Scope::Team, Scope::Company];
pub const GROUP_SCOPES: [Scope; 2] = [Scope::Team, Scope::Company];
