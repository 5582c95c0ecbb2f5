//! The admin's accounts pages: the list (search, role filter), creating an account
//! with its role and scope, and an account's page to change its role and scope,
//! disable or enable it and reset its password. Everything goes through the API's
//! services ([`create_account`], [`update_account`], [`reset_password`]), so the same
//! validation and audit entries apply; a password left empty is generated and shown
//! once.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use crate::auth::passwords::random_password;
use crate::console::activation::{ACTIVATION_PATH, SHEET_PATH, sheet_warning};
use crate::console::org::Units;
use crate::console::session::{Posted, Signed};
use crate::console::{PageError, admin_only, layout, render, see_other};
use crate::domain::account::Role;
use crate::domain::enterprise::CreditCode;
use crate::domain::id::{EnterpriseId, OrgUnitId, UserId};
use crate::enterprises::{Enterprise, Visibility};
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::org::OrgUnit;
use crate::pagination::{DEFAULT_LIMIT, PageRequest};
use crate::state::AppState;
use crate::users::handlers::{
    CreateBody, UpdateBody, create_account, reset_password, update_account,
};
use crate::users::{User, UserFilter, UserView};

/// The list's address (and the navigation entry).
pub const USERS_PATH: &str = "/console/users";
const NEW_PATH: &str = "/console/users/new";

fn user_path(id: &UserId) -> String {
    format!("{USERS_PATH}/{id}")
}

/// Names of the zone's sectors and parks by id.
fn unit_names(units: &Units) -> HashMap<&OrgUnitId, &str> {
    units
        .sectors
        .iter()
        .chain(&units.parks)
        .map(|unit| (&unit.id, unit.name.as_str()))
        .collect()
}

/// The scope of an account in words.
fn scope_text(view: &UserView, names: &HashMap<&OrgUnitId, &str>) -> String {
    let units: Vec<&str> = view
        .sector_ids
        .iter()
        .chain(&view.park_ids)
        .map(|id| names.get(id).copied().unwrap_or("（已删除）"))
        .collect();
    match (&view.enterprise_id, units.is_empty()) {
        (Some(_), _) => "本企业".to_owned(),
        (None, true) => "全园区".to_owned(),
        (None, false) => units.join("、"),
    }
}

/// The messages of the errors about `fields` (a field and its indexed items).
fn messages(errors: &[FieldError], fields: &[&str]) -> Markup {
    let about = |error: &&FieldError| {
        fields.iter().any(|field| {
            error.field == *field
                || error
                    .field
                    .strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('['))
        })
    };
    html! {
        @for error in errors.iter().filter(about) {
            p.notice.bad role="alert" { (error.message) }
        }
    }
}

/// What the account form holds, as typed.
#[derive(Debug, Default)]
struct AccountForm {
    username: String,
    display_name: String,
    password: String,
    role: String,
    sector_ids: Vec<OrgUnitId>,
    park_ids: Vec<OrgUnitId>,
    credit_code: String,
}

impl AccountForm {
    fn read(posted: &Posted) -> Self {
        let field = |name| posted.value(name).unwrap_or_default().trim().to_owned();
        let ids = |name| {
            posted
                .values(name)
                .map(|id| OrgUnitId::from(id.to_owned()))
                .collect()
        };
        Self {
            username: field("username"),
            display_name: field("display_name"),
            // A password is taken as typed.
            password: posted.value("password").unwrap_or_default().to_owned(),
            role: field("role"),
            sector_ids: ids("sector_ids"),
            park_ids: ids("park_ids"),
            credit_code: field("credit_code"),
        }
    }

    fn of(view: &UserView, enterprise: Option<&Enterprise>) -> Self {
        Self {
            username: view.username.clone(),
            display_name: view.display_name.clone(),
            role: view.role.as_str().to_owned(),
            sector_ids: view.sector_ids.clone(),
            park_ids: view.park_ids.clone(),
            credit_code: enterprise
                .map(|e| e.credit_code.clone())
                .unwrap_or_default(),
            ..Self::default()
        }
    }

