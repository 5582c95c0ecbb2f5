//! Survey campaigns (摸排任务): the `Campaign` model, its scope of sectors and parks,
//! who may see and run one, and starting it (one case per in-scope enterprise).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::caller::Caller;
use crate::db::schema::{
    enterprises, org_units, registrations, survey_campaign_scope, survey_campaigns,
};
use crate::db::{DbConnection, MultiBackend, now};
use crate::domain::id::{CampaignId, OrgUnitId, UserId};
use crate::domain::survey::{CampaignName, CampaignPeriod};
use crate::domain::zone;
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::org::{OrgKind, OrgUnit};
use crate::registrations::RegistrationStatus;
use crate::survey::cases::{Case, Subject};
use crate::survey::{CampaignStatus, SurveyScope};

/// The sectors and parks a campaign covers. An enterprise is in it when its sector is
/// listed (or none is) and its park is listed (or none is): both lists empty is the
/// whole zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampaignScope {
    /// Sectors (empty: every sector).
    pub sector_ids: Vec<OrgUnitId>,
    /// Parks (empty: every park).
    pub park_ids: Vec<OrgUnitId>,
}

impl CampaignScope {
    /// A scope of existing sectors and parks, each listed once; an unknown id is a
    /// field error naming its place (`sector_ids[1]`).
    pub fn check(
        conn: &mut DbConnection,
        sector_ids: Vec<OrgUnitId>,
        park_ids: Vec<OrgUnitId>,
    ) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        for (kind, ids) in [(OrgKind::Sector, &sector_ids), (OrgKind::Park, &park_ids)] {
            for (index, id) in ids.iter().enumerate() {
                if OrgUnit::find(conn, kind, id).is_err() {
                    errors.push(FieldError::new(
                        format!("{}[{index}]", kind.scope_field()),
                        "unknown_org_unit",
                        format!("{}不存在", kind.label()),
                    ));
                }
            }
        }
        errors.finish()?;
        let unique = |mut ids: Vec<OrgUnitId>| {
            ids.sort();
            ids.dedup();
            ids
        };
        Ok(Self {
            sector_ids: unique(sector_ids),
            park_ids: unique(park_ids),
        })
    }

    /// Whether an official of `scope` may run a campaign of this scope: every
    /// enterprise in it lies in their sectors (or parks). Admins and the zone command
    /// run every campaign.
    pub fn is_within(&self, scope: &SurveyScope) -> bool {
        let inside = |listed: &[OrgUnitId], mine: &[OrgUnitId]| {
            !listed.is_empty() && listed.iter().all(|id| mine.contains(id))
        };
        match scope {
            SurveyScope::All => true,
            SurveyScope::Sectors(mine) => inside(&self.sector_ids, mine),
            SurveyScope::Parks(mine) => inside(&self.park_ids, mine),
            SurveyScope::Assignee(_) | SurveyScope::Nothing => false,
        }
    }

    /// The in-scope enterprises, as a query.
    fn enterprises<'a>(&self) -> enterprises::BoxedQuery<'a, MultiBackend> {
        let mut query = enterprises::table.into_boxed();
        if !self.sector_ids.is_empty() {
            query = query.filter(enterprises::sector_id.eq_any(self.sector_ids.clone()));
        }
        if !self.park_ids.is_empty() {
            query = query.filter(enterprises::park_id.eq_any(self.park_ids.clone()));
        }
        query
    }
}

/// A stored campaign.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = survey_campaigns)]
pub struct Campaign {
    /// Id.
    pub id: CampaignId,
    /// Name.
    pub name: String,
    /// First zone day, `YYYY-MM-DD`.
    pub starts_on: String,
    /// Last zone day, `YYYY-MM-DD`.
    pub ends_on: String,
    /// Status.
    pub status: CampaignStatus,
    /// Who created it.
    pub created_by: UserId,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A validated campaign to create.
#[derive(Clone, Debug)]
pub struct NewCampaign {
    /// Name.
    pub name: CampaignName,
    /// Period.
    pub period: CampaignPeriod,
    /// Scope.
    pub scope: CampaignScope,
}

/// Validated changes; `None` leaves a field alone. The period is checked against the
/// stored one when applied.
#[derive(Clone, Debug, Default)]
pub struct CampaignChanges {
    /// New name.
    pub name: Option<CampaignName>,
    /// New first day.
    pub starts_on: Option<chrono::NaiveDate>,
    /// New last day.
    pub ends_on: Option<chrono::NaiveDate>,
    /// New status.
    pub status: Option<CampaignStatus>,
}

/// A campaign as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignView {
    /// Id.
    pub id: CampaignId,
    /// Name.
    pub name: String,
    /// First zone day.
    pub starts_on: String,
    /// Last zone day.
    pub ends_on: String,
    /// Status.
    pub status: CampaignStatus,
    /// Sectors covered (empty: all).
    pub sector_ids: Vec<OrgUnitId>,
    /// Parks covered (empty: all).
    pub park_ids: Vec<OrgUnitId>,
    /// Who created it.
    pub created_by: UserId,
    /// Created (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed (UTC).
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Rows one INSERT of [`Campaign::start`] writes: 18 columns each, well under the
/// bind limits of both backends (SQLite's 32,766, PostgreSQL's 65,535).
const CASE_CHUNK: usize = 1000;

impl Campaign {
    /// The campaigns `scope` sees, as a query: all of them for the zone; for an
    /// official those that list one of their sectors (parks) or list no sector (park)
    /// at all; none for anyone else.
    fn visible<'a>(scope: &SurveyScope) -> survey_campaigns::BoxedQuery<'a, MultiBackend> {
        let query = survey_campaigns::table.into_boxed();
        let (kind, mine) = match scope {
            SurveyScope::All => return query,
            SurveyScope::Sectors(ids) => (OrgKind::Sector, ids.clone()),
            SurveyScope::Parks(ids) => (OrgKind::Park, ids.clone()),
            SurveyScope::Assignee(_) | SurveyScope::Nothing => {
                return query.filter(survey_campaigns::id.eq_any(Vec::<CampaignId>::new()));
            }
        };
        let listing_mine = survey_campaign_scope::table
            .filter(survey_campaign_scope::org_unit_id.eq_any(mine))
            .select(survey_campaign_scope::campaign_id);
        let listing_kind = survey_campaign_scope::table
            .inner_join(org_units::table)
            .filter(org_units::kind.eq(kind.as_str()))
            .select(survey_campaign_scope::campaign_id);
        query.filter(
            survey_campaigns::id
                .eq_any(listing_mine)
                .or(diesel::dsl::not(survey_campaigns::id.eq_any(listing_kind))),
        )
    }

