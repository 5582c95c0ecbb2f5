//! The driver's registration form as HTML: the built-in fields, the zone's and the
//! enterprise's extra fields, the privacy notice and consent. Whatever the driver
//! typed comes back in the fields, and each error sits under its field. Nothing
//! here does IO.

use std::collections::HashMap;
use std::fmt;

use chrono::{TimeDelta, Timelike, Utc};
use maud::{Markup, html};

use crate::domain::person::DocumentType;
use crate::domain::region::{self, Region};
use crate::domain::vehicle::VehicleType;
use crate::domain::visit::Purpose;
use crate::domain::zone;
use crate::error::FieldError;
use crate::forms::fields::{DEFAULT_MAX_LENGTH, FieldKind, FieldSpec, Fields};
use crate::registrations::input::{DriverField as F, ORIGIN_SELECTS};
use crate::registrations::profiles::Profile;

/// The privacy notice drivers consent to (its version is `CONSENT_VERSION`).
pub fn privacy_notice(retention_days: u32) -> String {
    format!(
        "本页面由园区管委会提供，用于外来货车入园登记。您填写的姓名、证件号码、手机号码和车辆信息\
         仅用于本次入园核验和园区安全管理；证件号码和手机号码加密保存，企业和监管人员查看完整号码须说明理由并留痕；\
         个人信息保存 {retention_days} 天后自动匿名化。勾选同意后才会保存。\
         本机会记住您的信息以便下次自动填入，您可随时点「清除我的信息」删除。"
    )
}

/// Submitted values by field name (several for ticked boxes).
#[derive(Debug, Default)]
pub struct Values(HashMap<String, Vec<String>>);

impl Values {
    /// From a submitted form's pairs.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in pairs {
            map.entry(key.clone()).or_default().push(value.clone());
        }
        Self(map)
    }

    /// A new form: a resident ID, arrival at the next full hour, one person in the cab,
    /// and whatever the driver's profile holds (pass it masked: the form is sent to
    /// the browser).
    pub fn fresh(profile: Option<&Profile>) -> Self {
        let mut values = Self::default();
        let arrival = Utc::now().naive_utc() + TimeDelta::hours(1);
        let arrival = arrival
            .with_minute(0)
            .and_then(|time| time.with_second(0))
            .unwrap_or(arrival);
        values.set(F::ExpectedArrival.name(), &zone::minute_text(arrival));
        values.set(F::PeopleInCab.name(), "1");
        values.set(F::DocumentType.name(), DocumentType::ResidentId.as_str());
        if let Some(profile) = profile {
            values.set(F::DriverName.name(), &profile.driver_name);
            values.set(F::DocumentType.name(), profile.document_type.as_str());
            values.set(F::DocumentNumber.name(), &profile.document_number);
            values.set(F::Phone.name(), &profile.phone);
            values.set(F::Plate.name(), &profile.plate);
            values.set(
                F::TrailerPlate.name(),
                profile.trailer_plate.as_deref().unwrap_or(""),
            );
            values.set(F::VehicleType.name(), profile.vehicle_type.as_str());
            for (name, region) in ORIGIN_SELECTS
                .iter()
                .zip(region::lineage(&profile.origin_region))
            {
                values.set(name, region.code);
            }
        }
        values
    }

    fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), vec![value.to_owned()]);
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|list| list.first())
            .map_or("", String::as_str)
    }

    fn has(&self, name: &str, value: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|list| list.iter().any(|v| v == value))
    }
}

/// Everything one rendering of the form needs.
pub struct FormPage<'a> {
    /// The code's token (the form posts back to `/r/{token}`).
    pub token: &'a str,
    /// The enterprise's name.
    pub enterprise_name: &'a str,
    /// The zone's extra fields.
    pub zone_fields: &'a Fields,
    /// The enterprise's extra fields.
    pub enterprise_fields: &'a Fields,
    /// What the fields hold.
    pub values: &'a Values,
    /// What was wrong with the last submit.
    pub errors: &'a [FieldError],
    /// The one-time nonce this form submits with.
    pub nonce: &'a str,
    /// Whether the fields came from the driver's saved profile.
    pub prefilled: bool,
    /// Whether the driver just erased the saved profile.
    pub cleared: bool,
    /// Whether the browser presented a key that no longer reaches a profile (its
    /// script then drops its copy).
    pub stale_key: bool,
    /// Days personal data is kept, for the privacy notice.
    pub retention_days: u32,
}

