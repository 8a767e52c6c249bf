//! The run's report (src/report), read as a browser would: parsed with
//! html5ever (scraper), its charts' points and bars counted, its tables'
//! cells compared with hand-worked numbers from the fixtures and with the
//! published marts. The page in a real browser is `report_in_a_browser`.

use std::collections::BTreeMap;
use std::process::Command;

use polars::prelude::*;
use scraper::{ElementRef, Html, Selector};
use sha2::{Digest, Sha256};

use super::harness::{local, mart, published, run_fixture};
use salesops::report::{hex, method_color, BASE_PAY, COMMISSION, FUNNEL};
use salesops::storage::Storage;

/// The published report of the run `_latest.json` names: listed in the
/// manifest beside it, with its bytes and sha256, and parsed with no error.
fn report(out: &Storage) -> Html {
    let m = published(out);
    let entry = m.report.expect("the manifest lists the report");
    assert_eq!(entry.path, format!("_runs/{}/report.html", m.run_id));
    let bytes = out.get(&entry.path).unwrap();
    assert_eq!(entry.bytes, bytes.len());
    assert_eq!(entry.sha256, format!("{:x}", Sha256::digest(&bytes)));
    let page = Html::parse_document(std::str::from_utf8(&bytes).unwrap());
    assert!(
        page.errors.is_empty(),
        "HTML parse errors: {:?}",
        page.errors
    );
    page
}

fn select<'a>(page: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    page.select(&Selector::parse(css).unwrap()).collect()
}

fn count(page: &Html, css: &str) -> usize {
    select(page, css).len()
}

fn text(e: &ElementRef) -> String {
    e.text().collect::<String>().trim().to_string()
}

/// The cells of a table's body, as text.
fn rows(page: &Html, table: &str) -> Vec<Vec<String>> {
    select(page, &format!("{table} tbody tr"))
        .iter()
        .map(|tr| {
            tr.select(&Selector::parse("td").unwrap())
                .map(|td| text(&td))
                .collect()
        })
        .collect()
}

fn caption(page: &Html, figure: &str) -> String {
    text(&select(page, &format!("{figure} figcaption"))[0])
}

/// Circles of one colour (a chart's points of one series).
fn points(page: &Html, figure: &str, colour: &str) -> usize {
    count(page, &format!("{figure} svg circle[fill=\"{colour}\"]"))
}

fn run_hand(pipeline: &str) -> (tempfile::TempDir, Storage) {
    run_fixture(pipeline, "2024-09-15")
}

