//! Commissions by month (commissions_monthly, SPEC §4.8): what pay costs,
//! base and commission, summed over the reps.

use polars::prelude::*;

use super::{charts, figure, legend, section, table, Cell, Marts, Settings};
use crate::error::Result;
use crate::frames::{bools, floats, strings};

pub const READS: super::Reads = &[(
    "commissions_monthly",
    Some(&[
        "month",
        "base_pay",
        "commission",
        "total_pay",
        "is_complete",
    ]),
)];

pub fn render(marts: &Marts, settings: &Settings) -> Result<String> {
    const TITLE: &str = "Commissions by month";
    let pay = match marts.rows_for(
        "commissions_monthly",
        ("commissions", TITLE),
        "No commissions: no rep had a month in the run.",
    ) {
        Ok(rows) => rows,
        Err(section) => return Ok(section),
    };
    let months = pay
        .clone()
        .lazy()
        .group_by([col("month")])
        .agg([
            col("base_pay").sum(),
            col("commission").sum(),
            col("total_pay").sum(),
            col("is_complete").all(true),
            len().alias("reps"),
        ])
        .sort(["month"], Default::default())
        .collect()?;
    let names: Vec<String> = strings(&months, "month")?
        .into_iter()
        .map(|m| m.map(|m| m[..7].to_string()).unwrap_or_default())
        .collect();
    let base = floats(&months, "base_pay")?;
    let commission = floats(&months, "commission")?;
    let total = floats(&months, "total_pay")?;
    let complete = bools(&months, "is_complete")?;
    let stacks = [
        charts::Stack {
            color: charts::BASE_PAY,
            values: base.iter().map(|v| v.unwrap_or(0.0)).collect(),
        },
        charts::Stack {
            color: charts::COMMISSION,
            values: commission.iter().map(|v| v.unwrap_or(0.0)).collect(),
        },
    ];
    let svg = charts::stacked_bars(&names, &stacks, &|v| settings.money.short(v))?;
    let money = &settings.money;
    let rows = (0..months.height())
        .rev()
        .map(|i| {
            vec![
                Cell::text(if complete[i] == Some(true) {
                    names[i].clone()
                } else {
                    format!("{} to date", names[i])
                }),
                Cell::Num(money.cents(base[i])),
                Cell::Num(money.cents(commission[i])),
                Cell::Num(money.cents(total[i])),
            ]
        })
        .collect();
    let body = format!(
        "{}{}<p class=\"note\">Newest month first; a month marked “to date” is not over.</p>\n{}",
        legend(&[
            (charts::BASE_PAY, "Base pay".to_string()),
            (charts::COMMISSION, "Commission".to_string())
        ]),
        figure(
            "commissions-chart",
            &svg,
            "Total pay per month, all reps: base pay below, commission on top."
        ),
        table(
            "commissions",
            &["Month", "Base pay", "Commission", "Total pay"],
            rows
        ),
    );
    Ok(section("commissions", TITLE, &body))
}
