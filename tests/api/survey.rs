//! The survey (企业摸排) API: campaigns scoped to sectors and parks, one case per
//! in-scope enterprise, balanced and manual assignment (audited), visits on the
//! escalation ladder with idempotent retries and version conflicts, the coverage
//! ledger, and who sees what.

use serde_json::{Value, json};

use crate::helpers::{TestApp, USER_PASSWORD, api_test};
use crate::registrations::{approve, plate, registered, registration_id};

/// A zone for the survey: sectors SA, SB, SC and parks P1, P2; enterprises a1, a2
/// (SA/P1), a3, a4 (SA/P2), b1 (SB/P1) and c1 (SC/P1); two surveyors of sector SA,
/// an official of sector SC, the zone's regulator and a1's contact.
pub(crate) struct Zone {
    pub(crate) admin: String,
    pub(crate) regulator: String,
    pub(crate) other_official: String,
    pub(crate) contact: String,
    pub(crate) sv1: (String, String),
    pub(crate) sv2: (String, String),
    pub(crate) sa: String,
    pub(crate) sb: String,
    pub(crate) sc: String,
    pub(crate) p1: String,
    pub(crate) p2: String,
    /// Enterprise ids by name.
    pub(crate) enterprises: Vec<(&'static str, String)>,
}

impl Zone {
    pub(crate) fn enterprise(&self, name: &str) -> &str {
        self.enterprises
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.as_str())
            .unwrap()
    }
}

pub(crate) async fn zone(app: &TestApp) -> Zone {
    let admin = app.admin_token().await;
    let sa = app.create_sector(&admin, "SA").await;
    let sb = app.create_sector(&admin, "SB").await;
    let sc = app.create_sector(&admin, "SC").await;
    let p1 = app.create_park(&admin, "P1").await;
    let p2 = app.create_park(&admin, "P2").await;
    let mut enterprises = Vec::new();
    for (key, name, sector, park) in [
        ("a1", "福州甲一化工有限公司", &sa, &p1),
        ("a2", "福州甲二化工有限公司", &sa, &p1),
        ("a3", "福州甲三化工有限公司", &sa, &p2),
        ("a4", "福州甲四化工有限公司", &sa, &p2),
        ("b1", "福州乙一机械有限公司", &sb, &p1),
        ("c1", "福州丙一电子有限公司", &sc, &p1),
    ] {
        let id = app.create_enterprise(&admin, name, sector, park).await;
        enterprises.push((key, id));
    }
    app.create_user(&admin, "reg", "regulator", &[], &[]).await;
    app.create_user(&admin, "offc", "sector_official", &[&sc], &[])
        .await;
    let sv1 = app
        .create_user(&admin, "sv1", "surveyor", &[&sa], &[])
        .await;
    let sv2 = app
        .create_user(&admin, "sv2", "surveyor", &[&sa], &[])
        .await;
    let a1 = enterprises[0].1.clone();
    app.create_contact(&admin, "contact", &a1).await;
    let token = |name: &'static str| async move { app.tokens(name, USER_PASSWORD).await.0 };
    Zone {
        regulator: token("reg").await,
        other_official: token("offc").await,
        contact: token("contact").await,
        sv1: (sv1, token("sv1").await),
        sv2: (sv2, token("sv2").await),
        admin,
        sa,
        sb,
        sc,
        p1,
        p2,
        enterprises,
    }
}

/// A campaign of the regulator over sectors SA and SB (every park), started.
pub(crate) async fn running_campaign(app: &TestApp, zone: &Zone) -> String {
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({
                "name": "2026 年冬季企业摸排",
                "starts_on": "2026-12-07",
                "ends_on": "2026-12-31",
                "sector_ids": [zone.sa, zone.sb],
            }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["status"], "draft");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let started = app
        .patch(
            &format!("/api/v1/survey/campaigns/{id}"),
            Some(&zone.regulator),
            json!({ "status": "running" }),
        )
        .await;
    started.assert_status(200);
    assert_eq!(started.body["status"], "running");
    id
}

/// Every case of a campaign the caller sees.
pub(crate) async fn cases(app: &TestApp, token: &str, campaign: &str, query: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/cases?limit=100{query}"),
            Some(token),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().clone()
}

/// The case of an enterprise.
pub(crate) async fn case_of(app: &TestApp, zone: &Zone, campaign: &str, enterprise: &str) -> Value {
    cases(app, &zone.regulator, campaign, "")
        .await
        .into_iter()
        .find(|case| case["enterprise_id"] == zone.enterprise(enterprise))
        .unwrap()
}

/// How many campaigns the caller sees.
async fn campaign_count(app: &TestApp, token: &str) -> usize {
    let page = app.get("/api/v1/survey/campaigns", Some(token)).await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().len()
}

/// Records a visit on a case.
async fn visit(
    app: &TestApp,
    token: &str,
    case: &str,
    body: Value,
) -> crate::helpers::TestResponse {
    app.post(
        &format!("/api/v1/survey/cases/{case}/visits"),
        Some(token),
        body,
    )
    .await
}

