//! The wiring: the only code that knows the order of the stages. Loads and
//! checks configuration, directory and rules before binding a port, starts
//! the writer thread behind a bounded queue, and serves the gRPC services
//! (ingest, console, health, reflection) until shutdown.

mod committer;
pub mod directory_reload;
mod graph_state;
mod jobs;
pub mod key_areas;
mod keys;
mod listen;
mod reload;
mod reload_guard;
mod retention;
pub mod shadow;
mod window_state;
mod writer_metrics;
mod writer_status;
mod writer_thread;

pub use graph_state::{SnapshotInfo, snapshot_path};
pub use reload::{RuleStatus, reload, watch_rules};
pub use writer_status::WriterStatus;
pub use writer_thread::{GraphFigures, Job};

use std::future::Future;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};

use crate::api::{
    ConsoleService, DirectoryAdminService, Gated, GraphAdminService, IngestGate, IngestService,
    RuleAdminService,
};
use crate::config::{Config, ConfigError};
use crate::directory::Directory;
use crate::error::Error;
use crate::model::TaskEventRecord;
use crate::pipeline::Writer;
use crate::proto::alert_ingest_server::AlertIngestServer;
use crate::proto::directory_admin_server::DirectoryAdminServer;
use crate::proto::graph_admin_server::GraphAdminServer;
use crate::proto::rule_admin_server::RuleAdminServer;
use crate::proto::task_console_server::TaskConsoleServer;
use crate::rules::{self, Matcher, RuleSet};
use crate::store::{EmbeddedStore, Store};

/// Events kept for watchers that fall behind before they re-read the store.
const EVENT_FANOUT: usize = 4096;

/// What every request handler shares.
pub struct Shared {
    /// Checked configuration.
    pub config: Config,
    /// Jurisdiction directory in force; replaced whole by
    /// [`directory_reload::reload`], never edited.
    pub directory: ArcSwap<Directory>,
    /// What the last directory load or reload did.
    pub directory_status: Mutex<directory_reload::DirectoryStatus>,
    /// The rule set in force (the writer's copy is authoritative; this one
    /// is for status and admin calls).
    pub rules: ArcSwap<RuleSet>,
    /// Last reload outcome, for `RuleAdmin.Status`.
    pub rule_status: Mutex<RuleStatus>,
    /// One reload at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Bounded queue into the writer.
    pub jobs: mpsc::Sender<Job>,
    /// Live task events.
    pub events: broadcast::Sender<Arc<TaskEventRecord>>,
    /// The installation's person keys, for normalize.
    pub person_keys: crate::model::PersonKeys,
    /// What the writer thread can do now, for health.
    pub writer_status: tokio::sync::watch::Receiver<WriterStatus>,
    /// Publisher tokens, byte budget and rate limits of ingest.
    pub ingest: Arc<IngestGate>,
    /// The TLS identity `[tls]` names, checked at build.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// The engine's clock (unix ms), the writer's too: reports are "as of" it.
    pub clock: fn() -> i64,
    /// Operational figures, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Shared {
    /// What ingest checks alerts against at `now_ms`.
    pub fn checks(&self, now_ms: i64) -> crate::normalize::Checks<'_> {
        crate::normalize::Checks {
            now_ms,
            max_age_ms: i64::try_from(self.config.max_event_age.as_millis()).unwrap_or(i64::MAX),
            keys: &self.person_keys,
            sources: None,
        }
    }
}

/// Wall-clock unix milliseconds; the core never reads a clock itself.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Loads everything `serve` needs, failing before any port is bound.
pub fn build(config: Config) -> Result<Arc<Shared>, Error> {
    build_with_clock(config, now_ms)
}

