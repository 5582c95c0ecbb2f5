//! Potential-enterprise scoring (挖掘潜力企业): a campaign's scoring rules are versioned
//! data (weighted indicators, each with bands of points, as 亩均论英雄 evaluations
//! publish them); a run scores every case whose answers are approved under the current
//! version, from one bulk read, in memory, and writes the results in multi-row
//! INSERTs, replacing that version's earlier results only. Each score carries its
//! explanation (each indicator's value, band and points), its class A–D by percentile
//! and its rank in the campaign, its sector and its park.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::db::mapping::text_enum;
use crate::db::schema::survey_scoring_rules;
use crate::db::schema::{enterprises, survey_answers, survey_cases, survey_scores};
use crate::db::{DbConnection, MultiBackend, new_id, now, on_backend};
use crate::domain::id::{CampaignId, CaseId, EnterpriseId, OrgUnitId, UserId};
use crate::error::{ApiError, FieldError};
use crate::survey::{ReviewState, SurveyScope};

/// Most bands of one indicator.
pub const MAX_BANDS: usize = 10;
/// Most points a band gives, and the largest weight: a band's points are a percentage
/// of its indicator's weight.
pub const MAX_POINTS: i32 = 100;
/// Rows one INSERT of a run writes: 14 columns each, well under the bind limits of
/// both backends.
const SCORE_CHUNK: usize = 1000;

text_enum! {
    /// What a rule scores, computed from a case's approved answers to the default
    /// questionnaire (amounts in 万元).
    pub enum Indicator {
        /// 上年营业收入, 万元.
        Revenue = "revenue" / "营业收入（万元）",
        /// Growth of revenue over the year before (`revenue_prior`), in percent.
        RevenueGrowth = "revenue_growth" / "营业收入增长率（%）",
        /// Tax per 亩 of land (`tax` / `land_area`), 万元 per 亩.
        TaxPerMu = "tax_per_mu" / "亩均税收（万元/亩）",
        /// Employees.
        Employees = "employees" / "从业人员（人）",
        /// R&D spending over revenue (`rd_spend` / `revenue`), in percent.
        RdShare = "rd_share" / "研发投入占比（%）",
        /// A high-tech enterprise: 1, else 0.
        HighTech = "high_tech" / "高新技术企业（是为 1）",
    }
}

impl Indicator {
    /// The indicator's value in `answers`, or `None` when an answer it needs is
    /// missing (or a divisor is zero).
    pub fn value(self, answers: &Map<String, Value>) -> Option<f64> {
        let number = |key: &str| answers.get(key).and_then(Value::as_f64);
        let ratio = |numerator: &str, denominator: &str, scale: f64| match (
            number(numerator),
            number(denominator),
        ) {
            (Some(n), Some(d)) if d > 0.0 => Some(n / d * scale),
            _ => None,
        };
        match self {
            Indicator::Revenue => number("revenue"),
            Indicator::RevenueGrowth => match (number("revenue"), number("revenue_prior")) {
                (Some(now), Some(prior)) if prior > 0.0 => Some((now - prior) / prior * 100.0),
                _ => None,
            },
            Indicator::TaxPerMu => ratio("tax", "land_area", 1.0),
            Indicator::Employees => number("employees"),
            Indicator::RdShare => ratio("rd_spend", "revenue", 100.0),
            Indicator::HighTech => answers
                .get("high_tech")
                .and_then(Value::as_bool)
                .map(|yes| if yes { 1.0 } else { 0.0 }),
        }
    }
}

text_enum! {
    /// A score's class by percentile of rank: the top 10% A, the next 20% B, the next
    /// 40% C, the rest D.
    pub enum ScoreClass {
        /// The top 10%: 重点培育.
        A = "A" / "A 类（重点培育）",
        /// The next 20%.
        B = "B" / "B 类（培育）",
        /// The next 40%.
        C = "C" / "C 类（关注）",
        /// The rest.
        D = "D" / "D 类",
    }
}

