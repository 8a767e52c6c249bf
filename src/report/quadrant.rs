//! The rep quadrant of the latest complete quarter (rep_quarter_trends,
//! SPEC §4.2): x is the trend metric, y its change from the quarter before;
//! the dashed lines are the peer threshold and no change. With
//! `peer_group = "team"` each team is its own chart, with its own threshold.

use polars::prelude::*;

use super::charts::{self, LabelledPoint, NO_QUADRANT};
use super::format::{self, escape};
use super::{empty, figure, latest_complete, legend, section, slug, table, Cell, Marts, Settings};
use crate::config::{PeerGroup, TrendMetric};
use crate::domain::Quadrant;
use crate::error::Result;
use crate::frames::{floats, ints, strings};

pub const READS: super::Reads = &[(
    "rep_quarter_trends",
    Some(&[
        "rep_id",
        "rep_name",
        "team",
        "fiscal_quarter",
        "quarter_start",
        "is_complete",
        "metric",
        "change",
        "peer_threshold",
        "quadrant",
        "rank_in_peer_group",
    ]),
)];

/// Above this many reps a chart's points are not labelled: the names would
/// cover each other.
const MAX_LABELLED_POINTS: usize = 60;

/// Reps listed per quadrant; the mart has the rest.
const MAX_LISTED_PER_QUADRANT: usize = 25;

fn label(q: Quadrant) -> &'static str {
    match q {
        Quadrant::RisingStar => "Rising star",
        Quadrant::FallingStar => "Falling star",
        Quadrant::ImprovingLaggard => "Improving laggard",
        Quadrant::DecliningLaggard => "Declining laggard",
    }
}

/// One rep's row of the latest complete quarter.
struct Rep {
    name: String,
    team: String,
    metric: Option<f64>,
    change: Option<f64>,
    threshold: Option<f64>,
    quadrant: Option<Quadrant>,
    rank: Option<i64>,
}

pub fn render(marts: &Marts, settings: &Settings) -> Result<String> {
    const TITLE: &str = "Rep quadrant";
    let Some(trends) = marts.get("rep_quarter_trends") else {
        return Ok(section(
            "quadrant",
            TITLE,
            &empty("This run has no rep_quarter_trends mart."),
        ));
    };
    let complete = latest_complete(trends.clone().lazy())
        .sort(["team", "rep_name", "rep_id"], Default::default())
        .collect()?;
    if complete.height() == 0 {
        return Ok(section(
            "quadrant",
            TITLE,
            &empty("No quarter is complete yet: there is no quadrant to show."),
        ));
    }
    let quarter = strings(&complete, "fiscal_quarter")?[0]
        .clone()
        .unwrap_or_default();
    let names = strings(&complete, "rep_name")?;
    let ids = strings(&complete, "rep_id")?;
    let teams = strings(&complete, "team")?;
    let metrics = floats(&complete, "metric")?;
    let changes = floats(&complete, "change")?;
    let thresholds = floats(&complete, "peer_threshold")?;
    let quadrants = strings(&complete, "quadrant")?;
    let ranks = ints(&complete, "rank_in_peer_group")?;
    let reps: Vec<Rep> = (0..complete.height())
        .map(|i| Rep {
            name: names[i].clone().or(ids[i].clone()).unwrap_or_default(),
            team: teams[i].clone().unwrap_or_default(),
            metric: metrics[i],
            change: changes[i],
            threshold: thresholds[i],
            quadrant: quadrants[i]
                .as_deref()
                .and_then(|q| Quadrant::ALL.into_iter().find(|k| k.as_str() == q)),
            rank: ranks[i],
        })
        .collect();

    let metric_name = match settings.trend_metric {
        TrendMetric::WonAmount => "won amount",
        TrendMetric::QuotaAttainment => "quota attainment",
    };
    let show = |x: Option<f64>| match settings.trend_metric {
        TrendMetric::WonAmount => settings.money.whole(x),
        TrendMetric::QuotaAttainment => format::pct(x),
    };
    let axis = |x: f64| match settings.trend_metric {
        TrendMetric::WonAmount => settings.money.short(x),
        TrendMetric::QuotaAttainment => format!("{:.0}%", x * 100.0),
    };
    let top = settings
        .top_quantile
        .map(|q| format!("the top {}%", format::number((1.0 - q) * 100.0, 0)))
        .unwrap_or_else(|| "the top".to_string());

    // The peer groups: the company, or each team.
    let mut groups: Vec<Option<String>> = match settings.peer_group {
        PeerGroup::Company => vec![None],
        PeerGroup::Team => reps.iter().map(|r| Some(r.team.clone())).collect(),
    };
    groups.dedup();
    let mut charts_html = String::new();
    for group in &groups {
        let members: Vec<&Rep> = reps
            .iter()
            .filter(|r| group.as_ref().is_none_or(|t| &r.team == t))
            .collect();
        let points: Vec<LabelledPoint> = members
            .iter()
            .filter_map(|r| {
                Some(LabelledPoint {
                    label: r.name.clone(),
                    x: r.metric?,
                    y: r.change?,
                    color: r.quadrant.map_or(NO_QUADRANT, charts::quadrant_color),
                })
            })
            .collect();
        let labelled = points.len() <= MAX_LABELLED_POINTS;
        let points: Vec<LabelledPoint> = points
            .into_iter()
            .map(|p| LabelledPoint {
                label: if labelled { p.label } else { String::new() },
                ..p
            })
            .collect();
        let threshold = members.iter().find_map(|r| r.threshold);
        let (id, whose) = match group {
            None => ("quadrant-company".to_string(), "the company".to_string()),
            Some(team) => (format!("quadrant-{}", slug(team)), format!("team {team}")),
        };
        let unplotted = members.len() - points.len();
        let mut caption = format!(
            "{quarter}{}: x is each rep's {metric_name}, y its change from the quarter before. \
             Dashed lines: the peer threshold ({top} of {whose}: {}) and no change.",
            group.as_ref().map(|t| format!(", {t}")).unwrap_or_default(),
            show(threshold),
        );
        if !labelled {
            caption.push_str(&format!(
                " Above {MAX_LABELLED_POINTS} reps the points are not labelled; the table below names the best of each quadrant."
            ));
        }
        if unplotted > 0 {
            caption.push_str(&format!(
                " {unplotted} rep(s) without both a {metric_name} and a change are not plotted; they are in the table."
            ));
        }
        // The company's one chart is wide; a team's is one of a grid.
        let size = if group.is_none() {
            (900, 540)
        } else {
            (560, 420)
        };
        let svg = if points.is_empty() {
            None
        } else {
            Some(charts::scatter(
                size,
                &points,
                threshold,
                (metric_name, "change"),
                (&axis, &axis),
            )?)
        };
        charts_html.push_str(&match svg {
            Some(svg) => figure(&id, &svg, &escape(&caption)),
            None => empty(&format!(
                "{quarter}, {whose}: no rep has both a {metric_name} and a change to plot."
            )),
        });
    }
    let mut keys: Vec<(plotters::style::RGBColor, String)> = Quadrant::ALL
        .iter()
        .map(|q| (charts::quadrant_color(*q), label(*q).to_string()))
        .collect();
    keys.push((NO_QUADRANT, "No quarter before".to_string()));
    let body = format!(
        "<p>The latest complete quarter is <strong>{}</strong>. Top means at or above the peer \
         threshold of {}; rising and improving mean the {metric_name} grew.</p>\n{}<div{}>{charts_html}</div>\n<h3>Reps by quadrant</h3>\n{}",
        escape(&quarter),
        if settings.peer_group == PeerGroup::Team { "their team" } else { "the company" },
        legend(&keys),
        if groups.len() > 1 { " class=\"grid\"" } else { "" },
        rep_table(&reps, &show, metric_name)
    );
    Ok(section("quadrant", TITLE, &body))
}

