//! The surveyor's phone pages through real HTTP with a console session: only their own
//! cases, recording an attempt and submitting the questionnaire through the API's
//! services, a retry with the same client id written once, a stale case version shown
//! as a conflict, bad input shown at its fields, a return's comments next to the field.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Browser, CONTRACT, TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::survey::{a1_assigned, case_version, review, submit, zone};

fn case_page(case: &str) -> String {
    format!("/console/survey/cases/{case}")
}

/// The form of the default questionnaire's answers (`survey::answers`), as the page
/// posts it.
pub(crate) fn answer_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("name", "福州甲一化工有限公司"),
        ("credit_code", "91350100MA2XXXXX1Y"),
        ("contact_person", "王敏"),
        ("contact_phone", "13800138000"),
        ("status", "正常经营"),
        ("employees", "20"),
        ("revenue", "3000"),
        ("tax", "120"),
        ("receives_trucks", "yes"),
        ("trucks_per_day", "5"),
        ("products[0].name", "液碱"),
        ("products[0].annual_output", "1800"),
        ("products[1].name", ""),
        ("demands[0].category", "物流"),
        ("demands[0].description", "园区道路限高影响货车进出"),
    ]
}

/// Posts a page's form as its script does (`Accept: application/json`, the CSRF token
/// in the header), with the session's cookies; checked against openapi.yaml.
async fn post_json(console: &Browser<'_>, path: &str, form: &[(&str, &str)]) -> TestResponse {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let cookie: Vec<String> = console
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let sent = console
        .app
        .client
        .post(format!("{}{path}", console.app.address))
        .header("cookie", cookie.join("; "))
        .header("accept", "application/json")
        .header("x-csrf-token", console.session_csrf.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let response = TestApp::read(sent).await;
    CONTRACT.check(&Method::POST, path, &response);
    response
}

async fn visits(app: &TestApp, token: &str, case: &str) -> Vec<Value> {
    let found = app
        .get(&format!("/api/v1/survey/cases/{case}"), Some(token))
        .await;
    found.assert_status(200);
    found.body["visits"].as_array().unwrap().clone()
}

async fn a_surveyor_sees_only_their_own_cases(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;

    let mut sv1 = Browser::signed_in(&app, "sv1", USER_PASSWORD).await;
    let home = sv1.get("/console/").await;
    home.assert_status(200);
    assert!(
        home.text.contains("href=\"/console/survey/my\""),
        "nav entry"
    );
    let mine = sv1.get("/console/survey/my").await;
    mine.assert_status(200);
    assert!(mine.text.contains("福州甲一化工有限公司"), "{}", mine.text);
    assert!(mine.text.contains("下一步：电话"));
    assert!(!mine.text.contains("福州甲二化工有限公司"), "not assigned");
    let page = sv1.get(&case_page(&case)).await;
    page.assert_status(200);
    for shown in ["记录一次走访", "调查问卷", "从业人员", "万元", "添加一行"] {
        assert!(page.text.contains(shown), "{shown}");
    }

    // Another surveyor, an official, the enterprise's contact: the 404 page.
    let mut sv2 = Browser::signed_in(&app, "sv2", USER_PASSWORD).await;
    sv2.get(&case_page(&case)).await.assert_status(404);
    let theirs = sv2.get("/console/survey/my").await;
    theirs.assert_status(200);
    assert!(!theirs.text.contains("福州甲一化工有限公司"));
    for username in ["reg", "offc", "contact"] {
        let mut other = Browser::signed_in(&app, username, USER_PASSWORD).await;
        other.get("/console/survey/my").await.assert_status(404);
        other.get(&case_page(&case)).await.assert_status(404);
    }
    // Anonymous: to the sign-in.
    let mut anonymous = Browser::new(&app);
    let refused = anonymous.get(&case_page(&case)).await;
    refused.assert_status(303);
    assert_eq!(refused.header("location"), Some("/console/login"));
}
api_test!(a_surveyor_sees_only_their_own_cases);

async fn an_attempt_and_the_answers_are_recorded_once_per_client_id(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let mut sv1 = Browser::session(&app, "sv1", USER_PASSWORD).await;
    let version = case_version(&app, token, &case).await.to_string();

    let attempt = [
        ("client_id", "visit-0001"),
        ("case_version", version.as_str()),
        ("method", "phone"),
        ("outcome", "no_answer"),
        ("visited_at", ""),
        ("notes", "无人接听"),
        ("longitude", "119.296500"),
        ("latitude", "26.074500"),
    ];
    let path = format!("{}/visits", case_page(&case));
    let recorded = sv1.post_csrf(&path, &attempt).await;
    recorded.assert_status(303);
    assert_eq!(
        recorded.header("location"),
        Some(format!("{}?saved=visit", case_page(&case)).as_str())
    );
    // The same form again (a double tap, a retry): the same visit, nothing new.
    sv1.post_csrf(&path, &attempt).await.assert_status(303);
    let again = post_json(&sv1, &path, &attempt).await;
    again.assert_status(200);
    assert_eq!(again.body["visit"]["client_id"], "visit-0001");
    let recorded = visits(&app, token, &case).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["longitude"], json!(119.2965));
    assert_eq!(recorded[0]["latitude"], json!(26.0745));

    let page = sv1.get(&format!("{}?saved=visit", case_page(&case))).await;
    assert!(page.text.contains("走访记录已保存"));
    assert!(page.text.contains("无人应答") && page.text.contains("无人接听"));

    // The questionnaire, on the case's version after the visit.
    let version = case_version(&app, token, &case).await.to_string();
    let mut form = vec![
        ("client_id", "answers-0001"),
        ("case_version", &version),
        ("location", "119.2965, 26.0745"),
    ];
    form.extend(answer_fields());
    let path = format!("{}/answers", case_page(&case));
    let submitted = sv1.post_csrf(&path, &form).await;
    submitted.assert_status(303);
    let replayed = post_json(&sv1, &path, &form).await;
    replayed.assert_status(200);
    let stored = app
        .get(&format!("/api/v1/survey/cases/{case}/answers"), Some(token))
        .await;
    assert_eq!(stored.body["current"]["version"], 1);
    assert_eq!(stored.body["case"]["review"], "received");
    let answers = &stored.body["current"]["answers"];
    assert_eq!(answers["employees"], 20);
    assert_eq!(
        answers["location"],
        json!({"longitude": 119.2965, "latitude": 26.0745})
    );
    assert_eq!(answers["receives_trucks"], true);
    assert_eq!(
        answers["products"],
        json!([{"name": "液碱", "annual_output": 1800}])
    );
    let page = sv1.get(&case_page(&case)).await;
    assert!(page.text.contains("问卷待审核"), "{}", page.text);
    assert!(
        !page.text.contains("13800138000"),
        "no full phone on the page"
    );
}
api_test!(an_attempt_and_the_answers_are_recorded_once_per_client_id);

