//! Sign-in under attack: per-client throttling, the account-wide delay, device
//! cookies, reservations that keep concurrent attempts within the limits, and the cap
//! on concurrent password hashing.

use std::sync::Arc;
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, CONTRACT, TestApp, TestResponse, USER_PASSWORD, api_test};

const WRONG_PASSWORD: &str = "Wrong-Password-1";

/// Signs in from `ip` (the app trusts `X-Forwarded-For` in these tests), presenting
/// `device` (a `name=value` cookie) when given.
async fn login_from(
    app: &TestApp,
    ip: &str,
    username: &str,
    password: &str,
    device: Option<&str>,
) -> TestResponse {
    let mut request = app
        .client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("x-forwarded-for", ip)
        .json(&json!({ "username": username, "password": password }));
    if let Some(cookie) = device {
        request = request.header("cookie", cookie);
    }
    let response = TestApp::read(request.send().await.expect("request sent")).await;
    CONTRACT.check(&Method::POST, "/api/v1/auth/login", &response);
    response
}

/// The device cookie a successful sign-in set, as `name=value`.
fn device_cookie(response: &TestResponse) -> String {
    let set_cookie = response
        .header("set-cookie")
        .expect("a successful sign-in sets the device cookie");
    set_cookie.split(';').next().unwrap().trim().to_owned()
}

fn retry_after(response: &TestResponse) -> u64 {
    response.header("retry-after").unwrap().parse().unwrap()
}

/// Runs `count` copies of `call` at once and returns their answers.
async fn concurrently<F, Fut>(
    app: TestApp,
    count: usize,
    call: F,
) -> (Arc<TestApp>, Vec<TestResponse>)
where
    F: Fn(Arc<TestApp>, usize) -> Fut,
    Fut: std::future::Future<Output = TestResponse> + Send + 'static,
{
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..count)
        .map(|i| tokio::spawn(call(Arc::clone(&app), i)))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    (app, answers)
}

fn statuses(answers: &[TestResponse]) -> Vec<u16> {
    answers.iter().map(|a| a.status).collect()
}

fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.raw_connection();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

async fn concurrent_wrong_passwords_for_one_account_are_verified_no_more_than_the_limit(
    app: TestApp,
) {
    let (app, answers) = concurrently(app, 12, |app, _| async move {
        app.login("admin", WRONG_PASSWORD).await
    })
    .await;
    let verified = answers.iter().filter(|a| a.status == 401).count();
    assert!((1..=5).contains(&verified), "{:?}", statuses(&answers));
    for answer in &answers {
        assert!([401, 429, 503].contains(&answer.status), "{}", answer.text);
    }
    let audited = count(
        &app,
        "SELECT COUNT(*) AS n FROM audit_log \
        WHERE action = 'auth.login' AND details LIKE '%invalid_credentials%'",
    );
    assert_eq!(audited, verified as i64);
    let stored = count(
        &app,
        "SELECT COUNT(*) AS n FROM login_failures WHERE throttle_key = 'account:admin'",
    );
    assert_eq!(stored, verified as i64);
}
api_test!(
    concurrent_wrong_passwords_for_one_account_are_verified_no_more_than_the_limit,
    with(|s| {
        s.login_max_failures_per_account = 5;
        s.login_max_failures_per_account_ip = 5;
        s.password_hash_concurrency = 16;
    })
);

async fn right_passwords_refused_only_for_attempts_in_flight_wait_a_second_not_the_window(
    app: TestApp,
) {
    let (_app, answers) = concurrently(app, 8, |app, _| async move {
        app.login("admin", ADMIN_PASSWORD).await
    })
    .await;
    assert!(
        answers.iter().any(|a| a.status == 200),
        "{:?}",
        statuses(&answers)
    );
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.assert_status(429);
        assert_eq!(answer.header("retry-after"), Some("1"), "{}", answer.text);
    }
}
api_test!(
    right_passwords_refused_only_for_attempts_in_flight_wait_a_second_not_the_window,
    with(|s| {
        s.login_max_failures_per_account_ip = 2;
        s.password_hash_concurrency = 16;
    })
);

