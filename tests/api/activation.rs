//! One-time activation codes: issuing, setting a password with one, accounts in bulk
//! and from the roster, the printed sheet, roles and the audit trail.

use std::io::Read;

use diesel::RunQueryDsl;
use serde_json::{Value, json};
use truckpass::codes::render::card_box;

use crate::helpers::{
    Browser, TestApp, TestResponse, USER_PASSWORD, api_test, cookie_value, credit_code, csrf_of,
    decode_qr_in, field_value, set_cookie,
};

/// A password no code or user name resembles.
const CHOSEN: &str = "Lantern-Orchid-61-Basalt";

async fn activate(app: &TestApp, username: &str, code: &str, password: &str) -> TestResponse {
    let body = json!({ "username": username, "code": code, "password": password });
    app.post("/api/v1/auth/activate", None, body).await
}

/// Issues a fresh code for `user` and returns it.
async fn issue(app: &TestApp, admin: &str, user: &str) -> String {
    let response = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/users/{user}/activation"),
            Some(admin),
            None,
        )
        .await;
    response.assert_status(201);
    response.body["activation"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every code in a bulk answer, with its user name.
fn codes_of(response: &TestResponse) -> Vec<(String, String)> {
    response.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["username"].as_str().unwrap().to_owned(),
                a["activation"]["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn user_count(app: &TestApp, admin: &str) -> usize {
    let page = app.get("/api/v1/users?limit=100", Some(admin)).await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().len()
}

async fn an_issued_code_sets_the_password_and_signs_the_owner_in(app: TestApp) {
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "zhang.wei", "regulator", &[], &[])
        .await;
    let (old_session, _) = app.tokens("zhang.wei", USER_PASSWORD).await;

    let code = issue(&app, &admin, &user).await;
    assert!(
        code.len() == 14 && code.chars().filter(|c| *c == '-').count() == 2,
        "{code}"
    );
    // The old password and sessions are gone until the owner sets a new one.
    app.login("zhang.wei", USER_PASSWORD)
        .await
        .assert_status(401);
    app.get("/api/v1/me", Some(&old_session))
        .await
        .assert_status(401);

    let signed_in = activate(&app, "Zhang.Wei", &code, CHOSEN).await;
    signed_in.assert_status(200);
    assert_eq!(signed_in.body["user"]["username"], "zhang.wei");
    assert_eq!(signed_in.body["user"]["must_change_password"], false);
    let token = signed_in.body["access_token"].as_str().unwrap();
    app.get("/api/v1/registrations", Some(token))
        .await
        .assert_status(200);
    app.login("zhang.wei", CHOSEN).await.assert_status(200);

    // Used once: not again.
    let again = activate(&app, "zhang.wei", &code, "Another-Quiet-Meadow-75").await;
    again.assert_status(401);
    assert_eq!(again.code(), "activation_code_invalid");
    app.login("zhang.wei", CHOSEN).await.assert_status(200);
}
api_test!(an_issued_code_sets_the_password_and_signs_the_owner_in);

/// Another password that passes the policy.
const OTHER: &str = "Another-Quiet-Meadow-75";

/// Posts the console's activation form of `zhou.min`, with `csrf` or without.
async fn submit(
    browser: &mut Browser<'_>,
    csrf: Option<&str>,
    code: &str,
    new: &str,
    again: &str,
) -> TestResponse {
    let mut fields = vec![
        ("username", "zhou.min"),
        ("code", code),
        ("new_password", new),
        ("new_password_again", again),
    ];
    if let Some(csrf) = csrf {
        fields.push(("csrf", csrf));
    }
    browser.post("/console/activate", &fields).await
}

async fn console_activation_page_sets_the_password_and_signs_in(app: TestApp) {
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "zhou.min", "regulator", &[], &[])
        .await;
    let issued = app
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/users/{user}/activation"),
            Some(&admin),
            None,
        )
        .await;
    issued.assert_status(201);
    let code = issued.body["activation"]["code"].as_str().unwrap();
    let url = url::Url::parse(issued.body["activation"]["url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/console/activate");
    let link = format!("{}?{}", url.path(), url.query().expect("u and c"));

    // The link's form: user name and code filled in, its own CSRF cookie.
    let mut browser = Browser::new(&app);
    let page = browser.get(&link).await;
    page.assert_status(200);
    assert_eq!(field_value(&page.text, "username"), "zhou.min");
    assert_eq!(field_value(&page.text, "code"), code);
    for field in ["new_password", "new_password_again"] {
        assert!(
            page.text
                .contains(&format!("type=\"password\" name=\"{field}\"")),
            "{field}: {}",
            page.text
        );
    }
    let csrf = csrf_of(&page);
    let cookie = set_cookie(&page, "tp_console_login");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console/activate"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert_eq!(browser.cookie("tp_console_login"), Some(csrf.as_str()));
    assert_eq!(cookie_value(&page, "tp_console_login"), Some(csrf.clone()));

    // Without the form's token: refused, nothing changed.
    let forged = submit(&mut browser, None, code, CHOSEN, CHOSEN).await;
    forged.assert_status(403);
    let wrong_token = Some("not-the-token");
    submit(&mut browser, wrong_token, code, CHOSEN, CHOSEN)
        .await
        .assert_status(403);
    assert!(!browser.cookies.contains_key("tp_console"));

    // A wrong code: the form again, 401.
    let wrong = submit(&mut browser, Some(&csrf), "K7QM-3XPA-9RTD", CHOSEN, CHOSEN).await;
    wrong.assert_status(401);
    assert!(wrong.text.contains("role=\"alert\""), "{}", wrong.text);
    assert_eq!(field_value(&wrong.text, "username"), "zhou.min");
    assert_eq!(csrf_of(&wrong), csrf);
    assert!(!browser.cookies.contains_key("tp_console"));

    // Passwords that differ, then a weak one: 422, the code still usable.
    let mismatch = submit(&mut browser, Some(&csrf), code, CHOSEN, OTHER).await;
    mismatch.assert_status(422);
    assert!(
        mismatch.text.contains("两次输入的新密码不一致"),
        "{}",
        mismatch.text
    );
    assert_eq!(field_value(&mismatch.text, "code"), code);
    let weak = submit(
        &mut browser,
        Some(&csrf),
        code,
        "password123",
        "password123",
    )
    .await;
    weak.assert_status(422);
    assert!(!browser.cookies.contains_key("tp_console"));
    app.login("zhou.min", CHOSEN).await.assert_status(401);

    // The code and a good password: signed in, home.
    let activated = submit(&mut browser, Some(&csrf), code, CHOSEN, CHOSEN).await;
    activated.assert_status(303);
    assert_eq!(activated.header("location"), Some("/console/"));
    let session = set_cookie(&activated, "tp_console");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(browser.cookies.contains_key("tp_console"));
    assert!(
        !browser.cookies.contains_key("tp_console_login"),
        "the form's cookie is removed"
    );
    let home = browser.get("/console/").await;
    home.assert_status(200);
    assert!(home.text.contains("退出（zhou.min）"), "{}", home.text);
    app.login("zhou.min", CHOSEN).await.assert_status(200);

    // Used once: the link again signs nobody in.
    let mut again = Browser::new(&app);
    let page = again.get(&link).await;
    page.assert_status(200);
    let csrf = csrf_of(&page);
    let reused = submit(&mut again, Some(&csrf), code, OTHER, OTHER).await;
    reused.assert_status(401);
    assert!(!again.cookies.contains_key("tp_console"));
    activate(&app, "zhou.min", code, OTHER)
        .await
        .assert_status(401);
    app.login("zhou.min", CHOSEN).await.assert_status(200);

    let audit = app
        .get("/api/v1/audit?action=auth.activate", Some(&admin))
        .await;
    audit.assert_status(200);
    let entries = audit.body["items"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["outcome"] == "success" && e["object_id"] == user.as_str()),
        "{}",
        audit.text
    );
    assert!(!audit.text.contains(code), "no code in the audit log");
}
api_test!(console_activation_page_sets_the_password_and_signs_in);

