//! The zone's organisation: sectors (行业, each owned by a sector authority) and parks
//! (属地园区). Both are organisational units stored in one table, told apart by kind.

pub mod handlers;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{enterprises, org_units, survey_demands, user_scopes};
use crate::db::{DbConnection, now};
use crate::domain::id::OrgUnitId;
use crate::domain::org::{OrgCode, OrgName};
use crate::error::{ApiError, ErrorCode};

/// Sector or park.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgKind {
    /// 行业.
    Sector,
    /// 园区.
    Park,
}

impl OrgKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Sector => "sector",
            OrgKind::Park => "park",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [OrgKind::Sector, OrgKind::Park]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
    }

    /// Chinese name for messages.
    pub fn label(self) -> &'static str {
        match self {
            OrgKind::Sector => "行业",
            OrgKind::Park => "园区",
        }
    }

    /// The user field that holds units of this kind.
    pub fn scope_field(self) -> &'static str {
        match self {
            OrgKind::Sector => "sector_ids",
            OrgKind::Park => "park_ids",
        }
    }
}

/// A stored sector or park.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = org_units)]
pub struct OrgUnit {
    /// Id.
    pub id: OrgUnitId,
    /// `sector` or `park`.
    pub kind: String,
    /// Short code, upper case.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// The owning authority (sectors only).
    pub authority: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A sector or park as the API shows it.
#[derive(Debug, Serialize)]
pub struct OrgUnitView {
    /// Id.
    pub id: OrgUnitId,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Sector authority (行业主管部门); sectors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<OrgUnit> for OrgUnitView {
    fn from(unit: OrgUnit) -> Self {
        Self {
            id: unit.id,
            code: unit.code,
            name: unit.name,
            authority: unit.authority,
            created_at: unit.created_at.and_utc(),
            updated_at: unit.updated_at.and_utc(),
        }
    }
}

/// A validated sector or park to create.
#[derive(Debug)]
pub struct NewOrgUnit {
    /// Kind.
    pub kind: OrgKind,
    /// Code.
    pub code: OrgCode,
    /// Name.
    pub name: OrgName,
    /// Authority (sectors).
    pub authority: Option<OrgName>,
}

/// Validated changes; `None` leaves a field alone.
#[derive(Debug, Default)]
pub struct OrgUnitChanges {
    /// New code.
    pub code: Option<OrgCode>,
    /// New name.
    pub name: Option<OrgName>,
    /// New authority.
    pub authority: Option<OrgName>,
}

impl OrgUnit {
    /// By id within a kind.
    pub fn find(
        conn: &mut DbConnection,
        kind: OrgKind,
        id: &OrgUnitId,
    ) -> Result<OrgUnit, ApiError> {
        Ok(org_units::table
            .filter(org_units::kind.eq(kind.as_str()))
            .filter(org_units::id.eq(id))
            .select(OrgUnit::as_select())
            .first(conn)?)
    }

    /// Units of a kind ordered by code, after the code `after`.
    pub fn list(
        conn: &mut DbConnection,
        kind: OrgKind,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OrgUnit>, ApiError> {
        let mut query = org_units::table
            .filter(org_units::kind.eq(kind.as_str()))
            .select(OrgUnit::as_select())
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(org_units::code.gt(after.to_owned()));
        }
        Ok(query.order(org_units::code.asc()).limit(limit).load(conn)?)
    }

    /// Creates a unit; code and name are unique within the kind.
    pub fn create(conn: &mut DbConnection, new: &NewOrgUnit) -> Result<OrgUnit, ApiError> {
        Self::ensure_unique(conn, new.kind, None, Some(&new.code), Some(&new.name))?;
        let id = OrgUnitId::generate();
        let at = now();
        diesel::insert_into(org_units::table)
            .values((
                org_units::id.eq(&id),
                org_units::kind.eq(new.kind.as_str()),
                org_units::code.eq(new.code.as_str()),
                org_units::name.eq(new.name.as_str()),
                org_units::authority.eq(new.authority.as_ref().map(OrgName::as_str)),
                org_units::created_at.eq(at),
                org_units::updated_at.eq(at),
            ))
            .execute(conn)?;
        Self::find(conn, new.kind, &id)
    }

