//! `GET /api/v1/enterprises/export.csv` and `export.xlsx`: every visible enterprise
//! matching the filter, in the columns the import reads, streamed page by page by
//! [`crate::exports`] and audited as `enterprise.export`.

use std::borrow::Cow;

use actix_web::{HttpResponse, web};

use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::enterprises::handlers::FilterQuery;
use crate::enterprises::roster::ExportRow;
use crate::enterprises::{Enterprise, EnterpriseFilter, EnterpriseView, Visibility};
use crate::error::ApiError;
use crate::exports::{self, Download, Source};
use crate::state::AppState;

/// The roster's downloads.
const DOWNLOAD: Download = Download {
    ascii_name: "enterprises",
    name: Cow::Borrowed("企业名录"),
    action: "enterprise.export",
    object: ("enterprise", Cow::Borrowed("roster")),
};

/// The enterprises visible to a caller that match a filter, in the roster's order.
pub struct Roster {
    visibility: Visibility,
    filter: EnterpriseFilter,
}

impl Roster {
    /// What `caller` may export of the roster through `filter`.
    pub fn new(caller: &Caller, filter: EnterpriseFilter) -> Self {
        Self {
            visibility: Visibility::of(caller),
            filter,
        }
    }
}

impl Source for Roster {
    type Row = ExportRow;

    fn count(&self, conn: &mut DbConnection) -> Result<i64, ApiError> {
        Enterprise::count(conn, &self.visibility, &self.filter)
    }

    fn page(
        &self,
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ExportRow>, Option<String>), ApiError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let enterprises = Enterprise::list(conn, &self.visibility, &self.filter, after, limit)?;
        let last = enterprises.last().map(|last| last.id.to_string());
        let rows = Enterprise::views(conn, enterprises)?
            .into_iter()
            .map(export_row)
            .collect();
        Ok((rows, last))
    }
}

/// `GET /api/v1/enterprises/export.csv`: UTF-8 with BOM, Chinese headers; the same
/// columns the import reads.
pub async fn export_enterprises_csv(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    csv_export(&state, &caller, query.into_inner().into()).await
}

/// The CSV export of the enterprises visible to `caller` that match `filter` (the
/// API's and the console's).
pub async fn csv_export(
    state: &AppState,
    caller: &Caller,
    filter: EnterpriseFilter,
) -> Result<HttpResponse, ApiError> {
    exports::csv_export(state, caller, Roster::new(caller, filter), DOWNLOAD).await
}

/// `GET /api/v1/enterprises/export.xlsx`.
pub async fn export_enterprises_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    xlsx_export(&state, &caller, query.into_inner().into()).await
}

/// The XLSX export of the enterprises visible to `caller` that match `filter` (the
/// API's and the console's).
pub async fn xlsx_export(
    state: &AppState,
    caller: &Caller,
    filter: EnterpriseFilter,
) -> Result<HttpResponse, ApiError> {
    exports::xlsx_export(state, caller, Roster::new(caller, filter), DOWNLOAD).await
}

fn export_row(e: EnterpriseView) -> ExportRow {
    ExportRow {
        status: e.status.label().to_owned(),
        name: e.name,
        credit_code: e.credit_code,
        sector: e.sector_name,
        park: e.park_name,
        address: e.address,
        contact_person: e.contact_person,
        contact_phone: e.contact_phone.unwrap_or_default(),
        key_enterprise: e.key_enterprise,
        longitude: e.longitude,
        latitude: e.latitude,
    }
}
