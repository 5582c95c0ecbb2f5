//! `/api/v1/registrations`: staff list, read, approve and reject registrations within
//! their scope; the full document number and phone only through an audited reveal.

use actix_web::web;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::id::{EnterpriseId, RegistrationId, UserId};
use crate::domain::region::RegionCode;
use crate::domain::text::bounded;
use crate::domain::vehicle::Plate;
use crate::domain::zone;
use crate::enterprises::{Visibility, like_pattern};
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::pagination::{Page, PageRequest};
use crate::registrations::{
    Registration, RegistrationFilter, RegistrationStatus, RegistrationView, retention,
};
use crate::state::AppState;

/// Filters shared by the list and the exports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterQuery {
    status: Option<String>,
    enterprise_id: Option<EnterpriseId>,
    enterprise_name: Option<String>,
    plate: Option<String>,
    origin: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// Query of the list: the filters plus paging. (Not `#[serde(flatten)]`: query
/// strings lose their types through it.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
    status: Option<String>,
    enterprise_id: Option<EnterpriseId>,
    enterprise_name: Option<String>,
    plate: Option<String>,
    origin: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl ListQuery {
    /// The filters alone.
    fn filters(self) -> FilterQuery {
        FilterQuery {
            status: self.status,
            enterprise_id: self.enterprise_id,
            enterprise_name: self.enterprise_name,
            plate: self.plate,
            origin: self.origin,
            from: self.from,
            to: self.to,
        }
    }
}

/// The list's filter of a query's filters.
pub fn filter_of(query: &FilterQuery) -> Result<RegistrationFilter, ApiError> {
    RegistrationFilter::parse(FilterInput {
        status: query.status.as_deref(),
        enterprise_id: query.enterprise_id.clone(),
        enterprise_name: query.enterprise_name.as_deref(),
        plate: query.plate.as_deref(),
        origin: query.origin.as_deref(),
        days: (query.from, query.to),
    })
}

/// Body of a rejection or a suspension: why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    reason: String,
}

/// Body of a reveal (of a filing's personal data, or of an enterprise's contact).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealBody {
    /// Why, as typed: goes into the audit entry.
    pub reason: String,
}

/// The full personal data of one registration.
#[derive(Debug, Serialize)]
pub struct Revealed {
    /// The full document number.
    pub document_number: String,
    /// The full mobile number.
    pub phone: String,
}

fn stored_status(raw: &str) -> Result<RegistrationStatus, FieldError> {
    RegistrationStatus::stored(raw).ok_or_else(|| {
        FieldError::new(
            "status",
            "invalid_value",
            "状态应为 pending、approved、rejected 或 cancelled",
        )
    })
}

/// The list's filters as given (query values), before they are checked.
#[derive(Debug, Default)]
pub struct FilterInput<'a> {
    /// A status name.
    pub status: Option<&'a str>,
    /// One enterprise.
    pub enterprise_id: Option<EnterpriseId>,
    /// Text that the enterprise's name contains.
    pub enterprise_name: Option<&'a str>,
    /// A plate as typed.
    pub plate: Option<&'a str>,
    /// The code of a province, city or county of origin.
    pub origin: Option<&'a str>,
    /// The first and last zone day of arrival.
    pub days: (Option<NaiveDate>, Option<NaiveDate>),
}

impl RegistrationFilter {
    /// The list's filters from their query values, for the API and the console alike.
    pub fn parse(input: FilterInput<'_>) -> Result<Self, ApiError> {
        let (from, to) = input.days;
        Ok(RegistrationFilter {
            status: input.status.map(stored_status).transpose()?,
            enterprise_id: input.enterprise_id,
            enterprise_name: input
                .enterprise_name
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(like_pattern),
            plate: input
                .plate
                .map(|raw| Plate::parse(raw, "plate"))
                .transpose()?
                .map(|p| p.as_str().to_owned()),
            origin: input
                .origin
                .map(|raw| {
                    RegionCode::parse(raw)
                        .map(|code| code.prefix().to_owned())
                        .map_err(|error| FieldError {
                            field: "origin".to_owned(),
                            ..error
                        })
                })
                .transpose()?,
            from: from.map(zone::day_text),
            to: to.map(zone::day_text),
        })
    }
}

