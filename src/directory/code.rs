//! Division codes (统计用区划代码): the 12-digit key the *enrich* stage uses to
//! route a warning's subject to a village, and the prefixes that name a
//! jurisdiction. Parsing is checked once here so the rest of the directory
//! works on plain integers.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Lowest province part of a division code (北京 11).
const MIN_PROVINCE: u64 = 11;
/// Highest province part of a division code (澳门 82).
const MAX_PROVINCE: u64 = 82;

/// A checked 12-digit division code (统计用区划代码).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(u64);

/// Why a string is not a division code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The string does not have 12 characters.
    #[error("expected 12 digits, got {got}")]
    WrongLength { got: usize },
    /// A character is not an ASCII digit.
    #[error("expected only digits, found {found:?} at position {position}")]
    NotDigit { found: char, position: usize },
    /// The first two digits name no province.
    #[error("province part {province:02} is outside {MIN_PROVINCE}..={MAX_PROVINCE}")]
    BadProvince { province: u64 },
}

impl DivisionCode {
    /// Parses exactly 12 ASCII digits with a province part in 11..=82.
    pub fn parse(s: &str) -> Result<DivisionCode, CodeError> {
        let got = s.chars().count();
        if got != 12 {
            return Err(CodeError::WrongLength { got });
        }
        let mut value = 0u64;
        for (index, found) in s.chars().enumerate() {
            // `to_digit` accepts ASCII digits only, so full-width digits fail here.
            let Some(digit) = found.to_digit(10) else {
                return Err(CodeError::NotDigit {
                    found,
                    position: index + 1,
                });
            };
            value = value * 10 + u64::from(digit);
        }
        let province = value / 10_000_000_000;
        if !(MIN_PROVINCE..=MAX_PROVINCE).contains(&province) {
            return Err(CodeError::BadProvince { province });
        }
        Ok(DivisionCode(value))
    }

    /// The code as a plain integer (leading zeros are impossible: province >= 11).
    pub fn as_u64(&self) -> u64 {
        self.0
    }

    /// The township part: the first 9 digits.
    pub fn township(&self) -> u64 {
        self.0 / 1_000
    }

    /// The county part: the first 6 digits.
    pub fn county(&self) -> u64 {
        self.0 / 1_000_000
    }

    /// True for a village or community (last 3 digits not 000).
    pub fn is_village_level(&self) -> bool {
        !self.0.is_multiple_of(1_000)
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl std::str::FromStr for DivisionCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DivisionCode::parse(s)
    }
}

impl Serialize for DivisionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(CodeVisitor)
    }
}

/// Reads a division code from a JSON string without allocating.
struct CodeVisitor;

impl de::Visitor<'_> for CodeVisitor {
    type Value = DivisionCode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 12-digit division code as a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DivisionCode, E> {
        DivisionCode::parse(v).map_err(|why| E::custom(format_args!("division code {v:?}: {why}")))
    }
}

/// True for a jurisdiction prefix: 2, 4, 6, 9 or 12 ASCII digits.
pub fn is_valid_prefix(s: &str) -> bool {
    matches!(s.len(), 2 | 4 | 6 | 9 | 12) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_twelve_digits_and_splits_levels() {
        let code = DivisionCode::parse("520102016001").unwrap();
        assert_eq!(code.as_u64(), 520_102_016_001);
        assert_eq!(code.township(), 520_102_016);
        assert_eq!(code.county(), 520_102);
        assert!(code.is_village_level());
        assert_eq!(code.to_string(), "520102016001");
    }

    #[test]
    fn township_level_code_is_not_village_level() {
        let code = DivisionCode::parse("520102016000").unwrap();
        assert!(!code.is_village_level());
    }

    #[test]
    fn too_short_code_is_rejected_with_length() {
        let err = DivisionCode::parse("5201020").unwrap_err();
        assert_eq!(err, CodeError::WrongLength { got: 7 });
        assert_eq!(err.to_string(), "expected 12 digits, got 7");
    }

    #[test]
    fn letters_are_rejected_with_position() {
        let err = DivisionCode::parse("52010201600a").unwrap_err();
        assert_eq!(
            err,
            CodeError::NotDigit {
                found: 'a',
                position: 12
            }
        );
        assert_eq!(
            err.to_string(),
            "expected only digits, found 'a' at position 12"
        );
    }

    #[test]
    fn non_ascii_digits_are_rejected() {
        // Full-width and Arabic-Indic digits are "numeric" but not ASCII.
        assert!(matches!(
            DivisionCode::parse("52010201600１"),
            Err(CodeError::NotDigit { .. })
        ));
        assert!(matches!(
            DivisionCode::parse("52010201600٣"),
            Err(CodeError::NotDigit { .. })
        ));
    }

    #[test]
    fn province_00_is_rejected() {
        let err = DivisionCode::parse("000102016001").unwrap_err();
        assert_eq!(err, CodeError::BadProvince { province: 0 });
        assert_eq!(err.to_string(), "province part 00 is outside 11..=82");
        assert!(DivisionCode::parse("830102016001").is_err());
    }

    #[test]
    fn serde_uses_the_twelve_digit_string() {
        let code = DivisionCode::parse("520102016001").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"520102016001\"");
        assert_eq!(serde_json::from_str::<DivisionCode>(&json).unwrap(), code);
        let err = serde_json::from_str::<DivisionCode>("\"52\"").unwrap_err();
        assert!(
            err.to_string().contains("expected 12 digits, got 2"),
            "{err}"
        );
        assert!(serde_json::from_str::<DivisionCode>("520102016001").is_err());
    }

    #[test]
    fn prefixes_have_level_lengths() {
        for ok in ["52", "5201", "520102", "520102016", "520102016001"] {
            assert!(is_valid_prefix(ok), "{ok}");
        }
        for bad in ["", "5", "520", "52010", "5201020160", "52a1", "５２"] {
            assert!(!is_valid_prefix(bad), "{bad}");
        }
    }
}
