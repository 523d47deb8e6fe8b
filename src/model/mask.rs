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

/// Keeps the first 6 characters of an address (the district), stars the rest.
pub fn address(value: &str) -> String {
    let total = value.chars().count();
    let keep: String = value.chars().take(6).collect();
    if total <= 6 {
        return keep;
    }
    format!("{keep}***")
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
    fn address_hides_house_number() {
        assert_eq!(address("贵阳市南明区新华路12号3单元"), "贵阳市南明区***");
    }

    #[test]
    fn opaque_hides_short_values_entirely() {
        assert_eq!(opaque("abc"), "****");
        assert_eq!(opaque("abcdef"), "a****f");
    }
}
