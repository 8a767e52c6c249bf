//! Currency conversion (SPEC §1 "Currency"): the rate of the latest
//! `rate_date` on or before the row's date, per currency, by an as-of join.
//! The one place that knows how an amount becomes reporting currency.

use polars::prelude::*;

use crate::calendar::date_lit;

/// Money is booked in cents (SPEC §1): `round(x × 100) / 100` with halves
/// away from zero, in f64, exactly what Rust's `f64::round` does. polars'
/// default rounding is half-to-even, so the mode is named.
pub fn cents(x: Expr) -> Expr {
    x.round(2, RoundMode::HalfAwayFromZero)
}

/// An amount in the row's currency, in the reporting currency at `rate`,
/// rounded to cents per row.
pub fn to_reporting(amount: Expr, rate: Expr) -> Expr {
    cents(amount * rate)
}

/// Adds `fx_rate`: 1 for a null or reporting currency, else the rate of the
/// latest `rate_date ≤ date_col` for that currency, null when there is none.
/// `rates` has the staged fx_rates columns.
pub fn attach_rate(
    lf: LazyFrame,
    currency: &str,
    date_col: &str,
    rates: LazyFrame,
    reporting: &str,
) -> LazyFrame {
    // The join keys must not be null; rows with a null date or currency are
    // rejected earlier or need no rate, so any sentinel will do.
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let lf = lf
        .with_columns([
            col(currency).fill_null(lit("")).alias("_fx_currency"),
            col(date_col).fill_null(date_lit(epoch)).alias("_fx_date"),
        ])
        .cache();
    // The rate is looked up once per (currency, date) the rows have, a few
    // thousand pairs, and joined back in row order: the table itself is
    // never sorted.
    let needed = lf
        .clone()
        .select([col("_fx_currency"), col("_fx_date")])
        .unique(None, UniqueKeepStrategy::Any)
        .sort(["_fx_date"], Default::default());
    let right = rates
        .select([
            col("currency").alias("_fx_currency"),
            col("rate_date").alias("_fx_rate_date"),
            col("rate_to_reporting").alias("_fx_rate"),
        ])
        .sort(["_fx_rate_date"], Default::default());
    let found = crate::frames::join_latest_at_or_before(
        needed,
        right,
        "_fx_date",
        "_fx_rate_date",
        &["_fx_currency"],
    )
    .select([col("_fx_currency"), col("_fx_date"), col("_fx_rate")]);
    crate::frames::with_found(lf, found, &["_fx_currency", "_fx_date"], &["_fx_rate"])
        .with_column(
            when(col(currency).is_null().or(col(currency).eq(lit(reporting))))
                .then(lit(1.0))
                .otherwise(col("_fx_rate"))
                .alias("fx_rate"),
        )
        .select([all()
            .exclude_cols(["_fx_currency", "_fx_date", "_fx_rate"])
            .as_expr()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_since_epoch;
    use chrono::NaiveDate;

    fn day(s: &str) -> i32 {
        days_since_epoch(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn cents_round_halves_away_from_zero_as_f64_round_does() {
        // 0.125 × 100 = 12.5 exactly: a half, away from zero gives 13
        // (half-to-even would give 12); -0.125 → -13. 2.675 is stored just
        // below 2.675, but × 100 rounds to 267.5 in f64 → 268.
        let df = df!("x" => [0.125, 2.675, -0.125, 10.0, 1.005])
            .unwrap()
            .lazy()
            .select([cents(col("x"))])
            .collect()
            .unwrap();
        let got: Vec<f64> = df
            .column("x")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        // 1.005 × 100 = 100.49999999999999 in f64 → 100 → 1.00.
        assert_eq!(got, [0.13, 2.68, -0.13, 10.0, 1.0]);
    }

    #[test]
    fn latest_rate_on_or_before_the_date() {
        let rates = df!(
            "currency" => ["EUR", "EUR", "GBP"],
            "rate_date" => [day("2024-01-01"), day("2024-02-01"), day("2024-01-01")],
            "rate_to_reporting" => [1.10, 1.20, 1.30],
        )
        .unwrap()
        .lazy()
        .with_column(col("rate_date").cast(DataType::Date));
        let rows = df!(
            "id" => [1, 2, 3, 4, 5, 6],
            "currency" => [Some("EUR"), Some("EUR"), Some("EUR"), None, Some("USD"), Some("JPY")],
            "d" => [day("2024-01-31"), day("2024-02-01"), day("2023-12-31"), day("2020-01-01"), day("2020-01-01"), day("2024-03-01")],
        )
        .unwrap()
        .lazy()
        .with_column(col("d").cast(DataType::Date));
        let out = attach_rate(rows, "currency", "d", rates, "USD")
            .collect()
            .unwrap();
        // Rows keep their order (staging relies on it: no sort afterwards).
        let ids: Vec<i32> = out
            .column("id")
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
        let got: Vec<Option<f64>> = out
            .column("fx_rate")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        // Jan 31 -> Jan 1 rate; Feb 1 -> that day's rate; before any rate -> none;
        // null and reporting currency -> 1; an unknown currency -> none.
        assert_eq!(
            got,
            [Some(1.10), Some(1.20), None, Some(1.0), Some(1.0), None]
        );
    }
}
