//! The blacklist (黑名单): plates and drivers listed per enterprise or zone-wide, the
//! document never in clear; a listed truck still registers but its filing is flagged
//! and the gate refuses its entry; expiry and lifting; who may see and change what.

use chrono::{TimeDelta, Utc};
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::gate::{approved_pass, assert_refused, gate, scan};
use crate::helpers::{Browser, Staff, TestApp, TestResponse, USER_PASSWORD, api_test};
use crate::registrations::{RESIDENT_ID, driver, plate, register, registration_id};

/// Adds an entry as `token`'s user.
async fn add(app: &TestApp, token: &str, body: Value) -> TestResponse {
    app.post("/api/v1/blacklist", Some(token), body).await
}

/// Adds a plate entry (201 expected): its id.
pub(crate) async fn add_plate(app: &TestApp, token: &str, plate: &str, reason: &str) -> String {
    let added = add(
        app,
        token,
        json!({ "kind": "plate", "plate": plate, "reason": reason }),
    )
    .await;
    added.assert_status(201);
    added.body["id"].as_str().unwrap().to_owned()
}

/// The test driver's document, as a driver entry's body.
fn the_driver(reason: &str) -> Value {
    json!({
        "kind": "driver", "document_type": "resident_id",
        "document_number": RESIDENT_ID, "reason": reason,
    })
}

/// A registration as `token`'s user sees it.
async fn registration(app: &TestApp, token: &str, id: &str) -> Value {
    let found = app
        .get(&format!("/api/v1/registrations/{id}"), Some(token))
        .await;
    found.assert_status(200);
    found.body
}

async fn lift(app: &TestApp, token: &str, id: &str) -> TestResponse {
    app.delete(&format!("/api/v1/blacklist/{id}"), Some(token))
        .await
}

/// The audit entries of `action` on `object`.
async fn audited(app: &TestApp, action: &str, object: &str) -> Vec<Value> {
    let admin = app.admin_token().await;
    let page = app
        .get(
            &format!("/api/v1/audit?action={action}&object_id={object}"),
            Some(&admin),
        )
        .await;
    page.assert_status(200);
    page.body["items"].as_array().unwrap().clone()
}

async fn plates_and_drivers_are_listed_masked_and_never_in_clear(app: TestApp) {
    let staff = app.staff().await;
    let contact = staff.token("enterprise_contact");

    let by_plate = add(
        &app,
        contact,
        json!({
            "kind": "plate", "plate": " 闽a·00001 ", "reason": "多次超速",
            "expires_at": (Utc::now() + TimeDelta::days(30)).to_rfc3339(),
        }),
    )
    .await;
    by_plate.assert_status(201);
    assert_eq!(by_plate.body["kind"], "plate");
    assert_eq!(by_plate.body["plate"], "闽A***01");
    assert_eq!(by_plate.body["enterprise_id"], staff.enterprise.as_str());
    assert_eq!(by_plate.body["enterprise_name"], "福州第一化工有限公司");
    assert_eq!(by_plate.body["live"], true);
    assert!(!by_plate.text.contains(&plate(1)), "{}", by_plate.text);

    let by_driver = add(&app, staff.token("regulator"), the_driver("伪造通行证")).await;
    by_driver.assert_status(201);
    assert_eq!(by_driver.body["kind"], "driver");
    assert_eq!(by_driver.body["enterprise_id"], Value::Null);
    assert_eq!(by_driver.body["document_type"], "resident_id");
    assert_eq!(by_driver.body["document_number"], "110105********002X");
    assert_eq!(by_driver.body["expires_at"], Value::Null);
    assert!(!by_driver.text.contains(RESIDENT_ID), "{}", by_driver.text);
    let driver_entry = by_driver.body["id"].as_str().unwrap().to_owned();

    // The contact sees their own entry and the zone's, masked.
    let list = app.get("/api/v1/blacklist", Some(contact)).await;
    list.assert_status(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["items"][0]["id"], driver_entry.as_str());
    assert!(!list.text.contains(RESIDENT_ID) && !list.text.contains(&plate(1)));
    let one = app
        .get(&format!("/api/v1/blacklist/{driver_entry}"), Some(contact))
        .await;
    one.assert_status(200);
    assert_eq!(one.body["reason"], "伪造通行证");
    let of_plate = app
        .get(
            &format!("/api/v1/blacklist?plate={}", plate(1)),
            Some(contact),
        )
        .await;
    of_plate.assert_status(200);
    assert_eq!(of_plate.body["items"].as_array().unwrap().len(), 1);

    // The stored row has the index of the registrations' document and a masked copy,
    // no clear number anywhere.
    let (_, registered) = approved_pass(&app, &staff, 7).await;
    let mut conn = app.raw_connection();
    let rows: Vec<BlacklistRow> = diesel::sql_query(
        "SELECT COALESCE(plate, '') || '|' || COALESCE(document_index, '') || '|' \
         || COALESCE(document_masked, '') || '|' || reason AS text FROM blacklist",
    )
    .load(&mut conn)
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|row| !row.text.contains(RESIDENT_ID)));
    let index: Vec<BlacklistRow> = diesel::sql_query(format!(
        "SELECT document_index AS text FROM registrations WHERE id = '{registered}'"
    ))
    .load(&mut conn)
    .unwrap();
    assert!(
        rows.iter().any(|row| row.text.contains(&index[0].text)),
        "the driver entry holds the registrations' document index"
    );

    // Audited, masked.
    let entries = audited(&app, "blacklist.add", &driver_entry).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["details"]["document_number"],
        "110105********002X"
    );
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(RESIDENT_ID), "{text}");
}
api_test!(plates_and_drivers_are_listed_masked_and_never_in_clear);