    fn role(&self) -> Result<Role, ApiError> {
        Role::from_stored(&self.role)
            .ok_or_else(|| ApiError::field("role", "invalid_value", "请选择角色"))
    }

    /// The enterprise named by its credit code, when one is typed.
    async fn enterprise(&self, state: &AppState) -> Result<Option<EnterpriseId>, ApiError> {
        if self.credit_code.is_empty() {
            return Ok(None);
        }
        let code = CreditCode::parse(&self.credit_code).map_err(|error| {
            ApiError::validation(vec![FieldError {
                field: "enterprise_id".to_owned(),
                ..error
            }])
        })?;
        let found = state
            .db
            .read(move |conn| Enterprise::find_by_credit_code(conn, &code))
            .await?;
        found.map(|enterprise| Some(enterprise.id)).ok_or_else(|| {
            ApiError::field(
                "enterprise_id",
                "unknown_enterprise",
                "没有该统一社会信用代码的企业",
            )
        })
    }
}

/// The fields of role and scope, shared by the create and edit forms.
fn scope_fields(form: &AccountForm, units: &Units, errors: &[FieldError]) -> Markup {
    let unit_boxes = |name: &str, list: &[OrgUnit], picked: &[OrgUnitId]| {
        html! {
            @if list.is_empty() { p.muted { "尚未建立。" } }
            div.actions {
                @for unit in list {
                    label { input type="checkbox" name=(name) value=(unit.id) checked[picked.contains(&unit.id)]; " " (unit.name) }
                }
            }
        }
    };
    html! {
        div.f {
            label for="role" { "角色" }
            select #role name="role" required {
                option value="" { "请选择" }
                @for role in Role::ALL {
                    option value=(role.as_str()) selected[form.role == role.as_str()] { (role.label()) }
                }
            }
            (messages(errors, &["role"]))
            p.muted {
                "管理员、园区监管不设范围；行业主管部门选行业；园区管理选园区；"
                "摸排人员选一个行业或一个园区；企业联系人填企业的统一社会信用代码。"
            }
        }
        fieldset.f {
            legend { "行业" }
            (unit_boxes("sector_ids", &units.sectors, &form.sector_ids))
            (messages(errors, &["sector_ids"]))
        }
        fieldset.f {
            legend { "园区" }
            (unit_boxes("park_ids", &units.parks, &form.park_ids))
            (messages(errors, &["park_ids"]))
        }
        div.f {
            label for="credit_code" { "企业统一社会信用代码（企业联系人）" }
            input #credit_code type="text" name="credit_code" value=(form.credit_code) maxlength="18";
            (messages(errors, &["enterprise_id"]))
        }
    }
}

/// A page of the accounts' section (the navigation shows the accounts entry).
pub fn page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    title: &str,
    body: Markup,
) -> HttpResponse {
    let zone_name = &state.settings.zone_name;
    render(
        status,
        layout::page(zone_name, signed, USERS_PATH, title, body),
    )
}

/// The status of a failed form: a validation failure shows the form again with the
/// messages; anything else is the error page.
fn form_errors(error: ApiError) -> Result<Vec<FieldError>, PageError> {
    if error.code() == ErrorCode::ValidationFailed {
        Ok(error.field_errors().to_vec())
    } else {
        Err(error.into())
    }
}

/// The page that shows a password once.
fn password_page(
    state: &AppState,
    signed: &Signed,
    view: &UserView,
    password: &str,
    lead: &str,
) -> HttpResponse {
    let body = html! {
        h1 { (lead) }
        div.card {
            p.notice.ok { "请把密码告知 " (view.display_name) "（用户名 " (view.username) "）。密码仅显示这一次，用户登录后须修改。" }
            dl {
                dt { "用户名" } dd { (view.username) }
                dt { "密码" } dd { code { (password) } }
            }
        }
        p.actions {
            a href=(user_path(&view.id)) { "查看账号" }
            a href=(USERS_PATH) { "返回账号列表" }
        }
    };
    page(state, signed, StatusCode::OK, lead, body)
}

