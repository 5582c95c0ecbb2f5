//! A campaign's questionnaire (调查问卷): form-engine fields (with the survey's kinds:
//! section headings, numbers with units, mobile numbers, repeat rows, locations,
//! photos) and validation rules stored as data in three tiers, as census practice has
//! them: blocking (必须修改), explain-to-pass (核实性: accepted only with the surveyor's
//! explanation) and warning (提示性: returned, accepted). Rules are a small declarative vocabulary ([`Check`]),
//! never code. Every campaign starts with the zone's default questionnaire
//! ([`Questionnaire::zone_default`]) as version 1; a draft campaign may save its own.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::db::schema::{enterprises, survey_questionnaires};
use crate::db::{DbConnection, new_id, now};
use crate::domain::id::{CampaignId, EnterpriseId, UserId};
use crate::domain::text::bounded;
use crate::error::{ApiError, FieldError};
use crate::forms::fields::{FieldKind, FieldSpec, Fields, is_valid_key};

/// Most rules of one questionnaire.
pub const MAX_RULES: usize = 50;
/// Longest rule message, in characters.
const MAX_MESSAGE_CHARS: usize = 100;
/// Longest explanation, in characters.
const MAX_EXPLANATION_CHARS: usize = 500;

/// How a broken rule is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 必须修改: the answers are refused until it holds.
    Blocking,
    /// 核实性: accepted only with an explanation for the rule.
    Explain,
    /// 提示性: returned with the answers, which are accepted.
    Warning,
}

/// A comparison of a number with a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl Op {
    fn holds(self, x: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => x > threshold,
            Op::Ge => x >= threshold,
            Op::Lt => x < threshold,
            Op::Le => x <= threshold,
        }
    }
}

/// A fact of the roster (底册) an answer is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterFact {
    /// The enterprise's name.
    Name,
    /// Its unified social credit code.
    CreditCode,
    /// Its address.
    Address,
}

/// What the roster says of a case's enterprise: what answers are checked against and
/// what a surveyor's form starts from.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Roster {
    /// Name.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: String,
    /// Address (may be empty).
    pub address: String,
}

impl Roster {
    /// The roster's facts of an enterprise.
    pub fn of(conn: &mut DbConnection, enterprise: &EnterpriseId) -> Result<Self, ApiError> {
        let (name, credit_code, address) = enterprises::table
            .find(enterprise)
            .select((
                enterprises::name,
                enterprises::credit_code,
                enterprises::address,
            ))
            .first::<(String, String, String)>(conn)?;
        Ok(Self {
            name,
            credit_code,
            address,
        })
    }

    fn fact(&self, fact: RosterFact) -> &str {
        match fact {
            RosterFact::Name => &self.name,
            RosterFact::CreditCode => &self.credit_code,
            RosterFact::Address => &self.address,
        }
    }

    /// Whether an answer agrees with a fact: the same after trimming (letters of any
    /// case); a fact the roster lacks agrees with anything.
    fn agrees(&self, fact: RosterFact, answer: &str) -> bool {
        let known = self.fact(fact).trim();
        known.is_empty() || known.eq_ignore_ascii_case(answer.trim())
    }
}

/// What a rule requires of the answers. A comparison of a field left unanswered holds
/// (answering it is [`Check::Required`]'s business), as does a ratio over zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The field is answered.
    Required {
        /// Field key.
        field: String,
    },
    /// The number field compares with `value` by `op` (`employees gt 0`).
    Compare {
        /// A number field's key.
        field: String,
        /// The comparison.
        op: Op,
        /// The threshold.
        value: f64,
    },
    /// `numerator / denominator` compares with `value` by `op` (`revenue / employees
    /// le 500`).
    Ratio {
        /// A number field's key.
        numerator: String,
        /// A number field's key.
        denominator: String,
        /// The comparison.
        op: Op,
        /// The threshold.
        value: f64,
    },
    /// The text field agrees with the roster's `roster` fact (核对底册).
    MatchesRoster {
        /// A text field's key.
        field: String,
        /// The roster's fact.
        roster: RosterFact,
    },
}

