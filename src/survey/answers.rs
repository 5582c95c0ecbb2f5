//! A case's answers to its campaign's questionnaire. Every submission is a new version,
//! kept with the questionnaire version it was given against; mobile numbers are sealed
//! where they are stored and only ever shown masked; photo answers name photos of the
//! same case; a retry with the same client id is the same submission; the last two
//! versions give a field-by-field diff.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::audit::{self, Actor, Event};
use crate::db::schema::survey_answers;
use crate::db::{DbConnection, new_id, now};
use crate::domain::id::{CampaignId, CaseId, PhotoId, UserId};
use crate::domain::person::Mobile;
use crate::domain::survey::ClientId;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::forms::fields::Fields;
use crate::personal::Vault;
use crate::survey::cases::{Case, PlacedCase};
use crate::survey::photos::Photo;
use crate::survey::questionnaire::{Finding, QuestionnaireVersion, Roster};
use crate::survey::{ReviewState, Written, display_names, stale_case};

/// Sealing context of the phones in answers.
const PHONE_CONTEXT: &str = "survey.answers.phone";
/// Keyed-hash context of a submission's body.
const DIGEST_CONTEXT: &str = "survey.answers.request";

/// A stored submission.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_answers)]
pub struct Submission {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: CaseId,
    /// 1 for the first submission of the case, then one more each.
    pub version: i32,
    /// The questionnaire version it was given against.
    pub questionnaire_version: i32,
    /// JSON answers, phones sealed (`{"masked", "sealed", "index"}`).
    pub answers: String,
    /// JSON object of explanations by rule id.
    pub explanations: String,
    /// JSON list of warning findings.
    pub warnings: String,
    /// The device's id for it.
    pub client_id: String,
    /// Keyed hash of the body sent.
    pub digest: String,
    /// Who submitted it.
    pub submitted_by: UserId,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A submission to store, its body parsed.
#[derive(Clone, Debug)]
pub struct NewSubmission {
    /// Answers as sent, keyed by field.
    pub answers: Map<String, Value>,
    /// Explanations by rule id, as sent.
    pub explanations: BTreeMap<String, String>,
    /// The device's id for it.
    pub client_id: ClientId,
    /// The case's version the surveyor saw.
    pub case_version: i32,
}

/// A submission as the API shows it: phones masked.
#[derive(Clone, Debug, Serialize)]
pub struct SubmissionView {
    /// Version of the case's answers.
    pub version: i32,
    /// The questionnaire version it was given against.
    pub questionnaire_version: i32,
    /// The answers, phones masked.
    pub answers: Map<String, Value>,
    /// Explanations by rule id.
    pub explanations: BTreeMap<String, String>,
    /// Warnings it was accepted with.
    pub warnings: Vec<Finding>,
    /// The device's id for it.
    pub client_id: String,
    /// Who submitted it.
    pub submitted_by: UserId,
    /// Their display name.
    pub submitted_by_name: Option<String>,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One changed field between two versions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Field key.
    pub field: String,
    /// The earlier answer (`null`: none), phones masked.
    pub old: Value,
    /// The later answer (`null`: none), phones masked.
    pub new: Value,
}

impl Submission {
    /// Submits answers on `placed` (which the caller may see), in the caller's
    /// transaction: a client id seen before on the case gives that submission back
    /// (422 `idempotency_key_reused` when the body differs); a campaign not running is
    /// 409 `campaign_not_running`, answers already approved or rejected 409
    /// `invalid_transition`, a `case_version` other than the case's 409
    /// `case_version_conflict`; invalid answers, broken blocking rules and missing
    /// explanations are one 422 listing them all; then photo answers naming anything
    /// but photos uploaded to this case are a 422 `unknown_photo` at their field.
    /// Otherwise the answers are stored
    /// (phones sealed) as the case's next version, the case goes to review
    /// (`received`) as a new version, and an audit entry is written.
    pub fn submit(
        conn: &mut DbConnection,
        vault: &Vault,
        actor: &Actor,
        submitter: &UserId,
        placed: &PlacedCase,
        running: bool,
        new: &NewSubmission,
    ) -> Result<Written<Submission>, ApiError> {
        let case = &placed.case;
        let body = json!({ "answers": new.answers, "explanations": new.explanations });
        let digest = vault.blind_index(DIGEST_CONTEXT, &body.to_string());
        let earlier: Option<Submission> = survey_answers::table
            .filter(survey_answers::case_id.eq(&case.id))
            .filter(survey_answers::client_id.eq(new.client_id.as_str()))
            .select(Submission::as_select())
            .first(conn)
            .optional()?;
        if let Some(earlier) = earlier {
            if earlier.digest != digest {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "该 client_id 已用于另一次问卷提交，请为新的提交生成新的 client_id",
                ));
            }
            return Ok(Written::Replayed(earlier));
        }
        if !running {
            return Err(ApiError::new(
                ErrorCode::CampaignNotRunning,
                "该摸排任务未在进行中，不能提交问卷",
            ));
        }
        if !case.review.takes_answers() {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                format!("该摸排对象的问卷{}，不能再提交", case.review.label()),
            ));
        }
        if new.case_version != case.version {
            return Err(stale_case());
        }
        let questionnaire = QuestionnaireVersion::current(conn, &case.campaign_id)?;
        let checked = questionnaire
            .questionnaire
            .check(
                &new.answers,
                &new.explanations,
                &Roster::of(conn, &case.enterprise_id)?,
            )
            .map_err(ApiError::validation)?;
        let mut answers = checked.answers;
        let foreign = foreign_photos(
            conn,
            &case.id,
            &questionnaire.questionnaire.fields,
            &answers,
        )?;
        if !foreign.is_empty() {
            return Err(ApiError::validation(foreign));
        }
        questionnaire
            .questionnaire
            .fields
            .each_phone(&mut answers, |value| {
                let digits = value.as_str().unwrap_or_default().to_owned();
                *value = json!({
                    "masked": Mobile::mask_stored(&digits),
                    "sealed": vault.seal(PHONE_CONTEXT, &digits).map_err(ApiError::internal)?,
                    "index": vault.blind_index(PHONE_CONTEXT, &digits),
                });
                Ok::<(), ApiError>(())
            })?;
        let newest: Option<i32> = survey_answers::table
            .filter(survey_answers::case_id.eq(&case.id))
            .select(diesel::dsl::max(survey_answers::version))
            .first(conn)?;
        let at = now();
        let submission = Submission {
            id: new_id(),
            case_id: case.id.clone(),
            version: newest.unwrap_or(0) + 1,
            questionnaire_version: questionnaire.version,
            answers: Value::Object(answers).to_string(),
            explanations: json!(checked.explanations).to_string(),
            warnings: serde_json::to_string(&checked.warnings).map_err(ApiError::internal)?,
            client_id: new.client_id.as_str().to_owned(),
            digest,
            submitted_by: submitter.clone(),
            created_at: at,
        };
        diesel::insert_into(survey_answers::table)
            .values(&submission)
            .execute(conn)?;
        Case::move_review(conn, case, ReviewState::Received, at)?;
        let event =
            Event::success("survey.answers.submit", "survey_case", &case.id).with_details(json!({
                "enterprise_id": case.enterprise_id,
                "version": submission.version,
                "questionnaire_version": submission.questionnaire_version,
                "explained": checked.explanations.keys().collect::<Vec<_>>(),
                "warnings": checked.warnings.iter().map(|w| &w.rule_id).collect::<Vec<_>>(),
            }));
        audit::append(conn, actor, event)?;
        Ok(Written::Created(submission))
    }

    /// The case's last two submissions, newest first.
    pub fn latest_two(conn: &mut DbConnection, case: &CaseId) -> Result<Vec<Submission>, ApiError> {
        Ok(survey_answers::table
            .filter(survey_answers::case_id.eq(case))
            .order(survey_answers::version.desc())
            .limit(2)
            .select(Submission::as_select())
            .load(conn)?)
    }

    /// The stored answers with each phone mapped by `f` (its stored object to what
    /// shows or compares).
    fn answers_with(
        &self,
        conn: &mut DbConnection,
        campaign: &CampaignId,
        f: fn(&Value) -> Value,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut answers: Map<String, Value> =
            serde_json::from_str(&self.answers).map_err(ApiError::internal)?;
        let questionnaire = QuestionnaireVersion::at(conn, campaign, self.questionnaire_version)?;
        questionnaire
            .questionnaire
            .fields
            .each_phone(&mut answers, |value| {
                *value = f(value);
                Ok::<(), ApiError>(())
            })?;
        Ok(answers)
    }

    /// The submissions for the API, phones masked.
    pub fn views(
        conn: &mut DbConnection,
        campaign: &CampaignId,
        rows: &[Submission],
    ) -> Result<Vec<SubmissionView>, ApiError> {
        let names = display_names(conn, rows.iter().map(|s| &s.submitted_by))?;
        rows.iter()
            .map(|row| {
                Ok(SubmissionView {
                    version: row.version,
                    questionnaire_version: row.questionnaire_version,
                    answers: row.answers_with(conn, campaign, masked)?,
                    explanations: serde_json::from_str(&row.explanations)
                        .map_err(ApiError::internal)?,
                    warnings: serde_json::from_str(&row.warnings).map_err(ApiError::internal)?,
                    client_id: row.client_id.clone(),
                    submitted_by: row.submitted_by.clone(),
                    submitted_by_name: names.get(&row.submitted_by).cloned(),
                    created_at: row.created_at.and_utc(),
                })
            })
            .collect()
    }

    /// What changed from `old` to `self`, field by field (the later answers' keys in
    /// order, then those only the earlier had); phones compare by their blind index
    /// and show masked.
    pub fn diff(
        &self,
        conn: &mut DbConnection,
        campaign: &CampaignId,
        old: &Submission,
    ) -> Result<Vec<Change>, ApiError> {
        let (new_shown, old_shown) = (
            self.answers_with(conn, campaign, masked)?,
            old.answers_with(conn, campaign, masked)?,
        );
        let (new_key, old_key) = (
            self.answers_with(conn, campaign, fingerprint)?,
            old.answers_with(conn, campaign, fingerprint)?,
        );
        let keys = new_key
            .keys()
            .chain(old_key.keys().filter(|key| !new_key.contains_key(*key)));
        Ok(keys
            .filter(|key| new_key.get(*key) != old_key.get(*key))
            .map(|key| Change {
                field: key.clone(),
                old: old_shown.get(key).cloned().unwrap_or(Value::Null),
                new: new_shown.get(key).cloned().unwrap_or(Value::Null),
            })
            .collect())
    }
}