async fn answers_on_a_stale_version_are_a_conflict_the_surveyor_sees(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let mut sv1 = Browser::session(&app, "sv1", USER_PASSWORD).await;
    let stale = case_version(&app, token, &case).await.to_string();
    // Meanwhile the case moves on (a visit from another device).
    app.post(
        &format!("/api/v1/survey/cases/{case}/visits"),
        Some(token),
        json!({ "method": "phone", "outcome": "completed", "client_id": "other-device-1" }),
    )
    .await
    .assert_status(201);

    let mut form = vec![("client_id", "answers-0002"), ("case_version", &stale)];
    form.extend(answer_fields());
    form.retain(|(name, _)| *name != "employees");
    form.push(("employees", "21"));
    let path = format!("{}/answers", case_page(&case));
    let refused = sv1.post_csrf(&path, &form).await;
    refused.assert_status(409);
    assert!(refused.text.contains("已被更新"), "{}", refused.text);
    assert!(
        refused.text.contains("value=\"21\""),
        "what was typed stays"
    );
    let json = post_json(&sv1, &path, &form).await;
    json.assert_status(409);
    assert_eq!(json.body["code"], "case_version_conflict");
    let stored = app
        .get(&format!("/api/v1/survey/cases/{case}/answers"), Some(token))
        .await;
    assert!(stored.body["current"].is_null(), "nothing overwritten");
}
api_test!(answers_on_a_stale_version_are_a_conflict_the_surveyor_sees);

