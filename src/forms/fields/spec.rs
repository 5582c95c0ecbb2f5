//! Template side of the extra fields: the kinds of field, a field's spec as an admin or
//! enterprise contact writes it, and the validation that turns specs into [`Fields`].
//! The same specs make a survey questionnaire, which may also use section headings,
//! mobile numbers and repeat rows ([`Fields::parse_questionnaire`]).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

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
    /// A section heading (分节标题): a label, never answered (questionnaires only).
    Section,
    /// A mainland mobile number (手机号码), sealed where it is stored (questionnaires
    /// only).
    Phone,
    /// Repeat rows (可重复行): a list of rows, each answering the spec's own `fields`
    /// (questionnaires only; the rows' fields are of the plain kinds).
    Repeat,
    /// A point on the map (位置): longitude and latitude, as the phone's location gives
    /// them (questionnaires only).
    Location,
    /// Photos (照片): the ids of up to [`MAX_PHOTOS`] photos already uploaded to the
    /// same survey case (questionnaires only; which case is the survey's business).
    Photo,
}

impl FieldKind {
    fn is_choice(self) -> bool {
        matches!(self, FieldKind::SingleChoice | FieldKind::MultipleChoice)
    }

    /// Whether a registration form, or a repeat row, may use the kind.
    fn is_plain(self) -> bool {
        !matches!(
            self,
            FieldKind::Section
                | FieldKind::Phone
                | FieldKind::Repeat
                | FieldKind::Location
                | FieldKind::Photo
        )
    }
}

/// What a list of specs is for: the kinds it may use, its size and its reserved keys.
#[derive(Clone, Copy, Debug)]
enum FormUse<'a> {
    /// A registration form's extra fields: the plain kinds, not the built-in keys.
    Registration(&'a [&'a str]),
    /// A survey questionnaire: every kind.
    Questionnaire,
    /// The fields of a questionnaire's repeat row: the plain kinds.
    Row,
}

impl<'a> FormUse<'a> {
    fn max_fields(self) -> usize {
        match self {
            FormUse::Registration(_) => MAX_FIELDS,
            FormUse::Questionnaire => MAX_QUESTIONNAIRE_FIELDS,
            FormUse::Row => MAX_ROW_FIELDS,
        }
    }

    fn reserved(self) -> &'a [&'a str] {
        match self {
            FormUse::Registration(reserved) => reserved,
            FormUse::Questionnaire | FormUse::Row => &[],
        }
    }

    fn allows(self, kind: FieldKind) -> bool {
        matches!(self, FormUse::Questionnaire) || kind.is_plain()
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
    /// The unit a number is given in (number only), 1 to 10 characters: 万元, 亩, 人.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The fields of each row (repeat only): 1 to [`MAX_ROW_FIELDS`] of the plain kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldSpec>,
    /// Most rows (repeat only): 1 to [`MAX_ROWS_CAP`], [`DEFAULT_MAX_ROWS`] when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u32>,
}

/// Most extra fields in one template.
pub const MAX_FIELDS: usize = 30;
/// Most fields (headings included) in one questionnaire.
pub const MAX_QUESTIONNAIRE_FIELDS: usize = 100;
/// Most fields of a repeat row.
pub const MAX_ROW_FIELDS: usize = 10;
/// Most rows a repeat field may allow.
pub const MAX_ROWS_CAP: u32 = 100;
/// Most rows of a repeat field that sets no `max_rows`.
pub const DEFAULT_MAX_ROWS: u32 = 20;
/// Most photos one photo answer names.
pub const MAX_PHOTOS: usize = 10;
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
/// Longest unit, in characters.
const MAX_UNIT_CHARS: usize = 10;

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
        Self::parse_for(specs, FormUse::Registration(reserved))
    }

    /// Validates a survey questionnaire's specs as [`Fields::parse`] does, with no
    /// reserved keys, up to [`MAX_QUESTIONNAIRE_FIELDS`], and the questionnaire's kinds:
    /// a section heading (never required), a phone, repeat rows (`fields`, checked as
    /// a form of their own named `fields[3].fields[0].key`, and `max_rows`). A number
    /// may name its `unit`. Further codes: `kind_not_allowed` (a kind the form may not
    /// use), `rows_required` (a repeat field without row fields).
    pub fn parse_questionnaire(specs: Vec<FieldSpec>) -> Result<Fields, Vec<FieldError>> {
        Self::parse_for(specs, FormUse::Questionnaire)
    }

    fn parse_for(specs: Vec<FieldSpec>, form: FormUse<'_>) -> Result<Fields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let parsed = parse_specs("", specs, form, &mut errors);
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
}

