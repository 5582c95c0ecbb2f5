//! The driver's pages without JavaScript, as a basic phone browser uses them: the form
//! at `/r/{token}`, its errors, the one-time nonce, fill once by cookie and
//! 「清除我的信息」; and what guards the public door: rate limits, auto-approval and
//! the validity window.

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{CONTRACT, TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::registrations::{PHONE, RESIDENT_ID, driver, other_driver, plate, register};

/// A valid form for the `n`-th vehicle, as the page submits it.
fn form(n: usize, nonce: &str) -> Vec<(String, String)> {
    let arrival = (Utc::now() + TimeDelta::hours(8) + TimeDelta::days(1))
        .format("%Y-%m-%dT09:00")
        .to_string();
    [
        ("nonce", nonce.to_owned()),
        ("driver_name", "李四".into()),
        ("document_type", "resident_id".into()),
        ("document_number", RESIDENT_ID.into()),
        ("phone", PHONE.into()),
        ("plate", plate(n)),
        ("trailer_plate", String::new()),
        ("vehicle_type", "heavy_truck".into()),
        ("origin_province", "350000".into()),
        ("origin_city", "350100".into()),
        ("origin_county", "350102".into()),
        ("cargo", "钢材".into()),
        ("purpose", "deliver".into()),
        ("expected_arrival", arrival),
        ("people_in_cab", "2".into()),
        ("consent", "yes".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn with(mut pairs: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    pairs.retain(|(key, _)| key != name);
    pairs.push((name.to_owned(), value.to_owned()));
    pairs
}

/// Sends a request with an optional driver cookie and checks it against openapi.yaml.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    pairs: Option<&[(String, String)]>,
) -> TestResponse {
    send_with(app, method, path, cookie, pairs, &[]).await
}

/// [`send`] with extra request headers.
async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    pairs: Option<&[(String, String)]>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(key) = cookie {
        request = request.header("cookie", format!("tp_driver={key}"));
    }
    if let Some(pairs) = pairs {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        request = request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
    }
    let response = TestApp::read_bytes(request.send().await.unwrap()).await;
    CONTRACT.check(&method, path, &response);
    response
}

/// The driver key a response's cookie sets.
fn cookie_key(response: &TestResponse) -> String {
    let cookie = response.header("set-cookie").expect("a cookie is set");
    let value = cookie
        .strip_prefix("tp_driver=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    assert!(
        cookie.contains("SameSite=Lax") && cookie.contains("Path=/") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    value.to_owned()
}

struct Site {
    admin: String,
    enterprise: String,
    code: String,
    other_code: String,
}

async fn site(app: &TestApp) -> Site {
    let (admin, [enterprise, other]) = app
        .coded_enterprises(["福州恒信化工有限公司", "福州永安物流有限公司"])
        .await;
    Site {
        admin,
        enterprise: enterprise.id,
        code: enterprise.code,
        other_code: other.code,
    }
}

async fn registrations(app: &TestApp, admin: &str) -> Vec<Value> {
    let list = app
        .get("/api/v1/registrations?limit=100", Some(admin))
        .await;
    list.assert_status(200);
    list.body["items"].as_array().unwrap().clone()
}

async fn the_form_is_small_self_contained_and_asks_every_field(app: TestApp) {
    let site = site(&app).await;
    let template = json!({ "fields": [{
        "key": "hazards", "label": "货物危险特性", "type": "multiple_choice",
        "options": ["易燃", "腐蚀", "有毒"]
    }]});
    app.put(
        &format!("/api/v1/enterprises/{}/form-template", site.enterprise),
        Some(&site.admin),
        template,
    )
    .await
    .assert_status(200);
    let page = send(&app, Method::GET, &format!("/r/{}", site.code), None, None).await;
    page.assert_status(200);
    assert!(page.bytes.len() < 60 * 1024, "{} bytes", page.bytes.len());
    assert!(page.text.contains("福州恒信化工有限公司"));
    for name in [
        "driver_name",
        "document_type",
        "document_number",
        "phone",
        "plate",
        "trailer_plate",
        "vehicle_type",
        "origin_province",
        "origin_city",
        "origin_county",
        "cargo",
        "purpose",
        "expected_arrival",
        "people_in_cab",
        "consent",
        "nonce",
        "answers.enterprise.hazards",
    ] {
        assert!(
            page.text.contains(&format!("name=\"{name}\"")),
            "field {name} missing"
        );
    }
    assert!(
        page.text
            .contains("type=\"checkbox\" name=\"answers.enterprise.hazards\" value=\"腐蚀\"")
    );
    assert!(
        page.text.contains("type=\"tel\" inputmode=\"numeric\""),
        "the phone gets a numeric keyboard"
    );
    assert!(
        !page.text.contains("id=\"consent\" checked"),
        "consent is never pre-ticked"
    );
    assert!(page.text.contains("个人信息保存 30 天后自动匿名化"));
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(
            !page.text.contains(external),
            "external resource: {external}"
        );
    }
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("form-action 'self'"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
}
api_test!(the_form_is_small_self_contained_and_asks_every_field);

async fn a_wrong_field_comes_back_under_it_with_everything_typed_kept(app: TestApp) {
    let site = site(&app).await;
    let bad = with(
        form(1, "NONCE-ONE-0001"),
        "document_number",
        "110105194912310021",
    );
    let bad = with(bad, "consent", "");
    let page = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&bad),
    )
    .await;
    page.assert_status(422);
    assert!(
        page.text
            .contains("<p class=\"err\" id=\"document_number-err\">居民身份证号码校验位"),
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"consent-err\""));
    assert!(
        !page.text.contains("id=\"phone-err\""),
        "only the wrong fields are marked"
    );
    for kept in [
        "value=\"110105194912310021\"",
        &format!("value=\"{PHONE}\""),
        &format!("value=\"{}\"", plate(1)),
        "value=\"350102\" selected",
        "value=\"deliver\" checked",
        "value=\"钢材\"",
        "value=\"2\"",
        "value=\"NONCE-ONE-0001\"",
    ] {
        assert!(page.text.contains(kept), "lost {kept}");
    }
    assert!(
        page.header("set-cookie").is_none(),
        "nothing kept without a valid submit"
    );
    assert!(
        registrations(&app, &site.admin).await.is_empty(),
        "nothing stored"
    );

    // Unknown template answers or junk never reach a 500.
    let junk = with(form(1, "x"), "answers.zone.nope", "1");
    let junk = with(junk, "people_in_cab", "many");
    let page = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&junk),
    )
    .await;
    page.assert_status(422);
    assert!(page.text.contains("表单中没有此项") && page.text.contains("id=\"people_in_cab-err\""));

    let huge = with(form(1, "x"), "cargo", &"钢".repeat(6000));
    let refused = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&huge),
    )
    .await;
    refused.assert_status(413);
    let json = send(&app, Method::POST, &format!("/r/{}", site.code), None, None).await;
    json.assert_status(415);
    assert!(
        registrations(&app, &site.admin).await.is_empty(),
        "still nothing stored"
    );
}
api_test!(a_wrong_field_comes_back_under_it_with_everything_typed_kept);

