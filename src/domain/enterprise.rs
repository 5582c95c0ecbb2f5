//! Enterprises: the unified social credit code (GB 32100), names, status, coordinates.

use std::fmt;

use crate::db::mapping::text_enum;
use crate::domain::text::bounded;
use crate::error::FieldError;

/// The 31 characters of GB 32100, in value order (no I, O, Z, S, V).
const CREDIT_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters.
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码): 18 characters, the last one a
/// check character over the first 17 (GB 32100-2015).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// Validates a code, after removing spaces and upper-casing.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let invalid =
            |message: &str| FieldError::new("credit_code", "invalid_credit_code", message);
        if value.is_empty() {
            return Err(FieldError::new(
                "credit_code",
                "required",
                "请填写统一社会信用代码",
            ));
        }
        if value.chars().count() != 18 {
            return Err(invalid("统一社会信用代码应为 18 位"));
        }
        let bytes = value.as_bytes();
        if !bytes.iter().all(|b| CREDIT_CHARSET.contains(b)) {
            return Err(invalid(
                "统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）",
            ));
        }
        let expected = Self::check_char(&value[..17]);
        if expected != Some(char::from(bytes[17])) {
            return Err(invalid("统一社会信用代码校验位不正确，请核对"));
        }
        Ok(Self(value))
    }

    /// The check character for 17 leading characters, or `None` if they are not all
    /// from the code's character set.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0;
        for (byte, weight) in first17.bytes().zip(CREDIT_WEIGHTS) {
            let value = CREDIT_CHARSET.iter().position(|c| *c == byte)? as u32;
            sum += value * weight;
        }
        let check = (31 - sum % 31) % 31;
        Some(char::from(CREDIT_CHARSET[check as usize]))
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An enterprise's registered Chinese name: 2 to 100 characters with at least one
/// Chinese character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseName(String);

impl EnterpriseName {
    /// Validates a name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = bounded("name", raw, 2, 100)?;
        if !value.chars().any(is_cjk) {
            return Err(FieldError::new(
                "name",
                "not_chinese",
                "企业名称应为中文登记名称",
            ));
        }
        Ok(Self(value))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2FFFF}')
}

/// An address: up to 200 characters, may be empty.
pub fn parse_address(raw: &str) -> Result<String, FieldError> {
    bounded("address", raw, 0, 200)
}

/// The roster's contact person (联系人): up to 50 characters, may be empty.
pub fn parse_contact_person(raw: &str) -> Result<String, FieldError> {
    bounded("contact_person", raw, 0, 50)
}

text_enum! {
    /// Whether an enterprise is operating.
    pub enum EnterpriseStatus {
        /// 在营.
        Operating = "operating" / "在营",
        /// 停产.
        Suspended = "suspended" / "停产",
        /// 关闭.
        Closed = "closed" / "关闭",
    }
}

impl EnterpriseStatus {
    /// Parses a stored name or a Chinese label.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        EnterpriseStatus::ALL
            .iter()
            .copied()
            .find(|status| status.as_str() == value || status.label() == value)
            .or(match value {
                "正常" | "营业" | "经营" => Some(EnterpriseStatus::Operating),
                "停业" | "歇业" => Some(EnterpriseStatus::Suspended),
                "注销" | "关停" => Some(EnterpriseStatus::Closed),
                _ => None,
            })
            .ok_or_else(|| {
                FieldError::new("status", "invalid_status", "状态应为 在营、停产 或 关闭")
            })
    }
}

/// Parses a yes/no cell: 是/否, true/false, 1/0, Y/N.
pub fn parse_flag(field: &str, raw: &str) -> Result<bool, FieldError> {
    match raw.trim().to_lowercase().as_str() {
        "是" | "true" | "1" | "y" | "yes" | "重点" => Ok(true),
        "否" | "false" | "0" | "n" | "no" | "" => Ok(false),
        _ => Err(FieldError::new(field, "invalid_flag", "应填 是 或 否")),
    }
}

/// A point on the map (WGS-84 or GCJ-02 degrees, as the zone's map uses).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    /// Longitude, -180 to 180.
    pub longitude: f64,
    /// Latitude, -90 to 90.
    pub latitude: f64,
}