/// `GET /console/users`: accounts, searched by name and filtered by role, in pages.
pub async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let query = Posted::parse(req.query_string().as_bytes());
    let field = |name| query.value(name).unwrap_or_default().trim().to_owned();
    let (q, role, cursor) = (field("q"), field("role"), field("cursor"));
    let filter = UserFilter {
        role: match role.as_str() {
            "" => None,
            raw => Some(
                Role::from_stored(raw)
                    .ok_or_else(|| ApiError::field("role", "invalid_value", "没有这个角色"))?,
            ),
        },
        active: None,
        q: Some(q.clone()).filter(|q| !q.is_empty()),
    };
    let request = PageRequest::parse(
        Some(DEFAULT_LIMIT),
        Some(cursor.as_str()).filter(|c| !c.is_empty()),
    )?;
    let fetch = request.clone();
    let rows = state
        .db
        .read(move |conn| User::list(conn, &filter, fetch.after.as_deref(), fetch.fetch()))
        .await?;
    let listed = request.page(rows, |user| user.id.to_string());
    let units = Units::load(&state).await?;
    let names = unit_names(&units);
    let next = listed.next_cursor.map(|next| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("q", &q), ("role", &role)] {
            if !value.is_empty() {
                link.append_pair(name, value);
            }
        }
        link.append_pair("cursor", &next);
        format!("{USERS_PATH}?{}", link.finish())
    });
    let body = html! {
        h1 { "账号" }
        p.actions {
            a.btn href=(NEW_PATH) style="display:inline-flex;align-items:center" { "新建账号" }
            a href=(ACTIVATION_PATH) { "批量开通账号" }
        }
        form.card.filters method="get" action=(USERS_PATH) {
            label { "用户名或姓名" input type="text" name="q" value=(q) maxlength="64"; }
            label { "角色"
                select name="role" {
                    option value="" { "全部" }
                    @for each in Role::ALL {
                        option value=(each.as_str()) selected[role == each.as_str()] { (each.label()) }
                    }
                }
            }
            button.btn type="submit" { "筛选" }
            a href=(USERS_PATH) { "清除" }
        }
        div.card {
            @if listed.items.is_empty() {
                p.muted { "没有符合条件的账号。" }
            } @else {
                form method="post" action=(SHEET_PATH) {
                (signed.csrf_field())
                div.scroll { table {
                    thead { tr { th { "选择" } th { "用户名" } th { "姓名" } th { "角色" } th { "范围" } th { "状态" } th {} } }
                    tbody {
                        @for view in &listed.items {
                            tr {
                                td { input type="checkbox" name="user_id" value=(view.id) aria-label={ "选择 " (view.username) }; }
                                td { (view.username) }
                                td { (view.display_name) }
                                td { (view.role.label()) }
                                td { (scope_text(view, &names)) }
                                td { @if view.active { "启用" } @else { span.s-rejected { "停用" } } }
                                td { a href=(user_path(&view.id)) { "管理" } }
                            }
                        }
                    }
                } }
                (sheet_warning())
                button.btn.alt type="submit" { "打印激活单" }
                }
            }
            @if let Some(next) = next { p { a href=(next) { "下一页" } } }
        }
    };
    Ok(page(&state, &signed, StatusCode::OK, "账号", body))
}

fn create_form(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    form: &AccountForm,
    units: &Units,
    errors: &[FieldError],
) -> HttpResponse {
    let body = html! {
        p { a href=(USERS_PATH) { "← 账号列表" } }
        h1 { "新建账号" }
        @if !errors.is_empty() { p.notice.bad { "提交的数据有误，请按提示修改。" } }
        form.card method="post" action=(USERS_PATH) {
            (signed.csrf_field())
            div.f {
                label for="username" { "用户名" }
                input #username type="text" name="username" value=(form.username) required maxlength="32" autocomplete="off";
                (messages(errors, &["username"]))
            }
            div.f {
                label for="display_name" { "姓名" }
                input #display_name type="text" name="display_name" value=(form.display_name) required maxlength="64";
                (messages(errors, &["display_name"]))
            }
            div.f {
                label for="password" { "初始密码（留空则自动生成）" }
                input #password type="password" name="password" autocomplete="new-password" maxlength="128";
                (messages(errors, &["password"]))
            }
            (scope_fields(form, units, errors))
            button.btn type="submit" { "创建" }
        }
    };
    page(state, signed, status, "新建账号", body)
}

