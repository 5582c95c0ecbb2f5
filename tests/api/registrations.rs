//! Driver registrations: the public form behind an enterprise's code, the pass it
//! returns, the staff's review (list, approve, reject, reveal) within their scope, and
//! personal data masked in answers and encrypted at rest.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, CONTRACT, TestApp, TestResponse, USER_PASSWORD, api_test};

/// The resident id every test driver registers with (valid check character).
pub(crate) const RESIDENT_ID: &str = "11010519491231002X";
/// The mobile every test driver registers with.
pub(crate) const PHONE: &str = "13812345678";

/// The plate of the `n`-th test vehicle, as typed and as stored (`闽A00001`).
pub(crate) fn plate(n: usize) -> String {
    format!("闽A{n:05}")
}

/// The plate of the `n`-th test vehicle as the API masks it (`闽A***01`).
fn masked_plate(n: usize) -> String {
    let plate = plate(n);
    let digits: String = plate.chars().skip(5).collect();
    format!("闽A***{digits}")
}

/// Today in the zone (UTC+8).
fn zone_today() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(8)).date_naive()
}

/// A valid registration body for the `n`-th vehicle, arriving tomorrow at 08:30 zone time.
pub(crate) fn driver(n: usize) -> Value {
    let arrival = (Utc::now() + TimeDelta::hours(8) + TimeDelta::days(1))
        .format("%Y-%m-%dT08:30")
        .to_string();
    json!({
        "consent": true,
        "driver_name": "张三",
        "document_type": "resident_id",
        "document_number": RESIDENT_ID,
        "phone": PHONE,
        "plate": plate(n),
        "vehicle_type": "heavy_truck",
        "origin_region": "350102",
        "cargo": "化工原料",
        "purpose": "deliver",
        "expected_arrival": arrival,
        "people_in_cab": 1,
    })
}

/// Another driver's resident id and mobile (valid, different from the test driver's).
pub(crate) const OTHER_RESIDENT_ID: &str = "35010219850612003X";
pub(crate) const OTHER_PHONE: &str = "13900001111";

/// [`driver`] for another person: other name, document and phone.
pub(crate) fn other_driver(n: usize) -> Value {
    let mut body = driver(n);
    body["driver_name"] = json!("王五");
    body["document_number"] = json!(OTHER_RESIDENT_ID);
    body["phone"] = json!(OTHER_PHONE);
    body
}

/// Posts a registration to a code, with an optional `Idempotency-Key` and
/// `X-Driver-Key`, and checks the response against openapi.yaml.
pub(crate) async fn register_as(
    app: &TestApp,
    code: &str,
    body: Value,
    key: Option<&str>,
    driver_key: Option<&str>,
) -> TestResponse {
    let path = format!("/api/v1/public/codes/{code}/registrations");
    let mut request = app
        .client
        .post(format!("{}{}", app.address, path))
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(driver_key) = driver_key {
        request = request.header("X-Driver-Key", driver_key);
    }
    let response = TestApp::read(request.send().await.expect("request sent")).await;
    CONTRACT.check(&Method::POST, &path, &response);
    response
}

/// Posts a registration to a code, with an optional `Idempotency-Key`.
pub(crate) async fn register(
    app: &TestApp,
    code: &str,
    body: Value,
    key: Option<&str>,
) -> TestResponse {
    register_as(app, code, body, key, None).await
}

/// A pass just registered, and the driver key its answer carried.
pub(crate) struct Registered {
    pub token: String,
    pub key: String,
}

/// Registers the `n`-th vehicle (201 expected).
pub(crate) async fn registered(app: &TestApp, code: &str, n: usize) -> Registered {
    let response = register(app, code, driver(n), None).await;
    response.assert_status(201);
    Registered {
        token: response.body["token"]
            .as_str()
            .expect("pass token")
            .to_owned(),
        key: driver_key_of(&response),
    }
}

/// The driver key an answer carries.
pub(crate) fn driver_key_of(response: &TestResponse) -> String {
    response
        .header("x-driver-key")
        .expect("a driver key in the answer")
        .to_owned()
}

/// Registers the `n`-th vehicle and returns its pass token (201 expected).
pub(crate) async fn pass_for(app: &TestApp, code: &str, n: usize) -> String {
    registered(app, code, n).await.token
}

/// Cancels a pass through the API, as the holder of `driver_key`.
pub(crate) async fn cancel(app: &TestApp, token: &str, driver_key: Option<&str>) -> TestResponse {
    let headers: Vec<(&str, &str)> = driver_key
        .map(|key| ("x-driver-key", key))
        .into_iter()
        .collect();
    app.call_with(
        Method::DELETE,
        &format!("/api/v1/public/passes/{token}"),
        None,
        None,
        &headers,
    )
    .await
}

/// The id of the one registration of a plate that `token` can see.
pub(crate) async fn registration_id(app: &TestApp, token: &str, plate: &str) -> String {
    let list = app
        .get(&format!("/api/v1/registrations?plate={plate}"), Some(token))
        .await;
    list.assert_status(200);
    let items = list.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one registration of {plate}: {}", list.text);
    items[0]["id"].as_str().expect("id").to_owned()
}

/// Approves a registration (the operation takes no body).
pub(crate) async fn approve(app: &TestApp, token: &str, id: &str) -> TestResponse {
    app.call(
        Method::POST,
        &format!("/api/v1/registrations/{id}/approve"),
        Some(token),
        None,
    )
    .await
}

/// The ids of a registration list.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The masked plates of a registration list, in order.
fn plates(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["plate"].as_str().expect("plate").to_owned())
        .collect()
}

