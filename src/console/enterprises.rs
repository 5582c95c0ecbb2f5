//! The roster for officials, the regulator and admins: the enterprises of the caller's
//! scope (the scoped query of `GET /api/v1/enterprises`) with search, filters, pages
//! and the API's streaming exports of what the filters show; an enterprise's page with
//! its code (QR image and poster through the API's renderers, audited as downloads)
//! and its latest filings.

use crate::auth::caller::ENTERPRISE_KEEPERS;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::codes::handlers::current_code;
use crate::console::code::{CODE_PATH, POSTER_PATH, QR_SVG_PATH};
use crate::console::enterprise::Chosen;
use crate::console::fields::FIELDS_PATH;
use crate::console::registrations::{LIST_PATH, rows};
use crate::console::session::{Posted, Signed};
use crate::console::{PageError, layout, render};
use crate::domain::enterprise::EnterpriseStatus;
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::enterprises::exports::{csv_export, xlsx_export};
use crate::enterprises::handlers::visible_enterprise;
use crate::enterprises::{
    Enterprise, EnterpriseFilter, EnterpriseOrder, EnterpriseView, Visibility,
};
use crate::error::ApiError;
use crate::org::{OrgKind, OrgUnit};
use crate::pagination::{DEFAULT_LIMIT, PageRequest};
use crate::registrations::RegistrationFilter;
use crate::registrations::handlers::registrations_page;
use crate::state::AppState;

/// The roster's address.
pub const ROSTER_PATH: &str = "/console/enterprises";
/// Filings shown on an enterprise's page.
const RECENT_FILINGS: i64 = 20;
/// Most sectors or parks offered in a filter.
const UNITS_OFFERED: i64 = 500;

/// An enterprise's page.
pub fn detail_path(id: &EnterpriseId) -> String {
    format!("{ROSTER_PATH}/{id}")
}

/// The roster's filters as typed in its form (GET query), shared by the list and
/// the exports.
#[derive(Debug, Default)]
struct RosterQuery {
    q: Option<String>,
    sector_id: Option<String>,
    park_id: Option<String>,
    key: Option<String>,
    status: Option<String>,
    order: Option<String>,
    cursor: Option<String>,
}

impl RosterQuery {
    fn read(req: &HttpRequest) -> Result<Self, ApiError> {
        let query = Posted::parse(req.query_string().as_bytes());
        Ok(Self {
            q: query.text("q")?,
            sector_id: query.text("sector_id")?,
            park_id: query.text("park_id")?,
            key: query.text("key")?,
            status: query.text("status")?,
            order: query.text("order")?,
            cursor: query.text("cursor")?,
        })
    }

    /// The API's filter of these fields.
    fn filter(&self) -> Result<EnterpriseFilter, ApiError> {
        let status = self
            .status
            .as_deref()
            .map(EnterpriseStatus::parse)
            .transpose()
            .map_err(|error| ApiError::validation(vec![error]))?;
        let key_enterprise = match self.key.as_deref() {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(_) => {
                return Err(ApiError::field(
                    "key",
                    "invalid_value",
                    "重点企业筛选应为是或否",
                ));
            }
        };
        Ok(EnterpriseFilter {
            sector_id: self.sector_id.clone().map(OrgUnitId::from),
            park_id: self.park_id.clone().map(OrgUnitId::from),
            status,
            key_enterprise,
            q: self.q.clone(),
            ids: None,
        })
    }

    /// Newest first unless by name.
    fn order(&self) -> Result<EnterpriseOrder, ApiError> {
        match self.order.as_deref() {
            None | Some("newest") => Ok(EnterpriseOrder::Newest),
            Some("name") => Ok(EnterpriseOrder::Name),
            Some(_) => Err(ApiError::field(
                "order",
                "invalid_value",
                "排序应为最新或名称",
            )),
        }
    }

