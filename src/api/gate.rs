//! The ingest gate: runs in front of `AlertIngest` before any message is
//! decoded. It authenticates the publisher (bearer token, and a client
//! certificate when mTLS is on), and takes one of the `max_ingest_calls`
//! call slots for the whole call, so that neither an unknown caller nor a
//! crowd of publishers makes the server decode more than it has memory
//! for. What it learns travels to the handler in the request's extensions.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tonic::codegen::{Context, Poll, Service, http};
use tonic::server::NamedService;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::budget::ByteBudget;
use super::rate_limit::RateLimiter;
use crate::config::Config;
use crate::error::Error;

/// A publisher as its token names it.
#[derive(Debug)]
pub struct Publisher {
    /// Name from the config, for logs.
    pub name: String,
    /// The `source` values it may publish.
    pub sources: HashSet<String>,
}

/// What ingest checks before and while it reads.
#[derive(Debug)]
pub struct IngestGate {
    publishers: Vec<(String, Arc<Publisher>)>,
    require_client_cert: bool,
    /// Memory of batches between decode and ack.
    pub budget: ByteBudget,
    calls: Arc<Semaphore>,
    max_calls: usize,
    /// Per-source rate limits.
    pub limiter: RateLimiter,
}

/// One ingest call's slot; a stream's handler keeps a clone until the
/// stream ends.
#[derive(Clone, Debug)]
pub struct CallSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

impl IngestGate {
    /// The gate `config` describes, with full rate buckets at `now_ms`.
    pub fn new(config: &Config, now_ms: i64) -> IngestGate {
        let ingest = &config.ingest;
        IngestGate {
            publishers: ingest
                .publishers
                .iter()
                .map(|p| {
                    let publisher = Publisher {
                        name: p.name.clone(),
                        sources: p.sources.iter().cloned().collect(),
                    };
                    (p.token.clone(), Arc::new(publisher))
                })
                .collect(),
            require_client_cert: config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
            budget: ByteBudget::new(ingest.max_inflight_bytes),
            calls: Arc::new(Semaphore::new(ingest.max_ingest_calls)),
            max_calls: ingest.max_ingest_calls,
            limiter: RateLimiter::new(&ingest.rate_limits, now_ms),
        }
    }

    /// The publisher behind `headers`; `None` when ingest is open
    /// (no publishers configured).
    pub fn authenticate<B>(&self, req: &http::Request<B>) -> Result<Option<Arc<Publisher>>, Error> {
        if self.require_client_cert {
            let certs = req
                .extensions()
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.peer_certs());
            if certs.is_none_or(|c| c.is_empty()) {
                return Err(Error::Unauthenticated(
                    "ingest needs a client certificate signed by the configured client_ca".into(),
                ));
            }
        }
        if self.publishers.is_empty() {
            return Ok(None);
        }
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "ingest needs a publisher token (authorization: Bearer <token>)".into(),
                )
            })?;
        let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
        // Every token is compared, so the time does not tell which matched.
        let mut found = None;
        for (t, p) in &self.publishers {
            if super::auth::constant_time_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(p.clone());
            }
        }
        found
            .map(Some)
            .ok_or_else(|| Error::Unauthenticated("unknown publisher token".into()))
    }
}

/// `AlertIngest` behind the gate.
#[derive(Clone)]
pub struct Gated<S> {
    inner: S,
    gate: Arc<IngestGate>,
}

impl<S> Gated<S> {
    /// Puts `inner` behind `gate`.
    pub fn new(inner: S, gate: Arc<IngestGate>) -> Gated<S> {
        Gated { inner, gate }
    }
}

impl<S: NamedService> NamedService for Gated<S> {
    const NAME: &'static str = S::NAME;
}

type Body = tonic::body::Body;
type Reply = http::Response<Body>;

impl<S> Service<http::Request<Body>> for Gated<S>
where
    S: Service<http::Request<Body>, Response = Reply, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Reply;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        // The clone that was made ready is the one that serves.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let publisher = match gate.authenticate(&req) {
                Ok(p) => p,
                Err(e) => return Ok(refuse(e)),
            };
            if let Some(p) = publisher {
                req.extensions_mut().insert(p);
            }
            let Ok(slot) = gate.calls.clone().try_acquire_owned() else {
                return Ok(refuse(Error::Exhausted {
                    what: format!("all {} ingest calls are open", gate.max_calls),
                    retry_after: Duration::from_secs(1),
                }));
            };
            let slot = CallSlot(Arc::new(slot));
            req.extensions_mut().insert(slot.clone());
            let reply = inner.call(req).await;
            drop(slot);
            reply
        })
    }
}

fn refuse(e: Error) -> Reply {
    tracing::warn!(error = %e, "ingest call refused at the gate");
    tonic::Status::from(e).into_http()
}
