//! Synthetic inputs in the layout of SPEC §1, for `sample_data/` and
//! benchmarks. The same seed and scale give the same files.
//!
//! Scale 1 is a team of 30 reps over three calendar years (2023–2025):
//! about 3,000 opportunities, 15,000 history rows, 90,000 activities. The
//! data has what every mart needs: reps hired mid-period and reps who left,
//! reps who improve and reps who decline, deals in EUR and GBP, deals that
//! slip, deals without history, leads with events, forecast submissions,
//! and a few bad rows of several kinds so the quarantine shows something.
//! This is a generator, so it walks rows in Rust on purpose.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::staging::{self, TableSpec, TABLES};
use crate::storage::Storage;

mod hubspot;
mod salesforce;
mod table;
pub use table::Table;

pub struct GenerateOptions {
    pub scale: f64,
    pub seed: u64,
    /// Every table as Parquet (benchmarks); otherwise CSV and Parquet mixed,
    /// as exports from real systems are.
    pub all_parquet: bool,
    /// Write the same data as another system's export (`salesforce`, `hubspot`).
    pub preset: Option<String>,
}

const TEAMS: [(&str, f64); 3] = [
    ("Enterprise", 42_000.0),
    ("MidMarket", 16_000.0),
    ("SMB", 6_000.0),
];
const REGIONS: [&str; 3] = ["NA", "EMEA", "APAC"];
const OPEN_STAGES: [&str; 5] = ["Discovery", "Qualified", "Demo", "Trial", "Negotiation"];
const SOURCES: [&str; 5] = ["webinar", "inbound", "outbound", "referral", "event"];
const EVENTS: [&str; 5] = [
    "email_open",
    "email_click",
    "pricing_page_visit",
    "webinar_attended",
    "email_open",
];

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn period_start() -> NaiveDate {
    d(2023, 1, 1)
}

fn period_end() -> NaiveDate {
    d(2025, 12, 31)
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

struct Rep {
    id: String,
    team: usize,
    level: &'static str,
    hire: NaiveDate,
    end: Option<NaiveDate>,
    /// Win probability at the start and at the end of the period: some reps
    /// rise, some fall.
    skill_start: f64,
    skill_end: f64,
}

impl Rep {
    fn employed(&self, day: NaiveDate) -> bool {
        self.hire <= day && self.end.is_none_or(|e| day <= e)
    }

    /// The last day of the generated period the rep works.
    fn employed_until(&self) -> NaiveDate {
        self.end.unwrap_or(period_end()).min(period_end())
    }

    fn skill(&self, day: NaiveDate) -> f64 {
        let total = (period_end() - period_start()).num_days() as f64;
        let f = ((day - period_start()).num_days() as f64 / total).clamp(0.0, 1.0);
        self.skill_start + (self.skill_end - self.skill_start) * f
    }
}

fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = d(from.year(), from.month(), 1);
    while m <= to {
        out.push(m);
        m = if m.month() == 12 {
            d(m.year() + 1, 1, 1)
        } else {
            d(m.year(), m.month() + 1, 1)
        };
    }
    out
}

fn s(v: impl ToString) -> Option<String> {
    Some(v.to_string())
}

fn at(day: NaiveDate, rng: &mut StdRng) -> NaiveDateTime {
    day.and_hms_opt(
        rng.gen_range(7..19),
        rng.gen_range(0..60),
        rng.gen_range(0..60),
    )
    .unwrap()
}