async fn sign_ins_beyond_the_hashing_capacity_are_answered_503_with_retry_after(app: TestApp) {
    let (_app, answers) = concurrently(app, 8, |app, _| async move {
        app.login("admin", ADMIN_PASSWORD).await
    })
    .await;
    assert!(
        answers.iter().any(|a| a.status == 200),
        "{:?}",
        statuses(&answers)
    );
    let busy: Vec<&TestResponse> = answers.iter().filter(|a| a.status != 200).collect();
    assert!(
        !busy.is_empty(),
        "one hash at a time, yet all 8 were served"
    );
    for answer in busy {
        answer.assert_status(503);
        assert_eq!(answer.code(), "hashing_busy");
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
}
api_test!(
    sign_ins_beyond_the_hashing_capacity_are_answered_503_with_retry_after,
    with(|s| {
        s.password_hash_concurrency = 1;
    })
);

async fn creating_users_beyond_the_hashing_capacity_is_answered_503(app: TestApp) {
    let admin = app.admin_token().await;
    let (_app, answers) = concurrently(app, 6, move |app, i| {
        let admin = admin.clone();
        async move {
            let body = json!({
                "username": format!("clerk{i}"), "display_name": "职员",
                "password": USER_PASSWORD, "role": "regulator",
            });
            app.post("/api/v1/users", Some(&admin), body).await
        }
    })
    .await;
    assert!(
        answers.iter().any(|a| a.status == 201),
        "{:?}",
        statuses(&answers)
    );
    let busy: Vec<&TestResponse> = answers.iter().filter(|a| a.status != 201).collect();
    assert!(
        !busy.is_empty(),
        "one hash at a time, yet all 6 were served"
    );
    for answer in busy {
        answer.assert_status(503);
        assert_eq!(answer.code(), "hashing_busy");
    }
}
api_test!(
    creating_users_beyond_the_hashing_capacity_is_answered_503,
    with(|s| {
        s.password_hash_concurrency = 1;
    })
);

async fn wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(app: TestApp) {
    for _ in 0..5 {
        login_from(&app, "10.0.0.1", "admin", WRONG_PASSWORD, None)
            .await
            .assert_status(401);
    }
    let attacker = login_from(&app, "10.0.0.1", "admin", ADMIN_PASSWORD, None).await;
    attacker.assert_status(429);
    assert_eq!(attacker.code(), "too_many_login_attempts");
    login_from(&app, "10.0.0.2", "admin", ADMIN_PASSWORD, None)
        .await
        .assert_status(200);
}
api_test!(
    wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere,
    with(|s| {
        s.trust_proxy_headers = true;
    })
);

async fn a_device_that_signed_in_before_gets_through_while_the_account_is_attacked(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_user(&admin, "liming", "regulator", &[], &[])
        .await;
    let signed_in = login_from(&app, "10.0.0.9", "admin", ADMIN_PASSWORD, None).await;
    signed_in.assert_status(200);
    let set_cookie = signed_in.header("set-cookie").unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/v1/auth",
        "Max-Age=7776000",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http base URL: {set_cookie}"
    );
    let device = device_cookie(&signed_in);

    // Address .3 reaches its own limit on other accounts; guesses from three more
    // addresses reach the account's hard limit.
    for name in ["x1", "x2", "liming"] {
        login_from(&app, "10.0.0.3", name, WRONG_PASSWORD, None)
            .await
            .assert_status(401);
    }
    for ip in ["10.0.1.1", "10.0.1.2", "10.0.1.3"] {
        login_from(&app, ip, "admin", WRONG_PASSWORD, None)
            .await
            .assert_status(401);
    }
    let stranger = login_from(&app, "10.0.0.4", "admin", ADMIN_PASSWORD, None).await;
    stranger.assert_status(429);
    assert_eq!(stranger.code(), "too_many_login_attempts");

    // The device signs in from anywhere, even an address over its limit, and keeps
    // its cookie (no new one).
    let known = login_from(&app, "10.0.0.3", "admin", ADMIN_PASSWORD, Some(&device)).await;
    known.assert_status(200);
    assert!(known.header("set-cookie").is_none());
    // The device of one account is nobody's device for another.
    let other = login_from(&app, "10.0.0.3", "liming", USER_PASSWORD, Some(&device)).await;
    other.assert_status(429);

    // A device is throttled on its own: two failures, then even the right password waits.
    for _ in 0..2 {
        login_from(&app, "10.0.0.5", "admin", WRONG_PASSWORD, Some(&device))
            .await
            .assert_status(401);
    }
    login_from(&app, "10.0.0.5", "admin", ADMIN_PASSWORD, Some(&device))
        .await
        .assert_status(429);
}
api_test!(
    a_device_that_signed_in_before_gets_through_while_the_account_is_attacked,
    with(|s| {
        s.trust_proxy_headers = true;
        s.login_max_failures_per_account_ip = 2;
        s.login_max_failures_per_account = 3;
        s.login_max_failures_per_ip = 3;
    })
);

