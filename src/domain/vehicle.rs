//! Vehicles: motor vehicle number plates (GA 36-2018) and the types drivers choose from.

use std::fmt;

use crate::db::mapping::text_enum;
use crate::error::FieldError;

text_enum! {
    /// The kind of vehicle a driver comes with.
    pub enum VehicleType {
        /// 重型货车.
        HeavyTruck = "heavy_truck" / "重型货车",
        /// 中型货车.
        MediumTruck = "medium_truck" / "中型货车",
        /// 轻型货车.
        LightTruck = "light_truck" / "轻型货车",
        /// 危险货物运输车.
        Hazmat = "hazmat" / "危险货物运输车",
        /// 厢式货车.
        Van = "van" / "厢式货车",
        /// 冷藏车.
        Reefer = "reefer" / "冷藏车",
        /// 其他.
        Other = "other" / "其他",
    }
}

/// The one-character abbreviations of the provinces, as on the first character of a plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
/// Suffixes of four-character serials: trailer, driving school, police, Hong Kong, Macau.
const SUFFIXES: &str = "挂学警港澳";
/// Separators people type inside plates; removed before checking.
const SEPARATORS: &str = "·•-.－．・";

/// A motor vehicle number plate, normalised (no separators, half-width, upper case):
/// a province abbreviation, an issuing-authority letter, then a regular serial of five
/// letters or digits (`闽A12345`), four and a suffix (`闽A1234挂`), or a new-energy
/// serial of six (`闽AD12345`, `闽A12345D`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Plate(String);

impl Plate {
    /// Validates a plate after trimming, removing spaces and `·•-.`, turning full-width
    /// letters and digits half-width and upper-casing; `field` names the input in the error.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let value = normalise(raw);
        if value.is_empty() {
            return Err(FieldError::new(field, "required", "请填写车牌号"));
        }
        let chars: Vec<char> = value.chars().collect();
        let valid = chars.len() >= 2
            && PROVINCES.contains(chars[0])
            && chars[1].is_ascii_uppercase()
            && !matches!(chars[1], 'I' | 'O')
            && serial_is_valid(&chars[2..]);
        if !valid {
            return Err(FieldError::new(
                field,
                "invalid_plate",
                "车牌号格式不正确，应为省份简称、发牌机关字母和号码，如 闽A12345、闽AD12345、闽A1234挂",
            ));
        }
        Ok(Self(value))
    }

    /// The normalised plate.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a trailer plate (ends with 挂).
    pub fn is_trailer(&self) -> bool {
        self.0.ends_with('挂')
    }

    /// Whether this is a new-energy plate (six-character serial).
    pub fn is_new_energy(&self) -> bool {
        self.0.chars().count() == 8
    }

    /// The plate for display: the first two and last two characters stay (`闽A***45`).
    pub fn masked(&self) -> String {
        let length = self.0.chars().count();
        self.0
            .chars()
            .enumerate()
            .map(|(i, c)| if i < 2 || i + 2 >= length { c } else { '*' })
            .collect()
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Trims, drops whitespace and separators, maps full-width ASCII (U+FF10 to U+FF5A) to
/// half-width and upper-cases ASCII letters.
fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && !SEPARATORS.contains(*c))
        .map(|c| match c {
            '\u{FF10}'..='\u{FF5A}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A serial letter or digit: A to Z without I and O, or 0 to 9.
fn is_serial_char(c: char) -> bool {
    c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, 'I' | 'O'))
}

