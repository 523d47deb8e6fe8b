//! How every client command reaches a server: the one set of connection
//! flags (`--addr`, `--token`, `--ca`, `--cert`, `--key`) that `send`,
//! `tasks …` and `graph import|stats|snapshot` flatten into their
//! arguments, and the [`Conn`] it becomes. The token's environment
//! variable depends on whose token it is, so the flags take the kind of
//! token as a type parameter ([`Console`], [`Publisher`], [`Admin`]).

use std::marker::PhantomData;
use std::path::PathBuf;

use clap::Args;
use tonic::Request;
use tonic::transport::Channel;

use super::ClientTls;

/// The server address when `--addr` is not given.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";

/// Whose token `--token` carries: where it is read from when the flag is
/// not given, and how the help names it.
pub trait TokenKind: Clone + Send + Sync + 'static {
    /// Environment variable read when `--token` is not given.
    const ENV: &'static str;
    /// Help line of `--token`.
    const HELP: &'static str;
}

/// A console's token (`tasks …`).
#[derive(Clone, Debug)]
pub struct Console;

impl TokenKind for Console {
    const ENV: &'static str = "DUALWARN_TOKEN";
    const HELP: &'static str = "Console token (or env DUALWARN_TOKEN)";
}

/// A publisher's token (`send`).
#[derive(Clone, Debug)]
pub struct Publisher;

impl TokenKind for Publisher {
    const ENV: &'static str = "DUALWARN_PUBLISH_TOKEN";
    const HELP: &'static str = "Publisher token (or env DUALWARN_PUBLISH_TOKEN)";
}

/// The administrator's token (`graph import|stats|snapshot`).
#[derive(Clone, Debug)]
pub struct Admin;

impl TokenKind for Admin {
    const ENV: &'static str = "DUALWARN_ADMIN_TOKEN";
    const HELP: &'static str = "Admin bearer token (or env DUALWARN_ADMIN_TOKEN)";
}

/// The connection flags of a client command whose token is a `K`.
#[derive(Args, Clone, Debug)]
pub struct ConnArgs<K: TokenKind> {
    /// Server address.
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Bearer token, when the server asks for one.
    #[arg(long, env = K::ENV, help = K::HELP)]
    pub token: Option<String>,
    /// TLS, for an `https://` address.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Ties the flags to their kind of token; holds nothing.
    #[arg(skip)]
    pub kind: PhantomData<K>,
}

impl<K: TokenKind> ConnArgs<K> {
    /// The connection these flags describe.
    pub fn conn(&self) -> Conn {
        Conn {
            addr: self.addr.clone(),
            token: self.token.clone(),
            tls: self.tls.client(),
        }
    }
}

/// TLS of a client connection; use an `https://` address with these.
#[derive(Args, Clone, Debug)]
pub struct TlsArgs {
    /// CA certificate (PEM) that signed the server's certificate.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM), for a server that asks for one (mTLS).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client private key (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
}

impl TlsArgs {
    /// The files as [`ClientTls`].
    pub fn client(&self) -> ClientTls {
        ClientTls {
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

/// How to reach a server: address, token and TLS.
#[derive(Clone, Debug)]
pub struct Conn {
    /// Server address (`http://` or, with TLS, `https://host:port`).
    pub addr: String,
    /// Bearer token, when the server has one configured for the caller.
    pub token: Option<String>,
    /// TLS, when the server has it.
    pub tls: ClientTls,
}

impl Conn {
    /// A channel to the server.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        super::channel(&self.addr, &self.tls).await
    }

    /// Wraps a message with the token.
    pub fn request<T>(&self, msg: T) -> anyhow::Result<Request<T>> {
        super::with_bearer(msg, self.token.as_deref())
    }
}
