//! Passes that verify offline: an approved pass's QR code carries a payload signed
//! with the zone's Ed25519 key (checked here with the public key the API gives, over
//! the QR code really decoded from the pass page), the signed revocation list of an
//! enterprise's gates, and scans a gate made offline uploaded afterwards: recorded as
//! the gate decided, conflicts flagged, never lost and never twice.

use chrono::{TimeDelta, Utc};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::blacklist::add_plate;
use crate::gate::{approved_pass, gate, pass_arriving};
use crate::helpers::{Browser, Staff, TestApp, TestResponse, USER_PASSWORD, api_test, decode_qr};
use crate::registrations::{approve, cancel, plate};

/// The zone's public key, as the gate's API gives it.
pub(crate) async fn zone_key(app: &TestApp, staff: &Staff) -> VerifyingKey {
    let key = app
        .get("/api/v1/gate/key", Some(staff.token("gate_guard")))
        .await;
    key.assert_status(200);
    assert_eq!(key.body["algorithm"], "Ed25519");
    let bytes: [u8; 32] = hex::decode(key.body["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    VerifyingKey::from_bytes(&bytes).unwrap()
}

fn signature(encoded: &str) -> Signature {
    let bytes: [u8; 64] = BASE64URL_NOPAD
        .decode(encoded.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    Signature::from_bytes(&bytes)
}

/// What the pass page's QR code of `token` encodes, decoded from its image.
pub(crate) async fn pass_code(app: &TestApp, token: &str) -> String {
    let page = app.get(&format!("/p/{token}"), None).await;
    page.assert_status(200);
    let marker = "src=\"data:image/png;base64,";
    let start = page.text.find(marker).expect("the pass's QR image") + marker.len();
    let encoded = page.text[start..].split('"').next().unwrap();
    let png = BASE64.decode(encoded.as_bytes()).unwrap();
    let mut codes = decode_qr(&png);
    assert_eq!(codes.len(), 1, "one QR code on the pass page");
    codes.remove(0)
}

/// How a revocation list names the pass of `token`.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha512::digest(token.as_bytes()))[..32].to_owned()
}

async fn an_approved_pass_carries_a_payload_the_zone_signed(app: TestApp) {
    let staff = app.staff().await;
    let key = zone_key(&app, &staff).await;
    let (token, _) = approved_pass(&app, &staff, 1).await;

    // The QR code is the pass page's address (a phone camera opens it as before),
    // with the signed payload as its fragment.
    let code = pass_code(&app, &token).await;
    let (address, fragment) = code.split_once('#').expect("a signed fragment");
    assert!(address.ends_with(&format!("/p/{token}")), "{address}");
    let parts: Vec<&str> = fragment.split('.').collect();
    assert_eq!(parts.len(), 3, "{fragment}");
    assert_eq!(parts[0], "v1");
    let signed = format!("{token}.{}", parts[1]);
    key.verify(signed.as_bytes(), &signature(parts[2]))
        .expect("the zone's signature");
    // Any other pass's token, or a changed payload, does not verify.
    assert!(
        key.verify(
            format!("{}.{}", token.to_lowercase(), parts[1]).as_bytes(),
            &signature(parts[2])
        )
        .is_err()
    );
    let payload: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
    assert_eq!(payload["e"], staff.enterprise.as_str());
    assert_eq!(payload["p"], "闽A***01");
    assert_eq!(payload["n"], "张*");
    assert_eq!(payload["v"], "重型货车");
    let (from, until) = (
        payload["f"].as_i64().unwrap(),
        payload["u"].as_i64().unwrap(),
    );
    let now = Utc::now().timestamp();
    assert!(from <= now && now < until, "valid now: {payload}");
    assert!(
        !code.contains(&plate(1)),
        "no full plate in the code: {code}"
    );

    // A pass not approved yet carries no signature: offline it cannot pass.
    let code_token = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let (pending, _, _) = pass_arriving(&app, &code_token, 2, TimeDelta::hours(1)).await;
    let pending_code = pass_code(&app, &pending).await;
    assert!(
        pending_code.ends_with(&format!("/p/{pending}")),
        "{pending_code}"
    );

    // The key is for the gate's scanners: nobody else's business, nobody anonymous.
    app.get("/api/v1/gate/key", None).await.assert_status(401);
    for role in ["admin", "regulator", "sector_official", "park_official"] {
        app.get("/api/v1/gate/key", Some(staff.token(role)))
            .await
            .assert_status(403);
    }
    app.get("/api/v1/gate/key", Some(staff.token("enterprise_contact")))
        .await
        .assert_status(200);
}
api_test!(an_approved_pass_carries_a_payload_the_zone_signed);

/// The revocation list as `token`'s user gets it, its signature checked with `key`.
pub(crate) async fn revocations(app: &TestApp, key: &VerifyingKey, token: &str) -> Value {
    let list = app.get("/api/v1/gate/revocations", Some(token)).await;
    list.assert_status(200);
    let body = list.body;
    let mut text = format!(
        "truckpass-revocations-v1\n{}\n{}\n",
        body["enterprise_id"].as_str().unwrap(),
        body["issued_at"].as_str().unwrap()
    );
    for entry in body["entries"].as_array().unwrap() {
        text.push_str(&format!(
            "{} {}\n",
            entry["pass"].as_str().unwrap(),
            entry["reason"].as_str().unwrap()
        ));
    }
    key.verify(
        text.as_bytes(),
        &signature(body["signature"].as_str().unwrap()),
    )
    .expect("the zone's signature over the list");
    assert_eq!(body["public_key"], hex::encode(key.as_bytes()));
    body
}

async fn the_revocation_list_names_revoked_passes_by_hash_signed(app: TestApp) {
    let staff = app.staff().await;
    let key = zone_key(&app, &staff).await;
    let contact = staff.token("enterprise_contact");
    let (live, _) = approved_pass(&app, &staff, 1).await;
    // Approved, then cancelled by its driver.
    let code = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let (cancelled, cancelled_id, driver_key) =
        pass_arriving(&app, &code, 2, TimeDelta::hours(1)).await;
    approve(&app, contact, &cancelled_id)
        .await
        .assert_status(200);
    cancel(&app, &cancelled, Some(&driver_key))
        .await
        .assert_status(200);
    // Rejected.
    let (rejected, rejected_id, _) = pass_arriving(&app, &code, 3, TimeDelta::hours(1)).await;
    app.post(
        &format!("/api/v1/registrations/{rejected_id}/reject"),
        Some(contact),
        json!({ "reason": "证件与车辆不符" }),
    )
    .await
    .assert_status(200);
    // Approved, its plate then blacklisted by the enterprise.
    let (barred, _) = approved_pass(&app, &staff, 4).await;
    add_plate(&app, contact, &plate(4), "冲卡").await;
    // Pending: never signed, so nothing to revoke.
    let (pending, _, _) = pass_arriving(&app, &code, 5, TimeDelta::hours(1)).await;

    let list = revocations(&app, &key, staff.token("gate_guard")).await;
    assert_eq!(list["enterprise_id"], staff.enterprise.as_str());
    let entries: Vec<(String, String)> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pass"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected = vec![
        (token_hash(&cancelled), "cancelled".to_owned()),
        (token_hash(&rejected), "rejected".to_owned()),
        (token_hash(&barred), "blacklisted".to_owned()),
    ];
    expected.sort();
    assert_eq!(entries, expected, "{list}");
    let text = list.to_string();
    for token in [&live, &pending, &cancelled, &rejected, &barred] {
        assert!(
            !text.contains(token.as_str()),
            "a token in the list: {text}"
        );
    }

    // Another enterprise's scanners get their own (empty) list; officials none.
    let admin = app.admin_token().await;
    let other = app
        .create_enterprise(&admin, "福州第二机械有限公司", &staff.sector, &staff.park)
        .await;
    app.create_contact(&admin, "contact_other", &other).await;
    let (other_contact, _) = app.tokens("contact_other", USER_PASSWORD).await;
    let other_list = revocations(&app, &key, &other_contact).await;
    assert_eq!(other_list["enterprise_id"], other.as_str());
    assert_eq!(other_list["entries"], json!([]));
    for role in ["admin", "regulator", "sector_official", "park_official"] {
        app.get("/api/v1/gate/revocations", Some(staff.token(role)))
            .await
            .assert_status(403);
    }

    // The gate page keeps the same list, through the guard's console session.
    let mut browser = Browser::new(&app);
    browser.sign_in("guard1", USER_PASSWORD).await;
    let page = browser.get("/console/gate/revocations").await;
    page.assert_status(200);
    assert_eq!(page.body["entries"], list["entries"]);
    let mut official = Browser::new(&app);
    official.sign_in("regulator1", USER_PASSWORD).await;
    official
        .get("/console/gate/revocations")
        .await
        .assert_status(404);
}
api_test!(the_revocation_list_names_revoked_passes_by_hash_signed);

/// Uploads a scan the gate made offline, `minutes` ago.
async fn upload(
    app: &TestApp,
    token: &str,
    body: (&str, &str, &str, &str),
    decided: Value,
    minutes: i64,
) -> TestResponse {
    let (gate, kind, code, nonce) = body;
    let at = Utc::now() - TimeDelta::minutes(minutes);
    app.post(
        "/api/v1/gate/redeem",
        Some(token),
        json!({
            "nonce": nonce, "gate_id": gate, "type": kind, "code": code,
            "client_time": at.to_rfc3339(), "offline": decided,
        }),
    )
    .await
}

async fn inside_count(app: &TestApp, staff: &Staff) -> i64 {
    let status = app
        .get(
            &format!("/api/v1/enterprises/{}/gate/status", staff.enterprise),
            Some(staff.token("gate_guard")),
        )
        .await;
    status.assert_status(200);
    status.body["inside_count"].as_i64().unwrap()
}

async fn events(app: &TestApp, staff: &Staff, query: &str) -> Vec<Value> {
    let log = app
        .get(
            &format!(
                "/api/v1/enterprises/{}/gate/events{query}",
                staff.enterprise
            ),
            Some(staff.token("gate_guard")),
        )
        .await;
    log.assert_status(200);
    log.body["items"].as_array().unwrap().clone()
}

async fn offline_scans_are_recorded_as_decided_with_conflicts_flagged(app: TestApp) {
    let staff = app.staff().await;
    let (east, west) = (
        gate(&app, &staff, "东门").await,
        gate(&app, &staff, "西门").await,
    );
    let guard = staff.token("gate_guard");
    let (token, id) = approved_pass(&app, &staff, 1).await;
    let accepted = json!({ "result": "accepted" });

    // Offline at the east gate, 20 minutes ago: the truck went in.
    let entry = upload(
        &app,
        guard,
        (&east, "entry", &token, "off-0001"),
        accepted.clone(),
        20,
    )
    .await;
    entry.assert_status(201);
    assert_eq!(entry.body["result"], "accepted", "{}", entry.text);
    assert_eq!(entry.body["offline"], true);
    assert_eq!(entry.body["conflict"], Value::Null);
    assert_eq!(entry.body["message"], "准予入园");
    assert_eq!(entry.body["pass"]["registration_id"], id.as_str());
    assert_eq!(inside_count(&app, &staff).await, 1);
    // The upload retried: the same answer, nothing more.
    let again = upload(
        &app,
        guard,
        (&east, "entry", &token, "off-0001"),
        accepted.clone(),
        20,
    )
    .await;
    again.assert_status(200);
    assert_eq!(again.body["id"], entry.body["id"]);

    // The west gate, also offline, let the same truck in 10 minutes ago: recorded,
    // flagged as a double entry, the truck counted once.
    let twice = upload(
        &app,
        guard,
        (&west, "entry", &token, "off-0002"),
        accepted.clone(),
        10,
    )
    .await;
    twice.assert_status(201);
    assert_eq!(twice.body["result"], "accepted");
    assert_eq!(twice.body["conflict"], "already_inside");
    assert_eq!(inside_count(&app, &staff).await, 1);

    // It left 5 minutes ago: out, its stay counted from the offline entry.
    let exit = upload(
        &app,
        guard,
        (&east, "exit", &token, "off-0003"),
        accepted.clone(),
        5,
    )
    .await;
    exit.assert_status(201);
    assert_eq!(exit.body["conflict"], Value::Null);
    assert_eq!(exit.body["dwell_minutes"], 15, "{}", exit.text);
    assert_eq!(inside_count(&app, &staff).await, 0);
    // An exit of a truck not inside: recorded, flagged.
    let out_again = upload(
        &app,
        guard,
        (&west, "exit", &token, "off-0004"),
        accepted.clone(),
        4,
    )
    .await;
    out_again.assert_status(201);
    assert_eq!(out_again.body["result"], "accepted");
    assert_eq!(out_again.body["conflict"], "not_inside");

    // A scan the gate turned back offline stays refused, for its reason, whatever the
    // server would say: the truck did not go in.
    let refused = upload(
        &app,
        guard,
        (&east, "entry", &token, "off-0005"),
        json!({ "result": "refused", "reason": "cancelled" }),
        3,
    )
    .await;
    refused.assert_status(201);
    assert_eq!(refused.body["result"], "refused");
    assert_eq!(refused.body["reason"], "cancelled");
    assert_eq!(refused.body["offline"], true);
    assert_eq!(inside_count(&app, &staff).await, 0);

    // A pass cancelled after the gate's list was fetched: let in offline, so inside
    // (it must be able to leave), and flagged.
    let code = app
        .code_token(staff.token("admin"), &staff.enterprise)
        .await;
    let (revoked, revoked_id, key) = pass_arriving(&app, &code, 2, TimeDelta::hours(1)).await;
    approve(&app, staff.token("enterprise_contact"), &revoked_id)
        .await
        .assert_status(200);
    cancel(&app, &revoked, Some(&key)).await.assert_status(200);
    let late = upload(
        &app,
        guard,
        (&east, "entry", &revoked, "off-0006"),
        accepted.clone(),
        2,
    )
    .await;
    late.assert_status(201);
    assert_eq!(late.body["result"], "accepted");
    assert_eq!(late.body["conflict"], "cancelled");
    assert_eq!(inside_count(&app, &staff).await, 1);

    // The conflicts, for the contact to look into: exactly the three flagged.
    let conflicts: Vec<String> = events(&app, &staff, "?result=conflict")
        .await
        .iter()
        .map(|scan| scan["nonce"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(conflicts, ["off-0006", "off-0004", "off-0002"]);
    let everything = events(&app, &staff, "").await.len();

    // Bad uploads are 422 and record nothing.
    let refusal_without_reason = upload(
        &app,
        guard,
        (&east, "entry", &token, "off-0007"),
        json!({ "result": "refused" }),
        1,
    )
    .await;
    refusal_without_reason.assert_status(422);
    assert_eq!(
        refusal_without_reason.body["errors"][0]["field"],
        "offline.reason"
    );
    for (decided, field) in [
        (
            json!({ "result": "accepted", "reason": "expired" }),
            "offline.reason",
        ),
        (
            json!({ "result": "refused", "reason": "no_such" }),
            "offline.reason",
        ),
        (json!({ "result": "maybe" }), "offline.result"),
    ] {
        let bad = upload(
            &app,
            guard,
            (&east, "entry", &token, "off-0008"),
            decided,
            1,
        )
        .await;
        bad.assert_status(422);
        assert_eq!(bad.body["errors"][0]["field"], field, "{}", bad.text);
    }
    let no_time = app
        .post(
            "/api/v1/gate/redeem",
            Some(guard),
            json!({
                "nonce": "off-0009", "gate_id": east, "type": "entry", "code": token,
                "offline": accepted,
            }),
        )
        .await;
    no_time.assert_status(422);
    assert_eq!(no_time.body["errors"][0]["field"], "client_time");
    assert_eq!(events(&app, &staff, "").await.len(), everything);
}
api_test!(offline_scans_are_recorded_as_decided_with_conflicts_flagged);
