//! `WatchTasks`: the store's event log from a resume token, then live
//! events, with no gap and no repeat. The live feed is subscribed *before*
//! the store is read, so an event committed meanwhile is seen by one or the
//! other and de-duplicated by sequence; a watcher that falls behind the
//! live feed goes back to the store.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::auth::Scope;
use super::convert::event_to_proto;
use crate::app::Shared;
use crate::error::Error;
use crate::proto;

/// Events read from the store per step of a catch-up.
const CATCH_UP_PAGE: usize = 512;
/// Events buffered towards one watcher; a slow console slows only itself.
const WATCH_BUFFER: usize = 256;

/// Starts a watcher task; the stream ends when the client leaves.
pub fn spawn(
    shared: Arc<Shared>,
    scope: Scope,
    prefix: String,
    after: u64,
) -> ReceiverStream<Result<proto::TaskEvent, Status>> {
    let (tx, rx) = mpsc::channel(WATCH_BUFFER);
    tokio::spawn(async move {
        if let Err(status) = run(&shared, &scope, &prefix, after, &tx).await {
            let _ = tx.send(Err(status)).await;
        }
    });
    ReceiverStream::new(rx)
}

type Out = mpsc::Sender<Result<proto::TaskEvent, Status>>;

/// Returns Ok when the client left, Err on a server-side failure.
async fn run(
    shared: &Arc<Shared>,
    scope: &Scope,
    prefix: &str,
    mut last: u64,
    tx: &Out,
) -> Result<(), Status> {
    loop {
        let mut live = shared.events.subscribe();
        // Catch up from the store.
        loop {
            let s = shared.clone();
            let p = prefix.to_string();
            let page =
                tokio::task::spawn_blocking(move || s.store.events_after(last, &p, CATCH_UP_PAGE))
                    .await
                    .map_err(|e| Status::from(Error::Unavailable(e.to_string())))?
                    .map_err(|e| Status::from(Error::from(e)))?;
            let done = page.len() < CATCH_UP_PAGE;
            for e in page {
                last = e.seq;
                if !scope.sees_task(&e.task) {
                    continue;
                }
                if tx.send(Ok(event_to_proto(&e))).await.is_err() {
                    return Ok(());
                }
            }
            if done {
                break;
            }
        }
        // Follow live until the feed outruns us.
        loop {
            let next = tokio::select! {
                next = live.recv() => next,
                // A quiet jurisdiction must still notice a console that left.
                () = tx.closed() => return Ok(()),
            };
            match next {
                Ok(e) if e.seq <= last => {}
                Ok(e) => {
                    last = e.seq;
                    if !e.task.division.to_string().starts_with(prefix) || !scope.sees_task(&e.task)
                    {
                        continue;
                    }
                    if tx.send(Ok(event_to_proto(&e))).await.is_err() {
                        return Ok(());
                    }
                }
                Err(RecvError::Lagged(_)) => break,
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    }
}
