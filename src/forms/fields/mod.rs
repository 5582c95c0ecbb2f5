//! Extra fields of the registration form: what an admin or an enterprise contact may
//! add to the built-in form, and how a driver's answers to them are checked.
//! Templates are data; nothing here does IO.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::domain::text::bounded;
use crate::error::FieldError;

/// Kinds of extra field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text (文字), trimmed, with optional length bounds.
    Text,
    /// A number (数字), integer or decimal, with an optional range.
    Number,
    /// A calendar date (日期), `YYYY-MM-DD`.
    Date,
    /// A date and a time to the minute (日期时间), `YYYY-MM-DDTHH:MM`.
    DateTime,
    /// Exactly one of the options (单选).
    SingleChoice,
    /// Any number of distinct options (多选).
    MultipleChoice,
    /// Yes or no (是/否), answered as a bool.
    YesNo,
}

impl FieldKind {
    fn is_choice(self) -> bool {
        matches!(self, FieldKind::SingleChoice | FieldKind::MultipleChoice)
    }
}

/// One field as an admin or enterprise contact defines it (JSON body of the template API).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Stable identifier of the answer: a lower-case letter, then up to 31 lower-case
    /// letters, digits or underscores.
    pub key: String,
    /// What the driver sees: 1 to 40 characters, trimmed, no control characters.
    pub label: String,
    /// The kind of answer.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Whether the driver must answer.
    #[serde(default)]
    pub required: bool,
    /// A hint shown under the field, up to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Fewest characters of a text answer (text only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Most characters of a text answer (text only): [`DEFAULT_MAX_LENGTH`] when
    /// unset, at most [`MAX_LENGTH_CAP`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Smallest number allowed (number only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest number allowed (number only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The choices (single and multiple choice only): 2 to 50 distinct options of 1 to
    /// 40 characters each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// Most extra fields in one template.
pub const MAX_FIELDS: usize = 30;
/// Most characters of a text answer when its spec sets no `max_length`.
pub const DEFAULT_MAX_LENGTH: u32 = 500;
/// Largest `max_length` a text field may set.
pub const MAX_LENGTH_CAP: u32 = 2000;

/// Longest key, in ASCII characters.
const MAX_KEY_LENGTH: usize = 32;
/// Longest label, in characters.
const MAX_LABEL_CHARS: usize = 40;
/// Longest help text, in characters.
const MAX_HELP_CHARS: usize = 200;
/// Fewest options of a choice.
const MIN_OPTIONS: usize = 2;
/// Most options of a choice.
const MAX_OPTIONS: usize = 50;
/// Longest option, in characters.
const MAX_OPTION_CHARS: usize = 40;

/// A validated list of field specs.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Fields(Vec<FieldSpec>);

impl Fields {
    /// Validates specs: every rule of [`FieldSpec`], keys unique and not in `reserved`
    /// (the built-in form's keys), at most [`MAX_FIELDS`], length and range attributes
    /// only on the kinds they belong to and min <= max; labels, help and options come
    /// back trimmed (blank help becomes `None`). Errors name the attribute as
    /// `fields[2].options`, `fields[2].options[1]`, `fields[0].key` and so on, with the
    /// codes `too_many_fields`, `invalid_key`, `reserved_key`, `duplicate_key`,
    /// `invalid_label`, `invalid_help`, `not_applicable`, `invalid_range`,
    /// `options_required`, `too_many_options`, `invalid_option` and `duplicate_option`.
    pub fn parse(specs: Vec<FieldSpec>, reserved: &[&str]) -> Result<Fields, Vec<FieldError>> {
        let mut errors = Vec::new();
        if specs.len() > MAX_FIELDS {
            errors.push(FieldError::new(
                "fields",
                "too_many_fields",
                format!("最多只能添加 {MAX_FIELDS} 个字段"),
            ));
        }
        let mut keys = HashSet::new();
        let parsed: Vec<FieldSpec> = specs
            .into_iter()
            .enumerate()
            .map(|(index, spec)| parse_spec(index, spec, reserved, &mut keys, &mut errors))
            .collect();
        if errors.is_empty() {
            Ok(Fields(parsed))
        } else {
            Err(errors)
        }
    }

