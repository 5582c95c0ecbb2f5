//! The zone's organisation: codes and names of sectors and parks.

use crate::domain::text::bounded;
use crate::error::FieldError;

/// A short code of a sector or park (`HG`, `park-01`): 1 to 32 characters of
/// letters, digits, `_` and `-`, stored in upper case so matching is case-blind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgCode(String);

impl OrgCode {
    /// Validates and normalises a code.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new("code", "required", "请填写编码"));
        }
        let valid = value.len() <= 32
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !valid {
            return Err(FieldError::new(
                "code",
                "invalid_code",
                "编码须为 1 到 32 位字母、数字、_ 或 -",
            ));
        }
        Ok(Self(value))
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name of an organisation or authority: 1 to 100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    /// Validates a name given in `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        bounded(field, raw, 1, 100).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_uppercased_and_limited() {
        assert_eq!(
            OrgCode::parse(" hg-01 ").map(|c| c.0),
            Ok("HG-01".to_owned())
        );
        for bad in ["", "has space", "化工", &"A".repeat(33)] {
            assert!(OrgCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert!(OrgName::parse("name", "化工行业").is_ok());
        assert!(OrgName::parse("name", " ").is_err());
        assert!(OrgName::parse("name", &"园".repeat(101)).is_err());
    }
}
