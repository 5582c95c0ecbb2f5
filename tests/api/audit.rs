//! The audit hash chain: what is recorded, verification, tampering.

use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{TestApp, api_test};

async fn actions(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let page = app.get("/api/v1/audit?limit=100", Some(token)).await;
    page.assert_status(200);
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn verify_cli(app: &TestApp) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_truckpass"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.database_url)
        .env("TRUCKPASS_DATA_DIR", app.data_dir.path())
        .output()
        .expect("truckpass runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn writes_sign_ins_and_refusals_are_recorded_in_a_verifiable_chain(app: TestApp) {
    let staff = app.staff().await;
    let admin = staff.token("admin");
    app.login("admin", "Wrong-Password-1")
        .await
        .assert_status(401);
    app.post(
        "/api/v1/parks",
        Some(staff.token("regulator")),
        json!({ "code": "X", "name": "X" }),
    )
    .await
    .assert_status(403);
    app.get("/api/v1/me", Some("forged.token.value"))
        .await
        .assert_status(401);

    let recorded = actions(&app, admin).await;
    for expected in [
        ("user.bootstrap_admin", "success"),
        ("auth.login", "success"),
        ("auth.login", "failure"),
        ("org_unit.create", "success"),
        ("user.create", "success"),
        ("authz.denied", "failure"),
        ("auth.invalid_token", "failure"),
    ] {
        assert!(
            recorded
                .iter()
                .any(|(a, o)| a == expected.0 && o == expected.1),
            "{expected:?} missing from {recorded:?}"
        );
    }

    let verified = app.get("/api/v1/audit/verify", Some(admin)).await;
    verified.assert_status(200);
    assert_eq!(verified.body["ok"], true);
    assert_eq!(
        verified.body["checked"].as_u64().unwrap() as usize,
        recorded.len()
    );
    let (ok, output) = verify_cli(&app);
    assert!(ok, "{output}");
    assert!(output.starts_with("OK"), "{output}");
}
api_test!(writes_sign_ins_and_refusals_are_recorded_in_a_verifiable_chain);

async fn editing_an_entry_is_reported_as_the_first_broken_link(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "HG").await;
    app.create_sector(&admin, "JX").await;
    let entries = app
        .get("/api/v1/audit?action=org_unit.create", Some(&admin))
        .await;
    let target = entries.body["items"].as_array().unwrap().last().unwrap()["seq"]
        .as_i64()
        .unwrap();

    let mut conn = app.raw_connection();
    diesel::sql_query(format!(
        "UPDATE audit_log SET object_id = 'forged' WHERE seq = {target}"
    ))
    .execute(&mut conn)
    .unwrap();

    let verified = app.get("/api/v1/audit/verify", Some(&admin)).await;
    verified.assert_status(200);
    assert_eq!(verified.body["ok"], false);
    assert_eq!(verified.body["first_broken"]["seq"], json!(target));
    assert_eq!(verified.body["first_broken"]["reason"], "hash_mismatch");
    let (ok, output) = verify_cli(&app);
    assert!(!ok);
    assert!(
        output.contains(&format!("BROKEN at entry {target}")),
        "{output}"
    );
}
api_test!(editing_an_entry_is_reported_as_the_first_broken_link);

async fn deleting_the_newest_entries_is_detected(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_park(&admin, "P1").await;
    // Reading the log links what was written; the newest linked entry goes.
    app.get("/api/v1/audit", Some(&admin))
        .await
        .assert_status(200);
    let mut conn = app.raw_connection();
    diesel::sql_query("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
        .execute(&mut conn)
        .unwrap();
    let verified = app.get("/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!(verified.body["ok"], false);
    assert_eq!(verified.body["first_broken"]["reason"], "head_mismatch");
}
api_test!(deleting_the_newest_entries_is_detected);

async fn the_audit_log_filters_and_pages(app: TestApp) {
    let admin = app.admin_token().await;
    for code in ["A", "B", "C"] {
        app.create_park(&admin, code).await;
    }
    let first = app
        .get("/api/v1/audit?action=org_unit.create&limit=2", Some(&admin))
        .await;
    first.assert_status(200);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["seq"].as_i64() > items[1]["seq"].as_i64(),
        "newest first"
    );
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/audit?action=org_unit.create&limit=2&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["next_cursor"].is_null());
    let future = app
        .get("/api/v1/audit?from=2999-01-01T00:00:00Z", Some(&admin))
        .await;
    assert_eq!(future.body["items"], json!([]));
    app.get("/api/v1/audit?from=yesterday", Some(&admin))
        .await
        .assert_status(422);
}
api_test!(the_audit_log_filters_and_pages);

async fn verifying_an_unchanged_chain_again_answers_from_the_last_check(app: TestApp) {
    let admin = app.admin_token().await;
    let first = app.get("/api/v1/audit/verify", Some(&admin)).await;
    first.assert_status(200);
    let again = app.get("/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!(again.body, first.body, "the same check, not a new one");
    app.create_park(&admin, "P1").await;
    let after = app.get("/api/v1/audit/verify", Some(&admin)).await;
    assert_ne!(
        after.body["verified_at"], first.body["verified_at"],
        "a new entry, a new check"
    );
    assert!(after.body["checked"].as_i64() > first.body["checked"].as_i64());
    assert_eq!(after.body["ok"], true);
}
api_test!(verifying_an_unchanged_chain_again_answers_from_the_last_check);

async fn concurrent_writers_on_two_instances_make_one_unbroken_chain(app: TestApp) {
    let admin = app.admin_token().await;
    let twin = app.twin();
    let (_, [coded]) = app.coded_enterprises(["福州恒信化工有限公司"]).await;
    let mut writers = Vec::new();
    for instance in [app.address.clone(), twin] {
        for writer in 0..6 {
            let (client, base, token, code) = (
                app.client.clone(),
                instance.clone(),
                admin.clone(),
                coded.code.clone(),
            );
            let prefix = if instance == app.address { "A" } else { "B" };
            writers.push(tokio::spawn(async move {
                for n in 0..8 {
                    let park = client
                        .post(format!("{base}/api/v1/parks"))
                        .bearer_auth(&token)
                        .json(&json!({
                            "code": format!("{prefix}{writer}-{n}"),
                            "name": format!("园区{prefix}{writer}-{n}"),
                        }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(park.status().as_u16(), 201);
                    let mut body = crate::registrations::other_driver(n);
                    body["plate"] = json!(format!("闽{prefix}{writer}{n:04}"));
                    let registered = client
                        .post(format!("{base}/api/v1/public/codes/{code}/registrations"))
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(registered.status().as_u16(), 201);
                }
            }));
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let verified = app.get("/api/v1/audit/verify", Some(&admin)).await;
    verified.assert_status(200);
    assert_eq!(verified.body["ok"], true, "{}", verified.text);
    assert_eq!(verified.body["waiting"], 0, "{}", verified.text);
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let stored = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_log")
        .get_result::<Count>(&mut app.raw_connection())
        .unwrap();
    assert_eq!(
        verified.body["checked"].as_i64(),
        Some(stored.n),
        "every entry in the one chain"
    );
    assert!(stored.n >= 2 * 6 * 8 * 2, "{}", stored.n);
}
api_test!(concurrent_writers_on_two_instances_make_one_unbroken_chain);
