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

fn text(v: Option<&str>) -> Option<String> {
    v.map(String::from)
}

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

pub fn write(output: &Storage, t: &Tables, parquet: bool) -> Result<()> {
    let f = |v: bool| Some(v.to_string());

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
    for r in &t.get(&staging::reps::SPEC).rows {
        let c = |n| t.get(&staging::reps::SPEC).value(r, n);
        let end = c("end_date");
        users.push(vec![
            text(c("rep_id")),
            text(c("rep_name")),
            text(c("team")),
            text(c("region")),
            f(end.is_none()),
            at(c("hire_date"), "09:00:00"),
            at(end.or(c("hire_date")), "17:00:00"),
            text(c("level")),
        ]);
    }
    users.put_export(output, "User", parquet)?;

    let mut quotas = Table::new(&["Id", "QuotaOwnerId", "StartDate", "QuotaAmount"]);
    for (i, r) in t.get(&staging::quotas::SPEC).rows.iter().enumerate() {
        let c = |n| t.get(&staging::quotas::SPEC).value(r, n);
        quotas.push(vec![
            Some(format!("0J9{:012}", i + 1)),
            text(c("rep_id")),
            text(c("month")),
            text(c("quota_amount")),
        ]);
    }
    quotas.put_export(output, "ForecastingQuota", parquet)?;

    // Salesforce stores units of the currency per unit of the corporate
    // currency; the generator drew those with four decimals.
    let mut rates = Table::new(&["Id", "IsoCode", "StartDate", "ConversionRate"]);
    for (i, r) in t.get(&staging::fx_rates::SPEC).rows.iter().enumerate() {
        let c = |n| t.get(&staging::fx_rates::SPEC).value(r, n);
        let rate: f64 = c("rate_to_reporting")
            .and_then(|v| v.parse().ok())
            .expect("generated rates are numbers");
        let per_unit = ((1.0 / rate) * 1e4).round() / 1e4;
        rates.push(vec![
            Some(format!("04w{:012}", i + 1)),
            text(c("currency")),
            text(c("rate_date")),
            Some(format!("{per_unit:.4}")),
        ]);
    }
    rates.put_export(output, "DatedConversionRate", parquet)?;

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
            f(s.kind == StageKind::Won),
            f(s.kind != StageKind::Open),
            f(true),
            Some((i + 1).to_string()),
        ]);
    }
    stages.put_export(output, "OpportunityStage", parquet)?;

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
    // A lead converts into one opportunity: the first that names it.
    let mut converted: BTreeMap<&str, &str> = BTreeMap::new();
    for r in &t.get(&staging::opportunities::SPEC).rows {
        let c = |n| t.get(&staging::opportunities::SPEC).value(r, n);
        if let (Some(lead), Some(id)) = (c("lead_id"), c("opportunity_id")) {
            converted.entry(lead).or_insert(id);
        }
        opportunities.push(vec![
            text(c("opportunity_id")),
            text(c("rep_id")),
            text(c("account_id")),
            at(c("created_date"), "09:00:00"),
            text(c("close_date")),
            text(c("stage")),
            text(c("amount")),
            text(c("currency")),
            deal_type(c("deal_type")),
            f(false),
        ]);
    }
    opportunities.put_export(output, "Opportunity", parquet)?;

    let mut history = Table::new(&[
        "Id",
        "OpportunityId",
        "CreatedDate",
        "StageName",
        "Amount",
        "CloseDate",
        "IsDeleted",
    ]);
    for (i, (table, r)) in t.history_rows().enumerate() {
        let c = |n| table.value(r, n);
        history.push(vec![
            Some(format!("008{:012}", i + 1)),
            text(c("opportunity_id")),
            text(c("changed_at")),
            text(c("stage")),
            text(c("amount")),
            text(c("close_date")),
            f(false),
        ]);
    }
    history.put_export(output, "OpportunityHistory", parquet)?;

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
    for r in &t.get(&staging::activities::SPEC).rows {
        let c = |n| t.get(&staging::activities::SPEC).value(r, n);
        let minutes: Option<f64> = c("duration_minutes").and_then(|m| m.parse().ok());
        if c("activity_type") == Some("meeting") {
            events.push(vec![
                text(c("activity_id")),
                text(c("rep_id")),
                text(c("started_at")),
                minutes.map(|m| m.to_string()),
                text(c("opportunity_id")),
                text(c("lead_id")),
                f(false),
            ]);
        } else {
            tasks.push(vec![
                text(c("activity_id")),
                text(c("rep_id")),
                c("activity_type").map(subtype),
                text(c("started_at")),
                minutes.map(|m| (m * 60.0).to_string()),
                text(c("opportunity_id")),
                text(c("lead_id")),
                f(false),
            ]);
        }
    }
    tasks.put_export(output, "Task", parquet)?;
    events.put_export(output, "Event", parquet)?;

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
    for r in &t.get(&staging::leads::SPEC).rows {
        let c = |n| t.get(&staging::leads::SPEC).value(r, n);
        leads.push(vec![
            text(c("lead_id")),
            text(c("created_at")),
            // Leads without a rep sit in a queue.
            Some(c("rep_id").unwrap_or("00G000000000001").to_string()),
            text(c("source")),
            text(c("matches_persona")),
            text(c("data_inaccurate")),
            c("lead_id")
                .and_then(|l| converted.get(l))
                .map(|o| o.to_string()),
            f(false),
        ]);
    }
    leads.put_export(output, "Lead", parquet)?;

    t.get(&staging::lead_events::SPEC)
        .put_export(output, "lead_events/lead_events", parquet)?;
    t.get(&staging::forecast_submissions::SPEC).put_export(
        output,
        "forecast_submissions/submissions",
        parquet,
    )
}