async fn wrong_replaced_and_expired_codes_are_refused(app: TestApp) {
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "li.na", "regulator", &[], &[])
        .await;
    let first = issue(&app, &admin, &user).await;
    let second = issue(&app, &admin, &user).await;
    assert_ne!(first, second);
    for (username, code) in [
        ("li.na", first.as_str()),
        ("li.na", "K7QM-3XPA-9RTD"),
        ("li.na", "not a code"),
        ("nobody", second.as_str()),
    ] {
        let refused = activate(&app, username, code, CHOSEN).await;
        refused.assert_status(401);
        assert_eq!(refused.code(), "activation_code_invalid", "{code}");
        assert!(refused.body["detail"].as_str().unwrap().contains("激活码"));
    }

    let mut conn = app.raw_connection();
    diesel::sql_query("UPDATE activation_codes SET expires_at = created_at")
        .execute(&mut conn)
        .unwrap();
    let expired = activate(&app, "li.na", &second, CHOSEN).await;
    expired.assert_status(401);
    assert_eq!(expired.code(), "activation_code_invalid");

    // Typed in lower case without the dashes, a current code works.
    let third = issue(&app, &admin, &user).await;
    let typed = third.replace('-', " ").to_lowercase();
    activate(&app, "li.na", &typed, CHOSEN)
        .await
        .assert_status(200);
}
api_test!(wrong_replaced_and_expired_codes_are_refused);

