//! Field discoveries (摸排新发现): an enterprise a surveyor finds that is not on the
//! roster joins the roster and the campaign at once when nothing on the roster is
//! like it; the same credit code or a close name sends it to the merge queue, where
//! an official within scope merges it or adds it (once); retries with the same
//! client id; who sees what; bad input.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, USER_PASSWORD, api_test, credit_code};
use crate::survey::{Zone, field_codes, running_campaign, zone};

/// A phone number no view may show in full.
const PHONE: &str = "13800005678";

/// A report of an enterprise in park P1 (sector from the SA team), with its own
/// address so that it matches nothing by address.
fn report_body(client_id: &str, name: &str, credit: Option<&str>, zone: &Zone) -> Value {
    json!({
        "client_id": client_id,
        "name": name,
        "credit_code": credit,
        "address": format!("福州市高新区创新路 {} 号", client_id.len() * 7 + name.chars().count()),
        "park_id": zone.p1,
        "contact_person": "陈建国",
        "contact_phone": PHONE,
        "notes": "门口有货车进出",
    })
}

async fn report(app: &TestApp, token: &str, campaign: &str, body: Value) -> TestResponse {
    app.post(
        &format!("/api/v1/survey/campaigns/{campaign}/discoveries"),
        Some(token),
        body,
    )
    .await
}

async fn resolve(app: &TestApp, token: &str, discovery: &str, body: Value) -> TestResponse {
    app.post(
        &format!("/api/v1/survey/discoveries/{discovery}/resolve"),
        Some(token),
        body,
    )
    .await
}

/// The ids of the campaign's discoveries the caller sees, with a query.
async fn listed(app: &TestApp, token: &str, campaign: &str, query: &str) -> Vec<String> {
    let page = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/discoveries?limit=100{query}"),
            Some(token),
        )
        .await;
    page.assert_status(200);
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