pub fn generate(output: &Storage, opts: &GenerateOptions) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    // One random stream, drawn in this order: the same seed gives the same files.
    let (reps, reps_t) = reps(&mut rng, opts.scale);
    let fx_t = fx_rates(&mut rng);
    let mut quota_t = quotas(&reps);
    let (leads, leads_t, events_t) = leads(&mut rng, &reps, opts.scale);
    let (mut opp_t, hist_t, mut activities) = deals(&mut rng, &reps, &leads);
    lead_responses(&mut rng, &reps, &leads, &mut activities);
    let mut sub_t = forecast_submissions(&mut rng, &reps);
    let mut act_t = activities.table;

    let mut corrections = Table::of(&staging::opportunity_history::SPEC);
    add_bad_rows(
        &mut opp_t,
        &mut corrections,
        &mut act_t,
        &mut quota_t,
        &mut sub_t,
    );
    let tables = Tables {
        tables: [
            reps_t, fx_t, quota_t, opp_t, hist_t, act_t, leads_t, events_t, sub_t,
        ]
        .into_iter()
        .map(|t| (t.spec.expect("a contract table").name, t))
        .collect(),
        corrections,
    };
    match opts.preset.as_deref() {
        None => write_contract(output, &tables, opts.all_parquet)?,
        Some("salesforce") => salesforce::write(output, &tables, opts.all_parquet)?,
        Some("hubspot") => hubspot::write(output, &tables, opts.all_parquet)?,
        Some(other) => {
            return Err(crate::error::Error::Usage(format!(
                "--preset {other}: the generator writes salesforce or hubspot exports \
                 (or, without --preset, the contract's layout)"
            )))
        }
    }
    let rows = |spec: &TableSpec| tables.get(spec).rows.len();
    tracing::info!(
        reps = rows(&staging::reps::SPEC),
        opportunities = rows(&staging::opportunities::SPEC),
        history = rows(&staging::opportunity_history::SPEC),
        activities = rows(&staging::activities::SPEC),
        leads = rows(&staging::leads::SPEC),
        lead_events = rows(&staging::lead_events::SPEC),
        "Synthetic data written."
    );
    Ok(())
}

/// The team: `30 × scale` reps (at least 3) across the teams.
fn reps(rng: &mut StdRng, scale: f64) -> (Vec<Rep>, Table) {
    let n_reps = ((30.0 * scale).round() as usize).max(3);
    let start = period_start();
    let mut reps = Vec::new();
    let mut table = Table::of(&staging::reps::SPEC);
    for i in 0..n_reps {
        let id = format!("005{:012}", i + 1);
        let team = i % TEAMS.len();
        let level = if rng.gen_bool(0.4) {
            "senior"
        } else {
            "junior"
        };
        // Most reps were there before the period; every seventh joined
        // during it (often mid-quarter); every eleventh left.
        let hire = if i % 7 == 3 {
            start + Duration::days(rng.gen_range(60..900))
        } else {
            d(2019, 1, 1) + Duration::days(rng.gen_range(0..1400))
        };
        let end_date = if i % 11 == 5 {
            Some(hire.max(start) + Duration::days(rng.gen_range(200..700)))
        } else {
            None
        };
        let base: f64 = rng.gen_range(0.2..0.45);
        let drift: f64 = rng.gen_range(-0.15..0.15);
        table.push(vec![
            s(&id),
            s(format!("Rep {}", i + 1)),
            s(TEAMS[team].0),
            s(REGIONS[i % REGIONS.len()]),
            s(level),
            s(hire),
            end_date.map(|e| e.to_string()),
        ]);
        reps.push(Rep {
            id,
            team,
            level,
            hire,
            end: end_date,
            skill_start: base,
            skill_end: (base + drift).clamp(0.05, 0.7),
        });
    }
    (reps, table)
}

/// Monthly EUR and GBP rates.
fn fx_rates(rng: &mut StdRng) -> Table {
    let mut table = Table::of(&staging::fx_rates::SPEC);
    // Drawn as units of the currency per dollar with four decimals, as
    // CRMs store them; the rate is its reciprocal, written in full, so that
    // both layouts give the same f64.
    for (cur, base) in [("EUR", 1.08), ("GBP", 1.26)] {
        for m in months(d(2022, 12, 1), period_end()) {
            let rate: f64 = base + rng.gen_range(-0.04..0.04);
            let per_dollar = ((1.0 / rate) * 1e4).round() / 1e4;
            table.push(vec![s(cur), s(m), s(1.0 / per_dollar)]);
        }
    }
    table
}