#[derive(diesel::QueryableByName)]
struct BlacklistRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

fn fields(response: &TestResponse) -> Vec<String> {
    response.assert_status(422);
    let mut fields: Vec<String> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    fields
}

async fn bad_entries_are_422_with_every_field_named(app: TestApp) {
    let staff = app.staff().await;
    let contact = staff.token("enterprise_contact");

    let bad_plate = add(
        &app,
        contact,
        json!({
            "kind": "plate", "plate": "ABC123", "reason": "   ",
            "expires_at": (Utc::now() - TimeDelta::hours(1)).to_rfc3339(),
        }),
    )
    .await;
    assert_eq!(fields(&bad_plate), ["expires_at", "plate", "reason"]);
    let codes: Vec<&str> = bad_plate.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"in_the_past"), "{}", bad_plate.text);
    assert!(codes.contains(&"required"), "{}", bad_plate.text);

    let mut wrong_check = the_driver("冒用证件");
    wrong_check["document_number"] = json!("110105194912310021");
    let bad_document = add(&app, contact, wrong_check).await;
    assert_eq!(fields(&bad_document), ["document_number"]);
    assert!(!bad_document.text.contains("110105194912310021"));

    let no_type = add(
        &app,
        contact,
        json!({ "kind": "driver", "document_number": RESIDENT_ID, "reason": "x" }),
    )
    .await;
    assert_eq!(fields(&no_type), ["document_type"]);
    let no_kind = add(&app, contact, json!({ "kind": "truck", "reason": "x" })).await;
    assert_eq!(fields(&no_kind), ["kind"]);
    let bad_time = add(
        &app,
        contact,
        json!({ "kind": "plate", "plate": plate(1), "reason": "x", "expires_at": "next week" }),
    )
    .await;
    assert_eq!(fields(&bad_time), ["expires_at"]);

    let listed = app.get("/api/v1/blacklist", Some(contact)).await;
    assert_eq!(listed.body["items"], json!([]));
}
api_test!(bad_entries_are_422_with_every_field_named);

async fn a_listed_truck_registers_flagged_and_the_gate_refuses_its_entry(app: TestApp) {
    let staff = app.staff().await;
    let contact = staff.token("enterprise_contact");
    let guard = staff.token("gate_guard");
    let east = gate(&app, &staff, "东门").await;
    // Truck 2 is inside before it is listed.
    let (inside_token, _) = approved_pass(&app, &staff, 2).await;
    let entered = scan(&app, guard, &east, "entry", &inside_token, "scan-in-0002").await;
    assert_eq!(entered.body["result"], "accepted");

    add_plate(&app, contact, &plate(1), "在厂区内违规吸烟").await;
    add_plate(&app, contact, &plate(2), "未按路线行驶").await;

    // Truck 1 still registers (201 inside `approved_pass`) and can be approved, but
    // its filing is flagged for the contact, in the detail and the list.
    let (token, id) = approved_pass(&app, &staff, 1).await;
    let found = registration(&app, contact, &id).await;
    assert_eq!(found["blacklisted"], true);
    assert_eq!(found["blacklist_reason"], "在厂区内违规吸烟");
    let list = app.get("/api/v1/registrations", Some(contact)).await;
    list.assert_status(200);
    let flags: Vec<(String, bool)> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["plate"].as_str().unwrap().to_owned(),
                r["blacklisted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [("闽A***01".to_owned(), true), ("闽A***02".to_owned(), true)]
    );

    // The gate refuses its entry, named.
    let refused = scan(&app, guard, &east, "entry", &token, "scan-in-0001").await;
    assert_refused(&refused, "blacklisted", "车辆或驾驶员在黑名单中");
    assert_eq!(refused.body["pass"]["registration_id"], id.as_str());
    // Typed as a plate, too.
    let typed = scan(&app, guard, &east, "entry", &plate(1), "scan-in-0003").await;
    assert_refused(&typed, "blacklisted", "车辆或驾驶员在黑名单中");
    // The truck inside gets out.
    let out = scan(&app, guard, &east, "exit", &inside_token, "scan-out-0002").await;
    out.assert_status(201);
    assert_eq!(out.body["result"], "accepted", "{}", out.text);
    let log = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/gate/events?result=refused",
                staff.enterprise
            ),
            Some(guard),
        )
        .await;
    assert_eq!(log.body["items"][0]["reason"], "blacklisted");

    // The console shows the mark and the reason.
    let mut browser = Browser::of(&app, "enterprise_contact").await;
    let page = browser.get(&format!("/console/registrations/{id}")).await;
    page.assert_status(200);
    assert!(page.text.contains("黑名单"), "{}", page.text);
    assert!(page.text.contains("在厂区内违规吸烟"));
    let rows = browser.get("/console/registrations").await;
    assert!(rows.text.contains("黑名单"));
}
api_test!(a_listed_truck_registers_flagged_and_the_gate_refuses_its_entry);

