//! The admin's console pages through HTTP: accounts (create, edit, disable, reset,
//! with the API's audit entries), the roster import's dry run and confirmation, and
//! every admin page refused to every other role.

use serde_json::{Value, json};
use truckpass::codes::render::card_box;

use crate::helpers::{
    ADMIN_PASSWORD, Browser, TestApp, USER_PASSWORD, api_test, credit_code, decode_qr_in,
    field_value,
};

/// The text of the first `<code>` element (a password shown once).
fn shown_code(html: &str) -> String {
    let start = html.find("<code>").expect("a code element") + 6;
    let end = start + html[start..].find("</code>").expect("closed code");
    html[start..end].to_owned()
}

/// The id of the account `username`, through the API.
async fn user_id(app: &TestApp, admin: &str, username: &str) -> String {
    let found = app
        .get(&format!("/api/v1/users?q={username}"), Some(admin))
        .await;
    found.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|user| user["username"] == username)
        .and_then(|user| user["id"].as_str())
        .expect("the account exists")
        .to_owned()
}

async fn audit_actions(app: &TestApp, admin: &str, object_id: &str) -> Vec<String> {
    let audit = app
        .get(&format!("/api/v1/audit?object_id={object_id}"), Some(admin))
        .await;
    audit.assert_status(200);
    audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|entry| entry["action"].as_str().map(str::to_owned))
        .collect()
}

async fn admin_pages_are_the_404_page_for_every_other_role(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin");
    let admin_id = user_id(&app, admin, "admin").await;
    let pages = [
        "/console/users".to_owned(),
        "/console/users/new".to_owned(),
        "/console/users/activation".to_owned(),
        format!("/console/users/{admin_id}"),
        "/console/roster/import".to_owned(),
        "/console/org".to_owned(),
        "/console/posters".to_owned(),
    ];
    let bundle = format!("/console/posters.zip?park_id={}", staff.park);
    let posts = [
        "/console/users".to_owned(),
        "/console/users/activation".to_owned(),
        "/console/users/activation/preview".to_owned(),
        "/console/users/activation-sheet".to_owned(),
        "/console/roster/import".to_owned(),
        "/console/roster/import/confirm".to_owned(),
        "/console/org/sectors".to_owned(),
        format!("/console/org/parks/{}", staff.park),
        format!("/console/org/sectors/{}/delete", staff.sector),
        format!("/console/users/{admin_id}"),
        format!("/console/users/{admin_id}/active"),
        format!("/console/users/{admin_id}/password"),
    ];
    for username in [
        "regulator1",
        "sector1",
        "park1",
        "surveyor1",
        "contact1",
        "guard1",
    ] {
        let mut console = Browser::session(&app, username, USER_PASSWORD).await;
        let home = console.get("/console/").await;
        assert!(
            !home.text.contains("/console/users"),
            "{username} sees the nav entry"
        );
        for page in &pages {
            console.get(page).await.assert_status(404);
        }
        console.get(&bundle).await.assert_status(404);
        for post in &posts {
            let refused = console.post_csrf(post, &[("active", "off")]).await;
            refused.assert_status(404);
        }
        let upload = console.upload("/console/roster/import", b"x", true).await;
        upload.assert_status(404);
    }
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    let home = console.get("/console/").await;
    assert!(home.text.contains("href=\"/console/users\""));
    for page in &pages {
        console.get(page).await.assert_status(200);
    }
    app.code_token(admin, &staff.enterprise).await;
    let bundle = console.get(&bundle).await;
    bundle.assert_status(200);
    assert_eq!(bundle.header("content-type"), Some("application/zip"));
    assert!(bundle.bytes.starts_with(b"PK"));
    let audit = app
        .get("/api/v1/audit?action=code.download", Some(admin))
        .await;
    let bundles = audit.body["items"].as_array().unwrap().iter();
    let bundles = bundles.filter(|entry| entry["details"]["format"] == "posters_zip");
    assert_eq!(bundles.count(), 1, "{}", audit.text);
    console.get("/console/posters.zip").await.assert_status(422);
    let users = app.get("/api/v1/users", Some(admin)).await;
    // The staff's seven: an admin and one of every other role.
    assert_eq!(users.body["items"].as_array().map(Vec::len), Some(7));
}
api_test!(admin_pages_are_the_404_page_for_every_other_role);

