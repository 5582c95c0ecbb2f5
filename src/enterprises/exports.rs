//! `GET /api/v1/enterprises/export.csv` and `export.xlsx`: every visible enterprise
//! matching the filter, read page by page and written as the pages arrive, so that an
//! export holds one page of rows whatever the size of the roster.
//!
//! Each page is a read of its own through the list's scoped query
//! ([`Enterprise::list`] after the last id of the page before), so no connection is
//! held while a client downloads, and an enterprise changed during an export appears as
//! its page found it. The audit entry records how many enterprises matched when the
//! export began.
//!
//! Errors: anything that fails before the first byte of the body (the count, the first
//! page, the audit entry; for XLSX every page, since the workbook is zipped only once
//! its rows are written) is a problem response. After that the status line has been
//! sent: a failure is logged and the body broken off, so the client sees an incomplete
//! transfer, never a file that looks complete.

use std::future::ready;
use std::io::Write;

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::codes::handlers::disposition;
use crate::db::{Db, DbConnection};
use crate::enterprises::handlers::FilterQuery;
use crate::enterprises::roster::{self, ExportRow, RosterError, XlsxExport};
use crate::enterprises::{Enterprise, EnterpriseFilter, EnterpriseView, Visibility};
use crate::error::ApiError;
use crate::state::AppState;
use crate::streaming::{self, ChunkWriter};

/// Enterprises per page: a page is a few hundred kilobytes of rows and one short read,
/// and 100,000 enterprises take 200 reads.
pub const PAGE_ROWS: usize = 500;

/// `GET /api/v1/enterprises/export.csv`: UTF-8 with BOM, Chinese headers; the same
/// columns the import reads. Each page is formatted on the blocking pool as it is read
/// and sent as one chunk; the next page is read only once the client has taken the
/// one before.
pub async fn export_enterprises_csv(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    csv_export(&state, &caller, query.into_inner().into()).await
}

/// The CSV export of the enterprises visible to `caller` that match `filter` (the
/// API's and the console's), audited as `enterprise.export`.
pub async fn csv_export(
    state: &AppState,
    caller: &Caller,
    filter: EnterpriseFilter,
) -> Result<HttpResponse, ApiError> {
    let export = Export::new(state, caller, filter);
    let (matching, first) = export.first(|rows| csv_page(rows, true)).await?;
    audit_export(state, caller, "csv", matching).await?;
    let rest = futures_util::stream::unfold((export, first.next), |(export, after)| async move {
        let after = after?;
        match export.page(after, |rows| csv_page(rows, false)).await {
            Ok(page) => Some((Ok(Bytes::from(page.content)), (export, page.next))),
            Err(error) => {
                tracing::error!(code = error.code().as_str(), error = ?error.cause(), "CSV export aborted");
                let aborted = std::io::Error::other("CSV export aborted");
                Some((Err(aborted), (export, None)))
            }
        }
    });
    let body = futures_util::stream::once(ready(Ok(Bytes::from(first.content)))).chain(rest);
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            disposition("attachment", "enterprises.csv", "企业名录.csv"),
        ))
        .streaming(body))
}

/// `GET /api/v1/enterprises/export.xlsx`. Pages are read here and handed to a blocking
/// thread that writes them into a constant-memory worksheet; once the last is written
/// the response starts and the thread zips the workbook into it.
pub async fn export_enterprises_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    xlsx_export(&state, &caller, query.into_inner().into()).await
}

/// The XLSX export of the enterprises visible to `caller` that match `filter` (the
/// API's and the console's), audited as `enterprise.export`.
pub async fn xlsx_export(
    state: &AppState,
    caller: &Caller,
    filter: EnterpriseFilter,
) -> Result<HttpResponse, ApiError> {
    let export = Export::new(state, caller, filter);
    let (matching, first) = export.first(Ok).await?;
    audit_export(state, caller, "xlsx", matching).await?;

    // Two pages at most wait for the writer, so reading never runs far ahead of it.
    let (feed, pages) = mpsc::channel(2);
    let (written, rows_written) = oneshot::channel();
    let (writer, body) = streaming::chunked();
    actix_web::rt::task::spawn_blocking(move || write_workbook(pages, written, writer));
    let mut page = first;
    loop {
        if feed.send(Feed::Rows(page.content)).await.is_err() {
            // The writer stopped; `rows_written` says why.
            break;
        }
        let Some(after) = page.next else {
            // A closed feed would mean that the export was given up; say it is whole.
            let _ = feed.send(Feed::Complete).await;
            break;
        };
        page = export.page(after, Ok).await?;
    }
    match rows_written.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(ApiError::internal(error)),
        Err(_) => return Err(ApiError::internal(anyhow::anyhow!("XLSX writer stopped"))),
    }
    Ok(HttpResponse::Ok()
        .insert_header((
            CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ))
        .insert_header((
            CONTENT_DISPOSITION,
            disposition("attachment", "enterprises.xlsx", "企业名录.xlsx"),
        ))
        .streaming(body))
}