/// The options of a select or a choice: stored name and label of every value.
fn choices_of<T: Copy>(
    all: &[T],
    pair: impl Fn(T) -> (&'static str, &'static str),
) -> Vec<(&'static str, &'static str)> {
    all.iter().copied().map(pair).collect()
}

/// What sets one `<input>` apart, beyond its name, value and whether it is required.
#[derive(Clone, Copy, Default)]
struct Input {
    kind: Option<&'static str>,
    inputmode: Option<&'static str>,
    maxlength: Option<u32>,
    autocomplete: Option<&'static str>,
    /// A code typed in capitals, without spell checking (document numbers, plates).
    code: bool,
    placeholder: Option<&'static str>,
    /// The least and the greatest number.
    range: Option<(u8, u8)>,
}

impl Input {
    fn of_kind(kind: &'static str) -> Self {
        Self {
            kind: Some(kind),
            ..Self::default()
        }
    }

    fn max(maxlength: u32) -> Self {
        Self {
            maxlength: Some(maxlength),
            ..Self::default()
        }
    }
}

/// The id of a field's error message, which its input points to.
struct ErrorId<'a>(&'a str);

impl fmt::Display for ErrorId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-err", self.0)
    }
}

/// The mark after an optional field's label.
fn optional(required: bool) -> Markup {
    html! {
        @if !required {
            small { "（选填）" }
        }
    }
}

struct Writer<'a> {
    values: &'a Values,
    /// Errors by field, taken as each is shown under its field: what is left at the
    /// end belongs to no field on this form.
    errors: HashMap<&'a str, &'a str>,
}

impl<'a> Writer<'a> {
    fn has_error(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }

    fn error(&mut self, name: &str) -> Markup {
        let message = self.errors.remove(name);
        html! {
            @if let Some(message) = message {
                p.err id=(ErrorId(name)) { (message) }
            }
        }
    }

    /// The `<input>` of a built-in field.
    fn builtin(&mut self, field: F, required: bool, input: Input) -> Markup {
        self.input(field.name(), field.label(), required, input, None)
    }

