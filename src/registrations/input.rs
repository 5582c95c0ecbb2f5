//! What a driver submits, as the JSON API and the page's form send it, and its
//! validation into domain types. The built-in fields are named once, in
//! [`DriverField`]; the extra fields come from the zone's and the enterprise's
//! templates. Nothing here does IO.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::person::{DocumentNumber, DocumentType, Mobile, PersonName};
use crate::domain::region::{self, RegionCode};
use crate::domain::text::{self, bounded};
use crate::domain::vehicle::{Plate, VehicleType};
use crate::domain::visit::Purpose;
use crate::domain::zone;
use crate::error::{FieldError, FieldErrors};
use crate::forms::template::TemplateView;

/// A built-in field of the driver's form: its name in the JSON body, in the page's
/// form and in field errors, and its label on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverField {
    /// 同意个人信息处理规则.
    Consent,
    /// 姓名.
    DriverName,
    /// 证件类型.
    DocumentType,
    /// 证件号码.
    DocumentNumber,
    /// 手机号码.
    Phone,
    /// 车牌号.
    Plate,
    /// 挂车号牌.
    TrailerPlate,
    /// 车辆类型.
    VehicleType,
    /// 车辆出发地 (three selects on the page).
    OriginRegion,
    /// 货物.
    Cargo,
    /// 来访事由.
    Purpose,
    /// 预计到达时间 (zone time).
    ExpectedArrival,
    /// 驾驶室人数.
    PeopleInCab,
}

impl DriverField {
    /// Every built-in field, in the form's order.
    pub const ALL: [DriverField; 13] = [
        DriverField::Consent,
        DriverField::DriverName,
        DriverField::DocumentType,
        DriverField::DocumentNumber,
        DriverField::Phone,
        DriverField::Plate,
        DriverField::TrailerPlate,
        DriverField::VehicleType,
        DriverField::OriginRegion,
        DriverField::Cargo,
        DriverField::Purpose,
        DriverField::ExpectedArrival,
        DriverField::PeopleInCab,
    ];

    /// The field's name.
    pub fn name(self) -> &'static str {
        match self {
            DriverField::Consent => "consent",
            DriverField::DriverName => "driver_name",
            DriverField::DocumentType => "document_type",
            DriverField::DocumentNumber => "document_number",
            DriverField::Phone => "phone",
            DriverField::Plate => "plate",
            DriverField::TrailerPlate => "trailer_plate",
            DriverField::VehicleType => "vehicle_type",
            DriverField::OriginRegion => "origin_region",
            DriverField::Cargo => "cargo",
            DriverField::Purpose => "purpose",
            DriverField::ExpectedArrival => "expected_arrival",
            DriverField::PeopleInCab => "people_in_cab",
        }
    }

    /// The field's label on the page.
    pub fn label(self) -> &'static str {
        match self {
            DriverField::Consent => "我已阅读并同意上述个人信息处理规则",
            DriverField::DriverName => "姓名",
            DriverField::DocumentType => "证件类型",
            DriverField::DocumentNumber => "证件号码",
            DriverField::Phone => "手机号码",
            DriverField::Plate => "车牌号",
            DriverField::TrailerPlate => "挂车号牌",
            DriverField::VehicleType => "车辆类型",
            DriverField::OriginRegion => "车辆出发地",
            DriverField::Cargo => "货物",
            DriverField::Purpose => "来访事由",
            DriverField::ExpectedArrival => "预计到达时间",
            DriverField::PeopleInCab => "驾驶室人数",
        }
    }

    /// An error of this field.
    fn error(self, code: &'static str, message: &str) -> FieldError {
        FieldError::new(self.name(), code, message)
    }

    /// A domain parser's error, filed under this field.
    fn at<T>(self, result: Result<T, FieldError>) -> Result<T, FieldError> {
        result.map_err(|error| error.named(self.name()))
    }
}

/// The origin as the page's three selects send it.
pub const ORIGIN_SELECTS: [&str; 3] = ["origin_province", "origin_city", "origin_county"];

/// Extra answers, by template.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    zone: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    enterprise: serde_json::Map<String, serde_json::Value>,
}

/// The driver's form as sent (field names as in [`DriverField`]).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationBody {
    consent: bool,
    driver_name: String,
    document_type: String,
    pub(super) document_number: String,
    pub(super) phone: String,
    plate: String,
    trailer_plate: Option<String>,
    vehicle_type: String,
    origin_region: String,
    cargo: String,
    purpose: String,
    expected_arrival: String,
    people_in_cab: i64,
    #[serde(default)]
    answers: Answers,
}

