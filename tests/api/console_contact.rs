//! The enterprise contact's console pages: the code (QR image, poster, rotate and
//! suspend with a confirmation, scans chart) through real HTTP with a signed-in
//! session, every response checked against openapi.yaml.

use serde_json::json;

use crate::helpers::{Browser, Staff, TestApp, USER_PASSWORD, api_test, decode_qr};

/// Staff of every role; the contact signed in to the console.
async fn contact(app: &TestApp) -> (Staff, Browser<'_>) {
    let staff = app.staff().await;
    let console = Browser::signed_in(app, "contact1", USER_PASSWORD).await;
    (staff, console)
}

async fn code_of(app: &TestApp, staff: &Staff) -> serde_json::Value {
    let path = format!("/api/v1/enterprises/{}/code", staff.enterprise);
    let response = app.get(&path, Some(staff.token("admin"))).await;
    response.assert_status(200);
    response.body.clone()
}

async fn audited(app: &TestApp, staff: &Staff, action: &str) -> usize {
    let response = app
        .get(
            &format!("/api/v1/audit?action={action}"),
            Some(staff.token("admin")),
        )
        .await;
    response.assert_status(200);
    response.body["items"].as_array().map_or(0, Vec::len)
}

async fn code_page_shows_the_contacts_code_link_and_a_qr_of_it(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let code = code_of(&app, &staff).await;
    let url = code["url"].as_str().unwrap();

    let page = console.get("/console/code").await;
    page.assert_status(200);
    assert!(page.text.contains("福州第一化工有限公司"), "{}", page.text);
    assert!(page.text.contains(url));
    assert!(page.text.contains("/console/code/qr.svg"));
    assert!(page.text.contains("href=\"/console/code\""), "nav entry");

    let svg = console.get("/console/code/qr.svg").await;
    svg.assert_status(200);
    assert!(
        svg.header("content-type")
            .unwrap()
            .starts_with("image/svg+xml")
    );
    let png = console.get("/console/code/qr.png").await;
    png.assert_status(200);
    assert_eq!(decode_qr(&png.bytes), vec![url.to_owned()]);
    let poster = console.get("/console/code/poster.png").await;
    poster.assert_status(200);
    assert_eq!(poster.header("content-type"), Some("image/png"));
    assert_eq!(decode_qr(&poster.bytes), vec![url.to_owned()]);
}
api_test!(code_page_shows_the_contacts_code_link_and_a_qr_of_it);

async fn other_roles_see_codes_in_their_scope_and_change_them_only_as_admin(app: TestApp) {
    let staff = app.staff().await;
    let named = format!("/console/code?enterprise={}", staff.enterprise);
    for (username, password) in [
        ("admin", crate::helpers::ADMIN_PASSWORD),
        ("regulator1", USER_PASSWORD),
        ("sector1", USER_PASSWORD),
        ("park1", USER_PASSWORD),
    ] {
        let mut console = Browser::signed_in(&app, username, password).await;
        let page = console.get(&named).await;
        page.assert_status(200);
        assert_eq!(
            page.text.contains("更换企业码"),
            username == "admin",
            "{username}"
        );
        // Without an enterprise named they have none of their own.
        console.get("/console/code").await.assert_status(404);
    }
    let mut regulator = Browser::signed_in(&app, "regulator1", USER_PASSWORD).await;
    let before = code_of(&app, &staff).await;
    let rotate = format!("/console/code/rotate?enterprise={}", staff.enterprise);
    regulator
        .post_signed(&named, &rotate, &[("confirm", "yes")])
        .await
        .assert_status(404);
    assert_eq!(code_of(&app, &staff).await["token"], before["token"]);

    // Another enterprise's code is the contact's 404 page.
    let admin = staff.token("admin");
    let other = app
        .create_enterprise(admin, "福州第二化工有限公司", &staff.sector, &staff.park)
        .await;
    let mut contact = Browser::signed_in(&app, "contact1", USER_PASSWORD).await;
    for path in [
        "/console/code",
        "/console/code/qr.png",
        "/console/code/poster.png",
    ] {
        let response = contact.get(&format!("{path}?enterprise={other}")).await;
        response.assert_status(404);
    }
    let foreign_rotate = format!("/console/code/rotate?enterprise={other}");
    contact
        .post_signed("/console/code", &foreign_rotate, &[("confirm", "yes")])
        .await
        .assert_status(404);
}
api_test!(other_roles_see_codes_in_their_scope_and_change_them_only_as_admin);

async fn rotation_needs_its_confirmation_and_is_audited(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let before = code_of(&app, &staff).await;

    let refused = console
        .post_signed("/console/code", "/console/code/rotate", &[])
        .await;
    refused.assert_status(422);
    assert!(refused.text.contains("请先勾选确认"), "{}", refused.text);
    assert_eq!(code_of(&app, &staff).await["token"], before["token"]);
    assert_eq!(audited(&app, &staff, "code.rotate").await, 0);

    let rotated = console
        .post_signed(
            "/console/code",
            "/console/code/rotate",
            &[("confirm", "yes")],
        )
        .await;
    rotated.assert_status(303);
    assert_eq!(rotated.header("location"), Some("/console/code"));
    let after = code_of(&app, &staff).await;
    assert_ne!(after["token"], before["token"]);
    assert_eq!(audited(&app, &staff, "code.rotate").await, 1);
    let old = format!("/r/{}", before["token"].as_str().unwrap());
    app.get(&old, None).await.assert_status(410);
    let page = console.get("/console/code").await;
    assert!(page.text.contains(after["url"].as_str().unwrap()));
}
api_test!(rotation_needs_its_confirmation_and_is_audited);