/// Monthly quotas, except for a few reps who have none.
fn quotas(reps: &[Rep]) -> Table {
    let mut table = Table::of(&staging::quotas::SPEC);
    for (i, r) in reps.iter().enumerate() {
        if i % 13 == 12 {
            continue;
        }
        let monthly = TEAMS[r.team].1 * if r.level == "senior" { 1.6 } else { 1.0 };
        for m in months(period_start().max(r.hire), r.employed_until()) {
            table.push(vec![s(&r.id), s(m), s((monthly / 100.0).round() * 100.0)]);
        }
    }
    table
}

/// A generated lead: id, creation instant, assigned rep (an index).
struct Lead {
    id: String,
    created: NaiveDateTime,
    rep: Option<usize>,
}

/// `1500 × scale` leads, each with up to eight events.
fn leads(rng: &mut StdRng, reps: &[Rep], scale: f64) -> (Vec<Lead>, Table, Table) {
    let (start, end) = (period_start(), period_end());
    let mut leads_t = Table::of(&staging::leads::SPEC);
    let mut events_t = Table::of(&staging::lead_events::SPEC);
    let n_leads = (1500.0 * scale).round() as usize;
    let mut leads = Vec::new();
    for i in 0..n_leads {
        let id = format!("00Q{:012}", i + 1);
        let created = at(
            start + Duration::days(rng.gen_range(0..(end - start).num_days())),
            rng,
        );
        let rep = if rng.gen_bool(0.8) {
            let r = rng.gen_range(0..reps.len());
            reps[r].employed(created.date()).then_some(r)
        } else {
            None
        };
        leads_t.push(vec![
            s(&id),
            s(ts(created)),
            rep.map(|r| reps[r].id.clone()),
            s(SOURCES[rng.gen_range(0..SOURCES.len())]),
            s(rng.gen_bool(0.4)),
            if rng.gen_bool(0.7) {
                s(rng.gen_bool(0.1))
            } else {
                None
            },
        ]);
        for _ in 0..rng.gen_range(0..9) {
            let when = created + Duration::minutes(rng.gen_range(-600..60 * 24 * 40));
            events_t.push(vec![
                s(&id),
                s(EVENTS[rng.gen_range(0..EVENTS.len())]),
                s(ts(when)),
            ]);
        }
        leads.push(Lead { id, created, rep });
    }
    (leads, leads_t, events_t)
}

/// The activities table, numbering activities as they are added.
struct Activities {
    table: Table,
    next: usize,
}

impl Activities {
    fn add(
        &mut self,
        rep: &str,
        kind: &str,
        when: NaiveDateTime,
        minutes: Option<f64>,
        opportunity: Option<&str>,
        lead: Option<&str>,
    ) {
        self.next += 1;
        // Salesforce-style ids in every layout (Events are meetings, Tasks
        // the rest), so a preset export and the contract-shaped one of the
        // same seed are the same data.
        let prefix = if kind == "meeting" { "00U" } else { "00T" };
        self.table.push(vec![
            s(format!("{prefix}{:012}", self.next)),
            s(rep),
            s(kind),
            s(ts(when)),
            minutes.map(|m| m.to_string()),
            opportunity.map(String::from),
            lead.map(String::from),
        ]);
    }
}

/// Opportunities, their history, and the activities of every rep-month:
/// touches on the deals, then prospecting, admin and training.
fn deals(rng: &mut StdRng, reps: &[Rep], leads: &[Lead]) -> (Table, Table, Activities) {
    let mut opp_t = Table::of(&staging::opportunities::SPEC);
    let mut hist_t = Table::of(&staging::opportunity_history::SPEC);
    let mut activities = Activities {
        table: Table::of(&staging::activities::SPEC),
        next: 0,
    };
    let mut n_opp = 0usize;
    let mut converted = std::collections::BTreeSet::new();
    for r in reps {
        for m in months(period_start().max(r.hire), r.employed_until()) {
            for _ in 0..rng.gen_range(1..6) {
                let created = m + Duration::days(rng.gen_range(0..28));
                if !r.employed(created) || created > period_end() {
                    continue;
                }
                n_opp += 1;
                let id = format!("006{n_opp:012}");
                // A lead converts into one opportunity at most.
                let deal = Deal::draw(rng, r, created, leads, &mut converted);
                let close = deal.write(rng, &id, r, &mut opp_t, &mut hist_t);
                deal.touches(rng, &id, r, close, &mut activities);
            }
            rep_month_activities(rng, r, m, &mut activities);
        }
    }
    (opp_t, hist_t, activities)
}

