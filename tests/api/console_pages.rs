//! Every console page, walked as each role and anonymously: the status each role gets
//! (a foreign id is the 404 page), that no page can load anything from elsewhere (its
//! Content-Security-Policy and markup), and that no page or download shows a full ID
//! number or phone. Every `GET /console/...` of openapi.yaml must be in the table: a
//! new page fails here until it is added.

use std::collections::BTreeSet;

use calamine::Reader;

use crate::helpers::{Browser, CONTRACT, Staff, TestApp, TestResponse, api_test};
use crate::registrations::{PHONE, RESIDENT_ID, registered, registration_id};

const ROLES: [&str; 7] = [
    "admin",
    "regulator",
    "sector_official",
    "park_official",
    "surveyor",
    "enterprise_contact",
    "gate_guard",
];
/// Every role, gate guards too: their own account's pages.
const EVERYONE: &[&str] = &ROLES;
/// Every role at a desk: gate guards reach none of the desk pages.
const DESK: &[&str] = &[
    "admin",
    "regulator",
    "sector_official",
    "park_official",
    "surveyor",
    "enterprise_contact",
];
const ZONE_WIDE: &[&str] = &["admin", "regulator"];
const ADMIN: &[&str] = &["admin"];
const OFFICIALS: &[&str] = &["admin", "regulator", "sector_official", "park_official"];
const KEEPERS: &[&str] = &["admin", "enterprise_contact"];
const CONTACT: &[&str] = &["enterprise_contact"];
const SURVEYOR: &[&str] = &["surveyor"];
const TEAM_KEEPERS: &[&str] = &["admin", "sector_official", "park_official"];
const GATE_SCANNERS: &[&str] = &["enterprise_contact", "gate_guard"];

/// The objects the pages are about: the staff's own enterprise (S1/P1) and one
/// outside every scoped role's scope, a filing at each, a user.
struct Objects {
    staff: Staff,
    foreign: String,
    own_filing: String,
    foreign_filing: String,
    user: String,
    survey: SurveyObjects,
}

/// A zone-wide running campaign, the staff enterprise's case in it (visited by the
/// surveyor, with a photo, its answers approved), the demand they raised, and an
/// enterprise they found in S1/P1 that waits in the merge queue.
struct SurveyObjects {
    campaign: String,
    case: String,
    photo: String,
    demand: String,
    discovery: String,
}

async fn survey_objects(app: &TestApp, staff: &Staff, surveyor_id: &str) -> SurveyObjects {
    use serde_json::json;
    let admin = staff.token("admin");
    let surveyor = staff.token("surveyor");
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(admin),
            json!({ "name": "全园区摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31" }),
        )
        .await;
    let campaign = created.body["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/survey/campaigns/{campaign}"),
        Some(admin),
        json!({ "status": "running" }),
    )
    .await
    .assert_status(200);
    let case = crate::survey::cases(app, admin, &campaign, "")
        .await
        .into_iter()
        .find(|case| case["enterprise_id"] == staff.enterprise.as_str())
        .map(|case| case["id"].as_str().unwrap().to_owned())
        .unwrap();
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(admin),
        json!({ "case_ids": [case], "surveyor_id": surveyor_id }),
    )
    .await
    .assert_status(200);
    crate::console_survey_office::surveyed(app, surveyor, &case, crate::survey::answers(), 1).await;
    let picture = crate::helpers::picture(64, 48, image::ImageFormat::Png);
    let photo = crate::survey::photo(
        app,
        surveyor,
        &case,
        "client_id=pages-photo-1",
        "image/png",
        picture,
    )
    .await;
    photo.assert_status(201);
    let photo = photo.body["id"].as_str().unwrap().to_owned();
    crate::survey::review(app, admin, &case, json!({ "decision": "approve" }))
        .await
        .assert_status(200);
    let demands = app
        .get(
            &format!("/api/v1/survey/demands?campaign_id={campaign}"),
            Some(admin),
        )
        .await;
    let demand = demands.body["items"][0]["id"].as_str().unwrap().to_owned();
    let discovery = app
        .post(
            &format!("/api/v1/survey/campaigns/{campaign}/discoveries"),
            Some(surveyor),
            json!({ "client_id": "pages-discovery-1", "name": "福州市第一化工有限责任公司",
                    "address": "福州市高新区创新路 9 号", "park_id": staff.park }),
        )
        .await;
    discovery.assert_status(201);
    assert_eq!(discovery.body["state"], "pending_review");
    let discovery = discovery.body["id"].as_str().unwrap().to_owned();
    SurveyObjects {
        campaign,
        case,
        photo,
        demand,
        discovery,
    }
}