async fn suspension_needs_its_confirmation_and_resume_undoes_it(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    console
        .post_signed("/console/code", "/console/code/suspend", &[])
        .await
        .assert_status(422);
    assert_eq!(code_of(&app, &staff).await["suspended"], json!(false));

    console
        .post_signed(
            "/console/code",
            "/console/code/suspend",
            &[("confirm", "yes")],
        )
        .await
        .assert_status(303);
    assert_eq!(code_of(&app, &staff).await["suspended"], json!(true));
    assert_eq!(audited(&app, &staff, "code.suspend").await, 1);
    let page = console.get("/console/code").await;
    assert!(page.text.contains("已暂停登记") && page.text.contains("恢复登记"));

    console
        .post_signed("/console/code", "/console/code/resume", &[])
        .await
        .assert_status(303);
    assert_eq!(code_of(&app, &staff).await["suspended"], json!(false));
    assert_eq!(audited(&app, &staff, "code.resume").await, 1);
}
api_test!(suspension_needs_its_confirmation_and_resume_undoes_it);

async fn the_chart_shows_the_days_scans(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let token = code_of(&app, &staff).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        app.get(&format!("/r/{token}"), None)
            .await
            .assert_status(200);
    }
    let page = console.get("/console/code").await;
    page.assert_status(200);
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%m-%d")
        .to_string();
    assert!(page.text.contains("<svg"), "{}", page.text);
    assert!(
        page.text.contains(&format!("<title>{today}：3 次</title>")),
        "{}",
        page.text
    );
    assert!(page.text.contains("共 <b>3</b> 次"));
    assert!(!page.text.contains("<script>"), "no inline script");
}
api_test!(the_chart_shows_the_days_scans);

async fn a_code_change_without_the_csrf_token_is_refused(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let before = code_of(&app, &staff).await;
    for path in ["/console/code/rotate", "/console/code/suspend"] {
        let response = console.post(path, &[("confirm", "yes")]).await;
        response.assert_status(403);
        let forged = console
            .post(path, &[("csrf", "wrong"), ("confirm", "yes")])
            .await;
        forged.assert_status(403);
    }
    assert_eq!(code_of(&app, &staff).await, before);
    // Signed out: to the sign-in.
    let mut stranger = Browser::new(&app);
    let response = stranger.get("/console/code").await;
    response.assert_status(303);
    assert_eq!(response.header("location"), Some("/console/login"));
}
api_test!(a_code_change_without_the_csrf_token_is_refused);

/// One field row as the editor posts it.
fn field_row(index: usize, key: &str, label: &str, kind: &str) -> Vec<(String, String)> {
    vec![
        (format!("fields[{index}].key"), key.to_owned()),
        (format!("fields[{index}].label"), label.to_owned()),
        (format!("fields[{index}].kind"), kind.to_owned()),
        (format!("fields[{index}].required"), "yes".to_owned()),
        (format!("fields[{index}].options"), String::new()),
    ]
}

fn with_op<'a>(rows: &'a [(String, String)], op: &'a str) -> Vec<(&'a str, &'a str)> {
    rows.iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain([("op", op)])
        .collect()
}

async fn template_version(app: &TestApp, staff: &Staff) -> i64 {
    let path = format!("/api/v1/enterprises/{}/form-template", staff.enterprise);
    let response = app.get(&path, Some(staff.token("admin"))).await;
    response.assert_status(200);
    response.body["version"].as_i64().unwrap()
}

async fn a_field_added_is_previewed_and_saved_as_a_version_drivers_see(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let page = console.get("/console/fields").await;
    page.assert_status(200);
    assert!(page.text.contains("尚未设置附加字段"), "{}", page.text);
    assert!(page.text.contains("hx-trigger=\"change\""));

    let added = console
        .post_signed("/console/fields", "/console/fields", &[("op", "add")])
        .await;
    added.assert_status(200);
    assert!(
        added
            .text
            .contains("name=\"fields[0].key\" value=\"field_1\""),
        "{}",
        added.text
    );
    assert_eq!(
        template_version(&app, &staff).await,
        0,
        "adding only edits the page"
    );

    let rows = field_row(0, "load_tons", "本车载重（吨）", "number");
    let preview = console
        .post_signed(
            "/console/fields",
            "/console/fields/preview",
            &with_op(&rows, "preview"),
        )
        .await;
    preview.assert_status(200);
    assert!(preview.text.contains("本车载重（吨）"), "{}", preview.text);
    assert!(
        preview
            .text
            .contains("name=\"answers.enterprise.load_tons\"")
    );
    // Without JavaScript: the page again, with the preview.
    let shown = console
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "preview"),
        )
        .await;
    shown.assert_status(200);
    assert!(shown.text.contains("name=\"answers.enterprise.load_tons\""));

    let saved = console
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "save"),
        )
        .await;
    saved.assert_status(303);
    assert_eq!(saved.header("location"), Some("/console/fields"));
    assert_eq!(template_version(&app, &staff).await, 1);
    assert_eq!(audited(&app, &staff, "form_template.update").await, 1);
    let token = code_of(&app, &staff).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let driver = app.get(&format!("/r/{token}"), None).await;
    assert!(driver.text.contains("本车载重（吨）"));
    let page = console.get("/console/fields").await;
    assert!(page.text.contains("当前为第 1 版"));
    assert!(page.text.contains("value=\"load_tons\""));
}
api_test!(a_field_added_is_previewed_and_saved_as_a_version_drivers_see);

