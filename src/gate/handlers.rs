//! The gate's API: `POST /api/v1/gate/redeem` and `/gate/annul` for the scanners of
//! an enterprise (its guards and contacts); `/api/v1/enterprises/{id}/gates[/{gate_id}]`,
//! `/gate/status` and `/gate/events` for whoever sees the enterprise;
//! `/api/v1/enterprises/{id}/guards[/{user_id}]` for its keepers.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::caller::Caller;
use crate::body;
use crate::domain::gate::{
    Nonce, ReadCode, parse_client_time, parse_gate_name, parse_overstay_hours, parse_zone_hour,
};
use crate::domain::id::{EnterpriseId, GateId, UserId};
use crate::enterprises::{Enterprise, Visibility};
use crate::error::{ApiError, FieldError, FieldErrors};
use crate::gate::guards::{self, GuardView};
use crate::gate::offline::RevocationList;
use crate::gate::{
    self, Check, Checked, Gate, GateChanges, GateRules, GateStatus, GateView, LogFilter, Offline,
    Recorded, Redeem, Refusal, Scan, ScanKind, ScanView, ZoneInside,
};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::survey::written_answer;

/// Body of a scan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    /// The device's id for this scan: a retry with it is the same answer.
    pub nonce: String,
    /// The gate scanned at.
    pub gate_id: GateId,
    /// `entry` or `exit`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What was read: the pass page's address, its token, or a plate typed in.
    pub code: String,
    /// When, by the device's clock (RFC 3339).
    #[serde(default, deserialize_with = "body::non_null")]
    pub client_time: Option<String>,
    /// The guard refuses the pass: person, truck and pass do not agree.
    #[serde(default)]
    pub plate_mismatch: bool,
    /// A scan the gate made without network, uploaded now: what it decided.
    #[serde(default, deserialize_with = "body::non_null")]
    pub offline: Option<OfflineBody>,
}

/// What a gate without network decided for a scan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineBody {
    /// `accepted` (the truck went through) or `refused`.
    pub result: String,
    /// Why it was refused.
    #[serde(default, deserialize_with = "body::non_null")]
    pub reason: Option<String>,
}

impl OfflineBody {
    fn parse(&self) -> Result<Offline, FieldError> {
        let reason = self.reason.as_deref().map(Refusal::from_stored);
        match (self.result.as_str(), reason) {
            ("accepted", None) => Ok(Offline::Accepted),
            ("refused", Some(Some(reason))) => Ok(Offline::Refused(reason)),
            ("refused", Some(None)) => Err(FieldError::new(
                "offline.reason",
                "invalid_value",
                "offline.reason 须为拒绝原因之一（如 cancelled、expired）",
            )),
            ("refused", None) => Err(FieldError::new(
                "offline.reason",
                "required",
                "离线拒绝的扫码须写明原因",
            )),
            ("accepted", Some(_)) => Err(FieldError::new(
                "offline.reason",
                "not_allowed",
                "离线放行的扫码没有拒绝原因",
            )),
            _ => Err(FieldError::new(
                "offline.result",
                "invalid_value",
                "offline.result 须为 accepted（已放行）或 refused（已拒绝）",
            )),
        }
    }
}

impl RedeemBody {
    /// The scan, or every field's error (422).
    pub fn parse(self) -> Result<Redeem, ApiError> {
        let mut errors = FieldErrors::default();
        let nonce = errors.check(Nonce::parse(&self.nonce));
        let kind = ScanKind::from_stored(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "type",
                "invalid_value",
                "type 须为 entry（入园）或 exit（离园）",
            ));
        }
        let code = errors.check(ReadCode::parse(&self.code));
        let client_time = match self.client_time.as_deref() {
            Some(raw) => errors.check(parse_client_time(raw)).map(Some),
            None => Some(None),
        };
        let offline = match &self.offline {
            Some(offline) => errors.check(offline.parse()).map(Some),
            None => Some(None),
        };
        // A scan made offline is judged by when it was made.
        let client_time = match (client_time, &offline) {
            (Some(None), Some(Some(_))) => errors.check(Err(FieldError::new(
                "client_time",
                "required",
                "离线扫码须带上扫码时设备的时间",
            ))),
            (client_time, _) => client_time,
        };
        let (Some(nonce), Some(kind), Some(code), Some(client_time), Some(offline)) =
            (nonce, kind, code, client_time, offline)
        else {
            return Err(errors.into_error());
        };
        Ok(Redeem {
            nonce,
            gate_id: self.gate_id,
            kind,
            code,
            client_time,
            plate_mismatch: self.plate_mismatch,
            offline,
        })
    }
}

