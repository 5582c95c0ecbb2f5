//! The filings pages: the list with its filters (refreshed by htmx every 15 s so that
//! new filings appear), bulk approval, a filing's detail with approve, reject,
//! suspend and resume, and the audited reveal. Everything goes through the API's services and scoped queries.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::auth::caller::{ENTERPRISE_KEEPERS, REVEALERS};
use crate::console::session::{Posted, Signed};
use crate::console::{PageError, allowed, layout, render, see_other};
use crate::domain::id::{EnterpriseId, RegistrationId};
use crate::domain::{region, zone};
use crate::enterprises::Visibility;
use crate::error::{ApiError, FieldError};
use crate::pagination::PageRequest;
use crate::registrations::exports;
use crate::registrations::handlers::{
    Decision, FilterInput, Revealed, decide, registrations_page, reveal,
};
use crate::registrations::{
    Registration, RegistrationFilter, RegistrationStatus, RegistrationView,
};
use crate::state::AppState;

/// This page's address.
pub const LIST_PATH: &str = "/console/registrations";
/// Filings a page of the list shows.
const LIST_ROWS: i64 = 50;
/// Most filings one bulk approval takes.
const BULK_MAX: usize = 100;
/// The common reasons offered when rejecting.
const REJECT_REASONS: &[&str] = &["信息不实", "车辆不符合要求", "非本企业业务", "当日车辆已满"];

fn status_badge(status: RegistrationStatus) -> Markup {
    html! { span class={ "s-" (status.as_str()) } { (status.label()) } }
}

fn detail_path(id: &RegistrationId) -> String {
    format!("{LIST_PATH}/{id}")
}

/// The filters of the list as typed in its form (GET query), shared by the list, its
/// refresh and the exports.
#[derive(Debug, Default)]
struct ListQuery {
    status: String,
    from: String,
    to: String,
    plate: String,
    enterprise_id: String,
    enterprise_name: String,
    origin: String,
    cursor: String,
}

impl ListQuery {
    /// The filters' names, in the order their query string lists them.
    const FILTERS: [&str; 7] = [
        "status",
        "from",
        "to",
        "plate",
        "enterprise_id",
        "enterprise_name",
        "origin",
    ];

    fn read(req: &HttpRequest) -> Self {
        let query = Posted::parse(req.query_string().as_bytes());
        let field = |name| query.value(name).unwrap_or_default().trim().to_owned();
        Self {
            status: field("status"),
            from: field("from"),
            to: field("to"),
            plate: field("plate"),
            enterprise_id: field("enterprise_id"),
            enterprise_name: field("enterprise_name"),
            origin: field("origin"),
            cursor: field("cursor"),
        }
    }

    fn values(&self) -> [&str; 7] {
        [
            &self.status,
            &self.from,
            &self.to,
            &self.plate,
            &self.enterprise_id,
            &self.enterprise_name,
            &self.origin,
        ]
    }