async fn lifted_or_expired_entries_no_longer_hold(app: TestApp) {
    let staff = app.staff().await;
    let contact = staff.token("enterprise_contact");
    let regulator = staff.token("regulator");
    let guard = staff.token("gate_guard");
    let east = gate(&app, &staff, "东门").await;
    let (token, id) = approved_pass(&app, &staff, 1).await;
    assert_eq!(registration(&app, contact, &id).await["blacklisted"], false);

    // The zone's entry for the driver matches through the document's index.
    let added = add(&app, regulator, the_driver("伪造通行证")).await;
    added.assert_status(201);
    let driver_entry = added.body["id"].as_str().unwrap().to_owned();
    let flagged = registration(&app, contact, &id).await;
    assert_eq!(flagged["blacklisted"], true);
    assert_eq!(flagged["blacklist_reason"], "伪造通行证");
    let refused = scan(&app, guard, &east, "entry", &token, "scan-bl-0001").await;
    assert_refused(&refused, "blacklisted", "车辆或驾驶员在黑名单中");
    // Listed twice in the same scope is a conflict.
    add(&app, regulator, the_driver("再次列入"))
        .await
        .assert_status(409);

    let lifted = lift(&app, regulator, &driver_entry).await;
    lifted.assert_status(200);
    assert_eq!(lifted.body["live"], false);
    assert!(lifted.body["lifted_at"].is_string());
    assert_eq!(registration(&app, contact, &id).await["blacklisted"], false);
    lift(&app, regulator, &driver_entry)
        .await
        .assert_status(409);
    assert_eq!(
        audited(&app, "blacklist.lift", &driver_entry).await.len(),
        1
    );
    // Lifting keeps the row.
    let kept = app
        .get(&format!("/api/v1/blacklist/{driver_entry}"), Some(contact))
        .await;
    kept.assert_status(200);
    assert_eq!(kept.body["live"], false);

    // An entry past its expiry holds no more.
    let expiring = add(
        &app,
        contact,
        json!({
            "kind": "plate", "plate": plate(1), "reason": "限期整改",
            "expires_at": (Utc::now() + TimeDelta::hours(1)).to_rfc3339(),
        }),
    )
    .await;
    expiring.assert_status(201);
    let expiring = expiring.body["id"].as_str().unwrap().to_owned();
    assert_eq!(registration(&app, contact, &id).await["blacklisted"], true);
    let mut conn = app.raw_connection();
    let past = (Utc::now() - TimeDelta::minutes(1)).naive_utc();
    diesel::sql_query(format!(
        "UPDATE blacklist SET expires_at = '{}' WHERE id = '{expiring}'",
        past.format("%Y-%m-%d %H:%M:%S%.6f")
    ))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(registration(&app, contact, &id).await["blacklisted"], false);
    let listed = app
        .get(&format!("/api/v1/blacklist/{expiring}"), Some(contact))
        .await;
    assert_eq!(listed.body["live"], false);
    let entered = scan(&app, guard, &east, "entry", &token, "scan-bl-0002").await;
    assert_eq!(entered.body["result"], "accepted", "{}", entered.text);
}
api_test!(lifted_or_expired_entries_no_longer_hold);

