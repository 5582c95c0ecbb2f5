//! The officials' dashboard `/console/dashboard` through HTTP as a browser uses it:
//! the counts of the caller's scope (filings per status, sector, park, origin, the
//! share approved automatically, suspended and never scanned codes) for the
//! officials, the regulator and admins; the 404 page for the other roles.

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Browser, TestApp, TestResponse, api_test};
use crate::registrations::{PHONE, RESIDENT_ID, driver, plate, register, registration_id};

/// The staff enterprise (sector S1, park P1).
const OWN: &str = "福州第一化工有限公司";
/// An enterprise in sector S2 and park P2, outside the officials' scope, approving
/// its filings automatically.
const FOREIGN: &str = "厦门第二制药有限公司";
/// An enterprise in S1 / P1 whose code nobody has opened.
const IDLE: &str = "福州闲置机械有限公司";
/// Origins: 福建省福州市鼓楼区, 江苏省南京市玄武区, 广东省深圳市南山区.
const FUZHOU: &str = "350102";
const NANJING: &str = "320102";
const SHENZHEN: &str = "440305";

/// Files the `n`-th vehicle at a code, from `origin`.
async fn file(app: &TestApp, code: &str, n: usize, origin: &str) {
    let mut body = driver(n);
    body["origin_region"] = json!(origin);
    register(app, code, body, None).await.assert_status(201);
}

/// A row of one of the dashboard's count tables.
fn row(name: &str, count: i64) -> String {
    format!("<tr><td>{name}</td><td class=\"n\">{count}</td></tr>")
}

/// Today in the zone (UTC+8) as the daily charts label a day.
fn zone_today() -> String {
    (Utc::now() + TimeDelta::hours(8))
        .format("%m-%d")
        .to_string()
}

/// A bar of the status chart.
fn status_bar(label: &str, count: i64) -> String {
    format!("<title>{label}：{count} 条</title>")
}

/// The part of the page under the heading `from`, up to the heading `to`.
fn section<'a>(page: &'a TestResponse, from: &str, to: &str) -> &'a str {
    let start = page.text.find(from).expect("the first heading");
    let end = page.text[start..].find(to).expect("the second heading") + start;
    &page.text[start..end]
}

/// `app.staff()` plus a foreign enterprise (auto-approving, its code then suspended)
/// and an idle one; three filings at the staff enterprise (one approved, one
/// rejected, one pending) and two at the foreign one. Returns the foreign and idle
/// enterprises' ids.
async fn seeded(app: &TestApp) -> (String, String) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let sector = app.create_sector(&admin, "S2").await;
    let park = app.create_park(&admin, "P2").await;
    let foreign = app.create_enterprise(&admin, FOREIGN, &sector, &park).await;
    let idle = app
        .create_enterprise(&admin, IDLE, &staff.sector, &staff.park)
        .await;
    app.put(
        &format!("/api/v1/enterprises/{foreign}/registration-settings"),
        Some(&admin),
        json!({ "auto_approve": true }),
    )
    .await
    .assert_status(200);
    let own_code = app.code_token(&admin, &staff.enterprise).await;
    let foreign_code = app.code_token(&admin, &foreign).await;
    for (n, origin) in [(1, FUZHOU), (2, FUZHOU), (3, NANJING)] {
        file(app, &own_code, n, origin).await;
    }
    for n in [4, 5] {
        file(app, &foreign_code, n, SHENZHEN).await;
    }
    let approved = registration_id(app, &admin, &plate(1)).await;
    app.call(
        Method::POST,
        &format!("/api/v1/registrations/{approved}/approve"),
        Some(&admin),
        None,
    )
    .await
    .assert_status(200);
    let rejected = registration_id(app, &admin, &plate(2)).await;
    app.post(
        &format!("/api/v1/registrations/{rejected}/reject"),
        Some(&admin),
        json!({ "reason": "证件与车辆不符" }),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/enterprises/{foreign}/code/suspend"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_status(200);
    (foreign, idle)
}

