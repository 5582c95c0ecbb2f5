//! A survey questionnaire as an HTML form for the surveyor's phone: every field kind
//! through one `match` ([`QuestionnaireForm::field`]), what the form holds as posted
//! values ([`Values`]) and the answers they make, and next to each field the three
//! validation tiers (blocking errors, explain-to-pass with its explanation box,
//! warnings) and a returned case's review comments. A photo question lists the case's
//! photos to tick (the page's script adds a camera that uploads new ones first).
//! Nothing here does IO.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use maud::{Markup, html};
use serde_json::{Map, Value};

use crate::console::survey::field::photo_path;
use crate::domain::id::PhotoId;
use crate::error::FieldError;
use crate::forms::fields::{
    DEFAULT_MAX_LENGTH, DEFAULT_MAX_ROWS, FieldKind, FieldSpec, Fields, MAX_PHOTOS,
};
use crate::survey::questionnaire::{Finding, Rule, Tier};

/// The prefix of an explanation's form field: `explain.{rule_id}`.
pub const EXPLAIN_PREFIX: &str = "explain.";
/// The API's prefix of an answer's error: `answers.{key}`.
const ANSWER_ERROR: &str = "answers.";
/// The API's prefix of an explanation's error: `explanations.{rule_id}`.
const EXPLANATION_ERROR: &str = "explanations.";
/// Where a new repeat row's index goes in its template.
const ROW_INDEX: &str = "__row__";

/// What a questionnaire form holds: values by form field name (several for ticked
/// boxes). A repeat row's field is named `{key}[{row}].{row_key}`.
#[derive(Debug, Default)]
pub struct Values(HashMap<String, Vec<String>>);