async fn a_weak_password_is_refused_and_leaves_the_code_usable(app: TestApp) {
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "wang.fang", "regulator", &[], &[])
        .await;
    let code = issue(&app, &admin, &user).await;
    for weak in ["short", "password123", "wang.fang2026"] {
        let refused = activate(&app, "wang.fang", &code, weak).await;
        refused.assert_status(422);
        assert_eq!(refused.body["errors"][0]["field"], "password", "{weak}");
    }
    activate(&app, "wang.fang", &code, CHOSEN)
        .await
        .assert_status(200);
}
api_test!(a_weak_password_is_refused_and_leaves_the_code_usable);

async fn guessing_codes_is_throttled_like_signing_in(app: TestApp) {
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "zhao.lei", "regulator", &[], &[])
        .await;
    let code = issue(&app, &admin, &user).await;
    let limit = app.settings.login_max_failures_per_account_ip;
    for _ in 0..limit {
        activate(&app, "zhao.lei", "K7QM-3XPA-9RTD", CHOSEN)
            .await
            .assert_status(401);
    }
    let throttled = activate(&app, "zhao.lei", &code, CHOSEN).await;
    throttled.assert_status(429);
    assert!(throttled.header("retry-after").is_some());
}
api_test!(guessing_codes_is_throttled_like_signing_in);

async fn only_admins_issue_create_in_bulk_and_print(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let target = app
        .create_user(&admin, "target1", "regulator", &[], &[])
        .await;
    let bulk = json!({ "rows": [{ "display_name": "某人", "role": "regulator" }] });
    let roster = json!({ "all_without_contact": true });
    let sheet = json!({ "user_ids": [target] });
    for role in [
        "regulator",
        "sector_official",
        "park_official",
        "surveyor",
        "enterprise_contact",
    ] {
        let token = Some(staff.token(role));
        let issue_path = format!("/api/v1/users/{target}/activation");
        let answers = [
            app.call(reqwest::Method::POST, &issue_path, token, None)
                .await,
            app.post("/api/v1/users/bulk", token, bulk.clone()).await,
            app.post("/api/v1/users/contacts-from-roster", token, roster.clone())
                .await,
            app.post("/api/v1/users/activation-sheet", token, sheet.clone())
                .await,
        ];
        for answer in answers {
            answer.assert_status(403);
            assert_eq!(answer.code(), "forbidden", "{role}");
        }
    }
    let anonymous = app.post("/api/v1/users/bulk", None, bulk).await;
    anonymous.assert_status(401);
    app.login("target1", USER_PASSWORD).await.assert_status(200);
}
api_test!(only_admins_issue_create_in_bulk_and_print);

async fn unknown_accounts_are_not_found(app: TestApp) {
    let admin = app.admin_token().await;
    let missing = app
        .call(
            reqwest::Method::POST,
            "/api/v1/users/019ac1f3-0b6e-7c1d-8a42-3e9d5f2b7c61/activation",
            Some(&admin),
            None,
        )
        .await;
    missing.assert_status(404);
    let sheet = json!({ "user_ids": ["019ac1f3-0b6e-7c1d-8a42-3e9d5f2b7c61"] });
    let refused = app
        .post("/api/v1/users/activation-sheet", Some(&admin), sheet)
        .await;
    refused.assert_status(422);
    assert_eq!(refused.body["errors"][0]["field"], "user_ids[0]");
    assert_eq!(refused.body["errors"][0]["code"], "unknown_user");
}
api_test!(unknown_accounts_are_not_found);

