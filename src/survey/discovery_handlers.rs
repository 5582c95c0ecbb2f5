//! `/api/v1/survey/campaigns/{id}/discoveries` and `/api/v1/survey/discoveries/{id}`:
//! enterprises surveyors find in the field that are not on the roster
//! ([`crate::survey::discoveries`]): reporting one (a retry with the same client id is
//! the same report), the list and one discovery within the caller's scope, and an
//! official's decision on one in the merge queue.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::caller::Caller;
use crate::domain::enterprise::{CreditCode, EnterpriseName, parse_contact_person};
use crate::domain::id::{CampaignId, DiscoveryId, EnterpriseId, OrgUnitId};
use crate::domain::person::Mobile;
use crate::domain::survey::{ClientId, parse_discovery_address, parse_visit_notes};
use crate::enterprises::{CONTACT_PHONE, Visibility};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::survey::discoveries::{
    Discovery, DiscoveryState, DiscoveryView, NewDiscovery, Resolution, ResolveAction, campaign_of,
};
use crate::survey::{SurveyScope, written_answer};

/// Body of a report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryBody {
    client_id: String,
    name: String,
    credit_code: Option<String>,
    address: String,
    sector_id: Option<OrgUnitId>,
    park_id: Option<OrgUnitId>,
    #[serde(default)]
    contact_person: String,
    contact_phone: Option<String>,
    #[serde(default)]
    notes: String,
}

/// Query of the list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryListQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
    /// In this state.
    pub state: Option<DiscoveryState>,
}

/// Body of a resolution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// Merge or add.
    pub action: ResolveAction,
    /// The enterprise merged into.
    pub enterprise_id: Option<EnterpriseId>,
    /// The credit code of an addition, when the discovery has none (or a wrong one).
    pub credit_code: Option<String>,
}

/// A credit code that may be left out (absent or blank).
fn optional_credit_code(raw: Option<&str>) -> Result<Option<CreditCode>, FieldError> {
    raw.filter(|raw| !raw.trim().is_empty())
        .map(CreditCode::parse)
        .transpose()
}

/// `POST /api/v1/survey/campaigns/{id}/discoveries`: a surveyor reports an enterprise
/// found in the field: 201 with the discovery (added to the roster already, or
/// waiting in the merge queue), or 200 with the same one when the client id was seen
/// before (nothing written).
pub async fn create_discovery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<DiscoveryBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let client_id = errors.check(ClientId::parse(&body.client_id));
    let name = errors.check(EnterpriseName::parse(&body.name));
    let credit_code = errors.check(optional_credit_code(body.credit_code.as_deref()));
    let address = errors.check(parse_discovery_address(&body.address));
    let contact_person = errors.check(parse_contact_person(&body.contact_person));
    let phone = body
        .contact_phone
        .as_deref()
        .filter(|raw| !raw.trim().is_empty())
        .map(Mobile::parse)
        .transpose()
        .map_err(|e| FieldError {
            field: "contact_phone".to_owned(),
            ..e
        });
    let phone = errors.check(phone);
    let notes = errors.check(parse_visit_notes(&body.notes));
    let (
        Some(client_id),
        Some(name),
        Some(credit_code),
        Some(address),
        Some(contact_person),
        Some(phone),
        Some(notes),
    ) = (
        client_id,
        name,
        credit_code,
        address,
        contact_person,
        phone,
        notes,
    )
    else {
        return Err(errors.into_error());
    };
    let contact_phone = phone
        .map(|mobile| state.vault.seal_mobile(CONTACT_PHONE, &mobile))
        .transpose()
        .map_err(ApiError::internal)?;
    let new = NewDiscovery {
        client_id,
        name,
        credit_code,
        address,
        sector_id: body.sector_id,
        park_id: body.park_id,
        contact_person,
        contact_phone,
        notes,
    };
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let (created, view) = state
        .db
        .write(move |conn| {
            let campaign = campaign_of(conn, &scope, &caller.scope, &id)?;
            let (discovery, created) = Discovery::report(
                conn,
                &caller.actor(),
                &caller.user_id,
                &caller.scope,
                (&campaign.0, &campaign.1),
                &new,
            )?
            .split();
            Ok((created, Discovery::view(conn, discovery)?))
        })
        .await?;
    Ok(written_answer(created, view))
}

/// `GET /api/v1/survey/campaigns/{id}/discoveries`: the campaign's discoveries the
/// caller sees (an official their units', a surveyor their own), oldest first.
pub async fn list_discoveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    query: web::Query<DiscoveryListQuery>,
) -> Result<web::Json<Page<DiscoveryView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            campaign_of(conn, &scope, &caller.scope, &id)?;
            let rows = Discovery::list(
                conn,
                &scope,
                &id,
                query.state,
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            Discovery::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |d| d.id.to_string())))
}

/// `GET /api/v1/survey/discoveries/{id}`: a discovery the caller sees.
pub async fn find_discovery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DiscoveryId>,
) -> Result<web::Json<DiscoveryView>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let discovery = Discovery::find(conn, &scope, &id)?;
            Discovery::view(conn, discovery)
        })
        .await?;
    Ok(web::Json(view))
}

/// `POST /api/v1/survey/discoveries/{id}/resolve`: an official merges a discovery of
/// the merge queue into an existing enterprise or adds it to the roster.
pub async fn resolve_discovery(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<DiscoveryId>,
    body: web::Json<ResolveBody>,
) -> Result<web::Json<DiscoveryView>, ApiError> {
    let body = body.into_inner();
    let resolution = match body.action {
        ResolveAction::Merge => Resolution::Merge(body.enterprise_id.ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "enterprise_id",
                "required",
                "合并时须指明名录中的企业",
            )])
        })?),
        ResolveAction::Add => Resolution::Add(
            optional_credit_code(body.credit_code.as_deref())
                .map_err(|e| ApiError::validation(vec![e]))?,
        ),
    };
    let scope = SurveyScope::of(&caller);
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let view = state
        .db
        .write(move |conn| {
            let discovery = Discovery::find(conn, &scope, &id)?;
            let resolved = discovery.resolve(
                conn,
                &caller.actor(),
                (&caller.user_id, &visibility),
                &resolution,
            )?;
            Discovery::view(conn, resolved)
        })
        .await?;
    Ok(web::Json(view))
}
