//! The gate's inputs: a scan's nonce, a gate's name, the code a scan read and the
//! scanning device's clock.

use chrono::{DateTime, NaiveDateTime, SubsecRound};

use crate::domain::text::{bounded, is_key, stored_token};
use crate::domain::vehicle::Plate;
use crate::error::FieldError;

/// The id a gate device gives a scan, so that a retry of the same scan is the same
/// answer and never a second entry: 8 to 64 ASCII letters, digits, `_` or `-` (a
/// UUID fits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    /// Checks a nonce.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if is_key(raw, 8..=64) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "nonce",
                "invalid_nonce",
                "nonce 须为 8 到 64 位字母、数字、_ 或 -",
            ))
        }
    }

    /// The nonce.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A gate's name (东门, 2 号门): 1 to 20 characters.
pub fn parse_gate_name(raw: &str) -> Result<String, FieldError> {
    bounded("name", raw, 1, 20)
}

/// An hour of the zone's day (0 to 23), named `field` in its error.
pub fn parse_zone_hour(field: &str, hour: i32) -> Result<i32, FieldError> {
    if (0..=23).contains(&hour) {
        Ok(hour)
    } else {
        Err(FieldError::new(
            field,
            "out_of_range",
            "须为 0 到 23 之间的整点",
        ))
    }
}

/// Hours inside after which a truck overstays: 1 to 72.
pub fn parse_overstay_hours(hours: i32) -> Result<i32, FieldError> {
    if (1..=72).contains(&hours) {
        Ok(hours)
    } else {
        Err(FieldError::new(
            "overstay_hours",
            "out_of_range",
            "超时时长须在 1 到 72 小时之间",
        ))
    }
}

/// Longest code kept in the scan log, in characters.
const LOGGED_CODE_CHARS: usize = 200;

/// What a scan read: the pass page's address from its QR code, a pass token typed
/// by the guard, or a plate typed by the guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadCode {
    /// As read, trimmed and cut to 200 characters, for the scan log.
    pub logged: String,
    /// What it names.
    pub names: CodeNames,
}

/// What a read code names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeNames {
    /// A pass token (upper case, as stored).
    Token(String),
    /// A plate (normalised).
    Plate(String),
    /// Nothing a pass could have: the scan is refused as an unknown code.
    Nothing,
}

impl ReadCode {
    /// Reads `raw`: the last path segment after `/p/` of an address, or the text
    /// itself, is a pass token when it is one; else a plate when it parses as one.
    /// Empty is a field error; anything else is a code (that may be unknown).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new("code", "required", "请扫描或输入通行码"));
        }
        let logged: String = text
            .chars()
            .filter(|c| !c.is_control())
            .take(LOGGED_CODE_CHARS)
            .collect();
        let segment = text.rfind("/p/").map_or(text, |at| &text[at + 3..]);
        let segment = segment.split(['?', '#', '/']).next().unwrap_or_default();
        let names = match stored_token(segment).filter(|token| token.len() >= 16) {
            Some(token) => CodeNames::Token(token),
            None => Plate::parse(text, "code").map_or(CodeNames::Nothing, |plate| {
                CodeNames::Plate(plate.as_str().to_owned())
            }),
        };
        Ok(Self { logged, names })
    }
}

/// When the device scanned, by its own clock: an RFC 3339 time, in UTC to the
/// microsecond (as both databases keep it).
pub fn parse_client_time(raw: &str) -> Result<NaiveDateTime, FieldError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|at| at.naive_utc().trunc_subsecs(6))
        .map_err(|_| {
            FieldError::new(
                "client_time",
                "invalid_date_time",
                "时间格式应为 RFC 3339（如 2026-12-03T09:30:00+08:00）",
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_address_or_token_names_the_token() {
        let token = "ABCDEFGHJKMNPQRSTVWXYZ2345";
        for raw in [
            format!("https://pass.example.cn/p/{token}"),
            format!(
                " https://pass.example.cn/p/{}?from=qr ",
                token.to_lowercase()
            ),
            format!("http://127.0.0.1:8080/p/{token}/"),
            token.to_owned(),
        ] {
            let read = ReadCode::parse(&raw).unwrap();
            assert_eq!(read.names, CodeNames::Token(token.to_owned()), "{raw}");
        }
    }

    #[test]
    fn a_typed_plate_names_the_plate_and_anything_else_nothing() {
        let read = ReadCode::parse("闽A·12345").unwrap();
        assert_eq!(read.names, CodeNames::Plate("闽A12345".to_owned()));
        for raw in ["hello", "https://evil.example/x", "12345"] {
            assert_eq!(
                ReadCode::parse(raw).unwrap().names,
                CodeNames::Nothing,
                "{raw}"
            );
        }
        assert_eq!(ReadCode::parse("  ").map_err(|e| e.code), Err("required"));
        let long = ReadCode::parse(&"x".repeat(5000)).unwrap();
        assert_eq!(long.logged.chars().count(), LOGGED_CODE_CHARS);
    }

    #[test]
    fn nonces_are_keys_and_gate_names_are_short() {
        assert!(Nonce::parse("scan-0001").is_ok());
        assert!(Nonce::parse("short").is_err());
        assert!(Nonce::parse("has space in it").is_err());
        assert_eq!(parse_gate_name(" 东门 "), Ok("东门".to_owned()));
        assert!(parse_gate_name("").is_err());
        assert!(parse_gate_name(&"门".repeat(21)).is_err());
    }

    #[test]
    fn hours_are_bounded() {
        assert_eq!(parse_zone_hour("checkout_hour", 0), Ok(0));
        assert_eq!(parse_zone_hour("checkout_hour", 23), Ok(23));
        assert!(parse_zone_hour("checkout_hour", 24).is_err());
        assert!(parse_zone_hour("checkout_hour", -1).is_err());
        assert!(parse_overstay_hours(0).is_err());
        assert_eq!(parse_overstay_hours(8), Ok(8));
        assert!(parse_overstay_hours(73).is_err());
    }

    #[test]
    fn client_times_are_rfc3339() {
        let at = parse_client_time("2026-12-04T09:30:00+08:00").unwrap();
        assert_eq!(at.to_string(), "2026-12-04 01:30:00");
        assert_eq!(
            parse_client_time("yesterday").map_err(|e| e.code),
            Err("invalid_date_time")
        );
    }
}
