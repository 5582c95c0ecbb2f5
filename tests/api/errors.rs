//! HTTP conventions: problem+json for every error, limits, probes and metrics.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, api_test};

async fn raw_post(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::helpers::TestResponse {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let response = TestApp::read(response).await;
    crate::helpers::CONTRACT.check(&Method::POST, path, &response);
    response
}

async fn unknown_routes_and_methods_answer_problem_json(app: TestApp) {
    let missing = app.get("/api/v1/nothing-here", None).await;
    missing.assert_status(404);
    assert_eq!(missing.code(), "route_not_found");
    let wrong_method = app.call(Method::DELETE, "/api/v1/me", None, None).await;
    wrong_method.assert_status(405);
    assert_eq!(wrong_method.code(), "method_not_allowed");
    assert_eq!(
        wrong_method.header("content-type"),
        Some("application/problem+json")
    );
}
api_test!(unknown_routes_and_methods_answer_problem_json);

async fn a_method_a_route_does_not_serve_answers_405_with_allow_listing_the_ones_it_does(
    app: TestApp,
) {
    let me = app.call(Method::DELETE, "/api/v1/me", None, None).await;
    me.assert_status(405);
    assert_eq!(me.header("allow"), Some("GET"));
    let sector = app
        .call(Method::PUT, "/api/v1/sectors/any-id", None, None)
        .await;
    sector.assert_status(405);
    assert_eq!(sector.header("allow"), Some("GET, PATCH, DELETE"));
    let page = app.call(Method::DELETE, "/r/any-token", None, None).await;
    page.assert_status(405);
    assert_eq!(page.header("allow"), Some("GET, POST"));
}
api_test!(a_method_a_route_does_not_serve_answers_405_with_allow_listing_the_ones_it_does);

async fn null_is_refused_where_a_field_is_not_nullable(app: TestApp) {
    let admin = app.admin_token().await;
    let sector = app.create_sector(&admin, "HG").await;
    let park = app.create_park(&admin, "EAST").await;
    let enterprise = app
        .create_enterprise(&admin, "福州恒信化工有限公司", &sector, &park)
        .await;
    let user = app
        .create_user(&admin, "official1", "sector_official", &[&sector], &[])
        .await;
    for (path, body) in [
        (format!("/api/v1/sectors/{sector}"), json!({ "name": null })),
        (
            format!("/api/v1/sectors/{sector}"),
            json!({ "authority": null }),
        ),
        (format!("/api/v1/parks/{park}"), json!({ "code": null })),
        (
            format!("/api/v1/enterprises/{enterprise}"),
            json!({ "name": null }),
        ),
        (
            format!("/api/v1/enterprises/{enterprise}"),
            json!({ "status": null }),
        ),
        (
            format!("/api/v1/users/{user}"),
            json!({ "display_name": null }),
        ),
        (format!("/api/v1/users/{user}"), json!({ "active": null })),
        (format!("/api/v1/users/{user}"), json!({ "role": null })),
    ] {
        let response = app.patch(&path, Some(&admin), body.clone()).await;
        response.assert_status(422);
        assert_eq!(
            response.body["errors"][0]["code"], "invalid_type",
            "PATCH {path} {body}"
        );
    }
    let sector_without_authority = app
        .post(
            "/api/v1/sectors",
            Some(&admin),
            json!({ "code": "JX", "name": "机械行业", "authority": null }),
        )
        .await;
    sector_without_authority.assert_status(422);
    let shown = app
        .get(&format!("/api/v1/sectors/{sector}"), Some(&admin))
        .await;
    assert_eq!(shown.body["name"], "HG行业");
    assert_eq!(shown.body["authority"], "HG主管局");
    let user_shown = app
        .get(&format!("/api/v1/users/{user}"), Some(&admin))
        .await;
    assert_eq!(user_shown.body["active"], true);
}
api_test!(null_is_refused_where_a_field_is_not_nullable);

async fn an_empty_cursor_is_refused_like_any_cursor_the_server_did_not_issue(app: TestApp) {
    let admin = app.admin_token().await;
    for list in [
        "/api/v1/sectors",
        "/api/v1/parks",
        "/api/v1/users",
        "/api/v1/enterprises",
        "/api/v1/registrations",
        "/api/v1/audit",
    ] {
        let response = app.get(&format!("{list}?cursor="), Some(&admin)).await;
        response.assert_status(422);
        assert_eq!(
            response.body["errors"][0]["code"], "invalid_cursor",
            "{list}"
        );
    }
}
api_test!(an_empty_cursor_is_refused_like_any_cursor_the_server_did_not_issue);

async fn nul_in_a_path_query_or_json_body_is_refused_before_any_query(app: TestApp) {
    let admin = app.admin_token().await;
    let path = app.get("/api/v1/sectors/a%00b", Some(&admin)).await;
    path.assert_status(404);
    assert_eq!(path.code(), "not_found");
    // Refused like any other answer: with the request id and the security headers.
    assert!(path.header("x-request-id").is_some(), "{:?}", path.headers);
    assert_eq!(path.header("x-content-type-options"), Some("nosniff"));
    let query = app
        .get("/api/v1/enterprises?limit=5&q=a%00", Some(&admin))
        .await;
    query.assert_status(422);
    assert_eq!(query.body["errors"][0]["field"], "q");
    assert_eq!(query.body["errors"][0]["code"], "invalid_characters");
    let body = app.login("admin\u{0}", "x").await;
    body.assert_status(422);
    assert_eq!(body.body["errors"][0]["code"], "invalid_characters");
    let escaped_backslash = app
        .post(
            "/api/v1/parks",
            Some(&admin),
            json!({ "code": "P1", "name": "东区\\u0000" }),
        )
        .await;
    escaped_backslash.assert_status(201);
    assert_eq!(escaped_backslash.body["name"], "东区\\u0000");
}
api_test!(nul_in_a_path_query_or_json_body_is_refused_before_any_query);

async fn bodies_must_be_json_of_bounded_size_with_known_fields(app: TestApp) {
    let admin = app.admin_token().await;
    let form = raw_post(
        &app,
        "/api/v1/parks",
        &admin,
        "application/x-www-form-urlencoded",
        b"code=A&name=B".to_vec(),
    )
    .await;
    form.assert_status(415);
    assert_eq!(form.code(), "unsupported_media_type");

    let broken = raw_post(
        &app,
        "/api/v1/parks",
        &admin,
        "application/json",
        b"{\"code\": ".to_vec(),
    )
    .await;
    broken.assert_status(400);
    assert_eq!(broken.code(), "invalid_json");

    let huge = json!({ "code": "A", "name": "x".repeat(70 * 1024) })
        .to_string()
        .into_bytes();
    let too_large = raw_post(&app, "/api/v1/parks", &admin, "application/json", huge).await;
    too_large.assert_status(413);
    assert_eq!(too_large.code(), "payload_too_large");

    let wrong_type = app
        .post(
            "/api/v1/parks",
            Some(&admin),
            json!({ "code": 7, "name": "园" }),
        )
        .await;
    wrong_type.assert_status(422);

    let mass_assignment = app
        .post(
            "/api/v1/parks",
            Some(&admin),
            json!({ "code": "A", "name": "园", "id": "chosen-id" }),
        )
        .await;
    mass_assignment.assert_status(422);
    assert_eq!(mass_assignment.body["errors"][0]["field"], "id");
    assert_eq!(mass_assignment.body["errors"][0]["code"], "unknown_field");

    let listed = app.get("/api/v1/parks", Some(&admin)).await;
    assert_eq!(listed.body["items"], json!([]), "no park half-created");
}
api_test!(bodies_must_be_json_of_bounded_size_with_known_fields);

async fn errors_carry_no_internals(app: TestApp) {
    let admin = app.admin_token().await;
    let response = app
        .post(
            "/api/v1/parks",
            Some(&admin),
            json!({ "code": "A", "name": "园", "evil": "'; DROP TABLE users; --" }),
        )
        .await;
    for needle in [
        "diesel",
        "sqlite",
        "postgres",
        "serde",
        "DROP TABLE",
        "panicked",
        "src/",
    ] {
        assert!(
            !response.text.contains(needle),
            "{needle} leaked: {}",
            response.text
        );
    }
}
api_test!(errors_carry_no_internals);

async fn probes_report_process_and_database(app: TestApp) {
    let health = app.get("/healthz", None).await;
    health.assert_status(200);
    let ready = app.get("/readyz", None).await;
    ready.assert_status(200);
    let expected = match app.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Postgres => "postgres",
    };
    assert_eq!(ready.body["database"], expected);
}
api_test!(probes_report_process_and_database);

