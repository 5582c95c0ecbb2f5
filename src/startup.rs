//! Building and running the application: database, secrets, first admin, and the
//! route table with the roles allowed on each route.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError, web};
use chrono::TimeDelta;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::handlers::{list_audit, verify_audit};
use crate::audit::{self, Linking, VerificationCache};
use crate::auth::caller::{
    ADMIN, BLACKLIST_KEEPERS, BLACKLIST_READERS, ENTERPRISE_KEEPERS, GATE_SCANNERS, GATE_WATCHERS,
    OFFICIALS, OVERSIGHT, OWN_ACCOUNT, Policy, REVEALERS, SIGNED_IN, STAFF, SURVEY_FIELD,
    SURVEY_RUNNERS, SURVEYORS, TEAM_KEEPERS, require,
};
use crate::auth::handlers::{change_my_password, find_me, login, logout, refresh};
use crate::auth::known::KnownUsers;
use crate::auth::passwords::HashingLimit;
use crate::auth::throttle;
use crate::auth::tokens::TokenKeys;
use crate::blacklist::handlers as blacklist_handlers;
use crate::body;
use crate::codes::handlers::{
    code_png, code_scans, code_svg, find_code, poster_png, posters_zip, resume_code, rotate_code,
    suspend_code,
};
use crate::codes::tally::{self, ScanTally};
use crate::config::Settings;
use crate::console::{
    self, account::logout as console_logout, account::show_activation, account::show_login,
    account::show_password, account::submit_activation, account::submit_login,
    account::submit_password, activation as console_activation, assets::console_asset,
    audit as console_audit, code as console_code, dashboard::dashboard_page,
    enterprises as console_enterprises, fields as console_fields, gate as console_gate,
    home::home_page, org as console_org, posters as console_posters,
    registrations as console_registrations, roster as console_roster, settings::settings_page,
    settings::update_settings, survey::demands as survey_demands,
    survey::discoveries as survey_discoveries, survey::field as survey_field,
    survey::ledger as survey_ledger, survey::office as survey_office,
    survey::review as survey_review, survey::scores as survey_scores,
    survey::surveyors as survey_surveyors, users as console_users,
};
use crate::data_dir::{self, create_private_dir};
use crate::db::now;
use crate::db::{Backend, Db};
use crate::enterprises::exports::{export_enterprises_csv, export_enterprises_xlsx};
use crate::enterprises::handlers::{
    create_enterprise, find_enterprise, import_enterprises, list_enterprises,
    reveal_enterprise_contact, update_enterprise,
};
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::forms::handlers::{
    find_enterprise_template, find_zone_template, update_enterprise_template, update_zone_template,
};
use crate::gate;
use crate::gate::handlers as gate_handlers;
use crate::gate::offline::PassSigner;
use crate::health::{healthz, metrics, openapi, readyz};
use crate::heavy::HeavyWork;
use crate::nul::refuse_nul;
use crate::org::handlers::{
    Parks, Sectors, create_org_unit, delete_org_unit, find_org_unit, list_org_units,
    update_org_unit,
};
use crate::personal::Vault;
use crate::ratelimit::{self, RateLimiter};
use crate::registrations::exports::{export_registrations_csv, export_registrations_xlsx};
use crate::registrations::handlers::{
    approve_registration, find_registration, list_registrations, reject_registration,
    resume_registration, reveal_registration, suspend_registration,
};
use crate::registrations::open::CodeForms;
use crate::registrations::profiles::{erase_driver_profile, find_driver_profile};
use crate::registrations::public::{
    cancel_pass, create_registration, find_pass, find_public_code, list_regions,
};
use crate::registrations::retention;
use crate::registrations::settings::{find_registration_settings, update_registration_settings};
use crate::secrets::{Configured, Secrets};
use crate::state::AppState;
use crate::survey::answer_handlers::{
    find_answers, find_questionnaire, review_case, submit_answers, update_questionnaire,
};
use crate::survey::coverage::LedgerCache;
use crate::survey::coverage_export::{export_coverage_csv, export_coverage_xlsx};
use crate::survey::demand_handlers::{
    assign_demand, close_demand, create_demand_note, demand_summary, find_demand, list_demands,
};
use crate::survey::discovery_handlers::{
    create_discovery, find_discovery, list_discoveries, resolve_discovery,
};
use crate::survey::handlers::{
    assign_cases, campaign_coverage, campaign_progress, campaign_surveyor_figures, create_campaign,
    create_visit, find_campaign, find_case, list_campaigns, list_cases, list_my_cases, list_photos,
    photo_picture, update_campaign, upload_photo,
};
use crate::survey::scoring_handlers::{
    export_scores_csv, export_scores_xlsx, find_scoring, list_scores, run_scoring, update_scoring,
};
use crate::survey::surveyors::{import_surveyors, move_surveyor};
use crate::telemetry::{Metrics, observe};
use crate::users::User;
use crate::users::activation::bulk::{bulk_create_users, contacts_from_roster};
use crate::users::activation::handlers::{activate, activation_sheet, issue_activation};
use crate::users::handlers::{
    create_user, find_user, list_users, reset_user_password, update_user,
};
use crate::web::code_page::{forget_driver_page, show_code_page, submit_code_page};
use crate::web::pass_page::{cancel_pass_page, show_pass_page};
use crate::web::pass_qr::PassQrs;

