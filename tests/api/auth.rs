//! Sign-in, tokens, sessions and throttling.

use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, INITIAL_PASSWORD, TestApp, USER_PASSWORD, api_test};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes()).expect("base64"))
        .expect("json")
}

fn jwt_key(app: &TestApp) -> Vec<u8> {
    let text = std::fs::read_to_string(app.data_dir.path().join("jwt.key")).expect("jwt.key");
    hex::decode(text.trim()).expect("hex key")
}

fn sign(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .expect("sign")
}

async fn login_returns_short_lived_access_token_refresh_token_and_user(app: TestApp) {
    let response = app.login("admin", ADMIN_PASSWORD).await;
    response.assert_status(200);
    assert_eq!(response.body["token_type"], "Bearer");
    assert_eq!(response.body["user"]["username"], "admin");
    assert_eq!(response.body["user"]["role"], "admin");
    assert!(
        response
            .header("cache-control")
            .unwrap_or_default()
            .contains("no-store")
    );
    let claims = claims_of(response.body["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], "truckpass");
    assert_eq!(claims["aud"], "truckpass-api");
    assert_eq!(claims["typ"], "access");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(lifetime > 0 && lifetime <= 900, "lifetime {lifetime}");
    assert!(response.body["expires_in"].as_u64().unwrap() <= 900);

    let me = app
        .get("/api/v1/me", response.body["access_token"].as_str())
        .await;
    me.assert_status(200);
    assert_eq!(me.body["username"], "admin");
}
api_test!(login_returns_short_lived_access_token_refresh_token_and_user);

async fn unknown_user_and_wrong_password_get_the_same_answer(app: TestApp) {
    let wrong_password = app.login("admin", "Not-The-Password-99").await;
    let unknown_user = app.login("nobody", "Not-The-Password-99").await;
    wrong_password.assert_status(401);
    unknown_user.assert_status(401);
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(wrong_password.code(), "invalid_credentials");
}
api_test!(unknown_user_and_wrong_password_get_the_same_answer);

async fn user_names_are_case_insensitive_at_sign_in(app: TestApp) {
    app.login("ADMIN", ADMIN_PASSWORD).await.assert_status(200);
}
api_test!(user_names_are_case_insensitive_at_sign_in);

async fn forged_expired_tampered_and_mistyped_tokens_are_401(app: TestApp) {
    let (access, refresh) = app.tokens("admin", ADMIN_PASSWORD).await;
    let claims = claims_of(&access);
    let key = jwt_key(&app);

    let header_none = BASE64URL_NOPAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = access.split('.').nth(1).unwrap();
    let alg_none = format!("{header_none}.{payload}.");

    let wrong_key = sign(&claims, b"some other key that is 32 bytes!");

    let mut expired_claims = claims.clone();
    expired_claims["iat"] = json!(claims["iat"].as_i64().unwrap() - 3600);
    expired_claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 60);
    let expired = sign(&expired_claims, &key);

    let mut tampered_claims = claims.clone();
    tampered_claims["ver"] = json!(99);
    let tampered_payload = BASE64URL_NOPAD.encode(tampered_claims.to_string().as_bytes());
    let parts: Vec<&str> = access.split('.').collect();
    let tampered = format!("{}.{tampered_payload}.{}", parts[0], parts[2]);

    let mut refresh_typed = claims.clone();
    refresh_typed["typ"] = json!("refresh");
    let mistyped = sign(&refresh_typed, &key);

    let mut other_audience = claims.clone();
    other_audience["aud"] = json!("another-service");
    let foreign = sign(&other_audience, &key);

    for (name, token) in [
        ("alg none", alg_none.as_str()),
        ("wrong key", &wrong_key),
        ("expired", &expired),
        ("tampered", &tampered),
        ("typ refresh", &mistyped),
        ("other audience", &foreign),
        ("refresh token as access token", &refresh),
        ("garbage", "not-a-token"),
    ] {
        let response = app.get("/api/v1/me", Some(token)).await;
        assert_eq!(response.status, 401, "{name} accepted: {}", response.text);
    }
    let expired_answer = app.get("/api/v1/me", Some(&expired)).await;
    assert_eq!(expired_answer.code(), "token_expired");
    app.get("/api/v1/me", Some(&access))
        .await
        .assert_status(200);
}
api_test!(forged_expired_tampered_and_mistyped_tokens_are_401);

async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_family(app: TestApp) {
    let (_, first) = app.tokens("admin", ADMIN_PASSWORD).await;
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": first }),
        )
        .await;
    rotated.assert_status(200);
    let second = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    app.get("/api/v1/me", rotated.body["access_token"].as_str())
        .await
        .assert_status(200);

    let reused = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": first }),
        )
        .await;
    reused.assert_status(401);
    assert_eq!(reused.code(), "invalid_refresh_token");
    let after_reuse = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": second }),
        )
        .await;
    after_reuse.assert_status(401);

    let (_, other_family) = app.tokens("admin", ADMIN_PASSWORD).await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": other_family }),
    )
    .await
    .assert_status(200);
}
api_test!(refresh_rotates_and_a_reused_refresh_token_revokes_the_family);

