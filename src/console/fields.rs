//! The extra fields of the driver's form: an enterprise's own (its contact, or an admin
//! with `?enterprise=`) or the zone's (an admin). The whole list is edited in one form
//! that works without JavaScript (add, move up or down, remove and preview are submit
//! buttons that post the list back), with a preview of the driver's form drawn by the
//! driver page's own renderer next to it, refreshed by htmx as the list changes; saving
//! goes through the service of `PUT /api/v1/enterprises/{id}/form-template` (or
//! `PUT /api/v1/form-template`) and makes a new version.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::auth::caller::ENTERPRISE_KEEPERS;
use crate::codes::handlers::visible_code;
use crate::console::enterprise::{Chosen, PARAMETER};
use crate::console::enterprises::ROSTER_PATH;
use crate::console::session::{Posted, Signed};
use crate::console::{PageError, allowed, layout, render, see_other};
use crate::domain::account::Role;
use crate::error::FieldError;
use crate::forms::fields::{FieldKind, FieldSpec, Fields, MAX_FIELDS};
use crate::forms::handlers::{Target, find_template, parse_specs, save_template};
use crate::state::AppState;
use crate::web::form::{self, FormPage, Values};

/// This page's address.
pub const FIELDS_PATH: &str = "/console/fields";
const PREVIEW_PATH: &str = "/console/fields/preview";

/// The kinds offered, with their form value and Chinese name.
const KINDS: [(FieldKind, &str, &str); 7] = [
    (FieldKind::Text, "text", "文字"),
    (FieldKind::Number, "number", "数字"),
    (FieldKind::Date, "date", "日期"),
    (FieldKind::DateTime, "date_time", "日期时间"),
    (FieldKind::SingleChoice, "single_choice", "单选"),
    (FieldKind::MultipleChoice, "multiple_choice", "多选"),
    (FieldKind::YesNo, "yes_no", "是/否"),
];

/// Whose fields the page edits, and how its links name them.
struct Editing {
    target: Target,
    chosen: Option<Chosen>,
}

impl Editing {
    /// An enterprise's fields for its contact or an admin naming it; the zone's for an
    /// admin naming none; nothing for other roles (404 page).
    fn of(req: &HttpRequest, signed: &Signed) -> Result<Self, PageError> {
        allowed(ENTERPRISE_KEEPERS.allows(signed.caller.role))?;
        let named = Posted::parse(req.query_string().as_bytes())
            .value(PARAMETER)
            .is_some_and(|id| !id.trim().is_empty());
        if signed.caller.role == Role::Admin && !named {
            return Ok(Self {
                target: Target::Zone,
                chosen: None,
            });
        }
        let chosen = Chosen::of(req, signed)?;
        Ok(Self {
            target: Target::Enterprise(chosen.id.clone()),
            chosen: Some(chosen),
        })
    }

    fn link(&self, path: &str) -> String {
        self.chosen
            .as_ref()
            .map_or_else(|| path.to_owned(), |chosen| chosen.link(path))
    }
}

/// What the preview shows around the edited fields: the enterprise's name, its code's
/// token and the zone's fields (or, editing the zone's, a sample enterprise).
struct Around {
    title: String,
    enterprise_name: String,
    token: String,
    zone: Fields,
}

async fn around(state: &AppState, signed: &Signed, editing: &Editing) -> Result<Around, PageError> {
    match &editing.chosen {
        None => Ok(Around {
            title: "园区统一字段（所有企业的登记表都会询问）".to_owned(),
            enterprise_name: "示例企业".to_owned(),
            token: String::new(),
            zone: Fields::default(),
        }),
        Some(chosen) => {
            let (enterprise, code) = visible_code(state, &signed.caller, chosen.id.clone()).await?;
            let zone = find_template(state, &signed.caller, Target::Zone).await?;
            Ok(Around {
                title: format!("{} 的附加字段", enterprise.name),
                enterprise_name: enterprise.name,
                token: code.token,
                zone: zone.fields,
            })
        }
    }
}

/// The list as posted: specs in order, and what could not be read.
#[derive(Default)]
struct Draft {
    specs: Vec<FieldSpec>,
    errors: Vec<FieldError>,
}

fn name(index: usize, attribute: &str) -> String {
    format!("fields[{index}].{attribute}")
}

impl Draft {
    fn of(fields: &Fields) -> Self {
        Self {
            specs: fields.specs().to_vec(),
            errors: Vec::new(),
        }
    }