async fn bulk_creation_is_all_or_nothing_with_every_rows_errors(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let enterprise = app
        .create_enterprise(&admin, "福州第一化工有限公司", &sector, &park)
        .await;
    let before = user_count(&app, &admin).await;
    let good = json!([
        { "display_name": "李娜", "role": "surveyor", "sector_ids": [sector] },
        { "display_name": "联系人甲", "username": "fz.chem", "role": "enterprise_contact",
          "enterprise_id": enterprise },
        { "display_name": "园区王", "role": "park_official", "park_ids": [park] },
    ]);
    let mut rows = good.as_array().unwrap().clone();
    rows.extend([
        json!({ "display_name": "甲", "role": "captain" }),
        json!({ "display_name": "乙", "role": "sector_official", "sector_ids": ["nope"] }),
        json!({ "display_name": "丙", "username": "FZ.chem", "role": "regulator" }),
        json!({ "display_name": "丁", "username": "admin", "role": "regulator" }),
        json!({ "display_name": "", "username": "_bad", "role": "surveyor", "park_ids": [park] }),
    ]);
    let refused = app
        .post("/api/v1/users/bulk", Some(&admin), json!({ "rows": rows }))
        .await;
    refused.assert_status(422);
    let fields: Vec<(&str, &str)> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("rows[3].role", "invalid_value"),
            ("rows[4].sector_ids[0]", "unknown_org_unit"),
            ("rows[5].username", "duplicate_username"),
            ("rows[6].username", "username_taken"),
            ("rows[7].display_name", "required"),
            ("rows[7].username", "invalid_username"),
        ],
        "{}",
        refused.text
    );
    assert!(refused.body["errors"].as_array().unwrap().iter().all(|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
    }));
    assert_eq!(user_count(&app, &admin).await, before, "nothing written");

    // Past the API's usual 64 KB, a bulk body is read; past 1000 rows it is refused.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({ "display_name": format!("摸排员{i}"), "role": "surveyor", "sector_ids": [sector] }))
        .collect();
    let body = json!({ "dry_run": true, "rows": many });
    assert!(body.to_string().len() > 64 * 1024);
    let too_many = app.post("/api/v1/users/bulk", Some(&admin), body).await;
    too_many.assert_status(422);
    assert_eq!(too_many.body["errors"][0]["code"], "too_many_accounts");

    let dry = app
        .post(
            "/api/v1/users/bulk",
            Some(&admin),
            json!({ "dry_run": true, "rows": good }),
        )
        .await;
    dry.assert_status(200);
    assert_eq!(dry.body["dry_run"], true);
    let planned = dry.body["accounts"].as_array().unwrap();
    assert_eq!(planned.len(), 3);
    assert!(
        planned
            .iter()
            .all(|a| a["id"].is_null() && a["activation"].is_null())
    );
    assert_eq!(planned[1]["username"], "fz.chem");
    assert_eq!(
        user_count(&app, &admin).await,
        before,
        "a dry run writes nothing"
    );

    let created = app
        .post("/api/v1/users/bulk", Some(&admin), json!({ "rows": good }))
        .await;
    created.assert_status(201);
    assert_eq!(user_count(&app, &admin).await, before + 3);
    let codes = codes_of(&created);
    assert!(codes[0].0.starts_with("survey-"), "{codes:?}");
    assert!(codes[2].0.starts_with("park-"), "{codes:?}");
    let accounts = created.body["accounts"].as_array().unwrap();
    assert_eq!(accounts[1]["enterprise_id"], enterprise.as_str());
    assert_eq!(accounts[0]["sector_ids"], json!([sector]));
    // No password until the owner sets one.
    let (username, code) = &codes[1];
    let signed_in = activate(&app, username, code, CHOSEN).await;
    signed_in.assert_status(200);
    assert_eq!(signed_in.body["user"]["role"], "enterprise_contact");
    assert_eq!(signed_in.body["user"]["enterprise_id"], enterprise.as_str());
}
api_test!(bulk_creation_is_all_or_nothing_with_every_rows_errors);

