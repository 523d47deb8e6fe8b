//! `[ingest]` and `[tls]`: who may publish which sources, how fast, and how
//! many bytes may be in flight; checked with the rest of [`super::Config`].

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

/// Default largest gRPC message a publisher may send (a batch of 10,000
/// typical alerts is about 5 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// Default budget of decoded request bytes in flight, from decode to ack.
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 256 * 1024 * 1024;
/// Default most ingest calls (streams and `Submit`s) open at once.
pub const DEFAULT_MAX_INGEST_CALLS: usize = 32;
/// Default most open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default most concurrent streams (calls) on one connection.
pub const DEFAULT_MAX_STREAMS_PER_CONNECTION: u32 = 16;

/// Publisher access and ingest resource bounds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest gRPC message accepted on ingest and admin calls.
    pub max_message_bytes: usize,
    /// Budget of decoded request bytes from decode to ack; a spent budget
    /// slows streams and answers RESOURCE_EXHAUSTED to a waiting `Submit`.
    pub max_inflight_bytes: usize,
    /// Most ingest calls open at once; more get RESOURCE_EXHAUSTED. Each
    /// may hold one decoded batch that waits for the budget.
    pub max_ingest_calls: usize,
    /// Most open connections; more wait in the listen backlog.
    pub max_connections: usize,
    /// Most concurrent calls on one connection (HTTP/2 streams).
    pub max_streams_per_connection: u32,
    /// Publisher tokens, each bound to the `source` names it may send.
    /// Empty: ingest is not authenticated (development only).
    pub publishers: Vec<PublisherAccess>,
    /// Alerts per second by `source`; a source not listed is not limited.
    pub rate_limits: Vec<RateLimit>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
            max_ingest_calls: DEFAULT_MAX_INGEST_CALLS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_streams_per_connection: DEFAULT_MAX_STREAMS_PER_CONNECTION,
            publishers: Vec::new(),
            rate_limits: Vec::new(),
        }
    }
}

/// One publisher's bearer token and the sources it may publish.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublisherAccess {
    /// Name shown in logs.
    pub name: String,
    /// Bearer token sent in the `authorization` metadata.
    pub token: String,
    /// `source` values this token may publish.
    pub sources: Vec<String>,
}

/// A token bucket for one source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The `source` it limits.
    pub source: String,
    /// Sustained alerts per second.
    pub per_second: u32,
    /// Alerts that may arrive at once [default: 10 × per_second]; a batch
    /// larger than this is refused outright.
    pub burst: Option<u32>,
}

impl RateLimit {
    /// The bucket size.
    pub fn burst(&self) -> u32 {
        self.burst
            .unwrap_or_else(|| self.per_second.saturating_mul(10))
    }
}

/// TLS for every gRPC service (rustls).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Server certificate chain (PEM).
    pub cert: PathBuf,
    /// Server private key (PEM).
    pub key: PathBuf,
    /// CA of publisher client certificates (PEM); when set, ingest calls
    /// need a client certificate it signed (mTLS). Consoles need none.
    pub client_ca: Option<PathBuf>,
}

fn invalid(field: &str, value: String, why: &'static str) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        value,
        why,
    }
}

impl IngestConfig {
    /// Checks bounds, tokens and limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(64 * 1024..=256 * 1024 * 1024).contains(&self.max_message_bytes) {
            return Err(invalid(
                "ingest.max_message_bytes",
                self.max_message_bytes.to_string(),
                "must be 64 KiB..=256 MiB",
            ));
        }
        if self.max_inflight_bytes < 2 * self.max_message_bytes {
            return Err(invalid(
                "ingest.max_inflight_bytes",
                self.max_inflight_bytes.to_string(),
                "must be at least twice ingest.max_message_bytes",
            ));
        }
        if self.max_inflight_bytes > 64 * 1024 * 1024 * 1024 {
            return Err(invalid(
                "ingest.max_inflight_bytes",
                self.max_inflight_bytes.to_string(),
                "must be at most 64 GiB",
            ));
        }
        if self.max_ingest_calls == 0 || self.max_ingest_calls > 100_000 {
            return Err(invalid(
                "ingest.max_ingest_calls",
                self.max_ingest_calls.to_string(),
                "must be 1..=100000",
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid(
                "ingest.max_connections",
                "0".into(),
                "must be at least 1",
            ));
        }
        if self.max_streams_per_connection == 0 {
            return Err(invalid(
                "ingest.max_streams_per_connection",
                "0".into(),
                "must be at least 1",
            ));
        }
        let mut tokens = HashSet::new();
        for p in &self.publishers {
            if p.token.len() < 16 {
                return Err(invalid(
                    "ingest.publishers.token",
                    p.name.clone(),
                    "a token must have at least 16 characters",
                ));
            }
            if !tokens.insert(p.token.as_str()) {
                return Err(invalid(
                    "ingest.publishers.token",
                    p.name.clone(),
                    "two publishers share a token",
                ));
            }
            if p.sources.is_empty() {
                return Err(invalid(
                    "ingest.publishers.sources",
                    p.name.clone(),
                    "a publisher needs at least one source",
                ));
            }
            if let Some(bad) = p
                .sources
                .iter()
                .find(|s| s.is_empty() || s.len() > 64 || s.contains('/'))
            {
                return Err(invalid(
                    "ingest.publishers.sources",
                    bad.clone(),
                    "a source is 1..=64 characters without '/'",
                ));
            }
        }
        let mut limited = HashSet::new();
        for r in &self.rate_limits {
            if !limited.insert(r.source.as_str()) {
                return Err(invalid(
                    "ingest.rate_limits.source",
                    r.source.clone(),
                    "limited twice",
                ));
            }
            if r.per_second == 0 || r.burst() == 0 {
                return Err(invalid(
                    "ingest.rate_limits.per_second",
                    r.source.clone(),
                    "per_second and burst must be at least 1",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(token: &str, sources: &[&str]) -> PublisherAccess {
        PublisherAccess {
            name: "p".into(),
            token: token.into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_are_valid() {
        IngestConfig::default().validate().unwrap();
    }

    #[test]
    fn a_short_or_shared_token_is_refused_by_field() {
        let mut c = IngestConfig::default();
        c.publishers.push(publisher("short", &["bank"]));
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("ingest.publishers.token"), "{e}");
        c.publishers = vec![
            publisher("0123456789abcdef", &["bank"]),
            publisher("0123456789abcdef", &["telco"]),
        ];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("share a token"), "{e}");
    }

    #[test]
    fn a_publisher_needs_a_source() {
        let mut c = IngestConfig::default();
        c.publishers.push(publisher("0123456789abcdef", &[]));
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("ingest.publishers.sources"), "{e}");
    }

    #[test]
    fn a_budget_below_two_messages_is_refused() {
        let c = IngestConfig {
            max_inflight_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            ..IngestConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("ingest.max_inflight_bytes"), "{e}");
    }

    #[test]
    fn burst_defaults_to_ten_seconds() {
        let r = RateLimit {
            source: "bank".into(),
            per_second: 100,
            burst: None,
        };
        assert_eq!(r.burst(), 1000);
    }
}
