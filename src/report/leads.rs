//! The lead funnel (lead_scores, SPEC §4.7): leads, SQLs, converted, and
//! the median time to the first response, in all and by source.

use polars::prelude::*;

use super::format;
use super::{charts, figure, section, table, Cell, Marts};
use crate::error::Result;
use crate::frames::{floats, ints, strings};

pub const READS: super::Reads = &[(
    "lead_scores",
    Some(&["source", "is_sql", "converted", "response_minutes"]),
)];

/// Leads, SQLs, converted and the median response per group of `keys`.
fn funnel(leads: &DataFrame, keys: Vec<Expr>) -> Result<DataFrame> {
    let counts = [
        len().cast(DataType::Int64).alias("leads"),
        col("is_sql").cast(DataType::Int64).sum().alias("sqls"),
        col("converted")
            .cast(DataType::Int64)
            .sum()
            .alias("converted"),
        col("response_minutes")
            .median()
            .alias("median_response_minutes"),
    ];
    let lf = leads.clone().lazy();
    Ok(if keys.is_empty() {
        lf.select(counts).collect()?
    } else {
        lf.group_by(keys)
            .agg(counts)
            .sort(["source"], Default::default())
            .collect()?
    })
}

/// Minutes to one decimal, with hours beside them from two hours up.
fn minutes(m: Option<f64>) -> String {
    match m {
        None => format::NULL.to_string(),
        Some(m) if m >= 120.0 => format!(
            "{} min ({} h)",
            format::number(m, 1),
            format::number(m / 60.0, 1)
        ),
        Some(m) => format!("{} min", format::number(m, 1)),
    }
}

pub fn render(marts: &Marts) -> Result<String> {
    const TITLE: &str = "Lead funnel";
    let leads = match marts.rows_for("lead_scores", ("leads", TITLE), "No leads in this run.") {
        Ok(rows) => rows,
        Err(section) => return Ok(section),
    };
    let all = funnel(leads, vec![])?;
    let by_source = funnel(leads, vec![col("source")])?;
    let total = |c: &str| -> Result<Option<i64>> { Ok(ints(&all, c)?[0]) };
    let (n, sqls, converted) = (total("leads")?, total("sqls")?, total("converted")?);
    let median = floats(&all, "median_response_minutes")?[0];
    let stages = ["Leads", "SQLs", "Converted"].map(String::from);
    let svg = charts::stacked_bars(
        &stages,
        &[charts::Stack {
            color: charts::FUNNEL,
            values: [n, sqls, converted].map(|v| v.unwrap_or(0) as f64).to_vec(),
        }],
        &|v| format::number(v, 0),
    )?;
    let sources = strings(&by_source, "source")?;
    let source_leads = ints(&by_source, "leads")?;
    let source_sqls = ints(&by_source, "sqls")?;
    let source_converted = ints(&by_source, "converted")?;
    let source_median = floats(&by_source, "median_response_minutes")?;
    let mut rows: Vec<Vec<Cell>> = (0..by_source.height())
        .map(|i| {
            vec![
                Cell::text(sources[i].as_deref().unwrap_or(format::NULL)),
                Cell::count(source_leads[i]),
                Cell::count(source_sqls[i]),
                Cell::count(source_converted[i]),
                Cell::Num(minutes(source_median[i])),
            ]
        })
        .collect();
    rows.push(vec![
        Cell::text("All"),
        Cell::count(n),
        Cell::count(sqls),
        Cell::count(converted),
        Cell::Num(minutes(median)),
    ]);
    let body = format!(
        "<p>{} leads, {} SQLs, {} converted; the median first response took {}.</p>\n{}{}",
        format::count(n),
        format::count(sqls),
        format::count(converted),
        minutes(median),
        figure(
            "lead-funnel",
            &svg,
            "Leads; those whose score reached the SQL threshold; those converted (an \
             opportunity names them). A lead can convert without having been an SQL."
        ),
        table(
            "leads-by-source",
            &[
                "Source",
                "Leads",
                "SQLs",
                "Converted",
                "Median first response"
            ],
            rows
        ),
    );
    Ok(section("leads", TITLE, &body))
}
