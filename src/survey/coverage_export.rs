//! `GET /api/v1/survey/campaigns/{id}/coverage.xlsx` and `coverage.csv`: the coverage
//! ledger in the layout an office files, one row per sector × park cell, each sector's
//! total after its cells, then each park's total and the whole zone's, written by the
//! export engine ([`crate::exports`]) and audited as `survey.coverage.export`.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::{HttpResponse, web};

use crate::auth::caller::Caller;
use crate::domain::id::CampaignId;
use crate::error::ApiError;
use crate::exports::sheet::{Cell, Record, SheetColumn};
use crate::exports::{self, Download, Table};
use crate::state::AppState;
use crate::survey::coverage::{Counts, Coverage};
use crate::survey::handlers::read_campaign;

/// What stands in the sector or park column of a total's row.
const TOTAL: &str = "合计";

/// One row of the filed ledger.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerRow {
    /// The sector's name, or 合计 for a park's total.
    pub sector: String,
    /// The park's name, or 合计 for a sector's total.
    pub park: String,
    /// The cases counted.
    pub counts: Counts,
    /// 摸排率: the reached and the closed (whose status the survey settled) over all,
    /// as a percentage with one decimal (blank without cases).
    pub rate: String,
}

impl LedgerRow {
    fn new(sector: &str, park: &str, counts: Counts) -> Self {
        let settled = counts.reached + counts.closed;
        let rate = if counts.total > 0 {
            // Exact for any count of enterprises a zone has.
            #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
            let percent = settled as f64 * 100.0 / counts.total as f64;
            format!("{percent:.1}%")
        } else {
            String::new()
        };
        Self {
            sector: sector.to_owned(),
            park: park.to_owned(),
            counts,
            rate,
        }
    }

    /// The ledger's rows: each sector's cells and its total, then each park's total,
    /// then the whole.
    pub fn of(coverage: &Coverage) -> Vec<LedgerRow> {
        let mut rows = Vec::with_capacity(coverage.cells.len() + coverage.sectors.len() * 2);
        for sector in &coverage.sectors {
            rows.extend(
                coverage
                    .cells
                    .iter()
                    .filter(|cell| cell.sector_id == sector.id)
                    .map(|cell| LedgerRow::new(&cell.sector_name, &cell.park_name, cell.counts)),
            );
            rows.push(LedgerRow::new(&sector.name, TOTAL, sector.counts));
        }
        rows.extend(
            coverage
                .parks
                .iter()
                .map(|park| LedgerRow::new(TOTAL, &park.name, park.counts)),
        );
        rows.push(LedgerRow::new(TOTAL, TOTAL, coverage.total));
        rows
    }
}

/// Counts and the rate are numbers, the names text.
const fn column(header: &'static str, width: f64) -> SheetColumn {
    SheetColumn {
        header,
        width,
        text: false,
    }
}

const COLUMNS: &[SheetColumn] = &[
    column("行业", 24.0),
    column("园区", 24.0),
    column("企业总数", 10.0),
    column("已分配", 10.0),
    column("已尝试", 10.0),
    column("已摸排", 10.0),
    column("已审核通过", 12.0),
    column("失联", 8.0),
    column("已关闭", 10.0),
    column("有货车往来", 12.0),
    column("摸排率", 10.0),
];

impl Record for LedgerRow {
    const SHEET: &'static str = "摸排台账";

    fn columns() -> &'static [SheetColumn] {
        COLUMNS
    }

    fn cells(&self) -> Vec<Cell<'_>> {
        #[expect(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
        let number = |count: i64| Cell::Number(Some(count as f64));
        let c = &self.counts;
        vec![
            Cell::Text(&self.sector),
            Cell::Text(&self.park),
            number(c.total),
            number(c.assigned),
            number(c.attempted),
            number(c.reached),
            number(c.approved),
            number(c.lost),
            number(c.closed),
            number(c.active),
            Cell::Text(&self.rate),
        ]
    }
}

/// The ledger of a campaign the caller sees (404 otherwise) as rows, and its download
/// named after the campaign.
async fn ledger(
    state: &AppState,
    caller: &Caller,
    id: CampaignId,
) -> Result<(Table<LedgerRow>, Download), ApiError> {
    let ledgers = Arc::clone(&state.ledgers);
    let (campaign, coverage) = read_campaign(state, caller, id, move |conn, scope, campaign| {
        let coverage = Coverage::of(conn, &ledgers, scope, &campaign.id)?;
        Ok((campaign, coverage))
    })
    .await?;
    let download = Download {
        ascii_name: "coverage",
        name: Cow::Owned(format!("{}-摸排台账", campaign.name)),
        action: "survey.coverage.export",
        object: ("survey_campaign", Cow::Owned(campaign.id.to_string())),
    };
    Ok((Table(LedgerRow::of(&coverage)), download))
}

/// `GET /api/v1/survey/campaigns/{id}/coverage.xlsx`.
pub async fn export_coverage_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let (table, download) = ledger(&state, &caller, id.into_inner()).await?;
    exports::xlsx_export(&state, &caller, table, download).await
}

/// `GET /api/v1/survey/campaigns/{id}/coverage.csv`: UTF-8 with BOM, the same rows.
pub async fn export_coverage_csv(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, ApiError> {
    let (table, download) = ledger(&state, &caller, id.into_inner()).await?;
    exports::csv_export(&state, &caller, table, download).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_counts_reached_and_closed_over_all() {
        let counts = Counts {
            total: 8,
            reached: 2,
            closed: 1,
            lost: 1,
            ..Counts::default()
        };
        assert_eq!(LedgerRow::new("SA", "P1", counts).rate, "37.5%");
        assert_eq!(LedgerRow::new("SA", "P1", Counts::default()).rate, "");
    }
}
