//! The surveyor's phone pages (摸排人员): their own cases by what needs doing, and a
//! case with its enterprise, visit history, the form to record an attempt and the
//! questionnaire (with a return's comments next to the fields). Writes go through the
//! API's own survey functions ([`record_visit`], [`submit`], [`store_photo`]) and carry
//! a client id, so a retry is the same visit or answers. The forms post normally
//! without a script; `survey.js` keeps drafts in browser storage while the network is
//! away and sends them with `Accept: application/json`, to which these routes answer
//! as the API does (201 new, 200 the same again, problem+json otherwise).

use std::collections::{BTreeMap, HashMap};

use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::console::assets::survey_js_path;
use crate::console::session::{Posted, Signed};
use crate::console::survey::questionnaire::{Notes, QuestionnaireForm, Values};
use crate::console::{PageError, allowed, layout, render, see_other};
use crate::db::{DbConnection, new_id, now};
use crate::domain::account::Role;
use crate::domain::id::{CaseId, OrgUnitId, PhotoId, VisitId};
use crate::domain::survey::ClientId;
use crate::domain::zone;
use crate::enterprises::{Enterprise, Visibility};
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::state::AppState;
use crate::survey::answer_handlers::{AnswersBody, CaseAnswers, case_answers, submit};
use crate::survey::cases::{Case, CaseView};
use crate::survey::handlers::{
    CaseDetail, PhotoUpload, VisitBody, case_detail, photo_picture, record_visit, store_photo,
};
use crate::survey::photos::Photo;
use crate::survey::questionnaire::Roster;
use crate::survey::{
    CaseState, ReviewState, SurveyScope, VisitMethod, VisitOutcome, unit_names, written_answer,
};

/// The surveyor's list, where they land after sign-in.
pub const MY_PATH: &str = "/console/survey/my";
/// Cases the list shows (a surveyor's share of a campaign is far smaller).
const MOST_CASES: i64 = 300;

/// What these pages add to the console's style: big rows to tap, badges, the notes
/// next to the questionnaire's fields and the draft bar.
const STYLE: &str = "main{padding:.6rem}.cases{list-style:none;padding:0;margin:0}\
a.case{display:grid;gap:.2rem;color:inherit;text-decoration:none;margin-bottom:.6rem}a.case b{font-size:1.1rem}\
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;background:#e3e8ee;font-size:.85rem}\
.st-attempted,.rv-received{background:#fef3c7}.st-reached,.rv-approved{background:#d1fae5}\
.st-lost,.st-closed,.rv-returned,.rv-rejected{background:#fee2e2}.next{color:#0f4c81;font-weight:600}\
.opts{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.4rem}\
label.opt{display:flex;align-items:center;gap:.4rem;min-height:2.9rem;padding:0 .6rem;border:1px solid #9aa5b1;border-radius:6px;background:#fff;font-weight:normal}\
label.opt input{width:1.3rem;height:1.3rem;margin:0}fieldset.f,fieldset.plain{border:0;padding:0;margin:.8rem 0;min-width:0}\
legend{font-weight:600;padding:0;margin-bottom:.25rem}.btn.big{width:100%;min-height:3.2rem;font-size:1.1rem;margin-top:.6rem}\
.btn.small{min-height:2.4rem;margin-top:.3rem}h3.section{color:#0f4c81;border-bottom:2px solid #0f4c81;padding-bottom:.2rem;margin:1.4rem 0 .4rem}\
.unit{display:flex;align-items:center;gap:.5rem}.unit input{flex:1}.comment{background:#fee2e2;border-left:4px solid #b91c1c;padding:.4rem .6rem;border-radius:6px;margin:0 0 .3rem}\
.warn{color:#92400e;background:#fffbeb;padding:.3rem .5rem;border-radius:6px;margin:.3rem 0 0}.explain{margin-top:.4rem}.explain textarea{width:100%}\
.f.bad input,.f.bad textarea{border-color:#b91c1c}.repeat .row{border:1px dashed #9aa5b1;border-radius:8px;padding:.2rem .6rem .6rem;margin:.5rem 0}\
ol.history{padding-left:1.2rem;margin:0}ol.history li{margin:.4rem 0}\
.sync{position:sticky;top:0;z-index:2;padding:.6rem 1rem;border-radius:6px;margin-bottom:.6rem;font-weight:600;background:#ecfdf5;color:#065f46}\
.sync.off{background:#fef3c7;color:#92400e}.sync.bad{background:#fee2e2;color:#991b1b}\
.draft{border:1px solid #d97706;border-radius:8px;padding:.6rem;margin:.4rem 0;background:#fffbeb}.draft .actions{margin-top:.4rem}\
label.shot{padding:.3rem}label.shot img{display:block;max-width:100%;height:auto;border-radius:4px}";