impl RegistrationBody {
    /// The page's form (`application/x-www-form-urlencoded` pairs) as the API's body.
    /// Extra answers are named `answers.zone.KEY` and `answers.enterprise.KEY`; a key
    /// sent more than once (ticked boxes of a multiple choice) becomes a list, blank
    /// values count as absent. The origin comes as three selects
    /// ([`ORIGIN_SELECTS`]): the deepest one that belongs to the one above it is the
    /// origin, so a province changed without re-choosing the city does not keep the
    /// old city.
    pub fn from_form(pairs: &[(String, String)]) -> Self {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default()
        };
        let field = |field: DriverField| value(field.name());
        let mut answers = Answers::default();
        for (key, raw) in pairs {
            let raw = raw.trim();
            let (map, key) = if let Some(key) = key.strip_prefix("answers.zone.") {
                (&mut answers.zone, key)
            } else if let Some(key) = key.strip_prefix("answers.enterprise.") {
                (&mut answers.enterprise, key)
            } else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            let raw = serde_json::Value::String(raw.to_owned());
            match map.get_mut(key) {
                None => {
                    map.insert(key.to_owned(), raw);
                }
                Some(serde_json::Value::Array(list)) => list.push(raw),
                Some(first) => *first = serde_json::Value::Array(vec![first.take(), raw]),
            }
        }
        let trailer = field(DriverField::TrailerPlate);
        let origin = ORIGIN_SELECTS.map(value);
        Self {
            consent: !field(DriverField::Consent).is_empty(),
            driver_name: field(DriverField::DriverName),
            document_type: field(DriverField::DocumentType),
            document_number: field(DriverField::DocumentNumber),
            phone: field(DriverField::Phone),
            plate: field(DriverField::Plate),
            trailer_plate: (!trailer.is_empty()).then_some(trailer),
            vehicle_type: field(DriverField::VehicleType),
            origin_region: region::deepest(&[&origin[0], &origin[1], &origin[2]])
                .unwrap_or_default()
                .to_owned(),
            cargo: field(DriverField::Cargo),
            purpose: field(DriverField::Purpose),
            expected_arrival: field(DriverField::ExpectedArrival),
            people_in_cab: field(DriverField::PeopleInCab).parse().unwrap_or(0),
            answers,
        }
    }

    /// The document type as sent, if it is one.
    pub(super) fn document_type(&self) -> Option<DocumentType> {
        DocumentType::parse(&self.document_type)
    }

    /// Validates the built-in fields and the extra answers against the zone's and the
    /// enterprise's current templates: every problem at once.
    pub(super) fn validate(
        &self,
        zone: &TemplateView,
        own: &TemplateView,
    ) -> Result<Driver, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let driver = self.driver(&mut errors);
        let zone_answers = zone
            .fields
            .validate_answers(&self.answers.zone, "answers.zone.");
        let own_answers = own
            .fields
            .validate_answers(&self.answers.enterprise, "answers.enterprise.");
        let mut answer_errors = |result: Result<_, Vec<FieldError>>| {
            result
                .map_err(|list| list.into_iter().for_each(|e| errors.push(e)))
                .ok()
        };
        let zone_answers = answer_errors(zone_answers);
        let own_answers = answer_errors(own_answers);
        match (driver, zone_answers, own_answers) {
            (Some(mut driver), Some(zone), Some(own)) if errors.is_empty() => {
                driver.answers = serde_json::json!({ "zone": zone, "enterprise": own });
                Ok(driver)
            }
            _ => Err(errors.into_list()),
        }
    }

    fn driver(&self, errors: &mut FieldErrors) -> Option<Driver> {
        use DriverField as F;
        if !self.consent {
            errors
                .push(F::Consent.error("consent_required", "请阅读并同意个人信息处理规则后再提交"));
        }
        let name = errors.check(F::DriverName.at(PersonName::parse(&self.driver_name)));
        let document = match self.document_type() {
            Some(kind) => errors.check(F::DocumentNumber.at(DocumentNumber::parse(
                kind,
                &self.document_number,
                zone::today(),
            ))),
            None => {
                errors.push(F::DocumentType.error("invalid_value", "请选择证件类型"));
                None
            }
        };
        let phone = errors.check(F::Phone.at(Mobile::parse(&self.phone)));
        let plate = errors.check(Plate::parse(&self.plate, F::Plate.name()));
        let trailer = match self
            .trailer_plate
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            None => Some(None),
            Some(raw) => errors
                .check(Plate::parse(raw, F::TrailerPlate.name()).and_then(|plate| {
                    if plate.is_trailer() {
                        Ok(plate)
                    } else {
                        Err(F::TrailerPlate
                            .error("invalid_plate", "挂车号牌应以“挂”结尾，如 闽A1234挂"))
                    }
                }))
                .map(Some),
        };
        let vehicle_type = errors.check(
            VehicleType::from_stored(&self.vehicle_type)
                .ok_or_else(|| F::VehicleType.error("invalid_value", "请选择车辆类型")),
        );
        let origin = errors.check(F::OriginRegion.at(RegionCode::parse(&self.origin_region)));
        let cargo = errors.check(bounded(F::Cargo.name(), &self.cargo, 1, 100));
        let purpose = errors.check(
            Purpose::from_stored(&self.purpose)
                .ok_or_else(|| F::Purpose.error("invalid_value", "请选择来访事由")),
        );
        let arrival = errors.check(parse_arrival(&self.expected_arrival));
        let people = if (1..=9).contains(&self.people_in_cab) {
            i32::try_from(self.people_in_cab).ok()
        } else {
            errors.push(F::PeopleInCab.error("out_of_range", "驾驶室人数应为 1 到 9 人"));
            None
        };
        Some(Driver {
            name: name?,
            document: document?,
            phone: phone?,
            plate: plate?,
            trailer: trailer?,
            vehicle_type: vehicle_type?,
            origin: origin?,
            cargo: cargo?,
            purpose: purpose?,
            arrival: arrival?,
            people: people?,
            answers: serde_json::Value::Null,
        })
    }
}

