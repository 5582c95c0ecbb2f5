//! The staff console through HTTP: sign-in and sign-out, the session cookie, CSRF,
//! sessions ended by password change, disabling and timeouts, the forced password
//! change, and the enterprise contact's pages (scope, approve, reject, bulk approve,
//! reveal, settings) writing the API's audit entries.

use serde_json::json;

use crate::helpers::{
    ADMIN_PASSWORD, Browser, INITIAL_PASSWORD, TestApp, TestResponse, USER_PASSWORD, api_test,
    csrf_of, set_cookie,
};
use crate::registrations::{PHONE, RESIDENT_ID, plate, registered, registration_id};

fn assert_sent_to_sign_in(response: &TestResponse) {
    response.assert_status(303);
    assert_eq!(response.header("location"), Some("/console/login"));
}

/// Audit entries with `action` (newest first), as the admin sees them.
pub(crate) async fn audit(app: &TestApp, admin: &str, action: &str) -> Vec<serde_json::Value> {
    let response = app
        .get(&format!("/api/v1/audit?action={action}"), Some(admin))
        .await;
    response.assert_status(200);
    response.body["items"].as_array().expect("items").clone()
}

async fn signing_in_sets_a_strict_session_cookie_and_signing_out_ends_the_session(app: TestApp) {
    let mut browser = Browser::new(&app);
    assert_sent_to_sign_in(&browser.get("/console/").await);
    let login = browser.get("/console/login").await;
    login.assert_status(200);
    let policy = login.header("content-security-policy").expect("a CSP");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{part} in {policy}");
    }
    assert!(login.text.contains("lang=\"zh-CN\""));

    let wrong = browser.sign_in("admin", "not-the-password").await;
    wrong.assert_status(401);
    assert!(wrong.text.contains("用户名或密码错误"));
    assert!(!browser.cookies.contains_key("tp_console"));

    let signed = browser.sign_in("admin", ADMIN_PASSWORD).await;
    signed.assert_status(303);
    let cookie = set_cookie(&signed, "tp_console");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");

    let home = browser.get("/console/").await;
    home.assert_status(200);
    let script = home
        .text
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the htmx script")
        .to_owned();
    assert!(script.starts_with("/console/assets/htmx-") && script.ends_with(".js"));
    assert!(!home.text.contains("<script>"), "no inline script");
    let asset = browser.get(&script).await;
    asset.assert_status(200);
    assert!(asset.header("cache-control").unwrap().contains("immutable"));
    browser
        .get("/console/assets/htmx-0000000000000000.js")
        .await
        .assert_status(404);
    // Not an operation of openapi.yaml: asked without the contract check.
    let unknown = app
        .client
        .get(format!("{}/console/no-such-page", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("未找到"));
    // The console's address typed without its slash is its home.
    let bare = app
        .client
        .get(format!("{}/console", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 303);
    assert_eq!(bare.headers()["location"], "/console/");

    let session = browser.cookies["tp_console"].clone();
    let csrf = csrf_of(&home);
    assert_sent_to_sign_in(&browser.post("/console/logout", &[("csrf", &csrf)]).await);
    assert!(!browser.cookies.contains_key("tp_console"));
    // The old cookie, presented again, opens nothing.
    browser.cookies.insert("tp_console".into(), session);
    assert_sent_to_sign_in(&browser.get("/console/").await);

    let admin = app.admin_token().await;
    assert!(!audit(&app, &admin, "auth.logout").await.is_empty());
}
api_test!(signing_in_sets_a_strict_session_cookie_and_signing_out_ends_the_session);

async fn the_cookie_is_secure_behind_https(app: TestApp) {
    let signed = Browser::new(&app).sign_in("admin", ADMIN_PASSWORD).await;
    signed.assert_status(303);
    let cookie = set_cookie(&signed, "tp_console");
    assert!(cookie.contains("Secure"), "{cookie}");
}
api_test!(
    the_cookie_is_secure_behind_https,
    with(|settings| settings.public_base_url = Some("https://truckpass.example.cn".into()))
);

/// A contact of its own enterprise, with `n` pending filings, in a zone with a second
/// enterprise that has one of its own.
struct Filings {
    admin: String,
    contact: String,
    own: Vec<String>,
    foreign: String,
}

async fn filings(app: &TestApp, n: usize) -> Filings {
    let (admin, [own, other]) = app
        .coded_enterprises(["福州恒信化工有限公司", "福州远大物流有限公司"])
        .await;
    app.create_contact(&admin, "contact1", &own.id).await;
    let contact = app.tokens("contact1", USER_PASSWORD).await.0;
    let mut ids = Vec::new();
    for i in 1..=n {
        registered(app, &own.code, i).await;
        ids.push(registration_id(app, &contact, &plate(i)).await);
    }
    registered(app, &other.code, 99).await;
    let foreign = registration_id(app, &admin, &plate(99)).await;
    Filings {
        admin,
        contact,
        own: ids,
        foreign,
    }
}

async fn status_of(app: &TestApp, token: &str, id: &str) -> String {
    let response = app
        .get(&format!("/api/v1/registrations/{id}"), Some(token))
        .await;
    response.assert_status(200);
    response.body["status"].as_str().unwrap().to_owned()
}

async fn posts_without_the_session_s_csrf_token_are_refused_and_change_nothing(app: TestApp) {
    let zone = filings(&app, 1).await;
    let id = &zone.own[0];
    let mut browser = Browser::signed_in(&app, "contact1", USER_PASSWORD).await;
    let approve = format!("/console/registrations/{id}/approve");
    browser.post(&approve, &[]).await.assert_status(403);
    browser
        .post(&approve, &[("csrf", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")])
        .await
        .assert_status(403);
    browser
        .post("/console/settings", &[("auto_approve", "on")])
        .await
        .assert_status(403);
    browser
        .post("/console/logout", &[])
        .await
        .assert_status(403);
    assert_eq!(status_of(&app, &zone.contact, id).await, "pending");
    browser.get("/console/").await.assert_status(200);

    // The sign-in form has its own token, in a cookie another site cannot read.
    let mut stranger = Browser::new(&app);
    stranger
        .post(
            "/console/login",
            &[("username", "contact1"), ("password", USER_PASSWORD)],
        )
        .await
        .assert_status(403);
}
api_test!(posts_without_the_session_s_csrf_token_are_refused_and_change_nothing);

async fn a_password_change_disabling_and_a_reset_end_console_sessions(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "regulator1", "regulator", &[], &[])
        .await;
    let mut browser = Browser::signed_in(&app, "regulator1", USER_PASSWORD).await;
    let (token, _) = app.tokens("regulator1", USER_PASSWORD).await;
    let change =
        json!({ "current_password": USER_PASSWORD, "new_password": "Amber-Falcon-62-Meadow" });
    app.put("/api/v1/me/password", Some(&token), change)
        .await
        .assert_status(200);
    assert_sent_to_sign_in(&browser.get("/console/").await);

    let mut browser = Browser::signed_in(&app, "regulator1", "Amber-Falcon-62-Meadow").await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        json!({ "active": false }),
    )
    .await
    .assert_status(200);
    assert_sent_to_sign_in(&browser.get("/console/registrations").await);
    let refused = browser
        .sign_in("regulator1", "Amber-Falcon-62-Meadow")
        .await;
    refused.assert_status(401);

    let user = format!("/api/v1/users/{id}");
    app.patch(&user, Some(&admin), json!({ "active": true }))
        .await
        .assert_status(200);
    let mut browser = Browser::signed_in(&app, "regulator1", "Amber-Falcon-62-Meadow").await;
    let reset = json!({ "new_password": INITIAL_PASSWORD });
    app.put(&format!("{user}/password"), Some(&admin), reset)
        .await
        .assert_status(204);
    assert_sent_to_sign_in(&browser.get("/console/").await);
}
api_test!(a_password_change_disabling_and_a_reset_end_console_sessions);

async fn sessions_end_after_thirty_idle_minutes_and_twelve_hours(app: TestApp) {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;
    let mut idle = Browser::signed_in(&app, "admin", ADMIN_PASSWORD).await;
    idle.get("/console/").await.assert_status(200);
    let shift = |column: &str, minutes: i64, token: &str| {
        let mut conn = app.raw_connection();
        let when = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes))
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
        let cast = match app.backend {
            crate::helpers::Backend::Sqlite => "?",
            crate::helpers::Backend::Postgres => "CAST($1 AS TIMESTAMP)",
        };
        let placeholder = match app.backend {
            crate::helpers::Backend::Sqlite => "?",
            crate::helpers::Backend::Postgres => "$2",
        };
        let sql = format!(
            "UPDATE console_sessions SET {column} = {cast} WHERE token_hash = {placeholder}"
        );
        let changed = diesel::sql_query(sql)
            .bind::<Text, _>(when)
            .bind::<Text, _>(hash)
            .execute(&mut conn)
            .expect("session shifted");
        assert_eq!(changed, 1);
    };
    shift("last_seen_at", 29, &idle.cookies["tp_console"]);
    idle.get("/console/").await.assert_status(200);
    shift("last_seen_at", 31, &idle.cookies["tp_console"]);
    assert_sent_to_sign_in(&idle.get("/console/").await);

    let mut long = Browser::signed_in(&app, "admin", ADMIN_PASSWORD).await;
    shift("created_at", 12 * 60 + 1, &long.cookies["tp_console"]);
    assert_sent_to_sign_in(&long.get("/console/").await);

    // The hourly job forgets sessions past a timeout that nobody came back to.
    let forgotten = Browser::signed_in(&app, "admin", ADMIN_PASSWORD).await;
    let mut live = Browser::signed_in(&app, "admin", ADMIN_PASSWORD).await;
    shift("last_seen_at", 31, &forgotten.cookies["tp_console"]);
    let now = chrono::Utc::now().naive_utc();
    let swept = truckpass::console::session::sweep(&mut app.raw_connection(), now).unwrap();
    assert_eq!(swept, 1);
    live.get("/console/").await.assert_status(200);
}
api_test!(sessions_end_after_thirty_idle_minutes_and_twelve_hours);