fn case_path(id: &CaseId) -> String {
    format!("/console/survey/cases/{id}")
}

/// Where the surveyor's page shows a photo of one of their cases.
pub fn photo_path(id: &PhotoId) -> String {
    format!("/console/survey/photos/{id}")
}

/// These pages are the surveyor's: the 404 page for every other role, as the
/// console's other role-bound pages are.
fn surveyor_only(signed: &Signed) -> Result<(), PageError> {
    allowed(signed.caller.role == Role::Surveyor)
}

/// Whether the request is the page's script sending a draft (it wants the API's JSON).
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// A page of these, with the survey script.
fn page(state: &AppState, signed: &Signed, title: &str, body: Markup) -> Markup {
    let body = html! {
        style { (PreEscaped(STYLE)) }
        div #sync.sync role="status" aria-live="polite" hidden {}
        (body)
        script src=(survey_js_path()) defer {}
    };
    layout::page(&state.settings.zone_name, signed, MY_PATH, title, body)
}

/// Where a case stands, as a short badge.
fn badges(case: &CaseView) -> Markup {
    html! {
        span class={ "badge st-" (case.state.as_str()) } { (case.state.label()) }
        @if case.review != ReviewState::Unsubmitted {
            " " span class={ "badge rv-" (case.review.as_str()) } { "问卷" (case.review.label()) }
        }
    }
}

/// The next step of the escalation ladder, in words.
fn next_step(case: &CaseView) -> String {
    match case.state {
        CaseState::Reached | CaseState::Closed => "无需再走访".to_owned(),
        CaseState::Lost => "已失联，等待主管部门处理".to_owned(),
        _ => format!("下一步：{}", case.next_method.label()),
    }
}

/// `GET /console/survey/my`: the surveyor's cases in running campaigns, returned
/// answers first, then in the API's order of what needs doing (promised call-backs,
/// attempted cases on the escalation ladder, not yet attempted, lost, finished).
pub async fn my_cases_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    surveyor_only(&signed)?;
    let user = signed.caller.user_id.clone();
    let (mut cases, parks) = state
        .db
        .read(move |conn| {
            let rows = Case::mine(conn, &user, None, MOST_CASES)?;
            let cases = Case::views(conn, rows)?;
            let parks = unit_names(conn, cases.iter().map(|c| &c.park_id))?;
            Ok((cases, parks))
        })
        .await?;
    // Stable: the API's order within each group.
    cases.sort_by_key(|case| case.review != ReviewState::Returned);
    let body = html! {
        h1 { "我的摸排任务 " span.muted { (cases.len()) " 家" } }
        @if cases.is_empty() {
            p.card { "暂无分配给您的摸排任务。" }
        }
        ul.cases {
            @for case in &cases {
                li {
                    a.case.card href=(case_path(&case.id)) {
                        b { (case.enterprise_name) }
                        span.muted {
                            (parks.get(&case.park_id).map_or("", String::as_str))
                            " · 已走访 " (case.attempts) " 次"
                        }
                        span { (badges(case)) }
                        @if case.review == ReviewState::Returned {
                            span.notice.bad { "问卷被退回，请按审核意见修改" }
                        } @else {
                            span.next { (next_step(case)) }
                        }
                    }
                }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        page(&state, &signed, "我的摸排任务", body),
    ))
}