impl Check {
    /// The field a finding is shown at.
    pub fn field(&self) -> &str {
        match self {
            Check::Required { field }
            | Check::Compare { field, .. }
            | Check::MatchesRoster { field, .. } => field,
            Check::Ratio { numerator, .. } => numerator,
        }
    }

    fn holds(&self, answers: &Map<String, Value>, roster: &Roster) -> bool {
        let number = |key: &str| answers.get(key).and_then(Value::as_f64);
        match self {
            Check::Required { field } => answers.contains_key(field),
            Check::Compare { field, op, value } => {
                number(field).is_none_or(|x| op.holds(x, *value))
            }
            Check::Ratio {
                numerator,
                denominator,
                op,
                value,
            } => match (number(numerator), number(denominator)) {
                (Some(n), Some(d)) if d != 0.0 => op.holds(n / d, *value),
                _ => true,
            },
            Check::MatchesRoster {
                field,
                roster: fact,
            } => answers
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(|answer| roster.agrees(*fact, answer)),
        }
    }
}

/// "Unless field X equals Y": the rule is skipped when the answer equals `equals`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Field key.
    pub field: String,
    /// The answer that lifts the rule (an option, a bool, a number, a text).
    pub equals: Value,
}

/// One validation rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id (field-key syntax): explanations are keyed by it.
    pub id: String,
    /// How a broken rule is treated.
    pub tier: Tier,
    /// What must hold.
    pub check: Check,
    /// When the rule does not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unless: Option<Condition>,
    /// What the surveyor reads when it is broken (Chinese), 1 to 100 characters.
    pub message: String,
}

/// A broken rule, as the answers' response and the stored warnings show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule.
    pub rule_id: String,
    /// Its tier.
    pub tier: Tier,
    /// The field it is shown at.
    pub field: String,
    /// Its message.
    pub message: String,
}

/// A questionnaire's validated rules.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct Rules(Vec<Rule>);