async fn a_user_who_must_change_the_password_sees_only_that_page(app: TestApp) {
    let admin = app.admin_token().await;
    let body = json!({
        "username": "newcomer", "display_name": "新同事", "password": INITIAL_PASSWORD,
        "role": "regulator",
    });
    app.post("/api/v1/users", Some(&admin), body)
        .await
        .assert_status(201);
    let mut browser = Browser::signed_in(&app, "newcomer", INITIAL_PASSWORD).await;
    for page in ["/console/", "/console/registrations", "/console/settings"] {
        let response = browser.get(page).await;
        response.assert_status(303);
        assert_eq!(response.header("location"), Some("/console/password"));
    }
    let form = browser.get("/console/password").await;
    form.assert_status(200);
    let csrf = csrf_of(&form);
    let short = browser
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current_password", INITIAL_PASSWORD),
                ("new_password", "short"),
                ("new_password_again", "short"),
            ],
        )
        .await;
    short.assert_status(422);
    let wrong = browser
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current_password", "wrong-password"),
                ("new_password", USER_PASSWORD),
                ("new_password_again", USER_PASSWORD),
            ],
        )
        .await;
    wrong.assert_status(422);
    assert!(wrong.text.contains("当前密码不正确"));
    let changed = browser
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current_password", INITIAL_PASSWORD),
                ("new_password", USER_PASSWORD),
                ("new_password_again", USER_PASSWORD),
            ],
        )
        .await;
    changed.assert_status(303);
    assert_eq!(changed.header("location"), Some("/console/"));
    // The session goes on with the new password; the API's user can sign in with it.
    browser.get("/console/").await.assert_status(200);
    app.tokens("newcomer", USER_PASSWORD).await;
    assert!(!audit(&app, &admin, "user.change_password").await.is_empty());
}
api_test!(a_user_who_must_change_the_password_sees_only_that_page);