async fn logout_ends_every_session_of_the_user(app: TestApp) {
    let (phone, phone_refresh) = app.tokens("admin", ADMIN_PASSWORD).await;
    let (desktop, _) = app.tokens("admin", ADMIN_PASSWORD).await;
    app.post("/api/v1/auth/logout", Some(&desktop), json!({}))
        .await
        .assert_status(204);
    app.get("/api/v1/me", Some(&phone)).await.assert_status(401);
    app.get("/api/v1/me", Some(&desktop))
        .await
        .assert_status(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": phone_refresh }),
    )
    .await
    .assert_status(401);
    app.login("admin", ADMIN_PASSWORD).await.assert_status(200);
}
api_test!(logout_ends_every_session_of_the_user);

async fn changing_my_password_ends_other_sessions_and_keeps_this_one(app: TestApp) {
    let (other, _) = app.tokens("admin", ADMIN_PASSWORD).await;
    let (mine, _) = app.tokens("admin", ADMIN_PASSWORD).await;
    let wrong = app
        .put(
            "/api/v1/me/password",
            Some(&mine),
            json!({ "current_password": "Wrong-Pass-123-x", "new_password": USER_PASSWORD }),
        )
        .await;
    wrong.assert_status(422);
    assert_eq!(wrong.body["errors"][0]["field"], "current_password");
    let weak = app
        .put(
            "/api/v1/me/password",
            Some(&mine),
            json!({ "current_password": ADMIN_PASSWORD, "new_password": "password1" }),
        )
        .await;
    weak.assert_status(422);
    assert_eq!(weak.body["errors"][0]["code"], "password_too_common");

    let changed = app
        .put(
            "/api/v1/me/password",
            Some(&mine),
            json!({ "current_password": ADMIN_PASSWORD, "new_password": USER_PASSWORD }),
        )
        .await;
    changed.assert_status(200);
    app.get("/api/v1/me", Some(&other)).await.assert_status(401);
    app.get("/api/v1/me", Some(&mine)).await.assert_status(401);
    app.get("/api/v1/me", changed.body["access_token"].as_str())
        .await
        .assert_status(200);
    app.login("admin", ADMIN_PASSWORD).await.assert_status(401);
    app.login("admin", USER_PASSWORD).await.assert_status(200);
}
api_test!(changing_my_password_ends_other_sessions_and_keeps_this_one);

async fn disabling_a_user_ends_their_sessions_and_sign_in(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "watcher", "regulator", &[], &[])
        .await;
    let (token, refresh) = app.tokens("watcher", USER_PASSWORD).await;
    app.get("/api/v1/me", Some(&token)).await.assert_status(200);
    app.patch(
        &format!("/api/v1/users/{id}"),
        Some(&admin),
        json!({ "active": false }),
    )
    .await
    .assert_status(200);
    app.get("/api/v1/me", Some(&token)).await.assert_status(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": refresh }),
    )
    .await
    .assert_status(401);
    let login = app.login("watcher", USER_PASSWORD).await;
    login.assert_status(401);
    assert_eq!(login.code(), "invalid_credentials");
}
api_test!(disabling_a_user_ends_their_sessions_and_sign_in);

/// The server keeps the account behind a token for a moment; a change of role holds
/// from the very next request all the same, in both directions.
async fn a_new_role_holds_for_the_next_request_of_a_signed_in_user(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .create_user(&admin, "watcher", "regulator", &[], &[])
        .await;
    let (token, _) = app.tokens("watcher", USER_PASSWORD).await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    me.assert_status(200);
    assert_eq!(me.body["role"], "regulator");
    app.get("/api/v1/users", Some(&token))
        .await
        .assert_status(403);
    for (role, users) in [("admin", 200), ("regulator", 403)] {
        app.patch(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            json!({ "role": role }),
        )
        .await
        .assert_status(200);
        let me = app.get("/api/v1/me", Some(&token)).await;
        me.assert_status(200);
        assert_eq!(me.body["role"], role);
        app.get("/api/v1/users", Some(&token))
            .await
            .assert_status(users);
    }
}
api_test!(a_new_role_holds_for_the_next_request_of_a_signed_in_user);