impl ScoreClass {
    /// The class of `rank` (1 the best; equal scores share the best rank of theirs)
    /// among `of` scores: by the share of scores ranked above it.
    pub fn of_rank(rank: usize, of: usize) -> ScoreClass {
        // Compared in integers: above / of < 10% is above * 10 < of.
        let above = rank.saturating_sub(1);
        if above * 10 < of {
            ScoreClass::A
        } else if above * 10 < of * 3 {
            ScoreClass::B
        } else if above * 10 < of * 7 {
            ScoreClass::C
        } else {
            ScoreClass::D
        }
    }
}

/// A band of an indicator's values: from `min` (included; absent: no lower bound) to
/// `max` (excluded; absent: no upper bound), worth `points` percent of the weight.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Lowest value in the band.
    #[serde(default)]
    pub min: Option<f64>,
    /// First value above the band.
    #[serde(default)]
    pub max: Option<f64>,
    /// 0 to 100: the share of the indicator's weight a value in the band earns.
    pub points: i32,
}

impl Band {
    fn contains(&self, x: f64) -> bool {
        self.min.is_none_or(|min| x >= min) && self.max.is_none_or(|max| x < max)
    }
}

/// One validated rule: an indicator, its weight (the most it adds to a score) and its
/// bands, in ascending order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoringRule {
    /// What it scores.
    pub indicator: Indicator,
    /// Its label (zh-CN).
    pub label: String,
    /// 0 to 100: what the indicator adds at most.
    pub weight: i32,
    /// Its bands, ascending, not overlapping.
    pub bands: Vec<Band>,
}

/// A rule as a body brings it (the indicator checked against [`Indicator`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringRuleBody {
    /// An [`Indicator`]'s name.
    pub indicator: String,
    /// 0 to 100.
    pub weight: i32,
    /// The bands.
    pub bands: Vec<Band>,
}

/// A rule set as `PUT .../scoring` brings it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringBody {
    /// One rule per indicator scored.
    pub rules: Vec<ScoringRuleBody>,
}

/// What one indicator gave a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// The indicator.
    pub indicator: Indicator,
    /// Its label.
    pub label: String,
    /// Its value (`None`: not answered, or a divisor was zero).
    pub value: Option<f64>,
    /// The band the value fell in (`None`: none, or no value).
    pub band: Option<Band>,
    /// The band's points (0 without one).
    pub points: i32,
    /// The rule's weight.
    pub weight: i32,
    /// What it added: points × weight / 100.
    pub score: f64,
}

/// A validated rule set.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ScoringRules(Vec<ScoringRule>);

