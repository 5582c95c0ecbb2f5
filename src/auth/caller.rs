//! Who is calling: bearer-token authentication for every API request, and the role
//! check declared next to each route in the route table.

use std::future::{Ready, ready};

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};

use crate::audit::{self, Actor, Event};
use crate::auth::tokens::TokenRejection;
use crate::client::client_ip;
use crate::domain::account::{Role, Scope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::User;

/// The authenticated user of a request, with role and scope as stored now.
#[derive(Clone, Debug)]
pub struct Caller {
    /// User id.
    pub user_id: String,
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Sectors and parks.
    pub scope: Scope,
    /// Client IP.
    pub ip: String,
}

impl Caller {
    /// The caller as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.user_id.clone()),
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
    ApiError::unauthorized("unauthenticated", "请先登录")
}

/// Roles allowed on a route.
pub type Policy = &'static [Role];

/// Admins only.
pub const ADMIN: Policy = &[Role::Admin];
/// Admins and the zone command.
pub const OVERSIGHT: Policy = &[Role::Admin, Role::Regulator];
/// Admins and enterprise contacts (their own enterprise's code and form).
pub const ENTERPRISE_KEEPERS: Policy = &[Role::Admin, Role::EnterpriseContact];
/// Everyone who oversees enterprises: not enterprise contacts.
pub const STAFF: Policy = &[
    Role::Admin,
    Role::Regulator,
    Role::SectorOfficial,
    Role::ParkOfficial,
    Role::Surveyor,
];
/// Who may see a driver's full document number and phone (audited): the zone
/// command and the enterprise's own contact.
pub const REVEALERS: Policy = &[Role::Regulator, Role::EnterpriseContact];
/// Anyone signed in.
pub const SIGNED_IN: Policy = &Role::ALL;

/// Middleware for every request: a bearer token, if present, must be valid and belong
/// to an active user at the token's version; the caller then rides in the request
/// extensions. Requests without a token pass on anonymous.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(authorization) = req.headers().get(header::AUTHORIZATION) else {
        return next.call(req).await;
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
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
        Err(TokenRejection::Expired) => {
            return Ok(refuse(req, TokenRejection::Expired.into_error()));
        }
        Err(TokenRejection::Invalid) => {
            let route = req.match_pattern().unwrap_or_else(|| req.path().to_owned());
            let actor = Actor::anonymous(ip);
            let recorded = state
                .db
                .write(move |conn| {
                    let event = Event::failure("auth.invalid_token")
                        .with_details(serde_json::json!({ "route": route }));
                    audit::append(conn, &actor, event).map(drop)
                })
                .await;
            let error = match recorded {
                Ok(()) => TokenRejection::Invalid.into_error(),
                Err(error) => error,
            };
            return Ok(refuse(req, error));
        }
    };
    let user_id = claims.sub.clone();
    let loaded = state
        .db
        .read(move |conn| User::find_with_scope(conn, &user_id))
        .await;
    match loaded {
        Ok((user, scope)) if user.active && user.token_version == claims.ver => {
            if let Some(role) = Role::parse(&user.role) {
                req.extensions_mut().insert(Caller {
                    user_id: user.id,
                    username: user.username,
                    role,
                    scope,
                    ip,
                });
                return next.call(req).await;
            }
            Ok(refuse(
                req,
                ApiError::internal(anyhow::anyhow!("unknown stored role")),
            ))
        }
        Ok(_) | Err(_) => Ok(refuse(
            req,
            ApiError::unauthorized("session_ended", "登录已失效，请重新登录"),
        )),
    }
}

fn refuse(req: ServiceRequest, error: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(error.error_response())
}

/// Route middleware: lets the request through only for a caller whose role is in
/// `policy`; anonymous callers get 401, other roles 403 and an audit entry.
pub async fn require(
    policy: Policy,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let caller = req.extensions().get::<Caller>().cloned();
    let Some(caller) = caller else {
        return Ok(refuse(req, unauthenticated()));
    };
    if policy.contains(&caller.role) {
        return next.call(req).await;
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(refuse(req, ApiError::forbidden()));
    };
    let route = format!(
        "{} {}",
        req.method(),
        req.match_pattern().unwrap_or_else(|| req.path().to_owned())
    );
    let recorded = state
        .db
        .write(move |conn| {
            let event =
                Event::failure("authz.denied").with_details(serde_json::json!({ "route": route }));
            audit::append(conn, &caller.actor(), event).map(drop)
        })
        .await;
    let error = match recorded {
        Ok(()) => ApiError::forbidden(),
        Err(error) => error,
    };
    Ok(refuse(req, error))
}
