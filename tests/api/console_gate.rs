//! The gate's console pages (门岗) as a browser without script posts them: a guard
//! signs in and lands on the scanner, scans a pass in (a double submit is one scan),
//! again (already inside) and out, refuses a pass just let through (车牌不符) and
//! undoes a scan; the trucks inside and the failed scans; who reaches the pages. The
//! results are read back through the API's scan log.

use serde_json::Value;

use crate::gate::{approved_pass, gate};
use crate::gate_holds::user_id;
use crate::helpers::{Browser, Staff, TestApp, TestResponse, USER_PASSWORD, api_test, csrf_of};

/// The scan log of the staff's enterprise through the API, newest first.
async fn events(app: &TestApp, staff: &Staff) -> Vec<Value> {
    let found = app
        .get(
            &format!("/api/v1/enterprises/{}/gate/events", staff.enterprise),
            Some(staff.token("gate_guard")),
        )
        .await;
    found.assert_status(200);
    found.body["items"].as_array().unwrap().clone()
}

/// Trucks inside the staff's enterprise now, through the API.
async fn inside_count(app: &TestApp, staff: &Staff) -> i64 {
    let found = app
        .get(
            &format!("/api/v1/enterprises/{}/gate/status", staff.enterprise),
            Some(staff.token("gate_guard")),
        )
        .await;
    found.assert_status(200);
    found.body["inside_count"].as_i64().unwrap()
}

/// Guard guard1 signed in, landed on the scanner: the browser and the page's CSRF
/// token.
async fn guard_at_the_gate(app: &TestApp) -> (Browser<'_>, String) {
    let mut browser = Browser::new(app);
    let signed_in = browser.sign_in("guard1", USER_PASSWORD).await;
    signed_in.assert_status(303);
    assert_eq!(signed_in.header("location"), Some("/console/gate"));
    let page = browser.get("/console/gate").await;
    page.assert_status(200);
    let csrf = csrf_of(&page);
    (browser, csrf)
}

/// Posts the scan form as the page does.
async fn scan(
    browser: &mut Browser<'_>,
    csrf: &str,
    gate: &str,
    kind: &str,
    code: &str,
    nonce: &str,
) -> TestResponse {
    browser
        .post(
            "/console/gate/scan",
            &[
                ("csrf", csrf),
                ("nonce", nonce),
                ("gate_id", gate),
                ("type", kind),
                ("code", code),
            ],
        )
        .await
}

fn assert_answer(page: &TestResponse, result: &str, words: &str) {
    page.assert_status(200);
    assert!(
        page.text.contains(&format!("data-result=\"{result}\"")),
        "{result}: {}",
        page.text
    );
    assert!(page.text.contains(words), "{words}: {}", page.text);
}