/// `GET /console/users/new`: the form of a new account.
pub async fn new_page(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let units = Units::load(&state).await?;
    let form = AccountForm::default();
    Ok(create_form(
        &state,
        &signed,
        StatusCode::OK,
        &form,
        &units,
        &[],
    ))
}

/// `POST /console/users`: creates the account through the API's service; its
/// initial password (typed or generated) is shown once. Invalid fields show the form
/// again (422) with the API's messages next to them.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let form = AccountForm::read(&posted);
    let password = Some(form.password.clone())
        .filter(|typed| !typed.is_empty())
        .unwrap_or_else(random_password);
    let created = async {
        let request = CreateBody {
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            password: password.clone(),
            role: form.role()?,
            sector_ids: form.sector_ids.clone(),
            park_ids: form.park_ids.clone(),
            enterprise_id: form.enterprise(&state).await?,
        };
        create_account(&state, signed.caller.clone(), request).await
    };
    match created.await {
        Ok(view) => Ok(password_page(
            &state,
            &signed,
            &view,
            &password,
            "账号已创建",
        )),
        Err(error) => {
            let errors = form_errors(error)?;
            let units = Units::load(&state).await?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(create_form(&state, &signed, status, &form, &units, &errors))
        }
    }
}

/// An account and its enterprise (a contact's), or the 404 page.
async fn find(state: &AppState, id: UserId) -> Result<(UserView, Option<Enterprise>), ApiError> {
    state
        .db
        .read(move |conn| {
            let (user, scope) = User::find_with_scope(conn, &id)?;
            let enterprise = scope
                .enterprise_id
                .as_ref()
                .map(|id| Enterprise::find(conn, &Visibility::All, id))
                .transpose()?;
            Ok((UserView::new(user, scope), enterprise))
        })
        .await
}

fn detail(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    (view, enterprise): (&UserView, Option<&Enterprise>),
    form: &AccountForm,
    units: &Units,
    errors: &[FieldError],
) -> HttpResponse {
    let path = user_path(&view.id);
    let body = html! {
        p { a href=(USERS_PATH) { "← 账号列表" } }
        h1 { (view.display_name) " " span.muted { (view.username) } }
        dl.card {
            dt { "角色" } dd { (view.role.label()) }
            dt { "范围" } dd { (scope_text(view, &unit_names(units))) }
            @if let Some(enterprise) = enterprise { dt { "企业" } dd { (enterprise.name) } }
            dt { "状态" } dd { @if view.active { "启用" } @else { span.s-rejected { "停用" } } }
            @if view.must_change_password { dt { "密码" } dd { "下次登录须修改" } }
        }
        @if !errors.is_empty() { p.notice.bad { "提交的数据有误，请按提示修改。" } }
        form.card method="post" action=(path) {
            (signed.csrf_field())
            h2 { "姓名、角色和范围" }
            div.f {
                label for="display_name" { "姓名" }
                input #display_name type="text" name="display_name" value=(form.display_name) required maxlength="64";
                (messages(errors, &["display_name"]))
            }
            (scope_fields(form, units, errors))
            button.btn type="submit" { "保存" }
        }
        form.card method="post" action={ (path) "/active" } {
            (signed.csrf_field())
            h2 { "启用或停用" }
            @if view.active {
                p.muted { "停用后该账号立即退出所有登录，不能再登录。" }
                input type="hidden" name="active" value="off";
                button.btn.bad type="submit" { "停用账号" }
            } @else {
                input type="hidden" name="active" value="on";
                button.btn type="submit" { "启用账号" }
            }
        }
        form.card method="post" action={ (path) "/password" } {
            (signed.csrf_field())
            h2 { "重置密码" }
            p.muted { "重置后该账号立即退出所有登录，下次登录须修改密码。" }
            div.f {
                label for="new_password" { "新密码（留空则自动生成）" }
                input #new_password type="password" name="new_password" autocomplete="new-password" maxlength="128";
                (messages(errors, &["new_password"]))
            }
            button.btn.alt type="submit" { "重置密码" }
        }
    };
    page(state, signed, status, "账号", body)
}

