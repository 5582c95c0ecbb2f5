//! Field discoveries (摸排新发现): an enterprise a surveyor finds in the field that is
//! not on the roster. At submission it is matched against the roster ([`Candidate`]s:
//! the same unified credit code, or a close name or address, see [`match_roster`]).
//! Without a candidate, and with a credit code (the roster keys enterprises by it), it
//! is added to the roster at once and becomes a case of the campaign assigned to its
//! reporter, in the same transaction. Otherwise it waits in the merge queue until an
//! official within scope merges it into an existing enterprise (its case in the
//! campaign goes to the reporter if nobody has it) or adds it to the roster.
//!
//! Who sees what: admins and the zone command every discovery; a sector or park
//! official those placed in their sectors or parks; a surveyor their own.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, Actor, Event};
use crate::db::mapping::text_enum;
use crate::db::schema::{enterprises, registrations, survey_cases, survey_discoveries};
use crate::db::{DbConnection, MultiBackend, now};
use crate::domain::account::Scope;
use crate::domain::enterprise::{CreditCode, EnterpriseName, EnterpriseStatus};
use crate::domain::id::{CampaignId, CaseId, DiscoveryId, EnterpriseId, OrgUnitId, UserId};
use crate::domain::survey::ClientId;
use crate::enterprises::{Enterprise, NewEnterprise, Visibility};
use crate::error::{ApiError, ErrorCode, FieldError, FieldErrors};
use crate::org::{OrgKind, OrgUnit};
use crate::personal::SealedMobile;
use crate::registrations::RegistrationStatus;
use crate::survey::assignment::Surveyor;
use crate::survey::campaigns::{Campaign, CampaignScope};
use crate::survey::cases::Case;
use crate::survey::{CampaignStatus, SurveyScope, Written, display_names};

text_enum! {
    /// Where a discovery stands.
    pub enum DiscoveryState {
        /// In the merge queue: it may be an enterprise already on the roster (or it
        /// has no credit code to be added by), an official decides.
        PendingReview = "pending_review" / "待核对",
        /// Merged into an enterprise already on the roster.
        Merged = "merged" / "已合并",
        /// Added to the roster (at once when nothing matched, or by an official).
        Added = "added" / "已入库",
    }
}

text_enum! {
    /// Why a roster enterprise may be the discovered one.
    pub enum MatchReason {
        /// The same unified social credit code.
        CreditCode = "credit_code" / "统一社会信用代码相同",
        /// A close name ([`NAME_THRESHOLD`]).
        Name = "name" / "名称相近",
        /// A close address ([`ADDRESS_THRESHOLD`]).
        Address = "address" / "地址相近",
    }
}

text_enum! {
    /// What an official does with a discovery in the merge queue.
    pub enum ResolveAction {
        /// It is an enterprise already on the roster.
        Merge = "merge" / "合并到已有企业",
        /// It is a new enterprise: add it to the roster.
        Add = "add" / "加入企业名录",
    }
}

/// Names whose normalised forms ([`name_key`]) are at least this similar
/// (normalised Levenshtein, 1 is equal) are candidates: 福州甲一化工 and 福州市甲一化工
/// (0.86) are, 福州甲一化工 and 福州甲二化工 (0.83) are not.
pub const NAME_THRESHOLD: f64 = 0.85;

/// Addresses whose normalised forms ([`normalise`]) are at least this similar are
/// candidates; shorter ones than [`ADDRESS_MIN_CHARS`] say too little to compare.
pub const ADDRESS_THRESHOLD: f64 = 0.9;

/// Addresses shorter than this (normalised) are not compared.
pub const ADDRESS_MIN_CHARS: usize = 6;

/// At most this many candidates are kept, the closest first.
pub const MAX_CANDIDATES: usize = 5;

/// Legal-form endings that say nothing about which enterprise it is, longest first.
const NAME_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "公司",
    "厂",
];

/// A roster enterprise the discovery may be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// Why.
    pub reason: MatchReason,
    /// How close (1 for the same credit code), to four places.
    pub similarity: f64,
}

/// Letters and digits only, full-width forms as ASCII, lower case: what is left of a
/// name or an address to compare.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A name as compared: normalised, without its legal form (有限公司, ...).
pub fn name_key(name: &str) -> String {
    let key = normalise(name);
    NAME_SUFFIXES
        .iter()
        .find_map(|suffix| key.strip_suffix(suffix))
        .map(str::to_owned)
        .unwrap_or(key)
}

