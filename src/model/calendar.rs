//! Proleptic Gregorian dates from day counts and back (H. Hinnant's
//! algorithms), for dates people read: due times, flag dates.

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 of a calendar date written `YYYY-MM-DD`; `None`
/// when `s` is not one (wrong shape, month 13, 31 April, 29 February of a
/// common year).
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    let (y, m, d) = (
        s[..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..].parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, i64::from(m), i64::from(d))).then_some(days)
}

/// `YYYY-MM-DD HH:MM` of unix ms at `utc_offset_hours`, for people reading a due time.
pub fn local_time(ms: i64, utc_offset_hours: i32) -> String {
    let local = ms.div_euclid(60_000) + i64::from(utc_offset_hours) * 60;
    let (days, minutes) = (local.div_euclid(1440), local.rem_euclid(1440));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
}

/// `YYYY-MM-DD` of unix seconds at `utc_offset_hours`.
pub fn local_date(unix_s: i64, utc_offset_hours: i32) -> String {
    let days = (unix_s + i64::from(utc_offset_hours) * 3600).div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-1000, 0, 19_000, 20_514, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m as u32, d as u32), days);
        }
        assert_eq!(local_date(1_772_409_600, 8), "2026-03-02");
        assert_eq!(parse_date("2026-03-02"), Some(20_514));
        for bad in [
            "2026-13-01",
            "2026-04-31",
            "2025-02-29",
            "2026/03/02",
            "26-03-02",
            "2026-+3-02",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_date("2024-02-29").is_some());
    }
}
