//! Exports of what a list's filters show (the roster, the filings), as CSV or XLSX,
//! read page by page and written as the pages arrive, so that an export holds one page
//! of rows whatever the size of the list; and of small tables computed whole (the
//! survey's coverage ledger) through the same writers ([`Table`]).
//!
//! A list takes part by being a [`Source`]: how many rows match, and the page after a
//! key. Each page is a read of its own, so no connection is held while a client
//! downloads, and a row changed during an export appears as its page found it. The
//! audit entry records how many rows matched when the export began.
//!
//! Errors: anything that fails before the first byte of the body (the count, the first
//! page, the audit entry; for XLSX every page, since the workbook is zipped only once
//! its rows are written) is a problem response. After that the status line has been
//! sent: a failure is logged and the body broken off, so the client sees an incomplete
//! transfer, never a file that looks complete.

pub mod sheet;

use std::borrow::Cow;
use std::future::ready;
use std::io::Write;
use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::codes::handlers::disposition;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::exports::sheet::{Record, WriteError, XlsxExport, write_csv};
use crate::state::AppState;
use crate::streaming::{self, ChunkWriter};

/// Rows per page: a page is a few hundred kilobytes and one short read, and 100,000
/// rows take 200 reads.
pub const PAGE_ROWS: usize = 500;

/// A list that can be exported: the rows visible to a caller that match a filter, in
/// the list's order.
pub trait Source: Send + Sync + 'static {
    /// One row of the export.
    type Row: Record + Send + 'static;

    /// How many rows match.
    fn count(&self, conn: &mut DbConnection) -> Result<i64, ApiError>;

    /// Up to `limit` rows after the row with the key `after` (from the start when
    /// `None`), and the key of the last.
    fn page(
        &self,
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Self::Row>, Option<String>), ApiError>;
}

/// What a download is called and how it is audited.
#[derive(Clone, Debug)]
pub struct Download {
    /// The file's name without its extension, in ASCII (`enterprises`).
    pub ascii_name: &'static str,
    /// The file's name without its extension, as people read it (`企业名录`).
    pub name: Cow<'static, str>,
    /// The audit action (`enterprise.export`).
    pub action: &'static str,
    /// The audit entry's object type and id.
    pub object: (&'static str, Cow<'static, str>),
}

impl Download {
    fn disposition(&self, extension: &str) -> String {
        disposition(
            "attachment",
            &format!("{}.{extension}", self.ascii_name),
            &format!("{}.{extension}", self.name),
        )
    }
}

/// The CSV export of `source`: UTF-8 with BOM, the record's headers. Each page is
/// formatted on the blocking pool as it is read and sent as one chunk; the next page is
/// read only once the client has taken the one before.
pub async fn csv_export<S: Source>(
    state: &AppState,
    caller: &Caller,
    source: S,
    download: Download,
) -> Result<HttpResponse, ApiError> {
    let export = Export::new(state, source);
    let (matching, first) = export.first(|rows| csv_page(&rows, true)).await?;
    audit_export(state, caller, &download, "csv", matching).await?;
    let rest = futures_util::stream::unfold((export, first.next), |(export, after)| async move {
        let after = after?;
        match export.page(after, |rows| csv_page(&rows, false)).await {
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
        .insert_header((CONTENT_DISPOSITION, download.disposition("csv")))
        .streaming(body))
}

/// The XLSX export of `source`. Pages are read here and handed to a blocking thread
/// that writes them into a constant-memory worksheet; once the last is written the
/// response starts and the thread zips the workbook into it.
pub async fn xlsx_export<S: Source>(
    state: &AppState,
    caller: &Caller,
    source: S,
    download: Download,
) -> Result<HttpResponse, ApiError> {
    let export = Export::new(state, source);
    let (matching, first) = export.first(Ok).await?;
    audit_export(state, caller, &download, "xlsx", matching).await?;

    // Two pages at most wait for the writer, so reading never runs far ahead of it.
    let (feed, pages) = mpsc::channel(2);
    let (written, rows_written) = oneshot::channel();
    let (writer, body) = streaming::chunked();
    actix_web::rt::task::spawn_blocking(move || write_workbook::<S::Row>(pages, written, writer));
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
        .insert_header((CONTENT_DISPOSITION, download.disposition("xlsx")))
        .streaming(body))
}

/// A small table computed before its export begins (a ledger, a summary), exported
/// through the same writers as a list: its pages are slices of it, and a page's key is
/// the position after its last row.
pub struct Table<R>(pub Vec<R>);

impl<R: Record + Clone + Send + Sync + 'static> Source for Table<R> {
    type Row = R;

    fn count(&self, _: &mut DbConnection) -> Result<i64, ApiError> {
        Ok(i64::try_from(self.0.len()).unwrap_or(i64::MAX))
    }

    fn page(
        &self,
        _: &mut DbConnection,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<R>, Option<String>), ApiError> {
        let start = after.and_then(|key| key.parse().ok()).unwrap_or(0);
        let rows: Vec<R> = self.0.iter().skip(start).take(limit).cloned().collect();
        let next = (start + rows.len()).to_string();
        Ok((rows, Some(next)))
    }
}

