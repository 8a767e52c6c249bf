//! The `salesops` command: parse the CLI, start tracing, call the library,
//! map errors to the exit codes of SPEC §6 (0 published or nothing to do,
//! 1 bad data or config, or a bug in salesops, 2 usage, 3 storage or I/O,
//! 4 another run published meanwhile). An error is printed once, with its
//! chain of causes; with `--log-format json` as one JSON line like every
//! other line salesops writes to stderr.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use salesops::calendar::AsOf;
use salesops::config::Config;
use salesops::error::{Error, Result};
use salesops::generate::{generate, GenerateOptions};
use salesops::pipeline::{self, Outcome, RunOptions};
use salesops::staging::Listing;

// polars allocates and frees large buffers all through a run; glibc's
// malloc hands them back to the kernel and faults them in again (a third of
// the run was system time). mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use salesops::storage::Storage;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for Kubernetes log collectors).
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "salesops",
    version,
    about = "Sales-operations marts from CRM history in object storage"
)]
struct Cli {
    /// Log format. The level comes from RUST_LOG (default: info).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline and publish the marts.
    Run {
        /// The pipeline file.
        #[arg(long, default_value = "pipelines/default.toml")]
        pipeline: String,
        /// Compute as of the end of this day (YYYY-MM-DD, UTC). Default: now.
        #[arg(long)]
        as_of: Option<String>,
        /// Override the pipeline's source URL.
        #[arg(long)]
        source: Option<String>,
        /// Override the pipeline's output URL.
        #[arg(long)]
        output: Option<String>,
        /// Recompute and republish even if this run is already published.
        #[arg(long)]
        force: bool,
    },
    /// Check the inputs against the data contract and report the quarantine; publishes nothing.
    Validate {
        #[arg(long, default_value = "pipelines/default.toml")]
        pipeline: String,
        #[arg(long)]
        source: Option<String>,
    },
    /// Render the report of a published run again, from its published marts.
    Report {
        /// The pipeline file (for its output URL and storage settings).
        #[arg(long, default_value = "pipelines/default.toml")]
        pipeline: String,
        /// Override the pipeline's output URL.
        #[arg(long)]
        output: Option<String>,
        /// The run to render. Default: the one `_latest.json` names.
        #[arg(long)]
        run_id: Option<String>,
        /// Where to write the page (a local file).
        #[arg(long, default_value = "report.html")]
        to: String,
    },
    /// Print a preset (SPEC 1.2) as pipeline-file TOML, to copy and edit.
    Mapping {
        /// The preset: salesforce or hubspot.
        #[arg(long)]
        preset: String,
    },
    /// Write synthetic inputs (the layout of SPEC §1) for samples and benchmarks.
    Generate {
        /// Where to write: a local folder or an object-store URL.
        #[arg(long)]
        output: String,
        /// 1 = 30 reps, ~3,000 opportunities, ~90,000 activities over three years.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write every table as Parquet (default: CSV and Parquet mixed).
        #[arg(long)]
        parquet: bool,
        /// Write the same data as another system's export: salesforce (Data
        /// Loader CSV with API names) or hubspot (internal property names); run
        /// it with pipelines/salesforce.toml or pipelines/hubspot.toml.
        #[arg(long)]
        preset: Option<String>,
    },
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: cron mail and CI logs get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn load(pipeline: &str, source: Option<String>, output: Option<String>) -> Result<Config> {
    let mut config = Config::from_file(pipeline)?;
    if let Some(s) = source {
        config.source = s;
    }
    if let Some(o) = output {
        config.output = o;
    }
    Ok(config)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            pipeline,
            as_of,
            source,
            output,
            force,
        } => run_pipeline(&pipeline, as_of, source, output, force),
        Command::Validate { pipeline, source } => validate(&pipeline, source),
        Command::Report {
            pipeline,
            output,
            run_id,
            to,
        } => {
            let config = load(&pipeline, None, output)?;
            let out = pipeline::open_published(&config)?;
            let (run_id, page) = salesops::report::render_published(&out, run_id.as_deref())?;
            std::fs::write(&to, page)
                .map_err(|e| Error::storage(format!("writing the report to {to}"), e))?;
            println!("report of run {run_id} written to {to}");
            Ok(())
        }
        Command::Mapping { preset } => match salesops::presets::toml(&preset) {
            Some(text) => {
                print!("{text}");
                Ok(())
            }
            None => Err(Error::Usage(format!(
                "--preset {preset}: not a preset; presets: {}",
                salesops::presets::NAMES.join(", ")
            ))),
        },
        Command::Generate {
            output,
            scale,
            seed,
            parquet,
            preset,
        } => {
            if scale.is_nan() || scale <= 0.0 {
                return Err(Error::Usage(format!("--scale {scale}: must be > 0")));
            }
            let out = Storage::open(&output, &BTreeMap::new(), true)?;
            generate(
                &out,
                &GenerateOptions {
                    scale,
                    seed,
                    all_parquet: parquet,
                    preset,
                },
            )?;
            println!("synthetic inputs written to {}", out.url());
            Ok(())
        }
    }
}

