//! The role matrix: every operation in openapi.yaml, called anonymously, as each
//! role and as an admin who must still change the password, must answer as this table
//! says. A new route fails here until it is added.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, CONTRACT, INITIAL_PASSWORD, Staff, TestApp, USER_PASSWORD, api_test,
    credit_code,
};
use crate::registrations;

/// Who may call an operation.
#[derive(Clone, Copy, Debug)]
enum Access {
    Public,
    /// Anyone signed in, also a user who must still change the password.
    OwnAccount,
    SignedIn,
    Only(&'static [&'static str]),
    /// A console page: its caller is the session cookie (tested in `console`), so a
    /// bearer token changes nothing and everyone here gets the same answer.
    Cookie,
}

const ADMIN: Access = Access::Only(&["admin"]);
const OVERSIGHT: Access = Access::Only(&["admin", "regulator"]);
const ENTERPRISE_KEEPERS: Access = Access::Only(&["admin", "enterprise_contact"]);
const REVEALERS: Access = Access::Only(&["regulator", "enterprise_contact"]);
const STAFF: Access = Access::Only(&[
    "admin",
    "regulator",
    "sector_official",
    "park_official",
    "surveyor",
]);
const TEAM_KEEPERS: Access = Access::Only(&["admin", "sector_official", "park_official"]);
const SURVEY_RUNNERS: Access =
    Access::Only(&["admin", "regulator", "sector_official", "park_official"]);
const SURVEYORS: Access = Access::Only(&["surveyor"]);
const GATE_SCANNERS: Access = Access::Only(&["gate_guard", "enterprise_contact"]);
const GATE_WATCHERS: Access = Access::Only(&[
    "admin",
    "regulator",
    "sector_official",
    "park_official",
    "enterprise_contact",
    "gate_guard",
]);
const OFFICIALS: Access = Access::Only(&["admin", "regulator", "sector_official", "park_official"]);
const BLACKLIST_READERS: Access = Access::Only(&[
    "admin",
    "regulator",
    "sector_official",
    "park_official",
    "enterprise_contact",
]);
const BLACKLIST_KEEPERS: Access = Access::Only(&["regulator", "enterprise_contact"]);
const ROLES: [&str; 7] = [
    "regulator",
    "sector_official",
    "park_official",
    "surveyor",
    "enterprise_contact",
    "gate_guard",
    "admin",
];