    fn input(
        &mut self,
        name: &str,
        label: &str,
        required: bool,
        input: Input,
        help: Option<&str>,
    ) -> Markup {
        let values = self.values;
        let invalid = self.has_error(name);
        let code = input.code;
        html! {
            div.f.bad[invalid] {
                label for=(name) { (label) (optional(required)) }
                input id=(name) name=(name) value=(values.get(name)) required[required]
                    aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then_some(ErrorId(name))]
                    type=[input.kind] inputmode=[input.inputmode] maxlength=[input.maxlength]
                    autocomplete=[input.autocomplete]
                    autocapitalize=[code.then_some("characters")]
                    spellcheck=[code.then_some("false")]
                    placeholder=[input.placeholder]
                    min=[input.range.map(|(min, _)| min)] max=[input.range.map(|(_, max)| max)];
                @if let Some(help) = help {
                    p.help { (help) }
                }
                (self.error(name))
            }
        }
    }

    fn select(
        &mut self,
        name: &str,
        label: &str,
        options: &[(&str, &str)],
        placeholder: &str,
    ) -> Markup {
        html! {
            div.f.bad[self.has_error(name)] {
                label for=(name) { (label) }
                select id=(name) name=(name) {
                    option value="" { (placeholder) }
                    (self.options(name, options.iter().copied()))
                }
                (self.error(name))
            }
        }
    }

    fn options<'o>(
        &self,
        name: &str,
        options: impl IntoIterator<Item = (&'o str, &'o str)>,
    ) -> Markup {
        let current = self.values.get(name);
        html! {
            @for (value, text) in options {
                option value=(value) selected[value == current] { (text) }
            }
        }
    }

    /// Radio buttons, or check boxes when `multiple`.
    fn choices(
        &mut self,
        name: &str,
        label: &str,
        required: bool,
        options: &[(&str, &str)],
        multiple: bool,
    ) -> Markup {
        let values = self.values;
        let kind = if multiple { "checkbox" } else { "radio" };
        html! {
            fieldset.f.bad[self.has_error(name)] id=(name) {
                legend { (label) (optional(required)) }
                div.opts {
                    @for (value, text) in options {
                        label.opt {
                            input type=(kind) name=(name) value=(value)
                                checked[values.has(name, value)];
                            " " (text)
                        }
                    }
                }
                (self.error(name))
            }
        }
    }

    fn extra(&mut self, prefix: &str, spec: &FieldSpec) -> Markup {
        let name = format!("{prefix}{}", spec.key);
        let (label, required, help) = (spec.label.as_str(), spec.required, spec.help.as_deref());
        let options: Vec<(&str, &str)> = spec
            .options
            .iter()
            .map(|o| (o.as_str(), o.as_str()))
            .collect();
        match spec.kind {
            FieldKind::Text => {
                let max = spec.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
                self.input(&name, label, required, Input::max(max), help)
            }
            FieldKind::Number => {
                let input = Input {
                    inputmode: Some("decimal"),
                    ..Input::default()
                };
                self.input(&name, label, required, input, help)
            }
            FieldKind::Date => self.input(&name, label, required, Input::of_kind("date"), help),
            FieldKind::DateTime => {
                let input = Input::of_kind("datetime-local");
                self.input(&name, label, required, input, help)
            }
            FieldKind::SingleChoice if options.len() > 6 => {
                self.select(&name, label, &options, "请选择")
            }
            FieldKind::SingleChoice => self.choices(&name, label, required, &options, false),
            FieldKind::MultipleChoice => self.choices(&name, label, required, &options, true),
            FieldKind::YesNo => {
                let options = [("yes", "是"), ("no", "否")];
                self.choices(&name, label, required, &options, false)
            }
            // Questionnaires' kinds: a registration form never holds them
            // (`Fields::parse` refuses them).
            FieldKind::Section
            | FieldKind::Phone
            | FieldKind::Repeat
            | FieldKind::Location
            | FieldKind::Photo => html! {},
        }
    }

    fn region(&mut self) -> Markup {
        let [province, city, county] = ORIGIN_SELECTS;
        let (province_code, city_code) = (self.values.get(province), self.values.get(city));
        let cities = region::children(province_code);
        let counties = if cities.iter().any(|c| c.code == city_code) {
            region::children(city_code)
        } else {
            Vec::new()
        };
        let levels: [(&str, &str, Vec<&Region>); 3] = [
            (province, "省份", region::provinces()),
            (city, "城市", cities),
            (county, "区县", counties),
        ];
        let field = F::OriginRegion;
        html! {
            fieldset.f.bad[self.has_error(field.name())] id=(field.name()) {
                legend { (field.label()) }
                div.region {
                    @for (name, placeholder, regions) in &levels {
                        select name=(name) aria-label=(placeholder) {
                            option value="" { (placeholder) }
                            (self.options(name, regions.iter().map(|r| (r.code, r.name))))
                        }
                    }
                }
                noscript {
                    button.step name="step" value="region" { "列出下一级地区" }
                }
                (self.error(field.name()))
            }
        }
    }

    /// Errors of fields not on this form (say, a template changed meanwhile), in a
    /// stable order.
    fn rest(&self) -> Markup {
        let mut rest: Vec<(&str, &str)> = self.errors.iter().map(|(k, v)| (*k, *v)).collect();
        rest.sort_unstable();
        html! {
            @if !rest.is_empty() {
                div.notice.bad {
                    @for (_, message) in rest {
                        p { (message) }
                    }
                }
            }
        }
    }
}