fn rounded(similarity: f64) -> f64 {
    (similarity * 10_000.0).round() / 10_000.0
}

/// The roster enterprises (`roster`: id, name, address) a discovery of `name` at
/// `address` may be: a close name first, else a close address; the closest
/// [`MAX_CANDIDATES`] of them.
pub fn match_names<'a>(
    name: &str,
    address: &str,
    roster: impl Iterator<Item = (&'a EnterpriseId, &'a str, &'a str)>,
) -> Vec<Candidate> {
    let name = name_key(name);
    let address = normalise(address);
    let compare_address = address.chars().count() >= ADDRESS_MIN_CHARS;
    let mut found: Vec<Candidate> = roster
        .filter_map(|(id, other_name, other_address)| {
            let by_name = strsim::normalized_levenshtein(&name, &name_key(other_name));
            if !name.is_empty() && by_name >= NAME_THRESHOLD {
                return Some((id, MatchReason::Name, by_name));
            }
            let other_address = normalise(other_address);
            if !compare_address || other_address.chars().count() < ADDRESS_MIN_CHARS {
                return None;
            }
            let by_address = strsim::normalized_levenshtein(&address, &other_address);
            (by_address >= ADDRESS_THRESHOLD).then_some((id, MatchReason::Address, by_address))
        })
        .map(|(id, reason, similarity)| Candidate {
            enterprise_id: id.clone(),
            reason,
            similarity: rounded(similarity),
        })
        .collect();
    found.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.enterprise_id.cmp(&b.enterprise_id))
    });
    found.truncate(MAX_CANDIDATES);
    found
}

/// The roster enterprises a discovery may be: the one with its credit code first,
/// then close names and addresses ([`match_names`]).
pub fn match_roster(
    conn: &mut DbConnection,
    new: &NewDiscovery,
) -> Result<Vec<Candidate>, ApiError> {
    let same_code = match &new.credit_code {
        Some(code) => Enterprise::find_by_credit_code(conn, code)?,
        None => None,
    };
    let roster: Vec<(EnterpriseId, String, String)> = enterprises::table
        .select((enterprises::id, enterprises::name, enterprises::address))
        .load(conn)?;
    let mut candidates: Vec<Candidate> = same_code
        .iter()
        .map(|enterprise| Candidate {
            enterprise_id: enterprise.id.clone(),
            reason: MatchReason::CreditCode,
            similarity: 1.0,
        })
        .collect();
    let close = match_names(
        new.name.as_str(),
        &new.address,
        roster
            .iter()
            .filter(|(id, _, _)| same_code.as_ref().is_none_or(|same| &same.id != id))
            .map(|(id, name, address)| (id, name.as_str(), address.as_str())),
    );
    candidates.extend(close);
    candidates.truncate(MAX_CANDIDATES);
    Ok(candidates)
}

