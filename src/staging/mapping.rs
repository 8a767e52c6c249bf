//! Mapping (SPEC §1.2): how a contract table is made from the files users
//! have (a Salesforce export, a lake copy, a spreadsheet), with no code.
//!
//! A mapped table reads one input (`path`) or several named ones (`sql` over
//! `files`); every input column is text, under its normalized name (case and
//! underscores ignored), in the same text form for CSV and Parquet, so one
//! mapping serves both. Identifiers in expressions and queries are
//! normalized the same way. Then `filter` drops rows (counted), `columns`
//! gives each contract column a polars SQL expression (by default the input
//! column of the same name), the result is printed as the contract's text,
//! and `values` maps values. What comes out is what `read` makes of a
//! contract-shaped file, so the contract's parsing and checks (§1.1) apply
//! unchanged. The whole mapping is first planned on the files' headers
//! alone: every mistake is found, and reported at once, before a data row
//! is read.

use std::collections::{BTreeMap, BTreeSet};

use object_store::ObjectMeta;
use polars::prelude::*;
use polars::sql::{extract_table_identifiers, sql_expr, SQLContext};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::config::{check_stages, Config, Stage, TableMapping};
use crate::domain::StageKind;
use crate::error::{Error, Result};
use crate::staging::read::{self, normalized};
use crate::staging::{TableSpec, TABLES};
use crate::storage::Storage;

pub type Listed = (String, ObjectMeta);

/// One named input of a table: the files its reference found, in path order.
#[derive(Debug, Clone)]
pub struct Input {
    /// The name a query uses (normalized); "source" for a `path`.
    pub name: String,
    /// As written in the pipeline file, for messages.
    pub reference: String,
    pub files: Vec<Listed>,
}

fn is_glob(reference: &str) -> bool {
    reference.contains(['*', '?'])
}

/// `*` any characters within a path segment, `**` any across segments, `?` one.
fn glob_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                (0..=s.len()).any(|i| go(rest, &s[i..]))
            }
            [b'*', rest @ ..] => (0..=s.len())
                .take_while(|i| *i == 0 || s[i - 1] != b'/')
                .any(|i| go(rest, &s[i..])),
            [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && go(rest, &s[1..]),
            [c, rest @ ..] => !s.is_empty() && s[0] == *c && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// The data files a reference names under the source: a glob; a file; a
/// folder (its files, recursively); or else an object, found by name
/// ignoring case and underscores as `<Object>.csv`, `<Object>.parquet` or a
/// folder `<Object>/` (how presets find `Opportunity.csv` and
/// `opportunity/` alike).
pub fn find_files(root: &[Listed], reference: &str) -> Vec<Listed> {
    let reference = reference.trim_start_matches("./");
    if is_glob(reference) {
        return root
            .iter()
            .filter(|(p, _)| glob_matches(reference, p))
            .cloned()
            .collect();
    }
    if let Some(f) = root.iter().find(|(p, _)| p == reference) {
        return vec![f.clone()];
    }
    let folder = format!("{}/", reference.trim_end_matches('/'));
    let under: Vec<Listed> = root
        .iter()
        .filter(|(p, _)| p.starts_with(&folder))
        .cloned()
        .collect();
    if !under.is_empty() {
        return under;
    }
    let object = normalized(reference.trim_end_matches('/'));
    root.iter()
        .filter(|(p, _)| {
            let first = p.split('/').next().unwrap_or("");
            let stem = first
                .strip_suffix(".csv")
                .or_else(|| first.strip_suffix(".parquet"))
                .or_else(|| first.strip_suffix(".CSV"))
                .or_else(|| first.strip_suffix(".PARQUET"));
            let is_file = !p.contains('/');
            match (is_file, stem) {
                (true, Some(stem)) => normalized(stem) == object,
                (false, _) => normalized(first) == object,
                _ => false,
            }
        })
        .cloned()
        .collect()
}

/// The inputs of a mapped table, found in the source's listing.
pub fn inputs(table: &str, m: &TableMapping, root: &[Listed]) -> Vec<Input> {
    match &m.sql {
        Some(_) => m
            .files
            .iter()
            .map(|(name, reference)| Input {
                name: normalized(name),
                reference: reference.clone(),
                files: find_files(root, reference),
            })
            .collect(),
        None => {
            let reference = m.path.clone().unwrap_or_else(|| format!("{table}/"));
            vec![Input {
                name: "source".into(),
                files: find_files(root, &reference),
                reference,
            }]
        }
    }
}

/// SQL text with its identifiers normalized like input column names
/// (lower case, no underscores), so `StageName`, `stage_name` and `o.Id`
/// find the normalized columns. Keywords are only lower-cased; function
/// names (a word before `(`) and string literals are left as written.
pub fn normalize_sql(sql: &str) -> std::result::Result<String, String> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(sql.len());
    for (i, t) in tokens.iter().enumerate() {
        let before_paren = tokens[i + 1..]
            .iter()
            .find(|n| !matches!(n, Token::Whitespace(_)))
            .is_some_and(|n| *n == Token::LParen);
        match t {
            Token::Word(w) if before_paren => out.push_str(&w.value),
            Token::Word(w) if w.keyword != Keyword::NoKeyword && w.quote_style.is_none() => {
                out.push_str(&w.value.to_lowercase())
            }
            Token::Word(w) => out.push_str(&normalized(&w.value)),
            other => out.push_str(&other.to_string()),
        }
    }
    Ok(out)
}