impl ScoringRules {
    /// Validates a body: at least one rule and one per indicator at most, known
    /// indicators, weights of 0 to 100 (not all 0), 1 to 10 bands each with finite
    /// bounds, `min` below `max`, points of 0 to 100, and bands that do not overlap.
    /// Every error is reported, named `rules[1].bands[0].max` and so on, with the codes
    /// `required`, `unknown_indicator`, `duplicate_indicator`, `invalid_weight`,
    /// `invalid_bands`, `invalid_range`, `invalid_points` and `overlapping_bands`.
    pub fn parse(body: ScoringBody) -> Result<ScoringRules, Vec<FieldError>> {
        let mut errors = Vec::new();
        if body.rules.is_empty() {
            errors.push(FieldError::new(
                "rules",
                "required",
                "请至少设置一项评分指标",
            ));
        }
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(body.rules.len());
        for (index, rule) in body.rules.into_iter().enumerate() {
            let at = |attribute: &str| format!("rules[{index}].{attribute}");
            let indicator = Indicator::from_stored(&rule.indicator);
            match indicator {
                None => errors.push(FieldError::new(
                    at("indicator"),
                    "unknown_indicator",
                    format!(
                        "评分指标须为 {}",
                        Indicator::ALL
                            .iter()
                            .map(|i| i.as_str())
                            .collect::<Vec<_>>()
                            .join("、")
                    ),
                )),
                Some(known) if !seen.insert(known) => errors.push(FieldError::new(
                    at("indicator"),
                    "duplicate_indicator",
                    format!("评分指标「{}」重复", known.label()),
                )),
                Some(_) => {}
            }
            if !(0..=MAX_POINTS).contains(&rule.weight) {
                errors.push(FieldError::new(
                    at("weight"),
                    "invalid_weight",
                    format!("权重须在 0 到 {MAX_POINTS} 之间"),
                ));
            }
            if rule.bands.is_empty() || rule.bands.len() > MAX_BANDS {
                errors.push(FieldError::new(
                    at("bands"),
                    "invalid_bands",
                    format!("每项指标须设置 1 到 {MAX_BANDS} 个分档"),
                ));
            }
            let mut bands_valid = true;
            for (b, band) in rule.bands.iter().enumerate() {
                let at_band = |attribute: &str| at(&format!("bands[{b}].{attribute}"));
                for (attribute, bound) in [("min", band.min), ("max", band.max)] {
                    if bound.is_some_and(|x| !x.is_finite()) {
                        bands_valid = false;
                        errors.push(FieldError::new(
                            at_band(attribute),
                            "invalid_range",
                            "应为有限的数值",
                        ));
                    }
                }
                if let (Some(min), Some(max)) = (band.min, band.max)
                    && min >= max
                {
                    bands_valid = false;
                    errors.push(FieldError::new(
                        at_band("max"),
                        "invalid_range",
                        "分档上限须大于下限",
                    ));
                }
                if !(0..=MAX_POINTS).contains(&band.points) {
                    errors.push(FieldError::new(
                        at_band("points"),
                        "invalid_points",
                        format!("得分须在 0 到 {MAX_POINTS} 之间"),
                    ));
                }
            }
            let mut bands = rule.bands;
            let lower = |band: &Band| band.min.unwrap_or(f64::NEG_INFINITY);
            bands.sort_by(|a, b| lower(a).total_cmp(&lower(b)));
            if bands_valid
                && bands
                    .windows(2)
                    .any(|pair| pair[0].max.is_none_or(|max| max > lower(&pair[1])))
            {
                errors.push(FieldError::new(
                    at("bands"),
                    "overlapping_bands",
                    "分档区间不能重叠",
                ));
            }
            if let Some(indicator) = indicator {
                rules.push(ScoringRule {
                    indicator,
                    label: indicator.label().to_owned(),
                    weight: rule.weight,
                    bands,
                });
            }
        }
        if !rules.is_empty() && rules.iter().all(|rule| rule.weight == 0) {
            errors.push(FieldError::new(
                "rules",
                "invalid_weight",
                "权重不能全部为 0",
            ));
        }
        if errors.is_empty() {
            Ok(ScoringRules(rules))
        } else {
            Err(errors)
        }
    }