/// The `field`s of a problem's `errors`.
fn error_fields(response: &TestResponse) -> HashSet<String> {
    response.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors listed: {}", response.text))
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

fn timestamp(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn assert_no_personal_data(text: &str) {
    assert!(
        !text.contains(RESIDENT_ID),
        "full document number in {text}"
    );
    assert!(!text.contains(PHONE), "full phone in {text}");
}

/// An admin, one enterprise in sector HG / park EAST, and its current code token.
struct Zone {
    admin: String,
    enterprise: String,
    code: String,
}

async fn setup(app: &TestApp) -> Zone {
    let (admin, [enterprise]) = app.coded_enterprises(["福州恒信化工有限公司"]).await;
    Zone {
        admin,
        enterprise: enterprise.id,
        code: enterprise.code,
    }
}

async fn a_valid_registration_creates_a_pending_pass_without_personal_data(app: TestApp) {
    let zone = setup(&app).await;
    let created = register(&app, &zone.code, driver(1), None).await;
    created.assert_status(201);
    let token = created.body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 26, "128 random bits in base32");
    assert!(
        created.body["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/p/{token}"))
    );
    assert_eq!(created.body["status"], "pending");
    assert_eq!(created.body["enterprise_name"], "福州恒信化工有限公司");
    assert_eq!(created.body["driver_name"], "张*");
    assert_eq!(created.body["plate"], json!(masked_plate(1)));
    assert!(created.body["reject_reason"].is_null());
    let tomorrow = zone_today() + TimeDelta::days(1);
    let arrival = timestamp(&created.body["expected_arrival"]);
    assert_eq!(
        arrival,
        tomorrow.and_hms_opt(0, 30, 0).unwrap().and_utc(),
        "08:30 in UTC+8"
    );
    assert!(timestamp(&created.body["valid_from"]) <= arrival);
    assert!(arrival <= timestamp(&created.body["valid_until"]));
    assert_no_personal_data(&created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));

    let shown = app
        .get(&format!("/api/v1/public/passes/{token}"), None)
        .await;
    shown.assert_status(200);
    assert_eq!(shown.body["token"], json!(token));
    assert_eq!(shown.body["status"], "pending");
    assert_eq!(shown.body["driver_name"], "张*");
    assert_eq!(shown.body["plate"], json!(masked_plate(1)));
    assert_eq!(shown.body["url"], created.body["url"]);
    assert!(!shown.text.contains(&plate(1)), "the plate is masked");
    assert!(shown.body.get("document_number").is_none() && shown.body.get("phone").is_none());
    assert_no_personal_data(&shown.text);
    assert!(
        !shown.text.contains(&zone.enterprise),
        "no internal ids on a pass"
    );

    let unknown = app
        .get("/api/v1/public/passes/AAAAAAAAAAAAAAAAAAAAAAAAAA", None)
        .await;
    unknown.assert_status(404);
    assert_eq!(unknown.code(), "pass_not_found");
}
api_test!(a_valid_registration_creates_a_pending_pass_without_personal_data);

async fn retries_and_second_registrations_of_a_plate_return_the_same_pass(app: TestApp) {
    let zone = setup(&app).await;
    let first = register(&app, &zone.code, driver(1), Some("retry-key_0001")).await;
    first.assert_status(201);
    let token = first.body["token"].as_str().unwrap().to_owned();
    let retried = register(&app, &zone.code, driver(1), Some("retry-key_0001")).await;
    retried.assert_status(200);
    assert_eq!(retried.body["token"], json!(token));

    // Same plate, same zone day, other details and no key: the existing pass.
    let mut again = driver(1);
    again["cargo"] = json!("钢材");
    again["people_in_cab"] = json!(2);
    again["expected_arrival"] = json!(format!("{}T14:00", zone_today() + TimeDelta::days(1)));
    let second = register(&app, &zone.code, again, None).await;
    second.assert_status(200);
    assert_eq!(second.body["token"], json!(token));

    let other = register(&app, &zone.code, driver(2), None).await;
    other.assert_status(201);
    assert_ne!(other.body["token"], json!(token));

    for bad in [
        "short",
        "has spaces in it",
        "semi;colon;key",
        &"k".repeat(65),
    ] {
        let response = register(&app, &zone.code, driver(3), Some(bad)).await;
        response.assert_status(400);
        assert_eq!(response.code(), "invalid_idempotency_key", "key {bad:?}");
    }
    let list = app.get("/api/v1/registrations", Some(&zone.admin)).await;
    list.assert_status(200);
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        list.text
    );
}
api_test!(retries_and_second_registrations_of_a_plate_return_the_same_pass);

async fn invalid_registrations_are_refused_and_nothing_is_stored(app: TestApp) {
    let zone = setup(&app).await;
    let mut bad = driver(1);
    bad["document_number"] = json!("110105194912310021");
    bad["phone"] = json!("123");
    bad["plate"] = json!("ABC");
    bad["trailer_plate"] = json!("闽A12345");
    bad["origin_region"] = json!("999999");
    bad["people_in_cab"] = json!(0);
    bad["purpose"] = json!("visit");
    bad["expected_arrival"] = json!(format!("{}T08:30", zone_today() + TimeDelta::days(40)));
    bad["consent"] = json!(false);
    let refused = register(&app, &zone.code, bad, None).await;
    refused.assert_status(422);
    assert_eq!(refused.code(), "validation_failed");
    let fields = error_fields(&refused);
    for expected in [
        "document_number",
        "phone",
        "plate",
        "trailer_plate",
        "origin_region",
        "people_in_cab",
        "purpose",
        "expected_arrival",
        "consent",
    ] {
        assert!(
            fields.contains(expected),
            "{expected} missing from {fields:?}"
        );
    }
    let errors = refused.body["errors"].as_array().unwrap();
    let consent = errors.iter().find(|e| e["field"] == "consent").unwrap();
    assert_eq!(consent["code"], "consent_required");
    let arrival = errors
        .iter()
        .find(|e| e["field"] == "expected_arrival")
        .unwrap();
    assert_eq!(arrival["code"], "out_of_range");
    assert_no_personal_data(&refused.text);

    let mut without_consent = driver(2);
    without_consent.as_object_mut().unwrap().remove("consent");
    register(&app, &zone.code, without_consent, None)
        .await
        .assert_status(422);

    let mut unknown = driver(3);
    unknown["colour"] = json!("red");
    let response = register(&app, &zone.code, unknown, None).await;
    response.assert_status(422);
    assert_eq!(response.body["errors"][0]["code"], "unknown_field");

    let mut huge = driver(4);
    huge["cargo"] = json!("x".repeat(20_000));
    let response = register(&app, &zone.code, huge, None).await;
    response.assert_status(413);
    assert_eq!(response.code(), "payload_too_large");

    let list = app.get("/api/v1/registrations", Some(&zone.admin)).await;
    list.assert_status(200);
    assert_eq!(list.body["items"], json!([]), "nothing stored");
}
api_test!(invalid_registrations_are_refused_and_nothing_is_stored);