async fn admin_creates_edits_disables_and_resets_an_account_with_the_apis_audit_entries(
    app: TestApp,
) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "S1").await;
    let park = app.create_park(&admin, "P1").await;
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;

    // The API's messages next to the fields; nothing is created.
    let refused = console
        .post_csrf(
            "/console/users",
            &[
                ("username", "x"),
                ("display_name", "王五"),
                ("role", "sector_official"),
                ("password", "password"),
            ],
        )
        .await;
    refused.assert_status(422);
    assert!(
        refused.text.contains("行业主管部门账号须指定至少一个行业"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("value=\"王五\""));
    let unknown = console
        .post_csrf(
            "/console/users",
            &[
                ("username", "contact9"),
                ("display_name", "赵六"),
                ("role", "enterprise_contact"),
                ("credit_code", &credit_code("nobody")),
            ],
        )
        .await;
    unknown.assert_status(422);
    assert!(unknown.text.contains("没有该统一社会信用代码的企业"));

    // Created with a generated password, shown once.
    let created = console
        .post_csrf(
            "/console/users",
            &[
                ("username", "wangwu"),
                ("display_name", "王五"),
                ("role", "sector_official"),
                ("sector_ids", &sector),
                ("password", ""),
            ],
        )
        .await;
    created.assert_status(200);
    let initial = shown_code(&created.text);
    let id = user_id(&app, &admin, "wangwu").await;
    let mut wangwu = Browser::session(&app, "wangwu", &initial).await;
    wangwu.get("/console/password").await.assert_status(200);

    let list = console
        .get("/console/users?q=wang&role=sector_official")
        .await;
    list.assert_status(200);
    assert!(list.text.contains("wangwu"));
    assert!(!list.text.contains(">admin<"));

    // Role and scope.
    let edited = console
        .post_csrf(
            &format!("/console/users/{id}"),
            &[
                ("display_name", "王五"),
                ("role", "park_official"),
                ("park_ids", &park),
            ],
        )
        .await;
    edited.assert_status(303);
    let view = app.get(&format!("/api/v1/users/{id}"), Some(&admin)).await;
    assert_eq!(view.body["role"], "park_official");
    assert_eq!(view.body["park_ids"][0].as_str(), Some(park.as_str()));
    let mismatch = console
        .post_csrf(
            &format!("/console/users/{id}"),
            &[("display_name", "王五"), ("role", "park_official")],
        )
        .await;
    mismatch.assert_status(422);
    assert!(mismatch.text.contains("园区账号须指定至少一个园区"));

    // Disabling ends the account's console session.
    let disabled = console
        .post_csrf(&format!("/console/users/{id}/active"), &[("active", "off")])
        .await;
    disabled.assert_status(303);
    let ended = wangwu.get("/console/password").await;
    ended.assert_status(303);
    assert_eq!(ended.header("location"), Some("/console/login"));
    let detail = console.get(&format!("/console/users/{id}")).await;
    assert!(detail.text.contains("启用账号"));
    console
        .post_csrf(&format!("/console/users/{id}/active"), &[("active", "on")])
        .await
        .assert_status(303);

    // Reset: the policy's message, then a generated password that signs in.
    let weak = console
        .post_csrf(
            &format!("/console/users/{id}/password"),
            &[("new_password", "12345678")],
        )
        .await;
    weak.assert_status(422);
    let reset = console
        .post_csrf(
            &format!("/console/users/{id}/password"),
            &[("new_password", "")],
        )
        .await;
    reset.assert_status(200);
    let password = shown_code(&reset.text);
    assert_ne!(password, initial);
    app.login("wangwu", &password).await.assert_status(200);

    let actions = audit_actions(&app, &admin, &id).await;
    for action in ["user.create", "user.update", "user.reset_password"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    assert_eq!(actions.iter().filter(|a| *a == "user.update").count(), 3);
}
api_test!(admin_creates_edits_disables_and_resets_an_account_with_the_apis_audit_entries);

async fn an_unknown_account_is_the_404_page_and_a_post_without_csrf_is_403(app: TestApp) {
    let admin = app.admin_token().await;
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    console
        .get("/console/users/0192f0c4-5d2e-7a10-8c3b-7b1e0d5f6a21")
        .await
        .assert_status(404);
    let forged = console
        .post(
            "/console/users",
            &[
                ("username", "forged"),
                ("display_name", "伪造"),
                ("role", "regulator"),
            ],
        )
        .await;
    forged.assert_status(403);
    let users = app.get("/api/v1/users?q=forged", Some(&admin)).await;
    assert_eq!(users.body["items"], Value::Array(vec![]));
}
api_test!(an_unknown_account_is_the_404_page_and_a_post_without_csrf_is_403);

/// A roster file: the import's header row, then `rows`.
pub(crate) fn csv_file(rows: &[&str]) -> Vec<u8> {
    let mut text = String::from("企业名称,统一社会信用代码,行业,园区,地址,重点企业,状态\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

/// How many enterprises the API lists to `admin`.
pub(crate) async fn enterprise_count(app: &TestApp, admin: &str) -> usize {
    let listed = app.get("/api/v1/enterprises", Some(admin)).await;
    listed.body["items"].as_array().map_or(0, Vec::len)
}

async fn the_roster_import_previews_every_row_error_writes_nothing_then_confirms_the_same_file(
    app: TestApp,
) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "HG").await;
    app.create_park(&admin, "EAST").await;
    let good1 = format!(
        "福州一号化工有限公司,{},HG,EAST,高新大道1号,是,在营",
        credit_code("1")
    );
    let good2 = format!("福州二号化工有限公司,{},HG,EAST,,否,在营", credit_code("2"));
    let bad = "福州三号化工有限公司,91350100M000100Y44,不存在的行业,EAST,,也许,在营";
    let file = csv_file(&[&good1, bad, &good2]);
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    console
        .get("/console/roster/import")
        .await
        .assert_status(200);

    // Without the CSRF field: refused, nothing read into the roster.
    let forged = console.upload("/console/roster/import", &file, false).await;
    forged.assert_status(403);

    let preview = console.upload("/console/roster/import", &file, true).await;
    preview.assert_status(200);
    assert!(
        preview.text.contains("<td>3</td><td>行业</td>"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("找不到行业“不存在的行业”"));
    assert!(preview.text.contains("<td>3</td><td>重点企业</td>"));
    assert!(preview.text.contains("新增<b>2</b>"));
    assert!(preview.text.contains("有误<b>1</b>"));
    assert_eq!(enterprise_count(&app, &admin).await, 0);
    let audit = app
        .get("/api/v1/audit?action=enterprise.import", Some(&admin))
        .await;
    assert_eq!(audit.body["items"], Value::Array(vec![]));

    let id = field_value(&preview.text, "id");
    console
        .post_csrf(
            "/console/roster/import/confirm",
            &[("id", "unknown"), ("partial", "on")],
        )
        .await
        .assert_status(404);
    let confirmed = console
        .post_csrf(
            "/console/roster/import/confirm",
            &[("id", &id), ("partial", "on")],
        )
        .await;
    confirmed.assert_status(200);
    assert!(confirmed.text.contains("已写入"), "{}", confirmed.text);
    assert_eq!(enterprise_count(&app, &admin).await, 2);
    let audit = app
        .get("/api/v1/audit?action=enterprise.import", Some(&admin))
        .await;
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));

    // Used once: the same id again is the 404 page.
    console
        .post_csrf(
            "/console/roster/import/confirm",
            &[("id", &id), ("partial", "on")],
        )
        .await
        .assert_status(404);
    assert_eq!(enterprise_count(&app, &admin).await, 2);

    // A file without its required columns is the error page, not a preview.
    let headless = console
        .upload("/console/roster/import", b"foo,bar\n1,2\n", true)
        .await;
    headless.assert_status(422);
    assert!(headless.text.contains("缺少必需的列"));
}
api_test!(the_roster_import_previews_every_row_error_writes_nothing_then_confirms_the_same_file);

