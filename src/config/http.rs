//! `[http]`: the web console, `/metrics` and the JSON API on one HTTP port.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Default HTTP listen address of the web console.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";

/// The web console's port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address ("host:port"); empty turns the web console and
    /// `/metrics` off. Uses `[tls]` when that is set, like gRPC.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: DEFAULT_HTTP_LISTEN.into(),
        }
    }
}

impl HttpConfig {
    /// The address to bind, or `None` when the port is off.
    pub fn addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let listen = self.listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        listen.parse().map(Some).map_err(|_| ConfigError::Invalid {
            field: "http.listen".into(),
            value: self.listen.clone(),
            why: "must be host:port (e.g. 127.0.0.1:8080), or empty to turn the web console off",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_turns_it_off_and_a_bad_address_names_the_field() {
        let mut h = HttpConfig::default();
        assert_eq!(
            h.addr().unwrap(),
            Some(DEFAULT_HTTP_LISTEN.parse().unwrap())
        );
        h.listen = String::new();
        assert_eq!(h.addr().unwrap(), None);
        h.listen = "localhost".into();
        let e = h.addr().unwrap_err().to_string();
        assert!(e.contains("http.listen") && e.contains("localhost"), "{e}");
    }
}
