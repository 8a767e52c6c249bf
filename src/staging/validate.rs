//! The contract checks shared by every table (SPEC §1.1 and §7 "Reading and
//! validation"): parse, collapse exact duplicates, give each bad row its one
//! reason (the first that applies, in the order of `Reason`), and split the
//! table into valid rows and quarantine rows.

use std::collections::BTreeMap;
use std::sync::Mutex;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::currency;
use crate::error::Result;
use crate::staging::parse::{self, ValueType};
use crate::staging::read::{self, typed_as_text, typed_name, SourceFile};
use crate::staging::{fx_rates, ColumnSpec, Staged, TableSpec};

/// Reject reasons in the order in which they are tried (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    MissingRequired,
    UnparsableValue,
    NegativeAmount,
    InvalidMonth,
    InvalidQuarterStart,
    DateOrder,
    UnknownStage,
    UnknownActivityType,
    DuplicateKey,
    UnknownReference,
    MissingFxRate,
}

impl Reason {
    /// Every reason, in the order they are tried.
    pub const ALL: [Reason; 11] = [
        Reason::MissingRequired,
        Reason::UnparsableValue,
        Reason::NegativeAmount,
        Reason::InvalidMonth,
        Reason::InvalidQuarterStart,
        Reason::DateOrder,
        Reason::UnknownStage,
        Reason::UnknownActivityType,
        Reason::DuplicateKey,
        Reason::UnknownReference,
        Reason::MissingFxRate,
    ];

    /// The reason as the small number the checks carry (`REASON_CODE`):
    /// choosing among numbers for millions of rows is cheaper than among
    /// texts; the text is given to rejected rows only.
    fn code(self) -> Expr {
        lit(self as i32).cast(DataType::Int32)
    }

    /// The text of a `REASON_CODE` expression.
    fn text_of(code: Expr) -> Expr {
        Reason::ALL
            .iter()
            .fold(lit(NULL).cast(DataType::String), |rest, r| {
                when(code.clone().eq(r.code()))
                    .then(lit(r.as_str()))
                    .otherwise(rest)
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MissingRequired => "missing_required",
            Reason::UnparsableValue => "unparsable_value",
            Reason::NegativeAmount => "negative_amount",
            Reason::InvalidMonth => "invalid_month",
            Reason::InvalidQuarterStart => "invalid_quarter_start",
            Reason::DateOrder => "date_order",
            Reason::UnknownStage => "unknown_stage",
            Reason::UnknownActivityType => "unknown_activity_type",
            Reason::DuplicateKey => "duplicate_key",
            Reason::UnknownReference => "unknown_reference",
            Reason::MissingFxRate => "missing_fx_rate",
        }
    }
}

/// A reference to a parent table's valid rows: `column` is the parent's
/// key under the same name; `takes` are columns the child takes from its
/// parent (history takes its opportunity's currency).
pub struct Reference {
    pub column: &'static str,
    pub parent: &'static TableSpec,
    pub takes: &'static [&'static str],
}

/// A table whose amounts convert to the reporting currency: `fx_rate` is
/// the rate of `currency` on `date` (SPEC §1 "Currency"), null when a
/// needed rate is missing.
pub struct Fx {
    pub currency: &'static str,
    pub date: &'static str,
    pub reporting: String,
}

/// A text column whose values must be among a few known ones: a value
/// outside them is rejected with `reason` (a null is left to the other
/// checks). The column is cast to a polars Enum of those values, which is
/// the check (an unknown value casts to null), and the valid rows hold the
/// Enum: a number of one or two bytes a row instead of a 16-byte text
/// view, which later plans compare and group as a number. The activities'
/// rep_id and activity_type are held so: the cast costs what the set
/// lookups it replaces cost, and the performance mart, which tests each
/// activity's type and groups them by rep, took 300–323 ms instead of
/// 356–377 ms at 1x on one thread (`docs/performance.md`).
pub struct OneOf {
    pub column: &'static str,
    pub values: Values,
    pub reason: Reason,
}

/// The values a `OneOf` column may take.
pub enum Values {
    /// Given by the config (the activity types).
    Given(Vec<String>),
    /// The parent table's valid keys under the same name: a reference
    /// (`Reference`, whose semantics it has: a rejected parent rejects its
    /// children).
    KeysOf(&'static TableSpec),
}

impl OneOf {
    /// The name of the Enum column made beside `column` while validating.
    fn held_name(column: &str) -> String {
        format!("_one_of_{column}")
    }

    /// The Enum of the values.
    fn dtype(&self, parents: &Staged) -> Result<DataType> {
        let categories = match &self.values {
            Values::Given(values) => FrozenCategories::new(values.iter().map(String::as_str)),
            Values::KeysOf(parent) => {
                let keys = parents
                    .get(parent)
                    .valid
                    .column(self.column)?
                    .str()?
                    .clone();
                FrozenCategories::new(keys.iter().flatten())
            }
        }?;
        Ok(DataType::from_frozen_categories(categories))
    }
}

/// What a table checks beyond parsing.
#[derive(Default)]
pub struct Rules {
    /// Extra conditions that make a value unparsable (a deal_type outside its set).
    pub unparsable: Vec<Expr>,
    /// Row-local checks, each with its reason.
    pub checks: Vec<(Reason, Expr)>,
    pub references: Vec<Reference>,
    /// Columns held as an Enum of the values they may take.
    pub one_of: Vec<OneOf>,
    /// Adds `fx_rate` after references.
    pub fx: Option<Fx>,
}

impl Rules {
    /// The tables whose valid rows these rules read: staged first.
    pub fn parents(&self) -> Vec<&'static str> {
        let mut parents: Vec<&'static str> = self
            .referenced()
            .into_iter()
            .map(|(parent, _)| parent.name)
            .collect();
        if self.fx.is_some() {
            parents.push(fx_rates::SPEC.name);
        }
        parents
    }