#[test]
fn the_hand_fixtures_report_shows_its_quadrant_and_kpis() {
    let (_dir, out) = run_hand("tests/fixtures/hand/pipeline.toml");
    let page = report(&out);
    let m = published(&out);
    let heading = text(&select(&page, "header#run dl")[0]);
    assert!(heading.contains(&m.run_id) && heading.contains("2024-09-15"));
    // Four reps, none rejected.
    assert!(rows(&page, "#tables").contains(&vec![
        "reps".to_string(),
        "4".to_string(),
        "0".to_string(),
        "—".to_string()
    ]));

    // The latest complete quarter is FY2025-Q2 (Q3 holds as_of). Won: A 0,
    // B 0, C 12,000, D 12,000; each rep had Q1, so all four are plotted.
    // Threshold: the median of 0, 0, 12,000, 12,000 = 6,000.
    assert_eq!(count(&page, "#quadrant-company svg circle"), 4);
    let c = caption(&page, "#quadrant-company");
    assert!(c.starts_with("FY2025-Q2") && c.contains("$6,000"), "{c}");
    assert_eq!(
        rows(&page, "#quadrant-reps"),
        [
            // C, D: 12,000 ≥ 6,000 and up 12,000 from Q1's 0; tied, rank 1.
            ["Rising star", "Cat", "West", "$12,000", "$12,000", "1"],
            ["Rising star", "Dan", "West", "$12,000", "$12,000", "1"],
            // A, B: 0 < 6,000, down from 10,000 and 8,800; tied, rank 3.
            ["Declining laggard", "Ann", "East", "$0", "-$10,000", "3"],
            ["Declining laggard", "Bob", "East", "$0", "-$8,800", "3"],
        ]
    );

    // Win rate = won / (won + lost). Q1: East A won O1, lost O2, B won O3
    // -> 2/3; West closed nothing -> null. Q2: East closed nothing; West C
    // and D won -> 1. Q3: East B won O10 -> 1; West D lost O8 -> 0.
    let head: Vec<String> = select(&page, "#kpi-win-rate thead th")
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        head,
        [
            "",
            "FY2025-Q1",
            "FY2025-Q2",
            "FY2025-Q3 to date",
            "All quarters"
        ]
    );
    assert_eq!(
        rows(&page, "#kpi-win-rate"),
        [
            ["Company", "66.7%", "100.0%", "50.0%", ""],
            ["East", "66.7%", "—", "100.0%", ""],
            ["West", "—", "100.0%", "0.0%", ""],
        ]
    );
    // A sparkline has a point per quarter with a value.
    assert_eq!(count(&page, "#spark-win-rate-company-all circle"), 3);
    assert_eq!(count(&page, "#spark-win-rate-team-east circle"), 2);
    assert_eq!(count(&page, "#spark-win-rate-team-west circle"), 2);

    // Every KPI cell is the mart's value.
    let kpis = mart(&out, "team_quarter_kpis");
    for (table, column) in [
        ("#kpi-win-rate", "win_rate"),
        ("#kpi-quota-attainment", "quota_attainment"),
        ("#kpi-selling-time-share", "selling_time_share"),
    ] {
        let shown = rows(&page, table);
        let ids = ["all", "East", "West"];
        for (r, id) in ids.iter().enumerate() {
            let of_id = kpis
                .clone()
                .lazy()
                .filter(col("scope_id").eq(lit(*id)))
                .sort(["quarter_start"], Default::default())
                .collect()
                .unwrap();
            let values: Vec<String> = of_id
                .column(column)
                .unwrap()
                .f64()
                .unwrap()
                .iter()
                .map(|v| v.map_or("—".to_string(), |v| format!("{:.1}%", v * 100.0)))
                .collect();
            assert_eq!(shown[r][1..4], values[..], "{table} {id}");
        }
    }

    // No forecast_submissions in this fixture: rep_commit says so.
    let legend = text(&select(&page, "section#forecasts ul.legend")[0]);
    assert!(
        legend.contains("rep_commit: no forecasts submitted"),
        "{legend}"
    );
    for section in [
        "quadrant",
        "kpis",
        "forecasts",
        "commissions",
        "leads",
        "movement",
        "conversion",
    ] {
        assert_eq!(count(&page, &format!("section#{section}")), 1, "{section}");
    }
}

/// `peer_group = "team"` (its own code path): a quadrant per team, each with
/// its team's threshold.
#[test]
fn with_teams_as_peers_each_team_has_its_quadrant() {
    let (_dir, out) = run_hand("tests/fixtures/hand/peer_team.toml");
    let page = report(&out);
    assert_eq!(count(&page, "#quadrant-company"), 0);
    assert_eq!(count(&page, "#quadrant-east svg circle"), 2);
    assert_eq!(count(&page, "#quadrant-west svg circle"), 2);
    // Q2 won: East A 0, B 0 -> threshold 0; West C, D 12,000 -> 12,000.
    assert!(caption(&page, "#quadrant-east").contains("team East: $0)"));
    assert!(caption(&page, "#quadrant-west").contains("team West: $12,000)"));
    assert_eq!(
        rows(&page, "#quadrant-reps"),
        [
            // West: both at the threshold (top), up 12,000; tied first.
            ["Rising star", "Cat", "West", "$12,000", "$12,000", "1"],
            ["Rising star", "Dan", "West", "$12,000", "$12,000", "1"],
            // East: both at 0 = the threshold (top), but down.
            ["Falling star", "Ann", "East", "$0", "-$10,000", "1"],
            ["Falling star", "Bob", "East", "$0", "-$8,800", "1"],
        ]
    );
}

