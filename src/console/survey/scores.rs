//! A campaign's potential-enterprise scores (潜力企业评分) over the caller's scope:
//! the ranked list with class and explanation, filters by sector, park and class, a
//! new scoring run, and the exports. The API's handlers do the work (the same scope,
//! the same audit entries).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use crate::console::session::{Posted, Signed};
use crate::console::survey::{
    CAMPAIGNS_PATH, CASE_ROWS, campaign_links, campaign_of, campaign_path, runners_only,
};
use crate::console::{PageError, layout, render, see_other};
use crate::domain::id::{CampaignId, OrgUnitId};
use crate::error::ApiError;
use crate::state::AppState;
use crate::survey::scoring::ScoreClass;
use crate::survey::scoring_handlers::{
    ScoreExportQuery, ScoreListQuery, export_scores_csv, export_scores_xlsx, list_scores,
    run_scoring,
};

/// The scores of a campaign.
fn scores_path(id: &CampaignId) -> String {
    format!("{}/scores", campaign_path(id))
}

/// The list's filters as typed in its form (GET query).
struct Filters {
    sector_id: Option<OrgUnitId>,
    park_id: Option<OrgUnitId>,
    class: Option<ScoreClass>,
    cursor: Option<String>,
}

impl Filters {
    fn read(req: &HttpRequest) -> Result<Filters, ApiError> {
        let query = Posted::parse(req.query_string().as_bytes());
        let class = query
            .text("class")?
            .map(|raw| {
                ScoreClass::from_stored(&raw).ok_or_else(|| {
                    ApiError::field("class", "invalid_value", "类别须为 A、B、C 或 D")
                })
            })
            .transpose()?;
        Ok(Filters {
            sector_id: query.text("sector_id")?.map(OrgUnitId::from),
            park_id: query.text("park_id")?.map(OrgUnitId::from),
            class,
            cursor: query.text("cursor")?,
        })
    }

    /// The filters as the API's export takes them.
    fn exported(self) -> ScoreExportQuery {
        ScoreExportQuery {
            version: None,
            sector_id: self.sector_id,
            park_id: self.park_id,
            class: self.class,
        }
    }

    /// The query string of the filters (for the exports and the next page).
    fn encoded(&self, cursor: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(sector) = &self.sector_id {
            query.append_pair("sector_id", sector.as_str());
        }
        if let Some(park) = &self.park_id {
            query.append_pair("park_id", park.as_str());
        }
        if let Some(class) = self.class {
            query.append_pair("class", class.as_str());
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// `GET /console/survey/campaigns/{id}/scores`: the scores under the current rules,
/// best first.
pub async fn scores_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let id = id.into_inner();
    let filters = Filters::read(&req)?;
    let caller = signed.caller.clone();
    let campaign = campaign_of(&state, &signed, &id).await?;
    let listed = ScoreListQuery {
        limit: Some(CASE_ROWS),
        cursor: filters.cursor.clone(),
        version: None,
        sector_id: filters.sector_id.clone(),
        park_id: filters.park_id.clone(),
        class: filters.class,
    };
    let scores = list_scores(
        state.clone(),
        caller,
        web::Path::from(id.clone()),
        web::Query(listed),
    )
    .await?
    .into_inner();
    let path = scores_path(&id);
    let exported = filters.encoded(None);
    let body = html! {
        (campaign_links(&id))
        h1 { (campaign.name) " · 潜力企业评分" }
        form.card.filters method="get" action=(path) {
            label { "类别"
                select name="class" {
                    option value="" { "全部" }
                    @for class in ScoreClass::ALL {
                        option value=(class.as_str()) selected[filters.class == Some(*class)] { (class.label()) }
                    }
                }
            }
            @if let Some(sector) = &filters.sector_id { input type="hidden" name="sector_id" value=(sector); }
            @if let Some(park) = &filters.park_id { input type="hidden" name="park_id" value=(park); }
            button.btn.alt type="submit" { "筛选" }
            a href={ (path) ".xlsx?" (exported) } { "导出 Excel" }
            a href={ (path) ".csv?" (exported) } { "导出 CSV" }
        }
        form.card method="post" action={ (path) "/run" } {
            (signed.csrf_field())
            p.muted { "按当前评分规则为已通过审核的问卷重新评分（只计已通过的答案）。" }
            button.btn type="submit" { "重新评分" }
        }
        section.card {
            @if scores.items.is_empty() {
                p.muted { "还没有评分：问卷通过审核后点“重新评分”。" }
            } @else {
                div.scroll { table #scores {
                    thead { tr { th.n { "排名" } th { "企业" } th.n { "得分" } th { "类别" } th.n { "行业内" } th.n { "园区内" } th { "依据" } } }
                    tbody {
                        @for score in &scores.items {
                            tr {
                                td.n { (score.rank) }
                                td.wrap { (score.enterprise_name) }
                                td.n { (format!("{:.1}", score.score)) }
                                td { (score.class.label()) }
                                td.n { (score.sector_rank) }
                                td.n { (score.park_rank) }
                                td.wrap {
                                    @for part in &score.explanation {
                                        (part.label) "："
                                        @match part.value { Some(value) => (value), None => "未填" }
                                        " → " (format!("{:.1}", part.score)) " 分"
                                        br;
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if let Some(next) = &scores.next_cursor {
                p { a href={ (path) "?" (filters.encoded(Some(next))) } { "下一页" } }
            }
        }
    };
    Ok(render(
        StatusCode::OK,
        layout::page(
            &state.settings.zone_name,
            &signed,
            CAMPAIGNS_PATH,
            "潜力企业评分",
            body,
        ),
    ))
}

/// `POST /console/survey/campaigns/{id}/scores/run`: a scoring run through the API
/// (audited `survey.scoring.run`), back to the scores.
pub async fn run(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    signed.posted(&req, &body)?;
    runners_only(&signed)?;
    let id = id.into_inner();
    run_scoring(state, signed.caller, web::Path::from(id.clone())).await?;
    Ok(see_other(&scores_path(&id)))
}

/// `GET /console/survey/campaigns/{id}/scores.xlsx`: the API's export of the
/// filtered scores (audited `survey.scores.export`).
pub async fn export_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let query = Filters::read(&req)?.exported();
    Ok(export_scores_xlsx(state, signed.caller, id, web::Query(query)).await?)
}

/// `GET /console/survey/campaigns/{id}/scores.csv`: the API's export of the filtered
/// scores (audited `survey.scores.export`).
pub async fn export_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    signed: Signed,
    id: web::Path<CampaignId>,
) -> Result<HttpResponse, PageError> {
    runners_only(&signed)?;
    let query = Filters::read(&req)?.exported();
    Ok(export_scores_csv(state, signed.caller, id, web::Query(query)).await?)
}
