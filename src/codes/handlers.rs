//! `/api/v1/enterprises/{id}/code*` and `/api/v1/posters.zip`: the code, its QR
//! images and posters, rotation and suspension, scan counts.

use std::io::Write;

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::codes::render::{self, Ecc, Poster, QrOptions};
use crate::codes::{CodeView, EnterpriseCode};
use crate::domain::id::{EnterpriseId, OrgUnitId};
use crate::domain::zone;
use crate::enterprises::{Enterprise, EnterpriseFilter, Visibility};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::state::AppState;
use crate::streaming::{self, ChunkWriter};

/// Largest number of posters in one ZIP.
pub const MAX_POSTERS: usize = 2000;

/// Query of the QR image routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrQuery {
    size: Option<u32>,
    margin: Option<u32>,
    ecc: Option<Ecc>,
}

impl TryFrom<QrQuery> for QrOptions {
    type Error = ApiError;

    fn try_from(query: QrQuery) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let size = query.size.unwrap_or(QrOptions::DEFAULT.size);
        if !(QrOptions::MIN_SIZE..=QrOptions::MAX_SIZE).contains(&size) {
            errors.push(FieldError::new(
                "size",
                "out_of_range",
                format!(
                    "size 须在 {} 到 {} 像素之间",
                    QrOptions::MIN_SIZE,
                    QrOptions::MAX_SIZE
                ),
            ));
        }
        let margin = query.margin.unwrap_or(QrOptions::DEFAULT.margin);
        if margin > QrOptions::MAX_MARGIN {
            errors.push(FieldError::new(
                "margin",
                "out_of_range",
                format!("margin 须在 0 到 {} 之间", QrOptions::MAX_MARGIN),
            ));
        }
        errors.finish()?;
        Ok(QrOptions {
            size,
            margin,
            ecc: query.ecc.unwrap_or(QrOptions::DEFAULT.ecc),
        })
    }
}

/// The enterprise (visible to the caller) and its current code.
pub async fn visible_code(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
) -> Result<(Enterprise, EnterpriseCode), ApiError> {
    let visibility = Visibility::of(caller);
    state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            let code = EnterpriseCode::current(conn, &enterprise.id)?;
            Ok((enterprise, code))
        })
        .await
}

/// A `Content-Disposition` value with an ASCII fallback and the Chinese file name.
pub fn disposition(kind: &str, fallback: &str, name: &str) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// Audits that `caller` took a copy of an enterprise's code (whoever holds it can put
/// the enterprise's poster anywhere).
async fn audit_download(
    state: &AppState,
    caller: &Caller,
    enterprise_id: &EnterpriseId,
    format: &'static str,
) -> Result<(), ApiError> {
    let actor = caller.actor();
    let event = Event::success("code.download", "enterprise", enterprise_id)
        .with_details(serde_json::json!({ "format": format }));
    state
        .db
        .write(move |conn| audit::append(conn, &actor, event).map(drop))
        .await
}

/// `GET /api/v1/enterprises/{id}/code`.
pub async fn find_code(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<CodeView>, ApiError> {
    Ok(web::Json(
        current_code(&state, &caller, id.into_inner()).await?,
    ))
}

/// The current code of an enterprise visible to `caller`, audited as a download of
/// its token.
pub async fn current_code(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
) -> Result<CodeView, ApiError> {
    let (enterprise, code) = visible_code(state, caller, id).await?;
    audit_download(state, caller, &enterprise.id, "token").await?;
    Ok(code.view(&state.settings.public_base_url()))
}

/// Runs a renderer on the blocking pool.
async fn rendered<T: Send + 'static>(
    render: impl FnOnce() -> Result<T, render::RenderError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(render)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// A file answer shown in the browser, saved under its Chinese name.
fn inline_file(
    content_type: &'static str,
    fallback: &str,
    name: &str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CONTENT_DISPOSITION, disposition("inline", fallback, name)))
        .body(body.into())
}