    /// The zone's default rules (version 1 of every campaign), after the 亩均 practice
    /// and the cultivation pool's thresholds (营业收入 1,000–2,000 万元 is near 规上).
    pub fn zone_default() -> Result<ScoringRules, ApiError> {
        let body: ScoringBody =
            serde_json::from_value(default_body()).map_err(ApiError::internal)?;
        Self::parse(body).map_err(|errors| {
            ApiError::internal(anyhow::anyhow!(
                "the default scoring rules are invalid: {errors:?}"
            ))
        })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[ScoringRule] {
        &self.0
    }

    /// The score of `answers` in hundredths of a point, with what each rule gave.
    pub fn score(&self, answers: &Map<String, Value>) -> (i32, Vec<Explained>) {
        let mut total = 0;
        let explained = self
            .0
            .iter()
            .map(|rule| {
                let value = rule.indicator.value(answers);
                let band = value.and_then(|x| rule.bands.iter().find(|b| b.contains(x)).copied());
                let points = band.map_or(0, |b| b.points);
                total += points * rule.weight;
                Explained {
                    indicator: rule.indicator,
                    label: rule.label.clone(),
                    value,
                    band,
                    points,
                    weight: rule.weight,
                    score: f64::from(points * rule.weight) / 100.0,
                }
            })
            .collect();
        (total, explained)
    }
}

/// The default rules as a body.
fn default_body() -> Value {
    json!({
        "rules": [
            {"indicator": "revenue", "weight": 30, "bands": [
                {"max": 500, "points": 20},
                {"min": 500, "max": 1000, "points": 50},
                {"min": 1000, "max": 2000, "points": 100},
                {"min": 2000, "points": 80}
            ]},
            {"indicator": "revenue_growth", "weight": 20, "bands": [
                {"max": 0, "points": 0},
                {"min": 0, "max": 10, "points": 40},
                {"min": 10, "max": 20, "points": 70},
                {"min": 20, "points": 100}
            ]},
            {"indicator": "tax_per_mu", "weight": 20, "bands": [
                {"max": 5, "points": 20},
                {"min": 5, "max": 15, "points": 60},
                {"min": 15, "max": 30, "points": 80},
                {"min": 30, "points": 100}
            ]},
            {"indicator": "employees", "weight": 10, "bands": [
                {"max": 10, "points": 20},
                {"min": 10, "max": 50, "points": 60},
                {"min": 50, "points": 100}
            ]},
            {"indicator": "rd_share", "weight": 15, "bands": [
                {"max": 1, "points": 0},
                {"min": 1, "max": 3, "points": 50},
                {"min": 3, "max": 5, "points": 80},
                {"min": 5, "points": 100}
            ]},
            {"indicator": "high_tech", "weight": 5, "bands": [
                {"min": 1, "points": 100}
            ]}
        ]
    })
}

/// A saved version of a campaign's scoring rules.
#[derive(Clone, Debug, Serialize)]
pub struct ScoringVersion {
    /// Its campaign.
    pub campaign_id: CampaignId,
    /// 1 for the default stored at creation, then one more per save.
    pub version: i32,
    /// The rules.
    pub rules: ScoringRules,
    /// The most a score can reach: the sum of the weights.
    pub max_score: i32,
    /// Who saved it.
    pub created_by: UserId,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

type StoredRow = (i32, String, UserId, NaiveDateTime);

fn stored_columns() -> (
    survey_scoring_rules::version,
    survey_scoring_rules::rules,
    survey_scoring_rules::created_by,
    survey_scoring_rules::created_at,
) {
    (
        survey_scoring_rules::version,
        survey_scoring_rules::rules,
        survey_scoring_rules::created_by,
        survey_scoring_rules::created_at,
    )
}

super::campaign_versions!(ScoringVersion, survey_scoring_rules);

impl ScoringVersion {
    fn of_row(
        campaign: &CampaignId,
        (version, rules, created_by, at): StoredRow,
    ) -> Result<Self, ApiError> {
        let rules = ScoringRules(serde_json::from_str(&rules).map_err(ApiError::internal)?);
        Ok(Self {
            campaign_id: campaign.clone(),
            version,
            max_score: rules.0.iter().map(|rule| rule.weight).sum(),
            rules,
            created_by,
            created_at: at.and_utc(),
        })
    }

