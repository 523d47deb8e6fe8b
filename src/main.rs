//! The `dualwarn` binary: parse the command line, start logging and the
//! runtime, run the command. Each command's flags and body live in
//! `dualwarn::cli::<command>`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use dualwarn::cli;

#[derive(Parser)]
#[command(
    name = "dualwarn",
    version,
    about = "Anti-telecom-fraud early-warning engine: alerts in, dual-warning task pairs out"
)]
struct Cli {
    /// Log lines on stderr: `text` for people, `json` (one object per line)
    /// for log collectors.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "DUALWARN_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine (gRPC on 127.0.0.1:50051, data in ./data by default).
    Serve(cli::serve::ServeArgs),
    /// Write a seeded, realistic alert stream as JSON lines.
    Gen(cli::generate::GenArgs),
    /// Stream a JSON-lines alert file (or stdin) to a server.
    Send(cli::send::SendArgs),
    /// A terminal console: list, watch, acknowledge, report.
    #[command(subcommand)]
    Tasks(cli::tasks::TasksCommand),
    /// Console token tools: `token hash` for `token_sha256`.
    #[command(subcommand)]
    Token(cli::token::TokenCommand),
    /// Jurisdiction directory tools.
    #[command(subcommand)]
    Directory(cli::directory::DirectoryCommand),
    /// Analyst tools: check, test and explain rule files.
    #[command(subcommand)]
    Rules(cli::rules::RulesCommand),
    /// Account-link graph tools.
    #[command(subcommand)]
    Graph(cli::graph::GraphCommand),
    /// Precision at province scale: a labelled stream with benign
    /// look-alikes through the real core, pairs per class of person.
    Precision(cli::precision::PrecisionArgs),
    /// Offline backtest: a JSON-lines alert file through the real core, hits
    /// per rule, pairs, level mix and throughput; `--compare` a second rule set.
    Replay(cli::replay::ReplayArgs),
    /// Load a server: alerts at a rate over N streams while watching their
    /// tasks; latency percentiles (ack, task on the watch), rate sweeps.
    Load(cli::load::LoadArgs),
    /// Kafka tools: put alerts on a topic; a mock cluster to try `[kafka]`.
    #[command(subcommand)]
    Kafka(cli::kafka::KafkaCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(a) => cli::serve::run(a).await,
        Command::Gen(a) => cli::generate::run(a),
        Command::Send(a) => cli::send::run(a).await,
        Command::Tasks(c) => cli::tasks::run(c).await,
        Command::Token(c) => cli::token::run(c),
        Command::Directory(c) => cli::directory::run(c).await,
        Command::Rules(c) => cli::rules::run(c).await,
        Command::Graph(c) => cli::graph::run(c).await,
        Command::Precision(a) => cli::precision::run(&a),
        Command::Replay(a) => cli::replay::run(&a),
        Command::Load(a) => cli::load::run(a).await,
        Command::Kafka(c) => cli::kafka::run(c).await,
    }
}
