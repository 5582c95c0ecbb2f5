//! The enterprise's code: its QR image and link, the poster to download, rotation and
//! suspension (each with a confirmation ticked first) and the daily scans of the last
//! 30 days as a bar chart drawn on the server. Everything goes through the services of
//! `/api/v1/enterprises/{id}/code*`, with their audit entries.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use maud::{Markup, html};

use crate::auth::caller::ENTERPRISE_KEEPERS;
use crate::codes::CodeView;
use crate::codes::handlers::{
    CodeChange, QrFormat, ScanReport, change_code, poster, qr_image, scan_report, visible_code,
};
use crate::codes::render::QrOptions;
use crate::console::chart;
use crate::console::enterprise::Chosen;
use crate::console::session::Signed;
use crate::console::{PageError, allowed, layout, render, see_other};
use crate::domain::zone;
use crate::state::AppState;

/// The code page.
pub const CODE_PATH: &str = "/console/code";
/// The code's QR image (SVG).
pub const QR_SVG_PATH: &str = "/console/code/qr.svg";
/// The code's poster.
pub const POSTER_PATH: &str = "/console/code/poster.png";
/// The confirmation a rotation or a suspension needs ticked.
const CONFIRM_FIELD: &str = "confirm";

/// `GET /console/code`: the page.
pub async fn code_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let chosen = Chosen::of(&req, &signed)?;
    page(&state, &signed, &chosen, None, StatusCode::OK).await
}

/// A change refused for want of its confirmation.
struct Unconfirmed(CodeChange);

async fn page(
    state: &AppState,
    signed: &Signed,
    chosen: &Chosen,
    unconfirmed: Option<Unconfirmed>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (enterprise, code) = visible_code(state, &signed.caller, chosen.id.clone()).await?;
    let view = code.view(&state.settings.public_base_url());
    let report = scan_report(state, &signed.caller, chosen.id.clone(), None, None).await?;
    let keeper = ENTERPRISE_KEEPERS.allows(signed.caller.role);
    let body = html! {
        h1 { "企业码 · " (enterprise.name) }
        section.card {
            div.actions {
                img src=(chosen.link(QR_SVG_PATH)) alt="企业码二维码" width="220" height="220";
                dl {
                    dt { "状态" }
                    dd { @if view.suspended { span.s-rejected { "已暂停登记" } } @else { span.s-approved { "正常" } } }
                    dt { "司机登记链接" } dd { a href=(view.url) { (view.url) } }
                    dt { "启用时间" } dd { (zone::shown_minute(view.created_at)) }
                }
            }
            p.actions {
                a.btn href=(chosen.link(POSTER_PATH)) download="poster.png" { "下载海报（A4）" }
                a href=(chosen.link("/console/code/qr.png")) download="qr.png" { "下载二维码图片" }
            }
        }
        section.card {
            h2 { "近 30 天扫码次数" }
            (scans_chart(&report))
        }
        @if keeper {
            (changes(signed, chosen, &view, unconfirmed.as_ref()))
        }
    };
    Ok(render(
        status,
        layout::page(&state.settings.zone_name, signed, CODE_PATH, "企业码", body),
    ))
}