async fn a_guard_signs_in_to_the_gate_page_and_checks_a_pass_in_and_out(app: TestApp) {
    let staff = app.staff().await;
    let east = gate(&app, &staff, "东门").await;
    let (token, id) = approved_pass(&app, &staff, 1).await;
    let address = format!("{}/p/{token}", app.address);
    let (mut browser, csrf) = guard_at_the_gate(&app).await;

    // The scanner: the only gate named, entry chosen, only 门岗 in the navigation.
    let page = browser.get("/console/gate").await;
    assert!(page.text.contains("东门"), "{}", page.text);
    assert!(page.text.contains("href=\"/console/gate\""));
    for desk in [
        "/console/",
        "/console/registrations",
        "/console/enterprises",
    ] {
        let link = format!("href=\"{desk}\"");
        assert!(!page.text.contains(&link), "{desk} offered to a guard");
    }
    // Signed in, the sign-in page sends the guard to the gate.
    let again = browser.get("/console/login").await;
    assert_eq!(again.header("location"), Some("/console/gate"));

    // In: green with the masked facts, the buttons to refuse or undo it.
    let entry = scan(
        &mut browser,
        &csrf,
        &east,
        "entry",
        &address,
        "page-entry-1",
    )
    .await;
    assert_answer(&entry, "accepted", "准予入园");
    for shown in ["闽A***01", "张*", "重型货车", "车牌不符", "撤销"] {
        assert!(entry.text.contains(shown), "{shown}: {}", entry.text);
    }
    assert!(entry.text.contains("name=\"undo\" value=\"page-entry-1\""));
    assert!(!entry.text.contains(&crate::registrations::plate(1)));
    // The same form posted twice is one scan.
    let twice = scan(
        &mut browser,
        &csrf,
        &east,
        "entry",
        &address,
        "page-entry-1",
    )
    .await;
    assert_answer(&twice, "accepted", "准予入园");
    assert_eq!(events(&app, &staff).await.len(), 1);

    // Inside, with its dwell.
    let inside = browser.get("/console/gate/inside").await;
    inside.assert_status(200);
    assert!(inside.text.contains("闽A***01"), "{}", inside.text);

    // Again: red, already inside.
    let again = scan(&mut browser, &csrf, &east, "entry", &token, "page-entry-2").await;
    assert_answer(&again, "refused", "该车辆已在园内，不能重复入园");
    assert!(
        !again.text.contains("name=\"undo\""),
        "no undo of a refusal"
    );

    // Out.
    let exit = scan(&mut browser, &csrf, &east, "exit", &address, "page-exit-01").await;
    assert_answer(&exit, "accepted", "准予离园");

    // The API's log: exit, refused entry, entry, all of this pass.
    let log = events(&app, &staff).await;
    let seen: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
                e["nonce"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("exit", "accepted", "page-exit-01"),
            ("entry", "refused", "page-entry-2"),
            ("entry", "accepted", "page-entry-1"),
        ]
    );
    assert!(
        log.iter()
            .all(|e| e["pass"]["registration_id"] == id.as_str())
    );
    assert_eq!(log[1]["reason"], "already_inside");
    assert_eq!(inside_count(&app, &staff).await, 0);

    // The failed scans.
    let refused = browser.get("/console/gate/refused").await;
    refused.assert_status(200);
    assert!(refused.text.contains("该车辆已在园内"), "{}", refused.text);

    // A code that names nothing: red, unknown.
    let unknown = scan(&mut browser, &csrf, &east, "entry", "hello", "page-unknown").await;
    assert_answer(&unknown, "refused", "无效通行码");
    // Nothing typed: nothing recorded, the reason shown.
    let empty = scan(&mut browser, &csrf, &east, "entry", " ", "page-empty-1").await;
    empty.assert_status(422);
    assert!(empty.text.contains("请扫描或输入通行码"), "{}", empty.text);
    assert_eq!(events(&app, &staff).await.len(), 4);
}
api_test!(a_guard_signs_in_to_the_gate_page_and_checks_a_pass_in_and_out);

async fn a_guard_refuses_a_pass_just_let_through_and_undoes_a_scan(app: TestApp) {
    let staff = app.staff().await;
    let east = gate(&app, &staff, "东门").await;
    let (mismatched, _) = approved_pass(&app, &staff, 2).await;
    let (undone, _) = approved_pass(&app, &staff, 3).await;
    let (mut browser, csrf) = guard_at_the_gate(&app).await;

    // 车牌不符 after a green answer: the entry is annulled, the refusal recorded.
    let entry = scan(
        &mut browser,
        &csrf,
        &east,
        "entry",
        &mismatched,
        "mis-entry-1",
    )
    .await;
    assert_answer(&entry, "accepted", "准予入园");
    assert_eq!(inside_count(&app, &staff).await, 1);
    let mismatch_form = [
        ("csrf", csrf.as_str()),
        ("nonce", "mis-refuse-1"),
        ("gate_id", east.as_str()),
        ("type", "entry"),
        ("code", mismatched.as_str()),
        ("plate_mismatch", "1"),
        ("undo", "mis-entry-1"),
    ];
    let refused = browser.post("/console/gate/scan", &mismatch_form).await;
    assert_answer(&refused, "refused", "人、车、证不符");
    // Posted twice, still one refusal.
    let twice = browser.post("/console/gate/scan", &mismatch_form).await;
    assert_answer(&twice, "refused", "人、车、证不符");
    let log = events(&app, &staff).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["nonce"], "mis-refuse-1");
    assert_eq!(log[0]["reason"], "plate_mismatch");
    assert_eq!(log[1]["nonce"], "mis-entry-1");
    assert!(log[1]["annulled_at"].is_string(), "{log:?}");
    assert_eq!(inside_count(&app, &staff).await, 0);

    // 撤销: the accepted entry undone.
    let entry = scan(&mut browser, &csrf, &east, "entry", &undone, "undo-entry-1").await;
    assert_answer(&entry, "accepted", "准予入园");
    let annulled = browser
        .post(
            "/console/gate/annul",
            &[
                ("csrf", csrf.as_str()),
                ("nonce", "undo-entry-1"),
                ("gate_id", east.as_str()),
                ("type", "entry"),
            ],
        )
        .await;
    annulled.assert_status(200);
    assert!(annulled.text.contains("已撤销"), "{}", annulled.text);
    let log = events(&app, &staff).await;
    assert_eq!(log[0]["nonce"], "undo-entry-1");
    assert!(log[0]["annulled_at"].is_string());
    assert_eq!(inside_count(&app, &staff).await, 0);
    // A refusal is not undone: the reason shown, nothing changed.
    let refusal = browser
        .post(
            "/console/gate/annul",
            &[("csrf", csrf.as_str()), ("nonce", "mis-refuse-1")],
        )
        .await;
    refusal.assert_status(409);
    assert!(refusal.text.contains("无需撤销"), "{}", refusal.text);
}
api_test!(a_guard_refuses_a_pass_just_let_through_and_undoes_a_scan);