async fn a_campaign_covers_its_scope_and_no_one_else_sees_it(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;

    // One case per enterprise of SA and SB; c1 (SC) has none.
    let all = cases(&app, &zone.regulator, &campaign, "").await;
    let mut enterprises: Vec<&str> = all
        .iter()
        .map(|case| case["enterprise_id"].as_str().unwrap())
        .collect();
    enterprises.sort();
    let mut expected: Vec<&str> = ["a1", "a2", "a3", "a4", "b1"]
        .iter()
        .map(|name| zone.enterprise(name))
        .collect();
    expected.sort();
    assert_eq!(enterprises, expected);
    assert!(all.iter().all(|case| case["state"] == "unassigned"));
    let in_p2 = cases(
        &app,
        &zone.regulator,
        &campaign,
        &format!("&park_id={}", zone.p2),
    )
    .await;
    assert_eq!(in_p2.len(), 2);

    // The official of SC neither sees it nor creates in SA.
    let path = format!("/api/v1/survey/campaigns/{campaign}");
    app.get(&path, Some(&zone.other_official))
        .await
        .assert_status(404);
    let listed = app
        .get("/api/v1/survey/campaigns", Some(&zone.other_official))
        .await;
    listed.assert_status(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
    app.get(&format!("{path}/coverage"), Some(&zone.other_official))
        .await
        .assert_status(404);
    let intrude = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.other_official),
            json!({ "name": "越界摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-08",
                    "sector_ids": [zone.sa] }),
        )
        .await;
    intrude.assert_status(403);
    let whole_zone = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.other_official),
            json!({ "name": "全区摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-08" }),
        )
        .await;
    whole_zone.assert_status(403);
    // Refusals by scope are audited as the route policies' are.
    let refusals = app
        .get(
            "/api/v1/audit?action=authz.denied&limit=100",
            Some(&zone.admin),
        )
        .await;
    refusals.assert_status(200);
    let on_create = refusals.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["details"]["route"] == "POST /api/v1/survey/campaigns" && e["actor_name"] == "offc"
        })
        .count();
    assert_eq!(on_create, 2, "{}", refusals.text);
    // In its own sector it may.
    app.post(
        "/api/v1/survey/campaigns",
        Some(&zone.other_official),
        json!({ "name": "丙行业摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-08",
                "sector_ids": [zone.sc] }),
    )
    .await
    .assert_status(201);

    // The ledger: SA × P1 2, SA × P2 2, SB × P1 1, all unassigned.
    let coverage = app
        .get(&format!("{path}/coverage"), Some(&zone.regulator))
        .await;
    coverage.assert_status(200);
    let cell = |sector: &str, park: &str| {
        coverage.body["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["sector_id"] == sector && c["park_id"] == park)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(cell(&zone.sa, &zone.p1)["total"], 2);
    assert_eq!(cell(&zone.sa, &zone.p2)["unassigned"], 2);
    assert_eq!(cell(&zone.sb, &zone.p1)["total"], 1);
    assert_eq!(cell(&zone.sc, &zone.p1), Value::Null);
    assert_eq!(coverage.body["total"]["total"], 5);
    assert_eq!(coverage.body["cells"].as_array().unwrap().len(), 3);

    // An enterprise contact gets nothing of the survey.
    let case = all[0]["id"].as_str().unwrap();
    for path in [
        "/api/v1/survey/campaigns".to_owned(),
        format!("/api/v1/survey/campaigns/{campaign}"),
        format!("/api/v1/survey/campaigns/{campaign}/cases"),
        format!("/api/v1/survey/campaigns/{campaign}/coverage"),
        format!("/api/v1/survey/cases/{case}"),
        "/api/v1/me/cases".to_owned(),
    ] {
        app.get(&path, Some(&zone.contact)).await.assert_status(403);
    }
    let body = json!({ "method": "phone", "outcome": "completed", "client_id": "contact-0001" });
    visit(&app, &zone.contact, case, body)
        .await
        .assert_status(403);
    // Nor can a surveyor run campaigns.
    app.get("/api/v1/survey/campaigns", Some(&zone.sv1.1))
        .await
        .assert_status(403);
}
api_test!(a_campaign_covers_its_scope_and_no_one_else_sees_it);

async fn balanced_assignment_is_even_keeps_parks_together_and_is_audited(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let assign = format!("/api/v1/survey/campaigns/{campaign}/cases/assign");

    let balanced = app
        .post(
            &assign,
            Some(&zone.regulator),
            json!({ "mode": "balanced", "surveyor_ids": [zone.sv1.0, zone.sv2.0] }),
        )
        .await;
    balanced.assert_status(200);
    // b1 (SB) is outside both surveyors' team.
    assert_eq!(balanced.body, json!({ "assigned": 4, "uncovered": 1 }));

    let mine = |token: String| {
        let app = &app;
        async move {
            let page = app.get("/api/v1/me/cases", Some(&token)).await;
            page.assert_status(200);
            page.body["items"].as_array().unwrap().clone()
        }
    };
    let (first, second) = (
        mine(zone.sv1.1.clone()).await,
        mine(zone.sv2.1.clone()).await,
    );
    assert_eq!((first.len(), second.len()), (2, 2));
    for list in [&first, &second] {
        assert_eq!(list[0]["park_id"], list[1]["park_id"], "a park was split");
        assert!(list.iter().all(|case| case["state"] == "assigned"));
    }
    let unassigned = cases(&app, &zone.regulator, &campaign, "&state=unassigned").await;
    assert_eq!(unassigned.len(), 1);
    assert_eq!(unassigned[0]["enterprise_id"], zone.enterprise("b1"));

    // A surveyor sees only their own cases.
    let theirs = second[0]["id"].as_str().unwrap();
    app.get(&format!("/api/v1/survey/cases/{theirs}"), Some(&zone.sv1.1))
        .await
        .assert_status(404);
    let body = json!({ "method": "phone", "outcome": "no_answer", "client_id": "sv1-not-mine-1" });
    visit(&app, &zone.sv1.1, theirs, body)
        .await
        .assert_status(404);

    // Reassigned by hand to sv1: audited from sv2 to sv1.
    let moved = app
        .post(
            &assign,
            Some(&zone.regulator),
            json!({ "case_ids": [theirs], "surveyor_id": zone.sv1.0 }),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["assigned"], 1);
    let case = app
        .get(&format!("/api/v1/survey/cases/{theirs}"), Some(&zone.sv1.1))
        .await;
    case.assert_status(200);
    assert_eq!(case.body["assignee_id"], zone.sv1.0.as_str());
    assert_eq!(mine(zone.sv1.1.clone()).await.len(), 3);
    let audit = app
        .get(
            &format!("/api/v1/audit?action=survey.case.assign&object_id={theirs}"),
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", audit.text);
    let details: Vec<Value> = entries.iter().map(|e| e["details"].clone()).collect();
    assert!(
        details
            .iter()
            .any(|d| d["from"] == zone.sv2.0.as_str() && d["to"] == zone.sv1.0.as_str())
    );
    // Assigning it to sv1 again changes nothing and writes nothing.
    let again = app
        .post(
            &assign,
            Some(&zone.regulator),
            json!({ "case_ids": [theirs], "surveyor_id": zone.sv1.0 }),
        )
        .await;
    assert_eq!(again.body["assigned"], 0);
    // b1 cannot go to an SA surveyor.
    let b1 = unassigned[0]["id"].as_str().unwrap();
    let outside = app
        .post(
            &assign,
            Some(&zone.regulator),
            json!({ "case_ids": [b1], "surveyor_id": zone.sv1.0 }),
        )
        .await;
    outside.assert_status(422);
    assert_eq!(outside.body["errors"][0]["field"], "case_ids[0]");
    assert_eq!(outside.body["errors"][0]["code"], "outside_team");
}
api_test!(balanced_assignment_is_even_keeps_parks_together_and_is_audited);

async fn visits_climb_the_ladder_retry_once_and_conflict_when_stale(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let case = case_of(&app, &zone, &campaign, "a1").await;
    let id = case["id"].as_str().unwrap().to_owned();
    let assign = format!("/api/v1/survey/campaigns/{campaign}/cases/assign");
    app.post(
        &assign,
        Some(&zone.regulator),
        json!({ "case_ids": [id], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let token = zone.sv1.1.as_str();

    let first = json!({ "method": "phone", "outcome": "no_answer", "notes": "无人接听",
                        "client_id": "visit-0001", "case_version": 2 });
    let recorded = visit(&app, token, &id, first.clone()).await;
    recorded.assert_status(201);
    assert_eq!(recorded.body["case"]["state"], "attempted");
    assert_eq!(recorded.body["case"]["next_method"], "phone");
    assert_eq!(recorded.body["case"]["version"], 3);
    assert_eq!(recorded.body["visit"]["longitude"], Value::Null);
    let visit_id = recorded.body["visit"]["id"].clone();

    // The same visit again (the phone lost the answer): the same visit, nothing new.
    let retried = visit(&app, token, &id, first.clone()).await;
    retried.assert_status(200);
    assert_eq!(retried.body["visit"]["id"], visit_id);
    assert_eq!(retried.body["case"]["attempts"], 1);
    // The same client id for something else is refused.
    let mut other = first.clone();
    other["outcome"] = json!("refused");
    assert_eq!(visit(&app, token, &id, other).await.status, 422);

    // A device that saw version 2 is told the case moved on.
    let stale = json!({ "method": "phone", "outcome": "no_answer", "client_id": "visit-0002",
                        "case_version": 2 });
    let conflict = visit(&app, token, &id, stale).await;
    conflict.assert_status(409);
    assert_eq!(conflict.code(), "case_version_conflict");

    // A location comes as both coordinates, in range, or not at all.
    for (place, field) in [
        (json!({ "longitude": 119.3 }), "latitude"),
        (json!({ "longitude": 119.3, "latitude": 95.0 }), "latitude"),
    ] {
        let mut located = json!({ "method": "phone", "outcome": "no_answer",
                                  "client_id": "visit-0002", "case_version": 3 });
        located
            .as_object_mut()
            .unwrap()
            .extend(place.as_object().unwrap().clone());
        let refused = visit(&app, token, &id, located).await;
        refused.assert_status(422);
        assert_eq!(
            refused.body["errors"][0]["field"], field,
            "{}",
            refused.text
        );
    }

    // The second failed call asks for a site visit.
    let second = json!({ "method": "phone", "outcome": "no_answer", "client_id": "visit-0002",
                         "case_version": 3, "longitude": 119.2965, "latitude": 26.0745 });
    let recorded = visit(&app, token, &id, second).await;
    recorded.assert_status(201);
    assert_eq!(recorded.body["visit"]["longitude"], json!(119.2965));
    assert_eq!(recorded.body["visit"]["latitude"], json!(26.0745));
    assert_eq!(recorded.body["case"]["next_method"], "site_visit");
    assert_eq!(recorded.body["case"]["attempts"], 2);

    // Another case: a call back comes first in the surveyor's list.
    let a2 = case_of(&app, &zone, &campaign, "a2").await;
    let a2 = a2["id"].as_str().unwrap().to_owned();
    app.post(
        &assign,
        Some(&zone.regulator),
        json!({ "case_ids": [a2], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let a3 = case_of(&app, &zone, &campaign, "a3").await;
    let a3 = a3["id"].as_str().unwrap().to_owned();
    app.post(
        &assign,
        Some(&zone.regulator),
        json!({ "case_ids": [a3], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let call_back = json!({ "method": "phone", "outcome": "call_back", "client_id": "visit-0003" });
    visit(&app, token, &a2, call_back).await.assert_status(201);
    let mine = app.get("/api/v1/me/cases?limit=2", Some(token)).await;
    mine.assert_status(200);
    assert_eq!(mine.body["items"][0]["id"], a2.as_str());
    assert_eq!(mine.body["items"][1]["id"], id.as_str());
    let cursor = mine.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("/api/v1/me/cases?cursor={cursor}"), Some(token))
        .await;
    rest.assert_status(200);
    assert_eq!(rest.body["items"][0]["id"], a3.as_str());
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);

    // A completed visit (by the official in scope: the regulator) reaches the case.
    let done = json!({ "method": "site_visit", "outcome": "completed",
                       "visited_at": "2026-12-03T09:30:00+08:00", "client_id": "visit-0004" });
    let reached = visit(&app, &zone.regulator, &id, done).await;
    reached.assert_status(201);
    assert_eq!(reached.body["case"]["state"], "reached");
    let detail = app
        .get(&format!("/api/v1/survey/cases/{id}"), Some(token))
        .await;
    detail.assert_status(200);
    assert_eq!(detail.body["visits"].as_array().unwrap().len(), 3);
    assert_eq!(detail.body["state"], "reached");

    // Door to door on a4 until it is lost (失联).
    let a4 = case_of(&app, &zone, &campaign, "a4").await;
    let a4 = a4["id"].as_str().unwrap().to_owned();
    for (n, method) in ["phone", "phone", "site_visit", "door_knock"]
        .iter()
        .enumerate()
    {
        let body = json!({ "method": method, "outcome": "no_answer",
                           "client_id": format!("a4-visit-{n:04}") });
        visit(&app, &zone.regulator, &a4, body)
            .await
            .assert_status(201);
    }
    let lost = app
        .get(&format!("/api/v1/survey/cases/{a4}"), Some(&zone.regulator))
        .await;
    assert_eq!(lost.body["state"], "lost");

    // The ledger counts it all: SA × P1 has a reached and an attempted case.
    let coverage = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/coverage"),
            Some(&zone.regulator),
        )
        .await;
    coverage.assert_status(200);
    let total = &coverage.body["total"];
    assert_eq!(
        (
            &total["total"],
            &total["reached"],
            &total["attempted"],
            &total["assigned"],
            &total["lost"],
            &total["unassigned"]
        ),
        (
            &json!(5),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1)
        )
    );
    let sa_p1 = coverage.body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sector_id"] == zone.sa.as_str() && c["park_id"] == zone.p1.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (sa_p1["reached"].clone(), sa_p1["attempted"].clone()),
        (json!(1), json!(1))
    );

    // Once closed, the campaign takes no more visits and no changes.
    let path = format!("/api/v1/survey/campaigns/{campaign}");
    app.patch(&path, Some(&zone.regulator), json!({ "status": "closed" }))
        .await
        .assert_status(200);
    let late = json!({ "method": "phone", "outcome": "completed", "client_id": "visit-0009" });
    let refused = visit(&app, token, &a3, late).await;
    refused.assert_status(409);
    assert_eq!(refused.code(), "campaign_not_running");
    let reopen = app
        .patch(&path, Some(&zone.regulator), json!({ "status": "running" }))
        .await;
    reopen.assert_status(409);
    assert_eq!(reopen.code(), "invalid_transition");
}
api_test!(visits_climb_the_ladder_retry_once_and_conflict_when_stale);

async fn bad_input_gets_422_with_field_errors_and_writes_nothing(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let before = campaign_count(&app, &zone.regulator).await;

    let bad = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "   ", "starts_on": "2026-12-31", "ends_on": "2026-12-01" }),
        )
        .await;
    bad.assert_status(422);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "ends_on"], "{}", bad.text);
    let unknown_unit = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "摸排", "starts_on": "2026-12-01", "ends_on": "2026-12-02",
                    "sector_ids": [zone.sa, "no-such-sector"], "park_ids": [zone.sb] }),
        )
        .await;
    unknown_unit.assert_status(422);
    assert_eq!(unknown_unit.body["errors"][0]["field"], "sector_ids[1]");
    assert_eq!(unknown_unit.body["errors"][1]["field"], "park_ids[0]");
    let bad_day = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "摸排", "starts_on": "2026/12/01", "ends_on": "2026-12-02" }),
        )
        .await;
    bad_day.assert_status(422);
    assert_eq!(bad_day.body["errors"][0]["field"], "starts_on");
    assert_eq!(campaign_count(&app, &zone.regulator).await, before);

    let case = case_of(&app, &zone, &campaign, "a1").await;
    let id = case["id"].as_str().unwrap();
    let bad_visit = visit(
        &app,
        &zone.regulator,
        id,
        json!({ "method": "carrier_pigeon", "outcome": "maybe", "client_id": "x",
                "visited_at": "2099-01-01T00:00:00Z" }),
    )
    .await;
    bad_visit.assert_status(422);
    let fields: Vec<&str> = bad_visit.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["method", "outcome", "visited_at", "client_id"]);

    let assign = format!("/api/v1/survey/campaigns/{campaign}/cases/assign");
    let unknown = app
        .post(
            &assign,
            Some(&zone.regulator),
            json!({ "mode": "balanced", "surveyor_ids": [zone.sv1.0, "no-such-user"] }),
        )
        .await;
    unknown.assert_status(422);
    assert_eq!(unknown.body["errors"][0]["field"], "surveyor_ids[1]");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_surveyor");
    // The regulator is no surveyor.
    let regulator_id = app.get("/api/v1/me", Some(&zone.regulator)).await.body["id"].clone();
    let not_surveyor = app
        .post(
            &assign,
            Some(&zone.regulator),
            json!({ "case_ids": [id], "surveyor_id": regulator_id }),
        )
        .await;
    not_surveyor.assert_status(422);
    assert_eq!(not_surveyor.body["errors"][0]["field"], "surveyor_id");

    // Nothing was written: no visit, no assignment.
    let after = app
        .get(&format!("/api/v1/survey/cases/{id}"), Some(&zone.regulator))
        .await;
    assert_eq!(after.body["visits"], json!([]));
    assert_eq!(after.body["version"], 1);
    let assigned = cases(&app, &zone.regulator, &campaign, "&state=assigned").await;
    assert!(assigned.is_empty());
}
api_test!(bad_input_gets_422_with_field_errors_and_writes_nothing);