    /// Saves `rules` as the campaign's next version (1 when it has none).
    pub fn save(
        conn: &mut DbConnection,
        campaign: &CampaignId,
        rules: &ScoringRules,
        author: &UserId,
    ) -> Result<Self, ApiError> {
        let version = Self::next_version(conn, campaign)?;
        let text = serde_json::to_string(rules).map_err(ApiError::internal)?;
        let at = now();
        diesel::insert_into(survey_scoring_rules::table)
            .values((
                survey_scoring_rules::id.eq(new_id()),
                survey_scoring_rules::campaign_id.eq(campaign),
                survey_scoring_rules::version.eq(version),
                survey_scoring_rules::rules.eq(&text),
                survey_scoring_rules::created_by.eq(author),
                survey_scoring_rules::created_at.eq(at),
            ))
            .execute(conn)?;
        Self::of_row(campaign, (version, text, author.clone(), at))
    }
}

/// A stored score.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_scores)]
pub struct Score {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The rule version it was scored under.
    pub version: i32,
    /// The case.
    pub case_id: CaseId,
    /// Its enterprise.
    pub enterprise_id: EnterpriseId,
    /// The enterprise's sector when scored.
    pub sector_id: OrgUnitId,
    /// The enterprise's park when scored.
    pub park_id: OrgUnitId,
    /// The approved answers' version scored.
    pub answer_version: i32,
    /// Hundredths of a point.
    pub score: i32,
    /// Class A–D.
    pub grade: ScoreClass,
    /// Rank in the campaign (equal scores share the best).
    pub rank: i32,
    /// Rank within its sector.
    pub sector_rank: i32,
    /// Rank within its park.
    pub park_rank: i32,
    /// JSON list of [`Explained`].
    pub explanation: String,
    /// When the run wrote it.
    pub scored_at: NaiveDateTime,
}

/// A score as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreView {
    /// The case.
    pub case_id: CaseId,
    /// Its enterprise.
    pub enterprise_id: EnterpriseId,
    /// The enterprise's name.
    pub enterprise_name: String,
    /// Its unified social credit code.
    pub credit_code: String,
    /// The enterprise's sector when scored.
    pub sector_id: OrgUnitId,
    /// The enterprise's park when scored.
    pub park_id: OrgUnitId,
    /// The rule version.
    pub version: i32,
    /// The approved answers' version scored.
    pub answer_version: i32,
    /// The score, in points (two decimals).
    pub score: f64,
    /// Class A–D.
    pub class: ScoreClass,
    /// Rank in the campaign.
    pub rank: i32,
    /// Rank within its sector.
    pub sector_rank: i32,
    /// Rank within its park.
    pub park_rank: i32,
    /// What each indicator gave.
    pub explanation: Vec<Explained>,
    /// When it was scored (UTC).
    pub scored_at: chrono::DateTime<chrono::Utc>,
}

/// How many scores fell in each class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct ClassCounts {
    /// Class A.
    pub a: usize,
    /// Class B.
    pub b: usize,
    /// Class C.
    pub c: usize,
    /// Class D.
    pub d: usize,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct ScoringRun {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The rule version scored under.
    pub version: i32,
    /// Cases scored (those whose answers are approved).
    pub scored: usize,
    /// Per class.
    pub classes: ClassCounts,
    /// When.
    pub scored_at: chrono::DateTime<chrono::Utc>,
}

/// A case to score: where its enterprise sits and its approved answers.
struct Approved {
    case_id: CaseId,
    enterprise_id: EnterpriseId,
    sector_id: OrgUnitId,
    park_id: OrgUnitId,
    answer_version: i32,
    answers: Map<String, Value>,
}

/// Filters of a score list.
#[derive(Clone, Debug, Default)]
pub struct ScoreFilter {
    /// Of an enterprise in this sector (when scored).
    pub sector_id: Option<OrgUnitId>,
    /// Of an enterprise in this park (when scored).
    pub park_id: Option<OrgUnitId>,
    /// In this class.
    pub class: Option<ScoreClass>,
}

/// Between the rank and the case id in a page key of a score list.
const RANK_KEY_SEPARATOR: char = '\n';

/// The competition ranks (1, 2, 2, 4) of scores in descending order.
fn ranks<'a>(scores: impl Iterator<Item = (i32, &'a str)>) -> Vec<i32> {
    let mut last: HashMap<&str, (i32, i32, i32)> = HashMap::new();
    scores
        .map(|(score, group)| {
            let (seen, rank, previous) = last.entry(group).or_insert((0, 0, i32::MIN));
            *seen += 1;
            if *previous != score {
                *rank = *seen;
                *previous = score;
            }
            *rank
        })
        .collect()
}

impl Score {
    /// Every case of `campaign` whose answers are approved, with its latest
    /// (approved) answers: one read.
    fn approved(conn: &mut DbConnection, campaign: &CampaignId) -> Result<Vec<Approved>, ApiError> {
        type Row = (CaseId, EnterpriseId, OrgUnitId, OrgUnitId, i32, String);
        let rows: Vec<Row> = survey_cases::table
            .inner_join(enterprises::table)
            .inner_join(survey_answers::table)
            .filter(survey_cases::campaign_id.eq(campaign))
            .filter(survey_cases::review.eq(ReviewState::Approved))
            .order((survey_cases::id.asc(), survey_answers::version.desc()))
            .select((
                survey_cases::id,
                survey_cases::enterprise_id,
                enterprises::sector_id,
                enterprises::park_id,
                survey_answers::version,
                survey_answers::answers,
            ))
            .load(conn)?;
        let mut approved: Vec<Approved> = Vec::new();
        for (case_id, enterprise_id, sector_id, park_id, answer_version, answers) in rows {
            // Rows come newest first per case: the first is the approved one.
            if approved.last().is_some_and(|a| a.case_id == case_id) {
                continue;
            }
            approved.push(Approved {
                case_id,
                enterprise_id,
                sector_id,
                park_id,
                answer_version,
                answers: serde_json::from_str(&answers).map_err(ApiError::internal)?,
            });
        }
        Ok(approved)
    }

