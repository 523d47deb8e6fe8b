//! Vocabulary and value draws of the alert generator: names, sources,
//! fraud types by age and channel, and phone, card and ID-number draws.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Channel, GenOptions};

/// Recent records a re-send may copy; real re-sends repeat recent traffic.
pub(super) const RESEND_WINDOW: usize = 256;
/// Most people in the noise population, so memory stays flat for huge counts.
pub(super) const MAX_POPULATION: usize = 50_000;
/// Floor of the high-level transfer rule: 5000 yuan in fen.
pub(super) const LARGE_TRANSFER_FEN: i64 = 500_000;
/// Highest share of duplicates among planted alerts, so the quota stays finite.
pub(super) const MAX_DUPLICATE_RATE: f64 = 0.95;

/// Real mobile prefixes (13x/15x/18x/19x); flagged numbers use virtual ones.
pub(super) const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
    "157", "158", "159", "180", "181", "182", "183", "186", "187", "188", "189", "191", "198",
];
pub(super) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "韩", "冯", "邓", "曹", "彭", "田", "潘",
];
pub(super) const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "萍", "红", "建", "国", "文", "斌",
];
/// Ordinary domains and apps for noise, space-separated.
pub(super) const ORDINARY_URLS: &str = "www.baidu.com www.taobao.com www.jd.com news.qq.com www.12306.cn \
    www.gov.cn www.guizhou.gov.cn map.baidu.com www.bilibili.com";
pub(super) const ORDINARY_APPS: &str = "com.tencent.mm com.eg.android.alipaygphone com.taobao.taobao \
    com.jingdong.app.mall com.ss.android.ugc.aweme com.sdu.didi.psnger com.tencent.mobileqq";
pub(super) const TELECOMS: &[&str] = &["gz-telecom-cmcc", "gz-telecom-unicom", "gz-telecom-ctcc"];
pub(super) const BANKS: &[&str] = &["gz-bank-icbc", "gz-bank-ccb", "gz-bank-abc", "gz-bank-boc"];
pub(super) const POLICE_LINES: &[&str] = &["gz-110", "gz-96110"];
pub(super) const NATIONAL_PUSH: &str = "national-push";
pub(super) const HOTLINE: &str = "gz-12345";
pub(super) const TIPS: &[&str] = &["网格员走访发现其近期频繁网上理财", "亲属反映其常问如何转账"];

/// Victims' age ranges: some fraud types reach the old, some the young.
pub(super) const OLD: (u32, u32) = (50, 85);
pub(super) const YOUNG: (u32, u32) = (18, 45);
pub(super) const ANY_AGE: (u32, u32) = (18, 85);
/// The ten official 2024 fraud types: name, victims' ages, channels that fit.
#[rustfmt::skip]
pub(super) const FRAUD_TYPES: [(&str, (u32, u32), &[Channel]); 10] = [
    ("刷单返利", YOUNG, &[Channel::App, Channel::Url, Channel::Transfer]),
    ("虚假网络投资理财", OLD, &[Channel::App, Channel::Call, Channel::Transfer]),
    ("虚假购物服务", ANY_AGE, &[Channel::Url, Channel::Transfer]),
    ("冒充电商物流客服", ANY_AGE, &[Channel::Call, Channel::Transfer]),
    ("虚假贷款", YOUNG, &[Channel::App, Channel::Call, Channel::Transfer]),
    ("虚假征信", ANY_AGE, &[Channel::Call, Channel::Transfer]),
    ("冒充领导熟人", OLD, &[Channel::Call, Channel::Transfer]),
    ("冒充公检法及政府机关", OLD, &[Channel::Call, Channel::Transfer]),
    ("网络婚恋交友", YOUNG, &[Channel::App, Channel::Url, Channel::Transfer]),
    ("网络游戏产品虚假交易", YOUNG, &[Channel::Url, Channel::Transfer]),
];
/// Share of planted alerts that are a police report (报警) rather than a lead.
pub(super) const REPORT_SHARE: f64 = 0.08;
/// Share of repeat warnings that escalate to a police report.
pub(super) const ESCALATION_SHARE: f64 = 0.2;

pub(super) fn quotas(opts: &GenOptions) -> [usize; 5] {
    let n = opts.count;
    let share = |rate: f64| ((n as f64) * rate.clamp(0.0, 1.0)).round() as usize;
    let malformed = share(opts.malformed_rate).min(n);
    let mut resends = share(opts.resend_rate).min(n - malformed);
    if resends > 0 && resends == n - malformed {
        resends -= 1; // a re-send needs one original
    }
    let room = n - malformed - resends;
    let planted = opts.victims.min(room);
    let rate = opts.duplicate_rate.clamp(0.0, MAX_DUPLICATE_RATE);
    let duplicates = match planted {
        0 => 0,
        p => (((p as f64) * rate / (1.0 - rate)).round() as usize).min(room - p),
    };
    let noise = room - planted - duplicates;
    [noise, planted, duplicates, resends, malformed]
}

/// The space-separated ordinary values that no (sorted) flagged list holds.
pub(super) fn unflagged(values: &'static str, flagged: &[&str]) -> Vec<&'static str> {
    let ordinary = values.split_whitespace();
    ordinary
        .filter(|v| flagged.binary_search(v).is_err())
        .collect()
}

/// One element of a slice; every caller's slice is non-empty by construction.
pub(super) fn pick<'s, T>(rng: &mut ChaCha8Rng, items: &'s [T]) -> &'s T {
    &items[rng.random_range(0..items.len())]
}

/// A drawn phone or card number that is on no flagged (sorted) list.
pub(super) fn unlisted(
    rng: &mut ChaCha8Rng,
    draw: fn(&mut ChaCha8Rng) -> String,
    flagged: &[&str],
) -> String {
    loop {
        let value = draw(rng);
        if flagged.binary_search(&value.as_str()).is_err() {
            return value;
        }
    }
}

pub(super) fn mobile(rng: &mut ChaCha8Rng) -> String {
    let prefix = pick(rng, MOBILE_PREFIXES);
    format!("{prefix}{:08}", rng.random_range(0..100_000_000))
}

pub(super) fn bank_card(rng: &mut ChaCha8Rng) -> String {
    format!("62{:017}", rng.random_range(0..100_000_000_000_000_000u64))
}

/// An 18-digit resident ID number: the raw value a source must never send.
pub(super) fn raw_id_number(rng: &mut ChaCha8Rng, division_code: &str) -> String {
    let county = division_code.get(..6).unwrap_or("520102");
    let (year, month, day) = (
        rng.random_range(1940..2006),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    );
    let check = *pick(rng, &["0", "3", "7", "9", "X"]);
    format!(
        "{county}{year}{month:02}{day:02}{:03}{check}",
        rng.random_range(0..1000)
    )
}
