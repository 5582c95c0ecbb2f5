//! `GET /api/v1/registrations/export.csv` and `export.xlsx`: every visible filing that
//! matches the list's filters, newest first, masked as the list shows it, streamed
//! page by page by [`crate::exports`] and audited as `registration.export`.

use std::borrow::Cow;

use actix_web::{HttpResponse, web};

use crate::auth::caller::Caller;
use crate::db::DbConnection;
use crate::domain::zone;
use crate::enterprises::Visibility;
use crate::error::ApiError;
use crate::exports::sheet::{Cell, Record, SheetColumn};
use crate::exports::{self, Download, Source};
use crate::registrations::handlers::{FilterQuery, filter_of};
use crate::registrations::{Registration, RegistrationFilter, RegistrationView};
use crate::state::AppState;

/// The filings' downloads.
const DOWNLOAD: Download = Download {
    ascii_name: "registrations",
    name: Cow::Borrowed("司机登记"),
    action: "registration.export",
    object: ("registration", Cow::Borrowed("list")),
};

/// A column of the export: header, width, kept as text.
const fn column(header: &'static str, width: f64, text: bool) -> SheetColumn {
    SheetColumn {
        header,
        width,
        text,
    }
}

/// The export's columns; personal data only masked, as on the list.
const COLUMNS: [SheetColumn; 19] = [
    column("登记编号", 30.0, true),
    column("登记时间", 17.0, false),
    column("企业名称", 30.0, false),
    column("司机", 8.0, false),
    column("证件类型", 12.0, false),
    column("证件号码", 20.0, true),
    column("手机号", 13.0, true),
    column("车牌", 10.0, false),
    column("挂车车牌", 10.0, false),
    column("车型", 10.0, false),
    column("出发地", 24.0, false),
    column("货物", 16.0, false),
    column("事由", 10.0, false),
    column("随车人数", 8.0, false),
    column("预计到达", 17.0, false),
    column("有效期至", 17.0, false),
    column("状态", 8.0, false),
    column("审核时间", 17.0, false),
    column("驳回理由", 20.0, false),
];

/// One filing of an export, formatted as the console shows it.
#[derive(Debug)]
pub struct FilingRow {
    texts: [String; 13],
    people_in_cab: i32,
    tail: [String; 5],
}

impl From<RegistrationView> for FilingRow {
    fn from(view: RegistrationView) -> Self {
        let origin = view
            .origin_name
            .unwrap_or_else(|| view.origin_region.clone());
        Self {
            texts: [
                view.id.to_string(),
                zone::shown_minute(view.created_at),
                view.enterprise_name,
                view.driver_name,
                view.document_type.label().to_owned(),
                view.document_number,
                view.phone,
                view.plate,
                view.trailer_plate.unwrap_or_default(),
                view.vehicle_type.label().to_owned(),
                origin,
                view.cargo,
                view.purpose.label().to_owned(),
            ],
            people_in_cab: view.people_in_cab,
            tail: [
                zone::shown_minute(view.expected_arrival),
                zone::shown_minute(view.valid_until),
                view.status.label().to_owned(),
                view.decided_at.map(zone::shown_minute).unwrap_or_default(),
                view.reject_reason.unwrap_or_default(),
            ],
        }
    }
}

impl Record for FilingRow {
    const SHEET: &'static str = "司机登记";

    fn columns() -> &'static [SheetColumn] {
        &COLUMNS
    }

    fn cells(&self) -> Vec<Cell<'_>> {
        let texts = self.texts.iter().map(|text| Cell::Text(text));
        let people = Cell::Number(Some(f64::from(self.people_in_cab)));
        let tail = self.tail.iter().map(|text| Cell::Text(text));
        texts.chain([people]).chain(tail).collect()
    }
}

/// The filings visible to a caller that match a filter, newest first.
pub struct Filings {
    visibility: Visibility,
    filter: RegistrationFilter,
}

impl Filings {
    /// What `caller` may export of the filings through `filter`.
    pub fn new(caller: &Caller, filter: RegistrationFilter) -> Self {
        Self {
            visibility: Visibility::of(caller),
            filter,
        }
    }
}

impl Source for Filings {
    type Row = FilingRow;

    fn count(&self, conn: &mut DbConnection) -> Result<i64, ApiError> {
        Registration::count(conn, &self.visibility, &self.filter)
    }

    fn page(
        &self,
        conn: &mut DbConnection,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<FilingRow>, Option<String>), ApiError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = Registration::list(conn, &self.visibility, &self.filter, after, limit)?;
        let last = rows
            .last()
            .map(|(registration, _)| registration.id.to_string());
        let rows = Registration::views(conn, rows)?
            .into_iter()
            .map(FilingRow::from)
            .collect();
        Ok((rows, last))
    }
}

/// `GET /api/v1/registrations/export.csv`: UTF-8 with BOM, Chinese headers.
pub async fn export_registrations_csv(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_of(&query)?;
    csv_export(&state, &caller, filter).await
}

/// `GET /api/v1/registrations/export.xlsx`.
pub async fn export_registrations_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FilterQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_of(&query)?;
    xlsx_export(&state, &caller, filter).await
}

/// The CSV export of the filings visible to `caller` that match `filter` (the API's
/// and the console's).
pub async fn csv_export(
    state: &AppState,
    caller: &Caller,
    filter: RegistrationFilter,
) -> Result<HttpResponse, ApiError> {
    exports::csv_export(state, caller, Filings::new(caller, filter), DOWNLOAD).await
}

/// The XLSX export of the filings visible to `caller` that match `filter` (the API's
/// and the console's).
pub async fn xlsx_export(
    state: &AppState,
    caller: &Caller,
    filter: RegistrationFilter,
) -> Result<HttpResponse, ApiError> {
    exports::xlsx_export(state, caller, Filings::new(caller, filter), DOWNLOAD).await
}