    /// Reads rows `fields[0].…` on while their key is there (at most one more than
    /// allowed, which validation then refuses).
    fn read(posted: &Posted) -> Self {
        let mut draft = Self::default();
        for index in 0..=MAX_FIELDS {
            let Some(key) = posted.value(&name(index, "key")) else {
                break;
            };
            let text = |attribute| {
                posted
                    .value(&name(index, attribute))
                    .unwrap_or_default()
                    .to_owned()
            };
            let kind_value = text("kind");
            let kind = KINDS
                .iter()
                .find(|(_, value, _)| *value == kind_value)
                .map(|(kind, _, _)| *kind)
                .unwrap_or_else(|| {
                    draft.errors.push(FieldError::new(
                        name(index, "type"),
                        "invalid_type",
                        "请选择字段类型",
                    ));
                    FieldKind::Text
                });
            let help = text("help");
            let spec = FieldSpec {
                key: key.trim().to_owned(),
                label: text("label"),
                kind,
                required: posted.value(&name(index, "required")) == Some("yes"),
                help: Some(help).filter(|help| !help.trim().is_empty()),
                min_length: draft.number(index, posted, "min_length"),
                max_length: draft.number(index, posted, "max_length"),
                min: draft.decimal(index, posted, "min"),
                max: draft.decimal(index, posted, "max"),
                options: text("options")
                    .lines()
                    .map(str::trim)
                    .filter(|option| !option.is_empty())
                    .map(str::to_owned)
                    .collect(),
                unit: None,
                fields: Vec::new(),
                max_rows: None,
            };
            draft.specs.push(spec);
        }
        draft
    }

    /// An optional number of a row; what is not one is an error.
    fn number<T: std::str::FromStr>(
        &mut self,
        index: usize,
        posted: &Posted,
        attribute: &str,
    ) -> Option<T> {
        let raw = posted
            .value(&name(index, attribute))
            .unwrap_or_default()
            .trim();
        if raw.is_empty() {
            return None;
        }
        let parsed = raw.parse().ok();
        if parsed.is_none() {
            self.errors.push(FieldError::new(
                name(index, attribute),
                "invalid_number",
                "请填写数字（整数或小数，长度须为整数）",
            ));
        }
        parsed
    }

    /// An optional finite decimal of a row (`NaN` and infinities are no bounds).
    fn decimal(&mut self, index: usize, posted: &Posted, attribute: &str) -> Option<f64> {
        let value: Option<f64> = self.number(index, posted, attribute);
        match value {
            Some(value) if !value.is_finite() => {
                self.errors.push(FieldError::new(
                    name(index, attribute),
                    "invalid_number",
                    "请填写数字（整数或小数）",
                ));
                None
            }
            value => value,
        }
    }

    /// Applies a button: add a row, move one up or down, remove one.
    fn apply(&mut self, op: &str) {
        let (verb, index) = op.split_once('-').unwrap_or((op, ""));
        let index: Option<usize> = index.parse().ok().filter(|i| *i < self.specs.len());
        match (verb, index) {
            ("add", _) => {
                let key = (1..)
                    .map(|n| format!("field_{n}"))
                    .find(|key| self.specs.iter().all(|spec| spec.key != *key))
                    .unwrap_or_default();
                self.specs.push(FieldSpec {
                    key,
                    label: String::new(),
                    kind: FieldKind::Text,
                    required: false,
                    help: None,
                    min_length: None,
                    max_length: None,
                    min: None,
                    max: None,
                    options: Vec::new(),
                    unit: None,
                    fields: Vec::new(),
                    max_rows: None,
                });
            }
            ("up", Some(index)) if index > 0 => self.moved(|specs| specs.swap(index, index - 1)),
            ("down", Some(index)) if index + 1 < self.specs.len() => {
                self.moved(|specs| specs.swap(index, index + 1));
            }
            ("remove", Some(index)) => self.moved(|specs| drop(specs.remove(index))),
            _ => {}
        }
    }

    /// Rows moved or removed: errors of reading belong to the old order (what could
    /// not be read is left empty).
    fn moved(&mut self, change: impl FnOnce(&mut Vec<FieldSpec>)) {
        change(&mut self.specs);
        self.errors.clear();
    }

    /// Validates the list: the fields, or every error (reading errors first).
    fn validate(&self) -> Result<Fields, Vec<FieldError>> {
        let parsed = parse_specs(self.specs.clone());
        match (parsed, self.errors.is_empty()) {
            (Ok(fields), true) => Ok(fields),
            (Ok(_), false) => Err(self.errors.clone()),
            (Err(errors), _) => Err(self.errors.iter().cloned().chain(errors).collect()),
        }
    }

