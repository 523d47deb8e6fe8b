//! `dualwarn serve`: the engine itself. Loads the config file, lets the
//! flags override it, checks it all (exposure, directory, rules) before any
//! port opens — exit code 64 naming what is wrong — then binds, serves,
//! and on SIGTERM or ctrl-c stops taking work and gives what is in flight
//! a grace period.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::app;
use crate::config::{Config, ConfigError};

/// Exit code for a configuration that cannot run (EX_USAGE).
pub const EXIT_CONFIG: u8 = 64;
/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Flags of `dualwarn serve`; each overrides its key of the config file.
#[derive(Args)]
pub struct ServeArgs {
    /// Config file (TOML); defaults apply to everything it leaves out.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// gRPC listen address [default: 127.0.0.1:50051].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Data directory of the embedded store [default: ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Rule directory [default: ./rules].
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Jurisdiction directory file [default: ./directory/directory.json].
    #[arg(long)]
    pub directory: Option<PathBuf>,
    /// Web console and /metrics listen address; "" turns it off
    /// [default: 127.0.0.1:8080].
    #[arg(long)]
    pub http_listen: Option<String>,
    /// Allow a non-loopback listen address while consoles, administration
    /// or ingest answer without a token (a trusted test network only).
    #[arg(long)]
    pub insecure_dev: bool,
}

/// Runs `dualwarn serve` until the server stops or a shutdown signal.
pub async fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let insecure_dev = a.insecure_dev;
    let config = match checked_config(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    if insecure_dev && !config.unauthenticated().is_empty() {
        tracing::warn!(
            open = config.unauthenticated().join(", "),
            listen = %config.listen,
            "--insecure-dev: serving without tokens"
        );
    }
    let listen = config.listen;
    let http = match config.http.addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
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
    let http = match http {
        Some(a) => {
            let l = tokio::net::TcpListener::bind(a)
                .await
                .with_context(|| format!("cannot listen on {a} (http.listen)"))?;
            let scheme = if shared.config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            tracing::info!(http_addr = %l.local_addr()?, scheme, "web console listening");
            Some(l)
        }
        None => None,
    };
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(app::serve_with_http(shared, listener, http, async {
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

/// The config file with the flags over it, checked for exposure; the error
/// is what to print before exiting with [`EXIT_CONFIG`].
fn checked_config(a: ServeArgs) -> Result<Config, ConfigError> {
    let mut config = Config::load(a.config.as_deref())?;
    config.listen = a.listen.unwrap_or(config.listen);
    config.data_dir = a.data_dir.unwrap_or(config.data_dir);
    config.rules_dir = a.rules.unwrap_or(config.rules_dir);
    config.directory = a.directory.unwrap_or(config.directory);
    if let Some(http) = a.http_listen {
        config.http.listen = http;
    }
    config.check_exposure(a.insecure_dev)?;
    Ok(config)
}

/// Resolves on ctrl-c or, on unix, SIGTERM.
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