async fn the_zone_s_extra_fields_must_be_answered_and_are_kept_with_their_version(app: TestApp) {
    let zone = setup(&app).await;
    app.put(
        "/api/v1/form-template",
        Some(&zone.admin),
        json!({ "fields": [
            { "key": "health", "label": "健康申报", "type": "yes_no", "required": true },
        ]}),
    )
    .await
    .assert_status(200);

    let unanswered = register(&app, &zone.code, driver(1), None).await;
    unanswered.assert_status(422);
    assert!(
        error_fields(&unanswered).contains("answers.zone.health"),
        "{}",
        unanswered.text
    );

    let mut answered = driver(1);
    answered["answers"] = json!({ "zone": { "health": true } });
    register(&app, &zone.code, answered, None)
        .await
        .assert_status(201);

    let id = registration_id(&app, &zone.admin, &plate(1)).await;
    let shown = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&zone.admin))
        .await;
    shown.assert_status(200);
    assert_eq!(shown.body["answers"]["zone"]["health"], json!(true));
    assert_eq!(shown.body["form_versions"]["zone"], 1);
    assert_eq!(shown.body["form_versions"]["enterprise"], 0);
    assert_eq!(shown.body["enterprise_id"], json!(zone.enterprise));
    assert_eq!(shown.body["origin_region"], "350102");
    assert_eq!(shown.body["status"], "pending");
}
api_test!(the_zone_s_extra_fields_must_be_answered_and_are_kept_with_their_version);

async fn unknown_replaced_and_paused_codes_take_no_registrations(app: TestApp) {
    let zone = setup(&app).await;
    let unknown = register(&app, "NOSUCHTOKEN", driver(1), None).await;
    unknown.assert_status(404);
    assert_eq!(unknown.code(), "code_not_found");

    let id = &zone.enterprise;
    let rotated = app
        .post(
            &format!("/api/v1/enterprises/{id}/code/rotate"),
            Some(&zone.admin),
            json!({}),
        )
        .await;
    rotated.assert_status(200);
    let new = rotated.body["token"].as_str().unwrap().to_owned();
    let replaced = register(&app, &zone.code, driver(1), None).await;
    replaced.assert_status(410);
    assert_eq!(replaced.code(), "code_replaced");

    app.post(
        &format!("/api/v1/enterprises/{id}/code/suspend"),
        Some(&zone.admin),
        json!({}),
    )
    .await
    .assert_status(200);
    let paused = register(&app, &new, driver(1), None).await;
    paused.assert_status(409);
    assert_eq!(paused.code(), "not_accepting");

    app.post(
        &format!("/api/v1/enterprises/{id}/code/resume"),
        Some(&zone.admin),
        json!({}),
    )
    .await
    .assert_status(200);
    app.patch(
        &format!("/api/v1/enterprises/{id}"),
        Some(&zone.admin),
        json!({ "status": "closed" }),
    )
    .await
    .assert_status(200);
    let closed = register(&app, &new, driver(1), None).await;
    closed.assert_status(409);
    assert_eq!(closed.code(), "not_accepting");

    let list = app.get("/api/v1/registrations", Some(&zone.admin)).await;
    assert_eq!(list.body["items"], json!([]), "nothing stored");
    app.patch(
        &format!("/api/v1/enterprises/{id}"),
        Some(&zone.admin),
        json!({ "status": "operating" }),
    )
    .await
    .assert_status(200);
    register(&app, &new, driver(1), None)
        .await
        .assert_status(201);
}
api_test!(unknown_replaced_and_paused_codes_take_no_registrations);

async fn the_contact_reviews_its_registrations_and_drivers_cancel_pending_passes(app: TestApp) {
    let zone = setup(&app).await;
    app.create_contact(&zone.admin, "contact1", &zone.enterprise)
        .await;
    let contact = app.tokens("contact1", USER_PASSWORD).await.0;
    let mut passes = Vec::new();
    let mut keys = Vec::new();
    for n in 1..=4 {
        let pass = registered(&app, &zone.code, n).await;
        passes.push(pass.token);
        keys.push(pass.key);
    }

    let list = app.get("/api/v1/registrations", Some(&contact)).await;
    list.assert_status(200);
    assert_eq!(
        plates(&list.body),
        (1..=4).rev().map(masked_plate).collect::<Vec<_>>(),
        "newest first"
    );
    for item in list.body["items"].as_array().unwrap() {
        assert_eq!(item["document_number"], "110105********002X");
        assert_eq!(item["phone"], "138****5678");
        assert_eq!(item["driver_name"], "张*");
        assert_eq!(item["enterprise_id"], json!(zone.enterprise));
    }
    assert_no_personal_data(&list.text);
    assert!(list.body["next_cursor"].is_null());
    let mut regs = Vec::new();
    for n in 1..=4 {
        regs.push(registration_id(&app, &contact, &plate(n)).await);
    }

    let approved = approve(&app, &contact, &regs[0]).await;
    approved.assert_status(200);
    assert_eq!(approved.body["status"], "approved");
    assert!(!approved.body["decided_at"].is_null());
    assert_no_personal_data(&approved.text);
    let twice = approve(&app, &contact, &regs[0]).await;
    twice.assert_status(409);
    assert_eq!(twice.code(), "invalid_transition");
    assert_eq!(
        app.get(&format!("/api/v1/public/passes/{}", passes[0]), None)
            .await
            .body["status"],
        "approved"
    );

    let rejected = app
        .post(
            &format!("/api/v1/registrations/{}/reject", regs[1]),
            Some(&contact),
            json!({ "reason": "证件与车辆不符" }),
        )
        .await;
    rejected.assert_status(200);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["reject_reason"], "证件与车辆不符");
    let pass = app
        .get(&format!("/api/v1/public/passes/{}", passes[1]), None)
        .await;
    assert_eq!(pass.body["status"], "rejected");
    assert_eq!(pass.body["reject_reason"], "证件与车辆不符");
    approve(&app, &contact, &regs[1]).await.assert_status(409);

    for body in [
        json!({}),
        json!({ "reason": "" }),
        json!({ "reason": "因".repeat(201) }),
    ] {
        app.post(
            &format!("/api/v1/registrations/{}/reject", regs[2]),
            Some(&contact),
            body,
        )
        .await
        .assert_status(422);
    }
    let still = app
        .get(
            &format!("/api/v1/registrations/{}", regs[2]),
            Some(&contact),
        )
        .await;
    assert_eq!(still.body["status"], "pending");

    // Each registration came without a key, so each has a driver key of its own.
    let key = keys[3].as_str();
    let cancelled = cancel(&app, &passes[3], Some(key)).await;
    cancelled.assert_status(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    let again = cancel(&app, &passes[3], Some(key)).await;
    again.assert_status(409);
    assert_eq!(again.code(), "pass_closed");
    cancel(&app, &passes[1], Some(&keys[1]))
        .await
        .assert_status(409);
    approve(&app, &contact, &regs[3]).await.assert_status(409);
    cancel(&app, "AAAAAAAAAAAAAAAAAAAAAAAAAA", Some(key))
        .await
        .assert_status(404);

    for (status, expected) in [
        ("pending", vec![regs[2].clone()]),
        ("approved", vec![regs[0].clone()]),
        ("rejected", vec![regs[1].clone()]),
        ("cancelled", vec![regs[3].clone()]),
    ] {
        let page = app
            .get(
                &format!("/api/v1/registrations?status={status}"),
                Some(&contact),
            )
            .await;
        page.assert_status(200);
        assert_eq!(ids(&page.body), expected, "status={status}");
    }
    let by_plate = app
        .get(
            &format!("/api/v1/registrations?plate={}&status=approved", plate(1)),
            Some(&contact),
        )
        .await;
    assert_eq!(ids(&by_plate.body), vec![regs[0].clone()]);
    let none = app
        .get(
            &format!("/api/v1/registrations?plate={}&status=approved", plate(2)),
            Some(&contact),
        )
        .await;
    assert_eq!(none.body["items"], json!([]));
    for bad in ["status=expired", "status=bogus", "from=tomorrow", "limit=0"] {
        app.get(&format!("/api/v1/registrations?{bad}"), Some(&contact))
            .await
            .assert_status(422);
    }
}
api_test!(the_contact_reviews_its_registrations_and_drivers_cancel_pending_passes);