/// Largest JSON body the API accepts.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

fn guarded(route: actix_web::Route, policy: Policy) -> actix_web::Route {
    route.wrap(from_fn(move |req, next| require(policy, req, next)))
}

/// Declares every route once: the server registers them from here and the contract
/// test compares `ROUTES` with openapi.yaml. `[POLICY]` names the roles allowed and
/// makes the route authenticate its caller; routes without it are public and ignore
/// the `Authorization` header.
macro_rules! routes {
    ($( $path:literal { $( $method:ident $([$policy:expr])? => $handler:expr ),+ $(,)? } )*) => {
        /// Every route as (lower-case method, path template).
        pub const ROUTES: &[(&str, &str)] = &[ $( $( (stringify!($method), $path), )+ )* ];

        fn configure_routes(cfg: &mut web::ServiceConfig) {
            $(
                cfg.service(
                    web::resource($path)
                        $( .route({
                            let route = web::$method().to($handler);
                            $( let route = guarded(route, $policy); )?
                            route
                        }) )+
                        .default_service(web::to(|| method_not_allowed($path))),
                );
            )*
        }
    };
}

routes! {
    // The drivers' pages and public API first: actix tries routes in order, and a
    // dynamic route costs a regex match, so the busiest paths match without trying
    // the staff API's ~60 routes first.
    "/p/{token}" { get => show_pass_page }
    "/r/{token}" {
        get => show_code_page,
        post => submit_code_page,
    }
    "/api/v1/public/codes/{token}/registrations" { post => create_registration }
    "/api/v1/public/codes/{token}" { get => find_public_code }
    "/api/v1/public/passes/{token}" {
        get => find_pass,
        delete => cancel_pass,
    }
    "/api/v1/public/regions" { get => list_regions }
    "/api/v1/public/drivers/me" {
        get => find_driver_profile,
        delete => erase_driver_profile,
    }
    "/p/{token}/cancel" { post => cancel_pass_page }
    "/r/{token}/forget" { post => forget_driver_page }
    "/healthz" { get => healthz }
    "/readyz" { get => readyz }
    "/metrics" { get => metrics }
    "/openapi.yaml" { get => openapi }
    "/api/v1/auth/login" { post => login }
    "/api/v1/auth/refresh" { post => refresh }
    "/api/v1/auth/activate" { post => activate }
    "/api/v1/auth/logout" { post [OWN_ACCOUNT] => logout }
    "/api/v1/me" { get [OWN_ACCOUNT] => find_me }
    "/api/v1/me/password" { put [OWN_ACCOUNT] => change_my_password }
    "/api/v1/me/cases" { get [SURVEY_FIELD] => list_my_cases }
    "/api/v1/users" {
        get [ADMIN] => list_users,
        post [ADMIN] => create_user,
    }
    // Before `/api/v1/users/{id}`, which would take these paths for ids.
    "/api/v1/users/bulk" { post [ADMIN] => bulk_create_users }
    "/api/v1/users/contacts-from-roster" { post [ADMIN] => contacts_from_roster }
    "/api/v1/users/activation-sheet" { post [ADMIN] => activation_sheet }
    "/api/v1/users/{id}" {
        get [ADMIN] => find_user,
        patch [ADMIN] => update_user,
    }
    "/api/v1/users/{id}/password" { put [ADMIN] => reset_user_password }
    "/api/v1/users/{id}/activation" { post [ADMIN] => issue_activation }
    "/api/v1/sectors" {
        get [SIGNED_IN] => list_org_units::<Sectors>,
        post [ADMIN] => create_org_unit::<Sectors>,
    }
    "/api/v1/sectors/{id}" {
        get [SIGNED_IN] => find_org_unit::<Sectors>,
        patch [ADMIN] => update_org_unit::<Sectors>,
        delete [ADMIN] => delete_org_unit::<Sectors>,
    }
    "/api/v1/parks" {
        get [SIGNED_IN] => list_org_units::<Parks>,
        post [ADMIN] => create_org_unit::<Parks>,
    }
    "/api/v1/parks/{id}" {
        get [SIGNED_IN] => find_org_unit::<Parks>,
        patch [ADMIN] => update_org_unit::<Parks>,
        delete [ADMIN] => delete_org_unit::<Parks>,
    }
    "/api/v1/enterprises" {
        get [SIGNED_IN] => list_enterprises,
        post [ADMIN] => create_enterprise,
    }
    "/api/v1/enterprises/import" { post [ADMIN] => import_enterprises }
    "/api/v1/enterprises/export.csv" { get [SIGNED_IN] => export_enterprises_csv }
    "/api/v1/enterprises/export.xlsx" { get [SIGNED_IN] => export_enterprises_xlsx }
    "/api/v1/enterprises/{id}" {
        get [SIGNED_IN] => find_enterprise,
        patch [ADMIN] => update_enterprise,
    }
    "/api/v1/enterprises/{id}/contact/reveal" { post [REVEALERS] => reveal_enterprise_contact }
    "/api/v1/enterprises/{id}/code" { get [SIGNED_IN] => find_code }
    "/api/v1/enterprises/{id}/code.png" { get [SIGNED_IN] => code_png }
    "/api/v1/enterprises/{id}/code.svg" { get [SIGNED_IN] => code_svg }
    "/api/v1/enterprises/{id}/poster.png" { get [SIGNED_IN] => poster_png }
    "/api/v1/enterprises/{id}/code/rotate" { post [ENTERPRISE_KEEPERS] => rotate_code }
    "/api/v1/enterprises/{id}/code/suspend" { post [ENTERPRISE_KEEPERS] => suspend_code }
    "/api/v1/enterprises/{id}/code/resume" { post [ENTERPRISE_KEEPERS] => resume_code }
    "/api/v1/enterprises/{id}/code/scans" { get [SIGNED_IN] => code_scans }
    "/api/v1/enterprises/{id}/form-template" {
        get [SIGNED_IN] => find_enterprise_template,
        put [ENTERPRISE_KEEPERS] => update_enterprise_template,
    }
    "/api/v1/enterprises/{id}/registration-settings" {
        get [SIGNED_IN] => find_registration_settings,
        put [ENTERPRISE_KEEPERS] => update_registration_settings,
    }
    "/api/v1/form-template" {
        get [SIGNED_IN] => find_zone_template,
        put [ADMIN] => update_zone_template,
    }
    "/api/v1/posters.zip" { get [STAFF] => posters_zip }
    "/api/v1/registrations" { get [SIGNED_IN] => list_registrations }
    "/api/v1/registrations/export.csv" { get [SIGNED_IN] => export_registrations_csv }
    "/api/v1/registrations/export.xlsx" { get [SIGNED_IN] => export_registrations_xlsx }
    "/api/v1/registrations/{id}" { get [SIGNED_IN] => find_registration }
    "/api/v1/registrations/{id}/approve" { post [ENTERPRISE_KEEPERS] => approve_registration }
    "/api/v1/registrations/{id}/reject" { post [ENTERPRISE_KEEPERS] => reject_registration }
    "/api/v1/registrations/{id}/suspend" { post [ENTERPRISE_KEEPERS] => suspend_registration }
    "/api/v1/registrations/{id}/resume" { post [ENTERPRISE_KEEPERS] => resume_registration }
    "/api/v1/registrations/{id}/reveal" { post [REVEALERS] => reveal_registration }
    "/api/v1/gate/redeem" { post [GATE_SCANNERS] => gate_handlers::redeem }
    "/api/v1/gate/annul" { post [GATE_SCANNERS] => gate_handlers::annul }
    "/api/v1/gate/key" { get [GATE_SCANNERS] => gate_handlers::gate_key }
    "/api/v1/gate/revocations" { get [GATE_SCANNERS] => gate_handlers::revocations }
    "/api/v1/gate/status" { get [OFFICIALS] => gate_handlers::zone_status }
    "/api/v1/enterprises/{id}/gate/settings" {
        get [GATE_WATCHERS] => gate_handlers::gate_settings,
        put [ENTERPRISE_KEEPERS] => gate_handlers::set_gate_settings,
    }
    "/api/v1/enterprises/{id}/gates" {
        get [GATE_WATCHERS] => gate_handlers::list_gates,
        post [ENTERPRISE_KEEPERS] => gate_handlers::create_gate,
    }
    "/api/v1/enterprises/{id}/gates/{gate_id}" {
        patch [ENTERPRISE_KEEPERS] => gate_handlers::update_gate,
    }
    "/api/v1/enterprises/{id}/guards" { get [ENTERPRISE_KEEPERS] => gate_handlers::list_guards }
    "/api/v1/enterprises/{id}/guards/{user_id}" {
        put [ENTERPRISE_KEEPERS] => gate_handlers::set_guard_gates,
    }
    "/api/v1/enterprises/{id}/gate/status" { get [GATE_WATCHERS] => gate_handlers::gate_status }
    "/api/v1/enterprises/{id}/gate/events" { get [GATE_WATCHERS] => gate_handlers::gate_events }
    "/api/v1/blacklist" {
        get [BLACKLIST_READERS] => blacklist_handlers::list_blacklist,
        post [BLACKLIST_KEEPERS] => blacklist_handlers::add_blacklist_entry,
    }
    "/api/v1/blacklist/{id}" {
        get [BLACKLIST_READERS] => blacklist_handlers::find_blacklist_entry,
        delete [BLACKLIST_KEEPERS] => blacklist_handlers::lift_blacklist_entry,
    }
    "/api/v1/survey/campaigns" {
        get [SURVEY_RUNNERS] => list_campaigns,
        post [SURVEY_RUNNERS] => create_campaign,
    }
    "/api/v1/survey/campaigns/{id}" {
        get [SURVEY_RUNNERS] => find_campaign,
        patch [SURVEY_RUNNERS] => update_campaign,
    }
    "/api/v1/survey/campaigns/{id}/cases" { get [SURVEY_RUNNERS] => list_cases }
    "/api/v1/survey/campaigns/{id}/cases/assign" { post [SURVEY_RUNNERS] => assign_cases }
    "/api/v1/survey/campaigns/{id}/coverage" { get [SURVEY_RUNNERS] => campaign_coverage }
    "/api/v1/survey/campaigns/{id}/coverage.xlsx" { get [SURVEY_RUNNERS] => export_coverage_xlsx }
    "/api/v1/survey/campaigns/{id}/coverage.csv" { get [SURVEY_RUNNERS] => export_coverage_csv }
    "/api/v1/survey/campaigns/{id}/coverage/progress" { get [SURVEY_RUNNERS] => campaign_progress }
    "/api/v1/survey/campaigns/{id}/coverage/surveyors" {
        get [SURVEY_RUNNERS] => campaign_surveyor_figures,
    }
    "/api/v1/survey/campaigns/{id}/scoring" {
        get [SURVEY_RUNNERS] => find_scoring,
        put [SURVEY_RUNNERS] => update_scoring,
    }
    "/api/v1/survey/campaigns/{id}/scoring/run" { post [SURVEY_RUNNERS] => run_scoring }
    "/api/v1/survey/campaigns/{id}/scores" { get [SURVEY_RUNNERS] => list_scores }
    "/api/v1/survey/campaigns/{id}/scores.xlsx" { get [SURVEY_RUNNERS] => export_scores_xlsx }
    "/api/v1/survey/campaigns/{id}/scores.csv" { get [SURVEY_RUNNERS] => export_scores_csv }
    "/api/v1/survey/surveyors/import" { post [TEAM_KEEPERS] => import_surveyors }
    "/api/v1/survey/surveyors/{id}/team" { post [TEAM_KEEPERS] => move_surveyor }
    "/api/v1/survey/cases/{id}" { get [SURVEY_FIELD] => find_case }
    "/api/v1/survey/cases/{id}/visits" { post [SURVEY_FIELD] => create_visit }
    "/api/v1/survey/cases/{id}/photos" {
        get [SURVEY_FIELD] => list_photos,
        post [SURVEY_FIELD] => upload_photo,
    }
    "/api/v1/survey/photos/{id}" { get [SURVEY_FIELD] => photo_picture }
    "/api/v1/survey/campaigns/{id}/questionnaire" {
        get [SURVEY_RUNNERS] => find_questionnaire,
        put [OVERSIGHT] => update_questionnaire,
    }
    "/api/v1/survey/cases/{id}/answers" {
        get [SURVEY_FIELD] => find_answers,
        post [SURVEY_FIELD] => submit_answers,
    }
    "/api/v1/survey/cases/{id}/review" { post [SURVEY_RUNNERS] => review_case }
    "/api/v1/survey/demands" { get [SURVEY_RUNNERS] => list_demands }
    // Before `/api/v1/survey/demands/{id}`, which would take the path for an id.
    "/api/v1/survey/demands/summary" { get [SURVEY_RUNNERS] => demand_summary }
    "/api/v1/survey/demands/{id}" { get [SURVEY_RUNNERS] => find_demand }
    "/api/v1/survey/demands/{id}/assign" { post [SURVEY_RUNNERS] => assign_demand }
    "/api/v1/survey/demands/{id}/notes" { post [SURVEY_RUNNERS] => create_demand_note }
    "/api/v1/survey/demands/{id}/close" { post [SURVEY_RUNNERS] => close_demand }
    "/api/v1/survey/campaigns/{id}/discoveries" {
        get [SURVEY_FIELD] => list_discoveries,
        post [SURVEYORS] => create_discovery,
    }
    "/api/v1/survey/discoveries/{id}" { get [SURVEY_FIELD] => find_discovery }
    "/api/v1/survey/discoveries/{id}/resolve" { post [SURVEY_RUNNERS] => resolve_discovery }
    "/api/v1/audit" { get [OVERSIGHT] => list_audit }
    "/api/v1/audit/verify" { get [OVERSIGHT] => verify_audit }
    // The staff console: its pages find their user by the session cookie
    // (`console::session::Signed`), not by a bearer token, so they carry no policy here;
    // each page asks the same role policies before offering or taking an action.
    "/console/assets/{file}" { get => console_asset }
    "/console/login" {
        get => show_login,
        post => submit_login,
    }
    "/console/activate" {
        get => show_activation,
        post => submit_activation,
    }
    "/console/logout" { post => console_logout }
    "/console/password" {
        get => show_password,
        post => submit_password,
    }
    "/console/" { get => home_page }
    "/console/registrations" { get => console_registrations::list_page }
    "/console/registrations/rows" { get => console_registrations::list_rows }
    "/console/registrations/approve" { post => console_registrations::bulk_approve }
    "/console/registrations/export.csv" { get => console_registrations::export_csv }
    "/console/registrations/export.xlsx" { get => console_registrations::export_xlsx }
    "/console/registrations/{id}" { get => console_registrations::detail_page }
    "/console/registrations/{id}/approve" { post => console_registrations::approve }
    "/console/registrations/{id}/reject" { post => console_registrations::reject }
    "/console/registrations/{id}/suspend" { post => console_registrations::suspend }
    "/console/registrations/{id}/resume" { post => console_registrations::resume }
    "/console/registrations/{id}/reveal" { post => console_registrations::reveal_page }
    "/console/settings" {
        get => settings_page,
        post => update_settings,
    }
    "/console/enterprises" { get => console_enterprises::roster_page }
    "/console/enterprises/export.csv" { get => console_enterprises::export_csv }
    "/console/enterprises/export.xlsx" { get => console_enterprises::export_xlsx }
    "/console/enterprises/{id}" { get => console_enterprises::enterprise_page }
    "/console/audit" { get => console_audit::audit_page }
    "/console/audit/verify" { get => console_audit::verify_page }
    "/console/dashboard" { get => dashboard_page }
    "/console/code" { get => console_code::code_page }
    "/console/code/qr.svg" { get => console_code::qr_svg }
    "/console/code/qr.png" { get => console_code::qr_png }
    "/console/code/poster.png" { get => console_code::poster_png }
    "/console/code/rotate" { post => console_code::rotate }
    "/console/code/suspend" { post => console_code::suspend }
    "/console/code/resume" { post => console_code::resume }
    "/console/fields" {
        get => console_fields::fields_page,
        post => console_fields::edit_fields,
    }
    "/console/fields/preview" { post => console_fields::preview_fields }
    "/console/users" {
        get => console_users::list_page,
        post => console_users::create,
    }
    "/console/users/new" { get => console_users::new_page }
    "/console/users/activation" {
        get => console_activation::activation_page,
        post => console_activation::confirm,
    }
    "/console/users/activation/preview" { post => console_activation::preview }
    "/console/users/activation-sheet" { post => console_activation::sheet }
    "/console/users/{id}" {
        get => console_users::detail_page,
        post => console_users::update,
    }
    "/console/users/{id}/active" { post => console_users::set_active }
    "/console/users/{id}/password" { post => console_users::reset }
    "/console/org" { get => console_org::org_page }
    "/console/org/sectors" { post => console_org::create::<Sectors> }
    "/console/org/parks" { post => console_org::create::<Parks> }
    "/console/org/sectors/{id}" { post => console_org::rename::<Sectors> }
    "/console/org/parks/{id}" { post => console_org::rename::<Parks> }
    "/console/org/sectors/{id}/delete" { post => console_org::delete::<Sectors> }
    "/console/org/parks/{id}/delete" { post => console_org::delete::<Parks> }
    "/console/posters" { get => console_posters::posters_page }
    "/console/posters.zip" { get => console_posters::posters_zip_page }
    "/console/roster/import" {
        get => console_roster::upload_page,
        post => console_roster::preview,
    }
    "/console/roster/import/confirm" { post => console_roster::confirm }
    // The survey's office pages (campaigns, assignment, ledger, review) for the
    // officials who run it: src/console/survey/.
    "/console/survey/campaigns" {
        get => survey_office::campaigns_page,
        post => survey_office::create_campaign,
    }
    "/console/survey/campaigns/{id}" { get => survey_office::campaign_page }
    "/console/survey/campaigns/{id}/status" { post => survey_office::set_status }
    "/console/survey/campaigns/{id}/assign" { post => survey_office::assign }
    "/console/survey/campaigns/{id}/ledger" { get => survey_ledger::ledger_page }
    "/console/survey/campaigns/{id}/ledger/cases" { get => survey_ledger::cell_page }
    "/console/survey/campaigns/{id}/ledger/coverage.xlsx" { get => survey_ledger::export_xlsx }
    "/console/survey/campaigns/{id}/ledger/coverage.csv" { get => survey_ledger::export_csv }
    "/console/survey/campaigns/{id}/review" { get => survey_review::queue_page }
    "/console/survey/campaigns/{id}/scores" { get => survey_scores::scores_page }
    "/console/survey/campaigns/{id}/scores/run" { post => survey_scores::run }
    "/console/survey/campaigns/{id}/scores.xlsx" { get => survey_scores::export_xlsx }
    "/console/survey/campaigns/{id}/scores.csv" { get => survey_scores::export_csv }
    "/console/survey/campaigns/{id}/demands" { get => survey_demands::demands_page }
    "/console/survey/campaigns/{id}/discoveries" { get => survey_discoveries::queue_page }
    "/console/survey/discoveries/{id}" { get => survey_discoveries::discovery_page }
    "/console/survey/discoveries/{id}/resolve" { post => survey_discoveries::resolve }
    "/console/survey/surveyors/import" {
        get => survey_surveyors::upload_page,
        post => survey_surveyors::preview,
    }
    "/console/survey/surveyors/import/confirm" { post => survey_surveyors::confirm }
    "/console/survey/demands/{id}" { get => survey_demands::demand_page }
    "/console/survey/demands/{id}/assign" { post => survey_demands::assign }
    "/console/survey/demands/{id}/notes" { post => survey_demands::note }
    "/console/survey/demands/{id}/close" { post => survey_demands::close }
    "/console/survey/review/photos/{id}" { get => survey_review::photo }
    "/console/survey/review/{id}" {
        get => survey_review::case_page,
        post => survey_review::decide,
    }
    // The gate's pages: its guards' and the enterprise's contacts' scanner.
    "/console/gate" { get => console_gate::scanner_page }
    "/console/gate/scan" { post => console_gate::scan }
    "/console/gate/annul" { post => console_gate::annul }
    "/console/gate/revocations" { get => console_gate::revocations }
    "/console/gate/gates" {
        get => console_gate::gates_page,
        post => console_gate::add_gate,
    }
    "/console/gate/gates/{gate_id}" { post => console_gate::change_gate }
    "/console/gate/guards/{user_id}" { post => console_gate::set_guard_gates }
    "/console/gate/inside" { get => console_gate::inside_page }
    "/console/gate/refused" { get => console_gate::refused_page }
    // The survey's field pages: the surveyor's own cases on the phone.
    "/console/survey/my" { get => survey_field::my_cases_page }
    "/console/survey/cases/{id}" { get => survey_field::case_page }
    "/console/survey/cases/{id}/visits" { post => survey_field::record_attempt }
    "/console/survey/cases/{id}/answers" { post => survey_field::submit_questionnaire }
    "/console/survey/cases/{id}/photos" { post => survey_field::upload_photo }
    "/console/survey/photos/{id}" { get => survey_field::photo }
}