    /// The fields to preview: the rows without errors.
    fn previewed(&self, errors: &[FieldError]) -> Fields {
        let bad: BTreeSet<usize> = errors
            .iter()
            .filter_map(|error| {
                let rest = error.field.strip_prefix("fields[")?;
                rest.split(']').next()?.parse().ok()
            })
            .collect();
        let good = self
            .specs
            .iter()
            .enumerate()
            .filter(|(index, _)| !bad.contains(index))
            .map(|(_, spec)| spec.clone())
            .collect();
        parse_specs(good).unwrap_or_default()
    }
}

/// The driver's form as the driver would see it, with the edited fields, drawn by
/// the driver page's renderer; disabled, so nothing can be submitted from it.
fn preview(state: &AppState, editing: &Editing, around: &Around, fields: &Fields) -> Markup {
    let values = Values::fresh(None);
    let none = Fields::default();
    let (zone_fields, enterprise_fields) = match editing.target {
        Target::Zone => (fields, &none),
        Target::Enterprise(_) => (&around.zone, fields),
    };
    html! {
        fieldset.preview disabled {
            (form::render(&FormPage {
                token: &around.token,
                enterprise_name: &around.enterprise_name,
                zone_fields,
                enterprise_fields,
                values: &values,
                errors: &[],
                nonce: "",
                prefilled: false,
                cleared: false,
                stale_key: false,
                retention_days: state.settings.retention_days,
            }))
        }
    }
}

/// The messages of an attribute (and of its parts, as `options[1]`).
fn messages(errors: &[FieldError], field: &str) -> Markup {
    let part = format!("{field}[");
    html! {
        @for error in errors.iter().filter(|e| e.field == field || e.field.starts_with(&part)) {
            p.err role="alert" { (error.message) }
        }
    }
}

fn row(index: usize, count: usize, spec: &FieldSpec, errors: &[FieldError]) -> Markup {
    let n = |attribute| name(index, attribute);
    let number = |value: Option<String>| value.unwrap_or_default();
    html! {
        fieldset.card.row {
            legend { "字段 " (index + 1) }
            div.f {
                label for=(n("label")) { "名称（司机看到的问题）" }
                input type="text" id=(n("label")) name=(n("label")) value=(spec.label) maxlength="40";
                (messages(errors, &n("label")))
            }
            div.f {
                label for=(n("key")) { "标识（小写字母开头，字母数字下划线；保存后不宜再改）" }
                input type="text" id=(n("key")) name=(n("key")) value=(spec.key) maxlength="32";
                (messages(errors, &n("key")))
            }
            div.f {
                label for=(n("kind")) { "类型" }
                select id=(n("kind")) name=(n("kind")) {
                    @for (kind, value, label) in KINDS {
                        option value=(value) selected[kind == spec.kind] { (label) }
                    }
                }
                (messages(errors, &n("type")))
            }
            div.f {
                label.check { input type="checkbox" name=(n("required")) value="yes" checked[spec.required]; " 必填" }
            }
            div.f {
                label for=(n("options")) { "选项（单选、多选用，每行一个）" }
                textarea id=(n("options")) name=(n("options")) rows="3" { (spec.options.join("\n")) }
                (messages(errors, &n("options")))
            }
            div.f {
                label for=(n("help")) { "填写说明（选填）" }
                input type="text" id=(n("help")) name=(n("help")) value=(spec.help.as_deref().unwrap_or_default()) maxlength="200";
                (messages(errors, &n("help")))
            }
            details {
                summary { "长度与数值范围（选填）" }
                div.filters {
                    @for (attribute, label, value) in [
                        ("min_length", "最少字数", number(spec.min_length.map(|v| v.to_string()))),
                        ("max_length", "最多字数", number(spec.max_length.map(|v| v.to_string()))),
                        ("min", "最小值", number(spec.min.map(|v| v.to_string()))),
                        ("max", "最大值", number(spec.max.map(|v| v.to_string()))),
                    ] {
                        label { (label) input type="text" inputmode="decimal" name=(n(attribute)) value=(value) size="8"; }
                    }
                }
                @for attribute in ["min_length", "max_length", "min", "max"] {
                    (messages(errors, &n(attribute)))
                }
            }
            div.actions {
                button.btn.alt type="submit" name="op" value={ "up-" (index) } disabled[index == 0] { "上移" }
                button.btn.alt type="submit" name="op" value={ "down-" (index) } disabled[index + 1 == count] { "下移" }
                button.btn.bad type="submit" name="op" value={ "remove-" (index) } { "删除" }
            }
        }
    }
}

