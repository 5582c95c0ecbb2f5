//! `POST /api/v1/survey/surveyors/import`: the sheet a sector authority or a park
//! sends (姓名, 手机号, 所属行业或园区) becomes surveyor accounts of those teams, each
//! with a one-time activation code, through the bulk accounts' machinery
//! ([`create_accounts`]). All or nothing: every bad row is reported (unknown team,
//! a team outside the caller's scope, a bad phone, a phone repeated in the sheet or
//! already an account's), and nothing is written while one is bad. The phone is
//! sealed under [`USER_PHONE`] and only ever shown masked.
//!
//! Also `POST /api/v1/survey/surveyors/{id}/team`: an admin, or an official within
//! their own sectors or parks, moves a surveyor to another team, as the admin's user
//! update does (visits and finished cases stay theirs, open cases the new team does
//! not cover go back to the pool).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::db::schema::org_units;
use crate::domain::account::{DisplayName, Role, Scope};
use crate::domain::id::{OrgUnitId, UserId};
use crate::domain::person::Mobile;
use crate::enterprises::handlers::sheet_file;
use crate::enterprises::import::RowError;
use crate::enterprises::roster::{RawRow, SheetColumns, read_as};
use crate::error::{ApiError, FieldError};
use crate::heavy::Slot;
use crate::org::OrgKind;
use crate::personal::Vault;
use crate::state::AppState;
use crate::users::activation::bulk::{AccountOutcome, BulkRow, MAX_ACCOUNTS, create_accounts};
use crate::users::activation::handlers::{MAX_SHEET_USERS, print_taken};
use crate::users::handlers::{UpdateBody, update_account};
use crate::users::{USER_PHONE, User, UserView};

/// A column of the surveyors' sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SurveyorColumn {
    /// 姓名.
    Name,
    /// 手机号.
    Phone,
    /// 所属行业或园区: the team, by the sector's or park's name or code.
    Team,
}

impl SheetColumns for SurveyorColumn {
    const REQUIRED: &'static [Self] = &[Self::Name, Self::Phone, Self::Team];

    /// 姓名/名字/name; 手机号/手机/手机号码/联系电话/phone/mobile;
    /// 所属行业或园区/所属行业/园区/行业或园区/所属单位/team, surrounding spaces and
    /// required-field stars ignored.
    fn from_header(text: &str) -> Option<Self> {
        let text = text
            .trim()
            .trim_matches(|c: char| c == '*' || c == '＊' || c.is_whitespace())
            .to_lowercase();
        Some(match text.as_str() {
            "姓名" | "名字" | "name" => Self::Name,
            "手机号" | "手机" | "手机号码" | "联系电话" | "phone" | "mobile" => {
                Self::Phone
            }
            "所属行业或园区"
            | "所属行业/园区"
            | "行业或园区"
            | "所属行业园区"
            | "所属单位"
            | "team" => Self::Team,
            _ => return None,
        })
    }

    fn header(self) -> &'static str {
        match self {
            Self::Name => "姓名",
            Self::Phone => "手机号",
            Self::Team => "所属行业或园区",
        }
    }
}

impl SurveyorColumn {
    /// Stable English key for error reports: name, phone, team.
    fn key(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Phone => "phone",
            Self::Team => "team",
        }
    }

    /// An error of this column in `row`.
    fn error(self, row: usize, error: FieldError) -> RowError {
        RowError {
            row,
            column: self.key(),
            header: self.header(),
            code: error.code,
            message: error.message,
        }
    }
}

/// Query of the import.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
    /// Answer with the printed activation sheet of the accounts created.
    #[serde(default)]
    print: bool,
}

/// What an import did, or would do.
#[derive(Debug, Serialize)]
pub struct SurveyorImport {
    /// Nothing was meant to be written.
    pub dry_run: bool,
    /// Whether the accounts were created.
    pub written: bool,
    /// Data rows read.
    pub rows: usize,
    /// Every problem found (nothing is written while there is one).
    pub errors: Vec<RowError>,
    /// The accounts created (with their codes, shown this once), or to be created.
    pub accounts: Vec<AccountOutcome>,
}