/// Unknown addresses: the console's 404 page under `/console/` (and `/console`, typed
/// without its slash, is the console's home), JSON elsewhere.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.path() == "/console" {
        return Ok(console::see_other(console::HOME_PATH));
    }
    if req.path().starts_with("/console/") {
        return Ok(console::not_found_page());
    }
    Err(ApiError::new(ErrorCode::RouteNotFound, "请求的地址不存在"))
}

/// 405 for a method `path` does not serve, with `Allow` listing the methods it does.
async fn method_not_allowed(path: &'static str) -> HttpResponse {
    let allow: Vec<String> = ROUTES
        .iter()
        .filter(|(_, route)| *route == path)
        .map(|(method, _)| method.to_ascii_uppercase())
        .collect();
    let mut response =
        ApiError::new(ErrorCode::MethodNotAllowed, "该地址不支持此请求方法").error_response();
    if let Ok(value) = header::HeaderValue::from_str(&allow.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api_error = match &error {
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请求体须为 JSON（Content-Type: application/json）",
        ),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("请求体不能超过 {} KB", JSON_BODY_LIMIT / 1024),
            )
        }
        JsonPayloadError::Deserialize(serde_error) => body::json_error(serde_error),
        _ => ApiError::new(ErrorCode::InvalidJson, "请求体不是有效的 JSON"),
    };
    api_error.into()
}

fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = error.to_string();
    let quoted = message.split('`').nth(1).unwrap_or_default().to_owned();
    let api_error = if message.contains("unknown field") {
        ApiError::field(quoted, "unknown_parameter", "不支持的查询参数")
    } else {
        ApiError::validation(vec![FieldError::new(
            "",
            "invalid_query",
            "查询参数格式不正确",
        )])
    };
    api_error.into()
}

/// A configured server, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    initial_admin_password: Option<String>,
    db: Db,
    retention_days: u32,
    scans: Arc<ScanTally>,
    limits: Arc<RateLimiter>,
    login_window: TimeDelta,
}

/// The configured keys, or those of the data directory (created there, private,
/// on first use).
pub fn secrets(settings: &Settings) -> anyhow::Result<Secrets> {
    let needs_key_files =
        settings.jwt_secret.is_none() || settings.data_key.is_none() || settings.gate_key.is_none();
    if needs_key_files {
        create_private_dir(&settings.data_dir)?;
    }
    Secrets::load(
        &settings.data_dir,
        Configured {
            jwt_secret: exposed(&settings.jwt_secret),
            data_key: exposed(&settings.data_key),
            gate_key: exposed(&settings.gate_key),
        },
    )
}

fn exposed(key: &Option<SecretString>) -> Option<&str> {
    key.as_ref().map(ExposeSecret::expose_secret)
}