    /// The query string of the filters, with the order and `cursor` when asked.
    fn encoded(&self, with_order: bool, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("q", &self.q),
            ("sector_id", &self.sector_id),
            ("park_id", &self.park_id),
            ("key", &self.key),
            ("status", &self.status),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        if with_order && let Some(order) = &self.order {
            query.append_pair("order", order);
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

fn roster_table(views: &[EnterpriseView]) -> Markup {
    html! {
        @if views.is_empty() {
            p.muted { "没有符合条件的企业。" }
        } @else {
            div.scroll {
                table {
                    thead { tr {
                        th { "企业名称" } th { "统一社会信用代码" } th { "行业" } th { "园区" }
                        th { "重点" } th { "状态" }
                    } }
                    tbody {
                        @for view in views {
                            tr {
                                td { a href=(detail_path(&view.id)) { (view.name) } }
                                td { (view.credit_code) }
                                td { (view.sector_name) }
                                td { (view.park_name) }
                                td { (if view.key_enterprise { "是" } else { "—" }) }
                                td { (view.status.label()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn unit_select(name: &str, label: &str, units: &[OrgUnit], chosen: Option<&str>) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "全部" }
                @for unit in units {
                    option value=(unit.id) selected[chosen == Some(unit.id.as_str())] { (unit.name) }
                }
            }
        }
    }
}

/// `GET /console/enterprises`: the enterprises of the caller's scope, newest first or
/// by name, 20 a page, searched by name or credit code and filtered by sector, park,
/// key flag and status, with export links of what the filters show.
pub async fn roster_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let query = RosterQuery::read(&req)?;
    let filter = query.filter()?;
    let order = query.order()?;
    let page = PageRequest::parse(Some(DEFAULT_LIMIT), query.cursor.as_deref())?;
    let visibility = Visibility::of(&signed.caller);
    let fetch = page.clone();
    let (views, sectors, parks) = state
        .db
        .read(move |conn| {
            let rows = Enterprise::list_in(
                conn,
                &visibility,
                &filter,
                order,
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            let views = Enterprise::views(conn, rows)?;
            let sectors = OrgUnit::list(conn, OrgKind::Sector, None, UNITS_OFFERED)?;
            let parks = OrgUnit::list(conn, OrgKind::Park, None, UNITS_OFFERED)?;
            Ok((views, sectors, parks))
        })
        .await?;
    let page = page.page(views, |view| order.key(&view.id, &view.name));
    let filters = query.encoded(false, None);
    let chosen = |value: &Option<String>, option: &str| value.as_deref() == Some(option);
    let body = html! {
        h1 { "企业名录" }
        form.card.filters method="get" action=(ROSTER_PATH) {
            label { "名称或信用代码"
                input type="text" name="q" value=(query.q.clone().unwrap_or_default()) maxlength="64";
            }
            (unit_select("sector_id", "行业", &sectors, query.sector_id.as_deref()))
            (unit_select("park_id", "园区", &parks, query.park_id.as_deref()))
            label { "重点企业"
                select name="key" {
                    option value="" { "全部" }
                    option value="yes" selected[chosen(&query.key, "yes")] { "是" }
                    option value="no" selected[chosen(&query.key, "no")] { "否" }
                }
            }
            label { "状态"
                select name="status" {
                    option value="" { "全部" }
                    @for status in EnterpriseStatus::ALL {
                        option value=(status.as_str()) selected[chosen(&query.status, status.as_str())] {
                            (status.label())
                        }
                    }
                }
            }
            label { "排序"
                select name="order" {
                    option value="newest" { "最新加入" }
                    option value="name" selected[order == EnterpriseOrder::Name] { "按名称" }
                }
            }
            button.btn type="submit" { "筛选" }
            a href=(ROSTER_PATH) { "清除" }
        }
        section.card {
            div.actions {
                a href={ (ROSTER_PATH) "/export.csv?" (filters) } { "导出 CSV" }
                a href={ (ROSTER_PATH) "/export.xlsx?" (filters) } { "导出 Excel" }
                span.muted { "导出当前筛选条件下的全部企业（记入审计日志）。" }
            }
            (roster_table(&page.items))
            @if let Some(next) = &page.next_cursor {
                p { a href={ (ROSTER_PATH) "?" (query.encoded(true, Some(next))) } { "下一页" } }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            ROSTER_PATH,
            "企业名录",
            body,
        ),
    ))
}

/// `GET /console/enterprises/export.csv`: the API's CSV export of what the roster's
/// filters show (audited `enterprise.export`).
pub async fn export_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let filter = RosterQuery::read(&req)?.filter()?;
    Ok(csv_export(&state, &signed.caller, filter).await?)
}

/// `GET /console/enterprises/export.xlsx`: the API's XLSX export of what the roster's
/// filters show (audited `enterprise.export`).
pub async fn export_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let filter = RosterQuery::read(&req)?.filter()?;
    Ok(xlsx_export(&state, &signed.caller, filter).await?)
}

/// `GET /console/enterprises/{id}`: an enterprise of the caller's scope (else the 404
/// page) with its code (shown as the API shows it, audited) and its 20 latest filings.
pub async fn enterprise_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<EnterpriseId>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let view = visible_enterprise(&state, &signed.caller, id.clone()).await?;
    let code = current_code(&state, &signed.caller, id.clone()).await?;
    let filter = RegistrationFilter {
        enterprise_id: Some(id.clone()),
        ..RegistrationFilter::default()
    };
    let latest = PageRequest::parse(Some(RECENT_FILINGS), None)?;
    let filings = registrations_page(&state, &signed.caller, filter, latest)
        .await?
        .items;
    // The code's image and poster are the code page's, for the enterprise named.
    let chosen = Chosen::named(id);
    let body = html! {
        p { a href=(ROSTER_PATH) { "← 企业名录" } }
        h1 { (view.name) }
        dl.card {
            dt { "统一社会信用代码" } dd { (view.credit_code) }
            dt { "行业" } dd { (view.sector_name) }
            dt { "园区" } dd { (view.park_name) }
            dt { "地址" } dd { (view.address) }
            dt { "联系人" } dd { (view.contact_person) }
            // Masked: the full number only through the audited reveal.
            dt { "联系电话" } dd { (view.contact_phone.as_deref().unwrap_or_default()) }
            dt { "重点企业" } dd { (if view.key_enterprise { "是" } else { "否" }) }
            dt { "状态" } dd { (view.status.label()) }
            @if let (Some(longitude), Some(latitude)) = (view.longitude, view.latitude) {
                dt { "位置" } dd { (longitude) ", " (latitude) }
            }
        }
        section.card {
            h2 { "企业码" }
            @if code.suspended { p.notice.bad { "企业码已暂停，司机暂时无法扫码登记。" } }
            img src=(chosen.link(QR_SVG_PATH)) alt={ (view.name) " 的企业码" } width="200" height="200";
            dl {
                dt { "码值" } dd { code { (code.token) } }
                dt { "登记地址" } dd { (code.url) }
            }
            p.actions {
                a.btn.alt href=(chosen.link(POSTER_PATH)) download { "下载海报（A4 PNG）" }
                a href=(chosen.link(CODE_PATH)) { "企业码与扫码统计" }
                @if ENTERPRISE_KEEPERS.allows(signed.caller.role) {
                    a href=(chosen.link(FIELDS_PATH)) { "编辑登记表字段" }
                }
            }
        }
        section.card {
            h2 { "最近的登记" }
            (rows(&filings, false))
            p { a href={ (LIST_PATH) "?enterprise_id=" (view.id) } { "该企业的全部登记（筛选、导出）" } }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            ROSTER_PATH,
            "企业详情",
            body,
        ),
    ))
}