/// A zone time `YYYY-MM-DDTHH:MM`, from a day ago to 30 days ahead, as UTC.
fn parse_arrival(raw: &str) -> Result<NaiveDateTime, FieldError> {
    let field = DriverField::ExpectedArrival;
    let arrival = zone::parse_minute(raw)
        .ok_or_else(|| field.error("invalid_date_time", "请填写预计到达日期和时间"))?;
    let current = Utc::now().naive_utc();
    if arrival < current - TimeDelta::days(1) || arrival > current + TimeDelta::days(30) {
        return Err(field.error("out_of_range", "预计到达时间应在今天起 30 天内"));
    }
    Ok(arrival)
}

/// A valid submission, before sealing.
pub(super) struct Driver {
    pub(super) name: PersonName,
    pub(super) document: DocumentNumber,
    pub(super) phone: Mobile,
    pub(super) plate: Plate,
    pub(super) trailer: Option<Plate>,
    pub(super) vehicle_type: VehicleType,
    pub(super) origin: RegionCode,
    pub(super) cargo: String,
    pub(super) purpose: Purpose,
    pub(super) arrival: NaiveDateTime,
    pub(super) people: i32,
    /// `{"zone": {...}, "enterprise": {...}}`, as validated.
    pub(super) answers: serde_json::Value,
}

/// A client's retry key (the API's `Idempotency-Key`, the page's nonce): 8 to 64
/// letters, digits, `_` or `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryKey(String);

impl RetryKey {
    /// The key, if well-formed.
    pub fn parse(raw: &str) -> Option<Self> {
        text::is_key(raw, 8..=64).then(|| Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key, as stored.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_body_and_the_field_table_name_the_same_fields() {
        let pairs: Vec<(String, String)> = DriverField::ALL
            .iter()
            .map(|field| (field.name().to_owned(), "x".to_owned()))
            .collect();
        let body = serde_json::to_value(RegistrationBody::from_form(&pairs)).expect("json");
        let mut sent: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .filter(|key| *key != "answers")
            .collect();
        let mut named: Vec<&str> = DriverField::ALL.iter().map(|f| f.name()).collect();
        sent.sort_unstable();
        named.sort_unstable();
        assert_eq!(sent, named);
    }

    #[test]
    fn retry_keys_are_eight_to_sixty_four_safe_characters() {
        assert!(RetryKey::parse("abcdEFGH").is_some());
        assert!(RetryKey::parse(&"a".repeat(64)).is_some());
        assert!(RetryKey::parse("abcdEFG").is_none());
        assert!(RetryKey::parse(&"a".repeat(65)).is_none());
        assert!(RetryKey::parse("abcd EFGH").is_none());
    }
}
