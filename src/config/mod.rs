//! Service configuration: one [`Config`], read from a TOML file and flags,
//! checked before any port opens (exit code 64 when invalid).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::directory;
use crate::model::{Level, Role};

mod consoles;
mod escalation;
mod graph;
mod http;
mod ingest;
mod kafka;
mod steps;

pub use consoles::{ConsoleAccess, ConsoleKind, token_digest};
pub use escalation::EscalationConfig;
pub use graph::{DEFAULT_SNAPSHOT_EVERY, GraphConfig};
pub use http::{DEFAULT_HTTP_LISTEN, HttpConfig};
pub use ingest::{IngestConfig, PublisherAccess, RateLimit, TlsConfig};
pub use kafka::{KafkaConfig, TopicBinding, TopicFormat};
pub use steps::StepDeadline;

/// Default gRPC listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default data directory (embedded store).
pub const DEFAULT_DATA_DIR: &str = "data";
/// Default rule directory.
pub const DEFAULT_RULES_DIR: &str = "rules";
/// Default jurisdiction directory file, generated from the bundled division codes.
pub const DEFAULT_DIRECTORY: &str = "directory/directory.json";
/// Default UTC offset of local days (China Standard Time).
pub const DEFAULT_UTC_OFFSET_HOURS: i32 = 8;
/// Default capacity, in batches, of the queue into the writer stage.
pub const DEFAULT_QUEUE_BATCHES: usize = 64;
/// Default largest batch accepted in one message.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// Default out-of-order tolerance of sliding windows (event time).
pub const DEFAULT_WINDOW_LATENESS: Duration = Duration::from_secs(5 * 60);
/// Default cap of events kept per window key.
pub const DEFAULT_WINDOW_MAX_EVENTS_PER_KEY: usize = 4096;
/// Default cap of keys per window.
pub const DEFAULT_WINDOW_MAX_KEYS: usize = 1_000_000;
/// Default deadline for a high-level warning: at once (第一时间).
pub const DEFAULT_DUE_HIGH: Duration = Duration::from_secs(30 * 60);
/// Default deadline for a medium-level warning.
pub const DEFAULT_DUE_MEDIUM: Duration = Duration::from_secs(4 * 3600);
/// Default deadline for a low-level warning.
pub const DEFAULT_DUE_LOW: Duration = Duration::from_secs(24 * 3600);

/// Default task event retention: a quarter, longer than any console stays away.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// Default alert retention: half a year of dedupe and replay.
pub const DEFAULT_ALERT_RETENTION: Duration = Duration::from_secs(180 * 24 * 3600);

/// Default of `shadow_max_cost`: a candidate may cost four times the live set.
pub const DEFAULT_SHADOW_MAX_COST: f64 = 4.0;

/// Everything `dualwarn serve` needs to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Where the embedded store keeps its file.
    pub data_dir: PathBuf,
    /// Page cache of the embedded store, bytes.
    pub store_cache_bytes: usize,
    /// Directory of rule files and lists.
    pub rules_dir: PathBuf,
    /// Jurisdiction directory file (JSON).
    pub directory: PathBuf,
    /// UTC offset, in hours, of the local day used by `created_day` filters.
    pub utc_offset_hours: i32,
    /// Batches that may wait for the writer; a full queue slows publishers.
    pub queue_batches: usize,
    /// Largest number of alerts in one batch.
    pub max_batch: usize,
    /// Oldest accepted event time, as an age (`occurred_at_ms` and
    /// `links[].at_ms`); replay from the store is not bound by it.
    #[serde(with = "humantime_serde")]
    pub max_event_age: Duration,
    /// Task events older than this are removed from the log; a watcher's
    /// resume token from before gets OUT_OF_RANGE and where to resume.
    #[serde(with = "humantime_serde")]
    pub event_retention: Duration,
    /// Alerts with an event time older than this are removed; must exceed
    /// `max_event_age`, so that an alert ingest still accepts is still
    /// known when it is sent again.
    #[serde(with = "humantime_serde")]
    pub alert_retention: Duration,
    /// Largest fraction of enabled rules, or of a list's values, a reload
    /// may drop without `force`.
    pub reload_max_drop: f64,
    /// A shadow run stops itself when its candidate evaluates more than
    /// this many times the rules the live set evaluates (plus one per alert).
    pub shadow_max_cost: f64,
    /// Task deadlines by level, with per-jurisdiction overrides.
    pub deadlines: Deadlines,
    /// Consoles allowed to read tasks, each bound to its jurisdiction. Empty:
    /// console calls are not authenticated (development only; logged at start).
    pub consoles: Vec<ConsoleAccess>,
    /// File holding the person-key secret (hex, at least 32 digits), for
    /// instances that share one store; none: the secret generated at first
    /// start and kept in the store.
    pub person_key_secret_file: Option<PathBuf>,
    /// Bearer token for `RuleAdmin`; none: not authenticated (development only).
    pub admin_token: Option<String>,
    /// Reload the rules when a file under `rules_dir` changes.
    pub watch_rules: bool,
    /// Sliding-window bounds.
    pub windows: WindowConfig,
    /// Account-link graph bounds and snapshots.
    pub graph: GraphConfig,
    /// Escalation of overdue and forgotten tasks.
    pub escalation: EscalationConfig,
    /// Publisher tokens, rate limits and ingest resource bounds.
    pub ingest: IngestConfig,
    /// TLS for gRPC and the web console; none: plain text (loopback or a
    /// trusted network only).
    pub tls: Option<TlsConfig>,
    /// The web console and `/metrics`.
    pub http: HttpConfig,
    /// Kafka ingest topics and the task-event topic; none: no Kafka.
    pub kafka: Option<KafkaConfig>,
}

