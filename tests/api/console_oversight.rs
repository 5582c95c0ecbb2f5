//! The console's pages for officials, the regulator and admins, through HTTP as a
//! browser uses them (session cookie from `POST /console/login`): the roster, an
//! enterprise's page, its exports and code, the audit log and its verification; each
//! for the roles that may see it, refused for the others, scoped to the caller.

use reqwest::Method;

use crate::helpers::{
    ADMIN_PASSWORD, CONTRACT, Staff, TestApp, TestResponse, USER_PASSWORD, api_test,
};

/// The value a response sets for cookie `name`.
fn cookie_value(response: &TestResponse, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix(&prefix))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

/// A browser signed in to the console: it keeps the session cookie.
struct Console<'a> {
    app: &'a TestApp,
    cookie: String,
}

impl<'a> Console<'a> {
    /// Signs in through the sign-in form, as a browser does.
    async fn sign_in(app: &'a TestApp, username: &str, password: &str) -> Console<'a> {
        let form = app
            .client
            .get(format!("{}/console/login", app.address))
            .send()
            .await
            .unwrap();
        let form = TestApp::read(form).await;
        let csrf = cookie_value(&form, "tp_console_login").expect("the form's cookie");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &csrf)
            .append_pair("username", username)
            .append_pair("password", password)
            .finish();
        let response = app
            .client
            .post(format!("{}/console/login", app.address))
            .header("cookie", format!("tp_console_login={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let response = TestApp::read(response).await;
        assert_eq!(response.status, 303, "{username}: {}", response.text);
        let session = cookie_value(&response, "tp_console").expect("the session cookie");
        Console {
            app,
            cookie: format!("tp_console={session}"),
        }
    }

    /// A staff user of `app.staff()` by role.
    async fn of(app: &'a TestApp, role: &str) -> Console<'a> {
        let (username, password) = match role {
            "admin" => ("admin", ADMIN_PASSWORD),
            "regulator" => ("regulator1", USER_PASSWORD),
            "sector_official" => ("sector1", USER_PASSWORD),
            "park_official" => ("park1", USER_PASSWORD),
            "surveyor" => ("surveyor1", USER_PASSWORD),
            _ => ("contact1", USER_PASSWORD),
        };
        Self::sign_in(app, username, password).await
    }

    /// A GET with the session cookie, checked against openapi.yaml.
    async fn get(&self, path: &str) -> TestResponse {
        let response = self
            .app
            .client
            .get(format!("{}{path}", self.app.address))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let response = TestApp::read(response).await;
        CONTRACT.check(&Method::GET, path, &response);
        response
    }
}

/// The oversight roles of `app.staff()`, and the others.
const OVERSIGHT: [&str; 2] = ["admin", "regulator"];
const OTHERS: [&str; 4] = [
    "sector_official",
    "park_official",
    "surveyor",
    "enterprise_contact",
];

async fn audit_log_is_shown_to_oversight_roles_only(app: TestApp) {
    let _staff: Staff = app.staff().await;
    for role in OVERSIGHT {
        let console = Console::of(&app, role).await;
        let page = console.get("/console/audit").await;
        page.assert_status(200);
        assert!(page.text.contains("enterprise.create"), "{role}");
        assert!(page.text.contains("href=\"/console/audit\""), "{role}: nav");
        let verified = console.get("/console/audit/verify").await;
        verified.assert_status(200);
        assert!(
            verified.text.contains("审计链完整"),
            "{role}: {}",
            verified.text
        );
    }
    for role in OTHERS {
        let console = Console::of(&app, role).await;
        console.get("/console/audit").await.assert_status(404);
        console
            .get("/console/audit/verify")
            .await
            .assert_status(404);
        let home = console.get("/console/").await;
        home.assert_status(200);
        assert!(!home.text.contains("/console/audit"), "{role}: nav");
    }
    let anonymous = app
        .client
        .get(format!("{}/console/audit", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
}
api_test!(audit_log_is_shown_to_oversight_roles_only);

async fn audit_log_filters_and_pages_by_sequence(app: TestApp) {
    app.staff().await;
    let console = Console::of(&app, "regulator").await;
    let created = console.get("/console/audit?action=enterprise.create").await;
    created.assert_status(200);
    assert!(created.text.contains("enterprise.create"));
    assert!(!created.text.contains("user.create"));
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let in_range = console
        .get(&format!(
            "/console/audit?action=enterprise.create&from={today}&to={tomorrow}"
        ))
        .await;
    assert!(in_range.text.contains("enterprise.create"));
    let later = console
        .get(&format!(
            "/console/audit?action=enterprise.create&from={}",
            tomorrow.succ_opt().unwrap()
        ))
        .await;
    assert!(!later.text.contains("<td>enterprise.create</td>"));
    let first = console.get("/console/audit?before=2").await;
    first.assert_status(200);
    assert!(first.text.contains("<td>1</td>"));
    assert!(!first.text.contains("<td>2</td>"));
    for bad in [
        "from=2026-13-01",
        "to=tomorrow",
        "before=abc",
        "before=0",
        "action=%00",
    ] {
        let page = console.get(&format!("/console/audit?{bad}")).await;
        assert_eq!(page.status, 422, "{bad}: {}", page.text);
    }
}
api_test!(audit_log_filters_and_pages_by_sequence);
