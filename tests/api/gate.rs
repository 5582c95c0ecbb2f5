//! The gate (门岗): gates of an enterprise, checking passes in and out with a nonce,
//! every refusal's reason, annulling a scan, who is inside, the scan log, and who may
//! do what.

use chrono::{TimeDelta, Utc};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::{Value, json};

use crate::helpers::{Browser, Staff, TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::registrations::{self, approve, driver, driver_key_of, plate, register};

/// A gate named `name` of the staff's enterprise, added by its contact: its id.
pub(crate) async fn gate(app: &TestApp, staff: &Staff, name: &str) -> String {
    let created = app
        .post(
            &format!("/api/v1/enterprises/{}/gates", staff.enterprise),
            Some(staff.token("enterprise_contact")),
            json!({ "name": name }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["name"], name);
    assert_eq!(created.body["active"], true);
    created.body["id"].as_str().unwrap().to_owned()
}

/// A registration of vehicle `n` at the enterprise of `code`, arriving `arrival` from
/// now: (pass token, registration id, driver key).
pub(crate) async fn pass_arriving(
    app: &TestApp,
    code: &str,
    n: usize,
    arrival: TimeDelta,
) -> (String, String, String) {
    let mut body = driver(n);
    body["expected_arrival"] = json!(
        (Utc::now() + TimeDelta::hours(8) + arrival)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    );
    let registered = register(app, code, body, None).await;
    registered.assert_status(201);
    let token = registered.body["token"].as_str().unwrap().to_owned();
    let admin = app.admin_token().await;
    let id = registrations::registration_id(app, &admin, &plate(n)).await;
    (token, id, driver_key_of(&registered))
}

/// An approved pass of vehicle `n` valid now at the staff's enterprise: (token, id).
pub(crate) async fn approved_pass(app: &TestApp, staff: &Staff, n: usize) -> (String, String) {
    let code = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let (token, id, _) = pass_arriving(app, &code, n, TimeDelta::hours(1)).await;
    approve(app, staff.token("enterprise_contact"), &id)
        .await
        .assert_status(200);
    (token, id)
}

/// Scans `code` at `gate` as `token`'s user.
pub(crate) async fn scan(
    app: &TestApp,
    token: &str,
    gate: &str,
    kind: &str,
    code: &str,
    nonce: &str,
) -> TestResponse {
    let body = json!({
        "nonce": nonce, "gate_id": gate, "type": kind, "code": code,
        "client_time": Utc::now().to_rfc3339(),
    });
    app.post("/api/v1/gate/redeem", Some(token), body).await
}

pub(crate) fn assert_refused(response: &TestResponse, reason: &str, message: &str) {
    response.assert_status(201);
    assert_eq!(response.body["result"], "refused", "{}", response.text);
    assert_eq!(response.body["reason"], reason, "{}", response.text);
    assert_eq!(response.body["message"], message);
}

async fn status(app: &TestApp, token: &str, enterprise: &str) -> Value {
    let status = app
        .get(
            &format!("/api/v1/enterprises/{enterprise}/gate/status"),
            Some(token),
        )
        .await;
    status.assert_status(200);
    status.body
}

async fn a_guard_checks_a_pass_in_and_out_once(app: TestApp) {
    let staff = app.staff().await;
    let east = gate(&app, &staff, "东门").await;
    let (token, id) = approved_pass(&app, &staff, 1).await;
    let guard = staff.token("gate_guard");
    // The pass page's address, as its QR code holds it.
    let address = format!("{}/p/{}", app.address, token.to_lowercase());

    let entry = scan(&app, guard, &east, "entry", &address, "scan-0001").await;
    entry.assert_status(201);
    assert_eq!(entry.body["result"], "accepted");
    assert_eq!(entry.body["reason"], Value::Null);
    assert_eq!(entry.body["message"], "准予入园");
    assert_eq!(entry.body["gate_name"], "东门");
    assert_eq!(entry.body["code"], address);
    let pass = &entry.body["pass"];
    assert_eq!(pass["registration_id"], id.as_str());
    assert_eq!(pass["driver_name"], "张*");
    assert_eq!(pass["plate"], "闽A***01");
    assert_eq!(pass["vehicle_type_label"], "重型货车");
    assert!(
        !entry.text.contains(&plate(1)),
        "a full plate: {}",
        entry.text
    );

    // The same scan again (a retry): the same answer, nothing new.
    let retry = scan(&app, guard, &east, "entry", &address, "scan-0001").await;
    retry.assert_status(200);
    assert_eq!(retry.body["id"], entry.body["id"]);
    assert_eq!(retry.body["result"], "accepted");
    // The nonce of that scan on another code is refused, not taken for it.
    let reused = scan(&app, guard, &east, "entry", "闽A00002", "scan-0001").await;
    reused.assert_status(422);
    assert_eq!(reused.body["code"], "idempotency_key_reused");

    // A second entry of the truck inside.
    let again = scan(&app, guard, &east, "entry", &token, "scan-0002").await;
    assert_refused(&again, "already_inside", "该车辆已在园内，不能重复入园");
    assert_eq!(again.body["pass"]["registration_id"], id.as_str());

    let inside = status(&app, guard, &staff.enterprise).await;
    assert_eq!(inside["inside_count"], 1);
    assert_eq!(inside["entries_today"], 1);
    assert_eq!(inside["refused_today"], 1);
    assert_eq!(inside["inside"][0]["pass"]["registration_id"], id.as_str());
    assert_eq!(inside["inside"][0]["gate_id"], east.as_str());

    // Out by the plate the guard types.
    let exit = scan(&app, guard, &east, "exit", "闽A 00001", "scan-0003").await;
    exit.assert_status(201);
    assert_eq!(exit.body["result"], "accepted", "{}", exit.text);
    assert_eq!(exit.body["message"], "准予离园");
    assert_eq!(exit.body["dwell_minutes"], 0);
    let twice = scan(&app, guard, &east, "exit", &token, "scan-0004").await;
    assert_refused(&twice, "not_inside", "该车辆未入园，不能离园");

    let after = status(&app, staff.token("enterprise_contact"), &staff.enterprise).await;
    assert_eq!(after["inside_count"], 0);
    assert_eq!(after["inside"], json!([]));
    assert_eq!(after["entries_today"], 1);
    assert_eq!(after["exits_today"], 1);
    assert_eq!(after["refused_today"], 2);

    // The scan log, newest first, and the failed scans alone.
    let events = format!("/api/v1/enterprises/{}/gate/events", staff.enterprise);
    let log = app.get(&format!("{events}?limit=3"), Some(guard)).await;
    log.assert_status(200);
    let nonces: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scan| scan["nonce"].as_str().unwrap())
        .collect();
    assert_eq!(nonces, ["scan-0004", "scan-0003", "scan-0002"]);
    let cursor = log.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("{events}?limit=3&cursor={cursor}"), Some(guard))
        .await;
    rest.assert_status(200);
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["items"][0]["nonce"], "scan-0001");
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let failed = app
        .get(
            &format!("{events}?result=refused"),
            Some(staff.token("regulator")),
        )
        .await;
    failed.assert_status(200);
    let reasons: Vec<&str> = failed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|scan| scan["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["not_inside", "already_inside"]);
    let bad = app
        .get(&format!("{events}?result=accepted"), Some(guard))
        .await;
    bad.assert_status(422);
}
api_test!(a_guard_checks_a_pass_in_and_out_once);