/// [`build`] with the writer on `clock` (unix ms): task times, deadlines
/// and escalations follow it. Tests pass a clock they move.
pub fn build_with_clock(config: Config, clock: fn() -> i64) -> Result<Arc<Shared>, Error> {
    config.validate()?;
    let directory = Directory::load(&config.directory)?;
    check_console_ids(&config, &directory)?;
    let rules = Arc::new(rules::load_dir(&config.rules_dir)?);
    for w in &rules.warnings {
        tracing::warn!(warning = %w, "rule set");
    }
    let started = std::time::Instant::now();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_with_cache(
        &config.data_dir,
        config.store_cache_bytes,
    )?);
    let store_open_ms = started.elapsed().as_millis() as u64;
    let person_keys = keys::load(&config, store.as_ref())?;
    let open = config.unauthenticated();
    if !open.is_empty() {
        tracing::warn!(
            open = open.join(", "),
            "answering without a token (development mode): configure [[consoles]], admin_token and [[ingest.publishers]]"
        );
    }
    let tls = config.tls.as_ref().map(listen::tls_config).transpose()?;
    if let Some(t) = &tls {
        // Bad PEM content fails here, before any port is bound.
        tonic::transport::Server::builder()
            .tls_config(t.clone())
            .map_err(|e| ConfigError::Invalid {
                field: "tls".into(),
                value: format!("{e}"),
                why: "the certificate, key or client CA is not valid PEM",
            })?;
    }
    tracing::info!(
        tls = tls.is_some(),
        client_certs = config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        publishers = config.ingest.publishers.len(),
        consoles = config.consoles.len(),
        "access"
    );
    let (limits, offset) = (config.windows.limits(), config.utc_offset_hours);
    let new_matcher = move |r: Arc<RuleSet>| Matcher::new(r, limits, offset);
    let mut matcher = new_matcher(rules.clone());
    // The open tasks (from the store) load beside the graph and the windows
    // (from their snapshots): a start at 10 M stored alerts takes the longer
    // of the two, not their sum.
    let (state, graph_and_windows) = std::thread::scope(|s| {
        let tasks = s.spawn(|| {
            let t = std::time::Instant::now();
            store
                .load_state()
                .map(|st| (st, t.elapsed().as_millis() as u64))
        });
        let rest = window_state::load(&config, store.as_ref(), &mut matcher, now_ms());
        let tasks = tasks
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (tasks, rest)
    });
    let (state, state_ms) = state?;
    let (graph, loaded, cold) = graph_and_windows?;
    tracing::info!(
        directory = directory.version(),
        villages = directory.village_count(),
        grids = directory.grid_count(),
        rules = rules.enabled_count(),
        rule_set = %rules.version,
        open_pairs = state.open_tasks.len() / 2,
        last_event = state.last_seq,
        store_open_ms,
        state_ms,
        "engine loaded"
    );
    let t = std::time::Instant::now();
    let mut writer = Writer::from_state(state, config.deadlines.clone(), matcher).with_graph(graph);
    let index_ms = t.elapsed().as_millis() as u64;
    warm_up(&mut writer, store.as_ref(), &cold)?;
    let mut keeper = graph_state::GraphKeeper::new(&config.data_dir, config.graph.snapshot_every);
    keeper.last = loaded;
    let (jobs, jobs_rx) = mpsc::channel(config.queue_batches);
    let (events, _) = broadcast::channel(EVENT_FANOUT);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let mut thread = writer_thread::WriterThread {
        metrics: metrics.clone(),
        writer,
        store: store.clone(),
        config: config.clone(),
        keeper,
        new_matcher: Box::new(new_matcher),
        events: events.clone(),
        clock,
        stopped: false,
        failing: None,
        last_revive: None,
        committer: committer::Committer::spawn(committer::CommitSide {
            store: store.clone(),
            events: events.clone(),
            metrics: metrics.clone(),
            clock,
        })
        .map_err(|e| Error::Unavailable(format!("cannot start commit thread: {e}")))?,
        in_flight_known: Default::default(),
        snapshot_due: false,
    };
    thread.index_deadlines()?;
    thread.task_gauges(clock());
    thread.size_gauges();
    tracing::info!(
        index_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "writer ready"
    );
    let writer_status =
        writer_status::spawn("dualwarn-writer", move |report| thread.run(jobs_rx, report))
            .map_err(|e| Error::Unavailable(format!("cannot start writer thread: {e}")))?;
    let rule_status = Mutex::new(RuleStatus::loaded(&rules, now_ms()));
    let ingest = Arc::new(IngestGate::new(&config, now_ms()));
    Ok(Arc::new(Shared {
        ingest,
        tls,
        config,
        directory_status: Mutex::new(directory_reload::DirectoryStatus::loaded(
            &directory,
            now_ms(),
        )),
        directory: ArcSwap::from_pointee(directory),
        rules: ArcSwap::new(rules),
        rule_status,
        reload_lock: tokio::sync::Mutex::new(()),
        store,
        jobs,
        events,
        person_keys,
        writer_status,
        clock,
        metrics,
    }))
}