/// Renders the form (the page around it is the caller's).
pub fn render(form: &FormPage<'_>) -> Markup {
    let mut w = Writer {
        values: form.values,
        errors: form
            .errors
            .iter()
            .rev()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect(),
    };
    let documents = choices_of(DocumentType::ALL, |d| (d.as_str(), d.label()));
    let vehicles = choices_of(VehicleType::ALL, |v| (v.as_str(), v.label()));
    let purposes = choices_of(Purpose::ALL, |p| (p.as_str(), p.label()));
    let document_number = Input {
        autocomplete: Some("off"),
        code: true,
        ..Input::max(30)
    };
    let phone = Input {
        kind: Some("tel"),
        inputmode: Some("numeric"),
        autocomplete: Some("tel"),
        ..Input::max(20)
    };
    let plate = |placeholder| Input {
        code: true,
        placeholder: Some(placeholder),
        ..Input::max(12)
    };
    let people = Input {
        inputmode: Some("numeric"),
        range: Some((1, 9)),
        ..Input::of_kind("number")
    };
    let extra: Vec<(&str, &FieldSpec)> = form
        .zone_fields
        .specs()
        .iter()
        .map(|spec| ("answers.zone.", spec))
        .chain(
            form.enterprise_fields
                .specs()
                .iter()
                .map(|spec| ("answers.enterprise.", spec)),
        )
        .collect();
    let consent = F::Consent.name();
    html! {
        h1 { (form.enterprise_name) }
        p.lead { "外来货车司机入园登记，填写约 1 分钟" }
        @if !form.errors.is_empty() {
            p.notice.bad role="alert" { "有 " (form.errors.len()) " 处需要修改，请看标红的项目。" }
        }
        @if form.cleared {
            p.notice.ok { "已清除您保存的信息。" }
        } @else if form.prefilled {
            p.notice.ok { "已填入您上次登记的信息，请核对，有变化的改一下即可。" }
        }
        form id="reg" method="post" action={ "/r/" (form.token) }
            data-prefilled=[form.prefilled.then_some("1")]
            data-cleared=[(form.cleared || form.stale_key).then_some("1")] {
            input type="hidden" name="nonce" value=(form.nonce);
            h2 { "司机信息" }
            (w.builtin(F::DriverName, true, Input { autocomplete: Some("name"), ..Input::max(30) }))
            (w.select(F::DocumentType.name(), F::DocumentType.label(), &documents, "请选择"))
            (w.builtin(F::DocumentNumber, true, document_number))
            button.key type="button" id="idx" hidden { "输入 X" }
            (w.builtin(F::Phone, true, phone))
            h2 { "车辆信息" }
            (w.builtin(F::Plate, true, plate("如 闽A12345")))
            (w.builtin(F::TrailerPlate, false, plate("如 闽A1234挂")))
            (w.select(F::VehicleType.name(), F::VehicleType.label(), &vehicles, "请选择"))
            (w.region())
            h2 { "本次来访" }
            (w.builtin(F::Cargo, true, Input { placeholder: Some("如 钢材 20 吨"), ..Input::max(100) }))
            (w.choices(F::Purpose.name(), F::Purpose.label(), true, &purposes, false))
            (w.builtin(F::ExpectedArrival, true, Input::of_kind("datetime-local")))
            (w.builtin(F::PeopleInCab, true, people))
            @if !extra.is_empty() {
                h2 { "其他信息" }
                @for (prefix, spec) in &extra {
                    (w.extra(prefix, spec))
                }
            }
            h2 { "个人信息保护" }
            p.privacy { (privacy_notice(form.retention_days)) }
            div.f.bad[w.has_error(consent)] {
                label.opt.consent {
                    input type="checkbox" name=(consent) value="yes" id=(consent)
                        checked[form.values.has(consent, "yes")];
                    " " (F::Consent.label())
                }
                (w.error(consent))
            }
            (w.rest())
            button.go type="submit" id="go" { "提交登记" }
        }
        @if form.prefilled {
            form method="post" action={ "/r/" (form.token) "/forget" } {
                button.link type="submit" { "清除我的信息" }
            }
        }
    }
}
