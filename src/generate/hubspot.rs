//! The generated data as a HubSpot export by internal property names, for
//! `generate --preset hubspot`, read by `pipelines/hubspot.toml`. HubSpot's
//! deal stage history has stage changes only, so the history's amounts and
//! close dates become the deal's current ones (SPEC §1.2): the marts built
//! from history (pipeline at a quarter's end, forecasts) differ from the
//! contract-shaped data's; the rest is the same data. What HubSpot does not
//! export (quotas, exchange rates, lead events, forecast submissions) is
//! written in the contract's layout beside it.

use super::table::exported_at as at;
use super::{Table, Tables};
use crate::config::default_stages;
use crate::domain::StageKind;
use crate::error::Result;
use crate::staging;
use crate::storage::Storage;

fn text(v: Option<&str>) -> Option<String> {
    v.map(String::from)
}

pub fn write(output: &Storage, t: &Tables, parquet: bool) -> Result<()> {
    let f = |v: bool| Some(v.to_string());

    // `level` is no HubSpot property: this portal has a custom one, which
    // the mapping takes by its name.
    let mut owners = Table::new(&[
        "id",
        "firstName",
        "lastName",
        "createdAt",
        "updatedAt",
        "archived",
        "primaryTeamName",
        "level",
    ]);
    for r in &t.get(&staging::reps::SPEC).rows {
        let c = |n| t.get(&staging::reps::SPEC).value(r, n);
        let (first, last) = c("rep_name")
            .and_then(|n| n.split_once(' '))
            .map(|(a, b)| (Some(a.to_string()), Some(b.to_string())))
            .unwrap_or((text(c("rep_name")), None));
        let end = c("end_date");
        owners.push(vec![
            text(c("rep_id")),
            first,
            last,
            at(c("hire_date"), "09:00:00"),
            at(end.or(c("hire_date")), "17:00:00"),
            f(end.is_some()),
            text(c("team")),
            text(c("level")),
        ]);
    }
    owners.put_export(output, "owners", parquet)?;

    let mut deals = Table::new(&[
        "hs_object_id",
        "dealstage",
        "amount",
        "closedate",
        "createdate",
        "hubspot_owner_id",
        "deal_currency_code",
        "dealtype",
        "associated_contact_id",
    ]);
    for r in &t.get(&staging::opportunities::SPEC).rows {
        let c = |n| t.get(&staging::opportunities::SPEC).value(r, n);
        deals.push(vec![
            text(c("opportunity_id")),
            text(c("stage")),
            text(c("amount")),
            at(c("close_date"), "00:00:00"),
            at(c("created_date"), "09:00:00"),
            text(c("rep_id")),
            text(c("currency")),
            c("deal_type").map(|d| {
                if d == "new_business" {
                    "newbusiness".into()
                } else {
                    "existingbusiness".into()
                }
            }),
            text(c("lead_id")),
        ]);
    }
    deals.put_export(output, "deals", parquet)?;

    let mut history = Table::new(&["deal_id", "value", "timestamp"]);
    for (table, r) in t.history_rows() {
        let c = |n| table.value(r, n);
        history.push(vec![
            text(c("opportunity_id")),
            text(c("stage")),
            text(c("changed_at")),
        ]);
    }
    history.put_export(output, "deal_stage_history", parquet)?;

    let mut engagements = Table::new(&[
        "hs_object_id",
        "hs_engagement_type",
        "hs_timestamp",
        "hubspot_owner_id",
        "hs_call_duration",
        "associated_deal_id",
        "associated_contact_id",
    ]);
    for r in &t.get(&staging::activities::SPEC).rows {
        let c = |n| t.get(&staging::activities::SPEC).value(r, n);
        let minutes: Option<f64> = c("duration_minutes").and_then(|m| m.parse().ok());
        engagements.push(vec![
            text(c("activity_id")),
            c("activity_type").map(str::to_uppercase),
            text(c("started_at")),
            text(c("rep_id")),
            minutes.map(|m| (m * 60_000.0).to_string()),
            text(c("opportunity_id")),
            text(c("lead_id")),
        ]);
    }
    engagements.put_export(output, "engagements", parquet)?;

    // The lead flags are custom contact properties here, taken by name.
    let mut contacts = Table::new(&[
        "hs_object_id",
        "createdate",
        "hubspot_owner_id",
        "hs_analytics_source",
        "matches_persona",
        "data_inaccurate",
    ]);
    for r in &t.get(&staging::leads::SPEC).rows {
        let c = |n| t.get(&staging::leads::SPEC).value(r, n);
        contacts.push(vec![
            text(c("lead_id")),
            text(c("created_at")),
            text(c("rep_id")),
            text(c("source")),
            text(c("matches_persona")),
            text(c("data_inaccurate")),
        ]);
    }
    contacts.put_export(output, "contacts", parquet)?;

    let mut stages = Table::new(&[
        "stage_id",
        "label",
        "probability",
        "is_closed",
        "display_order",
    ]);
    for (i, s) in default_stages().iter().enumerate() {
        stages.push(vec![
            Some(s.name.clone()),
            Some(s.name.clone()),
            Some(s.probability.to_string()),
            f(s.kind != StageKind::Open),
            Some(i.to_string()),
        ]);
    }
    stages.put_export(output, "pipeline_stages", parquet)?;

    t.get(&staging::quotas::SPEC)
        .put_export(output, "quotas/quotas", parquet)?;
    t.get(&staging::fx_rates::SPEC)
        .put_export(output, "fx_rates/fx_rates", parquet)?;
    t.get(&staging::lead_events::SPEC)
        .put_export(output, "lead_events/lead_events", parquet)?;
    t.get(&staging::forecast_submissions::SPEC).put_export(
        output,
        "forecast_submissions/submissions",
        parquet,
    )
}