    /// Each parent table referenced, with the columns read from its valid
    /// rows (the key, and the columns a reference takes).
    pub fn referenced(&self) -> Vec<(&'static TableSpec, Vec<&'static str>)> {
        let references = self.references.iter().map(|r| {
            let columns = std::iter::once(r.column).chain(r.takes.iter().copied());
            (r.parent, columns.collect())
        });
        let keys = self.one_of.iter().filter_map(|o| match o.values {
            Values::KeysOf(parent) => Some((parent, vec![o.column])),
            Values::Given(_) => None,
        });
        references.chain(keys).collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TableStats {
    pub rows_read: usize,
    /// Rows a mapping's `filter` or `skip_deleted` dropped before the
    /// contract's checks (SPEC §1.2): counted, not quarantined.
    #[serde(default)]
    pub rows_filtered: usize,
    pub duplicates_collapsed: usize,
    pub rejected: usize,
    /// Rejected rows per reason.
    pub reasons: BTreeMap<String, usize>,
}

impl TableStats {
    /// rejected ÷ (rows read − exact duplicates collapsed), SPEC §7.
    pub fn reject_ratio(&self) -> f64 {
        let base = self.rows_read - self.duplicates_collapsed;
        if base == 0 {
            0.0
        } else {
            self.rejected as f64 / base as f64
        }
    }
}

/// True on a row that is a later copy of an exact duplicate: collapsed,
/// neither valid nor rejected (SPEC §7).
const COLLAPSED: &str = "_collapsed";

/// True on a row whose key another row still has once exact duplicates
/// are collapsed (`Reason::DuplicateKey`).
const DUPLICATE_KEY: &str = "_duplicate_key";

/// The column with the row's reject reason while it is checked
/// (`Reason::code`), null while the row is valid.
const REASON_CODE: &str = "_reason";

pub fn text_name(column: &str) -> String {
    format!("{column}__text")
}

fn any(exprs: impl IntoIterator<Item = Expr>) -> Expr {
    exprs.into_iter().fold(lit(false), |a, b| a.or(b))
}

fn all(exprs: impl IntoIterator<Item = Expr>) -> Expr {
    exprs.into_iter().fold(lit(true), |a, b| a.and(b))
}

pub struct Validated {
    /// The typed contract columns, plus `fx_rate` for tables converted to the reporting currency.
    pub valid: DataFrame,
    /// `table`, `source_file`, `source_row`, `reject_reason`, then the contract columns as text.
    pub rejected: DataFrame,
    pub stats: TableStats,
}

/// The phases of SPEC §1.1, in order: parse, collapse exact duplicates,
/// row-local reasons, duplicate keys, references, the fx rate, then split.
/// `parents` holds (at least) the tables `rules.parents()` names.
pub fn validate(
    spec: &TableSpec,
    raw: DataFrame,
    sources: &[SourceFile],
    rules: Rules,
    parents: &Staged,
) -> Result<Validated> {
    let rows_read = raw.height();
    let forms = Forms::of(spec, &raw);
    let raw = with_row_numbers(forms.without_unused(spec, raw))?;
    let parsed = parse_columns(spec, &forms, raw.lazy())?;
    let (mut lf, duplicate_keys) = collapse_exact_duplicates(spec, &forms, parsed)?;
    let mut checks = row_local_checks(spec, &forms, rules.unparsable, rules.checks);
    if duplicate_keys {
        checks.push(duplicate_key_check(spec));
    }
    for (i, r) in rules.references.into_iter().enumerate() {
        let (joined, check) = with_reference(lf, r, parents, i);
        lf = joined;
        checks.push(check);
    }
    let mut held = Vec::with_capacity(rules.one_of.len());
    let mut held_columns = Vec::with_capacity(rules.one_of.len());
    for one in &rules.one_of {
        let name = OneOf::held_name(one.column);
        held_columns.push((name.clone(), col(one.column).cast(one.dtype(parents)?)));
        checks.push((
            one.reason,
            col(one.column).is_not_null().and(col(&name).is_null()),
        ));
        held.push(one.column);
    }
    let has_fx = rules.fx.is_some();
    if let Some(fx) = rules.fx {
        let rates = parents.valid(&fx_rates::SPEC);
        lf = currency::attach_rate(lf, fx.currency, fx.date, rates, &fx.reporting);
        checks.push((Reason::MissingFxRate, col("fx_rate").is_null()));
    }
    // A row's reason is the first that holds, in `Reason` order (the one
    // of references and of `one_of` checks among them); stable, so checks
    // of one reason keep the order they were given in.
    checks.sort_by_key(|(r, _)| *r);
    // Collected once: every mart and the child tables' reference checks read
    // the staged table, and the quarantine counts go into the manifest.
    let checked = lf.collect()?;
    let slices = check_slices(checked.height());
    let checked = with_reason(checked, held_columns, checks, slices)?;
    split(spec, &forms, checked, sources, rows_read, has_fx, &held)
}

/// `raw` with `_row`, each row's place in the table (from 0), cut into
/// the pieces the table is in (`read::stacked`), so that polars keeps
/// evaluating it piece by piece instead of copying it into one.
fn with_row_numbers(mut raw: DataFrame) -> Result<DataFrame> {
    let mut rows = IdxCa::from_vec("_row".into(), (0..raw.height() as IdxSize).collect());
    rows.set_sorted_flag(polars::series::IsSorted::Ascending);
    if let Some(pieces) = read::pieces(&raw).filter(|p| p.len() > 1) {
        rows = rows.match_chunks(pieces.into_iter());
    }
    raw.insert_column(0, rows.into_column())?;
    Ok(raw)
}

/// Which forms a table's values came in, per column: a form no row has is
/// a null literal in the plan, so an all-typed column is never parsed and
/// an all-text one never coalesced (the same answers, without the work).
struct Forms {
    text: std::collections::HashSet<&'static str>,
    typed: std::collections::HashSet<&'static str>,
    /// The typed number columns with a NaN or an infinity in some row.
    /// Only these have values to null out (`typed_ok`): in the others the
    /// typed values are taken as they are, not copied by a `when` over
    /// every row (the activities' 31M minutes at 10x).
    non_finite: std::collections::HashSet<&'static str>,
}

impl Forms {
    fn of(spec: &TableSpec, raw: &DataFrame) -> Forms {
        let has = |name: &str| raw.column(name).is_ok_and(|c| c.null_count() < c.len());
        Forms {
            text: spec
                .columns
                .iter()
                .filter(|c| has(c.name))
                .map(|c| c.name)
                .collect(),
            typed: spec
                .columns
                .iter()
                .filter(|c| c.ty != ValueType::Text && has(&typed_name(c.name)))
                .map(|c| c.name)
                .collect(),
            non_finite: spec
                .columns
                .iter()
                .filter(|c| c.ty == ValueType::Number && has_non_finite(raw, &typed_name(c.name)))
                .map(|c| c.name)
                .collect(),
        }
    }

    /// `raw` without the columns no row has a value in (they are null
    /// literals in the plan instead). polars copies a table in pieces into
    /// one before it evaluates an expression on it when a column of one
    /// value (`Column::full_null`) stands beside the pieces.
    fn without_unused(&self, spec: &TableSpec, raw: DataFrame) -> DataFrame {
        let unused = spec.columns.iter().flat_map(|c| {
            let text = (!self.text.contains(c.name)).then(|| c.name.to_string());
            let typed = (c.ty != ValueType::Text && !self.typed.contains(c.name))
                .then(|| typed_name(c.name));
            text.into_iter().chain(typed)
        });
        raw.drop_many(unused)
    }

    /// The column's text (renamed `<column>__text` by `parse_columns`).
    fn text(&self, c: &ColumnSpec) -> Expr {
        if self.text.contains(c.name) {
            col(text_name(c.name))
        } else {
            lit(NULL).cast(DataType::String)
        }
    }

    /// Whether the column came as text in some rows and typed in others
    /// (a CSV file beside Parquet ones).
    fn both(&self, c: &ColumnSpec) -> bool {
        self.text.contains(c.name) && self.typed.contains(c.name)
    }

    /// The column's typed values (null for a text column).
    fn typed(&self, c: &ColumnSpec) -> Expr {
        if self.typed.contains(c.name) {
            col(typed_name(c.name))
        } else {
            lit(NULL).cast(c.ty.dtype())
        }
    }
}

/// Whether the float column `name` of `raw` has a NaN or an infinity.
fn has_non_finite(raw: &DataFrame, name: &str) -> bool {
    raw.column(name)
        .ok()
        .and_then(|c| c.f64().ok())
        .is_some_and(|v| {
            let finite = v.is_finite().sum().unwrap_or(0) as usize;
            finite + v.null_count() < v.len()
        })
}

/// A typed value the contract takes: any but NaN and ±inf for a number.
fn typed_ok(forms: &Forms, c: &ColumnSpec) -> Expr {
    let typed = forms.typed(c);
    if forms.non_finite.contains(c.name) {
        when(typed.clone().is_finite())
            .then(typed)
            .otherwise(lit(NULL).cast(DataType::Float64))
    } else {
        typed
    }
}

/// Each contract column's value: the typed one where the row came typed,
/// else parsed from its text (kept as `<column>__text`); with `_row`, the
/// row's place in the input.
///
/// A column that came typed in some files and as text in others (a CSV
/// file beside Parquet ones) is parsed on its text rows alone: a parser
/// run over the whole column does its work for every row, null or not (at
/// 10x the two hand-made CSV corrections made the 4.1M-row history's
/// timestamps, amounts and dates be parsed in full: about 1 s of CPU time
/// and 0.3 million page faults, 0.3–0.4 s of staging alone).
/// Those rows' values are found again by `_row`, joined to a frame of
/// `_row` alone (a join rechunks and materializes the frame it is given).
fn parse_columns(spec: &TableSpec, forms: &Forms, raw: LazyFrame) -> Result<LazyFrame> {
    let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
    let texts: Vec<String> = names.iter().map(|n| text_name(n)).collect();
    // Columns no row has a value in are not there (`Forms::without_unused`).
    let lf = raw.rename(&names, &texts, false);
    // A text column is never typed, so `both` holds for typed ones only.
    let mixed: Vec<&ColumnSpec> = spec.columns.iter().filter(|c| forms.both(c)).collect();
    let from_text: Vec<&ColumnSpec> = spec
        .columns
        .iter()
        .filter(|c| forms.text.contains(c.name) && !forms.both(c))
        .collect();
    let parsed_name = |c: &ColumnSpec| format!("_parsed_{}", c.name);
    let lf = if mixed.is_empty() {
        lf
    } else {
        let text_rows = parsed_from_text(
            lf.clone().filter(any(mixed
                .iter()
                .map(|c| col(text_name(c.name)).is_not_null()))),
            &mixed,
        )
        .select(
            std::iter::once(col("_row"))
                .chain(mixed.iter().map(|c| col(c.name).alias(parsed_name(c))))
                .collect::<Vec<_>>(),
        );
        let parsed = lf
            .clone()
            .select([col("_row")])
            .join(
                text_rows,
                [col("_row")],
                [col("_row")],
                JoinArgs::new(JoinType::Left),
            )
            .drop(cols(["_row"]));
        concat_lf_horizontal([lf, parsed], HConcatOptions::default())?
    };
    let typed: Vec<Expr> = spec
        .columns
        .iter()
        .filter(|c| !forms.text.contains(c.name) || forms.both(c))
        .map(|c| {
            match c.ty {
                _ if forms.both(c) => coalesce(&[typed_ok(forms, c), col(parsed_name(c))]),
                _ if forms.typed.contains(c.name) => typed_ok(forms, c),
                ty => lit(NULL).cast(ty.dtype()),
            }
            .alias(c.name)
        })
        .collect();
    let helpers: Vec<String> = mixed.iter().map(|c| parsed_name(c)).collect();
    Ok(parsed_from_text(lf, &from_text)
        .with_columns(typed)
        .drop(cols(helpers)))
}

/// `lf` with `columns` parsed from their text (`<column>__text`), each
/// under its own name. Timestamps are split into their pieces once, in a
/// column of their own (`_parts_<column>`).
fn parsed_from_text(lf: LazyFrame, columns: &[&ColumnSpec]) -> LazyFrame {
    let parts_name = |c: &str| format!("_parts_{c}");
    let timestamp_parts: Vec<Expr> = columns
        .iter()
        .filter(|c| c.ty == ValueType::Timestamp)
        .map(|c| parse::timestamp_parts(col(text_name(c.name))).alias(parts_name(c.name)))
        .collect();
    let parsed: Vec<Expr> = columns
        .iter()
        .map(|c| {
            match c.ty {
                ValueType::Timestamp => parse::timestamp_from_parts(col(parts_name(c.name))),
                ty => ty.parse(col(text_name(c.name))),
            }
            .alias(c.name)
        })
        .collect();
    lf.with_columns(timestamp_parts).with_columns(parsed)
}

/// Exact duplicates compare parsed values (100 equals 100.0); a value that
/// does not parse is compared by its text. The first in path and row order
/// is kept, before any other check. The later copies are marked
/// `COLLAPSED` and, in a table with a key, the rows whose key is still
/// shared once they are `DUPLICATE_KEY`, each column only when some row is
/// (a column of one `false` would make polars copy a table in pieces into
/// one); true when there are such keys.
fn collapse_exact_duplicates(
    spec: &TableSpec,
    forms: &Forms,
    lf: LazyFrame,
) -> Result<(LazyFrame, bool)> {
    let mut same_row: Vec<Expr> = Vec::new();
    let mut helper_cols: Vec<Expr> = Vec::new();
    for c in spec.columns {
        same_row.push(col(c.name));
        if c.ty != ValueType::Text {
            let name = format!("_dup_{}", c.name);
            helper_cols.push(
                when(col(c.name).is_null())
                    .then(coalesce(&[forms.text(c), non_finite_text(forms, c)]))
                    .otherwise(lit(NULL).cast(DataType::String))
                    .alias(&name),
            );
            same_row.push(col(name));
        }
    }
    // Identical rows have identical keys (null keys are one group), so only
    // rows that share their key with another can be exact duplicates: the
    // whole row is compared for those few alone. A table without a key
    // (lead_events) takes its parsed values for one: at 10x, comparing
    // each of 2M events' whole row with the others (a window over every
    // column) took 0.5 s.
    let alike: Vec<&str> = if spec.key.is_empty() {
        spec.columns.iter().map(|c| c.name).collect()
    } else {
        spec.key.to_vec()
    };
    let key: Vec<Expr> = alike.iter().map(|k| col(*k)).collect();
    // Collected: the few rows that share a key are picked out of it, and the
    // checks that follow read it again (as a plan, it would be parsed twice).
    let parsed = lf.collect()?;
    let shared = parsed
        .filter(&rows_sharing_their_key(&parsed, &alike, cores())?)?
        .lazy()
        .with_columns(helper_cols)
        .with_column(
            col("_row")
                .eq(col("_row").min().over(same_row)?)
                .alias("_first_copy"),
        )
        .with_column(
            col("_row")
                .count()
                .over([key, vec![col("_first_copy")]].concat())?
                .alias("_copies_left"),
        )
        .select([col("_row"), col("_first_copy"), col("_copies_left")])
        .collect()?;
    // Later copies are collapsed; a key that two or more rows still share
    // once they are is a duplicate key (`duplicate_key_check`).
    let rows_where = |cond: Expr| -> Result<Series> {
        Ok(shared
            .clone()
            .lazy()
            .filter(cond)
            .select([col("_row")])
            .collect()?
            .column("_row")?
            .as_materialized_series()
            .clone())
    };
    let later_copies = rows_where(col("_first_copy").not())?;
    // Without a key, rows alike in every parsed value but not in the text
    // of a value that did not parse are two rows, not a duplicate key.
    let duplicate_keys = if spec.key.is_empty() {
        rows_where(lit(false))?
    } else {
        rows_where(col("_first_copy").and(col("_copies_left").gt(lit(1))))?
    };
    // Marked, not filtered out here: a filter would copy the whole table,
    // and `split` filters it once anyway.
    let marked = |rows: Series, name: &str| {
        col("_row")
            .is_in(lit(rows).implode(false), false)
            .alias(name)
    };
    let has_duplicate_keys = !duplicate_keys.is_empty();
    let mut lf = parsed.lazy();
    if !later_copies.is_empty() {
        lf = lf.with_column(marked(later_copies, COLLAPSED));
    }
    if has_duplicate_keys {
        lf = lf.with_column(marked(duplicate_keys, DUPLICATE_KEY));
    }
    Ok((lf, has_duplicate_keys))
}

/// True on the rows whose key another row may have too: each row's key
/// hashed to 64 bits by polars' own column hashers, and the hash values
/// that occur twice found by sorting them. Numbers sort fast; a hash table
/// of millions of ids (a window count) took four times as long. Null keys
/// hash alike, so they share, as the window counted them. Two distinct keys
/// whose hashes collide are only sent to the exact comparison that
/// follows, which tells them apart.
/// The key is hashed on `threads` threads (`key_hashes`).
fn rows_sharing_their_key(
    parsed: &DataFrame,
    key: &[&str],
    threads: usize,
) -> Result<BooleanChunked> {
    let hashes = key_hashes(parsed, key, threads)?;
    let repeated = repeated_values(&hashes, threads);
    if repeated.is_empty() {
        return Ok(BooleanChunked::full(
            "shared".into(),
            false,
            parsed.height(),
        ));
    }
    let repeated = UInt64Chunked::from_vec("h".into(), repeated).into_series();
    // Taken as it is (`Series::new` would copy it).
    let hashes = UInt64Chunked::from_vec("h".into(), hashes).into_series();
    let shared = DataFrame::new(hashes.len(), vec![hashes.into_column()])?
        .lazy()
        .select([col("h").is_in(lit(repeated).implode(false), false)])
        .collect()?;
    Ok(shared.column("h")?.bool()?.clone())
}

/// The values that occur more than once in `values`, each once, in
/// ascending order: a sorted copy's equal neighbours. The copy is sorted by
/// a radix sort on `threads` threads. polars sorts numbers by comparing
/// them (at 10x, the 31M activity ids' hashes took 0.6 s, and finding the
/// equal neighbours in the sorted column 0.2 s more).
fn repeated_values(values: &[u64], threads: usize) -> Vec<u64> {
    use voracious_radix_sort::RadixSort;
    let mut sorted = values.to_vec();
    sorted.voracious_mt_sort(threads.max(1));
    let mut repeated: Vec<u64> = sorted
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect();
    repeated.dedup();
    repeated
}

/// Each row's key hashed (the key's columns combined, from 0), the table cut
/// into `threads` runs of rows, each hashed on a thread of its own: polars
/// hashes a column on one thread (at 10x, 31M activity ids took 348 ms on
/// one, 221–247 ms on two, beside the other tables' staging). A row's hash
/// depends on its key alone, not on the run it is in.
fn key_hashes(parsed: &DataFrame, key: &[&str], threads: usize) -> Result<Vec<u64>> {
    let columns = key
        .iter()
        .map(|k| Ok(parsed.column(k)?.as_materialized_series()))
        .collect::<Result<Vec<_>>>()?;
    // Written before the threads read and combine into it: memory fresh
    // from the kernel and allocated zeroed maps a shared page of zeros on
    // its first read, and the write that follows makes the kernel copy the
    // page and flush every core's cache of the page tables (at 1x, with the
    // activities in their files' pieces, 0.1 s).
    #[allow(clippy::slow_vector_initialization)]
    let mut hashes = {
        let mut hashes = Vec::with_capacity(parsed.height());
        hashes.resize(parsed.height(), 0u64);
        hashes
    };
    let run = parsed.height().div_ceil(threads.max(1)).max(1);
    // Each run's first row and its part of `hashes` (behind a lock only so
    // that `in_parallel` can hand it to one thread by shared reference).
    let runs: Vec<(i64, Mutex<&mut [u64]>)> = hashes
        .chunks_mut(run)
        .enumerate()
        .map(|(i, out)| ((i * run) as i64, Mutex::new(out)))
        .collect();
    crate::in_parallel(&runs, |(first, out)| -> Result<()> {
        let out = &mut **out.lock().expect("one thread per run");
        let state = PlSeedableRandomStateQuality::seed_from_u64(0);
        for c in &columns {
            c.slice(*first, out.len())
                .vec_hash_combine(state.clone(), out)?;
        }
        Ok(())
    })
    .into_iter()
    .collect::<Result<()>>()?;
    drop(runs);
    Ok(hashes)
}

/// The text a typed number that is no number prints (`NaN`, `inf`,
/// `-inf`, as polars prints them), without printing every row; null for
/// any other column, which has no such value (`Forms::non_finite`).
fn non_finite_text(forms: &Forms, c: &ColumnSpec) -> Expr {
    if !forms.non_finite.contains(c.name) {
        return lit(NULL).cast(DataType::String);
    }
    let typed = forms.typed(c);
    when(typed.clone().is_nan())
        .then(lit("NaN"))
        .when(typed.clone().gt(lit(0.0)).and(typed.clone().is_infinite()))
        .then(lit("inf"))
        .when(typed.clone().is_infinite())
        .then(lit("-inf"))
        .otherwise(lit(NULL).cast(DataType::String))
}

/// The value as it came, for the quarantine: its text, or the canonical
/// text of its typed value. Evaluated on rejected rows only.
fn original_text(forms: &Forms, c: &ColumnSpec) -> Expr {
    match c.ty {
        ValueType::Text => forms.text(c),
        ty => forms.text(c).fill_null(typed_as_text(forms.typed(c), ty)),
    }
}

/// Whether the row has a value, text or typed.
fn given(forms: &Forms, c: &ColumnSpec) -> Expr {
    match (forms.text.contains(c.name), forms.typed.contains(c.name)) {
        (true, true) => forms.text(c).is_not_null().or(forms.typed(c).is_not_null()),
        (true, false) => forms.text(c).is_not_null(),
        (false, true) => forms.typed(c).is_not_null(),
        (false, false) => lit(false),
    }
}

/// A check: its reason goes to the rows where its condition holds, unless
/// an earlier check gave them one.
type Check = (Reason, Expr);

/// The row-local checks, in SPEC §7's order.
fn row_local_checks(
    spec: &TableSpec,
    forms: &Forms,
    unparsable: Vec<Expr>,
    table_checks: Vec<Check>,
) -> Vec<Check> {
    let mut checks: Vec<(Reason, Expr)> = vec![
        (
            Reason::MissingRequired,
            any(spec
                .columns
                .iter()
                .filter(|c| c.required)
                .map(|c| given(forms, c).not())),
        ),
        (
            Reason::UnparsableValue,
            any(spec
                .columns
                .iter()
                .map(|c| given(forms, c).and(col(c.name).is_null()))
                .chain(unparsable)),
        ),
    ];
    let mut local = table_checks;
    local.sort_by_key(|(r, _)| *r);
    checks.extend(local);
    checks
}

/// The fewest rows `with_reason` checks on a thread of their own.
const CHECK_SLICE_ROWS: usize = 100_000;

/// The cores the checks spread their work over (one when unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many slices `with_reason` checks `rows` in: one per core, none
/// smaller than `CHECK_SLICE_ROWS`.
fn check_slices(rows: usize) -> usize {
    cores().min(rows.div_ceil(CHECK_SLICE_ROWS)).max(1)
}

/// `checked` with `columns` (each made of its own row alone, as the
/// `OneOf` Enums are) and `REASON_CODE`: the reason of the first of
/// `checks` that holds on the row (a check may read `columns`), null when
/// none does. Row by row, so the rows are done in runs side by side:
/// polars evaluates one expression over one piece of a column on one
/// thread, and at 10x the activities' checks (31M types and rep_ids looked
/// up) took 1.1 s while the other core had nothing left to do; at 1x the
/// Enum casts of rep_id and activity_type, made before the runs, kept one
/// core busy and the other idle at the end of staging. A table in pieces
/// (`read::stacked`) is done piece by piece; one in one piece in `slices`
/// runs. The new columns are cut like the table: a column cut otherwise
/// makes polars copy the table into one piece (the 1x run's peak rose
/// from about 0.7 to 1.02–1.06 GiB when the Enums were cast whole).
fn with_reason(
    mut checked: DataFrame,
    columns: Vec<(String, Expr)>,
    checks: Vec<Check>,
    slices: usize,
) -> Result<DataFrame> {
    let mut reason = lit(NULL).cast(DataType::Int32);
    for (r, cond) in checks.into_iter().rev() {
        reason = when(cond.fill_null(lit(false)))
            .then(r.code())
            .otherwise(reason);
    }
    let height = checked.height();
    let pieces = read::pieces(&checked).filter(|p| p.len() > 1);
    let runs = pieces.clone().unwrap_or_else(|| {
        let per_slice = height.div_ceil(slices.max(1)).max(1);
        (0..height.div_ceil(per_slice).max(1))
            .map(|i| per_slice.min(height - i * per_slice))
            .collect()
    });
    let made: Vec<Expr> = columns.iter().map(|(n, e)| e.clone().alias(n)).collect();
    let names: Vec<&str> = columns
        .iter()
        .map(|(n, _)| n.as_str())
        .chain([REASON_CODE])
        .collect();
    let kept: Vec<Expr> = columns
        .iter()
        .map(|(n, _)| col(n.as_str()))
        .chain([reason.alias(REASON_CODE)])
        .collect();
    let plans: Vec<LazyFrame> = runs
        .iter()
        .scan(0, |first, &len| {
            let run = checked.slice(*first as i64, len);
            *first += len;
            Some(run.lazy().with_columns(made.clone()).select(kept.clone()))
        })
        .collect();
    let out = concat(
        plans,
        UnionArgs {
            parallel: true,
            rechunk: false,
            ..Default::default()
        },
    )?
    .collect()?;
    for name in names {
        let column = out.column(name)?.as_materialized_series();
        checked.with_column(cut_like(column, pieces.as_deref())?.into_column())?;
    }
    Ok(checked)
}

/// `column` cut into `pieces` (lengths), or in one piece when `None`,
/// sharing its memory where it already is.
fn cut_like(column: &Series, pieces: Option<&[usize]>) -> Result<Series> {
    let Some(pieces) = pieces else {
        return Ok(column.rechunk());
    };
    if column.chunk_lengths().eq(pieces.iter().copied()) {
        return Ok(column.clone());
    }
    let whole = column.rechunk();
    let mut at = 0;
    let mut cut = pieces.iter().map(|&len| {
        let piece = whole.slice(at as i64, len);
        at += len;
        piece
    });
    let mut out = cut.next().expect("one piece or more");
    for piece in cut {
        out.append_owned(piece)?;
    }
    Ok(out)
}

/// Keys: every row with a complete, parsable key takes part, rejected rows
/// included; all rows of a duplicated key are rejected, keeping any earlier
/// reason. For a table whose `collapse_exact_duplicates` found such keys.
fn duplicate_key_check(spec: &TableSpec) -> Check {
    let key_complete = all(spec.key.iter().map(|k| col(*k).is_not_null()));
    (Reason::DuplicateKey, key_complete.and(col(DUPLICATE_KEY)))
}

/// A reference to the parent's valid rows; a rejected parent rejects its
/// children: the rows (joined to the columns the child takes) and the
/// check. `i` names the helper column.
fn with_reference(lf: LazyFrame, r: Reference, parents: &Staged, i: usize) -> (LazyFrame, Check) {
    if r.takes.is_empty() {
        // Only the key is checked: a set lookup, no join of the whole table.
        let keys = parents
            .get(r.parent)
            .valid
            .column(r.column)
            .expect("a parent has its key")
            .as_materialized_series()
            .clone();
        let known = col(r.column).is_in(lit(keys).implode(false), false);
        return (
            lf,
            (
                Reason::UnknownReference,
                col(r.column).is_not_null().and(known.not()),
            ),
        );
    }
    let found = format!("_ref_found_{i}");
    let columns: Vec<&str> = std::iter::once(r.column)
        .chain(r.takes.iter().copied())
        .collect();
    let parent = parents
        .keys(r.parent, &columns)
        .with_column(lit(true).alias(&found));
    let taken: Vec<&str> = std::iter::once(found.as_str())
        .chain(r.takes.iter().copied())
        .collect();
    let joined = crate::frames::with_found(lf, parent, &[r.column], &taken);
    (
        joined,
        (
            Reason::UnknownReference,
            col(r.column).is_not_null().and(col(&found).is_null()),
        ),
    )
}

/// `frame` (columns of `checked`, row for row) at the rows where `kept`
/// holds on `checked`. When those are one run of rows (nothing rejected or
/// collapsed, or only rows at the start or the end of the table), the run
/// is a slice, which shares the columns' memory instead of copying millions
/// of rows (the benchmark's activities, whose bad rows are the first and
/// the last two: 1x 1.47–1.56 s against 1.54–1.65 s and 0.73–0.78 against
/// 0.78–0.83 GiB, five alternating runs; 10x within this machine's noise).
/// Rows dropped in between take one filter, a copy in one piece: a table
/// left in pieces would sum its floats in another order (a forecast moved
/// in its last bit when tried), and the marts must not move.
fn kept_rows(frame: DataFrame, checked: &DataFrame, kept: Expr) -> Result<DataFrame> {
    let mask = checked
        .clone()
        .lazy()
        .select([kept.alias("kept")])
        .collect()?;
    let mask = mask.column("kept")?.bool()?;
    // One run: every kept row lies in the `n` rows from the first one.
    let n = mask.num_trues();
    if let Some(first) = mask.first_true_idx() {
        if mask.slice(first as i64, n).num_trues() == n {
            return Ok(frame.slice(first as i64, n));
        }
    }
    Ok(frame.filter(mask)?)
}

/// The checked rows split into valid rows and quarantine rows, with the counts.
fn split(
    spec: &TableSpec,
    forms: &Forms,
    checked: DataFrame,
    sources: &[SourceFile],
    rows_read: usize,
    has_fx: bool,
    held: &[&str],
) -> Result<Validated> {
    let duplicates_collapsed = match checked.column(COLLAPSED) {
        Ok(c) => c.bool()?.sum().unwrap_or(0) as usize,
        Err(_) => rows_read - checked.height(),
    };
    let kept = || match checked.column(COLLAPSED) {
        Ok(_) => col(COLLAPSED).not(),
        Err(_) => lit(true),
    };
    let mut valid_cols: Vec<Expr> = spec
        .columns
        .iter()
        .filter(|c| c.kept)
        .map(|c| {
            if held.contains(&c.name) {
                col(OneOf::held_name(c.name)).alias(c.name)
            } else {
                col(c.name)
            }
        })
        .collect();
    if has_fx {
        valid_cols.push(col("fx_rate"));
    }
    let valid = kept_rows(
        checked.clone().lazy().select(valid_cols).collect()?,
        &checked,
        col(REASON_CODE).is_null().and(kept()),
    )?;

    let mut rejected_cols = vec![
        lit(spec.name).alias("table"),
        col("source_file"),
        col("source_row"),
        Reason::text_of(col(REASON_CODE)).alias("reject_reason"),
    ];
    rejected_cols.extend(
        spec.columns
            .iter()
            .map(|c| original_text(forms, c).alias(c.name)),
    );
    let mut rejected = checked
        .clone()
        .lazy()
        .filter(col(REASON_CODE).is_not_null().and(kept()));
    if !rejected.collect_schema()?.contains("source_file") {
        // The file of a row read in the contract's shape is the last one
        // starting at or before the row's place in the table, and its
        // `source_row` that place from the file's first row (from 1):
        // found for rejected rows only, in their own order.
        let files = df!(
            "source_file" => sources.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            "_first_row" => sources.iter().map(|s| s.first_row).collect::<Vec<_>>(),
        )?;
        let placed = rejected
            .with_row_index("_at", None)
            .with_column(col("_row").cast(DataType::Int64))
            .sort(["_row"], Default::default());
        rejected = crate::frames::join_latest_at_or_before(
            placed,
            files.lazy(),
            "_row",
            "_first_row",
            &[],
        )
        .sort(["_at"], Default::default())
        .with_column((col("_row") - col("_first_row") + lit(1i64)).alias("source_row"));
    }
    let rejected = with_own_text(rejected.select(rejected_cols).collect()?)?;
    let stats = TableStats {
        rows_filtered: 0,
        rows_read,
        duplicates_collapsed,
        rejected: rejected.height(),
        reasons: reason_counts(&rejected)?,
    };
    Ok(Validated {
        valid,
        rejected,
        stats,
    })
}

/// `rows` with each text column copied into buffers of its own. A few rows
/// picked out of a text column share the whole column's buffers (polars
/// copies only the 16-byte views), so a quarantine of three rows would keep
/// every activity_id of the table alive for the whole run.
fn with_own_text(rows: DataFrame) -> Result<DataFrame> {
    let height = rows.height();
    let columns = rows
        .into_columns()
        .into_iter()
        .map(|c| match c.str() {
            Ok(text) => {
                let chunks = text.downcast_iter().map(|a| a.clone().gc());
                StringChunked::from_chunk_iter(c.name().clone(), chunks).into_column()
            }
            Err(_) => c,
        })
        .collect();
    Ok(DataFrame::new(height, columns)?)
}

/// Rejected rows per reason.
fn reason_counts(rejected: &DataFrame) -> Result<BTreeMap<String, usize>> {
    let mut reasons = BTreeMap::new();
    if rejected.height() == 0 {
        return Ok(reasons);
    }
    let counts = rejected
        .clone()
        .lazy()
        .group_by([col("reject_reason")])
        .agg([len().alias("n")])
        .collect()?;
    let rs = counts.column("reject_reason")?.str()?.clone();
    let ns = counts.column("n")?.cast(&DataType::UInt64)?;
    for (r, n) in rs.iter().zip(ns.u64()?.iter()) {
        reasons.insert(r.unwrap_or_default().to_string(), n.unwrap_or(0) as usize);
    }
    Ok(reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row's reason code, as `with_reason` made it.
    fn reason_codes(checked: &DataFrame) -> Vec<Option<i32>> {
        let codes = checked.column(REASON_CODE).unwrap().i32().unwrap();
        codes.iter().collect()
    }

    /// Seven rows, two checks (a negative amount before an unknown type):
    /// each row gets the first that holds, a null condition holds for no
    /// row, and the answer is the same checked in one, two, three or seven
    /// slices (three: slices of 3, 3 and 1 rows), or in pieces.
    #[test]
    fn each_row_gets_its_first_reason_in_any_slices() {
        let rows = df!(
            "amount" => [Some(1.0), Some(-1.0), Some(-2.0), None, Some(5.0), Some(-3.0), Some(0.0)],
            "type" => [Some("call"), Some("call"), Some("fax"), Some("fax"), None, Some("call"), Some("fax")],
        )
        .unwrap();
        let checks = || {
            vec![
                (Reason::NegativeAmount, col("amount").lt(lit(0.0))),
                (Reason::UnknownActivityType, col("type").neq(lit("call"))),
            ]
        };
        let neg = Some(Reason::NegativeAmount as i32);
        let unknown = Some(Reason::UnknownActivityType as i32);
        let expected = vec![None, neg, neg, unknown, None, neg, unknown];
        for slices in [1, 2, 3, 7] {
            let checked = with_reason(rows.clone(), Vec::new(), checks(), slices).unwrap();
            assert_eq!(reason_codes(&checked), expected, "{slices} slices");
            assert_eq!(checked.column(REASON_CODE).unwrap().n_chunks(), 1);
            assert_eq!(checked.width(), 3);
        }
        // The same rows in pieces of 2, 4 and 1 rows (a table read from
        // files of several row groups): checked piece by piece, whatever
        // `slices` says, the reasons cut into the same pieces.
        let mut pieces = rows.slice(0, 2);
        pieces.vstack_mut(&rows.slice(2, 4)).unwrap();
        pieces.vstack_mut(&rows.slice(6, 1)).unwrap();
        let checked = with_reason(pieces, Vec::new(), checks(), 1).unwrap();
        let reasons = checked.column(REASON_CODE).unwrap().i32().unwrap().clone();
        assert_eq!(reasons.iter().collect::<Vec<_>>(), expected);
        assert_eq!(reasons.chunk_lengths().collect::<Vec<_>>(), [2, 4, 1]);
    }

    /// A column made beside the checks (as the `OneOf` Enums are) is there
    /// for them to read and is kept, cut like the table: in one piece
    /// whatever the slices, in the table's pieces when it has some.
    #[test]
    fn a_column_made_beside_the_checks_is_kept_cut_like_the_table() {
        let rows = df!(
            "type" => [Some("call"), Some("fax"), None, Some("call"), Some("fax")],
        )
        .unwrap();
        let made = || vec![("_is_call".to_string(), col("type").eq(lit("call")))];
        let checks = || vec![(Reason::UnknownActivityType, col("_is_call").not())];
        let unknown = Some(Reason::UnknownActivityType as i32);
        // A null type makes a null `_is_call`, which no check holds on.
        let expected_codes = vec![None, unknown, None, None, unknown];
        let expected_made = vec![Some(true), Some(false), None, Some(true), Some(false)];
        let read = |checked: &DataFrame| {
            let made = checked.column("_is_call").unwrap().bool().unwrap().clone();
            (reason_codes(checked), made)
        };
        for slices in [1, 2, 5] {
            let checked = with_reason(rows.clone(), made(), checks(), slices).unwrap();
            let (codes, made) = read(&checked);
            assert_eq!(codes, expected_codes, "{slices} slices");
            assert_eq!(made.iter().collect::<Vec<_>>(), expected_made);
            assert_eq!(made.chunk_lengths().collect::<Vec<_>>(), [5]);
            assert_eq!(checked.width(), 3);
        }
        let mut pieces = rows.slice(0, 3);
        pieces.vstack_mut(&rows.slice(3, 2)).unwrap();
        let (codes, made) = read(&with_reason(pieces, made(), checks(), 1).unwrap());
        assert_eq!(codes, expected_codes);
        assert_eq!(made.iter().collect::<Vec<_>>(), expected_made);
        assert_eq!(made.chunk_lengths().collect::<Vec<_>>(), [3, 2]);
    }

    /// Which rows share their key, the same whether the key is hashed on
    /// one thread or cut into runs for two, three or four.
    fn shares_in(df: &DataFrame, key: &[&str]) -> Vec<bool> {
        let on = |threads| -> Vec<bool> {
            rows_sharing_their_key(df, key, threads)
                .unwrap()
                .iter()
                .map(|b| b.unwrap())
                .collect()
        };
        let one = on(1);
        for threads in 2..=4 {
            assert_eq!(on(threads), one, "{threads} threads");
        }
        one
    }

    fn shares(ids: &[Option<&str>]) -> Vec<bool> {
        shares_in(&df!("id" => ids).unwrap(), &["id"])
    }

    #[test]
    fn rows_sharing_a_key_in_any_order() {
        // b twice, d three times.
        let sorted = [
            Some("a"),
            Some("b"),
            Some("b"),
            Some("c"),
            Some("d"),
            Some("d"),
            Some("d"),
        ];
        let want = [false, true, true, false, true, true, true];
        assert_eq!(shares(&sorted), want);
        // The same keys out of order: the same answer per row.
        let shuffled = [
            Some("d"),
            Some("b"),
            Some("a"),
            Some("d"),
            Some("c"),
            Some("b"),
            Some("d"),
        ];
        assert_eq!(
            shares(&shuffled),
            [true, true, false, true, false, true, true]
        );
        // Null keys share (as one key); no repeated key at all.
        let with_nulls = [None, None, Some("a"), Some("b")];
        assert_eq!(shares(&with_nulls), [true, true, false, false]);
        assert_eq!(shares(&[Some("a"), Some("b")]), [false, false]);
        // One row, and the last row of a run at the end.
        assert_eq!(shares(&[Some("a")]), [false]);
        assert_eq!(shares(&[Some("a"), Some("a")]), [true, true]);
    }

    #[test]
    fn repeated_values_each_once_in_order() {
        assert_eq!(repeated_values(&[], 2), Vec::<u64>::new());
        assert_eq!(repeated_values(&[7], 2), Vec::<u64>::new());
        assert_eq!(repeated_values(&[5, 3, 5, 9, 3, 5, 1], 2), [3, 5]);
        // Over a million values, where the sort is a radix sort: i times an
        // odd number is a different value for every i; three are planted
        // again (one of them twice), and the largest value twice.
        let of = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut values: Vec<u64> = (0..1_000_003).map(of).collect();
        values[10] = of(999_999);
        values[20] = of(500_000);
        values[30] = of(500_000);
        values[40] = u64::MAX;
        values[1_000_002] = u64::MAX;
        let mut want = vec![of(999_999), of(500_000), u64::MAX];
        want.sort();
        for threads in 1..=3 {
            assert_eq!(repeated_values(&values, threads), want, "{threads} threads");
        }
    }

    #[test]
    fn rows_sharing_a_key_of_two_columns() {
        // (a, 1) first and last: in different runs when cut for 2–4
        // threads. (a, 2) and (b, 1) share one column each, not the key.
        let df = df!(
            "id" => [Some("a"), Some("a"), Some("b"), None, None, Some("a")],
            "n" => [1i64, 2, 1, 7, 7, 1],
        )
        .unwrap();
        assert_eq!(
            shares_in(&df, &["id", "n"]),
            [true, false, false, true, true, true]
        );
    }

    /// The valid rows of five, where `keep` says: the same rows in every
    /// case, and always in one piece (a table in pieces would sum its
    /// floats in another order). Kept rows in one run share the table's
    /// memory; rows dropped in between are filtered out.
    #[test]
    fn kept_rows_are_one_piece_whichever_rows_are_dropped() {
        let frame = df!("amount" => [1.5f64, 2.5, 3.5, 4.5, 5.5]).unwrap();
        let kept = |keep: [bool; 5]| {
            let checked = df!("keep" => keep).unwrap();
            let rows = kept_rows(frame.clone(), &checked, col("keep")).unwrap();
            let amounts: Vec<f64> = rows
                .column("amount")
                .unwrap()
                .f64()
                .unwrap()
                .into_no_null_iter()
                .collect();
            (amounts, rows.column("amount").unwrap().n_chunks())
        };
        assert_eq!(kept([true; 5]), (vec![1.5, 2.5, 3.5, 4.5, 5.5], 1));
        // Dropped at the start and the end: a slice.
        assert_eq!(
            kept([false, true, true, true, false]),
            (vec![2.5, 3.5, 4.5], 1)
        );
        assert_eq!(
            kept([true, true, true, false, false]),
            (vec![1.5, 2.5, 3.5], 1)
        );
        // Dropped in between: a filter.
        assert_eq!(
            kept([true, false, true, false, true]),
            (vec![1.5, 3.5, 5.5], 1)
        );
        assert_eq!(kept([false; 5]), (vec![], 1));
    }

    /// `ColumnSpec::checked_only` leaves a column out of the staged rows; a
    /// column another table's rows are checked against (a reference's key
    /// and the columns it takes) must stay in them, or the check would
    /// find no column to read.
    #[test]
    fn columns_other_tables_reference_are_staged() {
        for spec in crate::staging::TABLES {
            for (parent, columns) in (spec.rules)(&crate::config::Config::default()).referenced() {
                for name in columns {
                    let column = parent.columns.iter().find(|c| c.name == name);
                    assert!(
                        column.is_some_and(|c| c.kept),
                        "{} references {}.{name}, which is not staged",
                        spec.name,
                        parent.name
                    );
                }
            }
        }
    }

    fn buffer_bytes(c: &Column) -> usize {
        let text = c.str().expect("text");
        text.downcast_iter().map(|a| a.total_buffer_len()).sum()
    }

    /// Two of four 20-byte ids picked out of a column: polars' filter keeps
    /// the column's 80 bytes of text; `with_own_text` keeps their own 40.
    #[test]
    fn quarantined_rows_hold_only_their_own_text() {
        let rows = df!(
            "activity_id" => ["activity-00000000001", "activity-00000000002",
                              "activity-00000000003", "activity-00000000004"],
            "source_row" => [1i64, 2, 3, 4],
        )
        .unwrap();
        let picked = rows
            .filter(&BooleanChunked::from_slice(
                "m".into(),
                &[false, true, false, true],
            ))
            .unwrap();
        assert_eq!(buffer_bytes(picked.column("activity_id").unwrap()), 80);
        let own = with_own_text(picked).unwrap();
        assert_eq!(buffer_bytes(own.column("activity_id").unwrap()), 40);
        let ids: Vec<_> = own
            .column("activity_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(
            ids,
            [Some("activity-00000000002"), Some("activity-00000000004")]
        );
        let rows: Vec<_> = own
            .column("source_row")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(rows, [Some(2), Some(4)]);
    }
}
