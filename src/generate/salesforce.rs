//! The generated data as a Salesforce Data Loader export (`<Object>.csv`
//! with API names), for `generate --preset salesforce`: read through the
//! salesforce preset and `pipelines/salesforce.toml`, it gives the marts of
//! the contract-shaped data of the same seed. What Salesforce has no
//! standard object for (lead events, forecast submissions) is written in
//! the contract's layout beside it, as a team would add it.

use std::collections::BTreeMap;

use super::table::exported_at as at;
use super::{Table, Tables};
use crate::config::default_stages;
use crate::domain::StageKind;
use crate::error::Result;
use crate::staging;
use crate::storage::Storage;

/// `email` -> `Email`, `internal_meeting` -> `Internal_meeting`: the preset
/// lower-cases TaskSubtype back.
fn subtype(kind: &str) -> String {
    let mut c = kind.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn deal_type(v: Option<&str>) -> Option<String> {
    Some(
        match v? {
            "new_business" => "New Customer",
            "upsell" => "Existing Customer - Upgrade",
            "renewal" => "Existing Customer - Replacement",
            // Salesforce has no standard type for it: the preset reads null.
            _ => "Existing Customer - Cross-sell",
        }
        .to_string(),
    )
}

fn flag(v: bool) -> Option<String> {
    Some(v.to_string())
}

pub fn write(output: &Storage, t: &Tables, parquet: bool) -> Result<()> {
    let (opportunities, converted) = opportunities(t);
    let (tasks, events) = activities(t);
    for (table, name) in [
        (users(t), "User"),
        (quotas(t), "ForecastingQuota"),
        (rates(t), "DatedConversionRate"),
        (stages(), "OpportunityStage"),
        (opportunities, "Opportunity"),
        (history(t), "OpportunityHistory"),
        (tasks, "Task"),
        (events, "Event"),
        (leads(t, &converted), "Lead"),
    ] {
        table.put_export(output, name, parquet)?;
    }
    t.get(&staging::lead_events::SPEC)
        .put_export(output, "lead_events/lead_events", parquet)?;
    t.get(&staging::forecast_submissions::SPEC).put_export(
        output,
        "forecast_submissions/submissions",
        parquet,
    )
}

fn users(t: &Tables) -> Table {
    let mut users = Table::new(&[
        "Id",
        "Name",
        "Department",
        "Division",
        "IsActive",
        "CreatedDate",
        "LastModifiedDate",
        "Level__c",
    ]);
    for r in t.get(&staging::reps::SPEC).records() {
        let end = r.get("end_date");
        users.push(vec![
            r.text("rep_id"),
            r.text("rep_name"),
            r.text("team"),
            r.text("region"),
            flag(end.is_none()),
            at(r.get("hire_date"), "09:00:00"),
            at(end.or(r.get("hire_date")), "17:00:00"),
            r.text("level"),
        ]);
    }
    users
}

fn quotas(t: &Tables) -> Table {
    let mut quotas = Table::new(&["Id", "QuotaOwnerId", "StartDate", "QuotaAmount"]);
    for (i, r) in t.get(&staging::quotas::SPEC).records().enumerate() {
        quotas.push(vec![
            Some(format!("0J9{:012}", i + 1)),
            r.text("rep_id"),
            r.text("month"),
            r.text("quota_amount"),
        ]);
    }
    quotas
}

/// Salesforce stores units of the currency per unit of the corporate
/// currency; the generator drew those with four decimals.
fn rates(t: &Tables) -> Table {
    let mut rates = Table::new(&["Id", "IsoCode", "StartDate", "ConversionRate"]);
    for (i, r) in t.get(&staging::fx_rates::SPEC).records().enumerate() {
        let rate: f64 = r
            .get("rate_to_reporting")
            .and_then(|v| v.parse().ok())
            .expect("generated rates are numbers");
        let per_unit = ((1.0 / rate) * 1e4).round() / 1e4;
        rates.push(vec![
            Some(format!("04w{:012}", i + 1)),
            r.text("currency"),
            r.text("rate_date"),
            Some(format!("{per_unit:.4}")),
        ]);
    }
    rates
}

fn stages() -> Table {
    let mut stages = Table::new(&[
        "Id",
        "ApiName",
        "MasterLabel",
        "DefaultProbability",
        "IsWon",
        "IsClosed",
        "IsActive",
        "SortOrder",
    ]);
    for (i, s) in default_stages().iter().enumerate() {
        stages.push(vec![
            Some(format!("01J{:012}", i + 1)),
            Some(s.name.clone()),
            Some(s.name.clone()),
            Some(format!("{}", (s.probability * 100.0).round())),
            flag(s.kind == StageKind::Won),
            flag(s.kind != StageKind::Open),
            flag(true),
            Some((i + 1).to_string()),
        ]);
    }
    stages
}

/// The Opportunity object, and which opportunity each converted lead became
/// (the first that names it).
fn opportunities(t: &Tables) -> (Table, BTreeMap<&str, &str>) {
    let mut opportunities = Table::new(&[
        "Id",
        "OwnerId",
        "AccountId",
        "CreatedDate",
        "CloseDate",
        "StageName",
        "Amount",
        "CurrencyIsoCode",
        "Type",
        "IsDeleted",
    ]);
    let mut converted: BTreeMap<&str, &str> = BTreeMap::new();
    for r in t.get(&staging::opportunities::SPEC).records() {
        if let (Some(lead), Some(id)) = (r.get("lead_id"), r.get("opportunity_id")) {
            converted.entry(lead).or_insert(id);
        }
        opportunities.push(vec![
            r.text("opportunity_id"),
            r.text("rep_id"),
            r.text("account_id"),
            at(r.get("created_date"), "09:00:00"),
            r.text("close_date"),
            r.text("stage"),
            r.text("amount"),
            r.text("currency"),
            deal_type(r.get("deal_type")),
            flag(false),
        ]);
    }
    (opportunities, converted)
}

fn history(t: &Tables) -> Table {
    let mut history = Table::new(&[
        "Id",
        "OpportunityId",
        "CreatedDate",
        "StageName",
        "Amount",
        "CloseDate",
        "IsDeleted",
    ]);
    for (i, r) in t.history_rows().enumerate() {
        history.push(vec![
            Some(format!("008{:012}", i + 1)),
            r.text("opportunity_id"),
            r.text("changed_at"),
            r.text("stage"),
            r.text("amount"),
            r.text("close_date"),
            flag(false),
        ]);
    }
    history
}

/// Meetings are Events (minutes); the rest Tasks (call seconds).
fn activities(t: &Tables) -> (Table, Table) {
    let mut tasks = Table::new(&[
        "Id",
        "OwnerId",
        "TaskSubtype",
        "CreatedDate",
        "CallDurationInSeconds",
        "WhatId",
        "WhoId",
        "IsDeleted",
    ]);
    let mut events = Table::new(&[
        "Id",
        "OwnerId",
        "StartDateTime",
        "DurationInMinutes",
        "WhatId",
        "WhoId",
        "IsDeleted",
    ]);
    for r in t.get(&staging::activities::SPEC).records() {
        let minutes: Option<f64> = r.get("duration_minutes").and_then(|m| m.parse().ok());
        if r.get("activity_type") == Some("meeting") {
            events.push(vec![
                r.text("activity_id"),
                r.text("rep_id"),
                r.text("started_at"),
                minutes.map(|m| m.to_string()),
                r.text("opportunity_id"),
                r.text("lead_id"),
                flag(false),
            ]);
        } else {
            tasks.push(vec![
                r.text("activity_id"),
                r.text("rep_id"),
                r.get("activity_type").map(subtype),
                r.text("started_at"),
                minutes.map(|m| (m * 60.0).to_string()),
                r.text("opportunity_id"),
                r.text("lead_id"),
                flag(false),
            ]);
        }
    }
    (tasks, events)
}

fn leads(t: &Tables, converted: &BTreeMap<&str, &str>) -> Table {
    let mut leads = Table::new(&[
        "Id",
        "CreatedDate",
        "OwnerId",
        "LeadSource",
        "Matches_Persona__c",
        "Data_Inaccurate__c",
        "ConvertedOpportunityId",
        "IsDeleted",
    ]);
    for r in t.get(&staging::leads::SPEC).records() {
        leads.push(vec![
            r.text("lead_id"),
            r.text("created_at"),
            // Leads without a rep sit in a queue.
            Some(r.get("rep_id").unwrap_or("00G000000000001").to_string()),
            r.text("source"),
            r.text("matches_persona"),
            r.text("data_inaccurate"),
            r.get("lead_id")
                .and_then(|l| converted.get(l))
                .map(|o| o.to_string()),
            flag(false),
        ]);
    }
    leads
}