async fn starting_a_campaign_of_10000_enterprises_makes_every_case(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "BIG").await;
    let park = app.create_park(&admin, "BIGP").await;
    // The roster written straight into the database: 10,000 imports through the API
    // would take the test's time, not the campaign's.
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         INSERT INTO enterprises (id, name, credit_code, sector_id, park_id, address, \
         key_enterprise, status, created_at, updated_at) \
         SELECT 'bulk-' || i, '批量企业' || i, 'BULK' || i, '{sector}', '{park}', '', \
         false, 'operating', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM n"
    );
    {
        use diesel::RunQueryDsl;
        use truckpass::db::DbConnection;
        let inserted = match &mut app.raw_connection() {
            DbConnection::Sqlite(conn) => diesel::sql_query(&sql).execute(conn),
            DbConnection::Postgresql(conn) => diesel::sql_query(&sql).execute(conn),
        };
        assert_eq!(inserted.unwrap(), 10_000);
    }
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&admin),
            json!({ "name": "全区摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31" }),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();

    // How long this takes is a benchmark's business, not a test's (machines are
    // shared): the test checks that every enterprise became a case.
    app.patch(
        &format!("/api/v1/survey/campaigns/{id}"),
        Some(&admin),
        json!({ "status": "running" }),
    )
    .await
    .assert_status(200);

    let coverage = app
        .get(
            &format!("/api/v1/survey/campaigns/{id}/coverage"),
            Some(&admin),
        )
        .await;
    assert_eq!(coverage.body["total"]["total"], 10_000);
    assert_eq!(coverage.body["total"]["unassigned"], 10_000);
}
api_test!(starting_a_campaign_of_10000_enterprises_makes_every_case);

/// The answers to the default questionnaire of a small operating enterprise.
pub(crate) fn answers() -> Value {
    json!({
        "name": "福州甲一化工有限公司", "credit_code": "91350100MA2XXXXX1Y",
        "contact_person": "王敏", "contact_phone": "+86 138 0013 8000",
        "status": "正常经营", "employees": 20, "revenue": 3000, "tax": 120,
        "receives_trucks": true, "trucks_per_day": 5,
        "products": [{ "name": "液碱", "annual_output": 1800 }],
        "demands": [{ "category": "物流", "description": "园区道路限高影响货车进出" }]
    })
}

/// A running campaign with a1's case assigned to surveyor sv1: (campaign, case id).
pub(crate) async fn a1_assigned(app: &TestApp, zone: &Zone) -> (String, String) {
    let campaign = running_campaign(app, zone).await;
    let case = case_of(app, zone, &campaign, "a1").await;
    let id = case["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": [id], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    (campaign, id)
}

/// Submits answers on a case.
pub(crate) async fn submit(
    app: &TestApp,
    token: &str,
    case: &str,
    body: Value,
) -> crate::helpers::TestResponse {
    app.post(
        &format!("/api/v1/survey/cases/{case}/answers"),
        Some(token),
        body,
    )
    .await
}

/// A review decision on a case.
pub(crate) async fn review(
    app: &TestApp,
    token: &str,
    case: &str,
    body: Value,
) -> crate::helpers::TestResponse {
    app.post(
        &format!("/api/v1/survey/cases/{case}/review"),
        Some(token),
        body,
    )
    .await
}

/// A decision that needs a reason: refused without one (422 at `note`), then taken
/// with `note` (200).
pub(crate) async fn decided_with_a_reason(
    app: &TestApp,
    token: &str,
    case: &str,
    decision: &str,
    note: &str,
) -> crate::helpers::TestResponse {
    let reasonless = review(app, token, case, json!({ "decision": decision })).await;
    reasonless.assert_status(422);
    assert_eq!(
        field_codes(&reasonless),
        vec![("note".to_owned(), "required".to_owned())]
    );
    let decided = review(
        app,
        token,
        case,
        json!({ "decision": decision, "note": note }),
    )
    .await;
    decided.assert_status(200);
    decided
}

/// The case's current version.
pub(crate) async fn case_version(app: &TestApp, token: &str, case: &str) -> i64 {
    let found = app
        .get(&format!("/api/v1/survey/cases/{case}"), Some(token))
        .await;
    found.assert_status(200);
    found.body["version"].as_i64().unwrap()
}

/// `(field, code)` of a problem's errors.
pub(crate) fn field_codes(response: &crate::helpers::TestResponse) -> Vec<(String, String)> {
    response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_draft_campaign_takes_its_own_questionnaire_until_it_starts(app: TestApp) {
    let zone = zone(&app).await;
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "专项摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31",
                    "sector_ids": [zone.sa] }),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/survey/campaigns/{id}/questionnaire");

    // The zone's default, as version 1.
    let default = app.get(&path, Some(&zone.regulator)).await;
    default.assert_status(200);
    assert_eq!(default.body["version"], 1);
    let fields = default.body["fields"].as_array().unwrap();
    let kind_of = |key: &str| {
        fields
            .iter()
            .find(|f| f["key"] == key)
            .map(|f| f["type"].clone())
            .unwrap()
    };
    assert_eq!(kind_of("contact_phone"), "phone");
    assert_eq!(kind_of("products"), "repeat");
    assert_eq!(kind_of("basic"), "section");
    let revenue = fields.iter().find(|f| f["key"] == "revenue").unwrap();
    assert_eq!(revenue["unit"], "万元");
    let tiers: Vec<&str> = default.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["tier"].as_str().unwrap())
        .collect();
    assert!(
        tiers.contains(&"blocking") && tiers.contains(&"explain") && tiers.contains(&"warning")
    );

    // Its own: a heading, a number in 亩 and a rule.
    let own = json!({
        "fields": [
            { "key": "land", "label": "一、用地", "type": "section" },
            { "key": "status", "label": "状态", "type": "single_choice", "options": ["在营", "关闭"] },
            { "key": "land_area", "label": "占地面积", "type": "number", "unit": "亩", "min": 0 }
        ],
        "rules": [
            { "id": "land_area_required", "tier": "blocking",
              "check": { "kind": "required", "field": "land_area" },
              "unless": { "field": "status", "equals": "关闭" },
              "message": "在营企业须填写占地面积" }
        ]
    });
    // Officials run campaigns but do not write questionnaires.
    app.put(&path, Some(&zone.other_official), own.clone())
        .await
        .assert_status(403);
    let saved = app.put(&path, Some(&zone.regulator), own.clone()).await;
    saved.assert_status(200);
    assert_eq!(saved.body["version"], 2);
    assert_eq!(saved.body["fields"][2]["unit"], "亩");

    // Rules naming what the questionnaire lacks are refused, field by field.
    let mut bad = own.clone();
    bad["rules"][0]["check"]["field"] = json!("revenue");
    bad["fields"][1]["type"] = json!("repeat");
    let refused = app.put(&path, Some(&zone.regulator), bad).await;
    refused.assert_status(422);
    assert_eq!(
        field_codes(&refused),
        vec![
            ("fields[1].options".to_owned(), "not_applicable".to_owned()),
            ("fields[1].fields".to_owned(), "rows_required".to_owned()),
        ]
    );
    let mut bad = own.clone();
    bad["rules"][0]["check"]["field"] = json!("revenue");
    let refused = app.put(&path, Some(&zone.regulator), bad).await;
    refused.assert_status(422);
    assert_eq!(
        field_codes(&refused),
        vec![(
            "rules[0].check.field".to_owned(),
            "unknown_field".to_owned()
        )]
    );
    assert_eq!(
        app.get(&path, Some(&zone.regulator)).await.body["version"],
        2
    );

    // Once it runs, the questionnaire stays as it is.
    app.patch(
        &format!("/api/v1/survey/campaigns/{id}"),
        Some(&zone.regulator),
        json!({ "status": "running" }),
    )
    .await
    .assert_status(200);
    let late = app.put(&path, Some(&zone.regulator), own).await;
    late.assert_status(409);
    assert_eq!(late.code(), "invalid_transition");

    // Its cases are answered against its own version and rules.
    let case = case_of(&app, &zone, &id, "a1").await;
    let case = case["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/survey/campaigns/{id}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": [case], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let token = zone.sv1.1.as_str();
    let version = case_version(&app, token, &case).await;
    let missing = submit(
        &app,
        token,
        &case,
        json!({
            "answers": { "status": "在营" }, "client_id": "own-0001", "case_version": version,
        }),
    )
    .await;
    missing.assert_status(422);
    assert_eq!(
        field_codes(&missing),
        vec![("answers.land_area".to_owned(), "rule_violated".to_owned())]
    );
    let closed = submit(
        &app,
        token,
        &case,
        json!({
            "answers": { "status": "关闭" }, "client_id": "own-0001", "case_version": version,
        }),
    )
    .await;
    closed.assert_status(201);
    assert_eq!(closed.body["answers"]["questionnaire_version"], 2);
}
api_test!(a_draft_campaign_takes_its_own_questionnaire_until_it_starts);