async fn staff_see_and_decide_only_registrations_in_their_scope(app: TestApp) {
    let admin = app.admin_token().await;
    let (sector_a, park_a) = (
        app.create_sector(&admin, "HG").await,
        app.create_park(&admin, "EAST").await,
    );
    let (sector_b, park_b) = (
        app.create_sector(&admin, "JX").await,
        app.create_park(&admin, "WEST").await,
    );
    let a = app
        .create_enterprise(&admin, "甲化工有限公司", &sector_a, &park_a)
        .await;
    let b = app
        .create_enterprise(&admin, "乙机械有限公司", &sector_b, &park_b)
        .await;
    app.create_contact(&admin, "contact_a", &a).await;
    let contact_a = app.tokens("contact_a", USER_PASSWORD).await.0;
    app.create_user(&admin, "official_b", "sector_official", &[&sector_b], &[])
        .await;
    let official_b = app.tokens("official_b", USER_PASSWORD).await.0;
    app.create_user(&admin, "park_b", "park_official", &[], &[&park_b])
        .await;
    let park_official_b = app.tokens("park_b", USER_PASSWORD).await.0;
    app.create_user(&admin, "surveyor_a", "surveyor", &[&sector_a], &[])
        .await;
    let surveyor_a = app.tokens("surveyor_a", USER_PASSWORD).await.0;

    pass_for(&app, &app.code_token(&admin, &a).await, 1).await;
    pass_for(&app, &app.code_token(&admin, &b).await, 2).await;
    let reg_a = registration_id(&app, &admin, &plate(1)).await;
    let reg_b = registration_id(&app, &admin, &plate(2)).await;

    app.get(&format!("/api/v1/registrations/{reg_b}"), Some(&contact_a))
        .await
        .assert_status(404);
    approve(&app, &contact_a, &reg_b).await.assert_status(404);
    for (action, body) in [
        ("reject", json!({ "reason": "证件与车辆不符" })),
        ("reveal", json!({ "reason": "门岗核验身份" })),
    ] {
        let response = app
            .post(
                &format!("/api/v1/registrations/{reg_b}/{action}"),
                Some(&contact_a),
                body,
            )
            .await;
        response.assert_status(404);
    }
    assert_eq!(
        ids(&app
            .get("/api/v1/registrations", Some(&contact_a))
            .await
            .body),
        vec![reg_a.clone()]
    );
    assert_eq!(
        app.get(&format!("/api/v1/registrations/{reg_a}"), Some(&contact_a))
            .await
            .body["status"],
        "pending"
    );
    let shown_b = app
        .get(&format!("/api/v1/registrations/{reg_b}"), Some(&admin))
        .await;
    assert_eq!(
        shown_b.body["status"], "pending",
        "B's registration was not touched"
    );

    for token in [&official_b, &park_official_b] {
        app.get(&format!("/api/v1/registrations/{reg_b}"), Some(token))
            .await
            .assert_status(200);
        app.get(&format!("/api/v1/registrations/{reg_a}"), Some(token))
            .await
            .assert_status(404);
        assert_eq!(
            ids(&app.get("/api/v1/registrations", Some(token)).await.body),
            vec![reg_b.clone()]
        );
    }

    let read = app
        .get(&format!("/api/v1/registrations/{reg_a}"), Some(&surveyor_a))
        .await;
    read.assert_status(200);
    assert_eq!(read.body["enterprise_id"], json!(a));
    assert_eq!(
        ids(&app
            .get("/api/v1/registrations", Some(&surveyor_a))
            .await
            .body),
        vec![reg_a.clone()]
    );
    approve(&app, &surveyor_a, &reg_a).await.assert_status(403);
    app.post(
        &format!("/api/v1/registrations/{reg_a}/reject"),
        Some(&surveyor_a),
        json!({ "reason": "不符" }),
    )
    .await
    .assert_status(403);
    app.post(
        &format!("/api/v1/registrations/{reg_a}/reveal"),
        Some(&surveyor_a),
        json!({ "reason": "门岗核验身份" }),
    )
    .await
    .assert_status(403);
    assert_eq!(
        app.get(&format!("/api/v1/registrations/{reg_a}"), Some(&admin))
            .await
            .body["status"],
        "pending"
    );
    let all = app.get("/api/v1/registrations", Some(&admin)).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let only_b = app
        .get(
            &format!("/api/v1/registrations?enterprise_id={b}"),
            Some(&admin),
        )
        .await;
    assert_eq!(ids(&only_b.body), vec![reg_b]);
}
api_test!(staff_see_and_decide_only_registrations_in_their_scope);