    /// The specs, in order.
    pub fn specs(&self) -> &[FieldSpec] {
        &self.0
    }

    /// Reads stored JSON (a JSON array of specs) without re-validating; bad JSON is an
    /// error string.
    pub fn from_stored(json: &str) -> Result<Fields, String> {
        serde_json::from_str(json)
            .map(Fields)
            .map_err(|error| format!("stored form fields are not a valid list of specs: {error}"))
    }

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
    /// - yes_no a bool (also 是/否, true/false, yes/no, on/off, y/n, 1/0 as strings).
    ///
    /// `null` counts as absent. Absent optional fields are left out of the result;
    /// absent required fields (`required`) and unknown keys (`unknown_field`) are
    /// errors. Errors name the field as `{prefix}{key}`; their other codes are
    /// `invalid_type` (text not a string), `too_short`, `too_long`,
    /// `invalid_characters`, `invalid_number`, `out_of_range`, `invalid_date`,
    /// `invalid_date_time`, `invalid_option`, `duplicate_option` and `invalid_yes_no`.
    pub fn validate_answers(
        &self,
        answers: &Map<String, Value>,
        prefix: &str,
    ) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut normalised = Map::new();
        for spec in &self.0 {
            let field = || format!("{prefix}{}", spec.key);
            match answers.get(&spec.key).map(|value| answer(spec, value)) {
                Some(Ok(Some(value))) => {
                    normalised.insert(spec.key.clone(), value);
                }
                None | Some(Ok(None)) => {
                    if spec.required {
                        errors.push(FieldError::new(field(), "required", "此项必填"));
                    }
                }
                Some(Err(Invalid(code, message))) => {
                    errors.push(FieldError::new(field(), code, message));
                }
            }
        }
        for key in answers.keys() {
            if !self.0.iter().any(|spec| spec.key == *key) {
                errors.push(FieldError::new(
                    format!("{prefix}{key}"),
                    "unknown_field",
                    "表单中没有此项",
                ));
            }
        }
        if errors.is_empty() {
            Ok(normalised)
        } else {
            Err(errors)
        }
    }
}

