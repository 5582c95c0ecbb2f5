//! The admin's roster import: the sheet (CSV or XLSX) is uploaded, imported as a dry
//! run through the API's service ([`import_roster`]) and previewed (every bad row's
//! errors, what would be new, updated, unchanged); "确认导入" then imports the same
//! file, kept in between as the console's imports keep it
//! ([`crate::console::uploads`]); nothing is written before the confirmation.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::console::session::Signed;
use crate::console::uploads::{SheetKind, file_input, row_errors, uploaded_sheet};
use crate::console::{PageError, admin_only, layout, render};
use crate::enterprises::handlers::import_roster;
use crate::enterprises::import::{ImportOptions, ImportReport};
use crate::enterprises::roster::Column;
use crate::state::AppState;

/// The upload page's address (and the navigation entry).
pub const IMPORT_PATH: &str = "/console/roster/import";
const CONFIRM_PATH: &str = "/console/roster/import/confirm";

fn page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    title: &str,
    body: Markup,
) -> HttpResponse {
    let zone_name = &state.settings.zone_name;
    render(
        status,
        layout::page(zone_name, signed, IMPORT_PATH, title, body),
    )
}

fn upload_form(signed: &Signed) -> Markup {
    let headers: Vec<&str> = Column::ALL.iter().map(|column| column.header()).collect();
    html! {
        form.card method="post" action=(IMPORT_PATH) enctype="multipart/form-data" {
            (signed.csrf_field())
            (file_input("企业名录文件"))
            p.muted { "表头可用的列：" (headers.join("、")) "。按统一社会信用代码新增或更新企业；行业、园区填编码或名称。" }
            button.btn type="submit" { "上传并预览" }
        }
    }
}

/// `GET /console/roster/import`: the upload form.
pub async fn upload_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let body = html! {
        h1 { "导入企业名录" }
        p { "上传后先预览：列出每一行的错误和将要新增、更新的企业，确认后才写入。" }
        (upload_form(&signed))
    };
    Ok(page(&state, &signed, StatusCode::OK, "导入企业名录", body))
}

fn summary(report: &ImportReport) -> Markup {
    html! {
        div.stats {
            div.stat { "新增" b { (report.inserted) } }
            div.stat { "更新" b { (report.updated) } }
            div.stat { "不变" b { (report.unchanged) } }
            div.stat { "有误" b { (report.rejected) } }
        }
    }
}

/// `POST /console/roster/import`: a dry run of the uploaded file through the API's
/// import, shown as a preview with every row's errors and the way to confirm it.
pub async fn preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    // The role first: no other role's upload is even read.
    admin_only(&signed)?;
    let file = uploaded_sheet(&req, &signed, payload).await?;
    let slot = state.heavy.imports.take(signed.caller.user_id.as_str())?;
    let options = ImportOptions {
        dry_run: true,
        partial: false,
    };
    let report = import_roster(&state, &signed.caller, &slot, file.clone(), options).await?;
    let writable = report.inserted + report.updated;
    let id = (writable > 0).then(|| {
        state
            .console_imports
            .keep(signed.token_hash(), SheetKind::Roster, file)
    });
    let body = html! {
        h1 { "导入预览" }
        p.notice { "这是预览，尚未写入任何数据。共 " (report.rows) " 行。" }
        (summary(&report))
        (row_errors(&report.errors))
        @if let Some(id) = id {
            form.card method="post" action=(CONFIRM_PATH) {
                (signed.csrf_field())
                input type="hidden" name="id" value=(id);
                @if report.rejected > 0 {
                    p { "可以修正后重新上传；或跳过有误的 " (report.rejected) " 行，只导入其余各行。" }
                    input type="hidden" name="partial" value="on";
                    button.btn type="submit" { "跳过有误的行，确认导入" }
                } @else {
                    button.btn type="submit" { "确认导入" }
                }
            }
        } @else {
            p.muted { "没有需要写入的变更。" }
        }
        h2 { "重新上传" }
        (upload_form(&signed))
    };
    Ok(page(&state, &signed, StatusCode::OK, "导入预览", body))
}

/// `POST /console/roster/import/confirm`: imports the file previewed under `id` by
/// this session (gone once used, or after 15 minutes: the 404 page).
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let slot = state.heavy.imports.take(signed.caller.user_id.as_str())?;
    let id = posted.value("id").unwrap_or_default();
    let file = state
        .console_imports
        .take(signed.token_hash(), SheetKind::Roster, id)?;
    let options = ImportOptions {
        dry_run: false,
        partial: posted.value("partial") == Some("on"),
    };
    let report = import_roster(&state, &signed.caller, &slot, file, options).await?;
    let body = html! {
        h1 { "导入完成" }
        @if report.written {
            p.notice.ok { "已写入：新增 " (report.inserted) " 家，更新 " (report.updated) " 家。" }
        } @else {
            p.notice.bad { "文件中有误的行，未写入任何数据。请修正后重新上传。" }
        }
        (summary(&report))
        p { a href=(IMPORT_PATH) { "继续导入" } }
    };
    Ok(page(&state, &signed, StatusCode::OK, "导入完成", body))
}