/// The vault of the data key (the server's, and the command line's imports).
pub fn vault(secrets: &Secrets) -> anyhow::Result<Vault> {
    Vault::new(&secrets.data_key, &[]).map_err(|e| anyhow::anyhow!("data key: {e}"))
}

impl Application {
    /// Connects the database (a bad URL fails here, before any file is created),
    /// migrates, loads or creates secrets, creates the first admin when there is none,
    /// and binds the listener.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let database = settings.database()?;
        data_dir::prepare(&database, &settings.data_dir)?;
        let db = Db::connect(
            &database,
            settings.sqlite_synchronous,
            settings.db_pool_size,
            settings.db_writers,
        )?;
        let secrets = secrets(&settings)?;
        let initial_admin_password = match db.write_blocking(|conn| {
            User::bootstrap_admin(
                conn,
                settings
                    .admin_password
                    .as_ref()
                    .map(ExposeSecret::expose_secret),
            )
        }) {
            Ok(password) => password,
            // Another replica created it at the same moment.
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::UsernameTaken | ErrorCode::AlreadyExists
                ) =>
            {
                None
            }
            Err(error) => anyhow::bail!("cannot create the first admin: {}", error.message()),
        };
        let listener = TcpListener::bind(&settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let retention_days = settings.retention_days;
        let scans = Arc::new(ScanTally::default());
        let limits = Arc::new(RateLimiter::new(db.backend()));
        let login_window = TimeDelta::from_std(settings.login_window())?;
        let state = AppState {
            db: db.clone(),
            tokens: Arc::new(TokenKeys::new(
                &secrets.jwt_key,
                settings.access_token_ttl(),
            )),
            known_users: Arc::new(KnownUsers::default()),
            metrics: Arc::new(Metrics::new()?),
            limits: Arc::clone(&limits),
            vault: vault(&secrets)?,
            pass_qrs: Arc::new(PassQrs::default()),
            signer: Arc::new(PassSigner::new(&secrets.gate_key)),
            scans: Arc::clone(&scans),
            code_forms: Arc::new(CodeForms::default()),
            ledgers: Arc::new(LedgerCache::default()),
            heavy: Arc::new(HeavyWork::new()),
            verification: Arc::new(VerificationCache::default()),
            hashing: HashingLimit::new(settings.password_hash_concurrency),
            console_imports: Arc::default(),
            settings: Arc::new(settings),
        };
        let server = run(listener, state)?;
        Ok(Self {
            port,
            server,
            initial_admin_password,
            db,
            retention_days,
            scans,
            limits,
            login_window,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The generated password of the first admin, on the start that created it.
    pub fn initial_admin_password(&self) -> Option<&str> {
        self.initial_admin_password.as_deref()
    }

    /// Serves until stopped, with the hourly retention job and the writing of code
    /// scans running beside; what was counted last is written on the way out.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        spawn_retention_job(self.db.clone(), self.retention_days, self.login_window);
        spawn_scan_writer(self.db.clone(), Arc::clone(&self.scans));
        spawn_linker(self.db.clone());
        spawn_rate_sync(self.db.clone(), Arc::clone(&self.limits));
        spawn_checkout(self.db.clone());
        let served = self.server.await;
        if let Err(error) = self.scans.flush(&self.db).await {
            tracing::warn!(
                code = error.code().as_str(),
                "writing the last code scans failed"
            );
        }
        served
    }
}

/// Links audit entries into the chain every [`audit::LINK_INTERVAL`], unless another
/// replica is doing it (see [`audit::link`]).
fn spawn_linker(db: Db) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(audit::LINK_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(error) = db
                .write_aside(|conn| audit::link(conn, Linking::IfFree))
                .await
            {
                tracing::warn!(code = error.code().as_str(), "linking audit entries failed");
            }
        }
    });
}