async fn the_gate_pages_are_for_the_enterprises_guards_and_contacts_only(app: TestApp) {
    let staff = app.staff().await;
    let east = gate(&app, &staff, "东门").await;
    let (token, _) = approved_pass(&app, &staff, 4).await;
    let admin = staff.token("admin").to_owned();
    let other = app
        .create_enterprise(&admin, "福州第二化工有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(&admin, "contact2", &other).await;
    let other_contact = app.tokens("contact2", USER_PASSWORD).await.0;
    let north = app
        .post(
            &format!("/api/v1/enterprises/{other}/gates"),
            Some(&other_contact),
            serde_json::json!({ "name": "北门" }),
        )
        .await;
    north.assert_status(201);
    let north = north.body["id"].as_str().unwrap().to_owned();

    let (mut guard, csrf) = guard_at_the_gate(&app).await;
    // The desk pages are the 404 page to a guard; the own account's are not.
    for desk in [
        "/console/",
        "/console/registrations",
        "/console/enterprises",
        "/console/code",
    ] {
        guard.get(desk).await.assert_status(404);
    }
    guard.get("/console/password").await.assert_status(200);
    // Another enterprise's gate is not there.
    guard
        .get(&format!("/console/gate?gate_id={north}"))
        .await
        .assert_status(404);
    let foreign = scan(&mut guard, &csrf, &north, "entry", &token, "foreign-gate").await;
    foreign.assert_status(422);
    assert!(
        foreign.text.contains("本企业没有该门岗"),
        "{}",
        foreign.text
    );
    // A form without the session's CSRF token changes nothing.
    let forged = scan(&mut guard, "forged", &east, "entry", &token, "forged-scan").await;
    forged.assert_status(403);
    let bare = guard
        .post(
            "/console/gate/scan",
            &[
                ("nonce", "bare-scan-1"),
                ("gate_id", east.as_str()),
                ("type", "entry"),
                ("code", token.as_str()),
            ],
        )
        .await;
    bare.assert_status(403);
    assert!(events(&app, &staff).await.is_empty());

    // Surveyors and officials have no scanner.
    for role in ["surveyor", "regulator", "sector_official", "admin"] {
        let mut browser = Browser::of(&app, role).await;
        for page in [
            "/console/gate",
            "/console/gate/inside",
            "/console/gate/refused",
        ] {
            browser.get(page).await.assert_status(404);
        }
        let csrf = browser.csrf_from("/console/password").await;
        let refused = scan(&mut browser, &csrf, &east, "entry", &token, "not-a-scanner").await;
        refused.assert_status(404);
    }
    assert!(events(&app, &staff).await.is_empty());

    // The enterprise's contact has it, in the navigation too.
    let mut contact = Browser::of(&app, "enterprise_contact").await;
    let home = contact.get("/console/").await;
    assert!(
        home.text.contains("href=\"/console/gate\""),
        "{}",
        home.text
    );
    let csrf = contact.csrf_from("/console/gate").await;
    let entry = scan(&mut contact, &csrf, &east, "entry", &token, "contact-scan").await;
    assert_answer(&entry, "accepted", "准予入园");
    assert_eq!(events(&app, &staff).await.len(), 1);

    // With two gates, the page offers the choice, keeping the one and the way named.
    let west = gate(&app, &staff, "西门").await;
    let chosen = contact
        .get(&format!("/console/gate?gate_id={west}&type=exit"))
        .await;
    chosen.assert_status(200);
    assert!(chosen.text.contains("<select"), "{}", chosen.text);
    assert!(
        chosen
            .text
            .contains(&format!("<option value=\"{west}\" selected>西门</option>")),
        "{}",
        chosen.text
    );
    assert!(
        chosen
            .text
            .contains("value=\"exit\" form=\"scan-form\" checked")
    );
    let exit = scan(&mut contact, &csrf, &west, "exit", &token, "contact-exit").await;
    assert_answer(&exit, "accepted", "准予离园");
}
api_test!(the_gate_pages_are_for_the_enterprises_guards_and_contacts_only);

/// The staff's enterprise's gates, through the API.
async fn gate_items(app: &TestApp, staff: &Staff) -> Vec<Value> {
    let list = app
        .get(
            &format!("/api/v1/enterprises/{}/gates", staff.enterprise),
            Some(staff.token("enterprise_contact")),
        )
        .await;
    list.assert_status(200);
    list.body["items"].as_array().unwrap().clone()
}

/// The names and whether in use of the enterprise's gates, sorted by code point
/// (whatever the database's collation).
async fn gates_of(app: &TestApp, staff: &Staff) -> Vec<(String, bool)> {
    let mut gates: Vec<(String, bool)> = gate_items(app, staff)
        .await
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["active"].as_bool().unwrap(),
            )
        })
        .collect();
    gates.sort();
    gates
}

