//! Extra fields of the registration form: what an admin or an enterprise contact may
//! add to the built-in form, and how a driver's answers to them are checked.
//! Templates are data; nothing here does IO.
//!
//! `spec` holds the template side (kinds, specs and their validation), `answers` the
//! driver's side (checking and normalising answers against a template).

mod answers;
mod spec;

pub use spec::{
    DEFAULT_MAX_LENGTH, DEFAULT_MAX_ROWS, FieldKind, FieldSpec, Fields, MAX_FIELDS, MAX_LENGTH_CAP,
    MAX_PHOTOS, is_valid_key,
};

/// Specs, templates and error helpers shared by the unit tests of both sides.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod fixtures {
    use serde_json::json;

    use super::{FieldKind, FieldSpec, Fields};
    use crate::error::FieldError;

    /// Keys of the built-in form.
    pub(super) const RESERVED: [&str; 3] = ["name", "phone", "plate"];

    pub(super) fn spec(key: &str, kind: FieldKind) -> FieldSpec {
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
            unit: None,
            fields: Vec::new(),
            max_rows: None,
        }
    }

    pub(super) fn choice(key: &str, kind: FieldKind, options: &[&str]) -> FieldSpec {
        FieldSpec {
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            ..spec(key, kind)
        }
    }

    /// A template with every kind, as a JSON body would bring it.
    pub(super) fn every_kind() -> Vec<FieldSpec> {
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

    pub(super) fn template() -> Fields {
        Fields::parse(every_kind(), &RESERVED).unwrap()
    }

    /// `(field, code)` of each error, in order.
    pub(super) fn codes<T: std::fmt::Debug>(
        result: Result<T, Vec<FieldError>>,
    ) -> Vec<(String, &'static str)> {
        result
            .expect_err("should be refused")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    pub(super) fn one(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
        vec![(field.to_owned(), code)]
    }
}