async fn the_contact_decides_its_own_filings_only_and_the_api_s_audit_entries_are_written(
    app: TestApp,
) {
    let zone = filings(&app, 4).await;
    let mut browser = Browser::signed_in(&app, "contact1", USER_PASSWORD).await;
    let csrf = browser.csrf().await;

    let list = browser.get("/console/registrations").await;
    list.assert_status(200);
    assert!(list.text.contains("hx-trigger=\"every 15s\""));
    assert!(
        list.text
            .contains(&format!("/console/registrations/{}", zone.own[0]))
    );
    assert!(
        !list.text.contains(&zone.foreign),
        "a foreign filing is listed"
    );
    assert!(!list.text.contains(RESIDENT_ID) && !list.text.contains(PHONE));
    let rows = browser
        .get("/console/registrations/rows?status=pending")
        .await;
    rows.assert_status(200);
    assert!(rows.text.contains(&zone.own[3]));
    browser
        .get("/console/registrations?status=nonsense")
        .await
        .assert_status(422);

    let foreign = format!("/console/registrations/{}", zone.foreign);
    browser.get(&foreign).await.assert_status(404);
    browser
        .post(&format!("{foreign}/approve"), &[("csrf", &csrf)])
        .await
        .assert_status(404);
    assert_eq!(status_of(&app, &zone.admin, &zone.foreign).await, "pending");

    let detail = browser
        .get(&format!("/console/registrations/{}", zone.own[0]))
        .await;
    detail.assert_status(200);
    assert!(!detail.text.contains(RESIDENT_ID) && !detail.text.contains(PHONE));
    let approved = browser
        .post(
            &format!("/console/registrations/{}/approve", zone.own[0]),
            &[("csrf", &csrf)],
        )
        .await;
    approved.assert_status(303);
    assert_eq!(
        status_of(&app, &zone.contact, &zone.own[0]).await,
        "approved"
    );
    browser
        .post(
            &format!("/console/registrations/{}/approve", zone.own[0]),
            &[("csrf", &csrf)],
        )
        .await
        .assert_status(409);

    let reject = format!("/console/registrations/{}/reject", zone.own[1]);
    browser
        .post(
            &reject,
            &[("csrf", &csrf), ("reason_choice", ""), ("reason_text", "")],
        )
        .await
        .assert_status(422);
    browser
        .post(
            &reject,
            &[
                ("csrf", &csrf),
                ("reason_choice", "当日车辆已满"),
                ("reason_text", "请明日再来"),
            ],
        )
        .await
        .assert_status(303);
    let rejected = app
        .get(
            &format!("/api/v1/registrations/{}", zone.own[1]),
            Some(&zone.contact),
        )
        .await;
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["reject_reason"], "当日车辆已满：请明日再来");

    let bulk = browser
        .post(
            "/console/registrations/approve",
            &[
                ("csrf", &csrf),
                ("id", &zone.own[2]),
                ("id", &zone.own[3]),
                ("id", &zone.foreign),
            ],
        )
        .await;
    bulk.assert_status(200);
    assert!(bulk.text.contains("已通过 2 条"), "{}", bulk.text);
    for id in &zone.own[2..] {
        assert_eq!(status_of(&app, &zone.contact, id).await, "approved");
    }
    assert_eq!(status_of(&app, &zone.admin, &zone.foreign).await, "pending");
    browser
        .post("/console/registrations/approve", &[("csrf", &csrf)])
        .await
        .assert_status(422);

    let approvals = audit(&app, &zone.admin, "registration.approve").await;
    assert_eq!(approvals.len(), 3);
    assert!(
        approvals.iter().all(|e| e["actor_name"] == "contact1"),
        "{approvals:?}"
    );
    assert_eq!(
        audit(&app, &zone.admin, "registration.reject").await.len(),
        1
    );
}
api_test!(the_contact_decides_its_own_filings_only_and_the_api_s_audit_entries_are_written);