/// The id of the staff's enterprise's gate named `name`.
async fn gate_id(app: &TestApp, staff: &Staff, name: &str) -> String {
    let gates = gate_items(app, staff).await;
    let gate = gates.iter().find(|g| g["name"] == name).unwrap();
    gate["id"].as_str().unwrap().to_owned()
}

async fn a_contact_adds_renames_and_retires_gates_in_the_console(app: TestApp) {
    let staff = app.staff().await;
    let mut contact = Browser::of(&app, "enterprise_contact").await;
    let page = contact.get("/console/gate/gates").await;
    page.assert_status(200);
    assert!(page.text.contains("还没有门岗"), "{}", page.text);
    // The scanner tells the contact where gates are added.
    let scanner = contact.get("/console/gate").await;
    assert!(
        scanner.text.contains("href=\"/console/gate/gates\""),
        "{}",
        scanner.text
    );
    let csrf = contact.csrf_from("/console/gate/gates").await;

    let added = contact
        .post(
            "/console/gate/gates",
            &[("csrf", &csrf), ("name", " 东门 ")],
        )
        .await;
    added.assert_status(200);
    assert!(added.text.contains("已添加门岗“东门”"), "{}", added.text);
    contact
        .post("/console/gate/gates", &[("csrf", &csrf), ("name", "西门")])
        .await
        .assert_status(200);
    let taken = contact
        .post("/console/gate/gates", &[("csrf", &csrf), ("name", "东门")])
        .await;
    taken.assert_status(409);
    assert!(
        taken.text.contains("本企业已有名为“东门”的门岗"),
        "{}",
        taken.text
    );
    let blank = contact
        .post("/console/gate/gates", &[("csrf", &csrf), ("name", "  ")])
        .await;
    blank.assert_status(422);
    let forged = contact
        .post(
            "/console/gate/gates",
            &[("csrf", "forged"), ("name", "南门")],
        )
        .await;
    forged.assert_status(403);
    assert_eq!(
        gates_of(&app, &staff).await,
        [("东门".to_owned(), true), ("西门".to_owned(), true)]
    );

    // Renamed, then out of use (the scanner no longer offers it), then back.
    let west = gate_id(&app, &staff, "西门").await;
    let path = format!("/console/gate/gates/{west}");
    let renamed = contact
        .post(&path, &[("csrf", &csrf), ("name", "2 号门")])
        .await;
    renamed.assert_status(200);
    assert!(
        renamed.text.contains("门岗已改名为“2 号门”"),
        "{}",
        renamed.text
    );
    let retired = contact
        .post(&path, &[("csrf", &csrf), ("active", "false")])
        .await;
    retired.assert_status(200);
    assert!(retired.text.contains("已停用"), "{}", retired.text);
    assert!(!contact.get("/console/gate").await.text.contains("2 号门"));
    contact
        .post(&path, &[("csrf", &csrf), ("active", "maybe")])
        .await
        .assert_status(422);
    let back = contact
        .post(&path, &[("csrf", &csrf), ("active", "true")])
        .await;
    back.assert_status(200);
    assert!(back.text.contains("已恢复使用"), "{}", back.text);
    assert_eq!(
        gates_of(&app, &staff).await,
        [("2 号门".to_owned(), true), ("东门".to_owned(), true)]
    );

    // Another enterprise's gate is the 404 page; the guard and the other roles have
    // no settings page.
    let admin = staff.token("admin").to_owned();
    let other = app
        .create_enterprise(&admin, "福州第二化工有限公司", &staff.sector, &staff.park)
        .await;
    let north = app
        .post(
            &format!("/api/v1/enterprises/{other}/gates"),
            Some(&admin),
            serde_json::json!({ "name": "北门" }),
        )
        .await;
    north.assert_status(201);
    let north = north.body["id"].as_str().unwrap().to_owned();
    contact
        .post(
            &format!("/console/gate/gates/{north}"),
            &[("csrf", &csrf), ("active", "false")],
        )
        .await
        .assert_status(404);
    for role in ["gate_guard", "surveyor", "regulator", "admin"] {
        let mut browser = Browser::of(&app, role).await;
        browser.get("/console/gate/gates").await.assert_status(404);
        let csrf = browser.csrf_from("/console/password").await;
        browser
            .post("/console/gate/gates", &[("csrf", &csrf), ("name", "南门")])
            .await
            .assert_status(404);
    }
    assert_eq!(gates_of(&app, &staff).await.len(), 2);
}
api_test!(a_contact_adds_renames_and_retires_gates_in_the_console);

