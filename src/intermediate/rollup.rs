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

/// `aggs` of `lf` (rows with `rep_id` and `team`) per scope of `scopes`
/// (one rep, a team, or the company: scope_id `all`) and `keys`: the
/// columns `scope`, `scope_id`, the keys, then the aggregates. Each scope
/// is grouped by its own column (the company by the keys alone) and the
/// results are stacked. Repeating every row once per scope and grouping by
/// the scope's and scope_id's texts made two or three times the rows and a
/// key of texts: on one thread stage_conversion took 118–123 ms that way
/// and 105–111 ms this way (its group-by 28–30 ms and 21 ms), the 10x
/// forecasts 1.73 s and 1.51 s. polars runs the plan of `lf` once for all
/// the scopes (its common-subplan elimination caches it).
pub fn grouped_in_scopes(
    lf: LazyFrame,
    scopes: &[Scope],
    keys: &[Expr],
    aggs: &[Expr],
) -> LazyFrame {
    let per_scope = scopes.iter().map(|scope| {
        let (by, scope_id) = match scope.id_column() {
            Some(column) => (vec![col(column).alias("scope_id")], col("scope_id")),
            None => (vec![], lit(Scope::COMPANY_ID)),
        };
        lf.clone()
            .group_by([by, keys.to_vec()].concat())
            .agg(aggs)
            .with_columns([
                lit(scope.as_str()).alias("scope"),
                scope_id.alias("scope_id"),
            ])
            .select([
                col("scope"),
                col("scope_id"),
                all().exclude_cols(["scope", "scope_id"]).as_expr(),
            ])
    });
    // A union fails only when given no frames.
    concat(per_scope.collect::<Vec<_>>(), UnionArgs::default()).expect("at least one scope")
}

/// The scope_ids of each quarter (SPEC §4.4): the reps and teams with a
/// §4.1 row in it, and `all`, for `scopes`; `scope`, `scope_id`,
/// `quarter_idx`. `rep_quarters` is `Models::rep_quarters` (the §4.1 rows).
pub fn quarter_scope_ids(rep_quarters: LazyFrame, scopes: &[Scope]) -> LazyFrame {
    grouped_in_scopes(rep_quarters, scopes, &[col("quarter_idx")], &[])
}

/// Every scope, and the ones without the single rep.
pub const ALL_SCOPES: [Scope; 3] = [Scope::Rep, Scope::Team, Scope::Company];
pub const GROUP_SCOPES: [Scope; 2] = [Scope::Team, Scope::Company];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{floats, ints, strings};

    fn names(df: &DataFrame) -> Vec<&str> {
        df.get_column_names()
            .into_iter()
            .map(|n| n.as_str())
            .collect()
    }

    /// A column without nulls, as `read` gives it.
    fn values<T>(read: crate::error::Result<Vec<Option<T>>>) -> Vec<T> {
        read.unwrap().into_iter().map(Option::unwrap).collect()
    }

    #[test]
    fn each_scope_sums_its_own_rows() {
        // Reps a and b in team T, c in team U; amounts by quarter.
        let rows = df!(
            "rep_id" => ["a", "b", "c", "a", "c"],
            "team" => ["T", "T", "U", "T", "U"],
            "quarter_idx" => [1, 1, 1, 2, 2],
            "amount" => [1.0, 2.0, 4.0, 8.0, 16.0],
        )
        .unwrap()
        .lazy();
        let out = grouped_in_scopes(
            rows,
            &ALL_SCOPES,
            &[col("quarter_idx")],
            &[col("amount").sum()],
        )
        .sort(["scope", "scope_id", "quarter_idx"], Default::default())
        .collect()
        .unwrap();
        assert_eq!(names(&out), ["scope", "scope_id", "quarter_idx", "amount"]);
        // Sorted: company, rep, team.
        assert_eq!(
            values(strings(&out, "scope")),
            [
                "company", "company", "rep", "rep", "rep", "rep", "rep", "team", "team", "team",
                "team"
            ]
        );
        assert_eq!(
            values(strings(&out, "scope_id")),
            ["all", "all", "a", "a", "b", "c", "c", "T", "T", "U", "U"]
        );
        assert_eq!(
            values(ints(&out, "quarter_idx")),
            [1, 2, 1, 2, 1, 1, 2, 1, 2, 1, 2]
        );
        // Company: q1 1+2+4, q2 8+16; team T: q1 1+2, q2 8; U: 4, 16.
        assert_eq!(
            values(floats(&out, "amount")),
            [7.0, 24.0, 1.0, 8.0, 2.0, 4.0, 16.0, 3.0, 8.0, 4.0, 16.0]
        );
    }

    #[test]
    fn the_scope_ids_of_a_quarter_are_its_reps_teams_and_all() {
        let rep_quarters = df!(
            "rep_id" => ["a", "b", "a"],
            "team" => ["T", "T", "T"],
            "quarter_idx" => [1, 1, 2],
        )
        .unwrap()
        .lazy();
        let out = quarter_scope_ids(rep_quarters, &GROUP_SCOPES)
            .sort(["quarter_idx", "scope"], Default::default())
            .collect()
            .unwrap();
        // Two reps of one team in q1, one in q2: one team row and one
        // company row a quarter.
        assert_eq!(names(&out), ["scope", "scope_id", "quarter_idx"]);
        assert_eq!(values(strings(&out, "scope_id")), ["all", "T", "all", "T"]);
    }
}