impl Values {
    /// The values of a posted `application/x-www-form-urlencoded` body.
    pub fn from_body(body: &[u8]) -> Self {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body).into_owned() {
            values.entry(name).or_default().push(value);
        }
        Self(values)
    }

    /// The values showing stored answers (phones are masked there, so they are left
    /// for the surveyor to type again) and their explanations.
    pub fn of_answers(
        fields: &Fields,
        answers: &Map<String, Value>,
        explanations: &BTreeMap<String, String>,
    ) -> Self {
        let mut values = Self::default();
        values.fill(fields.specs(), answers, "");
        for (rule, text) in explanations {
            values.push(format!("{EXPLAIN_PREFIX}{rule}"), text.clone());
        }
        values
    }

    fn fill(&mut self, specs: &[FieldSpec], answers: &Map<String, Value>, prefix: &str) {
        for spec in specs {
            let name = format!("{prefix}{}", spec.key);
            match (spec.kind, answers.get(&spec.key)) {
                (FieldKind::Repeat, Some(Value::Array(rows))) => {
                    for (index, row) in rows.iter().enumerate() {
                        if let Value::Object(row) = row {
                            self.fill(&spec.fields, row, &format!("{name}[{index}]."));
                        }
                    }
                }
                (FieldKind::Phone, _) | (_, None) => {}
                (FieldKind::Location, Some(Value::Object(point))) => {
                    let at = |key| point.get(key).map(text_of).unwrap_or_default();
                    self.push(name, format!("{},{}", at("longitude"), at("latitude")));
                }
                (_, Some(Value::Array(items))) => {
                    for item in items {
                        self.push(name.clone(), text_of(item));
                    }
                }
                (_, Some(Value::Bool(yes))) => {
                    self.push(name, if *yes { "yes" } else { "no" }.to_owned());
                }
                (_, Some(value)) => self.push(name, text_of(value)),
            }
        }
    }

    fn push(&mut self, name: String, value: String) {
        self.0.entry(name).or_default().push(value);
    }

    /// The first value of a field, blank when none.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|list| list.first())
            .map_or("", String::as_str)
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.all(name).any(|v| v == value)
    }

    /// Every value of a field.
    fn all(&self, name: &str) -> impl Iterator<Item = &String> {
        self.0.get(name).into_iter().flatten()
    }

    /// The rows of a repeat field that hold anything, by their index in the form.
    fn rows(&self, name: &str) -> BTreeSet<usize> {
        let start = format!("{name}[");
        self.0
            .iter()
            .filter(|(_, values)| values.iter().any(|v| !v.trim().is_empty()))
            .filter_map(|(key, _)| key.strip_prefix(&start)?.split_once("].")?.0.parse().ok())
            .collect()
    }

    /// The answers the form makes for the API's check: blank fields left out, a
    /// repeat's rows renumbered in order with blank rows dropped, ticked boxes as a
    /// list (ticked photos too), the rest as typed (the API parses numbers, yes/no and
    /// dates itself).
    pub fn answers(&self, fields: &Fields) -> Map<String, Value> {
        self.answers_of(fields.specs(), "")
    }

    fn answers_of(&self, specs: &[FieldSpec], prefix: &str) -> Map<String, Value> {
        let mut answers = Map::new();
        for spec in specs {
            let name = format!("{prefix}{}", spec.key);
            let answer = match spec.kind {
                FieldKind::Section => None,
                FieldKind::Repeat => {
                    let rows: Vec<Value> = self
                        .rows(&name)
                        .into_iter()
                        .map(|row| {
                            Value::Object(self.answers_of(&spec.fields, &format!("{name}[{row}].")))
                        })
                        .collect();
                    (!rows.is_empty()).then_some(Value::Array(rows))
                }
                FieldKind::MultipleChoice | FieldKind::Photo => {
                    let ticked: Vec<Value> = self
                        .all(&name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| Value::String(v.clone()))
                        .collect();
                    (!ticked.is_empty()).then_some(Value::Array(ticked))
                }
                _ => Some(self.get(&name).trim())
                    .filter(|text| !text.is_empty())
                    .map(|text| Value::String(text.to_owned())),
            };
            if let Some(answer) = answer {
                answers.insert(spec.key.clone(), answer);
            }
        }
        answers
    }

    /// The explanations typed, by rule id (blank ones left out).
    pub fn explanations(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter_map(|(name, values)| {
                let rule = name.strip_prefix(EXPLAIN_PREFIX)?;
                let text = values.first()?.trim();
                (!text.is_empty()).then(|| (rule.to_owned(), text.to_owned()))
            })
            .collect()
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What is said next to the fields: the last submission's errors (blocking and
/// explain-to-pass), the warnings it was accepted with, and a return's comments.
#[derive(Debug, Default)]
pub struct Notes {
    /// Error messages by form field name (`answers.` taken off).
    errors: HashMap<String, Vec<String>>,
    /// Rule ids whose explanation is missing, with the message.
    explain: HashMap<String, String>,
    /// Warnings by field key.
    warnings: HashMap<String, Vec<String>>,
    /// Review comments by field key.
    comments: BTreeMap<String, String>,
    /// Errors of no field on the form.
    other: Vec<String>,
}

impl Notes {
    /// Notes from a refused submission's errors, the accepted one's warnings and the
    /// latest return's comments.
    pub fn new(
        errors: &[FieldError],
        warnings: &[Finding],
        comments: BTreeMap<String, String>,
    ) -> Self {
        let mut notes = Self {
            comments,
            ..Self::default()
        };
        for error in errors {
            if let Some(name) = error.field.strip_prefix(ANSWER_ERROR) {
                notes
                    .errors
                    .entry(name.to_owned())
                    .or_default()
                    .push(error.message.clone());
            } else if let Some(rule) = error.field.strip_prefix(EXPLANATION_ERROR) {
                notes.explain.insert(rule.to_owned(), error.message.clone());
            } else {
                notes.other.push(error.message.clone());
            }
        }
        for warning in warnings.iter().filter(|w| w.tier == Tier::Warning) {
            notes
                .warnings
                .entry(warning.field.clone())
                .or_default()
                .push(warning.message.clone());
        }
        notes
    }

    /// Whether a submission was refused.
    pub fn has_errors(&self) -> bool {
        !(self.errors.is_empty() && self.explain.is_empty() && self.other.is_empty())
    }
}

/// One rendering of a questionnaire's fields.
pub struct QuestionnaireForm<'a> {
    /// The questionnaire's fields.
    pub fields: &'a Fields,
    /// Its rules (the explain-to-pass ones get a box next to their field).
    pub rules: &'a [Rule],
    /// What the fields hold.
    pub values: &'a Values,
    /// What is said next to them.
    pub notes: &'a Notes,
    /// The case's photos, oldest first (what a photo question may name).
    pub photos: &'a [PhotoId],
}

