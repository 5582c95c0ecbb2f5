//! Server-rendered pages for drivers and gate staff: zh-CN, mobile-first, small, with
//! no external resources (zones run on closed networks) and usable without JavaScript.

pub mod code_page;
pub mod form;
pub mod pass_page;
pub mod pass_qr;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use std::sync::LazyLock;

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use data_encoding::BASE64;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

const STYLE: &str = "*{box-sizing:border-box}\
body{margin:0;font:18px/1.6 system-ui,-apple-system,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;color:#1a1a1a;background:#f4f6f8}\
main{max-width:34rem;margin:0 auto;padding:1rem}\
.card{background:#fff;border-radius:12px;padding:1.1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
h1{font-size:1.4rem;margin:.2rem 0 .4rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem;color:#0f4c81}\
.zone,.lead,.help,small{color:#555;font-size:.95rem}small{font-weight:normal}\
.notice{border-left:4px solid #d97706;background:#fffbeb;padding:.8rem 1rem;border-radius:6px}\
.ok{border-left-color:#059669;background:#ecfdf5}.bad{border-left-color:#dc2626;background:#fef2f2}\
.f{margin:.8rem 0;border:0;padding:0}.f label,legend{display:block;font-weight:600;margin-bottom:.25rem;padding:0}\
input,select,button{font:inherit}\
.f>input,.f select,textarea{width:100%;min-height:3rem;padding:.5rem .7rem;border:1px solid #9aa5b1;border-radius:8px;background:#fff}\
.f.bad>input,.f.bad select{border:2px solid #dc2626;background:#fff}.f.bad{background:none}\
.err{color:#b91c1c;margin:.25rem 0 0;font-size:.95rem}.err:before{content:\"⚠ \"}\
.opts{display:flex;flex-wrap:wrap;gap:.5rem}.f .opt{display:flex;align-items:center;gap:.4rem;min-height:3rem;padding:0 .9rem;border:1px solid #9aa5b1;border-radius:8px;font-weight:normal}\
.opt input{width:1.3rem;height:1.3rem;margin:0}.f .consent{border:0;padding:0;font-weight:600}\
.region{display:grid;gap:.5rem}.privacy{font-size:.9rem;color:#444}\
.go{width:100%;min-height:3.4rem;margin-top:1rem;border:0;border-radius:10px;background:#0f4c81;color:#fff;font-size:1.15rem}\
.go:disabled{background:#6b7f95}.step,.key{min-height:2.8rem;margin-top:.5rem;padding:0 1rem;border:1px solid #0f4c81;border-radius:8px;background:#fff;color:#0f4c81}\
.link{border:0;background:none;color:#0f4c81;text-decoration:underline;padding:1rem 0;min-height:3rem}";

/// The pages' one script; everything works without it. It keeps a copy of the
/// driver key in localStorage (browsers in some apps drop cookies): the key's own
/// cookie is `HttpOnly`, so the server hands each new key over once in a short-lived
/// cookie, which the script moves into storage; when a form comes without the key
/// (not pre-filled) the script restores the cookie from its copy and reloads once,
/// and the server then sets it `HttpOnly` again. It forgets the copy after
/// 「清除我的信息」 or when the server says the key is no longer current, fills the
/// origin's city and county lists as the driver picks, gives the resident ID a
/// numeric keyboard with an X key, and greys out the submit button after a tap.
const SCRIPT: &str = r#"(function(){var d=document,K="tp_driver",H="tp_driver_new",f=d.getElementById("reg");
function ck(n){var m=d.cookie.match(new RegExp("(?:^|; )"+n+"=([^;]+)"));return m&&m[1]}
try{var ls=window.localStorage,h=ck(H);if(h){ls.setItem(K,h);d.cookie=H+"=; path=/; max-age=0"}
if(f&&f.getAttribute("data-cleared")){ls.removeItem(K)}else{var s=ls.getItem(K);
if(s&&f&&!f.getAttribute("data-prefilled")&&!sessionStorage.getItem(K)){sessionStorage.setItem(K,"1");
d.cookie=K+"="+s+"; path=/; max-age=600; samesite=lax";location.reload();return}}}catch(e){}
if(!f)return;var n=["origin_province","origin_city","origin_county"].map(function(x){return f.elements[x]});
[0,1].forEach(function(i){n[i].addEventListener("change",function(){for(var j=i+1;j<3;j++)n[j].length=1;if(!n[i].value)return;
fetch("/api/v1/public/regions?parent="+n[i].value).then(function(r){return r.json()}).then(function(l){l.forEach(function(x){n[i+1].add(new Option(x.name,x.code))})})})});
var t=f.elements.document_type,u=f.elements.document_number,x=d.getElementById("idx");
function kb(){var id=t.value=="resident_id";u.setAttribute("inputmode",id?"numeric":"text");x.hidden=!id}
t.addEventListener("change",kb);kb();x.addEventListener("click",function(){u.value+="X";u.focus()});
f.addEventListener("submit",function(){var b=d.getElementById("go");setTimeout(function(){b.disabled=true;b.textContent="正在提交…"},0)})})();"#;

/// The Content-Security-Policy of every page: nothing from elsewhere, only our own
/// script (by hash), posts only to ourselves.
static POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = BASE64.encode(&Sha256::digest(SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
});

/// A whole page: `title` in the tab, `body` in the card. The style and the script are
/// our own constants, the only markup that is not escaped.
pub fn page(status: StatusCode, zone_name: &str, title: &str, body: Markup) -> HttpResponse {
    let html = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    p.zone { (zone_name) }
                    div.card { (body) }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((CONTENT_SECURITY_POLICY, POLICY.as_str()))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Not `no-referrer`: with it browsers send `Origin: null` on the pages' own form
        // posts, which then look like posts from anywhere. `same-origin` still sends no
        // page address (with its code or pass token) to another site.
        .insert_header((REFERRER_POLICY, "same-origin"))
        .body(html.into_string())
}

/// Whether a page's form post comes from our own pages. A browser that says the post
/// comes from another site (`Sec-Fetch-Site: cross-site`), or names an `Origin` that
/// is neither this host nor the public base URL (`null` included), is refused: another
/// site must not register, cancel or erase in a driver's name. `Sec-Fetch-Site:
/// same-origin` is the browser's own word and needs no `Origin`; clients that send
/// neither header (old browsers, scripts) are let through, and carry no victim's
/// cookies anyway.
pub fn from_own_page(req: &HttpRequest, public_base_url: &str) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|value| value.to_str().unwrap_or_default())
    };
    match header("sec-fetch-site") {
        Some("cross-site") => return false,
        Some("same-origin") => return true,
        _ => {}
    }
    let Some(origin) = header("origin") else {
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let authority = match (origin.host_str(), origin.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return false,
    };
    let own_host = req.headers().get("host").and_then(|v| v.to_str().ok());
    let base = url::Url::parse(public_base_url).map(|base| base.origin());
    own_host == Some(authority.as_str()) || base.is_ok_and(|base| base == origin.origin())
}

/// A page with a heading and one notice.
pub fn notice(status: StatusCode, zone_name: &str, title: &str, text: &str) -> HttpResponse {
    let body = html! {
        h1 { (title) }
        p.notice.bad { (text) }
    };
    page(status, zone_name, title, body)
}

/// The 403 page for a form posted from another site.
pub fn foreign_post(zone_name: &str) -> HttpResponse {
    notice(
        StatusCode::FORBIDDEN,
        zone_name,
        "无法提交",
        "请直接在本站的登记页面中填写和提交，不要通过其他网站或链接转交。",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::error::FieldError;
    use crate::forms::fields::Fields;
    use crate::web::form::{FormPage, Values};
    use actix_web::body::MessageBody;

    const HOSTILE: &str = "<script>\"&'";
    const ESCAPED: &str = "&lt;script&gt;&quot;&amp;'";

    fn html_of(response: HttpResponse) -> String {
        let bytes = response.into_body().try_into_bytes().unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn hostile_text_comes_out_escaped_in_content_and_attributes() {
        let typed = [("driver_name", HOSTILE), ("cargo", HOSTILE)];
        let typed: Vec<(String, String)> = typed
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let errors = [FieldError {
            field: "cargo".to_owned(),
            code: "invalid_value",
            message: HOSTILE.to_owned(),
        }];
        let form = form::render(&FormPage {
            token: HOSTILE,
            enterprise_name: HOSTILE,
            zone_fields: &Fields::default(),
            enterprise_fields: &Fields::default(),
            values: &Values::from_pairs(&typed),
            errors: &errors,
            nonce: HOSTILE,
            prefilled: true,
            cleared: false,
            stale_key: false,
            retention_days: 30,
        });
        let html = html_of(page(StatusCode::OK, HOSTILE, HOSTILE, form));
        assert!(!html.contains(HOSTILE), "{html}");
        // Zone, title, heading, two typed values, the error, the nonce and the two
        // form actions.
        assert_eq!(html.matches(ESCAPED).count(), 9, "{html}");
        assert_eq!(html.matches("<script>").count(), 1, "only our own script");
    }

    #[test]
    fn a_notice_escapes_its_text() {
        let html = html_of(notice(StatusCode::OK, "园区", HOSTILE, HOSTILE));
        assert!(!html.contains(HOSTILE) && html.contains(ESCAPED), "{html}");
    }
}
