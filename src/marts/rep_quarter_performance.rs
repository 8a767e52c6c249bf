//! rep_quarter_performance — SPEC §4.1.
//!
//! Grain: one row per (rep_id, quarter) for each covered quarter that
//! overlaps the rep's employment (`hire_date ≤ quarter_end` and `end_date`
//! null or `≥ quarter_start`). Sorted by rep_id, quarter_start.
//!
//! Deals count in the quarter of their current `close_date` (the current
//! opportunities table, no as_of cut on close_date); activities and leads in
//! the quarter of their UTC date; the pipeline is read from each
//! opportunity's state at the quarter's end instant (or as_of). Sums and
//! counts of nothing are 0, ratios of nothing null (SPEC §7).

use polars::prelude::*;

use super::MartSpec;
use crate::calendar::days_between;
use crate::config::{ActivityFlags, Config};
use crate::domain::StageKind;
use crate::intermediate::opportunity_state::states_at_quarter_ends;
use crate::intermediate::rollup::{
    count_where, deal_and_activity_ratios, ratio, sum_where, sums_in_slices,
};
use crate::intermediate::{Models, DEAL};

pub const SPEC: MartSpec = MartSpec {
    name: "rep_quarter_performance",
    grain: &["rep_id", "quarter_start"],
    columns: COLUMNS,
};

pub const COLUMNS: &[&str] = rep_quarter_columns!(
    "won_amount",
    "won_count",
    "lost_count",
    "win_rate",
    "lost_amount",
    "win_rate_value",
    "avg_deal_size",
    "quota",
    "quota_attainment",
    "attained_quota",
    "pipeline_value",
    "weighted_pipeline_value",
    "avg_sales_cycle_days",
    "selling_minutes",
    "total_minutes",
    "selling_time_share",
    "prospecting_activities",
    "meetings",
    "meeting_rate",
    "median_lead_response_minutes",
    "avg_touches_per_won_deal",
    "won_share_with_follow_ups",
);

/// The rep-quarter rows with every §4.1 column, plus `quarter_idx` and
/// `sales_cycle_days_total` (what team_quarter_kpis needs to average over
/// deals rather than over reps).
pub fn build(models: &Models, config: &Config) -> LazyFrame {
    let quotas = models
        .quotas
        .clone()
        .with_column(models.quarter_of(col("month")).alias("quarter_idx"))
        .group_by([col("rep_id"), col("quarter_idx")])
        .agg([col("quota_amount").sum().alias("quota")]);
    let parts = [
        closed_deals(models, config),
        quotas,
        pipeline(models),
        activities(models),
        lead_response(models),
    ];
    let mut joined = models.rep_quarters();
    for part in parts {
        joined = joined.join(
            part,
            [col("rep_id"), col("quarter_idx")],
            [col("rep_id"), col("quarter_idx")],
            JoinArgs::new(JoinType::Left),
        );
    }
    // Sums and counts of nothing are 0 (SPEC §7).
    let zero_f = |c: &str| col(c).fill_null(lit(0.0)).alias(c);
    let zero_i = |c: &str| col(c).fill_null(lit(0i64)).alias(c);
    joined
        .with_columns([
            zero_f("won_amount"),
            zero_i("won_count"),
            zero_i("lost_count"),
            zero_f("lost_amount"),
            zero_i("sales_cycle_days_total"),
            zero_i("touches_total"),
            zero_i("won_with_follow_ups"),
            zero_f("pipeline_value"),
            zero_f("weighted_pipeline_value"),
            zero_f("selling_minutes"),
            zero_f("total_minutes"),
            zero_i("prospecting_activities"),
            zero_i("meetings"),
        ])
        .with_columns(deal_and_activity_ratios())
        .with_columns([
            ratio(col("won_amount"), col("quota")).alias("quota_attainment"),
            ratio(col("touches_total"), col("won_count")).alias("avg_touches_per_won_deal"),
            ratio(col("won_with_follow_ups"), col("won_count")).alias("won_share_with_follow_ups"),
        ])
        .with_column(
            col("quota_attainment")
                .gt_eq(lit(1.0))
                .alias("attained_quota"),
        )
        .sort(["rep_id", "quarter_start"], Default::default())
}