async fn admin_creates_renames_and_deletes_sectors_and_parks_and_sees_the_apis_refusal(
    app: TestApp,
) {
    let admin = app.admin_token().await;
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    let created = console
        .post_csrf(
            "/console/org/sectors",
            &[("code", "HG"), ("name", "化工"), ("authority", "市工信局")],
        )
        .await;
    created.assert_status(303);
    console
        .post_csrf("/console/org/parks", &[("code", "EAST"), ("name", "东区")])
        .await
        .assert_status(303);
    let refused = console
        .post_csrf(
            "/console/org/parks",
            &[("code", "EAST"), ("name", "另一个")],
        )
        .await;
    refused.assert_status(409);
    assert!(refused.text.contains("该园区编码已存在"));
    let sectors = app.get("/api/v1/sectors", Some(&admin)).await;
    let sector = sectors.body["items"][0]["id"].as_str().unwrap().to_owned();
    let parks = app.get("/api/v1/parks", Some(&admin)).await;
    let park = parks.body["items"][0]["id"].as_str().unwrap().to_owned();

    let renamed = console
        .post_csrf(
            &format!("/console/org/sectors/{sector}"),
            &[
                ("code", "HG"),
                ("name", "石油化工"),
                ("authority", "市工信局"),
            ],
        )
        .await;
    renamed.assert_status(303);
    let page = console.get("/console/org").await;
    assert!(page.text.contains("value=\"石油化工\""));

    app.create_user(&admin, "sector9", "sector_official", &[&sector], &[])
        .await;
    let in_use = console
        .post_csrf(&format!("/console/org/sectors/{sector}/delete"), &[])
        .await;
    in_use.assert_status(409);
    assert!(in_use.text.contains("仍有 1 个账号"), "{}", in_use.text);
    console
        .post_csrf(&format!("/console/org/parks/{park}/delete"), &[])
        .await
        .assert_status(303);
    console
        .post_csrf(&format!("/console/org/parks/{park}/delete"), &[])
        .await
        .assert_status(404);

    let actions = audit_actions(&app, &admin, &sector).await;
    assert!(actions.iter().any(|a| a == "org_unit.create"));
    assert!(actions.iter().any(|a| a == "org_unit.update"));
    let actions = audit_actions(&app, &admin, &park).await;
    assert!(actions.iter().any(|a| a == "org_unit.delete"));
}
api_test!(admin_creates_renames_and_deletes_sectors_and_parks_and_sees_the_apis_refusal);

