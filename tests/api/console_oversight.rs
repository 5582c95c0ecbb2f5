//! The console's pages for officials, the regulator and admins, through HTTP as a
//! browser uses them (session cookie from `POST /console/login`): the roster, an
//! enterprise's page, its exports and code, the audit log and its verification; each
//! for the roles that may see it, refused for the others, scoped to the caller.

use crate::helpers::{Browser, Staff, TestApp, TestResponse, USER_PASSWORD, api_test, credit_code};
use crate::registrations::{PHONE, RESIDENT_ID, registered};

/// The oversight roles of `app.staff()`, and the others.
const OVERSIGHT: [&str; 2] = ["admin", "regulator"];
const OTHERS: [&str; 4] = [
    "sector_official",
    "park_official",
    "surveyor",
    "enterprise_contact",
];

async fn audit_log_is_shown_to_oversight_roles_only(app: TestApp) {
    let _staff: Staff = app.staff().await;
    for role in OVERSIGHT {
        let mut console = Browser::of(&app, role).await;
        let page = console.get("/console/audit").await;
        page.assert_status(200);
        assert!(page.text.contains("enterprise.create"), "{role}");
        assert!(page.text.contains("href=\"/console/audit\""), "{role}: nav");
        let verified = console.get("/console/audit/verify").await;
        verified.assert_status(200);
        assert!(
            verified.text.contains("审计链完整"),
            "{role}: {}",
            verified.text
        );
    }
    for role in OTHERS {
        let mut console = Browser::of(&app, role).await;
        console.get("/console/audit").await.assert_status(404);
        console
            .get("/console/audit/verify")
            .await
            .assert_status(404);
        let home = console.get("/console/").await;
        home.assert_status(200);
        assert!(!home.text.contains("/console/audit"), "{role}: nav");
    }
    let anonymous = app
        .client
        .get(format!("{}/console/audit", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
}
api_test!(audit_log_is_shown_to_oversight_roles_only);

async fn audit_log_filters_and_pages_by_sequence(app: TestApp) {
    app.staff().await;
    let mut console = Browser::of(&app, "regulator").await;
    let created = console.get("/console/audit?action=enterprise.create").await;
    created.assert_status(200);
    assert!(created.text.contains("enterprise.create"));
    assert!(!created.text.contains("user.create"));
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let in_range = console
        .get(&format!(
            "/console/audit?action=enterprise.create&from={today}&to={tomorrow}"
        ))
        .await;
    assert!(in_range.text.contains("enterprise.create"));
    let later = console
        .get(&format!(
            "/console/audit?action=enterprise.create&from={}",
            tomorrow.succ_opt().unwrap()
        ))
        .await;
    assert!(!later.text.contains("<td>enterprise.create</td>"));
    let (token, _) = app.tokens("regulator1", USER_PASSWORD).await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    let regulator_id = me.body["id"].as_str().unwrap();
    let own = console
        .get(&format!("/console/audit?actor={regulator_id}"))
        .await;
    assert!(own.text.contains("auth.login") && !own.text.contains("enterprise.create"));
    assert!(
        created
            .text
            .contains("/console/audit?object_type=enterprise&amp;object_id=")
    );
    let first = console.get("/console/audit?before=2").await;
    first.assert_status(200);
    assert!(first.text.contains("<td>1</td>"));
    assert!(!first.text.contains("<td>2</td>"));
    for bad in [
        "from=2026-13-01",
        "from=-5000-01-01",
        "to=tomorrow",
        "before=abc",
        "before=0",
        "action=%00",
    ] {
        let page = console.get(&format!("/console/audit?{bad}")).await;
        assert_eq!(page.status, 422, "{bad}: {}", page.text);
    }
}
api_test!(audit_log_filters_and_pages_by_sequence);

/// The first staff enterprise's name (sector S1, park P1).
const OWN: &str = "福州第一化工有限公司";
/// An enterprise in sector S2 and park P2, outside the officials' scope.
const FOREIGN: &str = "厦门第二制药有限公司";
/// A key enterprise in S1 / P1.
const KEY: &str = "福州重点物流有限公司";

/// `app.staff()` with a foreign enterprise and a key one; returns the staff and the
/// ids of the foreign and the key enterprise.
async fn roster(app: &TestApp) -> (Staff, String, String) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let sector = app.create_sector(&admin, "S2").await;
    let park = app.create_park(&admin, "P2").await;
    let foreign = app.create_enterprise(&admin, FOREIGN, &sector, &park).await;
    let body = serde_json::json!({
        "name": KEY, "credit_code": credit_code(KEY), "sector_id": staff.sector,
        "park_id": staff.park, "address": "物流园 2 号", "key_enterprise": true,
    });
    let created = app.post("/api/v1/enterprises", Some(&admin), body).await;
    created.assert_status(201);
    let key = created.body["id"].as_str().unwrap().to_owned();
    (staff, foreign, key)
}

async fn roster_shows_each_role_its_own_scope(app: TestApp) {
    let (staff, foreign, _) = roster(&app).await;
    for role in OVERSIGHT {
        let page = Browser::of(&app, role)
            .await
            .get("/console/enterprises")
            .await;
        page.assert_status(200);
        assert!(
            page.text.contains(OWN) && page.text.contains(FOREIGN),
            "{role}"
        );
        assert!(
            page.text.contains("href=\"/console/enterprises\""),
            "{role}: nav"
        );
    }
    for role in ["sector_official", "park_official", "surveyor"] {
        let mut console = Browser::of(&app, role).await;
        let page = console.get("/console/enterprises").await;
        page.assert_status(200);
        assert!(page.text.contains(OWN) && page.text.contains(KEY), "{role}");
        assert!(!page.text.contains(FOREIGN), "{role}");
        for path in [
            format!("/console/enterprises/{foreign}"),
            format!("/console/code/qr.svg?enterprise={foreign}"),
            format!("/console/code/poster.png?enterprise={foreign}"),
        ] {
            let response = console.get(&path).await;
            assert_eq!(response.status, 404, "{role} {path}");
        }
        let own = console
            .get(&format!("/console/enterprises/{}", staff.enterprise))
            .await;
        own.assert_status(200);
    }
    let mut contact = Browser::of(&app, "enterprise_contact").await;
    let home = contact.get("/console/").await;
    assert!(
        !home.text.contains("href=\"/console/enterprises\""),
        "contact nav"
    );
    contact
        .get(&format!("/console/enterprises/{foreign}"))
        .await
        .assert_status(404);
    contact
        .get("/console/enterprises/unknown-id")
        .await
        .assert_status(404);
}
api_test!(roster_shows_each_role_its_own_scope);

async fn roster_searches_filters_orders_and_refuses_bad_filters(app: TestApp) {
    let (staff, _, _) = roster(&app).await;
    let mut console = Browser::of(&app, "regulator").await;
    let shown = |page: &TestResponse| [OWN, FOREIGN, KEY].map(|name| page.text.contains(name));
    let searched = console
        .get("/console/enterprises?q=%E7%AC%AC%E4%B8%80")
        .await;
    assert_eq!(shown(&searched), [true, false, false]);
    let code = credit_code(FOREIGN);
    let by_code = console
        .get(&format!("/console/enterprises?q={}", &code[..12]))
        .await;
    assert_eq!(shown(&by_code), [false, true, false]);
    let keys = console.get("/console/enterprises?key=yes").await;
    assert_eq!(shown(&keys), [false, false, true]);
    let in_sector = console
        .get(&format!(
            "/console/enterprises?sector_id={}&key=no",
            staff.sector
        ))
        .await;
    assert_eq!(shown(&in_sector), [true, false, false]);
    let in_park = console
        .get(&format!("/console/enterprises?park_id={}", staff.park))
        .await;
    assert_eq!(shown(&in_park), [true, false, true]);
    let closed = console.get("/console/enterprises?status=closed").await;
    assert_eq!(shown(&closed), [false, false, false]);
    let by_name = console.get("/console/enterprises?order=name").await;
    by_name.assert_status(200);
    let position = |name| by_name.text.find(name).unwrap();
    assert!(position(FOREIGN) < position(OWN) && position(OWN) < position(KEY));
    let newest = console.get("/console/enterprises").await;
    let position = |name| newest.text.find(name).unwrap();
    assert!(position(FOREIGN) < position(OWN) && position(KEY) < position(FOREIGN));
    for bad in [
        "key=maybe",
        "status=nope",
        "order=oldest",
        "cursor=%25%25",
        "cursor=AA",
        "q=%00",
    ] {
        let page = console.get(&format!("/console/enterprises?{bad}")).await;
        assert_eq!(page.status, 422, "{bad}: {}", page.text);
        // Exports have no order or pages: those fields are not read there.
        let ignored = bad.starts_with("order") || bad.starts_with("cursor");
        let export = console
            .get(&format!("/console/enterprises/export.csv?{bad}"))
            .await;
        assert_eq!(export.status, if ignored { 200 } else { 422 }, "{bad}");
    }
}
api_test!(roster_searches_filters_orders_and_refuses_bad_filters);

async fn roster_exports_hold_the_filtered_rows_of_the_scope_and_are_audited(app: TestApp) {
    let (staff, _, _) = roster(&app).await;
    let mut sector = Browser::of(&app, "sector_official").await;
    let csv = sector.get("/console/enterprises/export.csv").await;
    csv.assert_status(200);
    assert!(csv.text.contains(OWN) && csv.text.contains(KEY));
    assert!(!csv.text.contains(FOREIGN));
    let mut admin = Browser::of(&app, "admin").await;
    let filtered = admin.get("/console/enterprises/export.csv?key=yes").await;
    assert!(filtered.text.contains(KEY));
    assert!(!filtered.text.contains(OWN) && !filtered.text.contains(FOREIGN));
    let page = admin.get("/console/enterprises?key=yes").await;
    assert!(
        page.text
            .contains("/console/enterprises/export.csv?key=yes")
    );
    assert!(
        page.text
            .contains("/console/enterprises/export.xlsx?key=yes")
    );
    let xlsx = admin.get("/console/enterprises/export.xlsx?key=yes").await;
    xlsx.assert_status(200);
    assert!(xlsx.bytes.starts_with(b"PK"));
    let audit = app
        .get(
            "/api/v1/audit?action=enterprise.export",
            Some(staff.token("admin")),
        )
        .await;
    let formats: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["details"]["format"].clone(),
                entry["details"]["rows"].clone(),
            )
        })
        .collect();
    assert_eq!(
        formats,
        [
            (serde_json::json!("xlsx"), serde_json::json!(1)),
            (serde_json::json!("csv"), serde_json::json!(1)),
            (serde_json::json!("csv"), serde_json::json!(2)),
        ]
    );
}
api_test!(roster_exports_hold_the_filtered_rows_of_the_scope_and_are_audited);