/// A QR image format.
#[derive(Clone, Copy)]
pub enum QrFormat {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

/// The code's QR image, audited as a download (the API's and the console's).
pub async fn qr_image(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
    options: QrOptions,
    format: QrFormat,
) -> Result<HttpResponse, ApiError> {
    let (enterprise, code) = visible_code(state, caller, id).await?;
    let url = code.url(&state.settings.public_base_url());
    let (content_type, extension, image) = match format {
        QrFormat::Png => (
            "image/png",
            "png",
            rendered(move || render::qr_png(&url, options)).await?,
        ),
        QrFormat::Svg => (
            "image/svg+xml",
            "svg",
            rendered(move || render::qr_svg(&url, options))
                .await?
                .into_bytes(),
        ),
    };
    audit_download(state, caller, &enterprise.id, extension).await?;
    Ok(inline_file(
        content_type,
        &format!("qr.{extension}"),
        &format!("{}-二维码.{extension}", enterprise.name),
        image,
    ))
}

/// `GET /api/v1/enterprises/{id}/code.png`.
pub async fn code_png(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    query: web::Query<QrQuery>,
) -> Result<HttpResponse, ApiError> {
    let options = QrOptions::try_from(query.into_inner())?;
    qr_image(&state, &caller, id.into_inner(), options, QrFormat::Png).await
}

/// `GET /api/v1/enterprises/{id}/code.svg`.
pub async fn code_svg(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    query: web::Query<QrQuery>,
) -> Result<HttpResponse, ApiError> {
    let options = QrOptions::try_from(query.into_inner())?;
    qr_image(&state, &caller, id.into_inner(), options, QrFormat::Svg).await
}

/// `GET /api/v1/enterprises/{id}/poster.png`: A4 at 300 dpi.
pub async fn poster_png(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<HttpResponse, ApiError> {
    poster(&state, &caller, id.into_inner()).await
}

/// The enterprise's poster as a PNG file, audited as a download (the API's and the
/// console's).
pub async fn poster(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
) -> Result<HttpResponse, ApiError> {
    let (enterprise, code) = visible_code(state, caller, id).await?;
    let url = code.url(&state.settings.public_base_url());
    let zone = state.settings.zone_name.clone();
    let name = enterprise.name.clone();
    let png = rendered(move || {
        render::poster_png(&Poster {
            zone_name: &zone,
            enterprise_name: &name,
            url: &url,
        })
    })
    .await?;
    audit_download(state, caller, &enterprise.id, "poster").await?;
    Ok(inline_file(
        "image/png",
        "poster.png",
        &format!("{}-海报.png", enterprise.name),
        png,
    ))
}

/// Which change to make to a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeChange {
    /// A new code; the old poster stops working.
    Rotate,
    /// Registrations paused.
    Suspend,
    /// Registrations taken again.
    Resume,
}

/// Changes an enterprise's code and audits it (the API's and the console's).
pub async fn change_code(
    state: &AppState,
    caller: Caller,
    id: EnterpriseId,
    change: CodeChange,
) -> Result<CodeView, ApiError> {
    let visibility = Visibility::of(&caller);
    let code = state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            let (code, action) = match change {
                CodeChange::Rotate => {
                    (EnterpriseCode::rotate(conn, &enterprise.id)?, "code.rotate")
                }
                CodeChange::Suspend => (
                    EnterpriseCode::set_suspended(conn, &enterprise.id, true)?,
                    "code.suspend",
                ),
                CodeChange::Resume => (
                    EnterpriseCode::set_suspended(conn, &enterprise.id, false)?,
                    "code.resume",
                ),
            };
            audit::append(
                conn,
                &caller.actor(),
                Event::success(action, "enterprise", &enterprise.id),
            )?;
            Ok(code)
        })
        .await?;
    state.code_forms.forget_all();
    Ok(code.view(&state.settings.public_base_url()))
}