/// Body of an annulment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnulBody {
    /// The nonce of the scan to undo.
    pub nonce: String,
}

/// Body of a new gate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateBody {
    /// Its name.
    pub name: String,
}

/// Body of a gate's change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateUpdateBody {
    /// A new name.
    #[serde(default, deserialize_with = "body::non_null")]
    pub name: Option<String>,
    /// Whether it takes scans.
    #[serde(default, deserialize_with = "body::non_null")]
    pub active: Option<bool>,
}

/// Query of the scan log.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
    /// `refused`: the failed-scan log only.
    pub result: Option<String>,
}

/// Body of an enterprise's gate rules (all of them): each a number, or absent or null
/// for none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRulesBody {
    /// The zone hour of the automatic check-out, or null.
    pub checkout_hour: Option<i32>,
    /// Hours inside after which a truck overstays, or null.
    pub overstay_hours: Option<i32>,
}

/// The gates of an enterprise.
#[derive(Debug, Serialize)]
pub struct GateList {
    /// The gates, by name.
    pub items: Vec<GateView>,
}

/// Body of a guard's gates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardGatesBody {
    /// The gates the guard scans at; empty for every gate of the enterprise.
    pub gate_ids: Vec<GateId>,
}

/// The gate guards of an enterprise.
#[derive(Debug, Serialize)]
pub struct GuardList {
    /// The guards, by login name.
    pub items: Vec<GuardView>,
}

/// The enterprise whose gates the caller scans at; a scanner without one (never so
/// stored) has none to scan at.
pub fn scanner_enterprise(caller: &Caller) -> Result<EnterpriseId, ApiError> {
    caller
        .scope
        .enterprise_id
        .clone()
        .ok_or_else(ApiError::forbidden)
}

/// `POST /api/v1/gate/redeem`: checks a pass at a gate of the caller's enterprise and
/// records the scan: 201 with the answer (accepted, or refused with its reason), or
/// 200 with the same answer for a retry with the same nonce.
pub async fn redeem(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<RedeemBody>,
) -> Result<HttpResponse, ApiError> {
    let scan = body.into_inner().parse()?;
    let (view, created) = redeem_scan(&state, caller, scan, None).await?;
    Ok(written_answer(created, view))
}

/// Checks and records a scan at the caller's enterprise (the API's and the gate
/// page's one way in): the answer, and whether it was recorded now (else it is the
/// answer to an earlier try with the same nonce). The check reads on a read
/// connection; the write only records the scan and moves the truck, so that the
/// writer does no more than it must. With `undoing`, the guard refuses a pass just
/// let through (person, truck and pass do not agree): the accepted scan of that
/// nonce is annulled first, in the same transaction as the refusal, so the truck is
/// not counted inside.
pub async fn redeem_scan(
    state: &AppState,
    caller: Caller,
    scan: Redeem,
    undoing: Option<Nonce>,
) -> Result<(ScanView, bool), ApiError> {
    let enterprise = scanner_enterprise(&caller)?;
    if let Some(accepted) = undoing {
        return state
            .db
            .write(move |conn| {
                gate::annul(
                    conn,
                    &caller.actor(),
                    &caller.user_id,
                    &enterprise,
                    &accepted,
                )?;
                match gate::check(conn, &caller.user_id, &enterprise, &scan)? {
                    Check::Seen(earlier) => Ok((one_view(conn, earlier)?, false)),
                    Check::New(checked) => {
                        let recorded = checked.record(conn)?;
                        finish(&scan, &checked, recorded)
                    }
                }
            })
            .await;
    }
    let scan = Arc::new(scan);
    let (sent, user) = (Arc::clone(&scan), caller.user_id.clone());
    let checked = match state
        .db
        .read(move |conn| gate::check(conn, &user, &enterprise, &sent))
        .await?
    {
        Check::Seen(earlier) => {
            let view = state.db.read(move |conn| one_view(conn, earlier)).await?;
            return Ok((view, false));
        }
        Check::New(checked) => Arc::new(checked),
    };
    let recording = Arc::clone(&checked);
    let recorded = state
        .db
        .write_replayable(move |conn| recording.record(conn))
        .await?;
    finish(&scan, &checked, recorded)
}