/// The forms that change the code, each with the confirmation to tick.
fn changes(
    signed: &Signed,
    chosen: &Chosen,
    view: &CodeView,
    unconfirmed: Option<&Unconfirmed>,
) -> Markup {
    let refused = |change: CodeChange| unconfirmed.is_some_and(|Unconfirmed(r)| *r == change);
    let confirm = |change: CodeChange, text: &str| {
        html! {
            div.f {
                label.check {
                    input type="checkbox" name=(CONFIRM_FIELD) value="yes" required;
                    " " (text)
                }
                @if refused(change) {
                    p.notice.bad role="alert" { "请先勾选确认，再提交。未做任何更改。" }
                }
            }
        }
    };
    html! {
        section.card {
            h2 { "更换企业码" }
            p.muted { "更换后旧海报上的二维码立即失效，司机扫旧码将看到“此码已更换”，请重新下载并张贴新海报。" }
            form method="post" action=(chosen.link("/console/code/rotate")) {
                (signed.csrf_field())
                (confirm(CodeChange::Rotate, "我已知晓旧码将失效"))
                button.btn.bad type="submit" { "更换企业码" }
            }
        }
        section.card {
            @if view.suspended {
                h2 { "恢复登记" }
                p.muted { "恢复后司机可以再次扫码登记。" }
                form method="post" action=(chosen.link("/console/code/resume")) {
                    (signed.csrf_field())
                    button.btn type="submit" { "恢复登记" }
                }
            } @else {
                h2 { "暂停登记" }
                p.muted { "暂停期间司机扫码只能看到“暂停登记”，无法提交；已有的登记不受影响。" }
                form method="post" action=(chosen.link("/console/code/suspend")) {
                    (signed.csrf_field())
                    (confirm(CodeChange::Suspend, "我已知晓暂停后司机无法登记"))
                    button.btn.bad type="submit" { "暂停登记" }
                }
            }
        }
    }
}

/// The daily scans as a bar chart, one bar a day (days without scans too).
fn scans_chart(report: &ScanReport) -> Markup {
    let parse = |day: &str| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok();
    let days: Vec<(String, i64)> = report
        .days
        .iter()
        .map(|day| (day.day.clone(), day.scans))
        .collect();
    let label = format!("近 30 天每日扫码次数，共 {} 次", report.total);
    html! {
        p { "共 " b { (report.total) } " 次（" (report.from) " 至 " (report.to) "）" }
        @if let (Some(from), Some(to)) = (parse(&report.from), parse(&report.to)) {
            (chart::daily(from, to, &days, "次", &label))
        }
    }
}

/// `GET /console/code/qr.svg`: the QR image, as `/api/v1/enterprises/{id}/code.svg`.
pub async fn qr_svg(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let chosen = Chosen::of(&req, &signed)?;
    let options = QrOptions::DEFAULT;
    Ok(qr_image(&state, &signed.caller, chosen.id, options, QrFormat::Svg).await?)
}

/// `GET /console/code/qr.png`: the QR image, as `/api/v1/enterprises/{id}/code.png`.
pub async fn qr_png(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let chosen = Chosen::of(&req, &signed)?;
    let options = QrOptions::DEFAULT;
    Ok(qr_image(&state, &signed.caller, chosen.id, options, QrFormat::Png).await?)
}

/// `GET /console/code/poster.png`: the poster, as `/api/v1/enterprises/{id}/poster.png`.
pub async fn poster_png(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    let chosen = Chosen::of(&req, &signed)?;
    Ok(poster(&state, &signed.caller, chosen.id).await?)
}

/// A change posted: with its confirmation where it needs one, through the API's
/// service (same audit), then 303 back to the page; without, the page again (422),
/// nothing changed.
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
    change: CodeChange,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    allowed(ENTERPRISE_KEEPERS.allows(signed.caller.role))?;
    let chosen = Chosen::of(&req, &signed)?;
    let needs_confirmation = matches!(change, CodeChange::Rotate | CodeChange::Suspend);
    if needs_confirmation && posted.value(CONFIRM_FIELD) != Some("yes") {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return page(&state, &signed, &chosen, Some(Unconfirmed(change)), status).await;
    }
    change_code(&state, signed.caller.clone(), chosen.id.clone(), change).await?;
    Ok(see_other(&chosen.link(CODE_PATH)))
}

/// `POST /console/code/rotate`: `confirm=yes` required.
pub async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    change(state, req, signed, body, CodeChange::Rotate).await
}

/// `POST /console/code/suspend`: `confirm=yes` required.
pub async fn suspend(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    change(state, req, signed, body, CodeChange::Suspend).await
}

/// `POST /console/code/resume`.
pub async fn resume(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    change(state, req, signed, body, CodeChange::Resume).await
}
