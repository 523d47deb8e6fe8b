//! `dualwarn graph …`: tools around the account-link graph (`src/graph/`).
//! `import`, `stats` and `snapshot` talk to a running server's `GraphAdmin`;
//! `measure` builds a seeded graph and prints the figures the README quotes;
//! `eval-amlsim` scores graph rules against AMLSim's planted groups.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::conn::{Admin, ConnArgs};
use super::graph_eval::{EvalOptions, RULES_FILE, evaluate};
use super::graph_import::{import, snapshot, stats};
use crate::graph::FlagSource;
use crate::graph::import::ImportFormat;

use super::graph_measure::{MeasureOptions, measure, render};

/// The `graph` subcommands.
#[derive(Subcommand)]
pub enum GraphCommand {
    /// Import a flagged / frozen / stop-payment list, confirmed cases or
    /// transfers (CSV; AMLSim's transactions.csv works as is) into a server's graph.
    Import(ImportArgs),
    /// A server's graph figures: nodes, links, memory, bounds at work.
    Stats(AdminArgs),
    /// Make a server snapshot its graph now.
    Snapshot(AdminArgs),
    /// Build a seeded graph; measure upserts, hop queries, memory and snapshots.
    Measure(MeasureArgs),
    /// Replay AMLSim's transfers, run graph rules on each card, and print
    /// group recall and account precision against the planted groups.
    EvalAmlsim(EvalAmlsimArgs),
}

/// How to reach a server's `GraphAdmin`: address, admin token and TLS.
pub type AdminArgs = ConnArgs<Admin>;

/// What kind of file `graph import` reads.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ImportKind {
    /// Flagged artefacts (涉诈名单): columns `kind,value[,reason][,date]`.
    Flagged,
    /// Frozen accounts (冻结): columns `kind,value[,reason][,date]`.
    Frozen,
    /// Stop-payment accounts (止付): columns `kind,value[,reason][,date]`.
    StopPayment,
    /// Confirmed cases (已立案): columns `case_id,kind,value[,date]`.
    Cases,
    /// Allowed artefacts — banks' collection accounts (对公/收款账户),
    /// official numbers: columns `kind,value[,reason]`.
    Allow,
    /// Transfers: columns `from,to,amount,at[,from_kind,to_kind]`, or AMLSim's
    /// `orig_acct,bene_acct,base_amt,tran_timestamp`.
    Transactions,
}

/// Options of `dualwarn graph import`.
#[derive(Args)]
pub struct ImportArgs {
    /// What the file holds.
    #[arg(long, value_enum)]
    pub kind: ImportKind,
    /// Rows per call (at most 50,000).
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    #[command(flatten)]
    pub conn: AdminArgs,
    /// The CSV file.
    pub file: PathBuf,
}

/// Options of `dualwarn graph measure`.
#[derive(Args)]
pub struct MeasureArgs {
    /// Artefacts.
    #[arg(long, default_value_t = 10_000_000)]
    pub nodes: u32,
    /// Link observations.
    #[arg(long, default_value_t = 50_000_000)]
    pub links: u64,
    /// Seed: the same seed builds the same graph and picks the same starts.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Hop queries timed one by one, from random nodes.
    #[arg(long, default_value_t = 200_000)]
    pub queries: u32,
    /// Depth of the hop queries.
    #[arg(long, default_value_t = 3)]
    pub depth: u32,
    /// The last N observations are upserted by key (ends interned from their values).
    #[arg(long, default_value_t = 1_000_000)]
    pub by_key: u64,
    /// Most links kept at one node (the graph's degree cap).
    #[arg(long, default_value_t = crate::graph::DEFAULT_MAX_DEGREE)]
    pub max_degree: u32,
    /// Save the built graph here, drop it, and load it back (timed).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
}

/// Options of `dualwarn graph eval-amlsim`.
#[derive(Args)]
pub struct EvalAmlsimArgs {
    /// Directory with AMLSim's transactions.csv and alert_accounts.csv.
    #[arg(long, default_value = "tests/data/amlsim")]
    pub data: PathBuf,
    /// Rule file to measure [default: DATA/rules.toml].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Replay only the first N transfers (in timestamp order).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Runs one `graph` subcommand.
pub async fn run(cmd: GraphCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GraphCommand::Import(a) => {
            let format = match a.kind {
                ImportKind::Flagged => ImportFormat::List(FlagSource::Flagged),
                ImportKind::Frozen => ImportFormat::List(FlagSource::Frozen),
                ImportKind::StopPayment => ImportFormat::List(FlagSource::StopPayment),
                ImportKind::Cases => ImportFormat::Cases,
                ImportKind::Allow => ImportFormat::Allow,
                ImportKind::Transactions => ImportFormat::Transactions,
            };
            import(&a.conn.conn(), &a.file, format, a.batch).await
        }
        GraphCommand::Stats(a) => stats(&a.conn()).await,
        GraphCommand::Snapshot(a) => snapshot(&a.conn()).await,
        GraphCommand::Measure(a) => {
            let opts = MeasureOptions {
                nodes: a.nodes,
                links: a.links,
                seed: a.seed,
                queries: a.queries,
                depth: a.depth,
                by_key: a.by_key.min(a.links),
                max_degree: a.max_degree,
                snapshot: a.snapshot,
            };
            let report = measure(&opts)?;
            for line in render(&report) {
                crate::say!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        GraphCommand::EvalAmlsim(a) => {
            let opts = EvalOptions {
                rules: a.rules.unwrap_or_else(|| a.data.join(RULES_FILE)),
                data: a.data,
                limit: a.limit,
            };
            let report = evaluate(&opts)?;
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            for line in super::graph_eval::render(&report) {
                crate::say!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
