//! Two survey pages of the console through HTTP as a browser uses them (the session
//! cookie, the CSRF token on every form): the merge queue of a campaign's field
//! discoveries, where an official merges one into a roster enterprise or adds it to
//! the roster (the same audit entries as the API), and the surveyors' sheet import,
//! a dry run listing every bad row before anything is written, then the accounts
//! with their one-time codes. Each page for the roles that may see it; the 404 page
//! for surveyors, contacts, an official outside the scope and a foreign id.

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, Browser, TestApp, TestResponse, USER_PASSWORD, api_test, credit_code,
    field_value,
};
use crate::survey::{Zone, running_campaign, zone};

/// An id nothing has.
const UNKNOWN: &str = "0192f0c4-5d2e-7a10-8c3b-7b1e0d5f6a21";

/// A console session of `username`.
async fn session<'a>(app: &'a TestApp, username: &str) -> Browser<'a> {
    Browser::session(app, username, USER_PASSWORD).await
}

/// The zone of `survey::zone` plus `offa`, the official of sector SA, and `offp1`,
/// the official of park P1.
async fn queue_zone(app: &TestApp) -> Zone {
    let zone = zone(app).await;
    app.create_user(&zone.admin, "offa", "sector_official", &[&zone.sa], &[])
        .await;
    app.create_user(&zone.admin, "offp1", "park_official", &[], &[&zone.p1])
        .await;
    zone
}

