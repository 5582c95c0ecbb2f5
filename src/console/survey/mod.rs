//! The survey's console pages for the officials who run it (sector and park
//! officials, the zone command, admins): campaigns and their assignment
//! ([`office`]), the coverage ledger ([`ledger`]), the review of answers
//! ([`review`]), the potential-enterprise scores ([`scores`]), the issue ledger
//! ([`demands`]), the merge queue of field discoveries ([`discoveries`]) and the
//! surveyors' sheet import ([`surveyors`]); and the surveyors' phone pages: their cases and a case with its
//! attempts and questionnaire ([`field`], [`questionnaire`]). Every page calls the
//! survey API's own handlers and services, so it sees, writes and audits exactly what
//! the API does; any other role gets the 404 page.

pub mod demands;
pub mod discoveries;
pub mod field;
pub mod ledger;
pub mod office;
pub mod questionnaire;
pub mod review;
pub mod scores;
pub mod surveyors;

use actix_web::web;
use maud::{Markup, html};

use crate::auth::caller::SURVEY_RUNNERS;
use crate::console::session::Signed;
use crate::console::{PageError, allowed};
use crate::domain::id::CampaignId;
use crate::pagination::Page;
use crate::state::AppState;
use crate::survey::campaigns::CampaignView;
use crate::survey::cases::CaseView;
use crate::survey::handlers::{CaseListQuery, find_campaign, list_cases};
use crate::survey::{CampaignStatus, CaseState, ReviewState};

/// The campaign list, the entry of the console's navigation.
pub const CAMPAIGNS_PATH: &str = "/console/survey/campaigns";
/// Where a case's review page lives, before the case id.
pub const REVIEW_PATH: &str = "/console/survey/review";
/// Rows of a case list page (the API's largest page).
pub const CASE_ROWS: i64 = 100;

/// The survey's office pages are the 404 page for surveyors and enterprise contacts.
pub fn runners_only(signed: &Signed) -> Result<(), PageError> {
    allowed(SURVEY_RUNNERS.allows(signed.caller.role))
}

/// A campaign's page.
pub fn campaign_path(id: &CampaignId) -> String {
    format!("{CAMPAIGNS_PATH}/{id}")
}

/// A badge of a campaign's status.
pub fn campaign_badge(status: CampaignStatus) -> Markup {
    html! { span class={ "s-" (status.as_str()) } { (status.label()) } }
}

/// A badge of a case's state.
pub fn case_badge(state: CaseState) -> Markup {
    html! { span class={ "s-" (state.as_str()) } { (state.label()) } }
}

/// A badge of where a case's answers stand in review.
pub fn review_badge(review: ReviewState) -> Markup {
    html! { span class={ "s-" (review.as_str()) } { (review.label()) } }
}

/// The links between a campaign's pages.
pub fn campaign_links(id: &CampaignId) -> Markup {
    let path = campaign_path(id);
    html! {
        nav.actions {
            a href=(CAMPAIGNS_PATH) { "← 摸排任务" }
            a href=(path) { "任务与分配" }
            a href={ (path) "/ledger" } { "台账" }
            a href={ (path) "/review" } { "审核" }
            a href={ (path) "/scores" } { "评分" }
            a href={ (path) "/demands" } { "诉求" }
            a href={ (path) "/discoveries" } { "新发现" }
        }
    }
}

/// The campaign a page is about, as the API finds it for the signed-in caller (the
/// 404 page outside their scope).
pub async fn campaign_of(
    state: &web::Data<AppState>,
    signed: &Signed,
    id: &CampaignId,
) -> Result<CampaignView, PageError> {
    let path = web::Path::from(id.clone());
    Ok(find_campaign(state.clone(), signed.caller.clone(), path)
        .await?
        .into_inner())
}

/// A page of the campaign's cases as the API lists them for the signed-in caller.
pub async fn cases_of(
    state: &web::Data<AppState>,
    signed: &Signed,
    id: &CampaignId,
    query: CaseListQuery,
) -> Result<Page<CaseView>, PageError> {
    let path = web::Path::from(id.clone());
    Ok(list_cases(
        state.clone(),
        signed.caller.clone(),
        path,
        web::Query(query),
    )
    .await?
    .into_inner())
}