async fn answers_pass_three_tiers_of_rules_and_a_retry_is_the_same_submission(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let version = case_version(&app, token, &case).await;

    // Blocking: every field error at once, nothing stored.
    let mut blocked = answers();
    blocked["employees"] = json!(0);
    blocked["contact_phone"] = json!("12345");
    blocked["products"] = json!([{ "annual_output": 10 }]);
    let refused = submit(
        &app,
        token,
        &case,
        json!({
            "answers": blocked, "client_id": "answer-0001", "case_version": version,
        }),
    )
    .await;
    refused.assert_status(422);
    assert_eq!(
        field_codes(&refused),
        vec![
            (
                "answers.contact_phone".to_owned(),
                "invalid_phone".to_owned()
            ),
            ("answers.products[0].name".to_owned(), "required".to_owned()),
        ]
    );
    let mut blocked = answers();
    blocked["employees"] = json!(0);
    let refused = submit(
        &app,
        token,
        &case,
        json!({
            "answers": blocked, "client_id": "answer-0001", "case_version": version,
        }),
    )
    .await;
    refused.assert_status(422);
    assert_eq!(
        field_codes(&refused),
        vec![("answers.employees".to_owned(), "rule_violated".to_owned())]
    );
    // Explain-to-pass: 20 people and 2 亿 revenue need an explanation.
    let mut big = answers();
    big["revenue"] = json!(20000);
    big["tax"] = json!(9000);
    let unexplained = submit(
        &app,
        token,
        &case,
        json!({
            "answers": big, "client_id": "answer-0001", "case_version": version,
        }),
    )
    .await;
    unexplained.assert_status(422);
    assert_eq!(
        field_codes(&unexplained),
        vec![(
            "explanations.revenue_per_employee".to_owned(),
            "explanation_required".to_owned()
        )]
    );
    assert_eq!(case_version(&app, token, &case).await, version);

    // Explained, it passes, with the warning given back; the phone only masked.
    let body = json!({
        "answers": big,
        "explanations": { "revenue_per_employee": "贸易业务为主，人少额大" },
        "client_id": "answer-0001",
        "case_version": version,
    });
    let accepted = submit(&app, token, &case, body.clone()).await;
    accepted.assert_status(201);
    assert_eq!(accepted.body["answers"]["version"], 1);
    assert_eq!(accepted.body["answers"]["questionnaire_version"], 1);
    assert_eq!(
        accepted.body["answers"]["answers"]["contact_phone"],
        "138****8000"
    );
    assert_eq!(accepted.body["warnings"][0]["rule_id"], "tax_share");
    assert_eq!(accepted.body["warnings"][0]["tier"], "warning");
    assert_eq!(accepted.body["case"]["review"], "received");
    assert_eq!(accepted.body["case"]["version"], version + 1);
    assert!(!accepted.text.contains("13800138000"));

    // The phone lost the answer: the same submission again, nothing new.
    let retried = submit(&app, token, &case, body.clone()).await;
    retried.assert_status(200);
    assert_eq!(retried.body["answers"]["version"], 1);
    assert_eq!(case_version(&app, token, &case).await, version + 1);
    // The same client id for other answers is refused.
    let mut other = body.clone();
    other["answers"]["employees"] = json!(30);
    let reused = submit(&app, token, &case, other).await;
    reused.assert_status(422);
    assert_eq!(reused.code(), "idempotency_key_reused");
    // Built on the old version of the case: a conflict, not an overwrite.
    let stale = submit(
        &app,
        token,
        &case,
        json!({
            "answers": answers(), "client_id": "answer-0002", "case_version": version,
        }),
    )
    .await;
    stale.assert_status(409);
    assert_eq!(stale.code(), "case_version_conflict");

    // Another surveyor of the sector, an official of another sector: not found;
    // an enterprise contact: not for them.
    let fresh = json!({ "answers": answers(), "client_id": "answer-0003",
                        "case_version": version + 1 });
    submit(&app, &zone.sv2.1, &case, fresh.clone())
        .await
        .assert_status(404);
    submit(&app, &zone.other_official, &case, fresh.clone())
        .await
        .assert_status(404);
    submit(&app, &zone.contact, &case, fresh.clone())
        .await
        .assert_status(403);
    let path = format!("/api/v1/survey/cases/{case}/answers");
    app.get(&path, Some(&zone.sv2.1)).await.assert_status(404);

    // What the surveyor reads back: masked, with the questionnaire to fill.
    let read = app.get(&path, Some(token)).await;
    read.assert_status(200);
    assert_eq!(
        read.body["current"]["answers"]["contact_phone"],
        "138****8000"
    );
    assert_eq!(
        read.body["current"]["explanations"]["revenue_per_employee"],
        "贸易业务为主，人少额大"
    );
    assert_eq!(read.body["questionnaire"]["version"], 1);
    // The roster's facts start the form; a credit code other than the roster's is
    // warned about (the name agrees).
    assert_eq!(read.body["roster"]["name"], "福州甲一化工有限公司");
    let warned: Vec<&str> = read.body["current"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(warned, ["tax_share", "credit_code_matches_roster"]);
    assert!(!read.text.contains("13800138000"));

    // Rejecting needs a reason; a rejected case takes no more answers.
    let rejected = decided_with_a_reason(
        &app,
        &zone.regulator,
        &case,
        "reject",
        "企业拒绝提供数据，答案不可信",
    )
    .await;
    assert_eq!(rejected.body["case"]["review"], "rejected");
    let version = rejected.body["case"]["version"].clone();
    let closed = submit(
        &app,
        token,
        &case,
        json!({
            "answers": answers(), "client_id": "answer-0004", "case_version": version,
        }),
    )
    .await;
    closed.assert_status(409);
    assert_eq!(closed.code(), "invalid_transition");

    // Submitted once, audited once.
    let audit = app
        .get(
            "/api/v1/audit?action=survey.answers.submit&limit=100",
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
    assert!(!audit.text.contains("13800138000"));
}
api_test!(answers_pass_three_tiers_of_rules_and_a_retry_is_the_same_submission);

async fn a_returned_case_reopens_with_comments_and_shows_a_diff_after_resubmission(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let version = case_version(&app, token, &case).await;
    submit(
        &app,
        token,
        &case,
        json!({
            "answers": answers(), "client_id": "answer-1001", "case_version": version,
        }),
    )
    .await
    .assert_status(201);

    // Surveyors do not review; officials outside the scope do not see the case.
    let comments = json!({ "decision": "return",
                           "comments": { "employees": "人数与社保记录不符，请核实" } });
    review(&app, token, &case, comments.clone())
        .await
        .assert_status(403);
    review(&app, &zone.other_official, &case, comments.clone())
        .await
        .assert_status(404);
    // Comments name the questionnaire's fields.
    let unknown = review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "return", "comments": { "colour": "?" } }),
    )
    .await;
    unknown.assert_status(422);
    assert_eq!(
        field_codes(&unknown),
        vec![("comments.colour".to_owned(), "unknown_field".to_owned())]
    );

    let returned = review(&app, &zone.regulator, &case, comments).await;
    returned.assert_status(200);
    assert_eq!(returned.body["case"]["review"], "returned");
    assert_eq!(returned.body["review"]["decision"], "return");

    // The surveyor sees the comment next to the field and fixes it (and the phone).
    let path = format!("/api/v1/survey/cases/{case}/answers");
    let reopened = app.get(&path, Some(token)).await;
    reopened.assert_status(200);
    assert_eq!(reopened.body["case"]["review"], "returned");
    assert_eq!(
        reopened.body["comments"]["employees"],
        "人数与社保记录不符，请核实"
    );
    let mut fixed = answers();
    fixed["employees"] = json!(35);
    fixed["contact_phone"] = json!("13912345678");
    let version = reopened.body["case"]["version"].as_i64().unwrap();
    let resubmitted = submit(
        &app,
        token,
        &case,
        json!({
            "answers": fixed, "client_id": "answer-1002", "case_version": version,
        }),
    )
    .await;
    resubmitted.assert_status(201);
    assert_eq!(resubmitted.body["answers"]["version"], 2);
    assert_eq!(resubmitted.body["case"]["review"], "received");

    // Both versions kept; the diff field by field, phones masked.
    let read = app.get(&path, Some(&zone.regulator)).await;
    read.assert_status(200);
    assert_eq!(read.body["current"]["version"], 2);
    assert_eq!(read.body["previous_version"], 1);
    assert_eq!(
        read.body["diff"],
        json!([
            { "field": "contact_phone", "old": "138****8000", "new": "139****5678" },
            { "field": "employees", "old": 20, "new": 35 },
        ])
    );
    assert!(!read.text.contains("13912345678"));

    // Approved: it counts, and takes no more answers.
    let approved = review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "approve" }),
    )
    .await;
    approved.assert_status(200);
    assert_eq!(approved.body["case"]["review"], "approved");
    let version = approved.body["case"]["version"].as_i64().unwrap();
    let late = submit(
        &app,
        token,
        &case,
        json!({
            "answers": answers(), "client_id": "answer-1003", "case_version": version,
        }),
    )
    .await;
    late.assert_status(409);
    assert_eq!(late.code(), "invalid_transition");
    let again = review(
        &app,
        &zone.regulator,
        &case,
        json!({ "decision": "approve" }),
    )
    .await;
    again.assert_status(409);
    let coverage = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/coverage"),
            Some(&zone.regulator),
        )
        .await;
    coverage.assert_status(200);
    assert_eq!(coverage.body["total"]["approved"], 1);

    // Un-approving needs a reason; then it waits for review again and no longer counts.
    let unapproved = decided_with_a_reason(
        &app,
        &zone.regulator,
        &case,
        "unapprove",
        "营业收入口径有误，重新审核",
    )
    .await;
    assert_eq!(unapproved.body["case"]["review"], "received");
    let coverage = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/coverage"),
            Some(&zone.regulator),
        )
        .await;
    assert_eq!(coverage.body["total"]["approved"], 0);

    // Every decision audited.
    let audit = app
        .get(
            "/api/v1/audit?action=survey.case.review&limit=100",
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let decisions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"]["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions.len(), 3, "{decisions:?}");
    for decision in ["return", "approve", "unapprove"] {
        assert!(decisions.contains(&decision), "{decisions:?}");
    }
    let history = app.get(&path, Some(&zone.regulator)).await;
    assert_eq!(history.body["reviews"].as_array().unwrap().len(), 3);
}
api_test!(a_returned_case_reopens_with_comments_and_shows_a_diff_after_resubmission);