/// Every value of the fields `name` of a page, in order.
fn field_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .skip(1)
        .map(|rest| rest.split('"').next().expect("closed value").to_owned())
        .collect()
}

/// The text of the first `<code>` element after `from` (a code shown once).
fn code_after(html: &str, from: &str) -> String {
    let start = html.find(from).expect("shown");
    shown_code(&html[start..])
}

async fn user_count(app: &TestApp, admin: &str) -> usize {
    let page = app.get("/api/v1/users?limit=100", Some(admin)).await;
    page.assert_status(200);
    page.body["items"].as_array().expect("items").len()
}

async fn admin_creates_contacts_for_the_roster_and_prints_their_activation_sheet(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let names = ["福州第二机械有限公司", "福州第三物流有限公司"];
    for name in names {
        app.create_enterprise(&admin, name, &staff.sector, &staff.park)
            .await;
    }
    let usernames: Vec<String> = names
        .iter()
        .map(|name| format!("ent-{}", credit_code(name).to_lowercase()))
        .collect();
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    let list = console.get("/console/users").await;
    list.assert_status(200);
    assert!(list.text.contains("href=\"/console/users/activation\""));
    assert!(
        list.text
            .contains("action=\"/console/users/activation-sheet\"")
    );
    assert!(list.text.contains("type=\"checkbox\" name=\"user_id\""));
    let page = console.get("/console/users/activation").await;
    page.assert_status(200);
    assert!(page.text.contains("为尚无联系人的企业创建联系人账号"));
    let before = user_count(&app, &admin).await;

    // The preview writes nothing and leaves out the enterprise that has a contact.
    console
        .post("/console/users/activation/preview", &[])
        .await
        .assert_status(403);
    let preview = console
        .post_csrf("/console/users/activation/preview", &[])
        .await;
    preview.assert_status(200);
    assert!(
        preview.text.contains("将创建 2 个联系人账号"),
        "{}",
        preview.text
    );
    for (name, username) in names.iter().zip(&usernames) {
        assert!(preview.text.contains(name) && preview.text.contains(username));
    }
    assert!(!preview.text.contains("福州第一化工有限公司"));
    assert_eq!(user_count(&app, &admin).await, before);
    let mut enterprise_ids = field_values(&preview.text, "enterprise_id");
    assert_eq!(enterprise_ids.len(), 2);

    // Confirmed: one contact per enterprise without one; the one with a contact is skipped.
    let pairs: Vec<(&str, &str)> = enterprise_ids
        .iter()
        .map(|id| ("enterprise_id", id.as_str()))
        .collect();
    console
        .post("/console/users/activation", &pairs)
        .await
        .assert_status(403);
    assert_eq!(user_count(&app, &admin).await, before);
    enterprise_ids.push(staff.enterprise.clone());
    let pairs: Vec<(&str, &str)> = enterprise_ids
        .iter()
        .map(|id| ("enterprise_id", id.as_str()))
        .collect();
    let created = console.post_csrf("/console/users/activation", &pairs).await;
    created.assert_status(200);
    assert!(
        created.text.contains("已创建 2 个联系人账号"),
        "{}",
        created.text
    );
    assert!(created.text.contains("已跳过"));
    assert!(created.text.contains("打印激活单"));
    assert_eq!(user_count(&app, &admin).await, before + 2);
    let old_codes: Vec<String> = usernames
        .iter()
        .map(|username| code_after(&created.text, username))
        .collect();
    for code in &old_codes {
        assert_eq!(code.len(), 14, "{code}");
    }
    let user_ids = field_values(&created.text, "user_id");
    assert_eq!(user_ids.len(), 2);
    console
        .post_csrf("/console/users/activation", &[])
        .await
        .assert_status(422);

    // The sheet: fresh codes that scan to the activation page; the shown ones are void.
    let picked: Vec<(&str, &str)> = user_ids.iter().map(|id| ("user_id", id.as_str())).collect();
    console
        .post("/console/users/activation-sheet", &picked)
        .await
        .assert_status(403);
    console
        .post_csrf("/console/users/activation-sheet", &[])
        .await
        .assert_status(422);
    let sheet = console
        .post_csrf("/console/users/activation-sheet", &picked)
        .await;
    sheet.assert_status(200);
    assert_eq!(sheet.header("content-type"), Some("image/png"));
    assert!(sheet.bytes.starts_with(b"\x89PNG"));
    let base = app.settings.public_base_url();
    for (index, (username, old)) in usernames.iter().zip(&old_codes).enumerate() {
        let found = decode_qr_in(&sheet.bytes, card_box(index));
        assert_eq!(found.len(), 1, "card {index}: {found:?}");
        let prefix = format!("{base}/console/activate?u={username}&c=");
        let code = found[0]
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{} is not {prefix}…", found[0]));
        let activate = |code: &str| json!({ "username": username, "code": code, "password": "Lantern-Orchid-61-Basalt" });
        app.post("/api/v1/auth/activate", None, activate(old))
            .await
            .assert_status(401);
        app.post("/api/v1/auth/activate", None, activate(code))
            .await
            .assert_status(200);
    }
    for id in &user_ids {
        let actions = audit_actions(&app, &admin, id).await;
        assert!(actions.iter().any(|a| a == "user.create"), "{actions:?}");
        assert!(
            actions.iter().any(|a| a == "user.activation_issue"),
            "{actions:?}"
        );
    }
}
api_test!(admin_creates_contacts_for_the_roster_and_prints_their_activation_sheet);

async fn the_roster_import_preview_reports_a_bad_contact_phone_without_echoing_numbers(
    app: TestApp,
) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "HG").await;
    app.create_park(&admin, "EAST").await;
    let file = format!(
        "企业名称,统一社会信用代码,行业,园区,联系人,联系电话\n\
         福州一号化工有限公司,{},HG,EAST,王经理,13812345678\n\
         福州二号化工有限公司,{},HG,EAST,李四,0591-888\n",
        credit_code("1"),
        credit_code("2")
    );
    let mut console = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    let preview = console
        .upload("/console/roster/import", file.as_bytes(), true)
        .await;
    preview.assert_status(200);
    assert!(
        preview.text.contains("<td>3</td><td>联系电话</td>"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("有误<b>1</b>"));
    assert!(!preview.text.contains("13812345678"));
    assert_eq!(enterprise_count(&app, &admin).await, 0);
}
api_test!(the_roster_import_preview_reports_a_bad_contact_phone_without_echoing_numbers);
