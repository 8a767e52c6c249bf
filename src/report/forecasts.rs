//! Forecast against actual (forecasts SPEC §4.4, forecast_accuracy §4.5),
//! the company and each team: the won amount of each complete quarter and
//! one line per method, as forecast on the first snapshot day of the
//! quarter. Then how accurate each method was (forecast_accuracy_summary,
//! §4.6) and which one to trust.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::format::{self, escape};
use super::{
    charts, empty, figure, legend, scope_ids, scope_label, section, slug, table, Cell, Marts,
    Settings,
};
use crate::domain::{ForecastMethod, Scope};
use crate::error::Result;
use crate::frames::{bools, floats, ints, strings};

pub const READS: super::Reads = &[
    (
        "forecasts",
        Some(&[
            "scope",
            "scope_id",
            "fiscal_quarter",
            "quarter_start",
            "method",
            "days_into_quarter",
            "forecast_amount",
        ]),
    ),
    (
        "forecast_accuracy",
        Some(&["scope", "scope_id", "quarter_start", "actual_amount"]),
    ),
    (
        "forecast_accuracy_summary",
        Some(&[
            "scope",
            "method",
            "days_into_quarter",
            "observations",
            "wape",
            "bias",
            "best_method",
        ]),
    ),
];

/// A method's record at one scope: the days it was best on, and its WAPE
/// on each day.
struct Record {
    method: ForecastMethod,
    best_days: usize,
    wapes: Vec<(i64, Option<f64>)>,
}

fn method_of(name: &str) -> Option<ForecastMethod> {
    ForecastMethod::ALL.into_iter().find(|m| m.as_str() == name)
}

pub fn render(marts: &Marts, settings: &Settings) -> Result<String> {
    const TITLE: &str = "Forecast against actual";
    let (Some(forecasts), Some(accuracy)) =
        (marts.get("forecasts"), marts.get("forecast_accuracy"))
    else {
        return Ok(section(
            "forecasts",
            TITLE,
            &empty("This run has no forecasts mart."),
        ));
    };
    let made = forecasts
        .clone()
        .lazy()
        .filter(col("forecast_amount").is_not_null())
        .collect()?;
    if made.height() == 0 {
        return Ok(section(
            "forecasts",
            TITLE,
            &empty("No forecasts: no quarter had a snapshot with a forecast by any method."),
        ));
    }
    // The first snapshot day of a quarter: the forecast finance budgets from.
    let day = ints(&made, "days_into_quarter")?
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(0);
    let mut body = format!(
        "<p>Lines are each method's forecast on day {day} of the quarter; the black line is what \
         was won, for complete quarters.</p>\n"
    );
    let present: BTreeSet<String> = strings(&made, "method")?.into_iter().flatten().collect();
    let mut keys = vec![(charts::ACTUAL, "Actual (won)".to_string())];
    for m in ForecastMethod::ALL {
        let name = if present.contains(m.as_str()) {
            m.as_str().to_string()
        } else if m == ForecastMethod::RepCommit {
            format!("{}: no forecasts submitted", m.as_str())
        } else {
            format!("{}: no forecast", m.as_str())
        };
        keys.push((charts::method_color(m), name));
    }
    body.push_str(&legend(&keys));
    let on_day = forecasts
        .clone()
        .lazy()
        .filter(col("days_into_quarter").cast(DataType::Int64).eq(lit(day)))
        .collect()?;
    let mut charts_html = String::new();
    for (scope, id) in scope_ids(forecasts)? {
        let of_scope = |df: &DataFrame| -> Result<DataFrame> {
            Ok(df
                .clone()
                .lazy()
                .filter(
                    scope
                        .matches(col("scope"))
                        .and(col("scope_id").eq(lit(id.as_str()))),
                )
                .collect()?)
        };
        let rows = of_scope(&on_day)?;
        let actual_rows = of_scope(accuracy)?;
        // Quarters in order, named.
        let mut quarters: BTreeMap<String, String> = BTreeMap::new();
        for (start, name) in strings(&rows, "quarter_start")?
            .into_iter()
            .zip(strings(&rows, "fiscal_quarter")?)
        {
            if let (Some(start), Some(name)) = (start, name) {
                quarters.insert(start, name);
            }
        }
        let position: BTreeMap<&String, usize> =
            quarters.keys().enumerate().map(|(i, q)| (q, i)).collect();
        let mut actual = vec![None; quarters.len()];
        for (start, amount) in strings(&actual_rows, "quarter_start")?
            .into_iter()
            .zip(floats(&actual_rows, "actual_amount")?)
        {
            if let (Some(i), Some(amount)) = (start.as_ref().and_then(|s| position.get(s)), amount)
            {
                actual[*i] = Some(amount);
            }
        }
        let mut lines = vec![charts::Line {
            color: charts::ACTUAL,
            values: actual,
            width: 3,
        }];
        let methods = strings(&rows, "method")?;
        let starts = strings(&rows, "quarter_start")?;
        let amounts = floats(&rows, "forecast_amount")?;
        for m in ForecastMethod::ALL {
            let mut values = vec![None; quarters.len()];
            for i in 0..rows.height() {
                if methods[i].as_deref() == Some(m.as_str()) {
                    if let Some(p) = starts[i].as_ref().and_then(|s| position.get(s)) {
                        values[*p] = amounts[i];
                    }
                }
            }
            if values.iter().any(Option::is_some) {
                lines.push(charts::Line {
                    color: charts::method_color(m),
                    values,
                    width: 2,
                });
            }
        }
        let names: Vec<String> = quarters.into_values().collect();
        let svg = charts::lines(&names, &lines, &|v| settings.money.short(v))?;
        let label = scope_label(scope, &id);
        charts_html.push_str(&format!(
            "<div><h3>{}</h3>\n{}</div>\n",
            escape(&label),
            figure(
                &format!("forecast-{}-{}", slug(scope.as_str()), slug(&id)),
                &svg,
                &escape(&format!(
                    "{label}: forecasts on day {day} of each quarter and the amount won."
                )),
            )
        ));
    }
    body.push_str(&format!("<div class=\"grid\">{charts_html}</div>\n"));
    body.push_str(&accuracy_summary(marts)?);
    Ok(section("forecasts", TITLE, &body))
}

