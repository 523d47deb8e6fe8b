//! The commands of the `dualwarn` binary, outside the flow: each
//! `cli::<command>` holds its clap arguments and a `run` that `main.rs`
//! dispatches to, beside the library functions it uses.
//!
//! - [`serve`]: the engine — config checked, bind, serve, graceful stop.
//! - [`generate`]: `gen`, seeded alert streams as JSON lines.
//! - [`send`]: stream a JSON-lines file to a server's ingest.
//! - [`tasks`]: a console in the terminal (list, watch, series, ack, outcome).
//! - [`directory`]: `directory generate`.
//! - [`rules`]: `rules check|test|explain|key-areas|shadow`.
//! - [`shadow`]: `rules shadow start|report|stop|promote` on a running server.
//! - [`graph`]: `graph import|stats|snapshot|measure|eval-amlsim`.
//! - [`precision`]: a labelled stream through the core, pairs per class.
//! - [`offline`]: the pure core driven in process, for `precision` and `replay`.
//! - [`replay`]: an alert file through the core offline, one or two rule sets.
//! - [`load`]: offered load over `Publish` streams, with ack and
//!   task-on-watch latency histograms; rate sweeps and their plot.
//! - [`conn`]: the one set of connection flags (`--addr`, `--token`, TLS)
//!   every client command shares; [`channel`] and [`with_bearer`] below.

pub mod conn;
pub mod directory;
pub mod generate;
pub mod graph;
pub mod graph_eval;
pub mod graph_import;
pub mod graph_measure;
pub mod kafka;
pub mod key_areas;
pub mod load;
pub mod offline;
pub mod precision;
pub mod record;
pub mod replay;
pub mod rules;
pub mod send;
pub mod serve;
pub mod shadow;
pub mod tasks;
pub mod token;

/// TLS for a client: the CA that signed the server's certificate, and a
/// client certificate for servers that ask for one (mTLS). All empty:
/// plain text.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// CA certificate (PEM) that signed the server's certificate.
    pub ca: Option<std::path::PathBuf>,
    /// Client certificate chain (PEM).
    pub cert: Option<std::path::PathBuf>,
    /// Client private key (PEM).
    pub key: Option<std::path::PathBuf>,
}

/// A channel to `addr` (`http://` or, with TLS, `https://host:port`).
pub async fn channel(addr: &str, tls: &ClientTls) -> anyhow::Result<tonic::transport::Channel> {
    use anyhow::Context;
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    let read = |p: &std::path::Path| {
        std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
    };
    // Nodelay is tonic's default too; said here because batches and acks
    // are small and a Nagle-delayed write waits for the peer's delayed ACK.
    let mut endpoint = Endpoint::from_shared(addr.to_string())
        .with_context(|| format!("{addr:?} is not a server address"))?
        .tcp_nodelay(true);
    if tls.ca.is_some() || tls.cert.is_some() {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &tls.ca {
            config = config.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        match (&tls.cert, &tls.key) {
            (Some(c), Some(k)) => config = config.identity(Identity::from_pem(read(c)?, read(k)?)),
            (None, None) => {}
            _ => anyhow::bail!("--cert and --key go together"),
        }
        endpoint = endpoint.tls_config(config).context("TLS configuration")?;
    }
    endpoint
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))
}

/// A request carrying `authorization: Bearer <token>` when a token is given.
pub fn with_bearer<T>(msg: T, token: Option<&str>) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        let v: tonic::metadata::MetadataValue<_> = format!("Bearer {t}")
            .parse()
            .map_err(|_| anyhow::anyhow!("token is not valid metadata"))?;
        r.metadata_mut().insert("authorization", v);
    }
    Ok(r)
}

/// `println!` for command output that ends the process quietly when stdout
/// is closed (`dualwarn tasks list | head`), instead of panicking.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}