/// What a case page shows: read in one go.
struct CasePage {
    detail: CaseDetail,
    answers: CaseAnswers,
    enterprise: Enterprise,
    units: HashMap<OrgUnitId, String>,
    /// The case's photos, oldest first.
    photos: Vec<PhotoId>,
}

fn load(conn: &mut DbConnection, scope: &SurveyScope, id: &CaseId) -> Result<CasePage, ApiError> {
    let detail = case_detail(conn, scope, id)?;
    let answers = case_answers(conn, scope, id)?;
    // The case is in the caller's scope, so is its enterprise.
    let enterprise = Enterprise::find(conn, &Visibility::All, &detail.case.enterprise_id)?;
    let units = unit_names(
        conn,
        [&detail.case.sector_id, &detail.case.park_id].into_iter(),
    )?;
    let photos = Photo::of_case(conn, &detail.case.id)?
        .into_iter()
        .map(|photo| photo.id)
        .collect();
    Ok(CasePage {
        detail,
        answers,
        enterprise,
        units,
        photos,
    })
}

async fn read_case(state: &AppState, signed: &Signed, id: CaseId) -> Result<CasePage, ApiError> {
    let scope = SurveyScope::of(&signed.caller);
    state.db.read(move |conn| load(conn, &scope, &id)).await
}

/// What the page's forms hold and say after a post.
#[derive(Default)]
struct Shown {
    /// The attempt form as posted, with its errors.
    visit: Option<(Values, Vec<FieldError>)>,
    /// The questionnaire as posted, with its errors.
    answers: Option<(Values, Vec<FieldError>)>,
    /// A notice at the top (what was saved, or why not).
    notice: Option<(bool, String)>,
}

/// Query of a case page after a post.
#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /console/survey/cases/{id}`: a case of the surveyor's with its enterprise,
/// history, the attempt form and the questionnaire.
pub async fn case_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<CaseId>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    surveyor_only(&signed)?;
    let found = read_case(&state, &signed, id.into_inner()).await?;
    let notice = match query.saved.as_deref() {
        Some("visit") => Some((true, "走访记录已保存。".to_owned())),
        Some("answers") => Some((true, "问卷已提交，等待审核。".to_owned())),
        _ => None,
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    Ok(render(
        StatusCode::OK,
        case_markup(&state, &signed, &found, &shown),
    ))
}

fn case_markup(state: &AppState, signed: &Signed, found: &CasePage, shown: &Shown) -> Markup {
    let case = &found.detail.case;
    let e = &found.enterprise;
    let unit = |id| found.units.get(id).map_or("", String::as_str);
    let body = html! {
        p { a href=(MY_PATH) { "‹ 我的摸排任务" } }
        h1 { (case.enterprise_name) }
        p { (badges(case)) " " span.muted { (next_step(case)) } }
        @if let Some((good, text)) = &shown.notice {
            p.notice.ok[*good].bad[!*good] { (text) }
        }
        @if case.review == ReviewState::Returned {
            p.notice.bad { "问卷已被退回：请按各项旁的审核意见修改后重新提交。" }
        }
        div #drafts data-case=(case.id) data-version=(case.version) {}
        section.card {
            h2 { "企业信息" }
            dl {
                dt { "统一社会信用代码" } dd { (e.credit_code) }
                dt { "行业" } dd { (unit(&case.sector_id)) }
                dt { "园区" } dd { (unit(&case.park_id)) }
                dt { "地址" } dd { (e.address) }
                dt { "联系人" } dd { (e.contact_person) }
                dt { "联系电话" } dd { (e.contact_phone().unwrap_or_default()) }
            }
        }
        section.card {
            h2 { "走访记录 " span.muted { (case.attempts) " 次 · 照片 " (found.photos.len()) " 张" } }
            @if found.detail.visits.is_empty() {
                p.muted { "尚未走访。" }
            }
            ol.history {
                @for visit in &found.detail.visits {
                    li {
                        b { (visit.method.label()) " · " (visit.outcome.label()) }
                        " " span.muted { (zone::shown_minute(visit.visited_at)) }
                        @if !visit.notes.is_empty() { br; (visit.notes) }
                    }
                }
            }
        }
        (visit_form(signed, case, shown.visit.as_ref()))
        (answers_form(signed, found, shown.answers.as_ref()))
    };
    page(state, signed, &case.enterprise_name, body)
}

