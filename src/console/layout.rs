//! The console's page frame: zh-CN, one inline style that fits a 390px phone and a
//! 1366x768 office screen, navigation by role, the vendored htmx and, on every htmx
//! request, the session's CSRF token in a header.

use maud::{DOCTYPE, Markup, html};

use crate::auth::caller::{OFFICIALS, OVERSIGHT, SURVEY_RUNNERS};
use crate::console::assets::htmx_path;
use crate::console::audit::AUDIT_PATH;
use crate::console::code::CODE_PATH;
use crate::console::dashboard::DASHBOARD_PATH;
use crate::console::enterprises::ROSTER_PATH;
use crate::console::fields::FIELDS_PATH;
use crate::console::gate::GATE_PATH;
use crate::console::org::ORG_PATH;
use crate::console::posters::POSTERS_PATH;
use crate::console::registrations::LIST_PATH;
use crate::console::roster::IMPORT_PATH;
use crate::console::session::{CSRF_HEADER, Signed};
use crate::console::settings::SETTINGS_PATH;
use crate::console::survey::CAMPAIGNS_PATH;
use crate::console::survey::field::MY_PATH;
use crate::console::users::USERS_PATH;
use crate::console::{HOME_PATH, PASSWORD_PATH};
use crate::domain::account::Role;