/// Validates one spec, recording its errors; gives the spec normalised.
fn parse_spec(
    index: usize,
    spec: FieldSpec,
    reserved: &[&str],
    keys: &mut HashSet<String>,
    errors: &mut Vec<FieldError>,
) -> FieldSpec {
    let at = |attribute: &str| format!("fields[{index}].{attribute}");
    let mut error = |attribute: &str, code: &'static str, message: String| {
        errors.push(FieldError::new(at(attribute), code, message));
    };

    if !is_valid_key(&spec.key) {
        error(
            "key",
            "invalid_key",
            format!(
                "字段标识应以小写字母开头，只含小写字母、数字和下划线，最长 {MAX_KEY_LENGTH} 个字符"
            ),
        );
    } else if reserved.contains(&spec.key.as_str()) {
        error(
            "key",
            "reserved_key",
            format!("字段标识「{}」已被基础表单使用，请换一个", spec.key),
        );
    } else if !keys.insert(spec.key.clone()) {
        error(
            "key",
            "duplicate_key",
            format!("字段标识「{}」重复", spec.key),
        );
    }

    let label = bounded(&at("label"), &spec.label, 1, MAX_LABEL_CHARS).unwrap_or_else(|e| {
        error("label", "invalid_label", e.message);
        spec.label.clone()
    });

    let help = match &spec.help {
        None => None,
        Some(raw) => match bounded(&at("help"), raw, 0, MAX_HELP_CHARS) {
            Ok(help) if help.is_empty() => None,
            Ok(help) => Some(help),
            Err(e) => {
                error("help", "invalid_help", e.message);
                None
            }
        },
    };

    if spec.kind == FieldKind::Text {
        match spec.max_length {
            Some(max) if !(1..=MAX_LENGTH_CAP).contains(&max) => error(
                "max_length",
                "invalid_range",
                format!("最多字符数应在 1 到 {MAX_LENGTH_CAP} 之间"),
            ),
            _ => {
                let max = spec.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
                if spec.min_length.is_some_and(|min| min > max) {
                    error(
                        "min_length",
                        "invalid_range",
                        format!("最少字符数不能大于最多字符数（{max}）"),
                    );
                }
            }
        }
    } else {
        for (attribute, set) in [
            ("min_length", spec.min_length.is_some()),
            ("max_length", spec.max_length.is_some()),
        ] {
            if set {
                error(
                    attribute,
                    "not_applicable",
                    "只有文字字段可以设置字数限制".to_owned(),
                );
            }
        }
    }

    if spec.kind == FieldKind::Number {
        let mut finite = true;
        for (attribute, bound) in [("min", spec.min), ("max", spec.max)] {
            if bound.is_some_and(|b| !b.is_finite()) {
                finite = false;
                error(attribute, "invalid_range", "应为有限的数值".to_owned());
            }
        }
        if let (true, Some(min), Some(max)) = (finite, spec.min, spec.max)
            && min > max
        {
            error(
                "min",
                "invalid_range",
                format!("最小值 {min} 不能大于最大值 {max}"),
            );
        }
    } else {
        for (attribute, set) in [("min", spec.min.is_some()), ("max", spec.max.is_some())] {
            if set {
                error(
                    attribute,
                    "not_applicable",
                    "只有数字字段可以设置取值范围".to_owned(),
                );
            }
        }
    }

    let mut options = Vec::new();
    if spec.kind.is_choice() {
        if spec.options.len() < MIN_OPTIONS {
            error(
                "options",
                "options_required",
                format!("选择题至少需要 {MIN_OPTIONS} 个选项"),
            );
        } else if spec.options.len() > MAX_OPTIONS {
            error(
                "options",
                "too_many_options",
                format!("选项不能超过 {MAX_OPTIONS} 个"),
            );
        }
        for (position, raw) in spec.options.iter().enumerate() {
            let attribute = format!("options[{position}]");
            match bounded(&at(&attribute), raw, 1, MAX_OPTION_CHARS) {
                Ok(option) if options.contains(&option) => error(
                    &attribute,
                    "duplicate_option",
                    format!("选项「{option}」重复"),
                ),
                Ok(option) => options.push(option),
                Err(e) => error(&attribute, "invalid_option", e.message),
            }
        }
    } else if !spec.options.is_empty() {
        error(
            "options",
            "not_applicable",
            "只有选择题可以设置选项".to_owned(),
        );
    }

    FieldSpec {
        label,
        help,
        options,
        ..spec
    }
}

/// `^[a-z][a-z0-9_]{0,31}$`.
fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() <= MAX_KEY_LENGTH
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
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
    Ok(Some(Value::String(format_date(date))))
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
        format_date(date),
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

fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
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

    use super::*;

    /// Keys of the built-in form.
    const RESERVED: [&str; 3] = ["name", "phone", "plate"];

    fn spec(key: &str, kind: FieldKind) -> FieldSpec {
        FieldSpec {
            key: key.to_owned(),
            label: format!("标签 {key}"),
            kind,
            required: false,
            help: None,
            min_length: None,
            max_length: None,
            min: None,
            max: None,
            options: Vec::new(),
        }
    }

    fn choice(key: &str, kind: FieldKind, options: &[&str]) -> FieldSpec {
        FieldSpec {
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            ..spec(key, kind)
        }
    }

    /// A template with every kind, as a JSON body would bring it.
    fn every_kind() -> Vec<FieldSpec> {
        serde_json::from_value(json!([
            {"key": "cargo", "label": " 所运货物 ", "type": "text", "required": true,
             "min_length": 2, "max_length": 20, "help": "  如：液碱  "},
            {"key": "temperature", "label": "体温", "type": "number", "min": 35, "max": 42},
            {"key": "load", "label": "载重（吨）", "type": "number", "min": 0, "max": 100},
            {"key": "arrival_date", "label": "预计到达日期", "type": "date"},
            {"key": "arrival_at", "label": "预计到达时间", "type": "date_time"},
            {"key": "hazard_class", "label": "危险品类别", "type": "single_choice",
             "options": [" 易燃液体 ", "腐蚀品", "无"]},
            {"key": "documents", "label": "随车证件", "type": "multiple_choice",
             "options": ["运输证", "押运证", "安全卡"]},
            {"key": "health", "label": "身体状况良好", "type": "yes_no", "required": true},
            {"key": "remark", "label": "备注", "type": "text"}
        ]))
        .unwrap()
    }

    fn template() -> Fields {
        Fields::parse(every_kind(), &RESERVED).unwrap()
    }

    /// `(field, code)` of each error, in order.
    fn codes<T: std::fmt::Debug>(
        result: Result<T, Vec<FieldError>>,
    ) -> Vec<(String, &'static str)> {
        result
            .expect_err("should be refused")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn parse_codes(specs: Vec<FieldSpec>) -> Vec<(String, &'static str)> {
        codes(Fields::parse(specs, &RESERVED))
    }

    fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_owned(), code)]
    }

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

    /// The error of `key`, which must be the only one.
    fn refused(key: &str, value: Value) -> FieldError {
        let errors = check(key, value).expect_err("should be refused");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, format!("answers.{key}"));
        errors[0].clone()
    }

    // ---- parse ----

    #[test]
    fn parse_accepts_every_kind_and_trims() {
        let fields = template();
        let specs = fields.specs();
        assert_eq!(specs.len(), 9);
        assert_eq!(specs[0].label, "所运货物");
        assert_eq!(specs[0].help.as_deref(), Some("如：液碱"));
        assert_eq!(specs[0].kind, FieldKind::Text);
        assert!(specs[0].required);
        assert_eq!(specs[1].kind, FieldKind::Number);
        assert_eq!(specs[1].min, Some(35.0));
        assert_eq!(specs[3].kind, FieldKind::Date);
        assert_eq!(specs[4].kind, FieldKind::DateTime);
        assert_eq!(specs[5].options, ["易燃液体", "腐蚀品", "无"]);
        assert_eq!(specs[6].kind, FieldKind::MultipleChoice);
        assert_eq!(specs[7].kind, FieldKind::YesNo);
        assert!(!specs[8].required);
        assert_eq!(Fields::parse(Vec::new(), &RESERVED), Ok(Fields::default()));
    }

    #[test]
    fn parse_drops_blank_help() {
        let fields = Fields::parse(
            vec![FieldSpec {
                help: Some("   ".to_owned()),
                ..spec("remark", FieldKind::Text)
            }],
            &[],
        )
        .unwrap();
        assert_eq!(fields.specs()[0].help, None);
    }

    #[test]
    fn keys_must_be_lower_snake_case_up_to_32() {
        let longest = format!("a{}", "b".repeat(31));
        assert!(Fields::parse(vec![spec(&longest, FieldKind::Text)], &[]).is_ok());
        assert!(
            Fields::parse(
                vec![spec("a", FieldKind::Text), spec("x_1", FieldKind::Text)],
                &[]
            )
            .is_ok()
        );
        for bad in [
            "",
            "1a",
            "_a",
            "Abc",
            "a-b",
            "a b",
            " a",
            "体温",
            &format!("a{}", "b".repeat(32)),
        ] {
            assert_eq!(
                parse_codes(vec![spec(bad, FieldKind::Text)]),
                one("fields[0].key", "invalid_key"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keys_must_be_unique_and_not_reserved() {
        assert_eq!(
            parse_codes(vec![
                spec("cargo", FieldKind::Text),
                spec("load", FieldKind::Number),
                spec("cargo", FieldKind::Date),
            ]),
            one("fields[2].key", "duplicate_key")
        );
        assert_eq!(
            parse_codes(vec![
                spec("cargo", FieldKind::Text),
                spec("plate", FieldKind::Text)
            ]),
            one("fields[1].key", "reserved_key")
        );
    }

    #[test]
    fn labels_are_bounded_without_control_characters() {
        for bad in ["", "   ", "a\u{7}b", &"长".repeat(41)] {
            let specs = vec![FieldSpec {
                label: bad.to_owned(),
                ..spec("cargo", FieldKind::Text)
            }];
            assert_eq!(
                parse_codes(specs),
                one("fields[0].label", "invalid_label"),
                "{bad:?}"
            );
        }
        let specs = vec![FieldSpec {
            label: "长".repeat(40),
            ..spec("cargo", FieldKind::Text)
        }];
        assert!(Fields::parse(specs, &[]).is_ok());
    }

    #[test]
    fn help_is_bounded() {
        let specs = vec![FieldSpec {
            help: Some("说".repeat(201)),
            ..spec("cargo", FieldKind::Text)
        }];
        assert_eq!(parse_codes(specs), one("fields[0].help", "invalid_help"));
    }

    #[test]
    fn at_most_thirty_fields() {
        let specs = |n: usize| -> Vec<FieldSpec> {
            (0..n)
                .map(|i| spec(&format!("f{i}"), FieldKind::YesNo))
                .collect()
        };
        assert!(Fields::parse(specs(MAX_FIELDS), &[]).is_ok());
        assert_eq!(
            parse_codes(specs(MAX_FIELDS + 1)),
            one("fields", "too_many_fields")
        );
    }

    #[test]
    fn attributes_only_on_their_kinds() {
        let specs = vec![
            FieldSpec {
                min_length: Some(1),
                max_length: Some(5),
                ..spec("a", FieldKind::Number)
            },
            FieldSpec {
                min: Some(0.0),
                max: Some(1.0),
                ..spec("b", FieldKind::Text)
            },
            choice("c", FieldKind::YesNo, &["是", "否"]),
            FieldSpec {
                max: Some(3.0),
                ..choice("d", FieldKind::SingleChoice, &["甲", "乙"])
            },
        ];
        assert_eq!(
            parse_codes(specs),
            vec![
                ("fields[0].min_length".to_owned(), "not_applicable"),
                ("fields[0].max_length".to_owned(), "not_applicable"),
                ("fields[1].min".to_owned(), "not_applicable"),
                ("fields[1].max".to_owned(), "not_applicable"),
                ("fields[2].options".to_owned(), "not_applicable"),
                ("fields[3].max".to_owned(), "not_applicable"),
            ]
        );
    }

    #[test]
    fn ranges_must_be_ordered_and_within_caps() {
        let text = |min_length, max_length| FieldSpec {
            min_length,
            max_length,
            ..spec("t", FieldKind::Text)
        };
        let number = |min, max| FieldSpec {
            min,
            max,
            ..spec("n", FieldKind::Number)
        };
        for good in [
            text(Some(3), Some(3)),
            text(Some(500), None),
            text(None, Some(MAX_LENGTH_CAP)),
            number(Some(-1.5), Some(-1.5)),
            number(None, Some(-3.0)),
        ] {
            assert!(Fields::parse(vec![good.clone()], &[]).is_ok(), "{good:?}");
        }
        for (bad, field) in [
            (text(Some(5), Some(4)), "fields[0].min_length"),
            (text(Some(501), None), "fields[0].min_length"),
            (text(None, Some(0)), "fields[0].max_length"),
            (text(None, Some(MAX_LENGTH_CAP + 1)), "fields[0].max_length"),
            (number(Some(2.0), Some(1.0)), "fields[0].min"),
            (number(Some(f64::NAN), None), "fields[0].min"),
            (number(None, Some(f64::INFINITY)), "fields[0].max"),
        ] {
            assert_eq!(
                parse_codes(vec![bad.clone()]),
                one(field, "invalid_range"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn choices_need_two_to_fifty_distinct_options() {
        assert_eq!(
            parse_codes(vec![choice("c", FieldKind::SingleChoice, &[])]),
            one("fields[0].options", "options_required")
        );
        assert_eq!(
            parse_codes(vec![choice("c", FieldKind::MultipleChoice, &["唯一"])]),
            one("fields[0].options", "options_required")
        );
        let many: Vec<String> = (0..=MAX_OPTIONS).map(|i| format!("选项{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(
            Fields::parse(
                vec![choice("c", FieldKind::SingleChoice, &many[..MAX_OPTIONS])],
                &[]
            )
            .is_ok()
        );
        assert_eq!(
            parse_codes(vec![choice("c", FieldKind::SingleChoice, &many)]),
            one("fields[0].options", "too_many_options")
        );
        assert_eq!(
            parse_codes(vec![choice(
                "c",
                FieldKind::SingleChoice,
                &["甲", " ", &"长".repeat(41), "a\nb"]
            )]),
            vec![
                ("fields[0].options[1]".to_owned(), "invalid_option"),
                ("fields[0].options[2]".to_owned(), "invalid_option"),
                ("fields[0].options[3]".to_owned(), "invalid_option"),
            ]
        );
        assert_eq!(
            parse_codes(vec![choice(
                "c",
                FieldKind::MultipleChoice,
                &["甲", "乙", " 甲 "]
            )]),
            one("fields[0].options[2]", "duplicate_option")
        );
    }

    #[test]
    fn every_problem_of_a_template_is_reported_at_once() {
        let errors = Fields::parse(
            vec![
                FieldSpec {
                    label: String::new(),
                    ..spec("Bad", FieldKind::Text)
                },
                choice("plate", FieldKind::SingleChoice, &["甲"]),
            ],
            &RESERVED,
        )
        .unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            [
                "invalid_key",
                "invalid_label",
                "reserved_key",
                "options_required"
            ]
        );
        assert!(
            errors
                .iter()
                .all(|e| !e.message.is_empty() && !e.message.is_ascii())
        );
    }

    #[test]
    fn json_bodies_use_type_defaults_and_refuse_unknown_attributes() {
        let parsed: FieldSpec =
            serde_json::from_value(json!({"key": "a", "label": "甲", "type": "yes_no"})).unwrap();
        assert_eq!(
            parsed,
            FieldSpec {
                label: "甲".to_owned(),
                ..spec("a", FieldKind::YesNo)
            }
        );
        assert!(
            serde_json::from_value::<FieldSpec>(
                json!({"key": "a", "label": "甲", "type": "yes_no", "colour": "red"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<FieldSpec>(json!({"key": "a", "label": "甲", "type": "file"}))
                .is_err()
        );
        assert_eq!(
            serde_json::to_value(spec("a", FieldKind::DateTime)).unwrap(),
            json!({"key": "a", "label": "标签 a", "type": "date_time", "required": false})
        );
    }

    // ---- from_stored ----

    #[test]
    fn stored_json_round_trips() {
        let fields = template();
        let json = serde_json::to_string(&fields).unwrap();
        assert!(json.starts_with('['));
        assert_eq!(Fields::from_stored(&json), Ok(fields));
        assert_eq!(Fields::from_stored("[]"), Ok(Fields::default()));
        assert!(Fields::from_stored("{").is_err());
        assert!(Fields::from_stored(r#"{"key": "a"}"#).is_err());
        assert!(Fields::from_stored(r#"[{"key": "a"}]"#).is_err());
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

        #[test]
        fn parse_never_panics(key in ".{0,40}", label in ".{0,50}", options in prop::collection::vec(".{0,45}", 0..4)) {
            for kind in [FieldKind::Text, FieldKind::SingleChoice, FieldKind::MultipleChoice] {
                let spec = FieldSpec { key: key.clone(), label: label.clone(), options: options.clone(), ..spec("k", kind) };
                if let Ok(fields) = Fields::parse(vec![spec], &RESERVED) {
                    let json = serde_json::to_string(&fields).unwrap();
                    prop_assert_eq!(Fields::from_stored(&json), Ok(fields));
                }
            }
        }
    }
}