/// The names a query's `WITH` clause defines (normalized): tables it may
/// read besides its files.
fn cte_names(sql: &str) -> Vec<String> {
    let Ok(statements) = sqlparser::parser::Parser::parse_sql(&GenericDialect {}, sql) else {
        return Vec::new();
    };
    statements
        .iter()
        .filter_map(|s| match s {
            sqlparser::ast::Statement::Query(q) => q.with.as_ref(),
            _ => None,
        })
        .flat_map(|w| w.cte_tables.iter().map(|c| normalized(&c.alias.name.value)))
        .collect()
}

/// A mapping mistake, named as the pipeline file's key.
#[derive(Debug, Clone, PartialEq)]
struct Mistake {
    key: String,
    expression: Option<String>,
    message: String,
}

impl std::fmt::Display for Mistake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.expression {
            Some(e) => write!(f, "{} = {:?}: {}", self.key, e, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

fn spec_of(table: &str) -> Option<&'static TableSpec> {
    TABLES.iter().copied().find(|s| s.name == table)
}

/// Mistakes that need no file: unknown tables and contract columns, a
/// source given twice or not at all, SQL that does not parse.
fn static_mistakes(config: &Config) -> Vec<Mistake> {
    let mut out = Vec::new();
    let mut add = |key: String, expression: Option<&String>, message: String| {
        out.push(Mistake {
            key,
            expression: expression.cloned(),
            message,
        })
    };
    for (table, m) in &config.tables {
        let Some(spec) = spec_of(table) else {
            let known: Vec<&str> = TABLES.iter().map(|s| s.name).collect();
            add(
                format!("tables.{table}"),
                None,
                format!("not a table of the contract; tables: {}", known.join(", ")),
            );
            continue;
        };
        let known: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        for (kind, names) in [
            ("columns", m.columns.keys().collect::<Vec<_>>()),
            ("values", m.values.keys().collect()),
        ] {
            for c in names {
                if !known.contains(&c.as_str()) {
                    add(
                        format!("tables.{table}.{kind}.{c}"),
                        None,
                        format!(
                            "`{c}` is not a column of `{table}`; its columns: {}",
                            known.join(", ")
                        ),
                    );
                }
            }
        }
        match (&m.path, &m.sql) {
            (Some(_), Some(_)) => add(
                format!("tables.{table}"),
                None,
                "give `path` or `sql`, not both".into(),
            ),
            (None, Some(sql)) => {
                if m.files.is_empty() {
                    add(
                        format!("tables.{table}.files"),
                        None,
                        "`sql` reads only the files named here; name at least one".into(),
                    );
                }
                match normalize_sql(sql).and_then(|q| {
                    extract_table_identifiers(&q, false, true).map_err(|e| e.to_string())
                }) {
                    Err(e) => add(
                        format!("tables.{table}.sql"),
                        Some(sql),
                        format!("does not parse: {e}"),
                    ),
                    Ok(tables) => {
                        let mut named: BTreeSet<String> =
                            m.files.keys().map(|k| normalized(k)).collect();
                        named.extend(cte_names(sql));
                        for t in tables {
                            if !named.contains(&t) {
                                add(
                                    format!("tables.{table}.sql"),
                                    Some(sql),
                                    format!(
                                        "reads `{t}`, which `files` does not name (a query reads only \
                                         the files its table names; table functions are not allowed)"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        let mut parse = |key: String, text: &String| {
            if let Err(e) = normalize_sql(text).and_then(|t| sql_expr(t).map_err(|e| e.to_string()))
            {
                add(key, Some(text), format!("does not parse: {e}"));
            }
        };
        if let Some(f) = &m.filter {
            parse(format!("tables.{table}.filter"), f);
        }
        for (c, e) in &m.columns {
            parse(format!("tables.{table}.columns.{c}"), e);
        }
    }
    out
}

/// The rows of one input, as text frames (one per file), stacked with the
/// union of their columns.
fn stack(frames: Vec<DataFrame>) -> Result<DataFrame> {
    let mut names: Vec<String> = Vec::new();
    for f in &frames {
        for n in f.get_column_names() {
            if !names.iter().any(|m| m == n.as_str()) {
                names.push(n.to_string());
            }
        }
    }
    let mut out: Option<DataFrame> = None;
    for f in frames {
        let height = f.height();
        let cols: Vec<Column> = names
            .iter()
            .map(|n| match f.column(n) {
                Ok(c) => c.clone(),
                Err(_) => Column::full_null(n.into(), height, &DataType::String),
            })
            .collect();
        let f = DataFrame::new(height, cols)?;
        match &mut out {
            None => out = Some(f),
            Some(o) => {
                o.vstack_mut(&f)?;
            }
        }
    }
    Ok(out.unwrap_or_else(DataFrame::empty))
}

/// The rows of an input's files, every column as text.
fn read_input(storage: &Storage, files: &[Listed]) -> Result<DataFrame> {
    let paths: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let mut texts = Vec::new();
    for (path, bytes) in paths.iter().zip(storage.get_many(&paths)?) {
        texts.push(read::read_all_as_text(&storage.display(path), bytes)?);
    }
    stack(texts)
}

/// An input as a mapping reads it: its `optional` columns (normalized)
/// added as null where it lacks them, and, with `skip_deleted`, its
/// `IsDeleted` rows dropped (the flag: whether there was such a column).
fn prepared(df: &DataFrame, optional: &[String], skip_deleted: Option<bool>) -> (LazyFrame, bool) {
    let mut lf = df.clone().lazy();
    let missing: Vec<Expr> = optional
        .iter()
        .filter(|o| df.column(o).is_err())
        .map(|o| lit(NULL).cast(DataType::String).alias(o.as_str()))
        .collect();
    if !missing.is_empty() {
        lf = lf.with_columns(missing);
    }
    let drops = skip_deleted == Some(true) && df.column("isdeleted").is_ok();
    if drops {
        let deleted = crate::staging::parse::ValueType::Bool.parse(col("isdeleted"));
        lf = lf.filter(deleted.fill_null(lit(false)).not());
    }
    (lf, drops)
}

/// An input with no rows and the given normalized columns: for planning on
/// headers alone.
fn header_frame(columns: &[String]) -> DataFrame {
    let mut cols: Vec<Column> = columns
        .iter()
        .map(|n| Column::new_empty(n.into(), &DataType::String))
        .collect();
    cols.push(Column::new_empty("source_file".into(), &DataType::String));
    cols.push(Column::new_empty("source_row".into(), &DataType::Int64));
    DataFrame::new(0, cols).expect("distinct names")
}

/// polars' message without the plan it appends: the key and expression
/// already say where.
fn short(e: &PolarsError) -> String {
    let text = e.to_string();
    let text = text
        .split("\n\nResolved plan until failure")
        .next()
        .unwrap_or(&text);
    text.replace("\n\n", " ").trim().to_string()
}

fn sql(text: &str) -> PolarsResult<Expr> {
    let t = normalize_sql(text).map_err(|e| polars_err!(SQLSyntax: "{}", e))?;
    sql_expr(t)
}

/// What the plan of a mapped table is built from.
struct Planned {
    /// Contract columns as text, `source_file`, `source_row`.
    frame: LazyFrame,
    /// Rows before and after `skip_deleted` and `filter`, to count drops.
    before: LazyFrame,
    after_deleted: Vec<(LazyFrame, LazyFrame)>,
}

/// Plans the mapping of one table over its inputs (`name` -> rows). Every
/// mistake is pushed to `mistakes`; `None` when any was found.
fn plan(
    spec: &TableSpec,
    m: &TableMapping,
    inputs: Vec<(String, DataFrame)>,
    query_source: &str,
    mistakes: &mut Vec<Mistake>,
) -> Option<Planned> {
    let mistakes_before = mistakes.len();
    let optional: Vec<String> = m.optional.iter().map(|o| normalized(o)).collect();
    let mut frames = Vec::new();
    let mut after_deleted = Vec::new();
    for (name, df) in inputs {
        let (lf, deleted_dropped) = prepared(&df, &optional, m.skip_deleted);
        if deleted_dropped {
            after_deleted.push((df.lazy(), lf.clone()));
        }
        frames.push((name, lf));
    }
    let before = match &m.sql {
        None => frames.pop().map(|(_, lf)| lf)?,
        Some(query) => queried(spec, query, frames, query_source, mistakes)?,
    };
    let filtered = filtered(spec, m, before.clone(), mistakes);
    let exprs = contract_columns(spec, m, &filtered, mistakes)?;
    if mistakes.len() > mistakes_before {
        return None;
    }
    let selected = filtered.select(exprs);
    let texts = as_text(spec, m, selected.clone(), mistakes)?;
    if mistakes.len() > mistakes_before {
        return None;
    }
    Some(Planned {
        frame: selected.select(texts),
        before,
        after_deleted,
    })
}

/// A mapping's `sql` over its named inputs, with its own row provenance
/// (`query_source` and the result's row number).
fn queried(
    spec: &TableSpec,
    query: &str,
    frames: Vec<(String, LazyFrame)>,
    query_source: &str,
    mistakes: &mut Vec<Mistake>,
) -> Option<LazyFrame> {
    let mut ctx = SQLContext::new();
    for (name, lf) in frames {
        ctx.register(&name, lf);
    }
    let executed = normalize_sql(query)
        .map_err(|e| polars_err!(SQLSyntax: "{}", e))
        .and_then(|q| ctx.execute(&q))
        .and_then(|mut lf| {
            lf.collect_schema()?;
            Ok(lf)
        });
    let mut lf = match executed {
        Ok(lf) => lf,
        Err(e) => {
            mistakes.push(Mistake {
                key: format!("tables.{}.sql", spec.name),
                expression: Some(query.to_string()),
                message: short(&e),
            });
            return None;
        }
    };
    // A `SELECT *` may carry an input's own row provenance.
    let schema = lf.collect_schema().ok()?;
    let own: Vec<&str> = ["source_file", "source_row"]
        .into_iter()
        .filter(|c| schema.contains(c))
        .collect();
    if !own.is_empty() {
        lf = lf.select([all().exclude_cols(own).as_expr()]);
    }
    Some(lf.with_row_index("source_row", Some(1)).with_columns([
        col("source_row").cast(DataType::Int64),
        lit(query_source.to_string()).alias("source_file"),
    ]))
}

/// The rows the mapping's `filter` keeps (all of them when it has none or
/// the filter is a mistake, which is recorded).
fn filtered(
    spec: &TableSpec,
    m: &TableMapping,
    base: LazyFrame,
    mistakes: &mut Vec<Mistake>,
) -> LazyFrame {
    let Some(f) = &m.filter else {
        return base;
    };
    let planned = sql(f).and_then(|e| {
        let mut lf = base.clone().filter(e);
        lf.collect_schema()?;
        Ok(lf)
    });
    match planned {
        Ok(lf) => lf,
        Err(e) => {
            mistakes.push(Mistake {
                key: format!("tables.{}.filter", spec.name),
                expression: Some(f.clone()),
                message: short(&e),
            });
            base
        }
    }
}

/// Each contract column: its mapping's expression, the input's column of
/// that name, or null for an optional one; then the row provenance.
fn contract_columns(
    spec: &TableSpec,
    m: &TableMapping,
    base: &LazyFrame,
    mistakes: &mut Vec<Mistake>,
) -> Option<Vec<Expr>> {
    let table = spec.name;
    let base_schema = base.clone().collect_schema().ok()?;
    let mut exprs = Vec::new();
    for c in spec.columns {
        let key = format!("tables.{table}.columns.{}", c.name);
        let expr = match m.columns.get(c.name) {
            Some(text) => match sql(text).and_then(|e| {
                let e = e.alias(c.name);
                base.clone().select([e.clone()]).collect_schema()?;
                Ok(e)
            }) {
                Ok(e) => e,
                Err(e) => {
                    mistakes.push(Mistake {
                        key,
                        expression: Some(text.clone()),
                        message: short(&e),
                    });
                    continue;
                }
            },
            None if base_schema.contains(&normalized(c.name)) => {
                col(normalized(c.name)).alias(c.name)
            }
            None if c.required => {
                mistakes.push(Mistake {
                    key,
                    expression: None,
                    message: format!(
                        "required column `{}` of `{table}` is not mapped, and the input has no \
                         column of that name",
                        c.name
                    ),
                });
                continue;
            }
            None => lit(NULL).cast(DataType::String).alias(c.name),
        };
        exprs.push(expr);
    }
    exprs.push(col("source_file"));
    exprs.push(col("source_row"));
    Some(exprs)
}

/// Each mapped column as text (the form staging reads), with the mapping's
/// `values` replaced; then the row provenance.
fn as_text(
    spec: &TableSpec,
    m: &TableMapping,
    mut selected: LazyFrame,
    mistakes: &mut Vec<Mistake>,
) -> Option<Vec<Expr>> {
    let table = spec.name;
    let schema = selected.collect_schema().ok()?;
    let mut texts = Vec::new();
    for c in spec.columns {
        let dtype = schema.get(c.name).expect("selected");
        let text = match read::to_text(&format!("table `{table}`"), c.name, dtype) {
            Ok(t) => t,
            Err(e) => {
                mistakes.push(Mistake {
                    key: format!("tables.{table}.columns.{}", c.name),
                    expression: m.columns.get(c.name).cloned(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let mapped = match m.values.get(c.name) {
            None => text,
            Some(map) => map.iter().fold(text.clone(), |acc, (from, to)| {
                when(text.clone().eq(lit(from.as_str())))
                    .then(lit(to.as_str()))
                    .otherwise(acc)
            }),
        };
        texts.push(mapped.alias(c.name));
    }
    texts.push(col("source_file"));
    texts.push(col("source_row"));
    Some(texts)
}

fn label(inputs: &[Input]) -> String {
    let names: Vec<&str> = inputs.iter().map(|i| i.reference.as_str()).collect();
    format!("query over {}", names.join(", "))
}

/// Checks every mapped table on its files' headers: the files exist, the
/// expressions and queries plan, every required column is mapped. All
/// mistakes are reported at once, as one config error.
pub fn check(
    storage: &Storage,
    config: &Config,
    mapped: &BTreeMap<String, Vec<Input>>,
) -> Result<()> {
    let mut mistakes = static_mistakes(config);
    if mistakes.is_empty() {
        for (table, inputs) in mapped {
            let (Some(spec), Some(m)) = (spec_of(table), config.tables.get(table)) else {
                continue;
            };
            let mut frames = Vec::new();
            for input in inputs {
                let key = match &m.sql {
                    Some(_) => format!("tables.{table}.files.{}", input.name),
                    None => format!("tables.{table}.path"),
                };
                if input.files.is_empty() {
                    mistakes.push(Mistake {
                        key,
                        expression: Some(input.reference.clone()),
                        message: format!(
                            "no .csv or .parquet file, folder or object of that name under {}",
                            storage.url()
                        ),
                    });
                    continue;
                }
                let mut columns: Vec<String> = Vec::new();
                for (path, meta) in &input.files {
                    for h in read::header(storage, path, meta.size)? {
                        let n = normalized(&h);
                        if !columns.contains(&n) {
                            columns.push(n);
                        }
                    }
                }
                frames.push((input.name.clone(), header_frame(&columns)));
            }
            if frames.len() == inputs.len() {
                plan(spec, m, frames, &label(inputs), &mut mistakes);
            }
        }
    }
    if mistakes.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = mistakes.iter().map(|m| format!("  {m}")).collect();
    Err(Error::config(
        &config.file,
        format!(
            "the mapping has {} mistake{}:\n{}",
            mistakes.len(),
            if mistakes.len() == 1 { "" } else { "s" },
            lines.join("\n")
        ),
    ))
}

/// A mapped table read: the contract columns as text with `source_file`
/// and `source_row` (contract-shaped files, `read::read_table`, carry
/// neither: their rows are in file order), and the rows `skip_deleted` and `filter` dropped.
pub fn read_mapped(
    storage: &Storage,
    spec: &TableSpec,
    m: &TableMapping,
    inputs: &[Input],
) -> Result<(DataFrame, usize)> {
    let mut frames = Vec::new();
    for input in inputs {
        frames.push((input.name.clone(), read_input(storage, &input.files)?));
    }
    let mut mistakes = Vec::new();
    let Some(planned) = plan(spec, m, frames, &label(inputs), &mut mistakes) else {
        // The headers planned (`check`); the rows cannot change that.
        return Err(Error::Bug(format!(
            "mapping of `{}` failed on rows after passing on headers: {}",
            spec.name,
            mistakes
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    };
    let count = |lf: LazyFrame| -> Result<usize> {
        let n = lf.select([len()]).collect()?;
        Ok(n.column("len")?
            .cast(&DataType::UInt64)?
            .u64()?
            .get(0)
            .unwrap_or(0) as usize)
    };
    let frame = match planned.frame.clone().collect() {
        Ok(f) => f,
        Err(e) => return Err(failing_column(spec, m, &planned.frame, e)),
    };
    let mut dropped = count(planned.before)? - frame.height();
    for (before, after) in planned.after_deleted {
        dropped += count(before)? - count(after)?;
    }
    Ok((frame, dropped))
}

/// An expression that fails on the data itself (a strict CAST of a value
/// that does not convert) stops the run naming the table, the column, the
/// expression and polars' message, which carries the value.
fn failing_column(spec: &TableSpec, m: &TableMapping, frame: &LazyFrame, e: PolarsError) -> Error {
    for c in spec.columns {
        if let Err(e) = frame.clone().select([col(c.name)]).collect() {
            return Error::Data(format!(
                "table `{}`: column `{}` = {:?} failed on the data: {}",
                spec.name,
                c.name,
                m.columns.get(c.name).map(String::as_str).unwrap_or(c.name),
                short(&e)
            ));
        }
    }
    Error::Data(format!(
        "table `{}`: the mapping failed on the data: {}",
        spec.name,
        short(&e)
    ))
}

/// The stages the export defines (a preset's `[stages_from]`, SPEC §1.2
/// "Config from the export"), in their order; `None` when the config has
/// no `[stages_from]` or the source has no such object.
/// `files`: what the listing found for `[stages_from]`'s path.
pub fn stages_from_export(
    storage: &Storage,
    config: &Config,
    files: &[Listed],
) -> Result<Option<Vec<Stage>>> {
    let Some(from) = &config.stages_from else {
        return Ok(None);
    };
    if files.is_empty() {
        return Ok(None);
    }
    let shown = format!("stages from {} ({})", from.path, files[0].0);
    let bad = |message: String| Error::config(&config.file, format!("{shown}: {message}"));
    let optional: Vec<String> = from.optional.iter().map(|o| normalized(o)).collect();
    let (lf, _) = prepared(&read_input(storage, files)?, &optional, from.skip_deleted);
    let field = |name: &str, text: &str| {
        sql(text)
            .map(|e| e.alias(name))
            .map_err(|e| bad(format!("`{name}` = {text:?}: {}", short(&e))))
    };
    let rows = lf
        .select([
            field("name", &from.name)?,
            field("probability", &from.probability)?.cast(DataType::Float64),
            field("kind", &from.kind)?.cast(DataType::String),
            field("order", &from.order)?.cast(DataType::Float64),
        ])
        .sort(
            ["order"],
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()
        .map_err(|e| bad(short(&e)))?;
    let names = rows.column("name")?.cast(&DataType::String)?;
    let names = names.str()?;
    let probabilities = rows.column("probability")?.f64()?.clone();
    let kinds = rows.column("kind")?.str()?.clone();
    let mut stages = Vec::with_capacity(rows.height());
    for i in 0..rows.height() {
        let row = i + 1;
        let name = names
            .get(i)
            .ok_or_else(|| bad(format!("row {row} has no name")))?;
        let probability = probabilities
            .get(i)
            .ok_or_else(|| bad(format!("stage `{name}` has no probability")))?;
        let given = kinds.get(i);
        let Some(kind) = StageKind::ALL
            .into_iter()
            .find(|k| given == Some(k.as_str()))
        else {
            return Err(bad(format!(
                "stage `{name}` has kind {given:?}; allowed: open, won, lost"
            )));
        };
        stages.push(Stage {
            name: name.to_string(),
            probability,
            kind,
        });
    }
    check_stages(&stages).map_err(|(_, message)| bad(message))?;
    Ok(Some(stages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_normalized_but_functions_keywords_and_literals_are_not() {
        assert_eq!(
            normalize_sql("coalesce(o.Close_Value, 0) + LEFT(CreatedDate, 10) AS Rep_Id").unwrap(),
            "coalesce(o.closevalue, 0) + LEFT(createddate, 10) as repid"
        );
        assert_eq!(
            normalize_sql("CASE WHEN Stage = 'Closed Won' THEN 1 END").unwrap(),
            "case when stage = 'Closed Won' then 1 end"
        );
    }

    #[test]
    fn globs_match_within_and_across_segments() {
        assert!(glob_matches("exports/*.csv", "exports/a.csv"));
        assert!(!glob_matches("exports/*.csv", "exports/x/a.csv"));
        assert!(glob_matches("exports/**/*.csv", "exports/x/y/a.csv"));
        assert!(glob_matches("exports/**/*.csv", "exports/a.csv"));
        assert!(glob_matches("deals_202?.csv", "deals_2024.csv"));
    }

    fn listed(paths: &[&str]) -> Vec<Listed> {
        paths
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    ObjectMeta {
                        location: object_store::path::Path::from(*p),
                        last_modified: chrono::Utc::now(),
                        size: 1,
                        e_tag: None,
                        version: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn references_find_files_folders_globs_and_objects() {
        let root = listed(&[
            "OpportunityHistory.csv",
            "opportunity/part-0.parquet",
            "opportunity/part-1.parquet",
            "sales_pipeline.csv",
            "x/deals_2024.csv",
        ]);
        let names =
            |r: &str| -> Vec<String> { find_files(&root, r).into_iter().map(|(p, _)| p).collect() };
        assert_eq!(names("sales_pipeline.csv"), ["sales_pipeline.csv"]);
        assert_eq!(names("opportunity/").len(), 2);
        assert_eq!(names("x/*.csv"), ["x/deals_2024.csv"]);
        // Objects: ignoring case and underscores, a file or a folder.
        assert_eq!(names("opportunity_history"), ["OpportunityHistory.csv"]);
        assert_eq!(names("Opportunity").len(), 2);
        assert!(names("Lead").is_empty());
    }
}