async fn a_valid_form_lands_on_the_pass_and_a_double_tap_registers_once(app: TestApp) {
    let site = site(&app).await;
    let template = json!({ "fields": [{
        "key": "hazards", "label": "货物危险特性", "type": "multiple_choice",
        "options": ["易燃", "腐蚀", "有毒"]
    }]});
    app.put(
        &format!("/api/v1/enterprises/{}/form-template", site.enterprise),
        Some(&site.admin),
        template,
    )
    .await
    .assert_status(200);
    let mut filled = form(2, "NONCE-TAP-0002");
    filled.push(("answers.enterprise.hazards".into(), "有毒".into()));
    filled.push(("answers.enterprise.hazards".into(), "易燃".into()));
    let path = format!("/r/{}", site.code);
    let first = send(&app, Method::POST, &path, None, Some(&filled)).await;
    first.assert_status(303);
    let pass = first.header("location").unwrap().to_owned();
    assert!(pass.starts_with("/p/"), "{pass}");
    let key = cookie_key(&first);
    assert!(
        first
            .header("set-cookie")
            .unwrap()
            .contains("Max-Age=2592000"),
        "kept as long as profiles"
    );
    let second = send(&app, Method::POST, &path, Some(&key), Some(&filled)).await;
    second.assert_status(303);
    assert_eq!(
        second.header("location"),
        Some(pass.as_str()),
        "the same pass again"
    );

    let items = registrations(&app, &site.admin).await;
    assert_eq!(items.len(), 1, "one registration for a double tap");
    assert_eq!(
        items[0]["answers"]["enterprise"]["hazards"],
        json!(["易燃", "有毒"]),
        "in the options' order"
    );
    assert_eq!(items[0]["origin_region"], "350102");
    assert_eq!(items[0]["people_in_cab"], 2);
    let shown = send(&app, Method::GET, &pass, None, None).await;
    shown.assert_status(200);
    assert!(shown.text.contains("待企业审核") && shown.text.contains("李*"));
    assert!(!shown.text.contains(RESIDENT_ID) && !shown.text.contains(PHONE));
}
api_test!(a_valid_form_lands_on_the_pass_and_a_double_tap_registers_once);

