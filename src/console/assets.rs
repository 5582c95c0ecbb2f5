//! The console's scripts, the vendored htmx (see `assets/README.md`) and the
//! surveyor's pages' own `survey.js`, embedded in the
//! binary and served at an address that names its content, so that browsers keep it
//! for good and a new version is a new address.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::console::PageError;
use crate::error::ApiError;

const HTMX: &[u8] = include_bytes!("assets/htmx.min.js");
/// The surveyor's pages' own script: drafts kept on the phone while offline.
const SURVEY_JS: &[u8] = include_bytes!("assets/survey.js");

/// The file name htmx is served under: `htmx-<first 16 hex digits of its SHA-256>.js`.
static HTMX_FILE: LazyLock<String> = LazyLock::new(|| content_name("htmx", HTMX));

/// The file name the survey script is served under, named by its content likewise.
static SURVEY_FILE: LazyLock<String> = LazyLock::new(|| content_name("survey", SURVEY_JS));

fn content_name(stem: &str, content: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(content));
    format!("{stem}-{}.js", &digest[..16])
}

/// The address of the survey script, for the surveyor's pages.
pub fn survey_js_path() -> String {
    format!("/console/assets/{}", SURVEY_FILE.as_str())
}

/// The address of htmx, for the pages' `<script src>`.
pub fn htmx_path() -> String {
    format!("/console/assets/{}", HTMX_FILE.as_str())
}

/// `GET /console/assets/{file}`: a script under its current name, cached for a year
/// as immutable; any other name is the 404 page.
pub async fn console_asset(file: web::Path<String>) -> Result<HttpResponse, PageError> {
    let script = if file.as_str() == HTMX_FILE.as_str() {
        HTMX
    } else if file.as_str() == SURVEY_FILE.as_str() {
        SURVEY_JS
    } else {
        return Err(ApiError::not_found().into());
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(script))
}
