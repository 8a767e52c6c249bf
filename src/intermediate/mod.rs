//! Intermediate: the building blocks several marts share (STYLE: dbt's
//! intermediate layer). `Models` is the staged data after the as_of cut,
//! in reporting currency, with stage kinds and activity flags joined on, plus
//! the quarter spine. Nothing here is collected except the few counts the
//! manifest needs.

pub mod lead_response;
pub mod opportunity_state;
pub mod rollup;

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::calendar::{quarter_spine, AsOf, FiscalCalendar};
use crate::config::{ActivityFlags, Config};
use crate::domain::StageKind;
use crate::error::Result;
use crate::staging::{self, Staged, TableSpec};

/// The column with an opportunity's number (its place in the order of
/// opportunity_ids), on the opportunities and their history: a number to
/// join, group and sort by where an opportunity_id would be hashed or
/// compared as text. Numbered in opportunity_id order, so the history
/// sorted by number is in the order it had sorted by id.
pub const DEAL: &str = "deal";

const ACTIVITIES_RELEASED: &str =
    "the activities are read after `Models::release_activities` (only rep_quarter_performance reads them)";

pub struct Models {
    pub calendar: FiscalCalendar,
    pub as_of: AsOf,
    /// quarter_idx, fiscal_quarter, quarter_start, quarter_end, is_complete, end_instant.
    pub spine: DataFrame,
    pub reps: LazyFrame,
    pub quotas: LazyFrame,
    /// Created on or before the as_of date; `amount` in reporting currency;
    /// with `kind` and `probability` of the current stage, and `DEAL`.
    pub opportunities: LazyFrame,
    /// Real and synthetic history of those opportunities, `changed_at ≤ as_of`,
    /// `amount` in reporting currency, by `DEAL` (no opportunity_id), sorted
    /// by `DEAL` (opportunity_id order) and instant,
    /// with `next_change` (`opportunity_state::with_next_change`) and the
    /// quarter_idx of the row's close date (`opportunity_state::CLOSE_QUARTER`).
    pub history: LazyFrame,
    /// Started at or before as_of, `duration_minutes` null read as 0
    /// (`Models::activities`; `None` once released).
    activities: Option<LazyFrame>,
    /// Every valid activity as staged, also those started after as_of:
    /// for sums over all of them that leave out the later ones by a mask
    /// (`AsOf::includes`) rather than copy every other row of millions, as
    /// the filter would. Nothing is computed on it yet, so that
    /// `rollup::sums_in_slices` slices the staged rows before any column
    /// is made (`duration_minutes` may be null here).
    /// (`Models::all_activities`; `None` once released).
    all_activities: Option<LazyFrame>,
    /// The rows of `all_activities`.
    pub activity_rows: usize,
    /// The most rows a mart groups at once (`rollup::sums_in_slices`);
    /// `rollup::SLICE_ROWS` unless a test sets it.
    pub slice_rows: usize,
    /// Per activity type: its `selling`, `prospecting`, `meeting` flags.
    pub activity_types: BTreeMap<String, ActivityFlags>,
    /// Created at or before as_of, with `first_response_at` and
    /// `response_minutes` (`lead_response::with_first_response`).
    pub leads: LazyFrame,
    pub lead_events: LazyFrame,
    pub forecast_submissions: LazyFrame,
    /// The earliest `created_date` of those opportunities (None: none).
    /// Collected once as a value: a one-row aggregate cross-joined into a
    /// plan is pruned to nothing when its column goes unused, and the join
    /// then multiplies rows instead of adding a column.
    pub earliest_created: Option<chrono::NaiveDate>,
    /// Opportunities that got synthetic history (for the manifest).
    pub synthesized_histories: usize,
}

/// `stage`, `kind` (`StageKind::code`), `probability` from the config.
pub fn stage_kinds(config: &Config) -> LazyFrame {
    df!(
        "stage" => config.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "kind" => config.stages.iter().map(|s| s.kind.code()).collect::<Vec<_>>(),
        "probability" => config.stages.iter().map(|s| s.probability).collect::<Vec<_>>(),
    )
    .expect("one length")
    .lazy()
}