/// A JPEG as a phone camera writes it: an EXIF block right after the start marker,
/// saying the picture is to be turned 90° clockwise and where it was taken.
fn camera_jpeg(width: u32, height: u32) -> Vec<u8> {
    const PLACE: &[u8] = b"GPS 26.0745N 119.2965E SECRET-SPOT\0";
    // A big-endian TIFF block: two entries (orientation 6; a description) and then
    // the description's text.
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x02".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0]);
    tiff.extend_from_slice(&[0x01, 0x0e, 0x00, 0x02, 0, 0]);
    tiff.extend_from_slice(&(PLACE.len() as u16).to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 38, 0, 0, 0, 0]);
    tiff.extend_from_slice(PLACE);
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    let jpeg = crate::helpers::picture(width, height, image::ImageFormat::Jpeg);
    [&jpeg[..2], &segment[..], &jpeg[2..]].concat()
}

/// Uploads a photo to a case.
pub(crate) async fn photo(
    app: &TestApp,
    token: &str,
    case: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::helpers::TestResponse {
    app.call_raw(
        reqwest::Method::POST,
        &format!("/api/v1/survey/cases/{case}/photos?{query}"),
        Some(token),
        content_type,
        body,
    )
    .await
}

async fn photos_are_upright_shrunk_stripped_idempotent_and_seen_only_with_their_case(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let case = case_of(&app, &zone, &campaign, "a1").await;
    let id = case["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": [id], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let token = zone.sv1.1.as_str();
    let upload = camera_jpeg(240, 120);
    assert!(upload.windows(11).any(|w| w == b"SECRET-SPOT"));

    let stored = photo(
        &app,
        token,
        &id,
        "client_id=photo-0001",
        "image/jpeg",
        upload.clone(),
    )
    .await;
    stored.assert_status(201);
    // Turned upright as the camera said: 120 wide, 240 high.
    assert_eq!(
        (
            stored.body["width"].as_i64(),
            stored.body["height"].as_i64()
        ),
        (Some(120), Some(240))
    );
    assert_eq!(stored.body["case_id"], id.as_str());
    let url = stored.body["url"].as_str().unwrap().to_owned();
    let picture = app.get(&url, Some(token)).await;
    picture.assert_status(200);
    assert_eq!(picture.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        picture.bytes.len() as i64,
        stored.body["byte_size"].as_i64().unwrap()
    );
    // Re-encoded: no EXIF block and nothing of where it was taken.
    assert!(!picture.bytes.windows(4).any(|w| w == b"Exif"));
    assert!(!picture.bytes.windows(11).any(|w| w == b"SECRET-SPOT"));
    let decoded = image::load_from_memory(&picture.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (120, 240));

    // The phone lost the answer and sends it again: the same photo, nothing new.
    let retried = photo(
        &app,
        token,
        &id,
        "client_id=photo-0001",
        "image/jpeg",
        upload.clone(),
    )
    .await;
    retried.assert_status(200);
    assert_eq!(retried.body["id"], stored.body["id"]);
    // The same client id with another picture is refused.
    let other = crate::helpers::picture(50, 50, image::ImageFormat::Png);
    let reused = photo(&app, token, &id, "client_id=photo-0001", "image/png", other).await;
    reused.assert_status(422);
    assert_eq!(reused.code(), "idempotency_key_reused");

    // A large PNG taken on a visit is shrunk to 1600 pixels on its longest side.
    let recorded = visit(
        &app,
        token,
        &id,
        json!({ "method": "site_visit", "outcome": "completed",
                                                   "client_id": "visit-photo-1" }),
    )
    .await;
    recorded.assert_status(201);
    let visit_id = recorded.body["visit"]["id"].as_str().unwrap().to_owned();
    let large = crate::helpers::picture(3000, 1000, image::ImageFormat::Png);
    let shrunk = photo(
        &app,
        token,
        &id,
        &format!("client_id=photo-0002&visit_id={visit_id}"),
        "image/png",
        large,
    )
    .await;
    shrunk.assert_status(201);
    assert_eq!(
        (
            shrunk.body["width"].as_i64(),
            shrunk.body["height"].as_i64()
        ),
        (Some(1600), Some(533))
    );
    assert_eq!(shrunk.body["visit_id"], visit_id.as_str());

    // Bad uploads: clear errors, nothing stored.
    let small = crate::helpers::picture(20, 20, image::ImageFormat::Png);
    let not_a_picture = photo(
        &app,
        token,
        &id,
        "client_id=photo-0003",
        "image/jpeg",
        "这不是图片".as_bytes().to_vec(),
    )
    .await;
    not_a_picture.assert_status(422);
    assert_eq!(not_a_picture.code(), "not_an_image");
    let cut_short = photo(
        &app,
        token,
        &id,
        "client_id=photo-0003",
        "image/png",
        small[..small.len() / 2].to_vec(),
    )
    .await;
    cut_short.assert_status(422);
    assert_eq!(cut_short.code(), "not_an_image");
    let wrong_type = photo(
        &app,
        token,
        &id,
        "client_id=photo-0003",
        "text/plain",
        small.clone(),
    )
    .await;
    wrong_type.assert_status(415);
    let bad_client = photo(&app, token, &id, "client_id=no", "image/png", small.clone()).await;
    bad_client.assert_status(422);
    assert_eq!(bad_client.body["errors"][0]["field"], "client_id");
    let missing_client = photo(&app, token, &id, "", "image/png", small.clone()).await;
    missing_client.assert_status(422);
    assert_eq!(missing_client.code(), "validation_failed");
    let huge = vec![0u8; 13 * 1024 * 1024];
    let too_big = photo(&app, token, &id, "client_id=photo-0004", "image/jpeg", huge).await;
    too_big.assert_status(413);
    let other_case = case_of(&app, &zone, &campaign, "a2").await;
    let foreign_visit = photo(
        &app,
        &zone.regulator,
        other_case["id"].as_str().unwrap(),
        &format!("client_id=photo-0005&visit_id={visit_id}"),
        "image/png",
        small.clone(),
    )
    .await;
    foreign_visit.assert_status(422);
    assert_eq!(foreign_visit.body["errors"][0]["field"], "visit_id");

    let list = app
        .get(&format!("/api/v1/survey/cases/{id}/photos"), Some(token))
        .await;
    list.assert_status(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert!(
        list.body["items"][0]["uploader_name"]
            .as_str()
            .unwrap()
            .ends_with("sv1")
    );

    // Who sees them: the case's people, nobody else (a foreign case is not found).
    for (who, caller, status) in [
        ("regulator", zone.regulator.as_str(), 200),
        ("sector SA's other surveyor", zone.sv2.1.as_str(), 404),
        ("sector SC's official", zone.other_official.as_str(), 404),
        ("an enterprise contact", zone.contact.as_str(), 403),
    ] {
        let listed = app
            .get(&format!("/api/v1/survey/cases/{id}/photos"), Some(caller))
            .await;
        assert_eq!(listed.status, status, "{who} lists");
        let seen = app.get(&url, Some(caller)).await;
        assert_eq!(seen.status, status, "{who} opens the picture");
        if status != 200 {
            let sent = photo(
                &app,
                caller,
                &id,
                "client_id=photo-0006",
                "image/png",
                small.clone(),
            )
            .await;
            assert_eq!(sent.status, status, "{who} uploads");
        }
    }
    assert_eq!(app.get(&url, None).await.status, 401);
    let unknown = app
        .get("/api/v1/survey/photos/no-such-photo", Some(token))
        .await;
    unknown.assert_status(404);

    let audit = app
        .get(
            "/api/v1/audit?action=survey.photo.create",
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 2);

    // A closed campaign takes no more photos.
    app.patch(
        &format!("/api/v1/survey/campaigns/{campaign}"),
        Some(&zone.regulator),
        json!({ "status": "closed" }),
    )
    .await
    .assert_status(200);
    let closed = photo(&app, token, &id, "client_id=photo-0007", "image/png", small).await;
    closed.assert_status(409);
    assert_eq!(closed.code(), "campaign_not_running");
}
api_test!(photos_are_upright_shrunk_stripped_idempotent_and_seen_only_with_their_case);

async fn a_surveyor_moved_or_disabled_keeps_their_history_and_returns_open_cases_to_the_pool(
    app: TestApp,
) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for name in ["a1", "a3", "a4"] {
            let case = case_of(&app, &zone, &campaign, name).await;
            ids.push(case["id"].as_str().unwrap().to_owned());
        }
        ids
    };
    let assign = format!("/api/v1/survey/campaigns/{campaign}/cases/assign");
    app.post(
        &assign,
        Some(&zone.regulator),
        json!({ "case_ids": ids, "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let token = zone.sv1.1.as_str();
    // a3 (SA/P2) reached, a4 (SA/P2) tried once, a1 (SA/P1) not yet tried.
    for (name, outcome) in [("a3", "completed"), ("a4", "no_answer")] {
        let case = case_of(&app, &zone, &campaign, name).await;
        let body = json!({ "method": "phone", "outcome": outcome,
                           "client_id": format!("move-visit-{name}"), "case_version": case["version"] });
        visit(&app, token, case["id"].as_str().unwrap(), body)
            .await
            .assert_status(201);
    }

    // To the team of park P1: a1 stays theirs, a4 goes back to the pool with its
    // attempt, a3 (finished) stays theirs.
    let user = format!("/api/v1/users/{}", zone.sv1.0);
    let moved = app
        .patch(
            &user,
            Some(&zone.admin),
            json!({ "sector_ids": [], "park_ids": [zone.p1] }),
        )
        .await;
    moved.assert_status(200);
    let a1 = case_of(&app, &zone, &campaign, "a1").await;
    let a3 = case_of(&app, &zone, &campaign, "a3").await;
    let a4 = case_of(&app, &zone, &campaign, "a4").await;
    assert_eq!(a1["assignee_id"], zone.sv1.0.as_str());
    assert_eq!(a3["assignee_id"], zone.sv1.0.as_str());
    assert_eq!(a3["state"], "reached");
    assert_eq!(a4["assignee_id"], Value::Null);
    assert_eq!(
        (a4["state"].as_str(), a4["attempts"].as_i64()),
        (Some("attempted"), Some(1))
    );
    // Its moved surveyor no longer sees it; another can take it.
    let mine = app.get("/api/v1/me/cases?limit=100", Some(token)).await;
    let mut mine: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["enterprise_id"].as_str().unwrap())
        .collect();
    mine.sort_unstable();
    let mut expected = vec![zone.enterprise("a1"), zone.enterprise("a3")];
    expected.sort_unstable();
    assert_eq!(mine, expected);
    app.post(
        &assign,
        Some(&zone.regulator),
        json!({ "case_ids": [a4["id"]], "surveyor_id": zone.sv2.0 }),
    )
    .await
    .assert_status(200);

    // Disabled: the untried a1 is unassigned again, the reached a3 stays theirs.
    app.patch(&user, Some(&zone.admin), json!({ "active": false }))
        .await
        .assert_status(200);
    let a1 = case_of(&app, &zone, &campaign, "a1").await;
    assert_eq!(
        (a1["assignee_id"].clone(), a1["state"].as_str()),
        (Value::Null, Some("unassigned"))
    );
    let a3 = case_of(&app, &zone, &campaign, "a3").await;
    assert_eq!(a3["assignee_id"], zone.sv1.0.as_str());
    let audit = app
        .get(
            "/api/v1/audit?action=survey.case.release",
            Some(&zone.admin),
        )
        .await;
    let released: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["object_id"].as_str().unwrap())
        .collect();
    assert_eq!(released.len(), 2, "{}", audit.text);
    assert!(released.contains(&a1["id"].as_str().unwrap()));
    assert!(released.contains(&a4["id"].as_str().unwrap()));
}
api_test!(a_surveyor_moved_or_disabled_keeps_their_history_and_returns_open_cases_to_the_pool);

/// A surveyors' sheet as CSV: the header, then `rows`.
fn surveyor_sheet(rows: &[&str]) -> Vec<u8> {
    let mut text = String::from("姓名,手机号,所属行业或园区\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

async fn import_sheet(
    app: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    file: Vec<u8>,
) -> crate::helpers::TestResponse {
    app.call_raw(
        reqwest::Method::POST,
        &format!("/api/v1/survey/surveyors/import{query}"),
        Some(token),
        content_type,
        file,
    )
    .await
}

/// How many surveyor accounts the admin sees.
async fn surveyor_count(app: &TestApp, admin: &str) -> usize {
    let page = app
        .get("/api/v1/users?role=surveyor&limit=100", Some(admin))
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().len()
}

/// The full numbers the sheets in these tests carry: never in an answer.
const SHEET_PHONES: [&str; 3] = ["13812345678", "13912345678", "13712345678"];

fn shows_no_full_phone(text: &str) -> bool {
    SHEET_PHONES.iter().all(|phone| !text.contains(phone))
}

async fn a_surveyors_sheet_reports_every_bad_row_and_writes_nothing_until_it_is_clean(
    app: TestApp,
) {
    let zone = zone(&app).await;
    let admin = zone.admin.as_str();
    let before = surveyor_count(&app, admin).await;
    let bad = surveyor_sheet(&[
        "林晓燕,13812345678,SA",
        "王五,12345,SA",
        "赵六,+86 138 1234 5678,SB行业",
        "钱七,13712345678,不存在的园区",
        ",13612345678,P1",
    ]);
    let report = import_sheet(&app, admin, "", "text/csv", bad).await;
    report.assert_status(200);
    assert_eq!(report.body["written"], false);
    assert_eq!(report.body["rows"], 5);
    let errors: Vec<(u64, &str, &str)> = report.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "phone", "invalid_phone"),
            (4, "phone", "duplicate_in_file"),
            (5, "team", "unknown_team"),
            (6, "name", "required"),
        ],
        "{}",
        report.text
    );
    assert!(shows_no_full_phone(&report.text));
    assert_eq!(surveyor_count(&app, admin).await, before);

    // A clean sheet: a dry run plans the accounts and writes nothing.
    let good = surveyor_sheet(&["林晓燕,13812345678,SA", "陈明,139-1234-5678,P1园区"]);
    let dry = import_sheet(&app, admin, "?dry_run=true", "text/csv", good.clone()).await;
    dry.assert_status(200);
    assert_eq!(dry.body["written"], false);
    assert_eq!(dry.body["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(dry.body["accounts"][0]["activation"], Value::Null);
    assert_eq!(surveyor_count(&app, admin).await, before);

    let created = import_sheet(&app, admin, "", "text/csv", good.clone()).await;
    created.assert_status(201);
    assert_eq!(created.body["written"], true);
    assert!(shows_no_full_phone(&created.text));
    let accounts = created.body["accounts"].as_array().unwrap();
    assert_eq!(accounts[0]["role"], "surveyor");
    assert_eq!(accounts[0]["sector_ids"], json!([zone.sa]));
    assert_eq!(accounts[0]["phone"], "138****5678");
    assert_eq!(accounts[1]["park_ids"], json!([zone.p1]));
    assert_eq!(surveyor_count(&app, admin).await, before + 2);
    let listed = app
        .get("/api/v1/users?role=surveyor&limit=100", Some(admin))
        .await;
    assert!(listed.text.contains("139****5678"));
    assert!(shows_no_full_phone(&listed.text));

    // Each code activates its account once, as the bulk accounts' do.
    let username = accounts[0]["username"].as_str().unwrap();
    let code = accounts[0]["activation"]["code"].as_str().unwrap();
    let body =
        json!({ "username": username, "code": code, "password": "Lantern-Orchid-61-Basalt" });
    app.post("/api/v1/auth/activate", None, body)
        .await
        .assert_status(200);

    // The same people again: their phones have accounts already.
    let again = import_sheet(&app, admin, "", "text/csv", good).await;
    again.assert_status(200);
    let codes: Vec<&str> = again.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["phone_taken", "phone_taken"]);
    assert_eq!(surveyor_count(&app, admin).await, before + 2);
}
api_test!(a_surveyors_sheet_reports_every_bad_row_and_writes_nothing_until_it_is_clean);

async fn an_official_imports_surveyors_for_their_own_teams_only(app: TestApp) {
    let zone = zone(&app).await;
    let official = zone.other_official.as_str();
    let before = surveyor_count(&app, &zone.admin).await;
    let sheet = surveyor_sheet(&["林晓燕,13812345678,SC", "陈明,13912345678,SA"]);
    let refused = import_sheet(&app, official, "", "text/csv", sheet).await;
    refused.assert_status(200);
    assert_eq!(refused.body["written"], false);
    assert_eq!(refused.body["errors"][0]["row"], 3);
    assert_eq!(refused.body["errors"][0]["code"], "team_out_of_scope");
    assert_eq!(surveyor_count(&app, &zone.admin).await, before);

    // Their own sector's team, from a workbook.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, text) in ["姓名", "手机号", "所属行业或园区"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, text).unwrap();
    }
    sheet.write_string(1, 0, "林晓燕").unwrap();
    sheet.write_number(1, 1, 13_812_345_678.0).unwrap();
    sheet.write_string(1, 2, "SC行业").unwrap();
    let file = workbook.save_to_buffer().unwrap();
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let created = import_sheet(&app, official, "", xlsx, file).await;
    created.assert_status(201);
    assert_eq!(created.body["accounts"][0]["sector_ids"], json!([zone.sc]));
    assert!(shows_no_full_phone(&created.text));
    assert_eq!(surveyor_count(&app, &zone.admin).await, before + 1);

    // Neither surveyors, the zone command nor contacts staff teams.
    let sheet = surveyor_sheet(&["陈明,13912345678,SA"]);
    for token in [&zone.sv1.1, &zone.regulator, &zone.contact] {
        import_sheet(&app, token, "", "text/csv", sheet.clone())
            .await
            .assert_status(403);
    }
    assert_eq!(surveyor_count(&app, &zone.admin).await, before + 1);
}
api_test!(an_official_imports_surveyors_for_their_own_teams_only);

async fn an_official_moves_surveyors_only_between_their_own_teams(app: TestApp) {
    let zone = zone(&app).await;
    let admin = zone.admin.as_str();
    // An official of sectors SA and SB, and one of SC only.
    app.create_user(
        admin,
        "offab",
        "sector_official",
        &[&zone.sa, &zone.sb],
        &[],
    )
    .await;
    let official = app.tokens("offab", USER_PASSWORD).await.0;
    let campaign = running_campaign(&app, &zone).await;
    let a1 = case_of(&app, &zone, &campaign, "a1").await;
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/cases/assign"),
        Some(&zone.regulator),
        json!({ "case_ids": [a1["id"]], "surveyor_id": zone.sv1.0 }),
    )
    .await
    .assert_status(200);
    let path = format!("/api/v1/survey/surveyors/{}/team", zone.sv1.0);

    // Not their team's surveyor (SC's official), not a surveyor, no such account: 404.
    app.post(
        &path,
        Some(&zone.other_official),
        json!({ "sector_id": zone.sc }),
    )
    .await
    .assert_status(404);
    let me = app.get("/api/v1/me", Some(&zone.regulator)).await;
    for id in [
        me.body["id"].as_str().unwrap(),
        "019ac1f5-0000-7000-8000-000000000000",
    ] {
        app.post(
            &format!("/api/v1/survey/surveyors/{id}/team"),
            Some(&official),
            json!({ "sector_id": zone.sb }),
        )
        .await
        .assert_status(404);
    }
    // A team they do not staff, or both kinds at once: 422, nothing changes.
    let outside = app
        .post(&path, Some(&official), json!({ "sector_id": zone.sc }))
        .await;
    outside.assert_status(422);
    assert_eq!(outside.body["errors"][0]["code"], "team_out_of_scope");
    app.post(
        &path,
        Some(&official),
        json!({ "sector_id": zone.sb, "park_id": zone.p1 }),
    )
    .await
    .assert_status(422);

    // To SB: a1 (SA) goes back to the pool, the account shows its new team.
    let moved = app
        .post(&path, Some(&official), json!({ "sector_id": zone.sb }))
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["sector_ids"], json!([zone.sb]));
    assert_eq!(moved.body["role"], "surveyor");
    let a1 = case_of(&app, &zone, &campaign, "a1").await;
    assert_eq!(
        (a1["assignee_id"].clone(), a1["state"].as_str()),
        (Value::Null, Some("unassigned"))
    );
    let audit = app
        .get("/api/v1/audit?action=user.update", Some(admin))
        .await;
    assert!(audit.text.contains(zone.sv1.0.as_str()), "{}", audit.text);
    // The admin moves anyone anywhere, parks included.
    let to_park = app
        .post(&path, Some(admin), json!({ "park_id": zone.p2 }))
        .await;
    to_park.assert_status(200);
    assert_eq!(
        (
            to_park.body["sector_ids"].clone(),
            to_park.body["park_ids"].clone()
        ),
        (json!([]), json!([zone.p2]))
    );
    // Now outside the sector official's teams: not found for them.
    app.post(&path, Some(&official), json!({ "sector_id": zone.sa }))
        .await
        .assert_status(404);
}
api_test!(an_official_moves_surveyors_only_between_their_own_teams);