/// Whether the characters after the authority letter form a serial.
fn serial_is_valid(serial: &[char]) -> bool {
    match serial {
        // Regular: five letters or digits, or four and a suffix.
        [first @ .., last] if first.len() == 4 => {
            first.iter().copied().all(is_serial_char)
                && (is_serial_char(*last) || SUFFIXES.contains(*last))
        }
        // New energy: D or F, a letter or digit, four digits; or five digits, D or F.
        [kind, second, digits @ ..] if digits.len() == 4 && matches!(kind, 'D' | 'F') => {
            is_serial_char(*second) && digits.iter().all(char::is_ascii_digit)
        }
        [digits @ .., kind] if digits.len() == 5 => {
            matches!(kind, 'D' | 'F') && digits.iter().all(char::is_ascii_digit)
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn plate(raw: &str) -> Result<String, &'static str> {
        Plate::parse(raw, "plate").map(|p| p.0).map_err(|e| e.code)
    }

    #[test]
    fn regular_new_energy_and_suffixed_plates_are_valid() {
        for (raw, trailer, new_energy) in [
            ("闽A12345", false, false),
            ("京AF0236", false, false),
            ("沪KR9888", false, false),
            ("闽AD12345", false, true),
            ("沪ADA1234", false, true),
            ("粤B12345D", false, true),
            ("粤B12345F", false, true),
            ("闽A1234挂", true, false),
            ("闽A1234学", false, false),
            ("闽A1234警", false, false),
            ("粤Z1234港", false, false),
            ("粤Z1234澳", false, false),
        ] {
            let plate = Plate::parse(raw, "plate").expect(raw);
            assert_eq!(plate.as_str(), raw);
            assert_eq!(plate.is_trailer(), trailer, "{raw}");
            assert_eq!(plate.is_new_energy(), new_energy, "{raw}");
        }
    }

    #[test]
    fn plates_are_normalised() {
        assert_eq!(plate(" 闽ａ·12345 "), Ok("闽A12345".to_owned()));
        assert_eq!(plate("闽a12345"), Ok("闽A12345".to_owned()));
        assert_eq!(plate("闽A-123.45"), Ok("闽A12345".to_owned()));
        assert_eq!(plate("闽Ａ•１２３４５"), Ok("闽A12345".to_owned()));
        assert_eq!(plate("粤b 12345d"), Ok("粤B12345D".to_owned()));
        assert_eq!(plate("闽\u{3000}A 1234 挂"), Ok("闽A1234挂".to_owned()));
    }

    #[test]
    fn malformed_plates_are_refused() {
        assert_eq!(plate(""), Err("required"));
        assert_eq!(plate(" · "), Err("required"));
        for bad in [
            "A12345",
            "AB12345",
            "中A12345",
            "闽I12345",
            "闽O12345",
            "闽1A2345",
            "闽A1234",
            "闽A1234567",
            "闽A12345挂",
            "闽A123挂",
            "闽A1234I",
            "闽A1O234",
            "闽AD1234A",
            "闽AF1A234",
            "闽A1234AD",
            "闽AX12345",
            "闽A12345X",
            "闽A挂1234",
            "闽",
            "闽A",
            "闽A1234５６７",
        ] {
            let result = Plate::parse(bad, "vehicle_plate");
            let error = result.unwrap_err();
            assert_eq!(error.code, "invalid_plate", "{bad}");
            assert_eq!(error.field, "vehicle_plate");
            assert!(error.message.contains("闽A1234挂"));
        }
    }

    #[test]
    fn masking_keeps_the_ends() {
        let mask = |raw: &str| Plate::parse(raw, "plate").unwrap().masked();
        assert_eq!(mask("闽A12345"), "闽A***45");
        assert_eq!(mask("闽AD12345"), "闽A****45");
        assert_eq!(mask("闽A1234挂"), "闽A***4挂");
        assert_eq!(
            Plate::parse("闽A12345", "plate").unwrap().to_string(),
            "闽A12345"
        );
    }

    fn plate_strategy() -> impl Strategy<Value = String> {
        let province = proptest::sample::select(PROVINCES.chars().collect::<Vec<_>>());
        let serial = prop_oneof![
            "[A-HJ-NP-Z0-9]{5}",
            "[A-HJ-NP-Z0-9]{4}[挂学警港澳]",
            "[DF][A-HJ-NP-Z0-9][0-9]{4}",
            "[0-9]{5}[DF]",
        ];
        (province, "[A-HJ-NP-Z]", serial)
            .prop_map(|(province, authority, serial)| format!("{province}{authority}{serial}"))
    }

    proptest! {
        #[test]
        fn generated_plates_are_valid_and_stable(plate in plate_strategy()) {
            let parsed = Plate::parse(&plate, "plate");
            prop_assert!(parsed.is_ok(), "{} refused", plate);
            let parsed = parsed.unwrap();
            prop_assert_eq!(parsed.as_str(), &plate);
            prop_assert_eq!(Plate::parse(parsed.as_str(), "plate"), Ok(parsed.clone()));
            prop_assert_eq!(parsed.masked().chars().count(), plate.chars().count());
            prop_assert_eq!(parsed.is_new_energy(), plate.chars().count() == 8);
        }

        #[test]
        fn lower_case_and_separators_do_not_matter(plate in plate_strategy()) {
            let mut messy: String = plate.chars().flat_map(|c| [c, ' ']).collect();
            messy = format!(" {} ", messy.to_lowercase().replacen(' ', "·", 1));
            prop_assert_eq!(Plate::parse(&messy, "plate").map(|p| p.0), Ok(plate));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,20}|[闽粤京A-Za-z0-9Ｄ·挂 -]{0,12}") {
            let _ = Plate::parse(&text, "plate").map(|p| (p.masked(), p.is_trailer(), p.is_new_energy()));
        }

        #[test]
        fn normalisation_is_idempotent(text in ".{0,20}|[\\u{FF00}-\\u{FF65}·•. -]{0,12}") {
            let once = normalise(&text);
            prop_assert_eq!(normalise(&once), once.clone());
        }
    }
}