async fn contacts_from_the_roster_skip_enterprises_that_have_one(app: TestApp) {
    let (admin, [first, second, third]) = app
        .coded_enterprises([
            "福州第一化工有限公司",
            "福州第二机械有限公司",
            "福州第三物流有限公司",
        ])
        .await;
    app.create_contact(&admin, "contact1", &first.id).await;

    let named = app
        .post(
            "/api/v1/users/contacts-from-roster",
            Some(&admin),
            json!({ "enterprise_ids": [first.id, second.id], "dry_run": true }),
        )
        .await;
    named.assert_status(200);
    assert_eq!(named.body["skipped_enterprise_ids"], json!([first.id]));
    assert_eq!(named.body["accounts"].as_array().unwrap().len(), 1);

    let created = app
        .post(
            "/api/v1/users/contacts-from-roster",
            Some(&admin),
            json!({ "all_without_contact": true }),
        )
        .await;
    created.assert_status(201);
    let accounts = created.body["accounts"].as_array().unwrap();
    let enterprises: Vec<&str> = accounts
        .iter()
        .map(|a| a["enterprise_id"].as_str().unwrap())
        .collect();
    assert_eq!(enterprises, [second.id.as_str(), third.id.as_str()]);
    assert_eq!(
        accounts[0]["username"],
        format!("ent-{}", credit_code("福州第二机械有限公司").to_lowercase())
    );
    assert_eq!(accounts[0]["display_name"], "福州第二机械有限公司联系人");
    assert_eq!(created.body["remaining"], 0);

    let again = app
        .post(
            "/api/v1/users/contacts-from-roster",
            Some(&admin),
            json!({ "all_without_contact": true }),
        )
        .await;
    again.assert_status(201);
    assert_eq!(again.body["accounts"], json!([]));

    let unknown = app
        .post(
            "/api/v1/users/contacts-from-roster",
            Some(&admin),
            json!({ "enterprise_ids": [second.id, "nope"] }),
        )
        .await;
    unknown.assert_status(422);
    assert_eq!(unknown.body["errors"][0]["field"], "enterprise_ids[1]");
    let neither = app
        .post(
            "/api/v1/users/contacts-from-roster",
            Some(&admin),
            json!({}),
        )
        .await;
    neither.assert_status(422);

    let (username, code) = &codes_of(&created)[1];
    activate(&app, username, code, CHOSEN)
        .await
        .assert_status(200);
}
api_test!(contacts_from_the_roster_skip_enterprises_that_have_one);

async fn the_sheet_carries_fresh_codes_that_scan_to_the_activation_page(app: TestApp) {
    let (admin, _) = app
        .coded_enterprises(["福州第一化工有限公司", "福州第二机械有限公司"])
        .await;
    let created = app
        .post(
            "/api/v1/users/contacts-from-roster",
            Some(&admin),
            json!({ "all_without_contact": true }),
        )
        .await;
    created.assert_status(201);
    let ids: Vec<String> = created.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let old_codes = codes_of(&created);

    let sheet = app
        .post(
            "/api/v1/users/activation-sheet",
            Some(&admin),
            json!({ "user_ids": ids }),
        )
        .await;
    sheet.assert_status(200);
    assert_eq!(sheet.header("content-type"), Some("image/png"));
    let base = app.settings.public_base_url();
    for (index, (username, old)) in old_codes.iter().enumerate() {
        let found = decode_qr_in(&sheet.bytes, card_box(index));
        assert_eq!(found.len(), 1, "card {index}: {found:?}");
        let prefix = format!("{base}/console/activate?u={username}&c=");
        let code = found[0]
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{} is not {prefix}…", found[0]));
        assert_ne!(code, old, "the sheet issues fresh codes");
        activate(&app, username, old, CHOSEN)
            .await
            .assert_status(401);
        activate(&app, username, code, CHOSEN)
            .await
            .assert_status(200);
    }
}
api_test!(the_sheet_carries_fresh_codes_that_scan_to_the_activation_page);

async fn a_sheet_of_more_than_eight_is_a_zip_of_pages(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let rows: Vec<Value> = (0..9)
        .map(|i| json!({ "display_name": format!("摸排员{i}"), "role": "surveyor", "sector_ids": [sector] }))
        .collect();
    let created = app
        .post("/api/v1/users/bulk", Some(&admin), json!({ "rows": rows }))
        .await;
    created.assert_status(201);
    let ids: Vec<&str> = created.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let sheet = app
        .post(
            "/api/v1/users/activation-sheet",
            Some(&admin),
            json!({ "user_ids": ids }),
        )
        .await;
    sheet.assert_status(200);
    assert_eq!(sheet.header("content-type"), Some("application/zip"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(sheet.bytes.clone())).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    assert_eq!(names, ["page-001.png", "page-002.png"]);
    let mut last = Vec::new();
    zip.by_name("page-002.png")
        .unwrap()
        .read_to_end(&mut last)
        .unwrap();
    let found = decode_qr_in(&last, card_box(0));
    let ninth = created.body["accounts"][8]["username"].as_str().unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].contains(&format!("u={ninth}&c=")), "{found:?}");
}
api_test!(a_sheet_of_more_than_eight_is_a_zip_of_pages);