impl Rules {
    /// Validates rules against the questionnaire's fields: at most [`MAX_RULES`], ids
    /// of field-key syntax and unique, messages of 1 to 100 characters, every field
    /// named an answered top-level field (numbers for comparisons and ratios), finite
    /// thresholds, and an `unless` value the field could hold; roster checks name
    /// text fields. Errors are named `rules[1].check.field` and so on, with the codes
    /// `too_many_rules`, `invalid_key`, `duplicate_key`, `invalid_message`,
    /// `unknown_field`, `not_a_number`, `not_text`, `invalid_range` and
    /// `invalid_value`.
    pub fn parse(rules: Vec<Rule>, fields: &Fields) -> Result<Rules, Vec<FieldError>> {
        let mut errors = Vec::new();
        if rules.len() > MAX_RULES {
            errors.push(FieldError::new(
                "rules",
                "too_many_rules",
                format!("最多只能设置 {MAX_RULES} 条规则"),
            ));
        }
        let spec = |key: &str| {
            fields
                .specs()
                .iter()
                .find(|spec| spec.key == key && spec.kind != FieldKind::Section)
        };
        let mut ids = HashSet::new();
        let mut parsed = Vec::with_capacity(rules.len());
        for (index, rule) in rules.into_iter().enumerate() {
            let at = |attribute: &str| format!("rules[{index}].{attribute}");
            if !is_valid_key(&rule.id) {
                errors.push(FieldError::new(
                    at("id"),
                    "invalid_key",
                    "规则标识应以小写字母开头，只含小写字母、数字和下划线，最长 32 个字符",
                ));
            } else if !ids.insert(rule.id.clone()) {
                errors.push(FieldError::new(
                    at("id"),
                    "duplicate_key",
                    format!("规则标识「{}」重复", rule.id),
                ));
            }
            let message = bounded(&at("message"), &rule.message, 1, MAX_MESSAGE_CHARS)
                .unwrap_or_else(|e| {
                    errors.push(FieldError::new(at("message"), "invalid_message", e.message));
                    rule.message.clone()
                });
            let mut field = |attribute: &str, key: &str, kind: Option<FieldKind>| match spec(key) {
                None => errors.push(FieldError::new(
                    at(attribute),
                    "unknown_field",
                    format!("问卷中没有字段「{key}」"),
                )),
                Some(spec) if kind.is_some_and(|kind| kind != spec.kind) => {
                    let (code, label) = match kind {
                        Some(FieldKind::Number) => ("not_a_number", "数字"),
                        _ => ("not_text", "文字"),
                    };
                    errors.push(FieldError::new(
                        at(attribute),
                        code,
                        format!("字段「{key}」不是{label}字段"),
                    ));
                }
                Some(_) => {}
            };
            let number = Some(FieldKind::Number);
            let threshold = match &rule.check {
                Check::Required { field: key } => {
                    field("check.field", key, None);
                    None
                }
                Check::MatchesRoster { field: key, .. } => {
                    field("check.field", key, Some(FieldKind::Text));
                    None
                }
                Check::Compare {
                    field: key, value, ..
                } => {
                    field("check.field", key, number);
                    Some(*value)
                }
                Check::Ratio {
                    numerator,
                    denominator,
                    value,
                    ..
                } => {
                    field("check.numerator", numerator, number);
                    field("check.denominator", denominator, number);
                    Some(*value)
                }
            };
            if let Some(condition) = &rule.unless {
                field("unless.field", &condition.field, None);
            }
            if threshold.is_some_and(|value| !value.is_finite()) {
                errors.push(FieldError::new(
                    at("check.value"),
                    "invalid_range",
                    "应为有限的数值",
                ));
            }
            if let Some(condition) = &rule.unless
                && let Some(spec) = spec(&condition.field)
                && !could_hold(spec, &condition.equals)
            {
                errors.push(FieldError::new(
                    at("unless.equals"),
                    "invalid_value",
                    format!("字段「{}」不会取这个值", spec.key),
                ));
            }
            parsed.push(Rule { message, ..rule });
        }
        if errors.is_empty() {
            Ok(Rules(parsed))
        } else {
            Err(errors)
        }
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.0
    }

    /// The rules that normalised `answers` break, in order, checked against the
    /// enterprise's `roster` facts.
    pub fn findings(&self, answers: &Map<String, Value>, roster: &Roster) -> Vec<Finding> {
        self.0
            .iter()
            .filter(|rule| {
                let lifted = rule
                    .unless
                    .as_ref()
                    .is_some_and(|c| answers.get(&c.field) == Some(&c.equals));
                !lifted && !rule.check.holds(answers, roster)
            })
            .map(|rule| Finding {
                rule_id: rule.id.clone(),
                tier: rule.tier,
                field: rule.check.field().to_owned(),
                message: rule.message.clone(),
            })
            .collect()
    }
}

/// Whether an answer to `spec` could equal `value` (so that an `unless` can ever fire).
fn could_hold(spec: &FieldSpec, value: &Value) -> bool {
    match (spec.kind, value) {
        (FieldKind::SingleChoice, Value::String(option)) => spec.options.contains(option),
        (FieldKind::YesNo, Value::Bool(_)) | (FieldKind::Number, Value::Number(_)) => true,
        (FieldKind::Text | FieldKind::Date | FieldKind::DateTime, Value::String(_)) => true,
        _ => false,
    }
}

/// A questionnaire as a body brings it (`PUT .../questionnaire`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireBody {
    /// Field specs, in order.
    pub fields: Vec<FieldSpec>,
    /// Validation rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A validated questionnaire.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Questionnaire {
    /// The fields, in order.
    pub fields: Fields,
    /// The rules.
    pub rules: Rules,
}