    fn filter(&self) -> Result<RegistrationFilter, ApiError> {
        let given = |value: &str| Some(value.to_owned()).filter(|v| !v.is_empty());
        let day = |name: &'static str, raw: &str| {
            given(raw)
                .map(|raw| {
                    zone::parse_day(&raw).ok_or_else(|| {
                        FieldError::new(name, "invalid_date", "日期格式应为 YYYY-MM-DD")
                    })
                })
                .transpose()
        };
        let days = (day("from", &self.from)?, day("to", &self.to)?);
        RegistrationFilter::parse(FilterInput {
            status: given(&self.status).as_deref(),
            enterprise_id: given(&self.enterprise_id).map(EnterpriseId::from),
            enterprise_name: given(&self.enterprise_name).as_deref(),
            plate: given(&self.plate).as_deref(),
            origin: given(&self.origin).as_deref(),
            days,
        })
    }

    fn page(&self) -> Result<PageRequest, ApiError> {
        let cursor = Some(self.cursor.as_str()).filter(|c| !c.is_empty());
        PageRequest::parse(Some(LIST_ROWS), cursor)
    }

    /// The query string of these filters, with `cursor` when given.
    fn encoded(&self, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in Self::FILTERS.into_iter().zip(self.values()) {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// The origins offered: every province and, once one is chosen, its cities (a county
/// chosen by its code is offered as itself), so that the page carries some 40 choices
/// rather than every city of the country.
fn origin_select(chosen: &str) -> Markup {
    let lineage = region::lineage(chosen);
    let province = lineage.first().map(|province| province.code);
    let county = lineage.get(2);
    html! {
        select name="origin" {
            option value="" { "全部" }
            @for each in region::provinces() {
                option value=(each.code) selected[chosen == each.code] {
                    (each.name) @if province == Some(each.code) { "（全省）" }
                }
                @if province == Some(each.code) {
                    optgroup label={ (each.name) "的城市" } {
                        @for city in region::children(each.code) {
                            @if !city.is_placeholder() {
                                option value=(city.code) selected[chosen == city.code] {
                                    (city.name)
                                }
                            }
                        }
                        @if let Some(county) = county {
                            option value=(county.code) selected {
                                @if let Some(name) = region::full_name(county.code) { (name) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One page of filings the caller can see, and the cursor of the next.
async fn load_page(
    state: &AppState,
    signed: &Signed,
    query: &ListQuery,
) -> Result<(Vec<RegistrationView>, Option<String>), ApiError> {
    let page = registrations_page(state, &signed.caller, query.filter()?, query.page()?).await?;
    Ok((page.items, page.next_cursor))
}

/// The table of filings; with `pick`, a checkbox on each pending one for bulk approval
/// (kept across htmx refreshes by `hx-preserve`).
pub fn rows(views: &[RegistrationView], pick: bool) -> Markup {
    html! {
        @if views.is_empty() {
            p.muted { "没有符合条件的登记。" }
        } @else {
            div.scroll {
                table {
                    thead { tr {
                        @if pick { th { span.muted { "选择" } } }
                        th { "登记时间" } th { "车牌" } th { "司机" } th { "企业" }
                        th { "预计到达" } th { "状态" } th {}
                    } }
                    tbody {
                        @for view in views {
                            tr {
                                @if pick {
                                    td {
                                        @if view.status == RegistrationStatus::Pending {
                                            input type="checkbox" name="id" value=(view.id)
                                                id={ "pick-" (view.id) } hx-preserve
                                                aria-label={ "选择 " (view.plate) };
                                        }
                                    }
                                }
                                td { (zone::shown_minute(view.created_at)) }
                                td {
                                    (view.plate)
                                    @if let Some(reason) = &view.blacklist_reason {
                                        " " span.s-rejected title=(reason) { "黑名单" }
                                    }
                                }
                                td { (view.driver_name) }
                                td { (view.enterprise_name) }
                                td { (zone::shown_minute(view.expected_arrival)) }
                                td {
                                    (status_badge(view.status))
                                    @if view.suspended_at.is_some() { " " span.s-rejected { "已暂停" } }
                                }
                                td { a href=(detail_path(&view.id)) { "详情" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/registrations`: the filings the caller can see, newest first, with
/// filters (status, day of arrival, plate) and pages; the first page refreshes
/// itself every 15 s.
pub async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let query = ListQuery::read(&req);
    let (views, next) = load_page(&state, &signed, &query).await?;
    let pick = ENTERPRISE_KEEPERS.allows(signed.caller.role);
    let refresh = format!("{LIST_PATH}/rows?{}", query.encoded(None));
    let body = html! {
        h1 { "登记" }
        form.card.filters method="get" action=(LIST_PATH) {
            label { "状态"
                select name="status" {
                    option value="" { "全部" }
                    @for status in [RegistrationStatus::Pending, RegistrationStatus::Approved,
                                    RegistrationStatus::Rejected, RegistrationStatus::Cancelled] {
                        option value=(status.as_str()) selected[query.status == status.as_str()] {
                            (status.label())
                        }
                    }
                }
            }
            label { "到达日 从" input type="date" name="from" value=(query.from); }
            label { "至" input type="date" name="to" value=(query.to); }
            label { "车牌" input type="text" name="plate" value=(query.plate) maxlength="16"; }
            @if !ENTERPRISE_KEEPERS.allows(signed.caller.role) {
                label { "企业名称"
                    input type="text" name="enterprise_name" value=(query.enterprise_name)
                        maxlength="100";
                }
                label { "出发地" (origin_select(&query.origin)) }
            }
            @if !query.enterprise_id.is_empty() {
                input type="hidden" name="enterprise_id" value=(query.enterprise_id);
            }
            button.btn type="submit" { "筛选" }
            a href=(LIST_PATH) { "清除" }
            a href={ (LIST_PATH) "/export.csv?" (query.encoded(None)) } { "导出 CSV" }
            a href={ (LIST_PATH) "/export.xlsx?" (query.encoded(None)) } { "导出 Excel" }
        }
        form.card method="post" action={ (LIST_PATH) "/approve" } {
            (signed.csrf_field())
            @if query.cursor.is_empty() {
                div #list hx-get=(refresh) hx-trigger="every 15s" { (rows(&views, pick)) }
            } @else {
                div #list { (rows(&views, pick)) }
            }
            div.actions {
                @if pick && !views.is_empty() {
                    button.btn type="submit" { "批量通过" }
                }
                @if let Some(next) = next {
                    a href={ (LIST_PATH) "?" (query.encoded(Some(&next))) } { "下一页" }
                }
            }
        }
    };
    let zone_name = &state.settings.zone_name;
    Ok(render(
        StatusCode::OK,
        layout::page(zone_name, &signed, LIST_PATH, "登记", body),
    ))
}

/// `GET /console/registrations/export.csv`: the API's CSV export of what the list's
/// filters show (audited `registration.export`).
pub async fn export_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let filter = ListQuery::read(&req).filter()?;
    Ok(exports::csv_export(&state, &signed.caller, filter).await?)
}

/// `GET /console/registrations/export.xlsx`: the API's XLSX export of what the list's
/// filters show (audited `registration.export`).
pub async fn export_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let filter = ListQuery::read(&req).filter()?;
    Ok(exports::xlsx_export(&state, &signed.caller, filter).await?)
}

/// `GET /console/registrations/rows`: the list's table alone, for htmx to refresh.
pub async fn list_rows(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let query = ListQuery::read(&req);
    let (views, _) = load_page(&state, &signed, &query).await?;
    let pick = ENTERPRISE_KEEPERS.allows(signed.caller.role);
    Ok(render(StatusCode::OK, rows(&views, pick)))
}

/// `POST /console/registrations/approve`: approves every ticked filing through the
/// API's service, one by one, and shows what came of each.
pub async fn bulk_approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    allowed(ENTERPRISE_KEEPERS.allows(signed.caller.role))?;
    let ids: Vec<RegistrationId> = posted.ids("id");
    if ids.is_empty() {
        return Err(ApiError::field("id", "required", "请先勾选要通过的登记").into());
    }
    if ids.len() > BULK_MAX {
        let message = format!("一次最多通过 {BULK_MAX} 条登记");
        return Err(ApiError::field("id", "too_many", message).into());
    }
    let mut approved = Vec::new();
    let mut refused = Vec::new();
    for id in ids {
        match decide(&state, signed.caller.clone(), id, Decision::Approve).await {
            Ok(view) => approved.push(view),
            Err(error) if error.code().status().is_client_error() => refused.push(error),
            Err(error) => return Err(error.into()),
        }
    }
    let body = html! {
        h1 { "批量通过" }
        p.notice.ok { "已通过 " (approved.len()) " 条登记。" }
        @if !refused.is_empty() {
            p.notice.bad { (refused.len()) " 条未能通过（已处理、已过期或不在管理范围内）。" }
        }
        (rows(&approved, false))
        p { a href=(LIST_PATH) { "返回登记列表" } }
    };
    let zone_name = &state.settings.zone_name;
    Ok(render(
        StatusCode::OK,
        layout::page(zone_name, &signed, LIST_PATH, "批量通过", body),
    ))
}

async fn find(
    state: &AppState,
    signed: &Signed,
    id: RegistrationId,
) -> Result<RegistrationView, ApiError> {
    let visibility = Visibility::of(&signed.caller);
    state
        .db
        .read(move |conn| {
            let row = Registration::find(conn, &visibility, &id)?;
            Registration::viewed(conn, row)
        })
        .await
}

fn detail(
    state: &AppState,
    signed: &Signed,
    view: &RegistrationView,
    revealed: Option<&Revealed>,
) -> HttpResponse {
    let role = signed.caller.role;
    let path = detail_path(&view.id);
    let body = html! {
        p { a href=(LIST_PATH) { "← 登记列表" } }
        h1 { (view.plate) " " (status_badge(view.status)) }
        @if let Some(reason) = &view.blacklist_reason {
            p.notice.bad role="alert" {
                span.s-rejected { "黑名单" } " 车辆或驾驶员在黑名单中，门岗将拒绝入园。原因：" (reason)
            }
        }
        @if let (Some(at), Some(reason)) = (view.suspended_at, &view.suspend_reason) {
            p.notice.bad role="alert" {
                span.s-rejected { "已暂停" } " " (zone::shown_minute(at))
                " 起暂停使用，门岗将拒绝入园。原因：" (reason)
            }
        }
        @if let Some(revealed) = revealed {
            p.notice { "完整个人信息仅本次显示，查看已记入审计日志。" }
            dl.card {
                dt { "证件号码" } dd { (revealed.document_number) }
                dt { "手机号" } dd { (revealed.phone) }
            }
        }
        dl.card {
            dt { "企业" } dd { (view.enterprise_name) }
            dt { "司机" } dd { (view.driver_name) }
            dt { "证件" } dd { (view.document_type.label()) " " (view.document_number) }
            dt { "手机号" } dd { (view.phone) }
            dt { "车牌" } dd { (view.plate) @if let Some(trailer) = &view.trailer_plate { " / 挂车 " (trailer) } }
            dt { "车型" } dd { (view.vehicle_type.label()) }
            dt { "出发地" } dd { (view.origin_name.as_deref().unwrap_or(&view.origin_region)) }
            dt { "货物" } dd { (view.cargo) }
            dt { "事由" } dd { (view.purpose.label()) }
            dt { "预计到达" } dd { (zone::shown_minute(view.expected_arrival)) }
            dt { "随车人数" } dd { (view.people_in_cab) }
            dt { "有效期" } dd { (zone::shown_minute(view.valid_from)) " 至 " (zone::shown_minute(view.valid_until)) }
            dt { "登记时间" } dd { (zone::shown_minute(view.created_at)) }
            @if let Some(reason) = &view.reject_reason { dt { "未通过原因" } dd { (reason) } }
            @if let Some(at) = view.decided_at { dt { "处理时间" } dd { (zone::shown_minute(at)) } }
        }
        @if view.status == RegistrationStatus::Pending && ENTERPRISE_KEEPERS.allows(role) {
            section.card {
                h2 { "审核" }
                form method="post" action={ (path) "/approve" } {
                    (signed.csrf_field())
                    button.btn type="submit" { "通过" }
                }
                form method="post" action={ (path) "/reject" } {
                    (signed.csrf_field())
                    div.f {
                        label for="reason_choice" { "不通过原因" }
                        select #reason_choice name="reason_choice" {
                            option value="" { "请选择或在下方填写" }
                            @for reason in REJECT_REASONS { option value=(reason) { (reason) } }
                        }
                    }
                    div.f {
                        label for="reason_text" { "补充说明（可选）" }
                        input #reason_text type="text" name="reason_text" maxlength="150";
                    }
                    button.btn.bad type="submit" { "不通过" }
                }
            }
        }
        @if view.status == RegistrationStatus::Approved && ENTERPRISE_KEEPERS.allows(role) {
            section.card {
                @if view.suspended_at.is_some() {
                    h2 { "恢复通行" }
                    form method="post" action={ (path) "/resume" } {
                        (signed.csrf_field())
                        button.btn type="submit" { "恢复通行" }
                    }
                } @else {
                    h2 { "暂停通行" }
                    p.muted { "暂停后门岗拒绝该车入园（离线门岗一分钟内同步），可随时恢复。" }
                    form method="post" action={ (path) "/suspend" } {
                        (signed.csrf_field())
                        div.f {
                            label for="suspend_reason" { "暂停原因" }
                            input #suspend_reason type="text" name="reason" required maxlength="200";
                        }
                        button.btn.bad type="submit" { "暂停通行" }
                    }
                }
            }
        }
        @if REVEALERS.allows(role) && revealed.is_none() {
            section.card {
                h2 { "查看完整证件号码和手机号" }
                form method="post" action={ (path) "/reveal" } {
                    (signed.csrf_field())
                    div.f {
                        label for="reveal_reason" { "查看原因（记入审计日志）" }
                        input #reveal_reason type="text" name="reason" required minlength="2" maxlength="200";
                    }
                    button.btn.alt type="submit" { "查看" }
                }
            }
        }
    };
    render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            signed,
            LIST_PATH,
            "登记详情",
            body,
        ),
    )
}

/// `GET /console/registrations/{id}`: a filing the caller can see (else the 404 page),
/// personal data masked, with the actions the caller's role may take.
pub async fn detail_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<RegistrationId>,
) -> Result<HttpResponse, PageError> {
    let view = find(&state, &signed, id.into_inner()).await?;
    Ok(detail(&state, &signed, &view, None))
}

/// `POST /console/registrations/{id}/approve`: the API's approval; 303 to the filing.
pub async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<RegistrationId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    signed.posted(&req, &body)?;
    act(&state, &signed, id.into_inner(), Decision::Approve).await
}

/// `POST /console/registrations/{id}/reject`: the API's rejection, for a common reason
/// picked, a reason typed, or both; 303 to the filing.
pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<RegistrationId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let part = |name| posted.value(name).unwrap_or_default().trim();
    let reason = [part("reason_choice"), part("reason_text")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("：");
    act(&state, &signed, id.into_inner(), Decision::Reject(reason)).await
}

/// `POST /console/registrations/{id}/suspend`: the API's suspension, for the reason
/// typed; 303 to the filing.
pub async fn suspend(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<RegistrationId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let reason = posted.value("reason").unwrap_or_default().trim().to_owned();
    act(&state, &signed, id.into_inner(), Decision::Suspend(reason)).await
}

/// `POST /console/registrations/{id}/resume`: the API's resumption; 303 to the
/// filing.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<RegistrationId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    signed.posted(&req, &body)?;
    act(&state, &signed, id.into_inner(), Decision::Resume).await
}

/// Takes a decision on a filing for a caller who may ([`ENTERPRISE_KEEPERS`]); 303
/// to the filing.
async fn act(
    state: &AppState,
    signed: &Signed,
    id: RegistrationId,
    decision: Decision,
) -> Result<HttpResponse, PageError> {
    allowed(ENTERPRISE_KEEPERS.allows(signed.caller.role))?;
    let view = decide(state, signed.caller.clone(), id, decision).await?;
    Ok(see_other(&detail_path(&view.id)))
}

/// `POST /console/registrations/{id}/reveal`: the API's audited reveal, for a reason;
/// the full values are shown on this response only.
pub async fn reveal_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<RegistrationId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    allowed(REVEALERS.allows(signed.caller.role))?;
    let id = id.into_inner();
    let reason = posted.value("reason").unwrap_or_default().to_owned();
    let revealed = reveal(&state, signed.caller.clone(), id.clone(), reason).await?;
    let view = find(&state, &signed, id).await?;
    Ok(detail(&state, &signed, &view, Some(&revealed)))
}