async fn the_contact_suspends_and_resumes_an_approved_pass_on_its_page(app: TestApp) {
    let zone = filings(&app, 1).await;
    let id = &zone.own[0];
    let detail = format!("/console/registrations/{id}");
    let mut browser = Browser::signed_in(&app, "contact1", USER_PASSWORD).await;
    let csrf = browser.csrf().await;
    // Pending: no suspension offered, and none taken.
    let pending = browser.get(&detail).await;
    assert!(!pending.text.contains("暂停通行"), "{}", pending.text);
    browser
        .post(
            &format!("{detail}/suspend"),
            &[("csrf", &csrf), ("reason", "临时管控")],
        )
        .await
        .assert_status(409);
    browser
        .post(&format!("{detail}/approve"), &[("csrf", &csrf)])
        .await
        .assert_status(303);

    let page = browser.get(&detail).await;
    assert!(
        page.text.contains(&format!("action=\"{detail}/suspend\"")),
        "{}",
        page.text
    );
    browser
        .post(
            &format!("{detail}/suspend"),
            &[("csrf", &csrf), ("reason", " ")],
        )
        .await
        .assert_status(422);
    browser
        .post(
            &format!("{detail}/suspend"),
            &[("csrf", "forged"), ("reason", "临时管控")],
        )
        .await
        .assert_status(403);
    let suspended = browser
        .post(
            &format!("{detail}/suspend"),
            &[("csrf", &csrf), ("reason", "临时管控")],
        )
        .await;
    suspended.assert_status(303);
    assert_eq!(suspended.header("location"), Some(detail.as_str()));
    let page = browser.get(&detail).await;
    assert!(page.text.contains("原因：临时管控"), "{}", page.text);
    assert!(
        page.text.contains(&format!("action=\"{detail}/resume\"")),
        "{}",
        page.text
    );
    let list = browser.get("/console/registrations").await;
    assert!(list.text.contains("已暂停"), "{}", list.text);
    let held = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&zone.contact))
        .await;
    assert_eq!(held.body["suspend_reason"], "临时管控");

    // Another enterprise's filing, and a role that does not decide, change nothing.
    browser
        .post(
            &format!("/console/registrations/{}/suspend", zone.foreign),
            &[("csrf", &csrf), ("reason", "越权")],
        )
        .await
        .assert_status(404);
    app.create_user(&zone.admin, "regulator1", "regulator", &[], &[])
        .await;
    let mut regulator = Browser::signed_in(&app, "regulator1", USER_PASSWORD).await;
    let regulator_csrf = regulator.csrf().await;
    let seen = regulator.get(&detail).await;
    assert!(!seen.text.contains("恢复通行"), "{}", seen.text);
    regulator
        .post(&format!("{detail}/resume"), &[("csrf", &regulator_csrf)])
        .await
        .assert_status(404);

    let resumed = browser
        .post(&format!("{detail}/resume"), &[("csrf", &csrf)])
        .await;
    resumed.assert_status(303);
    let back = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&zone.contact))
        .await;
    assert_eq!(back.body["suspended_at"], serde_json::Value::Null);
    assert_eq!(
        audit(&app, &zone.admin, "registration.suspend").await.len(),
        1
    );
    assert_eq!(
        audit(&app, &zone.admin, "registration.resume").await.len(),
        1
    );
}
api_test!(the_contact_suspends_and_resumes_an_approved_pass_on_its_page);