/// Refuses a station or person console whose id the directory does not know.
pub(crate) fn check_console_ids(config: &Config, directory: &Directory) -> Result<(), ConfigError> {
    for c in &config.consoles {
        let unknown = match (&c.station, &c.person) {
            (Some(s), _) if !directory.has_station(s) => Some(("consoles.station", s)),
            (_, Some(p)) if !directory.has_person(p) => Some(("consoles.person", p)),
            _ => None,
        };
        if let Some((field, id)) = unknown {
            return Err(ConfigError::Invalid {
                field: field.into(),
                value: crate::model::mask::echo(id),
                why: "not in the jurisdiction directory",
            });
        }
    }
    Ok(())
}

/// Most stored alerts replayed into windows at start.
const MAX_WARM_ALERTS: usize = 5_000_000;

/// Replays the stored alerts of the longest window of `slots` into those
/// windows, so that a restart does not reset "3 calls within the hour":
/// for the windows their snapshot did not bring back (all of them after a
/// failed commit).
pub(crate) fn warm_up(writer: &mut Writer, store: &dyn Store, slots: &[bool]) -> Result<(), Error> {
    let horizon = writer.warm_horizon_ms(slots);
    if horizon == 0 {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let now = now_ms();
    let alerts = store.alerts_since(now.saturating_sub(horizon), MAX_WARM_ALERTS)?;
    writer.warm(&alerts, now, slots);
    tracing::info!(
        windows = slots.iter().filter(|s| **s).count(),
        alerts = alerts.len(),
        horizon_s = horizon / 1000,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "windows warmed from the store"
    );
    if alerts.len() == MAX_WARM_ALERTS {
        tracing::warn!(
            limit = MAX_WARM_ALERTS,
            "warm-up hit its limit; the oldest window contents are partial"
        );
    }
    Ok(())
}

/// Serves every gRPC service on `listener` until `shutdown` resolves.
pub async fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    serve_with_http(shared, listener, None, shutdown).await
}

