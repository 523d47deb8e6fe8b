//! The `dualwarn` binary: `serve`, `gen`, `send`, `tasks`, `directory`, `rules` and `graph`.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio::io::BufReader;

use dualwarn::cli::generate::{GenError, GenOptions, MEAN_STEP_MS, generate_labelled};
use dualwarn::cli::send::{SendOptions, send};
use dualwarn::cli::tasks::{self, ConsoleConn};
use dualwarn::config::{self, Config};
use dualwarn::directory::{self, Directory};
use dualwarn::{app, cli, proto, rules};

/// Exit code for a configuration that cannot run (EX_USAGE).
const EXIT_CONFIG: u8 = 64;
/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(
    name = "dualwarn",
    version,
    about = "Anti-telecom-fraud early-warning engine: alerts in, dual-warning task pairs out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine (gRPC on 127.0.0.1:50051, data in ./data by default).
    Serve(ServeArgs),
    /// Write a seeded, realistic alert stream as JSON lines.
    Gen(GenArgs),
    /// Stream a JSON-lines alert file (or stdin) to a server.
    Send(SendArgs),
    /// A terminal console: list, watch, acknowledge, report.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Jurisdiction directory tools.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Analyst tools: check, test and explain rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Account-link graph tools.
    #[command(subcommand)]
    Graph(cli::graph::GraphCommand),
    /// Precision at province scale: a labelled stream with benign
    /// look-alikes through the real core, pairs per class of person.
    Precision(cli::precision::PrecisionArgs),
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load, type-check and compile a rule directory; print errors and warnings.
    Check {
        /// Rule directory.
        #[arg(default_value = config::DEFAULT_RULES_DIR)]
        dir: PathBuf,
    },
    /// Run the test cases in DIR/tests.
    Test {
        /// Rule directory.
        #[arg(default_value = config::DEFAULT_RULES_DIR)]
        dir: PathBuf,
    },
    /// Show what every rule made of one alert (a JSON record as `gen` writes).
    Explain {
        /// The alert.
        alert: PathBuf,
        /// Rule directory.
        #[arg(long, default_value = config::DEFAULT_RULES_DIR)]
        rules: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Config file (TOML); defaults apply to everything it leaves out.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051].
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Data directory of the embedded store [default: ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Rule directory [default: ./rules].
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Jurisdiction directory file [default: ./directory/directory.json].
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Allow a non-loopback listen address while consoles, administration
    /// or ingest answer without a token (a trusted test network only).
    #[arg(long)]
    insecure_dev: bool,
}

/// TLS of a client connection; use an `https://` address with these.
#[derive(Args, Clone)]
struct TlsArgs {
    /// CA certificate (PEM) that signed the server's certificate.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate (PEM), for a server that asks for one (mTLS).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
}

impl TlsArgs {
    fn client(&self) -> dualwarn::cli::ClientTls {
        dualwarn::cli::ClientTls {
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

#[derive(Args)]
struct GenArgs {
    /// Seed: the same seed writes the same stream.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Records to write.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Planted suspected victims [default: count / 50].
    #[arg(long)]
    victims: Option<usize>,
    /// Share of planted alerts that repeat a planted person (重复预警).
    #[arg(long, default_value_t = 0.2)]
    duplicate_rate: f64,
    /// Share of exact re-sends (same source and id).
    #[arg(long, default_value_t = 0.01)]
    resend_rate: f64,
    /// Share of malformed records.
    #[arg(long, default_value_t = 0.01)]
    malformed_rate: f64,
    /// Only villages under this division-code prefix.
    #[arg(long, default_value = "")]
    jurisdiction: String,
    /// Event time of the first record, unix ms [default: so that the stream ends about now].
    #[arg(long)]
    start_ms: Option<i64>,
    /// Jurisdiction directory.
    #[arg(long, default_value = config::DEFAULT_DIRECTORY)]
    directory: PathBuf,
    /// Rule directory (its lists seed the planted victims).
    #[arg(long, default_value = config::DEFAULT_RULES_DIR)]
    rules: PathBuf,
    /// Output file [default: stdout].
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Mix in benign look-alikes (utility payers, official calls,
    /// shopkeepers, elderly family transfers, shared devices, popular apps)
    /// and planted mule rings.
    #[arg(long)]
    lookalikes: bool,
    /// Fit the stream into this span of event time (e.g. `1d`), ending now
    /// unless --start-ms is given [default: 1–10 s between records].
    #[arg(long, value_parser = humantime::parse_duration)]
    span: Option<Duration>,
    /// Write each person's class (`phone,class`) to this CSV file.
    #[arg(long)]
    labels: Option<PathBuf>,
}

#[derive(Args)]
struct SendArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Alerts per batch.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Rejections to print in full.
    #[arg(long, default_value_t = 20)]
    show_rejections: usize,
    /// Publisher token (or env DUALWARN_PUBLISH_TOKEN).
    #[arg(long, env = "DUALWARN_PUBLISH_TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    tls: TlsArgs,
    /// JSON-lines file; `-` or nothing for stdin.
    file: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct ConnArgs {
    /// Server address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Console token (or env DUALWARN_TOKEN).
    #[arg(long, env = "DUALWARN_TOKEN")]
    token: Option<String>,
    /// Print JSON lines instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    tls: TlsArgs,
}

#[derive(Subcommand)]
enum TasksCommand {
    /// List tasks of a jurisdiction (every page).
    List {
        #[command(flatten)]
        conn: ConnArgs,
        /// Division-code prefix.
        #[arg(long, default_value = "")]
        jurisdiction: String,
        /// police | grid.
        #[arg(long)]
        role: Option<String>,
        /// open | acknowledged | done.
        #[arg(long)]
        status: Option<String>,
        /// high | medium | low.
        #[arg(long)]
        level: Option<String>,
        /// Local day created, YYYY-MM-DD.
        #[arg(long, default_value = "")]
        day: String,
    },
    /// Follow task events of a jurisdiction.
    Watch {
        #[command(flatten)]
        conn: ConnArgs,
        /// Division-code prefix.
        #[arg(long, default_value = "")]
        jurisdiction: String,
        /// Resume after this token.
        #[arg(long, default_value = "")]
        from: String,
    },
    /// List the tasks of a linked case series (串并案) in your jurisdiction,
    /// and how many lie in each other county.
    Series {
        #[command(flatten)]
        conn: ConnArgs,
        /// Series id, S- and 16 hex digits.
        series_id: String,
    },
    /// Sign for a task (签收).
    Ack {
        #[command(flatten)]
        conn: ConnArgs,
        /// Task id.
        task_id: String,
        /// Who signs.
        #[arg(long, default_value = "")]
        actor: String,
    },
    /// Report an outcome and close the task.
    Outcome {
        #[command(flatten)]
        conn: ConnArgs,
        /// Task id.
        task_id: String,
        /// person | relative | nobody.
        #[arg(long)]
        reached: String,
        /// no | yes.
        #[arg(long, default_value = "no")]
        defrauded: String,
        /// The call connected.
        #[arg(long)]
        connected: bool,
        /// Amount saved (劝阻金额), yuan.
        #[arg(long, default_value_t = 0)]
        saved_yuan: i64,
        /// Another round of follow-up is needed.
        #[arg(long)]
        follow_up: bool,
        /// Who reports.
        #[arg(long, default_value = "")]
        actor: String,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Generate grids, police areas, officers and grid workers over the division codes.
    Generate {
        /// Folder with provinces/cities/counties/townships/villages.csv.
        #[arg(long, default_value = "directory/divisions")]
        divisions: PathBuf,
        /// Seed: the same seed writes the same file.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// Output file.
        #[arg(long, default_value = config::DEFAULT_DIRECTORY)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(a) => serve(a).await,
        Command::Gen(a) => gen_alerts(a).map(|()| ExitCode::SUCCESS),
        Command::Send(a) => send_file(a).await,
        Command::Tasks(t) => tasks_command(t).await.map(|()| ExitCode::SUCCESS),
        Command::Rules(r) => Ok(rules_command(r)),
        Command::Graph(g) => cli::graph::run(g).await,
        Command::Precision(a) => cli::precision::run(&a).map(|_| ExitCode::SUCCESS),
        Command::Directory(DirectoryCommand::Generate {
            divisions,
            seed,
            out,
        }) => {
            let file = directory::generate::generate_from_dir(
                &divisions,
                &directory::generate::GenerateOptions { seed },
            )?;
            file.write(&out)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let dir = Directory::from_file(file)?;
            eprintln!(
                "wrote {}: {} villages, {} grids",
                out.display(),
                dir.village_count(),
                dir.grid_count()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = match Config::load(a.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    config.listen = a.listen.unwrap_or(config.listen);
    config.data_dir = a.data_dir.unwrap_or(config.data_dir);
    config.rules_dir = a.rules.unwrap_or(config.rules_dir);
    config.directory = a.directory.unwrap_or(config.directory);
    if let Err(e) = config.check_exposure(a.insecure_dev) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
    if a.insecure_dev && !config.unauthenticated().is_empty() {
        tracing::warn!(
            open = config.unauthenticated().join(", "),
            listen = %config.listen,
            "--insecure-dev: serving without tokens"
        );
    }
    let listen = config.listen;
    let shared = match app::build(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(app::serve(shared, listener, async {
        let _ = stop_rx.await;
    }));
    tokio::select! {
        r = &mut server => { r??; return Ok(ExitCode::SUCCESS); }
        () = shutdown_signal() => {}
    }
    tracing::info!(grace_s = SHUTDOWN_GRACE.as_secs(), "shutting down");
    let _ = stop_tx.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(r) => r??,
        Err(_) => tracing::warn!("grace period over; closing open streams"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn rules_command(r: RulesCommand) -> ExitCode {
    let offset = config::DEFAULT_UTC_OFFSET_HOURS;
    let result = match r {
        RulesCommand::Check { dir } => cli::rules::check(&dir),
        RulesCommand::Test { dir } => cli::rules::test(&dir, offset),
        RulesCommand::Explain { alert, rules } => {
            cli::rules::explain(&alert, &rules, offset, app::now_ms()).map(|()| true)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn gen_alerts(a: GenArgs) -> anyhow::Result<()> {
    let dir = Directory::load(&a.directory)?;
    let rules = rules::load_dir(&a.rules)?;
    let span_ms = a
        .span
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let opts = GenOptions {
        seed: a.seed,
        count: a.count,
        victims: a.victims.unwrap_or(a.count / 50),
        duplicate_rate: a.duplicate_rate,
        resend_rate: a.resend_rate,
        malformed_rate: a.malformed_rate,
        start_ms: a
            .start_ms
            .unwrap_or_else(|| app::now_ms() - span_ms.unwrap_or(a.count as i64 * MEAN_STEP_MS)),
        jurisdiction: a.jurisdiction,
        lookalikes: a.lookalikes,
        span_ms,
    };
    let (summary, labels) = match a.out {
        Some(path) => {
            let f = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(f);
            let s = generate_labelled(&dir, &rules, &opts, &mut w)?;
            std::io::Write::flush(&mut w)?;
            s
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            match generate_labelled(&dir, &rules, &opts, &mut w) {
                // The reader went away (`gen | head`): nothing more to do.
                Err(GenError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                r => {
                    let s = r?;
                    std::io::Write::flush(&mut w)?;
                    s
                }
            }
        }
    };
    if let Some(path) = a.labels {
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        );
        std::io::Write::write_all(&mut w, b"phone,class\n")?;
        for (phone, class) in &labels {
            std::io::Write::write_all(&mut w, format!("{phone},{class}\n").as_bytes())?;
        }
        std::io::Write::flush(&mut w)?;
    }
    eprintln!("{summary:?}");
    Ok(())
}

async fn send_file(a: SendArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.batch > 0, "--batch must be at least 1");
    let opts = SendOptions {
        addr: a.addr,
        batch: a.batch,
        show_rejections: a.show_rejections,
        progress: true,
        token: a.token,
        tls: a.tls.client(),
    };
    let summary = match a.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => {
            let f = tokio::fs::File::open(p)
                .await
                .with_context(|| format!("cannot open {}", p.display()))?;
            send(&opts, BufReader::new(f)).await?
        }
        _ => send(&opts, BufReader::new(tokio::io::stdin())).await?,
    };
    for (line, field, reason) in &summary.rejections {
        dualwarn::say!("rejected record {line}: [{field}] {reason}");
    }
    dualwarn::say!(
        "sent {} alerts in {} batches in {:.2}s: {:.0} alerts/s; accepted {} (duplicates {}), rejected {}, unparsable {}; pairs created {}, merged {}",
        summary.sent,
        summary.batches,
        summary.elapsed.as_secs_f64(),
        summary.rate(),
        summary.accepted,
        summary.duplicates,
        summary.rejected,
        summary.unparsable,
        summary.pairs_created,
        summary.merged
    );
    Ok(ExitCode::SUCCESS)
}

fn enum_arg<T>(field: &str, v: Option<&str>, names: &[(&str, T)]) -> anyhow::Result<i32>
where
    T: Copy + Into<i32>,
{
    let Some(v) = v else { return Ok(0) };
    names
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, x)| (*x).into())
        .with_context(|| {
            format!(
                "--{field} {v:?}: expected one of {}",
                names.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )
        })
}

async fn tasks_command(t: TasksCommand) -> anyhow::Result<()> {
    match t {
        TasksCommand::List {
            conn,
            jurisdiction,
            role,
            status,
            level,
            day,
        } => {
            let req = proto::ListTasksRequest {
                jurisdiction,
                role: enum_arg(
                    "role",
                    role.as_deref(),
                    &[
                        ("police", proto::Role::PoliceOfficer),
                        ("grid", proto::Role::GridWorker),
                    ],
                )?,
                status: enum_arg(
                    "status",
                    status.as_deref(),
                    &[
                        ("open", proto::TaskStatus::Open),
                        ("acknowledged", proto::TaskStatus::Acknowledged),
                        ("done", proto::TaskStatus::Done),
                    ],
                )?,
                level: enum_arg(
                    "level",
                    level.as_deref(),
                    &[
                        ("high", proto::Level::High),
                        ("medium", proto::Level::Medium),
                        ("low", proto::Level::Low),
                    ],
                )?,
                created_day: day,
                page_size: 500,
                page_token: String::new(),
            };
            let n = tasks::list(&conn_of(&conn), req, conn.json).await?;
            eprintln!("{n} task(s)");
        }
        TasksCommand::Watch {
            conn,
            jurisdiction,
            from,
        } => {
            tasks::watch(
                &conn_of(&conn),
                proto::WatchTasksRequest {
                    jurisdiction,
                    resume_token: from,
                },
                conn.json,
            )
            .await?;
        }
        TasksCommand::Series { conn, series_id } => {
            let (root, n) = tasks::series(&conn_of(&conn), series_id, conn.json).await?;
            eprintln!("{n} task(s) in your jurisdiction, series {root}");
        }
        TasksCommand::Ack {
            conn,
            task_id,
            actor,
        } => {
            let c = conn_of(&conn);
            let t = c
                .client()
                .await?
                .acknowledge(c.request(proto::AcknowledgeRequest { task_id, actor })?)
                .await?
                .into_inner();
            tasks::print_task(&t, conn.json);
        }
        TasksCommand::Outcome {
            conn,
            task_id,
            reached,
            defrauded,
            connected,
            saved_yuan,
            follow_up,
            actor,
        } => {
            use proto::outcome::{Defrauded, Reached};
            let outcome = proto::Outcome {
                reached: enum_arg(
                    "reached",
                    Some(&reached),
                    &[
                        ("person", Reached::Person),
                        ("relative", Reached::Relative),
                        ("nobody", Reached::Nobody),
                    ],
                )?,
                defrauded: enum_arg(
                    "defrauded",
                    Some(&defrauded),
                    &[("no", Defrauded::No), ("yes", Defrauded::Yes)],
                )?,
                connected,
                amount_saved_fen: saved_yuan.saturating_mul(100),
                follow_up_needed: follow_up,
                ..Default::default()
            };
            let c = conn_of(&conn);
            let req = proto::ReportOutcomeRequest {
                task_id,
                actor,
                outcome: Some(outcome),
            };
            let t = c
                .client()
                .await?
                .report_outcome(c.request(req)?)
                .await?
                .into_inner();
            tasks::print_task(&t, conn.json);
        }
    }
    Ok(())
}

fn conn_of(c: &ConnArgs) -> ConsoleConn {
    ConsoleConn {
        addr: c.addr.clone(),
        token: c.token.clone(),
        tls: c.tls.client(),
    }
}
