//! Pipeline movement (SPEC §4.9) and stage conversion (§4.10) for the
//! company, when the run published those marts.

use polars::prelude::*;

use super::format;
use super::{empty, latest_complete, section, table, Cell, Marts, Settings};
use crate::domain::Scope;
use crate::error::Result;
use crate::frames::{bools, floats, ints, strings};

/// Every column of both: the company's rows of each are a few dozen.
pub const READS: super::Reads = &[("pipeline_movement", None), ("stage_conversion", None)];

/// Quarters shown, newest first.
const QUARTERS: usize = 8;

/// The company's rows of a scoped mart.
fn company(df: &DataFrame) -> Result<DataFrame> {
    Ok(df
        .clone()
        .lazy()
        .filter(Scope::Company.matches(col("scope")))
        .collect()?)
}

/// A quarter's name, marked when it is not complete.
fn quarter_names(df: &DataFrame) -> Result<Vec<String>> {
    let names = strings(df, "fiscal_quarter")?;
    let complete = bools(df, "is_complete")?;
    Ok(names
        .into_iter()
        .zip(complete)
        .map(|(n, c)| {
            let n = n.unwrap_or_default();
            if c == Some(true) {
                n
            } else {
                format!("{n} to date")
            }
        })
        .collect())
}

/// Where the company's pipeline went, quarter by quarter. None when the run
/// has no pipeline_movement mart.
pub fn movement(marts: &Marts, settings: &Settings) -> Result<String> {
    const TITLE: &str = "Pipeline movement";
    let Some(moves) = marts.get("pipeline_movement") else {
        return Ok(String::new());
    };
    let rows = company(moves)?
        .sort(
            ["quarter_start"],
            SortMultipleOptions::default().with_order_descending(true),
        )?
        .head(Some(QUARTERS));
    if rows.height() == 0 {
        return Ok(section(
            "movement",
            TITLE,
            &empty("No pipeline movement in this run."),
        ));
    }
    const AMOUNTS: [(&str, &str); 10] = [
        ("starting_pipeline", "Starting"),
        ("created", "Created"),
        ("pulled_in", "Pulled in"),
        ("increased", "Increased"),
        ("decreased", "Decreased"),
        ("won", "Won"),
        ("lost", "Lost"),
        ("slipped", "Slipped"),
        ("other_out", "Other out"),
        ("ending_pipeline", "Ending"),
    ];
    let names = quarter_names(&rows)?;
    let columns: Vec<Vec<Option<f64>>> = AMOUNTS
        .iter()
        .map(|(c, _)| floats(&rows, c))
        .collect::<Result<_>>()?;
    let body_rows = (0..rows.height())
        .map(|i| {
            let mut row = vec![Cell::text(&names[i])];
            row.extend(
                columns
                    .iter()
                    .map(|c| Cell::Num(settings.money.whole(c[i]))),
            );
            row
        })
        .collect();
    let mut head = vec!["Quarter"];
    head.extend(AMOUNTS.iter().map(|(_, h)| *h));
    let body = format!(
        "<p class=\"note\">The company's in-quarter pipeline: starting + created + pulled in + \
         increased − decreased − won − lost − slipped − other out = ending. Newest quarter first.</p>\n{}",
        table("movement", &head, body_rows)
    );
    Ok(section("movement", TITLE, &body))
}

/// How the company's cohort of the latest complete quarter moved through the
/// stages. None when the run has no stage_conversion mart.
pub fn conversion(marts: &Marts) -> Result<String> {
    const TITLE: &str = "Stage conversion";
    let Some(stages) = marts.get("stage_conversion") else {
        return Ok(String::new());
    };
    let rows = latest_complete(company(stages)?.lazy())
        .sort(["stage_order"], Default::default())
        .collect()?;
    if rows.height() == 0 {
        return Ok(section(
            "conversion",
            TITLE,
            &empty("No complete cohort quarter yet: no stage conversion to show."),
        ));
    }
    let quarter = strings(&rows, "fiscal_quarter")?[0]
        .clone()
        .unwrap_or_default();
    let stage = strings(&rows, "stage")?;
    let reached = ints(&rows, "reached")?;
    let advanced = ints(&rows, "advanced")?;
    let conversion = floats(&rows, "conversion_rate")?;
    let won = ints(&rows, "won")?;
    let win_rate = floats(&rows, "win_rate_from_stage")?;
    let days = floats(&rows, "median_days_in_stage")?;
    let open = ints(&rows, "still_open_here")?;
    let body_rows = (0..rows.height())
        .map(|i| {
            vec![
                Cell::text(stage[i].as_deref().unwrap_or(format::NULL)),
                Cell::count(reached[i]),
                Cell::count(advanced[i]),
                Cell::Num(format::pct(conversion[i])),
                Cell::count(won[i]),
                Cell::Num(format::pct(win_rate[i])),
                Cell::Num(format::decimal(days[i], 1)),
                Cell::count(open[i]),
            ]
        })
        .collect();
    let body = format!(
        "<p>The opportunities created in {} (the latest complete quarter), stage by stage.</p>\n{}",
        format::escape(&quarter),
        table(
            "conversion",
            &[
                "Stage",
                "Reached",
                "Advanced",
                "Conversion",
                "Won",
                "Win rate from stage",
                "Median days in stage",
                "Still open here"
            ],
            body_rows
        )
    );
    Ok(section("conversion", TITLE, &body))
}