/// `POST /api/v1/enterprises/{id}/code/rotate`: the old poster stops working (410).
pub async fn rotate_code(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<CodeView>, ApiError> {
    change_code(&state, caller, id.into_inner(), CodeChange::Rotate)
        .await
        .map(web::Json)
}

/// `POST /api/v1/enterprises/{id}/code/suspend`.
pub async fn suspend_code(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<CodeView>, ApiError> {
    change_code(&state, caller, id.into_inner(), CodeChange::Suspend)
        .await
        .map(web::Json)
}

/// `POST /api/v1/enterprises/{id}/code/resume`.
pub async fn resume_code(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<CodeView>, ApiError> {
    change_code(&state, caller, id.into_inner(), CodeChange::Resume)
        .await
        .map(web::Json)
}

/// Query of the scan statistics.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScansQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// Page opens of one day.
#[derive(Debug, Serialize)]
pub struct DayScans {
    /// The zone day, `YYYY-MM-DD`.
    pub day: String,
    /// Page opens that day.
    pub scans: i64,
}

/// Scan statistics of an enterprise's codes.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// Page opens in all.
    pub total: i64,
    /// Days with page opens, in order (days without are left out).
    pub days: Vec<DayScans>,
}

/// `GET /api/v1/enterprises/{id}/code/scans?from=&to=`: page opens per day (zone
/// time), 30 days up to today by default, at most 366 days.
pub async fn code_scans(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    query: web::Query<ScansQuery>,
) -> Result<web::Json<ScanReport>, ApiError> {
    let report = scan_report(&state, &caller, id.into_inner(), query.from, query.to).await?;
    Ok(web::Json(report))
}

/// Days of the scan statistics when no range is asked for (up to today).
pub const DEFAULT_SCAN_DAYS: i64 = 30;

/// Page opens per day (zone time) of an enterprise's codes, from `from` to `to`
/// ([`DEFAULT_SCAN_DAYS`] up to today by default), at most 366 days (the API's and
/// the console's).
pub async fn scan_report(
    state: &AppState,
    caller: &Caller,
    id: EnterpriseId,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<ScanReport, ApiError> {
    let to_date = to.unwrap_or_else(zone::today);
    let from_date = from.unwrap_or(to_date - TimeDelta::days(DEFAULT_SCAN_DAYS - 1));
    if from_date > to_date || (to_date - from_date).num_days() > 366 {
        return Err(
            FieldError::new("from", "invalid_range", "起止日期须先后有序，且不超过一年").into(),
        );
    }
    let (from, to) = (zone::day_text(from_date), zone::day_text(to_date));
    let visibility = Visibility::of(caller);
    let (range_from, range_to) = (from.clone(), to.clone());
    // This process's latest opens first; other replicas' arrive within seconds.
    state.scans.flush(&state.db).await?;
    let days = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            let ids = std::slice::from_ref(&enterprise.id);
            EnterpriseCode::scans(conn, Some(ids), &range_from, &range_to)
        })
        .await?;
    let total = days.iter().map(|(_, scans)| scans).sum();
    let days = days
        .into_iter()
        .map(|(day, scans)| DayScans { day, scans })
        .collect();
    Ok(ScanReport {
        from,
        to,
        total,
        days,
    })
}

/// Query of the poster bundle.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostersQuery {
    park_id: Option<OrgUnitId>,
    sector_id: Option<OrgUnitId>,
    /// Comma-separated enterprise ids.
    ids: Option<String>,
}

/// `GET /api/v1/posters.zip?park_id=&sector_id=&ids=`: the posters of every visible
/// enterprise matching the filter, one PNG each, streamed as they are drawn; one
/// bundle per user and two in all at a time (429 `too_busy` past that); audited.
pub async fn posters_zip(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PostersQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let ids = query.ids.map(|ids| {
        ids.split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| EnterpriseId::from(id.to_owned()))
            .collect::<Vec<_>>()
    });
    let filter = EnterpriseFilter {
        park_id: query.park_id,
        sector_id: query.sector_id,
        ids,
        ..EnterpriseFilter::default()
    };
    posters_bundle(&state, &caller, filter).await
}