/// A discovery reported in park P1 by the surveyor of `token`: its id.
async fn reported(
    app: &TestApp,
    zone: &Zone,
    token: &str,
    campaign: &str,
    (client_id, name, credit): (&str, &str, Option<&str>),
) -> String {
    let body = json!({
        "client_id": client_id,
        "name": name,
        "credit_code": credit,
        "address": format!("福州市高新区创新路 {} 号", client_id.len() * 3),
        "park_id": zone.p1,
        "contact_person": "陈建国",
        "notes": "门口有货车进出",
    });
    let created = app
        .post(
            &format!("/api/v1/survey/campaigns/{campaign}/discoveries"),
            Some(token),
            body,
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["state"], "pending_review", "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Two discoveries waiting in the merge queue of a running campaign over SA and SB:
/// one with a1's credit code (reported by sv1), one with a name close to a2's and no
/// credit code (reported by sv2). Returns (campaign, by code, by name).
async fn two_waiting(app: &TestApp, zone: &Zone) -> (String, String, String) {
    let campaign = running_campaign(app, zone).await;
    let same_code = credit_code("福州甲一化工有限公司");
    let by_code = reported(
        app,
        zone,
        &zone.sv1.1,
        &campaign,
        ("queue-code", "甲一化工分厂", Some(&same_code)),
    )
    .await;
    let by_name = reported(
        app,
        zone,
        &zone.sv2.1,
        &campaign,
        ("queue-name", "福州市甲二化工有限责任公司", None),
    )
    .await;
    (campaign, by_code, by_name)
}

/// A discovery as the regulator reads it through the API.
async fn discovery(app: &TestApp, zone: &Zone, id: &str) -> Value {
    let found = app
        .get(
            &format!("/api/v1/survey/discoveries/{id}"),
            Some(&zone.regulator),
        )
        .await;
    found.assert_status(200);
    found.body.clone()
}

/// The audit entries of `action` on `object`, as the admin lists them.
async fn audit_entries(app: &TestApp, zone: &Zone, action: &str, object: &str) -> Vec<Value> {
    audit_query(app, zone, &format!("action={action}&object_id={object}")).await
}

/// The audit entries of a query, as the admin lists them.
async fn audit_query(app: &TestApp, zone: &Zone, query: &str) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/audit?{query}&limit=100"),
            Some(&zone.admin),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().clone()
}

/// The accounts created from surveyors' sheets, by the audit log: their creators.
async fn sheet_creations(app: &TestApp, zone: &Zone) -> Vec<String> {
    audit_query(app, zone, "action=user.create")
        .await
        .iter()
        .filter(|entry| entry["details"]["via"] == "surveyor_sheet")
        .map(|entry| entry["actor_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_merge_queue_shows_for_the_runners_and_is_the_404_page_for_everyone_else(app: TestApp) {
    let zone = queue_zone(&app).await;
    let (campaign, by_code, by_name) = two_waiting(&app, &zone).await;
    let queue = format!("/console/survey/campaigns/{campaign}/discoveries");
    let detail = format!("/console/survey/discoveries/{by_code}");
    let a1_code = credit_code("福州甲一化工有限公司");

    for username in ["admin", "reg", "offa"] {
        let mut runner = if username == "admin" {
            Browser::of(&app, "admin").await
        } else {
            session(&app, username).await
        };
        // The campaign's page links the queue with the count waiting.
        let campaign_page = runner
            .get(&format!("/console/survey/campaigns/{campaign}"))
            .await;
        campaign_page.assert_status(200);
        assert!(
            campaign_page.text.contains("新发现企业待核对：2 家"),
            "{username}"
        );
        assert!(campaign_page.text.contains(&format!("href=\"{queue}\"")));

        let listed = runner.get(&queue).await;
        listed.assert_status(200);
        assert!(listed.text.contains("甲一化工分厂"), "{username}");
        assert!(listed.text.contains("福州市甲二化工有限责任公司"));
        assert!(
            listed.text.contains(&a1_code),
            "the discovery's credit code"
        );
        assert!(
            listed
                .text
                .contains(&format!("/console/survey/discoveries/{by_name}"))
        );
        // The candidates by name.
        assert!(listed.text.contains("福州甲一化工有限公司"));
        assert!(listed.text.contains("福州甲二化工有限公司"));
        // Nothing merged yet.
        let merged = runner.get(&format!("{queue}?state=merged")).await;
        merged.assert_status(200);
        assert!(!merged.text.contains("甲一化工分厂"));

        let shown = runner.get(&detail).await;
        shown.assert_status(200);
        // The candidate: name, credit code, address, why, how close.
        for expected in [
            "福州甲一化工有限公司",
            a1_code.as_str(),
            "高新大道 1 号",
            "统一社会信用代码相同",
            "100%",
        ] {
            assert!(shown.text.contains(expected), "{username}: {expected}");
        }
        assert!(
            shown
                .text
                .contains(&format!("value=\"{}\"", zone.enterprise("a1")))
        );
        assert!(shown.text.contains("合并到所选企业"));
        assert!(shown.text.contains("加入企业名录"));
        assert_eq!(
            shown.text.matches("name=\"csrf\"").count(),
            3,
            "sign-out, merge and add forms"
        );
    }

    // Surveyors (even the reporter) and contacts: the 404 page, nothing resolved.
    for username in ["sv1", "contact"] {
        let mut other = session(&app, username).await;
        other.get(&queue).await.assert_status(404);
        other.get(&detail).await.assert_status(404);
        let refused = other
            .post_csrf(
                &format!("{detail}/resolve"),
                &[
                    ("action", "merge"),
                    ("enterprise_id", zone.enterprise("a1")),
                ],
            )
            .await;
        refused.assert_status(404);
        assert!(refused.text.contains("未找到") || refused.text.contains("无法完成"));
    }

    // The official of sector SC, outside the campaign: the campaign, its queue and
    // its discoveries are the 404 page, and nothing is resolved.
    let mut foreign = session(&app, "offc").await;
    foreign
        .get(&format!("/console/survey/campaigns/{campaign}"))
        .await
        .assert_status(404);
    foreign.get(&queue).await.assert_status(404);
    foreign.get(&detail).await.assert_status(404);
    foreign
        .post_csrf(
            &format!("{detail}/resolve"),
            &[("action", "add"), ("credit_code", &credit_code("另一家"))],
        )
        .await
        .assert_status(404);
    assert_eq!(
        discovery(&app, &zone, &by_code).await["state"],
        "pending_review"
    );

    // A foreign id: the 404 page for the zone command too.
    let mut regulator = session(&app, "reg").await;
    regulator
        .get(&format!("/console/survey/discoveries/{UNKNOWN}"))
        .await
        .assert_status(404);
    regulator
        .get(&format!("/console/survey/campaigns/{UNKNOWN}/discoveries"))
        .await
        .assert_status(404);
    regulator
        .post_csrf(
            &format!("/console/survey/discoveries/{UNKNOWN}/resolve"),
            &[
                ("action", "merge"),
                ("enterprise_id", zone.enterprise("a1")),
            ],
        )
        .await
        .assert_status(404);
    // A state no discovery has is the error page, not a 500.
    regulator
        .get(&format!("{queue}?state=lost"))
        .await
        .assert_status(422);
}
api_test!(the_merge_queue_shows_for_the_runners_and_is_the_404_page_for_everyone_else);

async fn an_official_merges_one_discovery_and_adds_another_as_the_api_would(app: TestApp) {
    let zone = queue_zone(&app).await;
    let (campaign, by_code, by_name) = two_waiting(&app, &zone).await;
    let mut official = session(&app, "offa").await;
    let resolve = |id: &str| format!("/console/survey/discoveries/{id}/resolve");
    let a1 = zone.enterprise("a1");

    // Without a CSRF token, or without a chosen enterprise: refused, nothing written.
    official
        .post(
            &resolve(&by_code),
            &[("action", "merge"), ("enterprise_id", a1)],
        )
        .await
        .assert_status(403);
    let unchosen = official
        .post_csrf(&resolve(&by_code), &[("action", "merge")])
        .await;
    unchosen.assert_status(422);
    assert!(unchosen.text.contains("合并时须指明名录中的企业"));
    assert_eq!(
        discovery(&app, &zone, &by_code).await["state"],
        "pending_review"
    );

    // Merged into the candidate a1.
    let merged = official
        .post_csrf(
            &resolve(&by_code),
            &[("action", "merge"), ("enterprise_id", a1)],
        )
        .await;
    merged.assert_status(303);
    assert_eq!(
        merged.header("location"),
        Some(format!("/console/survey/discoveries/{by_code}").as_str())
    );
    let found = discovery(&app, &zone, &by_code).await;
    assert_eq!(found["state"], "merged");
    assert_eq!(found["enterprise_id"], a1);
    assert_eq!(found["resolved_by_name"], "测试offa");
    // a1's case in the campaign went to the reporter, nobody having it.
    let case = app
        .get(
            &format!(
                "/api/v1/survey/cases/{}",
                found["case_id"].as_str().unwrap()
            ),
            Some(&zone.regulator),
        )
        .await;
    assert_eq!(case.body["enterprise_id"], a1);
    assert_eq!(case.body["assignee_id"], zone.sv1.0.as_str());
    let entries = audit_entries(&app, &zone, "survey.discovery.resolve", &by_code).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor_name"], "offa");
    assert_eq!(entries[0]["details"]["action"], "merge");
    assert_eq!(entries[0]["details"]["enterprise_id"], a1);
    // Its page: resolved, no forms left; a second decision is refused.
    let shown = official
        .get(&format!("/console/survey/discoveries/{by_code}"))
        .await;
    shown.assert_status(200);
    assert!(shown.text.contains("已合并"));
    assert!(!shown.text.contains("合并到所选企业"));
    let again = official
        .post_csrf(&resolve(&by_code), &[("action", "add")])
        .await;
    again.assert_status(409);
    assert_eq!(
        audit_entries(&app, &zone, "survey.discovery.resolve", &by_code)
            .await
            .len(),
        1
    );

    // Added to the roster: without a credit code it needs one.
    let uncoded = official
        .post_csrf(
            &resolve(&by_name),
            &[("action", "add"), ("credit_code", "")],
        )
        .await;
    uncoded.assert_status(422);
    assert!(uncoded.text.contains("加入企业名录须填写"));
    let code = credit_code("福州市甲二化工有限责任公司");
    let added = official
        .post_csrf(
            &resolve(&by_name),
            &[("action", "add"), ("credit_code", &code)],
        )
        .await;
    added.assert_status(303);
    let found = discovery(&app, &zone, &by_name).await;
    assert_eq!(found["state"], "added");
    assert_eq!(found["credit_code"], code.as_str());
    let enterprise = found["enterprise_id"].as_str().unwrap();
    assert_ne!(enterprise, zone.enterprise("a2"));
    let on_roster = app
        .get(
            &format!("/api/v1/enterprises/{enterprise}"),
            Some(&zone.admin),
        )
        .await;
    on_roster.assert_status(200);
    assert_eq!(on_roster.body["name"], "福州市甲二化工有限责任公司");
    assert_eq!(on_roster.body["credit_code"], code.as_str());
    let entries = audit_entries(&app, &zone, "survey.discovery.resolve", &by_name).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor_name"], "offa");
    assert_eq!(entries[0]["details"]["action"], "add");
    assert_eq!(
        audit_entries(&app, &zone, "enterprise.create", enterprise)
            .await
            .len(),
        1
    );

    // The queue is empty; the decided ones are under their states.
    let queue = format!("/console/survey/campaigns/{campaign}/discoveries");
    let waiting = official.get(&queue).await;
    assert!(waiting.text.contains("没有待核对的新发现企业"));
    let merged = official.get(&format!("{queue}?state=merged")).await;
    assert!(merged.text.contains("甲一化工分厂"));
    let added = official.get(&format!("{queue}?state=added")).await;
    assert!(added.text.contains("福州市甲二化工有限责任公司"));
    let campaign_page = official
        .get(&format!("/console/survey/campaigns/{campaign}"))
        .await;
    assert!(campaign_page.text.contains("新发现企业待核对：0 家"));
}
api_test!(an_official_merges_one_discovery_and_adds_another_as_the_api_would);

const IMPORT: &str = "/console/survey/surveyors/import";
const CONFIRM: &str = "/console/survey/surveyors/import/confirm";

/// The full numbers of the sheets: never on a page.
const PHONES: [&str; 3] = ["13812345678", "13912345678", "13712345678"];

fn sheet(rows: &[&str]) -> Vec<u8> {
    let mut text = String::from("姓名,手机号,所属行业或园区\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

/// The surveyor accounts the admin sees: (display name, username, sector ids).
async fn surveyors(app: &TestApp, zone: &Zone) -> Vec<(String, String, Value)> {
    let page = app
        .get("/api/v1/users?role=surveyor&limit=100", Some(&zone.admin))
        .await;
    page.assert_status(200);
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| {
            (
                user["display_name"].as_str().unwrap().to_owned(),
                user["username"].as_str().unwrap().to_owned(),
                user["sector_ids"].clone(),
            )
        })
        .collect()
}

/// The activation codes a page shows, in order.
fn codes(page: &TestResponse) -> Vec<String> {
    page.text
        .split("<code>")
        .skip(1)
        .map(|rest| rest.split("</code>").next().unwrap().to_owned())
        .collect()
}

async fn the_surveyors_import_shows_for_the_team_keepers_only(app: TestApp) {
    let zone = queue_zone(&app).await;
    for username in ["admin", "offa", "offp1"] {
        let mut keeper = if username == "admin" {
            Browser::of(&app, "admin").await
        } else {
            session(&app, username).await
        };
        let page = keeper.get(IMPORT).await;
        page.assert_status(200);
        assert!(page.text.contains("导入摸排人员"), "{username}");
        assert!(page.text.contains("enctype=\"multipart/form-data\""));
        assert!(page.text.contains("name=\"csrf\""));
        let campaigns = keeper.get("/console/survey/campaigns").await;
        assert!(
            campaigns.text.contains(&format!("href=\"{IMPORT}\"")),
            "{username}: linked from the survey's campaigns"
        );
    }
    // The zone command runs campaigns but staffs no team; surveyors and contacts see
    // nothing of it; no upload of theirs is read or written.
    let before = surveyors(&app, &zone).await.len();
    for username in ["reg", "sv1", "contact"] {
        let mut other = session(&app, username).await;
        other.get(IMPORT).await.assert_status(404);
        let upload = other
            .upload(IMPORT, &sheet(&["林晓燕,13812345678,SA"]), true)
            .await;
        upload.assert_status(404);
        other
            .post_csrf(CONFIRM, &[("id", "whatever")])
            .await
            .assert_status(404);
        let campaigns = other.get("/console/survey/campaigns").await;
        assert!(!campaigns.text.contains(IMPORT), "{username}");
    }
    assert_eq!(surveyors(&app, &zone).await.len(), before);
}
api_test!(the_surveyors_import_shows_for_the_team_keepers_only);

async fn a_sheet_with_a_bad_row_is_reported_by_row_and_nothing_is_written(app: TestApp) {
    let zone = queue_zone(&app).await;
    let before = surveyors(&app, &zone).await;
    let mut official = session(&app, "offa").await;
    let bad = sheet(&[
        "林晓燕,13812345678,SA",
        "王五,12345,SA",
        "赵六,13712345678,SB",
    ]);

    // Without the CSRF token: refused before anything is read.
    official
        .upload(IMPORT, &bad, false)
        .await
        .assert_status(403);

    let preview = official.upload(IMPORT, &bad, true).await;

    preview.assert_status(200);
    assert!(preview.text.contains("有误的行"));
    // Row 3 (the header is row 1): the phone; row 4: SB is not offa's sector.
    assert!(
        preview.text.contains("<td>3</td><td>手机号</td>"),
        "{}",
        preview.text
    );
    assert!(preview.text.contains("<td>4</td><td>所属行业或园区</td>"));
    assert!(preview.text.contains("不是您负责的行业或园区"));
    assert!(!preview.text.contains("<td>2</td>"), "row 2 is good");
    // No way to confirm, and nothing written.
    assert!(!preview.text.contains(CONFIRM));
    assert!(PHONES.iter().all(|phone| !preview.text.contains(phone)));
    assert_eq!(surveyors(&app, &zone).await, before);
    assert!(sheet_creations(&app, &zone).await.is_empty());
}
api_test!(a_sheet_with_a_bad_row_is_reported_by_row_and_nothing_is_written);

async fn the_dry_run_writes_nothing_and_the_confirmation_shows_each_code_once(app: TestApp) {
    let zone = queue_zone(&app).await;
    let before = surveyors(&app, &zone).await;
    let mut official = session(&app, "offa").await;
    let good = sheet(&["林晓燕,13812345678,SA", "陈明,139-1234-5678,SA"]);

    let preview = official.upload(IMPORT, &good, true).await;

    // The dry run: the accounts to be created, masked, and nothing written.
    preview.assert_status(200);
    assert!(preview.text.contains("这是预览，尚未创建任何账号"));
    assert!(preview.text.contains("林晓燕"));
    assert!(preview.text.contains("陈明"));
    assert!(preview.text.contains("138****5678"));
    assert!(PHONES.iter().all(|phone| !preview.text.contains(phone)));
    assert!(
        codes(&preview).is_empty(),
        "no codes before the confirmation"
    );
    assert_eq!(surveyors(&app, &zone).await, before);
    let id = field_value(&preview.text, "id");

    // Another session cannot confirm it.
    let mut admin = Browser::session(&app, "admin", ADMIN_PASSWORD).await;
    admin
        .post_csrf(CONFIRM, &[("id", &id)])
        .await
        .assert_status(404);

    let confirmed = official.post_csrf(CONFIRM, &[("id", &id)]).await;

    confirmed.assert_status(200);
    assert!(confirmed.text.contains("已创建 2 个摸排人员账号"));
    let shown = codes(&confirmed);
    assert_eq!(shown.len(), 2, "{}", confirmed.text);
    assert!(PHONES.iter().all(|phone| !confirmed.text.contains(phone)));
    // The activation sheet is the admin's: not offered to an official.
    assert!(!confirmed.text.contains("/console/users/activation-sheet"));
    let after = surveyors(&app, &zone).await;
    assert_eq!(after.len(), before.len() + 2);
    let created: Vec<_> = after.iter().filter(|user| !before.contains(user)).collect();
    let names: Vec<&str> = created.iter().map(|(name, ..)| name.as_str()).collect();
    assert!(
        names.contains(&"林晓燕") && names.contains(&"陈明"),
        "{names:?}"
    );
    assert!(
        created
            .iter()
            .all(|(.., sectors)| *sectors == json!([zone.sa]))
    );
    for (name, username, _) in &created {
        assert!(confirmed.text.contains(username.as_str()), "{name}");
    }
    // The code shown on the table's first row activates that row's account.
    let first_row = confirmed.text.split("<tbody>").nth(1).unwrap();
    let cells: Vec<&str> = first_row
        .split("<td>")
        .skip(1)
        .map(|cell| cell.split("</td>").next().unwrap())
        .collect();
    let activated = app
        .post(
            "/api/v1/auth/activate",
            None,
            json!({ "username": cells[1], "code": shown[0], "password": "Mountain-River-Lamp-62" }),
        )
        .await;
    activated.assert_status(200);
    assert_eq!(activated.body["user"]["username"], cells[1]);
    assert_eq!(sheet_creations(&app, &zone).await, ["offa", "offa"]);

    // Once: the same preview cannot be confirmed again.
    official
        .post_csrf(CONFIRM, &[("id", &id)])
        .await
        .assert_status(404);
    assert_eq!(surveyors(&app, &zone).await.len(), before.len() + 2);

    // The admin's confirmation offers the activation sheet of exactly those accounts;
    // or prints it at once.
    let one = sheet(&["钱七,13712345678,P1"]);
    let preview = admin.upload(IMPORT, &one, true).await;
    preview.assert_status(200);
    let id = field_value(&preview.text, "id");
    let printed = admin
        .post_csrf(CONFIRM, &[("id", &id), ("print", "on")])
        .await;
    printed.assert_status(200);
    assert_eq!(printed.header("content-type"), Some("image/png"));
    assert_eq!(surveyors(&app, &zone).await.len(), before.len() + 3);
    let again = sheet(&["孙八,13612345678,SB"]);
    let preview = admin.upload(IMPORT, &again, true).await;
    let id = field_value(&preview.text, "id");
    let confirmed = admin.post_csrf(CONFIRM, &[("id", &id)]).await;
    confirmed.assert_status(200);
    assert_eq!(codes(&confirmed).len(), 1);
    assert!(
        confirmed
            .text
            .contains("action=\"/console/users/activation-sheet\"")
    );
    assert_eq!(confirmed.text.matches("name=\"user_id\"").count(), 1);
}
api_test!(the_dry_run_writes_nothing_and_the_confirmation_shows_each_code_once);