/// The answer to a checked scan once recorded, and whether it was recorded now.
fn finish(
    scan: &Redeem,
    checked: &Checked,
    recorded: Recorded,
) -> Result<(ScanView, bool), ApiError> {
    match recorded {
        Recorded::Now(row) => Ok((checked.answer(row), true)),
        Recorded::Earlier(earlier) => Ok((checked.answer(scan.replayed(earlier)?), false)),
    }
}

/// The zone's key that gates verify passes with offline.
#[derive(Debug, Serialize)]
pub struct GateKey {
    /// Always `Ed25519`.
    pub algorithm: &'static str,
    /// The public key, 64 hex digits.
    pub public_key: String,
}

/// `GET /api/v1/gate/key`: the zone's public key for verifying passes offline.
pub async fn gate_key(state: web::Data<AppState>) -> web::Json<GateKey> {
    web::Json(GateKey {
        algorithm: "Ed25519",
        public_key: state.signer.public_key(),
    })
}

/// `GET /api/v1/gate/revocations`: the signed list of the caller's enterprise's passes
/// that its gates turn back even offline.
pub async fn revocations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<RevocationList>, ApiError> {
    Ok(web::Json(revocation_list(&state, &caller).await?))
}

/// The revocation list of the caller's enterprise (the API's and the gate page's).
pub async fn revocation_list(
    state: &AppState,
    caller: &Caller,
) -> Result<RevocationList, ApiError> {
    let enterprise = scanner_enterprise(caller)?;
    let signer = Arc::clone(&state.signer);
    state
        .db
        .read(move |conn| signer.revocations(conn, &enterprise))
        .await
}

/// `POST /api/v1/gate/annul`: undoes a scan just accepted at the caller's enterprise,
/// by its nonce; the scan as it now stands.
pub async fn annul(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<AnnulBody>,
) -> Result<web::Json<ScanView>, ApiError> {
    let nonce =
        Nonce::parse(&body.into_inner().nonce).map_err(|e| ApiError::validation(vec![e]))?;
    Ok(web::Json(annul_scan(&state, caller, nonce).await?))
}

/// Undoes the scan with `nonce` at the caller's enterprise (the API's and the gate
/// page's one way in); the scan as it now stands.
pub async fn annul_scan(
    state: &AppState,
    caller: Caller,
    nonce: Nonce,
) -> Result<ScanView, ApiError> {
    let enterprise = scanner_enterprise(&caller)?;
    state
        .db
        .write(move |conn| {
            let scan = gate::annul(conn, &caller.actor(), &caller.user_id, &enterprise, &nonce)?;
            one_view(conn, scan)
        })
        .await
}