/// The page: the editor with the list, and the preview next to it.
#[expect(clippy::too_many_arguments, reason = "one page, drawn from its parts")]
fn editor(
    state: &AppState,
    signed: &Signed,
    editing: &Editing,
    around: &Around,
    draft: &Draft,
    errors: &[FieldError],
    version: Option<i32>,
    status: StatusCode,
) -> HttpResponse {
    let fields = draft.previewed(errors);
    let general: Vec<&FieldError> = errors
        .iter()
        .filter(|error| !error.field.starts_with("fields["))
        .collect();
    let body = html! {
        h1 { "登记表字段" }
        @if signed.caller.role == Role::Admin {
            nav.card.actions {
                a href=(FIELDS_PATH) aria-current=[editing.chosen.is_none().then_some("page")] { "园区统一字段" }
                span.muted {
                    "某企业的字段：在" a href=(ROSTER_PATH) { "企业名录" } "中打开企业，点“编辑登记表字段”。"
                }
            }
        }
        h2 { (around.title) }
        @match version {
            Some(0) => p.muted { "尚未设置附加字段。" },
            Some(version) => p.muted { "当前为第 " (version) " 版；保存后生成新版本，已提交的登记仍按原版本显示。" },
            None => {},
        }
        @if !errors.is_empty() {
            p.notice.bad role="alert" { "有 " (errors.len()) " 处需要修改，未保存。" }
            @for error in &general { p.err { (error.message) } }
        }
        div.cols {
            form #editor method="post" action=(editing.link(FIELDS_PATH))
                hx-post=(editing.link(PREVIEW_PATH)) hx-trigger="change" hx-target="#preview" {
                (signed.csrf_field())
                p.actions { button.btn.alt type="submit" name="op" value="preview" { "更新预览" } }
                @for (index, spec) in draft.specs.iter().enumerate() {
                    (row(index, draft.specs.len(), spec, errors))
                }
                div.actions {
                    button.btn.alt type="submit" name="op" value="add" { "添加字段" }
                    button.btn type="submit" name="op" value="save" { "保存为新版本" }
                }
            }
            section.card {
                h2 { "司机看到的登记表（预览）" }
                p.muted { "附加字段在表单的「其他信息」部分。预览不能提交。" }
                div #preview { (preview(state, editing, around, &fields)) }
            }
        }
    };
    render(
        status,
        layout::page(
            &state.settings.zone_name,
            signed,
            FIELDS_PATH,
            "登记表字段",
            body,
        ),
    )
}

/// `GET /console/fields`: the current fields in the editor.
pub async fn fields_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let editing = Editing::of(&req, &signed)?;
    let around = around(&state, &signed, &editing).await?;
    let current = find_template(&state, &signed.caller, editing.target.clone()).await?;
    let draft = Draft::of(&current.fields);
    Ok(editor(
        &state,
        &signed,
        &editing,
        &around,
        &draft,
        &[],
        Some(current.version),
        StatusCode::OK,
    ))
}

/// `POST /console/fields`: a button of the editor. `op=save` saves a valid list as a
/// new version (303 back to the page) or shows the list again with its errors (422);
/// `add`, `up-N`, `down-N`, `remove-N` and `preview` change the list on the page only.
pub async fn edit_fields(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let editing = Editing::of(&req, &signed)?;
    let around = around(&state, &signed, &editing).await?;
    let mut draft = Draft::read(&posted);
    let op = posted.value("op").unwrap_or("preview");
    if op == "save" {
        return Ok(match draft.validate() {
            Ok(fields) => {
                save_template(
                    &state,
                    signed.caller.clone(),
                    editing.target.clone(),
                    fields,
                )
                .await?;
                see_other(&editing.link(FIELDS_PATH))
            }
            Err(errors) => editor(
                &state,
                &signed,
                &editing,
                &around,
                &draft,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        });
    }
    draft.apply(op);
    let mut errors = draft.validate().err().unwrap_or_default();
    if op == "add" {
        // The new row is blank by design: no errors for it yet.
        let fresh = format!("fields[{}]", draft.specs.len().saturating_sub(1));
        errors.retain(|error| !error.field.starts_with(&fresh));
    }
    Ok(editor(
        &state,
        &signed,
        &editing,
        &around,
        &draft,
        &errors,
        None,
        StatusCode::OK,
    ))
}

/// `POST /console/fields/preview`: the preview alone, for htmx, from the list as
/// posted (rows with errors left out).
pub async fn preview_fields(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let editing = Editing::of(&req, &signed)?;
    let around = around(&state, &signed, &editing).await?;
    let draft = Draft::read(&posted);
    let errors = draft.validate().err().unwrap_or_default();
    let fields = draft.previewed(&errors);
    Ok(render(
        StatusCode::OK,
        preview(&state, &editing, &around, &fields),
    ))
}