async fn invalid_fields_are_shown_with_their_errors_and_nothing_is_saved(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let mut rows = field_row(0, "load_tons", "", "number");
    rows.extend(field_row(1, "load_tons", "载重", "number"));
    let refused = console
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "save"),
        )
        .await;
    refused.assert_status(422);
    assert!(
        refused.text.contains("字段标识「load_tons」重复"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("未保存"));
    assert!(
        refused.text.matches("class=\"err\"").count() >= 2,
        "{}",
        refused.text
    );
    assert_eq!(template_version(&app, &staff).await, 0);

    let missing = console
        .post("/console/fields", &with_op(&rows, "save"))
        .await;
    missing.assert_status(403);
    let missing = console.post("/console/fields/preview", &[]).await;
    missing.assert_status(403);
    assert_eq!(template_version(&app, &staff).await, 0);
}
api_test!(invalid_fields_are_shown_with_their_errors_and_nothing_is_saved);

async fn the_admin_edits_the_zones_fields_and_others_may_not(app: TestApp) {
    let staff = app.staff().await;
    let mut admin = Browser::signed_in(&app, "admin", crate::helpers::ADMIN_PASSWORD).await;
    let page = admin.get("/console/fields").await;
    page.assert_status(200);
    assert!(page.text.contains("园区统一字段"));
    let rows = field_row(0, "health_ok", "身体状况良好", "yes_no");
    admin
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "save"),
        )
        .await
        .assert_status(303);
    let zone = app
        .get("/api/v1/form-template", Some(staff.token("admin")))
        .await;
    assert_eq!(zone.body["version"], json!(1));
    assert_eq!(zone.body["fields"][0]["label"], json!("身体状况良好"));
    // The enterprise's own fields through the same page, linked from its roster page.
    assert!(page.text.contains("href=\"/console/enterprises\""));
    let named = format!("/console/fields?enterprise={}", staff.enterprise);
    let roster_page = admin
        .get(&format!("/console/enterprises/{}", staff.enterprise))
        .await;
    assert!(roster_page.text.contains(&format!("href=\"{named}\"")));
    let page = admin.get(&named).await;
    page.assert_status(200);
    assert!(page.text.contains("福州第一化工有限公司 的附加字段"));
    assert!(
        page.text.contains("身体状况良好"),
        "the zone's field in the preview"
    );

    for username in ["regulator1", "sector1"] {
        let mut other = Browser::signed_in(&app, username, USER_PASSWORD).await;
        other.get("/console/fields").await.assert_status(404);
        other.get(&named).await.assert_status(404);
        let enterprise = other
            .get(&format!("/console/enterprises/{}", staff.enterprise))
            .await;
        enterprise.assert_status(200);
        assert!(!enterprise.text.contains("/console/fields"), "{username}");
    }
}
api_test!(the_admin_edits_the_zones_fields_and_others_may_not);

async fn rows_move_up_and_down_and_are_removed_on_the_page_only(app: TestApp) {
    let (staff, mut console) = contact(&app).await;
    let mut rows = field_row(0, "first_one", "第一项", "text");
    rows.extend(field_row(1, "second_one", "第二项", "text"));
    let position = |text: &str, label: &str| text.find(&format!("value=\"{label}\"")).unwrap();

    let moved = console
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "up-1"),
        )
        .await;
    moved.assert_status(200);
    assert!(position(&moved.text, "第二项") < position(&moved.text, "第一项"));
    assert!(
        moved
            .text
            .contains("name=\"fields[0].key\" value=\"second_one\"")
    );

    let moved = console
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "down-0"),
        )
        .await;
    assert!(
        moved
            .text
            .contains("name=\"fields[1].key\" value=\"first_one\"")
    );

    let removed = console
        .post_signed(
            "/console/fields",
            "/console/fields",
            &with_op(&rows, "remove-0"),
        )
        .await;
    removed.assert_status(200);
    assert!(!removed.text.contains("value=\"第一项\""));
    assert!(
        removed
            .text
            .contains("name=\"fields[0].key\" value=\"second_one\"")
    );
    assert_eq!(template_version(&app, &staff).await, 0, "nothing saved");
}
api_test!(rows_move_up_and_down_and_are_removed_on_the_page_only);