const STYLE: &str = "*{box-sizing:border-box}\
body{margin:0;font:16px/1.55 system-ui,-apple-system,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;color:#1a1a1a;background:#f4f6f8}\
header{background:#0f4c81;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.3rem 1rem}\
header .zone{font-weight:600;margin-right:auto}header a,header button{color:#fff;text-decoration:none;background:none;border:0;font:inherit;padding:.4rem 0;cursor:pointer}\
header a[aria-current]{border-bottom:2px solid #fff}header form{margin:0}\
main{max-width:72rem;margin:0 auto;padding:1rem}\
.card{background:#fff;border-radius:10px;padding:1rem;box-shadow:0 1px 3px rgba(0,0,0,.08);margin-bottom:1rem}\
h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:.2rem 0 .6rem;color:#0f4c81}\
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.8rem}\
.stat{background:#fff;border-radius:10px;padding:.8rem 1rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
.stat b{display:block;font-size:1.8rem;color:#0f4c81}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;min-width:36rem}\
table.tally{min-width:0}th.n,td.n{text-align:right}\
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #e3e8ee;white-space:nowrap}th{color:#555;font-weight:600}\
td.wrap{white-space:normal;word-break:break-all;min-width:14rem}\
dl{display:grid;grid-template-columns:minmax(6rem,max-content) 1fr;gap:.3rem 1rem;margin:0}dt{color:#555}dd{margin:0;word-break:break-all}\
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end}.filters label{display:flex;flex-direction:column;font-size:.9rem;color:#555}\
input,select,textarea,button{font:inherit}\
input[type=text],input[type=password],input[type=date],select,textarea{min-height:2.6rem;padding:.4rem .6rem;border:1px solid #9aa5b1;border-radius:6px;background:#fff;max-width:100%}\
.f{margin:.8rem 0}.f label{display:block;font-weight:600;margin-bottom:.25rem}.f input,.f select,.f textarea{width:100%}\
.btn{min-height:2.6rem;padding:0 1.1rem;border:0;border-radius:6px;background:#0f4c81;color:#fff;cursor:pointer}\
a.btn{display:inline-flex;align-items:center;text-decoration:none}.btn.alt{background:#fff;color:#0f4c81;border:1px solid #0f4c81}.btn.bad{background:#b91c1c}\
.actions{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}\
.notice{border-left:4px solid #d97706;background:#fffbeb;padding:.7rem 1rem;border-radius:6px}\
.ok{border-left-color:#059669;background:#ecfdf5}.bad.notice{border-left-color:#dc2626;background:#fef2f2}\
.muted{color:#555;font-size:.9rem}.narrow{max-width:26rem;margin:2rem auto}\
.cols{display:grid;gap:1rem}@media(min-width:60rem){.cols{grid-template-columns:minmax(0,1fr) minmax(0,1fr);align-items:start}}\
.f label.check{display:flex;align-items:center;gap:.5rem;font-weight:600}.f .check input{width:1.2rem;height:1.2rem;margin:0}\
svg.chart{width:100%;height:auto;font-size:20px}\
fieldset.row{border:0}.preview fieldset{border:0;padding:0;margin:.8rem 0}fieldset.row legend{font-weight:600;color:#0f4c81;padding-top:.6rem}details{margin:.5rem 0}\
.err{color:#b91c1c;margin:.25rem 0 0;font-size:.95rem}.preview{border:0;padding:0;margin:0;min-width:0}.preview .opts{display:flex;flex-wrap:wrap;gap:.5rem}\
.preview .help,.preview .lead{color:#555;font-size:.9rem}.preview .f .opt{display:inline-flex;font-weight:normal}\
.qa{display:grid;gap:.3rem 1rem;align-items:start;padding:.6rem 0;border-bottom:1px solid #e3e8ee}.qa p{margin:.3rem 0 0}.qa textarea{width:100%}\
@media(min-width:60rem){.qa{grid-template-columns:12rem minmax(0,1fr) minmax(0,1fr)}}\
.s-received,.s-returned{color:#b45309}.s-pending{color:#b45309}.s-approved{color:#047857}.s-rejected,.s-expired{color:#b91c1c}.s-cancelled{color:#555}";

/// The navigation entries of a role: (address, label).
fn navigation(role: Role) -> Vec<(&'static str, &'static str)> {
    // Gate guards reach the gate's pages and nothing else.
    if role == Role::GateGuard {
        return vec![(GATE_PATH, "门岗")];
    }
    let mut entries = vec![(HOME_PATH, "首页"), (LIST_PATH, "登记")];
    if role == Role::Surveyor {
        entries.insert(0, (MY_PATH, "我的摸排"));
    }
    if role == Role::EnterpriseContact {
        entries.push((GATE_PATH, "门岗"));
        entries.push((CODE_PATH, "企业码"));
    }
    if role == Role::EnterpriseContact || role == Role::Admin {
        entries.push((FIELDS_PATH, "登记表字段"));
    }
    if role == Role::EnterpriseContact {
        entries.push((SETTINGS_PATH, "设置"));
    }
    if role != Role::EnterpriseContact {
        entries.push((ROSTER_PATH, "企业名录"));
    }
    if OFFICIALS.allows(role) {
        entries.push((DASHBOARD_PATH, "数据看板"));
    }
    if SURVEY_RUNNERS.allows(role) {
        entries.push((CAMPAIGNS_PATH, "企业摸排"));
    }
    if OVERSIGHT.allows(role) {
        entries.push((AUDIT_PATH, "审计日志"));
    }
    if role == Role::Admin {
        entries.push((USERS_PATH, "账号"));
        entries.push((ORG_PATH, "行业园区"));
        entries.push((IMPORT_PATH, "名录导入"));
        entries.push((POSTERS_PATH, "海报"));
    }
    entries
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width,initial-scale=1";
        title { (title) " · 通行登记管理" }
        style { (maud::PreEscaped(STYLE)) }
    }
}

/// A page of a signed-in user: `current` is the address of the navigation entry to
/// mark.
pub fn page(zone_name: &str, signed: &Signed, current: &str, title: &str, body: Markup) -> Markup {
    let headers = serde_json::json!({ CSRF_HEADER: signed.csrf }).to_string();
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head { (head(title)) script src=(htmx_path()) defer {} }
            body hx-headers=(headers) {
                header {
                    span.zone { (zone_name) }
                    nav.actions {
                        @for (path, label) in navigation(signed.caller.role) {
                            @if path == current {
                                a href=(path) aria-current="page" { (label) }
                            } @else {
                                a href=(path) { (label) }
                            }
                        }
                        a href=(PASSWORD_PATH) { "修改密码" }
                        form method="post" action="/console/logout" {
                            (signed.csrf_field())
                            button type="submit" { "退出（" (signed.caller.username) "）" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page without navigation or script: sign-in, change password, errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head { (head(title)) }
            body { main { div.card.narrow { (body) } } }
        }
    }
}
