//! The review of a campaign's answers: the queue of cases in a review state
//! (waiting first), and a case's page with its answers under the questionnaire's
//! labels (photo answers as their pictures), the warnings and explanations, what
//! changed since the version before, its photos, the review history, and the
//! decisions: approve, return with comments per field, reject, un-approve. Decisions
//! go through the API's review handler (its checks, its audit entry
//! `survey.case.review`).

use serde_json::Value;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::console::session::{Posted, Signed};
use crate::console::survey::{
    CAMPAIGNS_PATH, CASE_ROWS, REVIEW_PATH, campaign_links, campaign_of, case_badge, cases_of,
    review_badge, runners_only,
};
use crate::console::{PageError, layout, render, see_other};
use crate::domain::id::{CampaignId, CaseId, PhotoId};
use crate::domain::zone;
use crate::error::ApiError;
use crate::forms::fields::{FieldKind, FieldSpec};
use crate::state::AppState;
use crate::survey::answer_handlers::{CaseAnswers, ReviewBody, find_answers, review_case};
use crate::survey::handlers::{CaseListQuery, list_photos, photo_picture};
use crate::survey::{ReviewDecision, ReviewState};

/// A case's review page.
pub fn case_path(id: &CaseId) -> String {
    format!("{REVIEW_PATH}/{id}")
}

/// The review states the queue can list, waiting first.
const QUEUES: [ReviewState; 4] = [
    ReviewState::Received,
    ReviewState::Returned,
    ReviewState::Approved,
    ReviewState::Rejected,
];

