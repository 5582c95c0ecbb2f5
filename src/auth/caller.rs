//! Who is calling: bearer-token authentication on the routes that need a caller, and
//! the role check declared next to each route in the route table. Public and unknown
//! routes never look at the `Authorization` header.

use std::future::{Ready, ready};

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};

use crate::audit::{self, Actor, Event};
use crate::auth::tokens::TokenRejection;
use crate::client::{client_ip, ip_bucket};
use crate::domain::account::{Role, Scope};
use crate::domain::id::UserId;
use crate::error::{ApiError, ErrorCode};
use crate::ratelimit::Limit;
use crate::state::AppState;

/// The authenticated user of a request, with role and scope as stored now.
#[derive(Clone, Debug)]
pub struct Caller {
    /// User id.
    pub user_id: UserId,
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Sectors and parks.
    pub scope: Scope,
    /// Client IP.
    pub ip: String,
    /// The user must change the password before doing anything else.
    pub must_change_password: bool,
}

impl Caller {
    /// The caller as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.user_id.to_string()),
            name: Some(self.username.clone()),
            role: Some(self.role),
            ip: Some(self.ip.clone()),
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or_else(unauthenticated),
        )
    }
}

fn unauthenticated() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "请先登录")
}

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    roles: &'static [Role],
    /// Also open to a user who must still change the password.
    before_password_change: bool,
}

impl Policy {
    const fn roles(roles: &'static [Role]) -> Self {
        Self {
            roles,
            before_password_change: false,
        }
    }

    /// Whether the policy lets `role` in (the console's pages ask before offering an
    /// action).
    pub fn allows(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Admins only.
pub const ADMIN: Policy = Policy::roles(&[Role::Admin]);
/// Admins and the zone command.
pub const OVERSIGHT: Policy = Policy::roles(&[Role::Admin, Role::Regulator]);
/// Who reads the statistics of their scope: admins, the zone command, sector and park
/// officials.
pub const OFFICIALS: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
]);
/// Who runs survey campaigns: admins and the zone command over the whole zone, sector
/// and park officials within their scope.
pub const SURVEY_RUNNERS: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
]);
/// Who works on survey cases: the runners, and surveyors on the cases assigned to
/// them. Enterprise contacts see nothing of the survey.
pub const SURVEY_FIELD: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
    Role::Surveyor,
]);
/// Who reports enterprises found in the field: surveyors (the case of an enterprise
/// they report is theirs).
pub const SURVEYORS: Policy = Policy::roles(&[Role::Surveyor]);
/// Who staffs survey teams: admins for every team, sector and park officials for
/// their own sectors' or parks' teams (checked per team).
pub const TEAM_KEEPERS: Policy =
    Policy::roles(&[Role::Admin, Role::SectorOfficial, Role::ParkOfficial]);
/// Admins and enterprise contacts (their own enterprise's code and form).
pub const ENTERPRISE_KEEPERS: Policy = Policy::roles(&[Role::Admin, Role::EnterpriseContact]);
/// Everyone who oversees enterprises: not enterprise contacts.
pub const STAFF: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
    Role::Surveyor,
]);
/// Who may see a driver's full document number and phone (audited): the zone
/// command and the enterprise's own contact.
pub const REVEALERS: Policy = Policy::roles(&[Role::Regulator, Role::EnterpriseContact]);
/// Anyone signed in at a desk: every role but gate guards, who only scan.
pub const SIGNED_IN: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
    Role::Surveyor,
    Role::EnterpriseContact,
]);
/// Who scans passes at an enterprise's gates: its guards and its contacts.
pub const GATE_SCANNERS: Policy = Policy::roles(&[Role::GateGuard, Role::EnterpriseContact]);
/// Who sees an enterprise's gates, who is inside and the scan log: the scanners of
/// their own enterprise, admins and the zone command over the zone, sector and park
/// officials within their scope.
pub const GATE_WATCHERS: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
    Role::EnterpriseContact,
    Role::GateGuard,
]);
/// Who reads the blacklist: admins and the zone command all of it; sector and park
/// officials and enterprise contacts the zone-wide entries and those of the
/// enterprises they see.
pub const BLACKLIST_READERS: Policy = Policy::roles(&[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
    Role::EnterpriseContact,
]);
/// Who adds and lifts blacklist entries: the zone command (zone-wide, or any
/// enterprise's) and enterprise contacts (their own enterprise's).
pub const BLACKLIST_KEEPERS: Policy = Policy::roles(&[Role::Regulator, Role::EnterpriseContact]);
/// Anyone signed in, also a user who must still change the password (after an admin
/// created or reset the account, or the first admin's generated password): who am I,
/// change my password, sign out.
pub const OWN_ACCOUNT: Policy = Policy {
    roles: Role::ALL,
    before_password_change: true,
};