async fn enterprise_page_shows_its_code_poster_and_latest_filings(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin");
    let token = app.code_token(admin, &staff.enterprise).await;
    registered(&app, &token, 1).await;
    let list = app.get("/api/v1/registrations", Some(admin)).await;
    let filing = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let mut console = Browser::of(&app, "park_official").await;
    let path = format!("/console/enterprises/{}", staff.enterprise);
    let page = console.get(&path).await;
    page.assert_status(200);
    assert!(page.text.contains(OWN));
    assert!(page.text.contains(&token));
    let qr = format!("/console/code/qr.svg?enterprise={}", staff.enterprise);
    let poster = format!("/console/code/poster.png?enterprise={}", staff.enterprise);
    assert!(page.text.contains(&qr), "{}", page.text);
    assert!(page.text.contains(&poster));
    assert!(
        page.text
            .contains(&format!("/console/registrations/{filing}"))
    );
    assert!(!page.text.contains(PHONE) && !page.text.contains(RESIDENT_ID));
    let svg = console.get(&qr).await;
    svg.assert_status(200);
    assert!(svg.text.contains("<svg"));
    let poster = console.get(&poster).await;
    poster.assert_status(200);
    assert!(poster.bytes.starts_with(b"\x89PNG"));
    let audit = app
        .get(
            &format!(
                "/api/v1/audit?action=code.download&object_id={}",
                staff.enterprise
            ),
            Some(admin),
        )
        .await;
    let formats: Vec<_> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["actor_name"] == "park1")
        .map(|entry| entry["details"]["format"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(formats, ["poster", "svg", "token"]);
}
api_test!(enterprise_page_shows_its_code_poster_and_latest_filings);