/// Bounds of the rule windows.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// How late (event time) an alert may arrive and still count.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// Events kept per key; the oldest go first.
    pub max_events_per_key: usize,
    /// Keys kept per window.
    pub max_keys: usize,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            allowed_lateness: DEFAULT_WINDOW_LATENESS,
            max_events_per_key: DEFAULT_WINDOW_MAX_EVENTS_PER_KEY,
            max_keys: DEFAULT_WINDOW_MAX_KEYS,
        }
    }
}

impl WindowConfig {
    /// The limits the window store takes.
    pub fn limits(&self) -> crate::rules::window::WindowLimits {
        crate::rules::window::WindowLimits {
            allowed_lateness_ms: i64::try_from(self.allowed_lateness.as_millis())
                .unwrap_or(i64::MAX),
            max_events_per_key: self.max_events_per_key,
            max_keys: self.max_keys,
        }
    }
}

/// Deadline per level, and overrides by division-code prefix.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Deadlines {
    /// 高.
    #[serde(with = "humantime_serde")]
    pub high: Duration,
    /// 中.
    #[serde(with = "humantime_serde")]
    pub medium: Duration,
    /// 低.
    #[serde(with = "humantime_serde")]
    pub low: Duration,
    /// Per-jurisdiction overrides; the longest matching prefix wins.
    pub jurisdiction: Vec<DeadlineOverride>,
    /// Step deadlines per level and role (call, visit), with overrides by
    /// prefix; given at all, they replace the shipped ones.
    pub steps: Vec<StepDeadline>,
}

/// Deadlines for one jurisdiction; unset levels fall back to the defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineOverride {
    /// Division-code prefix (2, 4, 6, 9 or 12 digits).
    pub prefix: String,
    /// 高.
    #[serde(default, with = "humantime_serde")]
    pub high: Option<Duration>,
    /// 中.
    #[serde(default, with = "humantime_serde")]
    pub medium: Option<Duration>,
    /// 低.
    #[serde(default, with = "humantime_serde")]
    pub low: Option<Duration>,
}

/// A configuration that cannot run, with the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`Config`].
    #[error("invalid config {path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message, with line and column.
        message: String,
    },
    /// A non-loopback address with services open to anyone.
    #[error(
        "refusing to listen on {listen} with no tokens for: {open}; configure [[consoles]], admin_token and [[ingest.publishers]], or pass --insecure-dev for a trusted test network"
    )]
    Exposed {
        /// The address asked for.
        listen: SocketAddr,
        /// What would answer without a token.
        open: String,
    },
    /// A value is out of range.
    #[error("invalid config: {field} = {value}: {why}")]
    Invalid {
        /// Field path.
        field: String,
        /// Offending value.
        value: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl Default for Config {
    fn default() -> Self {
        Config {
            // The constant is a valid socket address literal.
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 50051))),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            store_cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
            rules_dir: PathBuf::from(DEFAULT_RULES_DIR),
            directory: PathBuf::from(DEFAULT_DIRECTORY),
            utc_offset_hours: DEFAULT_UTC_OFFSET_HOURS,
            queue_batches: DEFAULT_QUEUE_BATCHES,
            max_batch: DEFAULT_MAX_BATCH,
            max_event_age: Duration::from_millis(
                crate::normalize::DEFAULT_MAX_EVENT_AGE_MS.unsigned_abs(),
            ),
            event_retention: DEFAULT_EVENT_RETENTION,
            reload_max_drop: 0.25,
            shadow_max_cost: DEFAULT_SHADOW_MAX_COST,
            alert_retention: DEFAULT_ALERT_RETENTION,
            deadlines: Deadlines::default(),
            consoles: Vec::new(),
            admin_token: None,
            person_key_secret_file: None,
            watch_rules: true,
            windows: WindowConfig::default(),
            graph: GraphConfig::default(),
            escalation: EscalationConfig::default(),
            ingest: IngestConfig::default(),
            tls: None,
            http: HttpConfig::default(),
            kafka: None,
        }
    }
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            high: DEFAULT_DUE_HIGH,
            medium: DEFAULT_DUE_MEDIUM,
            low: DEFAULT_DUE_LOW,
            jurisdiction: Vec::new(),
            steps: steps::default_steps(),
        }
    }
}

