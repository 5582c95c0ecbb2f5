//! The surveyors' sheet import (姓名, 手机号, 所属行业或园区) for the admin and the
//! officials who staff survey teams: the sheet is uploaded and checked as a dry run
//! through the API's service ([`import_sheet`]), every bad row listed and nothing
//! written; the confirmation imports the same file (kept as the console's imports
//! keep it, [`crate::console::uploads`]) and shows each account's one-time activation
//! code once, or prints the activation sheet of the accounts instead, as the API's
//! `print` does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::auth::caller::{ADMIN, TEAM_KEEPERS};
use crate::console::activation::{SHEET_PATH, sheet_warning};
use crate::console::session::Signed;
use crate::console::survey::CAMPAIGNS_PATH;
use crate::console::survey::office::Units;
use crate::console::uploads::{SheetKind, file_input, row_errors, uploaded_sheet};
use crate::console::{ACTIVATE_PATH, PageError, allowed, layout, render};
use crate::state::AppState;
use crate::survey::surveyors::{SurveyorImport, import_sheet};
use crate::users::activation::bulk::AccountOutcome;
use crate::users::activation::handlers::print_taken;

/// The upload page's address.
pub const IMPORT_PATH: &str = "/console/survey/surveyors/import";
const CONFIRM_PATH: &str = "/console/survey/surveyors/import/confirm";
const TITLE: &str = "导入摸排人员";

/// The import is the 404 page for everyone but admins and sector and park officials
/// (who import their own sectors' or parks' teams only, row by row).
pub fn keepers_only(signed: &Signed) -> Result<(), PageError> {
    allowed(TEAM_KEEPERS.allows(signed.caller.role))
}

fn page(state: &AppState, signed: &Signed, title: &str, body: Markup) -> HttpResponse {
    let zone_name = &state.settings.zone_name;
    render(
        StatusCode::OK,
        layout::page(zone_name, signed, CAMPAIGNS_PATH, title, body),
    )
}

fn upload_form(signed: &Signed) -> Markup {
    html! {
        form.card method="post" action=(IMPORT_PATH) enctype="multipart/form-data" {
            (signed.csrf_field())
            (file_input("摸排人员名单"))
            p.muted {
                "表头：姓名、手机号、所属行业或园区。所属行业或园区填系统中已有的名称或编码；"
                "行业和园区主管部门只能导入本单位的摸排人员。"
            }
            button.btn type="submit" { "上传并预览" }
        }
    }
}

/// `GET /console/survey/surveyors/import`: the upload form.
pub async fn upload_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    keepers_only(&signed)?;
    let body = html! {
        p { a href=(CAMPAIGNS_PATH) { "← 摸排任务" } }
        h1 { (TITLE) }
        p { "上传后先预览：列出每一行的错误和将要创建的账号；任何一行有误时不会创建账号，确认后才写入。" }
        (upload_form(&signed))
    };
    Ok(page(&state, &signed, TITLE, body))
}

/// The accounts of an import with their teams (and, once created, their codes).
fn accounts(report: &SurveyorImport, units: &Units) -> Markup {
    let team = |account: &AccountOutcome| {
        account
            .sector_ids
            .iter()
            .chain(&account.park_ids)
            .map(|id| units.name(id))
            .collect::<Vec<_>>()
            .join("、")
    };
    html! {
        div.card { div.scroll { table #accounts {
            thead { tr {
                th { "姓名" } th { "用户名" } th { "手机号" } th { "所属行业或园区" }
                @if report.written { th { "激活码" } }
            } }
            tbody {
                @for account in &report.accounts {
                    tr {
                        td { (account.display_name) }
                        td { (account.username) }
                        td { (account.phone.as_deref().unwrap_or("—")) }
                        td { (team(account)) }
                        @if report.written {
                            td { @if let Some(issued) = &account.activation { code { (issued.code) } } }
                        }
                    }
                }
            }
        } } }
    }
}

