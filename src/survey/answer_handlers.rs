//! `/api/v1/survey/campaigns/{id}/questionnaire` and `/api/v1/survey/cases/{id}/answers`
//! and `/review`: a campaign's questionnaire, the answers submitted on a case, and
//! their review, each scoped to the caller ([`SurveyScope`]).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::id::{CampaignId, CaseId};
use crate::domain::survey::ClientId;
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::state::AppState;
use crate::survey::answers::{Change, NewSubmission, Submission, SubmissionView};
use crate::survey::campaigns::Campaign;
use crate::survey::cases::{Case, CaseView};
use crate::survey::questionnaire::{
    Finding, Questionnaire, QuestionnaireBody, QuestionnaireVersion, Roster,
};
use crate::survey::review::{NewReview, Review, ReviewView, latest_comments};
use crate::survey::{CampaignStatus, ReviewDecision, SurveyScope, visits, written_answer};

/// `GET /api/v1/survey/campaigns/{id}/questionnaire`: the campaign's current
/// questionnaire (fields and rules).
pub async fn find_questionnaire(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<QuestionnaireVersion>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let found = state
        .db
        .read(move |conn| {
            let campaign = Campaign::find(conn, &scope, &id)?;
            QuestionnaireVersion::current(conn, &campaign.id)
        })
        .await?;
    Ok(web::Json(found))
}

/// `PUT /api/v1/survey/campaigns/{id}/questionnaire`: a draft campaign's own
/// questionnaire, saved as its next version (admins and the zone command); a campaign
/// that has started is 409 `invalid_transition`.
pub async fn update_questionnaire(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<QuestionnaireBody>,
) -> Result<web::Json<QuestionnaireVersion>, ApiError> {
    let questionnaire = Questionnaire::parse(body.into_inner()).map_err(ApiError::validation)?;
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let saved = state
        .db
        .write(move |conn| {
            let campaign = Campaign::find(conn, &scope, &id)?;
            if campaign.status != CampaignStatus::Draft {
                return Err(ApiError::new(
                    ErrorCode::InvalidTransition,
                    "摸排任务开始后不能再修改问卷",
                ));
            }
            let saved =
                QuestionnaireVersion::save(conn, &campaign.id, &questionnaire, &caller.user_id)?;
            let event = Event::success(
                "survey.questionnaire.update",
                "survey_campaign",
                &campaign.id,
            )
            .with_details(serde_json::json!({
                "version": saved.version,
                "fields": questionnaire.fields.specs().len(),
                "rules": questionnaire.rules.rules().len(),
            }));
            audit::append(conn, &caller.actor(), event)?;
            Ok(saved)
        })
        .await?;
    Ok(web::Json(saved))
}

/// A case's answers and their review, as `GET .../answers` shows them.
#[derive(Debug, Serialize)]
pub struct CaseAnswers {
    /// The case.
    pub case: CaseView,
    /// The questionnaire to fill (the campaign's current version).
    pub questionnaire: QuestionnaireVersion,
    /// What the roster says of the enterprise (the form's starting point; answers
    /// are checked against it).
    pub roster: Roster,
    /// The latest submission, if any.
    pub current: Option<SubmissionView>,
    /// The version before it, if any.
    pub previous_version: Option<i32>,
    /// What changed from the previous version to the current one.
    pub diff: Vec<Change>,
    /// The latest return's comments by field key, to show next to the fields.
    pub comments: BTreeMap<String, String>,
    /// Every review decision, oldest first.
    pub reviews: Vec<ReviewView>,
}

/// `GET /api/v1/survey/cases/{id}/answers`: the questionnaire, the roster's facts, the latest answers
/// (phones masked), the diff from the version before, the return's comments and the
/// review history.
pub async fn find_answers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<web::Json<CaseAnswers>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let found = state
        .db
        .read(move |conn| case_answers(conn, &scope, &id))
        .await?;
    Ok(web::Json(found))
}

/// A case's questionnaire, answers and review as [`find_answers`] shows them, for
/// `scope` (404 for a case it does not see).
pub fn case_answers(
    conn: &mut DbConnection,
    scope: &SurveyScope,
    id: &CaseId,
) -> Result<CaseAnswers, ApiError> {
    let placed = Case::find(conn, scope, id)?;
    let campaign = placed.case.campaign_id.clone();
    let questionnaire = QuestionnaireVersion::current(conn, &campaign)?;
    let latest = Submission::latest_two(conn, &placed.case.id)?;
    let diff = match latest.as_slice() {
        [new, old] => new.diff(conn, &campaign, old)?,
        _ => Vec::new(),
    };
    let roster = Roster::of(conn, &placed.case.enterprise_id)?;
    let reviews = Review::of_case(conn, &placed.case.id)?;
    let reviews = Review::views(conn, reviews)?;
    Ok(CaseAnswers {
        case: Case::view(conn, placed)?,
        questionnaire,
        roster,
        previous_version: latest.get(1).map(|s| s.version),
        current: Submission::views(conn, &campaign, &latest[..latest.len().min(1)])?.pop(),
        diff,
        comments: latest_comments(&reviews),
        reviews,
    })
}

