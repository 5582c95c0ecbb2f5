//! Sectors (行业) and parks (园区).

use serde_json::json;

use crate::helpers::{TestApp, api_test};

async fn admin_manages_sectors_with_their_authority(app: TestApp) {
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/sectors",
            Some(&admin),
            json!({ "code": "hg", "name": "化工行业", "authority": "应急管理局" }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["code"], "HG");
    let id = created.body["id"].as_str().unwrap().to_owned();

    let updated = app
        .patch(
            &format!("/api/v1/sectors/{id}"),
            Some(&admin),
            json!({ "authority": "生态环境局" }),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["authority"], "生态环境局");
    assert_eq!(updated.body["name"], "化工行业");

    let shown = app
        .get(&format!("/api/v1/sectors/{id}"), Some(&admin))
        .await;
    assert_eq!(shown.body["authority"], "生态环境局");

    app.post(
        "/api/v1/sectors",
        Some(&admin),
        json!({ "code": "JX", "name": "机械行业", "authority": "工信局" }),
    )
    .await
    .assert_status(201);
    let listed = app.get("/api/v1/sectors?limit=1", Some(&admin)).await;
    assert_eq!(listed.body["items"][0]["code"], "HG");
    let cursor = listed.body["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/sectors?limit=1&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    assert_eq!(next.body["items"][0]["code"], "JX");
    assert!(next.body["next_cursor"].is_null());

    app.delete(&format!("/api/v1/sectors/{id}"), Some(&admin))
        .await
        .assert_status(204);
    app.get(&format!("/api/v1/sectors/{id}"), Some(&admin))
        .await
        .assert_status(404);
}
api_test!(admin_manages_sectors_with_their_authority);

async fn admin_manages_parks(app: TestApp) {
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/parks",
            Some(&admin),
            json!({ "code": "EAST", "name": "东区园区" }),
        )
        .await;
    created.assert_status(201);
    assert!(created.body.get("authority").is_none());
    let id = created.body["id"].as_str().unwrap().to_owned();
    let renamed = app
        .patch(
            &format!("/api/v1/parks/{id}"),
            Some(&admin),
            json!({ "name": "东部园区" }),
        )
        .await;
    renamed.assert_status(200);
    assert_eq!(renamed.body["name"], "东部园区");
    app.delete(&format!("/api/v1/parks/{id}"), Some(&admin))
        .await
        .assert_status(204);
    app.delete(&format!("/api/v1/parks/{id}"), Some(&admin))
        .await
        .assert_status(404);
}
api_test!(admin_manages_parks);

async fn sectors_and_parks_are_separate_namespaces(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "A1").await;
    let park = app.create_park(&admin, "A1").await;
    app.get(&format!("/api/v1/parks/{sector}"), Some(&admin))
        .await
        .assert_status(404);
    app.get(&format!("/api/v1/sectors/{park}"), Some(&admin))
        .await
        .assert_status(404);
    app.delete(&format!("/api/v1/parks/{sector}"), Some(&admin))
        .await
        .assert_status(404);
}
api_test!(sectors_and_parks_are_separate_namespaces);

async fn duplicate_codes_and_names_conflict(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_sector(&admin, "HG").await;
    let same_code = app
        .post(
            "/api/v1/sectors",
            Some(&admin),
            json!({ "code": "hg", "name": "另一个", "authority": "局" }),
        )
        .await;
    same_code.assert_status(409);
    assert_eq!(same_code.code(), "code_taken");
    let same_name = app
        .post(
            "/api/v1/sectors",
            Some(&admin),
            json!({ "code": "HG2", "name": "HG行业", "authority": "局" }),
        )
        .await;
    same_name.assert_status(409);
    assert_eq!(same_name.code(), "name_taken");
    let other = app.create_sector(&admin, "JX").await;
    let rename_onto = app
        .patch(
            &format!("/api/v1/sectors/{other}"),
            Some(&admin),
            json!({ "code": "HG" }),
        )
        .await;
    rename_onto.assert_status(409);
}
api_test!(duplicate_codes_and_names_conflict);

async fn invalid_sector_and_park_bodies_are_422_with_fields(app: TestApp) {
    let admin = app.admin_token().await;
    let no_authority = app
        .post(
            "/api/v1/sectors",
            Some(&admin),
            json!({ "code": "HG", "name": "化工" }),
        )
        .await;
    no_authority.assert_status(422);
    assert_eq!(no_authority.body["errors"][0]["field"], "authority");
    let park_authority = app
        .post(
            "/api/v1/parks",
            Some(&admin),
            json!({ "code": "P", "name": "园", "authority": "局" }),
        )
        .await;
    park_authority.assert_status(422);
    assert_eq!(park_authority.body["errors"][0]["code"], "not_allowed");
    let bad = app
        .post(
            "/api/v1/sectors",
            Some(&admin),
            json!({ "code": "化工 1", "name": " ", "authority": "局" }),
        )
        .await;
    bad.assert_status(422);
    assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2);
    let listed = app.get("/api/v1/sectors", Some(&admin)).await;
    assert_eq!(listed.body["items"], json!([]));
}
api_test!(invalid_sector_and_park_bodies_are_422_with_fields);

async fn a_unit_with_members_cannot_be_deleted(app: TestApp) {
    let admin = app.admin_token().await;
    let park = app.create_park(&admin, "WEST").await;
    let user = app
        .create_user(&admin, "parkguy", "park_official", &[], &[&park])
        .await;
    let refused = app
        .delete(&format!("/api/v1/parks/{park}"), Some(&admin))
        .await;
    refused.assert_status(409);
    assert_eq!(refused.code(), "org_unit_in_use");
    app.patch(
        &format!("/api/v1/users/{user}"),
        Some(&admin),
        json!({ "role": "regulator", "park_ids": [] }),
    )
    .await
    .assert_status(200);
    app.delete(&format!("/api/v1/parks/{park}"), Some(&admin))
        .await
        .assert_status(204);
}
api_test!(a_unit_with_members_cannot_be_deleted);

async fn every_signed_in_role_reads_the_organisation_but_only_admins_change_it(app: TestApp) {
    let staff = app.staff().await;
    for role in ["regulator", "sector_official", "park_official", "surveyor"] {
        let token = staff.token(role);
        app.get("/api/v1/sectors", Some(token))
            .await
            .assert_status(200);
        app.get(&format!("/api/v1/parks/{}", staff.park), Some(token))
            .await
            .assert_status(200);
        let denied = app
            .post(
                "/api/v1/parks",
                Some(token),
                json!({ "code": "X", "name": "X园" }),
            )
            .await;
        denied.assert_status(403);
        assert_eq!(denied.code(), "forbidden");
    }
}
api_test!(every_signed_in_role_reads_the_organisation_but_only_admins_change_it);