/// `GET /console/users/{id}`: an account with its forms (404 page for an unknown id).
pub async fn detail_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<UserId>,
) -> Result<HttpResponse, PageError> {
    admin_only(&signed)?;
    let (view, enterprise) = find(&state, id.into_inner()).await?;
    let units = Units::load(&state).await?;
    let form = AccountForm::of(&view, enterprise.as_ref());
    let shown = (&view, enterprise.as_ref());
    Ok(detail(
        &state,
        &signed,
        StatusCode::OK,
        shown,
        &form,
        &units,
        &[],
    ))
}

/// Shows the account's page again with the errors of a refused form (422) and what
/// was typed in it (`None`: the account as it is), or the error page.
async fn refused(
    state: &AppState,
    signed: &Signed,
    id: UserId,
    typed: Option<AccountForm>,
    error: ApiError,
) -> Result<HttpResponse, PageError> {
    let errors = form_errors(error)?;
    let (view, enterprise) = find(state, id).await?;
    let form = typed.unwrap_or_else(|| AccountForm::of(&view, enterprise.as_ref()));
    let units = Units::load(state).await?;
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let shown = (&view, enterprise.as_ref());
    Ok(detail(state, signed, status, shown, &form, &units, &errors))
}

/// `POST /console/users/{id}`: name, role and scope through the API's update; 303 to
/// the account, or its page again with the messages (422).
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<UserId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let id = id.into_inner();
    let form = AccountForm::read(&posted);
    let updated = async {
        let request = UpdateBody {
            display_name: Some(form.display_name.clone()),
            role: Some(form.role()?),
            sector_ids: Some(form.sector_ids.clone()),
            park_ids: Some(form.park_ids.clone()),
            enterprise_id: form.enterprise(&state).await?,
            active: None,
        };
        update_account(&state, signed.caller.clone(), id.clone(), request).await
    };
    match updated.await {
        Ok(view) => Ok(see_other(&user_path(&view.id))),
        Err(error) => refused(&state, &signed, id, Some(form), error).await,
    }
}

/// `POST /console/users/{id}/active`: `active=on|off` through the API's update
/// (disabling ends the account's sessions); 303 to the account.
pub async fn set_active(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<UserId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let active = match posted.value("active") {
        Some("on") => true,
        Some("off") => false,
        _ => return Err(ApiError::field("active", "invalid_value", "请选择启用或停用").into()),
    };
    let request = UpdateBody {
        active: Some(active),
        ..UpdateBody::default()
    };
    let view = update_account(&state, signed.caller.clone(), id.into_inner(), request).await?;
    Ok(see_other(&user_path(&view.id)))
}

/// `POST /console/users/{id}/password`: the API's reset with the typed or a generated
/// password, shown once; a password the policy refuses shows the page again (422).
pub async fn reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<UserId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let posted = signed.posted(&req, &body)?;
    admin_only(&signed)?;
    let id = id.into_inner();
    let password = posted
        .value("new_password")
        .filter(|typed| !typed.is_empty())
        .map_or_else(random_password, str::to_owned);
    match reset_password(&state, signed.caller.clone(), id.clone(), &password).await {
        Ok(()) => {
            let (view, _) = find(&state, id).await?;
            Ok(password_page(
                &state,
                &signed,
                &view,
                &password,
                "密码已重置",
            ))
        }
        Err(error) => refused(&state, &signed, id, None, error).await,
    }
}