/// The expected access and the status an allowed caller gets.
fn expectation(method: &str, path: &str) -> (Access, u16) {
    match (method, path) {
        ("get", "/healthz" | "/readyz" | "/metrics" | "/openapi.yaml") => (Access::Public, 200),
        ("post", "/api/v1/auth/login" | "/api/v1/auth/refresh") => (Access::Public, 200),
        // With a wrong code: reaching the code check proves access.
        ("post", "/api/v1/auth/activate") => (Access::Public, 401),
        ("post", "/api/v1/auth/logout") => (Access::OwnAccount, 204),
        ("get", "/api/v1/me") => (Access::OwnAccount, 200),
        // Called with a wrong current password: reaching validation proves access.
        ("put", "/api/v1/me/password") => (Access::OwnAccount, 422),
        ("get", "/api/v1/users" | "/api/v1/users/{id}") => (ADMIN, 200),
        ("post", "/api/v1/users") => (ADMIN, 201),
        ("patch", "/api/v1/users/{id}") => (ADMIN, 200),
        ("put", "/api/v1/users/{id}/password") => (ADMIN, 204),
        (
            "post",
            "/api/v1/users/bulk"
            | "/api/v1/users/contacts-from-roster"
            | "/api/v1/users/{id}/activation",
        ) => (ADMIN, 201),
        ("post", "/api/v1/users/activation-sheet") => (ADMIN, 200),
        (
            "get",
            "/api/v1/sectors" | "/api/v1/sectors/{id}" | "/api/v1/parks" | "/api/v1/parks/{id}",
        ) => (Access::SignedIn, 200),
        ("post", "/api/v1/sectors" | "/api/v1/parks") => (ADMIN, 201),
        ("patch", "/api/v1/sectors/{id}" | "/api/v1/parks/{id}") => (ADMIN, 200),
        ("delete", "/api/v1/sectors/{id}" | "/api/v1/parks/{id}") => (ADMIN, 204),
        ("get", "/api/v1/audit" | "/api/v1/audit/verify") => (OVERSIGHT, 200),
        ("get", "/api/v1/enterprises" | "/api/v1/enterprises/{id}") => (Access::SignedIn, 200),
        ("get", "/api/v1/enterprises/export.csv" | "/api/v1/enterprises/export.xlsx") => {
            (Access::SignedIn, 200)
        }
        ("post", "/api/v1/enterprises") => (ADMIN, 201),
        ("post", "/api/v1/enterprises/import") => (ADMIN, 200),
        ("patch", "/api/v1/enterprises/{id}") => (ADMIN, 200),
        (
            "get",
            "/api/v1/enterprises/{id}/code"
            | "/api/v1/enterprises/{id}/code.png"
            | "/api/v1/enterprises/{id}/code.svg"
            | "/api/v1/enterprises/{id}/poster.png"
            | "/api/v1/enterprises/{id}/code/scans",
        ) => (Access::SignedIn, 200),
        (
            "post",
            "/api/v1/enterprises/{id}/code/rotate"
            | "/api/v1/enterprises/{id}/code/suspend"
            | "/api/v1/enterprises/{id}/code/resume",
        ) => (ENTERPRISE_KEEPERS, 200),
        ("get", "/api/v1/posters.zip") => (STAFF, 200),
        ("get", "/api/v1/form-template" | "/api/v1/enterprises/{id}/form-template") => {
            (Access::SignedIn, 200)
        }
        ("put", "/api/v1/form-template") => (ADMIN, 200),
        ("put", "/api/v1/enterprises/{id}/form-template") => (ENTERPRISE_KEEPERS, 200),
        ("get", "/r/{token}" | "/api/v1/public/codes/{token}") => (Access::Public, 200),
        // An empty form: reaching validation proves access.
        ("post", "/r/{token}") => (Access::Public, 422),
        ("post", "/r/{token}/forget") => (Access::Public, 200),
        ("get", "/api/v1/public/regions") => (Access::Public, 200),
        ("get", "/api/v1/enterprises/{id}/registration-settings") => (Access::SignedIn, 200),
        ("put", "/api/v1/enterprises/{id}/registration-settings") => (ENTERPRISE_KEEPERS, 200),
        ("post", "/api/v1/public/codes/{token}/registrations") => (Access::Public, 201),
        ("get" | "delete", "/api/v1/public/passes/{token}") => (Access::Public, 200),
        ("get", "/p/{token}") => (Access::Public, 200),
        // Without the driver's own key header every caller gets 400.
        ("get" | "delete", "/api/v1/public/drivers/me") => (Access::Public, 400),
        ("post", "/p/{token}/cancel") => (Access::Public, 303),
        (
            "get",
            "/api/v1/registrations"
            | "/api/v1/registrations/{id}"
            | "/api/v1/registrations/export.csv"
            | "/api/v1/registrations/export.xlsx",
        ) => (Access::SignedIn, 200),
        (
            "post",
            "/api/v1/registrations/{id}/approve"
            | "/api/v1/registrations/{id}/reject"
            | "/api/v1/registrations/{id}/suspend"
            | "/api/v1/registrations/{id}/resume",
        ) => (ENTERPRISE_KEEPERS, 200),
        ("post", "/api/v1/registrations/{id}/reveal") => (REVEALERS, 200),
        ("post", "/api/v1/enterprises/{id}/contact/reveal") => (REVEALERS, 200),
        (
            "get",
            "/api/v1/survey/campaigns"
            | "/api/v1/survey/campaigns/{id}"
            | "/api/v1/survey/campaigns/{id}/cases"
            | "/api/v1/survey/campaigns/{id}/coverage"
            | "/api/v1/survey/campaigns/{id}/coverage.xlsx"
            | "/api/v1/survey/campaigns/{id}/coverage.csv"
            | "/api/v1/survey/campaigns/{id}/coverage/surveyors"
            | "/api/v1/survey/campaigns/{id}/coverage/progress"
            | "/api/v1/survey/campaigns/{id}/questionnaire"
            | "/api/v1/survey/campaigns/{id}/scoring"
            | "/api/v1/survey/campaigns/{id}/scores"
            | "/api/v1/survey/campaigns/{id}/scores.xlsx"
            | "/api/v1/survey/campaigns/{id}/scores.csv",
        ) => (SURVEY_RUNNERS, 200),
        // The fixture campaign lies within every official's scope: each may run it.
        ("put", "/api/v1/survey/campaigns/{id}/scoring")
        | ("post", "/api/v1/survey/campaigns/{id}/scoring/run") => (SURVEY_RUNNERS, 200),
        // The fixture campaign runs: reaching the draft check proves access.
        ("put", "/api/v1/survey/campaigns/{id}/questionnaire") => (OVERSIGHT, 409),
        // Surveyors answer, officials review (the matrix returns each fresh submission).
        ("get", "/api/v1/survey/cases/{id}/answers") => (STAFF, 200),
        ("post", "/api/v1/survey/cases/{id}/answers") => (STAFF, 201),
        ("post", "/api/v1/survey/cases/{id}/review") => (SURVEY_RUNNERS, 200),
        ("post", "/api/v1/survey/campaigns") => (SURVEY_RUNNERS, 201),
        ("patch", "/api/v1/survey/campaigns/{id}") => (SURVEY_RUNNERS, 200),
        ("post", "/api/v1/survey/campaigns/{id}/cases/assign") => (SURVEY_RUNNERS, 200),
        // A dry run of a sheet with its header only.
        ("post", "/api/v1/survey/surveyors/import") => (TEAM_KEEPERS, 200),
        // Without a new team: reaching validation proves access (which surveyor an
        // official may move is tested in `survey`).
        ("post", "/api/v1/survey/surveyors/{id}/team") => (TEAM_KEEPERS, 422),
        // Surveyors see the fixture case: it is assigned to them.
        ("get", "/api/v1/me/cases" | "/api/v1/survey/cases/{id}") => (STAFF, 200),
        ("post", "/api/v1/survey/cases/{id}/visits") => (STAFF, 201),
        ("get", "/api/v1/survey/cases/{id}/photos" | "/api/v1/survey/photos/{id}") => (STAFF, 200),
        ("post", "/api/v1/survey/cases/{id}/photos") => (STAFF, 201),
        (
            "get",
            "/api/v1/survey/demands"
            | "/api/v1/survey/demands/summary"
            | "/api/v1/survey/demands/{id}",
        ) => (SURVEY_RUNNERS, 200),
        // Officials hold the fixture enterprise, so each may assign, note and close.
        ("post", "/api/v1/survey/demands/{id}/assign" | "/api/v1/survey/demands/{id}/close") => {
            (SURVEY_RUNNERS, 200)
        }
        ("post", "/api/v1/survey/demands/{id}/notes") => (SURVEY_RUNNERS, 201),
        // The fixture discovery is the surveyor's, in the fixture's sector and park.
        (
            "get",
            "/api/v1/survey/campaigns/{id}/discoveries" | "/api/v1/survey/discoveries/{id}",
        ) => (STAFF, 200),
        ("post", "/api/v1/survey/campaigns/{id}/discoveries") => (SURVEYORS, 201),
        // A fresh discovery in the merge queue each time: a resolved one is not again.
        ("post", "/api/v1/survey/discoveries/{id}/resolve") => (SURVEY_RUNNERS, 200),
        // An unknown code: the scan is recorded, refused.
        ("post", "/api/v1/gate/redeem") => (GATE_SCANNERS, 201),
        // A nonce never scanned: reaching the lookup proves access.
        ("post", "/api/v1/gate/annul") => (GATE_SCANNERS, 404),
        ("get", "/api/v1/gate/key") => (GATE_SCANNERS, 200),
        ("get", "/api/v1/gate/revocations") => (GATE_SCANNERS, 200),
        (
            "get",
            "/api/v1/enterprises/{id}/gates"
            | "/api/v1/enterprises/{id}/gate/status"
            | "/api/v1/enterprises/{id}/gate/events",
        ) => (GATE_WATCHERS, 200),
        ("post", "/api/v1/enterprises/{id}/gates") => (ENTERPRISE_KEEPERS, 201),
        ("get", "/api/v1/gate/status") => (OFFICIALS, 200),
        ("get", "/api/v1/enterprises/{id}/gate/settings") => (GATE_WATCHERS, 200),
        ("put", "/api/v1/enterprises/{id}/gate/settings") => (ENTERPRISE_KEEPERS, 200),
        ("patch", "/api/v1/enterprises/{id}/gates/{gate_id}") => (ENTERPRISE_KEEPERS, 200),
        ("get", "/api/v1/enterprises/{id}/guards") => (ENTERPRISE_KEEPERS, 200),
        ("put", "/api/v1/enterprises/{id}/guards/{user_id}") => (ENTERPRISE_KEEPERS, 200),
        // The fixture entry is the zone's: every reader sees it.
        ("get", "/api/v1/blacklist" | "/api/v1/blacklist/{id}") => (BLACKLIST_READERS, 200),
        // A plate of its own each time; the contact's entry is their enterprise's, the
        // zone command's the zone's.
        ("post", "/api/v1/blacklist") => (BLACKLIST_KEEPERS, 201),
        // A fresh entry of the fixture enterprise each time: a lifted one is not again.
        ("delete", "/api/v1/blacklist/{id}") => (BLACKLIST_KEEPERS, 200),
        ("get", "/console/assets/{file}" | "/console/login" | "/console/activate") => {
            (Access::Cookie, 200)
        }
        // The sign-in and activation forms' own CSRF cookie is missing.
        ("post", "/console/login" | "/console/activate") => (Access::Cookie, 403),
        // Not signed in to the console: to the sign-in.
        (_, path) if path.starts_with("/console/") => (Access::Cookie, 303),
        _ => panic!("{method} {path} is not in the role matrix: add it with its expected access"),
    }
}