fn errors_at<'a>(errors: &'a [FieldError], field: &'a str) -> impl Iterator<Item = &'a str> {
    errors
        .iter()
        .filter(move |e| e.field == field)
        .map(|e| e.message.as_str())
}

fn visit_form(
    signed: &Signed,
    case: &CaseView,
    posted: Option<&(Values, Vec<FieldError>)>,
) -> Markup {
    let empty = (Values::default(), Vec::new());
    let (values, errors) = posted.unwrap_or(&empty);
    let method = Some(values.get("method"))
        .filter(|m| !m.is_empty())
        .unwrap_or(case.next_method.as_str());
    let at = Some(values.get("visited_at").to_owned())
        .filter(|at| !at.is_empty())
        .unwrap_or_else(|| zone::minute_text(now()));
    let error = |field| html! { @for m in errors_at(errors, field) { p.err { (m) } } };
    html! {
        section.card #attempt {
            h2 { "记录一次走访" }
            form.draftable method="post" action={ (case_path(&case.id)) "/visits" } data-kind="visit" {
                (signed.csrf_field())
                input type="hidden" name="client_id" value=(new_id());
                input type="hidden" name="case_version" value=(case.version);
                fieldset.f {
                    legend { "方式" }
                    div.opts {
                        @for m in VisitMethod::ALL {
                            label.opt { input type="radio" name="method" value=(m.as_str()) checked[m.as_str() == method]; " " (m.label()) }
                        }
                    }
                    (error("method"))
                }
                fieldset.f {
                    legend { "结果" }
                    div.opts {
                        @for o in VisitOutcome::ALL {
                            label.opt { input type="radio" name="outcome" value=(o.as_str()) checked[values.get("outcome") == o.as_str()] required; " " (o.label()) }
                        }
                    }
                    (error("outcome"))
                }
                div.f {
                    label for="visited_at" { "时间" }
                    input #visited_at type="datetime-local" name="visited_at" value=(at);
                    (error("visited_at"))
                }
                div.f {
                    label for="notes" { "备注" span.muted { "（选填）" } }
                    textarea #notes name="notes" rows="3" maxlength="2000" { (values.get("notes")) }
                    (error("notes"))
                }
                // Where: the phone's location, filled by the script's 定位 button.
                div.f.locate {
                    label { "走访地点" span.muted { "（选填）" } }
                    output { (values.get("longitude")) @if !values.get("latitude").is_empty() { ", " (values.get("latitude")) } }
                    input type="hidden" name="longitude" value=(values.get("longitude"));
                    input type="hidden" name="latitude" value=(values.get("latitude"));
                    button.btn type="button" data-locate { "定位" }
                    (error("longitude"))
                    (error("latitude"))
                }
                // Photos go through the script (kept on the phone until sent).
                div.f.photos hidden {
                    label for="photo" { "照片" span.muted { "（选填，可多张）" } }
                    input #photo type="file" accept="image/*" capture="environment" multiple;
                }
                (error("client_id"))
                button.btn.big type="submit" { "保存走访记录" }
            }
        }
    }
}