/// [`serve`], and the web console on `http` when given.
pub async fn serve_with_http(
    shared: Arc<Shared>,
    listener: TcpListener,
    http: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (http_stop, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let web = http.map(|l| {
        tokio::spawn(crate::api::http::serve(shared.clone(), l, async {
            let _ = http_stopped.await;
        }))
    });
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<AlertIngestServer<IngestService>>()
        .await;
    health
        .set_serving::<TaskConsoleServer<ConsoleService>>()
        .await;
    health
        .set_serving::<RuleAdminServer<RuleAdminService>>()
        .await;
    health
        .set_serving::<GraphAdminServer<GraphAdminService>>()
        .await;
    health
        .set_serving::<DirectoryAdminServer<DirectoryAdminService>>()
        .await;
    let follower = tokio::spawn(writer_status::follow(
        shared.writer_status.clone(),
        health.clone(),
        vec![
            <AlertIngestServer<IngestService> as tonic::server::NamedService>::NAME,
            <TaskConsoleServer<ConsoleService> as tonic::server::NamedService>::NAME,
            <RuleAdminServer<RuleAdminService> as tonic::server::NamedService>::NAME,
            <GraphAdminServer<GraphAdminService> as tonic::server::NamedService>::NAME,
        ],
    ));
    // A dead writer: health turns first, then the server stops, and then
    // `serve` fails even if a stream holds the graceful stop up.
    let dead = writer_status::died(shared.writer_status.clone());
    let stop_on_death = {
        let status = shared.writer_status.clone();
        async move {
            writer_status::died(status).await;
            tokio::time::sleep(writer_status::DEATH_GRACE).await;
        }
    };
    let retention = retention::spawn(shared.store.clone(), shared.config.clone(), now_ms);
    let escalation = spawn_ticker(shared.clone());
    let (kafka_stop, kafka_stopped) = tokio::sync::watch::channel(false);
    let kafka = crate::kafka::spawn(&shared, kafka_stopped);
    // Kept alive until the server stops.
    let _watcher = if shared.config.watch_rules {
        watch_rules(shared.clone())?
    } else {
        None
    };
    // v1, and v1alpha for the clients that speak only it (Python's
    // grpcio-reflection, older grpcurl).
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let ingest = &shared.config.ingest;
    let max_msg = ingest.max_message_bytes;
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(ingest.max_streams_per_connection);
    if let Some(tls) = &shared.tls {
        builder = builder.tls_config(tls.clone())?;
    }
    let (incoming, acceptor) = listen::incoming(listener, ingest.max_connections);
    let server = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(Gated::new(
            AlertIngestServer::new(IngestService::new(shared.clone()))
                .max_decoding_message_size(max_msg),
            shared.ingest.clone(),
        ))
        .add_service(TaskConsoleServer::new(ConsoleService::new(shared.clone())))
        .add_service(
            RuleAdminServer::new(RuleAdminService::new(shared.clone()))
                .max_decoding_message_size(max_msg),
        )
        .add_service(
            GraphAdminServer::new(GraphAdminService::new(shared.clone()))
                .max_decoding_message_size(max_msg),
        )
        .add_service(DirectoryAdminServer::new(DirectoryAdminService::new(
            shared.clone(),
        )))
        .serve_with_incoming_shutdown(incoming, async {
            tokio::select! {
                () = shutdown => {}
                () = stop_on_death => {}
            }
        });
    let served = tokio::select! {
        r = server => r.map_err(anyhow::Error::from),
        why = async {
            let why = dead.await;
            tokio::time::sleep(writer_status::DEATH_GRACE * 3).await;
            why
        } => Err(anyhow::anyhow!(why)),
    };
    // Kafka ingest finishes its batches in flight and commits their
    // offsets; the events producer delivers what it has read.
    let _ = kafka_stop.send(true);
    for mut k in kafka {
        if tokio::time::timeout(std::time::Duration::from_secs(10), &mut k)
            .await
            .is_err()
        {
            k.abort();
            tracing::warn!(
                "kafka did not finish within 10 s; the next start re-reads from the committed offsets"
            );
        }
    }
    retention.abort();
    escalation.abort();
    follower.abort();
    acceptor.abort();
    let _ = http_stop.send(());
    if let Some(web) = web {
        // Event streams never end by themselves: give pages a moment, then cut.
        match tokio::time::timeout(std::time::Duration::from_secs(2), web).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "web console stopped with an error"),
            Ok(_) => {}
            Err(_) => tracing::debug!("web console streams cut at shutdown"),
        }
    }
    if let WriterStatus::Died(why) = &*shared.writer_status.borrow() {
        anyhow::bail!("{why}; exiting so that a supervisor restarts the engine");
    }
    served?;
    final_snapshot(&shared).await;
    Ok(())
}

/// Asks the writer to escalate what is overdue: at start (catching up on
/// what passed while the engine was down) and every `check_every`.
fn spawn_ticker(shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    let every = shared.config.escalation.check_every;
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let offset_ms = i64::from(shared.config.utc_offset_hours) * 3_600_000;
        let local_day = |s: &Shared| ((s.clock)() + offset_ms).div_euclid(86_400_000);
        let mut last_day = local_day(&shared);
        loop {
            interval.tick().await;
            if shared.jobs.send(Job::Tick { reply: None }).await.is_err() {
                return;
            }
            // After midnight: the key areas of the day just ended.
            let today = local_day(&shared);
            if today != last_day {
                last_day = today;
                if shared.rules.load().key_areas.is_some() {
                    let s = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = key_areas::run(s, today - 1, false).await {
                            tracing::error!(error = %e, "daily key-area run failed");
                        }
                    });
                }
            }
        }
    })
}

/// Snapshots the graph once the server has stopped taking requests, so the
/// next start replays little, and closes the store, so that it opens
/// without a repair.
async fn final_snapshot(shared: &Shared) {
    let (reply, done) = tokio::sync::oneshot::channel();
    if shared.jobs.send(Job::Stop { reply }).await.is_err() {
        return;
    }
    match done.await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "graph snapshot at shutdown failed; the store log has everything")
        }
        Err(_) => tracing::warn!("writer gone before the shutdown snapshot"),
    }
}
