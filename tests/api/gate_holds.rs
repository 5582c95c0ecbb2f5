//! What holds a truck back at the gate besides its pass's status: the enterprise
//! suspending a pass (暂停, pretix's `blocked`) until it resumes it, and a guard who
//! stands at some of the enterprise's gates only.

use serde_json::{Value, json};

use crate::console::audit;
use crate::gate::{approved_pass, assert_refused, gate, scan};
use crate::gate_offline::{pass_code, revocations, token_hash, zone_key};
use crate::helpers::{Staff, TestApp, USER_PASSWORD, api_test};

/// The entries of the caller's revocation list naming the pass of `token`.
async fn revoked_as(app: &TestApp, staff: &Staff, token: &str) -> Vec<Value> {
    let key = zone_key(app, staff).await;
    let list = revocations(app, &key, staff.token("gate_guard")).await;
    let hash = token_hash(token);
    list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["pass"] == hash.as_str())
        .cloned()
        .collect()
}

async fn a_suspended_pass_is_turned_back_until_it_is_resumed(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let contact = staff.token("enterprise_contact").to_owned();
    let guard = staff.token("gate_guard").to_owned();
    let east = gate(&app, &staff, "东门").await;
    let (token, id) = approved_pass(&app, &staff, 1).await;
    let suspend = format!("/api/v1/registrations/{id}/suspend");
    let resume = format!("/api/v1/registrations/{id}/resume");

    // A reason is needed, and is kept to 200 characters.
    for reason in ["", "  ", &"长".repeat(201)] {
        let bad = app
            .post(&suspend, Some(&contact), json!({ "reason": reason }))
            .await;
        bad.assert_status(422);
        assert_eq!(bad.body["errors"][0]["field"], "reason");
    }
    let suspended = app
        .post(
            &suspend,
            Some(&contact),
            json!({ "reason": "车辆尾气检测未通过" }),
        )
        .await;
    suspended.assert_status(200);
    assert_eq!(suspended.body["status"], "approved");
    assert_eq!(suspended.body["suspend_reason"], "车辆尾气检测未通过");
    assert!(suspended.body["suspended_at"].is_string());
    assert!(suspended.body["suspended_by"].is_string());
    let shown = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&admin))
        .await;
    assert_eq!(shown.body["suspend_reason"], "车辆尾气检测未通过");

    // Twice is refused; the hold stands.
    let twice = app
        .post(&suspend, Some(&contact), json!({ "reason": "再次" }))
        .await;
    twice.assert_status(409);
    assert_eq!(twice.body["code"], "invalid_transition");
    assert_eq!(
        twice.body["detail"],
        "只有已通过、未过期且未暂停的通行证可以暂停"
    );

    // The gate turns it back, online and (by the signed list) offline; the driver's
    // pass says so and its QR code no longer carries a signed payload.
    let refused = scan(&app, &guard, &east, "entry", &token, "held-0001").await;
    assert_refused(&refused, "suspended", "通行证已被企业暂停使用");
    assert_eq!(refused.body["pass"]["registration_id"], id.as_str());
    let revoked = revoked_as(&app, &staff, &token).await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["reason"], "suspended");
    let pass = app
        .get(&format!("/api/v1/public/passes/{token}"), None)
        .await;
    pass.assert_status(200);
    assert_eq!(pass.body["suspended"], true);
    assert!(!pass.text.contains("尾气"), "{}", pass.text);
    let code = pass_code(&app, &token).await;
    assert!(code.ends_with(&format!("/p/{token}")), "{code}");
    let page = app.get(&format!("/p/{token}"), None).await;
    assert!(page.text.contains("已被企业暂停使用"), "{}", page.text);

    // Resumed: let in again, off the list, the signed payload back.
    let resumed = app.post(&resume, Some(&admin), json!({})).await;
    resumed.assert_status(200);
    assert_eq!(resumed.body["suspended_at"], Value::Null);
    assert_eq!(resumed.body["suspend_reason"], Value::Null);
    let again = app.post(&resume, Some(&contact), json!({})).await;
    again.assert_status(409);
    assert_eq!(again.body["detail"], "该通行证未被暂停，无需恢复");
    assert!(revoked_as(&app, &staff, &token).await.is_empty());
    assert!(pass_code(&app, &token).await.contains('#'));
    let entry = scan(&app, &guard, &east, "entry", &token, "held-0002").await;
    entry.assert_status(201);
    assert_eq!(entry.body["result"], "accepted", "{}", entry.text);

    // A truck inside when its pass is suspended still gets out.
    app.post(&suspend, Some(&contact), json!({ "reason": "临时管控" }))
        .await
        .assert_status(200);
    let exit = scan(&app, &guard, &east, "exit", &token, "held-0003").await;
    exit.assert_status(201);
    assert_eq!(exit.body["result"], "accepted", "{}", exit.text);

    // Every suspension and resumption is audited, with the reason.
    let suspensions = audit(&app, &admin, "registration.suspend").await;
    assert_eq!(suspensions.len(), 2);
    assert_eq!(suspensions[1]["details"]["reason"], "车辆尾气检测未通过");
    assert_eq!(suspensions[1]["object_id"], id.as_str());
    assert_eq!(audit(&app, &admin, "registration.resume").await.len(), 1);
}
api_test!(a_suspended_pass_is_turned_back_until_it_is_resumed);

