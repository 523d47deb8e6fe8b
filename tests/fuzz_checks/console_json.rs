//! Fuzz target `console_json`: the web console's JSON bodies. The first
//! byte picks a `TaskConsole` request type, the rest is the body; a body
//! that decodes must encode and decode back to the same message (the page
//! and the engine agree on every field), and nothing may panic.

use dualwarn::proto;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The console methods the JSON API serves, in the order the first byte picks.
pub const METHODS: [&str; 14] = [
    "ListTasks",
    "GetTask",
    "Acknowledge",
    "RecordCall",
    "RecordVisit",
    "ReportOutcome",
    "FollowUp",
    "RequestTransfer",
    "DecideTransfer",
    "ListSeries",
    "RevealContact",
    "ListAudit",
    "Supervision",
    "RecordPublicity",
];

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(body: &[u8]) {
    let Ok(msg) = serde_json::from_slice::<T>(body) else {
        return;
    };
    let text = serde_json::to_string(&msg).expect("a decoded message encodes");
    let back: T = serde_json::from_str(&text).expect("an encoded message decodes");
    assert_eq!(back, msg, "round trip of {text}");
}

/// Checks `data` as described in the module header.
pub fn console_json(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    match usize::from(pick) % METHODS.len() {
        0 => round_trip::<proto::ListTasksRequest>(body),
        1 => round_trip::<proto::GetTaskRequest>(body),
        2 => round_trip::<proto::AcknowledgeRequest>(body),
        3 => round_trip::<proto::RecordCallRequest>(body),
        4 => round_trip::<proto::RecordVisitRequest>(body),
        5 => round_trip::<proto::ReportOutcomeRequest>(body),
        6 => round_trip::<proto::FollowUpRequest>(body),
        7 => round_trip::<proto::RequestTransferRequest>(body),
        8 => round_trip::<proto::DecideTransferRequest>(body),
        9 => round_trip::<proto::ListSeriesRequest>(body),
        10 => round_trip::<proto::RevealContactRequest>(body),
        11 => round_trip::<proto::ListAuditRequest>(body),
        12 => round_trip::<proto::SupervisionRequest>(body),
        _ => round_trip::<proto::RecordPublicityRequest>(body),
    }
}