async fn revealing_personal_data_takes_a_reason_and_is_audited_without_the_values(app: TestApp) {
    let zone = setup(&app).await;
    app.create_user(&zone.admin, "regulator1", "regulator", &[], &[])
        .await;
    let regulator = app.tokens("regulator1", USER_PASSWORD).await.0;
    app.create_contact(&zone.admin, "contact1", &zone.enterprise)
        .await;
    let contact = app.tokens("contact1", USER_PASSWORD).await.0;
    pass_for(&app, &zone.code, 1).await;
    let id = registration_id(&app, &zone.admin, &plate(1)).await;
    let path = format!("/api/v1/registrations/{id}/reveal");

    let revealed = app
        .post(&path, Some(&regulator), json!({ "reason": "门岗核验身份" }))
        .await;
    revealed.assert_status(200);
    assert_eq!(revealed.body["document_number"], RESIDENT_ID);
    assert_eq!(revealed.body["phone"], PHONE);
    assert_eq!(revealed.header("cache-control"), Some("no-store"));
    let by_contact = app
        .post(&path, Some(&contact), json!({ "reason": "核对来访司机" }))
        .await;
    by_contact.assert_status(200);
    assert_eq!(by_contact.body["document_number"], RESIDENT_ID);

    for body in [
        json!({ "reason": "查" }),
        json!({}),
        json!({ "reason": "因".repeat(201) }),
    ] {
        app.post(&path, Some(&regulator), body)
            .await
            .assert_status(422);
    }
    app.post(
        &path,
        Some(&zone.admin),
        json!({ "reason": "门岗核验身份" }),
    )
    .await
    .assert_status(403);

    let audit = app
        .get(
            "/api/v1/audit?action=registration.reveal",
            Some(&zone.admin),
        )
        .await;
    audit.assert_status(200);
    let entries: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "success")
        .collect();
    assert_eq!(entries.len(), 2, "{}", audit.text);
    assert!(entries.iter().all(|e| e["object_id"] == json!(id)));
    assert!(
        audit.text.contains("门岗核验身份") && audit.text.contains("核对来访司机"),
        "the reasons are recorded: {}",
        audit.text
    );
    assert_no_personal_data(&audit.text);
    let everything = app.get("/api/v1/audit?limit=100", Some(&zone.admin)).await;
    assert_no_personal_data(&everything.text);

    let shown = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&regulator))
        .await;
    assert_no_personal_data(&shown.text);
}
api_test!(revealing_personal_data_takes_a_reason_and_is_audited_without_the_values);

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    content: String,
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn document_numbers_and_phones_are_encrypted_at_rest(app: TestApp) {
    let zone = setup(&app).await;
    pass_for(&app, &zone.code, 1).await;
    let mut with_dashes = driver(2);
    with_dashes["phone"] = json!("+86 138-1234-5678");
    register(&app, &zone.code, with_dashes, None)
        .await
        .assert_status(201);

    match app.backend {
        Backend::Sqlite => {
            // Every byte the database holds: the main file and the write-ahead log.
            let mut bytes = std::fs::read(app.data_dir.path().join("truckpass.db")).unwrap();
            if let Ok(wal) = std::fs::read(app.data_dir.path().join("truckpass.db-wal")) {
                bytes.extend(wal);
            }
            // The scan sees what is stored in plain text, such as the enterprise's name.
            assert!(contains(&bytes, "福州恒信化工有限公司"));
            assert!(
                !contains(&bytes, RESIDENT_ID),
                "the document number is stored in plain text"
            );
            assert!(
                !contains(&bytes, PHONE),
                "the phone is stored in plain text"
            );
        }
        Backend::Postgres => {
            let mut conn = app.raw_connection();
            let tables = diesel::sql_query(
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .load::<Name>(&mut conn)
            .unwrap();
            assert!(tables.iter().any(|t| t.name == "registrations"));
            let mut plain_name_seen = false;
            for table in tables {
                let rows = diesel::sql_query(format!(
                    "SELECT row_to_json(t)::text AS content FROM \"{}\" t",
                    table.name
                ))
                .load::<Row>(&mut conn)
                .unwrap();
                for row in rows {
                    plain_name_seen |= row.content.contains("福州恒信化工有限公司");
                    assert!(
                        !row.content.contains(RESIDENT_ID),
                        "plain document number in {}: {}",
                        table.name,
                        row.content
                    );
                    assert!(
                        !row.content.contains(PHONE),
                        "plain phone in {}: {}",
                        table.name,
                        row.content
                    );
                }
            }
            assert!(
                plain_name_seen,
                "the scan sees what is stored in plain text"
            );
        }
    }
    let mut conn = app.raw_connection();
    let stored = diesel::sql_query("SELECT COUNT(*) AS n FROM registrations")
        .get_result::<Count>(&mut conn)
        .unwrap();
    assert_eq!(
        stored.n, 2,
        "the registrations are there, only not readable"
    );

    // The application itself still reads them back.
    let id = registration_id(&app, &zone.admin, &plate(2)).await;
    app.create_user(&zone.admin, "regulator1", "regulator", &[], &[])
        .await;
    let regulator = app.tokens("regulator1", USER_PASSWORD).await.0;
    let revealed = app
        .post(
            &format!("/api/v1/registrations/{id}/reveal"),
            Some(&regulator),
            json!({ "reason": "门岗核验身份" }),
        )
        .await;
    revealed.assert_status(200);
    assert_eq!(
        revealed.body["phone"], PHONE,
        "stored without prefix or separators"
    );
    assert_eq!(revealed.body["document_number"], RESIDENT_ID);
}
api_test!(document_numbers_and_phones_are_encrypted_at_rest);

/// Decodes the QR code embedded as a PNG data URI in an HTML page.
fn qr_in_page(html: &str) -> Vec<String> {
    let start = html
        .find("data:image/png;base64,")
        .expect("an embedded PNG")
        + "data:image/png;base64,".len();
    let end = start + html[start..].find('"').expect("end of the data URI");
    let png_bytes = data_encoding::BASE64
        .decode(&html.as_bytes()[start..end])
        .unwrap();
    crate::helpers::decode_qr(&png_bytes)
}

/// The pass page's cancel button, pressed in a browser holding `driver_key` (or none).
async fn cancel_on_page(app: &TestApp, token: &str, driver_key: Option<&str>) -> TestResponse {
    let cookie = driver_key.map(|key| format!("tp_driver={key}"));
    let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
    app.call_with(
        Method::POST,
        &format!("/p/{token}/cancel"),
        None,
        Some(json!({})),
        &headers,
    )
    .await
}

async fn the_pass_page_shows_the_pass_and_its_qr_leads_back_to_it(app: TestApp) {
    let code = setup(&app).await.code;
    let created = register(&app, &code, driver(7), None).await;
    created.assert_status(201);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let url = created.body["url"].as_str().unwrap().to_owned();

    let page = app.get(&format!("/p/{token}"), None).await;
    page.assert_status(200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("福州恒信化工有限公司") && page.text.contains("待企业审核"));
    assert!(!page.text.contains("11010519491231002X") && !page.text.contains("13812345678"));
    assert!(!page.text.contains(&plate(7)), "the plate is masked");
    assert!(
        page.bytes.len() < 60 * 1024,
        "page is {} bytes",
        page.bytes.len()
    );
    assert_eq!(
        qr_in_page(&page.text),
        vec![url],
        "the gate's scan leads back to this pass"
    );

    // The gate's scan (no driver key) shows no cancel button and cannot cancel.
    assert!(!page.text.contains("取消本次登记"));
    let refused = cancel_on_page(&app, &token, None).await;
    refused.assert_status(403);
    assert!(refused.text.contains("只能在登记时使用的手机上取消"));
    let stranger = registered(&app, &code, 8).await.key;
    cancel_on_page(&app, &token, Some(&stranger))
        .await
        .assert_status(403);
    assert_eq!(
        app.get(&format!("/api/v1/public/passes/{token}"), None)
            .await
            .body["status"],
        "pending"
    );

    let key = driver_key_of(&created);
    let own = app
        .call_with(
            Method::GET,
            &format!("/p/{token}"),
            None,
            None,
            &[("cookie", &format!("tp_driver={key}"))],
        )
        .await;
    assert!(
        own.text.contains("取消本次登记"),
        "the driver's own browser may cancel"
    );
    let cancelled = cancel_on_page(&app, &token, Some(&key)).await;
    cancelled.assert_status(303);
    assert_eq!(
        cancelled.header("location"),
        Some(format!("/p/{token}").as_str())
    );
    let after = app.get(&format!("/p/{}", token.to_lowercase()), None).await;
    assert!(after.text.contains("已取消") && !after.text.contains("取消本次登记"));
    cancel_on_page(&app, &token, Some(&key))
        .await
        .assert_status(303);
    let pass = app
        .get(&format!("/api/v1/public/passes/{token}"), None)
        .await;
    assert_eq!(pass.body["status"], "cancelled");

    app.get("/p/NOSUCHPASS", None).await.assert_status(404);
    app.post("/p/NOSUCHPASS/cancel", None, json!({}))
        .await
        .assert_status(404);
}
api_test!(the_pass_page_shows_the_pass_and_its_qr_leads_back_to_it);

async fn personal_data_is_anonymised_after_the_retention_period(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let enterprise = app
        .create_enterprise(&admin, "福州恒信化工有限公司", &sector, &park)
        .await;
    let code = app.code_token(&admin, &enterprise).await;
    pass_for(&app, &code, 11).await;
    let id = registration_id(&app, &admin, &plate(11)).await;
    app.create_user(&admin, "reg", "regulator", &[], &[]).await;
    let regulator = app.tokens("reg", crate::helpers::USER_PASSWORD).await.0;

    let purge = |as_of: String| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_truckpass"))
            .args(["purge", "--as-of", &as_of])
            .env("DATABASE_URL", &app.database_url)
            .env("TRUCKPASS_DATA_DIR", app.data_dir.path())
            .env("TRUCKPASS_RETENTION_DAYS", "30")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let day = |days: i64| {
        (chrono::Utc::now() + chrono::TimeDelta::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    assert!(
        purge(day(29)).contains("已清除 0 条"),
        "still within 30 days"
    );
    let reveal = json!({ "reason": "门岗核验身份" });
    app.post(
        &format!("/api/v1/registrations/{id}/reveal"),
        Some(&regulator),
        reveal.clone(),
    )
    .await
    .assert_status(200);

    assert!(purge(day(32)).contains("已清除 1 条"));
    let gone = app
        .post(
            &format!("/api/v1/registrations/{id}/reveal"),
            Some(&regulator),
            reveal,
        )
        .await;
    gone.assert_status(410);
    assert_eq!(gone.code(), "personal_data_purged");
    let shown = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&admin))
        .await;
    shown.assert_status(200);
    assert_eq!(shown.body["document_number"], "*");
    assert_eq!(shown.body["phone"], "*");
    assert_eq!(
        shown.body["enterprise_name"], "福州恒信化工有限公司",
        "what statistics need stays"
    );
    let audit = app
        .get("/api/v1/audit?action=registration.purge", Some(&admin))
        .await;
    assert_eq!(audit.body["items"][0]["details"]["anonymised"], 1);
    assert!(
        purge(day(40)).contains("已清除 0 条"),
        "a purge is done once"
    );
}
api_test!(personal_data_is_anonymised_after_the_retention_period);

async fn profile(
    app: &TestApp,
    key: Option<&str>,
    method: reqwest::Method,
) -> crate::helpers::TestResponse {
    let mut request = app.client.request(
        method.clone(),
        format!("{}/api/v1/public/drivers/me", app.address),
    );
    if let Some(key) = key {
        request = request.header("x-driver-key", key);
    }
    let response = TestApp::read(request.send().await.unwrap()).await;
    crate::helpers::CONTRACT.check(&method, "/api/v1/public/drivers/me", &response);
    response
}

async fn a_driver_key_fills_the_next_form_masked_and_moves_on_with_every_registration(
    app: TestApp,
) {
    let (admin, [first, second, third]) = app
        .coded_enterprises(["甲化工有限公司", "乙化工有限公司", "丙化工有限公司"])
        .await;

    let created = register(&app, &first.code, driver(21), None).await;
    created.assert_status(201);
    let key = driver_key_of(&created);
    assert!(key.len() >= 32);

    // The profile comes back with the document number and phone masked.
    let filled = profile(&app, Some(&key), reqwest::Method::GET).await;
    filled.assert_status(200);
    assert_eq!(filled.body["document_number"], "110105********002X");
    assert_eq!(filled.body["phone"], "138****5678");
    assert_eq!(filled.body["plate"], plate(21));
    assert_no_personal_data(&filled.text);
    assert!(
        filled
            .header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );

    // Sent back unchanged with the key, the masked values stand for the stored ones.
    let mut prefilled = driver(22);
    prefilled["document_number"] = filled.body["document_number"].clone();
    prefilled["phone"] = filled.body["phone"].clone();
    let again = register_as(&app, &second.code, prefilled.clone(), None, Some(&key)).await;
    again.assert_status(201);
    let rotated = driver_key_of(&again);
    assert_ne!(rotated, key, "every registration issues a new key");
    profile(&app, Some(&key), reqwest::Method::GET)
        .await
        .assert_status(404);
    assert_eq!(
        profile(&app, Some(&rotated), reqwest::Method::GET)
            .await
            .body["plate"],
        plate(22)
    );
    app.create_user(&admin, "regulator1", "regulator", &[], &[])
        .await;
    let regulator = app.tokens("regulator1", USER_PASSWORD).await.0;
    let id = registration_id(&app, &admin, &plate(22)).await;
    let revealed = app
        .post(
            &format!("/api/v1/registrations/{id}/reveal"),
            Some(&regulator),
            json!({ "reason": "门岗核验身份" }),
        )
        .await;
    assert_eq!(
        revealed.body["document_number"], RESIDENT_ID,
        "the stored number, not the mask"
    );
    assert_eq!(revealed.body["phone"], PHONE);

    // A key that has moved on (or never was) fills nothing in: the masked values
    // must be typed again.
    let mut stale = prefilled.clone();
    stale["plate"] = json!(plate(23));
    let refused = register_as(&app, &third.code, stale, None, Some(&key)).await;
    refused.assert_status(422);
    assert_eq!(
        error_fields(&refused),
        HashSet::from(["document_number".to_owned(), "phone".to_owned()])
    );

    profile(&app, None, reqwest::Method::GET)
        .await
        .assert_status(400);
    profile(&app, Some("short"), reqwest::Method::GET)
        .await
        .assert_status(400);
    profile(&app, Some(&"x".repeat(43)), reqwest::Method::GET)
        .await
        .assert_status(404);
    profile(&app, Some(&rotated), reqwest::Method::DELETE)
        .await
        .assert_status(204);
    let erased = profile(&app, Some(&rotated), reqwest::Method::GET).await;
    erased.assert_status(404);
    assert_eq!(erased.code(), "profile_not_found");
    profile(&app, Some(&rotated), reqwest::Method::DELETE)
        .await
        .assert_status(204);
    let audit = app
        .get("/api/v1/audit?action=driver.erase", Some(&admin))
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        1,
        "the erasure is audited once: {}",
        audit.text
    );
    assert_no_personal_data(&audit.text);
}
api_test!(a_driver_key_fills_the_next_form_masked_and_moves_on_with_every_registration);