impl QuestionnaireForm<'_> {
    /// The fields, each with its notes; then errors of no field.
    pub fn render(&self) -> Markup {
        html! {
            @for spec in self.fields.specs() {
                (self.field(spec, ""))
            }
            @if !self.notes.other.is_empty() {
                div.notice.bad {
                    @for message in &self.notes.other { p { (message) } }
                }
            }
        }
    }

    /// One field of any kind, named `{prefix}{key}`: the one place a kind becomes
    /// HTML.
    fn field(&self, spec: &FieldSpec, prefix: &str) -> Markup {
        let name = format!("{prefix}{}", spec.key);
        // A blank repeat row is dropped, so its fields are not required in the browser.
        let required = spec.required && prefix.is_empty();
        let input = match spec.kind {
            FieldKind::Section => return html! { h3.section { (spec.label) } },
            FieldKind::Repeat => return self.repeat(spec, &name),
            FieldKind::Text => {
                let max = spec.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
                html! { input #(name) type="text" name=(name) value=(self.values.get(&name))
                maxlength=(max) required[required]; }
            }
            FieldKind::Number => html! {
                span.unit {
                    input #(name) type="text" inputmode="decimal" name=(name)
                        value=(self.values.get(&name)) required[required];
                    @if let Some(unit) = &spec.unit { span { (unit) } }
                }
            },
            FieldKind::Date => self.typed(&name, "date", required),
            FieldKind::DateTime => self.typed(&name, "datetime-local", required),
            FieldKind::Phone => html! {
                input #(name) type="tel" inputmode="tel" autocomplete="off" name=(name)
                    value=(self.values.get(&name)) placeholder="11 位手机号码"
                    required[required];
            },
            FieldKind::Location => html! {
                span.locate {
                    input #(name) type="text" inputmode="decimal" name=(name)
                        value=(self.values.get(&name)) placeholder="经度,纬度"
                        required[required];
                    button.btn type="button" data-locate { "定位" }
                }
            },
            FieldKind::Photo => self.photo_choices(&name),
            FieldKind::SingleChoice => self.choices(&name, &spec.options, "radio"),
            FieldKind::MultipleChoice => self.choices(&name, &spec.options, "checkbox"),
            FieldKind::YesNo => {
                let options = ["yes".to_owned(), "no".to_owned()];
                self.choices(&name, &options, "radio")
            }
        };
        html! {
            div.f.q.bad[self.notes.errors.contains_key(&name)] id={ "q-" (name) } {
                (self.comment(&name))
                label for=(name) { (spec.label) @if !spec.required { span.muted { "（选填）" } } }
                (input)
                @if let Some(help) = &spec.help { p.muted { (help) } }
                (self.tiers(&name, &spec.key))
            }
        }
    }

    fn typed(&self, name: &str, kind: &str, required: bool) -> Markup {
        html! { input #(name) type=(kind) name=(name) value=(self.values.get(name))
        required[required]; }
    }

    /// Radio buttons or check boxes as big rows (yes/no shown as 是/否).
    fn choices(&self, name: &str, options: &[String], kind: &str) -> Markup {
        html! {
            div.opts role="group" id=(name) {
                @for option in options {
                    label.opt {
                        input type=(kind) name=(name) value=(option)
                            checked[self.values.has(name, option)];
                        " " (shown_option(option))
                    }
                }
            }
        }
    }

    /// A photo question: the case's photos as boxes to tick (and any other id the
    /// form holds, so nothing posted is dropped unseen), and a camera the script
    /// shows: what it takes is uploaded before the answers and ticked in them.
    fn photo_choices(&self, name: &str) -> Markup {
        let others: Vec<&String> = self
            .values
            .all(name)
            .filter(|id| !id.trim().is_empty() && !self.photos.iter().any(|p| p.as_str() == *id))
            .collect();
        html! {
            div.opts.shots role="group" id=(name) {
                @for photo in self.photos {
                    label.opt.shot {
                        input type="checkbox" name=(name) value=(photo)
                            checked[self.values.has(name, photo.as_str())];
                        img src=(photo_path(photo)) alt="照片" width="96" loading="lazy";
                    }
                }
                @for id in others {
                    label.opt {
                        input type="checkbox" name=(name) value=(id) checked;
                        " 照片 " (id)
                    }
                }
            }
            @if self.photos.is_empty() {
                p.muted { "这家企业还没有照片，可在此拍照，或随走访记录上传。" }
            }
            p.muted { "勾选属于此项的照片，最多 " (MAX_PHOTOS) " 张。" }
            div.photos hidden {
                input type="file" accept="image/*" capture="environment" multiple
                    data-photo-for=(name) aria-label="拍照或选择照片";
            }
        }
    }

    /// Repeat rows: the rows holding something plus one blank (enough without a
    /// script), each removable, and a template the script adds rows from.
    fn repeat(&self, spec: &FieldSpec, name: &str) -> Markup {
        let rows = self.values.rows(name);
        let next = rows.last().map_or(0, |last| last + 1);
        let shown: Vec<usize> = rows.iter().copied().chain([next]).collect();
        let most = spec.max_rows.unwrap_or(DEFAULT_MAX_ROWS);
        html! {
            fieldset.f.repeat.bad[self.notes.errors.contains_key(name)] id={ "q-" (name) }
                data-next=(next + 1) data-max=(most) {
                legend { (spec.label) }
                (self.comment(name))
                @for row in shown {
                    (self.row(spec, name, &row.to_string()))
                }
                template { (self.row(spec, name, ROW_INDEX)) }
                button.btn.alt type="button" data-add-row { "＋ 添加一行" }
                (self.tiers(name, &spec.key))
            }
        }
    }

    fn row(&self, spec: &FieldSpec, name: &str, index: &str) -> Markup {
        let prefix = format!("{name}[{index}].");
        html! {
            div.row {
                @for field in &spec.fields { (self.field(field, &prefix)) }
                button.btn.alt.small type="button" data-remove-row { "删除此行" }
            }
        }
    }

    fn comment(&self, name: &str) -> Markup {
        html! {
            @if let Some(comment) = self.notes.comments.get(name) {
                p.comment { b { "审核意见：" } (comment) }
            }
        }
    }

    /// Under a field: its blocking errors, its explain-to-pass rules (with the box
    /// when one is broken or already explained) and its warnings.
    fn tiers(&self, name: &str, key: &str) -> Markup {
        let explain = self
            .rules
            .iter()
            .filter(|rule| rule.tier == Tier::Explain && rule.check.field() == key)
            .filter_map(|rule| {
                let field = format!("{EXPLAIN_PREFIX}{}", rule.id);
                let asked = self.notes.explain.get(&rule.id);
                let given = self.values.get(&field);
                (asked.is_some() || !given.is_empty()).then_some((field, rule, asked, given))
            });
        html! {
            @for message in self.notes.errors.get(name).into_iter().flatten() {
                p.err { (message) }
            }
            @for (field, rule, asked, given) in explain {
                div.explain.bad[asked.is_some()] {
                    label for=(field) { "核实说明：" (rule.message) }
                    textarea #(field) name=(field) rows="2" maxlength="500" { (given) }
                    @if asked.is_some() { p.err { "请填写核实说明后再提交" } }
                }
            }
            @for message in self.notes.warnings.get(key).into_iter().flatten() {
                p.warn { "提示：" (message) }
            }
        }
    }
}