    /// A campaign `scope` sees; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        id: &CampaignId,
    ) -> Result<Campaign, ApiError> {
        Ok(Self::visible(scope)
            .filter(survey_campaigns::id.eq(id.clone()))
            .select(Campaign::as_select())
            .first(conn)?)
    }

    /// The campaigns `scope` sees, oldest first, after the id `after`.
    pub fn list(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Campaign>, ApiError> {
        let mut query = Self::visible(scope);
        if let Some(after) = after {
            query = query.filter(survey_campaigns::id.gt(after.to_owned()));
        }
        Ok(query
            .order(survey_campaigns::id.asc())
            .limit(limit)
            .select(Campaign::as_select())
            .load(conn)?)
    }

    /// The scopes of `ids`.
    pub fn scopes(
        conn: &mut DbConnection,
        ids: &[CampaignId],
    ) -> Result<HashMap<CampaignId, CampaignScope>, ApiError> {
        let rows: Vec<(CampaignId, OrgUnitId, String)> = survey_campaign_scope::table
            .inner_join(org_units::table)
            .filter(survey_campaign_scope::campaign_id.eq_any(ids))
            .order(survey_campaign_scope::org_unit_id.asc())
            .select((
                survey_campaign_scope::campaign_id,
                survey_campaign_scope::org_unit_id,
                org_units::kind,
            ))
            .load(conn)?;
        let mut scopes: HashMap<CampaignId, CampaignScope> = HashMap::new();
        for (campaign, unit, kind) in rows {
            let scope = scopes.entry(campaign).or_default();
            match OrgKind::parse(&kind) {
                Some(OrgKind::Sector) => scope.sector_ids.push(unit),
                Some(OrgKind::Park) => scope.park_ids.push(unit),
                None => {}
            }
        }
        Ok(scopes)
    }

    /// The scope of one campaign.
    pub fn scope(&self, conn: &mut DbConnection) -> Result<CampaignScope, ApiError> {
        Ok(Self::scopes(conn, std::slice::from_ref(&self.id))?
            .remove(&self.id)
            .unwrap_or_default())
    }

    /// A campaign `caller` sees and may run (change, assign its cases): admins and
    /// the zone command any; an official one that lies within their sectors or parks
    /// (403 for one they only see); anything else 404. Returns it with its scope.
    pub fn find_to_run(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        id: &CampaignId,
    ) -> Result<(Campaign, CampaignScope), ApiError> {
        let campaign = Self::find(conn, scope, id)?;
        let campaign_scope = campaign.scope(conn)?;
        if !campaign_scope.is_within(scope) {
            return Err(not_yours());
        }
        Ok((campaign, campaign_scope))
    }

    /// Adds views' scopes.
    pub fn views(
        conn: &mut DbConnection,
        rows: Vec<Campaign>,
    ) -> Result<Vec<CampaignView>, ApiError> {
        let ids: Vec<CampaignId> = rows.iter().map(|c| c.id.clone()).collect();
        let mut scopes = Self::scopes(conn, &ids)?;
        Ok(rows
            .into_iter()
            .map(|c| {
                let scope = scopes.remove(&c.id).unwrap_or_default();
                CampaignView {
                    id: c.id,
                    name: c.name,
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                    status: c.status,
                    sector_ids: scope.sector_ids,
                    park_ids: scope.park_ids,
                    created_by: c.created_by,
                    created_at: c.created_at.and_utc(),
                    updated_at: c.updated_at.and_utc(),
                }
            })
            .collect())
    }

    /// One campaign for the API.
    pub fn view(conn: &mut DbConnection, row: Campaign) -> Result<CampaignView, ApiError> {
        Self::views(conn, vec![row])?
            .pop()
            .ok_or_else(ApiError::not_found)
    }

    /// What an audit entry records of a change.
    pub fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "status": self.status,
        })
    }

    /// Creates a draft campaign of `caller`, who must be allowed to run its scope
    /// (403 otherwise).
    pub fn create(
        conn: &mut DbConnection,
        caller: &Caller,
        new: &NewCampaign,
    ) -> Result<Campaign, ApiError> {
        let scope = SurveyScope::of(caller);
        if !new.scope.is_within(&scope) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "只能在本人负责的行业或园区范围内新建摸排任务",
            ));
        }
        let id = CampaignId::generate();
        let at = now();
        diesel::insert_into(survey_campaigns::table)
            .values((
                survey_campaigns::id.eq(&id),
                survey_campaigns::name.eq(new.name.as_str()),
                survey_campaigns::starts_on.eq(zone::day_text(new.period.starts_on())),
                survey_campaigns::ends_on.eq(zone::day_text(new.period.ends_on())),
                survey_campaigns::status.eq(CampaignStatus::Draft),
                survey_campaigns::created_by.eq(&caller.user_id),
                survey_campaigns::created_at.eq(at),
                survey_campaigns::updated_at.eq(at),
            ))
            .execute(conn)?;
        for unit in new.scope.sector_ids.iter().chain(&new.scope.park_ids) {
            diesel::insert_into(survey_campaign_scope::table)
                .values((
                    survey_campaign_scope::campaign_id.eq(&id),
                    survey_campaign_scope::org_unit_id.eq(unit),
                ))
                .execute(conn)?;
        }
        Self::find(conn, &SurveyScope::All, &id)
    }

    /// Applies changes: a closed campaign changes no more (409 `invalid_transition`),
    /// the status only moves draft → running → closed (or draft → closed), and the
    /// period stays in order. Starting it creates its cases ([`Campaign::start`]);
    /// returns the campaign and how many cases that created.
    pub fn update(
        conn: &mut DbConnection,
        campaign: &Campaign,
        scope: &CampaignScope,
        changes: &CampaignChanges,
    ) -> Result<(Campaign, Option<usize>), ApiError> {
        if campaign.status == CampaignStatus::Closed {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                "摸排任务已结束，不能再修改",
            ));
        }
        let stored_day = |text: &str, field: &str| {
            zone::parse_day(text).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("campaign {field} {text:?} is not a day"))
            })
        };
        let starts_on = match changes.starts_on {
            Some(day) => day,
            None => stored_day(&campaign.starts_on, "starts_on")?,
        };
        let ends_on = match changes.ends_on {
            Some(day) => day,
            None => stored_day(&campaign.ends_on, "ends_on")?,
        };
        let period = CampaignPeriod::new(starts_on, ends_on)?;
        let status = changes.status.unwrap_or(campaign.status);
        if status != campaign.status && !campaign.status.may_become(status) {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                format!(
                    "摸排任务状态不能从“{}”改为“{}”",
                    campaign.status.label(),
                    status.label()
                ),
            ));
        }
        diesel::update(survey_campaigns::table.find(&campaign.id))
            .set((
                changes
                    .name
                    .as_ref()
                    .map(|name| survey_campaigns::name.eq(name.as_str().to_owned())),
                survey_campaigns::starts_on.eq(zone::day_text(period.starts_on())),
                survey_campaigns::ends_on.eq(zone::day_text(period.ends_on())),
                survey_campaigns::status.eq(status),
                survey_campaigns::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let started = (campaign.status == CampaignStatus::Draft
            && status == CampaignStatus::Running)
            .then(|| Self::start(conn, &campaign.id, scope))
            .transpose()?;
        Ok((Self::find(conn, &SurveyScope::All, &campaign.id)?, started))
    }

    /// Creates one unassigned case per enterprise in `scope`, in multi-row INSERTs
    /// (the caller's transaction holds them together); returns how many.
    fn start(
        conn: &mut DbConnection,
        id: &CampaignId,
        scope: &CampaignScope,
    ) -> Result<usize, ApiError> {
        let approved = registrations::table
            .filter(registrations::enterprise_id.eq(enterprises::id))
            .filter(registrations::status.eq(RegistrationStatus::Approved));
        let subjects: Vec<Subject> = scope
            .enterprises()
            .order(enterprises::id.asc())
            .select((
                enterprises::id,
                enterprises::sector_id,
                enterprises::park_id,
                diesel::dsl::exists(approved),
            ))
            .load(conn)?;
        let at = now();
        let cases: Vec<_> = subjects
            .into_iter()
            .map(|subject| Case::new_unassigned(id, subject, at))
            .collect();
        for chunk in cases.chunks(CASE_CHUNK) {
            Case::insert_all(conn, chunk)?;
        }
        Ok(cases.len())
    }
}

fn not_yours() -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        "该摸排任务超出您负责的行业或园区范围，只能查看",
    )
}
