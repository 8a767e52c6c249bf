//! The run's report (`_runs/<run_id>/report.html`): one self-contained HTML
//! page for the people the marts are for. The sales-ops lead finds the rep
//! quadrant, the VP of sales which forecast method to trust, finance what
//! commissions cost.
//!
//! The page is rendered from a run's manifest and the mart files it lists,
//! read back from the output, and from nothing else: the run renders it
//! after writing its marts, and `salesops report` renders it again for any
//! published run. Charts are inline SVG (`charts`), so the page needs no
//! script and no network. An empty section says so; a null shows as "—".
//! Reading the marts' rows into Rust values here is a page's worth of rows
//! (hundreds), not a pipeline.

mod charts;
mod commissions;
mod forecasts;
pub mod format;
mod kpis;
mod leads;
mod pipeline;
mod quadrant;

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;

use crate::config::{PeerGroup, TrendMetric};
use crate::domain::Scope;
use crate::error::{Context as _, Error, Result};
use crate::frames::strings;
use crate::intermediate::rollup::GROUP_SCOPES;
use crate::publish::{self, FileEntry, Manifest};
use crate::storage::Storage;
use format::{escape, Money};

pub use charts::{hex, method_color, quadrant_color, ACTUAL, BASE_PAY, COMMISSION, FUNNEL};

/// Where a run's report is written, beside its manifest.
pub fn report_path(run_id: &str) -> String {
    format!("_runs/{run_id}/report.html")
}

/// Renders the report of the run `manifest` describes, from the mart files
/// it lists, and writes it at `report_path`.
pub fn write(output: &Storage, manifest: &Manifest) -> Result<FileEntry> {
    let page = render_run(output, manifest)?;
    publish::write_file(output, &report_path(&manifest.run_id), page.into_bytes(), 0)
}

/// The report of the run `manifest` describes, from the mart files it lists.
pub fn render_run(output: &Storage, manifest: &Manifest) -> Result<String> {
    let marts = Marts::read(output, manifest)?;
    render(manifest, &marts)
}

/// The report of a published run (`run_id`, or the one `_latest.json`
/// names), rendered again from its manifest and mart files: the run_id and
/// the page.
pub fn render_published(output: &Storage, run_id: Option<&str>) -> Result<(String, String)> {
    let run_id = match run_id {
        Some(id) => id.to_string(),
        None => match publish::latest(output)? {
            Some(latest) => latest.run_id,
            None => {
                return Err(Error::Usage(format!(
                    "{} has no published run: {} is absent",
                    output.url(),
                    output.display(publish::LATEST)
                )))
            }
        },
    };
    let Some(manifest) = publish::find_manifest(output, &run_id)? else {
        return Err(Error::Usage(format!(
            "run {run_id} has no manifest at {}: it was not published there, or retention deleted it",
            output.display(&publish::manifest_path(&run_id))
        )));
    };
    Ok((run_id, render_run(output, &manifest)?))
}

/// What a section reads: of each mart, its columns (None: all of them).
pub type Reads = &'static [(&'static str, Option<&'static [&'static str]>)];

/// Every mart column the page reads, by section. Nothing else is read: at
/// ten times the sample the marts hold millions of rows the page never
/// shows (rep-scope forecasts, every lead), and this keeps them on disk.
const READS: [Reads; 6] = [
    quadrant::READS,
    kpis::READS,
    forecasts::READS,
    commissions::READS,
    leads::READS,
    pipeline::READS,
];

/// The published marts of one run, read back from the files its manifest
/// lists, only the columns some section reads. A mart an older run did not
/// publish is absent.
pub struct Marts(BTreeMap<String, DataFrame>);

impl Marts {
    pub fn read(output: &Storage, manifest: &Manifest) -> Result<Marts> {
        let wanted: Vec<(&str, Option<&[&str]>, &publish::Dataset)> = READS
            .iter()
            .flat_map(|r| r.iter())
            .filter_map(|(name, columns)| {
                manifest
                    .marts
                    .get(*name)
                    .map(|dataset| (*name, *columns, dataset))
            })
            .collect();
        // Each mart on its own thread: the page is rendered at the end of
        // a run, when nothing else is left to do (about 8 ms of the 30 ms
        // a 1x run's page took, one mart after another).
        let read = crate::in_parallel(&wanted, |(name, columns, dataset)| {
            let mut frame: Option<DataFrame> = None;
            for file in &dataset.files {
                let bytes = output.get(&file.path)?;
                let df = ParquetReader::new(Cursor::new(bytes))
                    .with_columns(columns.map(|c| c.iter().map(|c| c.to_string()).collect()))
                    .finish()
                    .during(|| format!("reading {}", output.display(&file.path)))?;
                frame = Some(match frame {
                    None => df,
                    Some(mut all) => {
                        all.vstack_mut(&df)?;
                        all
                    }
                });
            }
            Ok((name.to_string(), frame.unwrap_or_default()))
        });
        Ok(Marts(read.into_iter().collect::<Result<_>>()?))
    }

