//! The driver's registration form as HTML: the built-in fields, the zone's and the
//! enterprise's extra fields, the privacy notice and consent. Whatever the driver
//! typed comes back in the fields, and each error sits under its field. Nothing
//! here does IO.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{TimeDelta, Timelike, Utc};

use crate::domain::person::DocumentType;
use crate::domain::region::{self, Region};
use crate::domain::vehicle::VehicleType;
use crate::domain::visit::Purpose;
use crate::domain::zone;
use crate::error::FieldError;
use crate::forms::fields::{DEFAULT_MAX_LENGTH, FieldKind, FieldSpec, Fields};
use crate::registrations::input::{DriverField as F, ORIGIN_SELECTS};
use crate::registrations::profiles::Profile;
use crate::web::escape;

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

struct Writer<'a> {
    html: String,
    values: &'a Values,
    errors: HashMap<&'a str, &'a str>,
}

impl Writer<'_> {
    fn error(&mut self, name: &str) {
        if let Some(message) = self.errors.remove(name) {
            let _ = write!(
                self.html,
                "<p class=\"err\" id=\"{id}-err\">{message}</p>",
                id = escape(name),
                message = escape(message)
            );
        }
    }

    /// The field's class (marked when it has an error) and the mark after an
    /// optional field's label.
    fn decoration(&self, name: &str, required: bool) -> (&'static str, &'static str) {
        let class = if self.errors.contains_key(name) {
            "f bad"
        } else {
            "f"
        };
        let mark = if required {
            ""
        } else {
            "<small>（选填）</small>"
        };
        (class, mark)
    }

    fn open(&mut self, name: &str, label: &str, required: bool) {
        let (class, mark) = self.decoration(name, required);
        let _ = write!(
            self.html,
            "<div class=\"{class}\"><label for=\"{id}\">{label}{mark}</label>",
            id = escape(name),
            label = escape(label),
        );
    }

    fn close(&mut self, name: &str, help: Option<&str>) {
        if let Some(help) = help {
            let _ = write!(self.html, "<p class=\"help\">{}</p>", escape(help));
        }
        self.error(name);
        self.html.push_str("</div>");
    }

    /// The `<input>` of a built-in field; `attrs` are trusted attribute text.
    fn builtin(&mut self, field: F, required: bool, attrs: &str, help: Option<&str>) {
        self.input(field.name(), field.label(), required, attrs, help);
    }

    /// An `<input>`; `attrs` are trusted attribute text.
    fn input(&mut self, name: &str, label: &str, required: bool, attrs: &str, help: Option<&str>) {
        self.open(name, label, required);
        let described = if self.errors.contains_key(name) {
            format!(
                " aria-invalid=\"true\" aria-describedby=\"{}-err\"",
                escape(name)
            )
        } else {
            String::new()
        };
        let _ = write!(
            self.html,
            "<input id=\"{id}\" name=\"{id}\" value=\"{value}\"{req}{described} {attrs}>",
            id = escape(name),
            value = escape(self.values.get(name)),
            req = if required { " required" } else { "" },
        );
        self.close(name, help);
    }

    fn select(&mut self, name: &str, label: &str, options: &[(&str, &str)], placeholder: &str) {
        self.open(name, label, true);
        let _ = write!(
            self.html,
            "<select id=\"{id}\" name=\"{id}\"><option value=\"\">{placeholder}</option>",
            id = escape(name)
        );
        self.options(name, options);
        self.html.push_str("</select>");
        self.close(name, None);
    }

    fn options(&mut self, name: &str, options: &[(&str, &str)]) {
        let current = self.values.get(name);
        for (value, text) in options {
            let selected = if *value == current { " selected" } else { "" };
            let _ = write!(
                self.html,
                "<option value=\"{}\"{selected}>{}</option>",
                escape(value),
                escape(text)
            );
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
    ) {
        let (class, mark) = self.decoration(name, required);
        let _ = write!(
            self.html,
            "<fieldset class=\"{class}\" id=\"{id}\"><legend>{label}{mark}</legend><div class=\"opts\">",
            id = escape(name),
            label = escape(label),
        );
        let kind = if multiple { "checkbox" } else { "radio" };
        for (value, text) in options {
            let checked = if self.values.has(name, value) {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                self.html,
                "<label class=\"opt\"><input type=\"{kind}\" name=\"{}\" value=\"{}\"{checked}> {}</label>",
                escape(name),
                escape(value),
                escape(text)
            );
        }
        self.html.push_str("</div>");
        self.error(name);
        self.html.push_str("</fieldset>");
    }

    fn extra(&mut self, prefix: &str, spec: &FieldSpec) {
        let name = format!("{prefix}{}", spec.key);
        let help = spec.help.as_deref();
        let options: Vec<(&str, &str)> = spec
            .options
            .iter()
            .map(|o| (o.as_str(), o.as_str()))
            .collect();
        match spec.kind {
            FieldKind::Text => {
                let max = spec.max_length.unwrap_or(DEFAULT_MAX_LENGTH);
                self.input(
                    &name,
                    &spec.label,
                    spec.required,
                    &format!("maxlength=\"{max}\""),
                    help,
                );
            }
            FieldKind::Number => self.input(
                &name,
                &spec.label,
                spec.required,
                "inputmode=\"decimal\"",
                help,
            ),
            FieldKind::Date => self.input(&name, &spec.label, spec.required, "type=\"date\"", help),
            FieldKind::DateTime => self.input(
                &name,
                &spec.label,
                spec.required,
                "type=\"datetime-local\"",
                help,
            ),
            FieldKind::SingleChoice if options.len() > 6 => {
                self.select(&name, &spec.label, &options, "请选择");
            }
            FieldKind::SingleChoice => {
                self.choices(&name, &spec.label, spec.required, &options, false)
            }
            FieldKind::MultipleChoice => {
                self.choices(&name, &spec.label, spec.required, &options, true)
            }
            FieldKind::YesNo => self.choices(
                &name,
                &spec.label,
                spec.required,
                &[("yes", "是"), ("no", "否")],
                false,
            ),
        }
    }

    fn region(&mut self) {
        let [province, city, county] = ORIGIN_SELECTS;
        let (province_code, city_code) = (self.values.get(province), self.values.get(city));
        let cities = region::children(province_code);
        let counties = if cities.iter().any(|c| c.code == city_code) {
            region::children(city_code)
        } else {
            Vec::new()
        };
        let field = F::OriginRegion;
        let has_error = self.errors.contains_key(field.name());
        let _ = write!(
            self.html,
            "<fieldset class=\"f{bad}\" id=\"{id}\"><legend>{label}</legend><div class=\"region\">",
            bad = if has_error { " bad" } else { "" },
            id = field.name(),
            label = field.label(),
        );
        let levels: [(&str, &str, Vec<&Region>); 3] = [
            (province, "省份", region::provinces()),
            (city, "城市", cities),
            (county, "区县", counties),
        ];
        for (name, placeholder, regions) in levels {
            let options: Vec<(&str, &str)> = regions.iter().map(|r| (r.code, r.name)).collect();
            let _ = write!(
                self.html,
                "<select name=\"{name}\" aria-label=\"{placeholder}\"><option value=\"\">{placeholder}</option>"
            );
            self.options(name, &options);
            self.html.push_str("</select>");
        }
        self.html.push_str(
            "</div><noscript><button class=\"step\" name=\"step\" value=\"region\">列出下一级地区</button></noscript>",
        );
        self.error(field.name());
        self.html.push_str("</fieldset>");
    }
}