/// The gates the staff's guard stands at, through the API.
async fn guard_posts(app: &TestApp, staff: &Staff) -> Value {
    let listed = app
        .get(
            &format!("/api/v1/enterprises/{}/guards", staff.enterprise),
            Some(staff.token("enterprise_contact")),
        )
        .await;
    listed.assert_status(200);
    listed.body["items"][0]["gate_ids"].clone()
}

async fn a_contact_posts_a_guard_at_some_gates_and_the_scanner_offers_only_those(app: TestApp) {
    let staff = app.staff().await;
    let east = gate(&app, &staff, "东门").await;
    let west = gate(&app, &staff, "西门").await;
    let guard_id = user_id(&app, staff.token("gate_guard")).await;
    let mut contact = Browser::of(&app, "enterprise_contact").await;
    let page = contact.get("/console/gate/gates").await;
    page.assert_status(200);
    assert!(page.text.contains("门岗人员"), "{}", page.text);
    assert!(
        page.text
            .contains(&format!("action=\"/console/gate/guards/{guard_id}\"")),
        "{}",
        page.text
    );
    let csrf = csrf_of(&page);
    let path = format!("/console/gate/guards/{guard_id}");

    let posted = contact
        .post(&path, &[("csrf", &csrf), ("gate_id", &east)])
        .await;
    posted.assert_status(200);
    assert!(posted.text.contains("已更新"), "{}", posted.text);
    assert!(
        posted.text.contains(&format!("value=\"{east}\" checked")),
        "{}",
        posted.text
    );
    assert_eq!(guard_posts(&app, &staff).await, serde_json::json!([east]));

    // The guard's scanner offers the east gate only; a scan at the west gate posted
    // anyway is refused and not recorded.
    let (mut guard, guard_csrf) = guard_at_the_gate(&app).await;
    let scanner = guard.get("/console/gate").await;
    assert!(scanner.text.contains("东门"), "{}", scanner.text);
    assert!(!scanner.text.contains("西门"), "{}", scanner.text);
    let (token, _) = approved_pass(&app, &staff, 1).await;
    let refused = scan(
        &mut guard,
        &guard_csrf,
        &west,
        "entry",
        &token,
        "posted-001",
    )
    .await;
    assert!(
        refused.text.contains("您未被安排在门岗“西门”值守"),
        "{}",
        refused.text
    );
    assert!(events(&app, &staff).await.is_empty());
    let here = scan(
        &mut guard,
        &guard_csrf,
        &east,
        "entry",
        &token,
        "posted-002",
    )
    .await;
    assert_answer(&here, "accepted", "准予入园");

    // A forged form, a gate of nobody's and a user who is not a guard change nothing.
    contact
        .post(&path, &[("csrf", "forged"), ("gate_id", &west)])
        .await
        .assert_status(403);
    contact
        .post(&path, &[("csrf", &csrf), ("gate_id", "nosuchgate")])
        .await
        .assert_status(422);
    let contact_id = user_id(&app, staff.token("enterprise_contact")).await;
    contact
        .post(
            &format!("/console/gate/guards/{contact_id}"),
            &[("csrf", &csrf)],
        )
        .await
        .assert_status(404);
    assert_eq!(guard_posts(&app, &staff).await, serde_json::json!([east]));

    // Nothing ticked: every gate again.
    let every = contact.post(&path, &[("csrf", &csrf)]).await;
    every.assert_status(200);
    assert!(
        every.text.contains("可在本企业所有门岗扫码"),
        "{}",
        every.text
    );
    assert!(guard.get("/console/gate").await.text.contains("西门"));
    // The guard has no settings page to post to.
    guard
        .post(&path, &[("csrf", &guard_csrf), ("gate_id", &east)])
        .await
        .assert_status(404);
}
api_test!(a_contact_posts_a_guard_at_some_gates_and_the_scanner_offers_only_those);