/// What the handler hands the workbook writer.
enum Feed<R> {
    /// The next page of rows.
    Rows(Vec<R>),
    /// There are no more: zip the workbook. (Without it, a closed feed means that the
    /// handler gave up: a database error, or the client went away.)
    Complete,
}

/// Writes the fed rows into a workbook, reports whether that worked, then zips the
/// workbook into the response.
fn write_workbook<R: Record>(
    pages: mpsc::Receiver<Feed<R>>,
    written: oneshot::Sender<Result<(), WriteError>>,
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
        .and_then(|()| out.flush().map_err(|e| WriteError(e.to_string())));
    match zipped {
        Ok(()) => {}
        Err(_) if abort.client_gone() => {}
        Err(WriteError(error)) => {
            tracing::error!(%error, "XLSX export aborted");
            abort.abort("XLSX export aborted");
        }
    }
}

/// The workbook with every fed row; `None` when the feed closed before it was
/// complete.
fn write_rows<R: Record>(
    mut pages: mpsc::Receiver<Feed<R>>,
) -> Result<Option<XlsxExport<R>>, WriteError> {
    let mut workbook = XlsxExport::new()?;
    while let Some(feed) = pages.blocking_recv() {
        match feed {
            Feed::Rows(rows) => workbook.write_rows(&rows)?,
            Feed::Complete => return Ok(Some(workbook)),
        }
    }
    Ok(None)
}

/// One page, as the caller made it of the rows; `next` is the key the following page
/// starts after (`None`: this was the last).
struct Page<T> {
    content: T,
    next: Option<String>,
}

/// The rows an export reads.
struct Export<S> {
    db: Db,
    source: Arc<S>,
}

impl<S: Source> Export<S> {
    fn new(state: &AppState, source: S) -> Self {
        Self {
            db: state.db.clone(),
            source: Arc::new(source),
        }
    }

    /// How many rows match, and the first page, made into `T` by `make` (on a
    /// database reader thread).
    async fn first<T, F>(&self, make: F) -> Result<(i64, Page<T>), ApiError>
    where
        T: Send + 'static,
        F: FnOnce(Vec<S::Row>) -> Result<T, ApiError> + Send + 'static,
    {
        let source = Arc::clone(&self.source);
        self.db
            .read(move |conn| {
                let matching = source.count(conn)?;
                let page = read_page(conn, &*source, None, make)?;
                Ok((matching, page))
            })
            .await
    }

    /// The page after the row `after`, made into `T` by `make`.
    async fn page<T, F>(&self, after: String, make: F) -> Result<Page<T>, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(Vec<S::Row>) -> Result<T, ApiError> + Send + 'static,
    {
        let source = Arc::clone(&self.source);
        self.db
            .read(move |conn| read_page(conn, &*source, Some(&after), make))
            .await
    }
}

fn read_page<S: Source, T>(
    conn: &mut DbConnection,
    source: &S,
    after: Option<&str>,
    make: impl FnOnce(Vec<S::Row>) -> Result<T, ApiError>,
) -> Result<Page<T>, ApiError> {
    let (rows, last) = source.page(conn, after, PAGE_ROWS)?;
    let next = last.filter(|_| rows.len() == PAGE_ROWS);
    Ok(Page {
        content: make(rows)?,
        next,
    })
}

fn csv_page<R: Record>(rows: &[R], with_header: bool) -> Result<Vec<u8>, ApiError> {
    write_csv(rows, with_header).map_err(ApiError::internal)
}

async fn audit_export(
    state: &AppState,
    caller: &Caller,
    download: &Download,
    format: &'static str,
    rows: i64,
) -> Result<(), ApiError> {
    let actor = caller.actor();
    let (object_type, object_id) = &download.object;
    let event = Event::success(download.action, object_type, object_id.as_ref())
        .with_details(serde_json::json!({ "format": format, "rows": rows }));
    state
        .db
        .write(move |conn| audit::append(conn, &actor, event).map(drop))
        .await
}
