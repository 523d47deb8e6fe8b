//! `[kafka]`: alerts read from Kafka topics and task events written to one.
//! Absent, the engine uses no Kafka at all (the embedded default).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// How alerts are encoded on a topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopicFormat {
    /// One protobuf `dualwarn.v1.Alert` per message (the default).
    #[default]
    Protobuf,
    /// One JSON alert record per message, as `dualwarn send` reads them.
    Json,
}

/// One ingest topic and the `source` names it may carry, as an ingest
/// token is bound to its sources: an alert of another source goes to the
/// dead-letter topic.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicBinding {
    /// Topic name.
    pub name: String,
    /// `source` values allowed on it (at least one).
    pub sources: BTreeSet<String>,
    /// Message encoding.
    #[serde(default)]
    pub format: TopicFormat,
}

/// The `[kafka]` table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Consumer group of the ingest topics; instances sharing it share the
    /// partitions.
    #[serde(default = "default_group")]
    pub group: String,
    /// Ingest topics; none: nothing is read from Kafka.
    #[serde(default)]
    pub topics: Vec<TopicBinding>,
    /// Where rejected alerts go, each with its rejection (values masked).
    #[serde(default = "default_dead_letter")]
    pub dead_letter_topic: String,
    /// Every task event, keyed by county; none: events are not produced.
    #[serde(default)]
    pub events_topic: Option<String>,
    /// Most alerts handed to the writer as one batch.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// How long a batch waits to fill after its first message.
    #[serde(default = "default_linger", with = "humantime_serde")]
    pub linger: Duration,
    /// Extra librdkafka settings for every client (for example
    /// `security.protocol`, `sasl.*`, `ssl.*`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_group() -> String {
    "dualwarn".into()
}

fn default_dead_letter() -> String {
    "dualwarn.dead-letter".into()
}

fn default_batch() -> usize {
    500
}

fn default_linger() -> Duration {
    Duration::from_millis(20)
}

/// Settings the engine owns: a user's `properties` may not change them,
/// since offsets committed before durability would lose alerts.
const OWNED: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.idempotence",
];

impl KafkaConfig {
    /// Checks names and bounds; `max_batch` is the engine's batch limit.
    pub fn validate(&self, max_batch: usize) -> Result<(), ConfigError> {
        let invalid = |field: &str, value: String, why| ConfigError::Invalid {
            field: field.to_string(),
            value,
            why,
        };
        if self.brokers.trim().is_empty() {
            return Err(invalid(
                "kafka.brokers",
                String::new(),
                "must name at least one broker (host:port)",
            ));
        }
        if self.group.trim().is_empty() {
            return Err(invalid("kafka.group", String::new(), "must not be empty"));
        }
        if self.batch == 0 || self.batch > max_batch {
            return Err(invalid(
                "kafka.batch",
                self.batch.to_string(),
                "must be 1..=max_batch",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, t) in self.topics.iter().enumerate() {
            if t.name.trim().is_empty() {
                return Err(invalid(
                    &format!("kafka.topics[{i}].name"),
                    String::new(),
                    "must not be empty",
                ));
            }
            if !names.insert(t.name.as_str()) {
                return Err(invalid(
                    &format!("kafka.topics[{i}].name"),
                    t.name.clone(),
                    "named twice",
                ));
            }
            if t.sources.is_empty() || t.sources.iter().any(|s| s.trim().is_empty()) {
                return Err(invalid(
                    &format!("kafka.topics[{i}].sources"),
                    format!("{:?}", t.sources),
                    "must list the source names the topic may carry",
                ));
            }
        }
        let mut outputs = vec![("kafka.dead_letter_topic", &self.dead_letter_topic)];
        if let Some(e) = &self.events_topic {
            outputs.push(("kafka.events_topic", e));
        }
        for (field, name) in outputs {
            if name.trim().is_empty() {
                return Err(invalid(field, String::new(), "must not be empty"));
            }
            if names.contains(name.as_str()) {
                return Err(invalid(
                    field,
                    name.clone(),
                    "is also an ingest topic: the engine would read its own output",
                ));
            }
        }
        if let Some(k) = self.properties.keys().find(|k| OWNED.contains(&k.as_str())) {
            return Err(invalid(
                "kafka.properties",
                k.clone(),
                "is set by the engine (offsets are committed only after a batch is durable)",
            ));
        }
        Ok(())
    }

    /// The topic binding of `name`.
    pub fn topic(&self, name: &str) -> Option<&TopicBinding> {
        self.topics.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> KafkaConfig {
        toml::from_str(text).unwrap()
    }

    const OK: &str = r#"
brokers = "127.0.0.1:9092"
events_topic = "dualwarn.task-events"
[[topics]]
name = "bank-feed"
sources = ["bank-a"]
[[topics]]
name = "telecom-json"
sources = ["carrier-x", "carrier-y"]
format = "json"
"#;

    #[test]
    fn defaults_and_formats() {
        let k = parse(OK);
        assert_eq!(k.group, "dualwarn");
        assert_eq!(k.dead_letter_topic, "dualwarn.dead-letter");
        assert_eq!(k.topic("bank-feed").unwrap().format, TopicFormat::Protobuf);
        assert_eq!(k.topic("telecom-json").unwrap().format, TopicFormat::Json);
        k.validate(10_000).unwrap();
    }

    #[test]
    fn bad_settings_name_their_field() {
        let mut k = parse(OK);
        k.topics[1].name = "bank-feed".into();
        let e = k.validate(10_000).unwrap_err().to_string();
        assert!(
            e.contains("kafka.topics[1].name") && e.contains("bank-feed"),
            "{e}"
        );

        let mut k = parse(OK);
        k.events_topic = Some("bank-feed".into());
        let e = k.validate(10_000).unwrap_err().to_string();
        assert!(e.contains("kafka.events_topic"), "{e}");

        let mut k = parse(OK);
        k.properties
            .insert("enable.auto.commit".into(), "true".into());
        let e = k.validate(10_000).unwrap_err().to_string();
        assert!(
            e.contains("kafka.properties") && e.contains("enable.auto.commit"),
            "{e}"
        );

        let mut k = parse(OK);
        k.topics[0].sources.clear();
        let e = k.validate(10_000).unwrap_err().to_string();
        assert!(e.contains("kafka.topics[0].sources"), "{e}");

        let mut k = parse(OK);
        k.batch = 20_000;
        let e = k.validate(10_000).unwrap_err().to_string();
        assert!(e.contains("kafka.batch") && e.contains("20000"), "{e}");
    }
}