/// One deal's drawn values; `write` walks its history.
struct Deal {
    created: NaiveDate,
    cycle: i64,
    amount: f64,
    currency: Option<&'static str>,
    lead: Option<String>,
}

impl Deal {
    fn draw(
        rng: &mut StdRng,
        r: &Rep,
        created: NaiveDate,
        leads: &[Lead],
        converted: &mut std::collections::BTreeSet<String>,
    ) -> Deal {
        let cycle = rng.gen_range(14..150);
        let amount = (TEAMS[r.team].1 * rng.gen_range(0.3..2.5) / 10.0).round() * 10.0;
        let currency = match rng.gen_range(0..20) {
            0 | 1 => Some("EUR"),
            2 => Some("GBP"),
            3..=9 => Some("USD"),
            _ => None,
        };
        let lead = if rng.gen_bool(0.3) && !leads.is_empty() {
            let l = &leads[rng.gen_range(0..leads.len())].id;
            converted.insert(l.clone()).then(|| l.clone())
        } else {
            None
        };
        Deal {
            created,
            cycle,
            amount,
            currency,
            lead,
        }
    }

    /// The history (a walk through the open stages, none for one deal in
    /// ten) and the current row. Returns the close date the walk ended on
    /// (the current row's). On the way, as CRM histories go and as §4.9 and
    /// §4.10 read them: a stage skipped now and then; close dates that slip
    /// out, come back or are pulled in from a later quarter; a close date
    /// left in the past on an open deal; amounts that change; and now and
    /// then a deal closed with its close date set back (M2).
    fn write(
        &self,
        rng: &mut StdRng,
        id: &str,
        r: &Rep,
        opp_t: &mut Table,
        hist_t: &mut Table,
    ) -> NaiveDate {
        let end = period_end();
        let mut close = self.created + Duration::days(self.cycle);
        let mut amount = self.amount;
        let with_history = rng.gen_range(0..10) != 0;
        let mut t =
            self.created.and_hms_opt(9, 0, 0).unwrap() + Duration::minutes(rng.gen_range(0..480));
        let steps = rng.gen_range(3..6);
        let closed = close <= end;
        let mut stages: Vec<&str> = OPEN_STAGES.iter().take(steps).copied().collect();
        if rng.gen_bool(0.1) {
            stages.remove(rng.gen_range(1..stages.len() - 1));
        }
        for (k, stage) in stages.iter().enumerate() {
            if k > 0 {
                t += Duration::days((self.cycle / (steps as i64 + 1)).max(1));
                let today = t.date();
                match rng.gen_range(0..100) {
                    // Slips out.
                    0..=14 => close += Duration::days(rng.gen_range(10..45)),
                    // Comes back, or is pulled in.
                    15..=21 => {
                        close = (close - Duration::days(rng.gen_range(15..60)))
                            .max(today + Duration::days(1))
                    }
                    // Left in the past while the deal stays open.
                    22..=25 => {
                        close = (today - Duration::days(rng.gen_range(5..30))).max(self.created)
                    }
                    _ => {}
                }
                if rng.gen_bool(0.2) {
                    amount = (amount * rng.gen_range(0.8..1.2) / 10.0).round() * 10.0;
                }
            }
            if with_history {
                hist_t.push(vec![s(id), s(ts(t)), s(*stage), s(amount), s(close)]);
            }
        }
        let final_stage = if close <= end && closed {
            let won = rng.gen_bool(r.skill(close));
            let stage = if won { "Closed Won" } else { "Closed Lost" };
            let closing = close
                .and_hms_opt(16, 0, 0)
                .unwrap()
                .max(t + Duration::minutes(1));
            // Now and then closed with the close date set back.
            if rng.gen_bool(0.03) {
                close = (close - Duration::days(rng.gen_range(20..80))).max(self.created);
            }
            if with_history {
                hist_t.push(vec![s(id), s(ts(closing)), s(stage), s(amount), s(close)]);
            }
            stage
        } else {
            stages[stages.len() - 1]
        };
        let deal_types = &staging::opportunities::DEAL_TYPES;
        opp_t.push(vec![
            s(id),
            s(&r.id),
            s(format!("ACC{:05}", rng.gen_range(0..2000))),
            s(self.created),
            s(close),
            s(final_stage),
            s(amount),
            self.currency.map(String::from),
            if rng.gen_bool(0.9) {
                s(deal_types[rng.gen_range(0..4)])
            } else {
                None
            },
            self.lead.clone(),
        ]);
        close
    }

