//! The gate's pages (门岗), for a phone or tablet at the gate: the scanner (which
//! gate, entry or exit, the camera, a picture or the typed plate or token, and the
//! answer in big green or red with the pass's masked facts, a 车牌不符 button after
//! a green answer and 撤销 for a few minutes), the trucks inside now and the failed
//! scans. Only the enterprise's gate guards and contacts reach them ([`Scanner`]).
//!
//! Every scan posts a form with its own nonce through the API's own functions
//! ([`redeem_scan`], [`annul_scan`]), so a double submit is one scan. The page works
//! without a script (the server renders the answer); `gate.js` reads the QR code
//! with the vendored jsQR from the camera or a picture, posts the same form and puts
//! the answer in place, the camera running on.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, PreEscaped, html};

use crate::auth::caller::GATE_SCANNERS;
use crate::console::assets::{gate_js_path, jsqr_path, nacl_path};
use crate::console::session::{Posted, Signed, working};
use crate::console::{PageError, allowed, layout, render};
use crate::db::new_id;
use crate::domain::account::Role;
use crate::domain::gate::{Nonce, parse_gate_name};
use crate::domain::id::{EnterpriseId, GateId, UserId};
use crate::domain::zone;
use crate::error::ApiError;
use crate::gate::guards;
use crate::gate::handlers::{
    OfflineBody, RedeemBody, annul_scan, guard_gates, redeem_scan, revocation_list,
    scanner_enterprise,
};
use crate::gate::{
    ANNUL_WINDOW, Gate, GateChanges, GateStatus, LogFilter, PassFacts, Refusal, Scan, ScanKind,
    ScanResult, ScanView,
};
use crate::state::AppState;

/// The scanner, where gate guards land after sign-in.
pub const GATE_PATH: &str = "/console/gate";
/// Where a scan's form posts.
pub const SCAN_PATH: &str = "/console/gate/scan";
/// Where an annulment's form posts.
pub const ANNUL_PATH: &str = "/console/gate/annul";
/// The signed revocation list, for gate.js to keep offline.
pub const REVOCATIONS_PATH: &str = "/console/gate/revocations";
/// The trucks inside now.
pub const INSIDE_PATH: &str = "/console/gate/inside";
/// The enterprise's gates, for its contacts to add, rename and take out of use.
pub const GATES_PATH: &str = "/console/gate/gates";
/// Where a guard's gates post (`/{user_id}`).
pub const GUARDS_PATH: &str = "/console/gate/guards";
/// The failed-scan log.
pub const REFUSED_PATH: &str = "/console/gate/refused";
/// Failed scans listed, newest first.
const REFUSED_SHOWN: i64 = 100;

/// What these pages add to the console's style: big toggles and buttons to tap, and
/// an answer readable at arm's length.
const STYLE: &str = "main{padding:.6rem}.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}.tabs{display:flex;gap:.4rem;margin-bottom:.6rem}\
.tabs a{flex:1;text-align:center;padding:.6rem .2rem;border-radius:8px;background:#fff;color:#0f4c81;text-decoration:none;font-weight:600}\
.tabs a[aria-current]{background:#0f4c81;color:#fff}\
.posts{border:1px solid #d0d7de;border-radius:8px;margin:0 0 .6rem;display:flex;flex-wrap:wrap;align-items:center;gap:.2rem .9rem}\
.posts label{display:inline-flex;align-items:center;gap:.35rem;min-height:2.75rem}.posts input{width:1.3rem;height:1.3rem}\
.seg{display:grid;grid-template-columns:1fr 1fr;gap:.5rem;border:0;padding:0;margin:0 0 .6rem}\
.seg label{position:relative;display:block}.seg input{position:absolute;opacity:0;width:1px;height:1px}\
.seg span{display:flex;align-items:center;justify-content:center;min-height:3.4rem;border:2px solid #0f4c81;border-radius:10px;background:#fff;color:#0f4c81;font-size:1.3rem;font-weight:700}\
.seg input:checked+span{background:#0f4c81;color:#fff}.seg input:focus-visible+span{outline:3px solid #f59e0b}\
.btn.big{width:100%;min-height:3.4rem;font-size:1.2rem;justify-content:center}\
#camera video:not([hidden]){display:block;width:100%;max-height:55vh;object-fit:cover;background:#000;border-radius:10px;margin-bottom:.5rem}\
#camera .actions>*{flex:1}label.btn{display:inline-flex;align-items:center;justify-content:center;position:relative}\
label.btn input{position:absolute;opacity:0;width:1px;height:1px}\
.answer{border-radius:12px;padding:1.1rem .8rem;margin-bottom:.6rem;text-align:center;color:#fff;font-size:2.5rem;font-weight:800;line-height:1.2}\
.answer small{display:block;font-size:1.35rem;font-weight:600;margin-top:.4rem}\
.answer.go{background:#15803d}.answer.stop{background:#b91c1c}.answer.undone,.answer.wait{background:#4b5563}\
.facts dl{font-size:1.3rem}.facts dd{font-weight:700}.row2{display:grid;grid-template-columns:1fr 1fr;gap:.5rem;margin-top:.6rem}\
.code{display:flex;gap:.5rem}.code input{flex:1;min-width:0;min-height:3.2rem;font-size:1.2rem}.code .btn{min-height:3.2rem;font-size:1.15rem;white-space:nowrap}\
.gate{padding:.5rem 0;border-bottom:1px solid #e5e7eb}.gate:last-child{border-bottom:0}";

