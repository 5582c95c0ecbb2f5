//! Driver side of the extra fields: checking a driver's answers against a template and
//! normalising them (text, numbers, dates, dates with times, choices, yes/no).

use chrono::{NaiveDate, NaiveTime};
use serde_json::{Map, Number, Value, json};

use super::spec::{DEFAULT_MAX_LENGTH, DEFAULT_MAX_ROWS, FieldKind, FieldSpec, Fields, MAX_PHOTOS};
use crate::domain::enterprise::Coordinates;
use crate::domain::person::Mobile;
use crate::domain::zone;
use crate::error::FieldError;

impl Fields {
    /// Checks a driver's answers (a JSON object keyed by field key) against the specs
    /// and returns them normalised:
    /// - text trimmed, within its length bounds; blank text counts as absent;
    /// - number a JSON number (a numeric string is accepted) within min and max;
    /// - date `YYYY-MM-DD`, a real date;
    /// - date_time `YYYY-MM-DDTHH:MM` (seconds, or a space for the `T`, are accepted;
    ///   seconds are dropped);
    /// - single_choice one of the options, matched exactly after trimming;
    /// - multiple_choice an array of distinct options, in the options' order (a single
    ///   string counts as a one-element list; blank entries are ignored);
    /// - yes_no a bool (also 是/否, true/false, yes/no, on/off, y/n, 1/0 as strings);
    /// - phone a mainland mobile number, kept as its 11 digits;
    /// - location `{"longitude", "latitude"}` (or the text `经度,纬度`);
    /// - photo an array of up to [`MAX_PHOTOS`] distinct photo ids (UUIDs, kept in
    ///   lower case; a single string counts as a one-element list; blank entries are
    ///   ignored); whether they are photos of the case is the caller's check
    ///   ([`Fields::photo_ids`]);
    /// - repeat an array of up to `max_rows` objects, each checked against the row's
    ///   fields as a form of its own (errors named `{prefix}{key}[2].{row_key}`); no
    ///   rows counts as absent;
    /// - a section heading takes no answer.
    ///
    /// `null` counts as absent. Absent optional fields are left out of the result;
    /// absent required fields (`required`) and unknown keys (`unknown_field`) are
    /// errors. Errors name the field as `{prefix}{key}`; their other codes are
    /// `invalid_type` (text not a string, rows not a list of objects), `too_short`,
    /// `too_long`, `invalid_characters`, `invalid_number`, `out_of_range`,
    /// `invalid_date`, `invalid_date_time`, `invalid_option`, `duplicate_option`,
    /// `invalid_yes_no`, `invalid_phone`, `invalid_location`, `invalid_photo`,
    /// `duplicate_photo`, `too_many_photos` and `too_many_rows`.
    pub fn validate_answers(
        &self,
        answers: &Map<String, Value>,
        prefix: &str,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let normalised = validate(self.specs(), answers, prefix, &mut errors);
        if errors.is_empty() {
            Ok(normalised)
        } else {
            Err(errors)
        }
    }
}

impl Fields {
    /// Calls `f` on each phone answer of normalised (or stored) answers: how a
    /// questionnaire's phones are sealed and masked (repeat rows hold no phones).
    pub fn each_phone<E>(
        &self,
        answers: &mut Map<String, Value>,
        mut f: impl FnMut(&mut Value) -> Result<(), E>,
    ) -> Result<(), E> {
        for spec in self.specs() {
            if spec.kind == FieldKind::Phone
                && let Some(value) = answers.get_mut(&spec.key)
            {
                f(value)?;
            }
        }
        Ok(())
    }

    /// The photo answers of normalised (or stored) answers: each photo question's key
    /// with the photo ids it names, in the questionnaire's order (repeat rows hold no
    /// photos).
    pub fn photo_ids<'a>(
        &'a self,
        answers: &'a Map<String, Value>,
    ) -> impl Iterator<Item = (&'a str, Vec<&'a str>)> {
        self.specs()
            .iter()
            .filter(|spec| spec.kind == FieldKind::Photo)
            .filter_map(|spec| {
                let ids = answers.get(&spec.key)?.as_array()?;
                Some((
                    spec.key.as_str(),
                    ids.iter().filter_map(Value::as_str).collect(),
                ))
            })
    }
}