async fn the_cookie_fills_the_next_form_and_forgetting_erases_it(app: TestApp) {
    let site = site(&app).await;
    let first = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&form(3, "NONCE-FILL-003")),
    )
    .await;
    first.assert_status(303);
    let key = cookie_key(&first);

    let blank = send(
        &app,
        Method::GET,
        &format!("/r/{}", site.other_code),
        None,
        None,
    )
    .await;
    assert!(!blank.text.contains(RESIDENT_ID) && !blank.text.contains("已填入"));
    let filled = send(
        &app,
        Method::GET,
        &format!("/r/{}", site.other_code),
        Some(&key),
        None,
    )
    .await;
    filled.assert_status(200);
    assert!(filled.text.contains("已填入您上次登记的信息"));
    for kept in [
        "value=\"李四\"",
        "value=\"110105********002X\"",
        "value=\"138****5678\"",
        &format!("value=\"{}\"", plate(3)),
        "value=\"heavy_truck\" selected",
        "value=\"350102\" selected",
    ] {
        assert!(filled.text.contains(kept), "not pre-filled: {kept}");
    }
    assert!(
        !filled.text.contains(RESIDENT_ID) && !filled.text.contains(PHONE),
        "never in full"
    );
    assert!(
        !filled.text.contains("value=\"钢材\""),
        "the visit itself is asked afresh"
    );
    assert!(filled.text.contains("清除我的信息"));

    let forgot = send(
        &app,
        Method::POST,
        &format!("/r/{}/forget", site.other_code),
        Some(&key),
        None,
    )
    .await;
    forgot.assert_status(200);
    assert!(
        forgot.text.contains("已清除您保存的信息") && forgot.text.contains("data-cleared=\"1\"")
    );
    assert!(
        forgot
            .header("set-cookie")
            .unwrap()
            .starts_with("tp_driver=;")
    );
    assert!(forgot.header("set-cookie").unwrap().contains("Max-Age=0"));
    let profile = app
        .client
        .get(format!("{}/api/v1/public/drivers/me", app.address))
        .header("x-driver-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status().as_u16(), 404, "erased on the server");
    let after = send(
        &app,
        Method::GET,
        &format!("/r/{}", site.other_code),
        Some(&key),
        None,
    )
    .await;
    assert!(!after.text.contains(RESIDENT_ID));
    // A mangled cookie is no key: an empty form, not an error.
    let mangled = send(
        &app,
        Method::GET,
        &format!("/r/{}", site.code),
        Some("not a key"),
        None,
    )
    .await;
    mangled.assert_status(200);
}
api_test!(the_cookie_fills_the_next_form_and_forgetting_erases_it);