    /// Scores every case of `campaign` whose answers are approved under `scoring`, in
    /// the caller's transaction: the version's earlier results are replaced, other
    /// versions' kept.
    pub fn run(conn: &mut DbConnection, scoring: &ScoringVersion) -> Result<ScoringRun, ApiError> {
        let campaign = &scoring.campaign_id;
        let approved = Self::approved(conn, campaign)?;
        let at = now();
        let rows = Self::rank(scoring, approved, at)?;
        diesel::delete(
            survey_scores::table
                .filter(survey_scores::campaign_id.eq(campaign))
                .filter(survey_scores::version.eq(scoring.version)),
        )
        .execute(conn)?;
        for chunk in rows.chunks(SCORE_CHUNK) {
            on_backend!(conn, |c| diesel::insert_into(survey_scores::table)
                .values(chunk)
                .execute(c))?;
        }
        let mut classes = ClassCounts::default();
        for row in &rows {
            *match row.grade {
                ScoreClass::A => &mut classes.a,
                ScoreClass::B => &mut classes.b,
                ScoreClass::C => &mut classes.c,
                ScoreClass::D => &mut classes.d,
            } += 1;
        }
        Ok(ScoringRun {
            campaign_id: campaign.clone(),
            version: scoring.version,
            scored: rows.len(),
            classes,
            scored_at: at.and_utc(),
        })
    }

    /// Scores, ranks (in the campaign, the sector, the park) and classes the cases,
    /// best first (equal scores by case id).
    fn rank(
        scoring: &ScoringVersion,
        approved: Vec<Approved>,
        at: NaiveDateTime,
    ) -> Result<Vec<Score>, ApiError> {
        let mut scored: Vec<(i32, Vec<Explained>, Approved)> = approved
            .into_iter()
            .map(|case| {
                let (score, explained) = scoring.rules.score(&case.answers);
                (score, explained, case)
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.case_id.cmp(&b.2.case_id)));
        let overall = ranks(scored.iter().map(|(score, _, _)| (*score, "")));
        let in_sector = ranks(scored.iter().map(|(s, _, c)| (*s, c.sector_id.as_str())));
        let in_park = ranks(scored.iter().map(|(s, _, c)| (*s, c.park_id.as_str())));
        let of = scored.len();
        scored
            .into_iter()
            .enumerate()
            .map(|(i, (score, explained, case))| {
                let rank = overall[i];
                Ok(Score {
                    campaign_id: scoring.campaign_id.clone(),
                    version: scoring.version,
                    case_id: case.case_id,
                    enterprise_id: case.enterprise_id,
                    sector_id: case.sector_id,
                    park_id: case.park_id,
                    answer_version: case.answer_version,
                    score,
                    grade: ScoreClass::of_rank(usize::try_from(rank).unwrap_or(of), of),
                    rank,
                    sector_rank: in_sector[i],
                    park_rank: in_park[i],
                    explanation: serde_json::to_string(&explained).map_err(ApiError::internal)?,
                    scored_at: at,
                })
            })
            .collect()
    }

