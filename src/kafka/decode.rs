//! One Kafka message → one alert, by the topic's format; what cannot be read
//! becomes a dead-letter rejection naming the field, never a panic.

use prost::Message as _;

use crate::cli::record::AlertRecord;
use crate::config::{TopicBinding, TopicFormat};
use crate::model::mask;
use crate::proto;

/// Why a message was not handed to ingest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The field at fault (`payload`, `source`).
    pub field: &'static str,
    /// What is wrong, with values masked.
    pub reason: String,
}

/// Decodes `payload` as `topic` says, and checks its source is bound to it.
pub fn alert(topic: &TopicBinding, payload: Option<&[u8]>) -> Result<proto::Alert, Unreadable> {
    let payload = match payload {
        Some(p) if !p.is_empty() => p,
        _ => {
            return Err(Unreadable {
                field: "payload",
                reason: "payload: empty message (no alert)".into(),
            });
        }
    };
    let alert = match topic.format {
        TopicFormat::Protobuf => proto::Alert::decode(payload).map_err(|e| Unreadable {
            field: "payload",
            reason: format!("payload: not a protobuf Alert ({e})"),
        })?,
        TopicFormat::Json => serde_json::from_slice::<AlertRecord>(payload)
            .map_err(|e| Unreadable {
                field: "payload",
                // serde_json names the line and column, not the value.
                reason: format!("payload: not a JSON alert record ({})", json_error(&e)),
            })?
            .to_proto(),
    };
    if !topic.sources.contains(&alert.source) {
        return Err(Unreadable {
            field: "source",
            reason: format!(
                "source: {:?} may not publish on topic {:?}",
                mask::echo(&alert.source),
                topic.name
            ),
        });
    }
    Ok(alert)
}

/// A JSON error without the offending text (it may hold a phone number).
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "a field is missing or of the wrong type",
        Category::Eof => "cut short",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(format: TopicFormat) -> TopicBinding {
        TopicBinding {
            name: "t".into(),
            sources: ["bank-a".to_string()].into_iter().collect(),
            format,
        }
    }

    #[test]
    fn protobuf_json_and_the_source_binding() {
        let a = proto::Alert {
            source: "bank-a".into(),
            source_id: "1".into(),
            ..Default::default()
        };
        let got = alert(&topic(TopicFormat::Protobuf), Some(&a.encode_to_vec())).unwrap();
        assert_eq!(got.source_id, "1");

        let other = proto::Alert {
            source: "bank-b".into(),
            ..a.clone()
        };
        let e = alert(&topic(TopicFormat::Protobuf), Some(&other.encode_to_vec())).unwrap_err();
        assert_eq!(e.field, "source");
        assert!(
            e.reason.contains("bank-b") && e.reason.contains("\"t\""),
            "{}",
            e.reason
        );

        let e = alert(&topic(TopicFormat::Protobuf), None).unwrap_err();
        assert_eq!(e.field, "payload");
        let e = alert(&topic(TopicFormat::Protobuf), Some(b"\xff\xff\xff")).unwrap_err();
        assert_eq!(e.field, "payload");
    }

    #[test]
    fn a_json_error_never_echoes_the_payload() {
        let e = alert(
            &topic(TopicFormat::Json),
            Some(br#"{"source":"bank-a","phone":"13912345678""#),
        )
        .unwrap_err();
        assert_eq!(e.field, "payload");
        assert!(!e.reason.contains("1391234"), "{}", e.reason);
    }
}
