//! The state of an opportunity at an instant (SPEC §2): its latest history
//! row with `changed_at ≤ t`. Opportunities without valid history rows get
//! synthetic history from their current row. A row is the state from its
//! `changed_at` up to, not including, its `next_change` (the opportunity's
//! next row): a mart that looks at the past picks the rows whose interval
//! holds its instants, either every quarter end (`states_at_quarter_ends`)
//! or instants of the quarter the state closes in (`states_closing_in`).

use polars::prelude::*;

use crate::calendar::{midnight, FiscalCalendar};
use crate::domain::StageKind;
use crate::intermediate::DEAL;

/// The `opportunities` that have no row in `history` (by `DEAL`): those
/// that get synthetic history.
pub fn without_history(opportunities: LazyFrame, history: LazyFrame) -> LazyFrame {
    opportunities.join(
        history
            .select([col(DEAL)])
            .unique(None, UniqueKeepStrategy::Any),
        [col(DEAL)],
        [col(DEAL)],
        JoinArgs::new(JoinType::Anti),
    )
}

/// History rows: `DEAL`, `changed_at`, `stage`, `amount` (reporting
/// currency), `close_date`. `history` has the staged rows with `fx_rate`;
/// `without_history` the current rows (`DEAL`, `created_date`,
/// `close_date`, `stage`, `amount` already converted) of the opportunities
/// with none of them (`without_history`). An opportunity is its `DEAL`
/// from here on: no mart reads a history row's opportunity_id, and its
/// text, carried through the union, the cut, the join to the stage kinds
/// and the sort, was a tenth of the models' time at 10x.
/// Synthetic rows (SPEC §2, §7): when open, one row at `created_date 00:00`
/// with the current values; when closed, that row with `first_open_stage`
/// instead and a second row at `close_date 00:00` with the current stage. On
/// the same instant the closing row wins.
pub fn history_with_synthetic(
    without_history: LazyFrame,
    history: LazyFrame,
    stage_kinds: LazyFrame,
    first_open_stage: &str,
) -> LazyFrame {
    let real = history.select([
        col(DEAL),
        col("changed_at"),
        col("stage"),
        crate::currency::to_reporting(col("amount"), col("fx_rate")).alias("amount"),
        col("close_date"),
    ]);
    let without_history = without_history.join(
        stage_kinds,
        [col("stage")],
        [col("stage")],
        JoinArgs::new(JoinType::Left),
    );
    let is_closed = StageKind::Open.matches(col("kind")).not();
    let opening = without_history.clone().select([
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

/// Each history row with each quarter of `quarters` (quarter_idx, first to
/// last) at whose end instant the row is the opportunity's state, as
/// `quarter_idx`: the quarters from the one of its `changed_at` up to, not
/// including, the one of its `next_change` (to the last when it has none).
/// A quarter's end instant is its last microsecond, or as_of for the
/// quarter of as_of; every `changed_at` and `next_change` is at or before
/// as_of, so the end instants at or after `changed_at` and before
/// `next_change` are exactly those quarters. The rows are made from each
/// row's span of quarters, not by a search per opportunity and quarter end:
/// no opportunity × quarter product is made. `history` is `Models::history`
/// (filter it first to the rows wanted, such as open states).
pub fn states_at_quarter_ends(
    history: LazyFrame,
    quarters: std::ops::RangeInclusive<i32>,
    calendar: &FiscalCalendar,
) -> LazyFrame {
    let (first, last) = (*quarters.start(), *quarters.end());
    // A row spanning n quarters meets the n rows of `offsets` with span n
    // (offsets 0..n): an equi-join that makes exactly the rows wanted.
    let n = (last - first + 1).max(0);
    let (spans, offsets): (Vec<i32>, Vec<i32>) = (1..=n)
        .flat_map(|span| (0..span).map(move |offset| (span, offset)))
        .unzip();
    let offsets = df!("_span" => spans, "_offset" => offsets)
        .expect("one length")
        .lazy();
    let from = calendar
        .quarter_index_expr(col("changed_at"))
        .clip_min(lit(first));
    let until = calendar
        .quarter_index_expr(col("next_change"))
        .fill_null(lit(last + 1))
        .clip_max(lit(last + 1));
    history
        .with_column(from.alias("quarter_idx"))
        .with_column((until - col("quarter_idx")).alias("_span"))
        .filter(col("_span").gt(lit(0)))
        .join(
            offsets,
            [col("_span")],
            [col("_span")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_column(col("quarter_idx") + col("_offset"))
        .drop(cols(["_span", "_offset"]))
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
/// that quarter, as `state_columns` with `DEAL`, `changed_at` and
/// `next_change`. With `also_at`, an earlier instant of `at`'s rows, the
/// states at that instant are kept too (tell them apart by `is_state_at`).
/// The rows of a quarter meet only the history rows closing in it (an
/// equi-join, then the filter): no opportunity × instant product.
/// `history` is `Models::history`.
///
/// A history row meets every row of `at` in its close date's quarter (the
/// forecasts' three or four snapshots) and the filter keeps few of those
/// (at 10x 2.2M of 12M). So the join and the filter take only the instants
/// the filter reads and each row's place in `history`, and are collected
/// here: the state columns are then taken from the history at the places
/// kept, in the rows' order. polars has no lazy take by another frame's
/// column, and a join on the place hashed all 4M history rows (0.47 s at
/// 10x). Joined with every state column, the join made 12M rows of ten
/// columns, fresh memory at 10x: 0.85 s of the forecasts' 2.3 s on one
/// thread, 47 times its 1x time.
pub fn states_closing_in(
    history: LazyFrame,
    at: LazyFrame,
    also_at: Option<Expr>,
) -> PolarsResult<LazyFrame> {
    const PLACE: &str = "_history_row";
    // What the join and the filter read; the rest is taken at the places kept.
    const INSTANTS: [&str; 3] = ["changed_at", "next_change", "quarter_idx"];
    let wanted = match also_at {
        Some(earlier) => is_state_at(col("instant")).or(is_state_at(earlier)),
        None => is_state_at(col("instant")),
    };
    // Collected once, so that the places found are places in this frame.
    // The history is in memory (`Models`): this selects its columns, no copy.
    let history = history
        .select(
            [
                col(DEAL),
                col("changed_at"),
                col("next_change"),
                col(CLOSE_QUARTER).alias("quarter_idx"),
            ]
            .into_iter()
            .chain(state_columns())
            .collect::<Vec<_>>(),
        )
        .collect()?;
    let kept = history
        .clone()
        .lazy()
        .select(INSTANTS.map(col))
        .with_row_index(PLACE, None)
        .join(
            at,
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(wanted)
        .collect()?;
    let states = history
        .drop_many(INSTANTS)
        .take(kept.column(PLACE)?.idx()?)?;
    Ok(kept.drop(PLACE)?.hstack(states.columns())?.lazy())
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
    fn a_row_holds_the_quarter_ends_from_its_change_to_before_its_next_one() {
        // Calendar quarters; the covered quarters are 2025-Q1..=2025-Q4.
        let cal = FiscalCalendar::new(1);
        let q = |y, m| cal.quarter_index(chrono::NaiveDate::from_ymd_opt(y, m, 1).unwrap());
        let at = |y, m, d, h| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        let end_of_q1 = at(2025, 3, 31, 0) + 86_400_000_000 - 1;
        // 1: Feb → May: the end of Q1 only (May is Q2, whose end is after it).
        // 2: Feb, no next row: every quarter end from Q1 on.
        // 3: 2024-Nov (before the covered quarters) → Aug: Q1 and Q2.
        // 4: Apr → Jun: no quarter end between them.
        // 5: Jan → the last microsecond of Q1: not Q1 (the next row is
        //    the state at that instant).
        let history = df!(
            DEAL => [1u32, 2, 3, 4, 5],
            "changed_at" => [
                at(2025, 2, 1, 9), at(2025, 2, 1, 9), at(2024, 11, 5, 0),
                at(2025, 4, 2, 0), at(2025, 1, 2, 0),
            ],
            "next_change" => [
                Some(at(2025, 5, 1, 0)), None, Some(at(2025, 8, 1, 0)),
                Some(at(2025, 6, 30, 0)), Some(end_of_q1),
            ],
        )
        .unwrap()
        .lazy()
        .with_columns([
            col("changed_at").cast(crate::calendar::instant_dtype()),
            col("next_change").cast(crate::calendar::instant_dtype()),
        ]);
        let out = states_at_quarter_ends(history, q(2025, 1)..=q(2025, 12), &cal)
            .sort([DEAL, "quarter_idx"], Default::default())
            .collect()
            .unwrap();
        let pairs: Vec<(u32, i32)> = out
            .column(DEAL)
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .zip(
                out.column("quarter_idx")
                    .unwrap()
                    .i32()
                    .unwrap()
                    .into_no_null_iter(),
            )
            .collect();
        let (q1, q2, q3, q4) = (q(2025, 1), q(2025, 4), q(2025, 7), q(2025, 10));
        assert_eq!(
            pairs,
            [
                (1, q1),
                (2, q1),
                (2, q2),
                (2, q3),
                (2, q4),
                (3, q1),
                (3, q2)
            ]
        );
    }
}