/// Reps by quadrant, the best first within each.
fn rep_table(reps: &[Rep], show: &dyn Fn(Option<f64>) -> String, metric_name: &str) -> String {
    let order = |q: Option<Quadrant>| {
        q.map_or(Quadrant::ALL.len(), |q| {
            Quadrant::ALL.iter().position(|k| *k == q).unwrap()
        })
    };
    let mut sorted: Vec<&Rep> = reps.iter().collect();
    sorted.sort_by(|a, b| {
        order(a.quadrant)
            .cmp(&order(b.quadrant))
            .then(
                b.metric
                    .partial_cmp(&a.metric)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.name.cmp(&b.name))
    });
    let mut rows = vec![];
    for group in sorted.chunk_by(|a, b| a.quadrant == b.quadrant) {
        let name = group[0].quadrant.map_or(format::NULL, label);
        for r in group.iter().take(MAX_LISTED_PER_QUADRANT) {
            rows.push(vec![
                Cell::text(name),
                Cell::text(&r.name),
                Cell::text(&r.team),
                Cell::Num(show(r.metric)),
                Cell::Num(show(r.change)),
                Cell::count(r.rank),
            ]);
        }
        if group.len() > MAX_LISTED_PER_QUADRANT {
            let more = group.len() - MAX_LISTED_PER_QUADRANT;
            rows.push(vec![
                Cell::text(name),
                Cell::Text(format!("… and {more} more in rep_quarter_trends")),
                Cell::text(""),
                Cell::Num(String::new()),
                Cell::Num(String::new()),
                Cell::Num(String::new()),
            ]);
        }
    }
    let metric = format!("{}{}", metric_name[..1].to_uppercase(), &metric_name[1..]);
    table(
        "quadrant-reps",
        &[
            "Quadrant",
            "Rep",
            "Team",
            &metric,
            "Change",
            "Rank in peers",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(name: &str, metric: f64, quadrant: Quadrant) -> Rep {
        Rep {
            name: name.to_string(),
            team: "T".to_string(),
            metric: Some(metric),
            change: Some(-1.0),
            threshold: None,
            quadrant: Some(quadrant),
            rank: None,
        }
    }

    /// A quadrant lists its 25 best reps and counts the rest.
    #[test]
    fn a_crowded_quadrant_lists_25_reps_and_counts_the_rest() {
        // 27 declining laggards with metrics 1..=27 and one rising star.
        let mut reps: Vec<Rep> = (1..=27)
            .map(|i| rep(&format!("R{i:02}"), i as f64, Quadrant::DecliningLaggard))
            .collect();
        reps.push(rep("Star", 100.0, Quadrant::RisingStar));
        let html = rep_table(&reps, &|x| format::decimal(x, 0), "won amount");
        let rows: Vec<&str> = html.lines().filter(|l| l.starts_with("<tr>")).collect();
        // The star, 25 laggards from metric 27 down to 3, and "… and 2 more".
        assert_eq!(rows.len(), 1 + 25 + 1);
        assert!(rows[0].contains("Star"));
        assert!(rows[1].contains("<td>R27</td>") && rows[25].contains("<td>R03</td>"));
        assert!(rows[26].contains("… and 2 more in rep_quarter_trends"));
    }
}
