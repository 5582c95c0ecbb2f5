//! Retention (PIPL): drivers' personal data is anonymised once a registration is
//! older than the retention setting, by a background job and by `truckpass purge`.
//! What remains (enterprise, times, status, masked plate) still serves statistics.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::audit::{self, Actor, Event};
use crate::db::DbConnection;
use crate::db::schema::registrations;
use crate::error::ApiError;

/// How often the background job runs.
pub const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Anonymises every registration created before `now - retention_days` that still
/// holds personal data, erases driver profiles unused as long, and audits the purge.
/// Returns how many registrations were anonymised.
pub fn purge(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    retention_days: u32,
) -> Result<usize, ApiError> {
    let cutoff = now - TimeDelta::days(i64::from(retention_days));
    let due: Vec<(String, String)> = registrations::table
        .filter(registrations::created_at.lt(cutoff))
        .filter(registrations::document_index.ne(""))
        .select((registrations::id, registrations::plate))
        .load(conn)?;
    for (id, plate) in &due {
        let masked_plate = super::masked_plate(plate);
        diesel::update(registrations::table.find(id))
            .set((
                registrations::driver_name.eq("*"),
                registrations::document_sealed.eq(""),
                registrations::document_index.eq(""),
                registrations::document_masked.eq("*"),
                registrations::phone_sealed.eq(""),
                registrations::phone_index.eq(""),
                registrations::phone_masked.eq("*"),
                registrations::plate.eq(masked_plate),
                registrations::trailer_plate.eq(None::<String>),
                registrations::answers.eq(r#"{"zone":{},"enterprise":{}}"#),
                registrations::request_hash.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    let profiles = super::profiles::purge(conn, now, retention_days)?;
    if !due.is_empty() || profiles > 0 {
        let event = Event::success("registration.purge", "registration", "retention").with_details(
            serde_json::json!({
                "anonymised": due.len(),
                "profiles_erased": profiles,
                "cutoff": cutoff.and_utc().to_rfc3339(),
            }),
        );
        audit::append(conn, &Actor::system(), event)?;
    }
    Ok(due.len())
}

/// Whether a registration's personal data has been anonymised.
pub fn is_purged(document_index: &str) -> bool {
    document_index.is_empty()
}