/// `GET /console/survey/campaigns/{id}/review?review=`: the campaign's cases in a
/// review state (received by default).
pub async fn queue_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let query = Posted::parse(req.query_string().as_bytes());
    let review = match query.value("review").filter(|raw| !raw.is_empty()) {
        None => ReviewState::Received,
        Some(raw) => ReviewState::from_stored(raw)
            .filter(|state| QUEUES.contains(state))
            .ok_or_else(|| ApiError::field("review", "invalid_value", "没有这种审核状态"))?,
    };
    let cursor = query
        .value("cursor")
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let listed = CaseListQuery {
        limit: Some(CASE_ROWS),
        cursor,
        review: Some(review),
        ..CaseListQuery::default()
    };
    let campaign = campaign_of(&state, &signed, &id).await?;
    let cases = cases_of(&state, &signed, &id, listed).await?;
    let path = format!("{}/{id}/review", CAMPAIGNS_PATH);
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " · 审核" }
        nav.actions.card {
            @for queue in QUEUES {
                @if queue == review {
                    b { (queue.label()) }
                } @else {
                    a href={ (path) "?review=" (queue.as_str()) } { (queue.label()) }
                }
            }
        }
        section.card {
            @if cases.items.is_empty() {
                p.muted { "没有" (review.label()) "的问卷。" }
            } @else {
                div.scroll { table {
                    thead { tr { th { "企业" } th { "摸排人员" } th { "状态" } th { "问卷" } th { "更新时间" } th {} } }
                    tbody {
                        @for case in &cases.items {
                            tr {
                                td.wrap { (case.enterprise_name) }
                                td { (case.assignee_name.as_deref().unwrap_or("—")) }
                                td { (case_badge(case.state)) }
                                td { (review_badge(case.review)) }
                                td { (zone::shown_minute(case.updated_at)) }
                                td { a href=(case_path(&case.id)) { "审核" } }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = &cases.next_cursor {
                p { a href={ (path) "?review=" (review.as_str()) "&cursor=" (next) } { "下一页" } }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "问卷审核",
            body,
        ),
    ))
}

/// An answer as read: text as it is, yes/no in words, lists joined, rows as lines.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::Bool(true) => "是".to_owned(),
        Value::Bool(false) => "否".to_owned(),
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join("、"),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| format!("{key}：{}", shown(value)))
            .collect::<Vec<_>>()
            .join("，"),
    }
}

/// Where the review pages show a photo.
fn photo_path(id: &str) -> String {
    format!("{REVIEW_PATH}/photos/{id}")
}

/// An answer to field `key` as read: a photo question's photos as thumbnails linking
/// to the pictures, anything else as [`shown`] puts it.
fn answer_markup(found: &CaseAnswers, key: &str, value: &Value) -> Markup {
    let photos = spec_of(found, key).is_some_and(|spec| spec.kind == FieldKind::Photo);
    match value {
        Value::Array(ids) if photos => html! {
            div.actions.shots {
                @for id in ids.iter().filter_map(Value::as_str) {
                    a href=(photo_path(id)) {
                        img src=(photo_path(id)) alt="问卷照片" width="120" loading="lazy";
                    }
                }
            }
        },
        _ => html! { (shown(value)) },
    }
}

/// `GET /console/survey/review/{id}`: a case's answers and their review.
pub async fn case_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let caller = signed.caller.clone();
    let found = find_answers(state.clone(), caller.clone(), web::Path::from(id.clone()))
        .await?
        .into_inner();
    let photos = list_photos(state.clone(), caller, web::Path::from(id.clone()))
        .await?
        .into_inner()
        .items;
    let case = &found.case;
    let body = html! {
        (campaign_links(&case.campaign_id))
        h1 { (case.enterprise_name) " " (review_badge(case.review)) }
        section.card {
            dl {
                dt { "摸排状态" } dd { (case_badge(case.state)) }
                dt { "摸排人员" } dd { (case.assignee_name.as_deref().unwrap_or("—")) }
                dt { "走访次数" } dd { (case.attempts) }
                @if let Some(current) = &found.current {
                    dt { "问卷版本" } dd { "第 " (current.version) " 版，" (zone::shown_minute(current.created_at)) " 由 " (current.submitted_by_name.as_deref().unwrap_or("—")) " 提交" }
                }
            }
        }
        @if found.current.is_none() {
            p.notice { "尚未提交问卷。" }
        }
        (decision_form(&signed, &found))
        @if !found.diff.is_empty() {
            section.card {
                h2 { "与第 " (found.previous_version.unwrap_or(0)) " 版相比的修改" }
                div.scroll { table #diff {
                    thead { tr { th { "项目" } th { "原答案" } th { "新答案" } } }
                    tbody {
                        @for change in &found.diff {
                            tr {
                                td { (label_of(&found, &change.field)) }
                                td.wrap { (answer_markup(&found, &change.field, &change.old)) }
                                td.wrap { (answer_markup(&found, &change.field, &change.new)) }
                            }
                        }
                    }
                } }
            }
        }
        @if !photos.is_empty() {
            section.card {
                h2 { "照片" }
                div.actions {
                    @for photo in &photos {
                        a href=(photo_path(photo.id.as_str())) {
                            img src=(photo_path(photo.id.as_str())) alt="走访照片" width="160" loading="lazy";
                        }
                    }
                }
            }
        }
        @if !found.reviews.is_empty() {
            section.card {
                h2 { "审核记录" }
                ul {
                    @for review in &found.reviews {
                        li {
                            (zone::shown_minute(review.created_at)) " "
                            (review.reviewer_name.as_deref().unwrap_or("—")) " "
                            b { (review.decision.label()) } "（第 " (review.answer_version) " 版）"
                            @if !review.note.is_empty() { "：" (review.note) }
                            @for (key, comment) in &review.comments {
                                br; span.muted { (label_of(&found, key)) "：" (comment) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "问卷审核",
            body,
        ),
    ))
}

/// The current questionnaire's field of a key, if it still has one.
fn spec_of<'a>(found: &'a CaseAnswers, key: &str) -> Option<&'a FieldSpec> {
    found
        .questionnaire
        .questionnaire
        .fields
        .specs()
        .iter()
        .find(|spec| spec.key == key)
}

/// The questionnaire's label of a field key (the key itself when the field is gone).
fn label_of<'a>(found: &'a CaseAnswers, key: &'a str) -> &'a str {
    spec_of(found, key).map_or(key, |spec| spec.label.as_str())
}

/// The answers under their labels, each with a comment box for a return, and the
/// decisions the review state allows.
fn decision_form(signed: &Signed, found: &CaseAnswers) -> Markup {
    let case = &found.case;
    let Some(current) = &found.current else {
        return html! {};
    };
    let received = case.review == ReviewState::Received;
    html! {
        form.card #decide method="post" action=(case_path(&case.id)) {
            h2 { "问卷答案" }
            (signed.csrf_field())
            input type="hidden" name="case_version" value=(case.version);
            @for spec in found.questionnaire.questionnaire.fields.specs() {
                @if spec.kind == FieldKind::Section {
                    h2 { (spec.label) }
                } @else {
                    div.qa {
                        b { (spec.label) }
                        div {
                            (current.answers.get(&spec.key).map_or_else(|| html! { "—" }, |value| answer_markup(found, &spec.key, value)))
                            @if let Some(explained) = current.explanations.get(&spec.key) {
                                p.muted { "说明：" (explained) }
                            }
                            @for finding in current.warnings.iter().filter(|finding| finding.field == spec.key) {
                                p.err { (finding.message) }
                            }
                            @if let Some(comment) = found.comments.get(&spec.key) {
                                p.notice { "上次退回意见：" (comment) }
                            }
                        }
                        @if received {
                            div {
                                input type="hidden" name="comment_key" value=(spec.key);
                                textarea name="comment" rows="1" maxlength="500"
                                    aria-label={ (spec.label) " 的退回意见" } placeholder="退回意见（可选）" {}
                            }
                        }
                    }
                }
            }
            @if received || case.review == ReviewState::Approved {
                div.f { label for="note" { "说明" }
                    textarea #note name="note" rows="2" maxlength="500" placeholder="驳回、撤销通过须填写原因" {} }
                div.actions {
                    @if received {
                        button.btn type="submit" name="decision" value=(ReviewDecision::Approve.as_str()) { "通过" }
                        button.btn.alt type="submit" name="decision" value=(ReviewDecision::Return.as_str()) { "退回修改" }
                        button.btn.bad type="submit" name="decision" value=(ReviewDecision::Reject.as_str()) { "驳回" }
                    } @else {
                        button.btn.bad type="submit" name="decision" value=(ReviewDecision::Unapprove.as_str()) { "撤销通过" }
                    }
                }
            }
        }
    }
}

/// `POST /console/survey/review/{id}`: a decision through the API's review; back to
/// the case's page.
pub async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CaseId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let decision = posted
        .text("decision")?
        .and_then(|raw| ReviewDecision::from_stored(&raw))
        .ok_or_else(|| ApiError::field("decision", "invalid_value", "请选择审核结果"))?;
    let case_version = posted
        .text("case_version")?
        .map(|raw| {
            raw.parse::<i32>()
                .map_err(|_| ApiError::field("case_version", "invalid_value", "页面已过期，请刷新"))
        })
        .transpose()?;
    let comments = posted
        .values("comment_key")
        .zip(posted.values("comment"))
        .map(|(key, comment)| (key.to_owned(), comment.trim().to_owned()))
        .filter(|(_, comment)| !comment.is_empty())
        .collect();
    let review = ReviewBody {
        decision,
        comments,
        note: posted.text("note")?.unwrap_or_default(),
        case_version,
    };
    let id = id.into_inner();
    review_case(
        state,
        signed.caller,
        web::Path::from(id.clone()),
        web::Json(review),
    )
    .await?;
    Ok(see_other(&case_path(&id)))
}

/// `GET /console/survey/review/photos/{id}`: a photo of a case the caller sees, as
/// the API gives it.
pub async fn photo(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<PhotoId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    Ok(photo_picture(state, signed.caller, id).await?)
}