/// [`Fields::validate_answers`] over `specs`, recording errors.
fn validate(
    specs: &[FieldSpec],
    answers: &Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Map<String, Value> {
    let mut normalised = Map::new();
    let answered = |spec: &&FieldSpec| spec.kind != FieldKind::Section;
    for spec in specs.iter().filter(answered) {
        let field = || format!("{prefix}{}", spec.key);
        let value = match answers.get(&spec.key) {
            Some(value) if spec.kind == FieldKind::Repeat => rows(spec, value, &field(), errors),
            Some(value) => answer(spec, value),
            None => Ok(None),
        };
        match value {
            Ok(Some(value)) => {
                normalised.insert(spec.key.clone(), value);
            }
            Ok(None) => {
                if spec.required {
                    errors.push(FieldError::new(field(), "required", "此项必填"));
                }
            }
            Err(Invalid(code, message)) => {
                errors.push(FieldError::new(field(), code, message));
            }
        }
    }
    for key in answers.keys() {
        if !specs.iter().filter(answered).any(|spec| spec.key == *key) {
            errors.push(FieldError::new(
                format!("{prefix}{key}"),
                "unknown_field",
                "表单中没有此项",
            ));
        }
    }
    normalised
}

/// Checks and normalises the rows of a repeat field, recording the rows' own errors;
/// a row with errors is left out.
fn rows(spec: &FieldSpec, value: &Value, field: &str, errors: &mut Vec<FieldError>) -> Answer {
    let invalid = || Invalid("invalid_type", "应为由各行组成的列表".into());
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        _ => return Err(invalid()),
    };
    let max = spec.max_rows.unwrap_or(DEFAULT_MAX_ROWS);
    if items.len() > usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(Invalid("too_many_rows", format!("最多 {max} 行")));
    }
    let mut normalised = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(row) = item else {
            return Err(invalid());
        };
        let row = validate(&spec.fields, row, &format!("{field}[{index}]."), errors);
        normalised.push(Value::Object(row));
    }
    Ok((!normalised.is_empty()).then_some(Value::Array(normalised)))
}

/// Why an answer was refused: a stable code and a Chinese message.
struct Invalid(&'static str, String);

/// An answer normalised, `None` when it counts as absent.
type Answer = Result<Option<Value>, Invalid>;

/// Checks and normalises one present answer.
fn answer(spec: &FieldSpec, value: &Value) -> Answer {
    if value.is_null() {
        return Ok(None);
    }
    match spec.kind {
        FieldKind::Text => text_answer(spec, value),
        FieldKind::Number => number_answer(spec, value),
        FieldKind::Date => date_answer(value),
        FieldKind::DateTime => date_time_answer(value),
        FieldKind::SingleChoice => single_choice_answer(spec, value),
        FieldKind::MultipleChoice => multiple_choice_answer(spec, value),
        FieldKind::YesNo => yes_no_answer(value),
        FieldKind::Phone => phone_answer(value),
        FieldKind::Location => location_answer(value),
        FieldKind::Photo => photo_answer(value),
        // Headings are skipped and rows checked by the caller.
        FieldKind::Section | FieldKind::Repeat => Ok(None),
    }
}

/// The trimmed string of a string value, `None` for blank; `Err` for other types.
fn trimmed(value: &Value) -> Result<Option<&str>, ()> {
    match value {
        Value::String(raw) => {
            let text = raw.trim();
            Ok((!text.is_empty()).then_some(text))
        }
        _ => Err(()),
    }
}

fn text_answer(spec: &FieldSpec, value: &Value) -> Answer {
    let Some(text) = trimmed(value).map_err(|()| Invalid("invalid_type", "应为文字".into()))?
    else {
        return Ok(None);
    };
    let length = text.chars().count();
    if let Some(min) = spec.min_length
        && length < usize::try_from(min).unwrap_or(usize::MAX)
    {
        return Err(Invalid("too_short", format!("不能少于 {min} 个字符")));
    }
    let max = spec.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
    if length > usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(Invalid("too_long", format!("不能超过 {max} 个字符")));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Invalid("invalid_characters", "含有不允许的控制字符".into()));
    }
    Ok(Some(Value::String(text.to_owned())))
}