impl Deadlines {
    /// The step deadlines of `level` and `role` in `division`, if any.
    pub fn steps_for(&self, level: Level, role: Role, division: &str) -> Option<&StepDeadline> {
        steps::pick(&self.steps, level, role, division)
    }

    /// The deadline for `level` in the jurisdiction of `division` (12 digits).
    pub fn due_within(&self, level: Level, division: &str) -> Duration {
        let best = self
            .jurisdiction
            .iter()
            .filter(|o| division.starts_with(&o.prefix))
            .max_by_key(|o| o.prefix.len());
        let pick = |o: &DeadlineOverride| match level {
            Level::High => o.high,
            Level::Medium => o.medium,
            Level::Low => o.low,
        };
        best.and_then(pick).unwrap_or(match level {
            Level::High => self.high,
            Level::Medium => self.medium,
            Level::Low => self.low,
        })
    }
}

impl Config {
    /// Reads a config file; a missing `path` gives the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Checks every value; called before any port is bound.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, value: String, why| ConfigError::Invalid {
            field: field.to_string(),
            value,
            why,
        };
        self.http.addr()?;
        if let Some(k) = &self.kafka {
            k.validate(self.max_batch)?;
        }
        if self.store_cache_bytes < 1024 * 1024 {
            return Err(invalid(
                "store_cache_bytes",
                self.store_cache_bytes.to_string(),
                "must be at least 1 MiB",
            ));
        }
        if self.queue_batches == 0 {
            return Err(invalid("queue_batches", "0".into(), "must be at least 1"));
        }
        if self.max_batch == 0 || self.max_batch > 100_000 {
            return Err(invalid(
                "max_batch",
                self.max_batch.to_string(),
                "must be 1..=100000",
            ));
        }
        if self.max_event_age < Duration::from_secs(3600) {
            return Err(invalid(
                "max_event_age",
                humantime::format_duration(self.max_event_age).to_string(),
                "must be at least 1h (a centre's backlog is weeks)",
            ));
        }
        if !(self.shadow_max_cost > 0.0 && self.shadow_max_cost.is_finite()) {
            return Err(invalid(
                "shadow_max_cost",
                self.shadow_max_cost.to_string(),
                "must be a positive number",
            ));
        }
        if !(0.0..=1.0).contains(&self.reload_max_drop) {
            return Err(invalid(
                "reload_max_drop",
                self.reload_max_drop.to_string(),
                "must be a fraction 0..=1",
            ));
        }
        if self.event_retention < Duration::from_secs(3600) {
            return Err(invalid(
                "event_retention",
                humantime::format_duration(self.event_retention).to_string(),
                "must be at least 1h",
            ));
        }
        if self.alert_retention <= self.max_event_age {
            return Err(invalid(
                "alert_retention",
                humantime::format_duration(self.alert_retention).to_string(),
                "must be longer than max_event_age, or a re-sent alert would make a second task",
            ));
        }
        if !(-12..=14).contains(&self.utc_offset_hours) {
            return Err(invalid(
                "utc_offset_hours",
                self.utc_offset_hours.to_string(),
                "must be -12..=14",
            ));
        }
        if self.windows.max_events_per_key == 0 || self.windows.max_keys == 0 {
            return Err(invalid(
                "windows",
                "0".into(),
                "max_events_per_key and max_keys must be at least 1",
            ));
        }
        if self.admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid(
                "admin_token",
                "(hidden)".into(),
                "a token must have at least 16 characters",
            ));
        }
        self.graph.validate()?;
        self.escalation.validate()?;
        self.ingest.validate()?;
        self.validate_deadlines()?;
        self.validate_consoles()?;
        if !self.consoles.is_empty() && self.admin_token.is_none() {
            return Err(invalid(
                "admin_token",
                "(none)".into(),
                "consoles are configured but rule and graph administration is open: set admin_token",
            ));
        }
        Ok(())
    }

    /// What answers without a token: `consoles`, `admin`, `ingest`.
    pub fn unauthenticated(&self) -> Vec<&'static str> {
        let mut open = Vec::new();
        if self.consoles.is_empty() {
            open.push("consoles");
        }
        if self.admin_token.is_none() {
            open.push("admin");
        }
        if self.ingest.publishers.is_empty() {
            open.push("ingest");
        }
        open
    }

    /// Refuses a non-loopback `listen` while anything answers without a
    /// token, unless `insecure_dev`.
    pub fn check_exposure(&self, insecure_dev: bool) -> Result<(), ConfigError> {
        let open = self.unauthenticated();
        if open.is_empty() || insecure_dev {
            return Ok(());
        }
        // The web console answers for the consoles, like gRPC does.
        let http = self.http.addr()?;
        for listen in std::iter::once(self.listen).chain(http) {
            if !listen.ip().is_loopback() {
                return Err(ConfigError::Exposed {
                    listen,
                    open: open.join(", "),
                });
            }
        }
        Ok(())
    }

    fn validate_deadlines(&self) -> Result<(), ConfigError> {
        let d = &self.deadlines;
        steps::validate(&d.steps)?;
        for (field, v) in [
            ("deadlines.high", d.high),
            ("deadlines.medium", d.medium),
            ("deadlines.low", d.low),
        ] {
            if v.is_zero() {
                return Err(ConfigError::Invalid {
                    field: field.into(),
                    value: "0s".into(),
                    why: "a deadline must be positive",
                });
            }
        }
        for o in &d.jurisdiction {
            if !directory::code::is_valid_prefix(&o.prefix) {
                return Err(ConfigError::Invalid {
                    field: "deadlines.jurisdiction.prefix".into(),
                    value: o.prefix.clone(),
                    why: "must be 2, 4, 6, 9 or 12 digits",
                });
            }
            if [o.high, o.medium, o.low]
                .iter()
                .flatten()
                .any(|v| v.is_zero())
            {
                return Err(ConfigError::Invalid {
                    field: "deadlines.jurisdiction".into(),
                    value: o.prefix.clone(),
                    why: "a deadline must be positive",
                });
            }
        }
        Ok(())
    }

    fn validate_consoles(&self) -> Result<(), ConfigError> {
        consoles::validate(&self.consoles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let err = toml::from_str::<Config>("listne = \"1.2.3.4:5\"").unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }

    #[test]
    fn longest_jurisdiction_override_wins() {
        let cfg: Config = toml::from_str(
            "[deadlines]\nhigh = \"30m\"\n[[deadlines.jurisdiction]]\nprefix = \"5201\"\nhigh = \"20m\"\n\
             [[deadlines.jurisdiction]]\nprefix = \"520102\"\nhigh = \"10m\"\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        let d = &cfg.deadlines;
        assert_eq!(
            d.due_within(Level::High, "520102016001"),
            Duration::from_secs(600)
        );
        assert_eq!(
            d.due_within(Level::High, "520103001001"),
            Duration::from_secs(1200)
        );
        assert_eq!(
            d.due_within(Level::High, "520201001001"),
            Duration::from_secs(1800)
        );
        assert_eq!(d.due_within(Level::Low, "520102016001"), DEFAULT_DUE_LOW);
    }

    #[test]
    fn consoles_without_an_admin_token_are_refused() {
        let mut cfg = Config::default();
        cfg.consoles.push(ConsoleAccess {
            name: "c".into(),
            token_sha256: token_digest("0123456789abcdef"),
            jurisdiction: "5201".into(),
            kind: ConsoleKind::Centre,
            station: None,
            person: None,
        });
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("admin_token"), "{err}");
        cfg.admin_token = Some("fedcba9876543210".into());
        cfg.validate().unwrap();
    }

    #[test]
    fn an_open_public_listen_is_refused_unless_insecure_dev() {
        let mut cfg = Config {
            listen: "0.0.0.0:50051".parse().unwrap(),
            ..Config::default()
        };
        let err = cfg.check_exposure(false).unwrap_err().to_string();
        assert!(
            err.contains("0.0.0.0:50051") && err.contains("consoles, admin, ingest"),
            "{err}"
        );
        cfg.check_exposure(true).unwrap();
        cfg.listen = "127.0.0.1:50051".parse().unwrap();
        cfg.check_exposure(false).unwrap();
    }

    #[test]
    fn zero_deadline_is_rejected() {
        let cfg: Config = toml::from_str("[deadlines]\nlow = \"0s\"\n").unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("deadlines.low"), "{err}");
    }

    #[test]
    fn an_open_web_console_on_a_public_address_is_refused_like_grpc() {
        let mut cfg = Config::default();
        assert!(cfg.check_exposure(false).is_ok(), "loopback both");
        cfg.http.listen = "0.0.0.0:8080".into();
        let err = cfg.check_exposure(false).unwrap_err().to_string();
        assert!(
            err.contains("0.0.0.0:8080") && err.contains("consoles"),
            "{err}"
        );
        assert!(cfg.check_exposure(true).is_ok(), "--insecure-dev");
        cfg.http.listen = String::new();
        assert!(cfg.check_exposure(false).is_ok(), "web console off");
    }
}