async fn metrics_count_requests_by_route_template_and_show_the_pool(app: TestApp) {
    let admin = app.admin_token().await;
    app.get("/api/v1/users/some-id", Some(&admin))
        .await
        .assert_status(404);
    let metrics = app.get("/metrics", None).await;
    metrics.assert_status(200);
    assert!(
        metrics.text.contains(
            r#"truckpass_http_requests_total{method="GET",route="/api/v1/users/{id}",status="404"} 1"#
        ),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains(
        r#"truckpass_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"} 1"#
    ));
    assert!(
        metrics
            .text
            .contains("truckpass_http_request_duration_seconds_bucket")
    );
    assert!(
        metrics
            .text
            .contains(r#"truckpass_db_pool_connections{pool="read",state="open"}"#)
    );
    // The queue's length at that moment (a background write may be waiting).
    assert!(
        metrics.text.lines().any(|line| line
            .strip_prefix("truckpass_db_write_queue ")
            .is_some_and(|n| n.parse::<u64>().is_ok())),
        "{}",
        metrics.text
    );
    assert!(
        !metrics.text.contains("some-id"),
        "raw paths must not become labels"
    );
}
api_test!(metrics_count_requests_by_route_template_and_show_the_pool);

async fn every_response_carries_a_request_id(app: TestApp) {
    let generated = app.get("/healthz", None).await;
    assert!(
        generated
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 16)
    );
    let echoed = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let hostile = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "line\tbreak")
        .send()
        .await
        .unwrap();
    assert_ne!(hostile.headers()["x-request-id"], "line\tbreak");
}
api_test!(every_response_carries_a_request_id);

async fn the_contract_is_served_as_written(app: TestApp) {
    let response = app
        .client
        .get(format!("{}/openapi.yaml", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/yaml")
    );
    let served = response.text().await.unwrap();
    assert_eq!(
        served,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap()
    );
}
api_test!(the_contract_is_served_as_written);

async fn no_answer_may_be_framed_by_another_site(app: TestApp) {
    let (_, [coded]) = app.coded_enterprises(["福州恒信化工有限公司"]).await;
    for path in [
        "/healthz".to_owned(),
        format!("/r/{}", coded.code),
        "/api/v1/nothing-here".to_owned(),
    ] {
        let response = app.get(&path, None).await;
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
    }
}
api_test!(no_answer_may_be_framed_by_another_site);