/// `salesops run`: the pipeline, then what it published.
fn run_pipeline(
    pipeline: &str,
    as_of: Option<String>,
    source: Option<String>,
    output: Option<String>,
    force: bool,
) -> Result<()> {
    let as_of = match as_of {
        Some(text) => AsOf::parse(&text)?,
        None => AsOf::now(),
    };
    let config = load(pipeline, source, output)?;
    let (src, out) = pipeline::open_storage(&config)?;
    match pipeline::run(&config, &src, &out, &RunOptions { as_of, force })? {
        Outcome::Published(m) => {
            println!(
                "published run {} to {}",
                m.run_id,
                out.display("_latest.json")
            );
            for (name, d) in &m.marts {
                println!(
                    "  {name:<28} {:>8} rows",
                    d.files.iter().map(|f| f.rows).sum::<usize>()
                );
            }
            if let Some(report) = &m.report {
                println!("report: {}", out.display(&report.path));
            }
        }
        Outcome::UpToDate { run_id } => {
            println!("run {run_id} is already published; nothing to do (use --force to redo it)")
        }
    }
    Ok(())
}

/// `salesops validate`: the resolved mapping, the quarantine counts and the
/// first rejected rows of each table; publishes nothing.
fn validate(pipeline: &str, source: Option<String>) -> Result<()> {
    let config = load(pipeline, source, None)?;
    let src = pipeline::open_source(&config)?;
    let listing = Listing::of(&src, &config)?;
    let config = pipeline::with_export_config(&src, &listing, &config)?;
    if !config.tables.is_empty() {
        print_mapping(&config, &listing);
    }
    let staged = pipeline::stage(&src, &listing, &config)?;
    println!(
        "{:<22} {:>9} {:>11} {:>9} {:>7}  reasons",
        "table", "rows", "duplicates", "rejected", "ratio"
    );
    for t in staged.tables() {
        let reasons: Vec<String> = t
            .stats
            .reasons
            .iter()
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        println!(
            "{:<22} {:>9} {:>11} {:>9} {:>6.2}%  {}",
            t.name,
            t.stats.rows_read,
            t.stats.duplicates_collapsed,
            t.stats.rejected,
            100.0 * t.stats.reject_ratio(),
            reasons.join(" ")
        );
    }
    for t in staged.tables() {
        let n = t.rejected.height().min(5);
        if n > 0 {
            println!("\nfirst rejected rows of {}:", t.name);
            let df = t.rejected.head(Some(n));
            let files = df.column("source_file")?.str()?.clone();
            let rows = df.column("source_row")?.i64()?.clone();
            let reasons = df.column("reject_reason")?.str()?.clone();
            for i in 0..n {
                println!(
                    "  {} row {}: {}",
                    files.get(i).unwrap_or(""),
                    rows.get(i).unwrap_or(0),
                    reasons.get(i).unwrap_or("")
                );
            }
        }
    }
    staged.check_reject_ratios(&config)
}

/// The mapping as resolved (preset and pipeline file merged), with the
/// files each input found.
fn print_mapping(config: &Config, listing: &Listing) {
    println!(
        "mapping (preset: {}):",
        config.preset.as_deref().unwrap_or("none")
    );
    let mut resolved = toml::Table::new();
    resolved.insert(
        "tables".into(),
        toml::Value::try_from(&config.tables).expect("mapping serialises"),
    );
    println!("{}", toml::to_string_pretty(&resolved).expect("TOML"));
    for table in config.tables.keys() {
        for input in listing.inputs(table) {
            let files: Vec<&str> = input.files.iter().map(|(p, _)| p.as_str()).collect();
            println!("# {table}: {} -> {}", input.reference, files.join(", "));
        }
    }
    println!();
}

/// Prints an error once: its chain as text, or one JSON line.
fn report(format: LogFormat, e: &Error) {
    match format {
        LogFormat::Text => eprintln!("error: {}", e.report()),
        LogFormat::Json => {
            let chain = e.chain();
            tracing::error!(
                exit_code = e.exit_code(),
                causes = ?&chain[1..],
                "{}",
                chain[0]
            );
        }
    }
}

/// `--log-format json` as given, before clap has parsed anything (so a
/// usage error can be printed as JSON too).
fn json_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json")
}

fn main() -> ExitCode {
    // Before any thread starts (the allocator's starts one).
    salesops::engine::set_up();
    salesops::allocator::set_up();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if code == 2 && json_requested() {
                init_tracing(LogFormat::Json);
                tracing::error!(exit_code = 2, "{}", e.to_string().trim_end());
            } else {
                // --help and --version go to stdout; usage errors to stderr.
                let _ = e.print();
            }
            return ExitCode::from(code);
        }
    };
    let format = cli.log_format;
    init_tracing(format);
    if let LogFormat::Json = format {
        // A panic is a bug; in JSON mode it is still one JSON line.
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(
                exit_code = 101,
                "salesops panicked, a bug in salesops: {info}"
            );
        }));
    }
    let code = match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(format, &e);
            ExitCode::from(e.exit_code() as u8)
        }
    };
    salesops::allocator::leaving();
    code
}