/// Route middleware of every route with a policy: the bearer token must be valid and
/// belong to an active user at the token's version (else 401); a user who must change
/// the password reaches only the routes open before the change (else 403
/// `password_change_required`); a role the policy does not name gets 403 and an audit
/// entry. The caller then rides in the request extensions.
pub async fn require(
    policy: Policy,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let missing = anyhow::anyhow!("the application state is not registered");
        return Ok(refuse(req, ApiError::internal(missing)));
    };
    let caller = match authenticate(&state, &req).await {
        Ok(caller) => caller,
        Err(error) => return Ok(refuse(req, error)),
    };
    if caller.must_change_password && !policy.before_password_change {
        return Ok(refuse(req, password_change_required()));
    }
    if !policy.allows(caller.role) {
        let event = Event::failure("authz.denied")
            .with_details(serde_json::json!({ "route": route_of(&req) }));
        let error = match audit_refusal(&state, &caller.ip, caller.actor(), event).await {
            Ok(()) => ApiError::forbidden(),
            Err(error) => error,
        };
        return Ok(refuse(req, error));
    }
    req.extensions_mut().insert(caller);
    next.call(req).await
}

/// The caller of a bearer token; an invalid token is audited.
async fn authenticate(state: &AppState, req: &ServiceRequest) -> Result<Caller, ApiError> {
    let Some(authorization) = req.headers().get(header::AUTHORIZATION) else {
        return Err(unauthenticated());
    };
    let ip = client_ip(req.request(), state.settings.trust_proxy_headers);
    let token = authorization
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let verified = match token {
        Some(token) => state.tokens.verify(token),
        None => Err(TokenRejection::Invalid),
    };
    let claims = match verified {
        Ok(claims) => claims,
        Err(TokenRejection::Expired) => return Err(TokenRejection::Expired.into_error()),
        Err(TokenRejection::Invalid) => {
            let event = Event::failure("auth.invalid_token")
                .with_details(serde_json::json!({ "route": route_of(req) }));
            audit_refusal(state, &ip, Actor::anonymous(ip.clone()), event).await?;
            return Err(TokenRejection::Invalid.into_error());
        }
    };
    let user_id = UserId::from(claims.sub);
    match state.known_users.find(&state.db, &user_id).await {
        Ok(user) if user.active && user.token_version == claims.ver => Ok(Caller {
            user_id,
            username: user.username.clone(),
            role: user.role,
            scope: user.scope.clone(),
            ip,
            must_change_password: user.must_change_password,
        }),
        Ok(_) | Err(_) => Err(ApiError::new(
            ErrorCode::SessionEnded,
            "登录已失效，请重新登录",
        )),
    }
}

fn password_change_required() -> ApiError {
    ApiError::new(
        ErrorCode::PasswordChangeRequired,
        "请先修改密码，然后才能进行其他操作",
    )
}

/// `METHOD /route/{pattern}`: the matched route, never the raw path, which the client
/// chooses (at any length).
fn route_of(req: &ServiceRequest) -> String {
    let pattern = req
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    format!("{} {pattern}", req.method())
}

/// Appends the audit entry of a refused request, unless the client IP has used up its
/// budget of such entries for the minute (`audit_refusals_per_ip`): the request is
/// refused all the same, so that a client cannot flood the log.
pub async fn audit_refusal(
    state: &AppState,
    ip: &str,
    actor: Actor,
    event: Event,
) -> Result<(), ApiError> {
    let limit = Limit {
        bucket: format!("audit:{}", ip_bucket(ip)),
        per_minute: state.settings.audit_refusals_per_ip,
    };
    if state.limits.hit(&limit).is_err() {
        // Over the budget: not recorded.
        return Ok(());
    }
    state
        .db
        .write(move |conn| audit::append(conn, &actor, event).map(drop))
        .await
}

fn refuse(req: ServiceRequest, error: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(error.error_response())
}