    /// Touches: most deals get a few, many get five or more, up to the
    /// deal's close date.
    fn touches(
        &self,
        rng: &mut StdRng,
        id: &str,
        r: &Rep,
        close: NaiveDate,
        activities: &mut Activities,
    ) {
        let n = rng.gen_range(0..12);
        let last = close.min(period_end());
        for _ in 0..n {
            let span = (last - self.created).num_days().max(1);
            let day = self.created + Duration::days(rng.gen_range(0..=span));
            let kind = ["call", "email", "meeting", "demo", "email"][rng.gen_range(0..5)];
            let minutes = match kind {
                "email" => None,
                "call" => Some(rng.gen_range(5..40) as f64),
                _ => Some(rng.gen_range(30..90) as f64),
            };
            activities.add(&r.id, kind, at(day, rng), minutes, Some(id), None);
        }
    }
}

/// The rest of a rep's month: prospecting, admin, training.
fn rep_month_activities(rng: &mut StdRng, r: &Rep, month: NaiveDate, activities: &mut Activities) {
    for _ in 0..rng.gen_range(60..100) {
        let day = month + Duration::days(rng.gen_range(0..28));
        if !r.employed(day) || day > period_end() {
            continue;
        }
        let kind = [
            "call",
            "email",
            "admin",
            "internal_meeting",
            "training",
            "call",
            "email",
            "meeting",
        ][rng.gen_range(0..8)];
        let minutes = match kind {
            "email" => Some(rng.gen_range(2..10) as f64),
            "admin" => Some(rng.gen_range(20..120) as f64),
            "training" => Some(rng.gen_range(30..240) as f64),
            _ => Some(rng.gen_range(10..60) as f64),
        };
        activities.add(&r.id, kind, at(day, rng), minutes, None, None);
    }
}

/// Responses to leads: the assigned rep (or a colleague) calls back.
fn lead_responses(rng: &mut StdRng, reps: &[Rep], leads: &[Lead], activities: &mut Activities) {
    for lead in leads {
        if rng.gen_bool(0.75) {
            let who = lead.rep.unwrap_or_else(|| rng.gen_range(0..reps.len()));
            let when = lead.created + Duration::minutes(rng.gen_range(3..60 * 48));
            activities.add(
                &reps[who].id,
                "call",
                when,
                Some(rng.gen_range(5..30) as f64),
                None,
                Some(&lead.id),
            );
        }
    }
}

/// Each rep, each quarter, once or twice; some reps never submit.
fn forecast_submissions(rng: &mut StdRng, reps: &[Rep]) -> Table {
    let mut table = Table::of(&staging::forecast_submissions::SPEC);
    for r in reps {
        for q in months(period_start(), period_end())
            .into_iter()
            .filter(|m| (m.month() - 1) % 3 == 0)
        {
            if !r.employed(q) || reps.len() > 3 && r.id.ends_with('7') {
                continue;
            }
            let expected = TEAMS[r.team].1
                * 3.0
                * (if r.level == "senior" { 1.6 } else { 1.0 })
                * r.skill(q)
                * 2.5;
            for k in 0..rng.gen_range(1..3) {
                let when = at(q + Duration::days(k * 20 - 3), rng);
                let amount = (expected * rng.gen_range(0.6..1.4) / 100.0).round() * 100.0;
                table.push(vec![s(&r.id), s(q), s(ts(when)), s(amount)]);
            }
        }
    }
    table
}