async fn revealing_takes_a_reason_is_audited_and_is_refused_to_other_roles(app: TestApp) {
    let zone = filings(&app, 1).await;
    let id = &zone.own[0];
    let reveal = format!("/console/registrations/{id}/reveal");
    let mut contact = Browser::signed_in(&app, "contact1", USER_PASSWORD).await;
    let csrf = contact.csrf().await;
    contact
        .post(&reveal, &[("csrf", &csrf), ("reason", "")])
        .await
        .assert_status(422);
    let shown = contact
        .post(&reveal, &[("csrf", &csrf), ("reason", "核对司机身份")])
        .await;
    shown.assert_status(200);
    assert!(shown.text.contains(RESIDENT_ID) && shown.text.contains(PHONE));
    let again = contact.get(&format!("/console/registrations/{id}")).await;
    assert!(!again.text.contains(RESIDENT_ID) && !again.text.contains(PHONE));
    let entries = audit(&app, &zone.admin, "registration.reveal").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["details"]["reason"], "核对司机身份");

    // The admin may see the filing but not reveal it, as in the API.
    let mut admin = Browser::signed_in(&app, "admin", ADMIN_PASSWORD).await;
    let csrf = admin.csrf().await;
    admin
        .get(&format!("/console/registrations/{id}"))
        .await
        .assert_status(200);
    admin
        .post(&reveal, &[("csrf", &csrf), ("reason", "核对司机身份")])
        .await
        .assert_status(404);
    assert_eq!(
        audit(&app, &zone.admin, "registration.reveal").await.len(),
        1
    );
}
api_test!(revealing_takes_a_reason_is_audited_and_is_refused_to_other_roles);