fn number_answer(spec: &FieldSpec, value: &Value) -> Answer {
    let invalid = || Invalid("invalid_number", "应为数字".into());
    let number = match value {
        Value::Number(number) => number.clone(),
        Value::String(_) => match trimmed(value) {
            Ok(Some(text)) => parse_number(text).ok_or_else(invalid)?,
            _ => return Ok(None),
        },
        _ => return Err(invalid()),
    };
    let x = number
        .as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(invalid)?;
    let below = spec.min.is_some_and(|min| x < min);
    let above = spec.max.is_some_and(|max| x > max);
    if below || above {
        let message = match (spec.min, spec.max) {
            (Some(min), Some(max)) => format!("应在 {min} 到 {max} 之间"),
            (Some(min), None) => format!("不能小于 {min}"),
            (None, Some(max)) => format!("不能大于 {max}"),
            (None, None) => "超出允许的范围".to_owned(),
        };
        return Err(Invalid("out_of_range", message));
    }
    Ok(Some(Value::Number(number)))
}

/// A decimal number as typed: integers stay integers; no NaN or infinity.
fn parse_number(text: &str) -> Option<Number> {
    if let Ok(integer) = text.parse::<i64>() {
        return Some(integer.into());
    }
    if let Ok(integer) = text.parse::<u64>() {
        return Some(integer.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

fn date_answer(value: &Value) -> Answer {
    let invalid = || Invalid("invalid_date", "应为有效日期，格式如 2024-05-01".into());
    let Some(text) = trimmed(value).map_err(|()| invalid())? else {
        return Ok(None);
    };
    let date = parse_date(text.as_bytes()).ok_or_else(invalid)?;
    Ok(Some(Value::String(zone::day_text(date))))
}

fn date_time_answer(value: &Value) -> Answer {
    let invalid = || {
        Invalid(
            "invalid_date_time",
            "应为有效的日期和时间，格式如 2024-05-01T08:30".into(),
        )
    };
    let Some(text) = trimmed(value).map_err(|()| invalid())? else {
        return Ok(None);
    };
    let bytes = text.as_bytes();
    let (date, rest) = bytes.split_at_checked(10).ok_or_else(invalid)?;
    let date = parse_date(date).ok_or_else(invalid)?;
    let time = match rest {
        [b'T' | b' ', h1, h2, b':', m1, m2] => clock(&[*h1, *h2], &[*m1, *m2], b"00"),
        [b'T' | b' ', h1, h2, b':', m1, m2, b':', s1, s2] => {
            clock(&[*h1, *h2], &[*m1, *m2], &[*s1, *s2])
        }
        _ => None,
    }
    .ok_or_else(invalid)?;
    Ok(Some(Value::String(format!(
        "{}T{}",
        zone::day_text(date),
        time.format("%H:%M")
    ))))
}

/// `YYYY-MM-DD` with ASCII digits, a real date.
fn parse_date(bytes: &[u8]) -> Option<NaiveDate> {
    match bytes {
        [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] => NaiveDate::from_ymd_opt(
            i32::try_from(digits(&[*y1, *y2, *y3, *y4])?).ok()?,
            digits(&[*m1, *m2])?,
            digits(&[*d1, *d2])?,
        ),
        _ => None,
    }
}

/// A time of day from two-digit hours, minutes and seconds.
fn clock(hours: &[u8], minutes: &[u8], seconds: &[u8]) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(digits(hours)?, digits(minutes)?, digits(seconds)?)
}

/// The value of ASCII digits, `None` if any byte is not one.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |value, b| {
        b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
    })
}

fn single_choice_answer(spec: &FieldSpec, value: &Value) -> Answer {
    let invalid = || Invalid("invalid_option", "请选择给定的选项".into());
    let Some(choice) = trimmed(value).map_err(|()| invalid())? else {
        return Ok(None);
    };
    spec.options
        .iter()
        .find(|option| *option == choice)
        .map(|option| Some(Value::String(option.clone())))
        .ok_or_else(invalid)
}

fn multiple_choice_answer(spec: &FieldSpec, value: &Value) -> Answer {
    let invalid = || Invalid("invalid_option", "请选择给定的选项".into());
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::String(_) => std::slice::from_ref(value),
        _ => return Err(invalid()),
    };
    let mut chosen = vec![false; spec.options.len()];
    for item in items {
        let Some(choice) = trimmed(item).map_err(|()| invalid())? else {
            continue;
        };
        let position = spec
            .options
            .iter()
            .position(|option| option == choice)
            .ok_or_else(invalid)?;
        if std::mem::replace(&mut chosen[position], true) {
            return Err(Invalid(
                "duplicate_option",
                format!("选项「{choice}」选择了不止一次"),
            ));
        }
    }
    let selected: Vec<Value> = spec
        .options
        .iter()
        .zip(chosen)
        .filter(|(_, chosen)| *chosen)
        .map(|(option, _)| Value::String(option.clone()))
        .collect();
    Ok((!selected.is_empty()).then_some(Value::Array(selected)))
}