/// Shares this replica's rate-limit counts every [`ratelimit::SYNC_INTERVAL`]
/// (PostgreSQL; a SQLite process counts alone).
fn spawn_rate_sync(db: Db, limits: Arc<RateLimiter>) {
    if db.backend() != Backend::Postgres {
        return;
    }
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(ratelimit::SYNC_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(error) = limits.sync(&db).await {
                tracing::warn!(
                    code = error.code().as_str(),
                    "sharing rate-limit counts failed"
                );
            }
        }
    });
}

/// Checks out the trucks still inside at their enterprise's check-out hour, looking
/// every [`gate::CHECKOUT_INTERVAL`].
fn spawn_checkout(db: Db) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(gate::CHECKOUT_INTERVAL);
        loop {
            interval.tick().await;
            match db.write(|conn| gate::check_out_overdue(conn, now())).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "checked out trucks still inside"),
                Err(error) => {
                    tracing::warn!(code = error.code().as_str(), "automatic check-out failed")
                }
            }
        }
    });
}

/// Writes counted code scans every [`tally::FLUSH_INTERVAL`].
fn spawn_scan_writer(db: Db, scans: Arc<ScanTally>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tally::FLUSH_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(error) = scans.flush(&db).await {
                tracing::warn!(code = error.code().as_str(), "writing code scans failed");
            }
        }
    });
}

