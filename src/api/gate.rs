//! The ingest gate: runs in front of `AlertIngest` before any message is
//! decoded. It authenticates the publisher (bearer token, and a client
//! certificate when mTLS is on), and for `Submit` reserves room in the byte
//! budget, so that neither an unknown caller nor a burst of large requests
//! makes the server decode anything it has no memory for. What it learns
//! travels to the handler in the request's extensions.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tonic::codegen::{Context, Poll, Service, http};
use tonic::server::NamedService;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::budget::{ByteBudget, Held, SUBMIT_WAIT};
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
    /// Memory of requests between decode and ack.
    pub budget: ByteBudget,
    /// Per-source rate limits.
    pub limiter: RateLimiter,
}

/// Budget reserved by the gate for a `Submit`, taken by its handler.
#[derive(Clone, Debug)]
pub struct Reserved(Arc<Mutex<Option<Held>>>);

impl Reserved {
    /// Takes the reservation, once.
    pub fn take(&self) -> Option<Held> {
        self.0.lock().ok().and_then(|mut h| h.take())
    }
}

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
            budget: ByteBudget::new(ingest.max_inflight_bytes, ingest.max_message_bytes),
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
            if req.uri().path().ends_with("/Submit") {
                match gate.budget.reserve_within(SUBMIT_WAIT).await {
                    Ok(held) => {
                        req.extensions_mut()
                            .insert(Reserved(Arc::new(Mutex::new(Some(held)))));
                    }
                    Err(e) => return Ok(refuse(e)),
                }
            }
            inner.call(req).await
        })
    }
}

fn refuse(e: Error) -> Reply {
    tracing::warn!(error = %e, "ingest call refused at the gate");
    tonic::Status::from(e).into_http()
}