/// A stored discovery.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_discoveries, treat_none_as_default_value = false)]
pub struct Discovery {
    /// Id.
    pub id: DiscoveryId,
    /// The campaign it was found in.
    pub campaign_id: CampaignId,
    /// The surveyor who found it.
    pub reported_by: UserId,
    /// The device's id for it.
    pub client_id: String,
    /// Name as found.
    pub name: String,
    /// Credit code, when known.
    pub credit_code: Option<String>,
    /// Address.
    pub address: String,
    /// Sector.
    pub sector_id: OrgUnitId,
    /// Park.
    pub park_id: OrgUnitId,
    /// Contact person (may be empty).
    pub contact_person: String,
    /// Contact phone sealed as the roster's, empty when none.
    pub contact_phone_sealed: String,
    /// Its blind index.
    pub contact_phone_index: String,
    /// Its masked form.
    pub contact_phone_masked: String,
    /// Notes.
    pub notes: String,
    /// State.
    pub state: DiscoveryState,
    /// The roster matches found at submission, as JSON ([`Candidate`]s).
    pub candidates: String,
    /// The enterprise it became or was merged into.
    pub enterprise_id: Option<EnterpriseId>,
    /// That enterprise's case in the campaign.
    pub case_id: Option<CaseId>,
    /// The official who resolved it (none when added at once).
    pub resolved_by: Option<UserId>,
    /// When it was resolved.
    pub resolved_at: Option<NaiveDateTime>,
    /// Reported.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// A validated discovery to report.
#[derive(Clone, Debug)]
pub struct NewDiscovery {
    /// The device's id for it.
    pub client_id: ClientId,
    /// Name.
    pub name: EnterpriseName,
    /// Credit code, when known.
    pub credit_code: Option<CreditCode>,
    /// Address.
    pub address: String,
    /// Sector, when given (a sector team's surveyor reports in their own).
    pub sector_id: Option<OrgUnitId>,
    /// Park, when given (a park team's surveyor reports in their own).
    pub park_id: Option<OrgUnitId>,
    /// Contact person.
    pub contact_person: String,
    /// Contact phone, sealed.
    pub contact_phone: Option<SealedMobile>,
    /// Notes.
    pub notes: String,
}

impl NewDiscovery {
    /// Whether a stored discovery is this one (a retry of the same report).
    fn is(&self, campaign: &CampaignId, earlier: &Discovery) -> bool {
        &earlier.campaign_id == campaign
            && earlier.name == self.name.as_str()
            && earlier.credit_code.as_deref() == self.credit_code.as_ref().map(CreditCode::as_str)
            && earlier.address == self.address
            && self
                .sector_id
                .as_ref()
                .is_none_or(|id| id == &earlier.sector_id)
            && self
                .park_id
                .as_ref()
                .is_none_or(|id| id == &earlier.park_id)
            && earlier.contact_person == self.contact_person
            && earlier.contact_phone_index
                == self.contact_phone.as_ref().map_or("", |p| p.index.as_str())
            && earlier.notes == self.notes
    }
}

/// An official's decision on a discovery in the merge queue.
#[derive(Clone, Debug)]
pub enum Resolution {
    /// Merge it into this enterprise.
    Merge(EnterpriseId),
    /// Add it to the roster, with this credit code when it had none (or a wrong one).
    Add(Option<CreditCode>),
}

impl Resolution {
    fn action(&self) -> ResolveAction {
        match self {
            Resolution::Merge(_) => ResolveAction::Merge,
            Resolution::Add(_) => ResolveAction::Add,
        }
    }
}

/// A candidate as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateView {
    /// The enterprise.
    pub enterprise_id: EnterpriseId,
    /// Its name.
    pub enterprise_name: String,
    /// Its unified social credit code.
    pub enterprise_credit_code: String,
    /// Its address.
    pub enterprise_address: String,
    /// Why.
    pub reason: MatchReason,
    /// How close.
    pub similarity: f64,
}