/// The signed-in user of a gate page: a gate guard or an enterprise contact (who
/// can do everything a guard can), with no password to change first; every other
/// role gets the 404 page, as for a page that does not exist.
#[derive(Debug)]
pub struct Scanner(pub Signed);

impl FromRequest for Scanner {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let signed = working(&req).await?;
            allowed(GATE_SCANNERS.allows(signed.caller.role))?;
            Ok(Scanner(signed))
        })
    }
}

/// A gate page: the console's frame with the gate's tabs.
fn page(state: &AppState, signed: &Signed, current: &str, title: &str, body: Markup) -> Markup {
    let tabs = [
        (GATE_PATH, "扫码核验"),
        (INSIDE_PATH, "在园车辆"),
        (REFUSED_PATH, "失败记录"),
    ];
    let keeper = signed.caller.role == Role::EnterpriseContact;
    let body = html! {
        style { (PreEscaped(STYLE)) }
        nav.tabs {
            @for (path, label) in tabs {
                a href=(path) aria-current=[(path == current).then_some("page")] { (label) }
            }
            @if keeper {
                a href=(GATES_PATH) aria-current=[(GATES_PATH == current).then_some("page")] { "门岗设置" }
            }
        }
        (body)
    };
    layout::page(&state.settings.zone_name, signed, GATE_PATH, title, body)
}

/// What the answer area shows.
enum Shown {
    /// Nothing yet: ready to scan.
    Ready,
    /// A scan's answer.
    Scan(Box<ScanView>),
    /// A scan just annulled.
    Annulled(Box<ScanView>),
    /// Why nothing was recorded.
    Failed(String),
}

/// The scanner as it stands: the enterprise's gates in use, the chosen one and the
/// way.
struct Desk {
    enterprise: EnterpriseId,
    gates: Vec<Gate>,
    gate: Option<GateId>,
    kind: ScanKind,
}

impl Desk {
    /// The desk of the scanner's enterprise, at the gate and way `choice` names (a
    /// form or the query): a gate not of its gates in use is none; by default the
    /// first gate, entry.
    async fn of(state: &AppState, signed: &Signed, choice: &Posted) -> Result<Self, PageError> {
        let enterprise = scanner_enterprise(&signed.caller)?;
        let (of, user) = (enterprise.clone(), signed.caller.user_id.clone());
        let gates = state
            .db
            .read(move |conn| stands_at(conn, &of, &user))
            .await?;
        let wanted = choice.value("gate_id").map(str::trim);
        let gate = match wanted {
            Some(id) if !id.is_empty() => gates.iter().find(|g| g.id.as_str() == id),
            _ => gates.first(),
        }
        .map(|gate| gate.id.clone());
        let kind = choice
            .value("type")
            .and_then(ScanKind::from_stored)
            .unwrap_or(ScanKind::Entry);
        Ok(Self {
            enterprise,
            gates,
            gate,
            kind,
        })
    }
}

