//! Text -> typed values, as polars expressions (SPEC §7 "Text formats").
//!
//! Every value that reaches staging as text (CSV, and Parquet columns whose
//! type is not the contract's) goes through these parsers, so one set of
//! rules decides what text is valid; a Parquet column already of the
//! contract's type skips them (see `read`). A value that does not parse
//! becomes null; staging compares the typed value with the text to tell
//! "missing" from "unparsable".

use polars::prelude::*;

use crate::calendar::{instant_dtype, MICROS_PER_DAY};

/// The value types of the data contract (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Date,
    Timestamp,
    Number,
    Bool,
}

impl ValueType {
    pub fn dtype(self) -> DataType {
        match self {
            ValueType::Text => DataType::String,
            ValueType::Date => DataType::Date,
            ValueType::Timestamp => instant_dtype(),
            ValueType::Number => DataType::Float64,
            ValueType::Bool => DataType::Boolean,
        }
    }

    pub fn parse(self, text: Expr) -> Expr {
        match self {
            ValueType::Text => text,
            ValueType::Date => parse_date(text),
            ValueType::Timestamp => parse_timestamp(text),
            ValueType::Number => parse_number(text),
            ValueType::Bool => parse_bool(text),
        }
    }
}

const DATE_RE: &str = r"^\d{4}-\d{2}-\d{2}$";
const NUMBER_RE: &str = r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$";
const TIMESTAMP_RE: &str = r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?)?(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$";

fn null_of(dtype: DataType) -> Expr {
    lit(NULL).cast(dtype)
}

fn strict_date(text: Expr) -> Expr {
    text.str().to_date(StrptimeOptions {
        format: Some("%Y-%m-%d".into()),
        strict: false,
        exact: true,
        cache: true,
    })
}

/// `YYYY-MM-DD` only; impossible dates (2024-02-30) are unparsable.
pub fn parse_date(text: Expr) -> Expr {
    when(text.clone().str().contains(lit(DATE_RE), true))
        .then(strict_date(text))
        .otherwise(null_of(DataType::Date))
}

/// `[+-]digits[.digits][e±n]`: no thousands separators, no NaN or inf.
pub fn parse_number(text: Expr) -> Expr {
    when(text.clone().str().contains(lit(NUMBER_RE), true))
        .then(text.str().strip_prefix(lit("+")).cast(DataType::Float64))
        .otherwise(null_of(DataType::Float64))
}

/// true/false/t/f/1/0/yes/no/y/n in any case.
pub fn parse_bool(text: Expr) -> Expr {
    let lower = text.str().to_lowercase();
    let set = |words: &[&str]| lit(Series::new("".into(), words)).implode(false);
    when(
        lower
            .clone()
            .is_in(set(&["true", "t", "1", "yes", "y"]), false),
    )
    .then(lit(true))
    .when(lower.is_in(set(&["false", "f", "0", "no", "n"]), false))
    .then(lit(false))
    .otherwise(null_of(DataType::Boolean))
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH[:MM]|±HHMM]`, normalised to
/// UTC microseconds. A date alone is 00:00 UTC; digits past the microsecond
/// are dropped.
pub fn parse_timestamp(text: Expr) -> Expr {
    timestamp_from_parts(timestamp_parts(text))
}

/// The pieces of a timestamp's text, as a struct (null fields when it does
/// not match). Staging materialises this once per column: an expression that
/// used it eight times would run the regex eight times.
pub fn timestamp_parts(text: Expr) -> Expr {
    text.str()
        .extract_groups(TIMESTAMP_RE)
        .expect("the timestamp pattern compiles")
}

/// UTC microseconds from `timestamp_parts`, null when a piece is out of range.
pub fn timestamp_from_parts(parts: Expr) -> Expr {
    let field = |name: &str| parts.clone().struct_().field_by_name(name);
    let int = |name: &str| field(name).cast(DataType::Int64);
    let date = strict_date(field("date"));
    let h = int("h").fill_null(lit(0i64));
    let mi = int("mi").fill_null(lit(0i64));
    let s = int("s").fill_null(lit(0i64));
    let micros_of_second = field("f")
        .str()
        .slice(lit(0), lit(6))
        .str()
        .pad_end(lit(6), '0')
        .cast(DataType::Int64)
        .fill_null(lit(0i64));
    let tz = field("tz");
    let tz_digits = tz.clone().str().replace_all(lit(":"), lit(""), true);
    let tz_h = tz_digits
        .clone()
        .str()
        .slice(lit(1), lit(2))
        .cast(DataType::Int64);
    let tz_m = tz_digits
        .str()
        .slice(lit(3), lit(2))
        .cast(DataType::Int64)
        .fill_null(lit(0i64));
    let tz_sign = when(tz.clone().str().starts_with(lit("-")))
        .then(lit(-1i64))
        .otherwise(lit(1i64));
    let offset_minutes = when(tz.clone().is_null().or(tz.eq(lit("Z"))))
        .then(lit(0i64))
        .otherwise(tz_sign * (tz_h.clone() * lit(60i64) + tz_m.clone()));
    let days = date.clone().cast(DataType::Int32).cast(DataType::Int64);
    let micros = days * lit(MICROS_PER_DAY)
        + h.clone() * lit(3_600_000_000i64)
        + mi.clone() * lit(60_000_000i64)
        + s.clone() * lit(1_000_000i64)
        + micros_of_second
        - offset_minutes * lit(60_000_000i64);
    let valid = date
        .is_not_null()
        .and(h.lt(lit(24i64)))
        .and(mi.lt(lit(60i64)))
        .and(s.lt(lit(60i64)))
        .and(tz_h.fill_null(lit(0i64)).lt(lit(24i64)))
        .and(tz_m.lt(lit(60i64)));
    when(valid)
        .then(micros.cast(instant_dtype()))
        .otherwise(null_of(instant_dtype()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::micros_to_datetime;

    fn parse(ty: ValueType, values: &[&str]) -> Series {
        let df = df!("v" => values).unwrap();
        df.lazy()
            .select([ty.parse(col("v")).alias("v")])
            .collect()
            .unwrap()
            .column("v")
            .unwrap()
            .as_materialized_series()
            .clone()
    }

    #[test]
    fn numbers() {
        let s = parse(
            ValueType::Number,
            &[
                "100", "100.0", "+5", "-2.5", "1e3", "1.5E-1", " 100", "1,000", "NaN", "inf", ".5",
                "5.", "0x10",
            ],
        );
        let v: Vec<Option<f64>> = s.f64().unwrap().iter().collect();
        assert_eq!(
            v,
            [
                Some(100.0),
                Some(100.0),
                Some(5.0),
                Some(-2.5),
                Some(1000.0),
                Some(0.15),
                None,
                None,
                None,
                None,
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn dates() {
        let s = parse(
            ValueType::Date,
            &[
                "2024-02-29",
                "2023-02-29",
                "2024-1-05",
                "2024-01-05T00:00",
                "05/01/2024",
            ],
        );
        assert_eq!(s.null_count(), 4);
        assert_eq!(s.date().unwrap().physical().get(0), Some(19782)); // 2024-02-29 = day 19782
    }

    #[test]
    fn timestamps_normalise_to_utc() {
        let s = parse(
            ValueType::Timestamp,
            &[
                "2024-01-01",
                "2024-01-01T10:30",
                "2024-01-01 10:30:15.123456789",
                "2024-01-01T10:30:00Z",
                "2024-01-01T10:30:00+02:00",
                "2024-01-01T10:30:00-0130",
                "2024-01-01T10:30:00+05",
                "2024-01-01T24:00",
                "2024-01-01T10",
                "2024-13-01",
            ],
        );
        let got: Vec<Option<String>> = s
            .datetime()
            .unwrap()
            .physical()
            .iter()
            .map(|v| {
                v.map(|m| {
                    micros_to_datetime(m)
                        .format("%Y-%m-%d %H:%M:%S%.6f")
                        .to_string()
                })
            })
            .collect();
        let want = [
            Some("2024-01-01 00:00:00.000000"),
            Some("2024-01-01 10:30:00.000000"),
            Some("2024-01-01 10:30:15.123456"),
            Some("2024-01-01 10:30:00.000000"),
            Some("2024-01-01 08:30:00.000000"),
            Some("2024-01-01 12:00:00.000000"),
            Some("2024-01-01 05:30:00.000000"),
            None,
            None,
            None,
        ];
        assert_eq!(got, want.map(|o| o.map(String::from)));
    }

    #[test]
    fn bools() {
        let s = parse(ValueType::Bool, &["TRUE", "f", "1", "No", "Y", "maybe"]);
        let v: Vec<Option<bool>> = s.bool().unwrap().iter().collect();
        assert_eq!(
            v,
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(true),
                None
            ]
        );
    }
}
