//! The admin's roster import: the sheet (CSV or XLSX) is uploaded, imported as a dry
//! run through the API's service ([`import_roster`]) and previewed (every bad row's
//! errors, what would be new, updated, unchanged); "确认导入" then imports the same
//! file. Between the two the file is kept in memory only ([`PendingImports`]), for
//! the session that uploaded it, for a few minutes; nothing is written before the
//! confirmation.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::body;
use crate::console::session::{CSRF_FIELD, Signed};
use crate::console::{PageError, admin_only, layout, render};
use crate::domain::text::random_token;
use crate::enterprises::handlers::{IMPORT_LIMIT, import_roster};
use crate::enterprises::import::{ImportOptions, ImportReport};
use crate::enterprises::roster::Column;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The upload page's address (and the navigation entry).
pub const IMPORT_PATH: &str = "/console/roster/import";
const CONFIRM_PATH: &str = "/console/roster/import/confirm";
/// Room for the form's other fields and the multipart framing around the file.
const FORM_OVERHEAD: usize = 64 * 1024;
/// Most row errors listed on the preview (the counts cover them all).
const ERRORS_SHOWN: usize = 300;
/// How long a previewed file waits for its confirmation.
const KEPT_FOR: Duration = Duration::from_secs(15 * 60);
/// Most previewed files kept at once (each up to the import limit).
const MOST_KEPT: usize = 4;

/// A previewed file waiting for its confirmation.
struct Pending {
    id: String,
    session: String,
    file: web::Bytes,
    at: Instant,
}

/// Previewed roster files, each bound to the session that uploaded it under a random
/// id, kept for [`KEPT_FOR`] at most, one per session and [`MOST_KEPT`] in all (the
/// oldest goes first).
#[derive(Default)]
pub struct PendingImports(Mutex<Vec<Pending>>);

impl PendingImports {
    fn entries(&self) -> MutexGuard<'_, Vec<Pending>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `file` for `session` (replacing its earlier one); returns its id.
    fn keep(&self, session: &str, file: web::Bytes) -> String {
        let id = random_token();
        let mut entries = self.entries();
        entries.retain(|entry| entry.session != session && entry.at.elapsed() < KEPT_FOR);
        if entries.len() >= MOST_KEPT {
            entries.remove(0);
        }
        entries.push(Pending {
            id: id.clone(),
            session: session.to_owned(),
            file,
            at: Instant::now(),
        });
        id
    }

    /// The file previewed under `id` by `session`, taken out, unless it is too old.
    fn take(&self, session: &str, id: &str) -> Option<web::Bytes> {
        let mut entries = self.entries();
        entries.retain(|entry| entry.at.elapsed() < KEPT_FOR);
        let found = entries
            .iter()
            .position(|entry| entry.session == session && entry.id == id)?;
        Some(entries.swap_remove(found).file)
    }
}

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
            div.f {
                label for="file" { "企业名录文件（CSV 或 XLSX，不超过 " (IMPORT_LIMIT / (1024 * 1024)) " MB）" }
                input #file type="file" name="file" required
                    accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            }
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

/// The form's CSRF field and file, from a `multipart/form-data` body.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Option<String>, Option<web::Bytes>), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请通过页面上的表单上传文件",
        )
    })?;
    let form = body::read_limited(payload, IMPORT_LIMIT + FORM_OVERHEAD).await?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(form) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let unreadable = |_| ApiError::new(ErrorCode::InvalidBody, "上传的表单无法读取，请重新上传");
    let (mut csrf, mut file) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some(CSRF_FIELD) => csrf = Some(field.text().await.map_err(unreadable)?),
            Some("file") => file = Some(field.bytes().await.map_err(unreadable)?),
            _ => {}
        }
    }
    Ok((csrf, file))
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
    let (csrf, file) = read_upload(&req, payload).await?;
    signed.check_csrf(&req, csrf.as_deref())?;
    let file = file
        .filter(|file| !file.is_empty())
        .ok_or_else(|| ApiError::field("file", "required", "请选择要上传的文件"))?;
    let slot = state.heavy.imports.take(signed.caller.user_id.as_str())?;
    let options = ImportOptions {
        dry_run: true,
        partial: false,
    };
    let report = import_roster(&state, &signed.caller, &slot, file.clone(), options).await?;
    let writable = report.inserted + report.updated;
    let id = (writable > 0).then(|| state.console_imports.keep(signed.token_hash(), file));
    let body = html! {
        h1 { "导入预览" }
        p.notice { "这是预览，尚未写入任何数据。共 " (report.rows) " 行。" }
        (summary(&report))
        @if !report.errors.is_empty() {
            section.card {
                h2 { "有误的行" }
                div.scroll { table {
                    thead { tr { th { "行" } th { "列" } th { "问题" } } }
                    tbody {
                        @for error in report.errors.iter().take(ERRORS_SHOWN) {
                            tr { td { (error.row) } td { (error.header) } td { (error.message) } }
                        }
                    }
                } }
                @if report.errors.len() > ERRORS_SHOWN {
                    p.muted { "另有 " (report.errors.len() - ERRORS_SHOWN) " 处错误未列出，请修正以上错误后重新上传。" }
                }
            }
        }
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
        .take(signed.token_hash(), id)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "预览已过期或已导入，请重新上传文件"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_file_goes_only_to_its_session_and_only_once() {
        let pending = PendingImports::default();
        let id = pending.keep("session-a", web::Bytes::from_static(b"file"));
        assert_eq!(pending.take("session-b", &id), None);
        assert_eq!(pending.take("session-a", "other"), None);
        assert_eq!(
            pending.take("session-a", &id),
            Some(web::Bytes::from_static(b"file"))
        );
        assert_eq!(pending.take("session-a", &id), None);
    }

    #[test]
    fn a_new_upload_replaces_the_sessions_earlier_one_and_the_oldest_goes_first() {
        let pending = PendingImports::default();
        let first = pending.keep("a", web::Bytes::from_static(b"1"));
        let second = pending.keep("a", web::Bytes::from_static(b"2"));
        assert_eq!(pending.take("a", &first), None);
        let others: Vec<String> = (0..MOST_KEPT)
            .map(|n| pending.keep(&n.to_string(), web::Bytes::new()))
            .collect();
        assert_eq!(pending.take("a", &second), None);
        assert!(pending.take("0", &others[0]).is_some());
    }
}