/// The hourly retention job: anonymises drivers' personal data past the retention
/// days and forgets old rate-limit windows, login failures and console sessions.
fn spawn_retention_job(db: Db, retention_days: u32, login_window: TimeDelta) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(retention::PURGE_INTERVAL);
        loop {
            interval.tick().await;
            match db
                .write(move |conn| retention::purge(conn, now(), retention_days))
                .await
            {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "anonymised expired driver data"),
                Err(error) => tracing::warn!(code = error.code().as_str(), "retention job failed"),
            }
            if let Err(error) = db.write(ratelimit::sweep).await {
                tracing::warn!(code = error.code().as_str(), "rate limit sweep failed");
            }
            let swept = db.write(move |conn| throttle::sweep(conn, login_window, now()));
            if let Err(error) = swept.await {
                tracing::warn!(code = error.code().as_str(), "login failure sweep failed");
            }
            let swept = db.write(|conn| console::session::sweep(conn, now()));
            if let Err(error) = swept.await {
                tracing::warn!(code = error.code().as_str(), "console session sweep failed");
            }
        }
    });
}

fn run(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let workers = match state.settings.workers {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(JSON_BODY_LIMIT)
                    .error_handler(json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .configure(configure_routes)
            .default_service(web::to(not_found))
            .wrap(from_fn(refuse_nul))
            .wrap(
                DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::REFERRER_POLICY, "no-referrer"))
                    .add((header::X_FRAME_OPTIONS, "DENY")),
            )
            .wrap(Compress::default())
            .wrap(from_fn(observe))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}