async fn the_account_wide_delay_doubles_and_the_hard_limit_blocks_new_clients(app: TestApp) {
    login_from(&app, "10.0.0.1", "admin", WRONG_PASSWORD, None)
        .await
        .assert_status(401);
    login_from(&app, "10.0.0.2", "admin", WRONG_PASSWORD, None)
        .await
        .assert_status(401);
    for (ip, delay) in [("10.0.0.3", 1), ("10.0.0.4", 2)] {
        let waiting = login_from(&app, ip, "admin", ADMIN_PASSWORD, None).await;
        waiting.assert_status(429);
        let wait = retry_after(&waiting);
        assert!(
            (1..=delay).contains(&wait),
            "{ip}: Retry-After {wait}, expected up to {delay}"
        );
        tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
        login_from(&app, ip, "admin", WRONG_PASSWORD, None)
            .await
            .assert_status(401);
    }
    // Four failures: the account is blocked for every new client until they age out.
    let blocked = login_from(&app, "10.0.0.5", "admin", ADMIN_PASSWORD, None).await;
    blocked.assert_status(429);
    assert!(retry_after(&blocked) > 60, "{:?}", blocked.headers);
}
api_test!(
    the_account_wide_delay_doubles_and_the_hard_limit_blocks_new_clients,
    with(|s| {
        s.trust_proxy_headers = true;
        s.login_max_failures_per_account_ip = 1;
        s.login_max_failures_per_account = 4;
    })
);

async fn addresses_in_one_ipv6_64_share_the_per_address_limit(app: TestApp) {
    login_from(&app, "2001:db8:1:2::1", "a1", WRONG_PASSWORD, None)
        .await
        .assert_status(401);
    login_from(&app, "2001:db8:1:2::2", "a2", WRONG_PASSWORD, None)
        .await
        .assert_status(401);
    let same_network = login_from(&app, "2001:db8:1:2:ffff::9", "a3", WRONG_PASSWORD, None).await;
    same_network.assert_status(429);
    login_from(&app, "2001:db8:1:3::1", "a3", WRONG_PASSWORD, None)
        .await
        .assert_status(401);
}
api_test!(
    addresses_in_one_ipv6_64_share_the_per_address_limit,
    with(|s| {
        s.trust_proxy_headers = true;
        s.login_max_failures_per_ip = 2;
    })
);

async fn concurrent_refreshes_of_one_token_let_exactly_one_through(app: TestApp) {
    let (_, refresh) = app.tokens("admin", ADMIN_PASSWORD).await;
    let (_app, answers) = concurrently(app, 8, move |app, _| {
        let body = json!({ "refresh_token": refresh.clone() });
        async move { app.post("/api/v1/auth/refresh", None, body).await }
    })
    .await;
    let through: Vec<&Value> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| &a.body)
        .collect();
    assert_eq!(through.len(), 1, "{:?}", statuses(&answers));
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.assert_status(401);
        assert_eq!(answer.code(), "invalid_refresh_token");
    }
}
api_test!(concurrent_refreshes_of_one_token_let_exactly_one_through);
