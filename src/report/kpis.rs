//! Team KPIs per quarter (team_quarter_kpis, SPEC §4.3): win rate, quota
//! attainment and selling-time share, the company and each team, the
//! latest quarters as numbers and every quarter as a sparkline.

use std::collections::BTreeMap;

use super::format::{self, escape};
use super::{charts, scope_ids, scope_label, section, slug, table, Cell, Marts};
use crate::error::Result;
use crate::frames::{bools, floats, strings};

pub const READS: super::Reads = &[(
    "team_quarter_kpis",
    Some(&[
        "scope",
        "scope_id",
        "fiscal_quarter",
        "quarter_start",
        "is_complete",
        "win_rate",
        "quota_attainment",
        "selling_time_share",
    ]),
)];

/// The KPIs shown, with their headings.
const KPIS: [(&str, &str); 3] = [
    ("win_rate", "Win rate"),
    ("quota_attainment", "Quota attainment"),
    ("selling_time_share", "Selling-time share"),
];

/// Quarters shown as numbers; the sparkline has them all.
const QUARTER_COLUMNS: usize = 8;

pub fn render(marts: &Marts) -> Result<String> {
    const TITLE: &str = "Team KPIs by quarter";
    let kpis = match marts.rows_for("team_quarter_kpis", ("kpis", TITLE), "No quarters to show.") {
        Ok(rows) => rows,
        Err(section) => return Ok(section),
    };
    let scopes = strings(kpis, "scope")?;
    let ids = strings(kpis, "scope_id")?;
    let starts = strings(kpis, "quarter_start")?;
    let quarter_names = strings(kpis, "fiscal_quarter")?;
    let complete = bools(kpis, "is_complete")?;
    // Quarters in order (quarter_start sorts as text), with their names.
    let mut quarters: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for i in 0..kpis.height() {
        if let (Some(start), Some(name)) = (&starts[i], &quarter_names[i]) {
            quarters.insert(start.clone(), (name.clone(), complete[i].unwrap_or(false)));
        }
    }
    let shown: Vec<&String> = quarters.keys().rev().take(QUARTER_COLUMNS).rev().collect();
    let mut body = String::from(
        "<p>Each row is the company or a team; a quarter marked “to date” is not complete. \
         The line shows every quarter of the run.</p>\n",
    );
    for (column, heading) in KPIS {
        let values = floats(kpis, column)?;
        let mut cells: BTreeMap<(String, String, String), Option<f64>> = BTreeMap::new();
        for i in 0..kpis.height() {
            if let (Some(s), Some(id), Some(start)) = (&scopes[i], &ids[i], &starts[i]) {
                cells.insert((s.clone(), id.clone(), start.clone()), values[i]);
            }
        }
        let mut rows = vec![];
        for (scope, id) in scope_ids(kpis)? {
            let value = |start: &String| {
                cells
                    .get(&(scope.as_str().to_string(), id.clone(), start.clone()))
                    .copied()
                    .flatten()
            };
            let mut row = vec![Cell::text(scope_label(scope, &id))];
            row.extend(
                shown
                    .iter()
                    .map(|start| Cell::Num(format::pct(value(start)))),
            );
            let series: Vec<Option<f64>> = quarters.keys().map(value).collect();
            let spark_id = format!(
                "spark-{}-{}-{}",
                slug(column),
                slug(scope.as_str()),
                slug(&id)
            );
            row.push(Cell::Html(if series.iter().all(Option::is_none) {
                format::NULL.to_string()
            } else {
                format!(
                    "<figure id=\"{spark_id}\" class=\"chart sparkline\">{}</figure>",
                    charts::sparkline(&series)?
                )
            }));
            rows.push(row);
        }
        let mut head: Vec<String> = vec!["".to_string()];
        head.extend(shown.iter().map(|start| {
            let (name, complete) = &quarters[*start];
            if *complete {
                name.clone()
            } else {
                format!("{name} to date")
            }
        }));
        head.push("All quarters".to_string());
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        body.push_str(&format!("<h3>{}</h3>\n", escape(heading)));
        body.push_str(&table(&format!("kpi-{}", slug(column)), &head, rows));
    }
    Ok(section("kpis", TITLE, &body))
}