async fn every_role_s_home_renders_over_its_own_scope(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let code = app.code_token(&admin, &staff.enterprise).await;
    registered(&app, &code, 1).await;
    for (username, password, settings) in [
        ("admin", ADMIN_PASSWORD, 404),
        ("regulator1", USER_PASSWORD, 404),
        ("sector1", USER_PASSWORD, 404),
        ("park1", USER_PASSWORD, 404),
        ("surveyor1", USER_PASSWORD, 404),
        ("contact1", USER_PASSWORD, 200),
    ] {
        let mut browser = Browser::signed_in(&app, username, password).await;
        let home = browser.get("/console/").await;
        home.assert_status(200);
        assert!(home.text.contains("待审核"), "{username}: {}", home.text);
        let list = browser.get("/console/registrations").await;
        list.assert_status(200);
        assert!(
            list.text.contains(&plate(1)[..3]),
            "{username} sees the filing"
        );
        for page in [&home, &list] {
            assert!(!page.text.contains(RESIDENT_ID) && !page.text.contains(PHONE));
            assert!(!page.text.contains("http://") && !page.text.contains("https://"));
        }
        browser
            .get("/console/settings")
            .await
            .assert_status(settings);
    }
}
api_test!(every_role_s_home_renders_over_its_own_scope);

async fn the_contact_turns_auto_approval_on_and_off(app: TestApp) {
    let zone = filings(&app, 0).await;
    let mut browser = Browser::signed_in(&app, "contact1", USER_PASSWORD).await;
    let page = browser.get("/console/settings").await;
    page.assert_status(200);
    let csrf = csrf_of(&page);
    browser
        .post(
            "/console/settings",
            &[("csrf", &csrf), ("auto_approve", "maybe")],
        )
        .await
        .assert_status(422);
    let saved = browser
        .post(
            "/console/settings",
            &[("csrf", &csrf), ("auto_approve", "on")],
        )
        .await;
    saved.assert_status(303);
    let me = app.get("/api/v1/me", Some(&zone.contact)).await;
    let enterprise = me.body["enterprise_id"].as_str().unwrap().to_owned();
    let settings = app
        .get(
            &format!("/api/v1/enterprises/{enterprise}/registration-settings"),
            Some(&zone.contact),
        )
        .await;
    assert_eq!(settings.body["auto_approve"], true);
    assert_eq!(
        audit(&app, &zone.admin, "enterprise.auto_approve_on")
            .await
            .len(),
        1
    );
}
api_test!(the_contact_turns_auto_approval_on_and_off);
