//! The `glossa` command. This file only reads the arguments and dispatches: `args` holds the
//! command line and its mapping onto the settings, and each command has its own module.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use glossa::source::StreamOptions;

mod args;
mod compact;
mod delete;
mod detect;
mod dlq;
mod ingest;
mod keys;
mod plan;
mod reindex;
mod serve;

use args::*;

/// mimalloc instead of glibc malloc: glibc keeps a heap arena per contended thread and returns
/// little of it, so resident memory under load grew by more than a whole Kafka backlog.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain, whatever RUST_BACKTRACE says.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut config = cli.config()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve {
            listen,
            sources,
            front_door,
        } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            front_door.apply(&mut config);
            config.sources.extend(sources);
            runtime.block_on(serve::serve(config, None))
        }
        Command::Ingest {
            from: Some(from),
            follow,
            force,
            bulk_load,
            ..
        } => runtime.block_on(ingest::ingest_stream(
            config,
            from,
            StreamOptions { follow, force },
            bulk_load,
        )),
        Command::Ingest {
            paths, bulk_load, ..
        } => runtime.block_on(ingest::ingest(config, paths, bulk_load)),
        Command::Detect {
            text,
            fast,
            explain,
            prior,
        } => detect::detect(&config, &text, fast, explain, prior.as_deref()),
        Command::Keys { command } => runtime.block_on(keys::keys(&config, command)),
        Command::Demo { listen, front_door } => {
            front_door.apply(&mut config);
            if cli.data_dir.is_none() && cli.config.is_none() {
                config.data_dir = PathBuf::from("glossa-demo-data");
            }
            if config.opensearch.metadata_fields.is_empty() {
                // The sample's metadata, so the search page offers its filters (the embedded
                // index filters on any metadata; the page shows the declared fields).
                use glossa::config::MetaType;
                config.opensearch.metadata_fields = [
                    ("collection", MetaType::Keyword),
                    ("article", MetaType::Long),
                    ("adopted", MetaType::Date),
                ]
                .into_iter()
                .map(|(name, kind)| (name.to_string(), kind))
                .collect();
            }
            if let Some(listen) = listen {
                config.listen = listen;
            }
            runtime.block_on(serve::demo(config))
        }
        Command::Plan(args) => runtime.block_on(plan::plan(config, args)),
        Command::Compact { max_segments } => compact::compact(&config, max_segments),
        Command::Reindex {
            command,
            metrics_listen,
        } => runtime.block_on(reindex::reindex(config, command, metrics_listen)),
        Command::Dlq {
            command: DlqCommand::Replay { include_deleted },
        } => runtime.block_on(dlq::replay(config, include_deleted)),
        Command::Delete {
            query,
            filters,
            lang,
            syntax,
            dry_run,
            yes,
        } => {
            let selection = delete::selection(query, &filters, lang, &syntax)?;
            runtime.block_on(delete::delete_by_query(config, selection, dry_run, yes))
        }
        Command::Dlq {
            command: DlqCommand::List,
        } => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for letter in glossa::dlq::list(&config)? {
                if !print_line(&mut out, &serde_json::to_string(&letter)?)? {
                    return Ok(());
                }
            }
            stop_quietly_on_closed_pipe(out.flush()).map(|_| ())
        }
    }
}

/// Writes one line of a listing; `false` once the reader has gone (`glossa dlq list | head`),
/// so the listing stops quietly instead of failing like a write to a broken disk.
fn print_line(out: &mut impl std::io::Write, line: &str) -> Result<bool> {
    stop_quietly_on_closed_pipe(writeln!(out, "{line}"))
}

/// `Ok(false)` for a closed pipe, `Ok(true)` for a write that went through, the error otherwise.
fn stop_quietly_on_closed_pipe(written: std::io::Result<()>) -> Result<bool> {
    match written {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error).context("cannot write to standard output"),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