async fn repeated_failures_throttle_the_account_for_that_client_with_retry_after(app: TestApp) {
    for _ in 0..3 {
        app.login("admin", "Wrong-Password-1")
            .await
            .assert_status(401);
    }
    let throttled = app.login("admin", ADMIN_PASSWORD).await;
    throttled.assert_status(429);
    assert_eq!(throttled.code(), "too_many_login_attempts");
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    // Another account from the same client is not affected.
    let admin_token_unavailable = app.login("someone", "Wrong-Password-1").await;
    admin_token_unavailable.assert_status(401);
}
api_test!(
    repeated_failures_throttle_the_account_for_that_client_with_retry_after,
    with(|s| {
        s.login_max_failures_per_account_ip = 3;
        s.login_max_failures_per_ip = 100;
    })
);

async fn repeated_failures_from_one_ip_throttle_that_ip(app: TestApp) {
    for name in ["a1", "a2", "a3", "a4"] {
        app.login(name, "Wrong-Password-1").await.assert_status(401);
    }
    let throttled = app.login("admin", ADMIN_PASSWORD).await;
    throttled.assert_status(429);
    assert!(throttled.header("retry-after").is_some());
}
api_test!(
    repeated_failures_from_one_ip_throttle_that_ip,
    with(|s| {
        s.login_max_failures_per_account = 100;
        s.login_max_failures_per_ip = 4;
    })
);

async fn a_successful_sign_in_clears_that_clients_failures(app: TestApp) {
    for _ in 0..2 {
        app.login("admin", "Wrong-Password-1")
            .await
            .assert_status(401);
    }
    app.login("admin", ADMIN_PASSWORD).await.assert_status(200);
    for _ in 0..2 {
        app.login("admin", "Wrong-Password-1")
            .await
            .assert_status(401);
    }
    app.login("admin", ADMIN_PASSWORD).await.assert_status(200);
}
api_test!(
    a_successful_sign_in_clears_that_clients_failures,
    with(|s| {
        s.login_max_failures_per_account_ip = 3;
    })
);

async fn sign_in_rejects_malformed_bodies_without_a_500(app: TestApp) {
    let missing = app
        .post("/api/v1/auth/login", None, json!({ "username": "admin" }))
        .await;
    missing.assert_status(422);
    assert_eq!(missing.body["errors"][0]["field"], "password");
    let extra = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "username": "admin", "password": ADMIN_PASSWORD, "role": "admin" }),
        )
        .await;
    extra.assert_status(422);
    assert_eq!(extra.body["errors"][0]["code"], "unknown_field");
    let huge_name = app.login(&"a".repeat(10_000), ADMIN_PASSWORD).await;
    huge_name.assert_status(401);
}
api_test!(sign_in_rejects_malformed_bodies_without_a_500);

async fn public_and_unknown_routes_ignore_the_authorization_header(app: TestApp) {
    let forged = Some("forged.token.value");
    app.get("/healthz", forged).await.assert_status(200);
    app.get("/api/v1/public/regions", forged)
        .await
        .assert_status(200);
    let unknown = app.get("/api/v1/nothing-here", forged).await;
    unknown.assert_status(404);
    assert_eq!(unknown.code(), "route_not_found");
    let login = app
        .post(
            "/api/v1/auth/login",
            forged,
            json!({ "username": "admin", "password": ADMIN_PASSWORD }),
        )
        .await;
    login.assert_status(200);
    let admin = login.body["access_token"].as_str().unwrap();
    let audited = app
        .get("/api/v1/audit?action=auth.invalid_token", Some(admin))
        .await;
    assert_eq!(audited.body["items"], json!([]));
}
api_test!(public_and_unknown_routes_ignore_the_authorization_header);

async fn refusals_are_audited_with_the_method_and_route_pattern_never_the_raw_path(app: TestApp) {
    let staff = app.staff().await;
    let long_id = "x".repeat(6000);
    app.get(
        &format!("/api/v1/users/{long_id}"),
        Some("forged.token.value"),
    )
    .await
    .assert_status(401);
    app.post(
        "/api/v1/parks",
        Some(staff.token("regulator")),
        json!({ "code": "X", "name": "X" }),
    )
    .await
    .assert_status(403);
    let admin = staff.token("admin");
    for (action, route) in [
        ("auth.invalid_token", "GET /api/v1/users/{id}"),
        ("authz.denied", "POST /api/v1/parks"),
    ] {
        let audited = app
            .get(&format!("/api/v1/audit?action={action}"), Some(admin))
            .await;
        let items = audited.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{action}: {items:?}");
        assert_eq!(items[0]["details"]["route"], route);
    }
}
api_test!(refusals_are_audited_with_the_method_and_route_pattern_never_the_raw_path);