/// `trend_metric = "quota_attainment"` (its own code path): the quadrant
/// plots attainment, as percentages.
#[test]
fn with_quota_attainment_as_the_trend_metric_the_quadrant_plots_it() {
    let (_dir, out) = run_hand("tests/fixtures/hand/quota_trend.toml");
    let page = report(&out);
    // Q2 attainment: A 0 / 30,000 = 0 (Q1 10,000 / 30,000: change -1/3);
    // B's quota is 0 and C has none: null; D 12,000 / 20,000 = 0.6, but D
    // had no Q1 quota, so no change. Only A is plotted.
    assert_eq!(count(&page, "#quadrant-company svg circle"), 1);
    // Threshold: the median of 0 and 0.6 = 0.3.
    let c = caption(&page, "#quadrant-company");
    assert!(
        c.contains("30.0%") && c.contains("3 rep(s) without both"),
        "{c}"
    );
    let shown: Vec<Vec<String>> = rows(&page, "#quadrant-reps")
        .into_iter()
        .map(|r| r[..5].to_vec())
        .collect();
    assert_eq!(
        shown,
        [
            ["Declining laggard", "Ann", "East", "0.0%", "-33.3%"],
            ["—", "Dan", "West", "60.0%", "—"],
            ["—", "Bob", "East", "—", "—"],
            ["—", "Cat", "West", "—", "—"],
        ]
    );
    let head: Vec<String> = select(&page, "#quadrant-reps thead th")
        .iter()
        .map(text)
        .collect();
    assert_eq!(head[3], "Quota attainment");
}

#[test]
fn the_forecast_section_has_a_line_per_method_and_says_which_to_trust() {
    let (_dir, out) = run_fixture("tests/fixtures/forecast/pipeline.toml", "2024-07-15");
    let page = report(&out);
    // Company forecasts on day 0 (tests/it/forecasts.rs): Q1 stage_weighted
    // 0, cycle_age null, rep_commit 15,000, historical_growth 0; Q2 5,200,
    // 28,000, 25,000, 27,000; Q3 2,100, 15,000, null, 8,000. Won: Q1
    // 17,000, Q2 8,000; Q3 is not complete.
    let company = "#forecast-company-all";
    assert_eq!(points(&page, company, &hex(salesops::report::ACTUAL)), 2);
    let per_method = [
        (salesops::domain::ForecastMethod::StageWeighted, 3),
        (salesops::domain::ForecastMethod::CycleAge, 2),
        (salesops::domain::ForecastMethod::RepCommit, 2),
        (salesops::domain::ForecastMethod::HistoricalGrowth, 3),
    ];
    for (method, n) in per_method {
        assert_eq!(
            points(&page, company, &hex(method_color(method))),
            n,
            "{method:?}"
        );
    }
    // South never submits: no rep_commit line in its chart.
    let rep_commit = hex(method_color(salesops::domain::ForecastMethod::RepCommit));
    assert_eq!(points(&page, "#forecast-team-south", &rep_commit), 0);

    // Company WAPE: day 0 rep_commit 0.76 (best), stage_weighted 19,800 /
    // 25,000 = 0.792; day 30 stage_weighted 22,400 / 25,000 = 0.896 (best),
    // rep_commit 1.12. One best day each: the lower mean WAPE wins,
    // stage_weighted (0.844 against 0.94).
    let verdict = text(&select(&page, "section#forecasts p.verdict")[0]);
    assert_eq!(
        verdict,
        "Trust stage_weighted for the company's forecast: it had the lowest WAPE on 1 of 2 \
         snapshot day(s) (WAPE 79.2% on day 0, 89.6% on day 30)."
    );
    let accuracy = rows(&page, "#accuracy-company");
    let row = |method: &str| accuracy.iter().find(|r| r[0] == method).unwrap().clone();
    // Bias: rep_commit day 0 (15,000 − 17,000) + (25,000 − 8,000) = 15,000
    // over 25,000; stage_weighted day 30 (5,000 − 17,000) + (18,400 −
    // 8,000) = −1,600 over 25,000.
    assert_eq!(row("rep_commit")[1], "WAPE 76.0% · bias 60.0% ★ n=2");
    assert_eq!(row("stage_weighted")[2], "WAPE 89.6% · bias -6.4% ★ n=2");
    assert_eq!(row("stage_weighted")[1], "WAPE 79.2% · bias -79.2% n=2");

    // This fixture has no leads: the section says so, with no chart.
    assert_eq!(count(&page, "#lead-funnel"), 0);
    assert_eq!(
        text(&select(&page, "section#leads p.empty")[0]),
        "No leads in this run."
    );
}