async fn the_origin_is_picked_step_by_step_without_javascript(app: TestApp) {
    let site = site(&app).await;
    let step = vec![
        ("nonce".to_owned(), "NONCE-STEP-004".to_owned()),
        ("driver_name".to_owned(), "王五".to_owned()),
        ("origin_province".to_owned(), "350000".to_owned()),
        ("step".to_owned(), "region".to_owned()),
    ];
    let page = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&step),
    )
    .await;
    page.assert_status(200);
    assert!(
        page.text
            .contains("<option value=\"350100\">福州市</option>")
    );
    assert!(page.text.contains("value=\"王五\""), "the rest is kept");
    assert!(
        !page.text.contains("class=\"err\""),
        "a step is not a submit"
    );
    let step = with(step, "origin_city", "350100");
    let page = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&step),
    )
    .await;
    assert!(
        page.text
            .contains("<option value=\"350102\">鼓楼区</option>")
    );
    assert!(registrations(&app, &site.admin).await.is_empty());

    let provinces = app.get("/api/v1/public/regions", None).await;
    provinces.assert_status(200);
    let provinces = provinces.body.as_array().unwrap().clone();
    assert!(
        provinces.len() >= 31 && provinces.contains(&json!({ "code": "350000", "name": "福建省" }))
    );
    let counties = app.get("/api/v1/public/regions?parent=350100", None).await;
    assert!(
        counties
            .body
            .as_array()
            .unwrap()
            .contains(&json!({ "code": "350102", "name": "鼓楼区" }))
    );
    assert_eq!(
        counties.header("cache-control"),
        Some("public, max-age=86400")
    );
    let leaf = app.get("/api/v1/public/regions?parent=350102", None).await;
    assert_eq!(leaf.body, json!([]));
    for bad in ["abc", "999999"] {
        let refused = app
            .get(&format!("/api/v1/public/regions?parent={bad}"), None)
            .await;
        refused.assert_status(422);
        assert_eq!(refused.body["errors"][0]["field"], "parent");
    }
    let unknown = app.get("/api/v1/public/regions?province=35", None).await;
    unknown.assert_status(422);
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_parameter");
}
api_test!(the_origin_is_picked_step_by_step_without_javascript);

async fn too_many_submissions_from_one_address_get_429_with_retry_after(app: TestApp) {
    let site = site(&app).await;
    for n in 0..3 {
        register(&app, &site.code, driver(10 + n), None)
            .await
            .assert_status(201);
    }
    let refused = register(&app, &site.code, driver(20), None).await;
    refused.assert_status(429);
    assert_eq!(refused.code(), "too_many_requests");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    let page = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.other_code),
        None,
        Some(&form(21, "NONCE-RATE-005")),
    )
    .await;
    page.assert_status(429);
    assert!(page.text.contains("已填写的内容不会丢失"));
    assert!(page.header("retry-after").is_some());
    assert_eq!(
        registrations(&app, &site.admin).await.len(),
        3,
        "nothing stored past the limit"
    );
    // Reading is not limited.
    send(&app, Method::GET, &format!("/r/{}", site.code), None, None)
        .await
        .assert_status(200);
}
api_test!(
    too_many_submissions_from_one_address_get_429_with_retry_after,
    with(|settings| {
        settings.public_rate_per_ip = 3;
    })
);

async fn one_enterprise_flooded_does_not_block_the_next(app: TestApp) {
    let site = site(&app).await;
    register(&app, &site.code, driver(30), None)
        .await
        .assert_status(201);
    register(&app, &site.code, driver(31), None)
        .await
        .assert_status(201);
    register(&app, &site.code, driver(32), None)
        .await
        .assert_status(429);
    register(&app, &site.other_code, driver(33), None)
        .await
        .assert_status(201);
}
api_test!(
    one_enterprise_flooded_does_not_block_the_next,
    with(|settings| {
        settings.public_rate_per_code = 2;
    })
);