    /// The scores of `campaign` under `version` that `scope` sees (by where their
    /// enterprises are now), matching the filter, best first, after the key `after`
    /// ([`Score::key`]); all of them when `limit` is `None`.
    pub fn list(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
        version: i32,
        filter: &ScoreFilter,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<ScoreView>, ApiError> {
        let mut query = survey_scores::table
            .inner_join(enterprises::table)
            .filter(survey_scores::campaign_id.eq(campaign.clone()))
            .filter(survey_scores::version.eq(version))
            .into_boxed::<MultiBackend>();
        match scope {
            SurveyScope::All => {}
            SurveyScope::Sectors(ids) => {
                query = query.filter(enterprises::sector_id.eq_any(ids.clone()));
            }
            SurveyScope::Parks(ids) => {
                query = query.filter(enterprises::park_id.eq_any(ids.clone()));
            }
            SurveyScope::Assignee(_) | SurveyScope::Nothing => {
                query = query.filter(survey_scores::case_id.eq_any(Vec::<CaseId>::new()));
            }
        }
        if let Some(sector) = &filter.sector_id {
            query = query.filter(survey_scores::sector_id.eq(sector.clone()));
        }
        if let Some(park) = &filter.park_id {
            query = query.filter(survey_scores::park_id.eq(park.clone()));
        }
        if let Some(class) = filter.class {
            query = query.filter(survey_scores::grade.eq(class));
        }
        if let Some(after) = after {
            let (rank, id) = after.split_once(RANK_KEY_SEPARATOR).unwrap_or(("", after));
            let rank: i32 = rank.parse().unwrap_or_default();
            query = query.filter(
                survey_scores::rank.gt(rank).or(survey_scores::rank
                    .eq(rank)
                    .and(survey_scores::case_id.gt(id.to_owned()))),
            );
        }
        query = query.order((survey_scores::rank.asc(), survey_scores::case_id.asc()));
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        let rows: Vec<(Score, String, String)> = query
            .select((
                Score::as_select(),
                enterprises::name,
                enterprises::credit_code,
            ))
            .load(conn)?;
        rows.into_iter()
            .map(|(row, enterprise_name, credit_code)| {
                Ok(ScoreView {
                    explanation: serde_json::from_str(&row.explanation)
                        .map_err(ApiError::internal)?,
                    case_id: row.case_id,
                    enterprise_id: row.enterprise_id,
                    enterprise_name,
                    credit_code,
                    sector_id: row.sector_id,
                    park_id: row.park_id,
                    version: row.version,
                    answer_version: row.answer_version,
                    score: f64::from(row.score) / 100.0,
                    class: row.grade,
                    rank: row.rank,
                    sector_rank: row.sector_rank,
                    park_rank: row.park_rank,
                    scored_at: row.scored_at.and_utc(),
                })
            })
            .collect()
    }

    /// The key that a page of [`Score::list`] continues after.
    pub fn key(view: &ScoreView) -> String {
        format!("{}{RANK_KEY_SEPARATOR}{}", view.rank, view.case_id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn answers(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn rules(value: Value) -> Result<ScoringRules, Vec<FieldError>> {
        ScoringRules::parse(serde_json::from_value(value).unwrap())
    }

    fn codes(result: Result<ScoringRules, Vec<FieldError>>) -> Vec<(String, &'static str)> {
        result
            .expect_err("should be refused")
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn indicators_come_from_the_answers_and_need_their_divisors() {
        let given = answers(json!({
            "revenue": 1500, "revenue_prior": 1200, "tax": 90, "land_area": 6,
            "employees": 40, "rd_spend": 60, "high_tech": true,
        }));
        let value = |indicator: Indicator| indicator.value(&given);
        assert_eq!(value(Indicator::Revenue), Some(1500.0));
        assert_eq!(value(Indicator::RevenueGrowth), Some(25.0));
        assert_eq!(value(Indicator::TaxPerMu), Some(15.0));
        assert_eq!(value(Indicator::Employees), Some(40.0));
        assert_eq!(value(Indicator::RdShare), Some(4.0));
        assert_eq!(value(Indicator::HighTech), Some(1.0));
        let sparse = answers(json!({ "revenue": 0, "land_area": 0, "tax": 5 }));
        assert_eq!(Indicator::RdShare.value(&sparse), None);
        assert_eq!(Indicator::TaxPerMu.value(&sparse), None);
        assert_eq!(Indicator::RevenueGrowth.value(&sparse), None);
        assert_eq!(Indicator::HighTech.value(&sparse), None);
    }

    #[test]
    fn the_default_rules_score_with_an_explanation() {
        let default = ScoringRules::zone_default().unwrap();
        let given = answers(json!({
            "revenue": 1500, "revenue_prior": 1200, "tax": 90, "land_area": 6,
            "employees": 40, "rd_spend": 60, "high_tech": true,
        }));
        let (score, explained) = default.score(&given);
        // 30×100% + 20×100% + 20×80% + 10×60% + 15×80% + 5×100%.
        assert_eq!(score, 3000 + 2000 + 1600 + 600 + 1200 + 500);
        let points: Vec<i32> = explained.iter().map(|e| e.points).collect();
        assert_eq!(points, [100, 100, 80, 60, 80, 100]);
        assert_eq!(explained[2].score, 16.0);
        assert_eq!(explained[2].band.and_then(|b| b.min), Some(15.0));
        let (nothing, explained) = default.score(&Map::new());
        assert_eq!(nothing, 0);
        assert!(
            explained
                .iter()
                .all(|e| e.value.is_none() && e.band.is_none())
        );
    }

    #[test]
    fn classes_split_10_20_40_30_by_rank() {
        let classes: Vec<ScoreClass> = (1..=10).map(|rank| ScoreClass::of_rank(rank, 10)).collect();
        use ScoreClass::{A, B, C, D};
        assert_eq!(classes, [A, B, B, C, C, C, C, D, D, D]);
        assert_eq!(ScoreClass::of_rank(1, 1), A);
        // Equal scores share the best rank, so the class.
        assert_eq!(ScoreClass::of_rank(1, 3), A);
    }

    #[test]
    fn equal_scores_share_a_rank_within_their_group() {
        let scores = [(90, "x"), (80, "y"), (80, "x"), (80, "x"), (70, "x")];
        assert_eq!(ranks(scores.iter().map(|(s, g)| (*s, *g))), [1, 1, 2, 2, 4]);
        assert_eq!(ranks(scores.iter().map(|(s, _)| (*s, ""))), [1, 2, 2, 2, 5]);
    }

    #[test]
    fn bad_rules_are_reported_all_at_once() {
        let refused = rules(json!({ "rules": [
            {"indicator": "profit", "weight": 10, "bands": [{"min": 0, "points": 10}]},
            {"indicator": "revenue", "weight": -5, "bands": []},
            {"indicator": "employees", "weight": 10, "bands": [
                {"min": 0, "max": 20, "points": 50}, {"min": 10, "max": 30, "points": 120}
            ]},
            {"indicator": "employees", "weight": 10, "bands": [{"min": 5, "max": 5, "points": 1}]}
        ]}));
        assert_eq!(
            codes(refused),
            vec![
                ("rules[0].indicator".to_owned(), "unknown_indicator"),
                ("rules[1].weight".to_owned(), "invalid_weight"),
                ("rules[1].bands".to_owned(), "invalid_bands"),
                ("rules[2].bands[1].points".to_owned(), "invalid_points"),
                ("rules[2].bands".to_owned(), "overlapping_bands"),
                ("rules[3].indicator".to_owned(), "duplicate_indicator"),
                ("rules[3].bands[0].max".to_owned(), "invalid_range"),
            ]
        );
        assert_eq!(
            codes(rules(json!({ "rules": [] }))),
            vec![("rules".to_owned(), "required")]
        );
        assert_eq!(
            codes(rules(
                json!({ "rules": [{"indicator": "revenue", "weight": 0, "bands": [{"points": 1}]}] })
            )),
            vec![("rules".to_owned(), "invalid_weight")]
        );
    }

    #[test]
    fn bands_are_kept_in_order_and_may_touch() {
        let parsed = rules(
            json!({ "rules": [{"indicator": "revenue", "weight": 10, "bands": [
                {"min": 100, "points": 100}, {"max": 100, "points": 10}
            ]}]}),
        )
        .unwrap();
        assert_eq!(parsed.rules()[0].bands[0].max, Some(100.0));
        let (score, _) = parsed.score(&answers(json!({ "revenue": 100 })));
        assert_eq!(score, 1000);
    }
}
