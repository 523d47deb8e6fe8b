//! Publicity (宣传): the brief of a publicity task made for a key area
//! (宣传任务), and the records of publicity given — on a pair's tasks the
//! 双宣传 to the person and the household, on a publicity task the work itself.

use serde::{Deserialize, Serialize};

/// How publicity was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicityMethod {
    /// 上门宣传: at the door.
    Door,
    /// 电话宣传: by phone.
    Phone,
    /// 村(社区)群: in the village group chat.
    GroupChat,
    /// 张贴海报: posters.
    Poster,
    /// 宣讲会: a meeting.
    Meeting,
}

impl PublicityMethod {
    /// As lists write it.
    pub fn label(self) -> &'static str {
        match self {
            PublicityMethod::Door => "上门",
            PublicityMethod::Phone => "电话",
            PublicityMethod::GroupChat => "村群",
            PublicityMethod::Poster => "海报",
            PublicityMethod::Meeting => "宣讲会",
        }
    }
}

/// Publicity given once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicityRecord {
    /// Unix ms.
    pub at_ms: i64,
    /// How.
    pub method: PublicityMethod,
    /// Whether it was done (false: tried, not done, e.g. nobody home).
    pub done: bool,
    /// Households reached (a publicity task), 0 when not counted.
    pub households: u32,
    /// Note, masked as any note.
    pub note: String,
}

/// What a publicity task is for: the key area's fraud type, the group to
/// reach and the figures that made it a key area.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicityBrief {
    /// Local day assessed, `YYYY-MM-DD`.
    pub day: String,
    /// Key group (重点人群) to reach.
    pub group: String,
    /// Alerts in the window.
    pub window_count: u64,
    /// The baseline's mean per window, ×10 (one decimal, kept exact).
    pub baseline_mean_tenths: u64,
    /// Readable reason, with the figures and the thresholds.
    pub why: String,
}

/// Most publicity records on one task.
pub const MAX_RECORDS: usize = 32;

/// The subject key of a key area's publicity pair: one open pair per
/// village and fraud type, kept apart from person keys by its prefix.
pub fn area_key(village: &str, fraud_type: &str) -> String {
    format!("area:{village}:{fraud_type}")
}
