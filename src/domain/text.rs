//! Bounded, trimmed text: the building block of names and labels.

use data_encoding::BASE32_NOPAD;
use rand::RngCore;

use crate::error::FieldError;

/// 128 random bits as 26 base32 characters: the tokens of codes and passes, and the
/// form's nonces.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// A scanned or typed token of a code or a pass as stored (upper case), or `None`
/// when it cannot be one: over 64 characters, or not only ASCII letters and digits.
pub fn stored_token(raw: &str) -> Option<String> {
    (raw.len() <= 64 && raw.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| raw.to_ascii_uppercase())
}

/// Whether a client-chosen key (an idempotency key, a driver key) is `lengths` long
/// and made only of ASCII letters, digits, `_` and `-`.
pub fn is_key(value: &str, lengths: std::ops::RangeInclusive<usize>) -> bool {
    lengths.contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Trims `raw` and checks its length in characters and that it has no control
/// characters; `field` names the input in the error.
pub fn bounded(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    let length = value.chars().count();
    if length < min {
        return Err(if length == 0 {
            FieldError::new(field, "required", "此项必填")
        } else {
            FieldError::new(field, "too_short", format!("至少需要 {min} 个字符"))
        });
    }
    if length > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("不能超过 {max} 个字符"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "含有不允许的控制字符",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_looked_up_in_upper_case_and_junk_is_not() {
        assert_eq!(stored_token("abc2xyz").as_deref(), Some("ABC2XYZ"));
        assert_eq!(stored_token(&random_token()).map(|t| t.len()), Some(26));
        assert_eq!(stored_token("ab-cd"), None);
        assert_eq!(stored_token("令牌"), None);
        assert_eq!(stored_token(&"A".repeat(65)), None);
    }

    #[test]
    fn trims_and_accepts_chinese_within_bounds() {
        assert_eq!(bounded("name", "  经信局 ", 1, 3), Ok("经信局".to_owned()));
    }

    #[test]
    fn rejects_empty_long_and_control_characters() {
        assert_eq!(
            bounded("name", "   ", 1, 5).map_err(|e| e.code),
            Err("required")
        );
        assert_eq!(
            bounded("name", "abcdef", 1, 5).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(
            bounded("name", "ab", 3, 5).map_err(|e| e.code),
            Err("too_short")
        );
        assert_eq!(
            bounded("name", "a\u{0}b", 1, 5).map_err(|e| e.code),
            Err("invalid_characters")
        );
    }
}