async fn a_planted_driver_key_captures_nothing(app: TestApp) {
    let (_, [first, second]) = app
        .coded_enterprises(["甲化工有限公司", "乙化工有限公司"])
        .await;
    // An attacker's own key, or one made up, planted in a driver's browser...
    let attacker = driver_key_of(&register(&app, &first.code, other_driver(30), None).await);
    let made_up = "A".repeat(43);
    for planted in [attacker.as_str(), made_up.as_str()] {
        let victim = register_as(&app, &second.code, driver(31), None, Some(planted)).await;
        assert!(
            victim.status == 201 || victim.status == 200,
            "{}",
            victim.text
        );
        // ...is replaced at the victim's registration: it reads nothing of theirs.
        assert_ne!(driver_key_of(&victim), planted);
        let read = profile(&app, Some(planted), reqwest::Method::GET).await;
        assert_eq!(read.status, 404, "{}", read.text);
    }
}
api_test!(a_planted_driver_key_captures_nothing);

async fn another_driver_registering_a_taken_plate_gets_409_and_no_pass(app: TestApp) {
    let zone = setup(&app).await;
    let first = register(&app, &zone.code, driver(40), None).await;
    first.assert_status(201);
    let token = first.body["token"].as_str().unwrap().to_owned();

    // Someone who read the plate off the truck: another person, no key.
    let stranger = register(&app, &zone.code, other_driver(40), None).await;
    stranger.assert_status(409);
    assert_eq!(stranger.code(), "plate_already_registered");
    assert!(
        !stranger.text.contains(&token),
        "no pass token: {}",
        stranger.text
    );
    assert!(stranger.header("x-driver-key").is_none());
    assert_no_personal_data(&stranger.text);
    assert!(!stranger.text.contains(OTHER_RESIDENT_ID) && !stranger.text.contains(OTHER_PHONE));
    // Same document, another phone: still not the same person.
    let mut half = driver(40);
    half["phone"] = json!(OTHER_PHONE);
    register(&app, &zone.code, half, None)
        .await
        .assert_status(409);

    // The driver's own key, even with other details, gets the pass back.
    let mut own = other_driver(40);
    own["cargo"] = json!("钢材");
    let again = register_as(&app, &zone.code, own, None, Some(&driver_key_of(&first))).await;
    again.assert_status(200);
    assert_eq!(again.body["token"], json!(token));

    let audit = app
        .get(
            "/api/v1/audit?action=registration.create",
            Some(&zone.admin),
        )
        .await;
    let refused: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "failure")
        .collect();
    assert_eq!(refused.len(), 2, "each attempt is audited: {}", audit.text);
    assert_eq!(refused[0]["details"]["reason"], "plate_already_registered");
    assert_no_personal_data(&audit.text);
    let list = app.get("/api/v1/registrations", Some(&zone.admin)).await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
}
api_test!(another_driver_registering_a_taken_plate_gets_409_and_no_pass);