async fn refusal_audits_are_rate_limited_per_client(app: TestApp) {
    let admin = app.admin_token().await;
    let minute = || chrono::Utc::now().timestamp() / 60;
    let started = minute();
    for _ in 0..6 {
        let refused = app.get("/api/v1/me", Some("forged.token.value")).await;
        refused.assert_status(401);
        assert_eq!(refused.code(), "invalid_token");
    }
    let windows = minute() - started + 1;
    let audited = app
        .get("/api/v1/audit?action=auth.invalid_token", Some(&admin))
        .await;
    let recorded = audited.body["items"].as_array().unwrap().len() as i64;
    if windows == 1 {
        assert_eq!(recorded, 3);
    } else {
        // The test ran across a minute boundary: the budget started over.
        assert!(recorded <= 3 * windows, "{recorded}");
    }
}
api_test!(
    refusal_audits_are_rate_limited_per_client,
    with(|s| {
        s.audit_refusals_per_ip = 3;
    })
);

/// A user the admin created and who has not yet chosen a password, signed in.
async fn pending_user(app: &TestApp, admin: &str, username: &str) -> String {
    let body = json!({
        "username": username, "display_name": "新同事",
        "password": INITIAL_PASSWORD, "role": "regulator",
    });
    app.post("/api/v1/users", Some(admin), body)
        .await
        .assert_status(201);
    app.tokens(username, INITIAL_PASSWORD).await.0
}

async fn a_user_who_must_change_the_password_may_only_see_themselves_change_it_or_sign_out(
    app: TestApp,
) {
    let admin = app.admin_token().await;
    let token = pending_user(&app, &admin, "newbie").await;
    let refused = app.get("/api/v1/enterprises", Some(&token)).await;
    refused.assert_status(403);
    assert_eq!(refused.code(), "password_change_required");
    let me = app.get("/api/v1/me", Some(&token)).await;
    me.assert_status(200);
    assert_eq!(me.body["must_change_password"], true);

    let changed = app
        .put(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": INITIAL_PASSWORD, "new_password": USER_PASSWORD }),
        )
        .await;
    changed.assert_status(200);
    let fresh = changed.body["access_token"].as_str().unwrap().to_owned();
    app.get("/api/v1/enterprises", Some(&fresh))
        .await
        .assert_status(200);

    // An admin reset sets the rule again.
    let id = me.body["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/users/{id}/password"),
        Some(&admin),
        json!({ "new_password": "Marble-Tundra-61-Fern" }),
    )
    .await
    .assert_status(204);
    let reset = app.tokens("newbie", "Marble-Tundra-61-Fern").await.0;
    let again = app.get("/api/v1/enterprises", Some(&reset)).await;
    again.assert_status(403);
    assert_eq!(again.code(), "password_change_required");
    app.post("/api/v1/auth/logout", Some(&reset), json!({}))
        .await
        .assert_status(204);
}
api_test!(a_user_who_must_change_the_password_may_only_see_themselves_change_it_or_sign_out);

async fn the_generated_first_admin_password_must_be_changed_before_anything_else(app: TestApp) {
    let generated = app
        .initial_admin_password
        .clone()
        .expect("a generated password");
    let signed_in = app.login("admin", &generated).await;
    signed_in.assert_status(200);
    assert_eq!(signed_in.body["user"]["must_change_password"], true);
    let token = signed_in.body["access_token"].as_str().unwrap();
    let refused = app.get("/api/v1/users", Some(token)).await;
    refused.assert_status(403);
    assert_eq!(refused.code(), "password_change_required");
    let changed = app
        .put(
            "/api/v1/me/password",
            Some(token),
            json!({ "current_password": generated, "new_password": ADMIN_PASSWORD }),
        )
        .await;
    changed.assert_status(200);
    app.get("/api/v1/users", changed.body["access_token"].as_str())
        .await
        .assert_status(200);
}
api_test!(
    the_generated_first_admin_password_must_be_changed_before_anything_else,
    with(|s| {
        s.admin_password = None;
    })
);