impl Models {
    pub fn build(staged: &Staged, config: &Config, as_of: AsOf) -> Result<Models> {
        let calendar = FiscalCalendar::new(config.fiscal_year_start_month);
        let kinds = stage_kinds(config);
        let opportunities = staged
            .valid(&staging::opportunities::SPEC)
            .filter(col("created_date").lt_eq(crate::calendar::date_lit(as_of.date())))
            .with_column(
                crate::currency::to_reporting(col("amount"), col("fx_rate")).alias("amount"),
            )
            .join(
                kinds.clone(),
                [col("stage")],
                [col("stage")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(crate::frames::number_in_order_of("opportunity_id").alias(DEAL))
            .cache();
        let (history, synthesized) = history(staged, &opportunities, kinds, config, &as_of);
        let all_activities = staged.valid(&staging::activities::SPEC);
        let activities = all_activities
            .clone()
            .with_column(col("duration_minutes").fill_null(lit(0.0)))
            .filter(as_of.includes(col("started_at")));
        let until_as_of =
            |table: &TableSpec, at: &str| staged.valid(table).filter(as_of.includes(col(at)));
        let leads = lead_response::with_first_response(
            until_as_of(&staging::leads::SPEC, "created_at"),
            activities.clone(),
        );
        let history = opportunity_state::with_next_change(
            history.sort([DEAL, "changed_at"], Default::default()),
        )
        .with_column(
            calendar
                .quarter_index_expr(col("close_date"))
                .alias(opportunity_state::CLOSE_QUARTER),
        )
        .cache();
        // Collected here, once, in one pass: the opportunities, their history
        // and the leads' first responses are read by several marts, and each
        // collect of a mart would otherwise convert, join, synthesize and
        // search them again.
        let [opportunities, history, synthesized, leads] =
            crate::frames::collect_together([opportunities, history, synthesized, leads])?;
        let synthesized_histories = synthesized
            .column("n")?
            .cast(&DataType::UInt64)?
            .u64()?
            .get(0)
            .unwrap_or(0) as usize;
        // Covered quarters start at the earliest valid opportunity created on
        // or before as_of (SPEC §7).
        let first = opportunities
            .column("created_date")?
            .date()?
            .physical()
            .min()
            .map(crate::calendar::date_from_days);
        let spine = quarter_spine(&calendar, first, &as_of);
        Ok(Models {
            earliest_created: first,
            calendar,
            as_of,
            spine,
            reps: staged.valid(&staging::reps::SPEC),
            quotas: staged.valid(&staging::quotas::SPEC),
            opportunities: opportunities.lazy(),
            history: history.lazy(),
            activities: Some(activities),
            all_activities: Some(all_activities),
            activity_rows: staged.get(&staging::activities::SPEC).valid.height(),
            slice_rows: rollup::SLICE_ROWS,
            activity_types: config.activity_types.clone(),
            leads: leads.lazy(),
            lead_events: until_as_of(&staging::lead_events::SPEC, "occurred_at"),
            forecast_submissions: until_as_of(&staging::forecast_submissions::SPEC, "submitted_at"),
            synthesized_histories,
        })
    }

    /// The activities started at or before as_of (`duration_minutes` null
    /// read as 0). Asking after `release_activities` is a salesops bug.
    pub fn activities(&self) -> LazyFrame {
        self.activities.clone().expect(ACTIVITIES_RELEASED)
    }

    /// Every valid activity as staged (see the field). Asking after
    /// `release_activities` is a salesops bug.
    pub fn all_activities(&self) -> LazyFrame {
        self.all_activities.clone().expect(ACTIVITIES_RELEASED)
    }

    /// Lets go of the activities. rep_quarter_performance is the one mart
    /// that reads them: once its plan is made, the plan is their last
    /// holder, and they are freed as soon as it is collected, not when the
    /// run ends. At 10x they are 1.2 GB (polars' estimate) of the 4.3 GB
    /// the run holds once staging is done, and the marts built after
    /// performance run beside each other.
    pub fn release_activities(&mut self) {
        self.activities = None;
        self.all_activities = None;
    }

    /// `lf` (rows with `DEAL`) with its opportunity's `rep_id` and
    /// `created_date`, joined by number.
    pub fn with_deal_rep(&self, lf: LazyFrame) -> LazyFrame {
        lf.join(
            self.opportunities
                .clone()
                .select([col(DEAL), col("rep_id"), col("created_date")]),
            [col(DEAL)],
            [col(DEAL)],
            JoinArgs::new(JoinType::Inner),
        )
    }

    pub fn spine(&self) -> LazyFrame {
        self.spine.clone().lazy()
    }

    /// One row per rep and covered quarter that overlaps the rep's
    /// employment (`hire_date ≤ quarter_end` and `end_date` null or
    /// `≥ quarter_start`), with the rep's and the quarter's columns: the
    /// rows of rep_quarter_performance (SPEC §4.1), and so the scope_ids
    /// each quarter has (`rollup::quarter_scope_ids`).
    pub fn rep_quarters(&self) -> LazyFrame {
        self.reps.clone().cross_join(self.spine(), None).filter(
            col("hire_date").lt_eq(col("quarter_end")).and(
                col("end_date")
                    .is_null()
                    .or(col("end_date").gt_eq(col("quarter_start"))),
            ),
        )
    }

    /// The spine's quarter_idx, first to last (consecutive).
    pub fn quarters(&self) -> std::ops::RangeInclusive<i32> {
        let idx = self.spine.column("quarter_idx").expect("spine column");
        let idx = idx.i32().expect("quarter_idx is Int32");
        idx.min().expect("a spine has a quarter")..=idx.max().expect("a spine has a quarter")
    }

    /// `lf` (rows with `quarter_idx`) with the quarter's `fiscal_quarter`,
    /// `quarter_start`, `quarter_end` and `is_complete` (SPEC §2).
    pub fn with_quarter_columns(&self, lf: LazyFrame) -> LazyFrame {
        lf.join(
            self.spine().select([
                col("quarter_idx"),
                col("fiscal_quarter"),
                col("quarter_start"),
                col("quarter_end"),
                col("is_complete"),
            ]),
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Inner),
        )
    }

    /// Won deals of the current opportunities table with their rep's current
    /// team: `rep_id`, `team`, `close_date`, `amount` (what forecasts roll up
    /// by scope).
    pub fn won_with_team(&self) -> LazyFrame {
        self.opportunities
            .clone()
            .filter(StageKind::Won.matches(col("kind")))
            .join(
                self.reps.clone().select([col("rep_id"), col("team")]),
                [col("rep_id")],
                [col("rep_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .select([col("rep_id"), col("team"), col("close_date"), col("amount")])
    }

    /// `quarter_idx` of a Date (or instant) expression.
    pub fn quarter_of(&self, date: Expr) -> Expr {
        self.calendar.quarter_index_expr(date)
    }

    /// `value(quarter_idx)` of an instant expression in a covered quarter,
    /// null outside them: for millions of rows that are summed into covered
    /// quarters only (a lookup by day, a third of the time of `quarter_of`).
    pub fn by_covered_quarter<T>(&self, instant: Expr, value: impl Fn(i32) -> T) -> Expr
    where
        Series: NamedFrom<Vec<T>, [T]>,
    {
        self.calendar
            .by_quarter_within_expr(instant, self.quarters(), value)
    }
}

/// The real and synthetic history of `opportunities` up to as_of, with
/// stage kinds joined on, and the count (column `n`) of opportunities that
/// get synthetic rows: those with no valid history row, even one after
/// as_of (SPEC §7).
fn history(
    staged: &Staged,
    opportunities: &LazyFrame,
    kinds: LazyFrame,
    config: &Config,
    as_of: &AsOf,
) -> (LazyFrame, LazyFrame) {
    // The rows of these opportunities, with their `deal` number.
    let history_rows = staged
        .valid(&staging::opportunity_history::SPEC)
        .join(
            opportunities
                .clone()
                .select([col("opportunity_id"), col(DEAL)]),
            [col("opportunity_id")],
            [col("opportunity_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .cache();
    // Found once for both: the synthetic rows and their count.
    let without_history = opportunity_state::without_history(
        opportunities.clone().select([
            col(DEAL),
            col("created_date"),
            col("close_date"),
            col("stage"),
            col("amount"),
        ]),
        history_rows.clone(),
    )
    .cache();
    let synthesized = without_history.clone().select([len().alias("n")]);
    let history = opportunity_state::history_with_synthetic(
        without_history,
        history_rows,
        kinds.clone(),
        config.first_open_stage(),
    )
    // Cut before the kinds are joined on: the join and the cut's copy of
    // every column are then made for the rows kept only.
    .filter(as_of.includes(col("changed_at")))
    .join(
        kinds,
        [col("stage")],
        [col("stage")],
        JoinArgs::new(JoinType::Left),
    );
    (history, synthesized)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stages each kind's test picks from the stage table, for the
    /// default stages: five open ones, one won, one lost.
    #[test]
    fn each_kind_picks_its_stages() {
        let config = Config::default();
        let picked = |kind: StageKind| -> Vec<String> {
            let df = stage_kinds(&config)
                .filter(kind.matches(col("kind")))
                .collect()
                .unwrap();
            let names = df.column("stage").unwrap().str().unwrap().clone();
            names.iter().flatten().map(str::to_string).collect()
        };
        assert_eq!(
            picked(StageKind::Open),
            ["Discovery", "Qualified", "Demo", "Trial", "Negotiation"]
        );
        assert_eq!(picked(StageKind::Won), ["Closed Won"]);
        assert_eq!(picked(StageKind::Lost), ["Closed Lost"]);
    }
}