async fn auto_approval_is_the_enterprise_s_own_choice_and_audited(app: TestApp) {
    let site = site(&app).await;
    let path = format!(
        "/api/v1/enterprises/{}/registration-settings",
        site.enterprise
    );
    let initial = app.get(&path, Some(&site.admin)).await;
    initial.assert_status(200);
    assert_eq!(initial.body["auto_approve"], false);
    assert!(initial.body["updated_at"].is_null());
    assert_eq!(
        register(&app, &site.code, driver(40), None).await.body["status"],
        "pending"
    );

    app.create_contact(&site.admin, "gatekeeper", &site.enterprise)
        .await;
    let contact = app.tokens("gatekeeper", USER_PASSWORD).await.0;
    let other_enterprise = app
        .get("/api/v1/enterprises?q=永安", Some(&site.admin))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.put(
        &format!("/api/v1/enterprises/{other_enterprise}/registration-settings"),
        Some(&contact),
        json!({ "auto_approve": true }),
    )
    .await
    .assert_status(404);
    app.put(&path, Some(&contact), json!({ "auto_approve": "yes" }))
        .await
        .assert_status(422);
    let turned = app
        .put(&path, Some(&contact), json!({ "auto_approve": true }))
        .await;
    turned.assert_status(200);
    assert_eq!(turned.body["auto_approve"], true);

    let approved = register(&app, &site.code, driver(41), None).await;
    approved.assert_status(201);
    assert_eq!(approved.body["status"], "approved");
    let elsewhere = register(&app, &site.other_code, driver(42), None).await;
    assert_eq!(
        elsewhere.body["status"], "pending",
        "only that enterprise approves at once"
    );
    let audit = app.get("/api/v1/audit?limit=100", Some(&site.admin)).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"enterprise.auto_approve_on"));
    assert!(actions.contains(&"registration.auto_approve"));
}
api_test!(auto_approval_is_the_enterprise_s_own_choice_and_audited);

async fn the_validity_window_follows_the_settings(app: TestApp) {
    let site = site(&app).await;
    let pass = register(&app, &site.code, driver(50), None).await;
    pass.assert_status(201);
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(pass.body[field].as_str().unwrap()).unwrap()
    };
    assert_eq!(
        at("expected_arrival") - at("valid_from"),
        TimeDelta::hours(2)
    );
    assert_eq!(
        at("valid_until") - at("expected_arrival"),
        TimeDelta::hours(6)
    );
}
api_test!(
    the_validity_window_follows_the_settings,
    with(|settings| {
        settings.pass_valid_before_hours = 2;
        settings.pass_valid_after_hours = 6;
    })
);