async fn activation_is_audited_without_the_codes(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let rows = json!([{ "display_name": "李娜", "role": "surveyor", "sector_ids": [sector] }]);
    let created = app
        .post("/api/v1/users/bulk", Some(&admin), json!({ "rows": rows }))
        .await;
    created.assert_status(201);
    let (username, first) = codes_of(&created).remove(0);
    let id = created.body["accounts"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = issue(&app, &admin, &id).await;
    activate(&app, &username, &first, CHOSEN)
        .await
        .assert_status(401);
    activate(&app, &username, &second, CHOSEN)
        .await
        .assert_status(200);

    let audit = app.get("/api/v1/audit?limit=100", Some(&admin)).await;
    audit.assert_status(200);
    let entries: Vec<(String, String, String)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["object_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("user.create", "success", id.as_str()),
        ("user.activation_issue", "success", id.as_str()),
        ("auth.activate", "failure", ""),
        ("auth.activate", "success", id.as_str()),
    ] {
        let (action, outcome, object) = expected;
        assert!(
            entries
                .iter()
                .any(|(a, o, i)| a == action && o == outcome && i == object),
            "{expected:?} not in {entries:?}"
        );
    }
    for code in [&first, &second] {
        for form in [code.clone(), code.replace('-', "")] {
            assert!(!audit.text.contains(&form), "{form} in the audit log");
        }
    }
    // Nor in the database, other than hashed.
    let mut conn = app.raw_connection();
    let hashes: Vec<String> = diesel::sql_query("SELECT code_hash AS text FROM activation_codes")
        .load::<TextRow>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| row.text)
        .collect();
    assert!(hashes.is_empty(), "used codes are gone: {hashes:?}");
}
api_test!(activation_is_audited_without_the_codes);

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// The real binary, logging at `debug`: after codes are issued in bulk, one by one
/// and on a sheet, and used (wrongly and rightly), no form of any code is in its log.
#[tokio::test]
async fn no_code_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("truckpass.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_truckpass"))
        .env("TRUCKPASS_DATA_DIR", dir.path().join("data"))
        .env("TRUCKPASS_LISTEN", format!("127.0.0.1:{port}"))
        .env("TRUCKPASS_ADMIN_PASSWORD", crate::helpers::ADMIN_PASSWORD)
        .env("RUST_LOG", "debug")
        .env_remove("DATABASE_URL")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.bytes().await.unwrap();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let mut codes = Vec::new();
    if ready {
        let login = json!({ "username": "admin", "password": crate::helpers::ADMIN_PASSWORD });
        let (_, session) = post("/api/v1/auth/login", None, login).await;
        let admin = session["access_token"].as_str().unwrap().to_owned();
        let rows = json!({ "rows": [{ "display_name": "李娜", "username": "li.na", "role": "regulator" }] });
        let (status, created) = post("/api/v1/users/bulk", Some(&admin), rows).await;
        assert_eq!(status, 201, "{created}");
        let id = created["accounts"][0]["id"].as_str().unwrap().to_owned();
        codes.push(
            created["accounts"][0]["activation"]["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let path = format!("/api/v1/users/{id}/activation");
        let (_, issued) = post(&path, Some(&admin), json!({})).await;
        codes.push(issued["activation"]["code"].as_str().unwrap().to_owned());
        let (status, _) = post(
            "/api/v1/users/activation-sheet",
            Some(&admin),
            json!({ "user_ids": [id] }),
        )
        .await;
        assert_eq!(status, 200);
        for code in &codes {
            let body = json!({ "username": "li.na", "code": code, "password": CHOSEN });
            let (status, _) = post("/api/v1/auth/activate", None, body).await;
            assert_eq!(status, 401);
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(ready, "the server did not start: {logged}");
    assert!(logged.contains("/api/v1/auth/activate"), "{logged}");
    for code in &codes {
        for form in [code.clone(), code.replace('-', "")] {
            assert!(!logged.contains(&form), "{form} is in the log:\n{logged}");
        }
    }
}