/// `POST /console/survey/surveyors/import`: a dry run of the uploaded sheet through
/// the API's import, shown with every row's errors, or the accounts it would create
/// and the way to confirm them.
pub async fn preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    // The role first: no other role's upload is even read.
    keepers_only(&signed)?;
    let file = uploaded_sheet(&req, &signed, payload).await?;
    let slot = state.heavy.imports.take(signed.caller.user_id.as_str())?;
    let report = import_sheet(&state, &signed.caller, &slot, file.clone(), true, false).await?;
    let units = Units::load(&state).await?;
    let id = (report.errors.is_empty() && !report.accounts.is_empty()).then(|| {
        state
            .console_imports
            .keep(signed.token_hash(), SheetKind::Surveyors, file)
    });
    let body = html! {
        p { a href=(IMPORT_PATH) { "← " (TITLE) } }
        h1 { "导入预览" }
        p.notice { "这是预览，尚未创建任何账号。共 " (report.rows) " 行。" }
        @if !report.errors.is_empty() {
            p.notice.bad { "有 " (report.errors.len()) " 处错误：任何一行有误时不会创建账号，请修正后重新上传。" }
        }
        (row_errors(&report.errors))
        @if let Some(id) = id {
            p { "将创建 " (report.accounts.len()) " 个摸排人员账号，每个账号附一个一次性激活码。" }
            (accounts(&report, &units))
            form.card method="post" action=(CONFIRM_PATH) {
                (signed.csrf_field())
                input type="hidden" name="id" value=(id);
                div.actions {
                    button.btn type="submit" { "确认导入" }
                    button.btn.alt type="submit" name="print" value="on" { "确认导入并打印激活单" }
                }
                p.muted { "确认导入后激活码在页面上显示一次；选择打印时下载激活单（PNG，超过 8 人为 ZIP）。" }
            }
        } @else if report.errors.is_empty() {
            p.muted { "文件中没有摸排人员。" }
        }
        h2 { "重新上传" }
        (upload_form(&signed))
    };
    Ok(page(&state, &signed, "导入预览", body))
}

/// `POST /console/survey/surveyors/import/confirm`: imports the sheet previewed under
/// `id` by this session (gone once used, or after 15 minutes: the 404 page) and shows
/// each account's activation code once; with `print=on`, downloads the printed
/// activation sheet of the accounts instead.
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    keepers_only(&signed)?;
    let user = signed.caller.user_id.as_str();
    let slot = state.heavy.imports.take(user)?;
    // Taken before anything is written, so that printing the accounts is not refused.
    let sheet = (posted.value("print") == Some("on"))
        .then(|| state.heavy.sheets.take(user))
        .transpose()?;
    let id = posted.value("id").unwrap_or_default();
    let file = state
        .console_imports
        .take(signed.token_hash(), SheetKind::Surveyors, id)?;
    let report = import_sheet(&state, &signed.caller, &slot, file, false, sheet.is_some()).await?;
    if report.written
        && let Some(sheet) = sheet
    {
        let ids = report.created_ids();
        let printed = print_taken(&state, signed.caller.clone(), sheet, ids).await?;
        return Ok(printed.into_response());
    }
    let units = Units::load(&state).await?;
    let body = html! {
        p { a href=(CAMPAIGNS_PATH) { "← 摸排任务" } }
        @if report.written {
            h1 { "已创建 " (report.accounts.len()) " 个摸排人员账号" }
            p.notice.ok {
                "激活码仅显示这一次。摸排人员用用户名和激活码在 " (ACTIVATE_PATH) " 设置密码后即可登录。"
            }
            (accounts(&report, &units))
            @if ADMIN.allows(signed.caller.role) {
                form.card method="post" action=(SHEET_PATH) {
                    (signed.csrf_field())
                    @for id in report.created_ids() {
                        input type="hidden" name="user_id" value=(id);
                    }
                    (sheet_warning())
                    button.btn type="submit" { "打印激活单" }
                }
            }
        } @else {
            h1 { "未导入" }
            p.notice.bad { "文件中有误的行（可能是预览后有人用了同一手机号），未创建任何账号。请修正后重新上传。" }
            (row_errors(&report.errors))
        }
        p { a href=(IMPORT_PATH) { "继续导入" } }
    };
    Ok(page(&state, &signed, TITLE, body))
}
