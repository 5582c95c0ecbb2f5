//! Server-rendered pages for drivers and gate staff: zh-CN, mobile-first, small, with
//! no external resources (zones run on closed networks) and usable without JavaScript.

pub mod code_page;
pub mod pass_page;
pub mod pass_qr;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

const STYLE: &str = "body{margin:0;font:18px/1.6 system-ui,-apple-system,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;color:#1a1a1a;background:#f4f6f8}\
main{max-width:34rem;margin:0 auto;padding:1.25rem}\
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
h1{font-size:1.4rem;margin:.2rem 0 .8rem}.zone{color:#555;font-size:.95rem}\
.notice{border-left:4px solid #d97706;background:#fffbeb;padding:.8rem 1rem;border-radius:6px}\
.ok{border-left-color:#059669;background:#ecfdf5}.bad{border-left-color:#dc2626;background:#fef2f2}";

/// A whole page: `title` in the tab, `body` already escaped HTML.
pub fn page(status: StatusCode, zone_name: &str, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>\
         <p class=\"zone\">{zone}</p><div class=\"card\">{body}</div></main></body></html>",
        title = escape(title),
        zone = escape(zone_name),
    );
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("福州化工"), "福州化工");
    }
}
