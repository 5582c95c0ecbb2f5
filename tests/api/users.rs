//! Accounts managed by the admin.

use serde_json::json;

use crate::helpers::{TestApp, USER_PASSWORD, api_test};

async fn admin_creates_shows_lists_and_updates_users_with_scope(app: TestApp) {
    let admin = app.admin_token().await;
    let chem = app.create_sector(&admin, "HG").await;
    let build = app.create_sector(&admin, "JZ").await;
    let created = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({
                "username": "Li.Ming",
                "display_name": "李明",
                "password": USER_PASSWORD,
                "role": "sector_official",
                "sector_ids": [chem, chem],
            }),
        )
        .await;
    created.assert_status(201);
    assert_eq!(created.body["username"], "li.ming");
    assert_eq!(created.body["sector_ids"], json!([chem]));
    assert_eq!(created.body["must_change_password"], true);
    assert!(created.body.get("password_hash").is_none());
    let id = created.body["id"].as_str().unwrap().to_owned();

    let shown = app.get(&format!("/api/v1/users/{id}"), Some(&admin)).await;
    shown.assert_status(200);
    assert_eq!(shown.body["display_name"], "李明");

    let updated = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            json!({ "display_name": "李明明", "sector_ids": [chem, build] }),
        )
        .await;
    updated.assert_status(200);
    assert_eq!(updated.body["display_name"], "李明明");
    assert_eq!(updated.body["sector_ids"].as_array().unwrap().len(), 2);

    let moved = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            json!({ "role": "regulator", "sector_ids": [] }),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["role"], "regulator");
    assert_eq!(moved.body["sector_ids"], json!([]));

    let listed = app.get("/api/v1/users?role=regulator", Some(&admin)).await;
    listed.assert_status(200);
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["li.ming"]);

    let token = app.tokens("li.ming", USER_PASSWORD).await.0;
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["role"], "regulator");
}
api_test!(admin_creates_shows_lists_and_updates_users_with_scope);

async fn users_list_pages_with_a_cursor_and_filters(app: TestApp) {
    let admin = app.admin_token().await;
    for i in 0..5 {
        app.create_user(&admin, &format!("reg{i}"), "regulator", &[], &[])
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_owned();
    loop {
        let page = app.get(&path, Some(&admin)).await;
        page.assert_status(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, vec!["admin", "reg0", "reg1", "reg2", "reg3", "reg4"]);

    let searched = app.get("/api/v1/users?q=reg3", Some(&admin)).await;
    assert_eq!(searched.body["items"].as_array().unwrap().len(), 1);
    let percent = app.get("/api/v1/users?q=%25", Some(&admin)).await;
    assert_eq!(percent.body["items"].as_array().unwrap().len(), 0);

    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=%25%25",
        "role=root",
        "colour=red",
    ] {
        let response = app.get(&format!("/api/v1/users?{bad}"), Some(&admin)).await;
        assert!(
            response.status == 422 || response.status == 400,
            "{bad}: {}",
            response.status
        );
    }
}
api_test!(users_list_pages_with_a_cursor_and_filters);

async fn create_user_reports_every_invalid_field(app: TestApp) {
    let admin = app.admin_token().await;
    let response = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({
                "username": "x",
                "display_name": "",
                "password": "12345678",
                "role": "sector_official",
                "sector_ids": [],
            }),
        )
        .await;
    response.assert_status(422);
    let mut fields: Vec<&str> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["display_name", "password", "role", "username"]);
    for error in response.body["errors"].as_array().unwrap() {
        assert!(
            !error["message"].as_str().unwrap().is_ascii(),
            "message should be Chinese: {error}"
        );
    }
}
api_test!(create_user_reports_every_invalid_field);

async fn scope_must_name_existing_units_of_the_right_kind(app: TestApp) {
    let admin = app.admin_token().await;
    let park = app.create_park(&admin, "EAST").await;
    let body = json!({
        "username": "wang", "display_name": "王", "password": USER_PASSWORD,
        "role": "sector_official", "sector_ids": [park, "no-such-id"],
    });
    let response = app.post("/api/v1/users", Some(&admin), body).await;
    response.assert_status(422);
    let fields: Vec<&str> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 2, "{}", response.text);
    assert!(fields.iter().all(|f| f.starts_with("sector_ids[")));
    let listed = app.get("/api/v1/users?q=wang", Some(&admin)).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        0,
        "nothing half-written"
    );

    let surveyor_in_two = json!({
        "username": "zhao", "display_name": "赵", "password": USER_PASSWORD,
        "role": "surveyor", "park_ids": [park],
        "sector_ids": [app.create_sector(&admin, "HG").await],
    });
    let response = app
        .post("/api/v1/users", Some(&admin), surveyor_in_two)
        .await;
    response.assert_status(422);
    assert_eq!(response.body["errors"][0]["code"], "scope_mismatch");

    let contact = json!({
        "username": "qian", "display_name": "钱", "password": USER_PASSWORD,
        "role": "enterprise_contact",
    });
    let response = app.post("/api/v1/users", Some(&admin), contact).await;
    response.assert_status(422);
    assert_eq!(
        response.body["errors"][0]["code"], "scope_mismatch",
        "a contact needs an enterprise"
    );
}
api_test!(scope_must_name_existing_units_of_the_right_kind);