/// The gates of `enterprise` that take scans and that `scanner` stands at (a guard
/// limited to some gates sees those only).
fn stands_at(
    conn: &mut crate::db::DbConnection,
    enterprise: &EnterpriseId,
    scanner: &UserId,
) -> Result<Vec<Gate>, ApiError> {
    let posts = guards::posts(conn, scanner)?;
    Ok(Gate::of_enterprise(conn, enterprise)?
        .into_iter()
        .filter(|gate| gate.active && (posts.is_empty() || posts.contains(&gate.id)))
        .collect())
}

/// `GET /console/gate?gate_id=&type=`: the scanner; a gate not of the scanner's
/// enterprise (or out of use) is the 404 page.
pub async fn scanner_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scanner(signed): Scanner,
) -> Result<HttpResponse, PageError> {
    let query = Posted::parse(req.query_string().as_bytes());
    let desk = Desk::of(&state, &signed, &query).await?;
    let named = query
        .value("gate_id")
        .is_some_and(|id| !id.trim().is_empty());
    allowed(!named || desk.gate.is_some())?;
    Ok(render(
        StatusCode::OK,
        scanner_markup(&state, &signed, &desk, &Shown::Ready),
    ))
}

/// `POST /console/gate/scan`: checks the posted code at the posted gate and way, as
/// `POST /api/v1/gate/redeem` does (same nonce, same answer); with `plate_mismatch`
/// the guard refuses it, and `undo` names the accepted scan of the same code to
/// annul first. The scanner with the answer, or with why nothing was recorded.
pub async fn scan(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scanner(signed): Scanner,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let desk = Desk::of(&state, &signed, &posted).await?;
    let text = |name| posted.value(name).unwrap_or_default().to_owned();
    // A scan made offline and uploaded by gate.js: what the gate decided.
    let offline = match posted.text("offline_result")? {
        Some(result) => Some(OfflineBody {
            result,
            reason: posted.text("offline_reason")?,
        }),
        None => None,
    };
    let sent = RedeemBody {
        nonce: text("nonce"),
        gate_id: GateId::from(text("gate_id")),
        kind: text("type"),
        code: text("code"),
        client_time: posted.text("client_time")?,
        plate_mismatch: posted.value("plate_mismatch").is_some(),
        offline,
    };
    let undoing = posted
        .text("undo")?
        .map(|raw| Nonce::parse(&raw).map_err(|e| ApiError::validation(vec![e])))
        .transpose();
    let result = match (sent.parse(), undoing) {
        (Ok(scan), Ok(undoing)) => redeem_scan(&state, signed.caller.clone(), scan, undoing).await,
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    answer(
        &state,
        &signed,
        &desk,
        result.map(|(view, _)| Shown::Scan(Box::new(view))),
    )
}

/// `POST /console/gate/annul`: undoes the accepted scan of the posted nonce, as
/// `POST /api/v1/gate/annul` does; the scanner saying so, or why not.
pub async fn annul(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scanner(signed): Scanner,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    let desk = Desk::of(&state, &signed, &posted).await?;
    let result = match Nonce::parse(posted.value("nonce").unwrap_or_default()) {
        Ok(nonce) => annul_scan(&state, signed.caller.clone(), nonce).await,
        Err(error) => Err(ApiError::validation(vec![error])),
    };
    answer(
        &state,
        &signed,
        &desk,
        result.map(|view| Shown::Annulled(Box::new(view))),
    )
}

/// `GET /console/gate/revocations`: the signed revocation list of the scanner's
/// enterprise, as JSON, which `gate.js` keeps for when the network is gone.
pub async fn revocations(
    state: web::Data<AppState>,
    Scanner(signed): Scanner,
) -> Result<HttpResponse, PageError> {
    let list = revocation_list(&state, &signed.caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(list))
}

/// The scanner after a post: 200 with what was recorded, the refusal's status with
/// why nothing was (a server error is the error page).
fn answer(
    state: &AppState,
    signed: &Signed,
    desk: &Desk,
    result: Result<Shown, ApiError>,
) -> Result<HttpResponse, PageError> {
    let (status, shown) = match result {
        Ok(shown) => (StatusCode::OK, shown),
        Err(error) if error.code().status().is_client_error() => {
            (error.code().status(), Shown::Failed(failure_text(&error)))
        }
        Err(error) => return Err(error.into()),
    };
    Ok(render(status, scanner_markup(state, signed, desk, &shown)))
}

/// Why nothing was done, as the page says it: the error's message, or its fields'.
fn failure_text(error: &ApiError) -> String {
    if error.field_errors().is_empty() {
        error.message()
    } else {
        let messages: Vec<&str> = error
            .field_errors()
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        messages.join("；")
    }
}

fn scanner_markup(state: &AppState, signed: &Signed, desk: &Desk, shown: &Shown) -> Markup {
    let body = html! {
        h1.vh { "扫码核验" }
        // gate.js's offline mode, shown by it: online or not, scans waiting; with the
        // zone's key, the enterprise, the revocation list's address and what the
        // guard reads for each reason.
        p #net.muted role="status" hidden
            data-key=(state.signer.public_key())
            data-enterprise=(desk.enterprise)
            data-revocations=(REVOCATIONS_PATH)
            data-reasons=(REASON_LABELS.as_str()) {}
        @if desk.gates.is_empty() {
            p.notice.bad { "本企业尚未设置门岗，暂不能扫码。请企业联系人先添加门岗（东门、西门等）。" }
        } @else {
            @if let [only] = desk.gates.as_slice() {
                p.muted { "门岗：" b { (only.name) } }
                input type="hidden" name="gate_id" value=(only.id) form="scan-form" data-choice;
            } @else {
                div.f {
                    label for="gate" { "门岗" }
                    select #gate name="gate_id" form="scan-form" data-choice {
                        @for gate in &desk.gates {
                            option value=(gate.id) selected[desk.gate.as_ref() == Some(&gate.id)] { (gate.name) }
                        }
                    }
                }
            }
            fieldset.seg {
                legend.vh { "方向" }
                @for kind in [ScanKind::Entry, ScanKind::Exit] {
                    label {
                        input type="radio" name="type" value=(kind.as_str()) form="scan-form"
                            checked[desk.kind == kind] data-choice;
                        span { (kind.label()) }
                    }
                }
            }
            // Shown by gate.js: without a script there is no camera, only typing.
            section #camera hidden {
                video #cam playsinline muted hidden {}
                div.actions {
                    button.btn.big type="button" #cam-start { "打开摄像头扫码" }
                    label.btn.big.alt {
                        "拍照识别"
                        input #shot type="file" accept="image/*" capture="environment";
                    }
                }
                p #cam-msg.muted role="status" {}
            }
            (scan_panel(signed, desk, shown))
            script src=(jsqr_path()) defer {}
            script src=(nacl_path()) defer {}
            script src=(gate_js_path()) defer {}
        }
    };
    page(state, signed, GATE_PATH, "门岗扫码", body)
}

