//! `/api/v1/survey/campaigns/{id}/scoring`, `.../scoring/run` and `.../scores` (with
//! `scores.csv` and `scores.xlsx`): a campaign's scoring rules and their versions, a
//! run over the cases whose answers are approved, and the ranked scores with their
//! explanations, each scoped to the caller ([`SurveyScope`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::audit::{self, Event};
use crate::auth::caller::Caller;
use crate::domain::id::{CampaignId, OrgUnitId};
use crate::error::ApiError;
use crate::exports::sheet::{Cell, Record, SheetColumn};
use crate::exports::{self, Download, Table};
use crate::pagination::{Page, PageRequest};
use crate::state::AppState;
use crate::survey::campaigns::Campaign;
use crate::survey::handlers::{audit_if_refused, read_campaign};
use crate::survey::scoring::{
    Score, ScoreClass, ScoreFilter, ScoreView, ScoringBody, ScoringRules, ScoringRun,
    ScoringVersion,
};
use crate::survey::{SurveyScope, unit_names};

/// `GET /api/v1/survey/campaigns/{id}/scoring`: the campaign's current scoring rules.
pub async fn find_scoring(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<ScoringVersion>, ApiError> {
    let found = read_campaign(&state, &caller, id.into_inner(), |conn, _, campaign| {
        ScoringVersion::current(conn, &campaign.id)
    })
    .await?;
    Ok(web::Json(found))
}

/// `PUT /api/v1/survey/campaigns/{id}/scoring`: saves the rules as the campaign's next
/// version (whoever may run the campaign); earlier versions and their scores stay.
pub async fn update_scoring(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<ScoringBody>,
) -> Result<web::Json<ScoringVersion>, ApiError> {
    let rules = ScoringRules::parse(body.into_inner()).map_err(ApiError::validation)?;
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let writer = caller.clone();
    let saved = state
        .db
        .write(move |conn| {
            let (campaign, _) = Campaign::find_to_run(conn, &scope, &id)?;
            let saved = ScoringVersion::save(conn, &campaign.id, &rules, &writer.user_id)?;
            let event = Event::success("survey.scoring.update", "survey_campaign", &campaign.id)
                .with_details(serde_json::json!({
                    "version": saved.version,
                    "weights": saved
                        .rules
                        .rules()
                        .iter()
                        .map(|rule| (rule.indicator.as_str(), rule.weight))
                        .collect::<BTreeMap<_, _>>(),
                }));
            audit::append(conn, &writer.actor(), event)?;
            Ok(saved)
        })
        .await;
    let route = "PUT /api/v1/survey/campaigns/{id}/scoring";
    Ok(web::Json(
        audit_if_refused(&state, &caller, route, saved).await?,
    ))
}

/// `POST /api/v1/survey/campaigns/{id}/scoring/run`: scores every case of the campaign
/// whose answers are approved under the current rules, in one transaction (whoever may
/// run the campaign); the version's earlier scores are replaced.
pub async fn run_scoring(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> Result<web::Json<ScoringRun>, ApiError> {
    let scope = SurveyScope::of(&caller);
    let id = id.into_inner();
    let writer = caller.clone();
    let run = state
        .db
        .write(move |conn| {
            let (campaign, _) = Campaign::find_to_run(conn, &scope, &id)?;
            let scoring = ScoringVersion::current(conn, &campaign.id)?;
            let run = Score::run(conn, &scoring)?;
            let event = Event::success("survey.scoring.run", "survey_campaign", &campaign.id)
                .with_details(serde_json::json!({
                    "version": run.version,
                    "scored": run.scored,
                    "classes": run.classes,
                }));
            audit::append(conn, &writer.actor(), event)?;
            Ok(run)
        })
        .await;
    let route = "POST /api/v1/survey/campaigns/{id}/scoring/run";
    Ok(web::Json(
        audit_if_refused(&state, &caller, route, run).await?,
    ))
}

/// Query of the score list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreListQuery {
    /// Page size.
    pub limit: Option<i64>,
    /// Where the page starts.
    pub cursor: Option<String>,
    /// The rule version (the current one when absent).
    pub version: Option<i32>,
    /// Of this sector.
    pub sector_id: Option<OrgUnitId>,
    /// Of this park.
    pub park_id: Option<OrgUnitId>,
    /// Of this class.
    pub class: Option<ScoreClass>,
}

/// Query of a score export: the list's filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreExportQuery {
    /// The rule version (the current one when absent).
    pub version: Option<i32>,
    /// Of this sector.
    pub sector_id: Option<OrgUnitId>,
    /// Of this park.
    pub park_id: Option<OrgUnitId>,
    /// Of this class.
    pub class: Option<ScoreClass>,
}

/// The scores of a campaign the caller sees (404 otherwise) under `version` (the
/// current one when absent; 404 for a version it does not have), in the caller's
/// scope, best first; a page of them when `page` is given.
async fn scores(
    state: &AppState,
    caller: &Caller,
    id: CampaignId,
    version: Option<i32>,
    filter: ScoreFilter,
    page: Option<PageRequest>,
) -> Result<(Campaign, Vec<ScoreView>), ApiError> {
    read_campaign(state, caller, id, move |conn, scope, campaign| {
        let scoring = match version {
            Some(version) => ScoringVersion::at(conn, &campaign.id, version)?,
            None => ScoringVersion::current(conn, &campaign.id)?,
        };
        let (after, limit) = match &page {
            Some(page) => (page.after.as_deref(), Some(page.fetch())),
            None => (None, None),
        };
        let views = Score::list(
            conn,
            scope,
            &campaign.id,
            scoring.version,
            &filter,
            after,
            limit,
        )?;
        Ok((campaign, views))
    })
    .await
}

