//! The state of an opportunity at an instant (SPEC §2): its latest history
//! row with `changed_at ≤ t`. Opportunities without valid history rows get
//! synthetic history from their current row. A mart that looks at the past
//! reads states either through `state_at` (the pipeline at a quarter's end:
//! one as-of join for any number of instants) or, when only rows closing in
//! a known quarter count (forecasts at a snapshot), by `next_change`: a row
//! is the state from its `changed_at` up to its next row.

use polars::prelude::*;

use crate::calendar::midnight;
use crate::domain::StageKind;
use crate::intermediate::DEAL;

/// History rows: `opportunity_id`, `DEAL`, `changed_at`, `stage`, `amount`
/// (reporting currency), `close_date`. `opportunities` has the current rows with
/// `amount` already converted; `history` the staged rows with `fx_rate`.
/// Synthetic rows (SPEC §2, §7): when open, one row at `created_date 00:00`
/// with the current values; when closed, that row with `first_open_stage`
/// instead and a second row at `close_date 00:00` with the current stage. On
/// the same instant the closing row wins.
pub fn history_with_synthetic(
    opportunities: LazyFrame,
    history: LazyFrame,
    stage_kinds: LazyFrame,
    first_open_stage: &str,
) -> LazyFrame {
    let real = history.select([
        col("opportunity_id"),
        col(DEAL),
        col("changed_at"),
        col("stage"),
        crate::currency::to_reporting(col("amount"), col("fx_rate")).alias("amount"),
        col("close_date"),
    ]);
    let without_history = opportunities
        .join(
            real.clone()
                .select([col(DEAL)])
                .unique(None, UniqueKeepStrategy::Any),
            [col(DEAL)],
            [col(DEAL)],
            JoinArgs::new(JoinType::Anti),
        )
        .join(
            stage_kinds,
            [col("stage")],
            [col("stage")],
            JoinArgs::new(JoinType::Left),
        );
    let is_closed = StageKind::Open.matches(col("kind")).not();
    let opening = without_history.clone().select([
        col("opportunity_id"),
        col(DEAL),
        midnight(col("created_date")).alias("changed_at"),
        when(is_closed.clone())
            .then(lit(first_open_stage))
            .otherwise(col("stage"))
            .alias("stage"),
        col("amount"),
        col("close_date"),
        lit(0i32).alias("_synthetic_order"),
    ]);
    let closing = without_history.filter(is_closed).select([
        col("opportunity_id"),
        col(DEAL),
        midnight(col("close_date")).alias("changed_at"),
        col("stage"),
        col("amount"),
        col("close_date"),
        lit(1i32).alias("_synthetic_order"),
    ]);
    let synthetic = concat([opening, closing], UnionArgs::default())
        .expect("same schema")
        .sort([DEAL, "changed_at", "_synthetic_order"], Default::default())
        .unique_stable(Some(cols([DEAL, "changed_at"])), UniqueKeepStrategy::Last)
        .drop(cols(["_synthetic_order"]));
    concat([real, synthetic], UnionArgs::default()).expect("same schema")
}

/// A history row's values under the names of a state: `state_stage`,
/// `state_amount`, `state_close_date`, `state_kind`, `state_probability`.
pub fn state_columns() -> [Expr; 5] {
    [
        col("stage").alias("state_stage"),
        col("amount").alias("state_amount"),
        col("close_date").alias("state_close_date"),
        col("kind").alias("state_kind"),
        col("probability").alias("state_probability"),
    ]
}

/// For each row of `at` (with the opportunity's `DEAL` and the column
/// `instant`), the opportunity's state at that instant: `state_stage`,
/// `state_amount`, `state_close_date`, `state_kind`, `state_probability` of
/// its latest history row with `changed_at ≤ instant`, all null when it did
/// not exist yet. `history` is `Models::history` (with stage kinds joined
/// on). The rows are matched by deal number, not by opportunity_id: the
/// search groups numbers instead of hashing texts.
pub fn state_at(history: LazyFrame, at: LazyFrame) -> LazyFrame {
    let right = history
        .select(
            [col(DEAL), col("changed_at")]
                .into_iter()
                .chain(state_columns())
                .collect::<Vec<_>>(),
        )
        .sort(["changed_at"], Default::default());
    crate::frames::join_latest_at_or_before(
        at.sort(["instant"], Default::default()),
        right,
        "instant",
        "changed_at",
        &[DEAL],
    )
    .select([all().exclude_cols(["changed_at"]).as_expr()])
}

/// The column of `Models::history` with the quarter_idx of the row's close
/// date: the quarter in which the state counts as closing.
pub const CLOSE_QUARTER: &str = "close_quarter";

/// True on the history row that is the opportunity's state at `instant`:
/// the row from its `changed_at` up to, not including, its `next_change`.
pub fn is_state_at(instant: Expr) -> Expr {
    col("changed_at").lt_eq(instant.clone()).and(
        col("next_change")
            .is_null()
            .or(instant.lt(col("next_change"))),
    )
}