async fn a_retry_key_answers_only_the_request_it_came_with(app: TestApp) {
    let zone = setup(&app).await;
    let first = register(&app, &zone.code, driver(50), Some("retry-key_0050")).await;
    first.assert_status(201);
    let token = first.body["token"].as_str().unwrap().to_owned();

    // Another client's request under the same key, even for the same plate.
    let stolen = register(&app, &zone.code, other_driver(50), Some("retry-key_0050")).await;
    stolen.assert_status(422);
    assert_eq!(stolen.code(), "idempotency_key_reused");
    assert!(!stolen.text.contains(&token));
    let mut changed = driver(50);
    changed["cargo"] = json!("钢材");
    let reused = register(&app, &zone.code, changed, Some("retry-key_0050")).await;
    reused.assert_status(422);
    assert_eq!(reused.code(), "idempotency_key_reused");

    // The same request again is the same answer, with a fresh key for the driver.
    let retried = register(&app, &zone.code, driver(50), Some("retry-key_0050")).await;
    retried.assert_status(200);
    assert_eq!(retried.body["token"], json!(token));
    let key = driver_key_of(&retried);
    profile(&app, Some(&key), reqwest::Method::GET)
        .await
        .assert_status(200);
    cancel(&app, &token, Some(&key)).await.assert_status(200);
    let list = app.get("/api/v1/registrations", Some(&zone.admin)).await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
}
api_test!(a_retry_key_answers_only_the_request_it_came_with);