/// What the guard reads for each refusal, as JSON (`{"cancelled": "通行证已被取消", …}`),
/// made once: every scan's answer carries it.
static REASON_LABELS: LazyLock<String> = LazyLock::new(|| {
    let labels: serde_json::Map<String, serde_json::Value> = Refusal::ALL
        .iter()
        .map(|reason| (reason.as_str().to_owned(), reason.label().into()))
        .collect();
    serde_json::Value::Object(labels).to_string()
});

/// The part of the scanner an answer replaces: the answer, the pass's facts with
/// what can be done about it, and the form for the next scan (with a fresh nonce).
fn scan_panel(signed: &Signed, desk: &Desk, shown: &Shown) -> Markup {
    html! {
        div #scan {
            div #answer aria-live="assertive" {
                @match shown {
                    Shown::Ready => {}
                    Shown::Failed(why) => {
                        div.answer.stop role="alert" { "未能核验" small { (why) } }
                    }
                    Shown::Annulled(view) => {
                        div.answer.undone role="alert" {
                            "已撤销" small { "本次" (view.kind.label()) "已撤销，车辆按未通行处理" }
                        }
                        (facts(view.pass.as_ref()))
                    }
                    Shown::Scan(view) => { (scan_answer(signed, view)) }
                }
            }
            form #scan-form method="post" action=(SCAN_PATH) data-scan {
                (signed.csrf_field())
                input type="hidden" name="nonce" value=(new_id());
                div.code {
                    input #code type="text" name="code" autocomplete="off" autocapitalize="characters"
                        enterkeyhint="go" placeholder="输入车牌号或通行码" aria-label="车牌号或通行码" required;
                    button.btn type="submit" { "核验" }
                }
            }
            @if desk.gate.is_none() {
                p.muted { "请选择门岗。" }
            }
        }
    }
}