/// For each row of `at` (with `quarter_idx` and `instant`), the states at
/// `instant` of the opportunities whose state then has its close date in
/// that quarter, as `state_columns` with `opportunity_id`, `DEAL`,
/// `changed_at` and `next_change`. With `also_at`, an earlier instant of `at`'s rows, the
/// states at that instant are kept too (tell them apart by `is_state_at`).
/// The rows of a quarter meet only the history rows closing in it (an
/// equi-join, then the filter): no opportunity × instant product.
/// `history` is `Models::history`.
pub fn states_closing_in(history: LazyFrame, at: LazyFrame, also_at: Option<Expr>) -> LazyFrame {
    let wanted = match also_at {
        Some(earlier) => is_state_at(col("instant")).or(is_state_at(earlier)),
        None => is_state_at(col("instant")),
    };
    history
        .select(
            [
                col("opportunity_id"),
                col(DEAL),
                col("changed_at"),
                col("next_change"),
                col(CLOSE_QUARTER).alias("quarter_idx"),
            ]
            .into_iter()
            .chain(state_columns())
            .collect::<Vec<_>>(),
        )
        .join(
            at,
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(wanted)
}

/// Per opportunity (`DEAL`), what bounds its states (to drop instants whose state
/// cannot matter before the as-of join): `first_change` and `last_change`
/// (the instants of its first and last history rows), and the `last_kind`
/// and `last_close` date of the last row. Before `first_change` it did not
/// exist; from `last_change` on its state is the last row.
pub fn lifespans(history: LazyFrame) -> LazyFrame {
    // The last row by position of its latest instant: no sort.
    let last = || col("changed_at").arg_max();
    history.group_by([col(DEAL)]).agg([
        col("changed_at").min().alias("first_change"),
        col("changed_at").max().alias("last_change"),
        col("kind").get(last(), false).alias("last_kind"),
        col("close_date").get(last(), false).alias("last_close"),
    ])
}

/// True where the opportunity is closed for good at `instant` (its last
/// history row is at or before it and is won or lost); needs the columns of
/// `lifespans`.
pub fn closed_for_good(instant: Expr) -> Expr {
    col("last_change")
        .lt_eq(instant)
        .and(StageKind::Open.matches(col("last_kind")).not())
}

/// `next_change`: the instant of the opportunity's next history row (null
/// on its last): a row is the opportunity's state from its `changed_at` up
/// to, not including, `next_change`. `history` is sorted by `DEAL`,
/// changed_at.
pub fn with_next_change(history: LazyFrame) -> LazyFrame {
    let next_is_same = col(DEAL).shift(lit(-1)).eq(col(DEAL)).fill_null(lit(false));
    history.with_column(
        when(next_is_same)
            .then(col("changed_at").shift(lit(-1)))
            .otherwise(lit(NULL).cast(crate::calendar::instant_dtype()))
            .alias("next_change"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instants(df: &DataFrame, column: &str) -> Vec<Option<i64>> {
        df.column(column)
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn a_row_is_the_state_until_the_next_row_of_its_opportunity() {
        // Deal 1 (A) has rows at 10, 20, 30; deal 2 (B) one row at 15.
        // Sorted by deal and instant, as Models keeps the history.
        let history = df!(
            DEAL => [1u32, 1, 1, 2],
            "changed_at" => [10i64, 20, 30, 15],
        )
        .unwrap()
        .lazy()
        .with_column(col("changed_at").cast(crate::calendar::instant_dtype()));
        let out = with_next_change(history).collect().unwrap();
        // A's rows end at the next A row; A's last row and B's only row
        // have no end (B's 15 is not A's next change).
        assert_eq!(
            instants(&out, "next_change"),
            [Some(20), Some(30), None, None]
        );
    }

    #[test]
    fn a_lifespan_is_first_and_last_change_and_the_last_rows_kind() {
        // The rows come in any order: the last is the latest instant.
        let history = df!(
            DEAL => [1u32, 1, 1],
            "changed_at" => [30i64, 10, 20],
            "kind" => ["won", "open", "open"],
            "close_date" => [300i32, 100, 200],
        )
        .unwrap()
        .lazy()
        .with_column(col("changed_at").cast(crate::calendar::instant_dtype()));
        let out = lifespans(history).collect().unwrap();
        assert_eq!(instants(&out, "first_change"), [Some(10)]);
        assert_eq!(instants(&out, "last_change"), [Some(30)]);
        assert_eq!(
            out.column("last_kind").unwrap().str().unwrap().get(0),
            Some("won")
        );
        assert_eq!(
            out.column("last_close").unwrap().i32().unwrap().get(0),
            Some(300)
        );
    }
}
