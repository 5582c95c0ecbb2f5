//! Drivers: identity documents (GB 11643 resident ids, permits, passports), mobile numbers and names.

use std::fmt;

use chrono::NaiveDate;

use crate::db::mapping::text_enum;
use crate::domain::text::bounded;
use crate::error::FieldError;

/// Weights of the first 17 digits of a resident id (GB 11643-1999).
const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters, indexed by the weighted sum modulo 11.
const RESIDENT_CHECKS: &[u8; 11] = b"10X98765432";
/// Province-level codes (GB/T 2260) a resident id's region code may start with.
const PROVINCE_CODES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];
/// Earliest birth year accepted in a resident id.
const EARLIEST_BIRTH_YEAR: i32 = 1900;

text_enum! {
    /// The kind of identity document a driver registers with.
    pub enum DocumentType {
        /// 居民身份证 (GB 11643).
        ResidentId = "resident_id" / "居民身份证",
        /// 港澳居民来往内地通行证 (回乡证).
        HongKongMacauPermit = "hk_macau_permit" / "港澳居民来往内地通行证",
        /// 台湾居民来往大陆通行证 (台胞证).
        TaiwanPermit = "taiwan_permit" / "台湾居民来往大陆通行证",
        /// 护照.
        Passport = "passport" / "护照",
    }
}

impl DocumentType {
    /// Parses a stored name, a Chinese label or a common short name
    /// (身份证, 回乡证, 港澳通行证, 台胞证).
    pub fn parse(raw: &str) -> Option<Self> {
        let value = raw.trim();
        DocumentType::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == value || kind.label() == value)
            .or(match value {
                "身份证" => Some(DocumentType::ResidentId),
                "回乡证" | "港澳通行证" => Some(DocumentType::HongKongMacauPermit),
                "台胞证" => Some(DocumentType::TaiwanPermit),
                _ => None,
            })
    }
}

/// A validated identity document number, normalised (no spaces, upper case).
///
/// `Debug` shows the masked number so that it stays out of logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DocumentNumber {
    kind: DocumentType,
    value: String,
}

impl DocumentNumber {
    /// Validates a number of the given kind, after trimming, removing spaces and
    /// upper-casing; `today` bounds the birth date of a resident id.
    pub fn parse(kind: DocumentType, raw: &str, today: NaiveDate) -> Result<Self, FieldError> {
        let value: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new(
                "document_number",
                "required",
                "请填写证件号码",
            ));
        }
        let valid = match kind {
            DocumentType::ResidentId => {
                check_resident_id(&value, today)?;
                true
            }
            DocumentType::HongKongMacauPermit => {
                let digits = value.get(1..).unwrap_or_default();
                (value.starts_with('H') || value.starts_with('M'))
                    && matches!(digits.len(), 8 | 10)
                    && digits.bytes().all(|b| b.is_ascii_digit())
            }
            DocumentType::TaiwanPermit => {
                matches!(value.len(), 8 | 10) && value.bytes().all(|b| b.is_ascii_digit())
            }
            DocumentType::Passport => {
                (5..=17).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                    && value.bytes().any(|b| b.is_ascii_digit())
            }
        };
        if !valid {
            return Err(FieldError::new(
                "document_number",
                "invalid_document_number",
                format_rule(kind),
            ));
        }
        Ok(Self { kind, value })
    }

    /// The check character of a resident id for its first 17 characters, or `None`
    /// unless they are exactly 17 ASCII digits.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let sum: u32 = first17
            .bytes()
            .zip(RESIDENT_WEIGHTS)
            .map(|(byte, weight)| u32::from(byte - b'0') * weight)
            .sum();
        Some(char::from(RESIDENT_CHECKS[(sum % 11) as usize]))
    }

    /// The kind of document.
    pub fn kind(&self) -> DocumentType {
        self.kind
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The birth date encoded in a resident id; `None` for other documents.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        match self.kind {
            DocumentType::ResidentId => resident_birth_date(&self.value),
            _ => None,
        }
    }

    /// The number for display: a resident id keeps its first 6 and last 4 characters
    /// (`370802********1234`), other documents their first 2 and last 2; the length is kept.
    pub fn masked(&self) -> String {
        Self::mask_stored(self.kind, &self.value)
    }

    /// [`DocumentNumber::masked`] of a number stored after validation.
    pub fn mask_stored(kind: DocumentType, stored: &str) -> String {
        let (head, tail) = match kind {
            DocumentType::ResidentId => (6, 4),
            _ => (2, 2),
        };
        mask(stored, head, tail)
    }
}

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentNumber")
            .field("kind", &self.kind)
            .field("value", &self.masked())
            .finish()
    }
}