/// Validates the specs of a form (`path` empty) or of a repeat row (`path` the repeat
/// field's, `fields[3].`), recording errors; gives the specs normalised.
fn parse_specs(
    path: &str,
    specs: Vec<FieldSpec>,
    form: FormUse<'_>,
    errors: &mut Vec<FieldError>,
) -> Vec<FieldSpec> {
    let max = form.max_fields();
    if specs.len() > max {
        errors.push(FieldError::new(
            format!("{path}fields"),
            "too_many_fields",
            format!("最多只能添加 {max} 个字段"),
        ));
    }
    let mut keys = HashSet::new();
    specs
        .into_iter()
        .enumerate()
        .map(|(index, spec)| {
            let at = format!("{path}fields[{index}]");
            parse_spec(&at, spec, form, &mut keys, errors)
        })
        .collect()
}

/// Validates one spec, recording its errors; gives the spec normalised.
fn parse_spec(
    path: &str,
    spec: FieldSpec,
    form: FormUse<'_>,
    keys: &mut HashSet<String>,
    errors: &mut Vec<FieldError>,
) -> FieldSpec {
    let reserved = form.reserved();
    let at = |attribute: &str| format!("{path}.{attribute}");
    let mut error = |attribute: &str, code: &'static str, message: String| {
        errors.push(FieldError::new(at(attribute), code, message));
    };

    if !form.allows(spec.kind) {
        error(
            "type",
            "kind_not_allowed",
            "此处不能使用分节标题、手机号码、可重复行、位置或照片".to_owned(),
        );
    }
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

    let unit = match (&spec.unit, spec.kind) {
        (None, _) => None,
        (Some(raw), FieldKind::Number) if !matches!(form, FormUse::Registration(_)) => {
            match bounded(&at("unit"), raw, 1, MAX_UNIT_CHARS) {
                Ok(unit) => Some(unit),
                Err(e) => {
                    error("unit", "invalid_unit", e.message);
                    None
                }
            }
        }
        (Some(_), _) => {
            error(
                "unit",
                "not_applicable",
                "只有问卷的数字字段可以设置单位".to_owned(),
            );
            None
        }
    };

    if spec.kind == FieldKind::Section && spec.required {
        error(
            "required",
            "not_applicable",
            "分节标题不需要填写，不能设为必填".to_owned(),
        );
    }

    if spec.kind == FieldKind::Repeat {
        if spec.fields.is_empty() {
            error(
                "fields",
                "rows_required",
                "可重复行至少需要 1 个字段".to_owned(),
            );
        }
        if spec
            .max_rows
            .is_some_and(|max| !(1..=MAX_ROWS_CAP).contains(&max))
        {
            error(
                "max_rows",
                "invalid_range",
                format!("最多行数应在 1 到 {MAX_ROWS_CAP} 之间"),
            );
        }
    } else {
        for (attribute, set) in [
            ("fields", !spec.fields.is_empty()),
            ("max_rows", spec.max_rows.is_some()),
        ] {
            if set {
                error(
                    attribute,
                    "not_applicable",
                    "只有可重复行可以设置行字段和行数".to_owned(),
                );
            }
        }
    }
    let fields = if spec.kind == FieldKind::Repeat {
        parse_specs(&format!("{path}."), spec.fields, FormUse::Row, errors)
    } else {
        Vec::new()
    };

    FieldSpec {
        label,
        help,
        options,
        unit,
        fields,
        ..spec
    }
}

/// Whether `key` may name a field (or a questionnaire rule): `^[a-z][a-z0-9_]{0,31}$`.
pub fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() <= MAX_KEY_LENGTH
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::super::fixtures::{RESERVED, choice, codes, one, spec, template};
    use super::*;

    fn parse_codes(specs: Vec<FieldSpec>) -> Vec<(String, &'static str)> {
        codes(Fields::parse(specs, &RESERVED))
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

    proptest! {
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