    /// Applies changes to an existing unit.
    pub fn update(
        conn: &mut DbConnection,
        kind: OrgKind,
        id: &OrgUnitId,
        changes: &OrgUnitChanges,
    ) -> Result<OrgUnit, ApiError> {
        Self::find(conn, kind, id)?;
        Self::ensure_unique(
            conn,
            kind,
            Some(id),
            changes.code.as_ref(),
            changes.name.as_ref(),
        )?;
        diesel::update(org_units::table.find(id))
            .set((
                changes
                    .code
                    .as_ref()
                    .map(|code| org_units::code.eq(code.as_str().to_owned())),
                changes
                    .name
                    .as_ref()
                    .map(|name| org_units::name.eq(name.as_str().to_owned())),
                changes
                    .authority
                    .as_ref()
                    .map(|authority| org_units::authority.eq(Some(authority.as_str().to_owned()))),
                org_units::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Self::find(conn, kind, id)
    }

    /// Deletes a unit no account, no enterprise and no survey demand belongs to;
    /// otherwise 409.
    pub fn delete(conn: &mut DbConnection, kind: OrgKind, id: &OrgUnitId) -> Result<(), ApiError> {
        Self::find(conn, kind, id)?;
        let users: i64 = user_scopes::table
            .filter(user_scopes::org_unit_id.eq(id))
            .count()
            .get_result(conn)?;
        let members: i64 = enterprises::table
            .filter(
                enterprises::sector_id
                    .eq(id)
                    .or(enterprises::park_id.eq(id)),
            )
            .count()
            .get_result(conn)?;
        let demands: i64 = survey_demands::table
            .filter(
                survey_demands::unit_id
                    .eq(id)
                    .or(survey_demands::sector_id.eq(id))
                    .or(survey_demands::park_id.eq(id)),
            )
            .count()
            .get_result(conn)?;
        if demands > 0 {
            return Err(ApiError::new(
                ErrorCode::OrgUnitInUse,
                format!("该{}仍有 {demands} 条摸排诉求，不能删除", kind.label()),
            ));
        }
        if users > 0 || members > 0 {
            return Err(ApiError::new(
                ErrorCode::OrgUnitInUse,
                format!(
                    "仍有 {users} 个账号、{members} 家企业属于该{}，请先调整",
                    kind.label()
                ),
            ));
        }
        diesel::delete(org_units::table.find(id)).execute(conn)?;
        Ok(())
    }

    fn ensure_unique(
        conn: &mut DbConnection,
        kind: OrgKind,
        except_id: Option<&OrgUnitId>,
        code: Option<&OrgCode>,
        name: Option<&OrgName>,
    ) -> Result<(), ApiError> {
        let others = || {
            let mut query = org_units::table
                .filter(org_units::kind.eq(kind.as_str()))
                .select(org_units::id)
                .into_boxed();
            if let Some(except) = except_id {
                query = query.filter(org_units::id.ne(except.to_owned()));
            }
            query
        };
        if let Some(code) = code
            && others()
                .filter(org_units::code.eq(code.as_str().to_owned()))
                .first::<String>(conn)
                .optional()?
                .is_some()
        {
            let detail = format!("该{}编码已存在", kind.label());
            return Err(ApiError::new(ErrorCode::CodeTaken, detail));
        }
        if let Some(name) = name
            && others()
                .filter(org_units::name.eq(name.as_str().to_owned()))
                .first::<String>(conn)
                .optional()?
                .is_some()
        {
            let detail = format!("该{}名称已存在", kind.label());
            return Err(ApiError::new(ErrorCode::NameTaken, detail));
        }
        Ok(())
    }
}