/// Answers that passed: normalised, with the explanations their explain-tier findings
/// needed and the warnings to give back.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Normalised answers (phones as 11 digits, not yet sealed).
    pub answers: Map<String, Value>,
    /// Explanations by rule id, only for the explain-tier rules broken.
    pub explanations: BTreeMap<String, String>,
    /// The warning-tier findings.
    pub warnings: Vec<Finding>,
}

impl Questionnaire {
    /// Validates a body: fields as [`Fields::parse_questionnaire`], then rules as
    /// [`Rules::parse`] (only when the fields are valid).
    pub fn parse(body: QuestionnaireBody) -> Result<Self, Vec<FieldError>> {
        let fields = Fields::parse_questionnaire(body.fields)?;
        let rules = Rules::parse(body.rules, &fields)?;
        Ok(Self { fields, rules })
    }

    /// The zone's default questionnaire (zh-CN): the roster's basic facts, status,
    /// size, products, trucks, demands and cultivation indicators, with its rules.
    pub fn zone_default() -> Result<Self, ApiError> {
        let body: QuestionnaireBody =
            serde_json::from_value(default_body()).map_err(ApiError::internal)?;
        Self::parse(body).map_err(|errors| {
            ApiError::internal(anyhow::anyhow!(
                "the default questionnaire is invalid: {errors:?}"
            ))
        })
    }

    /// Checks a submission: answers against the fields (errors named `answers.{key}`),
    /// then the rules over the normalised answers (and the enterprise's `roster`
    /// facts): a blocking finding is an error at
    /// `answers.{field}` (`rule_violated`), an explain-tier finding without an
    /// explanation one at `explanations.{rule_id}` (`explanation_required`).
    /// Explanations are trimmed, 1 to 500 characters; one naming no rule of the
    /// questionnaire is `unknown_rule`; those of rules that hold are dropped.
    pub fn check(
        &self,
        answers: &Map<String, Value>,
        explanations: &BTreeMap<String, String>,
        roster: &Roster,
    ) -> Result<Checked, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut given = BTreeMap::new();
        for (rule_id, raw) in explanations {
            let field = format!("explanations.{rule_id}");
            if !self.rules.0.iter().any(|rule| rule.id == *rule_id) {
                errors.push(FieldError::new(field, "unknown_rule", "问卷中没有此规则"));
                continue;
            }
            match bounded(&field, raw, 1, MAX_EXPLANATION_CHARS) {
                Ok(text) => {
                    given.insert(rule_id.clone(), text);
                }
                Err(error) => errors.push(error),
            }
        }
        let answers = match self.fields.validate_answers(answers, "answers.") {
            Ok(answers) => answers,
            Err(mut invalid) => {
                invalid.append(&mut errors);
                return Err(invalid);
            }
        };
        let mut explained = BTreeMap::new();
        let mut warnings = Vec::new();
        for finding in self.rules.findings(&answers, roster) {
            match finding.tier {
                Tier::Blocking => errors.push(FieldError::new(
                    format!("answers.{}", finding.field),
                    "rule_violated",
                    finding.message,
                )),
                Tier::Explain => match given.remove(&finding.rule_id) {
                    Some(text) => {
                        explained.insert(finding.rule_id, text);
                    }
                    None => errors.push(FieldError::new(
                        format!("explanations.{}", finding.rule_id),
                        "explanation_required",
                        finding.message,
                    )),
                },
                Tier::Warning => warnings.push(finding),
            }
        }
        if errors.is_empty() {
            Ok(Checked {
                answers,
                explanations: explained,
                warnings,
            })
        } else {
            Err(errors)
        }
    }

    /// Reads a stored version without re-validating.
    fn from_stored(fields: &str, rules: &str) -> Result<Self, ApiError> {
        let fields =
            Fields::from_stored(fields).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
        let rules = serde_json::from_str(rules)
            .map(Rules)
            .map_err(ApiError::internal)?;
        Ok(Self { fields, rules })
    }
}