/// A second enterprise with its own contact: (enterprise id, the contact's token).
async fn other_enterprise(app: &TestApp, staff: &Staff) -> (String, String) {
    let admin = staff.token("admin");
    let other = app
        .create_enterprise(admin, "福州第二机械有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(admin, "contact2", &other).await;
    (other, app.tokens("contact2", USER_PASSWORD).await.0)
}

async fn a_contact_keeps_only_their_own_enterprises_entries(app: TestApp) {
    let staff = app.staff().await;
    let contact = staff.token("enterprise_contact");
    let regulator = staff.token("regulator");
    let (other, other_contact) = other_enterprise(&app, &staff).await;

    // The other enterprise's entry for truck 1 is theirs alone: invisible here, and
    // it does not flag this enterprise's filing of the truck.
    let theirs = add_plate(&app, &other_contact, &plate(1), "对方企业的原因").await;
    for response in [
        app.get(&format!("/api/v1/blacklist/{theirs}"), Some(contact))
            .await,
        lift(&app, contact, &theirs).await,
    ] {
        response.assert_status(404);
    }
    let list = app.get("/api/v1/blacklist", Some(contact)).await;
    assert_eq!(list.body["items"], json!([]));
    let (_, id) = approved_pass(&app, &staff, 1).await;
    assert_eq!(registration(&app, contact, &id).await["blacklisted"], false);

    // A contact cannot list for another enterprise, nor for the zone: without an
    // enterprise, the entry is their own enterprise's.
    let mut foreign = json!({ "kind": "plate", "plate": plate(2), "reason": "越权" });
    foreign["enterprise_id"] = json!(other);
    add(&app, contact, foreign).await.assert_status(404);
    let own = add(
        &app,
        contact,
        json!({ "kind": "plate", "plate": plate(2), "reason": "本企业" }),
    )
    .await;
    own.assert_status(201);
    assert_eq!(own.body["enterprise_id"], staff.enterprise.as_str());

    // The zone's entries: seen by the contact, lifted only by the zone command, which
    // may also list for one enterprise.
    let zone = add_plate(&app, regulator, &plate(3), "园区通报").await;
    app.get(&format!("/api/v1/blacklist/{zone}"), Some(contact))
        .await
        .assert_status(200);
    lift(&app, contact, &zone).await.assert_status(403);
    let mut for_other = json!({ "kind": "plate", "plate": plate(4), "reason": "指挥部" });
    for_other["enterprise_id"] = json!(other);
    let for_other = add(&app, regulator, for_other).await;
    for_other.assert_status(201);
    assert_eq!(for_other.body["enterprise_id"], other.as_str());
    lift(&app, regulator, &theirs).await.assert_status(200);

    // Unknown ids are not found.
    let unknown = "019ae3b1-0000-7000-8000-000000000000";
    app.get(&format!("/api/v1/blacklist/{unknown}"), Some(regulator))
        .await
        .assert_status(404);
    lift(&app, contact, unknown).await.assert_status(404);
}
api_test!(a_contact_keeps_only_their_own_enterprises_entries);

async fn guards_and_surveyors_see_nothing_and_readers_change_nothing(app: TestApp) {
    let staff = app.staff().await;
    let entry = add_plate(&app, staff.token("regulator"), &plate(1), "园区通报").await;
    let body = json!({ "kind": "plate", "plate": plate(2), "reason": "无权" });
    for role in ["gate_guard", "surveyor"] {
        let token = staff.token(role);
        app.get("/api/v1/blacklist", Some(token))
            .await
            .assert_status(403);
        app.get(&format!("/api/v1/blacklist/{entry}"), Some(token))
            .await
            .assert_status(403);
        add(&app, token, body.clone()).await.assert_status(403);
        lift(&app, token, &entry).await.assert_status(403);
    }
    for role in ["admin", "sector_official", "park_official"] {
        let token = staff.token(role);
        let list = app.get("/api/v1/blacklist", Some(token)).await;
        list.assert_status(200);
        assert_eq!(list.body["items"][0]["id"], entry.as_str(), "{role}");
        add(&app, token, body.clone()).await.assert_status(403);
        lift(&app, token, &entry).await.assert_status(403);
    }
}
api_test!(guards_and_surveyors_see_nothing_and_readers_change_nothing);

async fn a_listed_trailer_flags_the_filing_of_the_truck_that_pulls_it(app: TestApp) {
    let staff = app.staff().await;
    let contact = staff.token("enterprise_contact");
    add_plate(&app, contact, "闽A1234挂", "挂车未年检").await;
    let code = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let mut body = driver(5);
    body["trailer_plate"] = json!("闽A1234挂");
    register(&app, &code, body, None).await.assert_status(201);
    register(&app, &code, driver(6), None)
        .await
        .assert_status(201);
    let admin = staff.token("admin");
    let pulling = registration_id(&app, admin, &plate(5)).await;
    let alone = registration_id(&app, admin, &plate(6)).await;
    let flagged = registration(&app, contact, &pulling).await;
    assert_eq!(flagged["blacklisted"], true);
    assert_eq!(flagged["blacklist_reason"], "挂车未年检");
    assert_eq!(
        registration(&app, contact, &alone).await["blacklisted"],
        false
    );
}
api_test!(a_listed_trailer_flags_the_filing_of_the_truck_that_pulls_it);
