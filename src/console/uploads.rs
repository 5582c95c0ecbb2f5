//! The console's sheet imports share one flow: the sheet (CSV or XLSX) is uploaded
//! ([`uploaded_sheet`]), imported as a dry run through the API's service and
//! previewed with every bad row's errors ([`row_errors`]); a confirmation then imports
//! the same file. Between the two the file is kept in memory only ([`PendingImports`]),
//! for the session that uploaded it and the import it was previewed for, for a few
//! minutes; nothing is written before the confirmation. Used by the roster import
//! ([`crate::console::roster`]) and the surveyors' import
//! ([`crate::console::survey::surveyors`]).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, web};
use maud::{Markup, html};

use crate::body;
use crate::console::PageError;
use crate::console::session::{CSRF_FIELD, Signed};
use crate::domain::text::random_token;
use crate::enterprises::handlers::IMPORT_LIMIT;
use crate::enterprises::import::RowError;
use crate::error::{ApiError, ErrorCode};

/// Room for the form's other fields and the multipart framing around the file.
const FORM_OVERHEAD: usize = 64 * 1024;
/// Most row errors listed on a preview (the counts cover them all).
const ERRORS_SHOWN: usize = 300;
/// How long a previewed file waits for its confirmation.
const KEPT_FOR: Duration = Duration::from_secs(15 * 60);
/// Most previewed files kept at once (each up to the import limit).
const MOST_KEPT: usize = 4;

/// Which import a previewed file waits for: a file previewed for one is never
/// confirmed as the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetKind {
    /// The admin's enterprise roster.
    Roster,
    /// The surveyors of the officials' teams.
    Surveyors,
}

/// A previewed file waiting for its confirmation.
struct Pending {
    id: String,
    session: String,
    kind: SheetKind,
    file: web::Bytes,
    at: Instant,
}

/// Previewed files, each bound to the session that uploaded it and its import under
/// a random id, kept for [`KEPT_FOR`] at most, one per session and import and
/// [`MOST_KEPT`] in all (the oldest goes first).
#[derive(Default)]
pub struct PendingImports(Mutex<Vec<Pending>>);

impl PendingImports {
    fn entries(&self) -> MutexGuard<'_, Vec<Pending>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `file` for `session`'s import of `kind` (replacing its earlier one);
    /// returns its id.
    pub fn keep(&self, session: &str, kind: SheetKind, file: web::Bytes) -> String {
        let id = random_token();
        let mut entries = self.entries();
        entries.retain(|entry| {
            (entry.session != session || entry.kind != kind) && entry.at.elapsed() < KEPT_FOR
        });
        if entries.len() >= MOST_KEPT {
            entries.remove(0);
        }
        entries.push(Pending {
            id: id.clone(),
            session: session.to_owned(),
            kind,
            file,
            at: Instant::now(),
        });
        id
    }

    /// The file previewed under `id` by `session` for `kind`, taken out; anything
    /// else (another session's, another import's, used, too old) is 404.
    pub fn take(&self, session: &str, kind: SheetKind, id: &str) -> Result<web::Bytes, ApiError> {
        let mut entries = self.entries();
        entries.retain(|entry| entry.at.elapsed() < KEPT_FOR);
        let found = entries
            .iter()
            .position(|entry| entry.session == session && entry.kind == kind && entry.id == id)
            .ok_or_else(|| {
                ApiError::new(ErrorCode::NotFound, "预览已过期或已导入，请重新上传文件")
            })?;
        Ok(entries.swap_remove(found).file)
    }
}

/// The file input of an upload form, for a sheet of at most the import limit.
pub fn file_input(label: &str) -> Markup {
    html! {
        div.f {
            label for="file" { (label) "（CSV 或 XLSX，不超过 " (IMPORT_LIMIT / (1024 * 1024)) " MB）" }
            input #file type="file" name="file" required
                accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        }
    }
}

/// The sheet of an upload form (`multipart/form-data` with the CSRF field and the
/// file `file`), once the session's CSRF token is checked; no file is 422.
pub async fn uploaded_sheet(
    req: &HttpRequest,
    signed: &Signed,
    payload: web::Payload,
) -> Result<web::Bytes, PageError> {
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
    signed.check_csrf(req, csrf.as_deref())?;
    Ok(file
        .filter(|file| !file.is_empty())
        .ok_or_else(|| ApiError::field("file", "required", "请选择要上传的文件"))?)
}

/// The rows of a sheet with errors: row number, column, problem (the first
/// [`ERRORS_SHOWN`] of them).
pub fn row_errors(errors: &[RowError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            section.card #errors {
                h2 { "有误的行" }
                div.scroll { table {
                    thead { tr { th { "行" } th { "列" } th { "问题" } } }
                    tbody {
                        @for error in errors.iter().take(ERRORS_SHOWN) {
                            tr { td { (error.row) } td { (error.header) } td { (error.message) } }
                        }
                    }
                } }
                @if errors.len() > ERRORS_SHOWN {
                    p.muted { "另有 " (errors.len() - ERRORS_SHOWN) " 处错误未列出，请修正以上错误后重新上传。" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROSTER: SheetKind = SheetKind::Roster;

    #[test]
    fn a_kept_file_goes_only_to_its_session_and_import_and_only_once() {
        let pending = PendingImports::default();
        let id = pending.keep("session-a", ROSTER, web::Bytes::from_static(b"file"));
        assert!(pending.take("session-b", ROSTER, &id).is_err());
        assert!(pending.take("session-a", ROSTER, "other").is_err());
        assert!(
            pending
                .take("session-a", SheetKind::Surveyors, &id)
                .is_err()
        );
        assert_eq!(
            pending.take("session-a", ROSTER, &id).ok(),
            Some(web::Bytes::from_static(b"file"))
        );
        assert!(pending.take("session-a", ROSTER, &id).is_err());
    }

    #[test]
    fn a_new_upload_replaces_the_sessions_earlier_one_of_its_import_and_the_oldest_goes_first() {
        let pending = PendingImports::default();
        let first = pending.keep("a", ROSTER, web::Bytes::from_static(b"1"));
        let other_import = pending.keep("a", SheetKind::Surveyors, web::Bytes::from_static(b"s"));
        let second = pending.keep("a", ROSTER, web::Bytes::from_static(b"2"));
        assert!(pending.take("a", ROSTER, &first).is_err());
        assert!(
            pending
                .take("a", SheetKind::Surveyors, &other_import)
                .is_ok()
        );
        let others: Vec<String> = (0..MOST_KEPT)
            .map(|n| pending.keep(&n.to_string(), ROSTER, web::Bytes::new()))
            .collect();
        assert!(pending.take("a", ROSTER, &second).is_err());
        assert!(pending.take("0", ROSTER, &others[0]).is_ok());
    }
}
