//! A driver cancels their pass: only the driver who registered it (their current
//! key) can; anyone who merely holds the pass, a gate that scanned it say, cannot.

use crate::audit::{self, Actor, Event};
use crate::db::DbConnection;
use crate::error::{ApiError, ErrorCode};
use crate::registrations::profiles::{self, DriverKey};
use crate::registrations::{Pass, Registration};

/// Why a pass was not cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelRefusal {
    /// No pass has the token.
    NotFound,
    /// The key is not the current key of the driver who registered it.
    NotAllowed,
    /// The pass has ended (cancelled, rejected or expired).
    Closed,
}

impl From<CancelRefusal> for ApiError {
    fn from(refusal: CancelRefusal) -> Self {
        match refusal {
            CancelRefusal::NotFound => pass_not_found(),
            CancelRefusal::NotAllowed => ApiError::new(
                ErrorCode::CancelNotAllowed,
                "只能在登记时使用的手机上取消此通行凭证",
            ),
            CancelRefusal::Closed => {
                ApiError::new(ErrorCode::PassClosed, "该通行凭证已结束，无法取消")
            }
        }
    }
}

/// 404 `pass_not_found`.
pub fn pass_not_found() -> ApiError {
    ApiError::new(ErrorCode::PassNotFound, "未找到该通行凭证")
}

/// Cancels a live pass by token for its driver (`key`) and audits it: the pass as it
/// is now and its enterprise's name, or why not. `Err` is a database error only.
pub fn cancel(
    conn: &mut DbConnection,
    token: &str,
    key: Option<&DriverKey>,
    actor: &Actor,
) -> Result<Result<(Pass, String), CancelRefusal>, ApiError> {
    let Some((pass, _)) = Pass::by_token(conn, token)? else {
        return Ok(Err(CancelRefusal::NotFound));
    };
    let owner = match key {
        Some(key) => profiles::driver_of(conn, key)?,
        None => None,
    };
    if owner.is_none() || owner != pass.driver_id {
        return Ok(Err(CancelRefusal::NotAllowed));
    }
    if !Registration::cancel(conn, &pass.id)? {
        return Ok(Err(CancelRefusal::Closed));
    }
    audit::append(
        conn,
        actor,
        Event::success("registration.cancel", "registration", &pass.id),
    )?;
    Ok(Pass::by_token(conn, token)?.ok_or(CancelRefusal::NotFound))
}