struct Fixture {
    staff: Staff,
    target_user: String,
    /// A registration at the fixture enterprise, visible to every role in the matrix.
    registration: String,
    /// A running survey campaign over the fixture's sector and park.
    campaign: String,
    /// The fixture enterprise's case in it, assigned to the surveyor.
    case: String,
    /// The surveyor's user id.
    surveyor: String,
    /// A photo on the case.
    photo: String,
    /// A demand of the fixture enterprise, assigned to the fixture's sector.
    demand: String,
    /// The case (of a second campaign) whose approvals raise demands.
    demand_case: String,
    /// The surveyor's discovery in the campaign, waiting in the merge queue.
    discovery: String,
    /// A gate of the fixture enterprise.
    gate: String,
    /// A zone-wide blacklist entry.
    blacklist: String,
    counter: std::sync::atomic::AtomicUsize,
}

impl Fixture {
    fn unique(&self) -> usize {
        self.counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// The fixture enterprise's current code token, accepting registrations: the matrix
/// itself suspends and rotates that code.
async fn accepting_code(app: &TestApp, enterprise: &str) -> String {
    let admin = app.admin_token().await;
    app.post(
        &format!("/api/v1/enterprises/{enterprise}/code/resume"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_status(200);
    app.code_token(&admin, enterprise).await
}

/// A fresh pending registration of vehicle `n` at the fixture enterprise: (pass token, id).
async fn fresh_registration(app: &TestApp, fixture: &Fixture, n: usize) -> (String, String) {
    let code = accepting_code(app, &fixture.staff.enterprise).await;
    let pass = registrations::pass_for(app, &code, n).await;
    let admin = app.admin_token().await;
    let id = registrations::registration_id(app, &admin, &registrations::plate(n)).await;
    (pass, id)
}

/// A concrete path, body and driver key (passes are cancelled by their driver) for an
/// operation; fresh objects where a call consumes one.
async fn request(
    app: &TestApp,
    fixture: &Fixture,
    method: &str,
    template: &str,
) -> (String, Option<Value>, Option<String>) {
    let n = fixture.unique();
    let id_for = |kind: &str| match kind {
        "users" => fixture.target_user.clone(),
        "sectors" => fixture.staff.sector.clone(),
        "enterprises" => fixture.staff.enterprise.clone(),
        "registrations" => fixture.registration.clone(),
        _ => fixture.staff.park.clone(),
    };
    let kind = template.split('/').nth(3).unwrap_or_default().to_owned();
    let id = if template.starts_with("/api/v1/survey/surveyors/") {
        fixture.surveyor.clone()
    } else if template.starts_with("/api/v1/survey/campaigns/") {
        fixture.campaign.clone()
    } else if template.starts_with("/api/v1/survey/cases/") {
        fixture.case.clone()
    } else if template.starts_with("/api/v1/survey/photos/") {
        fixture.photo.clone()
    } else if template.starts_with("/api/v1/survey/demands/") {
        fixture.demand.clone()
    } else if template.starts_with("/api/v1/survey/discoveries/") {
        fixture.discovery.clone()
    } else if template.starts_with("/api/v1/blacklist/") {
        fixture.blacklist.clone()
    } else {
        id_for(&kind)
    };
    let mut path = template.replace("{id}", &id);
    let mut driver_key = None;
    let body = match (method, template) {
        ("post", "/api/v1/auth/login") => {
            Some(json!({ "username": "admin", "password": ADMIN_PASSWORD }))
        }
        ("post", "/api/v1/auth/refresh") => {
            Some(json!({ "refresh_token": app.tokens("admin", ADMIN_PASSWORD).await.1 }))
        }
        // A user name of its own each time, so that the failures stay under the limits.
        ("post", "/api/v1/auth/activate") => Some(json!({
            "username": format!("nobody{n}"), "code": "K7QM-3XPA-9RTD",
            "password": "Harbor-Lantern-55-Moss",
        })),
        ("post", "/api/v1/auth/logout") => Some(json!({})),
        ("put", "/api/v1/me/password") => Some(json!({
            "current_password": "Not-My-Password-42",
            "new_password": "Harbor-Lantern-55-Moss",
        })),
        ("post", "/api/v1/users") => Some(json!({
            "username": format!("matrix{n}"), "display_name": "矩阵",
            "password": USER_PASSWORD, "role": "regulator",
        })),
        ("patch", "/api/v1/users/{id}") => Some(json!({ "display_name": format!("目标{n}") })),
        ("post", "/api/v1/users/bulk") => Some(json!({
            "rows": [{ "display_name": "矩阵", "username": format!("bulk{n}"), "role": "regulator" }],
        })),
        ("post", "/api/v1/users/contacts-from-roster") => {
            Some(json!({ "all_without_contact": true }))
        }
        ("post", "/api/v1/users/activation-sheet") => {
            Some(json!({ "user_ids": [fixture.target_user] }))
        }
        ("put", "/api/v1/users/{id}/password") => {
            Some(json!({ "new_password": "Harbor-Lantern-55-Moss" }))
        }
        ("post", "/api/v1/sectors") => Some(
            json!({ "code": format!("M{n}"), "name": format!("矩阵行业{n}"), "authority": "某局" }),
        ),
        ("post", "/api/v1/parks") => {
            Some(json!({ "code": format!("M{n}"), "name": format!("矩阵园区{n}") }))
        }
        ("patch", "/api/v1/sectors/{id}" | "/api/v1/parks/{id}") => {
            Some(json!({ "name": format!("改名{n}") }))
        }
        ("post", "/api/v1/enterprises") => Some(json!({
            "name": format!("矩阵{n}化工有限公司"),
            "credit_code": credit_code(&format!("matrix{n}")),
            "sector_id": fixture.staff.sector,
            "park_id": fixture.staff.park,
        })),
        ("patch", "/api/v1/enterprises/{id}") => {
            Some(json!({ "address": format!("矩阵路 {n} 号") }))
        }
        ("put", "/api/v1/form-template" | "/api/v1/enterprises/{id}/form-template") => Some(
            json!({ "fields": [{ "key": format!("f{n}"), "label": "矩阵字段", "type": "text" }] }),
        ),
        ("get", "/api/v1/posters.zip") => {
            path = format!("/api/v1/posters.zip?ids={}", fixture.staff.enterprise);
            None
        }
        ("get", "/console/assets/{file}") => {
            let script = include_bytes!("../../src/console/assets/htmx.min.js");
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(script));
            path = format!("/console/assets/htmx-{}.js", &digest[..16]);
            None
        }
        ("get", "/r/{token}" | "/api/v1/public/codes/{token}") => {
            let admin = app.admin_token().await;
            let token = app.code_token(&admin, &fixture.staff.enterprise).await;
            path = template.replace("{token}", &token);
            None
        }
        ("post", "/r/{token}" | "/r/{token}/forget") => {
            let code = accepting_code(app, &fixture.staff.enterprise).await;
            path = template.replace("{token}", &code);
            None
        }
        ("post", "/api/v1/public/codes/{token}/registrations") => {
            let code = accepting_code(app, &fixture.staff.enterprise).await;
            path = template.replace("{token}", &code);
            Some(registrations::driver(n))
        }
        ("get" | "delete", "/api/v1/public/passes/{token}")
        | ("get", "/p/{token}")
        | ("post", "/p/{token}/cancel") => {
            let code = accepting_code(app, &fixture.staff.enterprise).await;
            let pass = registrations::registered(app, &code, n).await;
            path = template.replace("{token}", &pass.token);
            driver_key = Some(pass.key);
            None
        }
        ("post", "/api/v1/registrations/{id}/approve") => {
            let (_, id) = fresh_registration(app, fixture, n).await;
            path = template.replace("{id}", &id);
            None
        }
        ("post", "/api/v1/registrations/{id}/reject") => {
            let (_, id) = fresh_registration(app, fixture, n).await;
            path = template.replace("{id}", &id);
            Some(json!({ "reason": "证件与车辆不符" }))
        }
        // A fresh approved pass each time (suspended first, to be resumed): a
        // suspended one is not suspended again.
        ("post", "/api/v1/registrations/{id}/suspend" | "/api/v1/registrations/{id}/resume") => {
            let (_, id) = fresh_registration(app, fixture, n).await;
            let admin = app.admin_token().await;
            registrations::approve(app, &admin, &id)
                .await
                .assert_status(200);
            if template.ends_with("/resume") {
                let suspend = format!("/api/v1/registrations/{id}/suspend");
                app.post(&suspend, Some(&admin), json!({ "reason": "矩阵" }))
                    .await
                    .assert_status(200);
            }
            path = template.replace("{id}", &id);
            template
                .ends_with("/suspend")
                .then(|| json!({ "reason": "矩阵暂停" }))
        }
        // Off: the matrix approves fresh registrations, which must stay pending.
        ("put", "/api/v1/enterprises/{id}/registration-settings") => {
            Some(json!({ "auto_approve": false }))
        }
        ("post", "/api/v1/registrations/{id}/reveal") => Some(json!({ "reason": "门岗核验身份" })),
        ("post", "/api/v1/enterprises/{id}/contact/reveal") => {
            Some(json!({ "reason": "摸排需电话联系企业负责人" }))
        }
        // Within every official's scope: the fixture's sector and park.
        ("post", "/api/v1/survey/campaigns") => Some(json!({
            "name": format!("矩阵摸排{n}"), "starts_on": "2026-12-07", "ends_on": "2026-12-31",
            "sector_ids": [fixture.staff.sector], "park_ids": [fixture.staff.park],
        })),
        ("patch", "/api/v1/survey/campaigns/{id}") => {
            Some(json!({ "name": format!("矩阵摸排改名{n}") }))
        }
        ("post", "/api/v1/survey/campaigns/{id}/cases/assign") => {
            Some(json!({ "case_ids": [fixture.case], "surveyor_id": fixture.surveyor }))
        }
        ("post", "/api/v1/survey/surveyors/{id}/team") => Some(json!({})),
        ("post", "/api/v1/survey/cases/{id}/visits") => Some(json!({
            "method": "phone", "outcome": "call_back", "client_id": format!("matrix-visit-{n}"),
        })),
        ("post", "/api/v1/survey/cases/{id}/photos") => {
            path = format!("{path}?client_id=matrix-photo-{n}");
            None
        }
        ("put", "/api/v1/survey/campaigns/{id}/questionnaire") => Some(json!({
            "fields": [{ "key": "employees", "label": "从业人员", "type": "number", "unit": "人" }],
        })),
        ("post", "/api/v1/survey/cases/{id}/answers") => {
            Some(answers_body(app, &fixture.case, n).await)
        }
        ("put", "/api/v1/survey/campaigns/{id}/scoring") => Some(json!({
            "rules": [{ "indicator": "revenue", "weight": 100, "bands": [{ "min": 0, "points": 100 }] }],
        })),
        // A fresh submission (by the admin) for the caller to return.
        ("post", "/api/v1/survey/cases/{id}/review") => {
            let admin = app.admin_token().await;
            app.post(
                &format!("/api/v1/survey/cases/{}/answers", fixture.case),
                Some(&admin),
                answers_body(app, &fixture.case, n).await,
            )
            .await
            .assert_status(201);
            Some(json!({ "decision": "return", "comments": { "employees": "请核实人数" } }))
        }
        ("post", "/api/v1/survey/demands/{id}/assign") => Some(json!({
            "unit_id": fixture.staff.sector, "due_on": matrix_deadline(),
        })),
        ("post", "/api/v1/survey/demands/{id}/notes") => Some(json!({
            "text": format!("矩阵进展{n}"), "client_id": format!("matrix-note-{n}"),
        })),
        // A fresh demand each time: a closed one cannot be closed again.
        ("post", "/api/v1/survey/demands/{id}/close") => {
            path = template.replace("{id}", &fresh_demand(app, fixture, n).await);
            Some(json!({ "resolution": "已协调解决" }))
        }
        ("post", "/api/v1/survey/campaigns/{id}/discoveries") => Some(json!({
            "client_id": format!("matrix-discovery-{n}"),
            "name": format!("矩阵{n}新材料有限公司"),
            "credit_code": credit_code(&format!("matrix-discovery{n}")),
            "address": format!("矩阵新区 {n} 号"),
            "park_id": fixture.staff.park,
        })),
        ("post", "/api/v1/gate/redeem") => Some(json!({
            "nonce": format!("matrix-scan-{n}"), "gate_id": fixture.gate,
            "type": "entry", "code": format!("no-such-pass-{n}"),
        })),
        ("post", "/api/v1/gate/annul") => Some(json!({ "nonce": format!("never-scanned-{n}") })),
        ("post", "/api/v1/blacklist") => Some(json!({
            "kind": "plate", "plate": registrations::plate(n), "reason": "矩阵",
        })),
        ("delete", "/api/v1/blacklist/{id}") => {
            let contact = app.tokens("contact1", USER_PASSWORD).await.0;
            let body = json!({
                "kind": "plate", "plate": format!("闽C{n:05}"), "reason": "矩阵",
            });
            let added = app.post("/api/v1/blacklist", Some(&contact), body).await;
            added.assert_status(201);
            path = template.replace("{id}", added.body["id"].as_str().unwrap());
            None
        }
        ("post", "/api/v1/enterprises/{id}/gates") => Some(json!({ "name": format!("{n}号门") })),
        ("put", "/api/v1/enterprises/{id}/gate/settings") => {
            Some(json!({ "checkout_hour": null, "overstay_hours": 8 }))
        }
        ("patch", "/api/v1/enterprises/{id}/gates/{gate_id}") => {
            path = path.replace("{gate_id}", &fixture.gate);
            Some(json!({ "active": true }))
        }
        // The fixture's guard, at every gate.
        ("put", "/api/v1/enterprises/{id}/guards/{user_id}") => {
            let admin = app.admin_token().await;
            let guards = app.get("/api/v1/users?role=gate_guard", Some(&admin)).await;
            path = path.replace("{user_id}", guards.body["items"][0]["id"].as_str().unwrap());
            Some(json!({ "gate_ids": [] }))
        }
        ("post", "/api/v1/survey/discoveries/{id}/resolve") => {
            let fresh = pending_discovery(app, &fixture.staff, &fixture.campaign, n).await;
            path = template.replace("{id}", &fresh);
            Some(json!({ "action": "merge", "enterprise_id": fixture.staff.enterprise }))
        }
        ("delete", "/api/v1/sectors/{id}") => {
            let admin = app.admin_token().await;
            path = format!(
                "/api/v1/sectors/{}",
                app.create_sector(&admin, &format!("D{n}")).await
            );
            None
        }
        ("delete", "/api/v1/parks/{id}") => {
            let admin = app.admin_token().await;
            path = format!(
                "/api/v1/parks/{}",
                app.create_park(&admin, &format!("D{n}")).await
            );
            None
        }
        _ => None,
    };
    (path, body, driver_key)
}

/// The roster import and photos take a file, the registration page a form; everything
/// else JSON.
async fn send(
    app: &TestApp,
    method: &str,
    template: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    driver_key: Option<&str>,
) -> crate::helpers::TestResponse {
    if template == "/r/{token}" {
        let form = b"consent=yes".to_vec();
        return app
            .call_raw(
                method_of(method),
                path,
                token,
                "application/x-www-form-urlencoded",
                form,
            )
            .await;
    }
    if template == "/api/v1/survey/surveyors/import" {
        let file = "姓名,手机号,所属行业或园区\n".as_bytes().to_vec();
        let path = format!("{path}?dry_run=true");
        return app
            .call_raw(method_of(method), &path, token, "text/csv", file)
            .await;
    }
    if template == "/api/v1/enterprises/import" {
        let file = "企业名称,统一社会信用代码\n".as_bytes().to_vec();
        let path = format!("{path}?dry_run=true");
        return app
            .call_raw(method_of(method), &path, token, "text/csv", file)
            .await;
    }
    if (method, template) == ("post", "/api/v1/survey/cases/{id}/photos") {
        let picture = crate::helpers::picture(16, 16, image::ImageFormat::Png);
        return app
            .call_raw(method_of(method), path, token, "image/png", picture)
            .await;
    }
    let cookie = driver_key.map(|key| format!("tp_driver={key}"));
    let headers: Vec<(&str, &str)> = match (template, &cookie, driver_key) {
        ("/p/{token}/cancel", Some(cookie), _) => vec![("cookie", cookie.as_str())],
        (_, _, Some(key)) => vec![("x-driver-key", key)],
        _ => Vec::new(),
    };
    app.call_with(method_of(method), path, token, body, &headers)
        .await
}

fn method_of(name: &str) -> Method {
    Method::from_bytes(name.to_uppercase().as_bytes()).unwrap()
}

/// Answers to the default questionnaire on a case, at its current version.
async fn answers_body(app: &TestApp, case: &str, n: usize) -> Value {
    let admin = app.admin_token().await;
    let case = app
        .get(&format!("/api/v1/survey/cases/{case}"), Some(&admin))
        .await;
    case.assert_status(200);
    json!({
        "answers": {
            "name": "矩阵企业", "credit_code": credit_code("matrix"),
            "contact_person": "王敏", "contact_phone": "13800138000",
            "status": "正常经营", "employees": 10, "receives_trucks": false,
        },
        "client_id": format!("matrix-answers-{n}"),
        "case_version": case.body["version"],
    })
}

/// A running campaign over the fixture's sector and park, and the fixture
/// enterprise's case in it assigned to the surveyor, with a photo: (campaign, case,
/// surveyor, photo).
async fn survey_fixture(app: &TestApp, staff: &Staff) -> (String, String, String, String) {
    let admin = staff.token("admin");
    let body = json!({
        "name": "矩阵摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31",
        "sector_ids": [staff.sector], "park_ids": [staff.park],
    });
    let created = app
        .post("/api/v1/survey/campaigns", Some(admin), body)
        .await;
    created.assert_status(201);
    let campaign = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/survey/campaigns/{campaign}");
    app.patch(&path, Some(admin), json!({ "status": "running" }))
        .await
        .assert_status(200);
    let cases = app.get(&format!("{path}/cases"), Some(admin)).await;
    cases.assert_status(200);
    let case = cases.body["items"][0]["id"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me", Some(staff.token("surveyor"))).await;
    let surveyor = me.body["id"].as_str().unwrap().to_owned();
    let assign = json!({ "case_ids": [case], "surveyor_id": surveyor });
    app.post(&format!("{path}/cases/assign"), Some(admin), assign)
        .await
        .assert_status(200);
    let picture = crate::helpers::picture(16, 16, image::ImageFormat::Png);
    let photo = app
        .call_raw(
            Method::POST,
            &format!("/api/v1/survey/cases/{case}/photos?client_id=matrix-photo"),
            Some(admin),
            "image/png",
            picture,
        )
        .await;
    photo.assert_status(201);
    let photo = photo.body["id"].as_str().unwrap().to_owned();
    (campaign, case, surveyor, photo)
}

/// A deadline a month ahead.
fn matrix_deadline() -> String {
    (truckpass::domain::zone::today() + chrono::TimeDelta::days(30))
        .format("%Y-%m-%d")
        .to_string()
}

/// The admin approves answers on `case` raising one demand described so; its id.
async fn approved_demand(app: &TestApp, case: &str, description: &str, n: usize) -> String {
    let admin = app.admin_token().await;
    let mut body = answers_body(app, case, n).await;
    body["answers"]["demands"] = json!([{ "category": "其他", "description": description }]);
    let path = format!("/api/v1/survey/cases/{case}");
    app.post(&format!("{path}/answers"), Some(&admin), body)
        .await
        .assert_status(201);
    app.post(
        &format!("{path}/review"),
        Some(&admin),
        json!({ "decision": "approve" }),
    )
    .await
    .assert_status(200);
    let open = app
        .get("/api/v1/survey/demands?state=open&limit=100", Some(&admin))
        .await;
    open.assert_status(200);
    open.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["description"] == description)
        .and_then(|d| d["id"].as_str())
        .unwrap()
        .to_owned()
}

/// A new open demand on the fixture's demand case (un-approving its answers first,
/// which retracts the fresh demands nobody closed).
async fn fresh_demand(app: &TestApp, fixture: &Fixture, n: usize) -> String {
    let admin = app.admin_token().await;
    let case = &fixture.demand_case;
    app.post(
        &format!("/api/v1/survey/cases/{case}/review"),
        Some(&admin),
        json!({ "decision": "unapprove", "note": "矩阵重新审核" }),
    )
    .await
    .assert_status(200);
    approved_demand(app, case, &format!("矩阵诉求{n}"), n).await
}

/// A second running campaign over the fixture's sector and park, whose case of the
/// fixture enterprise has approved answers raising a demand, assigned to the
/// fixture's sector: (demand, case).
async fn demand_fixture(app: &TestApp, staff: &Staff) -> (String, String) {
    let admin = staff.token("admin");
    let body = json!({
        "name": "矩阵诉求", "starts_on": "2026-12-07", "ends_on": "2026-12-31",
        "sector_ids": [staff.sector], "park_ids": [staff.park],
    });
    let created = app
        .post("/api/v1/survey/campaigns", Some(admin), body)
        .await;
    created.assert_status(201);
    let path = format!(
        "/api/v1/survey/campaigns/{}",
        created.body["id"].as_str().unwrap()
    );
    app.patch(&path, Some(admin), json!({ "status": "running" }))
        .await
        .assert_status(200);
    let cases = app.get(&format!("{path}/cases"), Some(admin)).await;
    cases.assert_status(200);
    let case = cases.body["items"][0]["id"].as_str().unwrap().to_owned();
    let demand = approved_demand(app, &case, "矩阵诉求", usize::MAX).await;
    app.post(
        &format!("/api/v1/survey/demands/{demand}/assign"),
        Some(admin),
        json!({ "unit_id": staff.sector, "due_on": matrix_deadline() }),
    )
    .await
    .assert_status(200);
    (demand, case)
}

/// A discovery by the surveyor (signed in afresh: the matrix signs each role out) in
/// `campaign` with the fixture enterprise's credit code, so that it waits in the merge
/// queue: its id.
async fn pending_discovery(app: &TestApp, staff: &Staff, campaign: &str, n: usize) -> String {
    let surveyor = app.tokens("surveyor1", USER_PASSWORD).await.0;
    let body = json!({
        "client_id": format!("matrix-pending-{n}"),
        "name": "福州第一化工二厂",
        "credit_code": credit_code("福州第一化工有限公司"),
        "address": "矩阵待核对路 1 号",
        "park_id": staff.park,
    });
    let reported = app
        .post(
            &format!("/api/v1/survey/campaigns/{campaign}/discoveries"),
            Some(&surveyor),
            body,
        )
        .await;
    reported.assert_status(201);
    assert_eq!(reported.body["state"], "pending_review");
    reported.body["id"].as_str().unwrap().to_owned()
}

async fn every_operation_answers_each_role_as_the_matrix_says(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let target_user = app
        .create_user(&admin, "target", "regulator", &[], &[])
        .await;
    // Created by the admin and never signed in: must change the password first.
    let pending = json!({
        "username": "pending1", "display_name": "新同事",
        "password": INITIAL_PASSWORD, "role": "admin",
    });
    app.post("/api/v1/users", Some(&admin), pending)
        .await
        .assert_status(201);
    // Vehicle numbers from the counter start at 0; the fixture's own is far beyond.
    let code = app.code_token(&admin, &staff.enterprise).await;
    registrations::pass_for(&app, &code, 99_999).await;
    let registration =
        registrations::registration_id(&app, &admin, &registrations::plate(99_999)).await;
    let (campaign, case, surveyor, photo) = survey_fixture(&app, &staff).await;
    let (demand, demand_case) = demand_fixture(&app, &staff).await;
    let discovery = pending_discovery(&app, &staff, &campaign, usize::MAX).await;
    let gate = app
        .post(
            &format!("/api/v1/enterprises/{}/gates", staff.enterprise),
            Some(&admin),
            json!({ "name": "东门" }),
        )
        .await;
    gate.assert_status(201);
    let gate = gate.body["id"].as_str().unwrap().to_owned();
    let regulator = app.tokens("regulator1", USER_PASSWORD).await.0;
    let entry = json!({ "kind": "plate", "plate": "闽B99999", "reason": "矩阵" });
    let blacklist = app.post("/api/v1/blacklist", Some(&regulator), entry).await;
    blacklist.assert_status(201);
    let blacklist = blacklist.body["id"].as_str().unwrap().to_owned();
    let fixture = Fixture {
        staff,
        target_user,
        registration,
        campaign,
        case,
        surveyor,
        photo,
        demand,
        demand_case,
        discovery,
        gate,
        blacklist,
        counter: Default::default(),
    };
    let mut operations = CONTRACT.operations();
    // Signing out ends the caller's sessions, so it goes last.
    operations.sort_by_key(|(method, path)| {
        (path == "/api/v1/auth/logout", method.clone(), path.clone())
    });
    let mut failures = Vec::new();

    for (method, template) in &operations {
        let (access, success) = expectation(method, template);
        let (path, body, key) = request(&app, &fixture, method, template).await;
        let response = send(&app, method, template, &path, None, body, key.as_deref()).await;
        let expected = if matches!(access, Access::Public | Access::Cookie) {
            success
        } else {
            401
        };
        if response.status != expected {
            failures.push(format!(
                "anonymous {method} {template}: {} (expected {expected})",
                response.status
            ));
        }
    }
    for role in ROLES.into_iter().chain(["pending"]) {
        // Each role signs in afresh: the previous role's sign-out must not matter.
        let username = match role {
            "pending" => "pending1",
            "admin" => "admin",
            "regulator" => "regulator1",
            "sector_official" => "sector1",
            "park_official" => "park1",
            "enterprise_contact" => "contact1",
            "gate_guard" => "guard1",
            _ => "surveyor1",
        };
        let password = match role {
            "admin" => ADMIN_PASSWORD,
            "pending" => INITIAL_PASSWORD,
            _ => USER_PASSWORD,
        };
        let token = app.tokens(username, password).await.0;
        for (method, template) in &operations {
            let (access, success) = expectation(method, template);
            // An admin who must change the password may do no more than that.
            let allowed = match access {
                Access::Public | Access::OwnAccount | Access::Cookie => true,
                // Gate guards only scan: no desk routes.
                Access::SignedIn => role != "pending" && role != "gate_guard",
                Access::Only(roles) => roles.contains(&role),
            };
            let expected = if allowed { success } else { 403 };
            let (path, body, key) = request(&app, &fixture, method, template).await;
            let response = send(
                &app,
                method,
                template,
                &path,
                Some(&token),
                body,
                key.as_deref(),
            )
            .await;
            if response.status != expected {
                failures.push(format!(
                    "{role} {method} {template}: {} (expected {expected}) {}",
                    response.status, response.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "role matrix violations:\n{}",
        failures.join("\n")
    );
}
api_test!(every_operation_answers_each_role_as_the_matrix_says);

/// An id no survey object has.
const FOREIGN_ID: &str = "019ae3b1-0000-7000-8000-000000000000";

async fn survey_ids_the_caller_cannot_see_are_not_found(app: TestApp) {
    let staff = app.staff().await;
    let (campaign, case, surveyor, photo) = survey_fixture(&app, &staff).await;
    let (demand, demand_case) = demand_fixture(&app, &staff).await;
    let discovery = pending_discovery(&app, &staff, &campaign, usize::MAX).await;
    let fixture = Fixture {
        staff,
        target_user: String::new(),
        registration: String::new(),
        campaign,
        case,
        surveyor,
        photo,
        demand,
        demand_case,
        discovery,
        gate: String::new(),
        blacklist: String::new(),
        counter: Default::default(),
    };
    let (mut failures, mut checked) = (Vec::new(), 0);
    let operations = CONTRACT.operations();
    let by_id = operations
        .iter()
        .filter(|(_, path)| path.starts_with("/api/v1/survey/") && path.contains("{id}"));
    for (method, template) in by_id {
        let Access::Only(roles) = expectation(method, template).0 else {
            panic!("{method} {template}: survey routes are for named roles");
        };
        for role in roles {
            let (path, body, _) = request(&app, &fixture, method, template).await;
            // The matrix's empty move proves access by failing validation; a valid one
            // here, so that only the unknown surveyor can refuse it.
            let body = match template.as_str() {
                "/api/v1/survey/surveyors/{id}/team" => {
                    Some(json!({ "sector_id": fixture.staff.sector }))
                }
                _ => body,
            };
            // A closure's (a resolution's) path names the fresh demand (discovery) it made.
            let path = if template.starts_with("/api/v1/survey/demands/{id}")
                || template.starts_with("/api/v1/survey/discoveries/{id}")
            {
                template.replace("{id}", FOREIGN_ID)
            } else {
                path
            };
            let path = path
                .replace(&fixture.campaign, FOREIGN_ID)
                .replace(&fixture.case, FOREIGN_ID)
                .replace(&fixture.photo, FOREIGN_ID)
                .replace(&fixture.surveyor, FOREIGN_ID);
            let token = fixture.staff.token(role);
            let response = send(&app, method, template, &path, Some(token), body, None).await;
            checked += 1;
            if response.status != 404 {
                failures.push(format!("{role} {method} {path}: {}", response.status));
            }
        }
    }
    assert!(checked >= 30, "only {checked} calls checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
api_test!(survey_ids_the_caller_cannot_see_are_not_found);