/// The posters ZIP of the enterprises `filter` picks among those the caller sees, as
/// [`posters_zip`] describes: the API's bundle and the console's.
pub async fn posters_bundle(
    state: &AppState,
    caller: &Caller,
    filter: EnterpriseFilter,
) -> Result<HttpResponse, ApiError> {
    let slot = state.heavy.posters.take(caller.user_id.as_str())?;
    let visibility = Visibility::of(caller);
    let base = state.settings.public_base_url();
    let posters = state
        .db
        .read(move |conn| {
            let enterprises =
                Enterprise::list(conn, &visibility, &filter, None, MAX_POSTERS as i64 + 1)?;
            if enterprises.len() > MAX_POSTERS {
                return Err(ApiError::field(
                    "ids",
                    "too_many_posters",
                    format!("一次最多打包 {MAX_POSTERS} 张海报，请按园区或行业分批下载"),
                ));
            }
            let ids: Vec<EnterpriseId> = enterprises.iter().map(|e| e.id.clone()).collect();
            let codes = EnterpriseCode::current_of(conn, &ids)?;
            Ok(enterprises
                .into_iter()
                .filter_map(|e| {
                    codes
                        .get(&e.id)
                        .map(|code| (e.name.clone(), e.credit_code.clone(), code.url(&base)))
                })
                .collect::<Vec<_>>())
        })
        .await?;
    if posters.is_empty() {
        return Err(ApiError::not_found());
    }
    let actor = caller.actor();
    let event = Event::success("code.download", "enterprise", "posters")
        .with_details(serde_json::json!({ "format": "posters_zip", "enterprises": posters.len() }));
    state
        .db
        .write(move |conn| audit::append(conn, &actor, event).map(drop))
        .await?;
    let zone = state.settings.zone_name.clone();
    let (writer, body) = streaming::chunked();
    let abort = writer.abort_handle();
    // The bundle is written after the handler returned; its lines keep the request's.
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || {
        let _entered = span.enter();
        // The slot is held until the bundle is written or the client went away.
        let _slot = slot;
        if let Err(error) = write_posters(&zone, &posters, writer) {
            tracing::warn!(%error, "poster bundle aborted");
            abort.abort("poster bundle aborted");
        }
    });
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/zip"))
        .insert_header((
            CONTENT_DISPOSITION,
            disposition("attachment", "posters.zip", "企业码海报.zip"),
        ))
        .streaming(body))
}

/// Draws posters on two threads, in batches, and writes them in order into a ZIP
/// (stored, not deflated: PNGs are compressed already).
fn write_posters(
    zone: &str,
    posters: &[(String, String, String)],
    writer: ChunkWriter,
) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(writer);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(1, 4);
    for batch in posters.chunks(threads * 2) {
        let rendered: Vec<Result<Vec<u8>, render::RenderError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(batch.len().div_ceil(threads))
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(name, _, url)| {
                                render::poster_png(&Poster {
                                    zone_name: zone,
                                    enterprise_name: name,
                                    url,
                                })
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().unwrap_or_else(|_| vec![]))
                .collect()
        });
        if rendered.len() != batch.len() {
            anyhow::bail!("a poster thread failed");
        }
        for ((name, credit_code, _), png) in batch.iter().zip(rendered) {
            zip.start_file(entry_name(credit_code, name), options)?;
            zip.write_all(&png?)?;
        }
    }
    let mut writer = zip.finish()?.into_inner();
    writer.flush()?;
    Ok(())
}

/// A poster's file name in the bundle, `{credit code}-{name}.png`, safe to unpack:
/// names come from the roster, so path separators, `..`, control characters and
/// bidirectional overrides (which disguise an extension) are replaced with `_`.
fn entry_name(credit_code: &str, name: &str) -> String {
    let unsafe_char = |c: char| {
        matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
            || c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let stem: String = format!("{credit_code}-{name}")
        .chars()
        .map(|c| if unsafe_char(c) { '_' } else { c })
        .collect();
    let mut stem = stem.replace("..", "__");
    if stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    format!("{stem}.png")
}

#[cfg(test)]
mod tests {
    use super::entry_name;

    #[test]
    fn bundle_entry_names_cannot_leave_the_folder_or_disguise_themselves() {
        assert_eq!(
            entry_name("91350100X", "福州化工"),
            "91350100X-福州化工.png"
        );
        for (name, expected) in [
            (
                "中/../../../../tmp/evil",
                "91350100X-中_____________tmp_evil.png",
            ),
            ("a\\..\\b", "91350100X-a____b.png"),
            ("x\u{202e}gnp.exe", "91350100X-x_gnp.exe.png"),
            ("tab\there\nnew", "91350100X-tab_here_new.png"),
        ] {
            assert_eq!(entry_name("91350100X", name), expected, "{name:?}");
        }
        let leading = entry_name("", "..x");
        assert!(
            !leading.starts_with('.') && !leading.contains(".."),
            "{leading}"
        );
    }
}