/// A scan's answer: green or red, the reason, the pass's facts, and after a green
/// answer the buttons to refuse it after all or to undo it.
fn scan_answer(signed: &Signed, view: &ScanView) -> Markup {
    let accepted = view.result == ScanResult::Accepted;
    let undoable =
        accepted && view.annulled_at.is_none() && Utc::now() - view.scanned_at < ANNUL_WINDOW;
    let pass = view.pass.as_ref();
    html! {
        @if accepted {
            div.answer.go role="alert" data-result="accepted" {
                (view.message)
                @if let Some(pass) = pass { small { (pass.plate) " · " (pass.vehicle_type_label) } }
                @if let Some(minutes) = view.dwell_minutes { small { "本次停留 " (minutes) " 分钟" } }
            }
        } @else {
            div.answer.stop role="alert" data-result="refused" {
                "拒绝通行" small { (view.message) }
            }
        }
        @if view.annulled_at.is_some() {
            p.notice { "这次扫码已被撤销。" }
        }
        (facts(pass))
        @if undoable {
            div.row2 {
                form method="post" action=(SCAN_PATH) data-scan-after {
                    (signed.csrf_field())
                    input type="hidden" name="nonce" value=(new_id());
                    input type="hidden" name="gate_id" value=(view.gate_id);
                    input type="hidden" name="type" value=(view.kind.as_str());
                    input type="hidden" name="code" value=(view.code);
                    input type="hidden" name="plate_mismatch" value="1";
                    input type="hidden" name="undo" value=(view.nonce);
                    button.btn.big.bad type="submit" #mismatch { "车牌不符" }
                }
                form method="post" action=(ANNUL_PATH) data-scan-after {
                    (signed.csrf_field())
                    input type="hidden" name="nonce" value=(view.nonce);
                    input type="hidden" name="gate_id" value=(view.gate_id);
                    input type="hidden" name="type" value=(view.kind.as_str());
                    button.btn.big.alt type="submit" #annul { "撤销" }
                }
            }
            p.muted { "人、车、证不符时按“车牌不符”拒绝并记录；误扫可在 " (ANNUL_WINDOW.num_minutes()) " 分钟内撤销。" }
        }
    }
}

/// The masked facts of a pass, for the guard to check person, truck and pass.
fn facts(pass: Option<&PassFacts>) -> Markup {
    html! {
        @if let Some(pass) = pass {
            section.card.facts {
                dl {
                    dt { "司机" } dd { (pass.driver_name) }
                    dt { "车牌" } dd #plate { (pass.plate) }
                    dt { "车型" } dd { (pass.vehicle_type_label) }
                    dt { "挂车" } dd { (pass.trailer_plate.as_deref().unwrap_or("无")) }
                }
            }
        }
    }
}