/// Per rep and quarter of close_date: won and lost deals, the won deals'
/// sales cycles and touches (activities by any rep linked to the deal, on
/// or before its close_date by UTC date).
fn closed_deals(models: &Models, config: &Config) -> LazyFrame {
    let closed = models
        .opportunities
        .clone()
        .filter(StageKind::Open.matches(col("kind")).not())
        .with_column(models.quarter_of(col("close_date")).alias("quarter_idx"));
    let touches = models
        .activities()
        .filter(col("opportunity_id").is_not_null())
        .select([col("opportunity_id"), col("started_at")])
        .join(
            closed
                .clone()
                .filter(StageKind::Won.matches(col("kind")))
                .select([col("opportunity_id"), col(DEAL), col("close_date")]),
            [col("opportunity_id")],
            [col("opportunity_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("started_at").dt().date().lt_eq(col("close_date")))
        // Counted per deal by number, not by id text.
        .group_by([col(DEAL)])
        .agg([len().cast(DataType::Int64).alias("touches")]);
    let won = StageKind::Won.matches(col("kind"));
    let lost = StageKind::Lost.matches(col("kind"));
    closed
        .join(
            touches,
            [col(DEAL)],
            [col(DEAL)],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(col("touches").fill_null(lit(0i64)))
        .group_by([col("rep_id"), col("quarter_idx")])
        .agg([
            sum_where(won.clone(), col("amount")).alias("won_amount"),
            count_where(won.clone()).alias("won_count"),
            count_where(lost.clone()).alias("lost_count"),
            sum_where(lost, col("amount")).alias("lost_amount"),
            when(won.clone())
                .then(days_between(col("close_date"), col("created_date")))
                .otherwise(lit(0i64))
                .sum()
                .alias("sales_cycle_days_total"),
            when(won.clone())
                .then(col("touches"))
                .otherwise(lit(0i64))
                .sum()
                .alias("touches_total"),
            count_where(won.and(col("touches").gt_eq(lit(config.follow_up_threshold as i64))))
                .alias("won_with_follow_ups"),
        ])
}

/// The open pipeline: each opportunity's state at the quarter's end
/// instant (or as_of), summed per rep. Only the history rows in an open
/// stage are spread over the quarter ends they hold.
fn pipeline(models: &Models) -> LazyFrame {
    let open_states = models
        .history
        .clone()
        .filter(StageKind::Open.matches(col("kind")))
        .select([
            col(DEAL),
            col("changed_at"),
            col("next_change"),
            col("amount"),
            (col("amount") * col("probability")).alias("weighted_amount"),
        ]);
    states_at_quarter_ends(open_states, models.quarters(), &models.calendar)
        .join(
            models
                .opportunities
                .clone()
                .select([col(DEAL), col("rep_id")]),
            [col(DEAL)],
            [col(DEAL)],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("rep_id"), col("quarter_idx")])
        .agg([
            col("amount").sum().alias("pipeline_value"),
            col("weighted_amount")
                .sum()
                .alias("weighted_pipeline_value"),
        ])
}

/// Minutes and counts of the rep's activities (up to as_of) by the quarter
/// of their UTC date (outside the covered quarters they meet no
/// rep-quarter). The millions of activities are grouped by one number per
/// rep, activity type and quarter, made of staging's Enum numbers, into a
/// count and a sum of minutes; each group's rep, flags and quarter are then
/// read from its number. Grouped by one integer with two sums, the 1x
/// benchmark's 3.1M activities took 38–41 ms against 89–96 ms by rep and
/// quarter with four, and the flags are made for the groups, not for every
/// activity: the mart 242–251 ms against 269–276 ms on one thread. The
/// activities after as_of have no number, so no copy of the millions
/// before them is made.
fn activities(models: &Models) -> LazyFrame {
    let schema = models
        .all_activities()
        .collect_schema()
        .expect("the staged activities' schema");
    // The values of a column staging holds as an Enum, in number order.
    let values_of = |column: &str| -> Vec<String> {
        match schema.get(column) {
            Some(DataType::Enum(values, _)) => values
                .categories()
                .values_iter()
                .map(str::to_string)
                .collect(),
            other => {
                unreachable!("staging holds the activities' {column} as an Enum, not {other:?}")
            }
        }
    };
    let (reps, types) = (values_of("rep_id"), values_of("activity_type"));
    let (n_reps, n_types) = (reps.len() as u64, types.len() as u64);
    let first_quarter = *models.quarters().start();
    // The group's number: (quarter's place · reps + rep) · types + type,
    // the quarter's part looked up by day.
    let quarter_part = models.by_covered_quarter(col("started_at"), |q| {
        (q - first_quarter) as u64 * n_reps * n_types
    });
    let number = |column: &str| col(column).to_physical().cast(DataType::UInt64);
    let group = quarter_part + number("rep_id") * lit(n_types) + number("activity_type");
    let placed = |activities: LazyFrame| {
        activities.with_column(
            when(models.as_of.includes(col("started_at")))
                .then(group.clone())
                .otherwise(lit(NULL).cast(DataType::UInt64))
                .alias("_group"),
        )
    };
    let lookup = |values: Series, place: Expr| lit(values).gather(place.cast(IDX_DTYPE), false);
    let type_place = || col("_group") % lit(n_types);
    let flag = |set: fn(&ActivityFlags) -> bool| {
        let table: Vec<bool> = types
            .iter()
            .map(|t| models.activity_types.get(t).is_some_and(set))
            .collect();
        lookup(Series::new("flag".into(), table), type_place())
    };
    let counted_where = |cond: Expr| {
        when(cond)
            .then(col("activities"))
            .otherwise(lit(0i64))
            .sum()
    };
    sums_in_slices(
        models.all_activities(),
        models.activity_rows,
        models.slice_rows,
        placed,
        &["_group"],
        vec![
            len().alias("activities"),
            col("duration_minutes").sum().alias("minutes"),
        ],
    )
    .filter(col("_group").is_not_null())
    .with_columns([
        // The rep-quarter rows it joins hold the rep_id text.
        lookup(
            Series::new("rep_id".into(), reps),
            (col("_group") / lit(n_types)) % lit(n_reps),
        )
        .alias("rep_id"),
        ((col("_group") / lit(n_reps * n_types)).cast(DataType::Int32) + lit(first_quarter))
            .alias("quarter_idx"),
        col("activities").cast(DataType::Int64),
        flag(|f| f.selling).alias("selling"),
        flag(|f| f.prospecting).alias("prospecting"),
        flag(|f| f.meeting).alias("meeting"),
    ])
    .group_by([col("rep_id"), col("quarter_idx")])
    .agg([
        sum_where(col("selling"), col("minutes")).alias("selling_minutes"),
        col("minutes").sum().alias("total_minutes"),
        counted_where(col("prospecting")).alias("prospecting_activities"),
        counted_where(col("meeting")).alias("meetings"),
    ])
}

/// The median first-response time of the leads assigned to the rep, by the
/// quarter the lead was created in.
fn lead_response(models: &Models) -> LazyFrame {
    models
        .leads
        .clone()
        .filter(col("rep_id").is_not_null())
        .with_column(models.quarter_of(col("created_at")).alias("quarter_idx"))
        .group_by([col("rep_id"), col("quarter_idx")])
        .agg([col("response_minutes")
            .median()
            .alias("median_lead_response_minutes")])
}
