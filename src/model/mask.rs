//! Masking of personal data (phone, ID, name, address) for logs, errors and
//! consoles. Every log line and error message that mentions a person goes
//! through here.

/// `13812345678` → `138****5678`; anything shorter than 7 chars is fully starred.
pub fn phone(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len().max(1));
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
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