/// Body of a submission.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswersBody {
    /// Answers by field key.
    pub answers: Map<String, Value>,
    /// Explanations by rule id.
    #[serde(default)]
    pub explanations: BTreeMap<String, String>,
    /// The device's id for the submission.
    pub client_id: String,
    /// The case's version the answers were built on.
    pub case_version: i32,
}

impl AnswersBody {
    /// The validated submission.
    pub fn parse(self) -> Result<NewSubmission, ApiError> {
        let mut errors = FieldErrors::default();
        let client_id = errors.check(ClientId::parse(&self.client_id));
        if self.case_version < 1 {
            errors.push(FieldError::new(
                "case_version",
                "out_of_range",
                "case_version 须为正整数",
            ));
        }
        let Some(client_id) = client_id else {
            return Err(errors.into_error());
        };
        errors.finish()?;
        Ok(NewSubmission {
            answers: self.answers,
            explanations: self.explanations,
            client_id,
            case_version: self.case_version,
        })
    }
}

/// What a submission gives back.
#[derive(Debug, Serialize)]
pub struct SubmitResult {
    /// The stored submission (phones masked).
    pub answers: SubmissionView,
    /// The warnings it was accepted with.
    pub warnings: Vec<Finding>,
    /// The case now.
    pub case: CaseView,
}

/// `POST /api/v1/survey/cases/{id}/answers`: the assigned surveyor (or an official in
/// scope) submits the case's answers: 201 with the new version, its warnings and the
/// case; 200 with the same submission when the client id was seen before.
pub async fn submit_answers(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
    body: web::Json<AnswersBody>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().parse()?;
    let (created, result) = submit(&state, caller, id.into_inner(), new).await?;
    Ok(written_answer(created, result))
}

/// Submits answers on case `id` of the caller's scope (the API's and the surveyor's
/// page's one way): whether they were new, and what [`submit_answers`] gives back.
pub async fn submit(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    new: NewSubmission,
) -> Result<(bool, SubmitResult), ApiError> {
    let scope = SurveyScope::of(&caller);
    let vault = state.vault.clone();
    state
        .db
        .write(move |conn| {
            let placed = Case::find(conn, &scope, &id)?;
            let campaign = Campaign::find(conn, &SurveyScope::All, &placed.case.campaign_id)?;
            let running = campaign.status == CampaignStatus::Running;
            let submitted = Submission::submit(
                conn,
                &vault,
                &caller.actor(),
                &caller.user_id,
                &placed,
                running,
                &new,
            )?;
            let (submission, created) = submitted.split();
            let view = Submission::views(conn, &campaign.id, &[submission])?
                .pop()
                .ok_or_else(ApiError::not_found)?;
            let case = visits::reload(conn, &placed)?;
            Ok((
                created,
                SubmitResult {
                    warnings: view.warnings.clone(),
                    answers: view,
                    case: Case::view(conn, case)?,
                },
            ))
        })
        .await
}

/// Body of a review decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// The decision.
    pub decision: ReviewDecision,
    /// Comments by field key (a return).
    #[serde(default)]
    pub comments: BTreeMap<String, String>,
    /// A note (the reason of a rejection or an un-approval).
    #[serde(default)]
    pub note: String,
    /// The case version the reviewer saw.
    #[serde(default, deserialize_with = "crate::body::non_null")]
    pub case_version: Option<i32>,
}

/// What a decision gives back.
#[derive(Debug, Serialize)]
pub struct ReviewResult {
    /// The decision.
    pub review: ReviewView,
    /// The case now.
    pub case: CaseView,
}

/// `POST /api/v1/survey/cases/{id}/review`: an official in scope approves, returns
/// (with comments per field), rejects or un-approves a case's answers.
pub async fn review_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
    body: web::Json<ReviewBody>,
) -> Result<web::Json<ReviewResult>, ApiError> {
    let body = body.into_inner();
    let new = NewReview {
        decision: body.decision,
        comments: body.comments,
        note: body.note,
        case_version: body.case_version,
    };
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let result = state
        .db
        .write(move |conn| {
            let placed = Case::find(conn, &scope, &id)?;
            let review = Review::decide(conn, &caller.actor(), &caller.user_id, &placed, &new)?;
            let case = visits::reload(conn, &placed)?;
            Ok(ReviewResult {
                review: Review::views(conn, vec![review])?
                    .pop()
                    .ok_or_else(ApiError::not_found)?,
                case: Case::view(conn, case)?,
            })
        })
        .await?;
    Ok(web::Json(result))
}