/// `GET /api/v1/registrations`: newest first, masked.
pub async fn list_registrations(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Page<RegistrationView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = filter_of(&query.filters())?;
    Ok(web::Json(
        registrations_page(&state, &caller, filter, page).await?,
    ))
}

/// One page of the filings `caller` can see that match `filter`, newest first, masked
/// (the API's list and the console's).
pub async fn registrations_page(
    state: &AppState,
    caller: &Caller,
    filter: RegistrationFilter,
    page: PageRequest,
) -> Result<Page<RegistrationView>, ApiError> {
    let visibility = Visibility::of(caller);
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let rows = Registration::list(
                conn,
                &visibility,
                &filter,
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            Registration::views(conn, rows)
        })
        .await?;
    Ok(page.page(views, |view: &RegistrationView| view.id().to_string()))
}

/// `GET /api/v1/registrations/{id}`.
pub async fn find_registration(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RegistrationId>,
) -> Result<web::Json<RegistrationView>, ApiError> {
    let visibility = Visibility::of(&caller);
    let view = state
        .db
        .read(move |conn| {
            let row = Registration::find(conn, &visibility, &id)?;
            Registration::viewed(conn, row)
        })
        .await?;
    Ok(web::Json(view))
}

/// What a staff member decides about a registration: a pending one is approved or
/// rejected; an approved one is suspended (the gate turns it back) and resumed.
#[derive(Debug)]
pub enum Decision {
    /// Approve it.
    Approve,
    /// Reject it, for a reason (as typed) shown on the driver's pass.
    Reject(String),
    /// Suspend it, for a reason (as typed) kept for the enterprise and the audit log.
    Suspend(String),
    /// Lift its suspension.
    Resume,
}

impl Decision {
    /// The decision with its reason checked (1 to 200 characters).
    fn checked(self) -> Result<Self, ApiError> {
        Ok(match self {
            Decision::Reject(reason) => Decision::Reject(bounded("reason", &reason, 1, 200)?),
            Decision::Suspend(reason) => Decision::Suspend(bounded("reason", &reason, 1, 200)?),
            decision => decision,
        })
    }

    /// Makes the change, if the registration stands where the decision applies:
    /// the audit action, or 409 `invalid_transition` saying why not.
    fn apply(
        &self,
        conn: &mut DbConnection,
        id: &RegistrationId,
        by: &UserId,
    ) -> Result<Event, ApiError> {
        let (done, action, refusal) = match self {
            Decision::Approve => (
                Registration::decide(conn, id, RegistrationStatus::Approved, None, by)?,
                "registration.approve",
                "只有待审核且未过期的登记可以通过",
            ),
            Decision::Reject(reason) => (
                Registration::decide(
                    conn,
                    id,
                    RegistrationStatus::Rejected,
                    Some(reason.clone()),
                    by,
                )?,
                "registration.reject",
                "只有待审核且未过期的登记可以不通过",
            ),
            Decision::Suspend(reason) => (
                Registration::suspend(conn, id, reason, by)?,
                "registration.suspend",
                "只有已通过、未过期且未暂停的通行证可以暂停",
            ),
            Decision::Resume => (
                Registration::resume(conn, id)?,
                "registration.resume",
                "该通行证未被暂停，无需恢复",
            ),
        };
        if !done {
            return Err(ApiError::new(ErrorCode::InvalidTransition, refusal));
        }
        let event = Event::success(action, "registration", id);
        Ok(match self {
            Decision::Suspend(reason) => {
                event.with_details(serde_json::json!({ "reason": reason }))
            }
            _ => event,
        })
    }
}

