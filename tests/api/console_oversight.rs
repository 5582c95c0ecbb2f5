//! The console's pages for officials, the regulator and admins, through HTTP as a
//! browser uses them (session cookie from `POST /console/login`): the roster, an
//! enterprise's page, its exports and code, the audit log and its verification; each
//! for the roles that may see it, refused for the others, scoped to the caller.

use crate::helpers::{Browser, Staff, TestApp, TestResponse, USER_PASSWORD, api_test, credit_code};
use crate::registrations::{PHONE, RESIDENT_ID, driver, register, registered};

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
pub(crate) const OWN: &str = "福州第一化工有限公司";
/// An enterprise in sector S2 and park P2, outside the officials' scope.
pub(crate) const FOREIGN: &str = "厦门第二制药有限公司";
/// A key enterprise in S1 / P1.
const KEY: &str = "福州重点物流有限公司";

/// `app.staff()` with a foreign enterprise and a key one; returns the staff and the
/// ids of the foreign and the key enterprise.
pub(crate) async fn roster(app: &TestApp) -> (Staff, String, String) {
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

async fn officials_filter_filings_by_enterprise_origin_and_days_and_export_them(app: TestApp) {
    let (staff, foreign, _) = roster(&app).await;
    let admin = staff.token("admin").to_owned();
    let own_code = app.code_token(&admin, &staff.enterprise).await;
    let foreign_code = app.code_token(&admin, &foreign).await;
    registered(&app, &own_code, 1).await;
    let mut from_jinan = driver(2);
    from_jinan["origin_region"] = serde_json::json!("370102");
    register(&app, &own_code, from_jinan, None)
        .await
        .assert_status(201);
    registered(&app, &foreign_code, 3).await;

    // The regulator sees the zone and narrows it down.
    let mut regulator = Browser::of(&app, "regulator").await;
    let all = regulator.get("/console/registrations").await;
    all.assert_status(200);
    assert!(all.text.contains(OWN) && all.text.contains(FOREIGN));
    assert!(all.text.contains("name=\"enterprise_name\""));
    // The origin picker offers the provinces; a province's cities once it is chosen.
    assert!(
        all.text
            .contains("<option value=\"370000\">山东省</option>")
    );
    assert!(!all.text.contains("济南市"));
    let by_name = regulator
        .get("/console/registrations?enterprise_name=第二制药")
        .await;
    by_name.assert_status(200);
    assert!(by_name.text.contains(FOREIGN) && !by_name.text.contains(OWN));
    let by_origin = regulator.get("/console/registrations?origin=370000").await;
    assert_eq!(
        by_origin.text.matches(">详情<").count(),
        1,
        "{}",
        by_origin.text
    );
    assert!(by_origin.text.contains(OWN) && !by_origin.text.contains(FOREIGN));
    assert!(
        by_origin
            .text
            .contains("<option value=\"370000\" selected>山东省（全省）</option>")
    );
    assert!(
        by_origin
            .text
            .contains("<option value=\"370100\">济南市</option>")
    );
    let by_county = regulator.get("/console/registrations?origin=370102").await;
    assert!(by_county.text.contains(OWN) && !by_county.text.contains(FOREIGN));
    assert!(
        by_county
            .text
            .contains("<option value=\"370102\" selected>山东省济南市历下区</option>"),
        "{}",
        by_county.text
    );
    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::hours(32)).date_naive();
    let later = tomorrow.succ_opt().unwrap();
    let none = regulator
        .get(&format!("/console/registrations?from={later}"))
        .await;
    assert!(none.text.contains("没有符合条件的登记"));
    let filters = format!("origin=370000&from={tomorrow}&to={tomorrow}");
    let page = regulator
        .get(&format!("/console/registrations?{filters}"))
        .await;
    assert!(
        page.text.contains(&format!(
            "/console/registrations/export.csv?from={tomorrow}&amp;to={tomorrow}&amp;origin=370000"
        )),
        "{}",
        page.text
    );
    let csv = regulator
        .get(&format!("/console/registrations/export.csv?{filters}"))
        .await;
    csv.assert_status(200);
    let rows: Vec<&str> = csv.text.trim_end().split("\r\n").skip(1).collect();
    assert_eq!(rows.len(), 1, "{}", csv.text);
    assert!(rows[0].contains("山东省济南市历下区") && rows[0].contains(OWN));
    assert!(!csv.text.contains(PHONE) && !csv.text.contains(RESIDENT_ID));
    let xlsx = regulator
        .get(&format!("/console/registrations/export.xlsx?{filters}"))
        .await;
    xlsx.assert_status(200);
    assert!(xlsx.bytes.starts_with(b"PK"));
    for bad in ["origin=999999", "from=2026-02-30", "plate=%E9%97%BDZ"] {
        let page = regulator
            .get(&format!("/console/registrations?{bad}"))
            .await;
        assert_eq!(page.status, 422, "{bad}");
        let export = regulator
            .get(&format!("/console/registrations/export.csv?{bad}"))
            .await;
        assert_eq!(export.status, 422, "{bad}");
    }

    // A sector official's lists and exports stay in the sector, whatever the filter.
    let mut official = Browser::of(&app, "sector_official").await;
    let scoped = official.get("/console/registrations").await;
    assert!(scoped.text.contains(OWN) && !scoped.text.contains(FOREIGN));
    let foreign_named = official
        .get("/console/registrations/export.csv?enterprise_name=第二制药")
        .await;
    foreign_named.assert_status(200);
    assert_eq!(
        foreign_named.text.trim_end().split("\r\n").count(),
        1,
        "header only"
    );
    let by_id = official
        .get(&format!("/console/registrations?enterprise_id={foreign}"))
        .await;
    assert!(by_id.text.contains("没有符合条件的登记"));

    // The contact has no enterprise or origin filter: it sees its own filings only.
    let mut contact = Browser::of(&app, "enterprise_contact").await;
    let own = contact.get("/console/registrations").await;
    assert!(
        !own.text.contains("name=\"enterprise_name\"") && !own.text.contains("name=\"origin\"")
    );
    let exported = contact.get("/console/registrations/export.csv").await;
    assert_eq!(
        exported.text.trim_end().split("\r\n").count(),
        3,
        "{}",
        exported.text
    );
    assert!(!exported.text.contains(FOREIGN));

    let audit = app
        .get("/api/v1/audit?action=registration.export", Some(&admin))
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        4,
        "{}",
        audit.text
    );
}
api_test!(officials_filter_filings_by_enterprise_origin_and_days_and_export_them);