impl Coordinates {
    /// Both or neither must be given, within range.
    pub fn parse(
        longitude: Option<f64>,
        latitude: Option<f64>,
    ) -> Result<Option<Self>, FieldError> {
        match (longitude, latitude) {
            (None, None) => Ok(None),
            (Some(longitude), Some(latitude)) => {
                if !(-180.0..=180.0).contains(&longitude) || longitude.is_nan() {
                    return Err(FieldError::new(
                        "longitude",
                        "out_of_range",
                        "经度应在 -180 到 180 之间",
                    ));
                }
                if !(-90.0..=90.0).contains(&latitude) || latitude.is_nan() {
                    return Err(FieldError::new(
                        "latitude",
                        "out_of_range",
                        "纬度应在 -90 到 90 之间",
                    ));
                }
                Ok(Some(Self {
                    longitude,
                    latitude,
                }))
            }
            (None, Some(_)) => Err(Self::unpaired("longitude")),
            (Some(_), None) => Err(Self::unpaired("latitude")),
        }
    }

    /// The error for one coordinate given without the other (`missing` names it).
    pub fn unpaired(missing: &str) -> FieldError {
        FieldError::new(missing, "required", "经纬度须同时填写")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Real codes published by their holders.
    const VALID: [&str; 3] = [
        "91350100M000100Y43",
        "91110000600001760P",
        "91440300708461136T",
    ];

    #[test]
    fn published_codes_are_valid_and_normalised() {
        for code in VALID {
            assert_eq!(CreditCode::parse(code).map(|c| c.0), Ok(code.to_owned()));
        }
        assert!(CreditCode::parse(" 91350100m000100y43 ").is_ok());
    }

    #[test]
    fn malformed_codes_are_refused_with_reasons() {
        for bad in [
            "",
            "9135010",
            "91350100M000100Y4I",
            "91350100M000100Y44",
            "91350100M000100Y43X",
        ] {
            assert!(CreditCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    fn code_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17).prop_map(|values| {
            let first: String = values
                .iter()
                .map(|v| char::from(CREDIT_CHARSET[*v]))
                .collect();
            let check = CreditCode::check_char(&first).unwrap_or('0');
            format!("{first}{check}")
        })
    }

    proptest! {
        #[test]
        fn generated_codes_are_valid(code in code_strategy()) {
            prop_assert!(CreditCode::parse(&code).is_ok());
        }

        #[test]
        fn every_single_character_change_is_refused(code in code_strategy(), position in 0usize..18, replacement in 0usize..31) {
            let mut bytes = code.clone().into_bytes();
            prop_assume!(bytes[position] != CREDIT_CHARSET[replacement]);
            bytes[position] = CREDIT_CHARSET[replacement];
            let changed = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(CreditCode::parse(&changed).is_err(), "{} accepted", changed);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = CreditCode::parse(&text);
            let _ = EnterpriseName::parse(&text);
            let _ = EnterpriseStatus::parse(&text);
        }
    }

    #[test]
    fn names_must_be_chinese_and_bounded() {
        assert!(EnterpriseName::parse("福州某某化工有限公司").is_ok());
        assert!(EnterpriseName::parse("ACME Ltd").is_err());
        assert!(EnterpriseName::parse("厂").is_err());
        assert!(EnterpriseName::parse(&"厂".repeat(101)).is_err());
    }

    #[test]
    fn statuses_parse_from_names_and_labels() {
        assert_eq!(
            EnterpriseStatus::parse("在营"),
            Ok(EnterpriseStatus::Operating)
        );
        assert_eq!(
            EnterpriseStatus::parse("closed"),
            Ok(EnterpriseStatus::Closed)
        );
        assert!(EnterpriseStatus::parse("倒闭了").is_err());
    }

    #[test]
    fn coordinates_come_in_pairs_within_range() {
        assert!(Coordinates::parse(Some(119.3), Some(26.08)).is_ok_and(|c| c.is_some()));
        assert!(Coordinates::parse(Some(119.3), None).is_err());
        assert!(Coordinates::parse(Some(190.0), Some(26.0)).is_err());
        assert!(Coordinates::parse(Some(f64::NAN), Some(26.0)).is_err());
        assert_eq!(Coordinates::parse(None, None), Ok(None));
    }
}