/// A discovery as the API shows it (the phone masked).
#[derive(Clone, Debug, Serialize)]
pub struct DiscoveryView {
    /// Id.
    pub id: DiscoveryId,
    /// Campaign.
    pub campaign_id: CampaignId,
    /// Reporter.
    pub reported_by: UserId,
    /// Their display name.
    pub reported_by_name: Option<String>,
    /// The device's id for it.
    pub client_id: String,
    /// Name.
    pub name: String,
    /// Credit code.
    pub credit_code: Option<String>,
    /// Address.
    pub address: String,
    /// Sector.
    pub sector_id: OrgUnitId,
    /// Park.
    pub park_id: OrgUnitId,
    /// Contact person.
    pub contact_person: String,
    /// Contact phone, masked.
    pub contact_phone: Option<String>,
    /// Notes.
    pub notes: String,
    /// State.
    pub state: DiscoveryState,
    /// Roster matches found at submission.
    pub candidates: Vec<CandidateView>,
    /// The enterprise it became or was merged into.
    pub enterprise_id: Option<EnterpriseId>,
    /// Its case in the campaign.
    pub case_id: Option<CaseId>,
    /// Who resolved it.
    pub resolved_by: Option<UserId>,
    /// Their display name.
    pub resolved_by_name: Option<String>,
    /// When (UTC).
    pub resolved_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Reported (UTC).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A condition on discoveries.
type Condition =
    Box<dyn BoxableExpression<survey_discoveries::table, MultiBackend, SqlType = Bool>>;

/// The discoveries `scope` sees: all for the zone, those placed in an official's
/// sectors (parks), a surveyor's own, none for anyone else.
fn seen_by(scope: &SurveyScope) -> Condition {
    match scope {
        SurveyScope::All => Box::new(true.into_sql::<Bool>()),
        SurveyScope::Sectors(ids) => Box::new(survey_discoveries::sector_id.eq_any(ids.clone())),
        SurveyScope::Parks(ids) => Box::new(survey_discoveries::park_id.eq_any(ids.clone())),
        SurveyScope::Assignee(user) => Box::new(survey_discoveries::reported_by.eq(user.clone())),
        SurveyScope::Nothing => Box::new(survey_discoveries::id.eq_any(Vec::<DiscoveryId>::new())),
    }
}

/// Whether a surveyor's `team` reaches into a campaign of `scope`.
fn team_reaches(team: &Scope, scope: &CampaignScope) -> bool {
    let reaches = |listed: &[OrgUnitId], mine: &[OrgUnitId]| {
        !mine.is_empty() && (listed.is_empty() || mine.iter().any(|id| listed.contains(id)))
    };
    reaches(&scope.sector_ids, &team.sector_ids) || reaches(&scope.park_ids, &team.park_ids)
}

/// The campaign `id` as `scope` sees it for discoveries: an official's campaigns as
/// the survey shows them; for a surveyor (`team`) any campaign their team reaches
/// into. Anything else is 404. Returns it with its scope.
pub fn campaign_of(
    conn: &mut DbConnection,
    scope: &SurveyScope,
    team: &Scope,
    id: &CampaignId,
) -> Result<(Campaign, CampaignScope), ApiError> {
    let seen = match scope {
        SurveyScope::Assignee(_) => SurveyScope::All,
        other => other.clone(),
    };
    let campaign = Campaign::find(conn, &seen, id)?;
    let campaign_scope = campaign.scope(conn)?;
    if matches!(scope, SurveyScope::Assignee(_)) && !team_reaches(team, &campaign_scope) {
        return Err(ApiError::not_found());
    }
    Ok((campaign, campaign_scope))
}

/// Where a discovery of a surveyor of `team` sits: the team's own sector (park), the
/// other unit as given; both existing and within the campaign's scope.
fn place(
    conn: &mut DbConnection,
    team: &Scope,
    campaign: &CampaignScope,
    new: &NewDiscovery,
) -> Result<(OrgUnitId, OrgUnitId), ApiError> {
    let mut errors = FieldErrors::default();
    let mut unit = |kind: OrgKind, given: Option<&OrgUnitId>, mine: &[OrgUnitId]| {
        let field = match kind {
            OrgKind::Sector => "sector_id",
            OrgKind::Park => "park_id",
        };
        let listed = match kind {
            OrgKind::Sector => &campaign.sector_ids,
            OrgKind::Park => &campaign.park_ids,
        };
        let id = match (given, mine.first()) {
            (Some(given), Some(_)) if !mine.contains(given) => {
                errors.push(FieldError::new(
                    field,
                    "outside_team",
                    format!("只能登记本小组负责的{}内的企业", kind.label()),
                ));
                return None;
            }
            (Some(given), _) => given.clone(),
            (None, Some(own)) => own.clone(),
            (None, None) => {
                errors.push(FieldError::new(
                    field,
                    "required",
                    format!("请选择企业所在{}", kind.label()),
                ));
                return None;
            }
        };
        if OrgUnit::find(conn, kind, &id).is_err() {
            errors.push(FieldError::new(
                field,
                "unknown_org_unit",
                format!("{}不存在", kind.label()),
            ));
            return None;
        }
        if !listed.is_empty() && !listed.contains(&id) {
            errors.push(FieldError::new(
                field,
                "outside_campaign",
                format!("该{}不在本次摸排范围内", kind.label()),
            ));
            return None;
        }
        Some(id)
    };
    let sector = unit(OrgKind::Sector, new.sector_id.as_ref(), &team.sector_ids);
    let park = unit(OrgKind::Park, new.park_id.as_ref(), &team.park_ids);
    match (sector, park) {
        (Some(sector), Some(park)) => Ok((sector, park)),
        _ => Err(errors.into_error()),
    }
}

/// 409: the discovery was resolved already.
fn resolved_already() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidTransition,
        "该新发现企业已处理（已合并或已入库），不能再次处理",
    )
}

/// 409: the campaign does not run.
fn not_running() -> ApiError {
    ApiError::new(
        ErrorCode::CampaignNotRunning,
        "该摸排任务未在进行中，不能登记或处理新发现企业",
    )
}