/// What the handler hands the workbook writer.
enum Feed {
    /// The next page of rows.
    Rows(Vec<ExportRow>),
    /// There are no more: zip the workbook. (Without it, a closed feed means that the
    /// handler gave up: a database error, or the client went away.)
    Complete,
}

/// Writes the fed rows into a workbook, reports whether that worked, then zips the
/// workbook into the response.
fn write_workbook(
    pages: mpsc::Receiver<Feed>,
    written: oneshot::Sender<Result<(), RosterError>>,
    mut out: ChunkWriter,
) {
    let workbook = match write_rows(pages) {
        Ok(Some(workbook)) => workbook,
        Ok(None) => return,
        Err(error) => {
            let _ = written.send(Err(error));
            return;
        }
    };
    if written.send(Ok(())).is_err() {
        return;
    }
    let abort = out.abort_handle();
    let zipped = workbook
        .finish(&mut out)
        .and_then(|()| out.flush().map_err(|e| RosterError::Write(e.to_string())));
    match zipped {
        Ok(()) => {}
        Err(_) if abort.client_gone() => {}
        Err(error) => {
            tracing::error!(%error, "XLSX export aborted");
            abort.abort("XLSX export aborted");
        }
    }
}

/// The workbook with every fed row; `None` when the feed closed before it was
/// complete.
fn write_rows(mut pages: mpsc::Receiver<Feed>) -> Result<Option<XlsxExport>, RosterError> {
    let mut workbook = XlsxExport::new()?;
    while let Some(feed) = pages.blocking_recv() {
        match feed {
            Feed::Rows(rows) => workbook.write_rows(&rows)?,
            Feed::Complete => return Ok(Some(workbook)),
        }
    }
    Ok(None)
}

/// One page, as the caller made it of the rows; `next` is the id the following page
/// starts after (`None`: this was the last).
struct Page<T> {
    content: T,
    next: Option<String>,
}

/// The enterprises an export reads: visible to the caller and matching the filter.
struct Export {
    db: Db,
    visibility: Visibility,
    filter: EnterpriseFilter,
}

impl Export {
    fn new(state: &AppState, caller: &Caller, filter: EnterpriseFilter) -> Self {
        Self {
            db: state.db.clone(),
            visibility: Visibility::of(caller),
            filter,
        }
    }

    /// How many enterprises match, and the first page, made into `T` by `make` (on the
    /// blocking pool).
    async fn first<T, F>(&self, make: F) -> Result<(i64, Page<T>), ApiError>
    where
        T: Send + 'static,
        F: FnOnce(Vec<ExportRow>) -> Result<T, ApiError> + Send + 'static,
    {
        let (visibility, filter) = (self.visibility.clone(), self.filter.clone());
        self.db
            .read(move |conn| {
                let matching = Enterprise::count(conn, &visibility, &filter)?;
                let page = read_page(conn, &visibility, &filter, None, make)?;
                Ok((matching, page))
            })
            .await
    }

    /// The page after the enterprise `after`, made into `T` by `make`.
    async fn page<T, F>(&self, after: String, make: F) -> Result<Page<T>, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(Vec<ExportRow>) -> Result<T, ApiError> + Send + 'static,
    {
        let (visibility, filter) = (self.visibility.clone(), self.filter.clone());
        self.db
            .read(move |conn| read_page(conn, &visibility, &filter, Some(&after), make))
            .await
    }
}

fn read_page<T>(
    conn: &mut DbConnection,
    visibility: &Visibility,
    filter: &EnterpriseFilter,
    after: Option<&str>,
    make: impl FnOnce(Vec<ExportRow>) -> Result<T, ApiError>,
) -> Result<Page<T>, ApiError> {
    let enterprises = Enterprise::list(conn, visibility, filter, after, PAGE_ROWS as i64)?;
    let next = enterprises
        .last()
        .filter(|_| enterprises.len() == PAGE_ROWS)
        .map(|last| last.id.to_string());
    let rows = Enterprise::views(conn, enterprises)?
        .into_iter()
        .map(export_row)
        .collect();
    Ok(Page {
        content: make(rows)?,
        next,
    })
}

fn export_row(e: EnterpriseView) -> ExportRow {
    ExportRow {
        status: e.status.label().to_owned(),
        name: e.name,
        credit_code: e.credit_code,
        sector: e.sector_name,
        park: e.park_name,
        address: e.address,
        key_enterprise: e.key_enterprise,
        longitude: e.longitude,
        latitude: e.latitude,
    }
}

fn csv_page(rows: Vec<ExportRow>, with_header: bool) -> Result<Vec<u8>, ApiError> {
    roster::write_csv(&rows, with_header).map_err(ApiError::internal)
}

async fn audit_export(
    state: &AppState,
    caller: &Caller,
    format: &'static str,
    rows: i64,
) -> Result<(), ApiError> {
    let actor = caller.actor();
    state
        .db
        .write(move |conn| {
            let event = Event::success("enterprise.export", "enterprise", "roster")
                .with_details(serde_json::json!({ "format": format, "rows": rows }));
            audit::append(conn, &actor, event).map(drop)
        })
        .await
}