/// Checks a normalised resident id, reporting the first rule it breaks.
fn check_resident_id(value: &str, today: NaiveDate) -> Result<(), FieldError> {
    let error =
        |code: &'static str, message: &str| Err(FieldError::new("document_number", code, message));
    if value.chars().count() != 18 {
        return error("invalid_length", "居民身份证号码应为 18 位");
    }
    let bytes = value.as_bytes();
    if !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return error(
            "invalid_characters",
            "居民身份证号码前 17 位应为数字，最后一位为数字或 X",
        );
    }
    let province = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
    if !PROVINCE_CODES.contains(&province) {
        return error(
            "invalid_region",
            "居民身份证号码前 6 位地区码不正确（前两位应为省级行政区代码）",
        );
    }
    match resident_birth_date(value) {
        Some(date) if date <= today => {}
        _ => {
            return error(
                "invalid_birth_date",
                "居民身份证号码第 7 到 14 位的出生日期不正确",
            );
        }
    }
    if DocumentNumber::check_char(&value[..17]) != Some(char::from(bytes[17])) {
        return error(
            "invalid_check_digit",
            "居民身份证号码校验位（最后一位）不正确，请核对",
        );
    }
    Ok(())
}

/// The date in characters 7 to 14 of a resident id, if it is a real date from 1900 on.
fn resident_birth_date(value: &str) -> Option<NaiveDate> {
    let digits = value.get(6..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    let day: u32 = digits[6..].parse().ok()?;
    if year < EARLIEST_BIRTH_YEAR {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

fn format_rule(kind: DocumentType) -> &'static str {
    match kind {
        DocumentType::ResidentId => "居民身份证号码格式不正确",
        DocumentType::HongKongMacauPermit => {
            "港澳居民来往内地通行证号码应为 H 或 M 加 8 位或 10 位数字"
        }
        DocumentType::TaiwanPermit => "台湾居民来往大陆通行证号码应为 8 位或 10 位数字",
        DocumentType::Passport => "护照号码应为 5 到 17 位字母或数字，且至少含一位数字",
    }
}

/// Keeps `head` leading and `tail` trailing characters and replaces the others with `*`.
fn mask(value: &str, head: usize, tail: usize) -> String {
    let length = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i < head || i + tail >= length {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// A mainland mobile number: 11 digits starting with 13 to 19, stored without prefix
/// or separators.
///
/// `Debug` shows the masked number so that it stays out of logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

impl Mobile {
    /// Validates a number, accepting a `+86`, `0086` or `86 ` prefix and spaces or
    /// hyphens between digits.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("phone", "required", "请填写手机号码"));
        }
        let rest = trimmed
            .strip_prefix("+86")
            .or_else(|| trimmed.strip_prefix("0086"))
            .or_else(|| {
                trimmed
                    .strip_prefix("86")
                    .filter(|rest| rest.starts_with(|c: char| c.is_whitespace() || c == '-'))
            })
            .unwrap_or(trimmed);
        let digits: String = rest
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if !valid {
            return Err(FieldError::new(
                "phone",
                "invalid_phone",
                "手机号码应为 11 位，以 13 到 19 开头（可带 +86）",
            ));
        }
        Ok(Self(digits))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number for display: `138****5678`.
    pub fn masked(&self) -> String {
        Self::mask_stored(&self.0)
    }

    /// [`Mobile::masked`] of a number stored after validation.
    pub fn mask_stored(stored: &str) -> String {
        mask(stored, 3, 4)
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mobile").field(&self.masked()).finish()
    }
}

/// A person's name as on the document: 2 to 30 characters of letters (Chinese or
/// other scripts), spaces and the middle dots `·`/`•` of minority and foreign names;
/// it starts and ends with a letter. Runs of inner whitespace become one space.
///
/// `Debug` shows the masked name so that it stays out of logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    /// Validates a name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = bounded("driver_name", raw, 2, 30)?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let allowed = value
            .chars()
            .all(|c| c.is_alphabetic() || c == ' ' || is_name_dot(c));
        let letter_ends = value.chars().next().is_some_and(char::is_alphabetic)
            && value.chars().next_back().is_some_and(char::is_alphabetic);
        if !allowed || !letter_ends || value.chars().count() < 2 {
            return Err(FieldError::new(
                "driver_name",
                "invalid_name",
                "姓名只能包含汉字、字母、间隔号（·）和空格，不能含数字，且须以文字开头和结尾",
            ));
        }
        Ok(Self(value))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name for display, with its length kept: the first character stays
    /// (`张**`); a name with a middle dot keeps its first part and the dot (`买买提·**`).
    pub fn masked(&self) -> String {
        let head = self
            .0
            .chars()
            .position(is_name_dot)
            .map_or(1, |dot| dot + 1);
        mask(&self.0, head, 0)
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PersonName").field(&self.masked()).finish()
    }
}

fn is_name_dot(c: char) -> bool {
    matches!(c, '·' | '•')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::Datelike;
    use proptest::prelude::*;

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
    }

    fn resident(raw: &str) -> Result<DocumentNumber, FieldError> {
        DocumentNumber::parse(DocumentType::ResidentId, raw, today())
    }

    fn code_of(result: Result<DocumentNumber, FieldError>) -> Result<DocumentType, &'static str> {
        result.map(|n| n.kind()).map_err(|e| e.code)
    }

    /// Appends the check character to 17 digits.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", DocumentNumber::check_char(first17).unwrap())
    }

    #[test]
    fn document_types_round_trip_through_names_labels_and_serde() {
        for &kind in DocumentType::ALL {
            assert_eq!(DocumentType::parse(kind.as_str()), Some(kind));
            assert_eq!(DocumentType::parse(kind.label()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<DocumentType>(&json).unwrap(), kind);
        }
        assert_eq!(
            DocumentType::parse("身份证"),
            Some(DocumentType::ResidentId)
        );
        assert_eq!(
            DocumentType::parse("台胞证"),
            Some(DocumentType::TaiwanPermit)
        );
        assert_eq!(DocumentType::parse("驾驶证"), None);
    }

    #[test]
    fn check_character_of_the_standard_example() {
        // The worked example of GB 11643-1999.
        assert_eq!(DocumentNumber::check_char("11010519491231002"), Some('X'));
        assert_eq!(DocumentNumber::check_char("1101051949123100"), None);
        assert_eq!(DocumentNumber::check_char("1101051949123100A"), None);
    }

    #[test]
    fn resident_ids_are_normalised_and_give_their_birth_date() {
        let id = resident(" 110105 19491231 002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.kind(), DocumentType::ResidentId);
        assert_eq!(
            id.birth_date(),
            Some(NaiveDate::from_ymd_opt(1949, 12, 31).unwrap())
        );
        assert_eq!(id.masked(), "110105********002X");
        let hk = with_check("81000019900101123");
        assert!(resident(&hk).is_ok());
    }

    #[test]
    fn resident_id_errors_name_the_broken_rule() {
        let cases = [
            ("", "required"),
            ("11010519491231002", "invalid_length"),
            ("11010519491231002X1", "invalid_length"),
            ("11010519491231002Y", "invalid_characters"),
            ("1101051949123100X2", "invalid_characters"),
            ("１１０１０５１９４９１２３１００２Ｘ", "invalid_characters"),
            (&with_check("00010519491231002"), "invalid_region"),
            (&with_check("16010519491231002"), "invalid_region"),
            (&with_check("83000019900101123"), "invalid_region"),
            (&with_check("11010518991231002"), "invalid_birth_date"),
            (&with_check("11010519490230002"), "invalid_birth_date"),
            (&with_check("11010519491301002"), "invalid_birth_date"),
            (&with_check("11010520260502002"), "invalid_birth_date"),
            ("110105194912310021", "invalid_check_digit"),
        ];
        for (raw, code) in cases {
            assert_eq!(code_of(resident(raw)), Err(code), "{raw}");
        }
        assert!(resident(&with_check("11010520260501002")).is_ok());
        let error = resident("110105194912310021").unwrap_err();
        assert_eq!(error.field, "document_number");
        assert!(error.message.contains("校验位"));
    }

    #[test]
    fn permits_and_passports_follow_their_formats() {
        let ok = |kind, raw: &str| DocumentNumber::parse(kind, raw, today()).map(|n| n.value);
        let hk = DocumentType::HongKongMacauPermit;
        let tw = DocumentType::TaiwanPermit;
        let pp = DocumentType::Passport;
        assert_eq!(ok(hk, "h1234567 8"), Ok("H12345678".to_owned()));
        assert!(ok(hk, "M1234567890").is_ok());
        for bad in [
            "H1234567",
            "H123456789",
            "X12345678",
            "12345678",
            "H1234567A",
        ] {
            assert!(ok(hk, bad).is_err(), "{bad}");
        }
        assert!(ok(tw, "12345678").is_ok());
        assert!(ok(tw, "1234567890").is_ok());
        for bad in ["1234567", "123456789", "1234567890(B)", "T2345678"] {
            assert!(ok(tw, bad).is_err(), "{bad}");
        }
        assert_eq!(ok(pp, "e12345678"), Ok("E12345678".to_owned()));
        assert!(ok(pp, "12345").is_ok());
        for bad in ["E123", "ABCDEFGH", "E1234567890123456X", "E1234-567"] {
            assert!(ok(pp, bad).is_err(), "{bad}");
        }
        assert_eq!(
            ok(pp, "ABCDEFGH").map_err(|e| e.code),
            Err("invalid_document_number")
        );
        let passport = DocumentNumber::parse(pp, "E12345678", today()).unwrap();
        assert_eq!(passport.masked(), "E1*****78");
        assert_eq!(passport.birth_date(), None);
        assert!(!format!("{passport:?}").contains("E12345678"));
    }

    #[test]
    fn mobiles_accept_prefixes_and_separators() {
        for raw in [
            "13812345678",
            " 138 1234 5678 ",
            "138-1234-5678",
            "+8613812345678",
            "+86 138 1234 5678",
            "008613812345678",
            "86 13812345678",
            "86-138-1234-5678",
        ] {
            assert_eq!(
                Mobile::parse(raw).map(|m| m.0),
                Ok("13812345678".to_owned()),
                "{raw}"
            );
        }
        for bad in [
            "12812345678",
            "1381234567",
            "138123456789",
            "8613812345678",
            "+85213812345678",
            "1381234567a",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(
                Mobile::parse(bad).map(|m| m.0).map_err(|e| e.code),
                Err("invalid_phone"),
                "{bad}"
            );
        }
        assert_eq!(Mobile::parse(" ").map_err(|e| e.code), Err("required"));
        let mobile = Mobile::parse("13812345678").unwrap();
        assert_eq!(mobile.masked(), "138****5678");
        assert_eq!(format!("{mobile:?}"), "Mobile(\"138****5678\")");
    }

    #[test]
    fn names_allow_chinese_letters_and_middle_dots() {
        for (raw, masked) in [
            ("张三", "张*"),
            (" 张三丰 ", "张**"),
            ("买买提·艾力", "买买提·**"),
            ("阿依古丽•买买提", "阿依古丽•***"),
            ("John  Smith", "J*********"),
        ] {
            let name = PersonName::parse(raw).unwrap();
            assert_eq!(name.masked(), masked, "{raw}");
            assert_eq!(name.masked().chars().count(), name.as_str().chars().count());
        }
        assert_eq!(
            PersonName::parse("John \u{3000} Smith").unwrap().0,
            "John Smith"
        );
        let code = |raw: &str| PersonName::parse(raw).map(|n| n.0).map_err(|e| e.code);
        assert_eq!(code(""), Err("required"));
        assert_eq!(code("张"), Err("too_short"));
        assert_eq!(code(&"张".repeat(31)), Err("too_long"));
        assert_eq!(code("张\u{7}三"), Err("invalid_characters"));
        for bad in ["张3", "张三１", "·张三", "张三·", "张-三", "王_五", "李四!"] {
            assert_eq!(code(bad), Err("invalid_name"), "{bad}");
        }
    }

    fn resident_strategy() -> impl Strategy<Value = String> {
        let first = NaiveDate::from_ymd_opt(EARLIEST_BIRTH_YEAR, 1, 1)
            .unwrap()
            .num_days_from_ce();
        let last = today().num_days_from_ce();
        (
            0..PROVINCE_CODES.len(),
            0u32..10_000,
            first..=last,
            0u32..1000,
        )
            .prop_map(|(province, area, days, sequence)| {
                let birth = NaiveDate::from_num_days_from_ce_opt(days).unwrap();
                let first17 = format!(
                    "{:02}{area:04}{}{sequence:03}",
                    PROVINCE_CODES[province],
                    birth.format("%Y%m%d")
                );
                with_check(&first17)
            })
    }

    fn other_document_strategy() -> impl Strategy<Value = (DocumentType, String)> {
        prop_oneof![
            "[HM]([0-9]{8}|[0-9]{10})".prop_map(|v| (DocumentType::HongKongMacauPermit, v)),
            "[0-9]{8}|[0-9]{10}".prop_map(|v| (DocumentType::TaiwanPermit, v)),
            "[A-Z0-9]{0,8}[0-9][A-Z0-9]{0,8}".prop_filter_map("too short", |v| {
                (v.len() >= 5).then_some((DocumentType::Passport, v))
            }),
        ]
    }

    proptest! {
        #[test]
        fn generated_resident_ids_are_valid(id in resident_strategy()) {
            let parsed = resident(&id);
            prop_assert!(parsed.is_ok(), "{} refused: {:?}", id, parsed);
            let parsed = parsed.unwrap();
            let birth = parsed.birth_date().unwrap();
            prop_assert_eq!(birth.format("%Y%m%d").to_string(), &id[6..14]);
        }

        #[test]
        fn every_single_character_change_is_refused(
            id in resident_strategy(),
            position in 0usize..18,
            replacement in 0usize..11,
        ) {
            let replacement = b"0123456789X"[replacement];
            let mut bytes = id.clone().into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(resident(&changed).is_err(), "{} accepted (from {})", changed, id);
        }

        #[test]
        fn masking_keeps_the_length(
            id in resident_strategy(),
            (kind, other) in other_document_strategy(),
            phone in "1[3-9][0-9]{9}",
        ) {
            let id = resident(&id).unwrap();
            prop_assert_eq!(id.masked().len(), 18);
            prop_assert_eq!(&id.masked()[..6], &id.as_str()[..6]);
            prop_assert_eq!(&id.masked()[14..], &id.as_str()[14..]);
            let other = DocumentNumber::parse(kind, &other, today()).unwrap();
            prop_assert_eq!(other.masked().len(), other.as_str().len());
            let phone = Mobile::parse(&phone).unwrap();
            prop_assert_eq!(phone.masked().len(), 11);
            prop_assert_eq!(&phone.masked()[3..7], "****");
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}|[0-9X +-]{0,24}", year in 1i32..3000) {
            let today = NaiveDate::from_yo_opt(year, 1).unwrap_or_else(today);
            for &kind in DocumentType::ALL {
                let _ = DocumentNumber::parse(kind, &text, today).map(|n| (n.masked(), n.birth_date()));
            }
            let _ = DocumentNumber::check_char(&text);
            let _ = DocumentType::parse(&text);
            let _ = Mobile::parse(&text).map(|m| m.masked());
            let _ = PersonName::parse(&text).map(|n| n.masked());
        }

        #[test]
        fn arbitrary_unicode_never_panics(text in ".{0,40}") {
            for &kind in DocumentType::ALL {
                let _ = DocumentNumber::parse(kind, &text, today());
            }
            let _ = Mobile::parse(&text);
            let _ = PersonName::parse(&text).map(|n| n.masked());
        }
    }
}