/// The accuracy summary, one table per scope (company, team): method ×
/// days into the quarter, WAPE and bias, the best method marked; and a
/// sentence on which method to trust.
fn accuracy_summary(marts: &Marts) -> Result<String> {
    let mut out = String::from("<h3>How accurate each method was</h3>\n");
    let Some(summary) = marts.get("forecast_accuracy_summary") else {
        return Ok(out + &empty("This run has no forecast_accuracy_summary mart."));
    };
    if summary.height() == 0 {
        return Ok(out + &empty("No forecast has been checked against a complete quarter yet."));
    }
    out.push_str(
        "<p class=\"note\">WAPE: the forecasts' absolute errors over what was won (lower is better). \
         Bias: their errors over what was won (above 0: forecasts ran high). ★ marks the lowest WAPE \
         of the day.</p>\n",
    );
    let scopes = strings(summary, "scope")?;
    let methods = strings(summary, "method")?;
    let days = ints(summary, "days_into_quarter")?;
    let observations = ints(summary, "observations")?;
    let wape = floats(summary, "wape")?;
    let bias = floats(summary, "bias")?;
    let best = bools(summary, "best_method")?;
    for scope in [Scope::Company, Scope::Team] {
        let rows: Vec<usize> = (0..summary.height())
            .filter(|i| scopes[*i].as_deref() == Some(scope.as_str()))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let all_days: BTreeSet<i64> = rows.iter().filter_map(|i| days[*i]).collect();
        let mut table_rows = vec![];
        let mut records: Vec<Record> = vec![];
        for m in ForecastMethod::ALL {
            let of_method: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|i| methods[*i].as_deref().and_then(method_of) == Some(m))
                .collect();
            if of_method.is_empty() {
                continue;
            }
            let mut row = vec![Cell::text(m.as_str())];
            let mut best_days = 0;
            let mut wapes = vec![];
            for d in &all_days {
                let cell = of_method.iter().find(|i| days[**i] == Some(*d));
                row.push(match cell {
                    None => Cell::Num(format::NULL.to_string()),
                    Some(&i) => {
                        let is_best = best[i] == Some(true);
                        best_days += usize::from(is_best);
                        wapes.push((*d, wape[i]));
                        Cell::Html(format!(
                            "<span class=\"{}\">WAPE {} · bias {}{}</span> <span class=\"note\">n={}</span>",
                            if is_best { "best" } else { "" },
                            format::pct(wape[i]),
                            format::pct(bias[i]),
                            if is_best { " ★" } else { "" },
                            format::count(observations[i]),
                        ))
                    }
                });
            }
            records.push(Record {
                method: m,
                best_days,
                wapes,
            });
            table_rows.push(row);
        }
        let mut head = vec!["Method".to_string()];
        head.extend(all_days.iter().map(|d| format!("Day {d}")));
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "<h3>{}</h3>\n",
            if scope == Scope::Company {
                "Company"
            } else {
                "Teams"
            }
        ));
        if let Some(sentence) = verdict(scope, &records, all_days.len()) {
            out.push_str(&format!("<p class=\"verdict\">{sentence}</p>\n"));
        }
        out.push_str(&table(
            &format!("accuracy-{}", scope.as_str()),
            &head,
            table_rows,
        ));
    }
    Ok(out)
}

/// Which method to trust at `scope`: the one that was best on the most
/// snapshot days (a tie goes to the lower mean WAPE). None when no method
/// was best on any day (no WAPE could be computed).
fn verdict(scope: Scope, records: &[Record], days: usize) -> Option<String> {
    let mean_wape = |r: &Record| {
        let v: Vec<f64> = r.wapes.iter().filter_map(|(_, x)| *x).collect();
        if v.is_empty() {
            f64::INFINITY
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let Record {
        method,
        best_days,
        wapes,
    } = records.iter().filter(|r| r.best_days > 0).max_by(|a, b| {
        a.best_days
            .cmp(&b.best_days)
            .then(mean_wape(b).total_cmp(&mean_wape(a)))
    })?;
    let on_days: Vec<String> = wapes
        .iter()
        .map(|(d, w)| format!("{} on day {d}", format::pct(*w)))
        .collect();
    let whose = if scope == Scope::Company {
        "the company's"
    } else {
        "the teams'"
    };
    Some(format!(
        "Trust <strong>{}</strong> for {whose} forecast: it had the lowest WAPE on {best_days} of {days} \
         snapshot day(s) (WAPE {}).",
        method.as_str(),
        on_days.join(", ")
    ))
}