/// How many audit entries of `action` there are on `object`.
async fn audited(app: &TestApp, zone: &Zone, action: &str, object: &str) -> usize {
    let page = app
        .get(
            &format!("/api/v1/audit?action={action}&object_id={object}&limit=100"),
            Some(&zone.admin),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().len()
}

/// The case `id` as the regulator sees it.
async fn case(app: &TestApp, zone: &Zone, id: &str) -> Value {
    let found = app
        .get(&format!("/api/v1/survey/cases/{id}"), Some(&zone.regulator))
        .await;
    found.assert_status(200);
    found.body.clone()
}

/// A sector official of SA and a park official of P2: their tokens.
async fn officials(app: &TestApp, zone: &Zone) -> (String, String) {
    app.create_user(&zone.admin, "offa", "sector_official", &[&zone.sa], &[])
        .await;
    app.create_user(&zone.admin, "offp2", "park_official", &[], &[&zone.p2])
        .await;
    (
        app.tokens("offa", USER_PASSWORD).await.0,
        app.tokens("offp2", USER_PASSWORD).await.0,
    )
}

async fn an_enterprise_like_none_on_the_roster_joins_it_and_the_campaign_at_once(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let code = credit_code("闽侯新材料");
    let body = report_body(
        "discovery-0001",
        "福州闽侯新材料有限公司",
        Some(&code),
        &zone,
    );

    let created = report(&app, &zone.sv1.1, &campaign, body.clone()).await;

    created.assert_status(201);
    let discovery = &created.body;
    assert_eq!(discovery["state"], "added");
    assert_eq!(discovery["candidates"], json!([]));
    assert_eq!(discovery["sector_id"], zone.sa.as_str());
    assert_eq!(discovery["park_id"], zone.p1.as_str());
    assert_eq!(discovery["reported_by"], zone.sv1.0.as_str());
    assert_eq!(discovery["resolved_by"], Value::Null);
    assert_eq!(discovery["contact_phone"], "138****5678");
    assert!(!created.text.contains(PHONE));
    let id = discovery["id"].as_str().unwrap();
    // On the roster, with its contact sealed and masked.
    let enterprise = discovery["enterprise_id"].as_str().unwrap();
    let on_roster = app
        .get(
            &format!("/api/v1/enterprises/{enterprise}"),
            Some(&zone.admin),
        )
        .await;
    on_roster.assert_status(200);
    assert_eq!(on_roster.body["name"], "福州闽侯新材料有限公司");
    assert_eq!(on_roster.body["credit_code"], code.as_str());
    assert_eq!(on_roster.body["contact_phone"], "138****5678");
    // A case of the campaign, the reporter's.
    let found = case(&app, &zone, discovery["case_id"].as_str().unwrap()).await;
    assert_eq!(found["campaign_id"], campaign.as_str());
    assert_eq!(found["enterprise_id"], enterprise);
    assert_eq!(found["assignee_id"], zone.sv1.0.as_str());
    assert_eq!(found["state"], "assigned");
    app.get(
        &format!(
            "/api/v1/survey/cases/{}",
            discovery["case_id"].as_str().unwrap()
        ),
        Some(&zone.sv1.1),
    )
    .await
    .assert_status(200);
    assert_eq!(audited(&app, &zone, "survey.discovery.report", id).await, 1);
    assert_eq!(
        audited(&app, &zone, "enterprise.create", enterprise).await,
        1
    );

    // A retry is the same discovery; the same client id for another one is refused.
    let again = report(&app, &zone.sv1.1, &campaign, body.clone()).await;
    again.assert_status(200);
    assert_eq!(again.body["id"], id);
    assert_eq!(again.body["enterprise_id"], enterprise);
    let mut other = body;
    other["name"] = json!("福州另一家新材料有限公司");
    let reused = report(&app, &zone.sv1.1, &campaign, other).await;
    reused.assert_status(422);
    assert_eq!(reused.code(), "idempotency_key_reused");
    assert_eq!(listed(&app, &zone.regulator, &campaign, "").await, [id]);
    assert_eq!(audited(&app, &zone, "survey.discovery.report", id).await, 1);
}
api_test!(an_enterprise_like_none_on_the_roster_joins_it_and_the_campaign_at_once);

async fn possible_duplicates_wait_for_an_official_who_merges_or_adds_each_once(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;
    let (sector_official, park_official) = officials(&app, &zone).await;
    // The same credit code as a1 (the roster's codes come from the names).
    let same_code = credit_code("福州甲一化工有限公司");
    let by_code = report(
        &app,
        &zone.sv1.1,
        &campaign,
        report_body("discovery-code", "甲一化工分厂", Some(&same_code), &zone),
    )
    .await;
    by_code.assert_status(201);
    assert_eq!(by_code.body["state"], "pending_review");
    assert_eq!(by_code.body["enterprise_id"], Value::Null);
    let candidate = &by_code.body["candidates"][0];
    assert_eq!(candidate["enterprise_id"], zone.enterprise("a1"));
    assert_eq!(candidate["reason"], "credit_code");
    assert_eq!(candidate["similarity"], 1.0);
    assert_eq!(candidate["enterprise_name"], "福州甲一化工有限公司");
    let by_code = by_code.body["id"].as_str().unwrap().to_owned();
    // A close name (市 added, another legal form), without a credit code.
    let by_name = report(
        &app,
        &zone.sv2.1,
        &campaign,
        report_body("discovery-name", "福州市甲二化工有限责任公司", None, &zone),
    )
    .await;
    by_name.assert_status(201);
    assert_eq!(by_name.body["state"], "pending_review");
    let candidates = by_name.body["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{}", by_name.text);
    assert_eq!(candidates[0]["enterprise_id"], zone.enterprise("a2"));
    assert_eq!(candidates[0]["reason"], "name");
    let by_name = by_name.body["id"].as_str().unwrap().to_owned();

    // Who sees what: surveyors their own, officials their units', no one else.
    let pending = "&state=pending_review";
    assert_eq!(
        listed(&app, &zone.sv1.1, &campaign, "").await,
        [by_code.as_str()]
    );
    assert_eq!(
        listed(&app, &zone.sv2.1, &campaign, "").await,
        [by_name.as_str()]
    );
    assert_eq!(
        listed(&app, &zone.regulator, &campaign, pending)
            .await
            .len(),
        2
    );
    assert_eq!(
        listed(&app, &sector_official, &campaign, pending)
            .await
            .len(),
        2
    );
    assert!(listed(&app, &park_official, &campaign, "").await.is_empty());
    assert!(
        listed(&app, &zone.regulator, &campaign, "&state=added")
            .await
            .is_empty()
    );
    let path = |id: &str| format!("/api/v1/survey/discoveries/{id}");
    app.get(&path(&by_code), Some(&zone.sv2.1))
        .await
        .assert_status(404);
    app.get(&path(&by_code), Some(&park_official))
        .await
        .assert_status(404);
    app.get(&path(&by_code), Some(&zone.other_official))
        .await
        .assert_status(404);
    app.get(
        &format!("/api/v1/survey/campaigns/{campaign}/discoveries"),
        Some(&zone.other_official),
    )
    .await
    .assert_status(404);
    app.get(&path(&by_code), Some(&zone.contact))
        .await
        .assert_status(403);
    let shown = app.get(&path(&by_code), Some(&sector_official)).await;
    shown.assert_status(200);
    assert_eq!(shown.body["contact_phone"], "138****5678");
    assert!(!shown.text.contains(PHONE));
    // Surveyors and officials out of scope do not resolve.
    let merge_a1 = json!({ "action": "merge", "enterprise_id": zone.enterprise("a1") });
    resolve(&app, &zone.sv1.1, &by_code, merge_a1.clone())
        .await
        .assert_status(403);
    resolve(&app, &park_official, &by_code, merge_a1.clone())
        .await
        .assert_status(404);

    // Merged into a1: its case of the campaign becomes the reporter's.
    let a1_case = crate::survey::case_of(&app, &zone, &campaign, "a1").await;
    assert_eq!(a1_case["assignee_id"], Value::Null);
    let merged = resolve(&app, &sector_official, &by_code, merge_a1.clone()).await;
    merged.assert_status(200);
    assert_eq!(merged.body["state"], "merged");
    assert_eq!(merged.body["enterprise_id"], zone.enterprise("a1"));
    assert_eq!(merged.body["case_id"], a1_case["id"]);
    assert_eq!(merged.body["resolved_by_name"], "测试offa");
    let a1_case = case(&app, &zone, a1_case["id"].as_str().unwrap()).await;
    assert_eq!(a1_case["assignee_id"], zone.sv1.0.as_str());
    let twice = resolve(&app, &zone.regulator, &by_code, merge_a1).await;
    twice.assert_status(409);
    assert_eq!(twice.code(), "invalid_transition");
    assert_eq!(
        audited(&app, &zone, "survey.discovery.resolve", &by_code).await,
        1
    );

    // The name match has no credit code: merging needs a known enterprise, adding a code.
    let no_target = resolve(
        &app,
        &sector_official,
        &by_name,
        json!({ "action": "merge" }),
    )
    .await;
    no_target.assert_status(422);
    assert_eq!(
        field_codes(&no_target),
        [("enterprise_id".to_owned(), "required".to_owned())]
    );
    let unseen = json!({ "action": "merge", "enterprise_id": zone.enterprise("c1") });
    let unseen = resolve(&app, &sector_official, &by_name, unseen).await;
    unseen.assert_status(422);
    assert_eq!(
        field_codes(&unseen),
        [("enterprise_id".to_owned(), "unknown_enterprise".to_owned())]
    );
    let without_code = resolve(&app, &sector_official, &by_name, json!({ "action": "add" })).await;
    without_code.assert_status(422);
    assert_eq!(
        field_codes(&without_code),
        [("credit_code".to_owned(), "required".to_owned())]
    );
    let taken = json!({ "action": "add", "credit_code": credit_code("福州甲二化工有限公司") });
    let taken = resolve(&app, &sector_official, &by_name, taken).await;
    taken.assert_status(409);
    assert_eq!(taken.code(), "credit_code_taken");
    let code = credit_code("甲二新厂");
    let added = resolve(
        &app,
        &sector_official,
        &by_name,
        json!({ "action": "add", "credit_code": code }),
    )
    .await;
    added.assert_status(200);
    assert_eq!(added.body["state"], "added");
    assert_eq!(added.body["credit_code"], code.as_str());
    let enterprise = added.body["enterprise_id"].as_str().unwrap();
    assert_ne!(enterprise, zone.enterprise("a2"));
    let added_case = case(&app, &zone, added.body["case_id"].as_str().unwrap()).await;
    assert_eq!(added_case["enterprise_id"], enterprise);
    assert_eq!(added_case["assignee_id"], zone.sv2.0.as_str());
    let again = resolve(&app, &sector_official, &by_name, json!({ "action": "add" })).await;
    again.assert_status(409);
    assert_eq!(again.code(), "invalid_transition");
    assert!(
        listed(&app, &zone.regulator, &campaign, pending)
            .await
            .is_empty()
    );
}
api_test!(possible_duplicates_wait_for_an_official_who_merges_or_adds_each_once);

async fn bad_reports_are_refused_with_field_codes_and_write_nothing(app: TestApp) {
    let zone = zone(&app).await;
    let campaign = running_campaign(&app, &zone).await;

    let malformed = report(
        &app,
        &zone.sv1.1,
        &campaign,
        json!({
            "client_id": "x", "name": "Acme", "credit_code": "913501000000000000",
            "address": " ", "contact_phone": "12345",
        }),
    )
    .await;
    malformed.assert_status(422);
    let mut codes = field_codes(&malformed);
    codes.sort();
    let expected: Vec<(String, String)> = [
        ("address", "required"),
        ("client_id", "invalid_client_id"),
        ("contact_phone", "invalid_phone"),
        ("credit_code", "invalid_credit_code"),
        ("name", "not_chinese"),
    ]
    .iter()
    .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(codes, expected);

    // Another team's sector, and no park.
    let mut outside = report_body("discovery-outside", "福州外组企业有限公司", None, &zone);
    outside["sector_id"] = json!(zone.sb);
    outside["park_id"] = Value::Null;
    let outside = report(&app, &zone.sv1.1, &campaign, outside).await;
    outside.assert_status(422);
    let mut codes = field_codes(&outside);
    codes.sort();
    assert_eq!(
        codes,
        [
            ("park_id".to_owned(), "required".to_owned()),
            ("sector_id".to_owned(), "outside_team".to_owned()),
        ]
    );

    // A campaign over SC only: the SA team's surveyor does not find it.
    let created = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "丙行业摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31",
                    "sector_ids": [zone.sc] }),
        )
        .await;
    created.assert_status(201);
    let elsewhere = created.body["id"].as_str().unwrap();
    let body = report_body("discovery-elsewhere", "福州别处企业有限公司", None, &zone);
    report(&app, &zone.sv1.1, elsewhere, body.clone())
        .await
        .assert_status(404);
    report(
        &app,
        &zone.sv1.1,
        "019ae3b1-0000-7000-8000-000000000000",
        body.clone(),
    )
    .await
    .assert_status(404);
    // A campaign over the whole zone that is still a draft.
    let draft = app
        .post(
            "/api/v1/survey/campaigns",
            Some(&zone.regulator),
            json!({ "name": "全区摸排", "starts_on": "2026-12-07", "ends_on": "2026-12-31" }),
        )
        .await;
    draft.assert_status(201);
    let draft = draft.body["id"].as_str().unwrap();
    let not_running = report(&app, &zone.sv1.1, draft, body.clone()).await;
    not_running.assert_status(409);
    assert_eq!(not_running.code(), "campaign_not_running");
    // Officials and contacts do not report.
    report(&app, &zone.regulator, &campaign, body.clone())
        .await
        .assert_status(403);
    report(&app, &zone.contact, &campaign, body)
        .await
        .assert_status(403);
    let bad_state = app
        .get(
            &format!("/api/v1/survey/campaigns/{campaign}/discoveries?state=lost"),
            Some(&zone.regulator),
        )
        .await;
    bad_state.assert_status(422);

    // Nothing was written.
    assert!(
        listed(&app, &zone.regulator, &campaign, "")
            .await
            .is_empty()
    );
    assert!(listed(&app, &zone.regulator, draft, "").await.is_empty());
}
api_test!(bad_reports_are_refused_with_field_codes_and_write_nothing);