async fn only_an_approved_pass_of_ones_own_enterprise_is_suspended(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let contact = staff.token("enterprise_contact").to_owned();
    let code = app.code_token(&admin, &staff.enterprise).await;
    let (_, pending, _) =
        crate::gate::pass_arriving(&app, &code, 2, chrono::TimeDelta::hours(1)).await;
    let held = app
        .post(
            &format!("/api/v1/registrations/{pending}/suspend"),
            Some(&contact),
            json!({ "reason": "尚未审核" }),
        )
        .await;
    held.assert_status(409);
    assert_eq!(held.body["code"], "invalid_transition");
    let resumed = app
        .post(
            &format!("/api/v1/registrations/{pending}/resume"),
            Some(&contact),
            json!({}),
        )
        .await;
    resumed.assert_status(409);

    // Another enterprise's contact does not see the pass; the roles that may not
    // decide on passes are refused before anything is read.
    let (_, id) = approved_pass(&app, &staff, 3).await;
    let other = app
        .create_enterprise(&admin, "福州第二化工有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(&admin, "contact2", &other).await;
    let other_contact = app.tokens("contact2", USER_PASSWORD).await.0;
    let suspend = format!("/api/v1/registrations/{id}/suspend");
    let foreign = app
        .post(&suspend, Some(&other_contact), json!({ "reason": "越权" }))
        .await;
    foreign.assert_status(404);
    for role in [
        "regulator",
        "sector_official",
        "park_official",
        "gate_guard",
    ] {
        app.post(
            &suspend,
            Some(staff.token(role)),
            json!({ "reason": "越权" }),
        )
        .await
        .assert_status(403);
    }
    app.post(&suspend, None, json!({ "reason": "越权" }))
        .await
        .assert_status(401);
    let unknown = app
        .post(
            "/api/v1/registrations/nosuchpass/suspend",
            Some(&contact),
            json!({ "reason": "不存在" }),
        )
        .await;
    unknown.assert_status(404);
    // None of it held the pass.
    let shown = app
        .get(&format!("/api/v1/registrations/{id}"), Some(&contact))
        .await;
    assert_eq!(shown.body["suspended_at"], Value::Null);
}
api_test!(only_an_approved_pass_of_ones_own_enterprise_is_suspended);

/// The user id of `token`'s user.
pub(crate) async fn user_id(app: &TestApp, token: &str) -> String {
    let me = app.get("/api/v1/me", Some(token)).await;
    me.assert_status(200);
    me.body["id"].as_str().unwrap().to_owned()
}

async fn a_guard_scans_only_at_the_gates_given_to_them(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin").to_owned();
    let contact = staff.token("enterprise_contact").to_owned();
    let guard = staff.token("gate_guard").to_owned();
    let guard_id = user_id(&app, &guard).await;
    let east = gate(&app, &staff, "东门").await;
    let west = gate(&app, &staff, "西门").await;
    let guards = format!("/api/v1/enterprises/{}/guards", staff.enterprise);
    let posts = format!("{guards}/{guard_id}");

    // At first the guard scans at every gate.
    let listed = app.get(&guards, Some(&contact)).await;
    listed.assert_status(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["items"][0]["user_id"], guard_id.as_str());
    assert_eq!(listed.body["items"][0]["username"], "guard1");
    assert_eq!(listed.body["items"][0]["every_gate"], true);
    assert_eq!(listed.body["items"][0]["gate_ids"], json!([]));

    let set = app
        .put(&posts, Some(&contact), json!({ "gate_ids": [east, east] }))
        .await;
    set.assert_status(200);
    assert_eq!(set.body["every_gate"], false);
    assert_eq!(set.body["gate_ids"], json!([east]));
    let listed = app.get(&guards, Some(&admin)).await;
    assert_eq!(listed.body["items"][0]["gate_ids"], json!([east]));

    // At the west gate the guard is refused before anything is recorded; at the east
    // gate the scan goes through.
    let (token, _) = approved_pass(&app, &staff, 1).await;
    let elsewhere = scan(&app, &guard, &west, "entry", &token, "post-0001").await;
    elsewhere.assert_status(403);
    assert_eq!(elsewhere.body["code"], "forbidden");
    assert_eq!(
        elsewhere.body["detail"],
        "您未被安排在门岗“西门”值守，不能在此扫码"
    );
    // A scan the guard made offline before being posted away is recorded all the
    // same: it already happened.
    let (offline_pass, _) = approved_pass(&app, &staff, 3).await;
    let uploaded = app
        .post(
            "/api/v1/gate/redeem",
            Some(&guard),
            json!({
                "nonce": "post-0000", "gate_id": west, "type": "entry", "code": offline_pass,
                "client_time": chrono::Utc::now().to_rfc3339(),
                "offline": { "result": "accepted" },
            }),
        )
        .await;
    uploaded.assert_status(201);
    assert_eq!(uploaded.body["offline"], true);
    let here = scan(&app, &guard, &east, "entry", &token, "post-0001").await;
    here.assert_status(201);
    assert_eq!(here.body["result"], "accepted", "{}", here.text);
    // The contact, who is not limited, lets a truck out at the west gate; the guard
    // cannot annul that scan.
    let out = scan(&app, &contact, &west, "exit", &token, "post-0002").await;
    assert_eq!(out.body["result"], "accepted", "{}", out.text);
    let annul = app
        .post(
            "/api/v1/gate/annul",
            Some(&guard),
            json!({ "nonce": "post-0002" }),
        )
        .await;
    annul.assert_status(403);
    let log = app
        .get(
            &format!("/api/v1/enterprises/{}/gate/events", staff.enterprise),
            Some(&guard),
        )
        .await;
    assert_eq!(log.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(log.body["items"][0]["annulled_at"], Value::Null);

    // Gates of another enterprise, or none at all, are not the guard's to stand at.
    let admin_staff_other = app
        .create_enterprise(&admin, "福州第二化工有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(&admin, "contact2", &admin_staff_other)
        .await;
    let other_contact = app.tokens("contact2", USER_PASSWORD).await.0;
    let foreign_gate = app
        .post(
            &format!("/api/v1/enterprises/{admin_staff_other}/gates"),
            Some(&other_contact),
            json!({ "name": "北门" }),
        )
        .await;
    foreign_gate.assert_status(201);
    let foreign_gate = foreign_gate.body["id"].as_str().unwrap().to_owned();
    let bad = app
        .put(
            &posts,
            Some(&contact),
            json!({ "gate_ids": [west, foreign_gate, "nosuchgate"] }),
        )
        .await;
    bad.assert_status(422);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 2, "{}", bad.text);
    assert!(
        fields.iter().all(|f| f.starts_with("gate_ids[")),
        "{fields:?}"
    );
    app.put(&posts, Some(&contact), json!({ "gate_ids": "东门" }))
        .await
        .assert_status(422);
    // Unchanged by the refused requests.
    let listed = app.get(&guards, Some(&contact)).await;
    assert_eq!(listed.body["items"][0]["gate_ids"], json!([east]));

    // Only the enterprise's own guards, only by its keepers.
    let contact_id = user_id(&app, &contact).await;
    app.put(
        &format!("{guards}/{contact_id}"),
        Some(&contact),
        json!({ "gate_ids": [] }),
    )
    .await
    .assert_status(404);
    app.put(&posts, Some(&other_contact), json!({ "gate_ids": [] }))
        .await
        .assert_status(404);
    app.get(&guards, Some(&other_contact))
        .await
        .assert_status(404);
    for role in [
        "regulator",
        "sector_official",
        "park_official",
        "gate_guard",
    ] {
        app.get(&guards, Some(staff.token(role)))
            .await
            .assert_status(403);
        app.put(&posts, Some(staff.token(role)), json!({ "gate_ids": [] }))
            .await
            .assert_status(403);
    }

    // Every gate again: the west gate takes the guard's scans.
    let every = app
        .put(&posts, Some(&contact), json!({ "gate_ids": [] }))
        .await;
    every.assert_status(200);
    assert_eq!(every.body["every_gate"], true);
    let (other_pass, _) = approved_pass(&app, &staff, 2).await;
    let west_scan = scan(&app, &guard, &west, "entry", &other_pass, "post-0003").await;
    west_scan.assert_status(201);
    let changes = audit(&app, &admin, "gate.guard.gates").await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1]["details"]["gate_ids"], json!([east]));

    // A guard moved to another enterprise stands at none of the old one's gates.
    app.put(&posts, Some(&contact), json!({ "gate_ids": [west] }))
        .await
        .assert_status(200);
    app.patch(
        &format!("/api/v1/users/{guard_id}"),
        Some(&admin),
        json!({ "enterprise_id": admin_staff_other }),
    )
    .await
    .assert_status(200);
    let moved = app
        .get(
            &format!("/api/v1/enterprises/{admin_staff_other}/guards"),
            Some(&other_contact),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["items"][0]["user_id"], guard_id.as_str());
    assert_eq!(moved.body["items"][0]["every_gate"], true);
    let left = app.get(&guards, Some(&contact)).await;
    assert_eq!(left.body["items"], json!([]));
}
api_test!(a_guard_scans_only_at_the_gates_given_to_them);