/// `GET /console/gate/inside`: the trucks inside now, longest inside first, with
/// their dwell so far, and today's counts.
pub async fn inside_page(
    state: web::Data<AppState>,
    Scanner(signed): Scanner,
) -> Result<HttpResponse, PageError> {
    let enterprise = scanner_enterprise(&signed.caller)?;
    let (status, names) = state
        .db
        .read(move |conn| {
            let status = GateStatus::of(conn, &enterprise)?;
            Ok((status, gate_names(conn, &enterprise)?))
        })
        .await?;
    let counts = [
        ("在园车辆", status.inside_count),
        ("今日入园", status.entries_today),
        ("今日离园", status.exits_today),
        ("今日拒绝", status.refused_today),
    ];
    let body = html! {
        h1 { "在园车辆" }
        div.stats {
            @for (label, count) in counts { div.stat { b { (count) } (label) } }
        }
        section.card {
            @if status.inside.is_empty() {
                p.muted { "目前没有车辆在园。" }
            } @else {
                div.scroll {
                    table {
                        thead { tr { th { "车牌" } th { "司机" } th { "车型" } th { "挂车" } th { "入园门岗" } th { "入园时间" } th.n { "已停留（分钟）" } } }
                        tbody {
                            @for truck in &status.inside {
                                tr {
                                    td { (truck.pass.plate) }
                                    td { (truck.pass.driver_name) }
                                    td { (truck.pass.vehicle_type_label) }
                                    td { (truck.pass.trailer_plate.as_deref().unwrap_or("")) }
                                    td { (names.get(&truck.gate_id).map_or("", String::as_str)) }
                                    td { (zone::shown_minute(truck.entered_at)) }
                                    td.n { (truck.dwell_minutes) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        page(&state, &signed, INSIDE_PATH, "在园车辆", body),
    ))
}

/// The names of the gates of `enterprise`, also those out of use.
fn gate_names(
    conn: &mut crate::db::DbConnection,
    enterprise: &EnterpriseId,
) -> Result<HashMap<GateId, String>, ApiError> {
    Ok(Gate::of_enterprise(conn, enterprise)?
        .into_iter()
        .map(|gate| (gate.id, gate.name))
        .collect())
}

/// `GET /console/gate/refused`: the latest refused scans, newest first: when, where,
/// which way, why, and what was read.
pub async fn refused_page(
    state: web::Data<AppState>,
    Scanner(signed): Scanner,
) -> Result<HttpResponse, PageError> {
    let enterprise = scanner_enterprise(&signed.caller)?;
    let (scans, conflicts) = state
        .db
        .read(move |conn| {
            let refused = Scan::log(conn, &enterprise, LogFilter::Refused, None, REFUSED_SHOWN)?;
            let conflicts =
                Scan::log(conn, &enterprise, LogFilter::Conflicts, None, REFUSED_SHOWN)?;
            Ok((Scan::views(conn, refused)?, Scan::views(conn, conflicts)?))
        })
        .await?;
    let body = html! {
        @if !conflicts.is_empty() {
            h1 { "离线放行的冲突" }
            p.muted { "门岗断网时放行、联网后服务器认为本应拒绝的扫码（如在两个门岗重复入园、未入园就离园、期间通行证被取消），请核查。" }
            section.card {
                div.scroll {
                    table {
                        thead { tr { th { "扫码时间" } th { "门岗" } th { "方向" } th { "冲突" } th { "车牌" } } }
                        tbody {
                            @for scan in &conflicts {
                                tr {
                                    td { (zone::shown_minute(scan.client_time.unwrap_or(scan.scanned_at))) }
                                    td { (scan.gate_name) }
                                    td { (scan.kind.label()) }
                                    td { (scan.conflict.map_or("", Refusal::label)) }
                                    td { (scan.pass.as_ref().map_or("", |pass| pass.plate.as_str())) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h1 { "失败扫码记录" }
        p.muted { "最近 " (REFUSED_SHOWN) " 次被拒绝的扫码，最新的在前。" }
        section.card {
            @if scans.is_empty() {
                p.muted { "暂无被拒绝的扫码。" }
            } @else {
                div.scroll {
                    table {
                        thead { tr { th { "时间" } th { "门岗" } th { "方向" } th { "原因" } th { "车牌" } th { "扫到的内容" } } }
                        tbody {
                            @for scan in &scans {
                                tr {
                                    td { (zone::shown_minute(scan.scanned_at)) }
                                    td { (scan.gate_name) }
                                    td { (scan.kind.label()) }
                                    td { (scan.message) }
                                    td { (scan.pass.as_ref().map_or("", |pass| pass.plate.as_str())) }
                                    td.wrap { (scan.code) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        page(&state, &signed, REFUSED_PATH, "失败扫码记录", body),
    ))
}

/// A gate settings page: the contact of the enterprise (guards and everyone else get
/// the 404 page).
fn keeper(signed: &Signed) -> Result<EnterpriseId, PageError> {
    allowed(signed.caller.role == Role::EnterpriseContact)?;
    Ok(scanner_enterprise(&signed.caller)?)
}

/// What a gate settings page says after a post.
enum Done {
    /// Nothing posted.
    Nothing,
    /// What was done.
    Said(String),
    /// Why nothing was done.
    Failed(String),
}

/// `GET /console/gate/gates`: the enterprise's gates, to add, rename and take out of
/// (back into) use, and the gates each of its guards stands at; for its contacts.
pub async fn gates_page(
    state: web::Data<AppState>,
    Scanner(signed): Scanner,
) -> Result<HttpResponse, PageError> {
    let enterprise = keeper(&signed)?;
    gates_answer(&state, &signed, enterprise, Ok(Done::Nothing)).await
}

/// `POST /console/gate/gates`: adds a gate named `name`, as
/// `POST /api/v1/enterprises/{id}/gates` does (audited).
pub async fn add_gate(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scanner(signed): Scanner,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let enterprise = keeper(&signed)?;
    let posted = signed.posted(&req, &body)?;
    let name = posted.text("name")?.unwrap_or_default();
    let result = match parse_gate_name(&name) {
        Ok(name) => {
            let (actor, of) = (signed.caller.actor(), enterprise.clone());
            state
                .db
                .write(move |conn| Gate::create(conn, &actor, &of, name))
                .await
                .map(|gate| Done::Said(format!("已添加门岗“{}”。", gate.name)))
        }
        Err(error) => Err(ApiError::validation(vec![error])),
    };
    gates_answer(&state, &signed, enterprise, result).await
}

/// `POST /console/gate/gates/{gate_id}`: renames the gate (`name`) or takes it out of
/// or back into use (`active` = `true` / `false`), as
/// `PATCH /api/v1/enterprises/{id}/gates/{gate_id}` does (audited); a gate of another
/// enterprise is the 404 page.
pub async fn change_gate(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scanner(signed): Scanner,
    gate_id: web::Path<GateId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let enterprise = keeper(&signed)?;
    let posted = signed.posted(&req, &body)?;
    let name = posted
        .text("name")?
        .map(|raw| parse_gate_name(&raw).map_err(|e| ApiError::validation(vec![e])))
        .transpose();
    let active = match posted.value("active") {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::field(
            "active",
            "invalid_value",
            "active 须为 true 或 false",
        )),
    };
    let result = match (name, active) {
        (Ok(name), Ok(active)) => {
            let (actor, of, id) = (
                signed.caller.actor(),
                enterprise.clone(),
                gate_id.into_inner(),
            );
            let changes = GateChanges { name, active };
            state
                .db
                .write(move |conn| Gate::find(conn, &of, &id)?.update(conn, &actor, changes))
                .await
                .map(|gate| {
                    Done::Said(match (gate.active, active) {
                        (false, Some(false)) => format!("门岗“{}”已停用，不能再扫码。", gate.name),
                        (true, Some(true)) => format!("门岗“{}”已恢复使用。", gate.name),
                        _ => format!("门岗已改名为“{}”。", gate.name),
                    })
                })
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    if let Err(error) = &result
        && error.code().status() == StatusCode::NOT_FOUND
    {
        return Err(ApiError::not_found().into());
    }
    gates_answer(&state, &signed, enterprise, result).await
}

/// `POST /console/gate/guards/{user_id}`: the gates a guard of the enterprise stands
/// at (`gate_id`, ticked; none for every gate), as
/// `PUT /api/v1/enterprises/{id}/guards/{user_id}` does (audited); a user who is not
/// one of its guards is the 404 page.
pub async fn set_guard_gates(
    state: web::Data<AppState>,
    req: HttpRequest,
    Scanner(signed): Scanner,
    user: web::Path<UserId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let enterprise = keeper(&signed)?;
    let posted = signed.posted(&req, &body)?;
    let gate_ids: Vec<GateId> = posted.ids("gate_id");
    let result = guard_gates(
        &state,
        signed.caller.clone(),
        enterprise.clone(),
        user.into_inner(),
        gate_ids,
    )
    .await;
    if let Err(error) = &result
        && error.code().status() == StatusCode::NOT_FOUND
    {
        return Err(ApiError::not_found().into());
    }
    let result = result.map(|guard| {
        Done::Said(if guard.every_gate {
            format!("“{}”可在本企业所有门岗扫码。", guard.display_name)
        } else {
            format!("已更新“{}”值守的门岗。", guard.display_name)
        })
    });
    gates_answer(&state, &signed, enterprise, result).await
}

/// The gate settings page after `result`: 200 with what was done, the refusal's status
/// with why nothing was (a server error is the error page).
async fn gates_answer(
    state: &AppState,
    signed: &Signed,
    enterprise: EnterpriseId,
    result: Result<Done, ApiError>,
) -> Result<HttpResponse, PageError> {
    let (status, done) = match result {
        Ok(done) => (StatusCode::OK, done),
        Err(error) if error.code().status().is_client_error() => {
            (error.code().status(), Done::Failed(failure_text(&error)))
        }
        Err(error) => return Err(error.into()),
    };
    let (gates, guards) = state
        .db
        .read(move |conn| {
            let gates = Gate::of_enterprise(conn, &enterprise)?;
            Ok((gates, guards::of_enterprise(conn, &enterprise)?))
        })
        .await?;
    let body = html! {
        h1 { "门岗设置" }
        @match &done {
            Done::Nothing => {}
            Done::Said(text) => { p.notice role="status" { (text) } }
            Done::Failed(why) => { p.notice.bad role="alert" { (why) } }
        }
        section.card {
            @if gates.is_empty() {
                p.muted { "还没有门岗。添加后，门岗人员即可在该门岗扫码。" }
            }
            @for gate in &gates {
                div.gate {
                    form.code method="post" action={ (GATES_PATH) "/" (gate.id) } {
                        (signed.csrf_field())
                        input type="text" name="name" value=(gate.name) required maxlength="20"
                            aria-label={ "门岗“" (gate.name) "”的名称" };
                        button.btn type="submit" { "改名" }
                    }
                    form method="post" action={ (GATES_PATH) "/" (gate.id) } {
                        (signed.csrf_field())
                        @if gate.active {
                            input type="hidden" name="active" value="false";
                            p.muted { "在用 " button.btn.alt type="submit" { "停用" } }
                        } @else {
                            input type="hidden" name="active" value="true";
                            p.muted { "已停用（不能扫码） " button.btn.alt type="submit" { "恢复使用" } }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "门岗人员" }
            @if guards.is_empty() {
                p.muted { "本企业还没有门岗账号（由系统管理员开通）。" }
            } @else {
                p.muted { "勾选每位门岗人员值守的门岗；都不勾选则可在所有门岗扫码。" }
            }
            @for guard in &guards {
                form method="post" action={ (GUARDS_PATH) "/" (guard.user_id) } {
                    (signed.csrf_field())
                    fieldset.posts {
                        legend {
                            (guard.display_name) " " span.muted { (guard.username) }
                            @if !guard.active { " " span.muted { "（已停用）" } }
                        }
                        @for gate in &gates {
                            label {
                                input type="checkbox" name="gate_id" value=(gate.id)
                                    checked[guard.gate_ids.contains(&gate.id)];
                                (gate.name)
                            }
                        }
                        button.btn.alt type="submit" { "保存" }
                    }
                }
            }
        }
        section.card {
            h2 { "添加门岗" }
            form.code method="post" action=(GATES_PATH) {
                (signed.csrf_field())
                input type="text" name="name" required maxlength="20" placeholder="如：东门、2 号门"
                    aria-label="新门岗的名称";
                button.btn type="submit" { "添加" }
            }
        }
    };
    Ok(render(
        status,
        page(state, signed, GATES_PATH, "门岗设置", body),
    ))
}
