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

fn flag(v: bool) -> Option<String> {
    Some(v.to_string())
}

pub fn write(output: &Storage, t: &Tables, parquet: bool) -> Result<()> {
    for (table, name) in [
        (owners(t), "owners"),
        (deals(t), "deals"),
        (history(t), "deal_stage_history"),
        (engagements(t), "engagements"),
        (contacts(t), "contacts"),
        (stages(), "pipeline_stages"),
    ] {
        table.put_export(output, name, parquet)?;
    }
    // What HubSpot does not export, in the contract's layout.
    for spec in [
        &staging::quotas::SPEC,
        &staging::fx_rates::SPEC,
        &staging::lead_events::SPEC,
    ] {
        let name = format!("{0}/{0}", spec.name);
        t.get(spec).put_export(output, &name, parquet)?;
    }
    t.get(&staging::forecast_submissions::SPEC).put_export(
        output,
        "forecast_submissions/submissions",
        parquet,
    )
}

/// `level` is no HubSpot property: this portal has a custom one, which the
/// mapping takes by its name.
fn owners(t: &Tables) -> Table {
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
    for r in t.get(&staging::reps::SPEC).records() {
        let (first, last) = r
            .get("rep_name")
            .and_then(|n| n.split_once(' '))
            .map(|(a, b)| (Some(a.to_string()), Some(b.to_string())))
            .unwrap_or((r.text("rep_name"), None));
        let end = r.get("end_date");
        owners.push(vec![
            r.text("rep_id"),
            first,
            last,
            at(r.get("hire_date"), "09:00:00"),
            at(end.or(r.get("hire_date")), "17:00:00"),
            flag(end.is_some()),
            r.text("team"),
            r.text("level"),
        ]);
    }
    owners
}

fn deals(t: &Tables) -> Table {
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
    for r in t.get(&staging::opportunities::SPEC).records() {
        deals.push(vec![
            r.text("opportunity_id"),
            r.text("stage"),
            r.text("amount"),
            at(r.get("close_date"), "00:00:00"),
            at(r.get("created_date"), "09:00:00"),
            r.text("rep_id"),
            r.text("currency"),
            r.get("deal_type").map(|d| {
                if d == "new_business" {
                    "newbusiness".into()
                } else {
                    "existingbusiness".into()
                }
            }),
            r.text("lead_id"),
        ]);
    }
    deals
}

/// Stage changes only (see the module's note).
fn history(t: &Tables) -> Table {
    let mut history = Table::new(&["deal_id", "value", "timestamp"]);
    for r in t.history_rows() {
        history.push(vec![
            r.text("opportunity_id"),
            r.text("stage"),
            r.text("changed_at"),
        ]);
    }
    history
}

fn engagements(t: &Tables) -> Table {
    let mut engagements = Table::new(&[
        "hs_object_id",
        "hs_engagement_type",
        "hs_timestamp",
        "hubspot_owner_id",
        "hs_call_duration",
        "associated_deal_id",
        "associated_contact_id",
    ]);
    for r in t.get(&staging::activities::SPEC).records() {
        let minutes: Option<f64> = r.get("duration_minutes").and_then(|m| m.parse().ok());
        engagements.push(vec![
            r.text("activity_id"),
            r.get("activity_type").map(str::to_uppercase),
            r.text("started_at"),
            r.text("rep_id"),
            minutes.map(|m| (m * 60_000.0).to_string()),
            r.text("opportunity_id"),
            r.text("lead_id"),
        ]);
    }
    engagements
}

/// The lead flags are custom contact properties here, taken by name.
fn contacts(t: &Tables) -> Table {
    let mut contacts = Table::new(&[
        "hs_object_id",
        "createdate",
        "hubspot_owner_id",
        "hs_analytics_source",
        "matches_persona",
        "data_inaccurate",
    ]);
    for r in t.get(&staging::leads::SPEC).records() {
        contacts.push(vec![
            r.text("lead_id"),
            r.text("created_at"),
            r.text("rep_id"),
            r.text("source"),
            r.text("matches_persona"),
            r.text("data_inaccurate"),
        ]);
    }
    contacts
}

fn stages() -> Table {
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
            flag(s.kind != StageKind::Open),
            Some(i.to_string()),
        ]);
    }
    stages
}