async fn every_refusal_names_its_reason(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let contact = staff.token("enterprise_contact").to_owned();
    let guard = staff.token("gate_guard").to_owned();
    let east = gate(&app, &staff, "东门").await;
    let code = app.code_token(&admin, &staff.enterprise).await;

    // Nothing a pass could be, and a token no pass has: unknown, no pass shown.
    for (n, raw) in ["hello", "ABCDEFGHJKMNPQRSTVWXYZ2345"].iter().enumerate() {
        let unknown = scan(&app, &guard, &east, "entry", raw, &format!("unknown-{n}")).await;
        assert_refused(&unknown, "unknown_code", "无效通行码：未找到该通行证");
        assert_eq!(unknown.body["pass"], Value::Null);
    }
    // An empty code is not a scan at all.
    let empty = scan(&app, &guard, &east, "entry", "  ", "empty-001").await;
    empty.assert_status(422);
    assert_eq!(empty.body["errors"][0]["field"], "code");

    // Pending, then rejected.
    let (pending, pending_id, _) = pass_arriving(&app, &code, 11, TimeDelta::hours(1)).await;
    let refused = scan(&app, &guard, &east, "entry", &pending, "pending-01").await;
    assert_refused(&refused, "pending", "通行证尚未审核通过");
    let reject = app
        .post(
            &format!("/api/v1/registrations/{pending_id}/reject"),
            Some(&contact),
            json!({ "reason": "证件与车辆不符" }),
        )
        .await;
    reject.assert_status(200);
    let refused = scan(&app, &guard, &east, "entry", &pending, "rejected-1").await;
    assert_refused(&refused, "rejected", "通行证未通过审核");

    // Cancelled by its driver after approval.
    let (cancelled, cancelled_id, key) = pass_arriving(&app, &code, 12, TimeDelta::hours(1)).await;
    approve(&app, &contact, &cancelled_id)
        .await
        .assert_status(200);
    registrations::cancel(&app, &cancelled, Some(&key))
        .await
        .assert_status(200);
    let refused = scan(&app, &guard, &east, "entry", &cancelled, "cancelled1").await;
    assert_refused(&refused, "cancelled", "通行证已被取消");

    // Approved for the day after tomorrow: not yet valid.
    let (early, early_id, _) = pass_arriving(&app, &code, 13, TimeDelta::days(2)).await;
    approve(&app, &contact, &early_id).await.assert_status(200);
    let refused = scan(&app, &guard, &east, "entry", &early, "too-early1").await;
    assert_refused(&refused, "not_yet_valid", "通行证尚未生效");

    // Approved, and its window over (moved into the past in the database).
    let (late, late_id) = approved_pass(&app, &staff, 14).await;
    let past = (Utc::now() - TimeDelta::days(2)).naive_utc();
    {
        use truckpass::db::schema::registrations::dsl as r;
        let mut conn = app.raw_connection();
        diesel::update(r::registrations.filter(r::id.eq(&late_id)))
            .set((
                r::valid_from.eq(past),
                r::valid_until.eq(past + TimeDelta::hours(36)),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let refused = scan(&app, &guard, &east, "entry", &late, "too-late-1").await;
    assert_refused(&refused, "expired", "通行证已过期");
    assert_eq!(refused.body["pass"]["status"], "expired");

    // Person, truck and pass do not agree: refused, and not inside.
    let (fine, _) = approved_pass(&app, &staff, 15).await;
    let body = json!({
        "nonce": "mismatch-1", "gate_id": east, "type": "entry", "code": fine,
        "plate_mismatch": true,
    });
    let refused = app.post("/api/v1/gate/redeem", Some(&guard), body).await;
    assert_refused(&refused, "plate_mismatch", "人、车、证不符");
    assert_eq!(
        status(&app, &guard, &staff.enterprise).await["inside_count"],
        0
    );

    // Another enterprise's approved pass: refused, and nothing of it shown.
    let other = app
        .create_enterprise(&admin, "福州第二化工有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(&admin, "contact2", &other).await;
    let other_contact = app.tokens("contact2", USER_PASSWORD).await.0;
    let other_code = app.code_token(&admin, &other).await;
    let (foreign, foreign_id, _) = pass_arriving(&app, &other_code, 16, TimeDelta::hours(1)).await;
    approve(&app, &other_contact, &foreign_id)
        .await
        .assert_status(200);
    let refused = scan(&app, &guard, &east, "entry", &foreign, "foreign-01").await;
    assert_refused(&refused, "other_enterprise", "非本企业通行证");
    assert_eq!(refused.body["pass"], Value::Null);
    assert!(!refused.text.contains("***16"), "{}", refused.text);

    // Bad input: every field's error at once, nothing recorded.
    let bad = app
        .post(
            "/api/v1/gate/redeem",
            Some(&guard),
            json!({
                "nonce": "x", "gate_id": east, "type": "sideways", "code": fine,
                "client_time": "now",
            }),
        )
        .await;
    bad.assert_status(422);
    let mut fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["client_time", "nonce", "type"]);
    let log = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/gate/events?limit=100",
                staff.enterprise
            ),
            Some(&guard),
        )
        .await;
    assert_eq!(log.body["items"].as_array().unwrap().len(), 9);
}
api_test!(every_refusal_names_its_reason);

async fn a_scan_just_made_can_be_annulled(app: TestApp) {
    let staff = app.staff().await;
    let guard = staff.token("gate_guard").to_owned();
    let east = gate(&app, &staff, "东门").await;
    let (token, id) = approved_pass(&app, &staff, 21).await;
    let annul = |nonce: &str| {
        app.post(
            "/api/v1/gate/annul",
            Some(&guard),
            json!({ "nonce": nonce }),
        )
    };

    scan(&app, &guard, &east, "entry", &token, "entry-0001")
        .await
        .assert_status(201);
    let undone = annul("entry-0001").await;
    undone.assert_status(200);
    assert_ne!(undone.body["annulled_at"], Value::Null);
    assert_eq!(
        status(&app, &guard, &staff.enterprise).await["inside_count"],
        0
    );
    // Twice is the same answer.
    let again = annul("entry-0001").await;
    again.assert_status(200);
    assert_eq!(again.body["annulled_at"], undone.body["annulled_at"]);

    // In again; out; the exit undone puts it back inside as it entered.
    scan(&app, &guard, &east, "entry", &token, "entry-0002")
        .await
        .assert_status(201);
    scan(&app, &guard, &east, "exit", &token, "exit-00001")
        .await
        .assert_status(201);
    // Not the last accepted scan of the truck any more.
    let stale = annul("entry-0002").await;
    stale.assert_status(409);
    assert_eq!(stale.body["code"], "invalid_transition");
    annul("exit-00001").await.assert_status(200);
    let inside = status(&app, &guard, &staff.enterprise).await;
    assert_eq!(inside["inside_count"], 1);
    assert_eq!(inside["inside"][0]["pass"]["registration_id"], id.as_str());

    // A refusal let nobody through: nothing to undo.
    let refused = scan(&app, &guard, &east, "entry", &token, "entry-0003").await;
    assert_refused(&refused, "already_inside", "该车辆已在园内，不能重复入园");
    annul("entry-0003").await.assert_status(409);
    // A nonce never scanned here.
    annul("never-scanned").await.assert_status(404);

    // Past the window (the scan moved back in the database): too late.
    scan(&app, &guard, &east, "exit", &token, "exit-00002")
        .await
        .assert_status(201);
    {
        use truckpass::db::schema::gate_scans::dsl as s;
        let earlier = (Utc::now() - TimeDelta::minutes(6)).naive_utc();
        let mut conn = app.raw_connection();
        diesel::update(s::gate_scans.filter(s::nonce.eq("exit-00002")))
            .set(s::created_at.eq(earlier))
            .execute(&mut conn)
            .unwrap();
    }
    let late = annul("exit-00002").await;
    late.assert_status(409);
    assert_eq!(late.body["detail"], "放行超过 5 分钟，不能撤销");
    assert_eq!(
        status(&app, &guard, &staff.enterprise).await["inside_count"],
        0
    );

    // Each annulment in the audit log, by the guard.
    let audit = app
        .get(
            "/api/v1/audit?action=gate.scan.annul",
            Some(staff.token("admin")),
        )
        .await;
    audit.assert_status(200);
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{}", audit.text);
    assert!(
        entries.iter().all(|e| e["actor_name"] == "guard1"),
        "{}",
        audit.text
    );
}
api_test!(a_scan_just_made_can_be_annulled);

async fn gates_belong_to_their_enterprise_and_guards_only_scan(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let contact = staff.token("enterprise_contact").to_owned();
    let guard = staff.token("gate_guard").to_owned();
    let east = gate(&app, &staff, "东门").await;
    let gates = format!("/api/v1/enterprises/{}/gates", staff.enterprise);

    let taken = app
        .post(&gates, Some(&contact), json!({ "name": " 东门 " }))
        .await;
    taken.assert_status(409);
    assert_eq!(taken.body["code"], "already_exists");
    let blank = app
        .post(&gates, Some(&contact), json!({ "name": "" }))
        .await;
    blank.assert_status(422);
    let west = app
        .post(&gates, Some(&admin), json!({ "name": "西门" }))
        .await;
    west.assert_status(201);
    let west = west.body["id"].as_str().unwrap().to_owned();
    let listed = app.get(&gates, Some(&guard)).await;
    listed.assert_status(200);
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"东门") && names.contains(&"西门"));
    let renamed = app
        .patch(
            &format!("{gates}/{west}"),
            Some(&contact),
            json!({ "name": "东门" }),
        )
        .await;
    renamed.assert_status(409);

    // Out of use: no scans there.
    app.patch(
        &format!("{gates}/{west}"),
        Some(&contact),
        json!({ "active": false }),
    )
    .await
    .assert_status(200);
    let (token, _) = approved_pass(&app, &staff, 31).await;
    let closed = scan(&app, &guard, &west, "entry", &token, "closed-001").await;
    closed.assert_status(409);
    assert_eq!(closed.body["code"], "invalid_transition");

    // Another enterprise, in another sector: its gates, status and log are not found
    // for this enterprise's guard and contact and for the first sector's official;
    // its gate is no gate here.
    let sector2 = app.create_sector(&admin, "S2").await;
    let other = app
        .create_enterprise(&admin, "福州第三化工有限公司", &sector2, &staff.park)
        .await;
    let other_gates = format!("/api/v1/enterprises/{other}/gates");
    let foreign = app
        .post(&other_gates, Some(&admin), json!({ "name": "北门" }))
        .await;
    foreign.assert_status(201);
    let foreign = foreign.body["id"].as_str().unwrap().to_owned();
    for token in [&guard, &contact, staff.token("sector_official")] {
        for path in [
            other_gates.clone(),
            format!("/api/v1/enterprises/{other}/gate/status"),
            format!("/api/v1/enterprises/{other}/gate/events"),
        ] {
            app.get(&path, Some(token)).await.assert_status(404);
        }
    }
    app.post(&other_gates, Some(&contact), json!({ "name": "南门" }))
        .await
        .assert_status(404);
    app.patch(
        &format!("{other_gates}/{foreign}"),
        Some(&contact),
        json!({ "active": false }),
    )
    .await
    .assert_status(404);
    app.patch(
        &format!("{gates}/{foreign}"),
        Some(&contact),
        json!({ "active": false }),
    )
    .await
    .assert_status(404);
    let elsewhere = scan(&app, &guard, &foreign, "entry", &token, "foreign-g1").await;
    elsewhere.assert_status(422);
    assert_eq!(elsewhere.body["errors"][0]["code"], "unknown_gate");
    // The park's official holds the other enterprise too.
    app.get(&other_gates, Some(staff.token("park_official")))
        .await
        .assert_status(200);

    // A guard scans and watches; no filings, no personal data, no settings, no desk.
    scan(&app, &guard, &east, "entry", &token, "guard-0001")
        .await
        .assert_status(201);
    for path in [
        "/api/v1/registrations".to_owned(),
        format!("/api/v1/enterprises/{}", staff.enterprise),
        format!(
            "/api/v1/enterprises/{}/registration-settings",
            staff.enterprise
        ),
    ] {
        app.get(&path, Some(&guard)).await.assert_status(403);
    }
    app.post(&gates, Some(&guard), json!({ "name": "南门" }))
        .await
        .assert_status(403);
    // In the console, the gate's pages only (see `console_gate`).
    let mut console = Browser::new(&app);
    let signed_in = console.sign_in("guard1", USER_PASSWORD).await;
    signed_in.assert_status(303);
    assert_eq!(signed_in.header("location"), Some("/console/gate"));
    console.get("/console/gate").await.assert_status(200);
    console
        .get("/console/registrations")
        .await
        .assert_status(404);
    // Officials watch; they do not scan.
    let official = scan(
        &app,
        staff.token("park_official"),
        &east,
        "exit",
        &token,
        "official-1",
    )
    .await;
    official.assert_status(403);
}
api_test!(gates_belong_to_their_enterprise_and_guards_only_scan);