/// The teams a sheet may name: sectors and parks by name and upper-case code.
struct Teams(HashMap<String, Vec<(OrgKind, OrgUnitId)>>);

impl Teams {
    fn load(conn: &mut DbConnection) -> Result<Self, ApiError> {
        let rows: Vec<(OrgUnitId, String, String, String)> = org_units::table
            .select((
                org_units::id,
                org_units::kind,
                org_units::code,
                org_units::name,
            ))
            .load(conn)?;
        let mut keys: HashMap<String, Vec<(OrgKind, OrgUnitId)>> = HashMap::new();
        for (id, kind, code, name) in rows {
            let Some(kind) = OrgKind::parse(&kind) else {
                continue;
            };
            keys.entry(code.to_uppercase())
                .or_default()
                .push((kind, id.clone()));
            if name.to_uppercase() != code.to_uppercase() {
                keys.entry(name).or_default().push((kind, id));
            }
        }
        Ok(Self(keys))
    }

    /// The one team `text` names, or the cell's error: unknown, named twice over
    /// (a sector and a park of that name), or outside what `caller` may staff.
    fn resolve(&self, text: &str, caller: &Caller) -> Result<Scope, FieldError> {
        let text = text.trim();
        let found = self
            .0
            .get(text)
            .or_else(|| self.0.get(&text.to_uppercase()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (kind, id) = match found {
            [one] => one.clone(),
            [] => {
                return Err(FieldError::new(
                    "team",
                    "unknown_team",
                    format!("找不到行业或园区“{text}”，请填写系统中已有的名称或编码"),
                ));
            }
            _ => {
                return Err(FieldError::new(
                    "team",
                    "ambiguous_team",
                    format!("“{text}”既是行业又是园区，请改填编码"),
                ));
            }
        };
        let mine = match caller.role {
            Role::Admin => true,
            Role::SectorOfficial => {
                kind == OrgKind::Sector && caller.scope.sector_ids.contains(&id)
            }
            Role::ParkOfficial => kind == OrgKind::Park && caller.scope.park_ids.contains(&id),
            _ => false,
        };
        if !mine {
            return Err(FieldError::new(
                "team",
                "team_out_of_scope",
                format!("“{text}”不是您负责的行业或园区，不能为其导入摸排人员"),
            ));
        }
        Ok(match kind {
            OrgKind::Sector => Scope {
                sector_ids: vec![id],
                ..Scope::default()
            },
            OrgKind::Park => Scope {
                park_ids: vec![id],
                ..Scope::default()
            },
        })
    }
}

/// Checks every row: the accounts to create, or every row's errors.
fn check(
    conn: &mut DbConnection,
    vault: &Vault,
    caller: &Caller,
    rows: &[RawRow<SurveyorColumn>],
) -> Result<Result<Vec<BulkRow>, Vec<RowError>>, ApiError> {
    let teams = Teams::load(conn)?;
    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(rows.len());
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    for raw in rows {
        let cell = |column| raw.cells.get(&column).map_or("", String::as_str);
        let before = errors.len();
        let name = DisplayName::parse(cell(SurveyorColumn::Name))
            .map_err(|e| errors.push(SurveyorColumn::Name.error(raw.row, e)))
            .ok();
        let team = teams
            .resolve(cell(SurveyorColumn::Team), caller)
            .map_err(|e| errors.push(SurveyorColumn::Team.error(raw.row, e)))
            .ok();
        let phone = match Mobile::parse(cell(SurveyorColumn::Phone)) {
            Ok(mobile) => {
                let index = vault.blind_index(USER_PHONE, mobile.as_str());
                match first_row_of.get(&index) {
                    Some(first) => {
                        let message = format!("与第 {first} 行的手机号重复");
                        let error = FieldError::new("phone", "duplicate_in_file", message);
                        errors.push(SurveyorColumn::Phone.error(raw.row, error));
                        None
                    }
                    None => {
                        first_row_of.insert(index.clone(), raw.row);
                        Some((mobile, index))
                    }
                }
            }
            Err(error) => {
                errors.push(SurveyorColumn::Phone.error(raw.row, error));
                None
            }
        };
        if let (Some(name), Some(team), Some(phone), true) =
            (name, team, phone, errors.len() == before)
        {
            valid.push((raw.row, name, team, phone));
        }
    }
    let indexes: Vec<String> = valid.iter().map(|(.., (_, index))| index.clone()).collect();
    let taken = User::phones_taken(conn, &indexes)?;
    let mut accounts = Vec::with_capacity(valid.len());
    for (row, name, team, (mobile, index)) in valid {
        if taken.contains(&index) {
            let error = FieldError::new("phone", "phone_taken", "该手机号已有账号");
            errors.push(SurveyorColumn::Phone.error(row, error));
            continue;
        }
        let sealed = vault
            .seal_mobile(USER_PHONE, &mobile)
            .map_err(ApiError::internal)?;
        accounts.push(BulkRow::surveyor(name.as_str().to_owned(), team, sealed));
    }
    if errors.is_empty() {
        Ok(Ok(accounts))
    } else {
        errors.sort_by_key(|error| error.row);
        Ok(Err(errors))
    }
}

/// `POST /api/v1/survey/surveyors/import?dry_run=&print=`: the body is the CSV or
/// XLSX sheet. Admins import any team, a sector or park official only their own
/// sectors or parks. 201 with the accounts and their codes when written (with
/// `print`, the printed activation sheet of those accounts instead, its codes
/// issued afresh as the sheet always does); 200 with the accounts to be created on
/// a dry run, or with every row's errors (nothing written).
pub async fn import_surveyors(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let slot = state.heavy.imports.take(caller.user_id.as_str())?;
    let ImportQuery { dry_run, print } = query.into_inner();
    // Taken before anything is written, so that printing the accounts is not refused.
    let sheet = (print && !dry_run)
        .then(|| state.heavy.sheets.take(caller.user_id.as_str()))
        .transpose()?;
    let file = sheet_file(&req, payload).await?;
    let report = import_sheet(&state, &caller, &slot, file, dry_run, sheet.is_some()).await?;
    if report.written
        && let Some(slot) = sheet
    {
        let printed = print_taken(&state, caller, slot, report.created_ids()).await?;
        let mut response = printed.into_response();
        *response.status_mut() = StatusCode::CREATED;
        return Ok(response);
    }
    Ok(if report.written {
        HttpResponse::Created().json(report)
    } else {
        HttpResponse::Ok().json(report)
    })
}

/// The service of [`import_surveyors`] and of the console's import page: reads the
/// sheet `file`, checks every row and, unless a dry run or a row is bad, creates the
/// accounts with their codes (audited `user.create` via `surveyor_sheet`). At most
/// [`MAX_ACCOUNTS`] rows, or [`MAX_SHEET_USERS`] when the accounts are to be
/// `printed`. The caller holds an import slot.
pub async fn import_sheet(
    state: &AppState,
    caller: &Caller,
    _slot: &Slot,
    file: web::Bytes,
    dry_run: bool,
    printed: bool,
) -> Result<SurveyorImport, ApiError> {
    let rows = web::block(move || read_as::<SurveyorColumn>(&file))
        .await
        .map_err(ApiError::internal)?
        .map_err(|error| ApiError::new(error.code(), error.message()))?;
    let most = if printed {
        MAX_SHEET_USERS
    } else {
        MAX_ACCOUNTS
    };
    if rows.len() > most {
        return Err(ApiError::field(
            "rows",
            "too_many_accounts",
            format!(
                "一次最多导入 {most} 名摸排人员（打印激活单时最多 {MAX_SHEET_USERS} 名），请拆分后分批导入"
            ),
        ));
    }
    let vault = state.vault.clone();
    let checker = caller.clone();
    let count = rows.len();
    let checked = state
        .db
        .read(move |conn| check(conn, &vault, &checker, &rows))
        .await?;
    let report = |written, errors, accounts| SurveyorImport {
        dry_run,
        written,
        rows: count,
        errors,
        accounts,
    };
    Ok(match checked {
        Err(errors) => report(false, errors, Vec::new()),
        Ok(accounts) => {
            let outcome =
                create_accounts(state, caller.clone(), accounts, dry_run, "surveyor_sheet").await?;
            report(!dry_run, Vec::new(), outcome.accounts)
        }
    })
}

impl SurveyorImport {
    /// The ids of the accounts created.
    pub fn created_ids(&self) -> Vec<UserId> {
        self.accounts.iter().filter_map(|a| a.id.clone()).collect()
    }
}

/// Body of a team move: the new team, one sector or one park.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    #[serde(default)]
    sector_id: Option<OrgUnitId>,
    #[serde(default)]
    park_id: Option<OrgUnitId>,
}

/// Whether `caller` staffs the team `scope` (one sector or one park).
fn staffs(caller: &Caller, scope: &Scope) -> bool {
    match caller.role {
        Role::Admin => true,
        Role::SectorOfficial => {
            !scope.sector_ids.is_empty()
                && scope
                    .sector_ids
                    .iter()
                    .all(|id| caller.scope.sector_ids.contains(id))
        }
        Role::ParkOfficial => {
            !scope.park_ids.is_empty()
                && scope
                    .park_ids
                    .iter()
                    .all(|id| caller.scope.park_ids.contains(id))
        }
        _ => false,
    }
}

/// `POST /api/v1/survey/surveyors/{id}/team`: moves a surveyor to the team of one
/// sector or one park. A surveyor whose team the caller does not staff is 404 (as is
/// any other account); a new team the caller does not staff, or one that does not
/// exist, is 422. Audited as the user update `user.update`, with each case returned
/// to the pool as `survey.case.release`.
pub async fn move_surveyor(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<UserId>,
    body: web::Json<MoveBody>,
) -> Result<web::Json<UserView>, ApiError> {
    let MoveBody { sector_id, park_id } = body.into_inner();
    let team = match (sector_id, park_id) {
        (Some(sector), None) => Scope {
            sector_ids: vec![sector],
            ..Scope::default()
        },
        (None, Some(park)) => Scope {
            park_ids: vec![park],
            ..Scope::default()
        },
        _ => {
            return Err(ApiError::field(
                "sector_id",
                "invalid_value",
                "请给出新的行业（sector_id）或园区（park_id）其中之一",
            ));
        }
    };
    let id = id.into_inner();
    let checker = caller.clone();
    let target = team.clone();
    let id = state
        .db
        .read(move |conn| {
            let (user, current) = User::find_with_scope(conn, &id)?;
            if user.role != Role::Surveyor || !staffs(&checker, &current) {
                return Err(ApiError::not_found());
            }
            User::check_scope(conn, &target)?.finish()?;
            if !staffs(&checker, &target) {
                let field = if target.sector_ids.is_empty() {
                    "park_id"
                } else {
                    "sector_id"
                };
                return Err(ApiError::field(
                    field,
                    "team_out_of_scope",
                    "不是您负责的行业或园区，不能把摸排人员调入",
                ));
            }
            Ok(user.id)
        })
        .await?;
    let update = UpdateBody {
        sector_ids: Some(team.sector_ids),
        park_ids: Some(team.park_ids),
        ..UpdateBody::default()
    };
    update_account(&state, caller, id, update)
        .await
        .map(web::Json)
}