fn phone_answer(value: &Value) -> Answer {
    let invalid = |message: String| Invalid("invalid_phone", message);
    let Some(text) = trimmed(value).map_err(|()| invalid("应为手机号码".into()))? else {
        return Ok(None);
    };
    let mobile = Mobile::parse(text).map_err(|e| invalid(e.message))?;
    Ok(Some(Value::String(mobile.as_str().to_owned())))
}

/// `{"longitude": 119.3, "latitude": 26.08}`, or the text `119.3,26.08` a plain form
/// sends; stored as the object.
fn location_answer(value: &Value) -> Answer {
    let invalid = |message: String| Invalid("invalid_location", message);
    let (longitude, latitude) = match value {
        Value::Object(point) => {
            let number = |key: &str| point.get(key).and_then(Value::as_f64);
            match (number("longitude"), number("latitude")) {
                (Some(longitude), Some(latitude)) if point.len() == 2 => (longitude, latitude),
                _ => {
                    return Err(invalid(
                        "位置应为经度 longitude 和纬度 latitude 两个数".into(),
                    ));
                }
            }
        }
        Value::String(_) => {
            let Some(text) = trimmed(value).map_err(|()| invalid(String::new()))? else {
                return Ok(None);
            };
            let parsed = text
                .split_once([',', '，'])
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
            parsed.ok_or_else(|| invalid("位置应写作“经度,纬度”".into()))?
        }
        _ => return Err(invalid("位置应为经度和纬度".into())),
    };
    let point = Coordinates::parse(Some(longitude), Some(latitude))
        .map_err(|e| invalid(e.message))?
        .ok_or_else(|| invalid("位置应为经度和纬度".into()))?;
    Ok(Some(
        json!({ "longitude": point.longitude, "latitude": point.latitude }),
    ))
}

/// A list of photo ids (one string is a list of one), each a UUID as the server
/// gives photo ids, kept in its lower-case form; blank entries are ignored.
fn photo_answer(value: &Value) -> Answer {
    let invalid = || Invalid("invalid_photo", "照片应为已上传照片的编号".into());
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::String(_) => std::slice::from_ref(value),
        _ => return Err(invalid()),
    };
    let mut ids: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        let Some(text) = trimmed(item).map_err(|()| invalid())? else {
            continue;
        };
        let id = uuid::Uuid::try_parse(text)
            .map_err(|_| invalid())?
            .hyphenated()
            .to_string();
        if ids.iter().any(|seen| seen.as_str() == Some(id.as_str())) {
            return Err(Invalid(
                "duplicate_photo",
                "同一张照片选择了不止一次".into(),
            ));
        }
        ids.push(Value::String(id));
    }
    if ids.len() > MAX_PHOTOS {
        return Err(Invalid(
            "too_many_photos",
            format!("最多 {MAX_PHOTOS} 张照片"),
        ));
    }
    Ok((!ids.is_empty()).then_some(Value::Array(ids)))
}