/// Decides about a registration the caller can see (else 404), for the API and the
/// console alike: approves or rejects a pending one, suspends or resumes an approved
/// one; 409 when it does not stand where the decision applies; audited
/// (`registration.approve`, `.reject`, `.suspend`, `.resume`).
pub async fn decide(
    state: &AppState,
    caller: Caller,
    id: RegistrationId,
    decision: Decision,
) -> Result<RegistrationView, ApiError> {
    let decision = decision.checked()?;
    let visibility = Visibility::of(&caller);
    state
        .db
        .write(move |conn| {
            let (registration, _) = Registration::find(conn, &visibility, &id)?;
            let event = decision.apply(conn, &registration.id, &caller.user_id)?;
            audit::append(conn, &caller.actor(), event)?;
            let row = Registration::find(conn, &visibility, &registration.id)?;
            Registration::viewed(conn, row)
        })
        .await
}

/// `POST /api/v1/registrations/{id}/approve`.
pub async fn approve_registration(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RegistrationId>,
) -> Result<web::Json<RegistrationView>, ApiError> {
    decide(&state, caller, id.into_inner(), Decision::Approve)
        .await
        .map(web::Json)
}

/// `POST /api/v1/registrations/{id}/reject`: the reason is shown on the driver's pass.
pub async fn reject_registration(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RegistrationId>,
    body: web::Json<RejectBody>,
) -> Result<web::Json<RegistrationView>, ApiError> {
    let decision = Decision::Reject(body.into_inner().reason);
    decide(&state, caller, id.into_inner(), decision)
        .await
        .map(web::Json)
}

/// `POST /api/v1/registrations/{id}/suspend`: holds an approved pass back (the gate
/// turns the truck back, even offline) until it is resumed.
pub async fn suspend_registration(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RegistrationId>,
    body: web::Json<RejectBody>,
) -> Result<web::Json<RegistrationView>, ApiError> {
    let decision = Decision::Suspend(body.into_inner().reason);
    decide(&state, caller, id.into_inner(), decision)
        .await
        .map(web::Json)
}

/// `POST /api/v1/registrations/{id}/resume`: lifts a pass's suspension.
pub async fn resume_registration(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RegistrationId>,
) -> Result<web::Json<RegistrationView>, ApiError> {
    decide(&state, caller, id.into_inner(), Decision::Resume)
        .await
        .map(web::Json)
}

/// A reveal's reason as the audit entry keeps it: 2 to 200 characters.
pub fn reveal_reason(raw: &str) -> Result<String, ApiError> {
    Ok(bounded("reason", raw, 2, 200)?)
}

/// `POST /api/v1/registrations/{id}/reveal`: the full document number and phone,
/// for a stated reason that goes into the audit log.
pub async fn reveal_registration(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<RegistrationId>,
    body: web::Json<RevealBody>,
) -> Result<web::Json<Revealed>, ApiError> {
    reveal(&state, caller, id.into_inner(), body.into_inner().reason)
        .await
        .map(web::Json)
}

/// The full document number and phone of a registration the caller can see (else
/// 404), for the API and the console alike: takes a reason (as typed) that goes into
/// the audit entry `registration.reveal`; 410 once retention has purged them.
pub async fn reveal(
    state: &AppState,
    caller: Caller,
    id: RegistrationId,
    reason: String,
) -> Result<Revealed, ApiError> {
    let reason = reveal_reason(&reason)?;
    let visibility = Visibility::of(&caller);
    let registration = state
        .db
        .write(move |conn| {
            let (registration, _) = Registration::find(conn, &visibility, &id)?;
            if retention::is_purged(&registration.document_index) {
                return Err(ApiError::new(
                    ErrorCode::PersonalDataPurged,
                    "该登记的个人信息已按保存期限清除",
                ));
            }
            let event = Event::success("registration.reveal", "registration", &registration.id)
                .with_details(serde_json::json!({ "reason": reason }));
            audit::append(conn, &caller.actor(), event)?;
            Ok(registration)
        })
        .await?;
    let vault = &state.vault;
    let open =
        |context: &str, sealed: &str| vault.open(context, sealed).map_err(ApiError::internal);
    Ok(Revealed {
        document_number: open("registrations.document", &registration.document_sealed)?,
        phone: open("registrations.phone", &registration.phone_sealed)?,
    })
}