async fn a_surveyors_sheet_can_come_back_as_the_printed_activation_sheet(app: TestApp) {
    let zone = zone(&app).await;
    let admin = zone.admin.as_str();
    let before = surveyor_count(&app, admin).await;
    let sheet = surveyor_sheet(&["林晓燕,13812345678,SA", "陈明,13912345678,P2"]);
    let printed = import_sheet(&app, admin, "?print=true", "text/csv", sheet).await;
    printed.assert_status(201);
    assert_eq!(printed.header("content-type"), Some("image/png"));
    assert!(printed.bytes.starts_with(b"\x89PNG"));
    assert_eq!(surveyor_count(&app, admin).await, before + 2);
    let audit = app
        .get("/api/v1/audit?action=user.activation_issue", Some(admin))
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        audit.text
    );
    // A bad sheet prints nothing: the report, as without `print`.
    let bad = surveyor_sheet(&["王五,12345,SA"]);
    let refused = import_sheet(&app, admin, "?print=true", "text/csv", bad).await;
    refused.assert_status(200);
    assert_eq!(refused.body["errors"][0]["code"], "invalid_phone");
}
api_test!(a_surveyors_sheet_can_come_back_as_the_printed_activation_sheet);

/// A ledger of sectors SA and SB: sv1 reaches a1 (its answers returned once, then
/// approved), tries a2 and reaches a3; sv2 finds a4 closed; b1 waits unassigned. A park
/// official of P2 sees a3 and a4 only. Returns (campaign, that official's token).
async fn ledger_zone(app: &TestApp, zone: &Zone) -> (String, String) {
    let campaign = running_campaign(app, zone).await;
    let assign = format!("/api/v1/survey/campaigns/{campaign}/cases/assign");
    let mut ids = std::collections::HashMap::new();
    for (key, surveyor) in [
        ("a1", &zone.sv1),
        ("a2", &zone.sv1),
        ("a3", &zone.sv1),
        ("a4", &zone.sv2),
    ] {
        let case = case_of(app, zone, &campaign, key).await;
        let id = case["id"].as_str().unwrap().to_owned();
        app.post(
            &assign,
            Some(&zone.regulator),
            json!({ "case_ids": [id], "surveyor_id": surveyor.0 }),
        )
        .await
        .assert_status(200);
        ids.insert(key, id);
    }
    for (key, surveyor, outcome) in [
        ("a1", &zone.sv1, "completed"),
        ("a2", &zone.sv1, "no_answer"),
        ("a3", &zone.sv1, "completed"),
        ("a4", &zone.sv2, "closed"),
    ] {
        let body = json!({ "method": "phone", "outcome": outcome,
                           "client_id": format!("ledger-{key}") });
        visit(app, &surveyor.1, &ids[key], body)
            .await
            .assert_status(201);
    }
    let a1 = ids["a1"].as_str();
    for (n, decision) in [(1, "return"), (2, "approve")] {
        let version = case_version(app, &zone.sv1.1, a1).await;
        let body = json!({ "answers": answers(), "client_id": format!("ledger-answer-{n}"),
                           "case_version": version });
        submit(app, &zone.sv1.1, a1, body).await.assert_status(201);
        let body = match decision {
            "return" => json!({ "decision": "return",
                                "comments": { "employees": "人数与社保记录不符，请核实" } }),
            _ => json!({ "decision": decision }),
        };
        review(app, &zone.regulator, a1, body)
            .await
            .assert_status(200);
    }
    app.create_user(&zone.admin, "offp2", "park_official", &[], &[&zone.p2])
        .await;
    let official = app.tokens("offp2", USER_PASSWORD).await.0;
    (campaign, official)
}