/// Every generated table, in the contract's columns, by table name.
pub struct Tables {
    tables: std::collections::BTreeMap<&'static str, Table>,
    /// Hand-made history corrections, one with a malformed timestamp.
    pub corrections: Table,
}

impl Tables {
    pub fn get(&self, spec: &TableSpec) -> &Table {
        &self.tables[spec.name]
    }

    /// The history rows, then the hand-made corrections.
    pub fn history_rows(&self) -> impl Iterator<Item = table::Record<'_>> {
        self.get(&staging::opportunity_history::SPEC)
            .records()
            .chain(self.corrections.records())
    }
}

/// A table's files in the layout of SPEC §1: (name under the table's
/// folder, first row, end row, always Parquet). CSV and Parquet mixed, and
/// tables split over files, as exports from real systems are.
fn contract_files(spec: &TableSpec, rows: usize) -> Vec<(&'static str, usize, usize, bool)> {
    match spec.name {
        "opportunities" => vec![
            ("part-0", 0, rows * 2 / 3, false),
            ("part-1", rows * 2 / 3, rows, true),
        ],
        "opportunity_history" => vec![("history", 0, rows, true)],
        "activities" => vec![
            ("part-0", 0, rows / 2, true),
            ("part-1", rows / 2, rows, true),
        ],
        "forecast_submissions" => vec![("submissions", 0, rows, false)],
        name => vec![(name, 0, rows, false)],
    }
}

/// The layout of SPEC §1: a folder per table, CSV and Parquet mixed.
fn write_contract(output: &Storage, t: &Tables, all_parquet: bool) -> Result<()> {
    for spec in TABLES {
        let table = t.get(spec);
        for (file, from, to, parquet) in contract_files(spec, table.rows.len()) {
            let name = format!("{}/{file}", spec.name);
            table.put(output, &name, &table.rows[from..to], parquet || all_parquet)?;
        }
    }
    // Hand-made corrections, with a malformed timestamp: always CSV.
    t.corrections.put(
        output,
        "opportunity_history/corrections",
        &t.corrections.rows,
        false,
    )
}

/// A few rows of the kinds real exports contain, so the quarantine has
/// something to show. Kept well under the default 5% reject ratio.
fn add_bad_rows(
    opp: &mut Table,
    corrections: &mut Table,
    act: &mut Table,
    quota: &mut Table,
    sub: &mut Table,
) {
    let first = opp.rows[0].clone();
    // An exact duplicate (collapsed, not rejected).
    opp.rows.insert(1, first.clone());
    for (id, column, value) in [
        ("O-BAD-NEG", "amount", "-500"),
        ("O-BAD-STAGE", "stage", "Closed Maybe"),
        ("O-BAD-FX", "currency", "JPY"),
        ("O-BAD-REP", "rep_id", "005999999999999"),
    ] {
        let row = opp.with(&first, &[("opportunity_id", id), (column, value)]);
        opp.push(row);
    }
    // Its history is rejected with it (unknown_reference); a hand-made
    // correction with a US-style timestamp is unparsable.
    let first_id = opp.value(&first, "opportunity_id").unwrap().to_string();
    for (id, changed_at) in [
        ("O-BAD-REP", "2024-01-01T10:00:00Z"),
        (first_id.as_str(), "01/02/2024 10:00"),
    ] {
        corrections.push_named(&[
            ("opportunity_id", id),
            ("changed_at", changed_at),
            ("stage", "Discovery"),
            ("amount", "100"),
            ("close_date", "2024-03-01"),
        ]);
    }
    // Two different activities under one id.
    let a = act.rows[0].clone();
    let row = act.with(&a, &[("activity_type", "admin")]);
    act.push(row);
    let row = act.with(
        &a,
        &[("activity_id", "A-BAD-TYPE"), ("activity_type", "lunch")],
    );
    act.push(row);
    let row = quota.with(&quota.rows[0].clone(), &[("month", "2024-01-15")]);
    quota.push(row);
    if let Some(first) = sub.rows.first().cloned() {
        let row = sub.with(&first, &[("quarter_start", "2024-02-01")]);
        sub.push(row);
    }
}