    /// A mart's rows, or None when the run did not publish it.
    pub fn get(&self, name: &str) -> Option<&DataFrame> {
        self.0.get(name)
    }

    /// The rows of mart `name` for the section `(id, title)`, or that
    /// section saying why it has nothing to show: the run did not publish
    /// the mart, or it has no rows (`when_empty`).
    pub fn rows_for(
        &self,
        name: &str,
        (id, title): (&str, &str),
        when_empty: &str,
    ) -> std::result::Result<&DataFrame, String> {
        match self.get(name) {
            None => Err(section(
                id,
                title,
                &empty(&format!("This run has no {name} mart.")),
            )),
            Some(df) if df.height() == 0 => Err(section(id, title, &empty(when_empty))),
            Some(df) => Ok(df),
        }
    }
}

/// What every section needs of the run's config (from its manifest).
pub struct Settings {
    pub money: Money,
    pub peer_group: PeerGroup,
    pub trend_metric: TrendMetric,
    pub top_quantile: Option<f64>,
}

impl Settings {
    fn of(manifest: &Manifest) -> Result<Settings> {
        fn setting<T: serde::de::DeserializeOwned>(manifest: &Manifest, key: &str) -> Result<T> {
            let value = manifest.config.get(key).cloned().unwrap_or_default();
            serde_json::from_value(value).map_err(|e| {
                Error::Data(format!(
                    "the manifest of run {}: config key `{key}`: {e}",
                    manifest.run_id
                ))
            })
        }
        Ok(Settings {
            money: Money::new(&setting::<String>(manifest, "reporting_currency")?),
            peer_group: setting(manifest, "peer_group")?,
            trend_metric: setting(manifest, "trend_metric")?,
            top_quantile: setting(manifest, "top_quantile")?,
        })
    }
}

/// The whole page.
pub fn render(manifest: &Manifest, marts: &Marts) -> Result<String> {
    let settings = Settings::of(manifest)?;
    // The sections in page order, each rendered on its own thread (the
    // forecasts section alone took 13 of the 20 ms of a 1x run's page).
    type Render = fn(&Marts, &Settings) -> Result<String>;
    let renders: [Render; 7] = [
        quadrant::render,
        |marts, _| kpis::render(marts),
        forecasts::render,
        commissions::render,
        |marts, _| leads::render(marts),
        pipeline::movement,
        |marts, _| pipeline::conversion(marts),
    ];
    let sections = std::iter::once(Ok(header(manifest)))
        .chain(crate::in_parallel(&renders, |render| {
            render(marts, &settings)
        }))
        .collect::<Result<Vec<String>>>()?;
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>salesops report: run {run}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}\n</body>\n</html>\n",
        sections.concat(),
        run = escape(&manifest.run_id),
    ))
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f1f1f;
  max-width: 1100px; margin: 0 auto; padding: 24px; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #2b6cb0; padding-bottom: 4px; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e2e2e2; text-align: left; vertical-align: middle; }