async fn dashboard_counts_the_filings_and_codes_of_the_callers_scope(app: TestApp) {
    let filed_on = zone_today();
    let (foreign, idle) = seeded(&app).await;
    let mut regulator = Browser::of(&app, "regulator").await;
    let page = regulator.get("/console/dashboard").await;
    page.assert_status(200);
    // Filed today in the zone (unless the test ran across its midnight): the day's bar.
    if zone_today() == filed_on {
        let bar = format!("<title>{filed_on}：5 条</title>");
        assert!(page.text.contains(&bar), "{bar}: {}", page.text);
    }
    assert!(page.text.contains("href=\"/console/dashboard\""), "nav");
    assert!(page.text.contains("<b>5</b>登记"), "{}", page.text);
    for (label, count) in [("待审核", 1), ("已通过", 3), ("未通过", 1)] {
        assert!(page.text.contains(&status_bar(label, count)), "{label}");
    }
    for (name, count) in [
        ("S1行业", 3),
        ("S2行业", 2),
        ("P1园区", 3),
        ("P2园区", 2),
        ("福建省", 2),
        ("广东省", 2),
        ("江苏省", 1),
        ("福建省福州市", 2),
        ("广东省深圳市", 2),
        ("江苏省南京市", 1),
    ] {
        assert!(page.text.contains(&row(name, count)), "{name} {count}");
    }
    // Two of the four decisions were automatic; the two by a person are timed.
    assert!(
        page.text.contains("2 / 4 条已审核（50.0%）"),
        "{}",
        page.text
    );
    assert!(page.text.contains("最近 2 条人工审核"));
    let suspended = section(&page, "企业码已暂停", "企业码从未被扫码");
    assert!(suspended.contains(&format!("href=\"/console/enterprises/{foreign}\"")));
    assert!(suspended.contains(FOREIGN) && !suspended.contains(OWN));
    let unscanned = section(&page, "企业码从未被扫码", "企业码只统计在营企业");
    assert!(unscanned.contains(&format!("href=\"/console/enterprises/{idle}\"")));
    assert!(unscanned.contains(IDLE) && !unscanned.contains(OWN) && !unscanned.contains(FOREIGN));
    for personal in [PHONE, RESIDENT_ID, "张三"] {
        assert!(!page.text.contains(personal), "{personal}");
    }
    assert!(page.text.len() < 100_000, "{} bytes", page.text.len());

    let mut sector = Browser::of(&app, "sector_official").await;
    let page = sector.get("/console/dashboard").await;
    page.assert_status(200);
    assert!(page.text.contains("<b>3</b>登记"));
    for (label, count) in [("待审核", 1), ("已通过", 1), ("未通过", 1)] {
        assert!(page.text.contains(&status_bar(label, count)), "{label}");
    }
    for (name, count) in [
        ("S1行业", 3),
        ("P1园区", 3),
        ("福建省", 2),
        ("江苏省南京市", 1),
    ] {
        assert!(page.text.contains(&row(name, count)), "{name} {count}");
    }
    for foreign_text in ["S2行业", "P2园区", "广东省", FOREIGN] {
        assert!(!page.text.contains(foreign_text), "{foreign_text}");
    }
    assert!(page.text.contains("0 / 2 条已审核（0.0%）"));
    assert!(page.text.contains(IDLE));

    let mut park = Browser::of(&app, "park_official").await;
    let page = park.get("/console/dashboard").await;
    page.assert_status(200);
    assert!(page.text.contains(&row("P1园区", 3)) && !page.text.contains("P2园区"));
    let mut admin = Browser::of(&app, "admin").await;
    let page = admin.get("/console/dashboard").await;
    page.assert_status(200);
    assert!(page.text.contains(&row("P2园区", 2)));
}
api_test!(dashboard_counts_the_filings_and_codes_of_the_callers_scope);

async fn dashboard_is_the_404_page_for_surveyors_and_contacts(app: TestApp) {
    app.staff().await;
    for role in ["surveyor", "enterprise_contact"] {
        let mut console = Browser::of(&app, role).await;
        console.get("/console/dashboard").await.assert_status(404);
        let home = console.get("/console/").await;
        assert!(!home.text.contains("/console/dashboard"), "{role}: nav");
    }
    let mut anonymous = Browser::new(&app);
    let page = anonymous.get("/console/dashboard").await;
    page.assert_status(303);
    assert_eq!(page.header("location"), Some("/console/login"));
}
api_test!(dashboard_is_the_404_page_for_surveyors_and_contacts);