async fn bad_input_is_shown_at_its_fields_not_a_server_error(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let mut sv1 = Browser::session(&app, "sv1", USER_PASSWORD).await;
    let version = case_version(&app, token, &case).await.to_string();

    let path = format!("{}/visits", case_page(&case));
    let visit = sv1
        .post_csrf(
            &path,
            &[
                ("client_id", "x"),
                ("case_version", &version),
                ("method", "pigeon"),
                ("visited_at", "not a time"),
                ("longitude", "东经"),
                ("latitude", "26.07"),
            ],
        )
        .await;
    visit.assert_status(422);
    assert!(
        visit.text.contains("经度应在 -180 到 180 之间"),
        "{}",
        visit.text
    );
    assert!(visit.text.contains("走访方式须为"), "{}", visit.text);
    assert!(visit.text.contains("client_id 须为"));
    assert!(visits(&app, token, &case).await.is_empty());

    // Blocking and explain-to-pass: each at its field; the explanation box appears.
    let mut form = vec![("client_id", "answers-0003"), ("case_version", &version)];
    form.extend(
        answer_fields()
            .into_iter()
            .filter(|(name, _)| !["employees", "revenue", "status"].contains(name)),
    );
    form.extend([("employees", "2"), ("revenue", "90000"), ("status", "")]);
    let path = format!("{}/answers", case_page(&case));
    let refused = sv1.post_csrf(&path, &form).await;
    refused.assert_status(422);
    let at_status = &refused.text[refused.text.find("id=\"q-status\"").unwrap()..];
    let required = at_status.find("此项必填").unwrap();
    assert!(required < at_status.find("id=\"q-employees\"").unwrap());
    assert!(
        refused.text.contains("value=\"90000\""),
        "what was typed stays"
    );
    // With the status, the explain-to-pass rule asks for its explanation.
    form.retain(|(name, _)| *name != "status");
    form.push(("status", "正常经营"));
    let refused = sv1.post_csrf(&path, &form).await;
    refused.assert_status(422);
    assert!(refused.text.contains("请填写核实说明"), "{}", refused.text);
    assert!(
        refused
            .text
            .contains("name=\"explain.revenue_per_employee\"")
    );
    // With the explanation it passes.
    form.push(("explain.revenue_per_employee", "贸易型企业，人少收入高"));
    sv1.post_csrf(&path, &form).await.assert_status(303);
    let typo = [
        ("client_id", "answers-0004"),
        ("case_version", "x"),
        ("employees", "很多"),
    ];
    let refused = sv1.post_csrf(&path, &typo).await;
    refused.assert_status(422);
    assert!(
        refused.text.contains("case_version 须为正整数"),
        "{}",
        refused.text
    );
}
api_test!(bad_input_is_shown_at_its_fields_not_a_server_error);

async fn a_returned_case_comes_first_with_the_comments_next_to_the_fields(app: TestApp) {
    let zone = zone(&app).await;
    let (_, case) = a1_assigned(&app, &zone).await;
    let token = zone.sv1.1.as_str();
    let version = case_version(&app, token, &case).await;
    let mut answers = crate::survey::answers();
    answers["revenue"] = json!(3000);
    submit(
        &app,
        token,
        &case,
        json!({ "answers": answers, "client_id": "answer-2001", "case_version": version }),
    )
    .await
    .assert_status(201);
    let comments = json!({ "decision": "return",
                           "comments": { "employees": "人数与社保记录不符，请核实" } });
    review(&app, &zone.regulator, &case, comments)
        .await
        .assert_status(200);

    let mut sv1 = Browser::signed_in(&app, "sv1", USER_PASSWORD).await;
    let mine = sv1.get("/console/survey/my").await;
    assert!(mine.text.contains("问卷被退回"), "{}", mine.text);
    let page = sv1.get(&case_page(&case)).await;
    page.assert_status(200);
    let field = page.text.find("id=\"q-employees\"").unwrap();
    let comment = page.text.find("人数与社保记录不符，请核实").unwrap();
    let next = page.text.find("id=\"q-revenue\"").unwrap();
    assert!(
        field < comment && comment < next,
        "the comment is at its field"
    );
    assert!(page.text.contains("value=\"20\""), "the answers come back");
}
api_test!(a_returned_case_comes_first_with_the_comments_next_to_the_fields);