th { background: #f4f6f8; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.spark { padding: 0 6px; }
dl.run { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.run dt { font-weight: 600; } dl.run dd { margin: 0; }
figure { margin: 8px 0 16px; }
figure svg { max-width: 100%; height: auto; display: block; }
figure.sparkline { margin: 0; }
figure.sparkline svg { max-width: none; width: 120px; height: 32px; }
figcaption { font-size: 0.85em; color: #555; max-width: 640px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px 24px; }
.legend { list-style: none; padding: 0; margin: 4px 0; font-size: 0.85em; }
.legend li { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
.empty { color: #555; font-style: italic; }
.best { font-weight: 600; }
.verdict { font-size: 1.05em; background: #f4f6f8; padding: 8px 12px; border-left: 4px solid #2f855a; }
.note { font-size: 0.85em; color: #555; }
@media print { body { max-width: none; padding: 0; } section { break-inside: avoid-page; }
  h2 { break-after: avoid; } }
";

/// Run, as_of, source, and what each table read and rejected.
fn header(manifest: &Manifest) -> String {
    let mut rows = vec![];
    for (table, stats) in &manifest.tables {
        let mut reasons: Vec<(&String, &usize)> = stats.reasons.iter().collect();
        // Most rejected first; a tie in the reasons' order.
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(reason, n)| format!("{} ({})", escape(reason), format::count(Some(**n as i64))))
            .collect();
        rows.push(vec![
            Cell::text(table),
            Cell::count(Some(stats.rows_read as i64)),
            Cell::count(Some(stats.rejected as i64)),
            Cell::Html(if top.is_empty() {
                format::NULL.to_string()
            } else {
                top.join(", ")
            }),
        ]);
    }
    let run = [
        ("Run", manifest.run_id.as_str()),
        ("As of", manifest.as_of.as_str()),
        ("Source", manifest.source.as_str()),
        ("Published", manifest.published_at.as_str()),
        ("salesops", manifest.version.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("<dt>{k}</dt><dd>{}</dd>", escape(v)))
    .collect::<String>();
    format!(
        "<header id=\"run\">\n<h1>Sales operations report</h1>\n<dl class=\"run\">{run}</dl>\n\
         <h3>Rows read and rejected</h3>\n{}\
         <p class=\"note\">Rejected rows are in the run's quarantine (<code>_rejected/run_id={}/</code>), \
         each with its file, row and reason.</p>\n</header>\n",
        table(
            "tables",
            &["Table", "Rows read", "Rejected", "Top reasons"],
            rows
        ),
        escape(&manifest.run_id),
    )
}

/// A table cell: text to escape, a number (right-aligned), or HTML.
pub enum Cell {
    Text(String),
    Num(String),
    Html(String),
}

impl Cell {
    pub fn text(s: impl AsRef<str>) -> Cell {
        Cell::Text(s.as_ref().to_string())
    }
    pub fn count(n: Option<i64>) -> Cell {
        Cell::Num(format::count(n))
    }
    fn html(&self) -> String {
        match self {
            Cell::Text(t) => format!("<td>{}</td>", escape(t)),
            Cell::Num(n) => format!("<td class=\"num\">{}</td>", escape(n)),
            Cell::Html(h) => format!("<td>{h}</td>"),
        }
    }
}

/// A table with `id`; a heading is right-aligned over numbers.
pub fn table(id: &str, head: &[&str], rows: Vec<Vec<Cell>>) -> String {
    let head: String = head
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let numeric = matches!(rows.first().and_then(|r| r.get(i)), Some(Cell::Num(_)));
            let class = if numeric { " class=\"num\"" } else { "" };
            format!("<th{class}>{}</th>", escape(h))
        })
        .collect();
    let body: String = rows
        .iter()
        .map(|r| {
            format!(
                "<tr>{}</tr>\n",
                r.iter().map(Cell::html).collect::<String>()
            )
        })
        .collect();
    format!(
        "<table id=\"{id}\">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"
    )
}

/// A section with its heading.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\">\n<h2>{}</h2>\n{body}</section>\n",
        escape(title)
    )
}

/// What an empty section says instead of drawing an empty chart.
pub fn empty(text: &str) -> String {
    format!("<p class=\"empty\">{}</p>\n", escape(text))
}

/// A chart with its id (what tests and readers find it by) and caption.
pub fn figure(id: &str, svg: &str, caption: &str) -> String {
    format!("<figure id=\"{id}\" class=\"chart\">\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>\n")
}

/// A legend of colour swatches, beside a chart.
pub fn legend(items: &[(plotters::style::RGBColor, String)]) -> String {
    let items: String = items
        .iter()
        .map(|(c, label)| {
            format!(
                "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                hex(*c),
                escape(label)
            )
        })
        .collect();
    format!("<ul class=\"legend\">{items}</ul>\n")
}

/// An id made of `text`: lowercase letters and digits, others as '-'.
pub fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The company and team scope_ids of a scoped mart (the page shows no rep
/// scope), the company's `all` first, then the teams by name.
pub fn scope_ids(df: &DataFrame) -> Result<Vec<(Scope, String)>> {
    let scopes = strings(df, "scope")?;
    let ids = strings(df, "scope_id")?;
    let mut out: Vec<(Scope, String)> = scopes
        .into_iter()
        .zip(ids)
        .filter_map(|(s, id)| {
            let scope = GROUP_SCOPES
                .into_iter()
                .find(|g| Some(g.as_str()) == s.as_deref())?;
            Some((scope, id?))
        })
        .collect();
    out.sort_by_key(|(s, id)| (*s != Scope::Company, id.clone()));
    out.dedup();
    Ok(out)
}

/// How a scope_id is named on the page.
pub fn scope_label(scope: Scope, id: &str) -> String {
    if scope == Scope::Company {
        "Company".to_string()
    } else {
        id.to_string()
    }
}

/// The rows of the newest quarter whose `is_complete` is true.
pub fn latest_complete(lf: LazyFrame) -> LazyFrame {
    lf.filter(col("is_complete"))
        .filter(col("quarter_start").eq(col("quarter_start").max()))
}
