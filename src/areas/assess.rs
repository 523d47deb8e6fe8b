//! The assessment: which (village, fraud type) cells are key areas, and
//! why. A cell is a key area when its window count reaches
//! `absolute_count`, or reaches `min_count` and `ratio` times the mean the
//! same place had per window-length over its baseline weeks. Comparing a
//! place with its own past, not with the province, keeps a busy city
//! district from always winning over a quiet mountain village.

use super::count::Counts;
use crate::directory::DivisionCode;
use crate::model::calendar::civil_from_days;

/// One key area (重点区域) for one fraud type, with the figures that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyArea {
    /// The village or community.
    pub village: DivisionCode,
    /// Fraud-type code.
    pub fraud_type: String,
    /// Local day assessed, `YYYY-MM-DD`.
    pub day: String,
    /// Alerts in the window.
    pub window_count: u64,
    /// Of them, 110 / 96110 reports.
    pub reports: u64,
    /// The baseline's mean per window-length.
    pub baseline_mean: f64,
    /// The key group to reach, or 辖区群众 when no group stands out.
    pub group: String,
    /// Window alerts of that group.
    pub group_count: u64,
    /// Readable reason, with the figures and the thresholds.
    pub why: String,
}

/// The key areas of `counts`, by village then fraud type. `type_name`
/// gives a fraud type's name for the explanation.
pub fn assess(counts: &Counts, type_name: impl Fn(&str) -> String) -> Vec<KeyArea> {
    let m = counts.method();
    let window = m.window_days as usize;
    let baseline_days = 7 * m.baseline_weeks as usize;
    let (y, mo, d) = civil_from_days(counts.day);
    let day = format!("{y:04}-{mo:02}-{d:02}");
    let mut out = Vec::new();
    for ((village, fraud), cell) in &counts.cells {
        let (base, recent) = cell.per_day.split_at(baseline_days);
        let window_count: u64 = recent.iter().sum();
        let baseline_mean = base.iter().sum::<u64>() as f64 * window as f64 / baseline_days as f64;
        let by_count = window_count >= m.absolute_count;
        let by_ratio =
            window_count >= m.min_count && window_count as f64 >= m.ratio * baseline_mean.max(1.0);
        if !(by_count || by_ratio) {
            continue;
        }
        let (group, group_count) = cell
            .groups
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
            .map_or(("辖区群众".to_string(), 0), |(i, n)| {
                (m.groups[i].name.clone(), *n)
            });
        let rule = if by_count {
            format!("达到 {} 起的绝对阈值", m.absolute_count)
        } else {
            format!(
                "为基线的 {:.1} 倍 (阈值 {} 倍, 至少 {} 起)",
                window_count as f64 / baseline_mean.max(1.0),
                m.ratio,
                m.min_count
            )
        };
        let why = format!(
            "{}: 近{}天 {} 起 (其中110/96110报案 {} 起), 前{}周平均每{}天 {:.1} 起, {}; 重点人群 {} ({} 起)",
            type_name(fraud),
            window,
            window_count,
            cell.reports,
            m.baseline_weeks,
            window,
            baseline_mean,
            rule,
            group,
            group_count
        );
        out.push(KeyArea {
            village: *village,
            fraud_type: fraud.clone(),
            day: day.clone(),
            window_count,
            reports: cell.reports,
            baseline_mean,
            group,
            group_count,
            why,
        });
    }
    out.sort_by(|a, b| (a.village, &a.fraud_type).cmp(&(b.village, &b.fraud_type)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::areas::Method;
    use crate::areas::count::Counts;
    use crate::areas::method::tests::TEXT;
    use crate::model::{Alert, AlertKey, SourceKind, Subject};
    use proptest::prelude::*;

    const DAY: i64 = 20_000;

    fn alert(village: &str, fraud: &str, day_offset: i64, person: u32, age: u32) -> Alert {
        let at_ms = (DAY + day_offset) * 86_400_000 + 3_600_000;
        Alert {
            key: AlertKey::new("test", &format!("{person}-{at_ms}")),
            source_kind: SourceKind::Telecom,
            occurred_at_ms: at_ms,
            subject: crate::model::PersonKeys::offline().keyed(Subject {
                phone: format!("139{person:08}"),
                id_hash: String::new(),
                name: String::new(),
                division: DivisionCode::parse(village).unwrap(),
                grid_id: None,
                address: String::new(),
                age,
                keys: Default::default(),
            }),
            counterparts: Vec::new(),
            links: Vec::new(),
            amount_fen: 0,
            fraud_type_hint: fraud.into(),
            attributes: Default::default(),
        }
    }

    fn method() -> Method {
        Method::parse(TEXT, |_| true).unwrap()
    }

    /// Two alerts a week for four weeks, then `recent` in the last week.
    fn counts(recent: u32) -> Counts {
        let mut c = Counts::new(&method(), DAY, 0);
        let mut person = 0;
        for week in 0..4 {
            for k in 0..2 {
                person += 1;
                c.add(&alert(
                    "520102016001",
                    "shuadan",
                    -34 + week * 7 + k,
                    person,
                    30,
                ));
            }
        }
        for k in 0..recent {
            person += 1;
            c.add(&alert(
                "520102016001",
                "shuadan",
                -(k as i64 % 7),
                person,
                70,
            ));
        }
        c
    }

    #[test]
    fn a_tripled_village_is_a_key_area_and_its_usual_level_is_not() {
        assert!(assess(&counts(2), |c| c.to_string()).is_empty());
        assert!(
            assess(&counts(4), |c| c.to_string()).is_empty(),
            "under min_count"
        );
        let key = assess(&counts(6), |_| "刷单返利".into());
        assert_eq!(key.len(), 1);
        let k = &key[0];
        assert_eq!((k.window_count, k.baseline_mean), (6, 2.0));
        assert_eq!(k.group, "辖区群众", "老年人 is for yanglao only");
        assert!(k.why.starts_with("刷单返利: 近7天 6 起"), "{}", k.why);
    }

    #[test]
    fn an_absolute_count_makes_a_key_area_whatever_the_baseline() {
        let mut c = counts(0);
        for p in 0..40 {
            for week in 0..4 {
                c.add(&alert(
                    "520102016002",
                    "shuadan",
                    -34 + week * 7,
                    1000 + p,
                    30,
                ));
            }
            c.add(&alert("520102016002", "shuadan", 0, 1000 + p, 30));
        }
        let key = assess(&c, |c| c.to_string());
        assert_eq!(key.len(), 1);
        assert!(key[0].why.contains("绝对阈值"), "{}", key[0].why);
        // Every one of them was warned before.
        assert_eq!(key[0].group, "曾被预警人员");
        assert_eq!(key[0].group_count, 40);
    }

    proptest! {
        /// Scaling a place's whole history never changes whether its ratio
        /// test passes: the comparison is with its own past.
        #[test]
        fn key_by_ratio_is_scale_free(base in 1u32..4, factor in 1u32..4, scale in 1u32..4) {
            let m = Method { absolute_count: u64::MAX, min_count: 1, ..method() };
            let run = |s: u32| {
                let mut c = Counts::new(&m, DAY, 0);
                let mut person = 0;
                for week in 0..4 {
                    for _ in 0..base * s {
                        person += 1;
                        c.add(&alert("520102016001", "shuadan", -34 + week * 7, person, 30));
                    }
                }
                for _ in 0..base * factor * s {
                    person += 1;
                    c.add(&alert("520102016001", "shuadan", 0, person, 30));
                }
                !assess(&c, |c| c.to_string()).is_empty()
            };
            prop_assert_eq!(run(1), run(scale));
            prop_assert_eq!(run(1), f64::from(factor) >= m.ratio);
        }
    }
}