async fn trucks_left_inside_are_checked_out_at_the_hour_and_overstays_flagged(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let contact = staff.token("enterprise_contact").to_owned();
    let guard = staff.token("gate_guard").to_owned();
    let east = gate(&app, &staff, "东门").await;
    let settings = format!("/api/v1/enterprises/{}/gate/settings", staff.enterprise);
    let none = app.get(&settings, Some(&guard)).await;
    none.assert_status(200);
    assert_eq!(
        none.body,
        json!({ "checkout_hour": null, "overstay_hours": null })
    );
    let bad = app
        .put(
            &settings,
            Some(&contact),
            json!({ "checkout_hour": 24, "overstay_hours": 0 }),
        )
        .await;
    bad.assert_status(422);
    assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2);
    // An array is not the rules, even if serde could read it as their fields.
    let array = app
        .put(&settings, Some(&contact), json!([null, null]))
        .await;
    array.assert_status(422);
    app.put(
        &settings,
        Some(&guard),
        json!({ "checkout_hour": 22, "overstay_hours": 8 }),
    )
    .await
    .assert_status(403);
    // The check-out at the hour just begun (already past), overstaying after an hour.
    let hour = (Utc::now() + TimeDelta::hours(8)).format("%H").to_string();
    let hour: i64 = hour.parse().unwrap();
    let rules = json!({ "checkout_hour": hour, "overstay_hours": 1 });
    let set = app.put(&settings, Some(&contact), rules.clone()).await;
    set.assert_status(200);
    assert_eq!(set.body, rules);

    // Two trucks in; one of them came in three hours ago (moved back in the database).
    let (early, early_id) = approved_pass(&app, &staff, 41).await;
    let (late, _) = approved_pass(&app, &staff, 42).await;
    for (n, token) in [&early, &late].into_iter().enumerate() {
        scan(&app, &guard, &east, "entry", token, &format!("in-{n:06}"))
            .await
            .assert_status(201);
    }
    {
        use truckpass::db::schema::gate_presence::dsl as p;
        let earlier = (Utc::now() - TimeDelta::hours(3)).naive_utc();
        let mut conn = app.raw_connection();
        diesel::update(p::gate_presence.filter(p::registration_id.eq(&early_id)))
            .set(p::entered_at.eq(earlier))
            .execute(&mut conn)
            .unwrap();
    }
    let inside = status(&app, &guard, &staff.enterprise).await;
    assert_eq!(inside["inside_count"], 2);
    assert_eq!(inside["overstay_count"], 1);
    assert_eq!(inside["rules"], rules);
    assert_eq!(
        inside["inside"][0]["pass"]["registration_id"],
        early_id.as_str()
    );
    assert_eq!(inside["inside"][0]["overstay"], true);
    assert_eq!(inside["inside"][1]["overstay"], false);

    // The zone's view: the regulator and the enterprise's own officials see both
    // trucks; an official of another sector sees none.
    for role in ["regulator", "sector_official", "park_official", "admin"] {
        let zone = app
            .get("/api/v1/gate/status", Some(staff.token(role)))
            .await;
        zone.assert_status(200);
        assert_eq!(zone.body["inside_count"], 2, "{role}");
        assert_eq!(zone.body["overstay_count"], 1, "{role}");
        assert_eq!(
            zone.body["enterprises"][0]["enterprise_id"],
            staff.enterprise.as_str()
        );
    }
    let sector2 = app.create_sector(&admin, "S2").await;
    app.create_user(
        &admin,
        "sector2",
        "sector_official",
        &[sector2.as_str()],
        &[],
    )
    .await;
    let other_official = app.tokens("sector2", USER_PASSWORD).await.0;
    let zone = app.get("/api/v1/gate/status", Some(&other_official)).await;
    zone.assert_status(200);
    assert_eq!(
        zone.body,
        json!({ "inside_count": 0, "overstay_count": 0, "enterprises": [] })
    );

    // The check-out job (run here as the server runs it every minute): the truck that
    // entered before the hour leaves automatically, the other stays; running it again
    // changes nothing.
    let mut conn = app.raw_connection();
    let now = Utc::now().naive_utc();
    assert_eq!(
        truckpass::gate::check_out_overdue(&mut conn, now).unwrap(),
        1
    );
    assert_eq!(
        truckpass::gate::check_out_overdue(&mut conn, now).unwrap(),
        0
    );
    let after = status(&app, &guard, &staff.enterprise).await;
    assert_eq!(after["inside_count"], 1);
    assert_eq!(after["exits_today"], 1);
    let log = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/gate/events?limit=1",
                staff.enterprise
            ),
            Some(&guard),
        )
        .await;
    log.assert_status(200);
    let exit = &log.body["items"][0];
    assert_eq!(exit["automatic"], true);
    assert_eq!(exit["type"], "exit");
    assert_eq!(exit["result"], "accepted");
    assert_eq!(exit["gate_id"], east.as_str());
    assert_eq!(exit["pass"]["registration_id"], early_id.as_str());
    let stayed = exit["dwell_minutes"].as_i64().unwrap();
    assert!(
        (120..=180).contains(&stayed),
        "stayed {stayed} minutes to the hour"
    );
    // Out, it may come in again.
    let again = scan(&app, &guard, &east, "entry", &early, "in-again01").await;
    again.assert_status(201);
    assert_eq!(again.body["result"], "accepted");
    let audit = app
        .get("/api/v1/audit?action=gate.settings", Some(&admin))
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
}
api_test!(trucks_left_inside_are_checked_out_at_the_hour_and_overstays_flagged);