async fn a_taken_user_name_is_a_conflict(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "sun", "regulator", &[], &[]).await;
    let body = json!({
        "username": "SUN", "display_name": "孙", "password": USER_PASSWORD, "role": "regulator",
    });
    let response = app.post("/api/v1/users", Some(&admin), body).await;
    response.assert_status(409);
    assert_eq!(response.code(), "username_taken");
}
api_test!(a_taken_user_name_is_a_conflict);

async fn the_last_enabled_admin_cannot_be_disabled_or_demoted(app: TestApp) {
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", Some(&admin)).await;
    let id = me.body["id"].as_str().unwrap().to_owned();
    let disable = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            json!({ "active": false }),
        )
        .await;
    disable.assert_status(409);
    assert_eq!(disable.code(), "last_admin");
    let demote = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            json!({ "role": "regulator" }),
        )
        .await;
    demote.assert_status(409);

    let second = app.create_user(&admin, "admin2", "admin", &[], &[]).await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        json!({ "role": "regulator" }),
    )
    .await
    .assert_status(200);
    let shown = app
        .get(
            &format!("/api/v1/users/{second}"),
            Some(&app.tokens("admin2", USER_PASSWORD).await.0),
        )
        .await;
    shown.assert_status(200);
}
api_test!(the_last_enabled_admin_cannot_be_disabled_or_demoted);

async fn admin_password_reset_ends_sessions_and_requires_a_change(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.create_user(&admin, "zhou", "regulator", &[], &[]).await;
    let (token, _) = app.tokens("zhou", USER_PASSWORD).await;
    let weak = app
        .put(
            &format!("/api/v1/users/{id}/password"),
            Some(&admin),
            json!({ "new_password": "zhou2024" }),
        )
        .await;
    weak.assert_status(422);
    app.put(
        &format!("/api/v1/users/{id}/password"),
        Some(&admin),
        json!({ "new_password": "Marble-Tundra-61-Fern" }),
    )
    .await
    .assert_status(204);
    app.get("/api/v1/me", Some(&token)).await.assert_status(401);
    app.login("zhou", USER_PASSWORD).await.assert_status(401);
    let login = app.login("zhou", "Marble-Tundra-61-Fern").await;
    login.assert_status(200);
    assert_eq!(login.body["user"]["must_change_password"], true);
    let missing = app
        .put(
            "/api/v1/users/no-such-user/password",
            Some(&admin),
            json!({ "new_password": "Marble-Tundra-61-Fern" }),
        )
        .await;
    missing.assert_status(404);
}
api_test!(admin_password_reset_ends_sessions_and_requires_a_change);

async fn unknown_users_are_404(app: TestApp) {
    let admin = app.admin_token().await;
    app.get(
        "/api/v1/users/01234567-0000-7000-8000-000000000000",
        Some(&admin),
    )
    .await
    .assert_status(404);
    app.patch(
        "/api/v1/users/nope",
        Some(&admin),
        json!({ "display_name": "x" }),
    )
    .await
    .assert_status(404);
}
api_test!(unknown_users_are_404);

async fn passwords_of_64_and_more_characters_are_accepted(app: TestApp) {
    let admin = app.admin_token().await;
    let long = "correct horse battery staple 7 orbit kiln ledger quartz violin!!";
    assert_eq!(long.chars().count(), 64);
    for (name, password) in [
        ("long64", long.to_owned()),
        ("long128", format!("{long}{long}")),
    ] {
        let body = json!({
            "username": name, "display_name": "长密码", "password": password, "role": "regulator",
        });
        app.post("/api/v1/users", Some(&admin), body)
            .await
            .assert_status(201);
        app.login(name, &password).await.assert_status(200);
    }
    let too_long = json!({
        "username": "long129", "display_name": "x",
        "password": "x".repeat(129), "role": "regulator",
    });
    let response = app.post("/api/v1/users", Some(&admin), too_long).await;
    response.assert_status(422);
    assert_eq!(response.body["errors"][0]["code"], "password_too_long");
}
api_test!(passwords_of_64_and_more_characters_are_accepted);

async fn a_change_of_role_or_scope_is_audited_with_what_it_was_and_became(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let id = app
        .create_user(&admin, "official", "sector_official", &[&sector], &[])
        .await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        json!({ "role": "park_official", "park_ids": [park] }),
    )
    .await
    .assert_status(200);
    let audit = app
        .get(
            &format!("/api/v1/audit?action=user.update&object_id={id}"),
            Some(&admin),
        )
        .await;
    let details = &audit.body["items"][0]["details"];
    assert_eq!(
        details["before"],
        json!({ "role": "sector_official", "sector_ids": [sector], "park_ids": [] }),
        "{}",
        audit.text
    );
    assert_eq!(
        details["after"],
        json!({ "role": "park_official", "sector_ids": [], "park_ids": [park] })
    );
}
api_test!(a_change_of_role_or_scope_is_audited_with_what_it_was_and_became);