/// An error at each photo answer that names a photo which is not one of `case`'s:
/// unknown ids and other cases' photos alike, so that ids cannot be probed.
fn foreign_photos(
    conn: &mut DbConnection,
    case: &CaseId,
    fields: &Fields,
    answers: &Map<String, Value>,
) -> Result<Vec<FieldError>, ApiError> {
    let named: Vec<PhotoId> = fields
        .photo_ids(answers)
        .flat_map(|(_, ids)| ids)
        .map(|id| PhotoId::from(id.to_owned()))
        .collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let held = Photo::of_case_among(conn, case, &named)?;
    Ok(fields
        .photo_ids(answers)
        .filter_map(|(key, ids)| {
            let missing = ids
                .iter()
                .filter(|id| !held.iter().any(|photo| photo.as_str() == **id))
                .count();
            (missing > 0).then(|| {
                FieldError::new(
                    format!("answers.{key}"),
                    "unknown_photo",
                    format!("有 {missing} 张照片不存在或不是这家企业摸排时上传的，请重新选择"),
                )
            })
        })
        .collect())
}

/// A stored phone as shown: its masked number.
fn masked(stored: &Value) -> Value {
    stored.get("masked").cloned().unwrap_or(Value::Null)
}

/// A stored phone as compared: its blind index.
fn fingerprint(stored: &Value) -> Value {
    stored.get("index").cloned().unwrap_or(Value::Null)
}
