//! The listening edge: accepts at most `ingest.max_connections` connections
//! at once (more wait in the kernel's backlog until one closes), and loads
//! the TLS identity and client CA named in `[tls]`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::{ConfigError, TlsConfig};

/// A connection holding one of the connection permits until it closes.
pub struct Limited {
    io: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Limited {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Connected for Limited {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

/// Connections accepted from `listener`, at most `max` open at once. The
/// accept task ends when the stream is dropped (or is aborted with the
/// returned handle).
pub fn incoming(
    listener: TcpListener,
    max: usize,
) -> (
    ReceiverStream<io::Result<Limited>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel(1);
    let permits = Arc::new(Semaphore::new(max));
    let task = tokio::spawn(async move {
        let mut warned = false;
        loop {
            let permit = match permits.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    if !warned {
                        tracing::warn!(max, "connection limit reached; new connections wait");
                        warned = true;
                    }
                    match permits.clone().acquire_owned().await {
                        Ok(p) => p,
                        Err(_) => return,
                    }
                }
            };
            let item = match listener.accept().await {
                Ok((io, _)) => {
                    // Small acks and watch events go out at once, not after
                    // the peer's delayed ACK (about 40 ms on Linux): tonic's
                    // own nodelay setting does not reach an `incoming` stream.
                    if let Err(e) = io.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    warned = false;
                    Ok(Limited {
                        io,
                        _permit: permit,
                    })
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    // Out of descriptors, for instance: give it a moment.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    (ReceiverStream::new(rx), task)
}

fn read(field: &'static str, path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| ConfigError::Invalid {
        field: field.into(),
        value: format!("{}: {e}", path.display()),
        why: "cannot read the PEM file",
    })
}

/// The rustls server config `[tls]` names; client certificates are asked
/// for but optional at the TLS layer, and required by the ingest gate.
pub fn tls_config(tls: &TlsConfig) -> Result<ServerTlsConfig, ConfigError> {
    let identity = Identity::from_pem(read("tls.cert", &tls.cert)?, read("tls.key", &tls.key)?);
    let mut config = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &tls.client_ca {
        config = config
            .client_ca_root(Certificate::from_pem(read("tls.client_ca", ca)?))
            .client_auth_optional(true);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio_stream::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_connection_over_the_limit_waits_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mut accepted, task) = incoming(listener, 1);
        let _a = TcpStream::connect(addr).await.unwrap();
        let first = accepted.next().await.unwrap().unwrap();
        // The second connects (the kernel's backlog) but is not accepted.
        let _b = TcpStream::connect(addr).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(200), accepted.next()).await;
        assert!(waited.is_err(), "a second connection was accepted");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), accepted.next()).await;
        assert!(matches!(second, Ok(Some(Ok(_)))));
        task.abort();
    }

    #[tokio::test]
    async fn accepted_connections_send_without_nagle_delay() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mut accepted, task) = incoming(listener, 4);
        let _client = TcpStream::connect(addr).await.unwrap();
        let conn = accepted.next().await.unwrap().unwrap();
        assert!(conn.io.nodelay().unwrap(), "TCP_NODELAY is off");
        task.abort();
    }
}