#[test]
fn commissions_and_the_lead_funnel_add_up_the_marts() {
    let (_dir, out) = run_fixture("tests/fixtures/leads/pipeline.toml", "2024-04-20");
    let page = report(&out);
    // tests/it/leads_and_commissions.rs: J (junior, base 4,000) from
    // January to April, K (senior, base 6,000) January to March.
    // January: J 4,000 + K 6,000, no commission. February: J 1,200 + K
    // 2,500 = 3,700. March: none. April (to date): J alone.
    assert_eq!(
        rows(&page, "#commissions"),
        [
            ["2024-04 to date", "$4,000.00", "$0.00", "$4,000.00"],
            ["2024-03", "$10,000.00", "$0.00", "$10,000.00"],
            ["2024-02", "$10,000.00", "$3,700.00", "$13,700.00"],
            ["2024-01", "$10,000.00", "$0.00", "$10,000.00"],
        ]
    );
    let chart = "#commissions-chart svg";
    assert_eq!(
        count(&page, &format!("{chart} rect[fill=\"{}\"]", hex(BASE_PAY))),
        4
    );
    assert_eq!(
        count(
            &page,
            &format!("{chart} rect[fill=\"{}\"]", hex(COMMISSION))
        ),
        4
    );

    // Leads by as_of: L1 (webinar: SQL, converted, answered in 45 min), L2
    // (inbound: SQL, answered at once), L3 (event) and L5 (referral), never
    // answered. L4 came after as_of. Median response of 45 and 0: 22.5.
    assert_eq!(
        count(
            &page,
            &format!("#lead-funnel svg rect[fill=\"{}\"]", hex(FUNNEL))
        ),
        3
    );
    assert_eq!(
        rows(&page, "#leads-by-source"),
        [
            ["event", "1", "0", "0", "—"],
            ["inbound", "1", "1", "0", "0.0 min"],
            ["referral", "1", "0", "0", "—"],
            ["webinar", "1", "1", "1", "45.0 min"],
            ["All", "4", "2", "1", "22.5 min"],
        ]
    );
}

