//! The console's scripts, the vendored htmx, jsQR and TweetNaCl (see `assets/README.md`), the
//! surveyor's pages' own `survey.js` and the gate page's `gate.js`, embedded in the
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

/// The vendored QR decoder of the gate page (jsQR, minified).
const JSQR: &[u8] = include_bytes!("assets/jsQR.min.js");
/// The vendored Ed25519 of the gate page's offline mode (TweetNaCl, minified).
const NACL: &[u8] = include_bytes!("assets/nacl-fast.min.js");
/// The gate page's own script: camera and picture scanning, answers in place.
const GATE_JS: &[u8] = include_bytes!("assets/gate.js");

/// The file name htmx is served under: `htmx-<first 16 hex digits of its SHA-256>.js`.
static HTMX_FILE: LazyLock<String> = LazyLock::new(|| content_name("htmx", HTMX));

/// The file name the survey script is served under, named by its content likewise.
static SURVEY_FILE: LazyLock<String> = LazyLock::new(|| content_name("survey", SURVEY_JS));

/// The file names of the gate page's scripts, named by their content likewise.
static JSQR_FILE: LazyLock<String> = LazyLock::new(|| content_name("jsqr", JSQR));
static NACL_FILE: LazyLock<String> = LazyLock::new(|| content_name("nacl", NACL));
static GATE_FILE: LazyLock<String> = LazyLock::new(|| content_name("gate", GATE_JS));

/// The scripts by the names they are served under.
static SCRIPTS: LazyLock<[(&'static str, &'static [u8]); 5]> = LazyLock::new(|| {
    [
        (HTMX_FILE.as_str(), HTMX),
        (SURVEY_FILE.as_str(), SURVEY_JS),
        (JSQR_FILE.as_str(), JSQR),
        (NACL_FILE.as_str(), NACL),
        (GATE_FILE.as_str(), GATE_JS),
    ]
});

fn content_name(stem: &str, content: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(content));
    format!("{stem}-{}.js", &digest[..16])
}

/// The address of the survey script, for the surveyor's pages.
pub fn survey_js_path() -> String {
    format!("/console/assets/{}", SURVEY_FILE.as_str())
}

/// The address of jsQR, for the gate page.
pub fn jsqr_path() -> String {
    format!("/console/assets/{}", JSQR_FILE.as_str())
}

/// The address of TweetNaCl, for the gate page.
pub fn nacl_path() -> String {
    format!("/console/assets/{}", NACL_FILE.as_str())
}

/// The address of the gate page's script.
pub fn gate_js_path() -> String {
    format!("/console/assets/{}", GATE_FILE.as_str())
}

/// The address of htmx, for the pages' `<script src>`.
pub fn htmx_path() -> String {
    format!("/console/assets/{}", HTMX_FILE.as_str())
}

/// `GET /console/assets/{file}`: a script under its current name, cached for a year
/// as immutable; any other name is the 404 page.
pub async fn console_asset(file: web::Path<String>) -> Result<HttpResponse, PageError> {
    let Some(&(_, script)) = SCRIPTS.iter().find(|(name, _)| *name == file.as_str()) else {
        return Err(ApiError::not_found().into());
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(script))
}