fn one_view(conn: &mut crate::db::DbConnection, scan: Scan) -> Result<ScanView, ApiError> {
    Scan::views(conn, vec![scan])?
        .pop()
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/enterprises/{id}/gates`: the gates of an enterprise the caller sees.
pub async fn list_gates(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<GateList>, ApiError> {
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let gates = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            Gate::of_enterprise(conn, &enterprise.id)
        })
        .await?;
    Ok(web::Json(GateList {
        items: gates.into_iter().map(Gate::view).collect(),
    }))
}

/// `POST /api/v1/enterprises/{id}/gates`: a new gate of an enterprise the caller keeps.
pub async fn create_gate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    body: web::Json<GateBody>,
) -> Result<HttpResponse, ApiError> {
    let name =
        parse_gate_name(&body.into_inner().name).map_err(|e| ApiError::validation(vec![e]))?;
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let gate = state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            Gate::create(conn, &caller.actor(), &enterprise.id, name)
        })
        .await?;
    Ok(HttpResponse::Created().json(gate.view()))
}

/// `PATCH /api/v1/enterprises/{id}/gates/{gate_id}`: renames a gate, or takes it out
/// of (back into) use.
pub async fn update_gate(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(EnterpriseId, GateId)>,
    body: web::Json<GateUpdateBody>,
) -> Result<web::Json<GateView>, ApiError> {
    let body = body.into_inner();
    let name = match body.name.as_deref() {
        Some(raw) => Some(parse_gate_name(raw).map_err(|e| ApiError::validation(vec![e]))?),
        None => None,
    };
    let changes = GateChanges {
        name,
        active: body.active,
    };
    let visibility = Visibility::of(&caller);
    let (id, gate_id) = path.into_inner();
    let gate = state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            let gate = Gate::find(conn, &enterprise.id, &gate_id)?;
            gate.update(conn, &caller.actor(), changes)
        })
        .await?;
    Ok(web::Json(gate.view()))
}

/// `GET /api/v1/enterprises/{id}/guards`: the gate guards of an enterprise the caller
/// keeps, with the gates each stands at.
pub async fn list_guards(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<GuardList>, ApiError> {
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let items = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            guards::of_enterprise(conn, &enterprise.id)
        })
        .await?;
    Ok(web::Json(GuardList { items }))
}

/// `PUT /api/v1/enterprises/{id}/guards/{user_id}`: the gates a guard of an enterprise
/// the caller keeps stands at (none: every gate).
pub async fn set_guard_gates(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(EnterpriseId, UserId)>,
    body: web::Json<GuardGatesBody>,
) -> Result<web::Json<GuardView>, ApiError> {
    let (id, user) = path.into_inner();
    let gate_ids = body.into_inner().gate_ids;
    Ok(web::Json(
        guard_gates(&state, caller, id, user, gate_ids).await?,
    ))
}

/// Sets the gates a guard stands at (the API's and the console's one way in).
pub async fn guard_gates(
    state: &AppState,
    caller: Caller,
    enterprise: EnterpriseId,
    user: UserId,
    gate_ids: Vec<GateId>,
) -> Result<GuardView, ApiError> {
    let visibility = Visibility::of(&caller);
    state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &enterprise)?;
            guards::set_gates(conn, &caller.actor(), &enterprise.id, &user, gate_ids)
        })
        .await
}

/// `GET /api/v1/enterprises/{id}/gate/status`: who is inside an enterprise the caller
/// sees, and today's scans.
pub async fn gate_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<GateStatus>, ApiError> {
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let status = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            GateStatus::of(conn, &enterprise.id)
        })
        .await?;
    Ok(web::Json(status))
}

/// `GET /api/v1/enterprises/{id}/gate/events`: the scan log of an enterprise the
/// caller sees, newest first; `result=refused` for the failed-scan log.
pub async fn gate_events(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    query: web::Query<EventsQuery>,
) -> Result<web::Json<Page<ScanView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let shown = match query.result.as_deref() {
        None => LogFilter::All,
        Some("refused") => LogFilter::Refused,
        Some("conflict") => LogFilter::Conflicts,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "result",
                "invalid_value",
                "result 只能为 refused（被拒绝的扫码）或 conflict（离线放行但有冲突的扫码）",
            )]));
        }
    };
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let fetch = page.clone();
    let views = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            let rows = Scan::log(
                conn,
                &enterprise.id,
                shown,
                fetch.after.as_deref(),
                fetch.fetch(),
            )?;
            Scan::views(conn, rows)
        })
        .await?;
    Ok(web::Json(page.page(views, |scan| scan.id.to_string())))
}

/// `GET /api/v1/enterprises/{id}/gate/settings`: the gate rules of an enterprise the
/// caller sees.
pub async fn gate_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
) -> Result<web::Json<GateRules>, ApiError> {
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let rules = state
        .db
        .read(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            GateRules::of(conn, &enterprise.id)
        })
        .await?;
    Ok(web::Json(rules))
}

/// `PUT /api/v1/enterprises/{id}/gate/settings`: sets the automatic check-out hour
/// and the overstay hours of an enterprise the caller keeps.
pub async fn set_gate_settings(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<EnterpriseId>,
    body: web::Json<body::Object<GateRulesBody>>,
) -> Result<web::Json<GateRules>, ApiError> {
    let body = body.into_inner().0;
    let mut errors = FieldErrors::default();
    let checkout_hour = body
        .checkout_hour
        .map(|hour| errors.check(parse_zone_hour("checkout_hour", hour)));
    let overstay_hours = body
        .overstay_hours
        .map(|hours| errors.check(parse_overstay_hours(hours)));
    if !errors.is_empty() {
        return Err(errors.into_error());
    }
    let rules = GateRules {
        checkout_hour: checkout_hour.flatten(),
        overstay_hours: overstay_hours.flatten(),
    };
    let visibility = Visibility::of(&caller);
    let id = id.into_inner();
    let rules = state
        .db
        .write(move |conn| {
            let enterprise = Enterprise::find(conn, &visibility, &id)?;
            rules.set(conn, &caller.actor(), &enterprise.id)
        })
        .await?;
    Ok(web::Json(rules))
}

/// `GET /api/v1/gate/status`: the trucks inside the enterprises the caller sees (the
/// zone, their sectors or parks), per enterprise, with those overstaying.
pub async fn zone_status(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<ZoneInside>, ApiError> {
    let visibility = Visibility::of(&caller);
    let inside = state
        .db
        .read(move |conn| ZoneInside::of(conn, &visibility))
        .await?;
    Ok(web::Json(inside))
}