/// Every `Set-Cookie` of a response.
fn set_cookies(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

async fn a_prefilled_form_submits_as_shown_and_hands_the_browser_a_new_key(app: TestApp) {
    let site = site(&app).await;
    let first = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&form(5, "NONCE-MASK-005")),
    )
    .await;
    first.assert_status(303);
    let key = cookie_key(&first);
    let cookies = set_cookies(&first);
    let handoff = cookies
        .iter()
        .find(|c| c.starts_with("tp_driver_new="))
        .expect("the script's copy");
    assert!(
        handoff.starts_with(&format!("tp_driver_new={key};")) && !handoff.contains("HttpOnly"),
        "{handoff}"
    );
    assert!(handoff.contains("Max-Age=300"), "short-lived: {handoff}");

    // The form as the browser shows it: masked number and phone, sent back as is.
    let shown = form(6, "NONCE-MASK-006");
    let shown = with(shown, "document_number", "110105********002X");
    let shown = with(shown, "phone", "138****5678");
    let second = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.other_code),
        Some(&key),
        Some(&shown),
    )
    .await;
    second.assert_status(303);
    let pass = second.header("location").unwrap().to_owned();
    let rotated = cookie_key(&second);
    assert_ne!(rotated, key, "a new key with every registration");
    // A double tap from the same page carries the old key: still the same pass.
    let tapped = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.other_code),
        Some(&key),
        Some(&shown),
    )
    .await;
    tapped.assert_status(303);
    assert_eq!(tapped.header("location"), Some(pass.as_str()));
    // The same masked form from a browser without a key is asked again.
    let foreign = with(shown, "nonce", "NONCE-MASK-007");
    let asked = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.other_code),
        None,
        Some(&foreign),
    )
    .await;
    asked.assert_status(422);
    assert!(
        asked.text.contains("id=\"document_number-err\"")
            && asked.text.contains("id=\"phone-err\"")
    );

    let items = registrations(&app, &site.admin).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(
        items
            .iter()
            .all(|r| r["document_number"] == "110105********002X" && r["phone"] == "138****5678")
    );
    // The page of a key that moved on empties it, and tells the script to drop its copy.
    let stale = send(
        &app,
        Method::GET,
        &format!("/r/{}", site.code),
        Some(&key),
        None,
    )
    .await;
    assert!(
        stale.text.contains("data-cleared=\"1\"") && !stale.text.contains("data-prefilled=\"1\"")
    );
    assert!(
        set_cookies(&stale)
            .iter()
            .any(|c| c.starts_with("tp_driver=;") && c.contains("Max-Age=0"))
    );
}
api_test!(a_prefilled_form_submits_as_shown_and_hands_the_browser_a_new_key);

async fn forms_posted_from_another_site_are_refused(app: TestApp) {
    let site = site(&app).await;
    let path = format!("/r/{}", site.code);
    for headers in [
        [("origin", "https://evil.example")],
        [("origin", "null")],
        [("sec-fetch-site", "cross-site")],
    ] {
        let refused = send_with(
            &app,
            Method::POST,
            &path,
            None,
            Some(&form(7, "NONCE-XSITE-07")),
            &headers,
        )
        .await;
        refused.assert_status(403);
        assert!(
            refused.text.contains("请直接在本站的登记页面中填写和提交"),
            "{}",
            refused.text
        );
    }
    assert!(
        registrations(&app, &site.admin).await.is_empty(),
        "nothing stored"
    );

    let own_origin = app.address.clone();
    let created = send_with(
        &app,
        Method::POST,
        &path,
        None,
        Some(&form(7, "NONCE-XSITE-07")),
        &[("origin", &own_origin)],
    )
    .await;
    created.assert_status(303);
    // The browser's own word for it, whatever the Origin.
    let same = send_with(
        &app,
        Method::POST,
        &path,
        None,
        Some(&form(6, "NONCE-XSITE-06")),
        &[("origin", "null"), ("sec-fetch-site", "same-origin")],
    )
    .await;
    same.assert_status(303);
    let key = cookie_key(&created);
    let pass = created.header("location").unwrap().to_owned();
    let evil = [("origin", "https://evil.example")];
    send_with(
        &app,
        Method::POST,
        &format!("{pass}/cancel"),
        Some(&key),
        None,
        &evil,
    )
    .await
    .assert_status(403);
    send_with(
        &app,
        Method::POST,
        &format!("{path}/forget"),
        Some(&key),
        None,
        &evil,
    )
    .await
    .assert_status(403);
    let still = app
        .get(
            &format!("/api/v1/public{}", pass.replace("/p/", "/passes/")),
            None,
        )
        .await;
    assert_eq!(still.body["status"], "pending", "not cancelled");
    let kept = app
        .client
        .get(format!("{}/api/v1/public/drivers/me", app.address))
        .header("x-driver-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status().as_u16(), 200, "not erased");
}
api_test!(forms_posted_from_another_site_are_refused);

async fn driver_cookies_are_secure_when_the_site_is_https(app: TestApp) {
    let site = site(&app).await;
    let created = send(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&form(8, "NONCE-HTTPS-08")),
    )
    .await;
    created.assert_status(303);
    let cookies = set_cookies(&created);
    assert_eq!(cookies.len(), 2);
    assert!(cookies.iter().all(|c| c.contains("Secure")), "{cookies:?}");
    // Posted from the public address, the form is our own.
    let from_public = send_with(
        &app,
        Method::POST,
        &format!("/r/{}", site.code),
        None,
        Some(&form(9, "NONCE-HTTPS-09")),
        &[("origin", "https://truckpass.example")],
    )
    .await;
    from_public.assert_status(303);
}
api_test!(
    driver_cookies_are_secure_when_the_site_is_https,
    with(|settings| {
        settings.public_base_url = Some("https://truckpass.example".into());
    })
);