fn shown_option(option: &str) -> &str {
    match option {
        "yes" => "是",
        "no" => "否",
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Fields {
        let specs = serde_json::from_value(json!([
            {"key": "s", "label": "一", "type": "section"},
            {"key": "staff", "label": "人数", "type": "number", "unit": "人"},
            {"key": "ok", "label": "正常", "type": "yes_no"},
            {"key": "tags", "label": "标签", "type": "multiple_choice", "options": ["甲", "乙"]},
            {"key": "rows", "label": "产品", "type": "repeat",
             "fields": [{"key": "name", "label": "名称", "type": "text"}]},
        ]))
        .unwrap();
        Fields::parse_questionnaire(specs).unwrap()
    }

    #[test]
    fn a_posted_form_becomes_answers_with_blank_rows_dropped() {
        let body = "staff=12&ok=yes&tags=%E7%94%B2&tags=%E4%B9%99&rows%5B0%5D.name=A\
                    &rows%5B3%5D.name=&rows%5B5%5D.name=B&explain.r1=%20why%20&explain.r2=";
        let values = Values::from_body(body.as_bytes());
        let answers = values.answers(&fields());
        assert_eq!(
            Value::Object(answers),
            json!({"staff": "12", "ok": "yes", "tags": ["甲", "乙"],
                   "rows": [{"name": "A"}, {"name": "B"}]})
        );
        assert_eq!(
            values.explanations(),
            BTreeMap::from([("r1".into(), "why".into())])
        );
    }

    #[test]
    fn stored_answers_come_back_as_the_same_form() {
        let stored = json!({"staff": 12, "ok": false, "tags": ["乙"], "rows": [{"name": "A"}]});
        let Value::Object(stored) = stored else {
            panic!()
        };
        let values = Values::of_answers(&fields(), &stored, &BTreeMap::new());
        let again = values.answers(&fields());
        assert_eq!(
            Value::Object(again),
            json!({"staff": "12", "ok": "no", "tags": ["乙"], "rows": [{"name": "A"}]})
        );
    }

    #[test]
    fn photo_questions_tick_the_cases_photos_and_keep_other_ids() {
        let specs = serde_json::from_value(json!([
            {"key": "front", "label": "门头照片", "type": "photo"}
        ]))
        .unwrap();
        let fields = Fields::parse_questionnaire(specs).unwrap();
        let (a, b) = (
            "0193a5f2-0000-7000-8000-00000000000a",
            "0193a5f2-0000-7000-8000-00000000000b",
        );
        let values = Values::from_body(format!("front={b}&front=&front=stray").as_bytes());
        assert_eq!(
            Value::Object(values.answers(&fields)),
            json!({"front": [b, "stray"]})
        );
        let photos = [PhotoId::from(a.to_owned()), PhotoId::from(b.to_owned())];
        let html = QuestionnaireForm {
            fields: &fields,
            rules: &[],
            values: &values,
            notes: &Notes::default(),
            photos: &photos,
        }
        .render()
        .into_string();
        assert!(html.contains(&format!("value=\"{a}\">")), "{html}");
        assert!(html.contains(&format!("value=\"{b}\" checked")), "{html}");
        assert!(html.contains(&format!("src=\"{}\"", photo_path(&photos[0]))));
        assert!(html.contains("value=\"stray\" checked"));
        assert!(html.contains("data-photo-for=\"front\""));
        let Value::Object(stored) = json!({"front": [a]}) else {
            panic!()
        };
        let again = Values::of_answers(&fields, &stored, &BTreeMap::new());
        assert_eq!(Value::Object(again.answers(&fields)), json!({"front": [a]}));
    }

    #[test]
    fn comments_errors_and_warnings_sit_next_to_their_fields() {
        let errors = [FieldError::new(
            "answers.staff",
            "rule_violated",
            "人数有误",
        )];
        let warnings = [Finding {
            rule_id: "w".into(),
            tier: Tier::Warning,
            field: "ok".into(),
            message: "请确认".into(),
        }];
        let notes = Notes::new(
            &errors,
            &warnings,
            BTreeMap::from([("staff".into(), "核对人数".into())]),
        );
        let html = QuestionnaireForm {
            fields: &fields(),
            rules: &[],
            values: &Values::default(),
            notes: &notes,
            photos: &[],
        }
        .render()
        .into_string();
        let staff = html.find("id=\"q-staff\"").unwrap();
        let ok = html.find("id=\"q-ok\"").unwrap();
        for said in ["审核意见：", "人数有误"] {
            let at = html.find(said).unwrap();
            assert!(staff < at && at < ok, "{said} is not at its field");
        }
        assert!(html.find("提示：请确认").unwrap() > ok);
        assert!(html.contains("name=\"rows[0].name\"") && html.contains("<template>"));
    }
}