/// `GET /api/v1/survey/campaigns/{id}/scores`: the scores under a rule version, best
/// first, with ranks in the campaign, the sector and the park, class and explanation.
pub async fn list_scores(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    query: web::Query<ScoreListQuery>,
) -> Result<web::Json<Page<ScoreView>>, ApiError> {
    let query = query.into_inner();
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = ScoreFilter {
        sector_id: query.sector_id,
        park_id: query.park_id,
        class: query.class,
    };
    let (_, views) = scores(
        &state,
        &caller,
        id.into_inner(),
        query.version,
        filter,
        Some(page.clone()),
    )
    .await?;
    Ok(web::Json(page.page(views, Score::key)))
}

/// One row of the exported scores.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRow {
    rank: i32,
    sector_rank: i32,
    park_rank: i32,
    enterprise_name: String,
    credit_code: String,
    sector: String,
    park: String,
    score: f64,
    class: &'static str,
    explanation: String,
}

impl ScoreRow {
    /// The row of a score, with its sector's and park's names.
    fn new(view: ScoreView, sector: String, park: String) -> Self {
        let explanation = view
            .explanation
            .iter()
            .map(|e| {
                let value = e
                    .value
                    .map_or_else(|| "未填报".to_owned(), |v| format!("{v:.2}"));
                format!(
                    "{} {value}：{} 分 × 权重 {} = {:.2}",
                    e.label, e.points, e.weight, e.score
                )
            })
            .collect::<Vec<_>>()
            .join("；");
        Self {
            rank: view.rank,
            sector_rank: view.sector_rank,
            park_rank: view.park_rank,
            enterprise_name: view.enterprise_name,
            credit_code: view.credit_code,
            sector,
            park,
            score: view.score,
            class: view.class.as_str(),
            explanation,
        }
    }
}

/// Ranks and the score are numbers, the rest text (the credit code kept as text).
const fn column(header: &'static str, width: f64, text: bool) -> SheetColumn {
    SheetColumn {
        header,
        width,
        text,
    }
}

const COLUMNS: &[SheetColumn] = &[
    column("排名", 8.0, false),
    column("行业内排名", 10.0, false),
    column("园区内排名", 10.0, false),
    column("企业名称", 32.0, false),
    column("统一社会信用代码", 22.0, true),
    column("行业", 20.0, false),
    column("园区", 20.0, false),
    column("得分", 8.0, false),
    column("等级", 6.0, false),
    column("得分说明", 80.0, false),
];

impl Record for ScoreRow {
    const SHEET: &'static str = "潜力企业评分";

    fn columns() -> &'static [SheetColumn] {
        COLUMNS
    }

    fn cells(&self) -> Vec<Cell<'_>> {
        let number = |n: i32| Cell::Number(Some(f64::from(n)));
        vec![
            number(self.rank),
            number(self.sector_rank),
            number(self.park_rank),
            Cell::Text(&self.enterprise_name),
            Cell::Text(&self.credit_code),
            Cell::Text(&self.sector),
            Cell::Text(&self.park),
            Cell::Number(Some(self.score)),
            Cell::Text(self.class),
            Cell::Text(&self.explanation),
        ]
    }
}

/// The scores as rows, and their download named after the campaign.
async fn score_table(
    state: &AppState,
    caller: &Caller,
    id: CampaignId,
    query: ScoreExportQuery,
) -> Result<(Table<ScoreRow>, Download), ApiError> {
    let filter = ScoreFilter {
        sector_id: query.sector_id,
        park_id: query.park_id,
        class: query.class,
    };
    let (campaign, views) = scores(state, caller, id, query.version, filter, None).await?;
    // Each sector and park once: thousands of scores name a few dozen of them.
    let ids: BTreeSet<OrgUnitId> = views
        .iter()
        .flat_map(|v| [v.sector_id.clone(), v.park_id.clone()])
        .collect();
    let names = state
        .db
        .read(move |conn| unit_names(conn, ids.iter()))
        .await?;
    let name_of = |id: &OrgUnitId| names.get(id).cloned().unwrap_or_default();
    let rows = views
        .into_iter()
        .map(|view| {
            let (sector, park) = (name_of(&view.sector_id), name_of(&view.park_id));
            ScoreRow::new(view, sector, park)
        })
        .collect();
    let download = Download {
        ascii_name: "scores",
        name: Cow::Owned(format!("{}-潜力企业评分", campaign.name)),
        action: "survey.scores.export",
        object: ("survey_campaign", Cow::Owned(campaign.id.to_string())),
    };
    Ok((Table(rows), download))
}

/// `GET /api/v1/survey/campaigns/{id}/scores.xlsx`.
pub async fn export_scores_xlsx(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    query: web::Query<ScoreExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (table, download) =
        score_table(&state, &caller, id.into_inner(), query.into_inner()).await?;
    exports::xlsx_export(&state, &caller, table, download).await
}

/// `GET /api/v1/survey/campaigns/{id}/scores.csv`: UTF-8 with BOM, the same rows.
pub async fn export_scores_csv(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CampaignId>,
    query: web::Query<ScoreExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (table, download) =
        score_table(&state, &caller, id.into_inner(), query.into_inner()).await?;
    exports::csv_export(&state, &caller, table, download).await
}