fn yes_no_answer(value: &Value) -> Answer {
    let invalid = || Invalid("invalid_yes_no", "请选择 是 或 否".into());
    let answer = match value {
        Value::Bool(answer) => *answer,
        Value::String(_) => {
            let Some(text) = trimmed(value).map_err(|()| invalid())? else {
                return Ok(None);
            };
            match text.to_ascii_lowercase().as_str() {
                "是" | "true" | "yes" | "on" | "y" | "1" => true,
                "否" | "false" | "no" | "off" | "n" | "0" => false,
                _ => return Err(invalid()),
            }
        }
        _ => return Err(invalid()),
    };
    Ok(Some(Value::Bool(answer)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::super::fixtures::{choice, codes, every_kind, one, spec, template};
    use super::*;

    fn answers(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    /// The minimal valid answers plus `key: value`, validated.
    fn check(key: &str, value: Value) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut map = answers(json!({"cargo": "液碱", "health": true}));
        map.insert(key.to_owned(), value);
        template().validate_answers(&map, "answers.")
    }

    /// The normalised answer to `key`, which must be accepted.
    fn accepted(key: &str, value: Value) -> Option<Value> {
        check(key, value).unwrap().get(key).cloned()
    }

    #[test]
    fn locations_are_two_coordinates_from_an_object_or_a_form_text() {
        let place = spec("place", FieldKind::Location);
        let stored = json!({"longitude": 119.3, "latitude": 26.08});
        for raw in [
            stored.clone(),
            json!(" 119.3, 26.08 "),
            json!("119.3，26.08"),
        ] {
            assert_eq!(
                answer(&place, &raw).ok().flatten(),
                Some(stored.clone()),
                "{raw}"
            );
        }
        assert_eq!(answer(&place, &json!(" ")).ok().flatten(), None);
        for raw in [
            json!("119.3"),
            json!("东,北"),
            json!({"longitude": 119.3}),
            json!({"longitude": 190, "latitude": 26}),
            json!({"longitude": 119.3, "latitude": 26.08, "altitude": 3}),
            json!(5),
        ] {
            assert!(
                matches!(answer(&place, &raw), Err(Invalid("invalid_location", _))),
                "{raw}"
            );
        }
    }

    #[test]
    fn photos_are_distinct_ids_in_lower_case() {
        let photos = spec("shots", FieldKind::Photo);
        let a = "0193a5f2-7c1e-7d3a-9b4f-2e6c8d1a0b11";
        let b = "0193a5f2-7c1e-7d3a-9b4f-2e6c8d1a0b22";
        assert_eq!(
            answer(&photos, &json!([a, " ", b.to_uppercase()]))
                .ok()
                .flatten(),
            Some(json!([a, b]))
        );
        assert_eq!(answer(&photos, &json!(a)).ok().flatten(), Some(json!([a])));
        for absent in [json!([]), json!(" "), json!([""])] {
            assert_eq!(answer(&photos, &absent).ok().flatten(), None, "{absent}");
        }
        for (raw, code) in [
            (json!(["not-a-photo"]), "invalid_photo"),
            (json!([a, 5]), "invalid_photo"),
            (json!({"id": a}), "invalid_photo"),
            (json!([a, a.to_uppercase()]), "duplicate_photo"),
        ] {
            assert!(
                matches!(answer(&photos, &raw), Err(Invalid(c, _)) if c == code),
                "{raw}"
            );
        }
        let many: Vec<String> = (0..=MAX_PHOTOS)
            .map(|i| format!("0193a5f2-7c1e-7d3a-9b4f-2e6c8d1a0b{i:02}"))
            .collect();
        assert!(answer(&photos, &json!(many[..MAX_PHOTOS])).is_ok());
        assert!(matches!(
            answer(&photos, &json!(many)),
            Err(Invalid("too_many_photos", _))
        ));
    }

    /// The error of `key`, which must be the only one.
    fn refused(key: &str, value: Value) -> FieldError {
        let errors = check(key, value).expect_err("should be refused");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, format!("answers.{key}"));
        errors[0].clone()
    }

    // ---- validate_answers ----

    #[test]
    fn a_full_set_of_answers_is_normalised() {
        let normalised = template()
            .validate_answers(
                &answers(json!({
                    "cargo": "  液碱  ",
                    "temperature": "36.5",
                    "load": 30,
                    "arrival_date": " 2024-02-29 ",
                    "arrival_at": "2024-05-01 08:30:59",
                    "hazard_class": " 腐蚀品 ",
                    "documents": ["安全卡", "运输证"],
                    "health": "是",
                    "remark": "   "
                })),
                "answers.",
            )
            .unwrap();
        assert_eq!(
            Value::Object(normalised),
            json!({
                "cargo": "液碱",
                "temperature": 36.5,
                "load": 30,
                "arrival_date": "2024-02-29",
                "arrival_at": "2024-05-01T08:30",
                "hazard_class": "腐蚀品",
                "documents": ["运输证", "安全卡"],
                "health": true
            })
        );
    }

    #[test]
    fn missing_required_and_unknown_keys_are_errors() {
        let errors = template()
            .validate_answers(
                &answers(json!({"cargo": " ", "driver_age": 40, "health": null})),
                "answers.",
            )
            .unwrap_err();
        assert_eq!(
            errors,
            vec![
                FieldError::new("answers.cargo", "required", "此项必填"),
                FieldError::new("answers.health", "required", "此项必填"),
                FieldError::new("answers.driver_age", "unknown_field", "表单中没有此项"),
            ]
        );
        assert_eq!(
            codes(template().validate_answers(&Map::new(), "")),
            vec![
                ("cargo".to_owned(), "required"),
                ("health".to_owned(), "required")
            ]
        );
        assert_eq!(
            Fields::default().validate_answers(&Map::new(), "answers."),
            Ok(Map::new())
        );
    }

    #[test]
    fn absent_optional_answers_are_omitted() {
        let normalised = check("remark", Value::Null).unwrap();
        assert_eq!(
            Value::Object(normalised),
            json!({"cargo": "液碱", "health": true})
        );
        for (key, blank) in [
            ("remark", json!("")),
            ("temperature", json!(" ")),
            ("arrival_date", json!("")),
            ("arrival_at", json!(" ")),
            ("hazard_class", json!("")),
            ("documents", json!([])),
            ("documents", json!(["", " "])),
            ("documents", json!("")),
        ] {
            assert_eq!(accepted(key, blank.clone()), None, "{key}: {blank}");
        }
    }

    #[test]
    fn text_answers_are_trimmed_and_bounded() {
        assert_eq!(accepted("cargo", json!("\t液碱 \n")), Some(json!("液碱")));
        assert_eq!(
            accepted("remark", json!("第一行\n第二行")),
            Some(json!("第一行\n第二行"))
        );
        assert_eq!(
            accepted("remark", json!("字".repeat(500))),
            Some(json!("字".repeat(500)))
        );
        let short = refused("cargo", json!(" 碱 "));
        assert_eq!(
            (short.code, short.message.as_str()),
            ("too_short", "不能少于 2 个字符")
        );
        let long = refused("cargo", json!("字".repeat(21)));
        assert_eq!(
            (long.code, long.message.as_str()),
            ("too_long", "不能超过 20 个字符")
        );
        assert_eq!(refused("remark", json!("字".repeat(501))).code, "too_long");
        assert_eq!(
            refused("remark", json!("a\u{0}b")).code,
            "invalid_characters"
        );
        assert_eq!(refused("remark", json!(12)).code, "invalid_type");
        assert_eq!(refused("remark", json!(["a"])).code, "invalid_type");
    }

    #[test]
    fn number_answers_are_numbers_within_range() {
        assert_eq!(accepted("load", json!(0)), Some(json!(0)));
        assert_eq!(accepted("load", json!(100.0)), Some(json!(100.0)));
        assert_eq!(accepted("load", json!(" 42 ")), Some(json!(42)));
        assert_eq!(accepted("load", json!("1e1")), Some(json!(10.0)));
        assert_eq!(accepted("temperature", json!(36.6)), Some(json!(36.6)));
        let out = refused("load", json!(100.5));
        assert_eq!(
            (out.code, out.message.as_str()),
            ("out_of_range", "应在 0 到 100 之间")
        );
        assert_eq!(refused("load", json!("-1")).code, "out_of_range");
        assert_eq!(
            refused("temperature", json!(34.9)).message,
            "应在 35 到 42 之间"
        );
        for bad in [
            json!("abc"),
            json!("NaN"),
            json!("inf"),
            json!("1e999"),
            json!("1,5"),
            json!(true),
            json!([1]),
        ] {
            let error = refused("load", bad.clone());
            assert_eq!(
                (error.code, error.message.as_str()),
                ("invalid_number", "应为数字"),
                "{bad}"
            );
        }
    }

    #[test]
    fn one_sided_ranges_say_which_side() {
        let fields = Fields::parse(
            vec![
                FieldSpec {
                    min: Some(1.0),
                    ..spec("at_least", FieldKind::Number)
                },
                FieldSpec {
                    max: Some(9.5),
                    ..spec("at_most", FieldKind::Number)
                },
            ],
            &[],
        )
        .unwrap();
        let errors = fields
            .validate_answers(&answers(json!({"at_least": 0, "at_most": 10})), "")
            .unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["不能小于 1", "不能大于 9.5"]);
        assert_eq!(
            fields.validate_answers(&answers(json!({"at_least": 1e300, "at_most": -1e300})), ""),
            Ok(answers(json!({"at_least": 1e300, "at_most": -1e300})))
        );
    }

    #[test]
    fn date_answers_are_real_dates() {
        assert_eq!(
            accepted("arrival_date", json!("2024-05-01")),
            Some(json!("2024-05-01"))
        );
        assert_eq!(
            accepted("arrival_date", json!("2024-02-29")),
            Some(json!("2024-02-29"))
        );
        for bad in [
            json!("2023-02-29"),
            json!("2024-13-01"),
            json!("2024-00-10"),
            json!("2024-5-1"),
            json!("2024/05/01"),
            json!("2024-05-01T08:00"),
            json!("２０２４-05-01"),
            json!("明天"),
            json!(20240501),
        ] {
            assert_eq!(
                refused("arrival_date", bad.clone()).code,
                "invalid_date",
                "{bad}"
            );
        }
    }

    #[test]
    fn date_time_answers_are_normalised_to_minutes() {
        for good in [
            "2024-05-01T08:30",
            "2024-05-01 08:30",
            "2024-05-01T08:30:00",
            " 2024-05-01 08:30:59 ",
        ] {
            assert_eq!(
                accepted("arrival_at", json!(good)),
                Some(json!("2024-05-01T08:30")),
                "{good}"
            );
        }
        for bad in [
            "2024-05-01",
            "2024-05-01T24:00",
            "2024-05-01T08:60",
            "2024-05-01T08:30:60",
            "2024-05-01T8:30",
            "2024-05-01T08:30Z",
            "2024-05-01T08:30:00.000",
            "2024-02-30T08:30",
            "2024-05-01X08:30",
            "2024-05-01T08：30",
        ] {
            assert_eq!(
                refused("arrival_at", json!(bad)).code,
                "invalid_date_time",
                "{bad}"
            );
        }
        assert_eq!(refused("arrival_at", json!(1)).code, "invalid_date_time");
    }

    #[test]
    fn single_choice_answers_are_one_of_the_options() {
        assert_eq!(
            accepted("hazard_class", json!("易燃液体")),
            Some(json!("易燃液体"))
        );
        assert_eq!(accepted("hazard_class", json!("  无 ")), Some(json!("无")));
        let error = refused("hazard_class", json!("爆炸品"));
        assert_eq!(
            (error.code, error.message.as_str()),
            ("invalid_option", "请选择给定的选项")
        );
        assert_eq!(
            refused("hazard_class", json!("易燃")).code,
            "invalid_option"
        );
        assert_eq!(
            refused("hazard_class", json!(["无"])).code,
            "invalid_option"
        );
        assert_eq!(refused("hazard_class", json!(1)).code, "invalid_option");
    }

    #[test]
    fn multiple_choice_answers_are_distinct_options() {
        assert_eq!(
            accepted("documents", json!("押运证")),
            Some(json!(["押运证"]))
        );
        assert_eq!(
            accepted("documents", json!([" 安全卡", "押运证 ", "运输证"])),
            Some(json!(["运输证", "押运证", "安全卡"]))
        );
        assert_eq!(
            refused("documents", json!(["运输证", " 运输证 "])).code,
            "duplicate_option"
        );
        assert_eq!(
            refused("documents", json!(["运输证", "驾驶证"])).code,
            "invalid_option"
        );
        assert_eq!(
            refused("documents", json!(["运输证", 1])).code,
            "invalid_option"
        );
        assert_eq!(
            refused("documents", json!({"运输证": true})).code,
            "invalid_option"
        );
        assert_eq!(refused("documents", json!(true)).code, "invalid_option");
    }

    #[test]
    fn required_multiple_choice_needs_a_choice() {
        let fields = Fields::parse(
            vec![FieldSpec {
                required: true,
                ..choice("documents", FieldKind::MultipleChoice, &["甲", "乙"])
            }],
            &[],
        )
        .unwrap();
        assert_eq!(
            codes(fields.validate_answers(&answers(json!({"documents": []})), "answers.")),
            one("answers.documents", "required")
        );
    }

    #[test]
    fn yes_no_answers_are_bools() {
        for (raw, expected) in [
            (json!(true), true),
            (json!(false), false),
            (json!("是"), true),
            (json!(" 否 "), false),
            (json!("true"), true),
            (json!("FALSE"), false),
            (json!("Yes"), true),
            (json!("no"), false),
            (json!("on"), true),
        ] {
            assert_eq!(
                accepted("health", raw.clone()),
                Some(json!(expected)),
                "{raw}"
            );
        }
        for bad in [json!("也许"), json!(1), json!(["是"])] {
            let error = refused("health", bad.clone());
            assert_eq!(
                (error.code, error.message.as_str()),
                ("invalid_yes_no", "请选择 是 或 否"),
                "{bad}"
            );
        }
        // A required yes/no is answered by "否" too.
        assert_eq!(accepted("health", json!("否")), Some(json!(false)));
    }

    #[test]
    fn every_error_is_reported_at_once_with_the_prefix() {
        let errors = template()
            .validate_answers(
                &answers(json!({
                    "cargo": "碱",
                    "load": "很多",
                    "arrival_date": "2024-02-30",
                    "health": "也许",
                    "extra": 1
                })),
                "registration.answers.",
            )
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "registration.answers.cargo",
                "registration.answers.load",
                "registration.answers.arrival_date",
                "registration.answers.health",
                "registration.answers.extra",
            ]
        );
    }

    // ---- properties ----

    fn arbitrary_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<String>().prop_map(Value::String),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "是",
                "否",
                "on",
                " 2024-05-01 ",
                "2024-05-01 08:30:15",
                "腐蚀品",
                "运输证",
                "36.5",
                "-0",
                "1e5",
                "NaN",
                "",
                "  ",
            ])
            .prop_map(|s| Value::String(s.to_owned())),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"
                .prop_map(Value::String),
            any::<f64>().prop_map(|x| json!(x)),
            any::<i64>().prop_map(|x| json!(x)),
            any::<u64>().prop_map(|x| json!(x)),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop::collection::vec(inner, 0..4).prop_map(Value::Array)
        })
    }

    /// Values that a driver of each key's field might well send, often valid.
    fn plausible(key: &str) -> BoxedStrategy<Value> {
        let string = |pattern: &'static str| pattern.prop_map(Value::String).boxed();
        match key {
            "cargo" | "remark" => string("\\PC{0,25}"),
            "temperature" => prop_oneof![
                (30.0f64..45.0).prop_map(|x| json!(x)),
                (30.0f64..45.0).prop_map(|x| json!(format!(" {x} "))),
            ]
            .boxed(),
            "load" => prop_oneof![
                (-10i64..110).prop_map(|x| json!(x)),
                (-10i64..110).prop_map(|x| json!(x.to_string())),
            ]
            .boxed(),
            "arrival_date" => string(" ?20[0-9]{2}-[01][0-9]-[0-3][0-9] ?"),
            "arrival_at" => {
                string("20[0-9]{2}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9](:[0-6][0-9])?")
            }
            "hazard_class" => string(" ?(易燃液体|腐蚀品|无|爆炸品) ?"),
            "documents" => prop_oneof![
                prop::sample::subsequence(vec!["运输证", "押运证", "安全卡", "驾驶证"], 0..=4)
                    .prop_shuffle()
                    .prop_map(|chosen| json!(chosen)),
                string("(运输证|押运证)"),
            ]
            .boxed(),
            _ => prop_oneof![
                any::<bool>().prop_map(Value::Bool),
                string("(是|否|true|FALSE|yes|no|on|也许)"),
            ]
            .boxed(),
        }
    }

    /// The required answers, then values under mostly the template's keys.
    fn arbitrary_answers() -> impl Strategy<Value = Map<String, Value>> {
        let keys: Vec<String> = every_kind().into_iter().map(|s| s.key).collect();
        let known = prop::sample::select(keys).prop_flat_map(|key| {
            let value = prop_oneof![3 => plausible(&key), 1 => arbitrary_value()];
            (Just(key), value)
        });
        let unknown = ("[a-z_]{1,8}", arbitrary_value());
        let entry = prop_oneof![8 => known, 1 => unknown];
        prop::collection::vec(entry, 0..6).prop_map(|entries| {
            let mut map = answers(json!({"cargo": "液碱", "health": true}));
            map.extend(entries);
            map
        })
    }

    proptest! {
        #[test]
        fn answers_never_panic_and_normalising_is_idempotent(answers in arbitrary_answers()) {
            let fields = template();
            match fields.validate_answers(&answers, "answers.") {
                Ok(normalised) => {
                    prop_assert!(normalised.keys().all(|k| answers.contains_key(k)));
                    prop_assert_eq!(fields.validate_answers(&normalised, "answers."), Ok(normalised.clone()));
                }
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.field.starts_with("answers.") && !e.message.is_empty()));
                }
            }
        }
    }
}
