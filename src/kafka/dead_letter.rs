//! The dead-letter topic: one JSON record per rejected alert, naming where
//! the message is (topic, partition, offset), the alert's position and
//! field, and why; values are masked as in gRPC acks. The message itself is
//! not copied: it stays on its topic, and the dead letter carries no
//! personal data. A dead letter is produced (and acknowledged by the
//! broker) before the offset that skips its message is committed.

use rdkafka::producer::FutureProducer;
use serde::{Deserialize, Serialize};

use super::{Outgoing, produce_all};

/// A rejected alert, as written to the dead-letter topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Topic the alert came from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The field at fault (`payload`, `source`, `subject.phone`...).
    pub field: String,
    /// Why, values masked.
    pub reason: String,
    /// The alert's `source_id`, masked; empty when unreadable.
    pub source_id: String,
}

/// Produces `letters` to `topic`, each keyed like its message, and waits
/// until the broker has every one. Any failure is returned: the caller
/// must not commit past them.
pub async fn send(
    producer: &FutureProducer,
    topic: &str,
    letters: &[(Option<Vec<u8>>, DeadLetter)],
) -> Result<(), String> {
    let bodies: Vec<Vec<u8>> = letters
        .iter()
        .map(|(_, l)| serde_json::to_vec(l).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(letters.len());
    for ((key, _), body) in letters.iter().zip(&bodies) {
        out.push(Outgoing {
            topic,
            partition: None,
            key: key.as_deref(),
            payload: body,
            headers: None,
        });
    }
    produce_all(producer, out)
        .await
        .map_err(|e| format!("dead-letter topic {topic}: {e}"))
}