async fn invalid_submissions_do_not_use_up_an_enterprise_s_limit(app: TestApp) {
    let site = site(&app).await;
    for n in 0..5 {
        let mut junk = driver(70 + n);
        junk["plate"] = json!("ABC");
        register(&app, &site.code, junk, None)
            .await
            .assert_status(422);
    }
    register(&app, &site.code, driver(80), None)
        .await
        .assert_status(201);
    register(&app, &site.code, driver(81), None)
        .await
        .assert_status(201);
    register(&app, &site.code, driver(82), None)
        .await
        .assert_status(429);
}
api_test!(
    invalid_submissions_do_not_use_up_an_enterprise_s_limit,
    with(|settings| {
        settings.public_rate_per_code = 2;
    })
);

/// Registers vehicle `n` as a client at `ip` (behind a trusted proxy).
async fn register_from(app: &TestApp, code: &str, n: usize, ip: &str) -> u16 {
    let path = format!("/api/v1/public/codes/{code}/registrations");
    let request = app
        .client
        .post(format!("{}{path}", app.address))
        .header("x-forwarded-for", ip)
        .json(&other_driver(n));
    let response = TestApp::read(request.send().await.unwrap()).await;
    CONTRACT.check(&Method::POST, &path, &response);
    response.status
}

async fn ipv6_clients_share_one_limit_per_64(app: TestApp) {
    let site = site(&app).await;
    assert_eq!(
        register_from(&app, &site.code, 90, "2001:db8:1:2::1").await,
        201
    );
    assert_eq!(
        register_from(&app, &site.code, 91, "2001:db8:1:2::2").await,
        201
    );
    assert_eq!(
        register_from(&app, &site.code, 92, "2001:db8:1:2:ffff::9").await,
        429,
        "same /64"
    );
    assert_eq!(
        register_from(&app, &site.code, 93, "2001:db8:1:3::1").await,
        201,
        "another /64"
    );
    assert_eq!(register_from(&app, &site.code, 94, "10.0.0.1").await, 201);
}
api_test!(
    ipv6_clients_share_one_limit_per_64,
    with(|settings| {
        settings.public_rate_per_ip = 2;
        settings.trust_proxy_headers = true;
    })
);

/// Registers the `n`-th vehicle at `base` (an instance's address).
async fn register_at(app: &TestApp, base: &str, code: &str, n: usize) -> u16 {
    let path = format!("/api/v1/public/codes/{code}/registrations");
    let request = app.client.post(format!("{base}{path}")).json(&driver(n));
    let response = TestApp::read(request.send().await.unwrap()).await;
    CONTRACT.check(&Method::POST, &path, &response);
    response.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_postgresql_count_rate_limits_together() {
    use crate::helpers::Backend;
    let Some(app) = TestApp::spawn(Backend::Postgres, |settings| {
        settings.public_rate_per_ip = 4;
    })
    .await
    else {
        return;
    };
    let twin = app.twin();
    let site = site(&app).await;
    for (n, base) in [&app.address, &app.address, &twin, &twin]
        .into_iter()
        .enumerate()
    {
        assert_eq!(register_at(&app, base, &site.code, 200 + n).await, 201);
    }
    // Each replica shares its counts every 250 ms: after a few rounds, the first one
    // knows of the second one's hits too.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(register_at(&app, &app.address, &site.code, 210).await, 429);
}