/// The enterprise keys of the cases a list shows, sorted.
fn case_keys(zone: &Zone, cases: &[Value]) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = cases
        .iter()
        .map(|case| {
            zone.enterprises
                .iter()
                .find(|(_, id)| case["enterprise_id"] == id.as_str())
                .map(|(key, _)| *key)
                .unwrap()
        })
        .collect();
    keys.sort_unstable();
    keys
}

async fn the_ledger_drills_down_to_the_cases_not_yet_reached(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, official) = ledger_zone(&app, &zone).await;
    let cell = format!("&sector_id={}&park_id={}&unreached=true", zone.sa, zone.p1);
    let unreached = cases(&app, &zone.regulator, &campaign, &cell).await;
    assert_eq!(case_keys(&zone, &unreached), ["a2"]);
    let all_unreached = cases(&app, &zone.regulator, &campaign, "&unreached=true").await;
    assert_eq!(case_keys(&zone, &all_unreached), ["a2", "b1"]);
    let settled = cases(&app, &zone.regulator, &campaign, "&unreached=false").await;
    assert_eq!(case_keys(&zone, &settled), ["a1", "a3", "a4"]);
    // Paged like any list.
    let page = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/cases?limit=1&unreached=true"),
            Some(&zone.regulator),
        )
        .await;
    page.assert_status(200);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/cases?unreached=true&cursor={cursor}"),
            Some(&zone.regulator),
        )
        .await;
    rest.assert_status(200);
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(rest.body["items"][0]["id"], page.body["items"][0]["id"]);

    // The park official of P2 sees their cells only.
    let theirs = cases(&app, &official, &campaign, "&unreached=false").await;
    assert_eq!(case_keys(&zone, &theirs), ["a3", "a4"]);
    assert!(
        cases(&app, &official, &campaign, "&unreached=true")
            .await
            .is_empty()
    );

    // Bad filters are 422 with a stable code and a Chinese detail.
    for query in ["unreached=maybe", "state=visited", "unreached="] {
        let bad = app
            .get(
                &format!("/api/v1/survey/campaigns/{campaign}/cases?{query}"),
                Some(&zone.regulator),
            )
            .await;
        bad.assert_status(422);
        assert_eq!(bad.code(), "validation_failed", "{query}");
        assert_eq!(
            field_codes(&bad),
            vec![(String::new(), "invalid_query".to_owned())],
            "{query}"
        );
    }
}
api_test!(the_ledger_drills_down_to_the_cases_not_yet_reached);

/// A campaign's progress as the caller sees it: (total, the days' covered counts, the
/// last day's covered and approved to date), after checking the days run one after
/// another and the running sums add up.
async fn progress(app: &TestApp, token: &str, campaign: &str) -> (i64, Vec<i64>, i64, i64) {
    let answer = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/coverage/progress"),
            Some(token),
        )
        .await;
    answer.assert_status(200);
    let days = answer.body["days"].as_array().unwrap();
    let day = |entry: &Value| {
        chrono::NaiveDate::parse_from_str(entry["day"].as_str().unwrap(), "%Y-%m-%d").unwrap()
    };
    let (mut covered, mut approved) = (0, 0);
    for (n, entry) in days.iter().enumerate() {
        if n > 0 {
            assert_eq!(day(entry), day(&days[n - 1]).succ_opt().unwrap());
        }
        covered += entry["covered"].as_i64().unwrap();
        approved += entry["approved"].as_i64().unwrap();
        assert_eq!(entry["covered_to_date"], covered);
        assert_eq!(entry["approved_to_date"], approved);
    }
    (
        answer.body["total"].as_i64().unwrap(),
        days.iter()
            .map(|entry| entry["covered"].as_i64().unwrap())
            .collect(),
        covered,
        approved,
    )
}

async fn the_ledger_shows_progress_day_by_day_within_the_callers_scope(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, p2_official) = ledger_zone(&app, &zone).await;
    // a1 and a3 were reached and a4 found closed (a2 only rang out): three covered
    // cases, on the day of their visits; a1 approved.
    let (total, days, covered, approved) = progress(&app, &zone.regulator, &campaign).await;
    assert_eq!((total, covered, approved), (5, 3, 1));
    assert_eq!(days.iter().filter(|count| **count > 0).count(), 1);
    // A second covering visit does not count the case again.
    let a3 = case_of(&app, &zone, &campaign, "a3").await;
    let body = json!({ "method": "site_visit", "outcome": "completed",
                       "client_id": "progress-again" });
    visit(&app, &zone.sv1.1, a3["id"].as_str().unwrap(), body)
        .await
        .assert_status(201);
    assert_eq!(progress(&app, &zone.regulator, &campaign).await.2, 3);
    // The park official of P2 sees a3 and a4 only.
    assert_eq!(
        progress(&app, &p2_official, &campaign).await,
        (
            2,
            days.iter().map(|count| count.min(&2)).copied().collect(),
            2,
            0
        )
    );
    // An un-approval takes the approval back.
    let a1 = case_of(&app, &zone, &campaign, "a1").await;
    decided_with_a_reason(
        &app,
        &zone.regulator,
        a1["id"].as_str().unwrap(),
        "unapprove",
        "营业收入口径有误，重新审核",
    )
    .await;
    assert_eq!(progress(&app, &zone.regulator, &campaign).await.3, 0);
    // Outside the campaign's scope, or not a runner: not found / forbidden.
    let path = format!("/api/v1/survey/campaigns/{campaign}/coverage/progress");
    app.get(&path, Some(&zone.other_official))
        .await
        .assert_status(404);
    app.get(&path, Some(&zone.sv1.1)).await.assert_status(403);
}
api_test!(the_ledger_shows_progress_day_by_day_within_the_callers_scope);