fn answers_form(
    signed: &Signed,
    found: &CasePage,
    posted: Option<&(Values, Vec<FieldError>)>,
) -> Markup {
    let case = &found.detail.case;
    let answers = &found.answers;
    let fields = &answers.questionnaire.questionnaire.fields;
    let stored;
    let (values, errors): (&Values, &[FieldError]) = match posted {
        Some((values, errors)) => (values, errors),
        None => {
            // The last answers, or the roster's facts to start from.
            stored = match &answers.current {
                Some(current) => {
                    Values::of_answers(fields, &current.answers, &current.explanations)
                }
                None => {
                    Values::of_answers(fields, &roster_facts(&answers.roster), &BTreeMap::new())
                }
            };
            (&stored, &[])
        }
    };
    let warnings = answers
        .current
        .as_ref()
        .filter(|_| posted.is_none())
        .map_or(&[][..], |current| current.warnings.as_slice());
    let notes = Notes::new(errors, warnings, answers.comments.clone());
    let open = case.review.takes_answers();
    html! {
        section.card #questionnaire {
            h2 { "调查问卷 " span.muted { "第 " (answers.questionnaire.version) " 版" } }
            @if notes.has_errors() {
                p.notice.bad { "问卷未提交：请按各项下的提示修改（红色为必须修改，核实性问题请填写说明）。" }
            }
            @if !open {
                p.notice { "问卷" (case.review.label()) "，不能再修改。" }
            }
            form.draftable method="post" action={ (case_path(&case.id)) "/answers" } data-kind="answers" {
                (signed.csrf_field())
                input type="hidden" name="client_id" value=(new_id());
                input type="hidden" name="case_version" value=(case.version);
                fieldset.plain disabled[!open] {
                    (QuestionnaireForm {
                        fields,
                        rules: answers.questionnaire.questionnaire.rules.rules(),
                        values,
                        notes: &notes,
                        photos: &found.photos,
                    }.render())
                    @for m in errors_at(errors, "client_id").chain(errors_at(errors, "case_version")) {
                        p.err { (m) }
                    }
                    button.btn.big type="submit" { "提交问卷" }
                }
            }
        }
    }
}

/// The roster's facts as answers to the default questionnaire's fields of the same
/// keys (a questionnaire without them takes none).
fn roster_facts(roster: &Roster) -> Map<String, Value> {
    [
        ("name", &roster.name),
        ("credit_code", &roster.credit_code),
        ("address", &roster.address),
    ]
    .into_iter()
    .map(|(key, fact)| (key.to_owned(), Value::String(fact.clone())))
    .collect()
}

/// What came of a write from one of the page's forms.
async fn answer(
    state: &AppState,
    req: &HttpRequest,
    signed: &Signed,
    id: CaseId,
    result: Result<(bool, impl serde::Serialize), ApiError>,
    saved: &str,
    refused: impl FnOnce(Vec<FieldError>) -> Shown,
) -> Result<HttpResponse, PageError> {
    if wants_json(req) {
        return Ok(match result {
            Ok((created, body)) => written_answer(created, body),
            Err(error) => error.error_response(),
        });
    }
    let error = match result {
        Ok(_) => return Ok(see_other(&format!("{}?saved={saved}", case_path(&id)))),
        Err(error) => error,
    };
    let status = error.status_code();
    let conflict = error.code() == ErrorCode::CaseVersionConflict;
    if !(conflict
        || status == StatusCode::UNPROCESSABLE_ENTITY
        || status == StatusCode::BAD_REQUEST)
    {
        return Err(error.into());
    }
    let found = read_case(state, signed, id).await?;
    let mut shown = refused(error.field_errors().to_vec());
    shown.notice = Some((
        false,
        if conflict {
            "这家企业的任务在您填写期间已被更新（如已被审核或另一台设备已提交）。您填写的内容仍在下方，请核对最新情况后再提交。".to_owned()
        } else if error.field_errors().is_empty() {
            error.message()
        } else {
            "未保存：请按各项下的提示修改后再提交。".to_owned()
        },
    ));
    Ok(render(status, case_markup(state, signed, &found, &shown)))
}

