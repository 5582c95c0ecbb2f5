//! U+0000 (NUL) is refused anywhere in an API request, and in a console page's path or
//! query, before any handler runs:
//! PostgreSQL cannot take it in text (not even to compare), so it would fail as a 500
//! deep inside a query, and no field of the service has a use for it. A path holding it
//! names nothing (404); a query parameter or a JSON body holding it is invalid (422).
//! The drivers' pages check their own tokens and form fields.

use actix_web::HttpMessage;
use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use futures_util::StreamExt;
use futures_util::stream;

use crate::console::PageError;
use crate::error::ApiError;
use crate::startup::JSON_BODY_LIMIT;

/// NUL as it appears percent-encoded in a path or query string.
const ENCODED_NUL: &str = "%00";
/// The field message of the 422.
const NUL_MESSAGE: &str = "含有不允许的空字符（U+0000）";

/// Middleware: refuses API requests carrying NUL in the path, the query or a JSON body,
/// and console requests carrying it in the path or the query.
/// A refusal is a response, not an error, so that `observe` logs and counts it.
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let console = req.path().starts_with("/console/");
    if !req.path().starts_with("/api/") && !console {
        return next.call(req).await;
    }
    let refusal = if req.uri().path().contains(ENCODED_NUL) {
        Some(ApiError::not_found())
    } else {
        req.query_string()
            .split('&')
            .find(|pair| pair.contains(ENCODED_NUL))
            .map(|pair| {
                let name = pair.split('=').next().unwrap_or_default().to_owned();
                ApiError::field(name, "invalid_characters", NUL_MESSAGE)
            })
    };
    if let Some(refusal) = refusal {
        // The console answers with its pages, the API with problem+json.
        return Ok(if console {
            req.error_response(PageError::from(refusal))
        } else {
            req.error_response(refusal)
        });
    }
    if console {
        // Console forms check their fields themselves (`console::session::Posted`).
        return next.call(req).await;
    }
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
    if !is_json {
        return next.call(req).await;
    }
    // Reads up to just past the largest JSON body accepted (a longer one is refused
    // with 413 by the extractor anyway) and hands the bytes back, the rest unread.
    let mut payload = req.take_payload();
    let mut head = BytesMut::new();
    let mut failure = None;
    while head.len() <= JSON_BODY_LIMIT {
        match payload.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(error)) => {
                failure = Some(Err(error));
                break;
            }
            None => break,
        }
    }
    if has_escaped_nul(&head) {
        return Ok(req.error_response(ApiError::field("", "invalid_characters", NUL_MESSAGE)));
    }
    let replayed = stream::iter(std::iter::once(Ok(head.freeze())).chain(failure)).chain(payload);
    req.set_payload(Payload::Stream {
        payload: Box::pin(replayed),
    });
    next.call(req).await
}

/// Whether JSON text holds an escaped NUL: `u0000` after an odd run of backslashes
/// (an even run is escaped backslashes). A raw NUL byte is not valid JSON at all.
fn has_escaped_nul(json: &[u8]) -> bool {
    let mut backslashes = 0_usize;
    for (index, byte) in json.iter().enumerate() {
        if *byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && json[index..].starts_with(b"u0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_escapes_that_are_nul() {
        assert!(has_escaped_nul(br#"{"name":"a\u0000b"}"#));
        assert!(has_escaped_nul(br#"{"name":"\\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"name":"\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"name":"\u0001 u0000"}"#));
    }
}