/// Renders the form (the page around it is the caller's).
pub fn render(form: &FormPage<'_>) -> String {
    let mut w = Writer {
        html: String::with_capacity(16 * 1024),
        values: form.values,
        errors: form
            .errors
            .iter()
            .rev()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect(),
    };
    let _ = write!(
        w.html,
        "<h1>{}</h1><p class=\"lead\">外来货车司机入园登记，填写约 1 分钟</p>",
        escape(form.enterprise_name)
    );
    if !form.errors.is_empty() {
        let _ = write!(
            w.html,
            "<p class=\"notice bad\" role=\"alert\">有 {} 处需要修改，请看标红的项目。</p>",
            form.errors.len()
        );
    }
    if form.cleared {
        w.html
            .push_str("<p class=\"notice ok\">已清除您保存的信息。</p>");
    } else if form.prefilled {
        w.html.push_str(
            "<p class=\"notice ok\">已填入您上次登记的信息，请核对，有变化的改一下即可。</p>",
        );
    }
    let _ = write!(
        w.html,
        "<form id=\"reg\" method=\"post\" action=\"/r/{token}\"{prefilled}{cleared}>\
         <input type=\"hidden\" name=\"nonce\" value=\"{nonce}\">",
        token = escape(form.token),
        nonce = escape(form.nonce),
        prefilled = if form.prefilled {
            " data-prefilled=\"1\""
        } else {
            ""
        },
        cleared = if form.cleared || form.stale_key {
            " data-cleared=\"1\""
        } else {
            ""
        },
    );
    w.html.push_str("<h2>司机信息</h2>");
    w.builtin(
        F::DriverName,
        true,
        "maxlength=\"30\" autocomplete=\"name\"",
        None,
    );
    let documents = choices_of(DocumentType::ALL, |d| (d.as_str(), d.label()));
    w.select(
        F::DocumentType.name(),
        F::DocumentType.label(),
        &documents,
        "请选择",
    );
    w.builtin(
        F::DocumentNumber,
        true,
        "maxlength=\"30\" autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\"",
        None,
    );
    w.html
        .push_str("<button type=\"button\" id=\"idx\" class=\"key\" hidden>输入 X</button>");
    w.builtin(
        F::Phone,
        true,
        "type=\"tel\" inputmode=\"numeric\" maxlength=\"20\" autocomplete=\"tel\"",
        None,
    );
    w.html.push_str("<h2>车辆信息</h2>");
    w.builtin(
        F::Plate,
        true,
        "maxlength=\"12\" autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"如 闽A12345\"",
        None,
    );
    w.builtin(
        F::TrailerPlate,
        false,
        "maxlength=\"12\" autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"如 闽A1234挂\"",
        None,
    );
    let vehicles = choices_of(VehicleType::ALL, |v| (v.as_str(), v.label()));
    w.select(
        F::VehicleType.name(),
        F::VehicleType.label(),
        &vehicles,
        "请选择",
    );
    w.region();
    w.html.push_str("<h2>本次来访</h2>");
    w.builtin(
        F::Cargo,
        true,
        "maxlength=\"100\" placeholder=\"如 钢材 20 吨\"",
        None,
    );
    let purposes = choices_of(Purpose::ALL, |p| (p.as_str(), p.label()));
    w.choices(
        F::Purpose.name(),
        F::Purpose.label(),
        true,
        &purposes,
        false,
    );
    w.builtin(F::ExpectedArrival, true, "type=\"datetime-local\"", None);
    w.builtin(
        F::PeopleInCab,
        true,
        "type=\"number\" inputmode=\"numeric\" min=\"1\" max=\"9\"",
        None,
    );
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
    if !extra.is_empty() {
        w.html.push_str("<h2>其他信息</h2>");
        for (prefix, spec) in extra {
            w.extra(prefix, spec);
        }
    }
    let _ = write!(
        w.html,
        "<h2>个人信息保护</h2><p class=\"privacy\">{notice}</p>\
         <div class=\"f{bad}\"><label class=\"opt consent\"><input type=\"checkbox\" name=\"{name}\" value=\"yes\" id=\"{name}\"{checked}> {label}</label>",
        notice = privacy_notice(form.retention_days),
        name = F::Consent.name(),
        label = F::Consent.label(),
        bad = if w.errors.contains_key(F::Consent.name()) {
            " bad"
        } else {
            ""
        },
        checked = if form.values.has(F::Consent.name(), "yes") {
            " checked"
        } else {
            ""
        },
    );
    w.error(F::Consent.name());
    w.html.push_str("</div>");
    if !w.errors.is_empty() {
        // Errors of fields not on this form (say, a template changed meanwhile).
        let mut rest: Vec<(&str, &str)> = w.errors.iter().map(|(k, v)| (*k, *v)).collect();
        rest.sort_unstable();
        w.html.push_str("<div class=\"notice bad\">");
        for (_, message) in rest {
            let _ = write!(w.html, "<p>{}</p>", escape(message));
        }
        w.html.push_str("</div>");
    }
    w.html
        .push_str("<button id=\"go\" class=\"go\" type=\"submit\">提交登记</button></form>");
    if form.prefilled {
        let _ = write!(
            w.html,
            "<form method=\"post\" action=\"/r/{}/forget\"><button class=\"link\" type=\"submit\">清除我的信息</button></form>",
            escape(form.token)
        );
    }
    w.html
}