async fn objects(app: &TestApp) -> Objects {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let sector = app.create_sector(&admin, "S9").await;
    let park = app.create_park(&admin, "P9").await;
    let foreign = app
        .create_enterprise(&admin, "厦门外部物流有限公司", &sector, &park)
        .await;
    registered(app, &app.code_token(&admin, &staff.enterprise).await, 1).await;
    registered(app, &app.code_token(&admin, &foreign).await, 2).await;
    let own_filing = registration_id(app, &admin, &crate::registrations::plate(1)).await;
    let foreign_filing = registration_id(app, &admin, &crate::registrations::plate(2)).await;
    let users = app.get("/api/v1/users?limit=100", Some(&admin)).await;
    let user = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "regulator1")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .expect("the regulator's account");
    let surveyor = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "surveyor1")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .expect("the surveyor's account");
    let survey = survey_objects(app, &staff, &surveyor).await;
    Objects {
        staff,
        foreign,
        own_filing,
        foreign_filing,
        user,
        survey,
    }
}

/// Each page to walk: its template (as openapi.yaml names it), the address called,
/// and the roles that get 200; every other signed-in role gets the 404 page. (The
/// roster is everyone's, scoped: a contact's is its own enterprise, as in the API.)
fn pages(o: &Objects) -> Vec<(&'static str, String, &'static [&'static str])> {
    let own = &o.staff.enterprise;
    let mut pages = vec![
        ("/console/", "/console/".into(), DESK),
        ("/console/dashboard", "/console/dashboard".into(), OFFICIALS),
        ("/console/password", "/console/password".into(), EVERYONE),
        (
            "/console/registrations",
            "/console/registrations".into(),
            DESK,
        ),
        (
            "/console/registrations/rows",
            "/console/registrations/rows".into(),
            DESK,
        ),
        (
            "/console/registrations/export.csv",
            "/console/registrations/export.csv".into(),
            DESK,
        ),
        (
            "/console/registrations/export.xlsx",
            "/console/registrations/export.xlsx".into(),
            DESK,
        ),
        (
            "/console/registrations/{id}",
            format!("/console/registrations/{}", o.own_filing),
            DESK,
        ),
        (
            "/console/registrations/{id}",
            format!("/console/registrations/{}", o.foreign_filing),
            ZONE_WIDE,
        ),
        ("/console/enterprises", "/console/enterprises".into(), DESK),
        (
            "/console/enterprises/export.csv",
            "/console/enterprises/export.csv".into(),
            DESK,
        ),
        (
            "/console/enterprises/export.xlsx",
            "/console/enterprises/export.xlsx".into(),
            DESK,
        ),
        (
            "/console/enterprises/{id}",
            format!("/console/enterprises/{own}"),
            DESK,
        ),
        (
            "/console/enterprises/{id}",
            format!("/console/enterprises/{}", o.foreign),
            ZONE_WIDE,
        ),
        ("/console/audit", "/console/audit".into(), ZONE_WIDE),
        (
            "/console/audit/verify",
            "/console/audit/verify".into(),
            ZONE_WIDE,
        ),
        ("/console/code", "/console/code".into(), CONTACT),
        (
            "/console/code",
            format!("/console/code?enterprise={own}"),
            DESK,
        ),
        (
            "/console/code",
            format!("/console/code?enterprise={}", o.foreign),
            ZONE_WIDE,
        ),
        (
            "/console/code/qr.svg",
            format!("/console/code/qr.svg?enterprise={own}"),
            DESK,
        ),
        (
            "/console/code/qr.png",
            format!("/console/code/qr.png?enterprise={own}"),
            DESK,
        ),
        (
            "/console/code/poster.png",
            format!("/console/code/poster.png?enterprise={own}"),
            DESK,
        ),
        (
            "/console/code/poster.png",
            format!("/console/code/poster.png?enterprise={}", o.foreign),
            ZONE_WIDE,
        ),
        ("/console/fields", "/console/fields".into(), KEEPERS),
        ("/console/settings", "/console/settings".into(), CONTACT),
        ("/console/users", "/console/users".into(), ADMIN),
        ("/console/users/new", "/console/users/new".into(), ADMIN),
        (
            "/console/users/activation",
            "/console/users/activation".into(),
            ADMIN,
        ),
        (
            "/console/users/{id}",
            format!("/console/users/{}", o.user),
            ADMIN,
        ),
        ("/console/org", "/console/org".into(), ADMIN),
        (
            "/console/roster/import",
            "/console/roster/import".into(),
            ADMIN,
        ),
        ("/console/posters", "/console/posters".into(), ADMIN),
        ("/console/survey/my", "/console/survey/my".into(), SURVEYOR),
        ("/console/gate", "/console/gate".into(), GATE_SCANNERS),
        (
            "/console/gate/inside",
            "/console/gate/inside".into(),
            GATE_SCANNERS,
        ),
        (
            "/console/gate/refused",
            "/console/gate/refused".into(),
            GATE_SCANNERS,
        ),
        // JSON for the page's script, the 404 page to everyone else.
        (
            "/console/gate/revocations",
            "/console/gate/revocations".into(),
            GATE_SCANNERS,
        ),
        ("/console/gate/gates", "/console/gate/gates".into(), CONTACT),
        // A case nobody here is assigned: the 404 page for everyone.
        (
            "/console/survey/cases/{id}",
            "/console/survey/cases/0192f0c8-0000-7000-8000-000000000000".into(),
            &[],
        ),
        (
            "/console/posters.zip",
            format!("/console/posters.zip?park_id={}", o.staff.park),
            ADMIN,
        ),
    ];
    pages.extend(survey_pages(&o.survey));
    pages
}

/// The survey's pages of `s`: the office pages for the officials who run it, and a
/// photo as the phone page of its surveyor shows it.
fn survey_pages(s: &SurveyObjects) -> Vec<(&'static str, String, &'static [&'static str])> {
    let campaign = format!("/console/survey/campaigns/{}", s.campaign);
    vec![
        (
            "/console/survey/campaigns",
            "/console/survey/campaigns".into(),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}",
            campaign.clone(),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/ledger",
            format!("{campaign}/ledger"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/ledger/cases",
            format!("{campaign}/ledger/cases"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/ledger/coverage.xlsx",
            format!("{campaign}/ledger/coverage.xlsx"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/ledger/coverage.csv",
            format!("{campaign}/ledger/coverage.csv"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/review",
            format!("{campaign}/review?review=approved"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/scores",
            format!("{campaign}/scores"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/scores.xlsx",
            format!("{campaign}/scores.xlsx"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/scores.csv",
            format!("{campaign}/scores.csv"),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/demands",
            format!("{campaign}/demands"),
            OFFICIALS,
        ),
        (
            "/console/survey/demands/{id}",
            format!("/console/survey/demands/{}", s.demand),
            OFFICIALS,
        ),
        (
            "/console/survey/review/{id}",
            format!("/console/survey/review/{}", s.case),
            OFFICIALS,
        ),
        (
            "/console/survey/campaigns/{id}/discoveries",
            format!("{campaign}/discoveries"),
            OFFICIALS,
        ),
        (
            "/console/survey/discoveries/{id}",
            format!("/console/survey/discoveries/{}", s.discovery),
            OFFICIALS,
        ),
        (
            "/console/survey/surveyors/import",
            "/console/survey/surveyors/import".into(),
            TEAM_KEEPERS,
        ),
        (
            "/console/survey/review/photos/{id}",
            format!("/console/survey/review/photos/{}", s.photo),
            OFFICIALS,
        ),
        // The same photo on the phone page of the surveyor it is assigned to.
        (
            "/console/survey/photos/{id}",
            format!("/console/survey/photos/{}", s.photo),
            SURVEYOR,
        ),
    ]
}

/// Pages that anyone may open, signed in or not.
const OPEN: [&str; 3] = [
    "/console/login",
    "/console/activate",
    "/console/assets/{file}",
];

/// The text of a response as a person could read it: an XLSX's cells, else the body.
fn readable(response: &TestResponse) -> String {
    if response.bytes.starts_with(b"PK")
        && response
            .header("content-type")
            .is_some_and(|t| t.contains("spreadsheetml"))
    {
        let mut workbook: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(response.bytes.clone()))
                .expect("an XLSX download opens");
        let sheets = workbook.sheet_names();
        let mut cells = Vec::new();
        for sheet in sheets {
            let range = workbook.worksheet_range(&sheet).expect("a sheet");
            cells.extend(range.cells().map(|(_, _, cell)| cell.to_string()));
        }
        return cells.join("\n");
    }
    response.text.clone()
}

/// What a page may not do: load anything from elsewhere, or show personal data.
fn check_page(role: &str, path: &str, response: &TestResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let text = readable(response);
    if text.contains(RESIDENT_ID) || text.contains(PHONE) {
        problems.push(format!("{role} {path}: full ID number or phone shown"));
    }
    let html = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        let policy = response
            .header("content-security-policy")
            .unwrap_or_default();
        if !policy.contains("default-src 'none'") || !policy.contains("script-src 'self'") {
            problems.push(format!(
                "{role} {path}: no strict Content-Security-Policy: {policy}"
            ));
        }
        for outside in [
            "src=\"http",
            "src=\"//",
            "<link",
            "url(http",
            "url(//",
            "@import",
        ] {
            if response.text.contains(outside) {
                problems.push(format!("{role} {path}: loads from outside ({outside})"));
            }
        }
    }
    problems
}

async fn every_console_page_answers_each_role_as_its_table_says(app: TestApp) {
    let objects = objects(&app).await;
    let pages = pages(&objects);

    // Every GET page of the contract is walked.
    let walked: BTreeSet<&str> = pages.iter().map(|(template, _, _)| *template).collect();
    for (method, path) in CONTRACT.operations() {
        if method == "get" && path.starts_with("/console/") && !OPEN.contains(&path.as_str()) {
            assert!(
                walked.contains(path.as_str()),
                "GET {path} is not walked: add it to `pages`"
            );
        }
    }

    let mut problems = Vec::new();
    for role in ROLES {
        let mut browser = Browser::of(&app, role).await;
        for (_, path, allowed) in &pages {
            let response = browser.get(path).await;
            let expected = if allowed.contains(&role) { 200 } else { 404 };
            if response.status != expected {
                problems.push(format!(
                    "{role} GET {path}: {} instead of {expected}",
                    response.status
                ));
            }
            problems.extend(check_page(role, path, &response));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Anonymous visitors are sent to the sign-in, from every page.
    let mut anonymous = Browser::new(&app);
    for (_, path, _) in &pages {
        let response = anonymous.get(path).await;
        assert_eq!(response.status, 303, "anonymous GET {path}");
        assert_eq!(
            response.header("location"),
            Some("/console/login"),
            "{path}"
        );
    }
}
api_test!(every_console_page_answers_each_role_as_its_table_says);
