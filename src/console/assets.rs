//! The console's vendored script, htmx (see `assets/README.md`), embedded in the
//! binary and served at an address that names its content, so that browsers keep it
//! for good and a new version is a new address.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::console::PageError;
use crate::error::ApiError;

const HTMX: &[u8] = include_bytes!("assets/htmx.min.js");

/// The file name htmx is served under: `htmx-<first 16 hex digits of its SHA-256>.js`.
static HTMX_FILE: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(HTMX));
    format!("htmx-{}.js", &digest[..16])
});

/// The address of htmx, for the pages' `<script src>`.
pub fn htmx_path() -> String {
    format!("/console/assets/{}", HTMX_FILE.as_str())
}

/// `GET /console/assets/{file}`: the script under its current name, cached for a year
/// as immutable; any other name is the 404 page.
pub async fn console_asset(file: web::Path<String>) -> Result<HttpResponse, PageError> {
    if file.as_str() != HTMX_FILE.as_str() {
        return Err(ApiError::not_found().into());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(HTMX))
}