/// `POST /console/survey/cases/{id}/visits`: records an attempt as the API does (the
/// time typed is the zone's); 303 back to the case, or the page with the errors.
pub async fn record_attempt(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CaseId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    surveyor_only(&signed)?;
    let posted = signed.posted(&req, &body)?;
    let id = id.into_inner();
    let text = |name| posted.value(name).unwrap_or_default().to_owned();
    let visit = VisitBody {
        method: text("method"),
        outcome: text("outcome"),
        notes: text("notes"),
        visited_at: typed_time(&posted),
        client_id: text("client_id"),
        case_version: posted
            .value("case_version")
            .and_then(|v| v.trim().parse().ok()),
        longitude: coordinate(&posted, "longitude"),
        latitude: coordinate(&posted, "latitude"),
    };
    let result = match visit.parse() {
        Ok(new) => record_visit(&state, signed.caller.clone(), id.clone(), new).await,
        Err(error) => Err(error),
    };
    let refused = |errors| Shown {
        visit: Some((Values::from_body(&body), errors)),
        ..Shown::default()
    };
    answer(&state, &req, &signed, id, result, "visit", refused).await
}

/// A coordinate the page's script filled in: blank is none, and anything else that
/// is not a number is out of range (so the API's check refuses it, nothing dropped).
fn coordinate(posted: &Posted, name: &str) -> Option<f64> {
    let raw = posted.value(name)?.trim();
    (!raw.is_empty()).then(|| raw.parse().unwrap_or(f64::NAN))
}

/// The visit's time as typed in the zone (`YYYY-MM-DDTHH:MM`) in RFC 3339, or an RFC
/// 3339 time as the script sends it; anything else as typed, for the API to refuse.
fn typed_time(posted: &Posted) -> Option<String> {
    let raw = posted.value("visited_at")?.trim();
    if raw.is_empty() {
        return None;
    }
    Some(zone::parse_minute(raw).map_or_else(|| raw.to_owned(), |at| at.and_utc().to_rfc3339()))
}

/// `POST /console/survey/cases/{id}/answers`: submits the questionnaire as the API
/// does; 303 back to the case, or the page with each error at its field (a stale
/// case version is the conflict, shown with what was typed, never overwritten).
pub async fn submit_questionnaire(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CaseId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    surveyor_only(&signed)?;
    let posted = signed.posted(&req, &body)?;
    let id = id.into_inner();
    let values = Values::from_body(&body);
    let found = read_case(&state, &signed, id.clone()).await?;
    let fields = &found.answers.questionnaire.questionnaire.fields;
    let sent = AnswersBody {
        answers: values.answers(fields),
        explanations: values.explanations(),
        client_id: posted.value("client_id").unwrap_or_default().to_owned(),
        case_version: posted
            .value("case_version")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
    };
    let result = match sent.parse() {
        Ok(new) => submit(&state, signed.caller.clone(), id.clone(), new).await,
        Err(error) => Err(error),
    };
    let refused = |errors| Shown {
        answers: Some((values, errors)),
        ..Shown::default()
    };
    answer(&state, &req, &signed, id, result, "answers", refused).await
}

/// Query of a photo from the page's script.
#[derive(Debug, Deserialize)]
pub struct PhotoQuery {
    client_id: String,
    visit_id: Option<VisitId>,
}

/// `POST /console/survey/cases/{id}/photos?client_id=`: the script sends a kept photo
/// (the body is the picture, the CSRF token in its header) to the API's upload; the
/// API's JSON back.
pub async fn upload_photo(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CaseId>,
    query: web::Query<PhotoQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    surveyor_only(&signed)?;
    signed.check_csrf(&req, None)?;
    let query = query.into_inner();
    let stored = match ClientId::parse(&query.client_id) {
        Ok(client_id) => {
            let upload = PhotoUpload {
                client_id,
                visit_id: query.visit_id,
            };
            store_photo(
                &state,
                signed.caller.clone(),
                &req,
                id.into_inner(),
                upload,
                payload,
            )
            .await
        }
        Err(error) => Err(ApiError::validation(vec![error])),
    };
    Ok(match stored {
        Ok((created, view)) => written_answer(created, view),
        Err(error) => error.error_response(),
    })
}

/// `GET /console/survey/photos/{id}`: a photo of one of the surveyor's cases (what
/// a photo question shows), as the API gives it.
pub async fn photo(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<PhotoId>,
) -> Result<HttpResponse, PageError> {
    surveyor_only(&signed)?;
    Ok(photo_picture(state, signed.caller, id).await?)
}
