//! Masking of personal data (phone, ID, name, address) for logs, errors and
//! consoles. Every log line and error message that mentions a person goes
//! through here.

/// `13812345678` → `138****5678`. At least four characters are always
/// hidden: a value shorter than 11 keeps only its first 3, shorter than 7
/// is fully starred.
pub fn phone(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let head: String = chars.iter().take(3).collect();
    match n {
        0..=6 => "*".repeat(n.max(1)),
        7..=10 => format!("{head}{}", "*".repeat(n - 3)),
        // No phone is this long: say how long, show nothing more.
        21.. => format!("{head}****…({n} characters)"),
        _ => {
            let tail: String = chars[n - 4..].iter().collect();
            format!("{head}{}{tail}", "*".repeat(n - 7))
        }
    }
}

/// `张三丰` → `张**`: keeps the surname only.
pub fn name(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count())),
        None => String::new(),
    }
}

/// Endings of an administrative unit (省, 市, 区, 县, 乡镇, 街道, 村, 社区).
const ADMIN_SUFFIXES: [&str; 10] = [
    "街道", "社区", "省", "市", "区", "县", "旗", "镇", "乡", "村",
];
/// What marks a street address rather than an administrative unit.
const STREET_MARKS: [char; 11] = [
    '路', '街', '巷', '号', '弄', '栋', '楼', '室', '组', '院', '#',
];
/// Longest administrative unit name looked for, in characters.
const MAX_UNIT_CHARS: usize = 10;

/// Keeps only the administrative part of an address (the leading run of
/// units ending in 省, 市, 区, 县, 镇, 乡, 街道, 村 or 社区 that holds no
/// street, number or house) and stars the rest, whatever the address
/// looks like: `贵阳市南明区新华路12号` → `贵阳市南明区***`, `大理石路1号` → `***`.
pub fn address(value: &str) -> String {
    let chars: Vec<char> = value.trim().chars().collect();
    let mut kept = 0;
    while let Some(n) = admin_unit(&chars[kept..]) {
        kept += n;
    }
    let head: String = chars[..kept].iter().collect();
    if kept == chars.len() && kept > 0 {
        return head;
    }
    format!("{head}***")
}

/// Length in characters of the administrative unit `chars` starts with:
/// a name of up to [`MAX_UNIT_CHARS`] characters with no street mark or
/// digit, then a unit ending.
fn admin_unit(chars: &[char]) -> Option<usize> {
    for name_len in 1..=MAX_UNIT_CHARS.min(chars.len()) {
        let last = chars[name_len - 1];
        if last.is_ascii_alphanumeric()
            || last.is_ascii_punctuation()
            || STREET_MARKS.contains(&last)
        {
            return None;
        }
        let rest = &chars[name_len..];
        for suffix in ADMIN_SUFFIXES {
            let n = suffix.chars().count();
            if rest.len() >= n && rest[..n].iter().copied().eq(suffix.chars()) {
                return Some(name_len + n);
            }
        }
    }
    None
}

/// Longest value echoed back in an error, in characters.
pub const ECHO_CHARS: usize = 24;

/// A value as an error may echo it, whichever field it came in: at most
/// [`ECHO_CHARS`] characters, control characters shown as `?`, and every
/// run of digits that may be a mobile number (11 digits from a 1) or an ID
/// or card number (15 or more) masked after its first three, so that
/// personal data put in the wrong field is not given back. Other runs
/// (counters in ids, 12-digit division codes, 13-digit unix ms) are kept.
pub fn echo(value: &str) -> String {
    bounded(value, ECHO_CHARS)
}

/// [`echo`] with room for `max` characters: for a whole message.
pub fn bounded(value: &str, max: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let shown = &chars[..chars.len().min(max)];
    let mut out = String::with_capacity(shown.len() + 16);
    let mut i = 0;
    while i < shown.len() {
        let c = shown[i];
        if c.is_ascii_digit() {
            // The run is measured on the whole value, so a cut cannot unmask it.
            let run = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == 'X' || **c == 'x')
                .count();
            let visible = run.min(shown.len() - i);
            if (run == 11 && c == '1') || run >= 15 {
                let keep = 3.min(visible);
                out.extend(&shown[i..i + keep]);
                out.extend(std::iter::repeat_n('*', visible - keep));
            } else {
                out.extend(&shown[i..i + visible]);
            }
            i += visible;
            continue;
        }
        out.push(if c.is_control() { '?' } else { c });
        i += 1;
    }
    if chars.len() > max {
        out.push_str(&format!("…({} characters)", chars.len()));
    }
    out
}

/// Any free value that may be personal: first and last char, length kept hidden.
pub fn opaque(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    match chars.len() {
        0 => String::new(),
        1..=4 => "****".to_string(),
        n => format!("{}****{}", chars[0], chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keeps_prefix_and_last_four() {
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("123"), "***");
        assert_eq!(phone("1381234"), "138****");
        assert_eq!(phone("+8613812345678"), "+86*******5678");
    }

    #[test]
    fn name_keeps_surname_only() {
        assert_eq!(name("张三丰"), "张**");
        assert_eq!(name(""), "");
    }

    #[test]
    fn address_keeps_only_the_administrative_part() {
        assert_eq!(address("贵阳市南明区新华路12号3单元"), "贵阳市南明区***");
        assert_eq!(address("大理石路1号"), "***");
        assert_eq!(address("南明区新华路中华市场12号"), "南明区***");
        assert_eq!(address("花溪区青岩镇新华街道"), "花溪区青岩镇新华街道");
        assert_eq!(
            address("龙里县谷脚镇茶香村3组12号"),
            "龙里县谷脚镇茶香村***"
        );
        assert_eq!(address("12 Main St"), "***");
        assert_eq!(address(""), "***");
    }

    #[test]
    fn echo_is_short_and_masks_numbers_in_any_field() {
        assert_eq!(echo("13812345678"), "138********");
        assert_eq!(echo("52010219900101123X"), "520***************");
        assert_eq!(echo("520102001001"), "520102001001");
        assert_eq!(echo("call-00000001"), "call-00000001");
        assert_eq!(echo("a\u{7}b"), "a?b");
        let long = "x".repeat(10 << 20);
        let e = echo(&long);
        assert!(e.chars().count() < 50, "{e}");
        assert!(e.ends_with("(10485760 characters)"), "{e}");
        // A cut in the middle of a long number still masks it.
        let e = echo(&format!("{}{}", "a".repeat(20), "13812345678"));
        assert!(!e.contains("1381"), "{e}");
    }

    #[test]
    fn opaque_hides_short_values_entirely() {
        assert_eq!(opaque("abc"), "****");
        assert_eq!(opaque("abcdef"), "a****f");
    }
}