/// A saved version of a campaign's questionnaire.
#[derive(Clone, Debug, Serialize)]
pub struct QuestionnaireVersion {
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// 1 for the default stored at creation, then one more per save.
    pub version: i32,
    /// The fields and rules.
    #[serde(flatten)]
    pub questionnaire: Questionnaire,
    /// When it was saved (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

type StoredRow = (i32, String, String, NaiveDateTime);

fn stored_columns() -> (
    survey_questionnaires::version,
    survey_questionnaires::fields,
    survey_questionnaires::rules,
    survey_questionnaires::created_at,
) {
    (
        survey_questionnaires::version,
        survey_questionnaires::fields,
        survey_questionnaires::rules,
        survey_questionnaires::created_at,
    )
}

super::campaign_versions!(QuestionnaireVersion, survey_questionnaires);

impl QuestionnaireVersion {
    fn of_row(
        campaign: &CampaignId,
        (version, fields, rules, at): StoredRow,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            campaign_id: campaign.clone(),
            version,
            questionnaire: Questionnaire::from_stored(&fields, &rules)?,
            updated_at: at.and_utc(),
        })
    }

    /// Saves `questionnaire` as the campaign's next version (1 when it has none).
    pub fn save(
        conn: &mut DbConnection,
        campaign: &CampaignId,
        questionnaire: &Questionnaire,
        author: &UserId,
    ) -> Result<Self, ApiError> {
        let version = Self::next_version(conn, campaign)?;
        let fields = serde_json::to_string(&questionnaire.fields).map_err(ApiError::internal)?;
        let rules = serde_json::to_string(&questionnaire.rules).map_err(ApiError::internal)?;
        let at = now();
        diesel::insert_into(survey_questionnaires::table)
            .values((
                survey_questionnaires::id.eq(new_id()),
                survey_questionnaires::campaign_id.eq(campaign),
                survey_questionnaires::version.eq(version),
                survey_questionnaires::fields.eq(fields),
                survey_questionnaires::rules.eq(rules),
                survey_questionnaires::created_by.eq(author),
                survey_questionnaires::created_at.eq(at),
            ))
            .execute(conn)?;
        Ok(Self {
            campaign_id: campaign.clone(),
            version,
            questionnaire: questionnaire.clone(),
            updated_at: at.and_utc(),
        })
    }
}

/// Status options of the default questionnaire.
const STATUSES: [&str; 5] = ["正常经营", "停产停业", "已关闭", "已迁出", "查无此企业"];