/// A cell's (total, approved, active) on the caller's ledger; zeros when it is empty.
async fn cell(
    app: &TestApp,
    token: &str,
    campaign: &str,
    sector: &str,
    park: &str,
) -> (i64, i64, i64) {
    let coverage = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/coverage"),
            Some(token),
        )
        .await;
    coverage.assert_status(200);
    coverage.body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cell| cell["sector_id"] == sector && cell["park_id"] == park)
        .map_or((0, 0, 0), |cell| {
            let count = |name: &str| cell[name].as_i64().unwrap();
            (count("total"), count("approved"), count("active"))
        })
}

async fn an_enterprise_that_moves_takes_its_case_to_its_new_cell(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, p2_official) = ledger_zone(&app, &zone).await;
    let (sa, p1, p2) = (zone.sa.as_str(), zone.p1.as_str(), zone.p2.as_str());
    // a1 (approved) and a2 sit in SA × P1; a3 and a4 in SA × P2.
    assert_eq!(
        cell(&app, &zone.regulator, &campaign, sa, p1).await,
        (2, 1, 0)
    );
    assert_eq!(
        cell(&app, &zone.regulator, &campaign, sa, p2).await,
        (2, 0, 0)
    );
    assert_eq!(cell(&app, &p2_official, &campaign, sa, p2).await, (2, 0, 0));

    // A truck files for a1 and a2: only the approved filing makes a1 active.
    for (key, n) in [("a1", 1), ("a2", 2)] {
        let code = app.code_token(&zone.admin, zone.enterprise(key)).await;
        registered(&app, &code, n).await;
    }
    assert_eq!(
        cell(&app, &zone.regulator, &campaign, sa, p1).await,
        (2, 1, 0)
    );
    let filing = registration_id(&app, &zone.admin, &plate(1)).await;
    approve(&app, &zone.admin, &filing).await.assert_status(200);
    assert_eq!(
        cell(&app, &zone.regulator, &campaign, sa, p1).await,
        (2, 1, 1)
    );

    // The roster moves a1 to park P2: its case, approval included, goes with it.
    app.patch(
        &format!("/api/v1/enterprises/{}", zone.enterprise("a1")),
        Some(&zone.admin),
        json!({ "park_id": zone.p2 }),
    )
    .await
    .assert_status(200);
    assert_eq!(
        cell(&app, &zone.regulator, &campaign, sa, p1).await,
        (1, 0, 0)
    );
    assert_eq!(
        cell(&app, &zone.regulator, &campaign, sa, p2).await,
        (3, 1, 1)
    );
    // The park's official now sees it, in the ledger and in the drill-down.
    assert_eq!(cell(&app, &p2_official, &campaign, sa, p2).await, (3, 1, 1));
    let theirs = cases(&app, &p2_official, &campaign, "&unreached=false").await;
    assert_eq!(case_keys(&zone, &theirs), ["a1", "a3", "a4"]);
    let in_p1 = format!("&sector_id={sa}&park_id={p1}");
    let left = cases(&app, &zone.regulator, &campaign, &in_p1).await;
    assert_eq!(case_keys(&zone, &left), ["a2"]);
}
api_test!(an_enterprise_that_moves_takes_its_case_to_its_new_cell);

/// One surveyor's figures: (assigned, attempts, reached, lost, closed, returned, approved).
fn figures(list: &Value, surveyor: &str) -> [i64; 7] {
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["surveyor_id"] == surveyor)
        .unwrap_or_else(|| panic!("{surveyor} in {list}"));
    [
        "assigned", "attempts", "reached", "lost", "closed", "returned", "approved",
    ]
    .map(|key| item[key].as_i64().unwrap())
}

async fn the_ledger_counts_each_surveyors_work_within_the_callers_scope(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, official) = ledger_zone(&app, &zone).await;
    let path = format!("/api/v1/survey/campaigns/{campaign}/coverage/surveyors");

    let all = app.get(&path, Some(&zone.regulator)).await;
    all.assert_status(200);
    assert_eq!(all.body["campaign_id"], campaign.as_str());
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        all.text
    );
    assert_eq!(figures(&all.body, &zone.sv1.0), [3, 3, 2, 0, 0, 1, 1]);
    assert_eq!(figures(&all.body, &zone.sv2.0), [1, 1, 0, 0, 1, 0, 0]);
    assert_eq!(all.body["items"][0]["surveyor_name"], "测试sv1");

    // The park official of P2 sees sv1's a3 and sv2's a4, nothing of P1.
    let theirs = app.get(&path, Some(&official)).await;
    theirs.assert_status(200);
    assert_eq!(figures(&theirs.body, &zone.sv1.0), [1, 1, 1, 0, 0, 0, 0]);
    assert_eq!(figures(&theirs.body, &zone.sv2.0), [1, 1, 0, 0, 1, 0, 0]);

    // An official outside the campaign, a surveyor, a contact, nobody.
    app.get(&path, Some(&zone.other_official))
        .await
        .assert_status(404);
    app.get(&path, Some(&zone.sv1.1)).await.assert_status(403);
    app.get(&path, Some(&zone.contact)).await.assert_status(403);
    app.get(&path, None).await.assert_status(401);
}
api_test!(the_ledger_counts_each_surveyors_work_within_the_callers_scope);

/// An export's rows by their sector and park columns.
fn ledger_rows(
    rows: Vec<Vec<String>>,
) -> std::collections::BTreeMap<(String, String), Vec<String>> {
    rows.into_iter()
        .map(|row| ((row[0].clone(), row[1].clone()), row[2..].to_vec()))
        .collect()
}

async fn the_ledger_exports_as_the_office_files_it_named_and_audited(app: TestApp) {
    let zone = zone(&app).await;
    let (campaign, official) = ledger_zone(&app, &zone).await;
    let path = format!("/api/v1/survey/campaigns/{campaign}/coverage");

    let xlsx = app
        .get(&format!("{path}.xlsx"), Some(&zone.regulator))
        .await;
    xlsx.assert_status(200);
    let disposition = xlsx.header("content-disposition").unwrap();
    assert!(
        disposition.contains("filename=\"coverage.xlsx\""),
        "{disposition}"
    );
    // The campaign's name, then 摸排台账.
    assert!(
        disposition.ends_with(
            "2026%20%E5%B9%B4%E5%86%AC%E5%AD%A3%E4%BC%81%E4%B8%9A%E6%91%B8%E6%8E%92\
             -%E6%91%B8%E6%8E%92%E5%8F%B0%E8%B4%A6.xlsx"
        ),
        "{disposition}"
    );
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
    use calamine::Reader;
    let sheet = workbook.worksheet_range("摸排台账").unwrap();
    let mut cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect();
    let header = cells.remove(0);
    assert_eq!(
        header,
        [
            "行业",
            "园区",
            "企业总数",
            "已分配",
            "已尝试",
            "已摸排",
            "已审核通过",
            "失联",
            "已关闭",
            "有货车往来",
            "摸排率"
        ]
    );
    // Each sector's cells come before its total; the parks' totals and the whole last.
    let order: Vec<(&str, &str)> = cells
        .iter()
        .map(|row| (row[0].as_str(), row[1].as_str()))
        .collect();
    let at = |key: (&str, &str)| order.iter().position(|k| *k == key).unwrap();
    assert!(
        at(("SA行业", "P1园区")) < at(("SA行业", "合计"))
            && at(("SA行业", "P2园区")) < at(("SA行业", "合计"))
    );
    assert!(at(("SB行业", "合计")) < at(("合计", "P1园区")));
    assert_eq!(order.last(), Some(&("合计", "合计")));
    let rows = ledger_rows(cells);
    let expected = |sector: &str, park: &str, figures: [&str; 9]| {
        let key = (sector.to_owned(), park.to_owned());
        assert_eq!(rows[&key], figures.map(str::to_owned), "{sector} × {park}");
    };
    expected(
        "SA行业",
        "P1园区",
        ["2", "0", "1", "1", "1", "0", "0", "0", "50.0%"],
    );
    expected(
        "SA行业",
        "P2园区",
        ["2", "0", "0", "1", "0", "0", "1", "0", "100.0%"],
    );
    expected(
        "SA行业",
        "合计",
        ["4", "0", "1", "2", "1", "0", "1", "0", "75.0%"],
    );
    expected(
        "SB行业",
        "P1园区",
        ["1", "0", "0", "0", "0", "0", "0", "0", "0.0%"],
    );
    expected(
        "SB行业",
        "合计",
        ["1", "0", "0", "0", "0", "0", "0", "0", "0.0%"],
    );
    expected(
        "合计",
        "P1园区",
        ["3", "0", "1", "1", "1", "0", "0", "0", "33.3%"],
    );
    expected(
        "合计",
        "P2园区",
        ["2", "0", "0", "1", "0", "0", "1", "0", "100.0%"],
    );
    expected(
        "合计",
        "合计",
        ["5", "0", "1", "2", "1", "0", "1", "0", "60.0%"],
    );
    assert_eq!(rows.len(), 8);

    // The park official's CSV holds their cells only.
    let csv = app.get(&format!("{path}.csv"), Some(&official)).await;
    csv.assert_status(200);
    assert!(csv.text.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines,
        [
            "行业,园区,企业总数,已分配,已尝试,已摸排,已审核通过,失联,已关闭,有货车往来,摸排率",
            "SA行业,P2园区,2,0,0,1,0,0,1,0,100.0%",
            "SA行业,合计,2,0,0,1,0,0,1,0,100.0%",
            "合计,P2园区,2,0,0,1,0,0,1,0,100.0%",
            "合计,合计,2,0,0,1,0,0,1,0,100.0%",
        ]
    );

    // Outside the campaign, not a runner, or nobody.
    for ext in ["xlsx", "csv"] {
        let export = format!("{path}.{ext}");
        app.get(&export, Some(&zone.other_official))
            .await
            .assert_status(404);
        app.get(&export, Some(&zone.sv1.1)).await.assert_status(403);
        app.get(&export, None).await.assert_status(401);
    }

    // Each export is audited with its format and row count.
    let audit = app
        .get(
            &format!("/api/v1/audit?action=survey.coverage.export&object_id={campaign}"),
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let mut details: Vec<(String, i64)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["details"]["format"].as_str().unwrap().to_owned(),
                entry["details"]["rows"].as_i64().unwrap(),
            )
        })
        .collect();
    details.sort();
    assert_eq!(details, [("csv".to_owned(), 4), ("xlsx".to_owned(), 8)]);
}
api_test!(the_ledger_exports_as_the_office_files_it_named_and_audited);
