//! Review of a case's answers by an official in scope: approve, return to the surveyor
//! with comments per field (the case reopens for them), reject, or un-approve. Every
//! decision is kept and audited; only approved answers count. Approving takes the
//! answers' demands into the issue ledger, un-approving retracts those not yet
//! started on ([`Demand`]).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::db::schema::survey_reviews;
use crate::db::{DbConnection, new_id, now};
use crate::domain::id::{CaseId, UserId};
use crate::domain::text::bounded;
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::forms::fields::FieldKind;
use crate::survey::answers::Submission;
use crate::survey::cases::{Case, PlacedCase};
use crate::survey::demands::Demand;
use crate::survey::questionnaire::QuestionnaireVersion;
use crate::survey::{ReviewDecision, display_names, stale_case};

/// Longest comment or note, in characters.
const MAX_COMMENT_CHARS: usize = 500;

/// A stored decision.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_reviews)]
pub struct Review {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: CaseId,
    /// The answers' version decided on.
    pub answer_version: i32,
    /// The decision.
    pub decision: ReviewDecision,
    /// JSON object: comments by field key.
    pub comments: String,
    /// A note on the whole (the reason of a rejection or un-approval).
    pub note: String,
    /// Who decided.
    pub reviewer_id: UserId,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A decision to record, its body parsed.
#[derive(Clone, Debug)]
pub struct NewReview {
    /// The decision.
    pub decision: ReviewDecision,
    /// Comments by field key, as sent.
    pub comments: BTreeMap<String, String>,
    /// A note, as sent.
    pub note: String,
    /// The case's version the reviewer saw, if sent.
    pub case_version: Option<i32>,
}

/// A decision as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewView {
    /// The answers' version decided on.
    pub answer_version: i32,
    /// The decision.
    pub decision: ReviewDecision,
    /// Comments by field key.
    pub comments: BTreeMap<String, String>,
    /// Note.
    pub note: String,
    /// Who decided.
    pub reviewer_id: UserId,
    /// Their display name.
    pub reviewer_name: Option<String>,
    /// When (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Review {
    /// Records `new` on `placed` (which the caller may see) in the caller's
    /// transaction: a decision the case's review state does not allow is 409
    /// `invalid_transition`, a stale `case_version` 409 `case_version_conflict`;
    /// comments must name answered fields of the questionnaire (`unknown_field`) and
    /// be 1 to 500 characters; a return needs a comment or a note, a rejection or an
    /// un-approval a note (`required`). The case takes the new review state as a new
    /// version, and an audit entry is written.
    pub fn decide(
        conn: &mut DbConnection,
        actor: &Actor,
        reviewer: &UserId,
        placed: &PlacedCase,
        new: &NewReview,
    ) -> Result<Review, ApiError> {
        let case = &placed.case;
        let Some(to) = new.decision.apply(case.review) else {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                format!(
                    "该摸排对象的问卷{}，不能{}",
                    case.review.label(),
                    new.decision.label()
                ),
            ));
        };
        if new.case_version.is_some_and(|seen| seen != case.version) {
            return Err(stale_case());
        }
        let latest = Submission::latest_two(conn, &case.id)?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidTransition, "该摸排对象尚未提交问卷"))?;
        let questionnaire =
            QuestionnaireVersion::at(conn, &case.campaign_id, latest.questionnaire_version)?;
        let mut errors = FieldErrors::default();
        let mut comments = BTreeMap::new();
        for (key, raw) in &new.comments {
            let field = format!("comments.{key}");
            let known = questionnaire
                .questionnaire
                .fields
                .specs()
                .iter()
                .any(|spec| spec.key == *key && spec.kind != FieldKind::Section);
            if !known {
                errors.push(FieldError::new(field, "unknown_field", "问卷中没有此项"));
            } else if let Some(comment) = errors.check(bounded(&field, raw, 1, MAX_COMMENT_CHARS)) {
                comments.insert(key.clone(), comment);
            }
        }
        let note = errors
            .check(bounded("note", &new.note, 0, MAX_COMMENT_CHARS))
            .unwrap_or_default();
        let needs_note = match new.decision {
            ReviewDecision::Approve => false,
            ReviewDecision::Return => comments.is_empty() && new.comments.is_empty(),
            ReviewDecision::Reject | ReviewDecision::Unapprove => true,
        };
        if needs_note && new.note.trim().is_empty() {
            let message = match new.decision {
                ReviewDecision::Return => "退回时请对字段写明意见或填写说明",
                _ => "请填写原因",
            };
            errors.push(FieldError::new("note", "required", message));
        }
        errors.finish()?;
        let at = now();
        let review = Review {
            id: new_id(),
            case_id: case.id.clone(),
            answer_version: latest.version,
            decision: new.decision,
            comments: json!(comments).to_string(),
            note,
            reviewer_id: reviewer.clone(),
            created_at: at,
        };
        diesel::insert_into(survey_reviews::table)
            .values(&review)
            .execute(conn)?;
        Case::move_review(conn, case, to, at)?;
        let demands = match new.decision {
            ReviewDecision::Approve => {
                json!({ "taken": Demand::take(conn, actor, reviewer, placed, &latest)? })
            }
            ReviewDecision::Unapprove => {
                json!({ "retracted": Demand::retract(conn, actor, &case.id)? })
            }
            ReviewDecision::Return | ReviewDecision::Reject => json!({}),
        };
        let event =
            Event::success("survey.case.review", "survey_case", &case.id).with_details(json!({
                "enterprise_id": case.enterprise_id,
                "decision": new.decision,
                "from": case.review,
                "to": to,
                "answer_version": latest.version,
                "commented_fields": comments.keys().collect::<Vec<_>>(),
                "demands": demands,
            }));
        audit::append(conn, actor, event)?;
        Ok(review)
    }

    /// The case's decisions, oldest first.
    pub fn of_case(conn: &mut DbConnection, case: &CaseId) -> Result<Vec<Review>, ApiError> {
        Ok(survey_reviews::table
            .filter(survey_reviews::case_id.eq(case))
            .order((survey_reviews::created_at.asc(), survey_reviews::id.asc()))
            .select(Review::as_select())
            .load(conn)?)
    }

    /// Adds the reviewers' names for the API.
    pub fn views(conn: &mut DbConnection, rows: Vec<Review>) -> Result<Vec<ReviewView>, ApiError> {
        let names = display_names(conn, rows.iter().map(|r| &r.reviewer_id))?;
        rows.into_iter()
            .map(|r| {
                Ok(ReviewView {
                    answer_version: r.answer_version,
                    decision: r.decision,
                    comments: serde_json::from_str(&r.comments).map_err(ApiError::internal)?,
                    note: r.note,
                    reviewer_name: names.get(&r.reviewer_id).cloned(),
                    reviewer_id: r.reviewer_id,
                    created_at: r.created_at.and_utc(),
                })
            })
            .collect()
    }
}

/// The comments of the case's latest return, next to which the surveyor fixes the
/// fields (none when it was never returned).
pub fn latest_comments(reviews: &[ReviewView]) -> BTreeMap<String, String> {
    reviews
        .iter()
        .rev()
        .find(|r| r.decision == ReviewDecision::Return)
        .map(|r| r.comments.clone())
        .unwrap_or_default()
}