/// The default questionnaire as a body.
fn default_body() -> Value {
    json!({
        "fields": [
            {"key": "basic", "label": "一、基本信息（与底册核对）", "type": "section"},
            {"key": "name", "label": "企业名称", "type": "text", "required": true, "max_length": 100},
            {"key": "credit_code", "label": "统一社会信用代码", "type": "text", "required": true,
             "min_length": 18, "max_length": 18},
            {"key": "address", "label": "经营地址", "type": "text", "max_length": 200},
            {"key": "location", "label": "企业位置", "type": "location",
             "help": "在企业门口点“获取位置”"},
            {"key": "storefront_photos", "label": "门头照片", "type": "photo",
             "help": "拍摄企业大门或门头招牌，可多张"},
            {"key": "legal_representative", "label": "法定代表人", "type": "text", "max_length": 30},
            {"key": "contact_person", "label": "联系人", "type": "text", "required": true, "max_length": 30},
            {"key": "contact_phone", "label": "联系电话", "type": "phone", "required": true},
            {"key": "operation", "label": "二、经营情况", "type": "section"},
            {"key": "status", "label": "经营状态", "type": "single_choice", "required": true,
             "options": STATUSES},
            {"key": "employees", "label": "从业人员", "type": "number", "unit": "人", "min": 0},
            {"key": "revenue", "label": "上年营业收入", "type": "number", "unit": "万元", "min": 0},
            {"key": "tax", "label": "上年纳税总额", "type": "number", "unit": "万元", "min": 0},
            {"key": "land_area", "label": "占地面积", "type": "number", "unit": "亩", "min": 0},
            {"key": "products", "label": "主要产品", "type": "repeat", "max_rows": 10, "fields": [
                {"key": "name", "label": "产品名称", "type": "text", "required": true, "max_length": 50},
                {"key": "annual_output", "label": "年产值", "type": "number", "unit": "万元", "min": 0}
            ]},
            {"key": "logistics", "label": "三、物流", "type": "section"},
            {"key": "receives_trucks", "label": "是否有外来货车进出", "type": "yes_no"},
            {"key": "trucks_per_day", "label": "日均货车数", "type": "number", "unit": "辆", "min": 0},
            {"key": "demands_section", "label": "四、诉求与问题", "type": "section"},
            {"key": "demands", "label": "诉求与问题", "type": "repeat", "max_rows": 10, "fields": [
                {"key": "category", "label": "类别", "type": "single_choice",
                 "options": ["用地", "融资", "用工", "物流", "能耗", "政策", "其他"], "required": true},
                {"key": "description", "label": "具体内容", "type": "text", "required": true, "max_length": 500}
            ]},
            {"key": "cultivation", "label": "五、培育指标", "type": "section"},
            {"key": "revenue_prior", "label": "前年营业收入", "type": "number", "unit": "万元", "min": 0},
            {"key": "rd_spend", "label": "上年研发投入", "type": "number", "unit": "万元", "min": 0},
            {"key": "high_tech", "label": "是否高新技术企业", "type": "yes_no"},
            {"key": "expansion_plan", "label": "扩产或新建计划", "type": "single_choice",
             "options": ["无", "有扩产计划", "有新建项目"]}
        ],
        "rules": [
            {"id": "status_required", "tier": "blocking",
             "check": {"kind": "required", "field": "status"},
             "message": "请填写经营状态"},
            {"id": "employees_required", "tier": "blocking",
             "check": {"kind": "required", "field": "employees"},
             "unless": {"field": "status", "equals": "已关闭"},
             "message": "未关闭的企业须填写从业人员"},
            {"id": "employees_positive", "tier": "blocking",
             "check": {"kind": "compare", "field": "employees", "op": "gt", "value": 0},
             "unless": {"field": "status", "equals": "已关闭"},
             "message": "未关闭的企业从业人员应大于 0"},
            {"id": "trucks_per_day_required", "tier": "blocking",
             "check": {"kind": "required", "field": "trucks_per_day"},
             "unless": {"field": "receives_trucks", "equals": false},
             "message": "请填写日均货车数（无货车进出请选“否”）"},
            {"id": "revenue_per_employee", "tier": "explain",
             "check": {"kind": "ratio", "numerator": "revenue", "denominator": "employees",
                       "op": "le", "value": 500},
             "message": "人均营业收入超过 500 万元，请核实并说明"},
            {"id": "tax_share", "tier": "warning",
             "check": {"kind": "ratio", "numerator": "tax", "denominator": "revenue",
                       "op": "le", "value": 0.3},
             "message": "纳税额超过营业收入的 30%，请确认单位为万元"},
            {"id": "rd_share", "tier": "warning",
             "check": {"kind": "ratio", "numerator": "rd_spend", "denominator": "revenue",
                       "op": "le", "value": 0.5},
             "message": "研发投入超过营业收入的一半，请确认"},
            {"id": "name_matches_roster", "tier": "warning",
             "check": {"kind": "matches_roster", "field": "name", "roster": "name"},
             "message": "企业名称与底册不一致，请核实（如已更名请在诉求中说明）"},
            {"id": "credit_code_matches_roster", "tier": "warning",
             "check": {"kind": "matches_roster", "field": "credit_code", "roster": "credit_code"},
             "message": "统一社会信用代码与底册不一致，请核对营业执照"},
            {"id": "address_matches_roster", "tier": "warning",
             "check": {"kind": "matches_roster", "field": "address", "roster": "address"},
             "message": "经营地址与底册不一致，请核实是否已迁址"}
        ]
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn default() -> Questionnaire {
        Questionnaire::zone_default().unwrap()
    }

    fn answers(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn base() -> Value {
        json!({
            "name": "示例科技有限公司", "credit_code": "91320500MA1XXXXXX1",
            "contact_person": "王敏", "contact_phone": "138 0013 8000",
            "status": "正常经营", "employees": 20, "revenue": 3000,
            "receives_trucks": true, "trucks_per_day": 5,
            "products": [{"name": "电路板", "annual_output": 1200}]
        })
    }

    fn roster() -> Roster {
        Roster {
            name: "示例科技有限公司".to_owned(),
            credit_code: "91320500ma1xxxxxx1".to_owned(),
            address: String::new(),
        }
    }

    fn check(
        value: Value,
        explanations: &BTreeMap<String, String>,
    ) -> Result<Checked, Vec<FieldError>> {
        default().check(&answers(value), explanations, &roster())
    }

    fn codes<T: std::fmt::Debug>(
        result: Result<T, Vec<FieldError>>,
    ) -> Vec<(String, &'static str)> {
        result
            .expect_err("should be refused")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn the_default_questionnaire_is_valid_and_takes_plain_answers() {
        let checked = check(base(), &BTreeMap::new()).unwrap();
        assert_eq!(checked.answers["contact_phone"], json!("13800138000"));
        assert!(!checked.answers.contains_key("storefront_photos"));
        assert!(checked.warnings.is_empty());
        assert!(checked.explanations.is_empty());
    }

    #[test]
    fn blocking_rules_refuse_unless_lifted() {
        let mut value = base();
        value["employees"] = json!(0);
        assert_eq!(
            codes(check(value.clone(), &BTreeMap::new())),
            vec![("answers.employees".to_owned(), "rule_violated")]
        );
        value["status"] = json!("已关闭");
        assert!(check(value, &BTreeMap::new()).is_ok());
        let mut value = base();
        value["receives_trucks"] = json!(false);
        value.as_object_mut().unwrap().remove("trucks_per_day");
        assert!(check(value, &BTreeMap::new()).is_ok());
    }

    #[test]
    fn explain_rules_need_an_explanation_and_warnings_pass() {
        let mut value = base();
        value["revenue"] = json!(20000);
        value["tax"] = json!(9000);
        assert_eq!(
            codes(check(value.clone(), &BTreeMap::new())),
            vec![(
                "explanations.revenue_per_employee".to_owned(),
                "explanation_required"
            )]
        );
        let explained = BTreeMap::from([(
            "revenue_per_employee".to_owned(),
            " 贸易型企业，人少额大 ".to_owned(),
        )]);
        let checked = check(value, &explained).unwrap();
        assert_eq!(
            checked.explanations["revenue_per_employee"],
            "贸易型企业，人少额大"
        );
        assert_eq!(checked.warnings.len(), 1);
        assert_eq!(checked.warnings[0].rule_id, "tax_share");
        let unknown = BTreeMap::from([("nope".to_owned(), "x".to_owned())]);
        assert_eq!(
            codes(check(base(), &unknown)),
            vec![("explanations.nope".to_owned(), "unknown_rule")]
        );
    }

    #[test]
    fn answers_that_disagree_with_the_roster_are_warned_about() {
        let mut value = base();
        value["name"] = json!("示例新材料有限公司");
        value["address"] = json!("高新区创业路 1 号");
        let checked = check(value, &BTreeMap::new()).unwrap();
        let warned: Vec<&str> = checked
            .warnings
            .iter()
            .map(|w| w.rule_id.as_str())
            .collect();
        // The credit code agrees in any letter case; the roster has no address.
        assert_eq!(warned, ["name_matches_roster"]);
    }

    #[test]
    fn repeat_rows_are_checked_as_forms_of_their_own() {
        let mut value = base();
        value["products"] = json!([{"annual_output": -1}, {"name": "x", "colour": "red"}]);
        assert_eq!(
            codes(check(value, &BTreeMap::new())),
            vec![
                ("answers.products[0].name".to_owned(), "required"),
                (
                    "answers.products[0].annual_output".to_owned(),
                    "out_of_range"
                ),
                ("answers.products[1].colour".to_owned(), "unknown_field"),
            ]
        );
    }

    #[test]
    fn rules_name_existing_fields_of_the_right_kind() {
        let body: QuestionnaireBody = serde_json::from_value(json!({
            "fields": [
                {"key": "head", "label": "标题", "type": "section"},
                {"key": "status", "label": "状态", "type": "single_choice", "options": ["开", "关"]},
                {"key": "count", "label": "人数", "type": "number", "unit": "人"}
            ],
            "rules": [
                {"id": "a", "tier": "blocking", "check": {"kind": "compare", "field": "status",
                 "op": "gt", "value": 0}, "message": "x"},
                {"id": "a", "tier": "warning", "check": {"kind": "required", "field": "head"},
                 "unless": {"field": "status", "equals": "半开"}, "message": " "}
            ]
        }))
        .unwrap();
        assert_eq!(
            codes(Questionnaire::parse(body)),
            vec![
                ("rules[0].check.field".to_owned(), "not_a_number"),
                ("rules[1].id".to_owned(), "duplicate_key"),
                ("rules[1].message".to_owned(), "invalid_message"),
                ("rules[1].check.field".to_owned(), "unknown_field"),
                ("rules[1].unless.equals".to_owned(), "invalid_value"),
            ]
        );
    }

    #[test]
    fn repeat_rows_hold_plain_fields_only() {
        let specs: Vec<FieldSpec> = serde_json::from_value(json!([
            {"key": "rows", "label": "行", "type": "repeat", "max_rows": 101, "fields": [
                {"key": "inner", "label": "内层", "type": "repeat",
                 "fields": [{"key": "x", "label": "x", "type": "text"}]},
                {"key": "mobile", "label": "电话", "type": "phone"},
                {"key": "shot", "label": "照片", "type": "photo"}
            ]},
            {"key": "empty", "label": "空", "type": "repeat"},
            {"key": "head", "label": "标题", "type": "section", "required": true, "max_rows": 3}
        ]))
        .unwrap();
        assert_eq!(
            codes(Fields::parse_questionnaire(specs)),
            vec![
                ("fields[0].max_rows".to_owned(), "invalid_range"),
                ("fields[0].fields[0].type".to_owned(), "kind_not_allowed"),
                ("fields[0].fields[1].type".to_owned(), "kind_not_allowed"),
                ("fields[0].fields[2].type".to_owned(), "kind_not_allowed"),
                ("fields[1].fields".to_owned(), "rows_required"),
                ("fields[2].required".to_owned(), "not_applicable"),
                ("fields[2].max_rows".to_owned(), "not_applicable"),
            ]
        );
    }

    #[test]
    fn survey_kinds_stay_out_of_registration_forms() {
        let specs: Vec<FieldSpec> = serde_json::from_value(json!([
            {"key": "head", "label": "标题", "type": "section"},
            {"key": "mobile", "label": "电话", "type": "phone"},
            {"key": "load", "label": "载重", "type": "number", "unit": "吨"},
            {"key": "front", "label": "照片", "type": "photo"}
        ]))
        .unwrap();
        assert_eq!(
            codes(Fields::parse(specs.clone(), &[])),
            vec![
                ("fields[0].type".to_owned(), "kind_not_allowed"),
                ("fields[1].type".to_owned(), "kind_not_allowed"),
                ("fields[2].unit".to_owned(), "not_applicable"),
                ("fields[3].type".to_owned(), "kind_not_allowed"),
            ]
        );
        assert!(Fields::parse_questionnaire(specs).is_ok());
    }
}