impl Discovery {
    /// Records a discovery of `reporter` (a surveyor of `team`) in `campaign`, in the
    /// caller's transaction: a client id the reporter used before gives that discovery
    /// back (422 `idempotency_key_reused` when the body differs); a campaign that is
    /// not running is 409 `campaign_not_running`. It is matched against the roster;
    /// without candidates and with a credit code it is added to the roster at once
    /// (and to the campaign as a case assigned to the reporter). Audited
    /// (`survey.discovery.report`).
    pub fn report(
        conn: &mut DbConnection,
        actor: &Actor,
        reporter: &UserId,
        team: &Scope,
        (campaign, campaign_scope): (&Campaign, &CampaignScope),
        new: &NewDiscovery,
    ) -> Result<Written<Discovery>, ApiError> {
        let earlier: Option<Discovery> = survey_discoveries::table
            .filter(survey_discoveries::reported_by.eq(reporter))
            .filter(survey_discoveries::client_id.eq(new.client_id.as_str()))
            .select(Discovery::as_select())
            .first(conn)
            .optional()?;
        if let Some(earlier) = earlier {
            if !new.is(&campaign.id, &earlier) {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "该 client_id 已用于另一条新发现企业，请为新的登记生成新的 client_id",
                ));
            }
            return Ok(Written::Replayed(earlier));
        }
        if campaign.status != CampaignStatus::Running {
            return Err(not_running());
        }
        let (sector_id, park_id) = place(conn, team, campaign_scope, new)?;
        let candidates = match_roster(conn, new)?;
        let at = now();
        let phone = new.contact_phone.clone().unwrap_or_default();
        let discovery = Discovery {
            id: DiscoveryId::generate(),
            campaign_id: campaign.id.clone(),
            reported_by: reporter.clone(),
            client_id: new.client_id.as_str().to_owned(),
            name: new.name.as_str().to_owned(),
            credit_code: new.credit_code.as_ref().map(|c| c.as_str().to_owned()),
            address: new.address.clone(),
            sector_id,
            park_id,
            contact_person: new.contact_person.clone(),
            contact_phone_sealed: phone.sealed,
            contact_phone_index: phone.index,
            contact_phone_masked: phone.masked,
            notes: new.notes.clone(),
            state: DiscoveryState::PendingReview,
            candidates: serde_json::to_string(&candidates).map_err(ApiError::internal)?,
            enterprise_id: None,
            case_id: None,
            resolved_by: None,
            resolved_at: None,
            created_at: at,
            updated_at: at,
        };
        diesel::insert_into(survey_discoveries::table)
            .values(&discovery)
            .execute(conn)?;
        let event = Event::success("survey.discovery.report", "survey_discovery", &discovery.id)
            .with_details(json!({
                "campaign_id": discovery.campaign_id,
                "sector_id": discovery.sector_id,
                "park_id": discovery.park_id,
                "candidates": candidates.len(),
            }));
        audit::append(conn, actor, event)?;
        let discovery = match &new.credit_code {
            Some(code) if candidates.is_empty() => {
                let enterprise = discovery.add_to_roster(conn, actor, code)?;
                discovery.settle(conn, actor, None, DiscoveryState::Added, &enterprise)?
            }
            _ => discovery,
        };
        Ok(Written::Created(discovery))
    }

    /// Resolves a discovery in the merge queue as `by` decides, in the caller's
    /// transaction: a resolved one is 409 `invalid_transition`, one of a campaign that
    /// no longer runs 409 `campaign_not_running`. A merge names an enterprise `by`
    /// sees or one of the candidates (else 422 `unknown_enterprise`); an addition
    /// needs a credit code (422 `required`) no roster enterprise has (409
    /// `credit_code_taken`). Audited (`survey.discovery.resolve`).
    pub fn resolve(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        by: (&UserId, &Visibility),
        resolution: &Resolution,
    ) -> Result<Discovery, ApiError> {
        if self.state != DiscoveryState::PendingReview {
            return Err(resolved_already());
        }
        let campaign = Campaign::find(conn, &SurveyScope::All, &self.campaign_id)?;
        if campaign.status != CampaignStatus::Running {
            return Err(not_running());
        }
        let (user, visibility) = by;
        let (state, enterprise) = match resolution {
            Resolution::Merge(id) => {
                let candidate = self
                    .candidates()?
                    .iter()
                    .any(|candidate| &candidate.enterprise_id == id);
                let seen = if candidate {
                    &Visibility::All
                } else {
                    visibility
                };
                let enterprise = Enterprise::find(conn, seen, id).map_err(|_| {
                    ApiError::validation(vec![FieldError::new(
                        "enterprise_id",
                        "unknown_enterprise",
                        "企业不存在，或既不在候选名单中也不在您负责的范围内",
                    )])
                })?;
                (DiscoveryState::Merged, enterprise)
            }
            Resolution::Add(code) => {
                let stored = self
                    .credit_code
                    .as_deref()
                    .map(CreditCode::parse)
                    .transpose()
                    .map_err(|e| ApiError::validation(vec![e]))?;
                let Some(code) = code.clone().or(stored) else {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "credit_code",
                        "required",
                        "该企业没有统一社会信用代码，加入企业名录须填写",
                    )]));
                };
                let enterprise = self.add_to_roster(conn, actor, &code)?;
                (DiscoveryState::Added, enterprise)
            }
        };
        let settled = self.settle(conn, actor, Some(user), state, &enterprise)?;
        let event = Event::success("survey.discovery.resolve", "survey_discovery", &settled.id)
            .with_details(json!({
                "action": resolution.action(),
                "enterprise_id": settled.enterprise_id,
                "case_id": settled.case_id,
            }));
        audit::append(conn, actor, event)?;
        Ok(settled)
    }

    /// The stored candidates.
    pub fn candidates(&self) -> Result<Vec<Candidate>, ApiError> {
        serde_json::from_str(&self.candidates).map_err(ApiError::internal)
    }

    /// Adds the discovery to the roster with `code` (its first code issued), audited
    /// as the roster's additions are (`enterprise.create`).
    fn add_to_roster(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        code: &CreditCode,
    ) -> Result<Enterprise, ApiError> {
        let name = EnterpriseName::parse(&self.name).map_err(|e| ApiError::validation(vec![e]))?;
        let contact_phone = (!self.contact_phone_sealed.is_empty()).then(|| SealedMobile {
            sealed: self.contact_phone_sealed.clone(),
            index: self.contact_phone_index.clone(),
            masked: self.contact_phone_masked.clone(),
        });
        let new = NewEnterprise {
            name,
            credit_code: code.clone(),
            sector_id: self.sector_id.clone(),
            park_id: self.park_id.clone(),
            address: self.address.clone(),
            key_enterprise: false,
            status: EnterpriseStatus::Operating,
            coordinates: None,
            contact_person: self.contact_person.clone(),
            contact_phone,
        };
        let enterprise = Enterprise::create(conn, &new)?;
        let event = Event::success("enterprise.create", "enterprise", &enterprise.id)
            .with_details(json!({ "survey_discovery_id": self.id }));
        audit::append(conn, actor, event)?;
        Ok(enterprise)
    }

    /// Ends the discovery in `state` with `enterprise`: the enterprise's case in the
    /// campaign (made when it has none), assigned to the reporter when nobody has it
    /// and they are still an active surveyor. A concurrent resolution is 409.
    fn settle(
        self,
        conn: &mut DbConnection,
        actor: &Actor,
        by: Option<&UserId>,
        state: DiscoveryState,
        enterprise: &Enterprise,
    ) -> Result<Discovery, ApiError> {
        let case = self.case_of(conn, actor, enterprise)?;
        let at = now();
        let credit_code = match state {
            DiscoveryState::Added => Some(enterprise.credit_code.clone()),
            _ => self.credit_code.clone(),
        };
        let changed = diesel::update(
            survey_discoveries::table
                .find(&self.id)
                .filter(survey_discoveries::state.eq(DiscoveryState::PendingReview)),
        )
        .set((
            survey_discoveries::state.eq(state),
            survey_discoveries::credit_code.eq(&credit_code),
            survey_discoveries::enterprise_id.eq(Some(&enterprise.id)),
            survey_discoveries::case_id.eq(Some(&case)),
            survey_discoveries::resolved_by.eq(by),
            survey_discoveries::resolved_at.eq(Some(at)),
            survey_discoveries::updated_at.eq(at),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(resolved_already());
        }
        Ok(Discovery {
            state,
            credit_code,
            enterprise_id: Some(enterprise.id.clone()),
            case_id: Some(case),
            resolved_by: by.cloned(),
            resolved_at: Some(at),
            updated_at: at,
            ..self
        })
    }

    /// The case of `enterprise` in the discovery's campaign, made when it has none and
    /// assigned to the reporter when nobody has it ([`Case::assign`], audited).
    fn case_of(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        enterprise: &Enterprise,
    ) -> Result<CaseId, ApiError> {
        let existing: Option<Case> = survey_cases::table
            .filter(survey_cases::campaign_id.eq(&self.campaign_id))
            .filter(survey_cases::enterprise_id.eq(&enterprise.id))
            .select(Case::as_select())
            .first(conn)
            .optional()?;
        let case = match existing {
            Some(case) => case,
            None => {
                let active = diesel::select(diesel::dsl::exists(
                    registrations::table
                        .filter(registrations::enterprise_id.eq(&enterprise.id))
                        .filter(registrations::status.eq(RegistrationStatus::Approved)),
                ))
                .get_result::<bool>(conn)?;
                let subject = (
                    enterprise.id.clone(),
                    enterprise.sector_id.clone(),
                    enterprise.park_id.clone(),
                    active,
                );
                let case = Case::new_unassigned(&self.campaign_id, subject, now());
                Case::insert_all(conn, std::slice::from_ref(&case))?;
                case
            }
        };
        let id = case.id.clone();
        let reporter = std::slice::from_ref(&self.reported_by);
        if case.assignee_id.is_none()
            && let Ok(surveyors) = Surveyor::load_all(conn, reporter, "reported_by", false)
        {
            let moves = surveyors
                .into_iter()
                .map(|s| (case.clone(), s.id))
                .collect();
            Case::assign(conn, actor, moves)?;
        }
        Ok(id)
    }

    /// A discovery `scope` sees; anything else is 404.
    pub fn find(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        id: &DiscoveryId,
    ) -> Result<Discovery, ApiError> {
        Ok(survey_discoveries::table
            .filter(seen_by(scope))
            .filter(survey_discoveries::id.eq(id))
            .select(Discovery::as_select())
            .first(conn)?)
    }

    /// The discoveries of `campaign` that `scope` sees (in `state`, if given), in id
    /// order after `after`.
    pub fn list(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
        state: Option<DiscoveryState>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Discovery>, ApiError> {
        let mut query = survey_discoveries::table
            .filter(seen_by(scope))
            .filter(survey_discoveries::campaign_id.eq(campaign.clone()))
            .into_boxed();
        if let Some(state) = state {
            query = query.filter(survey_discoveries::state.eq(state));
        }
        if let Some(after) = after {
            query = query.filter(survey_discoveries::id.gt(after.to_owned()));
        }
        Ok(query
            .order(survey_discoveries::id.asc())
            .limit(limit)
            .select(Discovery::as_select())
            .load(conn)?)
    }

    /// How many discoveries of `campaign` that `scope` sees are in `state`.
    pub fn count(
        conn: &mut DbConnection,
        scope: &SurveyScope,
        campaign: &CampaignId,
        state: DiscoveryState,
    ) -> Result<i64, ApiError> {
        Ok(survey_discoveries::table
            .filter(seen_by(scope))
            .filter(survey_discoveries::campaign_id.eq(campaign.clone()))
            .filter(survey_discoveries::state.eq(state))
            .count()
            .get_result(conn)?)
    }

    /// Adds names (reporters, resolvers, candidate enterprises) for the API.
    pub fn views(
        conn: &mut DbConnection,
        rows: Vec<Discovery>,
    ) -> Result<Vec<DiscoveryView>, ApiError> {
        let candidates: Vec<Vec<Candidate>> = rows
            .iter()
            .map(Discovery::candidates)
            .collect::<Result<_, _>>()?;
        let ids: Vec<&EnterpriseId> = candidates
            .iter()
            .flatten()
            .map(|c| &c.enterprise_id)
            .collect();
        let roster: HashMap<EnterpriseId, (String, String, String)> = enterprises::table
            .filter(enterprises::id.eq_any(ids))
            .select((
                enterprises::id,
                enterprises::name,
                enterprises::credit_code,
                enterprises::address,
            ))
            .load::<(EnterpriseId, String, String, String)>(conn)?
            .into_iter()
            .map(|(id, name, code, address)| (id, (name, code, address)))
            .collect();
        let people = display_names(
            conn,
            rows.iter()
                .flat_map(|d| std::iter::once(&d.reported_by).chain(d.resolved_by.as_ref())),
        )?;
        Ok(rows
            .into_iter()
            .zip(candidates)
            .map(|(d, candidates)| DiscoveryView {
                reported_by_name: people.get(&d.reported_by).cloned(),
                resolved_by_name: d
                    .resolved_by
                    .as_ref()
                    .and_then(|id| people.get(id).cloned()),
                candidates: candidates
                    .into_iter()
                    .map(|c| {
                        let (name, code, address) =
                            roster.get(&c.enterprise_id).cloned().unwrap_or_default();
                        CandidateView {
                            enterprise_id: c.enterprise_id,
                            enterprise_name: name,
                            enterprise_credit_code: code,
                            enterprise_address: address,
                            reason: c.reason,
                            similarity: c.similarity,
                        }
                    })
                    .collect(),
                contact_phone: (!d.contact_phone_masked.is_empty())
                    .then_some(d.contact_phone_masked),
                id: d.id,
                campaign_id: d.campaign_id,
                reported_by: d.reported_by,
                client_id: d.client_id,
                name: d.name,
                credit_code: d.credit_code,
                address: d.address,
                sector_id: d.sector_id,
                park_id: d.park_id,
                contact_person: d.contact_person,
                notes: d.notes,
                state: d.state,
                enterprise_id: d.enterprise_id,
                case_id: d.case_id,
                resolved_by: d.resolved_by,
                resolved_at: d.resolved_at.map(|at| at.and_utc()),
                created_at: d.created_at.and_utc(),
            })
            .collect())
    }

    /// One discovery for the API.
    pub fn view(conn: &mut DbConnection, row: Discovery) -> Result<DiscoveryView, ApiError> {
        Self::views(conn, vec![row])?
            .pop()
            .ok_or_else(ApiError::not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Vec<(EnterpriseId, &'static str, &'static str)> {
        [
            ("e1", "福州甲一化工有限公司", "福州市高新区科技东路 18 号"),
            ("e2", "福州甲二化工有限公司", "福州市高新区乌龙江大道 7 号"),
            ("e3", "闽江机械股份有限公司", "高新大道 1 号"),
        ]
        .into_iter()
        .map(|(id, name, address)| (EnterpriseId::from(id.to_owned()), name, address))
        .collect()
    }

    fn found(name: &str, address: &str) -> Vec<(String, MatchReason)> {
        let roster = roster();
        match_names(name, address, roster.iter().map(|(id, n, a)| (id, *n, *a)))
            .into_iter()
            .map(|c| (c.enterprise_id.to_string(), c.reason))
            .collect()
    }

    #[test]
    fn names_lose_their_legal_form_spaces_and_widths() {
        assert_eq!(name_key("福州甲一化工有限公司"), "福州甲一化工");
        assert_eq!(name_key(" 闽江（福州）机械股份有限公司 "), "闽江福州机械");
        assert_eq!(normalise("ＡＢＣ路 １２ 号"), "abc路12号");
    }

    #[test]
    fn close_names_and_addresses_are_candidates_and_neighbours_are_not() {
        assert_eq!(
            found("福州市甲一化工有限责任公司", "别处"),
            [("e1".to_owned(), MatchReason::Name)]
        );
        // One character apart in six is another enterprise.
        assert!(found("福州甲三化工有限公司", "别处").is_empty());
        assert_eq!(
            found("无名小厂", "福州市高新区科技东路18号"),
            [("e1".to_owned(), MatchReason::Address)]
        );
        // Short addresses say too little.
        assert!(found("无名小厂", "1 号").is_empty());
    }

    #[test]
    fn a_team_reaches_campaigns_listing_its_unit_or_none_of_its_kind() {
        let unit = |id: &str| OrgUnitId::from(id.to_owned());
        let team = Scope {
            sector_ids: vec![unit("s1")],
            ..Scope::default()
        };
        let campaign = |sectors: Vec<OrgUnitId>, parks: Vec<OrgUnitId>| CampaignScope {
            sector_ids: sectors,
            park_ids: parks,
        };
        assert!(team_reaches(&team, &campaign(vec![], vec![])));
        assert!(team_reaches(
            &team,
            &campaign(vec![unit("s1")], vec![unit("p1")])
        ));
        assert!(!team_reaches(&team, &campaign(vec![unit("s2")], vec![])));
    }
}