async fn only_the_registering_driver_can_cancel_and_cancelling_keeps_the_decision(app: TestApp) {
    let zone = setup(&app).await;
    let mine = registered(&app, &zone.code, 60).await;
    let theirs = register(&app, &zone.code, other_driver(61), None).await;
    let their_key = driver_key_of(&theirs);
    let id = registration_id(&app, &zone.admin, &plate(60)).await;
    approve(&app, &zone.admin, &id).await.assert_status(200);

    for key in [
        None,
        Some(their_key.as_str()),
        Some("B".repeat(43).as_str()),
    ] {
        let refused = cancel(&app, &mine.token, key).await;
        refused.assert_status(403);
        assert_eq!(refused.code(), "cancel_not_allowed");
    }
    cancel(&app, &mine.token, Some("bad key"))
        .await
        .assert_status(400);
    assert_eq!(
        app.get(&format!("/api/v1/public/passes/{}", mine.token), None)
            .await
            .body["status"],
        "approved"
    );

    let cancelled = cancel(&app, &mine.token, Some(&mine.key)).await;
    cancelled.assert_status(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    let shown = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&zone.admin))
        .await;
    assert_eq!(shown.body["status"], "cancelled");
    assert!(
        !shown.body["decided_at"].is_null(),
        "who approved, and when, is kept: {}",
        shown.text
    );
    assert!(!shown.body["decided_by"].is_null(), "{}", shown.text);
}
api_test!(only_the_registering_driver_can_cancel_and_cancelling_keeps_the_decision);

/// The lines of a CSV export after its header.
fn csv_rows(text: &str) -> Vec<&str> {
    text.trim_end().split("\r\n").skip(1).collect()
}

async fn filters_by_enterprise_name_origin_and_days_and_exports_what_they_show(app: TestApp) {
    let (admin, [fuzhou, xiamen]) = app
        .coded_enterprises(["福州恒信化工有限公司", "厦门海达物流有限公司"])
        .await;
    let mut from_shenzhen = driver(2);
    from_shenzhen["origin_region"] = json!("440305");
    let mut from_jinan = driver(3);
    from_jinan["origin_region"] = json!("370102");
    registered(&app, &fuzhou.code, 1).await;
    register(&app, &xiamen.code, from_shenzhen, None)
        .await
        .assert_status(201);
    register(&app, &fuzhou.code, from_jinan, None)
        .await
        .assert_status(201);
    let listed = |query: &str| {
        let app = &app;
        let admin = &admin;
        let query = query.to_owned();
        async move {
            let page = app
                .get(&format!("/api/v1/registrations?{query}"), Some(admin))
                .await;
            page.assert_status(200);
            let mut shown = plates(&page.body);
            shown.sort();
            shown
        }
    };
    let tomorrow = zone_today().succ_opt().unwrap();
    let after = tomorrow.succ_opt().unwrap();
    for (query, expected) in [
        ("origin=350000", vec![masked_plate(1)]),
        ("origin=350100", vec![masked_plate(1)]),
        ("origin=350102", vec![masked_plate(1)]),
        ("origin=440000", vec![masked_plate(2)]),
        ("origin=370100", vec![masked_plate(3)]),
        ("origin=110000", vec![]),
        ("enterprise_name=海达", vec![masked_plate(2)]),
        (
            "enterprise_name=%20恒信%20",
            vec![masked_plate(1), masked_plate(3)],
        ),
        ("enterprise_name=%25", vec![]),
        ("enterprise_name=恒信&origin=370000", vec![masked_plate(3)]),
        (
            &format!("from={tomorrow}&to={tomorrow}"),
            vec![masked_plate(1), masked_plate(2), masked_plate(3)],
        ),
        (&format!("from={after}"), vec![]),
    ] {
        assert_eq!(listed(query).await, expected, "{query}");
    }
    for bad in ["origin=999999", "origin=35", "origin=", "origin=福建"] {
        let page = app
            .get(&format!("/api/v1/registrations?{bad}"), Some(&admin))
            .await;
        page.assert_status(422);
        assert_eq!(
            error_fields(&page),
            HashSet::from(["origin".to_owned()]),
            "{bad}"
        );
        let export = app
            .get(
                &format!("/api/v1/registrations/export.csv?{bad}"),
                Some(&admin),
            )
            .await;
        export.assert_status(422);
    }

    // The CSV export shows what the filters show, masked, newest first.
    let csv = app
        .get(
            "/api/v1/registrations/export.csv?enterprise_name=恒信",
            Some(&admin),
        )
        .await;
    csv.assert_status(200);
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        csv.text
            .starts_with("\u{feff}登记编号,登记时间,企业名称,司机,")
    );
    let rows = csv_rows(&csv.text);
    assert_eq!(rows.len(), 2, "{}", csv.text);
    assert!(rows[0].contains(&masked_plate(3)) && rows[0].contains("山东省济南市历下区"));
    assert!(rows[1].contains(&masked_plate(1)) && rows[1].contains("福州恒信化工有限公司"));
    assert!(!csv.text.contains(&plate(1)) && !csv.text.contains("张三"));
    assert_no_personal_data(&csv.text);

    // The XLSX export holds the same rows, its text columns as text.
    let xlsx = app
        .get(
            "/api/v1/registrations/export.xlsx?origin=440000",
            Some(&admin),
        )
        .await;
    xlsx.assert_status(200);
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.bytes.clone())).unwrap();
    use calamine::Reader;
    let sheet = workbook.worksheet_range("司机登记").unwrap();
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect();
    assert_eq!(cells.len(), 2, "header and one filing: {cells:?}");
    assert_eq!(cells[0][0], "登记编号");
    assert!(cells[1].contains(&masked_plate(2)), "{cells:?}");
    assert!(cells[1].contains(&"厦门海达物流有限公司".to_owned()));
    assert!(!cells.concat().iter().any(|cell| cell.contains(PHONE)));

    // A contact exports its own enterprise's filings only.
    app.create_contact(&admin, "contact_xm", &xiamen.id).await;
    let contact = app.tokens("contact_xm", USER_PASSWORD).await.0;
    let own = app
        .get("/api/v1/registrations/export.csv", Some(&contact))
        .await;
    own.assert_status(200);
    let rows = csv_rows(&own.text);
    assert_eq!(rows.len(), 1, "{}", own.text);
    assert!(rows[0].contains("厦门海达物流有限公司"));
    app.get("/api/v1/registrations/export.csv", None)
        .await
        .assert_status(401);

    // Each export is audited with its format and row count.
    let audit = app
        .get("/api/v1/audit?action=registration.export", Some(&admin))
        .await;
    let entries = audit.body["items"].as_array().unwrap();
    let details: HashSet<(String, i64)> = entries
        .iter()
        .map(|entry| {
            (
                entry["details"]["format"].as_str().unwrap().to_owned(),
                entry["details"]["rows"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(entries.len(), 3, "{}", audit.text);
    assert_eq!(
        details,
        HashSet::from([
            ("csv".to_owned(), 2),
            ("xlsx".to_owned(), 1),
            ("csv".to_owned(), 1)
        ])
    );
}
api_test!(filters_by_enterprise_name_origin_and_days_and_exports_what_they_show);
