//! The admin's accounts in bulk: a contact account, with an activation code, for every
//! enterprise of the roster without one (a preview first, then the confirmation), and
//! the printed activation sheet of accounts picked here or on the accounts list. Both
//! go through the API's services ([`roster_contacts`], [`print_sheet`]), so the same
//! validation and audit entries apply.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::console::session::Signed;
use crate::console::users::{USERS_PATH, page};
use crate::console::{PageError, admin_only};
use crate::domain::id::{EnterpriseId, UserId};
use crate::enterprises::Enterprise;
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::activation::bulk::{BulkOutcome, RosterBody, roster_contacts};
use crate::users::activation::handlers::{Printed, print_sheet};

/// The page of accounts in bulk (linked from the accounts list).
pub const ACTIVATION_PATH: &str = "/console/users/activation";
const PREVIEW_PATH: &str = "/console/users/activation/preview";
/// Where the print button posts the accounts picked (`user_id` fields).
pub const SHEET_PATH: &str = "/console/users/activation-sheet";
const TITLE: &str = "批量开通账号";

/// What printing does to the accounts printed, said next to every print button.
pub fn sheet_warning() -> Markup {
    html! {
        p.muted {
            "打印激活单会为所选账号生成新的激活码：这些账号原有的激活码和密码立即作废，"
            "已登录的会话也会结束，账号持有人须用新激活码重新设置密码。"
            "一页 A4 最多 8 个账号，超过时下载 ZIP 压缩包。"
        }
    }
}

/// `GET /console/users/activation`: what the bulk creation does, and its button.
pub async fn activation_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let body = html! {
        p { a href=(USERS_PATH) { "← 账号列表" } }
        h1 { (TITLE) }
        form.card method="post" action=(PREVIEW_PATH) {
            (signed.csrf_field())
            h2 { "企业联系人账号" }
            p.muted {
                "为企业名录中尚无启用的联系人账号的每家企业创建一个联系人账号（以企业名称命名），"
                "每个账号附一个一次性激活码。先预览，确认后才创建。"
            }
            button.btn type="submit" { "为尚无联系人的企业创建联系人账号" }
        }
        div.card {
            h2 { "打印激活单" }
            p.muted { "在" a href=(USERS_PATH) { "账号列表" } "中勾选账号后点击“打印激活单”。" }
            (sheet_warning())
        }
    };
    Ok(page(&state, &signed, StatusCode::OK, TITLE, body))
}

/// The names of the enterprises of the outcome's accounts, in its order.
async fn enterprise_names(
    state: &AppState,
    outcome: &BulkOutcome,
) -> Result<Vec<String>, ApiError> {
    let ids: Vec<EnterpriseId> = outcome
        .accounts
        .iter()
        .filter_map(|account| account.enterprise_id.clone())
        .collect();
    let wanted = ids.clone();
    let names = state
        .db
        .read(move |conn| Enterprise::names(conn, &wanted))
        .await?;
    Ok(outcome
        .accounts
        .iter()
        .map(|account| {
            account
                .enterprise_id
                .as_ref()
                .and_then(|id| names.get(id))
                .cloned()
                .unwrap_or_default()
        })
        .collect())
}

/// `POST /console/users/activation/preview`: the dry run of the roster's contacts,
/// writing nothing: how many accounts, for which enterprises, and the button that
/// creates exactly those.
pub async fn preview(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let request = RosterBody {
        enterprise_ids: Vec::new(),
        all_without_contact: true,
        dry_run: true,
    };
    let outcome = roster_contacts(&state, signed.caller.clone(), request).await?;
    let names = enterprise_names(&state, &outcome).await?;
    let body = html! {
        p { a href=(ACTIVATION_PATH) { "← " (TITLE) } }
        h1 { "预览：企业联系人账号" }
        @if outcome.accounts.is_empty() {
            p.notice.ok { "所有企业都已有联系人账号，无需创建。" }
        } @else {
            p.notice.ok { "将创建 " (outcome.accounts.len()) " 个联系人账号。尚未创建，请核对后确认。" }
            @if outcome.remaining > 0 {
                p.muted { "另有 " (outcome.remaining) " 家企业超出单次上限，请确认后再次操作。" }
            }
            div.card { div.scroll { table {
                thead { tr { th { "企业" } th { "用户名" } th { "姓名" } } }
                tbody {
                    @for (account, name) in outcome.accounts.iter().zip(&names) {
                        tr { td { (name) } td { (account.username) } td { (account.display_name) } }
                    }
                }
            } } }
            form.card method="post" action=(ACTIVATION_PATH) {
                (signed.csrf_field())
                @for id in outcome.accounts.iter().filter_map(|a| a.enterprise_id.as_ref()) {
                    input type="hidden" name="enterprise_id" value=(id);
                }
                button.btn type="submit" { "确认创建" }
            }
        }
    };
    Ok(page(&state, &signed, StatusCode::OK, TITLE, body))
}

/// `POST /console/users/activation`: creates the contacts of the enterprises previewed
/// (`enterprise_id` fields; one that has a contact by now is skipped) and lists each
/// with its code, once, with the button that prints exactly those accounts.
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let enterprise_ids: Vec<EnterpriseId> = posted.ids("enterprise_id");
    if enterprise_ids.is_empty() {
        let error = ApiError::field(
            "enterprise_id",
            "required",
            "没有要创建的联系人账号，请重新预览",
        );
        return Err(error.into());
    }
    let request = RosterBody {
        enterprise_ids,
        all_without_contact: false,
        dry_run: false,
    };
    let outcome = roster_contacts(&state, signed.caller.clone(), request).await?;
    let names = enterprise_names(&state, &outcome).await?;
    let body = html! {
        p { a href=(USERS_PATH) { "← 账号列表" } }
        h1 { "已创建 " (outcome.accounts.len()) " 个联系人账号" }
        @if !outcome.skipped_enterprise_ids.is_empty() {
            p.muted { (outcome.skipped_enterprise_ids.len()) " 家企业在此期间已有联系人，已跳过。" }
        }
        p.notice.ok { "激活码仅显示这一次。账号持有人用用户名和激活码在 /console/activate 设置密码后即可登录。" }
        div.card { div.scroll { table {
            thead { tr { th { "企业" } th { "用户名" } th { "激活码" } } }
            tbody {
                @for (account, name) in outcome.accounts.iter().zip(&names) {
                    tr {
                        td { (name) }
                        td { (account.username) }
                        td { @if let Some(issued) = &account.activation { code { (issued.code) } } }
                    }
                }
            }
        } } }
        @if !outcome.accounts.is_empty() {
            form.card method="post" action=(SHEET_PATH) {
                (signed.csrf_field())
                @for id in outcome.accounts.iter().filter_map(|a| a.id.as_ref()) {
                    input type="hidden" name="user_id" value=(id);
                }
                (sheet_warning())
                button.btn type="submit" { "打印激活单" }
            }
        }
    };
    Ok(page(&state, &signed, StatusCode::OK, TITLE, body))
}

/// `POST /console/users/activation-sheet`: fresh codes for the accounts picked
/// (`user_id` fields) through the API's sheet, downloaded as a PNG (one page) or a
/// ZIP (more).
pub async fn sheet(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let user_ids: Vec<UserId> = posted.ids("user_id");
    let printed = print_sheet(&state, signed.caller.clone(), user_ids).await?;
    Ok(Printed::into_response(printed))
}
