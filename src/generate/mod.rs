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
use polars::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::Result;
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
const DEAL_TYPES: [&str; 4] = ["new_business", "upsell", "cross_sell", "renewal"];
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
    let n_reps = ((30.0 * opts.scale).round() as usize).max(3);
    let start = period_start();
    let end = period_end();

    // ---- reps ----
    let mut reps = Vec::new();
    let mut reps_t = Table::new(&[
        "rep_id",
        "rep_name",
        "team",
        "region",
        "level",
        "hire_date",
        "end_date",
    ]);
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
        reps_t.push(vec![
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

    // ---- fx_rates: monthly EUR and GBP ----
    let mut fx_t = Table::new(&["currency", "rate_date", "rate_to_reporting"]);
    // Drawn as units of the currency per dollar with four decimals, as
    // CRMs store them; the rate is its reciprocal, written in full, so that
    // both layouts give the same f64.
    for (cur, base) in [("EUR", 1.08), ("GBP", 1.26)] {
        for m in months(d(2022, 12, 1), end) {
            let rate: f64 = base + rng.gen_range(-0.04..0.04);
            let per_dollar = ((1.0 / rate) * 1e4).round() / 1e4;
            fx_t.push(vec![s(cur), s(m), s(1.0 / per_dollar)]);
        }
    }

    // ---- quotas: monthly, except for a few reps who have none ----
    let mut quota_t = Table::new(&["rep_id", "month", "quota_amount"]);
    for (i, r) in reps.iter().enumerate() {
        if i % 13 == 12 {
            continue;
        }
        let monthly = TEAMS[r.team].1 * if r.level == "senior" { 1.6 } else { 1.0 };
        for m in months(start.max(r.hire), r.end.unwrap_or(end).min(end)) {
            quota_t.push(vec![s(&r.id), s(m), s((monthly / 100.0).round() * 100.0)]);
        }
    }

    // ---- leads and their events ----
    let mut leads_t = Table::new(&[
        "lead_id",
        "created_at",
        "rep_id",
        "source",
        "matches_persona",
        "data_inaccurate",
    ]);
    let mut events_t = Table::new(&["lead_id", "event_type", "occurred_at"]);
    let n_leads = (1500.0 * opts.scale).round() as usize;
    let mut leads: Vec<(String, NaiveDateTime, Option<usize>)> = Vec::new();
    for i in 0..n_leads {
        let id = format!("00Q{:012}", i + 1);
        let created = at(
            start + Duration::days(rng.gen_range(0..(end - start).num_days())),
            &mut rng,
        );
        let rep = if rng.gen_bool(0.8) {
            let r = rng.gen_range(0..n_reps);
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
        leads.push((id, created, rep));
    }

    // ---- opportunities, their history, and the activities on them ----
    let mut opp_t = Table::new(&[
        "opportunity_id",
        "rep_id",
        "account_id",
        "created_date",
        "close_date",
        "stage",
        "amount",
        "currency",
        "deal_type",
        "lead_id",
    ]);
    let mut hist_t = Table::new(&[
        "opportunity_id",
        "changed_at",
        "stage",
        "amount",
        "close_date",
    ]);
    let mut act_t = Table::new(&[
        "activity_id",
        "rep_id",
        "activity_type",
        "started_at",
        "duration_minutes",
        "opportunity_id",
        "lead_id",
    ]);
    let mut next_activity = 0usize;
    let mut activity = |t: &mut Table,
                        rep: &str,
                        kind: &str,
                        when: NaiveDateTime,
                        minutes: Option<f64>,
                        opp: Option<&str>,
                        lead: Option<&str>| {
        next_activity += 1;
        // Salesforce-style ids in every layout (Events are meetings, Tasks
        // the rest), so a preset export and the contract-shaped one of the
        // same seed are the same data.
        let prefix = if kind == "meeting" { "00U" } else { "00T" };
        t.push(vec![
            s(format!("{prefix}{next_activity:012}")),
            s(rep),
            s(kind),
            s(ts(when)),
            minutes.map(|m| m.to_string()),
            opp.map(String::from),
            lead.map(String::from),
        ]);
    };
    let mut n_opp = 0usize;
    let mut converted = std::collections::BTreeSet::new();
    for r in &reps {
        for m in months(start.max(r.hire), r.end.unwrap_or(end).min(end)) {
            for _ in 0..rng.gen_range(1..6) {
                let created = m + Duration::days(rng.gen_range(0..28));
                if !r.employed(created) || created > end {
                    continue;
                }
                n_opp += 1;
                let id = format!("006{n_opp:012}");
                let cycle = rng.gen_range(14..150);
                let mut close = created + Duration::days(cycle);
                let mut amount = (TEAMS[r.team].1 * rng.gen_range(0.3..2.5) / 10.0).round() * 10.0;
                let currency = match rng.gen_range(0..20) {
                    0 | 1 => Some("EUR"),
                    2 => Some("GBP"),
                    3..=9 => Some("USD"),
                    _ => None,
                };
                // A lead converts into one opportunity at most.
                let lead = if rng.gen_bool(0.3) && !leads.is_empty() {
                    let l = &leads[rng.gen_range(0..leads.len())].0;
                    converted.insert(l.clone()).then(|| l.clone())
                } else {
                    None
                };
                // History: a walk through the open stages, a slip now and then.
                let with_history = rng.gen_range(0..10) != 0;
                let mut t = created.and_hms_opt(9, 0, 0).unwrap()
                    + Duration::minutes(rng.gen_range(0..480));
                let steps = rng.gen_range(3..6);
                let final_stage;
                let closed = close <= end;
                for (k, stage) in OPEN_STAGES.iter().take(steps).enumerate() {
                    if k > 0 {
                        t += Duration::days((cycle / (steps as i64 + 1)).max(1));
                        if rng.gen_bool(0.15) {
                            close += Duration::days(rng.gen_range(10..45));
                        }
                        if rng.gen_bool(0.2) {
                            amount = (amount * rng.gen_range(0.8..1.2) / 10.0).round() * 10.0;
                        }
                    }
                    if with_history {
                        hist_t.push(vec![s(&id), s(ts(t)), s(*stage), s(amount), s(close)]);
                    }
                }
                if close <= end && closed {
                    let won = rng.gen_bool(r.skill(close));
                    final_stage = if won { "Closed Won" } else { "Closed Lost" };
                    if with_history {
                        let closing = close
                            .and_hms_opt(16, 0, 0)
                            .unwrap()
                            .max(t + Duration::minutes(1));
                        hist_t.push(vec![
                            s(&id),
                            s(ts(closing)),
                            s(final_stage),
                            s(amount),
                            s(close),
                        ]);
                    }
                } else {
                    final_stage = OPEN_STAGES[steps - 1];
                }
                opp_t.push(vec![
                    s(&id),
                    s(&r.id),
                    s(format!("ACC{:05}", rng.gen_range(0..2000))),
                    s(created),
                    s(close),
                    s(final_stage),
                    s(amount),
                    currency.map(String::from),
                    if rng.gen_bool(0.9) {
                        s(DEAL_TYPES[rng.gen_range(0..4)])
                    } else {
                        None
                    },
                    lead.clone(),
                ]);
                // Touches: most deals get a few, many get five or more.
                let touches = rng.gen_range(0..12);
                let last = close.min(end);
                for _ in 0..touches {
                    let span = (last - created).num_days().max(1);
                    let day = created + Duration::days(rng.gen_range(0..=span));
                    let kind = ["call", "email", "meeting", "demo", "email"][rng.gen_range(0..5)];
                    let minutes = match kind {
                        "email" => None,
                        "call" => Some(rng.gen_range(5..40) as f64),
                        _ => Some(rng.gen_range(30..90) as f64),
                    };
                    activity(
                        &mut act_t,
                        &r.id,
                        kind,
                        at(day, &mut rng),
                        minutes,
                        Some(&id),
                        None,
                    );
                }
            }
            // The rest of a rep's month: prospecting, admin, training.
            for _ in 0..rng.gen_range(60..100) {
                let day = m + Duration::days(rng.gen_range(0..28));
                if !r.employed(day) || day > end {
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
                activity(
                    &mut act_t,
                    &r.id,
                    kind,
                    at(day, &mut rng),
                    minutes,
                    None,
                    None,
                );
            }
        }
    }
    // Responses to leads: the assigned rep (or a colleague) calls back.
    for (id, created, rep) in &leads {
        if rng.gen_bool(0.75) {
            let who = rep.unwrap_or_else(|| rng.gen_range(0..n_reps));
            let when = *created + Duration::minutes(rng.gen_range(3..60 * 48));
            activity(
                &mut act_t,
                &reps[who].id,
                "call",
                when,
                Some(rng.gen_range(5..30) as f64),
                None,
                Some(id),
            );
        }
    }

    // ---- forecast submissions: each rep, each quarter, once or twice ----
    let mut sub_t = Table::new(&["rep_id", "quarter_start", "submitted_at", "amount"]);
    for r in &reps {
        for q in months(start, end)
            .into_iter()
            .filter(|m| (m.month() - 1) % 3 == 0)
        {
            if !r.employed(q) || reps.len() > 3 && r.id.ends_with('7') {
                continue; // some reps never submit
            }
            let expected = TEAMS[r.team].1
                * 3.0
                * (if r.level == "senior" { 1.6 } else { 1.0 })
                * r.skill(q)
                * 2.5;
            for k in 0..rng.gen_range(1..3) {
                let when = at(q + Duration::days(k * 20 - 3), &mut rng);
                let amount = (expected * rng.gen_range(0.6..1.4) / 100.0).round() * 100.0;
                sub_t.push(vec![s(&r.id), s(q), s(ts(when)), s(amount)]);
            }
        }
    }

    let mut corrections_t = Table::new(&hist_t.columns);
    add_bad_rows(
        &mut opp_t,
        &mut corrections_t,
        &mut act_t,
        &mut quota_t,
        &mut sub_t,
    );

    let tables = Tables {
        reps: reps_t,
        fx_rates: fx_t,
        quotas: quota_t,
        opportunities: opp_t,
        history: hist_t,
        corrections: corrections_t,
        activities: act_t,
        leads: leads_t,
        lead_events: events_t,
        forecast_submissions: sub_t,
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
    tracing::info!(
        reps = tables.reps.rows.len(),
        opportunities = tables.opportunities.rows.len(),
        history = tables.history.rows.len(),
        activities = tables.activities.rows.len(),
        leads = tables.leads.rows.len(),
        lead_events = tables.lead_events.rows.len(),
        "Synthetic data written."
    );
    Ok(())
}

/// Every generated table, in the contract's columns.
pub struct Tables {
    pub reps: Table,
    pub fx_rates: Table,
    pub quotas: Table,
    pub opportunities: Table,
    pub history: Table,
    /// Hand-made history corrections, one with a malformed timestamp.
    pub corrections: Table,
    pub activities: Table,
    pub leads: Table,
    pub lead_events: Table,
    pub forecast_submissions: Table,
}

/// The layout of SPEC §1: a folder per table, CSV and Parquet mixed.
fn write_contract(output: &Storage, t: &Tables, all_parquet: bool) -> Result<()> {
    let date = DataType::Date;
    let number = DataType::Float64;
    let instant = DataType::Datetime(TimeUnit::Microseconds, None);
    let write = |table: &Table,
                 name: &str,
                 rows: &[Vec<Option<String>>],
                 parquet: bool,
                 types: &[(&str, DataType)]| {
        if parquet {
            output.put(
                &format!("{name}.parquet"),
                table.parquet(rows, types)?.into(),
            )
        } else {
            output.put(&format!("{name}.csv"), table.csv(rows).into())
        }
    };
    let p = all_parquet;
    write(
        &t.reps,
        "reps/reps",
        &t.reps.rows,
        p,
        &[("hire_date", date.clone()), ("end_date", date.clone())],
    )?;
    write(
        &t.fx_rates,
        "fx_rates/fx_rates",
        &t.fx_rates.rows,
        p,
        &[
            ("rate_date", date.clone()),
            ("rate_to_reporting", number.clone()),
        ],
    )?;
    write(
        &t.quotas,
        "quotas/quotas",
        &t.quotas.rows,
        p,
        &[("month", date.clone()), ("quota_amount", number.clone())],
    )?;
    let opp_types = [
        ("created_date", date.clone()),
        ("close_date", date.clone()),
        ("amount", number.clone()),
    ];
    let split = t.opportunities.rows.len() * 2 / 3;
    write(
        &t.opportunities,
        "opportunities/part-0",
        &t.opportunities.rows[..split],
        p,
        &opp_types,
    )?;
    write(
        &t.opportunities,
        "opportunities/part-1",
        &t.opportunities.rows[split..],
        true,
        &opp_types,
    )?;
    let hist_types = [
        ("changed_at", instant.clone()),
        ("close_date", date.clone()),
        ("amount", number.clone()),
    ];
    write(
        &t.history,
        "opportunity_history/history",
        &t.history.rows,
        true,
        &hist_types,
    )?;
    // Hand-made corrections, with a malformed timestamp: always CSV.
    write(
        &t.corrections,
        "opportunity_history/corrections",
        &t.corrections.rows,
        false,
        &[],
    )?;
    let act_types = [
        ("started_at", instant.clone()),
        ("duration_minutes", number.clone()),
    ];
    let half = t.activities.rows.len() / 2;
    write(
        &t.activities,
        "activities/part-0",
        &t.activities.rows[..half],
        true,
        &act_types,
    )?;
    write(
        &t.activities,
        "activities/part-1",
        &t.activities.rows[half..],
        true,
        &act_types,
    )?;
    write(
        &t.leads,
        "leads/leads",
        &t.leads.rows,
        p,
        &[("created_at", instant.clone())],
    )?;
    write(
        &t.lead_events,
        "lead_events/lead_events",
        &t.lead_events.rows,
        p,
        &[("occurred_at", instant.clone())],
    )?;
    write(
        &t.forecast_submissions,
        "forecast_submissions/submissions",
        &t.forecast_submissions.rows,
        p,
        &[
            ("quarter_start", date),
            ("submitted_at", instant),
            ("amount", number),
        ],
    )?;
    Ok(())
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
    let mut r = first.clone();
    r[0] = s("O-BAD-NEG");
    r[6] = s("-500");
    opp.push(r);
    let mut r = first.clone();
    r[0] = s("O-BAD-STAGE");
    r[5] = s("Closed Maybe");
    opp.push(r);
    let mut r = first.clone();
    r[0] = s("O-BAD-FX");
    r[7] = s("JPY");
    opp.push(r);
    let mut r = first.clone();
    r[0] = s("O-BAD-REP");
    r[1] = s("005999999999999");
    opp.push(r);
    // Its history is rejected with it (unknown_reference); a hand-made
    // correction with a US-style timestamp is unparsable.
    corrections.push(vec![
        s("O-BAD-REP"),
        s("2024-01-01T10:00:00Z"),
        s("Discovery"),
        s("100"),
        s("2024-03-01"),
    ]);
    corrections.push(vec![
        first[0].clone(),
        s("01/02/2024 10:00"),
        s("Discovery"),
        s("100"),
        s("2024-03-01"),
    ]);
    // Two different activities under one id.
    let a = act.rows[0].clone();
    let mut b = a.clone();
    b[2] = s("admin");
    act.push(b);
    let mut c = a;
    c[0] = s("A-BAD-TYPE");
    c[2] = s("lunch");
    act.push(c);
    let q = quota.rows[0].clone();
    let mut bad = q;
    bad[1] = s("2024-01-15");
    quota.push(bad);
    if let Some(first) = sub.rows.first().cloned() {
        let mut bad = first;
        bad[1] = s("2024-02-01");
        sub.push(bad);
    }
}