/// `salesops report` renders a published run again from its manifest and
/// marts: the same page, byte for byte; an older run by `--run-id`; a clear
/// error where nothing is published.
#[test]
fn salesops_report_renders_a_published_run_again() {
    let (dir, out) = run_hand("tests/fixtures/hand/pipeline.toml");
    let first = published(&out);
    // A second run (another as_of) becomes the latest.
    super::harness::run_into(
        &salesops::config::Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap(),
        &local(std::path::Path::new("tests/fixtures/hand")),
        &out,
        "2024-09-20",
        false,
    )
    .unwrap();
    let second = published(&out);
    assert_ne!(first.run_id, second.run_id);
    let to = dir.path().join("again.html");
    let salesops = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_salesops"))
            .args(["report", "--pipeline", "tests/fixtures/hand/pipeline.toml"])
            .args(["--output", dir.path().to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    };
    for (args, run) in [
        (vec![], &second),
        (vec!["--run-id", first.run_id.as_str()], &first),
    ] {
        let mut args = args.clone();
        args.extend(["--to", to.to_str().unwrap()]);
        let o = salesops(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let published = out.get(&run.report.as_ref().unwrap().path).unwrap();
        assert_eq!(
            std::fs::read(&to).unwrap(),
            published.to_vec(),
            "run {}",
            run.run_id
        );
    }

    let o = salesops(&[
        "--run-id",
        "20240101-0000000000000000",
        "--to",
        to.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("run 20240101-0000000000000000 has no manifest at"),
        "{stderr}"
    );

    let empty = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_salesops"))
        .args(["report", "--pipeline", "tests/fixtures/hand/pipeline.toml"])
        .args([
            "--output",
            empty.path().to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("has no published run") && stderr.contains("_latest.json"),
        "{stderr}"
    );
}

/// The sample run's report in headless Chromium (tests/browser): no console
/// error and no request but the page itself, every chart laid out with a
/// size, and a screenshot that is not blank. Fails, never skips, when
/// Chromium or Node cannot start (`.ci/services` installs them).
#[test]
fn report_in_a_browser() {
    let (dir, out) = run_fixture("pipelines/default.toml", "2025-11-15");
    let m = published(&out);
    let report = dir.path().join(&m.report.as_ref().unwrap().path);
    let page = Html::parse_document(&std::fs::read_to_string(&report).unwrap());
    let screenshot = dir.path().join("report.png");
    let o = Command::new("node")
        .arg("tests/browser/check_report.cjs")
        .arg(&report)
        .arg(&screenshot)
        .output()
        .expect("node runs (bash .ci/services installs what the browser check needs)");
    assert!(
        o.status.success(),
        "the browser check failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["requests"], serde_json::json!([seen["url"]]), "{seen}");
    let charts = seen["charts"].as_array().unwrap();
    assert_eq!(charts.len(), count(&page, "figure.chart"));
    // The quadrant, 12 sparklines (3 KPIs × company and 3 teams), 4
    // forecast charts, commissions and the lead funnel.
    assert_eq!(charts.len(), 1 + 12 + 4 + 2, "{seen}");
    for c in charts {
        assert!(
            c["width"].as_f64().unwrap() > 0.0 && c["height"].as_f64().unwrap() > 0.0,
            "{c}"
        );
    }

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&screenshot).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let mut colours: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for px in pixels[..info.buffer_size()].chunks(channels) {
        *colours.entry(px[..3].to_vec()).or_default() += 1;
    }
    let all = (info.width * info.height) as usize;
    let white = colours.get(&vec![255, 255, 255]).copied().unwrap_or(0);
    assert!(
        info.width >= 1200 && info.height > 2000,
        "{}x{}",
        info.width,
        info.height
    );
    // Text, tables and charts: a few percent of the page is ink, in many colours.
    assert!(
        all - white > all / 50,
        "{} of {all} pixels are not white",
        all - white
    );
    assert!(colours.len() > 50, "{} colours", colours.len());
}

#[test]
fn pipeline_movement_and_stage_conversion_of_the_company() {
    let (_dir, out) = run_fixture("tests/fixtures/movement/pipeline.toml", "2024-08-15");
    let page = report(&out);
    // tests/it/movement.rs, the company in FY2024-Q2: starting 16,500,
    // created 1,600, pulled in 3,300, increased 500, decreased 200, won
    // 8,700, lost 3,800, slipped 4,000, other out 500, ending 4,700.
    let movement = rows(&page, "#movement");
    assert_eq!(movement[0][0], "FY2024-Q3 to date");
    assert_eq!(
        movement[1],
        [
            "FY2024-Q2",
            "$16,500",
            "$1,600",
            "$3,300",
            "$500",
            "$200",
            "$8,700",
            "$3,800",
            "$4,000",
            "$500",
            "$4,700"
        ]
    );
    // The latest complete cohort is FY2024-Q2: M7 (created 04-05, open in
    // Discovery) and M8 (created 05-02, no history: Discovery from 05-02,
    // won 06-05). Both reached Discovery; M8 went on (won is past every
    // open stage), in Discovery 05-02 -> 06-05 = 34 days; M7 never left,
    // so it has no days and is still open there. M8 was never in a later
    // open stage: no days there ("—").
    let c = text(&select(&page, "section#conversion p")[0]);
    assert!(c.contains("FY2024-Q2"), "{c}");
    assert_eq!(
        rows(&page, "#conversion"),
        [
            ["Discovery", "2", "1", "50.0%", "1", "50.0%", "34.0", "1"],
            ["Qualified", "1", "1", "100.0%", "1", "100.0%", "—", "0"],
            ["Demo", "1", "1", "100.0%", "1", "100.0%", "—", "0"],
            ["Trial", "1", "1", "100.0%", "1", "100.0%", "—", "0"],
            ["Negotiation", "1", "1", "100.0%", "1", "100.0%", "—", "0"],
        ]
    );
}

/// Before any quarter is complete (the hand fixture as of 2024-03-01, in
/// its first quarter): the sections that need a complete quarter say so
/// rather than draw an empty chart.
#[test]
fn sections_with_nothing_to_show_say_so() {
    let (_dir, out) = run_fixture("tests/fixtures/hand/pipeline.toml", "2024-03-01");
    let page = report(&out);
    assert_eq!(count(&page, "#quadrant-company"), 0);
    assert_eq!(
        text(&select(&page, "section#quadrant p.empty")[0]),
        "No quarter is complete yet: there is no quadrant to show."
    );
    let forecasts: Vec<String> = select(&page, "section#forecasts p.empty")
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        forecasts,
        ["No forecast has been checked against a complete quarter yet."]
    );
    assert_eq!(count(&page, "p.verdict"), 0);
    assert_eq!(
        text(&select(&page, "section#conversion p.empty")[0]),
        "No complete cohort quarter yet: no stage conversion to show."
    );
}
